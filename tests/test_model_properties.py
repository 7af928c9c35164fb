"""Property tests: on random small valid scenarios every plan obeys every rule.

The rules are checked by `models.checker`, which shares no code with the formulation;
`run_model` raises on any violation. The objective reported by the solver must equal the
NPV recomputed by the checker from the output tables, within 1e-6 relative.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.run import run_model
from models.solve import INFEASIBLE, OPTIMAL
from tests.builders import FAST, factory, inputs, rack, site

QUARTERS = ["2025Q1", "2026Q2", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1"]


@st.composite
def scenarios(draw):
    horizon = draw(st.integers(3, 8))
    regions = ["r1", "r2"][: draw(st.integers(1, 2))]
    workloads = ["train", "infer"][: draw(st.integers(1, 2))]
    racks = []
    for index in range(draw(st.integers(1, 3))):
        first = draw(st.sampled_from(QUARTERS))
        racks.append(rack(
            f"k{index}", kw=draw(st.sampled_from([80.0, 120.0, 190.0])),
            price=draw(st.sampled_from([1e6, 2.5e6, 4e6])), lead=draw(st.integers(0, 3)), first=first,
            last=draw(st.sampled_from([None, "2027Q4", "2028Q2"])), life=draw(st.integers(2, 12)),
            accelerators=draw(st.sampled_from([72, 144])), liquid=draw(st.booleans()),
            positions=draw(st.integers(1, 2)), opex=draw(st.sampled_from([0.0, 20_000.0]))))
        last = racks[-1]["last_order_quarter"]  # a Period, or NaT for no end
        if not pd.isna(last) and last < racks[-1]["first_order_quarter"]:  # keep the orderable window non-empty
            racks[-1]["last_order_quarter"] = racks[-1]["first_order_quarter"]
    capacity = {(r["rack_type"], w): float(draw(st.sampled_from([0, 36, 72, 108]))) for r in racks for w in workloads}
    sites, factories = [], []
    for index in range(draw(st.integers(1, 3))):
        name = f"s{index}"
        sites.append(site(name, region=draw(st.sampled_from(regions)), mw=draw(st.sampled_from([0.2, 0.5, 2.0])),
                          pue=draw(st.sampled_from([1.0, 1.2])), max_racks=draw(st.integers(2, 12)),
                          liquid=draw(st.booleans()), price=draw(st.sampled_from([0.05, 0.2]))))
        candidate = draw(st.booleans())
        factories.append(factory(
            f"f{index}", name, status="candidate" if candidate else "existing",
            rack_types=draw(st.sampled_from([(), tuple(r["rack_type"] for r in racks[:1])])),
            min_accelerators=draw(st.sampled_from([0, 0, 144])),
            commitment=draw(st.sampled_from([0.0, 0.0, 3e6])), commitment_start="2027Q1",
            commitment_quarters=draw(st.integers(1, 6)), setup=draw(st.integers(0, 2)) if candidate else 0,
            fixed=draw(st.sampled_from([0.0, 5e5])) if candidate else 0.0))
    usable = [(f["factory"], r["rack_type"]) for f, s in zip(factories, sites) for r in racks
              if f["status"] == "existing" and (s["liquid_cooling"] or not r["liquid_cooled"])
              and (not f["rack_types"] or r["rack_type"] in f["rack_types"])]
    fleet, orders = [], []
    if usable and draw(st.booleans()):
        f, r = draw(st.sampled_from(usable))
        fleet.append((f, r, draw(st.integers(1, 2)), draw(st.sampled_from(["2025Q3", "2026Q4", "2027Q1"]))))
    if usable and draw(st.booleans()):
        f, r = draw(st.sampled_from(usable))
        orders.append((draw(st.sampled_from(["2026Q4", "2027Q1", "2027Q2"])), f, r, 1))
    demand = {(g, w): [float(draw(st.integers(0, 400))) for _ in range(horizon)] for g in regions for w in workloads}
    residency = [(g, w, tuple(draw(st.sets(st.sampled_from(regions), min_size=1))), draw(st.booleans()))
                 for g in regions for w in workloads if draw(st.booleans())]
    supply = [(r["rack_type"], "2027Q2", draw(st.integers(0, 3))) for r in racks if draw(st.booleans())]
    expansions = [(s["site"], 0.5, 2e6, draw(st.integers(0, 3)), draw(st.integers(0, 2))) for s in sites if draw(st.booleans())]
    site_power = [(s["site"], "2027Q3", 1.0) for s in sites if draw(st.booleans())]
    return inputs(racks, capacity, sites, factories, demand, horizon=horizon, residency=residency, fleet=fleet,
                  orders=orders, supply=supply, site_power=site_power, expansions=expansions,
                  discount_rate=draw(st.sampled_from([0.0, 0.08])), utilization=draw(st.sampled_from([0.85, 1.0])),
                  unmet_penalty=draw(st.sampled_from([60_000.0, 200_000.0])), cloud_price=26_000.0,
                  cloud_max=draw(st.sampled_from([None, 100.0])), budget=draw(st.sampled_from([None, 2e7])))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_plan_obeys_every_rule_and_costs_match_the_objective(plan_inputs):
    run = run_model(plan_inputs, FAST)  # raises PlanCheckError on any violation
    if run.result.status == INFEASIBLE:
        assert run.infeasibility and all(isinstance(line, str) and line for line in run.infeasibility)
        return
    assert run.result.status == OPTIMAL
    objective_usd = run.result.objective_musd * 1e6
    npv = run.plan.kpis["npv_usd"]
    assert abs(objective_usd - npv) <= 1e-6 * max(1.0, abs(npv)), (objective_usd, npv)
    _unmet_and_cloud_are_explained(plan_inputs, run)


def _unmet_and_cloud_are_explained(plan_inputs, run) -> None:
    """Every unit of unmet demand and of cloud is in exactly one explained run of its kind, and
    the cheap-to-verify reasons agree with the inputs."""
    forbidden = {(g, w) for g, w, _, allowed in plan_inputs.residency.itertuples(index=False) if not allowed}
    for gaps, column in ((run.unmet, "unmet"), (run.cloud, "served_cloud")):
        explained = {}
        for gap in gaps:
            assert gap.reasons and len(gap.units) == gap.quarters and gap.served_by == column.replace("served_", "")
            for k, units in enumerate(gap.units):
                key = (gap.region, gap.workload, gap.first_quarter + k)
                assert key not in explained
                explained[key] = units
            if column == "unmet":
                assert ("cloud not allowed (residency.csv)" in gap.reasons) == ((gap.region, gap.workload) in forbidden)
            if any(r.startswith("cloud at its cap") for r in gap.reasons):
                assert plan_inputs.cloud_max_units is not None
        for row in run.plan.demand.itertuples():
            value = getattr(row, column)
            assert abs(explained.get((row.region, row.workload, row.quarter), 0.0) - (value if value > 1e-3 else 0.0)) < 1e-9
