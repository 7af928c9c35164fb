"""Solve a built model and report its status honestly.

HiGHS goes through Pyomo's persistent interface (`pyomo.contrib.solver`); any other
Pyomo-supported solver goes through `SolverFactory`. Statuses: optimal (within the gap),
time_limit (an incumbent with its gap), no_solution (time limit without incumbent),
infeasible.
"""

from __future__ import annotations

import io
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from models.inputs import SolverOptions
from models.warmstart import rens_start

OPTIMAL, TIME_LIMIT, NO_SOLUTION, INFEASIBLE = "optimal", "time_limit", "no_solution", "infeasible"

# From this many integer columns on, start branch and bound from a warm start (models/warmstart.py):
# on the large benchmark plain branch and bound finds no incumbent in a minute; on the medium one
# (2.5-3k integers) the warm start took 4-12 s against 11-26 s without (shared/reference/solver.md).
RENS_MIN_INTEGERS = 1000
RENS_SHARE_OF_TIME = 0.5
WATCHDOG_GRACE = 0.05  # share of the time limit HiGHS may overrun before it is interrupted
# Pyomo warns of an "unhandled" status when the watchdog interrupts HiGHS; the status is handled here.
logging.getLogger("pyomo.contrib.solver.solvers.highs").addFilter(lambda record: "kInterrupt" not in record.getMessage())


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
    extra = {"random_seed": 0, "mip_abs_gap": 1e-6}
    integers = _integer_columns(solver)
    highs = solver._solver_model
    with _watchdog(highs, began + options.time_limit_s * (1 + WATCHDOG_GRACE) + 1.0):
        if len(integers) >= RENS_MIN_INTEGERS:
            start = rens_start(highs, integers, _columns(solver, m.open.values()), gap=options.mip_gap / 2,
                               threads=options.threads, deadline=began + options.time_limit_s * RENS_SHARE_OF_TIME)
            lp_bound = start.lower_bound
            if start.solution is not None:
                highs.setSolution(start.solution)
            extra["mip_lp_solver"] = "ipm"  # the root LP by simplex alone took 17 s of the minute
        remaining = max(1.0, options.time_limit_s - (time.perf_counter() - began))
        results = solver.solve(
            m, tee=tee, load_solutions=False, raise_exception_on_nonoptimal_result=False,
            time_limit=remaining, rel_gap=options.mip_gap, threads=options.threads, solver_options=extra,
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
        bound = results.objective_bound
        if bound is None and status == OPTIMAL:
            bound = objective
        if lp_bound is not None:  # the LP relaxation's value is a valid lower bound too
            bound = lp_bound if bound is None else max(bound, lp_bound)
        if bound is not None and np.isfinite(bound):
            gap = abs(objective - bound) / max(abs(objective), 1e-9)
        else:
            bound = None
        if status == TIME_LIMIT and gap is not None and gap <= options.mip_gap:
            status = OPTIMAL
    return SolveResult(status, objective, bound, gap, seconds, f"highs {'.'.join(map(str, solver.version()))}",
                       buffer.getvalue(), handover_s=handed_over - began)


def solver_available(name: str) -> bool:
    """Whether `name` can solve on this machine (HiGHS comes with the planner through highspy).
    Asked before any work, so a missing solver is an input error, not a failure after the forecast."""
    if name.lower() == "highs":
        return True
    logger = logging.getLogger("pyomo")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # pyomo logs a traceback for an unknown name; the caller reports it
    try:
        solver = pyo.SolverFactory(name)
        return solver is not None and bool(solver.available(exception_flag=False))
    except Exception:  # noqa: BLE001 - any failure to create or probe the solver means "not available"
        return False
    finally:
        logger.setLevel(level)


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


def _integer_columns(solver) -> np.ndarray:
    """Column indices of HiGHS's copy of the model that are integer."""
    lp = solver._solver_model.getLp()
    return np.array([j for j, kind in enumerate(lp.integrality_) if kind != highspy.HighsVarType.kContinuous],
                    dtype=np.int32)


def _columns(solver, variables) -> np.ndarray:
    """HiGHS column indices of the given free Pyomo variables."""
    index = solver._pyomo_var_to_solver_var_map
    return np.array([index[id(v)] for v in variables if not v.fixed], dtype=np.int32)


@contextmanager
def _watchdog(highs: highspy.Highs, deadline: float):
    """Interrupt HiGHS at `deadline` whatever phase it is in: its own time limit is not always
    honoured (a run with the IPM as MIP LP solver overshot 97 s by 278 s, shared/reference/solver.md)."""

    def interrupt(event):
        if time.perf_counter() > deadline:
            event.interrupt()

    hooks = (highs.cbSimplexInterrupt, highs.cbIpmInterrupt, highs.cbMipInterrupt)
    for hook in hooks:
        hook.subscribe(interrupt)
    try:
        yield
    finally:
        for hook in hooks:
            hook.unsubscribe(interrupt)
