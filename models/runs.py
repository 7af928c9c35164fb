"""Runs of consecutive quarters, so that a report says a thing once for its whole span.

Shared by the infeasibility diagnosis and the unmet-demand explanation: a limit that binds
for three years is one line with its range, not twelve.
"""

from __future__ import annotations


def consecutive(points: list[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Split (quarter index, amount) points, sorted by quarter, into runs of consecutive quarters."""
    runs = []
    for t, amount in points:
        if runs and t == runs[-1][-1][0] + 1:
            runs[-1].append((t, amount))
        else:
            runs.append([(t, amount)])
    return runs


def figure(amount: float, decimals: int = 0) -> str:
    """'1,234' (decimals 0) or '0.2': an amount rounded for a report, except that an amount which is
    not zero never reads as zero (a summary once said '0 units on cloud' for 0.2 of a unit): it gets
    up to three more decimals, enough to show its first digit, and one smaller still reads
    'under 0.001'."""
    for places in range(decimals, decimals + 4):
        text = f"{amount:,.{places}f}"
        if amount == 0 or any(c in "123456789" for c in text):
            return text
    return f"under {10.0 ** -(decimals + 3):.{decimals + 3}f}"


def span(values, decimals: int = 0) -> str:
    """'5' or '3 to 5': the range of a figure over a run of quarters, each end as figure() writes it."""
    low, high = figure(min(values), decimals), figure(max(values), decimals)
    return low if low == high else f"{low} to {high}"


def counted(count: int, noun: str, form: str = ",") -> str:
    """'1 rack', '3 racks', '-1 rack' (form '+d'): a count with its noun, singular for one either
    way (a report read '1 order lines')."""
    return f"{count:{form}} {noun if abs(count) == 1 else noun + 's'}"


def some_of(names, shown: int = 4) -> str:
    """'a, b, c, d and 3 more': the first `shown` names and how many more, or all of them where
    one more would be all that is left out (never 'and 1 more', which is as long as the name)."""
    names = list(names)
    if len(names) <= shown + 1:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"


def when(first, last, count: int) -> str:
    """'in 2027Q1' or 'from 2027Q1 to 2027Q4 (4 quarters)'."""
    return f"in {first}" if count == 1 else f"from {first} to {last} ({count} quarters)"
