"""Scenario -> forecast -> model: the stages `planner plan` runs, usable from scripts too."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forecasts import forecast_with_choices, quantile_column
from models.inputs import SolverOptions
from models.run import ModelRun, run_model
from planner.bridge import plan_inputs
from planner.scenario import Scenario


@dataclass
class DemandForecast:
    table: pd.DataFrame            # forecast.csv: history and forecast rows
    planning_demand: pd.DataFrame  # quarter, region, workload, demand: the quantile planned for, plus overrides
    choices: pd.DataFrame          # model per stream and why


def forecast_demand(scenario: Scenario, progress=None) -> DemandForecast:
    """Forecast every stream over the horizon; add overrides; pick the planning quantile.

    `progress(iterable, length)` wraps the loop over streams (see forecasts.forecast_with_choices)."""
    settings = scenario.settings
    planning = settings.planning_quantile
    quantiles = tuple(sorted(set(settings.forecast.quantiles) | {planning}))
    history = scenario.demand_history
    forecast, choices = forecast_with_choices(history[["quarter", "region", "workload", "demand"]],
                                              settings.horizon_quarters, quantiles, settings.forecast.method,
                                              progress)
    forecast = forecast[forecast["quarter"] >= settings.start]
    overrides = scenario.demand_overrides.groupby(["quarter", "region", "workload"])["delta"].sum()
    forecast = _with_override_only_streams(forecast, overrides, quantiles, settings.quarters)
    keys = list(zip(forecast["quarter"], forecast["region"], forecast["workload"]))
    forecast["override_delta"] = [float(overrides.get(k, 0.0)) for k in keys]
    forecast["planning_demand"] = (forecast[quantile_column(planning)] + forecast["override_delta"]).clip(lower=0.0)
    forecast["kind"] = "forecast"

    shown = [quantile_column(q) for q in settings.forecast.quantiles]
    past = history.assign(kind="history", model="actual", override_delta=0.0, planning_demand=float("nan"))
    for column in shown:
        past[column] = past["demand"].astype(float)
    columns = ["quarter", "region", "workload", *shown, "kind", "model", "override_delta", "planning_demand"]
    table = pd.concat([past[columns], forecast[columns]], ignore_index=True).sort_values(
        ["region", "workload", "quarter"], ignore_index=True)
    planning_demand = forecast[["quarter", "region", "workload", "planning_demand"]].rename(
        columns={"planning_demand": "demand"}).reset_index(drop=True)
    return DemandForecast(table, planning_demand, choices)


def _with_override_only_streams(forecast: pd.DataFrame, overrides: pd.Series, quantiles, quarters) -> pd.DataFrame:
    """A stream known only from overrides (a new deal) gets a zero forecast to add them to."""
    known = set(zip(forecast["region"], forecast["workload"]))
    extra = sorted({(g, w) for _, g, w in overrides.index} - known)
    rows = [{"quarter": q, "region": g, "workload": w, "model": "override only",
             **{quantile_column(p): 0.0 for p in quantiles}} for g, w in extra for q in quarters]
    return pd.concat([forecast, pd.DataFrame(rows)], ignore_index=True) if rows else forecast.copy()


def plan(scenario: Scenario, demand: DemandForecast, options: SolverOptions, log_stream=None) -> ModelRun:
    return run_model(plan_inputs(scenario, demand.planning_demand), options, log_stream=log_stream)
