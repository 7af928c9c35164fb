"""Breaks: a quarter from which a stream's level moved far off its own trend and stayed there.

A large customer leaving, a workload moving to another region, a new tenant arriving all look
like this. The models read the whole history, so after a fall they forecast from a blend of the
two levels and a trend bent by the fall: a stream of 1,000 rising to 1,600, then 800 rising to
900 over six quarters, was forecast to fall from 893 to 850 over two years, while from the
break on its six quarters give 921 rising to 1,087. The forecaster does not cut the history on
its own (the old level may come back); it names the quarter and what starting there would
give (forecasts.irregular), so that the planner can decide.

A break at quarter j: the change into j lies BREAK_RATIO times off the stream's usual
quarter-on-quarter change (its median) and BREAK_SPREAD robust standard deviations beyond it,
and the level of the AFTER quarters from j on, each carried back by the usual change, lies
BREAK_RATIO times off the level of the BEFORE quarters before j, carried forward, in the same
direction; and each of those quarters, and the quarter after them where there is one, lies
BREAK_EACH times off the other side's level on its own side. The second test keeps a one-off
quarter (which comes back the quarter after) from reading as a break, the third a burst of two
or three (forecasts.one_offs): without it, 88 of 112 such bursts in the example streams (two or
three quarters doubled or halved, in the middle or at the end of the history) read as breaks,
and the planner would have advised starting the history at them; with it, 1. It marks no
quarter of the shipped examples' 14 streams, finds a halving of a stream's last 8 quarters in
13 of them and a doubling in 11, and marks 11 quarters in 11 of Tourism's 427 series (36 in 29
before the third test; 21 of the 25 it dropped start or end a burst now marked a one-off) and 2
in 2 of M1's 203 (benchmarks/one_off_sensitivity.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BREAK_RATIO = 1.5  # the level moved at least this many times up (or this fraction down)
BREAK_SPREAD = 5.0  # ... in a change this many robust standard deviations off the usual one
BREAK_EACH = 1.35  # ... and each quarter either side at least this far off the other side's level
BEFORE = 4  # quarters before a break that say where the level was
AFTER = 3  # quarters from a break on that say the new level stayed (a jump into the last two: one_offs.latest_jump)


@dataclass(frozen=True)
class Break:
    quarter: pd.Period
    ratio: float  # the level from the break on / the level before it, both on the stream's usual trend


def level_breaks(series: pd.Series) -> list[Break]:
    """Quarters of `series` (demand by quarter, every quarter above zero) where its level broke.

    Judged on the log of demand (a fall to half is a fall to half at any size); a history with a
    quarter at zero is not judged (its level has no ratio). See the module's docstring.
    """
    values = series.to_numpy(float)
    if len(values) < BEFORE + AFTER or not (values > 0).all():
        return []
    logs = np.log(values)
    changes = np.diff(logs)
    usual = np.median(changes)
    spread = 1.4826 * np.median(np.abs(changes - usual))
    found = []
    for j in range(BEFORE, len(values) - AFTER + 1):
        jump = changes[j - 1] - usual
        if abs(jump) <= np.log(BREAK_RATIO) or abs(jump) <= BREAK_SPREAD * spread:
            continue
        carried_forward = logs[j - BEFORE:j] + usual * np.arange(BEFORE, 0, -1)  # each quarter before, to quarter j
        carried_back = logs[j:j + AFTER + 1] - usual * np.arange(min(AFTER + 1, len(logs) - j))  # and each from j on
        before, after = np.mean(carried_forward), np.mean(carried_back[:AFTER])
        shift = after - before
        stayed = min(np.min((carried_back - before) * np.sign(jump)), np.min((after - carried_forward) * np.sign(jump)))
        if np.sign(shift) == np.sign(jump) and abs(shift) > np.log(BREAK_RATIO) and stayed > np.log(BREAK_EACH):
            found.append(Break(series.index[j], float(np.exp(shift))))
    return found


def launch(series: pd.Series) -> pd.Period | None:
    """The first quarter above zero of a stream whose history starts at zero, or None.

    A workload that had not begun is often given as zeros from the file's first quarter:
    `level_breaks` cannot judge such a history (zero has no ratio), and the models read the zeros
    as demand. Named only with AFTER quarters from it on, enough to forecast from."""
    values = series.to_numpy(float)
    started = np.flatnonzero(values > 0)
    if not started.size or started[0] == 0 or len(values) - started[0] < AFTER:
        return None
    return series.index[started[0]]


def stop(series: pd.Series) -> pd.Period | None:
    """The first quarter of a run of at least AFTER quarters at zero that ends a stream's history
    after demand, or None: a customer that left, a workload that moved. The models read the
    quarters before it too, and keep a band above zero."""
    values = series.to_numpy(float)
    demand = np.flatnonzero(values > 0)
    if not demand.size or len(values) - 1 - demand[-1] < AFTER:
        return None
    return series.index[demand[-1] + 1]
