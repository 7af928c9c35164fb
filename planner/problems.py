"""Input problems reported to the user, and the error that carries all of them at once."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as a planner sees it in a spreadsheet.

    `row` is the spreadsheet row (the header is row 1, the first data row is row 2);
    for YAML it is the line number. `column` is a column name or a dotted YAML key.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" line {self.row}" if self.file.endswith(".yaml") else f" row {self.row}"
        if self.column:
            where += f", {'key' if self.file.endswith('.yaml') else 'column'} {self.column}"
        return f"{where}: {self.message}"


def control_character(text: str) -> str:
    """What holding its first control character means, in words ('' if none). A name or label
    holding one (a tab or newline pasted into a cell, a NUL from a damaged export) passed
    validation, then stopped the workbook's export as an internal error: Excel cannot hold it."""
    for position, character in enumerate(text, start=1):
        if unicodedata.category(character) == "Cc":
            return f"holds the control character U+{ord(character):04X} at character {position}, which a spreadsheet cannot show"
    return ""


# Zero-width joiner and non-joiner: unseen, but they shape letters in Persian, Indic scripts and emoji.
_JOINERS = frozenset("\u200c\u200d")
_HIDDEN = frozenset({"Cf", "Zl", "Zp", "Zs"})


def hidden_character(text: str) -> str:
    """What holding its first character a reader cannot see means, in words ('' if none).

    A name is matched to its twins in other files, and one holding a character that does not show
    (a zero-width space or a no-break space copied from a web page or a document, a bidirectional
    mark) matched none of them while looking the same: a site's region 'eu-de' followed by a
    zero-width space left the site idle with a warning whose 'did you mean' showed the same name
    twice. Hidden is a format character (Unicode category Cf), a line or paragraph separator or a
    space other than the plain one, the joiners aside.
    """
    control = control_character(text)
    if control:
        return control
    for position, character in enumerate(text, start=1):
        category = unicodedata.category(character)
        if category in _HIDDEN and character != " " and character not in _JOINERS:
            named = f"U+{ord(character):04X} ({unicodedata.name(character, 'unnamed')})"
            if category == "Zs":
                return f"holds {named} at character {position}, which looks like a space but would not match one"
            return f"holds the invisible character {named} at character {position}, so it would not match the name typed without it"
    return ""


def quoted(name: str) -> str:
    """'name' as a message quotes it, escaped where it holds a hidden character: a header cell
    '\u200bregion' was quoted as 'region', beside 'name the column region'."""
    return repr(name) if hidden_character(name) else f"'{name}'"


def printable(text: str) -> str:
    """`text` as it is, or a ValueError naming its control character (a pydantic validator for a
    label the workbook shows: a scenario's name, its currency)."""
    return _unless(control_character(text), text)


def visible(text: str) -> str:
    """`text` as it is, or a ValueError naming its hidden character (a pydantic validator for a name
    matched across files: a site, a region, a rack type)."""
    return _unless(hidden_character(text), text)


def _unless(found: str, text: str) -> str:
    if found:
        raise ValueError(f"{found}: retype it")
    return text


SHOWN_PER_FILE = 25


class ScenarioError(Exception):
    """Raised with every problem found, so the user can fix them all in one pass.

    The report lists at most `shown_per_file` problems of each file (None: all): a history file
    pasted twice gave 209,895 lines, every real problem lost among them.
    """

    def __init__(self, problems: list[Problem], where: str = "scenario"):
        self.problems = sorted(set(problems), key=_problem_order)
        self.where = where
        self.shown_per_file: int | None = SHOWN_PER_FILE
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        lines = [f"{self.where} is not valid: {count:,} problem{'s' if count != 1 else ''} found"]
        by_file: dict[str, list[Problem]] = {}
        for problem in self.problems:
            by_file.setdefault(problem.file, []).append(problem)
        for file, problems in by_file.items():
            shown = problems if self.shown_per_file is None else problems[: self.shown_per_file]
            lines += [f"  - {problem}" for problem in shown]
            if len(shown) < len(problems):
                lines.append(f"  ... and {len(problems) - len(shown):,} more in {file} "
                             "(`planner validate --all` lists every one)")
        return "\n".join(lines)


def _problem_order(problem: Problem) -> tuple:
    return (problem.file, problem.row if problem.row is not None else 0, problem.column or "", problem.message)


def readable_number(value: float) -> str:
    """1,000,000,000 rather than 1e+09: a planner reads the figure in an error message."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.10g}"


def many_times(ratio: float) -> str:
    """'1,140 times', or past a trillion 'over a trillion times': a figure near zero beside hundreds
    made such factors 'inf' or 73 digits long."""
    return f"{ratio:,.0f} times" if ratio < 1e12 else "over a trillion times"


def closest(value: str, known) -> str | None:
    """The known name closest to `value` (a misspelling of it), or None when none is close."""
    close = difflib.get_close_matches(str(value), sorted(map(str, known)), n=1)
    return close[0] if close else None


def did_you_mean(value: str, known) -> str:
    """' (did you mean 'x'?)' with the closest known name, or nothing when none is close; and the
    hidden character `value` holds, if any, since then the two would look the same."""
    close = closest(value, known)
    hidden = hidden_character(str(value))
    return (f" (did you mean '{close}'?)" if close else "") + (f"; the name given {hidden}" if hidden else "")
