"""roadmap.xlsx: the procurement workbook, opened by procurement as it is.

One sheet per view of the plan (orders, roadmap, power, demand, costs, shadow prices, the
inputs as loaded), each table written by planner.xlsx_tables; native charts on the Summary
sheet; every sheet printed landscape, one page wide.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RichTextProperties
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from models.inputs import SUNK_ANNUITY, UNMET_PENALTY
from models.order_reasons import never_in_use
from models.runs import figure
from planner.actuals_record import band_shares
from planner.charts import NEVER_USED, never_used_sites, site_colors
from planner.reference import yaml_text
from planner.terminal import steady_text
from planner.xlsx_tables import (CURRENCY, GAP, MW, TITLE_FONT, USD, WHOLE, bold, fit_header_rows, in_currency,
                                 text_line, text_safe, write_table)

QUARTER_LABEL_ROTATION = -45  # degrees: the charts' quarter labels, so a horizon of quarters never overlaps
REASONS_WIDTH = 80  # characters: the Cloud and unmet sheet's reasons and the Forecast models sheet's why, wrapped
GAPS_SHEET = "Cloud and unmet"
BLOCKS_SHEET = "Power blocks"  # power_expansions ordered: only when the plan orders any
RECORD_SHEET = "Actuals record"  # after a re-forecast: actuals_vs_forecast.csv as a sheet

RED, AMBER = "F8696B", "FFEB84"  # conditional formats: at a limit, near it (or outside a band)


def write_roadmap(path, context: dict) -> None:
    """context: scenario, plan, demand (DemandForecast), shadow_prices, run, fingerprint, changes (optional)."""
    currency = CURRENCY.set(context["scenario"].settings.currency)
    try:
        _write_roadmap(path, context)
    finally:
        CURRENCY.reset(currency)


def _write_roadmap(path, context: dict) -> None:
    scenario, plan = context["scenario"], context["plan"]
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    _summary(summary, context)
    racks, pue = scenario.racks.set_index("rack_type"), scenario.sites.set_index("site")["pue"]
    orders = plan.orders.assign(
        vendor=plan.orders["rack_type"].map(racks["vendor"]),
        accelerators=plan.orders["racks"] * plan.orders["rack_type"].map(racks["accelerators_per_rack"]),
        # what procurement must line up with the site: the facility power the order draws once online
        facility_mw=plan.orders["racks"] * plan.orders["rack_type"].map(racks["kw_per_rack"])
        * plan.orders["site"].map(pue) / 1000,
        reasons=[reason.text for reason in context["run"].orders])  # models/order_reasons.py, row for row
    _orders(book.create_sheet("Orders"), orders)
    if len(plan.expansions):
        _power_blocks(book.create_sheet(BLOCKS_SHEET), plan.expansions, context["run"].blocks)
    _roadmap(book.create_sheet("Roadmap"), plan)
    _power(book.create_sheet("Power"), plan)
    _demand(book.create_sheet("Demand"), plan, context["demand"], scenario)
    gaps = context["run"].cloud + context["run"].unmet
    if gaps:
        _service_gaps(book.create_sheet(GAPS_SHEET), gaps)
    _forecast_models(book.create_sheet("Forecast models"), context["demand"].models)
    _costs(book.create_sheet("Costs"), plan)
    _cash_by_year(book.create_sheet("Cash by year"), plan)
    prices = context.get("shadow_prices")
    if prices is not None:
        _shadow_prices(book.create_sheet("Shadow prices"), prices)
    if context.get("changes") is not None:
        _changes(book.create_sheet("Changes", 1), context["changes"])
        if _has_record(context["changes"]):
            _actuals_record(book.create_sheet(RECORD_SHEET, 2), context["changes"].actuals)
    _assumptions(book.create_sheet("Assumptions"), scenario)
    _charts(book, summary, plan)
    for sheet in book.worksheets:
        fit_header_rows(sheet)
        _print_setup(sheet)
    book.save(path)


def _print_setup(sheet) -> None:
    """Print as procurement reads: landscape, every column on one page width, a table's header row
    repeated on each page. Without it LibreOffice printed sovereign-eu's roadmap on 75 portrait
    pages, tables cut after a few columns and charts cut in half."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0  # 0: as many pages tall as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if sheet.freeze_panes:  # a table from row 1: its header is the row above the frozen pane
        header_row = sheet[sheet.freeze_panes].row - 1
        sheet.print_title_rows = f"1:{header_row}"


def _summary(sheet, context: dict) -> None:
    scenario, plan, run = context["scenario"], context["plan"], context["run"]
    settings = scenario.settings
    text_line(sheet, 1, f"Procurement roadmap: {settings.name}", TITLE_FONT)
    kpis = plan.kpis
    rows = [
        ("Created", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("Input fingerprint (SHA-256)", context["fingerprint"]),
        ("Horizon", f"{settings.quarters[0]} to {settings.quarters[-1]} ({settings.horizon_quarters} quarters)"),
        ("Planning quantile", f"P{settings.planning_quantile * 100:g}"),
        ("Compute unit", settings.compute_unit),
        ("Solver", run.result.solver),
        ("Status", run.result.status),
        ("Optimality gap", run.result.gap),
        *([("Previous plan's orders", steady_text(run.result.steady, sentence=True))] if run.result.steady is not None else []),
        ("NPV of the plan (USD)", kpis["npv_usd"]),
        ("Capex paid in the horizon (USD)", kpis["capex_paid_usd"]),
        ("Cloud spend (USD)", kpis["cloud_spend_usd"]),
        ("Unmet demand (unit-quarters)", kpis["unmet_unit_quarters"]),
        ("Why cloud or unmet", f"{len(run.cloud)} stream-periods on cloud and {len(run.unmet)} unmet, each with its "
         f"reasons: see the {GAPS_SHEET} sheet" if run.cloud or run.unmet else "neither"),
        ("Racks never in use within the horizon", _never_in_use_text(plan, run.orders)),
        ("Power blocks ordered", _blocks_text(plan.expansions)),
        ("Cost per compute unit-quarter (USD)", kpis["cost_per_unit_quarter_usd"]),
    ]
    rows += [(f"Racks ordered: {rack}", n) for rack, n in kpis["racks_ordered"].items()]
    rows += [(f"Peak facility MW: {site}", mw) for site, mw in kpis["peak_facility_mw_by_site"].items()]
    for index, (label, value) in enumerate(rows, start=3):
        label_cell, value_cell = sheet.cell(index, 1, in_currency(label)), sheet.cell(index, 2, value)
        label_cell.font = bold()
        text_safe(label_cell)
        text_safe(value_cell)
        if isinstance(value, float):
            value_cell.number_format = GAP if label == "Optimality gap" else (MW if "MW" in label else USD)
    sheet.column_dimensions["A"].width = 38
    sheet.column_dimensions["B"].width = 70


def _never_in_use_text(plan, reasons) -> str:
    """A zero-demand plan's racks bought for a commitment must show on the first sheet, not only
    in the Orders sheet's Why."""
    racks, capex = never_in_use(reasons, plan.orders)
    if not racks:
        return "none: every rack ordered is in use within the horizon" if len(plan.orders) else "none"
    return (f"{racks:,} of {int(plan.orders['racks'].sum()):,} ordered ({figure(capex / 1e6, 1)} M of capex), "
            "each line with why: see the Orders sheet")


def _blocks_text(expansions: pd.DataFrame) -> str:
    if expansions.empty:
        return "none"
    return (f"{int(expansions['blocks'].sum())} ({figure(float((expansions['blocks'] * expansions['block_mw']).sum()), 1)} MW, "
            f"{figure(float(expansions['capex_usd'].sum()) / 1e6, 1)} M), each with when its site needs it: "
            f"see the {BLOCKS_SHEET} sheet")


def _roadmap(sheet, plan) -> None:
    fleet = plan.fleet.assign(quarter=plan.fleet["quarter"].map(lambda q: f"{q.year}Q{q.quarter}"))
    pivot = fleet.pivot_table(index=["factory", "rack_type"], columns="quarter", values="racks_online",
                              aggfunc="sum", fill_value=0).reset_index()
    pivot.columns = [str(c) for c in pivot.columns]
    write_table(sheet, pivot)
    for row in sheet.iter_rows(min_row=2, min_col=3):
        for cell in row:
            cell.number_format = WHOLE


def _power(sheet, plan) -> None:
    power = plan.power.assign(
        it_mw=plan.power["it_kw"] / 1000, facility_mw=plan.power["facility_kw"] / 1000,
        capacity_mw=plan.power["capacity_kw"] / 1000)
    power["utilization"] = (power["facility_mw"] / power["capacity_mw"]).where(power["capacity_mw"] > 0, 0.0)
    frame = power[["quarter", "site", "it_mw", "facility_mw", "capacity_mw", "utilization", "expansion_blocks_online"]]
    last = write_table(sheet, frame) - 2
    column = get_column_letter(list(frame.columns).index("utilization") + 1)
    cells = f"{column}2:{column}{max(last, 2)}"
    sheet.conditional_formatting.add(cells, CellIsRule(operator="greaterThanOrEqual", formula=["0.95"],
                                                       fill=_rule_fill(RED)))
    sheet.conditional_formatting.add(cells, CellIsRule(operator="between", formula=["0.8", "0.95"],
                                                       fill=_rule_fill(AMBER)))


def _rule_fill(colour: str) -> PatternFill:
    """A conditional format's fill. Excel paints a rule's solid fill in its background colour and
    LibreOffice in its foreground one, so both are set, as openpyxl's own example does (with the
    foreground alone Excel is reported to show no colour: randym/axlsx#218)."""
    return PatternFill("solid", fgColor=colour, bgColor=colour)


def _demand(sheet, plan, demand, scenario) -> None:
    shown = [c for c in demand.table.columns if c.startswith("p") and c[1:].replace(".", "").isdigit()]
    forecast = demand.table[demand.table["kind"] == "forecast"][["quarter", "region", "workload", *shown, "override_delta"]]
    frame = forecast.merge(plan.demand, on=["quarter", "region", "workload"], how="right")
    columns = ["quarter", "region", "workload", *shown, "override_delta", "demand", "served_factory", "served_cloud", "unmet"]
    write_table(sheet, frame[columns])


def _orders(sheet, orders: pd.DataFrame) -> None:
    """The order lines procurement signs, each with why it is bought (its racks in use from when,
    for which streams, or the rule that needs racks no demand uses), wrapped."""
    shown = orders[["order_quarter", "online_quarter", "factory", "site", "vendor", "rack_type", "racks",
                    "accelerators", "facility_mw", "capex_usd", "locked", "reasons"]]
    write_table(sheet, shown)
    _wrapped(sheet, len(shown.columns))


def _power_blocks(sheet, expansions: pd.DataFrame, reasons) -> None:
    """The power blocks ordered, each with when its site's load needs it: a facilities contract
    placed years ahead, which the Power sheet's blocks online per quarter does not date."""
    shown = expansions.assign(reasons=[reason.text for reason in reasons])[  # models/block_reasons.py, row for row
        ["order_quarter", "online_quarter", "site", "blocks", "block_mw", "capex_usd", "reasons"]]
    write_table(sheet, shown)
    _wrapped(sheet, len(shown.columns))


def _service_gaps(sheet, gaps) -> None:
    """One row per stream and run of quarters on cloud or unmet with the same reasons, the reasons in words."""
    frame = pd.DataFrame([{"served_by": g.served_by, "region": g.region, "workload": g.workload,
                           "first_quarter": str(g.first_quarter), "last_quarter": str(g.last_quarter),
                           "quarters": g.quarters, "unit_quarters": g.unit_quarters, "reasons": "; ".join(g.reasons)}
                          for g in gaps])
    write_table(sheet, frame)
    _wrapped(sheet, len(frame.columns))


def _forecast_models(sheet, models: pd.DataFrame) -> None:
    """The model per stream and why, the why wrapped: it names one-off quarters and breaks with their
    effect in full sentences, which a 45-character column cut off at the next cell."""
    write_table(sheet, models)
    _wrapped(sheet, models.columns.get_loc("why") + 1)


def _wrapped(sheet, column: int, first_row: int = 2, last_row: int | None = None) -> None:
    """Wrap a table's text column (1-based) at REASONS_WIDTH characters, each row tall enough for it
    (rows `first_row` to `last_row`: a sheet that stacks tables wraps one of them)."""
    letter = get_column_letter(column)
    sheet.column_dimensions[letter].width = REASONS_WIDTH
    for row in sheet.iter_rows(min_row=first_row, max_row=last_row):
        for cell in row:
            cell.alignment = Alignment(wrap_text=cell.column_letter == letter, vertical="top",
                                       horizontal=cell.alignment.horizontal, indent=cell.alignment.indent)
        # LibreOffice does not grow a row for wrapped text that openpyxl wrote: set the height
        text = str(row[column - 1].value or "")
        sheet.row_dimensions[row[0].row].height = 15 * max(1, math.ceil(len(text) / REASONS_WIDTH))


def _shadow_prices(sheet, prices: pd.DataFrame) -> None:
    """The prices, with the condition they hold under said once above them: as a column it was the
    same 95-character sentence on every row, cut off at the printed page's edge (shadow_prices.csv
    keeps the column, for scripts)."""
    conditions = prices["condition"].unique()
    if len(conditions) != 1:
        write_table(sheet, prices)
        return
    write_table(sheet, prices.drop(columns="condition"), note=f"Every value is {conditions[0]}.")


def _costs(sheet, plan) -> None:
    costs = plan.costs
    write_table(sheet, costs)
    totals = costs.groupby(["category", "in_objective"], as_index=False)[["usd", "usd_discounted"]].sum()
    sheet_row = sheet.max_row + 2
    write_table_at = write_table(sheet, totals, start_row=sheet_row, title="Totals by category")
    sheet.cell(write_table_at, 1, "NPV (discounted, rows in NPV)").font = bold()
    cell = sheet.cell(write_table_at, 4, float(costs.loc[costs["in_objective"], "usd_discounted"].sum()))
    cell.number_format = USD


# how capex enters the NPV (and would have, for racks ordered before the plan), and a penalty nobody pays
NOT_CASH = ("capex_annuity", SUNK_ANNUITY, UNMET_PENALTY)


def _cash_by_year(sheet, plan) -> None:
    """What is paid per calendar year and category, nominal: the view finance budgets in (the
    NPV's capex annuity and unmet penalty are not payments)."""
    costs = plan.costs[~plan.costs["category"].isin(NOT_CASH)]
    table = costs.assign(year=costs["quarter"].map(lambda q: q.year)).pivot_table(
        index="year", columns="category", values="usd", aggfunc="sum", fill_value=0.0)
    table["total"] = table.sum(axis=1)
    table = table.reset_index()
    table.columns = [str(c) for c in table.columns]
    write_table(sheet, table)
    for row in sheet.iter_rows(min_row=2, min_col=2):
        for cell in row:
            cell.number_format = USD


SUMMARY_ROWS = 5  # the Changes sheet's summary is merged over A2:H6


def _has_record(changes) -> bool:
    return changes.actuals is not None and len(changes.actuals) > 0


def _changes(sheet, changes) -> None:
    """Plain-language summary on top, then order lines that changed, then the forecast per stream,
    costs and (after a re-forecast) how often actuals fell outside the band per quarters ahead; each
    actual against the forecasts made before it is on the record's own sheet."""
    text_line(sheet, 1, "What changed since the previous plan", TITLE_FONT)
    sheet["A2"] = changes.summary
    text_safe(sheet["A2"])
    sheet["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(f"A2:H{1 + SUMMARY_ROWS}")
    first = 3 + SUMMARY_ROWS
    row = write_table(sheet, changes.orders, start_row=first, title="Orders: previous vs new racks, and why")
    _wrapped(sheet, changes.orders.columns.get_loc("reasons") + 1, first + 2, row - 2)  # its rows: below title and header
    row = write_table(sheet, changes.forecast, start_row=row, title="Planned demand per stream (common quarters)")
    if len(changes.costs):
        sunk = " and, last, capex_annuity_sunk: racks ordered before each plan's start, not in the NPV" \
            if (changes.costs["category"] == SUNK_ANNUITY).any() else ""
        row = write_table(sheet, changes.costs, start_row=row,
                          title=f"Costs in the NPV per category (common quarters, nominal){sunk}")
    if _has_record(changes):
        shares = band_shares(changes.actuals)
        if len(shares):
            row = write_table(sheet, shares, start_row=row, title="Actuals outside the band over the whole record, "
                              "by quarters ahead the forecast was made")
        pointer = sheet.cell(row, 1, f"Each actual against the forecasts made before it: the {RECORD_SHEET} sheet.")
        pointer.hyperlink = Hyperlink(ref="", location=f"'{RECORD_SHEET}'!A1")  # a link within the workbook
        pointer.style = "Hyperlink"
    _summary_height(sheet, len(changes.summary))


# an actual above the band risks a shortfall (red, as a site at its power limit); one below it, idle racks (amber)
OUTSIDE_BAND_FILLS = {"above": RED, "below": AMBER}


def _actuals_record(sheet, record: pd.DataFrame) -> None:
    """Every actual against the forecasts made before it, the quarter just ended first. A sheet of
    its own, with the header frozen and a filter: it grows by a row per stream and forecast each
    roll (a year of nine streams is 90 rows), and a planner filters it to one stream or position.
    Positions outside the band are coloured, in the Power sheet's red and amber."""
    last = write_table(sheet, record.sort_values("quarter", ascending=False, kind="stable")) - 2
    column = get_column_letter(list(record.columns).index("position") + 1)
    for word, colour in OUTSIDE_BAND_FILLS.items():  # 'above P90', 'below P10' (or the scenario's outer quantiles)
        sheet.conditional_formatting.add(f"{column}2:{column}{max(last, 2)}", FormulaRule(
            formula=[f'LEFT({column}2,{len(word)})="{word}"'], fill=_rule_fill(colour)))


def _summary_height(sheet, characters: int) -> None:
    """Rows 2-6 tall enough for the merged summary once the tables below have set the column
    widths (a merged cell neither grows its rows nor shows what does not fit: the text was cut
    after about five lines). A character is taken at a column-width unit, a '0', which ordinary
    text is narrower than, plus a spare line."""
    width = sum(sheet.column_dimensions[get_column_letter(column)].width or 8.43 for column in range(1, 9))
    lines = math.ceil(characters / max(width, 1.0)) + 1
    for row in range(2, 2 + SUMMARY_ROWS):
        sheet.row_dimensions[row].height = max(15.0, 15.0 * lines / SUMMARY_ROWS)


def _assumptions(sheet, scenario) -> None:
    frame = pd.DataFrame(_flat_settings(scenario.settings.model_dump()), columns=["setting", "value"])
    row = write_table(sheet, frame, title="scenario.yaml")
    for name, table in scenario.tables.items():
        row = write_table(sheet, table.reset_index(drop=True), start_row=row, title=f"{name}.csv", as_named=True)


def _flat_settings(settings: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Dotted keys as the README's format reference names them (forecast.scale_by_stream.eu-de/training),
    values as scenario.yaml spells them."""
    flat = []
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            flat += _flat_settings(value, f"{prefix}{key}.")
        else:
            flat.append((f"{prefix}{key}", yaml_text(value)))
    return flat


def _finish(chart, number_format: str) -> None:
    """Straight lines (smoothing draws capacity steps as overshooting curves) and readable axes."""
    for series in chart.series:
        series.smooth = False
    chart.y_axis.numFmt = number_format
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.x_axis.txPr = _rotated(QUARTER_LABEL_ROTATION)
    chart.legend.position = "b"


def _rotated(degrees: int) -> RichText:
    """Axis label text turned by `degrees` (negative: reading upwards). LibreOffice turns crowded
    labels of a bar chart but not of a line chart, where 16 quarters ran into one another."""
    return RichText(bodyPr=RichTextProperties(rot=degrees * 60000, vert="horz"),  # in 1/60000 of a degree
                    p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties()), endParaRPr=CharacterProperties())])


def _charts(book, summary, plan) -> None:
    """Three native Excel charts on the Summary sheet, fed from a 'Chart data' sheet."""
    data = book.create_sheet("Chart data")
    demand = plan.demand.groupby("quarter")[["demand", "served_factory", "served_cloud", "unmet"]].sum().reset_index()
    row = _chart(data, summary, demand, 1, LineChart(), "Demand vs served", "compute units", WHOLE, "D3")

    power = plan.power.assign(used=plan.power["facility_kw"] / 1000, available=plan.power["capacity_kw"] / 1000)
    wide = power.pivot_table(index="quarter", columns="site", values=["used", "available"]).sort_index()
    lines = list(wide.columns)  # (kind, site), a series each
    unused = never_used_sites(plan.power)
    wide.columns = [f"{site} {kind} MW" + (NEVER_USED if kind == "used" and site in unused else "") for kind, site in lines]
    power_chart = LineChart()
    row = _chart(data, summary, wide.reset_index(), row, power_chart, "Facility MW used vs available", "MW", MW, "D22")
    _site_lines(power_chart, lines)

    costs = plan.costs[plan.costs["in_objective"]]
    spend = costs.pivot_table(index="quarter", columns="category", values="usd", aggfunc="sum", fill_value=0.0).reset_index()
    bars = BarChart()
    bars.type, bars.grouping, bars.overlap = "col", "stacked", 100
    _chart(data, summary, spend, row, bars, "Spend per quarter by category (NPV basis)", in_currency("USD"), USD, "D41")


def _site_lines(chart, lines: list[tuple[str, str]]) -> None:
    """A site's two lines in its colour of plan.png, used solid and available dashed: twelve lines
    in twelve colours left a reader matching each to the legend."""
    sites = sorted({site for _, site in lines})
    colors = dict(zip(sites, site_colors(len(sites))))
    for series, (kind, site) in zip(chart.series, lines):
        line = series.graphicalProperties.line
        line.solidFill = colors[site].lstrip("#").upper()
        line.width = 22860 if kind == "used" else 12700  # EMU: 1.8 pt and 1 pt, as plan.png draws them
        if kind == "available":
            line.dashStyle = "dash"


def _chart(data, summary, frame: pd.DataFrame, start: int, chart, title: str, axis_title: str,
           number_format: str, anchor: str) -> int:
    """Write `frame` (first column = categories) at `start` on the data sheet under the chart's
    title, the columns named by site or cost category shown as the axis shows them, chart every
    other column on the summary at `anchor`; return the next free row of the data sheet. Titled,
    the sheet repeats no header on its printed pages: the first table's had headed the MW table's."""
    next_row = write_table(data, frame, start_row=start, title=f"{title} (the Summary sheet's chart)", filters=False,
                           number_format=number_format)
    header = start + 1
    end = header + len(frame)
    chart.title, chart.y_axis.title, chart.height, chart.width = title, axis_title, 9, 22
    chart.add_data(Reference(data, min_col=2, max_col=len(frame.columns), min_row=header, max_row=end),
                   titles_from_data=True)
    chart.set_categories(Reference(data, min_col=1, min_row=header + 1, max_row=end))
    _finish(chart, number_format)
    summary.add_chart(chart, anchor)
    return next_row
