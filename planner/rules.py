"""Cross-file validation rules: what a single row cannot tell.

Each rule takes the parsed settings and tables and returns problems; `RULES` lists them
all, and `check_rules` runs every one so the user sees every problem in one pass.
`WARNING_RULES` find what is legal but most likely a mistake (a typo that would otherwise
plan silently); `check_warnings` runs them once the scenario is valid.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from models.runs import counted
from planner.config import ForecastSettings, ScenarioSettings
from planner.problems import Problem, did_you_mean, many_times, readable_number
from planner.quarters import format_quarter

Tables = dict[str, pd.DataFrame]
# Rules get settings=None when scenario.yaml itself is invalid; those that need dates skip that part.
Rule = Callable[[ScenarioSettings | None, Tables], list[Problem]]

MIN_HISTORY_QUARTERS = 3
JUMP_FACTOR = 10.0  # quarter-on-quarter demand ratio (either way) that is more likely a typo than a ramp
# Least share of one rack a stream's largest quarter may need. HiGHS takes a rack count within
# 1e-6 of a whole number for that number, so a stream needing 5e-7 of a rack was planned with
# none and left unmet while the solver reported optimal (at 5e-6 it was served); 1e-4 leaves room
# for quarters below the stream's largest. No real compute unit comes near it: it is a unit slip.
LEAST_RACK_SHARE = 1e-4

# A rack type whose whole estate (every site's positions) serves less than this share of its
# workload's smallest stream (its last quarter) is warned about: a unit slip of a thousand lands
# far below it, where a real estate serves its streams many times over.
SMALLEST_ESTATE_SHARE = 0.1

# (table, column, referenced table, referenced column); list columns are checked item by item.
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("rack_capacity", "rack_type", "racks", "rack_type"),
    ("site_power", "site", "sites", "site"),
    ("power_expansions", "site", "sites", "site"),
    ("factories", "site", "sites", "site"),
    ("factories", "rack_types", "racks", "rack_type"),
    ("fleet", "factory", "factories", "factory"),
    ("fleet", "rack_type", "racks", "rack_type"),
    ("orders", "factory", "factories", "factory"),
    ("orders", "rack_type", "racks", "rack_type"),
    ("supply", "rack_type", "racks", "rack_type"),
    ("residency", "serving_regions", "sites", "region"),
)


def unknown_references(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    found = []
    for table, column, target, target_column in REFERENCES:
        known = _known_values(tables, target_column, target)
        if known is None:
            continue  # the missing or unreadable file is reported already
        for row, value in tables[table][column].items():
            for item in value if isinstance(value, tuple) else (value,):
                if item not in known:
                    found.append(Problem(f"{table}.csv", int(row), column,
                                         f"'{item}' is not a {target_column.replace('_', ' ')} in {target}.csv"
                                         + did_you_mean(item, known)))
    return found


def unknown_regions(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """Demand, overrides and residency rules must name regions the scenario knows."""
    known = _known_values(tables, "region", "sites", "demand_history")
    if known is None:
        return []
    found = []
    for table in ("demand_overrides", "residency"):
        for row, region in tables[table]["region"].items():
            if region not in known:
                found.append(Problem(f"{table}.csv", int(row), "region",
                                     f"'{region}' is neither a site's region nor a region with demand history"
                                     + did_you_mean(region, known)))
    return found


def unknown_workloads(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    known = _known_values(tables, "workload", "demand_history", "rack_capacity")
    if known is None:
        return []
    found = []
    for table in ("demand_overrides", "residency"):
        for row, workload in tables[table]["workload"].items():
            if workload not in known:
                found.append(Problem(f"{table}.csv", int(row), "workload",
                                     f"'{workload}' is a workload with no history and no rack capacity"
                                     + did_you_mean(workload, known)))
    return found


def order_window(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    racks = tables["racks"]
    bad = racks[racks["last_order_quarter"].notna() & (racks["first_order_quarter"] > racks["last_order_quarter"])]
    return [Problem("racks.csv", int(row), "last_order_quarter",
                    f"{format_quarter(r.last_order_quarter)} is before first_order_quarter {format_quarter(r.first_order_quarter)}")
            for row, r in bad.iterrows()]


def history_shape(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """Each stream: quarters in file order, no gaps, ending the quarter before start, long enough.

    A stream with a row that failed to parse is left to that row's problem: without the row it
    would show a gap (or too few quarters) that is not in the file.
    """
    history = tables["demand_history"]
    start = settings.start if settings else None
    incomplete = {(row.get("region"), row.get("workload")) for row in history.attrs.get("unparsed", ())}
    found = []
    for row, quarter in history["quarter"].items():
        if start is not None and quarter >= start:
            found.append(Problem("demand_history.csv", int(row), "quarter",
                                 f"{format_quarter(quarter)} is at or after start {format_quarter(settings.start)}; "
                                 "history ends the quarter before start (use demand_overrides.csv for known future demand)"))
    past = history[history["quarter"] < start] if start is not None else history
    for (region, workload), stream in past.groupby(["region", "workload"], sort=True):
        if (region, workload) in incomplete:
            continue
        ordinals = stream["quarter"].map(lambda q: q.ordinal).to_numpy()
        steps = ordinals[1:] - ordinals[:-1]
        for position in range(len(steps)):
            row = int(stream.index[position + 1])
            if steps[position] < 1:
                found.append(Problem("demand_history.csv", row, "quarter",
                                     f"{format_quarter(stream['quarter'].iloc[position + 1])} for {region}/{workload} comes after "
                                     f"{format_quarter(stream['quarter'].iloc[position])} in the file; keep each stream's quarters in order"))
            elif steps[position] > 1:
                missing = pd.period_range(stream["quarter"].iloc[position] + 1, periods=int(steps[position]) - 1, freq="Q")
                found.append(Problem("demand_history.csv", row, "quarter",
                                     f"gap in {region}/{workload}: no rows for "
                                     + ", ".join(format_quarter(q) for q in missing)))
        last = stream["quarter"].max()
        if start is not None and last != start - 1:
            found.append(Problem("demand_history.csv", int(stream["quarter"].idxmax()), "quarter",
                                 f"{region}/{workload} ends at {format_quarter(last)}; history must run to "
                                 f"{format_quarter(start - 1)}, the quarter before start"))
        if len(stream) < MIN_HISTORY_QUARTERS:
            found.append(Problem("demand_history.csv", int(stream.index[0]), "demand",
                                 f"{region}/{workload} has {counted(len(stream), 'quarter')} of history; at least "
                                 f"{MIN_HISTORY_QUARTERS} are needed to forecast. Remove its rows and give its demand "
                                 "through demand_overrides.csv instead"))
    return found


def log_scale_positive(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """forecast.scale log takes the log of every stream's demand: a quarter at zero cannot have one.

    Caught here so that `planner validate` names the row, not the forecast halfway through."""
    history = tables["demand_history"]
    if settings is None or history.attrs.get("unreadable"):
        return []
    zero = history[history["demand"] <= 0]
    logged = pd.Series([settings.forecast.scale_of(r, w) == "log" for r, w in zip(zero["region"], zero["workload"])],
                       index=zero.index, dtype=bool)
    return [Problem("demand_history.csv", int(row), "demand",
                    f"got {record.demand:g} for {record.region}/{record.workload} in {format_quarter(record.quarter)}; "
                    f"{_scale_key(settings, record.region, record.workload)} log needs demand above zero in every "
                    "quarter (use auto, which keeps such a stream in demand's units, or units)")
            for row, record in zero[logged].iterrows()]


def per_stream_settings_known(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """Each forecast.scale_by_stream, forecast.one_off_quarters and forecast.history_start line names one stream of
    demand_history.csv: a misspelt one would leave its stream as it was without a word, and a '/'
    inside a region or workload could make two streams read alike (region a/b with workload c,
    region a with b/c)."""
    history = tables["demand_history"]
    if settings is None or not _complete(tables, "demand_history"):
        return []
    streams = sorted(set(zip(history["region"], history["workload"])))
    named: dict[str, list] = {}
    for region, workload in streams:
        named.setdefault(f"{region}/{workload}", []).append((region, workload))
    known = sorted(named)
    found = []
    for key in ("scale_by_stream", "one_off_quarters", "history_start"):
        lines = getattr(settings.forecast, key)
        found += [Problem("scenario.yaml", None, f"forecast.{key}.{name}",
                          f"no stream {name} in demand_history.csv{did_you_mean(name, known)}; "
                          "write a stream as region/workload" + (f", e.g. {known[0]}" if known else ""))
                  for name in lines if name not in known]
        found += [Problem("scenario.yaml", None, f"forecast.{key}.{name}",
                          f"{name} names {len(named[name])} streams of demand_history.csv ("
                          + ", ".join(f"region {r!r} with workload {w!r}" for r, w in named[name])
                          + "); rename a region or workload so that no '/' makes two streams read alike")
                  for name in lines if len(named.get(name, ())) > 1]
    return found


def modelled_quarters_inside(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """forecast.history_start leaves a stream at least MIN_HISTORY_QUARTERS to forecast from, and each
    quarter of forecast.one_off_quarters lies inside the history the models read (from history_start,
    if set), after its first quarter, which has none before it to take a level from (the last takes
    the quarter before's, grown at the stream's usual rate)."""
    history = tables["demand_history"]
    forecast = settings.forecast if settings is not None else None
    if forecast is None or not (forecast.one_off_quarters or forecast.history_start) \
            or not _complete(tables, "demand_history"):
        return []
    found = []
    names = history["region"].astype(str) + "/" + history["workload"].astype(str)
    for name in sorted(set(forecast.one_off_quarters) | set(forecast.history_start)):
        stream = history.loc[names == name, "quarter"]
        if stream.empty:
            continue  # per_stream_settings_known names it
        first, last = stream.min(), stream.max()
        start = forecast.history_start.get(name)
        if start is not None:
            latest = last - (MIN_HISTORY_QUARTERS - 1)
            if not first <= start <= latest:
                where = (f"leaves {counted((last - start).n + 1 if start <= last else 0, 'quarter')} of {name}'s history to "
                         f"forecast from; at least {MIN_HISTORY_QUARTERS} are needed" if start > first
                         else f"is before {name}'s history ({format_quarter(first)} to {format_quarter(last)})")
                found.append(Problem("scenario.yaml", None, f"forecast.history_start.{name}",
                                     f"{format_quarter(start)} {where}; expected a quarter between "
                                     f"{format_quarter(first)} and {format_quarter(latest)}"))
                continue
            first = start
        for quarter in forecast.one_off_quarters.get(name, ()):
            if not first < quarter <= last:
                where = ("is the first quarter the models read, with none before it to take a level from"
                         if quarter == first
                         else f"is outside the history the models read ({format_quarter(first)} to {format_quarter(last)})")
                found.append(Problem("scenario.yaml", None, f"forecast.one_off_quarters.{name}",
                                     f"{format_quarter(quarter)} {where}; expected a quarter between "
                                     f"{format_quarter(first + 1)} and {format_quarter(last)}"))
    return found


def _scale_key(settings: ScenarioSettings, region: str, workload: str) -> str:
    """The scenario.yaml key that set this stream's scale."""
    stream = f"{region}/{workload}"
    return f"forecast.scale_by_stream.{stream}" if stream in settings.forecast.scale_by_stream else "forecast.scale"


def site_power_order(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    found = []
    for site, changes in tables["site_power"].groupby("site", sort=False):
        ordinals = changes["quarter"].map(lambda q: q.ordinal).to_numpy()
        for position in range(1, len(ordinals)):
            if ordinals[position] < ordinals[position - 1]:
                found.append(Problem("site_power.csv", int(changes.index[position]), "quarter",
                                     f"quarters of site {site} are out of order; list them earliest first"))
    return found


def factory_cooling(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """A factory's allowed rack types must be coolable at its site; blank lists need at least one."""
    if not _complete(tables, "racks", "sites"):
        return []
    sites = _keyed(tables["sites"], "site")
    liquid = _keyed(tables["racks"], "rack_type")["liquid_cooled"]
    found = []
    for row, factory in tables["factories"].iterrows():
        if factory.site not in sites.index:
            continue  # reported by unknown_references
        if sites.at[factory.site, "liquid_cooling"]:
            continue
        listed = [r for r in factory.rack_types if r in liquid.index]
        if listed:
            for rack_type in listed:
                if liquid[rack_type]:
                    found.append(Problem("factories.csv", int(row), "rack_types",
                                         f"{rack_type} needs liquid cooling but site {factory.site} has none"))
        elif not factory.rack_types and liquid.all() and len(liquid):
            found.append(Problem("factories.csv", int(row), "rack_types",
                                 f"every rack type needs liquid cooling but site {factory.site} has none, "
                                 "so this factory can hold no rack"))
    return found


def installed_racks_fit_factory(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """Fleet and placed orders only of rack types the factory allows; fleet only at existing factories."""
    factories = _keyed(tables["factories"], "factory")
    found = []
    for table in ("fleet", "orders"):
        for row, item in tables[table].iterrows():
            if item.factory not in factories.index:
                continue
            allowed = factories.at[item.factory, "rack_types"]
            if allowed and item.rack_type not in allowed:
                found.append(Problem(f"{table}.csv", int(row), "rack_type",
                                     f"{item.rack_type} is not among the rack types factory {item.factory} allows "
                                     f"({'; '.join(allowed)})"))
            if table == "fleet" and factories.at[item.factory, "status"] == "candidate":
                found.append(Problem("fleet.csv", int(row), "factory",
                                     f"factory {item.factory} is a candidate and cannot have installed racks; "
                                     "mark it existing in factories.csv"))
    return found


def quarters_in_range(settings: ScenarioSettings | None, tables: Tables) -> list[Problem]:
    if settings is None:
        return []
    end = settings.start + settings.horizon_quarters - 1
    found = []
    for row, quarter in tables["fleet"]["online_quarter"].items():
        if quarter > settings.start:
            found.append(Problem("fleet.csv", int(row), "online_quarter",
                                 f"{format_quarter(quarter)} is after start {format_quarter(settings.start)}; "
                                 "racks still to come belong in orders.csv"))
    for row, quarter in tables["orders"]["order_quarter"].items():
        if quarter > end:
            found.append(Problem("orders.csv", int(row), "order_quarter",
                                 f"{format_quarter(quarter)} is after the last planned quarter {format_quarter(end)}"))
    return found


def supply_covers_placed_orders(settings: ScenarioSettings | None, tables: Tables) -> list[Problem]:
    """A supply.csv cap below the racks orders.csv has already placed in its quarter: the order is a
    fact, so the cap is wrong (or the order). A cap before start with such an order passed the
    model, which caps only the quarters it plans, and its checker then stopped the run as an
    internal error; within the horizon the plan was called infeasible, without the rows."""
    if not _complete(tables, "supply", "orders"):
        return []
    orders = tables["orders"]
    found = []
    for row, cap in tables["supply"].iterrows():
        placed = orders[(orders["rack_type"] == cap["rack_type"]) & (orders["order_quarter"] == cap["quarter"])]
        if placed["racks"].sum() > cap["max_racks"]:
            rows = ("row " if len(placed) == 1 else "rows ") + ", ".join(str(r) for r in placed.index)
            found.append(Problem("supply.csv", int(row), "max_racks",
                                 f"a cap of {cap['max_racks']:,} {cap['rack_type']} racks in "
                                 f"{format_quarter(cap['quarter'])} is below the {placed['racks'].sum():,} orders.csv "
                                 f"already places then ({rows}); placed orders are fixed: raise the cap, or correct "
                                 "the order"))
    return found


def commitment_window(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    factories = tables["factories"]
    bad = factories[(factories["commitment_usd"] > 0) & (factories["commitment_quarters"] < 1)]
    return [Problem("factories.csv", int(row), "commitment_quarters",
                    f"factory {name} has a commitment of {amount:,.0f} but no commitment window; give commitment_quarters >= 1")
            for row, name, amount in zip(bad.index, bad["factory"], bad["commitment_usd"])]


def some_demand(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """At least one stream, from history or overrides: with none every site is idle and the plan
    buys nothing, most likely because demand_history.csv lost its rows (the forecast chart of no
    streams also failed with a ZeroDivisionError after the solve)."""
    if not _complete(tables, "demand_history", "demand_overrides") or len(_stream_keys(tables)):
        return []
    return [Problem("demand_history.csv", None, None,
                    "has no rows, and demand_overrides.csv none: there is no demand to plan for; expected one row "
                    "per stream (region, workload) and quarter, or a stream's known demand in demand_overrides.csv")]


def rack_capacity_scale(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """A units_per_rack so large that a stream of its workload needs less than LEAST_RACK_SHARE
    of one rack: the solver cannot tell that from no rack, so the stream would go unmet (or the
    plan fail its check) with no hint why. Most likely units_per_rack and the demand files count
    different compute units."""
    if not _complete(tables, "rack_capacity", "demand_history", "demand_overrides"):
        return []
    history, overrides = tables["demand_history"], tables["demand_overrides"]
    peaks = (pd.concat([history[["region", "workload"]].assign(peak=history["demand"].abs()),
                        overrides[["region", "workload"]].assign(peak=overrides["delta"].abs())])
             .groupby(["workload", "region"], as_index=False)["peak"].max())
    pairs = tables["rack_capacity"].rename_axis("row").reset_index().merge(peaks, on="workload")
    tiny = pairs[(pairs["peak"] > 0) & (pairs["peak"] < LEAST_RACK_SHARE * pairs["units_per_rack"])]
    smallest = tiny.sort_values(["row", "peak", "region"]).drop_duplicates("row")  # each row's smallest stream
    return [Problem("rack_capacity.csv", int(pair.row), "units_per_rack",
                    f"one {pair.rack_type} rack delivers {readable_number(pair.units_per_rack)} units of {pair.workload}, "
                    f"yet the largest quarter of {pair.region}/{pair.workload} is {readable_number(pair.peak)}, less "
                    f"than a {1 / LEAST_RACK_SHARE:,.0f}th of that rack, too small for the solver to tell from no rack "
                    "at all; units_per_rack and the demand files most likely count different compute units "
                    "(scenario.yaml names it in compute_unit)")
            for pair in smallest.itertuples(index=False)]


def rack_capacity_too_small(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """A units_per_rack so small that every rack position of every site, each holding that rack,
    would serve less than a tenth of the last quarter of history of any stream of its workload.

    Legal (a small estate beside demand served mostly from cloud), but most likely a unit slip:
    units_per_rack counted in thousands of the compute unit the demand files count in. It was
    planned, the rack of no real use to the workload, which was said only after the solve (why
    cloud is used, why demand is unmet); the mirror case, a rack far too large, is an error
    (rack_capacity_scale) since the solver cannot tell its share of one rack from none."""
    if not _complete(tables, "rack_capacity", "racks", "sites", "demand_history"):
        return []
    history = tables["demand_history"].sort_values("quarter")
    latest = history.drop_duplicates(["region", "workload"], keep="last")  # each stream's last quarter of history
    smallest = (latest[latest["demand"] > 0].sort_values(["demand", "region"])
                .drop_duplicates("workload").set_index("workload"))  # the smallest of them, per workload
    positions = tables["sites"]["max_racks"].sum()
    pairs = (tables["rack_capacity"].rename_axis("row").reset_index()
             .merge(_keyed(tables["racks"], "rack_type")[["rack_positions"]], left_on="rack_type", right_index=True)
             .merge(smallest, left_on="workload", right_index=True))
    pairs["estate"] = positions // pairs["rack_positions"] * pairs["units_per_rack"]
    small = pairs[(pairs["estate"] > 0) & (pairs["estate"] < SMALLEST_ESTATE_SHARE * pairs["demand"])]
    return [Problem("rack_capacity.csv", int(pair.row), "units_per_rack",
                    f"one {pair.rack_type} rack delivers {readable_number(pair.units_per_rack)} units of {pair.workload}: "
                    f"all {positions:,} rack positions of the sites, filled with it, would deliver "
                    f"{readable_number(pair.estate)}, under a tenth of the last quarter of the smallest {pair.workload} "
                    f"stream ({readable_number(pair.demand)}, {pair.region}/{pair.workload} in {format_quarter(pair.quarter)}), "
                    f"so the plan can make no real use of it for {pair.workload}; units_per_rack and the demand files "
                    "most likely count different compute units (scenario.yaml names it in compute_unit)")
            for pair in small.sort_values("row").itertuples(index=False)]


def stream_has_server(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """Every stream needs cloud or some factory in a serving region that can run its workload."""
    if not _complete(tables, "racks", "rack_capacity", "sites", "factories", "residency"):
        return []
    servers = _serving_capability(tables)
    residency = _keyed(tables["residency"], ["region", "workload"])
    found = []
    for (region, workload), _ in _stream_keys(tables).groupby(["region", "workload"], sort=True):
        serving, cloud = _residency_of(residency, region, workload)
        if cloud or any((g, workload) in servers for g in serving):
            continue
        source = "residency" if (region, workload) in residency.index else "demand_history"
        row = _first_row(tables[source], region, workload)
        found.append(Problem(f"{source}.csv", row, "serving_regions" if source == "residency" else "workload",
                             f"stream {region}/{workload} cannot be served: cloud is not allowed and no factory in "
                             f"{'; '.join(serving)} has a coolable rack type with capacity for {workload}"))
    return found


def idle_site_regions(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """A site in a region no stream may be served from: its factories can never serve demand.

    Legal (a site kept for later, or for a region whose demand is not yet in the files), but a
    mistyped region looks exactly like this and would otherwise plan silently with the site idle.
    """
    if not _complete(tables, "sites", "demand_history", "demand_overrides", "residency"):
        return []
    residency = _keyed(tables["residency"], ["region", "workload"])
    streams = _stream_keys(tables)
    served_from = {served for region, workload in zip(streams["region"], streams["workload"])
                   for served in _residency_of(residency, region, workload)[0]}
    return [Problem("sites.csv", int(row), "region",
                    f"no stream may be served from region '{region}' (no demand there and no residency rule "
                    f"lists it), so site {site} and its factories will stay idle" + did_you_mean(region, served_from))
            for row, site, region in zip(tables["sites"].index, tables["sites"]["site"], tables["sites"]["region"])
            if region not in served_from]


def overrides_outside_horizon(settings: ScenarioSettings | None, tables: Tables) -> list[Problem]:
    """demand_overrides.csv rows before start or after the last planned quarter: their deltas are
    not planned. Legal (a deal may be known beyond the horizon; a scenario rolled forward before
    re-forecasts left out the deals of the quarter just ended still holds them), but a known deal
    typed in the wrong year (2037Q3 for 2027Q3) was dropped without a word. One line each side,
    naming the first such row."""
    if settings is None or not _complete(tables, "demand_overrides"):
        return []
    overrides = tables["demand_overrides"]
    end = settings.start + settings.horizon_quarters - 1
    sides = ((overrides["quarter"] < settings.start, f"before start {format_quarter(settings.start)}",
              "a deal in a quarter already past is in that quarter's actual"),
             (overrides["quarter"] > end, f"after the last planned quarter {format_quarter(end)}",
              "horizon_quarters in scenario.yaml sets the last"))
    found = []
    for outside, where, why in sides:
        rows = overrides[outside].sort_index()
        if len(rows):
            more = f" (the same goes for {counted(len(rows) - 1, 'later row')})" if len(rows) > 1 else ""
            found.append(Problem("demand_overrides.csv", int(rows.index[0]), "quarter",
                                 f"{format_quarter(rows['quarter'].iloc[0])} is {where}{more}, so its delta is not "
                                 f"planned ({why}); check the year if it is a deal still to come"))
    return found


def history_jumps(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    """A quarter whose demand is JUMP_FACTOR times its stream's previous quarter, a tenth of it, or zero.

    Legal (a pilot can become a product, a workload can end), but a typo (three zeros too many,
    a unit slip, a missing figure entered as 0) looks exactly like this, and the forecaster takes
    it for real: one such quarter at the end of a sovereign-eu stream made its P90 over a hundred
    times its P50 (planner/pipeline.py warns about that too, without being able to say which row
    is at fault); a last quarter of 0 put P10 at 0. A stream starting from zero is not warned about,
    nor a jump into or out of a quarter forecast.one_off_quarters names, or into the quarter
    forecast.history_start starts a stream at (the planner has judged them).
    """
    if not _complete(tables, "demand_history"):
        return []
    history = tables["demand_history"].sort_values(["region", "workload", "quarter"])
    previous = history.groupby(["region", "workload"], sort=False)["demand"].shift()
    # a jump into or out of a quarter the planner has named a one-off, or into the quarter it starts
    # the modelled history at (a break), was judged already
    forecast = settings.forecast if settings is not None else ForecastSettings()
    judged = pd.Series([not {quarter, quarter - 1} & set(forecast.one_offs_of(region, workload))
                        and quarter != forecast.history_start_of(region, workload)
                        for region, workload, quarter in zip(history["region"], history["workload"], history["quarter"])],
                       index=history.index, dtype=bool)  # a Series: an empty list would select no columns
    return demand_jumps("demand_history.csv", history[judged], previous[judged])


def demand_jumps(file: str, demand: pd.DataFrame, previous: pd.Series) -> list[Problem]:
    """Rows of `demand` (region, workload, quarter, demand; indexed by spreadsheet row) at
    JUMP_FACTOR times `previous` (the stream's quarter before, same index), a tenth of it, or zero.
    Shared by the history rule and `planner reforecast`'s check of the actuals."""
    ratio = demand["demand"] / previous.where(previous > 0)
    jumps = demand[(ratio >= JUMP_FACTOR) | (ratio <= 1 / JUMP_FACTOR)]
    return [Problem(file, int(row), "demand",
                    f"{jump.demand:,.10g} for {jump.region}/{jump.workload} in {format_quarter(jump.quarter)} is "
                    f"{_times(ratio[row], jump.demand)} the quarter before ({previous[row]:,.10g}); if it is a "
                    "typo or a missing figure, fix it: the forecast takes it for real. If it is real, its bands will "
                    "be wide; known demand can go through demand_overrides.csv")
            for row, jump in zip(jumps.index, jumps.itertuples(index=False))]


def _times(ratio: float, demand: float) -> str:
    """`ratio` (`demand` over the quarter before) as words; beyond a trillion either way as that,
    not as digits (a figure of 1e-300 beside hundreds made 'inf times'), and a fall to zero only
    where `demand` is zero, not where the ratio underflows."""
    if demand == 0:
        return "a fall to zero from"
    if ratio >= 1:
        return many_times(ratio)
    return f"1/{1 / ratio:,.0f} of" if ratio > 1e-12 else "under a trillionth of"


def _stream_keys(tables: Tables) -> pd.DataFrame:
    """region, workload of every stream, from its history or its overrides, once each."""
    columns = ["region", "workload"]
    return pd.concat([tables["demand_history"][columns], tables["demand_overrides"][columns]]).drop_duplicates()


def _residency_of(residency: pd.DataFrame, region: str, workload: str) -> tuple[tuple[str, ...], bool]:
    """(serving regions, cloud allowed) of a stream; with no residency row: its own region, cloud allowed."""
    if (region, workload) not in residency.index:
        return (region,), True
    rule = residency.loc[(region, workload)]
    return rule["serving_regions"] or (region,), bool(rule["cloud_allowed"])


def _serving_capability(tables: Tables) -> set[tuple[str, str]]:
    """(region, workload) pairs some factory can serve, from allowed, coolable rack types with capacity."""
    racks = _keyed(tables["racks"], "rack_type")
    sites = _keyed(tables["sites"], "site")
    capacity = tables["rack_capacity"]
    capacity = capacity[capacity["units_per_rack"] > 0]
    found = set()
    for factory in tables["factories"].itertuples():
        if factory.site not in sites.index:
            continue
        liquid_ok = bool(sites.at[factory.site, "liquid_cooling"])
        allowed = set(factory.rack_types) if factory.rack_types else set(racks.index)
        usable = {r for r in allowed if r in racks.index and (liquid_ok or not racks.at[r, "liquid_cooled"])}
        for workload in capacity[capacity["rack_type"].isin(usable)]["workload"]:
            found.add((sites.at[factory.site, "region"], workload))
    return found


def _keyed(frame: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Index by key, first row wins: duplicates are reported by the table reader already."""
    return frame.drop_duplicates(key).set_index(key)


def _complete(tables: Tables, *names: str) -> bool:
    """Whether every named table parsed fully; rules judging a whole picture skip otherwise,
    so one bad row does not cascade into misleading follow-up problems."""
    return not any(tables[n].attrs.get("unreadable") or tables[n].attrs.get("unparsed") for n in names)


def _known_values(tables: Tables, column: str, *names: str) -> set[str] | None:
    """Every value of `column` in the named tables, rows that failed to parse included; None when
    one of them could not be read at all (its problem is reported already, and judging against
    the rest would call every value unknown)."""
    if any(tables[name].attrs.get("unreadable") for name in names):
        return None
    return set().union(*(set(tables[name][column]) | _unparsed_values(tables[name], column) for name in names))


def _unparsed_values(frame: pd.DataFrame, column: str) -> set[str]:
    """Raw values of rows that failed to parse, so references to them are not reported twice."""
    return {row[column] for row in frame.attrs.get("unparsed", ()) if column in row}


def _first_row(frame: pd.DataFrame, region: str, workload: str) -> int | None:
    match = frame[(frame["region"] == region) & (frame["workload"] == workload)]
    return int(match.index[0]) if len(match) else None




RULES: tuple[Rule, ...] = (
    unknown_references,
    unknown_regions,
    unknown_workloads,
    order_window,
    history_shape,
    log_scale_positive,
    per_stream_settings_known,
    modelled_quarters_inside,
    site_power_order,
    factory_cooling,
    installed_racks_fit_factory,
    quarters_in_range,
    supply_covers_placed_orders,
    commitment_window,
    some_demand,
    rack_capacity_scale,
    stream_has_server,
)


WARNING_RULES: tuple[Rule, ...] = (
    idle_site_regions,
    rack_capacity_too_small,
    history_jumps,
    overrides_outside_horizon,
)


def check_rules(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(settings, tables)]


def check_warnings(settings: ScenarioSettings, tables: Tables) -> list[Problem]:
    return [problem for rule in WARNING_RULES for problem in rule(settings, tables)]
