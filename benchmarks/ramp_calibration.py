"""Calibration of the forecaster on synthetic AI-like ramps (a benchmark, not a test).

Run: python benchmarks/ramp_calibration.py [--series N] [--seed S]

New AI workloads ramp up and level off at a ceiling nobody knows in advance. The competition
sets (forecast_accuracy.py) have few such series, so this script draws logistic ramps to a
random plateau at a random quarter, with a slowly wandering growth factor and 4% noise, cuts
each 8 quarters before its end, and prints the share of those 8 actuals inside the planner's
P10-P90 band, above P90 and below P10, and the median P90/P10 ratio one quarter ahead.
The process is our own choice, so read the figures as a probe of one shape, not a target.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.forecast_accuracy import H, QUANTILES, metrics, series_frame  # noqa: E402
from forecasts import forecast  # noqa: E402


def ramp(rng: np.random.Generator) -> np.ndarray:
    """One ramp of 14-24 quarters of history plus H to score: logistic, wandering, noisy."""
    length = int(rng.integers(14, 25)) + H
    steps = np.arange(length)
    midpoint, width, ceiling = rng.uniform(4, length - 2), rng.uniform(1.5, 4.0), rng.uniform(500, 5000)
    wander = np.exp(np.cumsum(rng.normal(0, 0.03, length)))
    return (50 + ceiling / (1 + np.exp(-(steps - midpoint) / width))) * wander * rng.lognormal(0, 0.04, length)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    scores, ratios = [], []
    for _ in range(args.series):
        values = ramp(rng)
        history, actual = values[:-H], values[-H:]
        result = forecast(series_frame(history), H, QUANTILES)
        quantiles = {q: result[f"p{q * 100:g}"].to_numpy() for q in QUANTILES}
        scores.append(metrics(actual, quantiles, history))
        ratios.append(quantiles[0.9][0] / quantiles[0.1][0])
    mean = pd.DataFrame(scores).mean()  # every series scores H quarters: pooled shares
    print(f"{args.series} ramps, seed {args.seed}: 80% band covers {mean['80% cover']:.1%}, above P90 {mean['above P90']:.1%}, "
          f"below P10 {mean['below P10']:.1%}, median P90/P10 one quarter ahead {np.median(ratios):.2f}, SPL {mean['SPL']:.3f}")


if __name__ == "__main__":
    main()
