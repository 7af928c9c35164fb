"""Log scale, demand's units, a choice per series by backtest, or both blended, on both competition sets.

Run: python benchmarks/calibration_replay.py --set S and --set S --scale units first (they fit
and cache the backtests; about 4 minutes for both scales of M1, 12 for Tourism, on two cores), then
     python benchmarks/scale_choice.py --set tourism|m1 [--cache DIR]

The forecaster works on the log of demand where every quarter is positive (forecasts.core,
`scale="auto"`); `scale="units"` keeps demand's units. This script replays both from the caches
on the four benchmark windows and adds a third forecaster that picks, per series, the scale
whose chosen combination had the lower backtest MASE (in demand's units, so the two compare), and
a fourth whose every quantile is the mean of the two scales' (twice the fitting).
It prints, per window and averaged over the four: sMAPE, MASE, 80% cover, P90 exceeded, 95%
cover, SPL, and the share of series the pick put on demand's units.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.calibration_replay import DEFAULT_CACHE, WINDOWS, cache_path, replay, working  # noqa: E402
from benchmarks.forecast_accuracy import H, metrics  # noqa: E402
from forecasts import core  # noqa: E402

COLUMNS = ("sMAPE", "MASE", "80% cover", "above P90", "95% cover", "SPL")
FORECASTERS = ("log", "units", "pick", "blend")


def backtest_mase(entry: dict) -> float:
    """The backtest MASE of the combination the forecaster chooses from this entry (NaN for the
    drift fallback of a short history, which has no backtest)."""
    if "runs" not in entry:
        return float("nan")
    series, log_scale, _, _ = working(entry)
    _, chosen = core.backtest_ranking(series, log_scale, entry["runs"])
    unit = core.naive_error(series.to_numpy(float)) or 1.0
    return core._score(core._combined(entry["runs"], chosen), log_scale, unit) if chosen else float("nan")


def scored(logs: list[dict], units: list[dict]) -> pd.DataFrame:
    """Per series: the forecasters' metrics and whether the pick took demand's units."""
    rows = []
    for on_logs, on_units in zip(logs, units):
        actual = np.asarray(on_logs["actual"], float)
        quantiles = {"log": replay(on_logs)[0], "units": replay(on_units)[0]}
        by_scale = {name: metrics(actual, quantiles[name], on_logs["training"]) for name in quantiles}
        blend = {q: (quantiles["log"][q] + quantiles["units"][q]) / 2 for q in quantiles["log"]}
        by_scale["blend"] = metrics(actual, blend, on_logs["training"])
        units_won = backtest_mase(on_units) < backtest_mase(on_logs)  # False when either is NaN: auto's choice
        by_scale["pick"] = by_scale["units" if units_won else "log"]
        rows.append({"units picked": float(units_won),
                     **{(name, column): value for name, m in by_scale.items() for column, value in m.items()}})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tourism", "m1"), required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    caches = {scale: cache_path(args.cache, args.set, None, scale) for scale in ("auto", "units")}
    missing = [f"--scale {scale}" for scale, path in caches.items() if not path.exists()]
    if missing:
        sys.exit(f"no replay cache for {args.set} with {' or '.join(missing)}: run benchmarks/calibration_replay.py "
                 f"--set {args.set} {missing[0]} first")
    logs, units = (pickle.loads(caches[scale].read_bytes()) for scale in ("auto", "units"))
    by_window = {window: scored(logs[window], units[window]).mean() for window in range(WINDOWS)}
    by_window["mean of 4"] = pd.DataFrame(by_window).mean(axis=1)
    print(f"| {args.set} window | forecaster | " + " | ".join(COLUMNS) + " | units picked |")
    print("| --- | --- | " + " | ".join("---:" for _ in COLUMNS) + " | ---: |")
    for window, means in by_window.items():
        label = window if isinstance(window, str) else "official holdout" if window == 0 else f"{window * H} quarters earlier"
        for name in FORECASTERS:
            cells = [f"{means[(name, c)]:.2f}" if c == "sMAPE" else f"{means[(name, c)]:.3f}" if c in ("MASE", "SPL")
                     else f"{means[(name, c)]:.1%}" for c in COLUMNS]
            share = f"{means['units picked']:.1%}" if name == "pick" else ""
            print(f"| {label} | {name} | " + " | ".join(cells) + f" | {share} |")


if __name__ == "__main__":
    main()
