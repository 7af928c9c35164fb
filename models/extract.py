"""Plan tables from a solved model, with the columns of SCENARIO.md.

Assignments are solved per serving region and split here per factory in proportion to
each factory's racks online of that type (each share then fits its own capacity).
Costs are reported per quarter and category; `in_objective` marks the rows whose
discounted sum is the objective (capex enters it as an annuity, `capex_paid` is the cash, and
`capex_annuity_sunk` is the annuity of racks ordered before the start, which the NPV leaves out).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
import pyomo.environ as pyo

from models.inputs import CAPEX_PAID, NOT_IN_NPV, SUNK_ANNUITY, UNMET_PENALTY, capex_annuity

COLUMNS = {
    "orders": ["order_quarter", "online_quarter", "factory", "site", "rack_type", "racks", "locked", "capex_usd"],
    "fleet": ["quarter", "factory", "site", "rack_type", "racks_online", "accelerators_online"],
    "assignments": ["quarter", "factory", "rack_type", "region", "workload", "racks", "units"],
    "power": ["quarter", "site", "it_kw", "facility_kw", "capacity_kw", "expansion_blocks_online"],
    "expansions": ["order_quarter", "online_quarter", "site", "blocks", "block_mw", "capex_usd"],
    "demand": ["quarter", "region", "workload", "demand", "served_factory", "served_cloud", "unmet"],
    "costs": ["quarter", "category", "usd", "usd_discounted", "in_objective"],
    "factories": ["factory", "site", "status", "open", "commitment_required_usd", "commitment_spend_usd",
                  "commitment_shortfall_usd"],
}


# Explicit dtypes so that empty tables still filter and sum correctly (pandas reads an empty
# object-dtype mask as a column selector).
DTYPES = {"racks": "int64", "locked": "bool", "capex_usd": "float64", "racks_online": "int64",
          "accelerators_online": "int64", "units": "float64", "it_kw": "float64", "facility_kw": "float64",
          "capacity_kw": "float64", "expansion_blocks_online": "int64", "blocks": "int64", "block_mw": "float64",
          "demand": "float64", "served_factory": "float64", "served_cloud": "float64", "unmet": "float64",
          "usd": "float64", "usd_discounted": "float64", "in_objective": "bool", "open": "bool",
          "commitment_required_usd": "float64", "commitment_spend_usd": "float64", "commitment_shortfall_usd": "float64"}


def table(name: str, rows: list) -> pd.DataFrame:
    """A plan table with its SCENARIO.md columns and stable dtypes, even when empty."""
    frame = pd.DataFrame(rows, columns=COLUMNS[name])
    dtypes = {c: DTYPES[c] for c in frame.columns if c in DTYPES}
    if name == "assignments":
        dtypes["racks"] = "float64"
    return frame.astype(dtypes)


@dataclass
class Plan:
    tables: dict[str, pd.DataFrame]
    kpis: dict = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)


SOLVER_NOISE = 1e-7  # values this small are round-off of the solver's tolerances, not decisions


def _value(var) -> float:
    value = float(pyo.value(var, exception=False) or 0.0)
    return 0.0 if abs(value) < SOLVER_NOISE else value


def extract_plan(m: pyo.ConcreteModel) -> Plan:
    ix, inputs = m.ix, m.inputs
    quarters = list(inputs.quarters)
    racks, factories = ix.racks, ix.factories
    site_of, region_of = factories["site"].to_dict(), factories["region"].to_dict()

    new_orders = {o: round(_value(m.order[o])) for o in ix.orders}
    online = defaultdict(int, ix.fixed_online)
    for key in ix.built:
        online[key] += round(_value(m.built[key]))

    orders = _orders(inputs, racks, site_of, new_orders)
    fleet = table("fleet", [(quarters[t], f, site_of[f], r, n, n * int(racks.at[r, "accelerators_per_rack"]))
                            for (f, r, t), n in sorted(online.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1]))
                            if n > 0])
    assignments = _assignments(m, ix, quarters, online, region_of)
    blocks = {key: round(_value(m.expand[key])) for key in ix.expansions}
    power, expansions = _power(ix, inputs, quarters, online, site_of, blocks)
    demand = _demand(m, ix, quarters, assignments)
    costs, commitments = _costs(m, ix, inputs, quarters, orders, online, blocks, demand)
    plan = Plan({"orders": orders, "fleet": fleet, "assignments": assignments, "power": power,
                 "expansions": expansions, "demand": demand, "costs": costs, "factories": commitments})
    plan.kpis = kpis(plan, inputs)
    return plan


def _orders(inputs, racks, site_of, new_orders) -> pd.DataFrame:
    rows = []
    for q, f, r, n in inputs.orders[["order_quarter", "factory", "rack_type", "racks"]].itertuples(index=False):
        rows.append((q, f, r, int(n), True))
    for (f, r, t), n in new_orders.items():
        if n > 0:
            rows.append((inputs.start + t, f, r, n, False))
    frame = table("orders", [
        (q, q + int(racks.at[r, "lead_time_quarters"]), f, site_of[f], r, n, locked, n * float(racks.at[r, "price_usd"]))
        for q, f, r, n, locked in rows])
    return frame.sort_values(["order_quarter", "factory", "rack_type", "locked"], ignore_index=True)


def _assignments(m, ix, quarters, online, region_of) -> pd.DataFrame:
    holders = defaultdict(list)
    for (f, r, t), n in online.items():
        if n > 0:
            holders[(region_of[f], r, t)].append((f, n))
    rows = []
    for (s, r, g, w, t), var in m.assign.items():
        racks_used = _value(var)
        if racks_used <= 1e-9:
            continue
        owners = holders.get((s, r, t), [])
        total = sum(n for _, n in owners)
        for f, n in owners:
            share = racks_used * n / total
            rows.append((quarters[t], f, r, g, w, share, share * ix.capacity[(r, w)]))
    frame = table("assignments", rows)
    return frame.sort_values(["quarter", "factory", "rack_type", "region", "workload"], ignore_index=True)


def _power(ix, inputs, quarters, online, site_of, blocks):
    expansions = inputs.power_expansions.set_index("site")
    it_kw = defaultdict(float)
    for (f, r, t), n in online.items():
        it_kw[(site_of[f], t)] += n * float(ix.racks.at[r, "kw_per_rack"])
    arriving = defaultdict(int)  # (site, quarter) -> blocks that become usable then
    for (s, t), n in blocks.items():
        arriving[(s, t + int(expansions.at[s, "lead_time_quarters"]))] += n
    rows = []
    for s in sorted(ix.sites.index):
        block_mw = float(expansions.at[s, "block_mw"]) if s in expansions.index else 0.0
        arrived = 0
        for t in range(ix.horizon):
            arrived += arriving[(s, t)]
            capacity = 1000.0 * (ix.site_power_mw[(s, t)] + block_mw * arrived)
            it = it_kw[(s, t)]
            rows.append((quarters[t], s, it, it * float(ix.sites.at[s, "pue"]), capacity, arrived))
    expansion_rows = [(quarters[t], quarters[t] + int(expansions.at[s, "lead_time_quarters"]), s, n,
                       float(expansions.at[s, "block_mw"]), n * float(expansions.at[s, "capex_usd"]))
                      for (s, t), n in sorted(blocks.items()) if n > 0]
    return table("power", rows), table("expansions", expansion_rows)


def _demand(m, ix, quarters, assignments) -> pd.DataFrame:
    served = assignments.groupby(["quarter", "region", "workload"])["units"].sum().to_dict() if len(assignments) else {}
    rows = []
    for g, w in ix.streams:
        for t in range(ix.horizon):
            cloud = _value(m.cloud[g, w, t]) if (g, w, t) in m.cloud else 0.0
            rows.append((quarters[t], g, w, ix.demand.get((g, w, t), 0.0), served.get((quarters[t], g, w), 0.0),
                         cloud, _value(m.unmet[g, w, t])))
    return table("demand", rows)


def _costs(m, ix, inputs, quarters, orders, online, blocks, demand):
    """Costs per quarter and category from the solution values (not from model expressions)."""
    racks, discount = ix.racks, ix.discount
    H = ix.horizon
    usd = defaultdict(float)
    for o in orders.itertuples():
        t = inputs.index_of(o.order_quarter)
        r = racks.loc[o.rack_type]
        lead, life = int(r.lead_time_quarters), int(r.lifetime_quarters)
        payment = o.racks * capex_annuity(float(r.price_usd), inputs.discount_rate, lead, life)
        category = "capex_annuity" if t >= 0 else SUNK_ANNUITY  # ordered before the horizon: paid, sunk
        if t >= 0:
            usd[(t, CAPEX_PAID)] += o.capex_usd
        for u in range(max(t + lead, 0), min(t + lead + life, H)):
            usd[(u, category)] += payment
    for (f, r, t), n in online.items():
        usd[(t, "opex")] += n * float(racks.at[r, "opex_usd_per_quarter"])
        usd[(t, "energy")] += n * ix.energy_usd[(f, r)]
    expansions = inputs.power_expansions.set_index("site")
    for (s, t), n in blocks.items():
        usd[(t, "power_expansion")] += n * float(expansions.at[s, "capex_usd"])
    for row in demand.itertuples():
        t = inputs.index_of(row.quarter)
        usd[(t, "cloud")] += row.served_cloud * inputs.cloud_price_per_unit_quarter
        usd[(t, UNMET_PENALTY)] += row.unmet * inputs.unmet_penalty_per_unit_quarter
    status = []
    for f in ix.factories.index:
        is_open = True if not ix.factories.at[f, "candidate"] else round(_value(m.open[f])) == 1
        if ix.factories.at[f, "candidate"] and is_open:
            usd[(0, "factory_fixed")] += float(ix.factories.at[f, "fixed_cost_usd"])
        required = spend = shortfall = 0.0
        if f in ix.commitment:
            window = ix.commitment[f]
            required = window["required_usd"] if is_open else 0.0
            shortfall = _value(m.shortfall[f]) * 1e6
            spend = _commitment_spend(f, window["quarters"], orders, online, racks, inputs)
            usd[(window["pay_t"], "commitment_shortfall")] += shortfall
        status.append((f, ix.factories.at[f, "site"], ix.factories.at[f, "status"], is_open, required, spend, shortfall))
    rows = [(quarters[t], category, value, value * discount[t], category not in NOT_IN_NPV)
            for (t, category), value in sorted(usd.items()) if abs(value) >= 0.005]  # drop sub-cent round-off
    costs = table("costs", rows)
    return costs, table("factories", status)


def _commitment_spend(f, window, orders, online, racks, inputs) -> float:
    spend = 0.0
    for o in orders[orders["factory"] == f].itertuples():
        if inputs.index_of(o.order_quarter) in window:
            spend += o.capex_usd
    for (ff, r, t), n in online.items():
        if ff == f and t in window:
            spend += n * float(racks.at[r, "opex_usd_per_quarter"])
    return spend


def kpis(plan: Plan, inputs) -> dict:
    costs, demand, orders, power = plan.costs, plan.demand, plan.orders, plan.power
    npv = float(costs.loc[costs["in_objective"], "usd_discounted"].sum())
    new = orders[~orders["locked"]]
    served_units = float((demand["served_factory"] + demand["served_cloud"]).sum())
    by_year = new.assign(year=[q.year for q in new["order_quarter"]]).groupby(["rack_type", "year"])["racks"].sum()
    return {
        "npv_usd": npv,
        "capex_paid_usd": float(costs.loc[costs["category"] == CAPEX_PAID, "usd"].sum()),
        "racks_ordered_by_type_and_year": {f"{r} {y}": int(n) for (r, y), n in by_year.items()},
        "racks_ordered": {r: int(n) for r, n in new.groupby("rack_type")["racks"].sum().items()},
        "peak_facility_mw_by_site": {s: float(v) / 1000 for s, v in power.groupby("site")["facility_kw"].max().items()},
        "cloud_spend_usd": float(costs.loc[costs["category"] == "cloud", "usd"].sum()),
        "unmet_unit_quarters": float(demand["unmet"].sum()),
        "demand_unit_quarters": float(demand["demand"].sum()),
        "cost_per_unit_quarter_usd": npv / served_units if served_units > 0 else None,
    }
