"""Regenerate the shipped actuals (2027Q1-2027Q4) for examples/global-enterprise.

They continue the seeded process that made its demand history (examples/make_history.py),
so they are what "really happened" after the history ends. Run: python examples/quarterly/make_actuals.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from make_history import LAST_QUARTER, SEASON, STREAMS  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(2027)
    for step in range(1, 5):
        quarter = LAST_QUARTER + step
        rows = []
        for (region, workload), (last, growth, amplitude, noise) in STREAMS["global-enterprise"].items():
            value = last * (1 + growth) ** (step / 4) * (1 + amplitude * SEASON[quarter.quarter - 1]) * rng.lognormal(0, noise)
            rows.append((f"{quarter.year}Q{quarter.quarter}", region, workload, round(float(value))))
        with (HERE / "actuals" / f"{quarter.year}Q{quarter.quarter}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["quarter", "region", "workload", "demand"])
            writer.writerows(rows)


if __name__ == "__main__":
    main()
