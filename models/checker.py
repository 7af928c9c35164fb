"""Independent plan checker: every rule of the scenario, checked on the output tables alone.

It shares no code with the formulation (it imports only the `PlanInputs` data contract):
fleet, power, space, costs and commitments are recomputed here from the raw input tables
and the plan's orders, assignments and expansions. A violation is a bug in the model.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from models.inputs import CAPEX_PAID, NOT_IN_NPV, SUNK_ANNUITY, UNMET_PENALTY, PlanInputs

TOL = 1e-6


def check_plan(inputs: PlanInputs, plan) -> list[str]:
    """Return every violation found, in words; an empty list means the plan obeys the rules."""
    ctx = _Context(inputs, plan)
    found: list[str] = []
    for check in (_orders, _locked_orders, _fleet, _supply, _power, _space, _assignments, _demand,
                  _cloud, _factories, _commitments, _budget, _costs):
        found += check(ctx)
    return found


def _close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b), scale)


class _Context:
    def __init__(self, inputs: PlanInputs, plan):
        self.inputs, self.plan = inputs, plan
        self.H = inputs.horizon_quarters
        self.quarters = list(pd.period_range(inputs.start, periods=self.H, freq="Q"))
        self.end = self.quarters[-1]
        self.racks = inputs.racks.set_index("rack_type")
        self.sites = inputs.sites.set_index("site")
        self.factories = inputs.factories.set_index("factory")
        self.site_of = self.factories["site"].to_dict()
        self.region_of = {f: self.sites.at[s, "region"] for f, s in self.site_of.items()}
        self.capacity = {(r, w): u for r, w, u in inputs.rack_capacity[["rack_type", "workload", "units_per_rack"]]
                         .itertuples(index=False)}
        self.open = dict(zip(plan.factories["factory"], plan.factories["open"]))
        self.online = self._recompute_online()
        rate = (1 + inputs.discount_rate) ** 0.25 - 1
        self.discount = {q: (1 + rate) ** -(q.ordinal - inputs.start.ordinal) for q in self.quarters}
        self.rate = rate

    def _recompute_online(self) -> dict:
        """Racks online per (factory, rack type, quarter) from the fleet and every order."""
        online = defaultdict(float)
        cohorts = [(f, r, q, n) for f, r, n, q in
                   self.inputs.fleet[["factory", "rack_type", "racks", "online_quarter"]].itertuples(index=False)]
        for o in self.plan.orders.itertuples():
            cohorts.append((o.factory, o.rack_type, o.order_quarter + int(self.racks.at[o.rack_type, "lead_time_quarters"]), o.racks))
        for f, r, arrival, n in cohorts:
            life = int(self.racks.at[r, "lifetime_quarters"])
            for q in self.quarters:
                if arrival <= q < arrival + life:
                    online[(f, r, q)] += n
        return online


def _orders(ctx: _Context) -> list[str]:
    found = []
    for o in ctx.plan.orders[~ctx.plan.orders["locked"]].itertuples():
        r = ctx.racks.loc[o.rack_type]
        factory = ctx.factories.loc[o.factory]
        where = f"order of {o.racks} {o.rack_type} at {o.factory} in {o.order_quarter}"
        if o.racks <= 0 or o.racks != int(o.racks):
            found.append(f"{where}: rack count must be a positive whole number")
        if o.order_quarter < ctx.inputs.start or o.order_quarter > ctx.end:
            found.append(f"{where}: outside the planning horizon")
        if o.order_quarter < r.first_order_quarter or (pd.notna(r.last_order_quarter) and o.order_quarter > r.last_order_quarter):
            found.append(f"{where}: outside the rack type's orderable window")
        if o.online_quarter != o.order_quarter + int(r.lead_time_quarters):
            found.append(f"{where}: online quarter {o.online_quarter} ignores the lead time")
        if factory.rack_types and o.rack_type not in factory.rack_types:
            found.append(f"{where}: factory does not allow this rack type")
        if r.liquid_cooled and not ctx.sites.at[factory.site, "liquid_cooling"]:
            found.append(f"{where}: liquid-cooled rack at a site without liquid cooling")
        if factory.status == "candidate" and not ctx.open.get(o.factory):
            found.append(f"{where}: factory is not open")
        if o.online_quarter < ctx.inputs.start + int(factory.setup_lead_time_quarters):
            found.append(f"{where}: arrives before the factory's set-up lead time")
        if not _close(o.capex_usd, o.racks * float(r.price_usd)):
            found.append(f"{where}: capex {o.capex_usd} is not racks x price")
    return found


def _locked_orders(ctx: _Context) -> list[str]:
    placed = ctx.inputs.orders.groupby(["order_quarter", "factory", "rack_type"])["racks"].sum()
    kept = ctx.plan.orders[ctx.plan.orders["locked"]].groupby(["order_quarter", "factory", "rack_type"])["racks"].sum()
    return [f"locked order {key} of {n} racks is {kept.get(key, 0)} in the plan" for key, n in placed.items()
            if kept.get(key, 0) != n] + ([f"plan has {len(kept)} locked order lines, inputs {len(placed)}"]
                                         if len(kept) != len(placed) else [])


def _fleet(ctx: _Context) -> list[str]:
    reported = {(row.factory, row.rack_type, row.quarter): row for row in ctx.plan.fleet.itertuples()}
    found = []
    for key in set(reported) | {k for k, n in ctx.online.items() if n > 0}:
        expected = ctx.online.get(key, 0.0)
        row = reported.get(key)
        got = row.racks_online if row is not None else 0
        if got != expected:
            found.append(f"fleet {key}: {got} racks reported, {expected} from fleet + orders")
        elif row is not None and row.accelerators_online != got * int(ctx.racks.at[key[1], "accelerators_per_rack"]):
            found.append(f"fleet {key}: accelerators do not match racks")
    return found


def _supply(ctx: _Context) -> list[str]:
    ordered = ctx.plan.orders.groupby(["rack_type", "order_quarter"])["racks"].sum()
    caps = {(r, q): c for r, q, c in ctx.inputs.supply[["rack_type", "quarter", "max_racks"]].itertuples(index=False)}
    return [f"supply: {n} {r} ordered in {q}, cap {caps[(r, q)]}" for (r, q), n in ordered.items()
            if (r, q) in caps and n > caps[(r, q)]]


def _scheduled_mw(ctx: _Context, site: str, quarter: pd.Period) -> float:
    changes = ctx.inputs.site_power[(ctx.inputs.site_power["site"] == site) & (ctx.inputs.site_power["quarter"] <= quarter)]
    if len(changes):
        return float(changes.sort_values("quarter")["power_mw"].iloc[-1])
    return float(ctx.sites.at[site, "power_mw"])


def _power(ctx: _Context) -> list[str]:
    found = []
    expansions = ctx.inputs.power_expansions.set_index("site")
    blocks = ctx.plan.expansions
    for site, rows in blocks.groupby("site"):
        if rows["blocks"].sum() > expansions.at[site, "max_blocks"]:
            found.append(f"power: {rows['blocks'].sum()} blocks ordered at {site}, at most {expansions.at[site, 'max_blocks']}")
        for b in rows.itertuples():
            if b.online_quarter != b.order_quarter + int(expansions.at[site, "lead_time_quarters"]):
                found.append(f"power: block at {site} ordered {b.order_quarter} ignores its lead time")
            if b.online_quarter > ctx.end:
                found.append(f"power: block at {site} ordered {b.order_quarter} arrives after the horizon")
    it_kw = defaultdict(float)
    for (f, r, q), n in ctx.online.items():
        it_kw[(ctx.site_of[f], q)] += n * float(ctx.racks.at[r, "kw_per_rack"])
    reported = {(row.site, row.quarter): row for row in ctx.plan.power.itertuples()}
    for site in ctx.sites.index:
        for q in ctx.quarters:
            arrived = blocks[(blocks["site"] == site) & (blocks["online_quarter"] <= q)]
            capacity = 1000 * (_scheduled_mw(ctx, site, q) + float(arrived["blocks"].mul(arrived["block_mw"]).sum()))
            facility = it_kw[(site, q)] * float(ctx.sites.at[site, "pue"])
            if facility > capacity * (1 + TOL) + TOL:
                found.append(f"power: {site} in {q} draws {facility / 1000:.3f} MW, has {capacity / 1000:.3f} MW")
            row = reported.get((site, q))
            if row is None or not _close(row.it_kw, it_kw[(site, q)]) or not _close(row.capacity_kw, capacity):
                found.append(f"power: reported row for {site} {q} does not match the recomputed draw or capacity")
    return found


def _space(ctx: _Context) -> list[str]:
    used = defaultdict(float)
    for (f, r, q), n in ctx.online.items():
        used[(ctx.site_of[f], q)] += n * int(ctx.racks.at[r, "rack_positions"])
    return [f"space: {site} in {q} uses {n} positions of {ctx.sites.at[site, 'max_racks']}"
            for (site, q), n in used.items() if n > ctx.sites.at[site, "max_racks"]]


def _residency(ctx: _Context) -> dict:
    rules = {(g, w): (tuple(s) or (g,), bool(c)) for g, w, s, c in ctx.inputs.residency[
        ["region", "workload", "serving_regions", "cloud_allowed"]].itertuples(index=False)}
    return rules


def _assignments(ctx: _Context) -> list[str]:
    found = []
    rules = _residency(ctx)
    used = defaultdict(float)
    for a in ctx.plan.assignments.itertuples():
        serving = rules.get((a.region, a.workload), ((a.region,), True))[0]
        if ctx.region_of[a.factory] not in serving:
            found.append(f"residency: {a.region}/{a.workload} served from {a.factory} in {ctx.region_of[a.factory]}")
        units = ctx.capacity.get((a.rack_type, a.workload), 0.0)
        if units <= 0:
            found.append(f"assignment: {a.rack_type} has no capacity for {a.workload}")
        if not _close(a.units, a.racks * units):
            found.append(f"assignment: units {a.units} != racks x units per rack at {a.factory} {a.quarter}")
        if a.racks < -TOL:
            found.append(f"assignment: negative racks at {a.factory} {a.quarter}")
        used[(a.factory, a.rack_type, a.quarter)] += a.racks
    for key, racks in used.items():
        limit = ctx.inputs.utilization * ctx.online.get(key, 0.0)
        if racks > limit + TOL * max(1.0, limit):
            found.append(f"capacity: {key} assigns {racks:.4f} racks, {limit:.4f} usable")
    return found


def _demand(ctx: _Context) -> list[str]:
    found = []
    served = ctx.plan.assignments.groupby(["quarter", "region", "workload"])["units"].sum().to_dict()
    expected = {(q, g, w): max(0.0, float(d)) for q, g, w, d in
                ctx.inputs.demand[["quarter", "region", "workload", "demand"]].itertuples(index=False) if q in ctx.discount}
    seen = set()
    for d in ctx.plan.demand.itertuples():
        key = (d.quarter, d.region, d.workload)
        seen.add(key)
        if not _close(d.demand, expected.get(key, 0.0)):
            found.append(f"demand: {key} is {d.demand}, input says {expected.get(key, 0.0)}")
        if not _close(d.served_factory, served.get(key, 0.0)):
            found.append(f"demand: {key} served_factory {d.served_factory} != assigned units {served.get(key, 0.0)}")
        if min(d.served_cloud, d.unmet) < -TOL:
            found.append(f"demand: {key} has negative cloud or unmet")
        if not _close(d.served_factory + d.served_cloud + d.unmet, d.demand, d.demand):
            found.append(f"demand: {key} served + cloud + unmet = {d.served_factory + d.served_cloud + d.unmet:.4f}, "
                         f"demand {d.demand:.4f}")
    found += [f"demand: {key} has demand but no row in the plan" for key, v in expected.items() if key not in seen and v > 0]
    return found


def _cloud(ctx: _Context) -> list[str]:
    found = []
    rules = _residency(ctx)
    demand = ctx.plan.demand
    for d in demand[demand["served_cloud"] > TOL].itertuples():
        if not rules.get((d.region, d.workload), ((d.region,), True))[1]:
            found.append(f"cloud: {d.region}/{d.workload} uses cloud in {d.quarter} where residency forbids it")
    if ctx.inputs.cloud_max_units is not None:
        for q, units in demand.groupby("quarter")["served_cloud"].sum().items():
            if units > ctx.inputs.cloud_max_units * (1 + TOL) + TOL:
                found.append(f"cloud: {units:.2f} units in {q}, cap {ctx.inputs.cloud_max_units}")
    return found


def _earliest_arrival(ctx: _Context, f: str) -> pd.Period | None:
    """First quarter a rack ordered at or after start can arrive at factory f."""
    factory = ctx.factories.loc[f]
    liquid = bool(ctx.sites.at[factory.site, "liquid_cooling"])
    capable = {r for (r, _), u in ctx.capacity.items() if u > 0}
    best = None
    for r in (factory.rack_types or tuple(ctx.racks.index)):
        rack = ctx.racks.loc[r]
        if r not in capable or (rack.liquid_cooled and not liquid):
            continue
        lead = int(rack.lead_time_quarters)
        order = max(ctx.inputs.start, rack.first_order_quarter,
                    ctx.inputs.start + int(factory.setup_lead_time_quarters) - lead)
        if pd.notna(rack.last_order_quarter) and order > rack.last_order_quarter:
            continue
        if order + lead <= ctx.end and (best is None or order + lead < best):
            best = order + lead
    return best


def _factories(ctx: _Context) -> list[str]:
    found = []
    accelerators = defaultdict(float)
    for (f, r, q), n in ctx.online.items():
        accelerators[(f, q)] += n * int(ctx.racks.at[r, "accelerators_per_rack"])
    for f, factory in ctx.factories.iterrows():
        is_open = bool(ctx.open.get(f)) if factory.status == "candidate" else True
        if factory.status == "candidate" and not is_open:
            if any(n > 0 for (ff, _), n in accelerators.items() if ff == f):
                found.append(f"factory {f} is closed but holds racks")
            continue
        first = _earliest_arrival(ctx, f)
        if factory.min_accelerators > 0 and first is not None:
            for q in ctx.quarters:
                if q >= first and accelerators[(f, q)] < factory.min_accelerators:
                    found.append(f"factory {f} has {accelerators[(f, q)]:.0f} accelerators in {q}, "
                                 f"minimum {factory.min_accelerators}")
    return found


def _commitments(ctx: _Context) -> list[str]:
    found = []
    reported = ctx.plan.factories.set_index("factory")
    for f, factory in ctx.factories.iterrows():
        if factory.commitment_usd <= 0 or factory.commitment_quarters <= 0:
            continue
        begin = factory.commitment_start if pd.notna(factory.commitment_start) else ctx.inputs.start
        window = [begin + k for k in range(int(factory.commitment_quarters))]
        inside = [q for q in window if q in ctx.discount]
        if not inside:
            continue
        is_open = bool(ctx.open.get(f)) if factory.status == "candidate" else True
        required = float(factory.commitment_usd) * len(inside) / int(factory.commitment_quarters) if is_open else 0.0
        orders = ctx.plan.orders
        spend = float(orders[(orders["factory"] == f) & orders["order_quarter"].isin(inside)]["capex_usd"].sum())
        spend += sum(n * float(ctx.racks.at[r, "opex_usd_per_quarter"]) for (ff, r, q), n in ctx.online.items()
                     if ff == f and q in inside)
        shortfall = float(reported.at[f, "commitment_shortfall_usd"])
        if spend + shortfall < required * (1 - TOL) - 1:
            found.append(f"commitment {f}: spend {spend:,.0f} + shortfall {shortfall:,.0f} < required {required:,.0f}")
        if shortfall > max(0.0, required - spend) + max(1.0, TOL * required):
            found.append(f"commitment {f}: shortfall {shortfall:,.0f} is more than the gap {max(0.0, required - spend):,.0f}")
        if not _close(float(reported.at[f, "commitment_spend_usd"]), spend, required):
            found.append(f"commitment {f}: reported spend {reported.at[f, 'commitment_spend_usd']:,.0f} != {spend:,.0f}")
    return found


def _capex_paid(ctx: _Context) -> dict:
    """Capex paid per quarter of the horizon: rack orders, power blocks, factory fixed costs."""
    paid = defaultdict(float)
    for o in ctx.plan.orders.itertuples():
        if o.order_quarter in ctx.discount:
            paid[o.order_quarter] += o.racks * float(ctx.racks.at[o.rack_type, "price_usd"])
    for b in ctx.plan.expansions.itertuples():
        paid[b.order_quarter] += b.capex_usd
    for f, factory in ctx.factories.iterrows():
        if factory.status == "candidate" and ctx.open.get(f):
            paid[ctx.inputs.start] += float(factory.fixed_cost_usd)
    return paid


def _budget(ctx: _Context) -> list[str]:
    if ctx.inputs.budget_usd_per_year is None:
        return []
    by_year = defaultdict(float)
    for q, usd in _capex_paid(ctx).items():
        by_year[q.year] += usd
    return [f"budget: {usd:,.0f} capex paid in {year}, budget {ctx.inputs.budget_usd_per_year:,.0f}"
            for year, usd in by_year.items() if usd > ctx.inputs.budget_usd_per_year * (1 + TOL)]


def _annuity(ctx: _Context, price: float, lead: int, life: int) -> float:
    """The per-quarter payment over quarters lead..lead+life-1 after ordering whose value at order is price."""
    factors = sum((1 + ctx.rate) ** -(lead + k) for k in range(life))
    return price / factors


def _costs(ctx: _Context) -> list[str]:
    """Recompute every cost line and compare with the reported costs table and NPV."""
    inputs = ctx.inputs
    usd = defaultdict(float)
    rack_paid = defaultdict(float)
    for o in ctx.plan.orders.itertuples():
        sunk = o.order_quarter < inputs.start  # paid before the plan: its annuity is reported, not in the NPV
        rack = ctx.racks.loc[o.rack_type]
        if not sunk:
            rack_paid[o.order_quarter] += o.racks * float(rack.price_usd)
        payment = o.racks * _annuity(ctx, float(rack.price_usd), int(rack.lead_time_quarters), int(rack.lifetime_quarters))
        for k in range(int(rack.lifetime_quarters)):
            q = o.online_quarter + k
            if q in ctx.discount:
                usd[(q, SUNK_ANNUITY if sunk else "capex_annuity")] += payment
    for q, value in rack_paid.items():
        usd[(q, CAPEX_PAID)] += value
    hours = 8760 / 4
    for (f, r, q), n in ctx.online.items():
        site = ctx.sites.loc[ctx.site_of[f]]
        usd[(q, "opex")] += n * float(ctx.racks.at[r, "opex_usd_per_quarter"])
        usd[(q, "energy")] += n * float(ctx.racks.at[r, "kw_per_rack"]) * float(site.pue) * hours * float(site.energy_usd_per_kwh)
    for b in ctx.plan.expansions.itertuples():
        usd[(b.order_quarter, "power_expansion")] += b.capex_usd
    for d in ctx.plan.demand.itertuples():
        usd[(d.quarter, "cloud")] += d.served_cloud * inputs.cloud_price_per_unit_quarter
        usd[(d.quarter, UNMET_PENALTY)] += d.unmet * inputs.unmet_penalty_per_unit_quarter
    for f, factory in ctx.factories.iterrows():
        if factory.status == "candidate" and ctx.open.get(f):
            usd[(inputs.start, "factory_fixed")] += float(factory.fixed_cost_usd)
    shortfalls = ctx.plan.factories.set_index("factory")["commitment_shortfall_usd"]
    for f, factory in ctx.factories.iterrows():
        if shortfalls.get(f, 0) > 0:
            begin = factory.commitment_start if pd.notna(factory.commitment_start) else inputs.start
            last = min(begin + int(factory.commitment_quarters) - 1, ctx.end)
            usd[(last, "commitment_shortfall")] += float(shortfalls[f])

    reported = {(c.quarter, c.category): c for c in ctx.plan.costs.itertuples()}
    found = []
    scale = max([abs(v) for v in usd.values()] + [1.0])
    for key in set(usd) | set(reported):
        expected = usd.get(key, 0.0)
        row = reported.get(key)
        got = row.usd if row is not None else 0.0
        if abs(got - expected) > TOL * scale:
            found.append(f"costs: {key[1]} in {key[0]} reported {got:,.2f}, recomputed {expected:,.2f}")
        elif row is not None and not _close(row.usd_discounted, got * ctx.discount[key[0]], scale):
            found.append(f"costs: {key[1]} in {key[0]} discounted wrongly")
    npv = sum(v * ctx.discount[q] for (q, category), v in usd.items() if category not in NOT_IN_NPV)
    if not _close(npv, ctx.plan.kpis.get("npv_usd", float("nan")), scale):
        found.append(f"costs: NPV {ctx.plan.kpis.get('npv_usd')} != recomputed {npv}")
    return found
