"""Formatted tables on a worksheet: the workbook's one way to write a DataFrame.

A styled header with units (each CSV column's label and number format in HEADERS), every number
in its format, text never read as a formula (a site named =HYPERLINK(...) stays literal), a
frozen header row and a filter on a sheet's first table, columns as wide as their values as
shown, and header rows as tall as their wrapped labels once the sheet is done.
"""

from __future__ import annotations

import contextvars
import math
import textwrap

import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils import get_column_letter

from planner.pipeline import BACKTEST_MASE


def bold(**options) -> Font:
    """A bold font in the workbook's own typeface (openpyxl's default, Calibri). A Font without a
    name leaves the typeface to the reader: LibreOffice set such headers in a wider serif face, and
    the labels were cut off in their cells."""
    return Font(name=DEFAULT_FONT.name, bold=True, **options)


HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = bold(color="FFFFFF")
TITLE_FONT = bold(size=14)
USD, NUMBER, MW, PERCENT, WHOLE = '#,##0', '#,##0.00', '#,##0.0', '0.0%', '#,##0'
GAP = '0.00%'  # the optimality gap: 0.46% read as 0.5%, the default target, at '0.0%'
# LibreOffice imports a boolean as a number and spells it TRUE only under this format (Assumptions'
# liquid_cooled read 1, Orders' Locked TRUE, the XML the same); Excel keeps number formats off booleans
FLAG = '"TRUE";"TRUE";"FALSE"'
HEADER_LINES = 2  # a header label may wrap onto two lines, so a column of short numbers is not as wide as its label
HEADER_CHAR = 0.9  # column-width units (a body-font '0') per character of bold header text: seen to fit in LibreOffice
TEXT_INDENT = 1  # a text column right of a number column starts 3 spaces in: "69 the racks online ..." read as one phrase
INDENT_WIDTH = 1.5  # column-width units the indent takes (3 spaces of about half a '0' each)
INPUT_DECIMALS = 6  # at most, for an input's fractions on the Assumptions sheet: past that, a float's own noise

# CSV column -> (header shown in Excel, number format). Reading a sheet back maps headers to columns.
HEADERS = {
    "order_quarter": ("Order quarter", None), "online_quarter": ("Online quarter", None), "quarter": ("Quarter", None),
    "factory": ("Factory", None), "site": ("Site", None), "vendor": ("Vendor", None), "rack_type": ("Rack type", None),
    "region": ("Region", None), "workload": ("Workload", None), "category": ("Category", None),
    "racks": ("Racks", WHOLE), "accelerators": ("Accelerators", WHOLE), "capex_usd": ("Capex (USD)", USD),
    "locked": ("Locked (already placed)", None), "racks_online": ("Racks online", WHOLE),
    "blocks": ("Power blocks", WHOLE), "block_mw": ("Block size (MW)", MW),
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
    "change": ("Change", None), "moved": ("Moved", None), "reason_kind": ("Why, in a word", None),
    "quarters_compared": ("Quarters compared", WHOLE),
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


# The scenario's currency, in the labels that name one ("Capex (USD)"): planner.workbook sets it for
# the workbook it writes. The CSV columns keep "usd" in their names, as SCENARIO.md fixes them.
CURRENCY = contextvars.ContextVar("workbook_currency", default="USD")


def in_currency(label: str) -> str:
    """A label that names USD, in the workbook's currency: a sovereign EU plan in EUR had read
    'NPV of the plan (USD)' over amounts in euros."""
    return label.replace("USD", CURRENCY.get())


def text_safe(cell) -> None:
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never a formula, whatever the text begins with


def text_line(sheet, row: int, text: str, font: Font) -> None:
    """A line of text in column A (a title or a note above a table), written as text whatever it begins with."""
    cell = sheet.cell(row, 1, text)
    cell.font = font
    text_safe(cell)


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
        label, number_format = HEADERS[name]
        return in_currency(label), number_format
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
        text_line(sheet, row, title, bold(size=12))
        row += 1
    if note:
        text_line(sheet, row, note, Font(name=DEFAULT_FONT.name, italic=True))
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
        text_safe(cell)
    for values in frame.itertuples(index=False):
        row += 1
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row, col, _cell_value(value))
            text_safe(cell)
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
        shown = max((len(_shown(value, number_format)) for value in _may_be_widest(frame[name])), default=0)
        letter = get_column_letter(col)
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0,
                                                    min(45, max(_label_width(label), shown + 2)) + indent)


def _may_be_widest(column: pd.Series) -> list:
    """The values of `column` that can be the widest as shown: the first 200 (of any kind), and from
    anywhere in it the largest and the smallest number and the longest text. The first 200 alone
    left a 20-year Demand sheet's later, larger rows (10,387,304.71) as ### in Excel."""
    values = list(column.head(200))
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.notna().any():
        values += [column.iloc[int(numbers.argmax())], column.iloc[int(numbers.argmin())]]
    if len(column):  # by each value's own text: a column of pandas' string type keeps NA as NA through astype(str)
        values.append(max(column, key=lambda value: len(str(value))))
    return values


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
