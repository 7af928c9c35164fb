"""Quantile forecasts per stream: model choice by rolling-origin backtest, calibrated spread.

Pipeline per stream (region, workload):
1. work on the log scale when demand is positive (AI demand grows multiplicatively), unless the
   caller asks for demand's own units (`scale`: a stream known to grow by a fixed amount a
   quarter, whose log-scale forecast bends its straight line down);
2. choose the model with the lowest backtest error over the last origins (MASE), unless the
   caller names one (`auto`: the mean of the best three, or last quarter's three when the caller
   passes them and they backtest within KEEP_MARGIN of the new best); record the scores;
3. spread: the model's own, scaled by the robust scale of the backtest's standardised errors,
   which may narrow it as well as widen it (on Tourism the models' own bands are twice too
   wide, on M1 about right); never below a seasonal random walk with drift's (fitted ETS bands
   stay implausibly narrow years ahead: shared/reference/forecasting.md), which that scale may
   narrow but not widen; the models' part never above 1.75 times the spread a random walk on the
   history's own changes reaches (`_spread`: without it, the backtest's factor times a model's
   own wide spread put P90 two years ahead 500 times P50 on an M1 series whose history spanned
   51 to 2,018);
4. quantiles on the working scale from a Student-t(4) shape scaled to the calibrated P10-P90
   band (forecast errors are heavier-tailed than normal: normal tails left 95% bands covering
   90-93%), spread never shrinking with the horizon, back-transformed, floored at zero, sorted
   so none cross.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from forecasts.errors import ForecastError
from forecasts.inputs import checked_history, checked_request, checked_scale, quantile_column, scale_of_stream
from forecasts.methods import METHODS, SEASON, Path, drift, method_names, rounding, specified
from forecasts.methods import method as method_of
from forecasts.irregular import weigh_irregular_quarters
from forecasts.season import SEASON_ALPHA, season_p_value

MIN_QUARTERS = 3
SHORT_HISTORY = 8
SHORT_HISTORY_WIDENING = 1.5
BACKTEST_ORIGINS = 3
BACKTEST_STEPS = 4
# quarters from which a damped trend (ets-damped) is backtested: below, drift's and theta's undamped
# trends are the only ones scored (theta's from 10 quarters)
TRENDS_DAMPED_FROM = METHODS["ets-damped"][1] + BACKTEST_STEPS
MIN_CALIBRATION, MAX_CALIBRATION = 0.3, 3.0
MIN_CALIBRATION_DEGREES = 2  # with one (two origins), t(1) is the Cauchy: every band 2.4x wider
COMBINE = 3  # `auto` averages the best three models by backtest (combinations are the robust choice)
# A re-forecast keeps last quarter's models unless the new best three's combination backtests better
# than theirs by more than this share: the ranking rests on 12 errors, a third of which each quarter
# replaces, and one swap in the three moved a stream's P50 four years out by a fifth on a quarter
# that came in as forecast (README, Forecasting).
KEEP_MARGIN = 0.1
BAND_EDGE = 0.9  # the calibration's Student-t factor and the predictive shape agree at P10/P90
TAIL_DEGREES = 4  # the predictive shape's degrees of freedom: sets how far P2.5/P97.5 lie beyond P10/P90
RANDOM_WALK_CEILING = 1.75  # the models' spread h quarters ahead stays within this many times a random walk's on the history (_random_walk_sd)
EXPLOSION_FACTOR = 50.0  # a mean path this many times the largest actual is an ETS blow-up (statsmodels #7331)
EXPLOSION_STEPS = 8  # ... within this many quarters, whatever the horizon (see _fit_safely)
MODEL_MAGNITUDE = 1000.0  # a stream in demand's units reaches the models with this as its largest quarter (in_model_units)
MODEL_DECIMALS = 6  # ... rounded to this many decimals (in_model_units)


@dataclass
class StreamChoice:
    region: str
    workload: str
    model: str
    log_scale: bool
    calibration: float
    scores: dict
    note: str = ""
    warning: str = ""  # what a planner should look at before planning on this stream (forecasts.irregular)
    one_offs: tuple = ()  # the one-off quarters (Periods) the warning names
    breaks: tuple = ()  # the quarters (Periods) from which the warning says the level broke


def forecast(history: pd.DataFrame, horizon: int, quantiles=(0.1, 0.5, 0.9), method: str = "auto", *,
             scale: str | Mapping[tuple[str, str], str] = "auto") -> pd.DataFrame:
    """Forecast every stream of a long history table.

    history: columns quarter (Period or '2027Q1'), region, workload, demand; one row per
    stream and quarter. Returns quarter, region, workload, model, and one column per
    quantile (`p10`, `p50`, ...) for the `horizon` quarters after each stream's last quarter
    (inf where a band passes 1e308: a figure far off the rest of the history, such as a typo, on
    the log scale). scale: where the models work: `auto` on the log of demand where every quarter is positive
    (growth compounds), else in demand's units; `log` always (every quarter must be positive);
    `units` never. One for every stream, or a mapping {(region, workload): scale} (`auto` for
    streams it leaves out).
    """
    return _forecast_streams(history, horizon, quantiles, method, None, scale, weigh_irregular=False)[0]


def forecast_with_choices(history: pd.DataFrame, horizon: int, quantiles=(0.1, 0.5, 0.9),
                          method: str = "auto", progress=None, *,
                          scale: str | Mapping[tuple[str, str], str] = "auto",
                          previous: Mapping[tuple[str, str], str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`forecast`, plus a table of the model chosen per stream, its backtest scores and calibration.

    `progress(iterable, length)`, if given, wraps the loop over streams (a progress bar). A stream
    with a one-off quarter or a break in its level (forecasts.irregular) gets a `warning` saying
    what the forecast would be without it: one more forecast of that stream per kind (`forecast`
    alone, whose table carries no notes, skips it; the table is the same). `previous`: the models
    last quarter's forecast used per stream ('arima+theta+drift'), which `auto` keeps unless the
    new best three backtest better by more than KEEP_MARGIN.
    """
    return _forecast_streams(history, horizon, quantiles, method, progress, scale, weigh_irregular=True,
                             previous=previous)


def _forecast_streams(history, horizon, quantiles, method, progress, scale, weigh_irregular: bool, previous=None):
    if method != "auto" and method not in method_names():
        raise ForecastError(f"unknown forecast method '{method}'; use auto or one of {', '.join(method_names())}")
    horizon, quantiles = checked_request(horizon, quantiles)
    frame = checked_history(history)
    scale = checked_scale(scale, zip(frame["region"], frame["workload"]))
    previous = previous or {}
    parts, choices = [], []
    streams = frame.groupby(["region", "workload"], sort=True)
    for (region, workload), stream in (progress(streams, streams.ngroups) if progress else streams):
        series = pd.Series(stream["demand"].to_numpy(float), index=pd.PeriodIndex(stream["quarter"], freq="Q")).sort_index()
        stream_scale = scale_of_stream(scale, region, workload)
        table, choice = forecast_stream(series, horizon, quantiles, method, region, workload, stream_scale,
                                        previous=previous.get((region, workload)))
        if weigh_irregular and len(series) >= SHORT_HISTORY:  # shorter: the drift fallback, its band widened anyway
            weigh_irregular_quarters(series, table, choice, quantiles, lambda history: forecast_stream(
                history, horizon, quantiles, method, region, workload, stream_scale)[0])
        parts.append(table)
        choices.append(choice)
    columns = ["quarter", "region", "workload", "model"] + [quantile_column(q) for q in quantiles]
    empty = pd.DataFrame({"quarter": pd.PeriodIndex([], freq="Q"), **{c: pd.Series(dtype=object) for c in columns[1:4]},
                          **{quantile_column(q): pd.Series(dtype=float) for q in quantiles}})
    result = pd.concat(parts, ignore_index=True) if parts else empty  # typed: a scenario may have no history at all
    return result[columns], pd.DataFrame([vars(c) for c in choices], columns=[f.name for f in fields(StreamChoice)])


def forecast_stream(series: pd.Series, horizon: int, quantiles, method: str, region: str = "", workload: str = "",
                    scale: str = "auto", previous: str | None = None):
    n = len(series)
    name = f"{region}/{workload}"
    if n < MIN_QUARTERS:
        raise ForecastError(f"stream {name} has {n} quarter{'' if n == 1 else 's'} of history; at least {MIN_QUARTERS} are needed. "
                            "Give its demand through demand_overrides.csv instead")
    if scale == "log" and not (series > 0).all():
        quarter, value = next(iter(series[~(series > 0)].items()))
        raise ForecastError(f"stream {name}: the log scale needs demand above zero in every quarter, but {quarter} "
                            f"has {value:g}; use scale auto or units for it")
    modelled, unit = in_model_units(series, scale)
    log_scale, work = working_scale(modelled, scale)
    runaway = ""
    if log_scale and scale == "auto" and n < TRENDS_DAMPED_FROM and _compounds_away(work, float(series.max())):
        modelled, unit = in_model_units(series, "units")
        log_scale, work = working_scale(modelled, "units")
        runaway = (f"; in demand's units: on the log scale a drift's P90 passed {EXPLOSION_FACTOR:g} times the largest "
                   f"quarter within {EXPLOSION_STEPS} quarters")
    if n < SHORT_HISTORY:
        path = _short_history_drift(work, horizon)
        choice = StreamChoice(region, workload, "drift", log_scale, SHORT_HISTORY_WIDENING, {},
                              f"short history ({n} quarters): drift with intervals widened x{SHORT_HISTORY_WIDENING}")
    else:
        candidates, no_season = _candidates(work, method)
        runs, functions = _backtest(modelled, work, log_scale, candidates)

        def final_fit(name: str) -> Path | None:
            return _fit_safely(work, horizon, functions.get(name, method_of(name)[0]), modelled.max(), log_scale)

        path, choice = _calibrated_forecast(modelled, work, log_scale, horizon, method, runs, final_fit, region, workload,
                                            previous=previous)
        choice.note += no_season
    choice.note += runaway
    table = _quantile_table(series, in_demand_units(path, unit), horizon, quantiles, log_scale)
    choice.note += _zero_wide_note(series, table, quantiles, log_scale)
    table.insert(0, "workload", workload)
    table.insert(0, "region", region)
    table.insert(3, "model", choice.model)
    return table, choice


ZERO_WIDE = 1e-3  # a band narrower than this share of its top quantile is about zero wide


def _zero_wide_note(series: pd.Series, table: pd.DataFrame, quantiles, log_scale: bool) -> str:
    """Why the band is about zero wide, where it is: a history that never changed, or one whose
    every quarter moved by the same amount (on the log scale, the same share), shows no spread to
    size a band from, so every model's band is zero; the reader should know the band is not a
    claim of certainty, and where to give the uncertainty instead."""
    low, high = quantile_column(min(quantiles)), quantile_column(max(quantiles))
    band = f"{low.upper()}-{high.upper()}" if low != high else "the band"
    unsized = f"so it shows no spread to size a band from and {band} is about zero wide: give expected changes through demand_overrides.csv"
    if np.ptp(series.to_numpy(float)) == 0:
        return f"; the history never changed ({series.iloc[0]:g} every quarter), {unsized}"
    if low == high or np.any((table[high] - table[low]).to_numpy(float) > ZERO_WIDE * table[high].abs().to_numpy(float)):
        return ""
    steps = series.pct_change() if log_scale else series.diff()
    step = f"{steps.iloc[-1]:+.1%}" if log_scale else f"{steps.iloc[-1]:+g}"
    return f"; every quarter of the history changed by the same {'share' if log_scale else 'amount'} ({step}), {unsized}"


def _short_history_drift(work: pd.Series, horizon: int) -> Path:
    """Drift with its band widened by SHORT_HISTORY_WIDENING: under SHORT_HISTORY quarters
    there is too little history to backtest a model or calibrate a band."""
    path = drift(work, horizon)
    return Path(path.mean, path.sd * SHORT_HISTORY_WIDENING)


def _compounds_away(log_work: pd.Series, largest: float) -> bool:
    """Whether a drift on the log scale, its band widened as for a short history, puts P90 beyond
    EXPLOSION_FACTOR times the largest quarter within EXPLOSION_STEPS quarters (the test
    `_fit_safely` puts a model's mean to).

    Under TRENDS_DAMPED_FROM quarters no damped trend is scored (drift is, and theta from 10), and a
    few quarters of a ramp or of a season give a steep or wildly varying log drift that compounds
    over a planning horizon: 5, 40, 120, 150, 160 had P50 1.7e8 and P90 1.4e15 sixteen quarters
    out, and a steady linear ramp of 9 quarters, 10 to 380, P50 548,720. `auto` then works in
    demand's units. On the first 4-11 quarters of every Tourism and M1 quarterly series and on 300
    synthetic AI ramps (benchmarks/short_history.py) this beat the log scale on every set and
    length, and demand's units on the ramps, whose growth compounds. Not on longer histories:
    there a season reads as volatility to a drift (it would move a tenth of Tourism's series)
    and damped trends and seasonal models are scored."""
    path = _short_history_drift(log_work, EXPLOSION_STEPS)
    return bool(np.exp(path.mean + norm.ppf(BAND_EDGE) * path.sd).max() > EXPLOSION_FACTOR * max(largest, 1e-12))


def _candidates(work: pd.Series, method: str) -> tuple[list[str], str]:
    """The methods backtested on `work`: `auto`'s that have enough quarters, or the one named; and
    a note where seasonal naive was left out. Where there are no more candidates than the mean
    takes (10-11 quarters), the backtest cannot leave seasonal naive out, so it is kept only where
    the history shows a season (forecasts/season.py)."""
    if method != "auto":
        return [method], ""
    names = [m for m, (_, least) in METHODS.items() if len(work) >= least + BACKTEST_STEPS]
    if "snaive" not in names or len(names) > COMBINE:
        return names, ""
    p = season_p_value(work)
    if p < SEASON_ALPHA:
        return names, ""
    return [m for m in names if m != "snaive"], (
        f"; seasonal naive left out: {len(names)} candidates are all averaged, and the history's quarter-on-quarter "
        f"changes show no season (ANOVA by quarter, p {p:.2f} >= {SEASON_ALPHA:g})")


def _calibrated_forecast(series: pd.Series, work: pd.Series, log_scale: bool, horizon: int, method: str, runs: dict,
                         final_fit, region: str, workload: str, previous: str | None = None) -> tuple[Path, StreamChoice]:
    """Everything after the backtest: the ranking, the calibration, the full-history fits' mean
    path and the spread, with the stream's choice and note.

    `runs` is `_backtest`'s, `final_fit(name)` a model's forecast from the whole history (None if
    it failed or exploded). Kept apart from the fitting so that benchmarks/calibration_replay.py
    can rerun exactly this on cached backtests and fits: a change to the calibration or the
    spread is measured on both competition sets in seconds instead of a half-hour benchmark.
    """
    n = len(series)
    scores, ranked = backtest_ranking(series, log_scale, runs, method)
    kept, kept_note = _kept(previous, ranked, runs, series, log_scale) if method == "auto" else ([], "")
    ranked = (kept or ranked) or ["drift"]
    fits = {name: final_fit(name) for name in ranked}
    used = [name for name in ranked if fits[name] is not None]
    dropped = [name for name in ranked if fits[name] is None]
    note = (f"{method} could not be backtested on {n} quarters (it needs {method_of(method)[1] + BACKTEST_STEPS}, "
            "or it failed to fit); drift instead" if method != "auto" and method not in scores
            else "the method named (not chosen by backtest)" if method != "auto"
            else f"mean of the {len(ranked)} best of {len(scores)} by backtest MASE" if len(ranked) > 1
            else f"no candidate could be backtested on {n} quarters; drift" if not scores
            else f"{ranked[0]}, the only candidate {n} quarters can backtest (the others need more history)"
            if len(scores) == 1 else f"lowest backtest MASE of {len(scores)} candidates")
    note = kept_note or note
    if used:
        path = Path(np.mean([fits[name].mean for name in used], axis=0), np.mean([fits[name].sd for name in used], axis=0))
        if dropped:  # the label and the calibration are of the models the forecast averages, not of the ranking
            note += f"; {'+'.join(dropped)} failed or exploded on the full history, so the forecast is {'+'.join(used)}"
    else:
        used, path = ["drift"], drift(work, horizon)
        note = f"{'+'.join(ranked)} failed or exploded on the full history; fell back to drift"
    model = "+".join(used)
    chosen = [name for name in used if name in runs]
    calibration = _calibration(standardised_errors(runs, chosen) if chosen else [])
    floor, ceiling = _spread_bounds(work, horizon, calibration)
    spread = _spread(path.sd, calibration, floor, ceiling)
    # where the ceiling set the band below the models' part (not where the floor then lifted it above the ceiling)
    held = np.flatnonzero((path.sd * calibration > spread * (1 + 1e-9)) & np.isclose(spread, ceiling, rtol=1e-9))
    if held.size:
        note += (f"; band held within {RANDOM_WALK_CEILING:g}x a random walk's spread on the history in "
                 f"{held.size} of {horizon} quarters (first {series.index[-1] + 1 + int(held[0])})")
    path = Path(path.mean, spread)
    choice = StreamChoice(region, workload, model, log_scale, calibration,
                          {k: round(v, 4) for k, v in scores.items()}, note)
    return path, choice


def _kept(previous: str | None, best: list[str], runs: dict, series: pd.Series, log_scale: bool) -> tuple[list[str], str]:
    """Last quarter's models and the note saying why they were kept, or ([], "") to take the new best:
    kept while every one of them still backtests here and their combination's MASE is within
    KEEP_MARGIN of the new best's."""
    members = previous.split("+") if previous else []
    if not members or sorted(members) == sorted(best) or len(best) < 2 or any(m not in runs for m in members):
        return [], ""
    unit = naive_error(series.to_numpy(float)) or 1.0
    theirs, new = (_score(_combined(runs, names), log_scale, unit) for names in (members, best))
    if theirs > new * (1 + KEEP_MARGIN):
        return [], ""
    return members, (f"last quarter's models kept: their backtest MASE {theirs:.3f} is within {KEEP_MARGIN:.0%} of "
                     f"the new best {len(best)}'s ({'+'.join(best)}, {new:.3f})")


def backtest_ranking(series: pd.Series, log_scale: bool, runs: dict, method: str = "auto") -> tuple[dict, list[str]]:
    """Each candidate's backtest MASE (`_score`, in demand's units) and the names the forecast
    uses: `auto`'s best COMBINE by it, or the one named (empty if nothing was backtested)."""
    unit = naive_error(series.to_numpy(float)) or 1.0
    scores = {name: _score(paths, log_scale, unit) for name, paths in runs.items()}
    return scores, sorted(scores, key=scores.get)[: COMBINE if method == "auto" else 1]


def in_model_units(series: pd.Series, scale: str = "auto") -> tuple[pd.Series, float]:
    """The series as the models see it and the unit it was divided by: on the log scale itself
    and 1 (a change of units is a shift the models absorb); in demand's units scaled so that its
    largest quarter is MODEL_MAGNITUDE, rounded to MODEL_DECIMALS.

    statsmodels' optimisers are not indifferent to the data's magnitude: in units, the same
    history counted in thousands moved P50 up to 8% and changed the chosen models of 7 of
    global-enterprise's 9 streams (ARIMA's P50 15%, ETS's spread 37%). A forecast must not
    depend on whether demand is counted in racks, accelerators or kW. Why not scaled to 1: on
    data near 1, ETSModel's fits stop at a smoothing level on its lower bound, a worse
    likelihood than at the data's own magnitude (global-enterprise in units: backtest MASE 0.96
    and 80% cover 47% scaled to 1, against 0.75 and 61-62% unscaled or scaled to 1,000). Why
    rounded (to a billionth of the largest quarter, far below any demand's precision): so that
    the same history in other units reaches the models bit for bit, since from a last-bit
    difference an ETS fit can settle in another local optimum (global-enterprise's us/inference
    in accelerators and in racks: seasonal ETS's backtest MASE 0.41 and 0.34)."""
    if working_scale(series, scale)[0]:
        return series, 1.0
    largest = float(series.max())
    unit = largest / MODEL_MAGNITUDE if largest > 0 else 1.0
    return (series / unit).round(MODEL_DECIMALS), unit


def in_demand_units(path: Path, unit: float) -> Path:
    """A working-scale path of a series divided by `unit` (in_model_units), back in demand's units
    (unit is 1 on the log scale, where the quantiles' exp is the way back)."""
    return Path(path.mean * unit, path.sd * unit)


def working_scale(series: pd.Series, scale: str = "auto") -> tuple[bool, pd.Series]:
    """(log scale?, the series on it): logs when every quarter is positive (AI demand grows
    multiplicatively) and the caller did not ask for demand's own units (see `forecast`)."""
    log_scale = scale != "units" and bool((series > 0).all())
    return log_scale, (np.log(series) if log_scale else series)


def _spread_bounds(work: pd.Series, horizon: int, calibration: float) -> tuple[np.ndarray, np.ndarray]:
    """The floor and the ceiling on a stream's spread h = 1..horizon quarters ahead (see `_spread`)."""
    return _floor_sd(work, horizon) * min(calibration, 1.0), RANDOM_WALK_CEILING * _random_walk_sd(work, horizon)


def _spread(model_sd: np.ndarray, calibration: float, floor: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """The models' spread scaled by their backtest calibration and kept within the ceiling,
    RANDOM_WALK_CEILING times a random walk's on the history's own changes, and above the floor,
    the seasonal random walk's spread narrowed by a calibration below one (`_spread_bounds`).

    The calibration measures how far the models' own spread was off; the floor's spread was not
    what the backtest measured, so a calibration above one does not widen it. On a ramp the
    models' bands are narrow and their backtest misses large (calibration often at its cap),
    while the floor remembers the steep early growth: the product of the two made P90 a median
    4.7x P10 one quarter ahead on synthetic ramps (benchmarks/ramp_calibration.py), and the 80%
    band covered 88%. A calibration below one still narrows the floor: on the competition sets
    the floor often binds and the backtest says the band was too wide.

    The ceiling: a random walk with drift on the history's own changes is a forecaster anyone
    could run, so a band well beyond its spread claims an uncertainty the history never showed.
    It caps the models' part only (the floor stays a floor). Without it, a calibration at its
    cap times a model's own wide spread put P90 up to 500 times P50 two years ahead on M1
    series (QRC1: P90 737,901 on a history of 51 to 2,018, actuals 126 to 3,315); with it the
    benchmarks' scaled pinball loss over P2.5-P97.5 fell 8% on Tourism and 90% on M1 over four
    windows (README, Performance).
    """
    return np.maximum(np.minimum(model_sd * calibration, ceiling), floor)


def _random_walk_sd(work: pd.Series, horizon: int) -> np.ndarray:
    """How far a random walk fitted to the history's own changes spreads h = 1..horizon quarters
    ahead: the widest, over spans j up to h (and up to half the history, where enough pairs
    remain), of the spread of the history's j-quarter changes grown by sqrt(h / j). Infinite
    where those changes do not vary, so no ceiling applies. Taking the widest span keeps the
    bound growing with the horizon on a stream of steady growth plus noise, whose j-quarter
    changes spread no more for large j than for small: a ceiling from the h-quarter changes
    alone held its band flat from two years out to four."""
    values = work.to_numpy(float)
    spans = np.arange(1, max(1, min(horizon, len(values) // 2)) + 1)
    spread = np.array([np.std(values[j:] - values[:-j], ddof=1) if len(values) - j > 1 else np.inf for j in spans])
    # a history whose changes never vary (but for rounding) says nothing about how wide a band should be
    spread = np.where(spread > rounding(values), spread, np.inf)
    steps = np.arange(1, horizon + 1)
    grown = spread[None, :] * np.sqrt(steps[:, None] / spans[None, :])
    return np.max(np.where(spans[None, :] <= steps[:, None], grown, -np.inf), axis=1)


def _floor_sd(work: pd.Series, horizon: int) -> np.ndarray:
    """Spread of a seasonal random walk with drift: year-over-year changes vary around their
    mean, and the uncertainty adds up by the number of years ahead."""
    values = work.to_numpy(float)
    lag = SEASON if len(values) >= 2 * SEASON else 1
    changes = values[lag:] - values[:-lag]
    sigma = np.std(changes, ddof=1) if len(changes) > 1 else 0.0
    steps = np.arange(1, horizon + 1)
    return sigma * np.sqrt(np.ceil(steps / lag))


def _fit_safely(work: pd.Series, horizon: int, function, largest: float, log_scale: bool) -> Path | None:
    """A model's forecast from the whole history, or None where it fails or blows up.

    A blow-up is a mean path beyond EXPLOSION_FACTOR times the largest actual within the first
    EXPLOSION_STEPS quarters, judged on that many quarters whatever the horizon asked for.
    Judged over the whole horizon, the check read a steady trend compounding over ten years as
    a blow-up: drift on sovereign-eu's eu-de/inference reached 115 times its largest actual by
    the 40th quarter, was dropped, and P50 in the 8th quarter fell 16% with the horizon
    (3,171 at 8-24 quarters, 2,675 at 40).
    """
    steps = max(horizon, EXPLOSION_STEPS)
    try:
        path = function(work, steps)
    except (ValueError, np.linalg.LinAlgError, IndexError):
        return None
    mean = np.exp(path.mean) if log_scale else path.mean
    if (not np.all(np.isfinite(mean)) or not np.all(np.isfinite(path.sd))
            or mean[:EXPLOSION_STEPS].max() > EXPLOSION_FACTOR * max(largest, 1)):
        return None
    return Path(path.mean[:horizon], path.sd[:horizon])


def _backtest(series: pd.Series, work: pd.Series, log_scale: bool, candidates: list[str]):
    """Backtest paths per candidate over the last origins, and the function each candidate uses.

    Returns ({name: [(mean, sd, future_work, actual)]}, {name: function}); a method's structural
    choice (ARIMA's orders) is made once, on the earliest origin's history (methods.specified).
    """
    n = len(series)
    actual, worked = series.to_numpy(float), work.to_numpy(float)
    origins = range(n - BACKTEST_STEPS - BACKTEST_ORIGINS + 1, n - BACKTEST_STEPS + 1)
    runs, functions = {}, {}
    for name in candidates:
        least = method_of(name)[1]
        usable = [origin for origin in origins if origin >= least]
        if not usable:
            continue
        try:
            function = specified(name, work.iloc[:usable[0]])
        except (ValueError, np.linalg.LinAlgError, IndexError):
            continue
        paths = []
        for origin in usable:
            try:
                path = function(work.iloc[:origin], BACKTEST_STEPS)
            except (ValueError, np.linalg.LinAlgError, IndexError):
                break
            if not (np.all(np.isfinite(path.mean)) and np.all(np.isfinite(path.sd))):
                break
            paths.append((path.mean, path.sd, worked[origin:origin + BACKTEST_STEPS],
                          actual[origin:origin + BACKTEST_STEPS]))
        else:
            runs[name] = paths
            functions[name] = function
    return runs, functions


def _score(paths, log_scale: bool, scale: float) -> float:
    errors = [np.abs(a - (np.exp(m) if log_scale else m)) for m, _, _, a in paths]
    return float(np.mean(np.concatenate(errors)) / scale)


def _combined(runs: dict, names: list[str]) -> list:
    """Backtest paths of the equal-weight combination of `names` (same origins for all)."""
    count = min(len(runs[n]) for n in names)
    combined = []
    for index in range(count):
        parts = [runs[n][-count + index] for n in names]
        combined.append((np.mean([p[0] for p in parts], axis=0), np.mean([p[1] for p in parts], axis=0),
                         parts[0][2], parts[0][3]))
    return combined


def standardised_errors(runs: dict, names: list[str]) -> list[np.ndarray]:
    """Per backtest origin, the combination of `names`' errors, each over its spread at that step:
    what the calibration scales (benchmarks/pooled_growth.py pools them over a set)."""
    return [(future - mean) / np.maximum(sd, 1e-9) for mean, sd, future, _ in _combined(runs, names)]


def naive_error(training: np.ndarray, season: int = SEASON) -> float:
    """In-sample mean absolute error of seasonal naive: MASE's (and the scaled pinball loss's) unit."""
    lag = season if len(training) > season else 1
    return float(np.mean(np.abs(training[lag:] - training[:-lag]))) if len(training) > lag else 0.0


def _calibration(standardised: list) -> float:
    """How much wider (or narrower) the backtest errors were than the spread predicted.

    `standardised` holds one array of standardised errors per backtest origin. A robust scale
    (median absolute error / 0.6745): errors are heavy-tailed, and an RMS let a single miss widen
    every band (Tourism's 80% bands covered 95%). Times the Student-t / normal ratio at 90% with
    one degree of freedom per origin after the first, not per error: an origin's four errors
    share its level and trend error, and adjacent origins forecast the same quarters, so a
    dozen errors say about as much about the scale as three draws (an origin's mean error carries a
    median 51% (Tourism) and 68% (M1) of the squared error, 25% if the errors were independent).
    Counting every error as a draw left the bands too narrow: P90 was exceeded 15-17% of the time
    on windows cut from the benchmark histories, 20% on simulated local-trend series.
    """
    values = np.concatenate([np.atleast_1d(v) for v in standardised]) if len(standardised) else np.array([])
    if len(values) < 4:
        return 1.0
    scale = np.median(np.abs(values)) / norm.ppf(0.75)
    degrees = max(len(standardised) - 1, MIN_CALIBRATION_DEGREES)
    scale *= student_t.ppf(BAND_EDGE, degrees) / norm.ppf(BAND_EDGE)
    return float(np.clip(scale, MIN_CALIBRATION, MAX_CALIBRATION))


def _quantile_table(series: pd.Series, path: Path, horizon: int, quantiles, log_scale: bool) -> pd.DataFrame:
    sd = _never_shrinking(path.sd)
    values = np.column_stack([path.mean + _standard_quantile(q) * sd for q in quantiles])
    if log_scale:
        with np.errstate(over="ignore"):  # past 1e308 is inf: the caller judges the scale (planner/pipeline.py)
            values = np.exp(values)
    values = np.sort(np.maximum(values, 0.0), axis=1)
    quarters = pd.period_range(series.index[-1] + 1, periods=horizon, freq="Q")
    table = pd.DataFrame(values, columns=[quantile_column(q) for q in quantiles])
    table.insert(0, "quarter", quarters)
    return table


def _never_shrinking(sd: np.ndarray) -> np.ndarray:
    """The spread the quantiles use: never shrinking with the horizon (nor below zero)."""
    return np.maximum.accumulate(np.maximum(sd, 0.0))


def _standard_quantile(q: float) -> float:
    """Quantile q of the predictive shape in units of the spread: Student-t with TAIL_DEGREES,
    scaled to agree with the normal at P10 and P90 (BAND_EDGE), where the backtest calibrates the spread.

    The backtest's dozen errors pin the central 80% band; they are too few to fix the tails.
    Normal tails beyond it were too thin: 95% bands covered 90% (M1) and 93% (Tourism) over
    the benchmark's windows, 93% and 95% with this shape. Inside P10-P90 the shape is slightly
    narrower than the normal.
    """
    return float(student_t.ppf(q, TAIL_DEGREES) * norm.ppf(BAND_EDGE) / student_t.ppf(BAND_EDGE, TAIL_DEGREES))
