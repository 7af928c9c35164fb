"""The search for a plan in a child process the planner can stop (models/isolation.py).

Models from ISOLATE_MIN_INTEGERS integers on are searched in a child; these tests lower that
threshold so that small scenarios, quick to solve in this process too, take the same route. A
HiGHS step that does not poll for an interrupt (HiGHS 1.16's root central rounding ran 258 s on
the large benchmark) is stood in for by a search that sleeps once it has sent what is named.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from unittest import mock

import highspy
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.synthetic import synthetic_inputs
from models import isolation
from models import search as search_module
from models import solve as solve_module
from models.core import create_model
from models.inputs import SolverOptions
from models.isolation import highs_from, model_arrays, search_in_child
from models.killed import SearchProcessKilled
from models.run import run_model
from models.search import (INFEASIBLE, NO_SOLUTION, OPTIMAL, TIME_LIMIT, BetterPlan, BoundRaised, LogText, Planned,
                           search, watchdog_limit)
from models.steady import KILLED
from planner.terminal import steady_text
from tests.builders import FAST
from tests.test_model_properties import scenarios
from tests.test_solve import handed_to_highs, power_bound_candidate
from tests.test_steady import _previous, _twins

IN_A_CHILD = mock.patch.object(solve_module, "ISOLATE_MIN_INTEGERS", 0)
KILLED_QUICKLY = mock.patch.object(isolation, "KILL_AFTER_S", 0.5)


def deaf_after(kind):
    """A search that, once it has reported a `kind`, sleeps through every limit (in the child)."""

    def work(highs, job, report):
        def report_then_sleep(message):
            report(message)
            if isinstance(message, kind):
                time.sleep(60)  # far past any limit here: a kill that fails shows as a plan not stopped

        return search(highs, job, report_then_sleep)

    return work


def deaf_after_a_plan(highs, job, report):
    return deaf_after(BetterPlan)(highs, job, report)


def deaf_after_the_cheapest_plan(highs, job, report):
    return deaf_after(Planned)(highs, job, report)


def deaf_from_the_start(highs, job, report):
    time.sleep(60)


def telling_its_process_then_deaf(highs, job, report):
    report(LogText(f"child {os.getpid()}\n"))
    time.sleep(60)


def a_plan_then_its_bound_then_deaf(highs, job, report):
    """The optimum sent without a bound, then the bound that proves it, then nothing more."""
    found = search(highs, job, lambda message: None)
    report(BetterPlan(found.values, None))
    report(BoundRaised(found.bound))
    time.sleep(60)


def failing(highs, job, report):
    raise ValueError("a fault in the search")


def killed_from_outside(highs, job, report):
    """The out-of-memory killer's way: SIGKILL, and not a word to anyone."""
    os.kill(os.getpid(), signal.SIGKILL)


def _job(m, solver, options):
    return solve_module.search_job(m, solver, options, time.perf_counter())


def _dense(arrays) -> np.ndarray:
    """The constraint matrix of `model_arrays`, whichever way HiGHS stored it."""
    rows, columns = len(arrays["row_lower"]), len(arrays["col_cost"])
    lines = columns if arrays["format"] == int(highspy.MatrixFormat.kColwise) else rows
    matrix = np.zeros((lines, rows if lines == columns else columns))
    for line in range(lines):
        span = slice(arrays["start"][line], arrays["start"][line + 1])
        matrix[line, arrays["index"][span]] = arrays["value"][span]
    return matrix.T if lines == columns else matrix


def _within_bounds(arrays, values) -> bool:
    """Every row and column bound and integrality of the model, from its own arrays."""
    rows, tolerance = _dense(arrays) @ values, 1e-6 * max(1.0, np.abs(values).max())
    whole = arrays["integrality"] != 0
    return bool((rows >= arrays["row_lower"] - tolerance).all() and (rows <= arrays["row_upper"] + tolerance).all()
                and (values >= arrays["col_lower"] - tolerance).all() and (values <= arrays["col_upper"] + tolerance).all()
                and (np.abs(values[whole] - np.round(values[whole])) <= 1e-6).all())


def test_the_model_reaches_the_child_as_it_is():
    m, solver, highs = handed_to_highs(power_bound_candidate())
    arrays = model_arrays(highs)
    copied = model_arrays(highs_from(arrays))
    for name in ("col_cost", "col_lower", "col_upper", "row_lower", "row_upper", "integrality"):
        assert np.array_equal(copied[name], arrays[name]), name
    assert (copied["offset"], copied["sense"]) == (arrays["offset"], arrays["sense"])
    assert np.array_equal(_dense(copied), _dense(arrays)) and np.count_nonzero(_dense(arrays)) > 0


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_a_plan_searched_in_a_child_is_the_plan_searched_here(plan_inputs):
    here = run_model(plan_inputs, FAST, with_duals=False)
    with IN_A_CHILD:
        there = run_model(plan_inputs, FAST, with_duals=False)  # the checker runs inside: raises on a violation
    assert there.result.status == here.result.status
    if here.result.status == INFEASIBLE:
        return
    assert there.result.objective_musd == pytest.approx(here.result.objective_musd, rel=1e-9, abs=1e-9)
    assert there.result.bound_musd == pytest.approx(here.result.bound_musd, rel=1e-9, abs=1e-9)
    assert not there.result.stopped_late and "Objective" in there.result.log


def test_a_replan_searched_in_a_child_keeps_the_previous_orders_as_it_does_here():
    previous = _previous([("2027Q1", "fb", "b", 3)])
    replan = dataclasses.replace(_twins(), previous_orders=previous)
    here = run_model(replan, FAST)
    with IN_A_CHILD:
        there = run_model(replan, FAST)
    assert there.result.steady is not None and here.result.steady is not None
    assert dataclasses.replace(there.result.steady, seconds=0) == dataclasses.replace(here.result.steady, seconds=0)
    assert there.plan.orders.equals(here.plan.orders)


def test_a_search_that_does_not_stop_is_killed_and_its_best_plan_kept():
    options = dataclasses.replace(FAST, time_limit_s=1.0)
    m, solver, highs = handed_to_highs(power_bound_candidate())
    arrays, logged = model_arrays(highs), []
    with KILLED_QUICKLY:
        isolated = search_in_child(highs, _job(m, solver, options), logged.append, work=deaf_after_a_plan)
    assert isolated.killed and isolated.late_s >= 0.5
    outcome = isolated.outcome
    assert outcome.status == TIME_LIMIT and outcome.values is not None and _within_bounds(arrays, outcome.values)
    assert "HiGHS did not stop at its limit" in "".join(logged)
    on_time = search_in_child(highs, _job(m, solver, FAST), logged.append)
    assert not on_time.killed and on_time.outcome.status == OPTIMAL
    costs = arrays["col_cost"]
    assert costs @ on_time.outcome.values <= costs @ outcome.values + 1e-9  # the kept plan is a real, dearer or equal one


def test_a_replan_stopped_in_its_pass_keeps_the_cheapest_plan_and_says_nothing_changed():
    replan = dataclasses.replace(_twins(), previous_orders=_previous([("2027Q2", "fb", "b", 5)]))  # no plan orders so
    m, solver, highs = handed_to_highs(replan)
    options = dataclasses.replace(FAST, time_limit_s=1.0)
    with KILLED_QUICKLY:
        isolated = search_in_child(highs, _job(m, solver, options), lambda text: None, work=deaf_after_the_cheapest_plan)
    outcome = isolated.outcome
    assert isolated.killed and outcome.status == OPTIMAL and outcome.values is not None
    report = outcome.steady
    assert report.stopped_by == KILLED and not report.proven and not report.improved
    assert "the time limit stopped the search for a plan" in steady_text(report)
    assert (report.lines_after, report.racks_after) == (report.lines_before, report.racks_before) and report.racks_before > 0


def test_a_search_that_never_gets_going_is_killed_at_the_first_steps_limit_without_a_plan():
    m, solver, highs = handed_to_highs(power_bound_candidate())
    job = _job(m, solver, dataclasses.replace(FAST, time_limit_s=1.0))
    with KILLED_QUICKLY:
        isolated = search_in_child(highs, job, lambda text: None, work=deaf_from_the_start)
    assert isolated.killed
    assert isolated.killed_at - watchdog_limit(job.began + 1.0, job.options) >= 0.5  # not before the limit and its grace
    assert isolated.outcome.status == NO_SOLUTION and isolated.outcome.values is None


def test_a_fault_in_the_child_is_raised_here_with_its_traceback():
    m, solver, highs = handed_to_highs(power_bound_candidate())
    with pytest.raises(RuntimeError, match="failed in its process: ValueError: a fault in the search$") as raised:
        search_in_child(highs, _job(m, solver, FAST), lambda text: None, work=failing)
    assert "Traceback" in str(raised.value.__cause__) and "in failing" in str(raised.value.__cause__)


def test_a_child_killed_from_outside_is_named_as_such_not_as_a_fault():
    """It read 'internal error: ... ended without a plan or an error (exit code -9). This is a bug in
    planner' where the machine had run out of memory."""
    m, solver, highs = handed_to_highs(power_bound_candidate())
    with pytest.raises(SearchProcessKilled, match=r"^the solver's process was stopped by SIGKILL from outside the "
                                                  r"planner \(on Linux most often the out-of-memory killer"):
        search_in_child(highs, _job(m, solver, FAST), lambda text: None, work=killed_from_outside)


def test_a_solve_killed_past_its_limit_says_so_in_its_result():
    """Through models.solve: the stand-in is reached by patching the search the child runs."""
    options = SolverOptions(time_limit_s=1.0, mip_gap=1e-6, threads=1)
    child = isolation.search_in_child
    with IN_A_CHILD, KILLED_QUICKLY, \
            mock.patch.object(solve_module, "search_in_child",
                              lambda highs, job, log: child(highs, job, log, work=deaf_after_a_plan)):
        result = solve_module.solve(create_model(power_bound_candidate()), options)
    assert result.stopped_late and result.status == TIME_LIMIT and result.overrun_s >= 0.5
    assert result.objective_musd is not None  # no bound came before the kill here, so no gap either


# A planner that searches in a child and tells what the child's process is, until it is killed.
PLANNER = """
from models.isolation import search_in_child
from tests.builders import FAST
from tests.test_isolation import _job, telling_its_process_then_deaf
from tests.test_solve import handed_to_highs, power_bound_candidate

m, solver, highs = handed_to_highs(power_bound_candidate())
search_in_child(highs, _job(m, solver, FAST), lambda text: print(text, end="", flush=True),
                work=telling_its_process_then_deaf)
"""


def _running(pid: int) -> bool:
    """Whether a process runs, a zombie left unreaped by whatever adopted it counting as ended."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_child_ends_when_the_planner_is_killed_without_a_word():
    planner, child = subprocess.Popen([sys.executable, "-c", PLANNER], stdout=subprocess.PIPE, text=True), None
    try:
        line = planner.stdout.readline()
        assert line.startswith("child "), line
        child = int(line.split()[1])
        assert _running(child)
        planner.send_signal(signal.SIGKILL)  # no finally of the planner's runs: the child is on its own
        planner.wait()
        gone_by = time.perf_counter() + 10  # far under the child's 60 s sleep, and the planner's limit
        while _running(child) and time.perf_counter() < gone_by:
            time.sleep(0.05)
        assert not _running(child)
    finally:
        planner.kill()
        planner.wait()
        planner.stdout.close()
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)


def test_where_a_child_cannot_be_fed_the_search_stays_here():
    """Off POSIX (Windows) a Connection cannot take the child's pipes: a large model is searched here."""
    def no_child(highs, job, log):
        raise AssertionError("a child was started")

    with IN_A_CHILD, mock.patch.object(isolation, "CAN_ISOLATE", False), \
            mock.patch.object(solve_module, "search_in_child", no_child):
        result = solve_module.solve(create_model(power_bound_candidate()), FAST)
    assert result.status == OPTIMAL and not result.stopped_late and "Objective" in result.log


def test_branch_and_bound_reports_the_rises_of_its_bound_and_each_holds():
    options = SolverOptions(time_limit_s=30, mip_gap=1e-4, threads=1)

    def bounds_reported(every_s: float):
        m, solver, highs = handed_to_highs(synthetic_inputs(5, 3, 2, 2, 8, seed=1))  # branch and bound, ~0.2 s
        reports = []
        with mock.patch.object(search_module, "BOUND_REPORT_EVERY_S", every_s):
            found = search(highs, _job(m, solver, options), reports.append)
        lp = highs.getLp()
        objective = float(np.dot(lp.col_cost_, found.values)) + lp.offset_
        return [message.bound for message in reports if isinstance(message, BoundRaised)], found.bound, objective

    bounds, final_bound, objective = bounds_reported(0.0)
    assert len(bounds) >= 2 and all(later > earlier for earlier, later in zip(bounds, bounds[1:]))
    assert bounds[-1] <= final_bound + 1e-9 and bounds[-1] <= objective + 1e-9 * abs(objective)
    assert len(bounds_reported(1e9)[0]) == 1  # the first rise, then none until the interval has passed


def test_a_killed_search_measures_its_plan_against_the_best_bound_it_was_sent():
    m, solver, highs = handed_to_highs(power_bound_candidate())
    arrays = model_arrays(highs)
    with KILLED_QUICKLY:
        isolated = search_in_child(highs, _job(m, solver, dataclasses.replace(FAST, time_limit_s=1.0)),
                                   lambda text: None, work=a_plan_then_its_bound_then_deaf)
    outcome = isolated.outcome
    assert isolated.killed and outcome.bound is not None
    assert outcome.bound <= arrays["col_cost"] @ outcome.values + arrays["offset"] + 1e-9
    assert outcome.status == OPTIMAL  # the bound sent proves the plan kept: no gap left
