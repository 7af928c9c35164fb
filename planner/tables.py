"""Read one scenario CSV into a typed DataFrame, collecting every problem in it.

Rows are validated by a pydantic model generated from the schema (`planner.schema`), so
bounds, types and messages come from one place. The returned frame's index is the row
number a planner sees in a spreadsheet (header = row 1), which lets cross-file checks
point at the offending row.
"""

from __future__ import annotations

import csv
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, create_model

from planner.config import Quarter
from planner.problems import Problem, closest, hidden_character, quoted, visible
from planner.schema import Column, Table
from planner.text_files import (SAVE_AS_UTF8, SPREADSHEET_SUFFIXES, not_a_file, not_utf8, open_in_a_spreadsheet,
                                under_another_name, workbook_kind)

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(visible)]


_EXPONENT_FORM = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+\s*")


def _whole_in_exponent_form(value: object) -> object:
    """'3.6e3', or Excel's '1E+09' for a cell formatted as scientific, as the whole number it is:
    pydantic reads only digits as a whole number, and said '1e9' was not one. Anything else as it came."""
    if isinstance(value, str) and _EXPONENT_FORM.fullmatch(value):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return int(number)
    return value


def _split_list(value: object) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return tuple(part.strip() for part in str(value).split(";") if part.strip())


def _annotation(column: Column) -> object:
    bounds = column.bounds()
    if column.kind == "text":
        base = _Text
    elif column.kind == "choice":
        base = Annotated[Literal[column.choices], BeforeValidator(lambda v: str(v).strip().lower())]
    elif column.kind == "int":
        base = Annotated[int, BeforeValidator(_whole_in_exponent_form), Field(**bounds)]
    elif column.kind == "number":
        base = Annotated[float, Field(**bounds)]
    elif column.kind == "bool":
        base = bool
    elif column.kind == "quarter":
        base = Quarter
    elif column.kind == "list":
        base = Annotated[tuple[_Text, ...], BeforeValidator(_split_list)]
    else:  # pragma: no cover - schema author error
        raise ValueError(f"unknown column kind {column.kind}")
    return base | None if column.nullable else base


@lru_cache(maxsize=None)
def row_model(table: Table) -> type[BaseModel]:
    """The pydantic model of one row of `table`."""
    fields = {}
    for column in table.columns:
        default = None if column.nullable else (... if column.required else column.default)
        fields[column.name] = (_annotation(column), Field(default, description=column.description))
    config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False)
    return create_model(f"{table.name.title().replace('_', '')}Row", __config__=config, **fields)


def empty_frame(table: Table) -> pd.DataFrame:
    """A frame with the table's columns and dtypes and no rows."""
    return _typed(pd.DataFrame({c.name: [] for c in table.columns}, index=pd.Index([], dtype="int64", name="row")), table)


def _unreadable(table: Table) -> pd.DataFrame:
    """An empty frame marked so cross-file checks skip references into it."""
    frame = empty_frame(table)
    frame.attrs["unreadable"] = True
    return frame


def read_table(directory: Path, table: Table) -> tuple[pd.DataFrame, list[Problem], list[str]]:
    """Parse `directory/table.file`. Returns (typed frame, problems, warnings).

    Rows that fail validation are left out of the frame; their raw text is kept in
    `frame.attrs["unparsed"]` so that cross-file checks do not call their keys unknown.
    """
    path = directory / table.file
    if not path.is_file():
        unreadable = not_a_file(path, table.file)
        if unreadable:  # an optional one too: its rows would be left out without a word
            return _unreadable(table), [unreadable], []
        misnamed = under_another_name(Path(directory), table.file, SPREADSHEET_SUFFIXES)
        if misnamed:  # an optional file too: its rows (placed orders, known deals) were left out without a word
            return _unreadable(table), [misnamed], []
        if table.optional:
            return empty_frame(table), [], []
        return _unreadable(table), [Problem(table.file, None, None, f"file not found in {directory}")], []
    workbook = workbook_kind(path)
    if workbook:
        return _unreadable(table), [Problem(table.file, None, None, f"is {workbook}, not CSV text; open it in the "
                                            f"spreadsheet and {SAVE_AS_UTF8}")], []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = list(csv.reader(handle))
    except UnicodeDecodeError:
        return _unreadable(table), [not_utf8(path, table.file)], []
    except csv.Error as error:
        return _unreadable(table), [Problem(table.file, None, None, f"cannot be read as a CSV file: {error}")], []

    if not records or not any(cell.strip() for cell in records[0]):
        return _unreadable(table), [Problem(table.file, 1, None, "the header row is empty; expected columns "
                                            + ", ".join(c.name for c in table.columns))], []
    header = [cell.strip() for cell in records[0]]
    separator = _other_separator(table, header)
    if separator:
        return _unreadable(table), [Problem(table.file, 1, None, f"the columns are separated by {separator}, not commas "
                                            "(a spreadsheet saved with another list separator); save it as comma-separated "
                                            "CSV, e.g. Excel's 'CSV UTF-8 (Comma delimited)'")], []
    problems, warnings = _check_header(table, header)
    if problems:
        return _unreadable(table), problems, warnings
    warnings += _unnamed_columns_with_values(table, header, records[1:])

    known = {column.name for column in table.columns}
    model = row_model(table)
    rows, numbers, unparsed = [], [], []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank spreadsheet row
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
            problems.append(Problem(table.file, number, None, f"has {len(record)} cells but the header has {len(header)} columns"))
            continue
        values = {name: cell.strip() for name, cell in zip(header, record) if name in known and cell.strip() != ""}
        try:
            rows.append(model.model_validate(values).model_dump())
            numbers.append(number)
        except ValidationError as error:
            problems.extend(_row_problems(table, number, values, error))
            unparsed.append(values)
    frame = pd.DataFrame(rows, columns=[c.name for c in table.columns], index=pd.Index(numbers, dtype="int64", name="row"))
    frame = _typed(frame, table)
    frame.attrs["unparsed"] = unparsed
    problems.extend(_duplicate_keys(table, frame))
    open_elsewhere = open_in_a_spreadsheet(path)
    return frame, problems, warnings + ([open_elsewhere] if open_elsewhere else [])


def _other_separator(table: Table, header: list[str]) -> str | None:
    """'semicolons' or 'tabs', when the header is one cell that splits on it into the table's
    columns: the file is a CSV from a locale whose list separator is not the comma, and every
    column would otherwise be reported missing."""
    if len(header) != 1:
        return None
    known = {column.name for column in table.columns}
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if known & {cell.strip() for cell in header[0].split(separator)[1:]}:
            return name
    return None


def _unnamed_columns_with_values(table: Table, header: list[str], records: list[list[str]]) -> list[str]:
    """A column with no name is ignored, as a spreadsheet's empty trailing columns should be; one
    that holds values is named in a warning, since what was typed there is not read."""
    unnamed = [index for index, name in enumerate(header) if not name]
    filled = [index for index in unnamed if any(index < len(record) and record[index].strip() for record in records)]
    return [f"{table.file}: column {index + 1} has values but no name in the header, and is ignored" for index in filled]


def _check_header(table: Table, header: list[str]) -> tuple[list[Problem], list[str]]:
    problems, warnings = [], []
    seen = set()
    for name in header:
        if name and name in seen:  # unnamed columns (a spreadsheet's empty trailing ones) are ignored
            problems.append(Problem(table.file, 1, name, "column appears twice in the header"))
        seen.add(name)
    known = {column.name for column in table.columns}
    unknown = [name for name in header if name and name not in known]
    for column in table.columns:
        if column.required and column.name not in seen:
            alike = _look_alike(column.name, unknown)
            problems.append(Problem(table.file, 1, column.name, f"required column is missing; expected {column.expected()}"
                                    + (f"; the header has {quoted(alike)}: name the column '{column.name}'{_hidden_in(alike)}"
                                       if alike else "")))
    absent = [column for column in table.columns if column.name not in seen and not column.required]
    for name in unknown:
        meant = next((column for column in absent if _look_alike(column.name, [name])), None)
        if meant:  # a misspelt optional column: ignored, its values would silently give way to the default
            problems.append(Problem(table.file, 1, name, f"is not a column of the format (did you mean '{meant.name}'?); "
                                    f"read as it is, {meant.name} would be {_left_out(meant)}: rename or remove the column"
                                    + _hidden_in(name)))
        else:
            warnings.append(f"{table.file}: column {quoted(name)} is not part of the format and is ignored")
    return problems, warnings


def _hidden_in(cell: str) -> str:
    """'; that header cell holds ...' naming the hidden character in `cell`, or ''."""
    hidden = hidden_character(cell)
    return f"; that header cell {hidden}" if hidden else ""


def _left_out(column: Column) -> str:
    """What a column left out of the file becomes, in words."""
    return "blank (none) in every row" if column.nullable else f"{column.default_text()} in every row"


def _look_alike(name: str, unknown: list[str]) -> str | None:
    """The header cell among `unknown` (names the format does not know) that looks like column
    `name` under another case or a misspelling ('Site', 'rack_position'), or None. A spreadsheet
    often capitalises a header, and an unknown column's own warning is not shown while the file
    has problems."""
    lowered = {other.lower(): other for other in unknown}
    close = closest(name.lower(), lowered)
    return lowered[close] if close else None


def _row_problems(table: Table, number: int, values: dict, error: ValidationError) -> list[Problem]:
    found = []
    for detail in error.errors():
        name = str(detail["loc"][0]) if detail["loc"] else None
        column = table.column(name) if name in {c.name for c in table.columns} else None
        expected = column.expected() if column else ""
        if detail["type"] == "missing":
            message = f"is blank; expected {expected}"
        elif column is None:
            message = detail["msg"]
        else:
            message = f"got {values.get(name, '')!r}; expected {expected}"
            if column.kind in ("int", "number"):
                message += _as_displayed(str(values.get(name, "")))
            elif column.kind in ("text", "list") and (hidden := hidden_character(str(values.get(name, "")))):
                message += f"; it {hidden}: retype the cell"
        found.append(Problem(table.file, number, name, message))
    return found


# A number as a spreadsheet displays it: Excel's CSV saves a formatted cell as shown ("1,316",
# "$3,900,000.00", "12%"), and in much of Europe with a decimal comma ("12,5") or a space between
# thousands. Each is refused, not guessed ("1,316" is 1.316 where the comma is the decimal mark),
# and named, so a file of them is mended at once in the spreadsheet, not row by row.
_THOUSANDS = re.compile(r"[-+]?\d{1,3}([,\s\u00a0\u202f'.]\d{3})+([.,]\d+)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_CURRENCY = re.compile(r"[$€£¥]|\b(USD|EUR|GBP)\b")


def _as_displayed(text: str) -> str:
    """How the number `text` was written as a spreadsheet displays it, and what to do; '' if not."""
    text = text.strip()
    bare = _CURRENCY.sub("", text).strip().rstrip("%").strip()
    if not bare or not any(character.isdigit() for character in bare):
        return ""
    found = []
    if _CURRENCY.search(text):
        found.append("a currency sign")
    if text.endswith("%"):
        found.append("a percent sign")
    if _DECIMAL_COMMA.fullmatch(bare) and not _THOUSANDS.fullmatch(bare):
        found.append("a decimal comma")
    elif _THOUSANDS.fullmatch(bare) and not _plain_number(bare):
        found.append("a thousands separator")
    if not found:
        return ""
    return (f"; written with {' and '.join(found)}, as a spreadsheet displays it: format the column as General, "
            "with a point for decimals, and save again")


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _duplicate_keys(table: Table, frame: pd.DataFrame) -> list[Problem]:
    if frame.empty:
        return []
    keys = frame[list(table.key)].astype(str)
    duplicated = keys.duplicated(keep="first")
    first_row = {tuple(k): row for row, k in zip(keys.index[::-1], keys.values[::-1].tolist())}
    found = []
    for row, key in zip(keys.index[duplicated], keys[duplicated].values.tolist()):
        label = ", ".join(f"{name}={value}" for name, value in zip(table.key, key))
        found.append(Problem(table.file, int(row), table.key[0],
                             f"duplicate of row {first_row[tuple(key)]} ({label}); each key may appear once"))
    return found


def _typed(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Give each column its dtype: periods for quarters, int64, float64, bool, object tuples."""
    out = frame.copy()
    for column in table.columns:
        series = out[column.name]
        if column.kind == "quarter":
            out[column.name] = pd.PeriodIndex(list(series), freq="Q") if len(series) else pd.PeriodIndex([], freq="Q")
        elif column.kind == "int":
            out[column.name] = series.astype("int64")
        elif column.kind == "number":
            out[column.name] = series.astype("float64")
        elif column.kind == "bool":
            out[column.name] = series.astype("bool")
        elif column.kind == "list":
            out[column.name] = series.astype("object")
        else:
            out[column.name] = series.astype("object")
    return out
