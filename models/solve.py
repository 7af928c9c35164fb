"""Solve a built model and report its status honestly.

HiGHS goes through Pyomo's persistent interface (`pyomo.contrib.solver`); any other
Pyomo-supported solver goes through `SolverFactory`. Statuses: optimal (within the gap),
time_limit (an incumbent with its gap), no_solution (time limit without incumbent),
infeasible.

The gap is measured against the plan's NPV without its unmet-demand penalty, which prices a
shortfall but is not money spent. Against the whole NPV, a scenario whose demand far outruns its
sites let HiGHS stop, 0.24% from the bound, at a plan that bought 39 racks where 395 fit: the
penalty was 99.99% of the objective, so 0.24% of it was worth more than every rack the sites
could take. HiGHS's own relative gap is therefore switched off and a callback stops it instead.
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

from models.completion import cheapest_completion
from models.highs_result import NOT_AS_REPORTED, returned_as_reported, run_on_without_presolve, whole_number_columns
from models.inputs import SHORTEST_SOLVER_CALL_S, UNMET_PENALTY, WATCHDOG_GRACE, SolverOptions
from models.steady import SteadyReport, previous_orders, steady_pass
from models.warmstart import rens_start

OPTIMAL, TIME_LIMIT, NO_SOLUTION, INFEASIBLE = "optimal", "time_limit", "no_solution", "infeasible"

# From this many integer columns on, start branch and bound from a warm start (models/warmstart.py):
# on the large benchmark plain branch and bound finds no incumbent in a minute; on the medium one
# (2.5-3k integers) the warm start took 4-12 s against 11-26 s without (shared/reference/solver.md).
RENS_MIN_INTEGERS = 1000
RENS_SHARE_OF_TIME = 0.5
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
    steady: SteadyReport | None = None  # a re-plan's pass toward the previous plan's orders
    overrun_s: float = 0.0  # how far HiGHS ran past the watchdog's limit, in steps that never poll it (`_watched`)

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
    highs = solver._solver_model
    integers = whole_number_columns(highs)
    stop = _StopAtGap(highs, _columns(solver, m.unmet.values()), options.mip_gap)
    overruns = []
    with _watched(highs, began + options.time_limit_s, options, overruns):
        if len(integers) >= RENS_MIN_INTEGERS:
            start = rens_start(highs, integers, _columns(solver, m.open.values()), gap=options.mip_gap / 2,
                               threads=options.threads, deadline=began + options.time_limit_s * RENS_SHARE_OF_TIME)
            lp_bound = start.lower_bound
            if start.solution is not None:
                highs.setSolution(start.solution)
                stop.incumbent(start.solution.col_value)
            extra["mip_lp_solver"] = "ipm"  # the root LP by simplex alone took 17 s of the minute

        def run():  # rel_gap 0: _StopAtGap applies the gap (module docstring)
            remaining = max(SHORTEST_SOLVER_CALL_S, options.time_limit_s - (time.perf_counter() - began))
            return solver.solve(m, tee=tee, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                time_limit=remaining, rel_gap=0.0, threads=options.threads, solver_options=extra)

        with stop:  # not around the warm start: its sub-MIP's bound holds only inside its narrowed bounds
            results = run()
            if not returned_as_reported(highs):  # a plan called optimal that was not (models/highs_result.py)
                _note(tee, NOT_AS_REPORTED)
                stop.incumbent(highs.getSolution().col_value)
                results = run_on_without_presolve(highs, run)
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
    incumbent = None
    if has_incumbent:
        results.solution_loader.load_vars()
        incumbent = _complete_at_least_cost(solver, m, options, began, tee, overruns)
        objective = pyo.value(m.npv)
        bound = results.objective_bound
        if bound is None and status == OPTIMAL:
            bound = objective
        if lp_bound is not None:  # the LP relaxation's value is a valid lower bound too
            bound = lp_bound if bound is None else max(bound, lp_bound)
        if bound is not None and np.isfinite(bound):
            gap = relative_gap(objective, bound, _penalty_musd(m))
        else:
            bound = None
        if status == TIME_LIMIT and gap is not None and gap <= options.mip_gap:
            status = OPTIMAL
    result = SolveResult(status, objective, bound, gap, seconds, f"highs {'.'.join(map(str, solver.version()))}",
                         buffer.getvalue(), handover_s=handed_over - began, overrun_s=sum(overruns))
    if has_incumbent:
        _keep_previous_orders(solver, m, options, result, began, incumbent)
    return result


# The plan's cheapest completion gets what is left of the time limit, and at least this share of
# it when the solve used it all (it took about 1 s on the large benchmark, whose limit is 60 s).
COMPLETION_MIN_SHARE_OF_TIME = 0.1


def _complete_at_least_cost(solver, m, options: SolverOptions, began: float, logs, overruns: list) -> np.ndarray:
    """Re-solve the loaded plan's continuous part at least cost for its racks, power blocks and
    factories (models/completion.py), load it where cheaper, and return the column values in use."""
    highs = solver._solver_model
    values = np.array(highs.getSolution().col_value)  # the plan just loaded into the model
    deadline = _deadline(began, options, COMPLETION_MIN_SHARE_OF_TIME)
    with _watched(highs, deadline, options, overruns):
        completed = cheapest_completion(highs, values, deadline)
    if completed is values:  # no cheaper: the plan as solved
        return values
    costs = np.array(highs.getLp().col_cost_)
    _note(logs, f"The plan's racks, power blocks and factories completed at least cost: "
                f"NPV {costs @ completed - costs @ values:+,.6f} M")
    _load(solver, m, completed)
    return completed


def _note(logs, text: str) -> None:
    """A line of the planner's own in the solver log (the run's record and --verbose's stream)."""
    for log in logs:
        log.write(f"\n{text}\n")


def _load(solver, m, values: np.ndarray) -> None:
    """Set the model's variables to HiGHS column values."""
    index = solver._pyomo_var_to_solver_var_map
    for v in m.component_data_objects(pyo.Var):
        if id(v) in index:
            v.set_value(values[index[id(v)]], skip_validation=True)


# A re-plan's pass toward the previous plan's orders gets what is left of the time limit, and at
# least this share of it when the first solve used it all.
STEADY_MIN_SHARE_OF_TIME = 0.25


def _keep_previous_orders(solver, m, options: SolverOptions, result: SolveResult, began: float,
                          incumbent: np.ndarray) -> None:
    """Replace the loaded plan, `incumbent` in HiGHS's columns, by the one closest to the previous
    plan's orders among those the allowance admits (`steady_allowance`, models/steady.py), and
    record what that changed."""
    variables, targets = previous_orders(m)
    if not variables:
        return
    highs = solver._solver_model
    deadline = _deadline(began, options, STEADY_MIN_SHARE_OF_TIME)
    allowed, basis = steady_allowance(result, _penalty_musd(m), options)
    overruns = []
    with _watched(highs, deadline, options, overruns):
        values, report = steady_pass(highs, _columns(solver, variables), targets, incumbent, allowed=allowed,
                                     basis=basis, deadline=deadline, threads=options.threads)
    if report.improved:
        _load(solver, m, values)
        result.objective_musd = pyo.value(m.npv)
        if result.bound_musd is not None:
            result.gap = relative_gap(result.objective_musd, result.bound_musd, _penalty_musd(m))
    result.steady = report
    result.overrun_s += sum(overruns)
    result.seconds = time.perf_counter() - began


def steady_allowance(result: SolveResult, penalty: float, options: SolverOptions) -> tuple[float, str]:
    """The NPV ($M) a re-plan may add to the cheapest plan found to keep the previous plan's
    orders, and why; `penalty` is that plan's unmet-demand penalty. solver.steady_within set: that
    share of the plan's spend. Unset: what keeps the plan within the optimality gap of the bound,
    mip_gap of its spend above it, so the kept plan is as good as the cheapest by the measure the
    solve stopped on; nothing when the solve stopped short of the gap or has no bound."""
    spend = gap_base(result.objective_musd, penalty)
    if options.steady_within is not None:
        return options.steady_within * spend, f"solver.steady_within, {options.steady_within:.2%} of spend"
    if result.bound_musd is None:
        return 0.0, "no bound to measure an optimality gap against"
    room = result.bound_musd + options.mip_gap * spend - result.objective_musd
    return max(room, 0.0), f"the {options.mip_gap:.2%} optimality gap, solver.mip_gap"


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


def relative_gap(objective: float, bound: float, penalty: float) -> float:
    """How far `objective` may be above the best plan, as a share of what the plan spends."""
    return abs(objective - bound) / gap_base(objective, penalty)


def gap_base(objective: float, penalty: float) -> float:
    """What the gap is a share of: the plan's objective without its unmet `penalty`, the money it
    spends (the whole objective when the plan spends nothing)."""
    spent = objective - penalty
    return max(spent if spent > 1e-6 else abs(objective), 1e-9)


def _penalty_musd(m) -> float:
    """The plan's unmet-demand penalty in the objective (discounted $M)."""
    return sum(pyo.value(expr) for category, expr in m.cost_terms if category == UNMET_PENALTY)


class _StopAtGap:
    """Interrupts branch and bound once the incumbent is within `gap` by `relative_gap`.

    The incumbent's penalty is read from each improving solution HiGHS reports (and from the
    warm start, which HiGHS does not report), as the objective cost of the unmet columns."""

    def __init__(self, highs: highspy.Highs, unmet_columns: np.ndarray, gap: float):
        self.highs, self.columns, self.gap = highs, unmet_columns, gap
        self.costs = np.array(highs.getLp().col_cost_)[unmet_columns]
        self.objective = self.penalty = None

    def incumbent(self, values, objective: float | None = None) -> None:
        values = np.asarray(values)
        if objective is None:
            lp = self.highs.getLp()
            objective = float(np.dot(lp.col_cost_, values)) + lp.offset_
        self.objective, self.penalty = objective, float(np.dot(self.costs, values[self.columns]))

    def _improved(self, event) -> None:
        self.incumbent(event.data_out.mip_solution, event.data_out.objective_function_value)

    def _check(self, event) -> None:
        primal, dual = event.data_out.mip_primal_bound, event.data_out.mip_dual_bound
        if self.objective is None or not (np.isfinite(primal) and np.isfinite(dual)):
            return
        if abs(primal - self.objective) > 1e-9 * max(1.0, abs(primal)):
            return  # an incumbent whose penalty is unknown here (none was seen in the benchmarks): keep searching
        if relative_gap(primal, dual, self.penalty) <= self.gap:
            event.interrupt()

    def __enter__(self):
        self.highs.cbMipImprovingSolution.subscribe(self._improved)
        self.highs.cbMipInterrupt.subscribe(self._check)
        return self

    def __exit__(self, *exc) -> None:
        self.highs.cbMipImprovingSolution.unsubscribe(self._improved)
        self.highs.cbMipInterrupt.unsubscribe(self._check)


def _columns(solver, variables) -> np.ndarray:
    """HiGHS column indices of the given free Pyomo variables."""
    index = solver._pyomo_var_to_solver_var_map
    return np.array([index[id(v)] for v in variables if not v.fixed], dtype=np.int32)


def _deadline(began: float, options: SolverOptions, min_share: float) -> float:
    """When a step after the first solve must end (a perf_counter time): at the time limit, or
    `min_share` of the limit from now when the first solve used it all, so the step still gets a chance."""
    return max(began + options.time_limit_s, time.perf_counter() + min_share * options.time_limit_s)


@contextmanager
def _watched(highs: highspy.Highs, deadline: float, options: SolverOptions, overruns: list):
    """`_watchdog` at `deadline` plus the overrun HiGHS is allowed (WATCHDOG_GRACE of the limit, and
    1 s), appending to `overruns` how many seconds past that HiGHS still ran. The watchdog acts only
    where HiGHS polls its callbacks: on the large benchmark (seed 3, 60 s limit, this project's
    slowest machine) HiGHS 1.16's root central rounding ran 258 s without polling, so a plan could
    come 5 times later than asked; the caller tells the planner rather than hide it."""
    limit = deadline + WATCHDOG_GRACE * options.time_limit_s + 1.0
    with _watchdog(highs, limit):
        yield
    overruns.append(max(0.0, time.perf_counter() - limit))


@contextmanager
def _watchdog(highs: highspy.Highs, deadline: float):
    """Interrupt HiGHS at `deadline` in whichever of simplex, IPM or branch and bound it is in: its
    own time limit is not always honoured (a run with the IPM as MIP LP solver overshot 97 s by
    278 s, shared/reference/solver.md). A step that never polls these callbacks runs on (`_watched`)."""

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
