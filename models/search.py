"""The search for a plan on HiGHS's copy of the model, knowing nothing of Pyomo.

In order: a warm start for large models (models/warmstart.py), branch and bound stopped at the
gap on money spent (`_StopAtGap`), a check that HiGHS returned the point it reported
(models/highs_result.py), the plan's cheapest completion (models/completion.py) and, for a
re-plan, the pass toward the previous plan's orders (models/steady.py). models/solve.py hands it
the model and loads what it finds; because it needs nothing but a `highspy.Highs`, it runs as
well in a child process that the planner can stop whatever HiGHS is doing (models/isolation.py).

What it finds on the way goes to `report` as it happens: the log of branch and bound, the
limit of each HiGHS step it starts, each better plan branch and bound finds, each rise of its
lower bound, and the completed plan before a re-plan's pass. A caller that can stop the search
keeps the last of these.

The gap is measured against the plan's NPV without its unmet-demand penalty, which prices a
shortfall but is not money spent. Against the whole NPV, a scenario whose demand far outruns its
sites let HiGHS stop, 0.24% from the bound, at a plan that bought 39 racks where 395 fit: the
penalty was 99.99% of the objective, so 0.24% of it was worth more than every rack the sites
could take. HiGHS's own relative gap is therefore switched off and a callback stops it instead.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import highspy
import numpy as np

from models.completion import cheapest_completion
from models.callback_guard import guarded, guarded_callbacks
from models.highs_result import FEASIBLE, NOT_AS_REPORTED, returned_as_reported, run_on_without_presolve, \
    whole_number_columns
from models.inputs import SHORTEST_SOLVER_CALL_S, WATCHDOG_GRACE, SolverOptions
from models.steady import KILLED, SteadyReport, changed, steady_pass
from models.warmstart import rens_start

OPTIMAL, TIME_LIMIT, NO_SOLUTION, INFEASIBLE = "optimal", "time_limit", "no_solution", "infeasible"

# From this many integer columns on, start branch and bound from a warm start (models/warmstart.py):
# on the large benchmark plain branch and bound finds no incumbent in a minute; on the medium one
# (2.5-3k integers) the warm start took 4-12 s against 11-26 s without (shared/reference/solver.md).
RENS_MIN_INTEGERS = 1000
RENS_SHARE_OF_TIME = 0.5
# The plan's cheapest completion gets what is left of the time limit, and at least this share of
# it when the solve used it all (it took about 1 s on the large benchmark, whose limit is 60 s).
COMPLETION_MIN_SHARE_OF_TIME = 0.1
# A re-plan's pass toward the previous plan's orders gets what is left of the time limit, and at
# least this share of it when the first solve used it all.
STEADY_MIN_SHARE_OF_TIME = 0.25
# Branch and bound's lower bound is reported when it rises, at most this often: what a caller that
# kills the search (models/isolation.py) measures the kept plan's gap against.
BOUND_REPORT_EVERY_S = 1.0


@dataclass(frozen=True)
class SearchJob:
    """What the search needs besides HiGHS's model: plain values, so that it pickles."""

    options: SolverOptions
    began: float                       # time.perf_counter() when the solve began: every deadline counts from it
    unmet: np.ndarray                  # columns of unmet demand, whose cost is the penalty (not money spent)
    opens: np.ndarray                  # candidate factories' open binaries, which the warm start fixes first
    orders: np.ndarray                 # a re-plan's free order columns (none for a first plan)
    targets: np.ndarray                # the previous plan's racks on each


@dataclass
class SearchOutcome:
    status: str                        # OPTIMAL (within the gap), TIME_LIMIT, NO_SOLUTION or INFEASIBLE
    values: np.ndarray | None          # the plan's column values; None without a plan
    bound: float | None                # the best lower bound known: HiGHS's, or the warm start's LP
    steady: SteadyReport | None = None  # a re-plan's pass toward the previous plan's orders
    overrun_s: float = 0.0             # how far HiGHS ran past the watchdog's limits (`watched`)


# What the search reports as it goes (see the module docstring).
@dataclass(frozen=True)
class LogText:
    text: str


@dataclass(frozen=True)
class StepBegun:
    """A HiGHS step began; past `limit` (a perf_counter time) the watchdog has asked it to stop."""
    limit: float


@dataclass(frozen=True)
class BetterPlan:
    """An incumbent of branch and bound or the warm start, not yet completed at least cost."""
    values: np.ndarray
    bound: float | None


@dataclass(frozen=True)
class BoundRaised:
    """Branch and bound's lower bound rose to `bound` (at most one report every BOUND_REPORT_EVERY_S)."""
    bound: float


@dataclass(frozen=True)
class Planned:
    """The plan completed at least cost, before a re-plan's pass toward the previous orders."""
    outcome: SearchOutcome


Report = Callable[[object], None]


def log_only(log: Callable[[str], None]) -> Report:
    """A report that passes the log on to `log` and lets the rest go: for a caller that cannot
    stop the search, or that has already stopped it."""
    return lambda message: log(message.text) if isinstance(message, LogText) else None


def search(highs: highspy.Highs, job: SearchJob, report: Report) -> SearchOutcome:
    """Find a plan on `highs`, which holds the model, sending what is found on the way to `report`."""
    options, overruns = job.options, []
    highs.setOptionValue("output_flag", False)  # the warm start's runs are not the plan's log
    integers = whole_number_columns(highs)
    stop = _StopAtGap(highs, job.unmet, options.mip_gap, report)
    lp_bound = None
    extra = {"random_seed": 0, "mip_abs_gap": 1e-6, "mip_rel_gap": 0.0, "threads": options.threads,
             "log_to_console": False, "output_flag": True}  # rel_gap 0: _StopAtGap applies the gap
    with watched(highs, job.began + options.time_limit_s, options, overruns, report):
        if len(integers) >= RENS_MIN_INTEGERS:
            start = rens_start(highs, integers, job.opens, gap=options.mip_gap / 2, threads=options.threads,
                               deadline=job.began + options.time_limit_s * RENS_SHARE_OF_TIME)
            lp_bound = start.lower_bound
            if start.solution is not None:
                highs.setSolution(start.solution)
                stop.incumbent(start.solution.col_value)
                report(BetterPlan(np.array(start.solution.col_value), lp_bound))
            extra["mip_lp_solver"] = "ipm"  # the root LP by simplex alone took 17 s of the minute

        def run():
            for name, value in extra.items():
                highs.setOptionValue(name, value)
            highs.setOptionValue("time_limit", max(SHORTEST_SOLVER_CALL_S,
                                                   options.time_limit_s - (time.perf_counter() - job.began)))
            highs.run()

        with stop, _logged(highs, report):  # not around the warm start: its sub-MIP's bound holds only inside its bounds
            run()
            if not returned_as_reported(highs):  # a plan called optimal that was not (models/highs_result.py)
                report(LogText(f"\n{NOT_AS_REPORTED}\n"))
                stop.incumbent(highs.getSolution().col_value)
                run_on_without_presolve(highs, run)
        highs.setOptionValue("output_flag", False)
    status, values, bound = _found(highs, lp_bound)
    if values is None:
        return SearchOutcome(status, None, None, overrun_s=sum(overruns))
    values = complete_at_least_cost(highs, values, job, report, overruns)
    planned = planned_outcome(highs, job, status, values, bound, sum(overruns))
    if not len(job.orders):
        return planned
    report(Planned(planned))
    return keep_previous_orders(highs, job, planned, report)


def _found(highs: highspy.Highs, lp_bound: float | None) -> tuple[str, np.ndarray | None, float | None]:
    """The status, plan and bound branch and bound ended with (as Pyomo's HiGHS interface reads them)."""
    model_status, info = highs.getModelStatus(), highs.getInfo()
    if model_status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return INFEASIBLE, None, None
    optimal = model_status == highspy.HighsModelStatus.kOptimal
    if not (optimal or info.primal_solution_status == FEASIBLE):
        return NO_SOLUTION, None, None
    values = np.array(highs.getSolution().col_value)
    if info.mip_node_count == -1:  # solved as an LP: no integers
        bound = info.objective_function_value if optimal else None
    else:
        bound = info.mip_dual_bound
    if lp_bound is not None:  # the LP relaxation's value is a valid lower bound too
        bound = lp_bound if bound is None else max(bound, lp_bound)
    if bound is not None and not np.isfinite(bound):
        bound = None
    if bound is None and optimal:
        bound = info.objective_function_value
    return (OPTIMAL if optimal else TIME_LIMIT), values, bound


def planned_outcome(highs: highspy.Highs, job: SearchJob, status: str, values: np.ndarray, bound: float | None,
                    overrun_s: float) -> SearchOutcome:
    """The outcome of a plan found: one stopped by the time limit but within the gap anyway is optimal."""
    if status == TIME_LIMIT and bound is not None:
        objective, penalty = _costs(highs, values, job)
        if relative_gap(objective, bound, penalty) <= job.options.mip_gap:
            status = OPTIMAL
    return SearchOutcome(status, values, bound, overrun_s=overrun_s)


def complete_at_least_cost(highs: highspy.Highs, values: np.ndarray, job: SearchJob, report: Report,
                           overruns: list) -> np.ndarray:
    """`values` with its racks, power blocks and factories held and the rest re-solved at least cost
    (models/completion.py), where that is cheaper."""
    deadline = _deadline(job.began, job.options, COMPLETION_MIN_SHARE_OF_TIME)
    with watched(highs, deadline, job.options, overruns, report):
        completed = cheapest_completion(highs, values, deadline)
    if completed is not values:
        costs = np.array(highs.getLp().col_cost_)
        report(LogText(f"\nThe plan's racks, power blocks and factories completed at least cost: "
                       f"NPV {costs @ completed - costs @ values:+,.6f} M\n"))
    return completed


def keep_previous_orders(highs: highspy.Highs, job: SearchJob, planned: SearchOutcome, report: Report) -> SearchOutcome:
    """`planned` replaced by the plan closest to the previous plan's orders among those the allowance
    admits (`steady_allowance`, models/steady.py), with a report of what that changed."""
    deadline = _deadline(job.began, job.options, STEADY_MIN_SHARE_OF_TIME)
    allowed, basis = steady_allowance(planned, *_costs(highs, planned.values, job), job.options)
    overruns = []
    with watched(highs, deadline, job.options, overruns, report):
        values, steady = steady_pass(highs, job.orders, job.targets, planned.values, allowed=allowed, basis=basis,
                                     deadline=deadline, threads=job.options.threads)
    return SearchOutcome(planned.status, values if steady.improved else planned.values, planned.bound, steady,
                         planned.overrun_s + sum(overruns))


def steady_not_run(highs: highspy.Highs, job: SearchJob, planned: SearchOutcome, seconds: float) -> SteadyReport:
    """The report of a pass toward the previous plan's orders that was stopped before it returned or
    before it began (models/isolation.py): the plan kept is the cheapest found, so nothing changed."""
    allowed, basis = steady_allowance(planned, *_costs(highs, planned.values, job), job.options)
    lines, racks = changed(planned.values[job.orders], job.targets)
    return SteadyReport(lines, racks, lines, racks, 0.0, max(allowed, 0.0), basis, False, seconds, KILLED)


def steady_allowance(planned: SearchOutcome, objective: float, penalty: float, options: SolverOptions) -> tuple[float, str]:
    """The NPV ($M) a re-plan may add to the cheapest plan found (`objective`, of which `penalty` is
    its unmet-demand penalty) to keep the previous plan's orders, and why. solver.steady_within set:
    that share of the plan's spend. Unset: what keeps the plan within the optimality gap of the
    bound, mip_gap of its spend above it, so the kept plan is as good as the cheapest by the
    measure the solve stopped on; nothing when the solve stopped short of the gap or has no bound."""
    spend = gap_base(objective, penalty)
    if options.steady_within is not None:
        return options.steady_within * spend, f"solver.steady_within, {options.steady_within:.2%} of spend"
    if planned.bound is None:
        return 0.0, "no bound to measure an optimality gap against"
    room = planned.bound + options.mip_gap * spend - objective
    return max(room, 0.0), f"the {options.mip_gap:.2%} optimality gap, solver.mip_gap"


def relative_gap(objective: float, bound: float, penalty: float) -> float:
    """How far `objective` may be above the best plan, as a share of what the plan spends."""
    return abs(objective - bound) / gap_base(objective, penalty)


def gap_base(objective: float, penalty: float) -> float:
    """What the gap is a share of: the plan's objective without its unmet `penalty`, the money it
    spends (the whole objective when the plan spends nothing)."""
    spent = objective - penalty
    return max(spent if spent > 1e-6 else abs(objective), 1e-9)


def _costs(highs: highspy.Highs, values: np.ndarray, job: SearchJob) -> tuple[float, float]:
    """The objective of `values` and the unmet-demand penalty within it."""
    lp = highs.getLp()
    costs = np.array(lp.col_cost_)
    return float(costs @ values) + lp.offset_, float(costs[job.unmet] @ values[job.unmet])


class _StopAtGap:
    """Interrupts branch and bound once the incumbent is within `gap` by `relative_gap`, and
    reports each better plan it finds and the rises of its lower bound.

    The incumbent's penalty is read from each improving solution HiGHS reports (and from the
    warm start, which HiGHS does not report), as the objective cost of the unmet columns."""

    def __init__(self, highs: highspy.Highs, unmet_columns: np.ndarray, gap: float, report: Report):
        self.highs, self.columns, self.gap, self.report = highs, unmet_columns, gap, report
        self.costs = np.array(highs.getLp().col_cost_)[unmet_columns]
        self.objective = self.penalty = None
        self.bound_sent, self.next_bound_at = -np.inf, 0.0

    def incumbent(self, values, objective: float | None = None) -> None:
        values = np.asarray(values)
        if objective is None:
            lp = self.highs.getLp()
            objective = float(np.dot(lp.col_cost_, values)) + lp.offset_
        self.objective, self.penalty = objective, float(np.dot(self.costs, values[self.columns]))

    def _improved(self, event) -> None:
        self.incumbent(event.data_out.mip_solution, event.data_out.objective_function_value)
        bound = event.data_out.mip_dual_bound
        self.report(BetterPlan(np.array(event.data_out.mip_solution), bound if np.isfinite(bound) else None))

    def _check(self, event) -> None:
        primal, dual = event.data_out.mip_primal_bound, event.data_out.mip_dual_bound
        self._bound_rose_to(dual)
        if self.objective is None or not (np.isfinite(primal) and np.isfinite(dual)):
            return
        if abs(primal - self.objective) > 1e-9 * max(1.0, abs(primal)):
            return  # an incumbent whose penalty is unknown here (none was seen in the benchmarks): keep searching
        if relative_gap(primal, dual, self.penalty) <= self.gap:
            event.interrupt()

    def _bound_rose_to(self, dual: float) -> None:
        now = time.perf_counter()
        if np.isfinite(dual) and dual > self.bound_sent and now >= self.next_bound_at:
            self.report(BoundRaised(dual))
            self.bound_sent, self.next_bound_at = dual, now + BOUND_REPORT_EVERY_S

    def __enter__(self):
        self.subscribed = [(self.highs.cbMipImprovingSolution, guarded(self._improved)),
                           (self.highs.cbMipInterrupt, guarded(self._check))]
        for hook, callback in self.subscribed:
            hook.subscribe(callback)
        return self

    def __exit__(self, *exc) -> None:
        for hook, callback in self.subscribed:
            hook.unsubscribe(callback)


@contextmanager
def _logged(highs: highspy.Highs, report: Report):
    """HiGHS's log, while inside, to `report` as LogText."""

    @guarded
    def forward(event):
        report(LogText(event.message))

    highs.cbLogging.subscribe(forward)
    try:
        yield
    finally:
        highs.cbLogging.unsubscribe(forward)


def _deadline(began: float, options: SolverOptions, min_share: float) -> float:
    """When a step after the first solve must end (a perf_counter time): at the time limit, or
    `min_share` of the limit from now when the first solve used it all, so the step still gets a chance."""
    return max(began + options.time_limit_s, time.perf_counter() + min_share * options.time_limit_s)


def watchdog_limit(deadline: float, options: SolverOptions) -> float:
    """When the watchdog stops a HiGHS step due at `deadline`: after the overrun HiGHS is allowed
    (WATCHDOG_GRACE of the limit, and 1 s)."""
    return deadline + WATCHDOG_GRACE * options.time_limit_s + 1.0


@contextmanager
def watched(highs: highspy.Highs, deadline: float, options: SolverOptions, overruns: list, report: Report):
    """`_watchdog` at `watchdog_limit(deadline)`, reported as a StepBegun, appending to `overruns` how
    many seconds past that limit HiGHS still ran. The watchdog acts only where HiGHS polls its
    callbacks: on the large benchmark (seed 3, 60 s limit, this project's slowest machine) HiGHS
    1.16's root central rounding ran 258 s without polling. Only a search in a child process
    (models/isolation.py) can be stopped there; in this process the caller tells the planner."""
    limit = watchdog_limit(deadline, options)
    report(StepBegun(limit))
    with _watchdog(highs, limit):
        yield
    overruns.append(max(0.0, time.perf_counter() - limit))


@contextmanager
def _watchdog(highs: highspy.Highs, deadline: float):
    """Interrupt HiGHS at `deadline` in whichever of simplex, IPM or branch and bound it is in: its
    own time limit is not always honoured (a run with the IPM as MIP LP solver overshot 97 s by
    278 s, shared/reference/solver.md), or at once on Ctrl-C or a fault in a callback, raised once
    HiGHS returns (models/callback_guard.py). A step that never polls these callbacks runs on (`watched`)."""

    def interrupt(event):
        if time.perf_counter() > deadline or guard.asked:
            event.interrupt()

    hooks = (highs.cbSimplexInterrupt, highs.cbIpmInterrupt, highs.cbMipInterrupt)
    with guarded_callbacks() as guard:
        for hook in hooks:
            hook.subscribe(interrupt)
        try:
            yield
        finally:
            for hook in hooks:
                hook.unsubscribe(interrupt)
