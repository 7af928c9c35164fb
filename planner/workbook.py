"""roadmap.xlsx: the procurement workbook, opened by procurement as it is.

Every table sheet has a styled header with units, number formats, a frozen header row, an
auto-filter and fitted column widths. Text from inputs is always written as text, never as
a formula, even when it begins with = + - or @ (a site named =HYPERLINK(...) stays literal).
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RichTextProperties
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from planner.actuals_record import band_shares
from planner.pipeline import BACKTEST_MASE
from planner.reference import yaml_text


def _bold(**options) -> Font:
    """A bold font in the workbook's own typeface (openpyxl's default, Calibri). A Font without a
    name leaves the typeface to the reader: LibreOffice set such headers in a wider serif face, and
    the labels were cut off in their cells."""
    return Font(name=DEFAULT_FONT.name, bold=True, **options)


HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = _bold(color="FFFFFF")
TITLE_FONT = _bold(size=14)
RED, AMBER = "F8696B", "FFEB84"  # conditional formats: at a limit, near it (or outside a band)
USD, NUMBER, MW, PERCENT, WHOLE = '#,##0', '#,##0.00', '#,##0.0', '0.0%', '#,##0'
# LibreOffice imports a boolean as a number and spells it TRUE only under this format (Assumptions'
# liquid_cooled read 1, Orders' Locked TRUE, the XML the same); Excel keeps number formats off booleans
FLAG = '"TRUE";"TRUE";"FALSE"'
HEADER_LINES = 2  # a header label may wrap onto two lines, so a column of short numbers is not as wide as its label
HEADER_CHAR = 0.9  # column-width units (a body-font '0') per character of bold header text: seen to fit in LibreOffice
TEXT_INDENT = 1  # a text column right of a number column starts 3 spaces in: "69 the racks online ..." read as one phrase
INDENT_WIDTH = 1.5  # column-width units the indent takes (3 spaces of about half a '0' each)
INPUT_DECIMALS = 6  # at most, for an input's fractions on the Assumptions sheet: past that, a float's own noise
QUARTER_LABEL_ROTATION = -45  # degrees: the charts' quarter labels, so a horizon of quarters never overlaps
REASONS_WIDTH = 80  # characters: the Cloud and unmet sheet's reasons and the Forecast models sheet's why, wrapped
GAPS_SHEET = "Cloud and unmet"
RECORD_SHEET = "Actuals record"  # after a re-forecast: actuals_vs_forecast.csv as a sheet

# CSV column -> (header shown in Excel, number format). Reading a sheet back maps headers to columns.
HEADERS = {
    "order_quarter": ("Order quarter", None), "online_quarter": ("Online quarter", None), "quarter": ("Quarter", None),
    "factory": ("Factory", None), "site": ("Site", None), "vendor": ("Vendor", None), "rack_type": ("Rack type", None),
    "region": ("Region", None), "workload": ("Workload", None), "category": ("Category", None),
    "racks": ("Racks", WHOLE), "accelerators": ("Accelerators", WHOLE), "capex_usd": ("Capex (USD)", USD),
    "locked": ("Locked (already placed)", None), "racks_online": ("Racks online", WHOLE),
    "accelerators_online": ("Accelerators online", WHOLE), "units": ("Compute units", NUMBER),
    "it_mw": ("IT load (MW)", MW), "facility_mw": ("Facility load (MW)", MW), "capacity_mw": ("Available (MW)", MW),
    "utilization": ("Power used (%)", PERCENT), "expansion_blocks_online": ("Power blocks online", WHOLE),
    "demand": ("Demand planned for (units)", NUMBER), "served_factory": ("Served by factories (units)", NUMBER),
    "served_cloud": ("Served by cloud (units)", NUMBER), "unmet": ("Unmet (units)", NUMBER),
    "usd": ("Nominal (USD)", USD), "usd_discounted": ("Discounted to start (USD)", USD),
    "in_objective": ("In NPV", None), "family": ("Constraint", None), "key": ("Where", None),
    "value_usd": ("Value in its quarter (USD per unit)", USD),
    "value_usd_discounted": ("Value discounted (USD per unit)", USD),
    "value_from_here_usd_discounted": ("Value from this quarter on, discounted (USD per unit)", USD),
    "meaning": ("One more unit is", None), "condition": ("Condition", None),
    "override_delta": ("Known deals (units)", NUMBER),
    "model": ("Forecast model", None), "why": ("Why this model", None), "scale": ("Fitted on", None),
    "band_factor": ("Backtest factor on the models' spread", NUMBER),
    "first_quarter": ("From", None), "last_quarter": ("To", None), "quarters": ("Quarters", WHOLE),
    "served_by": ("Not on own racks", None), "unit_quarters": ("Unit-quarters", USD), "reasons": ("Why", None),
    "previous_racks": ("Racks before", WHOLE), "new_racks": ("Racks now", WHOLE), "difference": ("Difference", WHOLE),
    "change": ("Change", None), "moved": ("Moved", None), "quarters_compared": ("Quarters compared", WHOLE),
    "previous_units": ("Planned before (unit-quarters)", USD), "new_units": ("Planned now (unit-quarters)", USD),
    "change_units": ("Change (unit-quarters)", USD), "change_pct": ("Change (%)", PERCENT),
    "previous_model": ("Forecast model before", None), "new_model": ("Forecast model now", None),
    "previous_scale": ("Fitted on before", None), "new_scale": ("Fitted on now", None),
    "year": ("Year", None),
    "actual": ("Actual (units)", NUMBER), "previous_planned": ("Planned for before (units)", NUMBER),
    "previous_deals": ("Known deals before (units)", NUMBER),
    # the forecast as the plan used it: quantiles plus its known deals (the record's sheet has no title to say so)
    "previous_p50": ("P50 before, with deals (units)", NUMBER), "band": ("Band", None),
    "previous_low": ("Band low before, with deals (units)", NUMBER),
    "previous_high": ("Band high before, with deals (units)", NUMBER), "position": ("Where the actual fell", None),
    "above_planned_units": ("Above planned (units)", NUMBER), "quarters_ahead": ("Quarters ahead", WHOLE),
    "actuals": ("Actuals scored", WHOLE), "below_band": ("Below the band", WHOLE), "above_band": ("Above the band", WHOLE),
    "above_p50": ("Above P50", WHOLE), "share_below": ("Below the band (%)", PERCENT),
    "share_above": ("Above the band (%)", PERCENT), "share_above_p50": ("Above P50 (%)", PERCENT),
    "expected_below": ("Expected below (%)", PERCENT), "expected_above": ("Expected above (%)", PERCENT),
    "previous_usd": ("Before (USD)", USD), "new_usd": ("Now (USD)", USD), "change_usd": ("Change (USD)", USD),
}


def write_roadmap(path, context: dict) -> None:
    """context: scenario, plan, demand (DemandForecast), shadow_prices, run, fingerprint, changes (optional)."""
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
        * plan.orders["site"].map(pue) / 1000)
    write_table(book.create_sheet("Orders"), orders[["order_quarter", "online_quarter", "factory", "site", "vendor",
                                                     "rack_type", "racks", "accelerators", "facility_mw", "capex_usd",
                                                     "locked"]])
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


def _text_safe(cell) -> None:
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the text begins with


def _text_line(sheet, row: int, text: str, font: Font) -> None:
    """A line of text in column A (a title or a note above a table), written as text whatever it begins with."""
    cell = sheet.cell(row, 1, text)
    cell.font = font
    _text_safe(cell)


def _cell_value(value):
    if isinstance(value, pd.Period):
        return f"{value.year}Q{value.quarter}"
    if isinstance(value, tuple):
        return ";".join(map(str, value))
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _header(name: str) -> tuple[str, str | None]:
    """Label and number format of a column; forecast quantile columns (p10, p97.5) get theirs here."""
    if name in HEADERS:
        return HEADERS[name]
    if name.startswith("p") and name[1:].replace(".", "", 1).isdigit():
        return f"Forecast {name.upper()} (units)", NUMBER
    if name.startswith(BACKTEST_MASE):
        return f"Backtest MASE: {name[len(BACKTEST_MASE):]}", NUMBER
    return name, None


def write_table(sheet, frame: pd.DataFrame, start_row: int = 1, title: str | None = None, filters: bool = True,
                as_named: bool = False, note: str | None = None, number_format: str | None = None) -> int:
    """Write a DataFrame as a formatted table; return the next free row. as_named: headed by the
    frame's own column names, as an input file spells them, not by the labels of the plan's columns
    (demand_history.csv's demand is what was used, not the 'Demand planned for'), and its numbers
    formatted by their values (_input_format). note: a line in italics above the header, which a
    sheet's first table keeps in its frozen and printed rows. number_format: for the number columns
    the plan's labels do not format (a chart's columns, named by site or cost category)."""
    row = start_row
    if title:
        _text_line(sheet, row, title, _bold(size=12))
        row += 1
    if note:
        _text_line(sheet, row, note, Font(name=DEFAULT_FONT.name, italic=True))
        row += 1
    header_row = row
    labels = list(frame.columns) if as_named else [_header(name)[0] for name in frame.columns]
    formats = [_input_format(frame[name]) if as_named else _header(name)[1] or number_format for name in frame.columns]
    alignments = _column_alignments(frame)
    for col, (label, (horizontal, indent)) in enumerate(zip(labels, alignments), start=1):
        cell = sheet.cell(row, col, label)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        # each header sits as its column's values do: over numbers (right-aligned) right, not over the column before
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal=horizontal, indent=indent)
        _text_safe(cell)
    for values in frame.itertuples(index=False):
        row += 1
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row, col, _cell_value(value))
            _text_safe(cell)
            number_format = formats[col - 1]
            if isinstance(cell.value, bool):
                cell.number_format = FLAG
            elif number_format and isinstance(cell.value, (int, float)):
                cell.number_format = number_format
            horizontal, indent = alignments[col - 1]
            if horizontal == "center" or indent:
                cell.alignment = Alignment(horizontal=horizontal, indent=indent)
    if start_row == 1 and not title:
        sheet.freeze_panes = sheet.cell(header_row + 1, 1)
        if filters and len(frame.columns):
            sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(len(frame.columns))}{max(row, header_row)}"
    _fit_widths(sheet, frame, labels, formats, [INDENT_WIDTH * indent for _, indent in alignments])
    return row + 2


def _column_alignments(frame: pd.DataFrame) -> list[tuple[str | None, int]]:
    """(horizontal, indent) per column, for its header and its cells. Numbers right: their cells as
    the reader aligns them, their header set so; True/False centred, header too (they sat right
    under a left header); text left, starting TEXT_INDENT in where a number column is left of it,
    or LibreOffice showed "69" and "the racks online ..." as one line (an indent needs an explicit
    'left': LibreOffice ignores it on the default alignment)."""
    kinds = [_kind(frame[name]) for name in frame.columns]
    return [("right", 0) if kind == "number" else ("center", 0) if kind == "flag"
            else ("left", TEXT_INDENT) if col and kinds[col - 1] == "number" else (None, 0)
            for col, kind in enumerate(kinds)]


def _kind(column: pd.Series) -> str:
    """'flag' (True/False), 'number' or 'text', from the values where the dtype does not say (an
    input file's column of numbers read as objects)."""
    if pd.api.types.is_bool_dtype(column):
        return "flag"
    if pd.api.types.is_numeric_dtype(column):
        return "number"
    values = [_cell_value(value) for value in column.head(200)]
    values = [value for value in values if value is not None]
    if values and all(isinstance(value, bool) for value in values):
        return "flag"
    if values and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        return "number"
    return "text"


def _input_format(column: pd.Series) -> str | None:
    """An input file's numbers with thousands separators (a commitment of 200,000,000 had read
    200000000 beside a capex_usd of 15,000,000) and as many decimals as the column's values have,
    at most INPUT_DECIMALS: PUEs of 1.15 and 1.20 line up on the point, 0.085 keeps its 5."""
    if _kind(column) != "number":
        return None
    values = pd.to_numeric(column, errors="coerce").dropna()
    decimals = next((d for d in range(INPUT_DECIMALS) if (values.round(d) == values).all()), INPUT_DECIMALS)
    return f"#,##0.{'0' * decimals}" if decimals else WHOLE


def _fit_widths(sheet, frame: pd.DataFrame, labels: list[str], formats: list[str | None],
                indents: list[float]) -> None:
    """Each column as wide as its values as shown, or its label on HEADER_LINES lines, whichever is
    wider (at most 45), plus any indent (fit_header_rows then sizes the header rows, once the sheet
    is done). With one-line labels the record printed at half size, most of its width the labels
    over short numbers."""
    for col, (name, label, number_format, indent) in enumerate(zip(frame.columns, labels, formats, indents), start=1):
        shown = max((len(_shown(value, number_format)) for value in frame[name].head(200)), default=0)
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0,
                                                    min(45, max(_label_width(label), shown + 2)) + indent)


def fit_header_rows(sheet) -> None:
    """Each table header on a finished sheet (a row whose first cell has the header fill) as tall
    as its most wrapped label in its columns' final widths: neither Excel nor LibreOffice grows a
    row for the wrapped text openpyxl writes, and a header sized as its table was written kept a
    blank line once a later table widened a column."""
    for (first,) in sheet.iter_rows(min_col=1, max_col=1):
        if first.fill != HEADER_FILL:
            continue
        lines = 1
        for cell in sheet[first.row]:
            if cell.fill == HEADER_FILL and cell.value:
                indent = INDENT_WIDTH * (cell.alignment.indent or 0)
                width = sheet.column_dimensions[cell.column_letter].width or 8.43  # Excel's default
                characters = math.floor((width - 2 - indent) / HEADER_CHAR + 1e-9)
                lines = max(lines, len(_label_lines(str(cell.value), max(1, characters))))
        sheet.row_dimensions[first.row].height = 15 * lines if lines > 1 else None


def _label_lines(label: str, characters: int) -> list[str]:
    """The label broken at spaces into lines of at most `characters`; a longer word stays whole."""
    return textwrap.wrap(label, characters, break_long_words=False)


def _label_width(label: str) -> float:
    """The narrowest column width that shows the label on at most HEADER_LINES lines."""
    for characters in range(1, len(label) + 1):
        lines = _label_lines(label, characters)
        if len(lines) <= HEADER_LINES and all(len(line) <= characters for line in lines):
            return characters * HEADER_CHAR + 2
    return 2.0


def _shown(value, number_format: str | None) -> str:
    """A value as its number format shows it (2,749.50, 86.8%), to size its column by: a column
    narrower than a formatted number shows ### in Excel."""
    value = _cell_value(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if number_format is None:
        return f"{value:,.0f}"  # General: Excel drops decimals to fit
    decimals = len(number_format.split(".")[1].rstrip("%")) if "." in number_format else 0
    if number_format.endswith("%"):
        return f"{value * 100:.{decimals}f}%"
    return f"{value:,.{decimals}f}"


def _summary(sheet, context: dict) -> None:
    scenario, plan, run = context["scenario"], context["plan"], context["run"]
    settings = scenario.settings
    _text_line(sheet, 1, f"Procurement roadmap: {settings.name}", TITLE_FONT)
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
        ("NPV of the plan (USD)", kpis["npv_usd"]),
        ("Capex paid in the horizon (USD)", kpis["capex_paid_usd"]),
        ("Cloud spend (USD)", kpis["cloud_spend_usd"]),
        ("Unmet demand (unit-quarters)", kpis["unmet_unit_quarters"]),
        ("Why cloud or unmet", f"{len(run.cloud)} stream-periods on cloud and {len(run.unmet)} unmet, each with its "
         f"reasons: see the {GAPS_SHEET} sheet" if run.cloud or run.unmet else "neither"),
        ("Cost per compute unit-quarter (USD)", kpis["cost_per_unit_quarter_usd"]),
    ]
    rows += [(f"Racks ordered: {rack}", n) for rack, n in kpis["racks_ordered"].items()]
    rows += [(f"Peak facility MW: {site}", mw) for site, mw in kpis["peak_facility_mw_by_site"].items()]
    for index, (label, value) in enumerate(rows, start=3):
        label_cell, value_cell = sheet.cell(index, 1, label), sheet.cell(index, 2, value)
        label_cell.font = _bold()
        _text_safe(label_cell)
        _text_safe(value_cell)
        if isinstance(value, float):
            value_cell.number_format = PERCENT if label == "Optimality gap" else (MW if "MW" in label else USD)
    sheet.column_dimensions["A"].width = 38
    sheet.column_dimensions["B"].width = 70


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


def _wrapped(sheet, column: int) -> None:
    """Wrap a table's text column (1-based) at REASONS_WIDTH characters, each row tall enough for it."""
    letter = get_column_letter(column)
    sheet.column_dimensions[letter].width = REASONS_WIDTH
    for row in sheet.iter_rows(min_row=2):
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
    sheet.cell(write_table_at, 1, "NPV (discounted, rows in NPV)").font = _bold()
    cell = sheet.cell(write_table_at, 4, float(costs.loc[costs["in_objective"], "usd_discounted"].sum()))
    cell.number_format = USD


NOT_CASH = ("capex_annuity", "unmet_penalty")  # how capex enters the NPV, and a penalty nobody pays


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
    _text_line(sheet, 1, "What changed since the previous plan", TITLE_FONT)
    sheet["A2"] = changes.summary
    _text_safe(sheet["A2"])
    sheet["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(f"A2:H{1 + SUMMARY_ROWS}")
    row = write_table(sheet, changes.orders, start_row=3 + SUMMARY_ROWS, title="Orders: previous vs new racks")
    row = write_table(sheet, changes.forecast, start_row=row, title="Planned demand per stream (common quarters)")
    if len(changes.costs):
        row = write_table(sheet, changes.costs, start_row=row, title="Costs in the NPV per category (common quarters, nominal)")
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
    never_used = set(power.groupby("site")["used"].max().pipe(lambda most: most[most <= 0].index))
    wide.columns = [f"{site} {kind} MW" + (" (none in the plan)" if kind == "used" and site in never_used else "")
                    for kind, site in wide.columns]  # its line lies hidden on the axis at zero
    row = _chart(data, summary, wide.reset_index(), row, LineChart(), "Facility MW used vs available", "MW",
                 MW, "D22")

    costs = plan.costs[plan.costs["in_objective"]]
    spend = costs.pivot_table(index="quarter", columns="category", values="usd", aggfunc="sum", fill_value=0.0).reset_index()
    bars = BarChart()
    bars.type, bars.grouping, bars.overlap = "col", "stacked", 100
    _chart(data, summary, spend, row, bars, "Spend per quarter by category (NPV basis)", "USD", USD, "D41")


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
