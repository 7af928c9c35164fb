"""Candidate forecasting models: each returns a mean path and a standard-deviation path.

All work on a `pd.Series` with a quarterly PeriodIndex (statsmodels' ETS prediction crashes
on plain arrays: reference/forecasting.md) on the working scale chosen by the caller (log
for positive, fast-growing demand). The mean and spread on that scale give the quantiles
(core.py: a Student-t shape scaled to the calibrated band); a monotone back-transform keeps
them quantiles.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
# Imported here, outside any `quiet` block: on its first import this module adds "always"
# filters for ConvergenceWarning and its kin to the warnings filters in force, which inside
# `quiet` put them ahead of its "ignore" (a constant history printed statsmodels'
# ConvergenceWarning on the CLI's stderr).
import statsmodels.tools.sm_exceptions  # noqa: F401

SEASON = 4


def rounding(values: np.ndarray) -> float:
    """The largest spread of a history's changes that is rounding, not variation: an exact ramp's
    changes differ by about 1e-16 of its scale, and read as a spread they held its band at zero."""
    return 1e-9 * max(1.0, float(np.abs(values).max()))


@dataclass(frozen=True)
class Path:
    mean: np.ndarray
    sd: np.ndarray


def quiet(function):
    """`function` without warnings or floating-point notices: statsmodels warns on most short
    or awkward fits (convergence, start values), and a failed fit is caught by its caller."""

    def wrapped(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return function(*args, **kwargs)

    wrapped.__name__ = function.__name__
    wrapped.__doc__ = function.__doc__
    return wrapped


def seasonal_naive(y: pd.Series, h: int) -> Path:
    """Last year's value for the same quarter; spread from in-sample seasonal differences."""
    values = y.to_numpy(float)
    if len(values) < SEASON + 2:
        return drift(y, h)
    steps = np.arange(h)
    mean = values[len(values) - SEASON + (steps % SEASON)]
    sigma = np.std(values[SEASON:] - values[:-SEASON], ddof=1)
    return Path(mean, sigma * np.sqrt(steps // SEASON + 1))


def drift(y: pd.Series, h: int) -> Path:
    """Random walk with drift: the line through the first and last values, extended."""
    values = y.to_numpy(float)
    n = len(values)
    slope = (values[-1] - values[0]) / max(n - 1, 1)
    steps = np.arange(1, h + 1)
    residuals = np.diff(values) - slope
    sigma = np.std(residuals, ddof=1) if n > 2 else abs(slope) + 1e-9
    return Path(values[-1] + slope * steps, sigma * np.sqrt(steps * (1 + steps / max(n - 1, 1))))


def fit_ets(y: pd.Series, error: str = "add", trend: str | None = "add", damped: bool = True,
            seasonal: str | None = None):
    """statsmodels ETSModel fitted to `y` (season of SEASON quarters when `seasonal` is 'add' or 'mul')."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    model = ETSModel(y, error=error, trend=trend, damped_trend=damped and trend is not None,
                     seasonal=seasonal, seasonal_periods=SEASON if seasonal else None)
    return model.fit(disp=False, maxiter=200)


def ets_path(fitted, h: int) -> Path:
    """Mean and spread of a fitted ETS model's next `h` quarters."""
    start = fitted.nobs
    prediction = fitted.get_prediction(start=start, end=start + h - 1)
    mean = np.asarray(prediction.predicted_mean, float)
    sd = np.sqrt(np.maximum(np.asarray(prediction.var_pred_mean, float), 0))
    return Path(mean, sd)


@quiet
def ets(y: pd.Series, h: int, damped: bool = True, seasonal: bool = False, trend: str | None = "add") -> Path:
    """Additive-error ETS with (damped) additive trend, or none, and optional additive seasonality."""
    return ets_path(fit_ets(y, "add", trend, damped, "add" if seasonal else None), h)


@quiet
def theta(y: pd.Series, h: int) -> Path:
    """Theta method (statsmodels ThetaModel); sd recovered from its 80% interval.

    Refuses a history that never changed: statsmodels 0.15 fits it a spurious drift (b0 1.28
    on the log of a constant 100) and forecasts 11,715 to 79,592 the next four quarters, the
    corner case R's forecast package guards thetaf against (robjhyndman/forecast#640).
    """
    from statsmodels.tsa.forecasting.theta import ThetaModel

    if np.ptp(np.asarray(y, float)) == 0:
        raise ValueError("theta needs a history that changes")
    fitted = ThetaModel(y, period=SEASON, deseasonalize=len(y) >= 2 * SEASON + 2, method="auto").fit()
    mean = np.asarray(fitted.forecast(h), float)
    interval = fitted.prediction_intervals(h, alpha=0.2)
    sd = (np.asarray(interval["upper"], float) - np.asarray(interval["lower"], float)) / (2 * 1.2815515655446004)
    return Path(mean, sd)


def _arima_grid(y: pd.Series) -> list[tuple]:
    """(order, seasonal order) pairs tried: local level forms with drift, plus the airline model
    once there are three years to estimate a seasonal difference from."""
    seasonal = len(y) >= 3 * SEASON
    grid = [((0, 1, 1), (0, 0, 0)), ((1, 1, 0), (0, 0, 0)), ((0, 1, 1), (0, 1, 1) if seasonal else (0, 0, 0))]
    return list(dict.fromkeys(grid))


@quiet
def _best_arima(y: pd.Series, grid: list[tuple]):
    """The fitted SARIMAX with the smallest AICc over `grid`, with its orders; None if none fit.

    The fits' likelihoods skip their diffuse start-up periods, which differ by model (one
    quarter after a first difference, five after a seasonal one too), so statsmodels' own
    AICc values cover different observations and cannot be compared: on log-scale demand each
    skipped quarter is worth about +2 log-likelihood, and the airline model lost to the
    non-seasonal ones for that alone (27% of M1 quarterly's choices changed once compared
    fairly). Each fit is scored on the same quarters, after the longest start-up.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    fits = []
    for order, seasonal_order in grid:
        try:
            fits.append((SARIMAX(y, order=order, seasonal_order=(*seasonal_order, SEASON if any(seasonal_order) else 0),
                                 trend=_drift(seasonal_order)).fit(disp=False),
                         (order, seasonal_order)))
        except (ValueError, np.linalg.LinAlgError):
            continue
    if not fits:
        return None
    burn = max(fitted.loglikelihood_burn for fitted, _ in fits)
    return min(fits, key=lambda fit: _aicc_from(fit[0], burn))


def _drift(seasonal_order: tuple) -> str | None:
    """SARIMAX's trend argument for a drift in the once-differenced forms, none in the airline model.

    SARIMAX applies its trend to the differenced series, so with d=1 the constant 'c' is the
    drift (a steady growth rate on log demand); 't' there is a trend in the growth rate itself,
    quadratic in the level: it turned a ramp levelling off at 2,000 into a forecast of 505 two
    years on, and steady growth into accelerating growth.
    """
    return "c" if seasonal_order == (0, 0, 0) else None


def _aicc_from(fitted, first: int) -> float:
    """AICc of a fitted model from its log-likelihood over observations `first` onwards."""
    observations = fitted.nobs - first
    parameters = len(fitted.params)
    log_likelihood = float(np.sum(fitted.llf_obs[first:]))
    return -2 * log_likelihood + 2 * parameters + 2 * parameters * (parameters + 1) / max(observations - parameters - 1, 1)


def _arima_path(fitted, h: int) -> Path:
    forecast = fitted.get_forecast(h)
    return Path(np.asarray(forecast.predicted_mean, float), np.asarray(forecast.se_mean, float))


@quiet
def arima(y: pd.Series, h: int, grid: list[tuple] | None = None) -> Path:
    """SARIMAX over a small grid of orders (or the given ones), smallest AICc wins."""
    best = _best_arima(y, grid or _arima_grid(y))
    return drift(y, h) if best is None else _arima_path(best[0], h)


@quiet
def arima_with_order_of(y: pd.Series) -> Callable[[pd.Series, int], Path]:
    """ARIMA with its orders chosen once, on `y` (the earliest backtest origin's history).

    The backtest then scores exactly the model the forecast uses, and each later origin and
    the final fit cost one SARIMAX fit instead of one per grid entry (ARIMA was ~60% of the
    forecaster's time). The fit on `y` itself is kept, not redone.
    """
    best = _best_arima(y, _arima_grid(y))
    if best is None:
        return arima
    first_fit, orders = best

    @quiet
    def fixed(history: pd.Series, h: int) -> Path:
        if len(history) == len(y) and history.index[-1] == y.index[-1]:
            return _arima_path(first_fit, h)
        return arima(history, h, grid=[orders])

    fixed.orders = orders
    return fixed


def _ets_damped(y, h):
    return ets(y, h, damped=True, seasonal=False)


def _ets_seasonal(y, h):
    return ets(y, h, damped=True, seasonal=True)


# name -> (function, minimum observations). Only the damped ETS forms: level-only, undamped-trend,
# raw-scale multiplicative-error and AICc-chosen ETS candidates each made Tourism's MASE worse for
# at most a small gain on M1 (README, Performance): three backtest origins cannot tell more
# candidates apart. Theta fits from 6 quarters, so it is backtested from 10: with 8, histories of
# 10-11 quarters averaged seasonal naive and drift alone, a ramp's forecast pulled down a year's
# growth; with theta too their pinball loss fell on Tourism, M1 and synthetic ramps alike
# (benchmarks/short_history.py). From 4 (backtested from 8) it helped the competition sets at
# 8-9 quarters more still, but raised the ramps' loss at P90, the quantile plans buy for, by 4-10%.
METHODS: dict[str, tuple[Callable[[pd.Series, int], Path], int]] = {
    "snaive": (seasonal_naive, 6),
    "drift": (drift, 3),
    "ets-damped": (_ets_damped, 8),
    "ets-damped-seasonal": (_ets_seasonal, 12),
    "theta": (theta, 6),
    "arima": (arima, 10),
}



def ets_form(trend: str | None, damped: bool, seasonal: bool) -> Callable[[pd.Series, int], Path]:
    """One additive-error ETS form as a forecasting function."""
    def form(y: pd.Series, h: int) -> Path:
        return ets(y, h, damped, seasonal, trend)
    return form


ADDITIVE_ETS_FORMS = [(trend, damped, seasonal) for trend, damped in ((None, False), ("add", False), ("add", True))
                      for seasonal in (False, True)]


@quiet
def ets_by_aicc(first_history: pd.Series) -> Callable[[pd.Series, int], Path]:
    """The additive-error ETS form with the smallest AICc on the earliest origin, kept at every later one."""
    fits = []
    for trend, damped, seasonal in ADDITIVE_ETS_FORMS:
        if seasonal and len(first_history) < 3 * SEASON:
            continue
        try:
            fits.append((fit_ets(first_history, "add", trend, damped, "add" if seasonal else None).aicc,
                         (trend, damped, seasonal)))
        except (ValueError, np.linalg.LinAlgError):
            continue
    finite = [fit for fit in fits if np.isfinite(fit[0])]
    return ets_form(*min(finite)[1]) if finite else ets_form("add", True, False)


# The rest of the ETS grid: a scenario may name one in forecast.method, but `auto` does
# not choose from them (each made the benchmark's MASE worse on Tourism, README, Performance).
# Multiplicative error is the log working scale's (an additive error on log demand).
NAMED_ONLY: dict[str, tuple[Callable[[pd.Series, int], Path], int]] = {
    "ets-level": (ets_form(None, False, False), 8),
    "ets-level-seasonal": (ets_form(None, False, True), 12),
    "ets-holt": (ets_form("add", False, False), 8),
    "ets-holt-seasonal": (ets_form("add", False, True), 12),
    "ets-aicc": (ets_form("add", True, False), 8),  # the form is chosen per stream: SPECIFIED_ONCE
}


def method(name: str) -> tuple[Callable[[pd.Series, int], Path], int]:
    """(function, minimum observations) of any method a scenario may name."""
    return METHODS[name] if name in METHODS else NAMED_ONLY[name]


def method_names() -> list[str]:
    """Every method a scenario may name: `auto`'s candidates first, then the named-only ones."""
    return [*METHODS, *(name for name in NAMED_ONLY if name not in METHODS)]


# name -> builds, from the earliest backtest origin's history, the function used at every later
# origin and for the final forecast (methods with a structural choice worth making only once)
SPECIFIED_ONCE: dict[str, Callable[[pd.Series], Callable[[pd.Series, int], Path]]] = {
    "arima": arima_with_order_of,
    "ets-aicc": ets_by_aicc,
}


def specified(name: str, first_history: pd.Series) -> Callable[[pd.Series, int], Path]:
    """The forecasting function of method `name` for one stream (see SPECIFIED_ONCE)."""
    build = SPECIFIED_ONCE.get(name)
    return build(first_history) if build else method(name)[0]
