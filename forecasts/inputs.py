"""Checks on what a script hands `forecasts.forecast`, so that bad input is a ForecastError
naming the row and column instead of a KeyError, a NaN forecast or a silently shifted one.

The planner validates its scenario files before they reach the forecaster (planner/rules.py,
with file and spreadsheet row); these checks are for the Python API, where the history is
any DataFrame a script built. Rows are named by the frame's index label, or by position where
labels repeat.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from forecasts.errors import ForecastError

COLUMNS = ("quarter", "region", "workload", "demand")
SCALES = ("auto", "log", "units")  # auto: logs where every quarter is positive, else units


def quantile_column(q: float) -> str:
    """0.1 -> 'p10', 0.975 -> 'p97.5'."""
    return f"p{q * 100:g}"


def column_quantile(name: str) -> float | None:
    """'p10' -> 0.1, 'p97.5' -> 0.975: quantile_column read back (a forecast.csv written with
    any list of quantiles); None for a name that is not a quantile column."""
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", name)
    level = float(match.group(1)) / 100 if match else None
    return level if level is not None and 0 < level < 1 else None


def checked_request(horizon, quantiles) -> tuple[int, tuple[float, ...]]:
    """The horizon as an int of at least one quarter and the quantiles sorted, each strictly between 0 and 1."""
    horizon = checked_count("horizon", horizon, "a whole number of quarters")
    try:
        values = tuple(sorted({float(q) for q in quantiles}))
    except (TypeError, ValueError):
        raise ForecastError(f"quantiles: got {quantiles!r}; expected numbers strictly between 0 and 1") from None
    outside = [q for q in values if not 0 < q < 1]
    if not values or outside:
        raise ForecastError(f"quantiles: got {list(quantiles)!r}; expected at least one, each strictly between 0 and 1"
                            + (f" ({outside[0]:g} is not)" if outside else ""))
    return horizon, values


def checked_count(name: str, value, expected: str = "a whole number") -> int:
    """`value` as an int of at least one (not a bool, not 2.5), or a ForecastError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ForecastError(f"{name}: got {value!r}; expected {expected}, at least 1")
    return int(value)


def checked_share(name: str, value) -> float:
    """`value` as a float strictly between 0 and 1 (a quantile), or a ForecastError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ForecastError(f"{name}: got {value!r}; expected a number strictly between 0 and 1")
    return float(value)


def checked_scale(scale, streams: Iterable[tuple[str, str]]) -> str | dict[tuple[str, str], str]:
    """One scale for every stream, or a mapping {(region, workload): scale} whose every key is a
    stream of the history: a misspelt or stale key used to be ignored without a word, leaving
    that stream on `auto` while the script believed it set."""
    if isinstance(scale, str):
        return _known_scale(scale, "")
    if not isinstance(scale, Mapping):
        raise ForecastError(f"scale: got {scale!r}; expected one of {', '.join(SCALES)} "
                            "or a mapping {(region, workload): scale}")
    known = set(streams)
    for key, named in scale.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ForecastError(f"scale: key {key!r} is not a (region, workload) pair")
        if key not in known:
            shown = ", ".join(f"{r}/{w}" for r, w in sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
            raise ForecastError(f"scale: names stream {key[0]}/{key[1]}, which the history does not have "
                                f"(its streams: {shown or 'none'})")
        _known_scale(named, f" for stream {key[0]}/{key[1]}")
    return dict(scale)


def scale_of_stream(scale: str | Mapping[tuple[str, str], str], region: str, workload: str) -> str:
    """The scale one stream is modelled on, from a checked_scale answer (`auto` where a mapping leaves it out)."""
    return scale if isinstance(scale, str) else scale.get((region, workload), "auto")


def _known_scale(named, where: str) -> str:
    if named not in SCALES:
        raise ForecastError(f"unknown forecast scale {named!r}{where}; use one of {', '.join(SCALES)}")
    return named


def checked_history(history: pd.DataFrame) -> pd.DataFrame:
    """The history with quarter as quarterly Periods and demand as float, or a ForecastError for the
    first kind of fault found: a missing column, a quarter that is not one, a demand that is not a
    number >= 0, a stream with a quarter twice or a quarter missing (the models would read the
    quarters either side of a gap as adjacent)."""
    if not isinstance(history, pd.DataFrame):
        raise ForecastError(f"history: got a {type(history).__name__}; expected a DataFrame with columns "
                            f"{', '.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in history.columns]
    if missing:
        raise ForecastError(f"history: no column {', '.join(missing)}; expected columns {', '.join(COLUMNS)} "
                            "(one row per stream and quarter)")
    # checked by position, named by label: a frame concatenated without ignore_index repeats labels
    frame = history.loc[:, list(COLUMNS)].reset_index(drop=True)
    row = _row_namer(history.index)
    try:
        frame["quarter"] = pd.PeriodIndex(frame["quarter"], freq="Q")
    except (ValueError, TypeError):
        frame["quarter"] = [_quarter(value, row(position)) for position, value in enumerate(frame["quarter"])]
    if frame["quarter"].isna().any():
        position = int(np.flatnonzero(frame["quarter"].isna().to_numpy())[0])
        raise ForecastError(f"history {row(position)}, column quarter: is blank; expected a quarter such as 2027Q1")
    demand = pd.to_numeric(frame["demand"], errors="coerce")
    bad = ~np.isfinite(demand.to_numpy(float)) | (demand.to_numpy(float) < 0)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        value = history["demand"].iloc[position]
        shown = "is blank" if pd.isna(value) else f"got {value:g}" if isinstance(value, numbers.Real) else f"got {value!r}"
        raise ForecastError(f"history {row(position)}, column demand: {shown}; expected a number >= 0")
    frame["demand"] = demand.astype(float)
    for (region, workload), stream in frame.groupby(["region", "workload"], sort=False):
        ordinals = pd.Series(pd.PeriodIndex(stream["quarter"], freq="Q").asi8, index=stream.index)
        repeated = ordinals[ordinals.duplicated()]
        if len(repeated):
            twice = ordinals.index[ordinals == repeated.iloc[0]]
            raise ForecastError(f"history {row(twice[0])} and {row(twice[1])}, column quarter: {region}/{workload} has "
                                f"{pd.Period(ordinal=repeated.iloc[0], freq='Q')} twice; expected one row per stream "
                                "and quarter")
        present = set(ordinals)
        gaps = [o for o in range(ordinals.min(), ordinals.max() + 1) if o not in present]
        if gaps:
            raise ForecastError(f"history, column quarter: {region}/{workload} has no row for "
                                f"{pd.Period(ordinal=gaps[0], freq='Q')}"
                                + (f" nor for {len(gaps) - 1} more quarters" if len(gaps) > 1 else "")
                                + "; expected consecutive quarters (give the missing ones, or start after them)")
    return frame


def _quarter(value, row: str) -> pd.Period:
    """One quarter, or a ForecastError naming the row it is on."""
    try:
        return pd.Period(value, freq="Q")
    except (ValueError, TypeError):
        raise ForecastError(f"history {row}, column quarter: got {value!r}; expected a quarter such as 2027Q1") from None


def _row_namer(index: pd.Index):
    """position -> how a message names that row: by its index label (4, not np.int64(4); 'a'
    quoted), or by position where labels repeat and a label would not say which row."""
    if not index.is_unique:
        return lambda position: f"row at position {int(position)}"
    return lambda position: f"row {_shown_label(index[int(position)])}"


def _shown_label(label) -> str:
    """A row's index label as a script wrote it: 4, not np.int64(4); 'a' quoted."""
    return repr(label.item() if isinstance(label, np.generic) else label)
