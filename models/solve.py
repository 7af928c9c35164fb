"""Solve a built model and report its status honestly.

HiGHS goes through Pyomo's persistent interface (`pyomo.contrib.solver`); any other
Pyomo-supported solver goes through `SolverFactory`. Statuses: optimal (within the gap),
time_limit (an incumbent with its gap), no_solution (time limit without incumbent),
infeasible.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from models.inputs import SolverOptions

OPTIMAL, TIME_LIMIT, NO_SOLUTION, INFEASIBLE = "optimal", "time_limit", "no_solution", "infeasible"

# From this many integer columns on, plain branch and bound finds no incumbent in a minute
# on this machine; start it from a RENS solution instead (shared/reference/solver.md).
RENS_MIN_INTEGERS = 3000
RENS_SHARE_OF_TIME = 0.5


@dataclass
class SolveResult:
    status: str
    objective_musd: float | None   # the model's objective, $M
    bound_musd: float | None
    gap: float | None
    seconds: float
    solver: str
    log: str = ""
    handover_s: float = 0.0  # Pyomo -> HiGHS, included in `seconds`

    @property
    def has_solution(self) -> bool:
        return self.status in (OPTIMAL, TIME_LIMIT)


def solve(m: pyo.ConcreteModel, options: SolverOptions, log_stream=None) -> SolveResult:
    if options.name.lower() in ("highs", "appsi_highs"):
        return _solve_highs(m, options, log_stream)
    return _solve_other(m, options)


def _solve_highs(m, options: SolverOptions, log_stream) -> SolveResult:
    solver = Highs()
    buffer = io.StringIO()
    tee = [buffer] + ([log_stream] if log_stream is not None else [])
    began = time.perf_counter()
    solver.set_instance(m)  # the hand-over of the Pyomo model to HiGHS, timed on its own
    handed_over = time.perf_counter()
    lp_bound = None
    integers = _integer_columns(solver)
    if len(integers) >= RENS_MIN_INTEGERS:
        lp_bound = _rens_start(solver._solver_model, integers, options, began)
    remaining = max(1.0, options.time_limit_s - (time.perf_counter() - began))
    results = solver.solve(
        m, tee=tee, load_solutions=False, raise_exception_on_nonoptimal_result=False,
        time_limit=remaining, rel_gap=options.mip_gap, threads=options.threads,
        solver_options={"random_seed": 0, "mip_abs_gap": 1e-6},
    )
    seconds = time.perf_counter() - began
    condition = results.termination_condition
    has_incumbent = results.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
    if condition in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        status = INFEASIBLE
    elif condition == TerminationCondition.convergenceCriteriaSatisfied and has_incumbent:
        status = OPTIMAL
    elif has_incumbent:
        status = TIME_LIMIT
    else:
        status = NO_SOLUTION
    objective = bound = gap = None
    if has_incumbent:
        results.solution_loader.load_vars()
        objective = pyo.value(m.npv)
        bound = results.objective_bound if results.objective_bound is not None else objective
        if lp_bound is not None:
            bound = max(bound, lp_bound)  # the LP relaxation's value is a valid lower bound too
        gap = abs(objective - bound) / max(abs(objective), 1e-9)
        if status == TIME_LIMIT and gap <= options.mip_gap:
            status = OPTIMAL
    return SolveResult(status, objective, bound, gap, seconds, f"highs {'.'.join(map(str, solver.version()))}",
                       buffer.getvalue(), handover_s=handed_over - began)


def _solve_other(m, options: SolverOptions) -> SolveResult:
    solver = pyo.SolverFactory(options.name)
    if solver is None or not solver.available(exception_flag=False):
        raise RuntimeError(f"solver '{options.name}' is not available on this machine")
    began = time.perf_counter()
    results = solver.solve(m, load_solutions=False, tee=options.verbose)
    seconds = time.perf_counter() - began
    condition = results.solver.termination_condition
    if condition in (pyo.TerminationCondition.infeasible, pyo.TerminationCondition.infeasibleOrUnbounded):
        return SolveResult(INFEASIBLE, None, None, None, seconds, options.name)
    if len(results.solution) == 0:
        return SolveResult(NO_SOLUTION, None, None, None, seconds, options.name)
    m.solutions.load_from(results)
    objective = pyo.value(m.npv)
    status = OPTIMAL if condition == pyo.TerminationCondition.optimal else TIME_LIMIT
    bound = getattr(results.problem, "lower_bound", None)
    gap = abs(objective - bound) / max(abs(objective), 1e-9) if isinstance(bound, (int, float)) else None
    return SolveResult(status, objective, bound, gap, seconds, options.name)


def _integer_columns(solver) -> list[int]:
    """Column indices of HiGHS's copy of the model that are integer."""
    highs = solver._solver_model
    lp = highs.getLp()
    return [j for j, kind in enumerate(lp.integrality_) if kind != highspy.HighsVarType.kContinuous]


def _rens_start(highs, integers: list[int], options: SolverOptions, began: float) -> float | None:
    """LP relaxation by IPM, then a sub-MIP with each integer between zero and the ceiling of its
    LP value (a RENS variant); its solution becomes the full MIP's starting incumbent.

    Returns the LP relaxation's objective (a valid lower bound), or None when it did not solve.
    Bounds and integrality are restored before returning.
    """
    lp = highs.getLp()
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    integrality = lp.integrality_  # a pybind property copies the whole list on every access: read it once
    kinds = [integrality[j] for j in integers]
    count, index = len(integers), np.array(integers, dtype=np.int32)
    continuous = np.array([highspy.HighsVarType.kContinuous] * count)
    highs.setOptionValue("threads", options.threads)
    highs.setOptionValue("random_seed", 0)
    budget = options.time_limit_s * RENS_SHARE_OF_TIME
    try:
        highs.changeColsIntegrality(count, index, continuous)
        highs.setOptionValue("solver", "ipm")
        highs.setOptionValue("time_limit", max(1.0, budget * 0.6))
        highs.run()
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        bound = highs.getInfo().objective_function_value
        values = np.array(highs.getSolution().col_value)[index]
        highs.changeColsIntegrality(count, index, np.array(kinds))
        # Round-down-to-zero neighbourhood: [0, ceil(LP value)]. Plain RENS [floor, ceil] is often
        # infeasible here: a fractionally open candidate factory needs either its full minimum
        # size or all its orders at zero, and the floors forbid the zeros.
        highs.changeColsBounds(count, index, lower[index], np.minimum(upper[index], np.ceil(values - 1e-6)))
        highs.setOptionValue("solver", "choose")
        highs.setOptionValue("mip_rel_gap", options.mip_gap)
        highs.setOptionValue("time_limit", max(1.0, budget - (time.perf_counter() - began)))
        highs.run()
        start = highs.getSolution() if highs.getInfo().primal_solution_status == 2 else None
    finally:
        highs.changeColsIntegrality(count, index, np.array(kinds))
        highs.changeColsBounds(count, index, lower[index], upper[index])
        highs.setOptionValue("solver", "choose")
        highs.clearSolver()
    if start is not None:
        highs.setSolution(start)
    return bound
