"""Small scenarios whose optimal answer can be worked out by hand.

Every solve goes through `run_model`, which runs the independent checker and raises on any
violation, so each test also checks the plan obeys every rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.run import run_model
from models.solve import INFEASIBLE, OPTIMAL
from tests.builders import FAST, START, factory, inputs, q, rack, site

CAP = {("a", "train"): 72.0}


def solved(plan_inputs):
    run = run_model(plan_inputs, FAST)
    assert run.result.status == OPTIMAL, run.infeasibility
    return run.plan


def by_quarter(demand: pd.DataFrame, column: str) -> list[float]:
    return [round(v, 6) for v in demand.sort_values("quarter")[column]]


def test_lead_time_forces_cloud_in_the_first_quarters():
    plan = solved(inputs([rack("a", lead=2)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72}))
    assert plan.orders[["order_quarter", "racks"]].values.tolist() == [[START, 1]]
    assert by_quarter(plan.demand, "served_cloud") == [72, 72, 0, 0, 0, 0]
    assert by_quarter(plan.demand, "unmet") == [0] * 6


def test_sovereign_stream_never_uses_cloud():
    plan = solved(inputs([rack("a", lead=2)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72},
                         residency=[("r1", "train", ("r1",), False)]))
    assert by_quarter(plan.demand, "served_cloud") == [0] * 6
    assert by_quarter(plan.demand, "unmet") == [72, 72, 0, 0, 0, 0]


def test_trainium4_waits_for_its_window_then_wins_on_price():
    racks = [rack("trn3", price=2_000_000, lead=1), rack("trn4", price=1_000_000, lead=1, first="2027Q3")]
    capacity = {("trn3", "train"): 72.0, ("trn4", "train"): 72.0}
    plan = solved(inputs(racks, capacity, [site("s1")], [factory("f1", "s1")],
                         {("r1", "train"): [72, 72, 72, 144, 144, 144, 144, 144]}, horizon=8, cloud_price=10_000))
    orders = plan.orders
    trn4 = orders[orders["rack_type"] == "trn4"]
    assert (trn4["order_quarter"] >= q("2027Q3")).all()
    assert trn4[["order_quarter", "racks"]].values.tolist() == [[q("2027Q3"), 1]]
    assert orders.loc[orders["rack_type"] == "trn3", "racks"].sum() == 1


def test_site_power_exhaustion_moves_racks_to_another_site_of_the_region():
    sites = [site("cheap", mw=0.1, price=0.01), site("big", mw=10.0, price=0.2)]
    factories = [factory("f-cheap", "cheap"), factory("f-big", "big")]
    plan = solved(inputs([rack("a")], CAP, sites, factories, {("r1", "train"): 216},
                         residency=[("r1", "train", ("r1",), False)]))
    last = plan.fleet[plan.fleet["quarter"] == START + 5].set_index("factory")["racks_online"]
    assert last.to_dict() == {"f-cheap": 1, "f-big": 2}


def test_expansion_block_is_ordered_early_enough_to_arrive_when_needed():
    plan = solved(inputs([rack("a", lead=1)], CAP, [site("s1", mw=0.1)], [factory("f1", "s1")],
                         {("r1", "train"): [72, 72, 72, 72, 216, 216]},
                         residency=[("r1", "train", ("r1",), False)],
                         expansions=[("s1", 1.0, 1_000_000, 2, 3)], discount_rate=0.08))
    blocks = plan.expansions
    assert len(blocks) == 1 and blocks["blocks"].iloc[0] == 1
    assert blocks["online_quarter"].iloc[0] <= START + 4
    assert blocks["order_quarter"].iloc[0] == START + 2  # the latest that still arrives in time (discounting)
    assert by_quarter(plan.demand, "unmet") == [72, 0, 0, 0, 0, 0]  # only the first quarter, before any rack


def test_take_or_pay_pays_the_shortfall_rather_than_buying_useless_racks():
    # Any rack ordered in the window lives and dies inside the 8-quarter horizon, so it costs its
    # full price plus energy, more than the shortfall it would avoid.
    plan = solved(inputs([rack("a", lead=1, life=4)], CAP, [site("s1", price=0.1)],
                         [factory("f1", "s1", commitment=2_000_000, commitment_start="2027Q1", commitment_quarters=4)],
                         {("r1", "train"): 0}, horizon=8))
    assert plan.orders.empty
    commitment = plan.factories.set_index("factory").loc["f1"]
    assert commitment.commitment_shortfall_usd == pytest.approx(2_000_000)
    shortfall = plan.costs[plan.costs["category"] == "commitment_shortfall"]
    assert shortfall[["quarter", "usd"]].values.tolist() == [[q("2027Q4"), pytest.approx(2_000_000)]]


def test_commitment_is_met_by_useful_racks_without_shortfall():
    plan = solved(inputs([rack("a", lead=1, life=4)], CAP, [site("s1", price=0.1)],
                         [factory("f1", "s1", commitment=2_000_000, commitment_start="2027Q1", commitment_quarters=4)],
                         {("r1", "train"): 144}))
    assert plan.factories.set_index("factory").at["f1", "commitment_shortfall_usd"] == pytest.approx(0.0)
    assert plan.orders["racks"].sum() >= 2


def test_locked_order_is_kept_even_when_not_optimal():
    plan = solved(inputs([rack("a", lead=1)], CAP, [site("s1", price=0.2)], [factory("f1", "s1")],
                         {("r1", "train"): 0}, orders=[("2027Q1", "f1", "a", 3)]))
    assert plan.orders[["order_quarter", "racks", "locked"]].values.tolist() == [[START, 3, True]]
    online = plan.fleet.groupby("quarter")["racks_online"].sum()
    assert online.to_dict() == {START + t: 3 for t in range(1, 6)}


def test_an_order_placed_before_the_start_reports_its_annuity_outside_the_npv():
    """Racks ordered before the plan are paid: their capex is not in the NPV, but its annuity is
    reported (capex_annuity_sunk) so that a re-forecast a quarter later, which moves the orders of
    the quarter just ended there, can compare its costs with the previous plan's like with like."""
    plan = solved(inputs([rack("a", lead=2, life=4, price=1_000_000.0)], CAP, [site("s1")], [factory("f1", "s1")],
                         {("r1", "train"): 0}, orders=[("2026Q4", "f1", "a", 3), ("2027Q1", "f1", "a", 1)]))
    costs = plan.costs.set_index(["category", "quarter"])
    sunk = costs.loc["capex_annuity_sunk"]  # 3 racks x 1 M over 4 quarters of life, at a zero rate
    assert sunk["usd"].to_dict() == pytest.approx({q(x): 750_000.0 for x in ("2027Q2", "2027Q3", "2027Q4", "2028Q1")})
    assert not sunk["in_objective"].any()
    annuity = costs.loc["capex_annuity"]  # the rack ordered in the horizon: online 2027Q3 to 2028Q2
    assert annuity["usd"].to_dict() == pytest.approx({q(x): 250_000.0 for x in ("2027Q3", "2027Q4", "2028Q1", "2028Q2")})
    assert costs.loc["capex_paid", "usd"].to_dict() == {START: 1_000_000.0}
    assert plan.kpis["npv_usd"] == pytest.approx(1_000_000.0)


def test_candidate_factory_respects_set_up_lead_time():
    sites = [site("s1", mw=0.1), site("s2")]
    factories = [factory("f1", "s1"), factory("new", "s2", status="candidate", setup=3, fixed=100_000)]
    plan = solved(inputs([rack("a", lead=1)], CAP, sites, factories, {("r1", "train"): 216},
                         residency=[("r1", "train", ("r1",), False)]))
    assert plan.factories.set_index("factory").at["new", "open"]
    new = plan.orders[plan.orders["factory"] == "new"]
    assert len(new) and (new["online_quarter"] >= START + 3).all()


def test_expensive_candidate_stays_closed_and_empty():
    sites = [site("s1"), site("s2")]
    factories = [factory("f1", "s1"), factory("new", "s2", status="candidate", fixed=1e12)]
    plan = solved(inputs([rack("a", lead=1)], CAP, sites, factories, {("r1", "train"): 216}))
    assert not plan.factories.set_index("factory").at["new", "open"]
    assert (plan.fleet["factory"] != "new").all()
    assert plan.kpis["npv_usd"] < 1e11


def test_minimum_size_applies_once_open():
    plan = solved(inputs([rack("a", lead=1, accelerators=72)], CAP, [site("s1")],
                         [factory("f1", "s1", min_accelerators=288)], {("r1", "train"): 72}))
    sizes = plan.fleet.groupby("quarter")["accelerators_online"].sum()
    assert all(sizes.get(START + t, 0) >= 288 for t in range(1, 6))


def test_supply_cap_spreads_orders():
    plan = solved(inputs([rack("a", lead=1)], CAP, [site("s1")], [factory("f1", "s1")],
                         {("r1", "train"): [0, 288, 288, 288, 288, 288]}, supply=[("a", "2027Q1", 2)],
                         residency=[("r1", "train", ("r1",), False)]))
    first = plan.orders[plan.orders["order_quarter"] == START]["racks"].sum()
    assert first == 2
    assert plan.orders["racks"].sum() == 4


def test_locked_orders_over_the_budget_are_diagnosed_in_the_scenarios_currency_not_usd():
    scenario = inputs([rack("a", price=1e6, lead=1)], {("a", "train"): 72.0}, [site("s1")], [factory("f1", "s1")],
                      {("r1", "train"): 100}, horizon=8, orders=[("2027Q1", "f1", "a", 5)], budget=2e6)
    run = run_model(scenario, FAST)
    assert run.result.status == INFEASIBLE
    assert run.infeasibility == ["budget: capex that must be paid in 2027 exceeds budget_usd_per_year by 3,000,000 "
                                 "in the scenario's currency"]


@pytest.mark.parametrize("budget, status", [(1e6, OPTIMAL), (0.5e6, INFEASIBLE)])
def test_a_year_of_placed_orders_only_is_held_to_a_budget_given_as_numpys_float(budget, status):
    """With no rack orderable (its window closed) the budget's row for 2027 is constants only, and
    with a numpy budget (a script computing it with pandas) its comparison numpy's bool, which
    Pyomo refused with a ValueError, where a Python bool is skipped or named as infeasible."""
    scenario = inputs([rack("a", price=1e6, lead=0, last="2026Q4")], {("a", "train"): 72.0}, [site("s1")],
                      [factory("f1", "s1")], {("r1", "train"): 0}, horizon=4, orders=[("2027Q1", "f1", "a", 1)],
                      budget=np.float64(budget))
    run = run_model(scenario, FAST)
    assert run.result.status == status
    if status == INFEASIBLE:
        assert run.infeasibility == ["budget: capex that must be paid in 2027 exceeds budget_usd_per_year by 500,000 "
                                     "in the scenario's currency"]


def test_budget_per_year_pushes_orders_to_the_next_year():
    plan = solved(inputs([rack("a", lead=1, price=1_000_000)], CAP, [site("s1")], [factory("f1", "s1")],
                         {("r1", "train"): 288}, horizon=8, budget=2_500_000, cloud_price=100_000))
    paid = plan.costs[plan.costs["category"] == "capex_paid"]
    by_year = paid.groupby(paid["quarter"].map(lambda p: p.year))["usd"].sum()
    assert by_year.max() <= 2_500_000 + 1e-6
    assert by_year.to_dict() == {2027: 2_000_000, 2028: 2_000_000}


def test_locked_fleet_beyond_site_power_is_explained():
    run = run_model(inputs([rack("a")], CAP, [site("s1", mw=0.3)], [factory("f1", "s1")], {("r1", "train"): 72},
                           fleet=[("f1", "a", 5, "2026Q1")]), FAST)
    assert run.result.status == INFEASIBLE and run.plan is None
    assert any("site s1" in line and "2027Q1" in line and "0.20 MW" in line for line in run.infeasibility), run.infeasibility


def test_a_power_shortfall_is_split_where_what_forces_the_racks_in_changes():
    """Four installed racks draw 0.4 MW of s1's 0.3 until a 0.2 MW block can arrive in 2027Q3;
    min_accelerators needs six from 2027Q2, when new racks can first arrive. One line for the
    whole span had blamed the installed racks alone, 'more than it can have', for every quarter."""
    run = run_model(inputs([rack("a")], CAP, [site("s1", mw=0.3)], [factory("f1", "s1", min_accelerators=432)],
                           {("r1", "train"): 72}, fleet=[("f1", "a", 4, "2026Q1")],
                           expansions=[("s1", 0.2, 1e6, 2, 1)]), FAST)
    assert run.result.status == INFEASIBLE
    installed, minimum = "racks installed or locked there draw 0.40 MW", "the rest is the racks its factories' min_accelerators require"
    causes = [(line.split(" needs ")[0], line.split("power blocks); ")[1]) for line in run.infeasibility]
    assert causes == [("site power: site s1 in 2027Q1", f"{installed}, more than it can have"),
                      ("site power: site s1 in 2027Q2", f"{installed}, more than it can have; {minimum}"),
                      ("site power: site s1 from 2027Q3 to 2028Q2 (4 quarters)", f"{installed}; {minimum}")]


def test_locked_orders_beyond_supply_are_explained():
    run = run_model(inputs([rack("a")], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72},
                           orders=[("2027Q2", "f1", "a", 5)], supply=[("a", "2027Q2", 3)]), FAST)
    assert run.result.status == INFEASIBLE
    assert any("supply" in line and "2027Q2" in line and "2 racks" in line for line in run.infeasibility), run.infeasibility


def test_one_rack_over_the_supply_cap_reads_in_the_singular():
    run = run_model(inputs([rack("a")], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72},
                           orders=[("2027Q2", "f1", "a", 4)], supply=[("a", "2027Q2", 3)]), FAST)
    assert run.infeasibility == ["supply: orders of a in 2027Q2 exceed supply.csv's cap by 1 rack"]


def test_installed_racks_just_over_the_sites_power_are_told_apart_from_it():
    """Two 115 kW racks on a 0.2 MW site: at one decimal the diagnosis said they draw 0.2 MW, more
    than the site's 0.2 MW."""
    run = run_model(inputs([rack("a", kw=115.0)], CAP, [site("s1", mw=0.2)], [factory("f1", "s1")],
                           {("r1", "train"): 72}, horizon=2, fleet=[("f1", "a", 2, "2026Q1")]), FAST)
    assert run.infeasibility == ["site power: site s1 from 2027Q1 to 2027Q2 (2 quarters) needs 0.03 MW more than it "
                                 "can have (0.20 MW scheduled, plus any power blocks); racks installed or locked there "
                                 "draw 0.23 MW, more than it can have"]


def test_shadow_price_of_power_is_positive_where_power_binds():
    run = run_model(inputs([rack("a", lead=1)], CAP, [site("s1", mw=0.1)], [factory("f1", "s1")],
                           {("r1", "train"): 144}, residency=[("r1", "train", ("r1",), False)]), FAST)
    prices = run.shadow_prices
    power = prices[prices["family"] == "site_power"].set_index("quarter")
    # Racks stay online once installed: one more MW for a single middle quarter cannot be used,
    # one more MW from that quarter on can.
    assert power.at[START + 3, "value_usd"] == 0
    assert power.at[START + 3, "value_from_here_usd_discounted"] > 0
    assert power.at[START + 5, "value_usd"] > 0
    assert (prices["condition"].str.contains("conditional")).all()


def test_same_input_gives_the_same_plan():
    make = lambda: inputs([rack("a", lead=1), rack("b", price=900_000, kw=130)], {("a", "train"): 72.0, ("b", "train"): 72.0},
                          [site("s1", mw=0.5), site("s2", mw=0.5)], [factory("f1", "s1"), factory("f2", "s2")],
                          {("r1", "train"): [100, 200, 300, 400, 500, 600]})
    first, second = solved(make()), solved(make())
    pd.testing.assert_frame_equal(first.orders, second.orders)
