"""Complete a plan's whole-number decisions at least cost.

A plan's racks, power blocks and factories are its whole-number columns; everything else (which
racks serve which stream, cloud, unmet demand, commitment shortfalls) follows from them by a
linear program. Branch and bound's incumbents are usually LP-optimal for their integers, but not
always: a solve stopped by its time limit on the large benchmark (seed 2, 20 s) returned a plan
whose own racks could have served demand it left unmet, at 647,331 M where its cheapest
completion costs 156,877 M; a re-plan's steady pass prices only racks changed, so anything its
NPV cap left room for could be paid for nothing (a commitment shortfall 48,492 over what was owed).
Holding the whole-number columns and re-solving the rest costs one LP.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from models.highs_result import FEASIBLE, returned_as_reported, whole_number_columns
from models.inputs import SHORTEST_SOLVER_CALL_S


def cheapest_completion(highs: highspy.Highs, values: np.ndarray, until: float) -> np.ndarray:
    """`values` with its whole-number columns held and the others re-solved at least cost, on the
    model as it stands; `values` itself (the same array) where that is no cheaper, fails or runs
    past `until` (a perf_counter time). HiGHS's bounds are restored and its solution cleared, so
    callers keep the array returned."""
    lp, whole = highs.getLp(), whole_number_columns(highs)
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    held = np.clip(np.round(values[whole]), lower[whole], upper[whole])
    highs.changeColsBounds(len(whole), whole, held, held)
    highs.enableCallbacks()  # clears an interrupt left set by an earlier run (HiGHS issue 1761, models/steady.py)
    try:
        for option, value in (("mip_rel_gap", 0.0), ("mip_abs_gap", 0.0),
                              ("time_limit", max(SHORTEST_SOLVER_CALL_S, until - time.perf_counter()))):
            highs.setOptionValue(option, value)
        highs.run()
        if highs.getInfo().primal_solution_status != FEASIBLE or not returned_as_reported(highs):
            return values
        completed = np.array(highs.getSolution().col_value)
        costs = np.array(lp.col_cost_)
        before = costs @ values
        return completed if costs @ completed < before - 1e-9 * max(1.0, abs(before)) else values
    finally:
        highs.changeColsBounds(len(whole), whole, lower[whole], upper[whole])
        highs.clearSolver()
