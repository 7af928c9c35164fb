"""Irregular quarters in a stream's history, weighed: one-offs and a jump into the latest quarter
(forecasts/one_offs.py), breaks, a start from zero and a stop at it (forecasts/breaks.py), each
with what the forecast would be without it.

The forecaster takes every quarter of the history for real; this names the quarters a planner
should look at, with the forecast's top quantile and median in the last quarter as they are and
as a second forecast of the stream gives them with the one-off quarters at the level either side,
or from the last break, start or stop on. It states the facts; what to do is the caller's to say (a script
forecasts from `smoothed_history` or a shorter history; the planner names the quarter in
scenario.yaml).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from forecasts.breaks import launch, level_breaks, stop
from forecasts.inputs import quantile_column
from forecasts.one_offs import OneOff, at_neighbours_level, latest_jump, one_off_quarters

def weigh_irregular_quarters(series: pd.Series, table: pd.DataFrame, choice, quantiles,
                             forecast_of: Callable[[pd.Series], pd.DataFrame]) -> None:
    """Set `choice`'s one_offs, breaks, note and warning for `series`, whose forecast is `table`.

    `forecast_of(history)` forecasts the stream from another history (the same horizon,
    quantiles, method and scale): one more forecast per kind found, none where nothing is."""
    said = []
    one_offs = one_off_quarters(series)
    if one_offs:
        without = forecast_of(at_neighbours_level(series, [o.quarter for o in one_offs]))
        quarters = "; ".join(map(_described, _runs(one_offs)))
        it, label = ("it", "one-off quarter") if len(one_offs) == 1 else ("them", "one-off quarters")
        choice.one_offs = tuple(o.quarter for o in one_offs)
        at_level = ", ".join(map(str, choice.one_offs))
        said.append(f"{label}: {quarters}: the forecast takes {it} for real; with {at_level} at the level either "
                    f"side, {_effect(table, without, quantiles)}")
    # judged against the history as it is without the one-offs: a spike in the quarter before
    # makes the change into the last quarter look like a fall
    latest = latest_jump(at_neighbours_level(series, choice.one_offs) if one_offs else series)
    if latest:
        without = forecast_of(at_neighbours_level(series, [o.quarter for o in latest]))
        choice.one_offs += tuple(o.quarter for o in latest)
        said.append(f"{_since_jump(latest)}: a one-off or the start of a new level, which the next "
                    f"quarter will tell; the forecast takes {'it' if len(latest) == 1 else 'them'} for real; "
                    f"at that growth, {_effect(table, without, quantiles)}")
    for quarter, what in _zero_edges(series):
        choice.breaks += (quarter,)
        said.append(f"{what}; from {quarter} on, {_effect(table, forecast_of(series.loc[quarter:]), quantiles)}")
    breaks = level_breaks(series)
    if breaks:
        last = breaks[-1].quarter
        without = forecast_of(series.loc[last:])
        moves = "; ".join(f"from {b.quarter} the level moved to {_times(b.ratio)} its trend before and stayed"
                          for b in breaks)
        choice.breaks = tuple(b.quarter for b in breaks)
        label = "level break" if len(breaks) == 1 else "level breaks"
        said.append(f"{label}: {moves}: the forecast reads the history before it too; from {last} on, "
                    f"{_effect(table, without, quantiles)}")
    if said:
        choice.warning = ". ".join(said)
        choice.note += "; " + "; ".join(said)


def _zero_edges(series: pd.Series) -> list[tuple[pd.Period, str]]:
    """A start from zero and a stop at it (forecasts.breaks), each with what it is in words."""
    found = []
    started, stopped = launch(series), stop(series)
    if started is not None:
        found.append((started, f"zero until {started - 1}: the stream started in {started} ({series[started]:,.10g}); "
                               "the forecast reads the quarters at zero as demand too"))
    if stopped is not None:
        found.append((stopped, f"zero since {stopped}, after {series[stopped - 1]:,.10g} in {stopped - 1}: the "
                               "forecast reads the quarters before too"))
    return found


def _effect(table: pd.DataFrame, without: pd.DataFrame, quantiles) -> str:
    """'P90 a instead of b and P50 c instead of d in <last quarter>': the other forecast against this one."""
    shown = [max(quantiles)] + ([0.5] if 0.5 in quantiles and max(quantiles) != 0.5 else [])
    columns = [quantile_column(q) for q in shown]
    return (" and ".join(f"{c.upper()} {without[c].iloc[-1]:,.0f} instead of {table[c].iloc[-1]:,.0f}" for c in columns)
            + f" in {table['quarter'].iloc[-1]}")


def _runs(one_offs: list[OneOff]) -> list[list[OneOff]]:
    """One-off quarters grouped into runs of consecutive quarters (a burst of two or three)."""
    runs = []
    for one_off in one_offs:
        if runs and one_off.quarter == runs[-1][-1].quarter + 1:
            runs[-1].append(one_off)
        else:
            runs.append([one_off])
    return runs


def _since_jump(latest: list[OneOff]) -> str:
    """'latest quarter: 2026Q4 (3,718) is 2.1 times what the stream's usual growth gives it from the
    quarter before (1,791)', or the same of the last two quarters."""
    if len(latest) == 1:
        return (f"latest quarter: {latest[0].quarter} ({latest[0].value:,.10g}) is {_times(latest[0].ratio)} what the "
                f"stream's usual growth gives it from the quarter before ({latest[0].neighbours:,.0f})")
    return (f"latest quarters: {_quarters(latest)} are {_ratios(latest)} what the stream's usual growth gives them "
            f"from {latest[0].quarter - 1} ({_levels(latest)})")


def _described(run: list[OneOff]) -> str:
    """'2026Q3 (1,800) is 2.0 times the quarters either side (900)', or the same of a run."""
    if len(run) == 1:
        return f"{run[0].quarter} ({run[0].value:,.10g}) is {_times(run[0].ratio)} the quarters either side ({run[0].neighbours:,.0f})"
    return f"{_quarters(run)} are {_ratios(run)} the level the quarters either side give them ({_levels(run)})"


def _quarters(run: list[OneOff]) -> str:
    return _listed([f"{o.quarter} ({o.value:,.10g})" for o in run])


def _ratios(run: list[OneOff]) -> str:
    """'2.0 and 2.1 times' (or '1/2.0 and 1/1.9 of': the quarters of a run lie on one side)."""
    return _listed([_ratio(o.ratio) for o in run]) + (" times" if run[0].ratio >= 1 else " of")


def _levels(run: list[OneOff]) -> str:
    return _listed([f"{o.neighbours:,.0f}" for o in run])


def _listed(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1]


def _times(ratio: float) -> str:
    return f"{_ratio(ratio)} times" if ratio >= 1 else f"{_ratio(ratio)} of"


def _ratio(ratio: float) -> str:
    """'2.1' or '1/1.9'; past a trillion either way, in words (a quarter of 1e-320 read '1/inf')."""
    if ratio >= 1:
        return f"{ratio:.1f}" if ratio < 1e12 else "over a trillion"
    return f"1/{1 / ratio:.1f}" if ratio > 1e-12 else "under a trillionth"
