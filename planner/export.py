"""Write a plan's files (SCENARIO.md's output list) into a directory, all or nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd

from planner.atomic import atomic_directory, atomic_file
from planner.charts import forecast_chart, plan_chart
from planner.config import FILE as CONFIG_FILE
from planner.schema import TABLES
from planner.workbook import write_roadmap

FORMATS = ("xlsx", "csv", "json", "png")
PLAN_TABLES = ("orders", "fleet", "assignments", "power", "demand", "costs", "expansions", "factories")


def fingerprint(directory: Path) -> str:
    """SHA-256 over the names and contents of the scenario's input files (scenario.yaml and the
    CSVs the schema reads): ties a plan to its exact inputs. Only those: over every file in the
    folder, a spreadsheet's lock file (which names who has a CSV open, and when), a file
    browser's .DS_Store or the example's README changed it though no input had."""
    digest = hashlib.sha256()
    for name in sorted([CONFIG_FILE] + [table.file for table in TABLES]):
        path = Path(directory) / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format="%.6f")


def write_csv_file(frame: pd.DataFrame, path: str | Path) -> None:
    """One CSV on its own (diff's and backtest's --out): written atomically, like a staged output."""
    with atomic_file(path) as handle:
        write_csv(frame, handle)


def plan_json(context: dict) -> dict:
    run, plan, scenario = context["run"], context["plan"], context["scenario"]
    result = run.result
    return {
        "scenario": scenario.settings.name,
        "input_fingerprint": context["fingerprint"],
        "status": result.status,
        "objective_usd": plan.kpis["npv_usd"] if plan is not None else None,
        "currency": scenario.settings.currency,  # of every *_usd figure: the names are fixed, the money need not be USD
        "mip_gap": result.gap,
        "solve_seconds": result.seconds,
        # seconds HiGHS ran past its time limit and the watchdog's grace, in a step that does not
        # stop when interrupted (models/search.py, watched); 0 when the limit held
        "solve_overrun_seconds": result.overrun_s,
        # HiGHS did not stop there and the planner killed its process, keeping the best plan it had sent
        # (models/isolation.py)
        "solve_stopped_late": result.stopped_late,
        "solver": result.solver,
        "planning_quantile": scenario.settings.planning_quantile,
        "kpis": plan.kpis if plan is not None else {},
        "timings": run.timings,
        "model_size": run.size,
        "infeasibility": run.infeasibility,
        "unmet": [gap.record() for gap in run.unmet],
        "cloud": [gap.record() for gap in run.cloud],
        # why each line of orders.csv is bought, row for row (models/order_reasons.py)
        "order_reasons": [reason.record() for reason in run.orders],
        # why each line of expansions.csv is bought, row for row (models/block_reasons.py)
        "block_reasons": [reason.record() for reason in run.blocks],
        # a re-plan: order lines and racks changed against the previous plan by the cheapest plan
        # found and by the plan kept (models/steady.py); null for a plan made from scratch
        "previous_orders": dataclasses.asdict(result.steady) if result.steady is not None else None,
    }


def write_forecast_files(staging: Path, context: dict, formats) -> None:
    demand, scenario = context["demand"], context["scenario"]
    if "csv" in formats:
        write_csv(demand.table, staging / "forecast.csv")
        write_csv(demand.models, staging / "forecast_models.csv")
    if "png" in formats:
        settings = scenario.settings
        forecast_chart(demand.table, settings.forecast.quantiles, settings.planning_quantile, settings.compute_unit,
                       staging / "forecast.png", marked=demand.one_off_quarters, breaks=demand.breaks)


def write_plan_outputs(out_dir: Path, context: dict, formats=FORMATS) -> None:
    plan = context["plan"]
    with atomic_directory(out_dir) as staging:
        write_forecast_files(staging, context, formats)
        if "csv" in formats:
            for name in PLAN_TABLES:
                write_csv(plan.tables[name], staging / f"{name}.csv")
            if context.get("shadow_prices") is not None:
                write_csv(context["shadow_prices"], staging / "shadow_prices.csv")
            if context.get("changes") is not None:
                write_csv(context["changes"].orders, staging / "changes.csv")
                write_csv(context["changes"].forecast, staging / "forecast_changes.csv")
                write_csv(context["changes"].costs, staging / "cost_changes.csv")
                if context["changes"].actuals is not None:
                    write_csv(context["changes"].actuals, staging / "actuals_vs_forecast.csv")
                if context["changes"].earlier_forecasts is not None:
                    write_csv(context["changes"].earlier_forecasts, staging / "earlier_forecasts.csv")
        if "json" in formats:
            (staging / "plan.json").write_text(json.dumps(plan_json(context), indent=2, default=str))
        if "png" in formats:
            plan_chart(plan, context["scenario"].settings.compute_unit, staging / "plan.png")
        if "xlsx" in formats:
            write_roadmap(staging / "roadmap.xlsx", context)
