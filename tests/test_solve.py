"""The solve path of large models: the warm start, the open/power link and the watchdog.

Large models (thousands of integers) take a different route through `models.solve` than the
small scenarios of the other tests; these tests force that route on small scenarios, where the
plain solve gives the answer to compare with.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from unittest import mock

import highspy
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from pyomo.contrib.solver.solvers.highs import Highs

from models import search as search_module
from models import solve as solve_module
from models.core import create_model
from models.highs_result import whole_number_columns
from models.inputs import WATCHDOG_GRACE
from models.run import run_model
from models.search import _watchdog
from models.solve import INFEASIBLE, OPTIMAL
from models.warmstart import WarmStart, rens_start
from tests.builders import FAST, factory, inputs, rack, site
from tests.test_model_properties import scenarios

CAP = {("a", "train"): 72.0}


def power_bound_candidate():
    """One candidate factory whose site holds 5 racks by power but 100 by positions."""
    return inputs([rack("a", lead=1, kw=100.0)], CAP, [site("s1", mw=0.5, max_racks=100)],
                  [factory("new", "s1", status="candidate", fixed=10e6)], {("r1", "train"): 216},
                  residency=[("r1", "train", ("r1",), False)])


def lp_value(m) -> float:
    relaxed = pyo.TransformationFactory("core.relax_integer_vars").create_using(m)
    Highs().solve(relaxed, threads=1)  # HiGHS keeps the first thread count it runs with, process-wide
    return pyo.value(relaxed.npv)


def mip_value(m) -> float:
    Highs().solve(m, rel_gap=1e-9, threads=1)
    return pyo.value(m.npv)


def handed_to_highs(plan_inputs):
    """The model, Pyomo's persistent solver and HiGHS's own copy of the model, quiet."""
    m = create_model(plan_inputs)
    solver = Highs()
    solver.set_instance(m)
    highs = solver._solver_model
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    return m, solver, highs


def test_power_link_lifts_the_lp_bound_without_changing_the_optimum():
    m = create_model(power_bound_candidate())
    tight_lp, tight_mip = lp_value(m), mip_value(m)
    m.open_power_link.deactivate()
    loose_lp, loose_mip = lp_value(m), mip_value(m)
    # Without the link the LP opens the factory by 3/100 (positions); with it by 0.3/0.5 (power):
    # the fixed cost it pays rises from $0.3M to $6M.
    assert tight_lp - loose_lp > 5.0
    assert abs(tight_mip - loose_mip) <= 1e-6 * abs(loose_mip)
    assert tight_lp <= tight_mip + 1e-6


def test_watchdog_interrupts_a_solve_past_its_deadline_and_then_lets_go():
    m, solver, highs = handed_to_highs(power_bound_candidate())
    with _watchdog(highs, deadline=time.perf_counter() - 1.0):
        highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    highs.clearSolver()
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal


class CtrlC(Exception):
    """What this test's Ctrl-C raises (a handler of its own: an xdist worker may ignore SIGINT)."""


def test_ctrl_c_during_a_solve_stops_highs_and_is_raised_once_highs_returns():
    """Python runs a signal's handler at its next line, which during a solve is in a HiGHS callback;
    HiGHS swallowed the KeyboardInterrupt raised there and ended the solve with no plan, so Ctrl-C
    in `planner plan` read "No plan found within the time limit; raise --time-limit" (exit 4)."""
    m, solver, highs = handed_to_highs(power_bound_candidate())
    sent = []

    def ctrl_c_once(event):
        if not sent:
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)

    def raise_ctrl_c(number, frame):
        raise CtrlC

    hooks = (highs.cbSimplexInterrupt, highs.cbIpmInterrupt, highs.cbMipInterrupt)
    for hook in hooks:
        hook.subscribe(ctrl_c_once)
    previous = signal.signal(signal.SIGINT, raise_ctrl_c)
    try:
        with pytest.raises(CtrlC):
            with _watchdog(highs, deadline=time.perf_counter() + 600):
                highs.run()
        assert signal.getsignal(signal.SIGINT) is raise_ctrl_c  # the handler is given back
    finally:
        signal.signal(signal.SIGINT, previous)
        for hook in hooks:
            hook.unsubscribe(ctrl_c_once)
    assert sent
    assert highs.getModelStatus() == highspy.HighsModelStatus.kInterrupt  # stopped, not failed


def test_a_fault_in_a_callback_is_raised_once_highs_returns_not_read_as_no_plan_in_time():
    """HiGHS swallowed it too ("ERROR: Exception ValueError" in its log) and ended with no plan: a
    bug in the gap check read "No plan found within the time limit; raise --time-limit"."""
    def faulty(self, event):
        raise ValueError("a fault in the gap check")

    with mock.patch.object(search_module._StopAtGap, "_check", faulty):
        with pytest.raises(ValueError, match="a fault in the gap check"):
            run_model(power_bound_candidate(), FAST, with_duals=False)


def test_time_highs_spends_past_the_watchdog_in_a_step_that_does_not_poll_is_measured(monkeypatch):
    """HiGHS 1.16's root central rounding ran 258 s without polling on the large benchmark (seed 3,
    60 s limit), where the watchdog could not stop it. A run of HiGHS's that sleeps once it has
    solved (so that there is a plan) stands in for it: the watchdog cannot interrupt a sleep either."""
    limit_s = 1.0
    watchdog_at = limit_s * (1 + WATCHDOG_GRACE) + 1.0  # seconds after the solve begins
    run = highspy.Highs.run
    calls = []

    def run_then_deaf(self, *args):
        status = run(self, *args)
        if not calls:  # the plan's solve; the completion after it runs as it is
            time.sleep(watchdog_at + 0.5)
        calls.append(1)
        return status

    on_time = solve_module.solve(create_model(power_bound_candidate()), FAST)
    monkeypatch.setattr(highspy.Highs, "run", run_then_deaf)
    late = solve_module.solve(create_model(power_bound_candidate()), dataclasses.replace(FAST, time_limit_s=limit_s))
    assert on_time.overrun_s == 0.0
    assert late.has_solution and abs(late.objective_musd - on_time.objective_musd) <= 1e-6 * abs(on_time.objective_musd)
    assert 0.5 <= late.overrun_s <= late.seconds - watchdog_at + 1e-6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_warm_start_route_finds_the_same_optimum_as_the_plain_solve(plan_inputs):
    plain = run_model(plan_inputs, FAST, with_duals=False)
    with mock.patch.object(search_module, "RENS_MIN_INTEGERS", 0):
        warm = run_model(plan_inputs, FAST, with_duals=False)  # the checker runs inside: raises on a violation
    assert warm.result.status == plain.result.status
    if plain.result.status == INFEASIBLE:
        return
    assert warm.result.status == OPTIMAL
    assert abs(warm.result.objective_musd - plain.result.objective_musd) <= 2e-6 * max(1.0, abs(plain.result.objective_musd))
    # HiGHS takes a row as met within its mip_feasibility_tolerance, 1e-6 (here $1 of a commitment
    # shortfall: hypothesis seed 229), so a plan may cost up to that less than the LP bound.
    assert warm.result.bound_musd <= warm.result.objective_musd + 1e-6 * max(1.0, abs(warm.result.objective_musd))


def test_a_warm_started_plan_is_the_one_highs_reports_not_the_start_it_was_given():
    """Found by the property test above. The LP opens candidate f0 (fixed cost 0.5 M), so the warm
    start is a plan with it open; HiGHS's presolve saw the plan without it cost 1.03 M, reported that
    as optimal, and returned the start at 1.53 M: a plan half as dear again, called optimal."""
    racks = [rack(name, kw=80.0, lead=0, first="2025Q1", life=2) for name in ("k0", "k1")]
    capacity = {("k0", "train"): 0.0, ("k0", "infer"): 0.0, ("k1", "train"): 0.0, ("k1", "infer"): 72.0}
    sites = [site("s0", mw=0.2, max_racks=2, price=0.20), site("s1", mw=0.2, max_racks=2, price=0.05)]
    factories = [factory("f0", "s0", status="candidate", fixed=500_000.0), factory("f1", "s1")]
    demand = {("r1", "train"): 0, ("r1", "infer"): [0, 0, 0, 123], ("r2", "train"): 0, ("r2", "infer"): 0}
    plan_inputs = inputs(racks, capacity, sites, factories, demand, horizon=4, utilization=0.85,
                         unmet_penalty=60_000.0, cloud_price=26_000.0)
    plain = run_model(plan_inputs, FAST, with_duals=False)
    with mock.patch.object(search_module, "RENS_MIN_INTEGERS", 0):
        warm = run_model(plan_inputs, FAST, with_duals=False)
    assert plain.result.status == warm.result.status == OPTIMAL
    assert abs(plain.result.objective_musd - 1.033119) < 1e-6
    assert abs(warm.result.objective_musd - plain.result.objective_musd) < 1e-6, warm.result.log[-2000:]
    assert warm.result.gap <= FAST.mip_gap


def test_warm_start_gives_a_plan_above_its_bound_and_leaves_the_model_as_it_found_it():
    m, solver, highs = handed_to_highs(power_bound_candidate())
    before = highs.getLp()
    integers = whole_number_columns(highs)
    start = rens_start(highs, integers, solve_module._columns(solver, m.open.values()), gap=1e-6, threads=1,
                       deadline=time.perf_counter() + 30)
    after = highs.getLp()
    assert list(after.col_lower_) == list(before.col_lower_) and list(after.col_upper_) == list(before.col_upper_)
    assert list(after.integrality_) == list(before.integrality_)
    assert start.solution is not None and start.lower_bound is not None
    values = list(start.solution.col_value)
    start_cost = sum(c * v for c, v in zip(before.col_cost_, values)) + before.offset_
    assert start.lower_bound <= start_cost + 1e-6
    assert abs(start_cost - mip_value(m)) <= 1e-6 * abs(start_cost)  # a one-factory scenario: the start is optimal


def test_a_plan_stopped_short_is_completed_at_least_cost_for_its_racks():
    """A solve stopped at its time limit returns its incumbent as found, and a heuristic's incumbent
    need not make the best use of its own racks: the large benchmark (seed 2) stopped at 20 s with
    a plan at 647,331 M whose racks could serve demand it left unmet, completed at 156,877 M. Here
    HiGHS is handed a start that orders the cheapest plan's racks and leaves every unit of demand
    unmet beside them, and is stopped at once: the plan returned must use those racks."""
    plan_inputs = inputs([rack("a", lead=0, kw=100.0)], CAP, [site("s1", mw=2.0, max_racks=100)],
                         [factory("f1", "s1")], {("r1", "train"): 216}, horizon=4,
                         residency=[("r1", "train", ("r1",), False)])
    m = create_model(plan_inputs)
    cheapest = mip_value(m)
    assert sum(pyo.value(v) for v in m.order.values()) > 0
    for (g, w, t), v in m.unmet.items():  # the same racks, idle; all demand unmet
        v.set_value(m.ix.demand[(g, w, t)])
    for v in m.assign.values():
        v.set_value(0.0)
    wasteful = pyo.value(m.npv)
    mapping = Highs()
    mapping.set_instance(m)
    start = [0.0] * len(mapping._pyomo_var_to_solver_var_map)
    for v in m.component_data_objects(pyo.Var):
        if id(v) in mapping._pyomo_var_to_solver_var_map:
            start[mapping._pyomo_var_to_solver_var_map[id(v)]] = pyo.value(v)

    def handed_the_wasteful_plan(highs, *args, **kwargs):
        lp = highs.getLp()  # the solve's own copy of the model: its columns in the same order
        assert abs(sum(c * x for c, x in zip(lp.col_cost_, start)) + lp.offset_ - wasteful) < 1e-6
        solution = highspy.HighsSolution()
        solution.col_value = start
        return WarmStart(None, solution)

    with mock.patch.object(search_module, "RENS_MIN_INTEGERS", 0), \
            mock.patch.object(search_module, "rens_start", handed_the_wasteful_plan), \
            mock.patch.object(search_module._StopAtGap, "_check", lambda self, event: event.interrupt()):
        run = run_model(plan_inputs, FAST, with_duals=False)
    assert wasteful > cheapest + 1.0  # $1 M: the start is far from the cheapest plan
    assert "completed at least cost: NPV -" in run.result.log, run.result.log[-2000:]
    assert abs(run.result.objective_musd - cheapest) < 1e-6
    assert run.plan.demand["unmet"].sum() < 1e-6
