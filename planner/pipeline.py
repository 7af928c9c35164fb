"""Scenario -> forecast -> model: the stages `planner plan` runs, usable from scripts too."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasts import METHODS, ForecastError, forecast_with_choices, method_names, quantile_column
from models.inputs import SolverOptions
from models.runs import counted
from models.run import ModelRun, run_model
from planner.bridge import plan_inputs
from planner.problems import Problem, many_times
from planner.scenario import Scenario
from planner.schema import LARGEST_NUMBER


BACKTEST_MASE = "backtest_mase_"  # forecast_models.csv: one column per candidate model


class OverrideScaleError(ForecastError):
    """A demand_overrides.csv delta that takes planning demand past any scale: the row is at fault,
    not the history (the forecaster's own errors are about demand_history.csv)."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class DemandForecast:
    table: pd.DataFrame            # forecast.csv: history and forecast rows
    planning_demand: pd.DataFrame  # quarter, region, workload, demand: the quantile planned for, plus overrides
    choices: pd.DataFrame          # model per stream and why
    warnings: tuple[str, ...] = ()  # streams with a one-off, a latest jump or a break, or bands too wide to plan on unseen

    @property
    def one_off_quarters(self) -> set[tuple[str, str, pd.Period]]:
        """(region, workload, quarter) of every one-off history quarter: found by the forecaster or named
        in forecast.one_off_quarters."""
        return {(c.region, c.workload, quarter) for c in self.choices.itertuples() for quarter in c.one_offs}

    @property
    def breaks(self) -> set[tuple[str, str, pd.Period]]:
        """(region, workload, quarter) of every break in a stream's level: found by the forecaster or
        the quarter forecast.history_start starts the stream at."""
        return {(c.region, c.workload, quarter) for c in self.choices.itertuples() for quarter in c.breaks}

    @property
    def models(self) -> pd.DataFrame:
        """forecast_models.csv: per stream, the model used and why, on which scale, the factor the
        backtest put on the models' own spread, and each candidate's backtest MASE (blank: not a
        candidate for that stream). The audit trail of a forecast, which stderr alone did not keep."""
        choices = self.choices
        table = pd.DataFrame({"region": choices["region"], "workload": choices["workload"], "model": choices["model"],
                              "why": choices["note"], "scale": choices["log_scale"].map({True: "log", False: "units"}),
                              "band_factor": choices["calibration"]})
        scored = {name for scores in choices["scores"] for name in scores}
        for name in [*METHODS, *(name for name in method_names() if name in scored and name not in METHODS)]:
            table[f"{BACKTEST_MASE}{name}"] = [scores.get(name) for scores in choices["scores"]]
        override_only = self.table.loc[self.table["model"] == "override only", ["region", "workload"]].drop_duplicates()
        table = pd.concat([table, override_only.assign(model="override only", why="no history: demand_overrides.csv only")])
        return table.sort_values(["region", "workload"], ignore_index=True)


def stream_scales(scenario: Scenario) -> dict[tuple[str, str], str]:
    """Each forecast stream's scale (the streams with history; override-only ones are not
    forecast): its forecast.scale_by_stream line, else forecast.scale."""
    return {stream: scenario.settings.forecast.scale_of(*stream) for stream in scenario.history_streams}


def _models_by_stream(forecast: pd.DataFrame | None) -> dict:
    """{(region, workload): 'arima+theta+drift'} from a plan's forecast.csv rows (empty without any)."""
    if forecast is None or not {"region", "workload", "model"} <= set(forecast.columns):
        return {}
    rows = forecast[forecast["kind"] == "forecast"] if "kind" in forecast.columns else forecast
    return {(g, w): m for g, w, m in zip(rows["region"], rows["workload"], rows["model"]) if isinstance(m, str) and m}


def forecast_demand(scenario: Scenario, progress=None, previous_forecast: pd.DataFrame | None = None) -> DemandForecast:
    """Forecast every stream over the horizon; add overrides; pick the planning quantile.

    `progress(iterable, length)` wraps the loop over streams (see forecasts.forecast_with_choices).
    `previous_forecast`: a re-forecast's previous forecast.csv, whose models each stream keeps unless
    new ones backtest clearly better (forecasts.core.KEEP_MARGIN)."""
    settings = scenario.settings
    planning = settings.planning_quantile
    quantiles = tuple(sorted(set(settings.forecast.quantiles) | {planning, 0.5}))  # P50 for _implausible_bands
    history, modelled, judged = scenario.demand_history, scenario.modelled_history, settings.forecast
    forecast, choices = forecast_with_choices(modelled, settings.horizon_quarters, quantiles,
                                              settings.forecast.method, progress, scale=stream_scales(scenario),
                                              previous=_models_by_stream(previous_forecast))
    choices["note"] = [note + _judged_in_scenario(history, modelled, judged, region, workload)
                       for region, workload, note in zip(choices["region"], choices["workload"], choices["note"])]
    forecast = forecast[forecast["quarter"] >= settings.start]
    overrides = scenario.demand_overrides.groupby(["quarter", "region", "workload"])["delta"].sum()
    forecast = _with_override_only_streams(forecast, overrides, quantiles, settings.quarters)
    keys = list(zip(forecast["quarter"], forecast["region"], forecast["workload"]))
    forecast["override_delta"] = [float(overrides.get(k, 0.0)) for k in keys]
    forecast["planning_demand"] = (forecast[quantile_column(planning)] + forecast["override_delta"]).clip(lower=0.0)
    forecast["kind"] = "forecast"
    _refuse_past_any_scale(forecast, history, planning, scenario.demand_overrides)
    floored = _floor_below_resolution(forecast, scenario.rack_capacity)

    shown = [quantile_column(q) for q in settings.forecast.quantiles]
    past = history.assign(kind="history", model="actual", override_delta=0.0, planning_demand=float("nan"))
    for column in shown:
        past[column] = past["demand"].astype(float)
    columns = ["quarter", "region", "workload", *shown, "kind", "model", "override_delta", "planning_demand"]
    table = pd.concat([past[columns], forecast[columns]], ignore_index=True).sort_values(
        ["region", "workload", "quarter"], ignore_index=True)
    planning_demand = forecast[["quarter", "region", "workload", "planning_demand"]].rename(
        columns={"planning_demand": "demand"}).reset_index(drop=True)
    warnings = (*_irregular_warnings(choices), *floored, *_implausible_bands(forecast, quantiles),
                *_runaway_quantiles(forecast, history, planning),
                *_overrides_below_zero(forecast, scenario.demand_overrides, planning))
    streams = list(zip(choices["region"], choices["workload"]))
    # found or judged in the scenario, both are marked on the chart
    choices["one_offs"] = [found + tuple(judged.one_offs_of(*s)) for s, found in zip(streams, choices["one_offs"])]
    choices["breaks"] = [found + ((judged.history_start_of(*s),) if judged.history_start_of(*s) else ())
                         for s, found in zip(streams, choices["breaks"])]
    return DemandForecast(table, planning_demand, choices, warnings)


def _irregular_warnings(choices: pd.DataFrame) -> list[str]:
    """The forecaster's warnings about one-off quarters, latest jumps and breaks, with what a
    planner can do about each in the scenario."""
    found = []
    for choice in choices.itertuples():
        if not choice.warning:
            continue
        stream, advice = f"{choice.region}/{choice.workload}", []
        if choice.one_offs:
            # a typo is mended where it was written: named, the wrong figure would stay in the history for good
            single = len(choice.one_offs) == 1
            it, they_are = ("it", "it is") if single else ("them", "they are")
            typo = "a typo, fix the figure where it came" if single else "typos, fix the figures where they came"
            advice.append(f"if {they_are} {typo} from (demand_history.csv, or the actuals file a re-forecast appended "
                          f"{it} from); if {they_are} {'a one-off' if single else 'one-offs'} that will not recur "
                          "(a double count, a burst that ended), "
                          f"name {it} in scenario.yaml's forecast.one_off_quarters as the line "
                          f"`{stream}: [{', '.join(map(str, choice.one_offs))}]` (demand_history.csv keeps the actual)")
        if choice.breaks:
            advice.append(f"if the level before {choice.breaks[-1]} will not come back (a customer left, a workload moved, "
                          "or the stream had not started), "
                          f"start the stream there with scenario.yaml's forecast.history_start as the line "
                          f"`{stream}: {choice.breaks[-1]}` (demand_history.csv keeps the earlier quarters)")
        said = "; ".join(advice)
        found.append(f"{stream}: {choice.warning}. {said[0].upper()}{said[1:]}")
    return found


def _judged_in_scenario(history: pd.DataFrame, modelled: pd.DataFrame, settings, region: str, workload: str) -> str:
    """What a stream's `why` adds for its forecast.history_start and forecast.one_off_quarters (of
    `settings`, the forecast settings): where the models' history starts, each one-off quarter's
    actual (in `history`) and the level modelled (in `modelled`, Scenario.modelled_history)."""
    start, quarters = settings.history_start_of(region, workload), settings.one_offs_of(region, workload)
    said = [f"history read from {start} (forecast.history_start)"] if start is not None else []
    if quarters:
        actual, level = (frame[(frame["region"] == region) & (frame["workload"] == workload)].set_index("quarter")["demand"]
                         for frame in (history, modelled))
        last_kept = actual.index.difference(quarters).max()  # named quarters after it have none after them
        growth = f"the stream's usual growth from {last_kept}"
        said += [f"{quarter} ({actual[quarter]:,.10g}) modelled at {level[quarter]:,.0f}, "
                 f"{'the level either side' if quarter < last_kept else growth} (forecast.one_off_quarters)"
                 for quarter in quarters]
    return "".join(f"; {part}" for part in said)


IMPLAUSIBLE_BAND = 5.0  # top quantile / median in the first planned quarter; ~2 on ramps, far more after a spike


def _implausible_bands(forecast: pd.DataFrame, quantiles) -> list[str]:
    """Streams whose top quantile is many times their median in the first planned quarter.

    A one-quarter spike or a sudden level jump in the history gives such bands (the models
    cannot explain it, and log-scale spreads turn it into factors of millions); the plan would
    buy for them silently.
    """
    top, median = quantile_column(max(quantiles)), quantile_column(0.5)
    if top == median:
        return []
    first = forecast.sort_values("quarter").groupby(["region", "workload"], sort=True).head(1)
    wide = first[(first[median] > 0) & (first[top] > IMPLAUSIBLE_BAND * first[median])]
    wide = wide.sort_values(["region", "workload"])
    return [f"{region}/{workload}: {top.upper()} is {many_times(high / middle)} P50 in {quarter}; its history likely "
            "has a spike or a sudden jump the models cannot explain: check demand_history.csv, or give the stream "
            "through demand_overrides.csv"
            for region, workload, quarter, high, middle in zip(wide["region"], wide["workload"], wide["quarter"],
                                                               wide[top], wide[median])]


RUNAWAY_DEMAND = 50.0  # the planning quantile over the largest quarter of its stream's history; the examples reach 7


def _runaway_quantiles(forecast: pd.DataFrame, history: pd.DataFrame, planning: float) -> list[str]:
    """Streams whose planning quantile (before overrides) passes RUNAWAY_DEMAND times the largest
    quarter of their history in some planned quarter.

    `_implausible_bands` reads the first planned quarter only, but a band can be narrow there and
    run away later: on the log scale a short, volatile history (500, 700, 500, 300) put P90 at
    113,280 sixteen quarters out, 2.7 times P50 in the first quarter, and the plan would buy for it
    without a word (README, Short histories on the log scale). Where the median itself gets there,
    the cause is not the band but the history's growth, compounded over a long horizon (global-enterprise
    over 20 years: its streams grow 29-62% a year), and the warning says that instead."""
    column, median = quantile_column(planning), quantile_column(0.5)
    largest = history.groupby(["region", "workload"])["demand"].max()
    found = []
    for (region, workload), stream in forecast.sort_values("quarter").groupby(["region", "workload"], sort=True):
        most = largest.get((region, workload))
        if not most or most <= 0:
            continue  # a stream from overrides alone, or a history of zeros: no scale to judge by
        over = stream[stream[column] > RUNAWAY_DEMAND * most]
        if not len(over):
            continue
        first = over.iloc[0]
        said = (f"{region}/{workload}: {column.upper()} reaches {first[column]:,.0f} in {first['quarter']}, "
                f"{many_times(first[column] / most)} the largest quarter of its history ({most:,.10g}), and "
                f"{stream[column].max():,.0f} by {stream.loc[stream[column].idxmax(), 'quarter']}; ")
        if median in stream and first[median] > RUNAWAY_DEMAND * most:
            years = (pd.Period(first["quarter"], freq="Q") - pd.Period(stream["quarter"].iloc[0], freq="Q")).n / 4 + 0.25
            said += (f"{'that is the median' if column == median else 'P50 gets there too'}, from "
                     f"{_growth_of(history, region, workload)} compounded over {years:g} years of forecast: check that "
                     "the horizon is meant to run so far at that growth, or give the stream's expected demand through "
                     "demand_overrides.csv")
        else:
            said += ("a short or volatile history widens the band fast: check demand_history.csv, or give the "
                     "stream's expected demand through demand_overrides.csv")
        found.append(said)
    return found


def _growth_of(history: pd.DataFrame, region: str, workload: str) -> str:
    """'its growth of +41% a year over its last two years', from the last four quarters against the
    four before them; 'its history's growth' where the history is shorter or they hold nothing."""
    stream = history[(history["region"] == region) & (history["workload"] == workload)].sort_values("quarter")
    demand = stream["demand"].to_numpy(float)
    if len(demand) < 8 or demand[-8:-4].sum() <= 0:
        return "its history's growth"
    return f"its growth of {demand[-4:].sum() / demand[-8:-4].sum() - 1:+.0%} a year over its last two years"


# Least share of the largest rack of its workload a quarter's planning demand is planned at. The
# solver serves a stream with a fraction of a rack, and a fraction under its feasibility tolerance
# reads as none: 8e-6 units of apac/inference (a stream whose latest actual was typed 1e-9) went
# unserved and unmet while HiGHS reported optimal, and the checker stopped the plan as a bug.
RESOLVABLE_RACK_SHARE = 1e-6


def _floor_below_resolution(forecast: pd.DataFrame, rack_capacity: pd.DataFrame) -> list[str]:
    """Plan as zero (in place) each quarter's demand under RESOLVABLE_RACK_SHARE of the largest rack
    of its workload, and say so once per stream: no real compute unit comes near it, and planned
    as it is, the solver could not tell it from none."""
    largest = rack_capacity.groupby("workload")["units_per_rack"].max()
    least = RESOLVABLE_RACK_SHARE * forecast["workload"].map(largest).fillna(0.0)
    demand = forecast["planning_demand"]
    tiny = forecast[(demand > 0) & (demand < least)]
    forecast.loc[tiny.index, "planning_demand"] = 0.0
    return [f"{region}/{workload}: demand under a millionth of a rack in {counted(len(quarters), 'quarter')} "
            f"(from {quarters['quarter'].min()}, at most {quarters['planning_demand'].max():.3g} units) is planned as "
            "zero, which the solver could not tell it from; if the stream is real, its history or overrides likely "
            "count another unit"
            for (region, workload), quarters in tiny.groupby(["region", "workload"], sort=True)]


def _refuse_past_any_scale(forecast: pd.DataFrame, history: pd.DataFrame, planning: float,
                           overrides: pd.DataFrame) -> None:
    """Stop at the first stream whose planning demand passes LARGEST_NUMBER, the ceiling on every
    figure a scenario gives, or is not a number. A history quarter of 1e-320 beside hundreds put
    P90 at 1e120 on the log scale, and the model built on it broke its own rows: the checker found
    the plan wrong and the planner stopped with an internal error instead of saying why. Where the
    forecast alone is within the ceiling, the override row is named (OverrideScaleError): a delta
    of 1e12 was blamed on a history of hundreds."""
    demand = forecast["planning_demand"]
    beyond = forecast[~np.isfinite(demand) | (demand > LARGEST_NUMBER)]
    if not len(beyond):
        return
    first = beyond.sort_values(["region", "workload", "quarter"]).iloc[0]
    region, workload = first["region"], first["workload"]
    if first["planning_demand"] - first["override_delta"] <= LARGEST_NUMBER:
        rows = overrides.index[(overrides["region"] == region) & (overrides["workload"] == workload)
                               & (overrides["quarter"] == first["quarter"])]
        raise OverrideScaleError(Problem(
            "demand_overrides.csv", int(rows[0]), "delta",
            f"{first['override_delta']:,.0f} for {region}/{workload} in {first['quarter']} takes its demand at "
            f"{quantile_column(planning).upper()} to {first['planning_demand']:,.0f}, past the {LARGEST_NUMBER:,.0f} "
            "units a plan can take; check the figure"))
    past = history[(history["region"] == region) & (history["workload"] == workload)].set_index("quarter")["demand"]
    span = (f"; its history runs from {past.min():,.10g} ({past.idxmin()}) to {past.max():,.10g} ({past.idxmax()})"
            if len(past) else "")
    raise ForecastError(
        f"stream {region}/{workload}: demand at {quantile_column(planning).upper()} reaches {first['planning_demand']:.3g} "
        f"in {first['quarter']}, past the {LARGEST_NUMBER:,.0f} units a plan can take{span}. A figure far off the rest, "
        "such as a typo, sends the bands past any scale: fix it where it came from, name it in "
        "forecast.one_off_quarters, or give the stream's demand through demand_overrides.csv")


def _overrides_below_zero(forecast: pd.DataFrame, overrides: pd.DataFrame, planning: float) -> list[str]:
    """Streams where a negative delta removes more than the forecast at the planning quantile: the
    demand is floored at zero there, silently until this said so, and a digit too many in
    demand_overrides.csv (-100,000 for -10,000) looks just the same. One line per stream, naming the
    first such quarter's row."""
    column = quantile_column(planning)
    below = forecast[forecast[column] + forecast["override_delta"] < 0].sort_values(["region", "workload", "quarter"])
    found = []
    for (region, workload), quarters in below.groupby(["region", "workload"], sort=True):
        first = quarters.iloc[0]
        row = overrides.index[(overrides["region"] == region) & (overrides["workload"] == workload)
                              & (overrides["quarter"] == first["quarter"])][0]  # one row per key (validated)
        more = f" (and in {counted(len(quarters) - 1, 'later quarter')})" if len(quarters) > 1 else ""
        found.append(f"demand_overrides.csv row {row}, column delta: {first['override_delta']:,.0f} for {region}/{workload} "
                     f"in {first['quarter']} removes more than its {column.upper()} forecast ({first[column]:,.0f}), "
                     f"so its demand is planned at 0 there{more}; check the figure")
    return found


def _with_override_only_streams(forecast: pd.DataFrame, overrides: pd.Series, quantiles, quarters) -> pd.DataFrame:
    """A stream known only from overrides (a new deal) gets a zero forecast to add them to."""
    known = set(zip(forecast["region"], forecast["workload"]))
    extra = sorted({(g, w) for _, g, w in overrides.index} - known)
    rows = [{"quarter": q, "region": g, "workload": w, "model": "override only",
             **{quantile_column(p): 0.0 for p in quantiles}} for g, w in extra for q in quarters]
    return pd.concat([forecast, pd.DataFrame(rows)], ignore_index=True) if rows else forecast.copy()


def plan(scenario: Scenario, demand: DemandForecast, options: SolverOptions, log_stream=None,
         previous_orders: pd.DataFrame | None = None) -> ModelRun:
    """The plan for `demand`; a re-plan passes the previous plan's open orders to keep to
    (planner.reforecast.open_orders, models/steady.py)."""
    return run_model(plan_inputs(scenario, demand.planning_demand, previous_orders), options, log_stream=log_stream)
