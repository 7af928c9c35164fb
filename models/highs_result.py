"""What HiGHS returned after a run, checked against what it reported.

HiGHS 1.16, given a MIP start its presolve could improve, has reported the improved objective as
optimal while returning the start itself (a plan at 1.53 M reported as 1.03 M: tests/test_solve.py,
test_a_warm_started_plan_is_the_one_highs_reports_not_the_start_it_was_given). Without presolve,
what it returns is what it solved. Every run given a start (the plan's solve, the re-plan's
steady pass) checks the returned point and, where it is not the one reported, runs on from it
without presolve.
"""

from __future__ import annotations

from typing import Callable

import highspy
import numpy as np

FEASIBLE = 2  # HighsInfo.primal_solution_status of a feasible point
NOT_AS_REPORTED = "The point HiGHS returned does not cost what it reported; solving on from it without presolve."


def returned_as_reported(highs: highspy.Highs) -> bool:
    """Whether HiGHS's returned point (if any) has the objective value HiGHS reports for it."""
    info = highs.getInfo()
    if info.primal_solution_status != FEASIBLE:
        return True
    lp = highs.getLp()
    returned = float(np.dot(lp.col_cost_, highs.getSolution().col_value)) + lp.offset_
    return abs(returned - info.objective_function_value) <= 1e-6 * max(1.0, abs(returned))


def run_on_without_presolve(highs: highspy.Highs, run: Callable[[], object]):
    """Start HiGHS from the point it returned and `run` again with presolve off; presolve is
    restored after. Returns what `run` returns."""
    highs.setSolution(highs.getSolution())
    highs.setOptionValue("presolve", "off")
    try:
        return run()
    finally:
        highs.setOptionValue("presolve", "choose")


def whole_number_columns(highs: highspy.Highs) -> np.ndarray:
    """Column indices of HiGHS's copy of the model that it holds to whole numbers."""
    kinds = highs.getLp().integrality_
    return np.array([j for j, kind in enumerate(kinds) if kind != highspy.HighsVarType.kContinuous], dtype=np.int32)
