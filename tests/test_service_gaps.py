"""Why a plan leaves demand unmet or serves it from cloud: each cause, set up by hand, is the reason given."""

from __future__ import annotations

from models.index import build_index
from models.run import run_model
from models.runs import figure
from models.service_gaps import CLOUD, ServiceGap, _chosen, explain_service_gaps
from models.solve import OPTIMAL
from tests.builders import FAST, START, factory, inputs, rack, site

CAP = {("a", "train"): 72.0}
NO_CLOUD = [("r1", "train", ("r1",), False)]


def unmet_runs(plan_inputs):
    run = run_model(plan_inputs, FAST)
    assert run.result.status == OPTIMAL, run.infeasibility
    total = sum(u.unit_quarters for u in run.unmet)
    assert abs(total - run.plan.kpis["unmet_unit_quarters"]) < 1e-6 * max(1.0, total)
    return run.unmet


def only(runs):
    assert len(runs) == 1, [r.text for r in runs]
    return runs[0]


def test_no_unmet_demand_needs_no_explanation():
    assert unmet_runs(inputs([rack("a", lead=0)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72})) == []


def test_lead_time_and_residency_are_named_for_the_first_quarters():
    runs = unmet_runs(inputs([rack("a", lead=2)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72},
                             residency=NO_CLOUD))
    run = only(runs)
    assert (run.region, run.workload, run.first_quarter, run.last_quarter) == ("r1", "train", START, START + 1)
    assert run.units == (72.0, 72.0)
    assert any("before 2027Q3" in r and "a at f1, ordered 2027Q1 with 2 quarters' lead time" in r for r in run.reasons)
    assert "cloud not allowed (residency.csv)" in run.reasons
    assert "from 2027Q1 to 2027Q2 (2 quarters): 72 units unmet" in run.text


def test_one_unit_reads_as_a_unit_and_any_other_figure_as_units():
    """The plan summary once read '1 units on cloud' for a stream a fraction of a rack short."""
    def text(units):
        return ServiceGap(CLOUD, "r1", "train", START, START + len(units) - 1, len(units), units, ("why",)).text
    assert "in 2027Q1: 1 unit on cloud: why" in text((1.2,))
    assert "in 2027Q1: 2 units on cloud" in text((1.6,))
    assert "(2 quarters): 1 to 3 units on cloud" in text((1.0, 3.0))


def test_a_fraction_of_a_unit_never_reads_as_none():
    """sovereign-eu at P95 read '2030Q3: 0 units on cloud' for 0.2 units, and its cloud cost '0.00 M'."""
    def text(units):
        return ServiceGap(CLOUD, "r1", "train", START, START + len(units) - 1, len(units), units, ("why",)).text
    assert "in 2027Q1: 0.2 units on cloud: why" in text((0.2,))
    assert "(2 quarters): 0.04 to 3 units on cloud" in text((0.04, 3.0))
    assert "in 2027Q1: 0.5 units on cloud" in text((0.5,))
    assert figure(0.0039, 2) == "0.004" and figure(0.012, 2) == "0.01" and figure(0.0004, 2) == "0.0004"
    assert figure(1234.5) == "1,234" and figure(0.0) == "0" and figure(2e-9) == "under 0.001"
    assert "its cloud cost (0.004 M discounted) is within the plan's optimality gap (3.72 M)" in _chosen(
        CLOUD, 3_900.0, 3.72e6, 26_000.0)


def test_a_lead_time_of_one_quarter_reads_in_the_singular():
    run = only(unmet_runs(inputs([rack("a", lead=1)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72},
                                 residency=NO_CLOUD)))
    assert any("before 2027Q2 (soonest: a at f1, ordered 2027Q1 with 1 quarter's lead time)" in r for r in run.reasons), run.reasons


def test_a_full_cloud_cap_is_named():
    runs = unmet_runs(inputs([rack("a", lead=2)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72},
                             cloud_max=30.0))
    run = only(runs)
    assert run.units == (42.0, 42.0)
    assert "cloud at its cap of 30 units (cloud.max_units)" in run.reasons


def test_installed_racks_in_use_and_a_site_out_of_power_are_named():
    # 0.25 MW holds two 100 kW racks, the two installed; demand needs three
    runs = unmet_runs(inputs([rack("a", lead=0)], CAP, [site("s1", mw=0.25)], [factory("f1", "s1")],
                             {("r1", "train"): 216}, fleet=[("f1", "a", 2, "2026Q4")], residency=NO_CLOUD))
    run = only(runs)
    assert run.quarters == 6 and run.units == (72.0,) * 6
    assert "the racks online that may serve it are fully used" in run.reasons
    assert "every site that may take a new rack for it is full: s1 (power)" in run.reasons


def test_a_site_out_of_positions_is_named():
    runs = unmet_runs(inputs([rack("a", lead=0)], CAP, [site("s1", max_racks=2)], [factory("f1", "s1")],
                             {("r1", "train"): 216}, residency=NO_CLOUD))
    assert "every site that may take a new rack for it is full: s1 (rack positions)" in only(runs).reasons


def test_a_site_where_each_rack_type_lacks_power_or_positions_is_full():
    # s1 has 100 kW and one position left: a (80 kW) would have the power but needs two positions,
    # b (one position) needs 190 kW. No rack fits, though neither limit alone stops both types.
    capacity = {("a", "train"): 72.0, ("b", "train"): 72.0}
    racks = [rack("a", kw=80.0, lead=0, positions=2), rack("b", kw=190.0, lead=0, positions=1)]
    run = only(unmet_runs(inputs(racks, capacity, [site("s1", mw=0.37, max_racks=4)], [factory("f1", "s1")],
                                 {("r1", "train"): 216}, horizon=2, residency=NO_CLOUD,
                                 fleet=[("f1", "a", 1, "2026Q4"), ("f1", "b", 1, "2026Q4")])))
    assert run.reasons == ("the racks online that may serve it are fully used",
                           "every site that may take a new rack for it is full: s1 (power for b; rack positions for a)",
                           "cloud not allowed (residency.csv)")


def test_supply_caps_used_up_are_named():
    supply = [("a", "2027Q1", 1), ("a", "2027Q2", 1)]
    runs = unmet_runs(inputs([rack("a", lead=0)], CAP, [site("s1")], [factory("f1", "s1")],
                             {("r1", "train"): [144, 216]}, horizon=2, supply=supply, residency=NO_CLOUD))
    assert [r.units for r in runs] == [(72.0, 72.0)]
    assert any("supply.csv's caps used up" in r for r in runs[0].reasons)


def test_supply_used_up_where_a_rack_would_fit_is_named_though_the_full_site_has_supply():
    # s1 is full with its one rack a; s2 takes only rack b, of which one can be bought, in 2027Q1.
    # Rack a could still be bought, but nowhere to put it: the binding limit is b's supply.
    capacity = {("a", "train"): 72.0, ("b", "train"): 72.0}
    runs = unmet_runs(inputs([rack("a", lead=0), rack("b", lead=0)], capacity, [site("s1", max_racks=1), site("s2")],
                             [factory("f1", "s1", rack_types=("a",)), factory("f2", "s2", rack_types=("b",))],
                             {("r1", "train"): 216}, horizon=2, supply=[("b", "2027Q1", 1), ("b", "2027Q2", 0)],
                             fleet=[("f1", "a", 1, "2026Q4")], residency=NO_CLOUD))
    # In 2027Q2 no b can arrive in that quarter (its cap for 2027Q2's orders is 0), so s1 is every site
    # a rack arriving then could go to, and b's supply, used up in 2027Q1, is what could have served it.
    supply = "supply.csv's caps used up in every quarter an order could be placed to arrive in time"
    assert [(run.first_quarter, run.units, run.reasons) for run in runs] == [
        (START, (72.0,), ("the racks online that may serve it are fully used", "full: s1 (rack positions)", supply,
                          "cloud not allowed (residency.csv)")),
        (START + 1, (72.0,), ("the racks online that may serve it are fully used",
                              "every site that may take a rack for it ordered to arrive in that quarter is full: "
                              "s1 (rack positions)",
                              supply, "cloud not allowed (residency.csv)"))]


def test_a_spent_budget_is_named():
    runs = unmet_runs(inputs([rack("a", lead=0, price=1_000_000)], CAP, [site("s1")], [factory("f1", "s1")],
                             {("r1", "train"): 144}, horizon=2, budget=1_500_000, residency=NO_CLOUD))
    assert [r.units for r in runs] == [(72.0, 72.0)]
    assert "budget_usd_per_year used up in 2027" in runs[0].reasons


def test_a_rack_dearer_than_the_penalty_is_named_with_its_cost():
    # 7.2 M over 20 quarters is 360,000 a quarter for 72 units: 5,000 per unit-quarter
    runs = unmet_runs(inputs([rack("a", lead=0, price=7_200_000, life=20)], CAP, [site("s1")], [factory("f1", "s1")],
                             {("r1", "train"): 72}, unmet_penalty=1_000.0, cloud_price=2_000.0))
    run = only(runs)
    assert run.quarters == 6
    assert any("costs at least 5,000 per unit-quarter" in r and "(1,000)" in r for r in run.reasons)
    assert "cloud (2,000 per unit-quarter) costs more than unmet_penalty_per_unit_quarter (1,000)" in run.reasons


def test_a_stream_no_factory_may_serve_is_named():
    runs = unmet_runs(inputs([rack("a", lead=0)], CAP, [site("s1")], [factory("f1", "s1")],
                             {("r1", "train"): 72, ("r2", "train"): 10},
                             residency=NO_CLOUD + [("r2", "train", ("r2",), False)]))
    run = only(runs)
    assert run.region == "r2" and run.quarters == 6
    assert any(r.startswith("no factory it may be served from") for r in run.reasons)


def test_quarters_with_different_reasons_are_separate_runs():
    # the cloud cap binds only while no rack can arrive; afterwards power runs out
    runs = unmet_runs(inputs([rack("a", lead=2)], CAP, [site("s1", mw=0.1)], [factory("f1", "s1")],
                             {("r1", "train"): 144}, cloud_max=30.0))
    assert [(r.first_quarter, r.last_quarter) for r in runs] == [(START, START + 1), (START + 2, START + 5)]
    assert "cloud at its cap of 30 units (cloud.max_units)" in runs[1].reasons
    assert any("before 2027Q3" in r for r in runs[0].reasons)
    assert "every site that may take a new rack for it is full: s1 (power)" in runs[1].reasons


def leftover_inputs():
    """80 units on 72-unit racks: the last 8 units cost 8,000 a quarter unmet, a second rack 50,000."""
    return inputs([rack("a", lead=0, price=1_000_000, life=20)], CAP, [site("s1")], [factory("f1", "s1")],
                  {("r1", "train"): 80}, horizon=2, unmet_penalty=1_000.0, residency=NO_CLOUD)


def test_unforced_unmet_demand_is_called_cheaper_to_leave_when_the_plan_is_optimal():
    run = only(unmet_runs(leftover_inputs()))
    assert run.units == (8.0, 8.0)
    assert run.reasons[:3] == (
        "the racks online that may serve it are fully used",
        "no hard limit binds; it is less than one rack's worth (a a at f1 serves 72 units)",
        "leaving it unmet at unmet_penalty_per_unit_quarter (1,000) costs less than the racks, power or "
        "commitments to serve it")


def test_unforced_unmet_demand_beside_a_full_site_names_a_rack_where_one_fits():
    # s1 holds its one installed rack and no more; s2 has room, but a second rack for 8 units costs more
    # than leaving them unmet. The rack named must be one that could be placed: at f2, not f1.
    run = only(unmet_runs(inputs([rack("a", lead=0, price=1_000_000, life=20)], CAP,
                                 [site("s1", max_racks=1), site("s2")], [factory("f1", "s1"), factory("f2", "s2")],
                                 {("r1", "train"): 80}, horizon=2, unmet_penalty=1_000.0, residency=NO_CLOUD,
                                 fleet=[("f1", "a", 1, "2026Q4")])))
    assert run.units == (8.0, 8.0)
    assert run.reasons[:3] == (
        "the racks online that may serve it are fully used",
        "full: s1 (rack positions)",
        "no hard limit binds at the other sites; it is less than one rack's worth (a a at f2 serves 72 units)")


def test_unforced_unmet_demand_inside_the_optimality_gap_says_so():
    plan_inputs = leftover_inputs()
    plan = run_model(plan_inputs, FAST).plan
    run = only(explain_service_gaps(build_index(plan_inputs), plan_inputs, plan, gap_usd=20_000.0)[0])
    assert run.reasons[2] == ("its penalty (0.02 M discounted) is within the plan's optimality gap (0.02 M): "
                              "a smaller solver.mip_gap (--mip-gap) may serve it from racks")
    assert only(explain_service_gaps(build_index(plan_inputs), plan_inputs, plan, gap_usd=15_999.0)[0]).reasons[2].startswith(
        "leaving it unmet")


def cloud_runs(plan_inputs):
    run = run_model(plan_inputs, FAST)
    assert run.result.status == OPTIMAL, run.infeasibility
    return run.cloud


def test_cloud_bought_while_no_rack_can_arrive_is_explained_by_the_lead_time():
    runs = cloud_runs(inputs([rack("a", lead=2)], CAP, [site("s1")], [factory("f1", "s1")], {("r1", "train"): 72}))
    run = only(runs)
    assert (run.served_by, run.first_quarter, run.last_quarter, run.units) == ("cloud", START, START + 1, (72.0, 72.0))
    assert any("before 2027Q3" in r for r in run.reasons)
    assert "from 2027Q1 to 2027Q2 (2 quarters): 72 units on cloud" in run.text


def test_cloud_cheaper_than_a_rack_is_named_with_both_prices():
    runs = cloud_runs(inputs([rack("a", lead=0, price=7_200_000, life=20)], CAP, [site("s1")], [factory("f1", "s1")],
                             {("r1", "train"): 72}, cloud_price=2_000.0))
    run = only(runs)
    assert run.quarters == 6
    assert any("costs at least 5,000 per unit-quarter" in r and "cloud.price_per_unit_quarter (2,000)" in r
               for r in run.reasons)


def test_a_site_out_of_power_says_how_many_of_its_power_blocks_were_ordered():
    # one 0.1 MW block would fit the third rack, but costs more than the shortfall's penalty
    runs = unmet_runs(inputs([rack("a", lead=0)], CAP, [site("s1", mw=0.25)], [factory("f1", "s1")],
                             {("r1", "train"): 216}, fleet=[("f1", "a", 2, "2026Q4")], residency=NO_CLOUD,
                             expansions=[("s1", 0.1, 1e12, 0, 1)]))
    assert "every site that may take a new rack for it is full: s1 (power; 0 of 1 power blocks ordered)" in \
        only(runs).reasons


def test_cloud_in_a_quarter_no_rack_can_still_be_ordered_for_says_when_the_latest_would_have_come():
    # a is orderable in 2027Q1 only: a second one for 2028Q2's extra 72 units would be paid for six
    # quarters (300,000) against one quarter of cloud (144,000). "No hard limit binds" alone read
    # as though a rack could be bought for that quarter.
    run = only(cloud_runs(inputs([rack("a", lead=0, price=1_000_000, life=20, last="2027Q1")], CAP, [site("s1")],
                                 [factory("f1", "s1")], {("r1", "train"): [72, 72, 72, 72, 72, 144]},
                                 cloud_price=2_000.0)))
    assert (run.first_quarter, run.units) == (START + 5, (72.0,))
    assert run.reasons[1:3] == (
        "no hard limit binds, but no rack type that may serve it there can be ordered to arrive in 2028Q2: "
        "the latest new rack comes online in 2027Q1 (a at f1, ordered 2027Q1), 5 quarters before",
        "cloud at cloud.price_per_unit_quarter (2,000) costs less than the racks, power or commitments to serve it")


def test_the_rack_named_for_less_than_a_racks_worth_is_one_that_can_still_arrive():
    # a is cheaper per unit-quarter than b but no longer orderable when the last 8 units come
    capacity = {("a", "train"): 72.0, ("b", "train"): 72.0}
    run = only(cloud_runs(inputs([rack("a", lead=0, price=1_000_000, last="2027Q1"), rack("b", lead=0, price=2_000_000)],
                                 capacity, [site("s1")], [factory("f1", "s1")],
                                 {("r1", "train"): [72, 72, 72, 72, 72, 80]}, cloud_price=2_000.0)))
    assert (run.first_quarter, run.units) == (START + 5, (8.0,))
    assert run.reasons[1] == "no hard limit binds; it is less than one rack's worth (a b at f1 serves 72 units)"


def test_a_site_with_room_only_for_a_rack_no_longer_orderable_is_full_for_one_that_is():
    # s1 has 0.2 MW left beside its three installed a racks: room for another a (0.1 MW), orderable
    # only in 2027Q1, not for b (0.3 MW). "No hard limit binds" had been judged on a's size.
    capacity = {("a", "train"): 72.0, ("b", "train"): 72.0}
    run = only(cloud_runs(inputs([rack("a", lead=0, last="2027Q1"), rack("b", kw=300.0, lead=0)], capacity,
                                 [site("s1", mw=0.5)], [factory("f1", "s1")],
                                 {("r1", "train"): [216, 216, 216, 216, 216, 288]}, fleet=[("f1", "a", 3, "2026Q4")],
                                 cloud_price=2_000.0)))
    assert (run.first_quarter, run.units) == (START + 5, (72.0,))
    assert run.reasons == (
        "the racks online that may serve it are fully used",
        "every site that may take a rack for it ordered to arrive in that quarter is full: s1 (power)",
        "no hard limit binds on racks ordered to arrive earlier: the latest new rack comes online in 2027Q1 "
        "(a at f1, ordered 2027Q1), 5 quarters before",
        "cloud at cloud.price_per_unit_quarter (2,000) costs less than the racks, power or commitments to serve it")


def test_racks_that_fit_for_part_of_the_demand_are_counted_and_the_rest_is_forced():
    # s1 has power for one more rack beside its installed one; 144 units go to cloud, dearer racks
    # or not: only 72 of them could have been served from a rack, whatever it cost.
    run = only(cloud_runs(inputs([rack("a", lead=0, price=7_200_000, life=20)], CAP, [site("s1", mw=0.2)],
                                 [factory("f1", "s1")], {("r1", "train"): 216}, horizon=2,
                                 fleet=[("f1", "a", 1, "2026Q4")], cloud_price=2_000.0)))
    assert run.units == (144.0, 144.0)
    assert run.reasons == (
        "the racks online that may serve it are fully used",
        "racks that fit and can be ordered to arrive in that quarter serve at most 72 units of it (s1: 1 more a, "
        "then power)",
        "a new rack that may serve it costs at least 5,000 per unit-quarter (capex annuity, opex, energy), more than "
        "cloud.price_per_unit_quarter (2,000)")


def test_only_the_demand_racks_fit_for_is_weighed_against_the_optimality_gap():
    # Planned under a budget that buys nothing, explained without it: s1 has power for two more
    # racks (144 units) of the 216 on cloud a quarter. Their cloud cost, 144 x 2,000 x 2 quarters
    # = 0.576 M, is within a 0.6 M gap; all 216 units' (0.864 M) is not.
    def scenario(budget):
        return inputs([rack("a", lead=0)], CAP, [site("s1", mw=0.3)], [factory("f1", "s1")], {("r1", "train"): 288},
                      horizon=2, fleet=[("f1", "a", 1, "2026Q4")], cloud_price=2_000.0, budget=budget)
    plan = run_model(scenario(budget=1.0), FAST).plan
    unbudgeted = scenario(budget=None)
    run = only(explain_service_gaps(build_index(unbudgeted), unbudgeted, plan, gap_usd=600_000.0)[1])
    assert run.units == (216.0, 216.0)
    assert run.reasons[1:] == (
        "racks that fit and can be ordered to arrive in that quarter serve at most 144 units of it (s1: 2 more a, "
        "then power)",
        "no hard limit binds for those",
        "its cloud cost (0.58 M discounted) is within the plan's optimality gap (0.60 M): a smaller solver.mip_gap "
        "(--mip-gap) may serve it from racks")
