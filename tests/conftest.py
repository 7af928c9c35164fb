"""Shared fixtures: copies of the shipped examples that a test may break freely."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

# Competing BLAS threads slow statsmodels badly on 2-core machines (see shared/reference/forecasting.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
QUARTERS = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]  # the quarters of examples/quarterly's shipped actuals
# What a cell of an input file may hold that a parser may not expect: the fuzz tests set one cell to these
AWKWARD_CELLS = ["", " ", "inf", "-inf", "nan", "1e-320", "1e308", "-1", "-0", "0", "1.5", "1e9", "1E+09", "2027q1",
                 "2027Q5", "1999Q1", "2200Q1", "=1+1", "0x10", "true", "None", "é", "a;b", ";", "1_000", "１２",
                 "9" * 30, "\x00", '"']


@pytest.fixture(scope="session")
def four_quarters(tmp_path_factory) -> Path:
    """The shipped quarterly example, run for real: initial plan plus four rolled quarters (once
    for the session: tests read it and copy what they change)."""
    out = tmp_path_factory.mktemp("quarterly")
    completed = subprocess.run([sys.executable, str(ROOT / "examples" / "quarterly" / "run_quarters.py"), str(out)],
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr + completed.stdout
    assert [line[:6] for line in completed.stdout.splitlines() if " actuals in: " in line] == QUARTERS
    (out / "stdout.txt").write_text(completed.stdout)  # what a user sees: test_actuals_record reads its table
    return out


@pytest.fixture
def sovereign(tmp_path: Path) -> Path:
    target = tmp_path / "sovereign-eu"
    shutil.copytree(EXAMPLES / "sovereign-eu", target)
    return target


@pytest.fixture
def enterprise(tmp_path: Path) -> Path:
    target = tmp_path / "global-enterprise"
    shutil.copytree(EXAMPLES / "global-enterprise", target)
    return target


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> None:
    """Write `rows` as a spreadsheet saves them. A cell holding a carriage return is quoted, as
    Excel quotes it: csv quotes only the line terminator's characters, and a bare '\r' ended the
    row there, so a fuzz test's edited cell moved the rows after it down by one."""
    header = header or list(rows[0])
    carriage_return = any("\r" in str(value) for row in rows for value in row.values())
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n",
                                quoting=csv.QUOTE_ALL if carriage_return else csv.QUOTE_MINIMAL)
        writer.writeheader()
        writer.writerows(rows)


def set_cell(directory: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell, addressing the row as a spreadsheet does (header = row 1)."""
    path = directory / file
    rows = read_rows(path)
    rows[row - 2][column] = value
    write_rows(path, rows, list(rows[0]))


def append_row(directory: Path, file: str, values: dict[str, str]) -> None:
    path = directory / file
    rows = read_rows(path) if path.exists() else []
    header = list(rows[0]) if rows else list(values)
    rows.append({name: values.get(name, "") for name in header})
    write_rows(path, rows, header)


def cells_without_a_typeface(book) -> list[str]:
    """'Sheet!A1' for each filled cell whose font names no typeface: the reader then picks one
    (LibreOffice a wider serif, which cut the header labels off in their cells)."""
    return [f"{sheet.title}!{cell.coordinate}" for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.value is not None and not cell.font.name]


def cut_off_cells(book) -> list[str]:
    """'Sheet!A1 ...' for each header label that does not fit its cell in the lines its row is tall,
    and each formatted number wider than its column (Excel shows ###). A header character is taken
    at 0.9 column-width units and a digit at one, with 2 units of padding for a label and 1 for a
    number: what LibreOffice was seen to show whole, set in Carlito (Calibri's metrics)."""
    from planner.xlsx_tables import HEADER_FILL  # here: the BLAS settings at the top must come before numpy loads

    cut = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in (cell for cell in row if cell.value is not None):  # not a merged cell's hidden part
                width = sheet.column_dimensions[cell.column_letter].width or 8.43
                where = f"{sheet.title}!{cell.coordinate}"
                if cell.fill == HEADER_FILL:  # a table header
                    characters, lines = _header_lines(cell, width)
                    rows_tall = (sheet.row_dimensions[cell.row].height or 15) / 15
                    if len(lines) > rows_tall or max(map(len, lines)) > characters:
                        cut.append(f"{where} {cell.value!r}: {len(lines)} lines of {characters} characters")
                elif isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    shown = as_formatted(cell.value, cell.number_format)
                    if shown is not None and len(shown) + 1 > width:
                        cut.append(f"{where} {shown} in a column {width:.1f} wide")
    return cut


def _header_lines(cell, width: float) -> tuple[int, list[str]]:
    """The characters a header line holds in a column this wide, and the label broken into such
    lines: 0.9 width units a bold character, 2 of padding, an indent's 3 spaces half a digit each."""
    characters = int((width - 2 - 1.5 * cell.alignment.indent) / 0.9 + 1e-9)
    return characters, textwrap.wrap(str(cell.value), characters, break_long_words=False)


def blank_header_lines(book) -> list[str]:
    """'Sheet!row ...' for each table header row taller than its most wrapped label needs, by
    cut_off_cells' measure: a row sized when its table was written kept a blank line once a later
    table on the sheet widened a column."""
    from planner.xlsx_tables import HEADER_FILL

    blank = []
    for sheet in book.worksheets:
        needed: dict[int, int] = {}
        for cell in (cell for row in sheet.iter_rows() for cell in row if cell.fill == HEADER_FILL and cell.value):
            _, lines = _header_lines(cell, sheet.column_dimensions[cell.column_letter].width or 8.43)
            needed[cell.row] = max(needed.get(cell.row, 1), len(lines))
        for row, lines in needed.items():
            rows_tall = (sheet.row_dimensions[row].height or 15) / 15
            if rows_tall > lines:
                blank.append(f"{sheet.title}!{row}: {rows_tall:g} lines tall, its labels need {lines}")
    return blank


def misaligned_cells(book) -> list[str]:
    """'Sheet!A1 ...' for each table cell aligned apart from its column, or run into the number left
    of it. Numbers sit right (the reader's default) and so must their header; True/False centred,
    header too; text left, starting indented where the cell left of it is a right-aligned number, as
    "69" and "the racks online ..." read as one phrase."""
    from planner.xlsx_tables import HEADER_FILL

    def side(cell) -> str:
        value, horizontal = cell.value, cell.alignment.horizontal
        if horizontal in (None, "general"):  # as the reader aligns the value
            return "center" if isinstance(value, bool) else "right" if isinstance(value, (int, float)) else "left"
        return horizontal

    wrong = []
    for sheet in book.worksheets:
        for header in (cell for row in sheet.iter_rows() for cell in row if cell.fill == HEADER_FILL):
            where = f"{sheet.title}!{header.coordinate}"
            below = []
            for row in range(header.row + 1, sheet.max_row + 1):
                if sheet.cell(row, header.column).value is None:
                    break
                below.append(sheet.cell(row, header.column))
            wrong += [f"{where}: {cell.coordinate} True/False not centred" for cell in below
                      if isinstance(cell.value, bool) and side(cell) != "center"]
            sides = {side(cell) for cell in below}
            if len(sides) == 1 and sides != {side(header)}:
                wrong.append(f"{where} {header.value!r} aligned {side(header)} over a column aligned {sides.pop()}")
        for row in sheet.iter_rows(min_col=2):
            for cell in row:
                left = sheet.cell(cell.row, cell.column - 1)
                indented = cell.alignment.indent and cell.alignment.horizontal == "left"  # LibreOffice's rule
                if isinstance(cell.value, str) and side(cell) == "left" and not indented \
                        and left.value is not None and side(left) == "right":
                    wrong.append(f"{sheet.title}!{cell.coordinate} {cell.value[:30]!r} runs on from {left.value!r}")
    return wrong


def as_formatted(value: float, number_format: str) -> str | None:
    """The text of a number in the formats the workbook uses; None for General, which Excel rounds to fit."""
    formats = {"#,##0": "{:,.0f}", "0.0%": "{:.1%}", "0.00%": "{:.2%}", "0%": "{:.0%}", "0": "{:.0f}", "0.00": "{:.2f}", "0.0": "{:.1f}"}
    if number_format == "General":
        return None
    if re.fullmatch(r"#,##0\.0+", number_format):  # MW, NUMBER, an input's fractions: any decimals
        return f"{value:,.{len(number_format) - len('#,##0.')}f}"
    return formats[number_format].format(value)


def flags_shown_as_numbers(book) -> list[str]:
    """'Sheet!A1' for each True/False cell whose number format does not spell it out. LibreOffice
    imports a boolean as a number and showed Assumptions' liquid_cooled True as 1 (Orders' Locked,
    written the same, as TRUE); Excel shows a boolean as TRUE/FALSE whatever its format."""
    return [f"{sheet.title}!{cell.coordinate}" for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if isinstance(cell.value, bool) and cell.number_format != '"TRUE";"TRUE";"FALSE"']


def hard_to_read_numbers(book) -> list[str]:
    """'Sheet!A1 ...' for each number left in General format that a reader has to count the digits
    of (200000000 for a $200M commitment, beside a capex_usd of 15,000,000) or that shows a
    computation's noise (15.36975 MW beside the Power sheet's 15.4). A whole number under 10,000 and
    an input's short fraction (a PUE of 1.15, a tariff of 0.085) read as they are."""
    hard = []
    for sheet in book.worksheets:
        for cell in (cell for row in sheet.iter_rows() for cell in row):
            value = cell.value
            if cell.number_format != "General" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if abs(value) >= 10_000 or round(value, 3) != value:
                hard.append(f"{sheet.title}!{cell.coordinate} {value!r}")
    return hard


def readability_problems(book) -> dict[str, list[str]]:
    """Every check above of how a workbook reads in Excel and LibreOffice, by the name of the check
    that found something: empty for a book procurement can open as it is."""
    checks = (cells_without_a_typeface, cut_off_cells, blank_header_lines, misaligned_cells,
              hard_to_read_numbers, flags_shown_as_numbers)
    found = {check.__name__: check(book) for check in checks}
    return {name: problems for name, problems in found.items() if problems}


OPENPYXL_FONT = re.compile(r"/styleSheet\[1\]/fonts\[1\]/font\[\d+\]")


def open_xml_problems(path: Path) -> list[str]:
    """'part path: description' for each problem the Open XML SDK's validation (its pure-Python port,
    openxml-audit) finds in a workbook, the closest check to Excel's own without Excel. Left out:
    two things openpyxl writes in every workbook that Excel opens without a repair prompt: a font's
    children in openpyxl's order (name first; the SDK wants Excel's own order and Excel reads both:
    OfficeCLI issue 295) and strings written inline (Excel moves them to a shared-string table when
    it next saves the file)."""
    from openxml_audit import OpenXmlValidator
    problems = []
    for error in OpenXmlValidator(max_errors=0).validate(str(path)).errors:
        font_order = (error.part_uri == "/xl/styles.xml" and OPENPYXL_FONT.fullmatch(error.path)
                      and error.description.startswith("Unexpected element"))
        if not font_order and "inline-string cell(s)" not in error.description:
            problems.append(f"{error.part_uri} {error.path}: {error.description}")
    return problems


def damaged_copy(book: Path, target: Path) -> Path:
    """The workbook with one attribute Excel cannot read (a frozen pane split at 'abc' rows), to show
    that open_xml_problems finds such a thing."""
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'ySplit="\d+"', b'ySplit="abc"', data)
            copy.writestr(item, data)
    return target
