"""One-off quarters: a quarter, or a burst of two or three, far out of line with the quarters
either side, which agree with each other; and a jump into the latest quarter (`latest_jump`),
which may be a one-off or a new level.

A double-counted quarter, a figure entered in the wrong unit or a burst that ended looks like
this, and the models take it for real: doubling the second-last quarter of a sovereign-eu
stream put P90 four years ahead 3.4 times as high as without it (median of its five streams;
4.5 at most), doubling the two before the last 13 times as high, since every model's fitted
spread, the backtest's errors and the random-walk ceiling all grow with it, while on
eu-de/training P90 in the first planned quarter rose only 1.5 times for one quarter, far below
the pipeline's implausible-band warning. The forecaster does not change the history on its own
(the quarter may be real and may recur); it names the quarters and what they cost
(forecasts.irregular), so that the planner can decide.

Why this rule and not STL's robustness weights (statsmodels): on five years of quarters STL's
seasonal smoother spread a doubled second-last quarter over the same quarter of other years,
so that it named the quarter a year before the spike in 4 of the 14 example streams, and with
no floor on the size its zero weights marked 1-7 quarters in 12 of the 14 clean streams. This
rule marks none of them; it finds a doubled quarter in 23 of 28 placements (the middle or the
second-last quarter of each example stream) and a halved one in 24, a 1.6x one in 11 (a
smaller one-off is within what the streams' own quarters do), two quarters doubled in 23 and
halved in 19, three in 18 and 25, never marking another quarter; it marks 37 quarters in 30 of
Tourism's 427 series and 6 in 4 of M1's 203 (every figure here: benchmarks/one_off_sensitivity.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ONE_OFF_RATIO = 1.5  # a quarter at least this many times (or this fraction of) its neighbours' level
ONE_OFF_SPREAD = 5.0  # ... and this many robust standard deviations out, over the stream's quarters
MIN_JUDGED = 6  # quarters with both neighbours needed to say what is usual for a stream
MAX_RUN = 3  # the longest burst judged a one-off (forecasts.breaks reads no break where the level came back)


@dataclass(frozen=True)
class OneOff:
    quarter: pd.Period
    value: float
    neighbours: float  # the level the quarters either side give it (see at_neighbours_level)

    @property
    def ratio(self) -> float:
        return self.value / self.neighbours


def one_off_quarters(series: pd.Series) -> list[OneOff]:
    """Quarters of `series` (demand by quarter) out of line with the quarters either side: one
    quarter, or a burst of up to MAX_RUN in a row that ended.

    Judged on the log of demand (a spike is a ratio), from the second quarter to the second
    last: a last quarter out of line cannot be told from a step to a new level until the next
    one arrives (`latest_jump` names it as either). A run of quarters is a one-off where each lies ONE_OFF_RATIO times above (or
    each below) the level the quarters either side give it (their geometric mean for one
    quarter, a straight line on the log scale across a run), ONE_OFF_SPREAD robust standard
    deviations (1.4826 MAD) beyond what a quarter of the stream usually does against its
    neighbours, and further from that level than those quarters lie from each other (so a step
    up, or a steep stretch of a ramp, is not one). Quarters beside a zero are not judged.
    Seasonality lifts what is usual: a regular peak quarter, or run of them, is not a one-off.
    """
    values = series.to_numpy(float)
    if len(values) < MIN_JUDGED + 2:
        return []
    with np.errstate(divide="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    by_run = {run: _departures(logs, run) for run in range(1, MAX_RUN + 1)}
    usual = by_run[1][0][np.isfinite(by_run[1][0])]  # what one quarter usually does against its neighbours
    if len(usual) < MIN_JUDGED:
        return []
    spread = 1.4826 * np.median(np.abs(usual - np.median(usual)))
    marked = np.zeros(len(values), bool)
    for run, (departures, sides_apart) in by_run.items():
        if not len(departures):
            continue
        size = np.abs(departures).min(axis=1)  # nan beside a zero: never marked
        one_way = (departures > 0).all(axis=1) | (departures < 0).all(axis=1)
        found = (one_way & (size > np.log(ONE_OFF_RATIO)) & (size > ONE_OFF_SPREAD * spread) & (size > sides_apart))
        for start in np.flatnonzero(found) + 1:
            marked[start:start + run] = True
    if not marked.any():
        return []
    level = at_neighbours_level(series.astype(float), series.index[marked])
    return [OneOff(series.index[i], float(values[i]), float(level.iloc[i])) for i in np.flatnonzero(marked)]


def _departures(logs: np.ndarray, run: int) -> tuple[np.ndarray, np.ndarray]:
    """For every run of `run` quarters with a quarter either side: each quarter's log against the
    straight line between those two (rows: runs from the second quarter on), and how far apart
    the two lie."""
    if len(logs) < run + 2:
        return np.empty((0, run)), np.empty(0)
    windows = np.lib.stride_tricks.sliding_window_view(logs, run + 2)
    left, right = windows[:, 0], windows[:, -1]
    share = np.arange(1, run + 1) / (run + 1)
    return windows[:, 1:-1] - (left[:, None] + (right - left)[:, None] * share), np.abs(right - left)


def latest_jump(series: pd.Series) -> list[OneOff]:
    """The quarters of `series` from a jump into its last or second-last quarter on, or none.

    A jump: the change into the quarter lies ONE_OFF_RATIO times off the stream's usual
    quarter-on-quarter change (the median of its changes between quarters above zero, before the
    jump) and ONE_OFF_SPREAD robust standard deviations beyond it; into the second-last quarter, the
    last must have stayed as far off the usual growth, on the same side (had it come back, the
    second-last is a one-off that `one_off_quarters` names); into the last, the quarter before
    must not be a jump itself. OneOff.neighbours: the level the usual growth gives each quarter
    from the quarter before the jump.

    `one_off_quarters` cannot judge these quarters: too little after them says whether they came
    back. So this names them as what they may be, a one-off or the start of a new level. They
    matter more than any others: doubling the last quarter of a sovereign-eu stream put P50 four
    years ahead 2.6 times as high (median of its five streams; 7.4 at most) and P90 6.3 times (31
    at most); doubling the last two, P50 6.5 times (P90 24). It finds a doubled last quarter in
    all 14 example streams and a halved one in 13, the last two doubled or halved in 12 and 10,
    and marks none unchanged. Cutting the competition sets' series after each quarter, the quarter
    after a jump into the last came back (at least half way) at 30 of 82 cut-off points of Tourism
    and 5 of 8 of M1 and stayed at the rest (benchmarks/one_off_sensitivity.py): the planner's
    call, not the forecaster's.
    """
    values = series.to_numpy(float)
    for since in (2, 1):
        judged = _against_usual_growth(values, since)
        if judged is None:
            continue
        departures, level, spread = judged
        if not all(_jumped(d, spread) for d in departures) or len(set(np.sign(departures))) > 1:
            continue
        if since == 1:
            before = _against_usual_growth(values[:-1], 1)  # the change into the quarter before the last
            if before is not None and _jumped(before[0][0], spread=before[2]):
                continue
        return [OneOff(series.index[i], float(values[i]), float(level[k]))
                for k, i in enumerate(range(len(values) - since, len(values)))]
    return []


def _against_usual_growth(values: np.ndarray, since: int):
    """For the last `since` quarters of `values`: each one's log departure from the level the
    stream's usual growth gives it from the quarter before them, those levels, and the robust
    spread of the changes before them; None where too few quarters above zero say what is usual."""
    first = len(values) - since
    if first < MIN_JUDGED + 1 or not (values[first - 1:] > 0).all():
        return None
    changes = _kept_changes(values, np.arange(first))
    if len(changes) < MIN_JUDGED:
        return None
    usual = np.median(changes)
    level = values[first - 1] * np.exp(usual * np.arange(1, since + 1))
    return np.log(values[first:] / level), level, 1.4826 * np.median(np.abs(changes - usual))


def _jumped(departure: float, spread: float) -> bool:
    return abs(departure) > np.log(ONE_OFF_RATIO) and abs(departure) > ONE_OFF_SPREAD * spread


def _kept_changes(values: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The log changes between adjacent kept quarters (positions `kept`) both above zero: what
    the stream's usual growth is read from, by latest_jump and at_neighbours_level alike."""
    adjacent = kept[1:][np.diff(kept) == 1]
    before, after = values[adjacent - 1], values[adjacent]
    both = (before > 0) & (after > 0)
    return np.log(after[both] / before[both])


def at_neighbours_level(series: pd.Series, quarters) -> pd.Series:
    """The history with `quarters` (Periods of its index, not its first) at the level of the
    nearest other quarters either side: their geometric mean for one quarter, a straight line on
    the log scale across a run of them (in demand's units where either side is zero). Named last
    quarters, with none after them, take the level the stream's usual growth (the median log
    change between the other adjacent quarters above zero) gives them from the quarter before
    (flat where there is none). What the forecast would be without those quarters (a one-off, or a
    planner's forecast.one_off_quarters)."""
    named = series.index.isin(list(quarters))
    if named[0]:
        raise ValueError("the first quarter has no quarter before it to take a level from")
    values = series.to_numpy(float)
    smoothed = series.astype(float).copy()
    kept = np.flatnonzero(~named)
    for position in np.flatnonzero(named):
        left = kept[kept < position][-1]
        low = values[left]
        if position > kept[-1]:
            smoothed.iloc[position] = low * np.exp(_usual_change(values, kept) * (position - left)) if low > 0 else low
            continue
        right = kept[kept > position][0]
        share = (position - left) / (right - left)
        high = values[right]
        smoothed.iloc[position] = (np.exp((1 - share) * np.log(low) + share * np.log(high)) if low > 0 and high > 0
                                   else (1 - share) * low + share * high)
    return smoothed


def _usual_change(values: np.ndarray, kept: np.ndarray) -> float:
    """The median of `_kept_changes`; 0 if there is none."""
    changes = _kept_changes(values, kept)
    return float(np.median(changes)) if len(changes) else 0.0


def smoothed_history(history: pd.DataFrame, one_offs) -> pd.DataFrame:
    """A long history (quarter as Periods, region, workload, demand) with each stream's named
    quarters ({(region, workload): quarters}) at the level either side (`at_neighbours_level`):
    the history the models are given when a planner has judged those quarters one-offs. The
    actuals themselves stay as recorded everywhere else."""
    smoothed = history.copy()
    smoothed["demand"] = smoothed["demand"].astype(float)
    for (region, workload), quarters in one_offs.items():
        rows = smoothed.index[(smoothed["region"] == region) & (smoothed["workload"] == workload)]
        stream = smoothed.loc[rows].sort_values("quarter")
        series = pd.Series(stream["demand"].to_numpy(float), index=pd.PeriodIndex(stream["quarter"], freq="Q"))
        smoothed.loc[stream.index, "demand"] = at_neighbours_level(series, quarters).to_numpy()
    return smoothed
