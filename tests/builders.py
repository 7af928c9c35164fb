"""Small model inputs built directly in code, for hand-checkable and random scenarios.

Tables carry the same columns and dtypes the scenario loader produces, so the model sees
exactly what it sees in production.
"""

from __future__ import annotations

import pandas as pd

from models.inputs import PlanInputs, SolverOptions

START = pd.Period("2027Q1", freq="Q")
FAST = SolverOptions(time_limit_s=60, mip_gap=1e-6, threads=1)


def q(text: str) -> pd.Period:
    return pd.Period(text, freq="Q")


def rack(name, kw=100.0, price=1_000_000.0, lead=1, first="2020Q1", last=None, life=20, accelerators=72,
         liquid=False, positions=1, opex=0.0, vendor="V") -> dict:
    return {"rack_type": name, "vendor": vendor, "accelerators_per_rack": accelerators, "kw_per_rack": kw,
            "liquid_cooled": liquid, "price_usd": price, "opex_usd_per_quarter": opex, "lead_time_quarters": lead,
            "first_order_quarter": q(first), "last_order_quarter": q(last) if last else pd.NaT,
            "lifetime_quarters": life, "rack_positions": positions}


def site(name, region="r1", mw=10.0, pue=1.0, max_racks=100, liquid=True, price=0.0) -> dict:
    return {"site": name, "region": region, "power_mw": mw, "pue": pue, "max_racks": max_racks,
            "liquid_cooling": liquid, "energy_usd_per_kwh": price}


def factory(name, site_name, status="existing", rack_types=(), min_accelerators=0, commitment=0.0,
            commitment_start=None, commitment_quarters=0, setup=0, fixed=0.0, model="managed") -> dict:
    return {"factory": name, "site": site_name, "operating_model": model, "status": status,
            "rack_types": tuple(rack_types), "min_accelerators": min_accelerators, "commitment_usd": commitment,
            "commitment_start": q(commitment_start) if commitment_start else pd.NaT,
            "commitment_quarters": commitment_quarters, "setup_lead_time_quarters": setup, "fixed_cost_usd": fixed}


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame({c: [] for c in columns})


def inputs(racks, capacity, sites, factories, demand, horizon=6, residency=(), fleet=(), orders=(), supply=(),
           site_power=(), expansions=(), discount_rate=0.0, utilization=1.0, unmet_penalty=1_000_000.0,
           cloud_price=500_000.0, cloud_max=None, budget=None) -> PlanInputs:
    """demand: {(region, workload): value or [values per quarter]}."""
    demand_rows = []
    for (g, w), values in demand.items():
        values = values if isinstance(values, (list, tuple)) else [values] * horizon
        demand_rows += [{"quarter": START + t, "region": g, "workload": w, "demand": float(v)} for t, v in enumerate(values)]
    return PlanInputs(
        start=START, horizon_quarters=horizon, discount_rate=discount_rate, utilization=utilization,
        unmet_penalty_per_unit_quarter=unmet_penalty, cloud_price_per_unit_quarter=cloud_price,
        cloud_max_units=cloud_max, budget_usd_per_year=budget,
        racks=pd.DataFrame(racks),
        rack_capacity=pd.DataFrame([{"rack_type": r, "workload": w, "units_per_rack": u} for (r, w), u in capacity.items()]),
        sites=pd.DataFrame(sites),
        site_power=frame([{"site": s, "quarter": q(qq), "power_mw": mw} for s, qq, mw in site_power], ["site", "quarter", "power_mw"]),
        power_expansions=frame([dict(zip(["site", "block_mw", "capex_usd", "lead_time_quarters", "max_blocks"], e))
                                for e in expansions], ["site", "block_mw", "capex_usd", "lead_time_quarters", "max_blocks"]),
        factories=pd.DataFrame(factories),
        residency=frame([{"region": g, "workload": w, "serving_regions": tuple(s), "cloud_allowed": c}
                         for g, w, s, c in residency], ["region", "workload", "serving_regions", "cloud_allowed"]),
        fleet=frame([{"factory": f, "rack_type": r, "racks": n, "online_quarter": q(qq)} for f, r, n, qq in fleet],
                    ["factory", "rack_type", "racks", "online_quarter"]),
        orders=frame([{"order_quarter": q(qq), "factory": f, "rack_type": r, "racks": n} for qq, f, r, n in orders],
                     ["order_quarter", "factory", "rack_type", "racks"]),
        supply=frame([{"rack_type": r, "quarter": q(qq), "max_racks": n} for r, qq, n in supply],
                     ["rack_type", "quarter", "max_racks"]),
        demand=pd.DataFrame(demand_rows),
    )


def scheduled_mw(plan_inputs: PlanInputs, site_name: str, quarter: pd.Period) -> float:
    """The site's power in the quarter: its last site_power.csv change by then, else sites.csv's."""
    schedule = plan_inputs.site_power
    changes = schedule[(schedule["site"] == site_name) & (schedule["quarter"] <= quarter)] if len(schedule) else schedule
    if len(changes):
        return float(changes.sort_values("quarter")["power_mw"].iloc[-1])
    return float(plan_inputs.sites.set_index("site").at[site_name, "power_mw"])

