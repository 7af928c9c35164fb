"""Turn a validated scenario and a demand table into the model's `PlanInputs`."""

from __future__ import annotations

import pandas as pd

from models.inputs import PlanInputs, SolverOptions
from planner.scenario import Scenario


def plan_inputs(scenario: Scenario, demand: pd.DataFrame, previous_orders: pd.DataFrame | None = None) -> PlanInputs:
    settings = scenario.settings
    return PlanInputs(
        start=settings.start,
        horizon_quarters=settings.horizon_quarters,
        discount_rate=settings.discount_rate,
        utilization=settings.utilization,
        unmet_penalty_per_unit_quarter=settings.unmet_penalty_per_unit_quarter,
        cloud_price_per_unit_quarter=settings.cloud.price_per_unit_quarter,
        cloud_max_units=settings.cloud.max_units,
        budget_usd_per_year=settings.budget_usd_per_year,
        racks=scenario.racks, rack_capacity=scenario.rack_capacity, sites=scenario.sites,
        site_power=scenario.site_power, power_expansions=scenario.power_expansions,
        factories=scenario.factories, residency=scenario.residency, fleet=scenario.fleet,
        orders=scenario.orders, supply=scenario.supply,
        demand=demand.reset_index(drop=True), previous_orders=previous_orders,
    )


def solver_options(scenario: Scenario, **overrides) -> SolverOptions:
    solver = scenario.settings.solver
    values = {"name": solver.name, "time_limit_s": solver.time_limit_s, "mip_gap": solver.mip_gap,
              "threads": solver.threads, "verbose": False, "steady_within": solver.steady_within}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SolverOptions(**values)
