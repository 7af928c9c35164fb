"""Read back the plan files other commands consume (`reforecast --previous`, `diff`), checked
like scenario files.

A plan directory is an input to those commands: it may be an old plan, one edited by hand in a
spreadsheet, or not a plan at all. Read unchecked, a missing column surfaced as an internal
error (KeyError) instead of a message naming the file, row and column.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from planner.problems import Problem, ScenarioError
from planner.schema import Column, Table
from planner.tables import read_table

ORDERS = Table(
    "orders.csv",
    "A plan's orders (the columns the change report and the roll-forward read).",
    (
        Column("order_quarter", "quarter", "Quarter the order is placed."),
        Column("factory", "text", "Factory the racks go to."),
        Column("rack_type", "text", "Rack type ordered."),
        Column("racks", "int", "Racks ordered.", "racks", ge=0),
        Column("locked", "bool", "Whether the order was given in the scenario (placed before the plan): without it a "
               "roll-forward would carry the scenario's orders a second time."),
    ),
    key=("order_quarter", "factory", "rack_type", "locked"),
)
FORECAST = Table(
    "forecast.csv",
    "A plan's demand: history and forecast rows per stream.",
    (
        Column("quarter", "quarter", "Quarter."),
        Column("region", "text", "Region of the stream."),
        Column("workload", "text", "Workload of the stream."),
        Column("kind", "choice", "Whether the row is history or forecast.", choices=("history", "forecast")),
        Column("p50", "number", "Median forecast (the actual on history rows).", "units", nullable=True),
        Column("planning_demand", "number", "Demand planned for (forecast rows).", "units", nullable=True),
        Column("model", "text", "The stream's forecast model (forecast rows; plans from before it was written: blank).",
               default=""),
    ),
    key=("quarter", "region", "workload"),
)


MODELS = Table(
    "forecast_models.csv",
    "A plan's forecast models per stream (the column the change report reads: which scale each stream was fitted on).",
    (
        Column("region", "text", "Region of the stream."),
        Column("workload", "text", "Workload of the stream."),
        Column("scale", "choice", "What the models were fitted on (blank: a stream with overrides only).",
               choices=("log", "units"), nullable=True),
    ),
    key=("region", "workload"),
    optional=True,
)


COSTS = Table(
    "costs.csv",
    "A plan's costs per quarter and category (the columns the change report reads).",
    (
        Column("quarter", "quarter", "Quarter."),
        Column("category", "text", "Cost category."),
        Column("usd", "number", "Nominal cost in the quarter.", "USD"),
        Column("in_objective", "bool", "Whether the row counts in the NPV."),
    ),
    key=("quarter", "category"),
    optional=True,
)


def read_plan_files(plan_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, float | None, pd.DataFrame | None,
                                             pd.DataFrame | None]:
    """(orders, forecast, objective_usd or None, costs or None, models or None) of the plan in
    `plan_dir`, quarters as text ('2027Q1'), indexed by spreadsheet row; ScenarioError listing
    every problem (file, row, column) otherwise. costs.csv and forecast_models.csv are optional:
    without them the report leaves costs, and scale changes, out."""
    plan_dir = Path(plan_dir)
    where = f"{plan_dir} (a plan directory)"
    missing = [table.file for table in (ORDERS, FORECAST) if not (plan_dir / table.file).is_file()]
    if missing:
        raise ScenarioError([Problem(name, None, None, "file not found: a plan directory holds it (written by "
                                     "planner plan or reforecast with csv among its --format)") for name in missing], where)
    problems = []
    orders, found, _ = read_table(plan_dir, ORDERS)  # the plan's other columns are not needed here
    problems += found
    forecast, found, _ = read_table(plan_dir, FORECAST)
    problems += found + _unplanned_forecast_rows(forecast)
    npv, found = _objective(plan_dir / "plan.json")
    problems += found
    costs, models = None, None
    if (plan_dir / COSTS.file).is_file():
        costs, found, _ = read_table(plan_dir, COSTS)
        problems += found
    if (plan_dir / MODELS.file).is_file():
        models, found, _ = read_table(plan_dir, MODELS)
        problems += found
    if problems:
        raise ScenarioError(problems, where)
    return (orders.assign(order_quarter=orders["order_quarter"].astype(str)),
            forecast.assign(quarter=forecast["quarter"].astype(str)), npv,
            None if costs is None else costs.assign(quarter=costs["quarter"].astype(str)), models)


def _unplanned_forecast_rows(forecast: pd.DataFrame) -> list[Problem]:
    blank = forecast[(forecast["kind"] == "forecast") & forecast["planning_demand"].isna()]
    return [Problem(FORECAST.file, int(row), "planning_demand", "is blank on a forecast row; expected a number (units)")
            for row in blank.index]


def _objective(path: Path) -> tuple[float | None, list[Problem]]:
    """plan.json's objective_usd; a plan written without --format json has none."""
    if not path.is_file():
        return None, []
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, [Problem(path.name, None, None, f"is not valid JSON ({error})")]
    if not isinstance(summary, dict):
        return None, [Problem(path.name, None, None, "expected a JSON object with the plan's objective_usd")]
    value = summary.get("objective_usd")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return None, [Problem(path.name, None, "objective_usd", f"got {value!r}; expected a number (USD)")]
    return value, []
