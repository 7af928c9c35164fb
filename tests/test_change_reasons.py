"""Why each changed order line changed (planner/change_reasons.py), on small hand-made plans whose
reasons can be worked out by hand: one factory `f` of rack type `r`, serving stream eu/w, each
rack serving 100 units when fully used."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.change_reasons import DEMAND, NEW_QUARTERS, TRADED, UNACCOUNTED, UNKNOWN, UNUSED
from planner.changes import PlanSnapshot, compare

UNITS_PER_RACK = 100.0


def plan(lines, demand, start="2027Q1", quarters=8, serving=None, arrivals=True, assignments=True):
    """A PlanSnapshot. lines: (factory, rack_type, order_quarter, racks, online_quarter); demand:
    planned units of eu/w per quarter (a number, or a dict quarter -> units over a base of the
    first value); serving: (factory, rack_type) pools in use for eu/w in every quarter (default: f/r),
    at one rack each."""
    horizon = [str(q) for q in pd.period_range(start, periods=quarters, freq="Q")]
    base, bumps = (demand, {}) if not isinstance(demand, dict) else (demand.get("base", 100.0), demand)
    forecast = pd.DataFrame([{"quarter": q, "region": "eu", "workload": "w", "kind": "forecast", "p50": 1.0,
                              "planning_demand": float(bumps.get(q, base)), "model": "theta"} for q in horizon])
    orders = pd.DataFrame(lines, columns=["factory", "rack_type", "order_quarter", "racks", "online_quarter"])
    if not arrivals:
        orders = orders.drop(columns="online_quarter")
    pools = serving if serving is not None else [("f", "r")]
    used = pd.DataFrame([{"quarter": q, "factory": f, "rack_type": r, "region": "eu", "workload": "w",
                          "racks": 1.0, "units": UNITS_PER_RACK} for q in horizon for f, r in pools],
                        columns=["quarter", "factory", "rack_type", "region", "workload", "racks", "units"])
    return PlanSnapshot(orders, forecast, 1e9, assignments=used if assignments else None)


def reasons_of(previous, new) -> dict:
    changes = compare(previous, new)
    return {(row.factory, row.rack_type, row.order_quarter): reason
            for row, reason in zip(changes.orders.itertuples(), changes.order_reasons)}


def test_racks_added_where_planned_demand_rose_by_what_they_serve_say_so_with_both_figures():
    reasons = reasons_of(plan([("f", "r", "2027Q1", 2, "2027Q3")], 100.0),
                         plan([("f", "r", "2027Q1", 4, "2027Q3")], 300.0))
    reason = reasons[("f", "r", "2027Q1")]
    assert reason.kind == DEMAND
    assert reason.text == ("planned demand of eu/w at its arrival (2027Q3): 300 units, against 100 before "
                           "(+200 units, +200.0%); the 2 racks added serve 200 units when fully used")


def test_a_rise_later_in_the_racks_life_is_named_with_its_quarter():
    """Racks arriving in 2027Q3 whose demand rose only in 2028Q2 (a type bought early for growth
    after its last order quarter): the arrival alone showed no reason."""
    reasons = reasons_of(plan([("f", "r", "2027Q1", 1, "2027Q3")], 100.0),
                         plan([("f", "r", "2027Q1", 2, "2027Q3")], {"base": 100.0, "2028Q2": 250.0}))
    reason = reasons[("f", "r", "2027Q1")]
    assert reason.kind == DEMAND and reason.demand[-1] == ("2028Q2", 100.0, 250.0)
    assert ("at its arrival (2027Q3): 100 units, against 100 before (+0 units, +0.0%), and in 2028Q2, where it rose "
            "most: 250 units, against 100 before (+150 units, +150.0%)") in reason.text


def test_a_rise_of_demand_under_half_of_what_the_racks_serve_is_not_taken_for_their_reason():
    reasons = reasons_of(plan([("f", "r", "2027Q1", 2, "2027Q3")], 100.0),
                         plan([("f", "r", "2027Q1", 4, "2027Q3")], 140.0))
    reason = reasons[("f", "r", "2027Q1")]
    assert reason.kind == UNACCOUNTED
    assert "(+40 units, +40.0%); the 2 racks added serve 200 units when fully used; demand moved by less than " \
           "half of that" in reason.text
    assert reason.text.endswith("the plans' files do not say why (an input changed, or the solver chose between "
                                "plans within the optimality gap)")


def test_a_cut_where_demand_rose_says_it_moved_the_other_way():
    reasons = reasons_of(plan([("f", "r", "2027Q1", 4, "2027Q3")], 100.0),
                         plan([("f", "r", "2027Q1", 3, "2027Q3")], 200.0))
    assert reasons[("f", "r", "2027Q1")].kind == UNACCOUNTED
    assert "the 1 rack taken off serves 100 units when fully used; demand moved the other way" in \
        reasons[("f", "r", "2027Q1")].text


def test_a_deferred_line_names_the_line_its_racks_went_to_and_back():
    reasons = reasons_of(plan([("f", "r", "2027Q1", 2, "2027Q3")], 100.0),
                         plan([("f", "r", "2027Q2", 2, "2027Q4")], 100.0))
    cut, added = reasons[("f", "r", "2027Q1")], reasons[("f", "r", "2027Q2")]
    assert cut.kind == added.kind == TRADED
    assert cut.text.endswith("lines serving the same streams gained racks: f r ordered 2027Q2 (+2)")
    assert added.text.endswith("lines serving the same streams lost racks: f r ordered 2027Q1 (-2)")


def test_lines_of_another_pool_count_as_traded_only_where_they_serve_the_same_streams():
    both = [("f", "r"), ("g", "s")]
    previous = plan([("f", "r", "2027Q1", 2, "2027Q3"), ("g", "s", "2027Q1", 1, "2027Q3")], 100.0, serving=both)
    new = plan([("f", "r", "2027Q1", 1, "2027Q3"), ("g", "s", "2027Q1", 2, "2027Q3")], 100.0, serving=both)
    assert reasons_of(previous, new)[("f", "r", "2027Q1")].traded == (("g", "s", "2027Q1", 1),)
    # g's racks serving no stream in either plan
    apart = [plan(orders.itertuples(index=False), 100.0, serving=[("f", "r")]) for orders in (previous.orders, new.orders)]
    assert reasons_of(*apart)[("f", "r", "2027Q1")].traded == ()


def test_racks_arriving_after_the_previous_plans_last_quarter_say_so():
    reasons = reasons_of(plan([], 100.0), plan([("f", "r", "2028Q3", 1, "2029Q1")], 100.0, start="2027Q2"))
    reason = reasons[("f", "r", "2028Q3")]
    assert reason.kind == NEW_QUARTERS
    assert reason.text == "it arrives in 2029Q1, after the previous plan's last quarter (2028Q4): eu/w planned at " \
                          "100 units then"


def test_racks_bought_within_the_horizon_for_a_quarter_only_the_new_plan_covers_say_which():
    """A roll adds 2029Q1, planned at 400 units, above anything the previous plan planned: a line
    arriving in 2028Q1, whose demand then is unchanged, is bought for it."""
    reasons = reasons_of(plan([("f", "r", "2027Q3", 1, "2028Q1")], 100.0),
                         plan([("f", "r", "2027Q3", 4, "2028Q1")], {"base": 100.0, "2029Q1": 400.0}, start="2027Q2"))
    reason = reasons[("f", "r", "2027Q3")]
    assert reason.kind == NEW_QUARTERS and reason.new_quarter == ("2029Q1", 400.0, 100.0)
    assert reason.text.endswith("in 2029Q1, which only this plan covers, they are planned at 400 units, 300 more "
                                "than the previous plan's most from 2028Q1 on")


def test_racks_serving_no_stream_in_either_plan_point_to_the_orders_why():
    reasons = reasons_of(plan([], 100.0, serving=[]), plan([("f", "r", "2027Q1", 1, "2027Q3")], 100.0, serving=[]))
    assert reasons[("f", "r", "2027Q1")].kind == UNUSED
    assert "serve no stream from its arrival (2027Q3) in either plan" in reasons[("f", "r", "2027Q1")].text


@pytest.mark.parametrize("missing", ["arrivals", "assignments"])
def test_plans_whose_files_lack_what_a_reason_needs_say_so_and_unchanged_lines_have_none(missing):
    """A plan's online_quarter or assignments.csv may be missing (edited by hand, or a plan read
    back without them): the line says what is missing, not a reason made up without it."""
    lines = [("f", "r", "2027Q1", 2, "2027Q3"), ("f", "r", "2027Q2", 1, "2027Q4")]
    previous = plan(lines, 100.0, **{missing: False})
    new = plan([lines[0], ("f", "r", "2027Q2", 3, "2027Q4")], 300.0, **{missing: False})
    reasons = reasons_of(previous, new)
    assert reasons[("f", "r", "2027Q1")] is None
    assert reasons[("f", "r", "2027Q2")].kind == UNKNOWN
    assert ("online_quarter" if missing == "arrivals" else "assignments.csv") in reasons[("f", "r", "2027Q2")].text


def test_the_change_report_carries_each_reason_and_counts_them_in_its_summary():
    previous = plan([("f", "r", "2027Q1", 2, "2027Q3"), ("f", "r", "2027Q2", 1, "2027Q4")], 100.0)
    new = plan([("f", "r", "2027Q1", 4, "2027Q3"), ("f", "r", "2027Q2", 1, "2027Q4")], 300.0)
    changes = compare(previous, new)
    assert list(changes.orders["reason_kind"]) == [DEMAND, ""]
    assert list(changes.orders["reasons"]) == ["planned demand of eu/w at its arrival (2027Q3): 300 units, against "
                                               "100 before (+200 units, +200.0%); the 2 racks added serve 200 units "
                                               "when fully used", ""]
    assert ("Why the 1 changed order line changed (the orders table's Why): 1 where planned demand moved the same "
            "way.") in changes.summary


# Property: on random pairs of plans, every reason's claims hold when re-derived from the plans'
# frames by the filters below, which share no code with planner/change_reasons.py.

POOLS = [("f1", "r1"), ("f1", "r2"), ("f2", "r1")]
STREAMS = [("eu", "a"), ("eu", "b"), ("us", "a")]


@st.composite
def plan_pairs(draw):
    """A previous plan and a new one, the new one rolled a quarter on, not, or a quarter back (a
    diff of two plans given the other way round), with random orders, some arriving after the
    horizon, and random demand and assignments (the streams a pool serves in a quarter, at its own
    units per rack)."""
    length, roll = draw(st.integers(4, 8)), draw(st.integers(-1, 1))
    lead = {pool: draw(st.integers(1, 3)) for pool in POOLS}
    per_rack = {pool: draw(st.sampled_from([50.0, 100.0, 150.0])) for pool in POOLS}
    base = {stream: draw(st.sampled_from([0.0, 50.0, 200.0, 1000.0])) for stream in STREAMS}
    snapshots = []
    for start in (pd.Period("2027Q1", "Q"), pd.Period("2027Q1", "Q") + roll):
        horizon = [start + i for i in range(length)]
        forecast = pd.DataFrame([{"quarter": str(q), "region": g, "workload": w, "kind": "forecast", "p50": 1.0,
                                  "model": "theta", "planning_demand":
                                  base[(g, w)] * draw(st.sampled_from([0.7, 0.98, 1.0, 1.0, 1.003, 1.2, 2.0]))}
                                 for q in horizon for g, w in STREAMS])
        lines = draw(st.lists(st.tuples(st.sampled_from(POOLS), st.integers(0, length - 1), st.integers(1, 6)),
                              max_size=6))
        orders = pd.DataFrame([{"factory": f, "rack_type": r, "order_quarter": str(horizon[i]),
                                "online_quarter": str(horizon[i] + lead[(f, r)]), "racks": racks}
                               for (f, r), i, racks in lines],
                              columns=["factory", "rack_type", "order_quarter", "online_quarter", "racks"])
        used = [{"quarter": str(q), "factory": f, "rack_type": r, "region": g, "workload": w, "racks": racks,
                 "units": racks * per_rack[(f, r)]}
                for q in horizon for f, r in POOLS for g, w in STREAMS
                for racks in [draw(st.sampled_from([0.0, 0.0, 0.5, 2.0]))] if racks]
        snapshots.append(PlanSnapshot(orders, forecast, 1e9, assignments=pd.DataFrame(
            used, columns=["quarter", "factory", "rack_type", "region", "workload", "racks", "units"])))
    return snapshots


def _served(snapshot, factory, rack_type, quarters) -> set:
    used = snapshot.assignments
    used = used[(used["factory"] == factory) & (used["rack_type"] == rack_type) & used["quarter"].isin(quarters)
                & (used["racks"] > 1e-7)]
    return set(used["region"] + "/" + used["workload"])


def _planned(snapshot, quarter, streams):
    rows = snapshot.forecast[(snapshot.forecast["quarter"] == quarter)
                             & (snapshot.forecast["region"] + "/" + snapshot.forecast["workload"]).isin(streams)]
    return float(rows["planning_demand"].sum()) if len(rows) else None


@settings(max_examples=200, deadline=None)
@given(plan_pairs())
def test_every_reason_holds_on_random_pairs_of_plans(pair):
    previous, new = pair
    changes = compare(previous, new)
    reasons = changes.order_reasons
    table = changes.orders.assign(reason=reasons)
    assert ((table["reasons"] != "") == (table["difference"] != 0)).all()
    assert table["reason_kind"].tolist() == [reason.kind if reason else "" for reason in reasons]
    prev_quarters, new_quarters = sorted(set(previous.forecast["quarter"])), sorted(set(new.forecast["quarter"]))
    only_new = [q for q in new_quarters if q > prev_quarters[-1]]
    changed = table[table["difference"] != 0]
    streams_of = {}
    for line in changed.itertuples():
        side = new if line.new_racks > 0 else previous
        orders = side.orders
        arrival = orders[(orders["factory"] == line.factory) & (orders["rack_type"] == line.rack_type)
                         & (orders["order_quarter"] == line.order_quarter)]["online_quarter"].iloc[0]
        assert line.reason.arrival == arrival
        streams = _served(previous, line.factory, line.rack_type, [arrival]) | \
            _served(new, line.factory, line.rack_type, [arrival])
        if not streams:
            later = [q for q in set(prev_quarters) | set(new_quarters) if q >= arrival]
            streams = _served(previous, line.factory, line.rack_type, later) | \
                _served(new, line.factory, line.rack_type, later)
        assert set(line.reason.streams) == streams
        streams_of[line.Index] = streams
    for line in changed.itertuples():
        reason, streams, gained = line.reason, streams_of[line.Index], line.difference > 0
        partners = {(o.factory, o.rack_type, o.order_quarter, o.difference) for o in changed.itertuples()
                    if o.Index != line.Index and (o.difference > 0) != gained and streams & streams_of[o.Index]}
        assert set(reason.traded) == partners
        if not streams:
            assert reason.kind == UNUSED
            continue
        arrival = reason.arrival
        if _planned(previous, arrival, streams) is None and _planned(new, arrival, streams) is not None \
                and only_new and arrival >= only_new[0]:
            assert reason.kind == NEW_QUARTERS and "after the previous plan's last quarter" in reason.text
            continue
        # the racks' worth: units per rack of the pool at arrival in both plans (else over all quarters)
        used = pd.concat([previous.assignments, new.assignments])
        used = used[(used["factory"] == line.factory) & (used["rack_type"] == line.rack_type) & (used["racks"] > 1e-7)]
        at = used[used["quarter"] == arrival]
        at = at if len(at) else used
        capacity = abs(line.difference) * at["units"].sum() / at["racks"].sum()
        assert reason.capacity == pytest.approx(capacity)
        # the quarter of the racks' life where demand moved most their way (the arrival, unless later moved further)
        way = 1 if gained else -1
        moves = {q: _planned(new, q, streams) - _planned(previous, q, streams)
                 for q in prev_quarters if q >= arrival and q in new_quarters}
        if arrival not in moves:  # a quarter one of the plans does not forecast: no figure to put it down to
            assert len(reason.demand) == 1 and None in reason.demand[0][1:]
            assert reason.kind in (NEW_QUARTERS, TRADED, UNACCOUNTED)
            assert "does not forecast them then" in reason.text or "forecast by neither plan" in reason.text
            continue
        first = moves[arrival]
        most = max((q for q in moves if q > arrival), key=lambda q: way * moves[q], default=None)
        quarter = most if most is not None and way * moves[most] > max(0.0, way * first) else arrival
        assert reason.demand[-1][0] == quarter and reason.demand[0][0] == arrival
        then, now = _planned(previous, quarter, streams), _planned(new, quarter, streams)
        assert reason.demand[-1][1:] == pytest.approx((then, now))
        by_demand = then > 0 and way * (now - then) >= 0.005 * then and abs(now - then) >= 0.5 * capacity
        assert (reason.kind == DEMAND) == by_demand
        if by_demand:
            continue
        most_before = max(_planned(previous, q, streams) for q in prev_quarters if q >= arrival)
        needing = [q for q in only_new if gained and q >= arrival and _served(new, line.factory, line.rack_type, [q])
                   and _planned(new, q, streams) - most_before > 0.5 * capacity]
        if needing:
            assert reason.kind == NEW_QUARTERS and reason.new_quarter[0] == needing[0]
        else:
            assert reason.kind == (TRADED if partners else UNACCOUNTED)
