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

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from models.inputs import SolverOptions

OPTIMAL, TIME_LIMIT, NO_SOLUTION, INFEASIBLE = "optimal", "time_limit", "no_solution", "infeasible"


@dataclass
class SolveResult:
    status: str
    objective_musd: float | None   # the model's objective, $M
    bound_musd: float | None
    gap: float | None
    seconds: float
    solver: str
    log: str = ""

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
    results = solver.solve(
        m, tee=tee, load_solutions=False, raise_exception_on_nonoptimal_result=False,
        time_limit=options.time_limit_s, rel_gap=options.mip_gap, threads=options.threads,
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
        gap = abs(objective - bound) / max(abs(objective), 1e-9)
    return SolveResult(status, objective, bound, gap, seconds, f"highs {'.'.join(map(str, solver.version()))}",
                       buffer.getvalue())


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
