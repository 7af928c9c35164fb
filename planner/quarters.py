"""Quarter strings (`2027Q1`) to and from `pandas.Period` with quarterly frequency."""

from __future__ import annotations

import re

import pandas as pd

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


def parse_quarter(text: object) -> pd.Period:
    """Parse `2027Q1` (also `2027-Q1`, `2027q1`); raise ValueError with a readable reason."""
    if isinstance(text, pd.Period):
        return text.asfreq("Q")
    match = _QUARTER.match(str(text))
    if not match:
        raise ValueError("expected a quarter written like 2027Q1")
    return pd.Period(year=int(match.group(1)), quarter=int(match.group(2)), freq="Q")


def format_quarter(period: pd.Period) -> str:
    """`Period('2027Q1')` -> `'2027Q1'`."""
    return f"{period.year}Q{period.quarter}"
