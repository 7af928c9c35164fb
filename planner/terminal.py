"""What the commands print on the terminal: the plan's summary and tables as plain text."""

from __future__ import annotations

import pandas as pd
from pandas.api.types import is_numeric_dtype

from models.runs import figure


def text_table(frame) -> str:
    """The frame as plain text for the terminal, names left-aligned so a factory or rack type reads
    down its column, numbers right-aligned (pandas' to_string right-aligns every column)."""
    columns = []
    for name in frame.columns:
        cells = [name] + frame[name].map(lambda value: "" if pd.isna(value) else str(value)).tolist()
        width = max(len(cell) for cell in cells)
        align = str.rjust if is_numeric_dtype(frame[name]) else str.ljust
        columns.append([align(cell, width) for cell in cells])
    return "\n".join("  ".join(row).rstrip() for row in zip(*columns))


def gap_text(gap: float | None) -> str:
    """A plan stopped by the watchdog may have no valid bound, so no gap to report."""
    return "gap unknown (no bound)" if gap is None else f"gap {gap:.3%}"


def stopped_at_time_limit(result, options) -> str:
    """The warning for a plan the time limit stopped short of the target gap: it is a valid plan,
    and the reader should know how much cheaper one might be before placing orders from it."""
    limit = f"the solve stopped at its time limit of {options.time_limit_s:g} s"
    advice = "a longer --time-limit (solver.time_limit_s) may find a cheaper plan"
    if result.gap is None:
        return f"{limit} with no bound, so how far this plan is from the best is unknown; {advice}"
    apart = result.objective_musd - result.bound_musd
    return (f"{limit}, {result.gap:.3%} of the plan's spend ({apart:,.1f} M discounted) from the best possible, "
            f"short of the {options.mip_gap:.2%} target (solver.mip_gap); the plan is feasible and checked, but "
            f"{advice}")


GAP_LINES_SHOWN = 8


def _gap_lines(title: str, gaps, key: str) -> list[str]:
    """Why demand is left unmet or served from cloud, a line per stream and run of quarters; the
    rest in plan.json and the workbook."""
    if not gaps:
        return []
    lines = [f"  {title}:"] + [f"    {gap.text}" for gap in gaps[:GAP_LINES_SHOWN]]
    if len(gaps) > GAP_LINES_SHOWN:
        lines.append(f"    ... and {len(gaps) - GAP_LINES_SHOWN} more (plan.json '{key}', workbook sheet Cloud and unmet)")
    return lines


def summary_text(context: dict) -> str:
    plan, run, settings = context["plan"], context["run"], context["scenario"].settings
    kpis = plan.kpis
    lines = [
        f"Plan for '{settings.name}' ({settings.quarters[0]} to {settings.quarters[-1]}, P{settings.planning_quantile * 100:g} demand)",
        f"  status: {run.result.status}, {gap_text(run.result.gap)} ({run.result.solver})",
        f"  NPV: {kpis['npv_usd'] / 1e6:,.1f} M{settings.currency}; capex paid in horizon {kpis['capex_paid_usd'] / 1e6:,.1f} M",
        f"  cloud spend: {figure(kpis['cloud_spend_usd'] / 1e6, 1)} M; "
        f"unmet demand: {figure(kpis['unmet_unit_quarters'])} unit-quarters",
    ]
    lines += _gap_lines("why demand is unmet", run.unmet, "unmet") + _gap_lines("why cloud is used", run.cloud, "cloud")
    lines.append("  racks ordered by type and year:")
    lines += [f"    {key}: {n}" for key, n in kpis["racks_ordered_by_type_and_year"].items()] or ["    none"]
    lines.append("  peak facility MW per site:")
    lines += [f"    {site}: {mw:,.1f}" for site, mw in kpis["peak_facility_mw_by_site"].items()]
    return "\n".join(lines)
