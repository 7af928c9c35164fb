"""Why each order line is bought (models/order_reasons.py): its racks in use from when and for
which streams, or the rule that needs racks no demand uses, said in the plan's own words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.block_reasons import explain_blocks
from models.index import build_index
from models.order_reasons import explain_orders
from models.run import run_model
from models.solve import INFEASIBLE
from planner.terminal import block_lines, idle_order_lines
from tests.builders import FAST, START, factory, inputs, q, rack, site
from tests.test_model_properties import blocks_are_explained, orders_are_explained, scenarios

CAP = {("a", "train"): 72.0}


def reasons_of(plan_inputs):
    run = run_model(plan_inputs, FAST, with_duals=False)
    return run, run.orders


def test_racks_serving_demand_say_from_when_and_for_which_streams():
    run, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                     {("r1", "train"): [0, 72, 144, 144, 144, 144]}))
    assert [(r.order_quarter, r.racks) for r in reasons] == [(q("2027Q1"), 1), (q("2027Q2"), 1)]
    first, second = reasons
    assert (first.in_use_from, first.all_in_use_from, first.most_in_use, first.spare) == (q("2027Q2"), q("2027Q2"), 1, 0)
    assert first.streams == ("r1/train",) and not first.spare_reasons and not first.early_reasons
    assert first.text == "the rack in use from arrival (2027Q2), serving r1/train"
    assert second.in_use_from == q("2027Q3")


def test_the_utilisation_cap_counts_racks_needed_not_racks_assigned():
    # At 50% utilisation a rack's worth of demand needs two racks: both are in use.
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                   {("r1", "train"): [0, 72, 72, 72, 72, 72]}, utilization=0.5))
    assert [(r.racks, r.most_in_use) for r in reasons] == [(2, 2)]
    assert reasons[0].text.startswith("both racks in use from arrival (2027Q2)")


def test_the_oldest_racks_are_in_use_first_so_the_newest_serve_the_growth():
    # Two racks installed, demand for three from 2027Q3: the one bought is the third.
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                   {("r1", "train"): [144, 144, 216, 216, 216, 216]},
                                   fleet=[("f1", "a", 2, "2026Q1")]))
    assert [(r.order_quarter, r.racks, r.in_use_from) for r in reasons] == [(q("2027Q2"), 1, q("2027Q3"))]


def commitment_without_demand():
    # A rack living past the horizon costs the plan less than the shortfall it avoids
    # (tests/test_model.py has the reverse): with no demand at all, the racks are for the commitment.
    return inputs([rack("a", lead=1, life=20)], CAP, [site("s1", price=0.1)],
                  [factory("f1", "s1", commitment=2_000_000, commitment_start="2027Q1", commitment_quarters=4)],
                  {("r1", "train"): 0}, horizon=8)


def test_racks_for_a_take_or_pay_commitment_and_no_demand_say_so():
    run, reasons = reasons_of(commitment_without_demand())
    assert run.plan.orders["racks"].sum() == 2
    [reason] = reasons
    assert reason.in_use_from is None and reason.spare == 2 and reason.streams == ()
    assert reason.text.startswith("none of its 2 racks is in use within the horizon (it arrives in 2028Q1); why: ")
    [why] = reason.spare_reasons
    assert why.startswith("they count toward f1's take-or-pay commitment (2.0 M from 2027Q1 to 2027Q4; "
                          "the plan spends 2.0 M there, 2.0 M of it on these racks")


def test_the_summary_lists_the_lines_with_racks_never_in_use_as_the_readme_shows():
    run, _ = reasons_of(commitment_without_demand())
    lines = idle_order_lines(run.plan, run.orders)
    assert len(lines) == 2 and lines[0].startswith("  racks never in use within the horizon: 2 of 2 ordered")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert all(line in readme.splitlines() for line in lines), lines


def test_a_summary_of_a_plan_whose_racks_are_all_in_use_says_nothing_of_it():
    run, _ = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                               {("r1", "train"): [0, 72, 144, 144, 144, 144]}))
    assert idle_order_lines(run.plan, run.orders) == []


def test_racks_for_a_minimum_size_say_so_and_when():
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.1)],
                                   [factory("f1", "s1", min_accelerators=144)], {("r1", "train"): 0}))
    [reason] = reasons
    assert reason.spare == 2
    assert reason.spare_reasons == ("they keep f1 at its minimum size of 144 accelerators "
                                    "(factories.csv min_accelerators) from 2027Q2 to 2028Q2",)


def test_a_placed_order_beyond_the_demand_is_kept_because_it_is_placed():
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                   {("r1", "train"): [0, 0, 0, 72, 72, 72]}, orders=[("2027Q1", "f1", "a", 3)]))
    [reason] = reasons
    assert reason.locked and (reason.in_use_from, reason.most_in_use, reason.spare) == (q("2027Q4"), 1, 2)
    assert reason.early_reasons == ("already placed (orders.csv, or the frozen window of a re-forecast)",)
    assert reason.text == ("in use from 2027Q4, 2 quarters after it arrives, at most 1 of its 3 racks, serving "
                           "r1/train; the other 2 racks: already placed (orders.csv, or the frozen window of a "
                           "re-forecast), so every plan keeps it")


def test_a_line_bought_early_names_the_supply_caps_that_leave_no_later_order():
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                   {("r1", "train"): [0, 0, 0, 0, 144, 144]},
                                   supply=[("a", "2027Q2", 0), ("a", "2027Q3", 0), ("a", "2027Q4", 0)]))
    [reason] = reasons
    assert (reason.order_quarter, reason.in_use_from) == (q("2027Q1"), q("2028Q1"))
    assert reason.early_reasons == ("no later order could arrive in time: supply.csv's caps on a are used up "
                                    "from 2027Q2 to 2027Q4",)
    assert "3 quarters after it arrives" in reason.text


def test_a_line_bought_early_names_the_orderable_window_that_leaves_no_later_order():
    _, reasons = reasons_of(inputs([rack("a", lead=1, last="2027Q2")], CAP, [site("s1", price=0.2)],
                                   [factory("f1", "s1")], {("r1", "train"): [0, 0, 0, 0, 72, 72]}))
    [reason] = reasons
    assert reason.early_reasons == ("no later order could arrive in time: no order of a at f1 may be placed from "
                                    "2027Q3 to 2027Q4 (the rack type's orderable window, the factory's set-up)",)


def test_racks_no_rule_needs_are_named_as_such_with_the_gap_and_a_replan():
    # A plan with a line no demand or rule needs (as one kept within the gap could be): said so,
    # with the gap that allows it and, for a re-plan, the pass that keeps previous orders.
    plan_inputs = inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                         {("r1", "train"): [0, 72, 72, 72, 72, 72]})
    run = run_model(plan_inputs, FAST, with_duals=False)
    plan = run.plan
    extra = plan.orders.iloc[[0]].assign(order_quarter=q("2027Q2"), online_quarter=q("2027Q3"), racks=2)
    fleet = plan.fleet.copy()
    fleet.loc[fleet["quarter"] >= q("2027Q3"), "racks_online"] += 2
    padded = dataclasses.replace(plan, tables={**plan.tables, "orders": pd.concat([plan.orders, extra], ignore_index=True),
                                               "fleet": fleet})
    reasons = explain_orders(build_index(plan_inputs), plan_inputs, padded, gap_usd=1.5e6, replan=True)
    assert reasons[0].spare == 0 and reasons[1].spare == 2
    assert reasons[1].spare_reasons == (
        "no rule of the plan needs them: the plan is within its optimality gap (1.50 M) of the best possible, and "
        "one without them may cost less (a smaller solver.mip_gap, --mip-gap); a re-plan keeps the previous plan's "
        "orders among plans that cost little more (solver.steady_within, --steady-within)",)


@st.composite
def idle_prone_scenarios(draw):
    """scenarios() with the demand off for its first quarters, and commitments and minimum sizes
    on more factories: where plans buy racks before, or without, demand for them."""
    plan_inputs = draw(scenarios())
    quiet = draw(st.integers(0, plan_inputs.horizon_quarters))
    demand = plan_inputs.demand.copy()
    demand.loc[demand["quarter"] < START + quiet, "demand"] = 0.0
    factories = plan_inputs.factories.copy()
    factories["commitment_usd"] = [draw(st.sampled_from([0.0, 3e6, 8e6])) for _ in range(len(factories))]
    factories["min_accelerators"] = [draw(st.sampled_from([0, 144, 288])) for _ in range(len(factories))]
    return dataclasses.replace(plan_inputs, demand=demand, factories=factories)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(idle_prone_scenarios())
def test_every_order_line_of_a_plan_says_why_it_is_bought(plan_inputs):
    run = run_model(plan_inputs, FAST, with_duals=False)  # raises PlanCheckError on any violation
    if run.result.status != INFEASIBLE:
        orders_are_explained(plan_inputs, run)


@st.composite
def budget_bound_scenarios(draw):
    """scenarios() of at least 6 quarters with no demand in 2027 and up to three times as much after,
    discounted, and a yearly budget of one to two and a half of its cheapest racks: where plans buy
    racks a year early for want of budget in the year they are needed (17 budget reasons in 200
    plans drawn, where the scenarios alone gave none in 100)."""
    plan_inputs = draw(scenarios().filter(lambda drawn: drawn.horizon_quarters >= 6))
    quiet = draw(st.integers(4, plan_inputs.horizon_quarters - 1))
    demand = plan_inputs.demand.copy()
    demand.loc[demand["quarter"] < START + quiet, "demand"] = 0.0
    demand["demand"] *= draw(st.sampled_from([1.0, 3.0]))
    budget = float(plan_inputs.racks["price_usd"].min()) * draw(st.sampled_from([1.0, 1.5, 2.5]))
    return dataclasses.replace(plan_inputs, demand=demand, budget_usd_per_year=budget, discount_rate=0.08)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(budget_bound_scenarios())
def test_a_line_bought_early_for_want_of_budget_later_says_so_truly(plan_inputs):
    """The budget reason's years, its sums paid in them and the line's capex, recounted from the
    plan's tables and the inputs (orders_are_explained)."""
    run = run_model(plan_inputs, FAST, with_duals=False)
    if run.result.status != INFEASIBLE:
        orders_are_explained(plan_inputs, run)


def test_a_line_bought_early_at_no_extra_cost_says_a_later_order_would_cost_no_less():
    # No discounting and a life inside the horizon: a rack costs the same ordered a quarter
    # earlier, so a plan may take it early; the reason names the tie, as the solver may break it.
    plan_inputs = inputs([rack("a", lead=0, life=2, price=2_000_000.0)], CAP, [site("s1", price=0.0)],
                         [factory("f1", "s1")], {("r1", "train"): [0, 72, 0]}, horizon=3)
    plan = run_model(plan_inputs, FAST, with_duals=False).plan
    fleet = plan.fleet.copy()
    fleet = pd.concat([fleet, fleet.assign(quarter=START, racks_online=1, accelerators_online=72)])
    fleet.loc[fleet["quarter"] == q("2027Q3"), "racks_online"] = 0
    early = plan.orders.assign(order_quarter=START, online_quarter=START)
    padded = dataclasses.replace(plan, tables={**plan.tables, "orders": early, "fleet": fleet})
    [reason] = explain_orders(build_index(plan_inputs), plan_inputs, padded)
    assert reason.in_use_from == q("2027Q2")
    assert reason.early_reasons == ("no later order would cost the plan less: a rack of it costs 2.000 M in the NPV "
                                    "ordered in 2027Q1, 2.000 M ordered in 2027Q2 (capex annuity, opex and energy, "
                                    "discounted)",)


def test_a_line_bought_early_that_no_rule_needs_early_names_the_gap_and_a_replan():
    # Discounted: a rack ordered a quarter earlier costs the plan more, and no budget, supply cap,
    # orderable window or site keeps it from a later order. The line said when its racks were in
    # use and nothing of why it came first; a plan within its gap, or a re-plan keeping an order
    # of the previous plan, may do this.
    plan_inputs = inputs([rack("a", lead=0, life=20, price=2_000_000.0)], CAP, [site("s1", price=0.0)],
                         [factory("f1", "s1")], {("r1", "train"): [0, 72, 72]}, horizon=3, discount_rate=0.08)
    plan = run_model(plan_inputs, FAST, with_duals=False).plan
    assert plan.orders["order_quarter"].tolist() == [q("2027Q2")]
    early = plan.orders.assign(order_quarter=START, online_quarter=START)
    fleet = pd.concat([plan.fleet, plan.fleet.iloc[:1].assign(quarter=START)])
    padded = dataclasses.replace(plan, tables={**plan.tables, "orders": early, "fleet": fleet})
    [reason] = explain_orders(build_index(plan_inputs), plan_inputs, padded, gap_usd=1.5e6, replan=True)
    assert reason.in_use_from == q("2027Q2")
    assert reason.early_reasons == (
        "no rule of the plan needs it this early: the plan is within its optimality gap (1.50 M) of the best "
        "possible, and one ordering it later may cost less (a smaller solver.mip_gap, --mip-gap); a re-plan keeps "
        "the previous plan's orders among plans that cost little more (solver.steady_within, --steady-within)",)
    assert reason.text.endswith(reason.early_reasons[0])


@st.composite
def power_short_scenarios(draw):
    """scenarios() with little power at every site and cheap blocks to add to it, so that plans
    order power blocks."""
    plan_inputs = draw(scenarios())
    sites = plan_inputs.sites.assign(power_mw=[draw(st.sampled_from([0.1, 0.2, 0.3])) for _ in plan_inputs.sites.index])
    expansions = pd.DataFrame([{"site": name, "block_mw": draw(st.sampled_from([0.1, 0.25, 0.5])),
                                "capex_usd": draw(st.sampled_from([1e5, 5e5])), "lead_time_quarters": draw(st.integers(0, 3)),
                                "max_blocks": draw(st.integers(1, 4))} for name in sites["site"]])
    return dataclasses.replace(plan_inputs, sites=sites, power_expansions=expansions, site_power=plan_inputs.site_power.iloc[0:0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(power_short_scenarios())
def test_every_power_block_line_says_when_its_site_needs_it(plan_inputs):
    run = run_model(plan_inputs, FAST, with_duals=False)
    if run.result.status != INFEASIBLE:
        blocks_are_explained(plan_inputs, run)


def test_a_power_block_says_from_when_its_site_needs_it_on_screen_and_in_the_workbook_order():
    plan_inputs = inputs([rack("a", lead=1, kw=100.0)], CAP, [site("s1", mw=0.1, price=0.1)], [factory("f1", "s1")],
                         {("r1", "train"): [0, 72, 144, 144, 216, 216]}, expansions=[("s1", 0.2, 1_000_000, 1, 2)],
                         discount_rate=0.08)
    run = run_model(plan_inputs, FAST, with_duals=False)
    assert run.plan.expansions[["order_quarter", "blocks"]].values.tolist() == [[q("2027Q2"), 1]]
    [reason] = run.blocks
    assert reason.needed_from == q("2027Q3")
    assert reason.text == ("needed from arrival (2027Q3): s1's facility load then, 0.2 MW, is over the 0.1 MW it has "
                           "without it; its load peaks at 0.3 MW in 2028Q1")
    assert block_lines(run.plan, run.blocks) == [
        "  power blocks ordered:",
        f"    s1: 1 block of 0.2 MW (1.0 M) ordered 2027Q2, online 2027Q3: {reason.text}"]


def test_a_power_block_bought_early_that_no_rule_needs_early_names_the_gap():
    """The block of the test above, ordered a quarter sooner: discounted, its capex costs the plan
    more then, and no budget keeps it from the later order."""
    plan_inputs = inputs([rack("a", lead=1, kw=100.0)], CAP, [site("s1", mw=0.1, price=0.1)], [factory("f1", "s1")],
                         {("r1", "train"): [0, 72, 144, 144, 216, 216]}, expansions=[("s1", 0.2, 1_000_000, 1, 2)],
                         discount_rate=0.08)
    plan = run_model(plan_inputs, FAST, with_duals=False).plan
    sooner = plan.expansions.assign(order_quarter=START, online_quarter=START + 1)
    padded = dataclasses.replace(plan, tables={**plan.tables, "expansions": sooner})
    [reason] = explain_blocks(build_index(plan_inputs), plan_inputs, padded, gap_usd=2e5)
    assert reason.needed_from == q("2027Q3")
    assert reason.early_reasons == (
        "no rule of the plan needs it this early: the plan is within its optimality gap (0.20 M) of the best "
        "possible, and one ordering it later may cost less (a smaller solver.mip_gap, --mip-gap)",)
    assert reason.text.startswith("needed from 2027Q3, 1 quarter after it arrives")
    assert reason.text.endswith(reason.early_reasons[0])


def test_a_placed_line_all_in_use_but_late_says_it_was_placed():
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                   {("r1", "train"): [0, 0, 0, 72, 72, 72]}, orders=[("2027Q1", "f1", "a", 1)]))
    [reason] = reasons
    assert reason.text == ("the rack in use from 2027Q4, 2 quarters after it arrives, serving r1/train; already placed "
                           "(orders.csv, or the frozen window of a re-forecast)")


def test_a_line_bought_early_names_the_yearly_budget_that_leaves_no_room_later():
    # Three racks in use from 2028Q2, two of them all 2028's budget can pay: the third comes in 2027.
    _, reasons = reasons_of(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                                   {("r1", "train"): [0, 0, 0, 0, 0, 216]}, budget=2_000_000.0, discount_rate=0.08))
    early = [reason for reason in reasons if reason.early_reasons]
    assert [(r.order_quarter, r.racks) for r in early] == [(q("2027Q4"), 1)]
    assert early[0].early_reasons == ("budget_usd_per_year (2.0 M) leaves no room for its 1.0 M in a later year it "
                                      "could be ordered in (2.0 M in 2028)",)


def test_a_line_bought_early_to_retire_in_time_names_the_site_full_after_it():
    # Two racks fit at the site; the one for 2028Q4 can be ordered no later than 2028Q2, so of the
    # two for 2028Q2 one must arrive a quarter early, to retire before the third comes.
    _, reasons = reasons_of(inputs([rack("a", kw=80.0, lead=1, life=2, last="2028Q2")], CAP,
                                   [site("s1", mw=0.2, max_racks=2, price=0.05)], [factory("f1", "s1")],
                                   {("r1", "train"): [0, 0, 0, 0, 0, 102, 0, 42]}, horizon=8, utilization=0.85,
                                   discount_rate=0.08))
    [early] = [reason for reason in reasons if reason.in_use_from == q("2028Q2") and reason.early_reasons]
    assert early.early_reasons == ("arriving later, it would still be online in 2028Q3, when s1 has no rack positions "
                                   "or power left for it",)
