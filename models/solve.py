"""Solve a built model and report its status honestly.

HiGHS goes through Pyomo's persistent interface (`pyomo.contrib.solver`), which hands the model to
HiGHS; the search for a plan then runs on HiGHS's copy (models/search.py), in this process for
small models and, from ISOLATE_MIN_INTEGERS integer columns on, in a child process that the
planner can stop where HiGHS does not (models/isolation.py; POSIX only, elsewhere in this
process). Any other Pyomo-supported solver goes through `SolverFactory`. Statuses: optimal
(within the gap), time_limit (an incumbent with its gap), no_solution (time limit without
incumbent), infeasible.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

from models import isolation
from models.highs_result import whole_number_columns
from models.inputs import UNMET_PENALTY, SolverOptions
from models.isolation import Isolated, search_in_child
from models.search import INFEASIBLE, NO_SOLUTION, OPTIMAL, TIME_LIMIT, SearchJob, log_only, relative_gap, search
from models.steady import SteadyReport, previous_orders

# From this many integer columns on, the search runs in a child process the planner can stop: the
# models whose solve takes long enough for HiGHS to stall in a step that does not poll (the large
# benchmark's seed 3 did, models/isolation.py); below it the child's start-up (~0.4 s, most of it
# importing pandas, and a copy of the model) is not worth paying.
ISOLATE_MIN_INTEGERS = 1000


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
    steady: SteadyReport | None = None  # a re-plan's pass toward the previous plan's orders
    overrun_s: float = 0.0  # how far HiGHS ran past the watchdog's limit in steps that never poll it (models/search.py),
    #                         or until its process was killed (models/isolation.py)
    stopped_late: bool = False  # HiGHS did not stop at its limit and its process was killed (models/isolation.py)

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
    logs = [buffer] + ([log_stream] if log_stream is not None else [])

    def log(text: str) -> None:
        for stream in logs:
            stream.write(text)

    began = time.perf_counter()
    solver.set_instance(m)  # the hand-over of the Pyomo model to HiGHS, timed on its own
    handed_over = time.perf_counter()
    highs = solver._solver_model
    job = search_job(m, solver, options, began)
    if isolation.CAN_ISOLATE and len(whole_number_columns(highs)) >= ISOLATE_MIN_INTEGERS:
        isolated = search_in_child(highs, job, log)
    else:
        isolated = Isolated(search(highs, job, log_only(log)))  # in this process: never killed
    outcome = isolated.outcome
    objective = bound = gap = None
    if outcome.values is not None:
        _load(solver, m, outcome.values)
        objective, bound = pyo.value(m.npv), outcome.bound
        if bound is not None:
            gap = relative_gap(objective, bound, _penalty_musd(m))
    return SolveResult(outcome.status, objective, bound, gap, time.perf_counter() - began,
                       f"highs {'.'.join(map(str, solver.version()))}", buffer.getvalue(),
                       handover_s=handed_over - began, steady=outcome.steady, overrun_s=outcome.overrun_s + isolated.late_s,
                       stopped_late=isolated.killed)


def search_job(m, solver, options: SolverOptions, began: float) -> SearchJob:
    """The search's job for model `m`, handed to HiGHS by `solver`: its columns by what they are."""
    orders, targets = previous_orders(m)
    return SearchJob(options, began, _columns(solver, m.unmet.values()), _columns(solver, m.open.values()),
                     _columns(solver, orders), targets)


def _load(solver, m, values: np.ndarray) -> None:
    """Set the model's variables to HiGHS column values."""
    index = solver._pyomo_var_to_solver_var_map
    for v in m.component_data_objects(pyo.Var):
        if id(v) in index:
            v.set_value(values[index[id(v)]], skip_validation=True)


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
    gap = relative_gap(objective, bound, _penalty_musd(m)) if isinstance(bound, (int, float)) else None
    return SolveResult(status, objective, bound, gap, seconds, options.name)


def _penalty_musd(m) -> float:
    """The plan's unmet-demand penalty in the objective (discounted $M)."""
    return sum(pyo.value(expr) for category, expr in m.cost_terms if category == UNMET_PENALTY)


def _columns(solver, variables) -> np.ndarray:
    """HiGHS column indices of the given free Pyomo variables."""
    index = solver._pyomo_var_to_solver_var_map
    return np.array([index[id(v)] for v in variables if not v.fixed], dtype=np.int32)
