"""Read back the plan files other commands consume (`reforecast --previous`, `diff`), checked
like scenario files.

A plan directory is an input to those commands: it may be an old plan, one edited by hand in a
spreadsheet, or not a plan at all. Read unchecked, a missing column surfaced as an internal
error (KeyError) instead of a message naming the file, row and column.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd

from forecasts import column_quantile
from planner.problems import Problem, ScenarioError
from planner.schema import Column, Table
from planner.tables import read_table
from planner.text_files import not_a_file

QUARTER = Column("quarter", "quarter", "Quarter.")
STREAM = (Column("region", "text", "Region of the stream."), Column("workload", "text", "Workload of the stream."))

ORDERS = Table(
    "orders.csv",
    "A plan's orders (the columns the change report and the roll-forward read).",
    (
        Column("order_quarter", "quarter", "Quarter the order is placed."),
        Column("online_quarter", "quarter", "Quarter the racks come online (blank: the change report cannot say "
               "why a changed line changed).", nullable=True),
        Column("factory", "text", "Factory the racks go to."),
        Column("rack_type", "text", "Rack type ordered."),
        Column("racks", "int", "Racks ordered (a plan writes no line of 0).", "racks", ge=1),
        Column("locked", "bool", "Whether the order was given in the scenario (placed before the plan): without it a "
               "roll-forward would carry the scenario's orders a second time."),
    ),
    key=("order_quarter", "factory", "rack_type", "locked"),
)
FORECAST = Table(
    "forecast.csv",
    "A plan's demand: history and forecast rows per stream.",
    (
        QUARTER,
        *STREAM,
        Column("kind", "choice", "Whether the row is history or forecast.", choices=("history", "forecast")),
        Column("p50", "number", "Median forecast (the actual on history rows).", "units", nullable=True),
        Column("planning_demand", "number", "Demand planned for (forecast rows).", "units", nullable=True),
        Column("model", "text", "The stream's forecast model (forecast rows; plans from before it was written: blank).",
               default=""),
        Column("override_delta", "number", "Known deals added to the forecast (plans from before it was written: 0).",
               "units", default=0.0),
    ),
    key=("quarter", "region", "workload"),
)


MODELS = Table(
    "forecast_models.csv",
    "A plan's forecast models per stream (the column the change report reads: which scale each stream was fitted on).",
    (
        *STREAM,
        Column("scale", "choice", "What the models were fitted on (blank: a stream with overrides only).",
               choices=("log", "units"), nullable=True),
    ),
    key=("region", "workload"),
    optional=True,
)


RECORD = Table(
    "actuals_vs_forecast.csv",
    "A re-forecast plan's record of actuals against the forecasts made before them (planner/actuals_record.py): "
    "the next re-forecast carries it on.",
    (
        Column("quarter", "quarter", "Quarter of the actual."),
        *STREAM,
        Column("position", "text", "Where the actual fell among that forecast's quantiles.", default=""),
        Column("band", "text", "That forecast's outer quantiles, e.g. P10-P90.", default=""),
        Column("quarters_ahead", "int", "Quarters between the last actual the forecast knew and this one (records "
               "from before it was written held the previous plan's forecast alone: 1).", "quarters", default=1, ge=1),
        Column("actual", "number", "Actual demand.", "units", ge=0),
        Column("previous_planned", "number", "Demand the plan that made the forecast was made for.", "units", ge=0),
        Column("previous_deals", "number", "Known deals (demand_overrides.csv) in that plan's demand.", "units"),
        Column("previous_p50", "number", "That plan's P50 forecast with known deals.", "units", nullable=True),
        Column("previous_low", "number", "The band's low end with known deals.", "units", nullable=True),
        Column("previous_high", "number", "The band's high end with known deals.", "units", nullable=True),
        Column("above_planned_units", "number", "How far the actual exceeded the demand planned for.", "units", ge=0),
    ),
    key=("quarter", "region", "workload", "quarters_ahead"),
    optional=True,
)


EARLIER = Table(
    "earlier_forecasts.csv",
    "A re-forecast plan's copy of the forecasts the plans before it made of the quarters still to come "
    "(planner/actuals_record.py): the next re-forecast scores its actuals against them, with the quantile "
    "columns each plan had (blank where a plan had not that quantile).",
    (
        Column("last_actual_quarter", "quarter", "The last quarter of actuals the plan that made the forecast knew."),
        Column("quarter", "quarter", "Quarter forecast."),
        *STREAM,
        Column("planning_demand", "number", "Demand that plan was made for.", "units", ge=0),
        Column("override_delta", "number", "Known deals in it.", "units", default=0.0),
    ),
    key=("last_actual_quarter", "quarter", "region", "workload"),
    optional=True,
)


ASSIGNMENTS = Table(
    "assignments.csv",
    "A plan's racks in use per quarter, factory, rack type and stream (the change report reads which streams "
    "a changed order line's racks serve).",
    (
        QUARTER,
        Column("factory", "text", "Factory of the racks."),
        Column("rack_type", "text", "Rack type."),
        *STREAM,
        Column("racks", "number", "Racks in use for the stream.", "racks", ge=0),
        Column("units", "number", "Demand served (blank: the change report gives no racks' worth).", "units",
               ge=0, nullable=True),
    ),
    key=("quarter", "factory", "rack_type", "region", "workload"),
    optional=True,
)


COSTS = Table(
    "costs.csv",
    "A plan's costs per quarter and category (the columns the change report reads).",
    (
        QUARTER,
        Column("category", "text", "Cost category."),
        Column("usd", "number", "Nominal cost in the quarter.", "USD"),
        Column("in_objective", "bool", "Whether the row counts in the NPV."),
    ),
    key=("quarter", "category"),
    optional=True,
)


def read_plan_files(plan_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, float | None, pd.DataFrame | None,
                                             pd.DataFrame | None, pd.DataFrame | None, float | None,
                                             pd.DataFrame | None, pd.DataFrame | None]:
    """(orders, forecast, objective_usd or None, costs or None, models or None, record or None,
    planning_quantile or None, earlier forecasts or None, assignments or None) of the plan in
    `plan_dir`, quarters as text ('2027Q1'), indexed by spreadsheet row; ScenarioError listing
    every problem (file, row, column) otherwise. costs.csv, forecast_models.csv,
    actuals_vs_forecast.csv, earlier_forecasts.csv and assignments.csv are optional: without them
    the report leaves costs, scale changes, the earlier quarters' record of actuals, the forecasts
    of plans before this one and the streams a changed order line serves out."""
    plan_dir = Path(plan_dir)
    where = f"{plan_dir} (a plan directory)"
    missing = [table.file for table in (ORDERS, FORECAST) if not (plan_dir / table.file).is_file()]
    # a scenario given for its plan, or a re-forecast's --out for the plan inside it: say so, not what it lacks
    if missing and (plan_dir / "scenario.yaml").is_file():
        raise ScenarioError([Problem("scenario.yaml", None, None, "this is a scenario directory, not a plan: give the "
                                     "directory planner plan wrote with --out (for a re-forecast: its --out/plan)")],
                            where)
    if missing and all((plan_dir / "plan" / name).is_file() for name in missing):
        raise ScenarioError([Problem("plan", None, None, f"this is a re-forecast's output, whose plan is in "
                                     f"{plan_dir / 'plan'}: give that directory")], where)
    if missing:  # a link to a moved file, or a folder, is named as such (as read_table names it for the others)
        raise ScenarioError([not_a_file(plan_dir / name, name)
                             or Problem(name, None, None, "file not found: a plan directory holds it (written by "
                                        "planner plan or reforecast with csv among its --format)") for name in missing],
                            where)
    problems = []
    orders, found, _ = read_table(plan_dir, ORDERS)  # the plan's other columns are not needed here
    problems += found
    forecast, found, _ = read_table(plan_dir, _with_quantile_columns(FORECAST, plan_dir))
    problems += found + _unplanned_forecast_rows(forecast)
    npv, quantile, found = _plan_summary(plan_dir / "plan.json")
    problems += found
    optional = {}
    for table in (COSTS, MODELS, RECORD, _with_quantile_columns(EARLIER, plan_dir), ASSIGNMENTS):
        if (plan_dir / table.file).is_file():
            optional[table.file], found, _ = read_table(plan_dir, table)
            problems += found
    if problems:
        raise ScenarioError(problems, where)
    costs, models, record, earlier, assignments = (optional.get(table.file)
                                                   for table in (COSTS, MODELS, RECORD, EARLIER, ASSIGNMENTS))
    return (_quarters_as_text(orders, ("order_quarter", "online_quarter")),
            _quarters_as_text(forecast), npv, _quarters_as_text(costs), models,
            _quarters_as_text(record), quantile, _quarters_as_text(earlier, ("last_actual_quarter", "quarter")),
            _quarters_as_text(assignments))


def _quarters_as_text(frame: pd.DataFrame | None, columns=("quarter",)) -> pd.DataFrame | None:
    """The frame with its quarter columns as text ('2027Q1'); a blank quarter stays None."""
    if frame is None:
        return None
    return frame.assign(**{column: frame[column].astype(str).where(frame[column].notna(), None) for column in columns})


def _with_quantile_columns(table: Table, plan_dir: Path) -> Table:
    """`table` with the quantile columns its file's header has besides those declared (the
    scenario chose them: p10 and p90 by default, any list it gives), each a number or blank: the
    record of actuals against the forecast reads the band (planner/actuals_record.py)."""
    try:
        with (plan_dir / table.file).open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return table  # read_table reports it (an optional file that is not there is no problem)
    declared = {column.name for column in table.columns}
    extra = tuple(Column(name, "number", f"Forecast quantile {name[1:]}% (the actual on history rows).", "units",
                         nullable=True)
                  for name in dict.fromkeys(cell.strip() for cell in header)
                  if column_quantile(name) is not None and name not in declared)
    return replace(table, columns=table.columns + extra)


def _unplanned_forecast_rows(forecast: pd.DataFrame) -> list[Problem]:
    blank = forecast[(forecast["kind"] == "forecast") & forecast["planning_demand"].isna()]
    return [Problem(FORECAST.file, int(row), "planning_demand", "is blank on a forecast row; expected a number (units)")
            for row in blank.index]


def _plan_summary(path: Path) -> tuple[float | None, float | None, list[Problem]]:
    """plan.json's objective_usd and planning_quantile; a plan written without --format json
    (or before it recorded the quantile) has none."""
    if not path.is_file():
        return None, None, []
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, None, [Problem(path.name, None, None, f"is not valid JSON ({error})")]
    if not isinstance(summary, dict):
        return None, None, [Problem(path.name, None, None, "expected a JSON object with the plan's objective_usd")]
    value, quantile = summary.get("objective_usd"), summary.get("planning_quantile")
    problems = []
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
        # json reads NaN, Infinity and 1e999, which no plan writes: an NPV of inf was reported as such
        problems.append(Problem(path.name, None, "objective_usd", f"got {value!r}; expected a finite number (USD)"))
    if quantile is not None and (isinstance(quantile, bool) or not isinstance(quantile, (int, float))
                                 or not 0 < quantile < 1):
        problems.append(Problem(path.name, None, "planning_quantile", f"got {quantile!r}; expected a number between 0 and 1"))
    return (None, None, problems) if problems else (value, quantile, [])
