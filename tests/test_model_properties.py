"""Property tests: on random small valid scenarios every plan obeys every rule.

The rules are checked by `models.checker`, which shares no code with the formulation;
`run_model` raises on any violation. The objective reported by the solver must equal the
NPV recomputed by the checker from the output tables, within 1e-6 relative.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.run import run_model
from models.solve import INFEASIBLE, OPTIMAL
from tests.builders import FAST, factory, inputs, rack, scheduled_mw, site

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
    supply = [(r["rack_type"], quarter, draw(st.integers(0, 3))) for r in racks if draw(st.booleans())
              for quarter in sorted(draw(st.sets(st.sampled_from(["2027Q1", "2027Q2", "2027Q3"]), min_size=1)))]
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
        site_shortfalls_hold(plan_inputs, run.infeasibility)
        other_shortfalls_hold(plan_inputs, run.infeasibility)
        return
    assert run.result.status == OPTIMAL
    objective_usd = run.result.objective_musd * 1e6
    npv = run.plan.kpis["npv_usd"]
    assert abs(objective_usd - npv) <= 1e-6 * max(1.0, abs(npv)), (objective_usd, npv)
    unmet_and_cloud_are_explained(plan_inputs, run)
    named_limits_hold(plan_inputs, run)
    orders_are_explained(plan_inputs, run)
    blocks_are_explained(plan_inputs, run)


def unmet_and_cloud_are_explained(plan_inputs, run) -> None:
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


def orders_are_explained(plan_inputs, run) -> None:
    """Every order line has its reason, row for row; its racks in use, recounted from the input
    fleet, the order lines and the assignments (oldest racks first, as the reasons count them),
    agree with what it says; and in a plan solved to a gap of 1e-6, a new line's racks never in
    use, or its racks idle before they are, are bought for a commitment or minimum size the
    inputs set, or because no later order could arrive in time."""
    plan = run.plan
    assert [(r.order_quarter, r.factory, r.rack_type, r.racks, r.locked) for r in run.orders] == \
        [(o.order_quarter, o.factory, o.rack_type, int(o.racks), bool(o.locked)) for o in plan.orders.itertuples()]
    racks = plan_inputs.racks.set_index("rack_type")
    factories = plan_inputs.factories.set_index("factory")
    region_of = {f: plan_inputs.sites.set_index("site").at[factories.at[f, "site"], "region"] for f in factories.index}
    quarters = [plan_inputs.start + t for t in range(plan_inputs.horizon_quarters)]

    def online(first, rack_type, q):
        return first <= q < first + int(racks.at[rack_type, "lifetime_quarters"])

    needed = defaultdict(float)
    for row in plan.assignments.itertuples():
        needed[(region_of[row.factory], row.rack_type, row.quarter)] += row.racks / plan_inputs.utilization
    installed = defaultdict(int)
    for row in plan_inputs.fleet.itertuples():
        for q in quarters:
            if online(row.online_quarter, row.rack_type, q):
                installed[(region_of[row.factory], row.rack_type, q)] += int(row.racks)
    lines = sorted(enumerate(plan.orders.itertuples()), key=lambda x: (x[1].online_quarter, not x[1].locked, x[0]))
    in_use = defaultdict(dict)
    for q in quarters:
        ahead = dict(installed)
        for k, row in lines:
            pool = (region_of[row.factory], row.rack_type, q)
            if online(row.online_quarter, row.rack_type, q):
                used = needed.get(pool, 0.0) - ahead.get(pool, 0)
                in_use[k][q] = min(int(row.racks), max(0, -int(-(used - 1e-4) // 1)))
                ahead[pool] = ahead.get(pool, 0) + int(row.racks)
    for k, reason in enumerate(run.orders):
        use = sorted(in_use[k].items())
        assert reason.most_in_use == max((n for _, n in use), default=0), reason.text
        assert reason.in_use_from == next((q for q, n in use if n > 0), None), reason.text
        assert reason.all_in_use_from == next((q for q, n in use if n >= reason.racks), None), reason.text
        assert bool(reason.spare_reasons) == (reason.spare > 0), reason.text
        for said in reason.spare_reasons + reason.early_reasons:
            if said.startswith("budget_usd_per_year"):
                _budget_claim_holds(plan_inputs, plan, k, reason, said)
            no_room = NO_ROOM_AFTER.match(said)
            if no_room:
                _no_room_holds(plan_inputs, plan, reason, *no_room.groups())
            if "commitment" in said:
                assert factories.at[reason.factory, "commitment_usd"] > 0, said
            if "minimum size" in said:
                assert factories.at[reason.factory, "min_accelerators"] > 0, said
        if reason.locked:
            continue
        if reason.spare:
            assert not reason.spare_reasons[0].startswith("no rule"), reason.text
        arrival = plan.orders.at[k, "online_quarter"]
        if reason.in_use_from is not None and reason.in_use_from > max(arrival, plan_inputs.start):
            assert reason.early_reasons and not reason.early_reasons[0].startswith("no rule"), reason.text


BUDGET_FULL = re.compile(r"budget_usd_per_year \(([\d,.]+) M\) leaves no room for its ([\d,.]+) M in a later year it "
                         r"could be ordered in \((.+)\)$")


def _budget_claim_holds(plan_inputs, plan, k: int, reason, said: str) -> None:
    """Line k, bought early, could have been ordered in a later quarter, at less cost, but in each
    such quarter's year the plan already pays so much capex that the line's would pass the yearly
    budget. Recounted from the order lines, the power blocks and the factories opened; the later
    quarters from the rack type's orderable window, its lead time, the factory's set-up and
    supply.csv's caps less the plan's orders."""
    budget = plan_inputs.budget_usd_per_year
    assert budget is not None, said
    stated_budget, stated_capex, spent = BUDGET_FULL.match(said).groups()
    order = plan.orders.loc[k]
    racks, factories = plan_inputs.racks.set_index("rack_type"), plan_inputs.factories.set_index("factory")
    rack = racks.loc[order.rack_type]
    capex = int(order.racks) * float(rack.price_usd)
    assert abs(float(stated_budget.replace(",", "")) - budget / 1e6) <= 0.05, said
    assert abs(float(stated_capex.replace(",", "")) - capex / 1e6) <= 0.05, said
    start, horizon = plan_inputs.start, plan_inputs.horizon_quarters
    paid = defaultdict(float)
    for line in plan.orders.itertuples():
        if start <= line.order_quarter < start + horizon:
            paid[line.order_quarter.year] += int(line.racks) * float(racks.at[line.rack_type, "price_usd"])
    for block in plan.expansions.itertuples():
        paid[block.order_quarter.year] += float(block.capex_usd)
    opened = plan.factories[(plan.factories["status"] == "candidate") & plan.factories["open"].astype(bool)]["factory"]
    paid[start.year] += float(factories.loc[list(opened), "fixed_cost_usd"].sum())
    stated = {int(year): float(amount.replace(",", "")) for amount, year in re.findall(r"([\d,.]+) M in (\d{4})", spent)}
    for year, amount in stated.items():
        assert year > order.order_quarter.year, said
        assert abs(amount - paid[year] / 1e6) <= 0.05, (said, paid[year])
        assert paid[year] + capex > budget + 1.0, (said, paid[year])
    lead = int(rack.lead_time_quarters)
    setup = int(factories.at[order.factory, "setup_lead_time_quarters"])
    first = max(rack.first_order_quarter, start + setup - lead)
    last = start + horizon - 1 - lead
    if not pd.isna(rack.last_order_quarter):
        last = min(last, rack.last_order_quarter)
    caps = {row.quarter: row.max_racks for row in plan_inputs.supply[plan_inputs.supply["rack_type"] == order.rack_type].itertuples()}
    ordered = plan.orders[plan.orders["rack_type"] == order.rack_type].groupby("order_quarter")["racks"].sum()
    latest = (reason.in_use_from - lead).ordinal - order.order_quarter.ordinal  # to arrive by its first use
    later = [order.order_quarter + n for n in range(1, latest + 1)]
    open_ = [u for u in later if first <= u <= last and ordered.get(u, 0) < caps.get(u, float("inf")) - 1e-6]
    assert sorted(stated) == sorted({u.year for u in open_}), (said, open_)


NO_ROOM_AFTER = re.compile(r"arriving later, it would still be online in (\d{4}Q\d), when (\S+) has no (.+) left for it$")


def _no_room_holds(plan_inputs, plan, reason, quarter: str, site_name: str, what: str) -> None:
    """The line's racks do not fit at the site in that quarter beside the fleet then: positions
    from the fleet and the rack types, power from the racks' kW, the PUE and the scheduled power."""
    q = pd.Period(quarter, freq="Q")
    racks, sites = plan_inputs.racks.set_index("rack_type"), plan_inputs.sites.set_index("site")
    fleet = plan.fleet[(plan.fleet["site"] == site_name) & (plan.fleet["quarter"] == q)]
    rack = racks.loc[reason.rack_type]
    positions = (fleet["racks_online"] * fleet["rack_type"].map(racks["rack_positions"])).sum()
    load_mw = (fleet["racks_online"] * fleet["rack_type"].map(racks["kw_per_rack"])).sum() * sites.at[site_name, "pue"] / 1000
    blocks = plan.power[(plan.power["site"] == site_name) & (plan.power["quarter"] == q)]["expansion_blocks_online"].sum()
    block_mw = plan_inputs.power_expansions.set_index("site")["block_mw"].get(site_name, 0.0)
    power_mw = scheduled_mw(plan_inputs, site_name, q) + blocks * block_mw
    if "rack positions" in what:
        assert positions + reason.racks * rack.rack_positions > sites.at[site_name, "max_racks"], (reason.text, positions)
    if "power" in what:
        assert load_mw + reason.racks * rack.kw_per_rack * sites.at[site_name, "pue"] / 1000 > power_mw + 1e-9, reason.text


def blocks_are_explained(plan_inputs, run) -> None:
    """Every power-block line has its reason, row for row; the quarter its site's load first needs
    it, recounted from the racks online, their kW and the site's scheduled power (the first
    blocks to arrive carry the load first), is the one it names; and in a plan solved to a gap of
    1e-6 no line is needless, and one that arrives early says why (a budget it names is full)."""
    plan = run.plan
    assert [(r.order_quarter, r.site, r.blocks) for r in run.blocks] == \
        [(e.order_quarter, e.site, int(e.blocks)) for e in plan.expansions.itertuples()]
    if not run.blocks:
        return
    racks, sites = plan_inputs.racks.set_index("rack_type"), plan_inputs.sites.set_index("site")
    block_mw = plan_inputs.power_expansions.set_index("site")["block_mw"]
    load = defaultdict(float)
    for row in plan.fleet.itertuples():
        load[(row.site, row.quarter)] += row.racks_online * racks.at[row.rack_type, "kw_per_rack"] * sites.at[row.site, "pue"] / 1000
    arriving = sorted(range(len(plan.expansions)), key=lambda j: (plan.expansions.at[j, "online_quarter"], j))
    for k, reason in enumerate(run.blocks):
        site_name, first = reason.site, None
        before = plan.expansions.loc[arriving[:arriving.index(k)]]  # the lines that carry the load first
        before = before[before["site"] == site_name]
        for t in range(plan_inputs.horizon_quarters):
            q = plan_inputs.start + t
            ahead = int(before.loc[before["online_quarter"] <= q, "blocks"].sum())
            arrived = plan.expansions.at[k, "online_quarter"] <= q
            if arrived and load[(site_name, q)] > scheduled_mw(plan_inputs, site_name, q) + ahead * block_mw[site_name] + 1e-6:
                first = q
                break
        assert reason.needed_from == first, reason.text
        assert first is not None, reason.text  # a block costs its capex: a plan at 1e-6 buys none it does not need
        if first > plan.expansions.at[k, "online_quarter"]:
            assert reason.early_reasons and all(said in reason.text for said in reason.early_reasons), reason.text
            assert not reason.early_reasons[0].startswith("no rule"), reason.text
            assert all(plan_inputs.budget_usd_per_year is not None for said in reason.early_reasons
                       if said.startswith("budget_usd_per_year")), reason.text


SITE_NAMED_FULL = re.compile(r"(s\d+) \(([^()]*)\)")  # 's1 (power; 0 of 2 power blocks ordered)'
ROOM_CLAIMS = ("no hard limit binds", "a new rack that may serve it costs at least", "racks that fit")


def named_limits_hold(plan_inputs, run) -> None:
    """What the explanations say about room for a new rack, rechecked from the raw inputs and the
    plan's checked tables: a site named full has no room in that quarter for any rack that may
    serve the stream and can be ordered to arrive then (or, where none can, by then); 'every site'
    means none fits anywhere; a reason that weighs racks against cloud or the penalty means one fits."""
    room = _Room(plan_inputs, run.plan)
    for gap in run.unmet + run.cloud:
        for k in range(gap.quarters):
            t = gap.first_quarter + k
            # Racks online cost the same used or idle: a plan that buys cloud or leaves demand unmet
            # while a rack that may serve it idles is not the cheapest with its orders.
            idle, online = room.idle_units((gap.region, gap.workload), t)
            assert idle <= 1e-3, (idle, t, gap.text)
            assert ("the racks online that may serve it are fully used" in gap.reasons) == (online > 0), gap.text
            in_time, by_then = room.arrivals((gap.region, gap.workload), t)
            judged = in_time or by_then
            for reason in gap.reasons:
                named = SITE_NAMED_FULL.findall(reason) if "full: " in reason else []
                for site_name, what in named:
                    here = [(f, r) for f, r in judged if room.site_of[f] == site_name]
                    assert here and not any(room.fits(f, r, t) for f, r in here), (site_name, t, gap.text)
                    for f, r in here:
                        limit = _named_limit(what, r)
                        assert not room.fits(f, r, t, limit), (site_name, r, limit, t, gap.text)
                if reason.startswith("every site that may take"):
                    whole = in_time if "arrive in that quarter" in reason else judged
                    assert not any(room.fits(f, r, t) for f, r in whole), (t, gap.text)
            if any(reason.startswith(ROOM_CLAIMS) for reason in gap.reasons):
                assert any(room.fits(f, r, t) for f, r in by_then), (t, gap.text)


def _named_limit(what: str, rack_type: str) -> str:
    """The limit a full site's text names for a rack type: 'power; 1 of 2 power blocks ordered',
    'rack positions', or per type, 'power for k1, k2; 0 of 1 power blocks ordered; rack positions for k0'."""
    if " for " not in what:
        return "power" if what.startswith("power") else "rack positions"
    per_type = {}
    for part in what.split("; "):
        limit, _, types = part.partition(" for ")
        per_type.update({r: limit for r in types.split(", ") if types})
    return per_type[rack_type]


class _Room:
    """Where a new rack could go, from the input tables and the plan's fleet and power rows alone."""

    def __init__(self, plan_inputs, plan):
        self.inputs = plan_inputs
        self.racks = plan_inputs.racks.set_index("rack_type")
        self.sites = plan_inputs.sites.set_index("site")
        self.factories = plan_inputs.factories.set_index("factory")
        self.site_of = self.factories["site"].to_dict()
        self.units = {(r, w): u for r, w, u in plan_inputs.rack_capacity.itertuples(index=False)}
        self.rules = {(g, w): (tuple(s) or (g,)) for g, w, s, _ in plan_inputs.residency.itertuples(index=False)}
        self.power = {(p.site, p.quarter): (p.facility_kw, p.capacity_kw) for p in plan.power.itertuples()}
        self.positions = defaultdict(float)
        for row in plan.fleet.itertuples():
            self.positions[(row.site, row.quarter)] += row.racks_online * self.racks.at[row.rack_type, "rack_positions"]
        self.online = {(row.factory, row.rack_type, row.quarter): row.racks_online for row in plan.fleet.itertuples()}
        self.assigned = plan.assignments.groupby(["factory", "rack_type", "quarter"])["racks"].sum().to_dict()
        self.locked = plan_inputs.orders.groupby(["rack_type", "order_quarter"])["racks"].sum().to_dict()
        self.caps = {(r, q): c for r, q, c in plan_inputs.supply.itertuples(index=False)}

    def arrivals(self, stream, t):
        """(pairs whose new rack can be ordered to arrive in t, pairs whose new rack can arrive by t)."""
        g, w = stream
        serving = self.rules.get(stream, (g,))
        in_time, by_then = [], []
        for f, factory in self.factories.iterrows():
            site = self.sites.loc[factory.site]
            for r, rack in self.racks.iterrows():
                if (site.region not in serving or self.units.get((r, w), 0) <= 0
                        or (factory.rack_types and r not in factory.rack_types)
                        or (rack.liquid_cooled and not site.liquid_cooling)):
                    continue
                arrive = [u + int(rack.lead_time_quarters) for u in self._order_quarters(factory, r, rack)]
                if t in arrive:
                    in_time.append((f, r))
                if any(a <= t for a in arrive):
                    by_then.append((f, r))
        return in_time, by_then

    def _order_quarters(self, factory, r, rack):
        start, lead = self.inputs.start, int(rack.lead_time_quarters)
        end = start + self.inputs.horizon_quarters - 1
        last = end - lead if pd.isna(rack.last_order_quarter) else min(end - lead, rack.last_order_quarter)
        first = max(start, rack.first_order_quarter, start + int(factory.setup_lead_time_quarters) - lead)
        quarters = pd.period_range(first, last, freq="Q") if first <= last else []
        return [u for u in quarters if self.caps.get((r, u), float("inf")) - self.locked.get((r, u), 0) > 0]

    def idle_units(self, stream, t) -> tuple[float, float]:
        """(units of the stream that racks online in quarter t and allowed to serve it could still
        serve, beyond what they serve of every stream; racks online that may serve it)."""
        g, w = stream
        serving = self.rules.get(stream, (g,))
        idle = online = 0.0
        for (f, r, quarter), racks in self.online.items():
            units = self.units.get((r, w), 0)
            if quarter != t or units <= 0 or self.sites.at[self.site_of[f], "region"] not in serving:
                continue
            online += racks
            idle += max(0.0, self.inputs.utilization * racks - self.assigned.get((f, r, t), 0.0)) * units
        return idle, online

    def fits(self, f, r, t, limit=None) -> bool:
        """Whether one more rack of type r at factory f's site in quarter t stays within the site's
        power (limit 'power'), its rack positions ('rack positions'), or both (None)."""
        site = self.site_of[f]
        facility_kw, capacity_kw = self.power[(site, t)]
        power = facility_kw + self.racks.at[r, "kw_per_rack"] * self.sites.at[site, "pue"] <= capacity_kw + 1e-6
        space = self.positions[(site, t)] + self.racks.at[r, "rack_positions"] <= self.sites.at[site, "max_racks"]
        return {"power": power, "rack positions": space, None: power and space}[limit]


SITE_SHORTFALL = re.compile(r"^(site power|rack positions): site (\S+) (?:in (\S+)|from (\S+) to (\S+) \(\d+ quarters\)) "
                            r"needs ([\d.,]+)(?: to ([\d.,]+))? .*?(?:draw|take) ([\d.,]+)(?: to ([\d.,]+))? "
                            r"(?:MW|positions)(, more than it (?:can have|has))?(; the rest is the racks its factories' "
                            r"min_accelerators require)?$")


def site_shortfalls_hold(plan_inputs, lines) -> None:
    """A power or positions shortfall, rechecked from the input tables: what the racks installed or
    locked there take, whether that is more than the site can have in every quarter of the line
    (power blocks that could arrive included) and then at most the shortfall, and that only a
    factory's min_accelerators is blamed for the rest."""
    fixed = _FixedRacks(plan_inputs)
    for line in lines:
        found = SITE_SHORTFALL.match(line)
        if line.startswith(("site power", "rack positions")):
            assert found, line
        if not found:
            continue
        family, site_name, one, first, last, _, most_short, low, high, over, minimum = found.groups()
        quarters = pd.period_range(one or first, one or last, freq="Q")
        taken = [fixed.take(family, site_name, q) for q in quarters]
        beyond = [t - fixed.most(family, site_name, q) for t, q in zip(taken, quarters)]
        places = 0.005 if family == "site power" else 0.5  # the line's rounding
        assert abs(min(taken) - _number(low)) <= places and abs(max(taken) - _number(high or low)) <= places, line
        assert all(b > 1e-9 for b in beyond) if over else all(b <= 1e-9 for b in beyond), (beyond, line)
        if over:
            assert max(beyond) <= _number(most_short or found.group(6)) + places, (beyond, line)
        if minimum or not over:
            at_site = plan_inputs.factories[plan_inputs.factories["site"] == site_name]
            assert minimum and (at_site["min_accelerators"] > 0).any(), line


SUPPLY_SHORTFALL = re.compile(r"^supply: orders of (\S+) (?:in (\S+)|from (\S+) to (\S+) \(\d+ quarters\)) exceed "
                              r"supply.csv's cap by ([\d,]+)(?: to [\d,]+)? racks?$")
SIZE_SHORTFALL = re.compile(r"^minimum size: factory (\S+) (?:in \S+|from \S+ to \S+ \(\d+ quarters\)) is "
                            r"([\d,]+)(?: to ([\d,]+))? accelerators? short of its min_accelerators \(([\d,]+)\)$")


def other_shortfalls_hold(plan_inputs, lines) -> None:
    """A supply line names quarters supply.csv caps for that rack type; a minimum-size line names
    the factory's own min_accelerators and a shortfall within it; a budget line, a scenario with one."""
    caps = set(zip(plan_inputs.supply["rack_type"], plan_inputs.supply["quarter"]))
    minimum = plan_inputs.factories.set_index("factory")["min_accelerators"].to_dict()
    for line in lines:
        if line.startswith("supply"):
            found = SUPPLY_SHORTFALL.match(line)
            assert found, line
            rack_type, one, first, last, racks = found.groups()
            assert _number(racks) >= 1, line
            assert all((rack_type, q) in caps for q in pd.period_range(one or first, one or last, freq="Q")), line
        if line.startswith("minimum size"):
            found = SIZE_SHORTFALL.match(line)
            assert found, line
            factory_name, low, high, most = found.groups()
            assert _number(most) == minimum[factory_name] and 0 < _number(low) <= _number(high or low) <= _number(most), line
        if line.startswith("budget"):
            assert plan_inputs.budget_usd_per_year is not None, line


def _number(text: str) -> float:
    return float(text.replace(",", ""))


class _FixedRacks:
    """Racks installed (fleet) or locked (orders) per site and quarter, from the input tables alone."""

    def __init__(self, plan_inputs):
        self.inputs = plan_inputs
        self.racks = plan_inputs.racks.set_index("rack_type")
        self.sites = plan_inputs.sites.set_index("site")
        self.site_of = plan_inputs.factories.set_index("factory")["site"].to_dict()
        self.cohorts = [(f, r, n, q) for f, r, n, q in plan_inputs.fleet.itertuples(index=False)]
        self.cohorts += [(f, r, n, q + int(self.racks.at[r, "lead_time_quarters"]))
                         for q, f, r, n in plan_inputs.orders.itertuples(index=False)]

    def take(self, family, site_name, quarter) -> float:
        """MW drawn (site power) or positions taken (rack positions) by those racks."""
        total = 0.0
        for f, r, n, arrival in self.cohorts:
            rack = self.racks.loc[r]
            if self.site_of[f] == site_name and arrival <= quarter < arrival + int(rack.lifetime_quarters):
                total += n * (rack.kw_per_rack * self.sites.at[site_name, "pue"] / 1000 if family == "site power"
                              else rack.rack_positions)
        return total

    def most(self, family, site_name, quarter) -> float:
        """The most the site can have: max_racks, or its scheduled MW plus every power block that
        could have arrived by then."""
        if family == "rack positions":
            return float(self.sites.at[site_name, "max_racks"])
        mw = scheduled_mw(self.inputs, site_name, quarter)
        for _, block_mw, _, lead, blocks in self.inputs.power_expansions[
                self.inputs.power_expansions["site"] == site_name].itertuples(index=False):
            if quarter >= self.inputs.start + int(lead):
                mw += block_mw * blocks
        return mw

