"""Seeded synthetic model instances: S sites, R rack types, W workloads, G regions, T quarters.

Shaped like the shipped examples (GB300/Trainium-like racks, 10-60 MW sites, one factory a
site with a fifth of them candidates, fleet, locked orders, supply caps, power blocks,
residency with some sovereign streams) so timings say something about real use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.inputs import PlanInputs

START = pd.Period("2027Q1", freq="Q")


def synthetic_inputs(S: int, R: int, W: int, G: int, T: int, seed: int = 0) -> PlanInputs:
    rng = np.random.default_rng(seed)
    regions = [f"g{i}" for i in range(G)]
    workloads = [f"w{i}" for i in range(W)]
    racks = pd.DataFrame({
        "rack_type": [f"rack{i}" for i in range(R)],
        "vendor": ["V"] * R,
        "accelerators_per_rack": rng.choice([72, 144], R),
        "kw_per_rack": rng.uniform(120, 200, R).round(0),
        "liquid_cooled": [True] * R,
        "price_usd": rng.uniform(1.7e6, 7.8e6, R).round(-4),
        "opex_usd_per_quarter": 0.0,
        "lead_time_quarters": rng.integers(2, 5, R),
        "first_order_quarter": [START + int(k) for k in rng.integers(-4, T // 3, R)],
        "last_order_quarter": [pd.NaT] * R,
        "lifetime_quarters": 20,
        "rack_positions": rng.choice([1, 1, 2], R),
    })
    racks["opex_usd_per_quarter"] = (racks["price_usd"] * 0.0075).round(0)
    capacity = pd.DataFrame([(r, w, float(rng.choice([0, 36, 72, 108, 240]))) for r in racks["rack_type"] for w in workloads],
                            columns=["rack_type", "workload", "units_per_rack"])
    site_region = [regions[i % G] for i in range(S)]
    sites = pd.DataFrame({
        "site": [f"s{i}" for i in range(S)], "region": site_region,
        "power_mw": rng.uniform(10, 60, S).round(0), "pue": rng.uniform(1.1, 1.3, S).round(2),
        "max_racks": rng.integers(100, 400, S), "liquid_cooling": True,
        "energy_usd_per_kwh": rng.uniform(0.07, 0.22, S).round(3),
    })
    candidate = rng.random(S) < 0.2
    factories = pd.DataFrame({
        "factory": [f"f{i}" for i in range(S)], "site": sites["site"], "operating_model": "managed",
        "status": np.where(candidate, "candidate", "existing"), "rack_types": [()] * S,
        "min_accelerators": np.where(rng.random(S) < 0.3, 3000, 0),
        "commitment_usd": np.where(rng.random(S) < 0.3, 2e8, 0.0), "commitment_start": [START] * S,
        "commitment_quarters": 20, "setup_lead_time_quarters": np.where(candidate, 3, 0),
        "fixed_cost_usd": np.where(candidate, 3e7, 0.0),
    })
    existing = factories[~candidate]["factory"].tolist()
    fleet = pd.DataFrame([(f, racks["rack_type"].iloc[int(rng.integers(R))], int(rng.integers(10, 40)), START - 2)
                          for f in existing], columns=["factory", "rack_type", "racks", "online_quarter"])
    orders = pd.DataFrame([(START - 1, f, racks["rack_type"].iloc[int(rng.integers(R))], int(rng.integers(2, 8)))
                           for f in existing[::4]], columns=["order_quarter", "factory", "rack_type", "racks"])
    orders = orders.drop_duplicates(["order_quarter", "factory", "rack_type"])
    supply = pd.DataFrame([(r, START + t, int(rng.integers(20, 60) * S / 10)) for r in racks["rack_type"] for t in range(4)],
                          columns=["rack_type", "quarter", "max_racks"])
    expansions = pd.DataFrame([(s, 10.0, 3e7, int(rng.integers(2, 9)), 2) for s in sites["site"][::3]],
                              columns=["site", "block_mw", "capex_usd", "lead_time_quarters", "max_blocks"])
    residency = pd.DataFrame([(g, w, (g, regions[(i + 1) % G]) if rng.random() < 0.5 else (g,), bool(rng.random() < 0.6))
                              for i, g in enumerate(regions) for w in workloads],
                             columns=["region", "workload", "serving_regions", "cloud_allowed"])
    # Demand sized so the estate must roughly triple over the horizon.
    base_units = 0.85 * 90 * fleet["racks"].sum() / (G * W)
    rows = []
    for g in regions:
        for w in workloads:
            level, growth = base_units * rng.uniform(0.5, 1.5), rng.uniform(0.3, 0.6)
            rows += [(START + t, g, w, level * (1 + growth) ** (t / 4)) for t in range(T)]
    demand = pd.DataFrame(rows, columns=["quarter", "region", "workload", "demand"])
    empty_power = pd.DataFrame({"site": [], "quarter": pd.PeriodIndex([], freq="Q"), "power_mw": []})
    return PlanInputs(
        start=START, horizon_quarters=T, discount_rate=0.08, utilization=0.85, unmet_penalty_per_unit_quarter=80_000,
        cloud_price_per_unit_quarter=26_000, cloud_max_units=None, budget_usd_per_year=None, racks=racks,
        rack_capacity=capacity, sites=sites, site_power=empty_power, power_expansions=expansions, factories=factories,
        residency=residency, fleet=fleet, orders=orders, supply=supply, demand=demand)
