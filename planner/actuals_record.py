"""The forecast's record: each quarter's actuals against the forecast made a quarter before.

`planner reforecast` takes the actuals of the quarter just ended, which the previous plan
forecast. Where each stream's actual fell among that forecast's quantiles says whether the bands
the plan was bought against are honest on this estate's own demand, which no benchmark on other
data can say: a plan at P90 should see about one actual in ten above its P90. The rows are carried
from plan to plan (`actuals_vs_forecast.csv`), so the record grows by a quarter at each roll.

The forecast is compared as the plan used it: its quantiles plus the known deals of
demand_overrides.csv (floored at zero, as the planned demand is), since an actual holds the
deal's demand if the deal came.
"""

from __future__ import annotations

import pandas as pd

from forecasts import column_quantile

# the finding (position) first and the text before the numbers, so that a sheet never runs a
# right-aligned number into the text after it
COLUMNS = ["quarter", "region", "workload", "position", "band", "actual", "previous_planned", "previous_deals",
           "previous_p50", "previous_low", "previous_high", "above_planned_units"]
STREAMS_NAMED = 3  # streams named in the summary per finding; the rest are counted (the table has them all)


def quarter_against_forecast(forecast: pd.DataFrame, actuals: pd.DataFrame, quarter) -> pd.DataFrame:
    """A row per stream with both an actual and a forecast for `quarter`, in COLUMNS.

    `forecast` is a plan's forecast table (kind, planning_demand, its quantile columns and
    override_delta); `actuals` has quarter, region, workload, demand. `position` names the
    quantiles the actual fell between ("P10-P50"), or "below P10" / "above P90" outside the
    outer band ("" where the plan shows no quantile); `above_planned_units` is how far the actual
    exceeded the demand the plan was made for (0 when it did not)."""
    quarter = str(quarter)
    rows = forecast[(forecast["kind"] == "forecast") & (forecast["quarter"] == quarter)]  # quarters are text
    merged = rows.merge(actuals.assign(quarter=quarter)[["quarter", "region", "workload", "demand"]],
                        on=["quarter", "region", "workload"])
    levels = sorted((level, name) for name in merged.columns if (level := column_quantile(name)) is not None)
    deals = merged["override_delta"].astype(float) if "override_delta" in merged else pd.Series(0.0, index=merged.index)
    expected = pd.DataFrame({name: (merged[name] + deals).clip(lower=0.0) for _, name in levels}, index=merged.index)
    actual = merged["demand"].astype(float)
    record = pd.DataFrame({
        "quarter": quarter, "region": merged["region"], "workload": merged["workload"], "actual": actual,
        "previous_planned": merged["planning_demand"], "previous_deals": deals,
        "previous_p50": expected["p50"] if "p50" in expected else float("nan"),
        "band": f"{levels[0][1].upper()}-{levels[-1][1].upper()}" if len(levels) > 1 else "",
        "previous_low": expected[levels[0][1]] if levels else float("nan"),
        "previous_high": expected[levels[-1][1]] if levels else float("nan"),
        "position": [_position(value, row, [name for _, name in levels]) for value, row in
                     zip(actual, expected.itertuples(index=False))],
        "above_planned_units": (actual - merged["planning_demand"]).clip(lower=0.0),
    })
    return record[COLUMNS].sort_values(["region", "workload"], ignore_index=True)


def _position(actual: float, quantiles, names: list[str]) -> str:
    """Where `actual` fell among the forecast's quantiles (ascending), a quantile's own value
    inside; "" where the plan shows none (or a hand-edited forecast.csv left one blank)."""
    if not names or any(pd.isna(value) for value in quantiles):
        return ""
    if actual < quantiles[0]:
        return f"below {names[0].upper()}"
    if actual > quantiles[-1]:
        return f"above {names[-1].upper()}"
    inside = next((i for i in range(1, len(names)) if actual <= quantiles[i]), len(names) - 1)
    return f"{names[inside - 1].upper()}-{names[inside].upper()}" if len(names) > 1 else f"at {names[0].upper()}"


def extended_record(previous: pd.DataFrame | None, latest: pd.DataFrame) -> pd.DataFrame:
    """The previous plan's record with this quarter's rows after it (any earlier rows of the
    same quarter replaced: the latest actuals and forecast are the ones that count)."""
    if previous is None or previous.empty:
        return latest.reset_index(drop=True)
    kept = previous[~previous["quarter"].isin(set(latest["quarter"]))][COLUMNS]  # quarters are text (PlanSnapshot)
    return pd.concat([kept, latest], ignore_index=True)


def record_summary(record: pd.DataFrame, quarter, planning_label: str) -> str:
    """In words: the actuals of `quarter` against the previous forecast (in total against its P50,
    the streams outside its outer band, those above the demand planned for), then, once the
    record holds more than one quarter, how often actuals fell outside the band over all of it."""
    latest = record[record["quarter"] == str(quarter)]
    if latest.empty:
        return ""
    parts = [_total(latest, quarter)]
    outside = latest[latest["position"].str.startswith(("below", "above"))]
    if len(outside):
        parts.append(f"{len(outside)} of {len(latest)} streams came in outside its {latest['band'].iloc[0]} band: "
                     + _named(outside, _outside_text))
    elif latest["band"].iloc[0]:
        parts.append(f"every stream came in inside its {latest['band'].iloc[0]} band")
    over = latest[latest["above_planned_units"] > 0]
    if len(over):
        parts.append(f"{len(over)} of {len(latest)} above the demand the previous plan was made for ({planning_label}): "
                     + _named(over.sort_values("above_planned_units", ascending=False),
                              lambda row: f"{row.region}/{row.workload} by {row.above_planned_units:,.0f}"))
    text = "; ".join(parts) + "."
    return " ".join(filter(None, [text, _over_the_record(record)]))


def _outside_text(row) -> str:
    """'us/inference at 5,876 below P10 (6,076 with +600 of known deals)': a deal that did not
    come shows as an actual below the band."""
    bound = row.previous_low if row.position.startswith("below") else row.previous_high
    deals = f" with {row.previous_deals:+,.0f} of known deals" if row.previous_deals else ""
    return f"{row.region}/{row.workload} at {row.actual:,.0f} {row.position} ({bound:,.0f}{deals})"


def _total(latest: pd.DataFrame, quarter) -> str:
    with_p50 = latest["previous_p50"].notna().all()
    column, label = ("previous_p50", "P50 forecast") if with_p50 else ("previous_planned", "planned demand")
    expected = latest[column]
    if ((latest["actual"] - expected).abs() <= 1e-6 * expected.abs().clip(lower=1)).all():
        return f"Actual demand in {quarter} was exactly the previous {label} for every stream"
    return (f"Actual demand in {quarter} was {latest['actual'].sum() / expected.sum() - 1:+.1%} against the previous "
            f"{label} in total")


def _named(rows: pd.DataFrame, text) -> str:
    named = ", ".join(text(row) for row in rows.head(STREAMS_NAMED).itertuples())
    return named + (f" and {len(rows) - STREAMS_NAMED} more" if len(rows) > STREAMS_NAMED else "")


def _over_the_record(record: pd.DataFrame) -> str:
    """How often actuals fell below and above the band over the whole record, a quarter ahead,
    with the shares a calibrated forecast would give where the band was the same throughout."""
    quarters = sorted(set(record["quarter"]))
    banded = record[(record["band"] != "") & (record["position"] != "")]
    if len(quarters) < 2 or banded.empty:
        return ""
    below = banded["position"].str.startswith("below").mean()
    above = banded["position"].str.startswith("above").mean()
    bands = set(banded["band"])
    text = (f"Over the {len(quarters)} quarters on record ({quarters[0]} to {quarters[-1]}, {len(banded)} actuals), "
            f"{below:.0%} fell below and {above:.0%} above ")
    if len(bands) != 1:
        return text + "the band of the forecast made a quarter before; actuals_vs_forecast.csv has every one."
    low, high = banded["band"].iloc[0].split("-")
    return text + (f"the {low}-{high} band of the forecast made a quarter before ({column_quantile(low.lower()):.0%} "
                   f"and {1 - column_quantile(high.lower()):.0%} expected); actuals_vs_forecast.csv has every one.")
