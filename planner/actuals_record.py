"""The forecast's record: each quarter's actuals against the forecasts made before it.

`planner reforecast` takes the actuals of the quarter just ended, which the previous plan
forecast a quarter ahead and the plans before it further ahead. Where each stream's actual fell
among those forecasts' quantiles says whether the bands the plans were bought against are honest
on this estate's own demand, which no benchmark on other data can say: a plan at P90 should see
about one actual in ten above its P90. The forecast a quarter ahead is the easy one; racks are
ordered a lead time ahead, so the forecasts that bought them were made two to four quarters
before. Each plan therefore carries the earlier plans' forecasts of the quarters still to come
(`earlier_forecasts.csv`) and the record so far (`actuals_vs_forecast.csv`), and each roll adds a
row per stream and quarters ahead.

The forecast is compared as the plan used it: its quantiles plus the known deals of
demand_overrides.csv (floored at zero, as the planned demand is), since an actual holds the
deal's demand if the deal came.
"""

from __future__ import annotations

import pandas as pd

from forecasts import column_quantile
from models.runs import some_of

# the finding (position) first and the text before the numbers, so that a sheet never runs a
# right-aligned number into the text after it
COLUMNS = ["quarter", "region", "workload", "position", "band", "quarters_ahead", "actual", "previous_planned",
           "previous_deals", "previous_p50", "previous_low", "previous_high", "above_planned_units"]
STREAMS_NAMED = 3  # streams named in the summary per finding; the rest are counted (the table has them all)
# a plan's forecasts as the next plans keep them, with the quantile columns the plan had after them
FORECAST_COLUMNS = ["last_actual_quarter", "quarter", "region", "workload", "planning_demand", "override_delta"]
# band_shares: the record's actuals outside the band per number of quarters ahead, counts then shares (the
# text first, as in COLUMNS)
SHARE_COLUMNS = ["band", "quarters_ahead", "actuals", "below_band", "above_band", "above_p50", "share_below", "share_above",
                 "share_above_p50", "expected_below", "expected_above"]


def plan_forecasts(forecast: pd.DataFrame) -> pd.DataFrame:
    """A plan's forecast rows (forecast.csv: kind, planning_demand, override_delta, its quantile
    columns) in FORECAST_COLUMNS and its quantile columns, each tagged with the last quarter of
    actuals the plan knew (the quarter before its first forecast quarter); quarters as text."""
    rows = forecast[forecast["kind"] == "forecast"]
    if rows.empty:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    quantiles = [name for name in rows.columns if column_quantile(name) is not None]
    deals = rows["override_delta"] if "override_delta" in rows else 0.0
    last_actual = str(pd.Period(min(rows["quarter"].astype(str)), freq="Q") - 1)
    return (rows.assign(last_actual_quarter=last_actual, quarter=rows["quarter"].astype(str), override_delta=deals)
            [FORECAST_COLUMNS + quantiles].reset_index(drop=True))


def forecasts_on_record(earlier: pd.DataFrame | None, previous_forecast: pd.DataFrame) -> pd.DataFrame:
    """Every forecast the plans so far made of quarters from the previous plan's first on: the
    forecasts the previous plan carried (`earlier`, FORECAST_COLUMNS and quantile columns, None
    for a plan that carried none) and the previous plan's own (its forecast.csv)."""
    own = plan_forecasts(previous_forecast)
    if earlier is None or earlier.empty:
        return own
    first = own["quarter"].min() if len(own) else None
    kept = earlier[earlier["quarter"] >= first] if first is not None else earlier  # quarters are text: they sort
    return pd.concat([kept, own], ignore_index=True)


def quarter_against_forecasts(forecasts: pd.DataFrame, actuals: pd.DataFrame, quarter) -> pd.DataFrame:
    """A row per stream and forecast of `quarter` that has an actual, in COLUMNS.

    `forecasts` is forecasts_on_record's table; `actuals` has quarter, region, workload, demand.
    `quarters_ahead` counts from the last quarter of actuals the forecast knew (1: the previous
    plan's). Each plan's forecast is placed among its own quantiles (a scenario may change its
    quantile list between plans)."""
    quarter = str(quarter)
    rows = forecasts[forecasts["quarter"] == quarter]
    parts = [_against_one_forecast(group.dropna(axis="columns", how="all"), actuals, quarter, last_actual)
             for last_actual, group in rows.groupby("last_actual_quarter", sort=True)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values(["region", "workload", "quarters_ahead"], ignore_index=True)


def _against_one_forecast(forecast: pd.DataFrame, actuals: pd.DataFrame, quarter: str, last_actual: str) -> pd.DataFrame:
    """quarter_against_forecasts for the forecast of one plan: `position` names the quantiles the
    actual fell between ("P10-P50"), or "below P10" / "above P90" outside the outer band ("" where
    the plan shows no quantile); `above_planned_units` is how far the actual exceeded the demand
    the plan was made for (0 when it did not)."""
    merged = forecast.merge(actuals.assign(quarter=quarter)[["quarter", "region", "workload", "demand"]],
                            on=["quarter", "region", "workload"])
    levels = sorted((level, name) for name in merged.columns if (level := column_quantile(name)) is not None)
    deals = merged["override_delta"].astype(float) if "override_delta" in merged else pd.Series(0.0, index=merged.index)
    expected = pd.DataFrame({name: (merged[name] + deals).clip(lower=0.0) for _, name in levels}, index=merged.index)
    actual = merged["demand"].astype(float)
    record = pd.DataFrame({
        "quarter": quarter, "region": merged["region"], "workload": merged["workload"],
        "quarters_ahead": (pd.Period(quarter, freq="Q") - pd.Period(last_actual, freq="Q")).n, "actual": actual,
        "previous_planned": merged["planning_demand"], "previous_deals": deals,
        "previous_p50": expected["p50"] if "p50" in expected else float("nan"),
        "band": f"{levels[0][1].upper()}-{levels[-1][1].upper()}" if len(levels) > 1 else "",
        "previous_low": expected[levels[0][1]] if levels else float("nan"),
        "previous_high": expected[levels[-1][1]] if levels else float("nan"),
        "position": [_position(value, row, [name for _, name in levels]) for value, row in
                     zip(actual, expected.itertuples(index=False))],
        "above_planned_units": (actual - merged["planning_demand"]).clip(lower=0.0),
    })
    return record[COLUMNS]


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
    """In words: the actuals of `quarter` against the previous plan's forecast (in total against
    its P50, the streams outside its outer band, those above the demand planned for), then, once
    the record holds more than one quarter, how often actuals fell outside the band over all of it,
    for each number of quarters ahead the forecasts were made."""
    latest = record[(record["quarter"] == str(quarter)) & (record["quarters_ahead"] == 1)]  # the previous plan's
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
    return some_of([text(row) for row in rows.itertuples()], STREAMS_NAMED)


def band_shares(record: pd.DataFrame) -> pd.DataFrame:
    """For each number of quarters ahead the forecasts were made, over the whole record: how many
    actuals were scored, how many fell below and above the band and above the P50 forecast, and
    their shares (above P50 over the actuals whose forecast had a P50), in SHARE_COLUMNS. The band
    and the shares a calibrated forecast would give are filled where the band was the same
    throughout ("" and NaN where the scenario changed its quantiles). What the Changes sheet's
    table and the summary's running shares show."""
    banded = record[(record["band"] != "") & (record["position"] != "")]
    if banded.empty:
        return pd.DataFrame(columns=SHARE_COLUMNS)
    with_p50 = banded["previous_p50"].notna()
    flags = pd.DataFrame({
        "quarters_ahead": banded["quarters_ahead"].astype(int),
        "below_band": banded["position"].str.startswith("below"), "above_band": banded["position"].str.startswith("above"),
        "above_p50": with_p50 & (banded["actual"] > banded["previous_p50"]), "with_p50": with_p50})
    table = flags.groupby("quarters_ahead", sort=True).agg(
        actuals=("below_band", "size"), below_band=("below_band", "sum"), above_band=("above_band", "sum"),
        above_p50=("above_p50", "sum"), with_p50=("with_p50", "sum")).reset_index()
    table["share_below"] = table["below_band"] / table["actuals"]
    table["share_above"] = table["above_band"] / table["actuals"]
    table["share_above_p50"] = (table["above_p50"] / table["with_p50"]).where(table["with_p50"] > 0)
    table["above_p50"] = table["above_p50"].astype("Int64").mask(table["with_p50"] == 0)  # no P50 forecast: blank
    bands = set(banded["band"])
    table["band"] = band = next(iter(bands)) if len(bands) == 1 else ""
    low, high = band.split("-") if band else (None, None)
    table["expected_below"] = column_quantile(low.lower()) if low else float("nan")
    table["expected_above"] = round(1 - column_quantile(high.lower()), 9) if high else float("nan")
    return table[SHARE_COLUMNS]


def _over_the_record(record: pd.DataFrame) -> str:
    """How often actuals fell below and above the band over the whole record, for each number of
    quarters ahead the forecast was made, with the shares a calibrated forecast would give where
    the band was the same throughout."""
    quarters = sorted(set(record["quarter"]))
    if len(quarters) < 2:  # one quarter is no record yet
        return ""
    shares = band_shares(record)
    if shares.empty:
        return ""
    first = shares.iloc[0]
    band = (f"the {first['band']} band ({first['expected_below']:.0%} and {first['expected_above']:.0%} expected)"
            if first["band"] else "the band")
    texts = []
    for row in shares.itertuples():
        if texts:
            texts.append(f"{row.share_below:.0%} and {row.share_above:.0%} {ahead_text(row.quarters_ahead)} "
                         f"({row.actuals})")
        else:
            texts.append(f"{row.share_below:.0%} and {row.share_above:.0%} of the time as forecast "
                         f"{ahead_text(row.quarters_ahead)} ({row.actuals} actuals)")
    return (f"Over the {len(quarters)} quarters on record ({quarters[0]} to {quarters[-1]}), actuals fell below and "
            f"above {band} " + ", ".join(texts) + "; actuals_vs_forecast.csv has every one.")


def ahead_text(quarters: int) -> str:
    """'a quarter before', '3 quarters before': when a forecast was made, before the quarter it forecast."""
    return "a quarter before" if quarters == 1 else f"{quarters} quarters before"
