"""Sparse index sets and coefficients, computed with pandas before Pyomo sees anything.

Only orders that can arrive inside the horizon, in the rack type's orderable window, after
a candidate factory's set-up, with supply left; only rack types a factory allows and its
site can cool; assignment per (serving region, rack type, stream) where residency allows.
Quarters are integers t = 0..H-1 counted from `start`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.inputs import HOURS_PER_QUARTER, PlanInputs, capex_annuity, discount_factors

Key = tuple


@dataclass
class ModelIndex:
    horizon: int
    discount: list[float]
    factories: pd.DataFrame          # index factory: site, region, candidate, forced_open, ...
    racks: pd.DataFrame              # index rack_type
    sites: pd.DataFrame              # index site
    pairs: list[tuple[str, str]]     # (factory, rack_type) that can hold racks
    orders: list[tuple[str, str, int]]          # (factory, rack_type, t) new orders allowed
    order_capex: dict[Key, float]               # objective coefficient, $M (annuity inside horizon)
    built: list[tuple[str, str, int]]           # (factory, rack_type, t) racks from new orders online
    fixed_online: dict[Key, int]                # (factory, rack_type, t) fleet + locked orders online
    locked_ordered: dict[Key, float]            # (factory, rack_type, t>=0) racks of locked orders placed at t
    locked_capex_objective: float               # $M, annuity of locked orders placed at or after start
    site_power_mw: dict[Key, float]             # (site, t)
    expansions: list[tuple[str, int]]           # (site, t) power blocks orderable
    streams: list[tuple[str, str]]              # (region, workload)
    demand: dict[Key, float]                    # (region, workload, t)
    assign: list[tuple[str, str, str, str]]     # (serving region, rack_type, region, workload)
    capacity: dict[tuple[str, str], float]      # (rack_type, workload) units per rack
    cloud_streams: list[tuple[str, str]]
    supply_cap: dict[Key, float]                # (rack_type, t) -> cap on new + locked
    energy_usd: dict[Key, float]                # (factory, rack_type) energy per rack-quarter, USD
    min_size_from: dict[str, int] = field(default_factory=dict)  # factory -> first t of the minimum
    commitment: dict[str, dict] = field(default_factory=dict)    # factory -> window, amount, pay quarter


def build_index(inputs: PlanInputs) -> ModelIndex:
    H = inputs.horizon_quarters
    discount = discount_factors(inputs.discount_rate, H)
    racks = inputs.racks.set_index("rack_type")
    sites = inputs.sites.set_index("site")
    factories = _factories(inputs, sites)
    capacity = {(r, w): float(u) for r, w, u in inputs.rack_capacity[["rack_type", "workload", "units_per_rack"]]
                .itertuples(index=False) if u > 0}
    capable = {r for r, _ in capacity}

    pairs = _pairs(inputs, factories, racks, sites, capable)
    fixed_online, locked_ordered = _fixed_fleet(inputs, racks)
    pairs = sorted(set(pairs) | {(f, r) for f, r, _ in fixed_online})

    supply_cap = {}
    for r, q, cap in inputs.supply[["rack_type", "quarter", "max_racks"]].itertuples(index=False):
        t = inputs.index_of(q)
        if 0 <= t < H:
            supply_cap[(r, t)] = float(cap)
    locked_by_type = {}
    for (f, r, t), n in locked_ordered.items():
        locked_by_type[(r, t)] = locked_by_type.get((r, t), 0.0) + n

    orders, order_capex = [], {}
    earliest = {}  # (factory, rack type) -> first quarter a new rack could arrive, supply aside
    for f, r in pairs:
        rack = racks.loc[r]
        lead = int(rack.lead_time_quarters)
        first = max(0, inputs.index_of(rack.first_order_quarter))
        last = H - 1 - lead
        if pd.notna(rack.last_order_quarter):
            last = min(last, inputs.index_of(rack.last_order_quarter))
        # Set-up delays the first rack at any factory that still has set-up left (a candidate, or
        # one opened by an earlier plan and rolled forward as existing).
        first = max(first, int(factories.at[f, "setup_lead_time_quarters"]) - lead)
        if first <= last:
            earliest[(f, r)] = first + lead
        for t in range(first, last + 1):
            if supply_cap.get((r, t), np.inf) - locked_by_type.get((r, t), 0.0) <= 0:
                continue
            orders.append((f, r, t))
            order_capex[(f, r, t)] = _capex_in_horizon(rack, t, inputs.discount_rate, discount)

    locked_capex = sum(n * _capex_in_horizon(racks.loc[r], t, inputs.discount_rate, discount)
                       for (f, r, t), n in locked_ordered.items())

    first_arrival = {}
    for f, r, t in orders:
        arrival = t + int(racks.at[r, "lead_time_quarters"])
        first_arrival[(f, r)] = min(first_arrival.get((f, r), H), arrival)
    built = [(f, r, t) for (f, r), a in sorted(first_arrival.items()) for t in range(a, H)]

    streams = sorted({(g, w) for g, w in inputs.demand[["region", "workload"]].itertuples(index=False)})
    demand = {}
    for q, g, w, d in inputs.demand[["quarter", "region", "workload", "demand"]].itertuples(index=False):
        t = inputs.index_of(q)
        if 0 <= t < H:
            demand[(g, w, t)] = max(0.0, float(d))
    serving, cloud_ok = _residency(inputs, streams)
    holders = {(factories.at[f, "region"], r) for f, r in pairs}
    assign = [(s, r, g, w) for g, w in streams for s in serving[(g, w)] for r in sorted(capable)
              if (s, r) in holders and (r, w) in capacity]
    cloud_streams = [k for k in streams if cloud_ok[k]]

    energy = {}
    for f, r in pairs:
        site = sites.loc[factories.at[f, "site"]]
        energy[(f, r)] = float(racks.at[r, "kw_per_rack"]) * float(site.pue) * HOURS_PER_QUARTER * float(site.energy_usd_per_kwh)

    index = ModelIndex(
        horizon=H, discount=discount, factories=factories, racks=racks, sites=sites, pairs=pairs,
        orders=orders, order_capex=order_capex, built=built, fixed_online=fixed_online,
        locked_ordered=locked_ordered, locked_capex_objective=locked_capex,
        site_power_mw=_site_power(inputs, sites), expansions=_expansions(inputs), streams=streams,
        demand=demand, assign=assign, capacity=capacity, cloud_streams=cloud_streams,
        supply_cap=supply_cap, energy_usd=energy,
    )
    # The minimum size applies from the first quarter a new rack could arrive (window, lead
    # time, set-up); supply caps do not move it: if they make it unreachable, that is infeasible.
    index.min_size_from = {f: min(a for (ff, _), a in earliest.items() if ff == f)
                           for f in factories.index if factories.at[f, "min_accelerators"] > 0
                           and any(ff == f for ff, _ in earliest)}
    index.commitment = _commitments(inputs, factories)
    return index


def _capex_in_horizon(rack: pd.Series, t: int, annual_rate: float, discount: list[float]) -> float:
    """Discounted capex of one rack ordered at t, in $M: its annuity over the quarters it
    serves inside the horizon (the same rule for new and locked orders)."""
    lead, life = int(rack.lead_time_quarters), int(rack.lifetime_quarters)
    annuity = capex_annuity(float(rack.price_usd), annual_rate, lead, life)
    return annuity * sum(discount[t + lead: min(t + lead + life, len(discount))]) / 1e6


def _factories(inputs: PlanInputs, sites: pd.DataFrame) -> pd.DataFrame:
    factories = inputs.factories.set_index("factory").copy()
    factories["region"] = factories["site"].map(sites["region"])
    factories["candidate"] = factories["status"] == "candidate"
    locked_at = set(inputs.orders["factory"])
    factories["forced_open"] = factories["candidate"] & factories.index.isin(locked_at)
    return factories


def _pairs(inputs, factories, racks, sites, capable) -> list[tuple[str, str]]:
    pairs = []
    for f, factory in factories.iterrows():
        liquid_ok = bool(sites.at[factory.site, "liquid_cooling"])
        allowed = factory.rack_types or tuple(racks.index)
        for r in allowed:
            if r in capable and (liquid_ok or not racks.at[r, "liquid_cooled"]):
                pairs.append((f, r))
    return pairs


def _fixed_fleet(inputs: PlanInputs, racks: pd.DataFrame) -> tuple[dict, dict]:
    """Racks online from the installed fleet and locked orders, per (factory, rack type, t):
    whole racks, as the inputs give them."""
    H = inputs.horizon_quarters
    online: dict[Key, int] = {}
    ordered: dict[Key, float] = {}
    cohorts = [(f, r, inputs.index_of(q), n) for f, r, n, q in
               inputs.fleet[["factory", "rack_type", "racks", "online_quarter"]].itertuples(index=False)]
    for q, f, r, n in inputs.orders[["order_quarter", "factory", "rack_type", "racks"]].itertuples(index=False):
        t = inputs.index_of(q)
        cohorts.append((f, r, t + int(racks.at[r, "lead_time_quarters"]), n))
        if t >= 0:
            ordered[(f, r, t)] = ordered.get((f, r, t), 0.0) + float(n)
    for f, r, arrival, n in cohorts:
        life = int(racks.at[r, "lifetime_quarters"])
        for t in range(max(0, arrival), min(H, arrival + life)):
            online[(f, r, t)] = online.get((f, r, t), 0) + int(n)
    return online, ordered


def _site_power(inputs: PlanInputs, sites: pd.DataFrame) -> dict[Key, float]:
    H = inputs.horizon_quarters
    power = {(s, t): float(mw) for s, mw in sites["power_mw"].items() for t in range(H)}
    changes = inputs.site_power.sort_values("quarter")
    for s, q, mw in changes[["site", "quarter", "power_mw"]].itertuples(index=False):
        for t in range(max(0, inputs.index_of(q)), H):
            power[(s, t)] = float(mw)
    return power


def _expansions(inputs: PlanInputs) -> list[tuple[str, int]]:
    H = inputs.horizon_quarters
    return [(s, t) for s, lead, blocks in inputs.power_expansions[["site", "lead_time_quarters", "max_blocks"]]
            .itertuples(index=False) if blocks > 0 for t in range(0, H - int(lead))]


def _residency(inputs: PlanInputs, streams) -> tuple[dict, dict]:
    rules = {(g, w): (tuple(s) or (g,), bool(c)) for g, w, s, c in
             inputs.residency[["region", "workload", "serving_regions", "cloud_allowed"]].itertuples(index=False)}
    serving = {k: rules.get(k, ((k[0],), True))[0] for k in streams}
    cloud = {k: rules.get(k, ((k[0],), True))[1] for k in streams}
    return serving, cloud


def _commitments(inputs: PlanInputs, factories: pd.DataFrame) -> dict[str, dict]:
    """Take-or-pay windows clipped to the horizon; the amount is pro-rated to the clipped part."""
    H = inputs.horizon_quarters
    found = {}
    for f, factory in factories.iterrows():
        if factory.commitment_usd <= 0 or factory.commitment_quarters <= 0:
            continue
        begin = inputs.index_of(factory.commitment_start) if pd.notna(factory.commitment_start) else 0
        end = begin + int(factory.commitment_quarters)  # exclusive
        inside = list(range(max(0, begin), min(H, end)))
        if not inside:
            continue
        found[f] = {
            "quarters": inside,
            "required_usd": float(factory.commitment_usd) * len(inside) / int(factory.commitment_quarters),
            "pay_t": inside[-1],
        }
    return found
