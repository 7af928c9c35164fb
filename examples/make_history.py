"""Regenerate the examples' demand_history.csv (seeded, so the output is reproducible).

Demand per stream grows geometrically at an annual rate with a quarterly seasonal
pattern and lognormal noise, shaped like AI compute demand (fast growth, mild
year-end seasonality). Run: python examples/make_history.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent

# stream -> (demand in the last history quarter, annual growth, seasonal amplitude, noise sd)
STREAMS = {
    "sovereign-eu": {
        ("eu-de", "training"): (1900, 0.45, 0.03, 0.04),
        ("eu-de", "inference"): (1300, 0.55, 0.06, 0.03),
        ("eu-de", "commercial"): (600, 0.40, 0.08, 0.05),
        ("eu-fr", "training"): (450, 0.50, 0.03, 0.05),
        ("eu-fr", "inference"): (700, 0.50, 0.06, 0.04),
    },
    "global-enterprise": {
        ("us", "training"): (5200, 0.40, 0.03, 0.04),
        ("us", "fine-tuning"): (1400, 0.45, 0.05, 0.05),
        ("us", "inference"): (4200, 0.55, 0.07, 0.03),
        ("eu", "training"): (1600, 0.35, 0.03, 0.05),
        ("eu", "fine-tuning"): (500, 0.40, 0.05, 0.06),
        ("eu", "inference"): (1700, 0.50, 0.07, 0.04),
        ("apac", "training"): (700, 0.45, 0.03, 0.06),
        ("apac", "fine-tuning"): (250, 0.50, 0.05, 0.07),
        ("apac", "inference"): (1100, 0.60, 0.08, 0.04),
    },
}
SEASON = np.array([-1.0, -0.3, 0.3, 1.0])  # Q1 low, Q4 high
LAST_QUARTER = pd.Period("2026Q4", freq="Q")
QUARTERS = 20


def history(name: str, seed: int) -> list[tuple[str, str, str, float]]:
    rng = np.random.default_rng(seed)
    quarters = pd.period_range(end=LAST_QUARTER, periods=QUARTERS, freq="Q")
    rows = []
    for (region, workload), (last, growth, amplitude, noise) in STREAMS[name].items():
        years_back = (np.arange(QUARTERS) - (QUARTERS - 1)) / 4.0
        trend = last * (1 + growth) ** years_back
        season = 1 + amplitude * SEASON[[q.quarter - 1 for q in quarters]]
        values = trend * season * rng.lognormal(0.0, noise, QUARTERS)
        rows += [(f"{q.year}Q{q.quarter}", region, workload, round(float(v))) for q, v in zip(quarters, values)]
    return rows


def main() -> None:
    for seed, name in enumerate(STREAMS, start=7):
        with (HERE / name / "demand_history.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["quarter", "region", "workload", "demand"])
            writer.writerows(history(name, seed))


if __name__ == "__main__":
    main()
