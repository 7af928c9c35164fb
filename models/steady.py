"""A re-plan that keeps the previous plan's orders among plans about as cheap as the cheapest.

Among plans within the optimality gap many cost about the same, and branch and bound lands on
any of them: re-planned with the demand it had predicted, global-enterprise's plan changed 21
order lines. Procurement reads every changed line as work (a supplier call, a revised PO), so
after the cheapest plan is found a second pass, on HiGHS's copy of the model, looks for the plan
closest to the previous one, counted in racks changed per order line (factory, rack type,
quarter), among those whose NPV is at most the first plan's plus an allowance (models/search.py
sets it: by default what keeps the plan within the optimality gap of the bound, so the plan is
as good by the solver's own measure):

    minimise  sum_k (up_k + down_k)
    such that order_k - up_k + down_k = previous_k   for every order line k
              NPV(x) <= NPV(first plan) + allowance
              and every constraint of the model.

The first plan is feasible for it, so the pass starts from a plan and can only return one no
further from the previous plan, whatever its time limit. A quick sub-MIP with each order line
held between its first-plan and previous value runs first, as a start for the full pass: on the
second roll of the quarterly example it found in 0.4 s a plan changing 222 racks where the
cheapest changed 244; HiGHS's own heuristics found none better for 13 s. The orders it keeps
are then completed at least cost (models/completion.py): the closeness objective prices nothing
else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from models.completion import cheapest_completion
from models.highs_result import FEASIBLE, returned_as_reported, run_on_without_presolve
from models.inputs import SHORTEST_SOLVER_CALL_S

_OPTIMAL = highspy.HighsModelStatus.kOptimal
NEIGHBOURHOOD_SHARE = 0.3  # of the pass's time, at most, for the sub-MIP near both plans
COMPLETION_SHARE = 0.05    # of the pass's time, kept for costing the closest plan's orders at least cost
# The pass stops once no plan can change this share fewer racks than the one in hand (HiGHS's
# mip_rel_gap on the racks changed): on the second roll of the quarterly example it had its last
# plan but 2 racks from the best at 16 s, and took 90 s to prove the best.
CLOSENESS_GAP = 0.05
KILLED = "killed"  # stopped_by of a pass whose process the planner killed past its limit (models/isolation.py)


@dataclass(frozen=True)
class SteadyReport:
    """What the pass did, in the previous plan's order lines still open to change."""

    lines_before: int        # order lines the cheapest plan changed
    racks_before: int        # racks it changed, summed over those lines
    lines_after: int
    racks_after: int
    npv_change_musd: float   # the kept plan's NPV minus the cheapest plan's (>= 0 up to rounding)
    allowed_musd: float      # the NPV the kept plan may add to the cheapest's
    basis: str               # what set that allowance, in words (the optimality gap, solver.steady_within)
    proven: bool             # racks_after is within CLOSENESS_GAP of the fewest any plan allowed changes
    seconds: float
    stopped_by: str = ""     # HiGHS's status of the last run when not proven ("kTimeLimit", "kInterrupt", ...), or KILLED

    @property
    def improved(self) -> bool:
        return self.racks_after < self.racks_before


def previous_orders(m) -> tuple[list, np.ndarray]:
    """The model's free order variables and, for each, the racks the previous plan ordered on
    that line (0 where it ordered none); none when the inputs carry no previous plan."""
    previous = m.inputs.previous_orders
    if previous is None:
        return [], np.zeros(0)
    start = m.inputs.start
    racks: dict[tuple, float] = {}
    for quarter, factory, rack_type, n in previous[["order_quarter", "factory", "rack_type", "racks"]].itertuples(
            index=False):
        key = (factory, rack_type, int(quarter.ordinal - start.ordinal))
        racks[key] = racks.get(key, 0) + n
    free = [(key, var) for key, var in m.order.items() if not var.fixed]
    return [var for _, var in free], np.array([float(racks.get(key, 0)) for key, _ in free])


def changed(values: np.ndarray, targets: np.ndarray) -> tuple[int, int]:
    """(order lines changed, racks changed) of order values against the previous plan's."""
    difference = np.abs(np.round(values) - targets)
    return int(np.count_nonzero(difference)), int(difference.sum())


def steady_pass(highs: highspy.Highs, orders: np.ndarray, targets: np.ndarray, incumbent: np.ndarray, *,
                allowed: float, basis: str, deadline: float, threads: int) -> tuple[np.ndarray, SteadyReport]:
    """The column values of the plan closest to `targets` on the `orders` columns, and the report.

    `incumbent` holds the cheapest plan's column values; `allowed` is the NPV (in the objective's
    units) a closer plan may add to it, and `basis` says why, for the report. HiGHS's model is
    restored before returning; the caller loads the values returned.
    """
    began = time.perf_counter()
    lp = highs.getLp()
    columns, rows = lp.num_col_, lp.num_row_
    costs, offset = np.array(lp.col_cost_), lp.offset_
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    incumbent = incumbent.copy()
    incumbent[orders] = np.round(incumbent[orders])
    lines_before, racks_before = changed(incumbent[orders], targets)
    allowed = max(allowed, 0.0)
    if racks_before == 0:
        return incumbent, SteadyReport(0, 0, 0, 0, 0.0, allowed, basis, True, time.perf_counter() - began)
    cap = float(costs @ incumbent) + allowed + 1e-6  # $1 in the model's $M: the first plan meets it however rounded
    best, proven, status = incumbent, False, None
    # The interrupt that stopped the first solve stays set in HiGHS's callback input and stops
    # every later run at once while any interrupt callback is subscribed (HiGHS issue 1761);
    # setting the callback again, which enableCallbacks does, clears it.
    highs.enableCallbacks()
    try:
        _add_closeness(highs, orders, targets, costs, cap)
        highs.changeObjectiveOffset(0.0)  # the objective is then racks changed, for the relative gap
        for option, value in (("threads", threads), ("random_seed", 0), ("output_flag", False),
                              ("mip_rel_gap", CLOSENESS_GAP), ("mip_abs_gap", 0.999)):  # racks changed: whole
            highs.setOptionValue(option, value)
        between = np.minimum(incumbent[orders], targets), np.maximum(incumbent[orders], targets)
        highs.changeColsBounds(len(orders), orders, *between)
        _run(highs, best, orders, targets, began + (deadline - began) * NEIGHBOURHOOD_SHARE)
        best = _improve(highs, best, orders, targets, columns)
        highs.changeColsBounds(len(orders), orders, lower[orders], upper[orders])
        _run(highs, best, orders, targets, deadline - (deadline - began) * COMPLETION_SHARE)
        best = _improve(highs, best, orders, targets, columns)
        status = highs.getModelStatus()
        proven = status == _OPTIMAL
    finally:
        highs.deleteRows(highs.getNumRow() - rows, np.arange(rows, highs.getNumRow(), dtype=np.int32))
        highs.deleteCols(highs.getNumCol() - columns, np.arange(columns, highs.getNumCol(), dtype=np.int32))
        highs.changeColsCost(columns, np.arange(columns, dtype=np.int32), costs)
        highs.changeObjectiveOffset(offset)
        highs.changeColsBounds(len(orders), orders, lower[orders], upper[orders])
        highs.clearSolver()
    if best is not incumbent:
        best = cheapest_completion(highs, best, deadline)
    lines_after, racks_after = changed(best[orders], targets)
    npv_change = float(costs @ best - costs @ incumbent)
    return best, SteadyReport(lines_before, racks_before, lines_after, racks_after, npv_change, allowed, basis, proven,
                              time.perf_counter() - began, "" if proven or status is None else status.name)


def _add_closeness(highs: highspy.Highs, orders: np.ndarray, targets: np.ndarray, costs: np.ndarray,
                   cap: float) -> None:
    """Columns up and down per order line (cost 1 each), their balance rows, the NPV cap row,
    and every original cost set to zero."""
    n, columns = len(orders), highs.getNumCol()
    highs.changeColsCost(columns, np.arange(columns, dtype=np.int32), np.zeros(columns))
    highs.addVars(2 * n, np.zeros(2 * n), np.full(2 * n, highspy.kHighsInf))
    highs.changeColsCost(2 * n, np.arange(columns, columns + 2 * n, dtype=np.int32), np.ones(2 * n))
    up, down = np.arange(columns, columns + n), np.arange(columns + n, columns + 2 * n)
    starts = np.arange(0, 3 * n, 3, dtype=np.int32)
    index = np.column_stack([orders, up, down]).ravel().astype(np.int32)
    values = np.tile([1.0, -1.0, 1.0], n)
    highs.addRows(n, targets.astype(float), targets.astype(float), len(index), starts, index, values)
    priced = np.flatnonzero(costs).astype(np.int32)
    highs.addRow(-highspy.kHighsInf, cap, len(priced), priced, costs[priced])


def _closeness_start(values: np.ndarray, orders: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """`values` (original columns) extended with the up and down columns they imply."""
    difference = values[orders] - targets
    return np.concatenate([values, np.maximum(difference, 0.0), np.maximum(-difference, 0.0)])


def _run(highs: highspy.Highs, start: np.ndarray, orders: np.ndarray, targets: np.ndarray, until: float) -> None:
    solution = highspy.HighsSolution()
    solution.col_value = list(_closeness_start(start, orders, targets))
    highs.setSolution(solution)

    def run():
        highs.setOptionValue("time_limit", max(SHORTEST_SOLVER_CALL_S, until - time.perf_counter()))
        highs.run()

    run()
    if not returned_as_reported(highs):  # a proof of a point HiGHS did not return (models/highs_result.py)
        run_on_without_presolve(highs, run)


def _improve(highs: highspy.Highs, best: np.ndarray, orders: np.ndarray, targets: np.ndarray,
             columns: int) -> np.ndarray:
    """HiGHS's last solution if it is feasible and changes fewer racks than `best`, else `best`."""
    if highs.getInfo().primal_solution_status != FEASIBLE:
        return best
    values = np.array(highs.getSolution().col_value)[:columns]
    values[orders] = np.round(values[orders])
    return values if changed(values[orders], targets)[1] < changed(best[orders], targets)[1] else best
