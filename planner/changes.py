"""What changed between two plans: orders, forecast at the planning quantile, NPV, in words.

A plan is compared through a `PlanSnapshot` (orders, forecast, NPV), read from a plan
directory's files (`planner diff`, the previous plan of `planner reforecast`) or taken from a
plan just computed in memory, so the new plan is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.inputs import SUNK_ANNUITY
from models.runs import counted
from planner.change_reasons import explain_changes, reasons_summary
from planner.plan_files import read_plan_files

ORDER_COLUMNS = ["factory", "rack_type", "order_quarter", "previous_racks", "new_racks", "difference", "change", "moved",
                 "reason_kind", "reasons"]
FORECAST_COLUMNS = ["region", "workload", "quarters_compared", "previous_units", "new_units", "change_units", "change_pct",
                    "previous_model", "new_model", "previous_scale", "new_scale"]
COST_COLUMNS = ["category", "quarters_compared", "previous_usd", "new_usd", "change_usd"]


@dataclass
class Changes:
    orders: pd.DataFrame
    forecast: pd.DataFrame
    npv_previous: float | None
    npv_new: float | None
    summary: str
    costs: pd.DataFrame  # per category over the common quarters (empty when a plan has no costs.csv)
    actuals: pd.DataFrame | None = None  # re-forecast only: the record of actuals against the forecast (actuals_record)
    earlier_forecasts: pd.DataFrame | None = None  # re-forecast only: forecasts to carry to the next (actuals_record)
    order_reasons: list | None = None  # row for row of `orders`: a ChangeReason per changed line, else None


@dataclass
class PlanSnapshot:
    """What the comparison needs of a plan. Quarters are text ('2027Q1') whatever the source."""

    orders: pd.DataFrame    # order_quarter, factory, rack_type, racks, online_quarter where known
    forecast: pd.DataFrame  # quarter, region, workload, kind, planning_demand, model, p50 when forecast
    npv: float | None
    costs: pd.DataFrame | None = None  # quarter, category, usd, in_objective
    models: pd.DataFrame | None = None  # region, workload, scale (log, units; blank for overrides only)
    record: pd.DataFrame | None = None  # actuals against the forecasts made before them (actuals_record.COLUMNS)
    planning_quantile: float | None = None  # the quantile its demand was planned at (plan.json; --quantile may differ)
    earlier: pd.DataFrame | None = None  # earlier plans' forecasts it carries (actuals_record.FORECAST_COLUMNS)
    assignments: pd.DataFrame | None = None  # quarter, factory, rack_type, region, workload, racks, units

    @classmethod
    def from_dir(cls, plan_dir: Path) -> "PlanSnapshot":
        """The plan written in `plan_dir`, checked (ScenarioError naming file, row and column)."""
        return cls(*read_plan_files(plan_dir))

    @classmethod
    def from_context(cls, context: dict) -> "PlanSnapshot":
        plan = context["plan"]
        orders = plan.orders.assign(order_quarter=lambda f: f["order_quarter"].astype(str),
                                    online_quarter=lambda f: f["online_quarter"].astype(str))
        forecast = context["demand"].table.assign(quarter=lambda f: f["quarter"].astype(str))
        costs = plan.costs.assign(quarter=lambda f: f["quarter"].astype(str))
        assignments = plan.assignments.assign(quarter=lambda f: f["quarter"].astype(str))
        return cls(orders, forecast, plan.kpis["npv_usd"], costs, context["demand"].models, assignments=assignments)

    def racks_by_order(self) -> pd.Series:
        return self.orders.groupby(["factory", "rack_type", "order_quarter"])["racks"].sum()

    def first_planned_quarter(self) -> str | None:
        """The plan's first forecast quarter ('2027Q1'): two plans a roll apart differ in it."""
        planned = self.forecast.loc[self.forecast["kind"] == "forecast", "quarter"]
        return min(planned) if len(planned) else None

    def planned_demand(self) -> pd.DataFrame:
        """Forecast rows: quarter, region, workload, planning_demand, model, and scale (blank where
        the plan has no forecast_models.csv, or for a stream with overrides only)."""
        forecast = self.forecast
        planned = forecast[forecast["kind"] == "forecast"][["quarter", "region", "workload", "planning_demand", "model"]]
        scales = (self.models[["region", "workload", "scale"]] if self.models is not None
                  else pd.DataFrame(columns=["region", "workload", "scale"]))
        planned = planned.merge(scales, on=["region", "workload"], how="left")
        return planned.assign(scale=planned["scale"].where(planned["scale"].notna(), "").astype(str))


def order_changes(previous: pd.Series, new: pd.Series) -> pd.DataFrame:
    """Per order line (factory, rack type, quarter): racks before and now, and, on the changed lines
    of a factory's rack type that racks were moved from and to, which way they moved."""
    keys = sorted(set(previous.index) | set(new.index))
    rows = []
    for key in keys:
        before, after = int(previous.get(key, 0)), int(new.get(key, 0))
        change = ("unchanged" if before == after else "added" if before == 0 else "cancelled" if after == 0
                  else "more" if after > before else "fewer")
        rows.append((*key, before, after, after - before, change, "", "", ""))
    table = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    direction = {(shift.factory, shift.rack_type): shift.direction for shift in order_shifts(table).itertuples()}
    label = pd.Series([direction.get(key, "") for key in zip(table["factory"], table["rack_type"])],
                      index=table.index, dtype=str)
    table["moved"] = label.where(table["difference"] != 0, "")
    return table


def order_shifts(orders: pd.DataFrame) -> pd.DataFrame:
    """Per factory and rack type whose order lines both gained and lost racks: the racks moved
    between quarters (the smaller of those gained and lost), which way (from the mean quarter of
    the racks lost to that of the racks gained) and the net change. A deferral with a cut is read
    as both, not as unrelated cancels and adds; procurement reschedules an order it already holds."""
    quarter = pd.PeriodIndex(orders["order_quarter"], freq="Q").asi8
    gained, lost = orders["difference"].clip(lower=0), (-orders["difference"]).clip(lower=0)
    sums = (orders[["factory", "rack_type"]]
            .assign(gained=gained, lost=lost, gained_at=gained * quarter, lost_at=lost * quarter)
            .groupby(["factory", "rack_type"]).sum())
    sums = sums[(sums["gained"] > 0) & (sums["lost"] > 0)]
    later = sums["gained_at"] / sums["gained"] - sums["lost_at"] / sums["lost"]
    shifts = pd.DataFrame({"racks": sums[["gained", "lost"]].min(axis=1), "net": sums["gained"] - sums["lost"],
                           "direction": ["later" if d > 1e-9 else "earlier" if d < -1e-9 else "" for d in later]},
                          index=sums.index)
    return shifts[shifts["direction"] != ""].reset_index()


def forecast_changes(previous: PlanSnapshot, new: PlanSnapshot) -> pd.DataFrame:
    """Per stream: planned demand over the quarters both plans forecast, and the forecast model
    of each (a jump in demand reads differently when the backtest chose another model)."""
    merged = previous.planned_demand().merge(new.planned_demand(), on=["quarter", "region", "workload"],
                                             suffixes=("_old", "_new"))
    rows = []
    for (region, workload), group in merged.groupby(["region", "workload"]):
        old, new_units = group["planning_demand_old"].sum(), group["planning_demand_new"].sum()
        rows.append((region, workload, len(group), old, new_units, new_units - old,
                     (new_units - old) / old if old else 0.0, group["model_old"].iloc[0], group["model_new"].iloc[0],
                     group["scale_old"].iloc[0], group["scale_new"].iloc[0]))
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


def cost_changes(previous: PlanSnapshot, new: PlanSnapshot) -> tuple[pd.DataFrame, dict]:
    """Nominal costs in the NPV per category over the quarters both plans cover, and the totals of
    the quarters only one covers: the two NPVs are discounted to different starts over different
    horizons, so their difference alone does not say what changed. A last row, capex_annuity_sunk,
    holds the annuity of racks ordered before each plan's start: a roll moves the orders of the
    quarter just ended out of the NPV's capex_annuity into it, a change of accounting, not of cost
    (left out when a plan's files predate it: see `_reports_sunk`)."""
    if previous.costs is None or new.costs is None:
        return pd.DataFrame(columns=COST_COLUMNS), {}
    old_costs, new_costs = (c[c["in_objective"]] for c in (previous.costs, new.costs))
    common = set(old_costs["quarter"]) & set(new_costs["quarter"])
    by_category = [c[c["quarter"].isin(common)].groupby("category")["usd"].sum() for c in (old_costs, new_costs)]
    table = pd.concat(by_category, axis=1, keys=["previous_usd", "new_usd"]).fillna(0.0).reset_index()
    table.insert(1, "quarters_compared", len(common))
    table["change_usd"] = table["new_usd"] - table["previous_usd"]
    table = table.sort_values("change_usd", key=abs, ascending=False, ignore_index=True)[COST_COLUMNS]
    if _reports_sunk(previous) and _reports_sunk(new):
        sunk = [_in(c, common, SUNK_ANNUITY)["usd"].sum() for c in (previous.costs, new.costs)]
        if any(abs(usd) >= 0.005 for usd in sunk):
            table.loc[len(table)] = [SUNK_ANNUITY, len(common), sunk[0], sunk[1], sunk[1] - sunk[0]]
    only = {"previous": old_costs[~old_costs["quarter"].isin(common)], "new": new_costs[~new_costs["quarter"].isin(common)]}
    return table, {side: (sorted(set(frame["quarter"])), float(frame["usd"].sum())) for side, frame in only.items()}


def _in(costs: pd.DataFrame, quarters: set, category: str) -> pd.DataFrame:
    return costs[costs["quarter"].isin(quarters) & (costs["category"] == category)]


def _reports_sunk(plan: PlanSnapshot) -> bool:
    """Whether the plan's costs carry the annuity of racks ordered before its start: those of a
    version before it was reported carry none, though the plan has such orders."""
    start = plan.first_planned_quarter()
    ordered_before = start is not None and (plan.orders["order_quarter"] < start).any()  # quarters are text: they sort
    return not ordered_before or (plan.costs["category"] == SUNK_ANNUITY).any()


def compare(previous: PlanSnapshot, new: PlanSnapshot, actuals_note: str = "",
            actuals: pd.DataFrame | None = None, earlier_forecasts: pd.DataFrame | None = None,
            orders_note: str = "") -> Changes:
    """The change report; `actuals_note` and `actuals` (a re-forecast's record of actuals against
    the forecasts, planner/actuals_record.py) lead its summary and go with it, and so do the
    earlier plans' forecasts the new plan carries on. `orders_note` follows the order changes (a
    re-plan: how far it kept to the previous plan's orders, models/steady.py)."""
    orders = order_changes(previous.racks_by_order(), new.racks_by_order())
    reasons = explain_changes(orders, previous, new)
    orders["reason_kind"] = [reason.kind if reason is not None else "" for reason in reasons]  # a filter's word
    orders["reasons"] = [reason.text if reason is not None else "" for reason in reasons]
    forecast = forecast_changes(previous, new)
    costs, uncommon = cost_changes(previous, new)
    rolled = previous.first_planned_quarter() != new.first_planned_quarter()
    summary = " ".join(filter(None, [_summary(orders, forecast, previous.npv, new.npv, actuals_note, rolled,
                                              " ".join(filter(None, [reasons_summary(reasons), orders_note]))),
                                     _cost_summary(costs, uncommon)]))
    return Changes(orders, forecast, previous.npv, new.npv, summary, costs, actuals, earlier_forecasts, reasons)


def _cost_summary(costs: pd.DataFrame, uncommon: dict) -> str:
    if costs.empty:
        return ""
    in_npv = costs[costs["category"] != SUNK_ANNUITY]
    moved = in_npv[in_npv["change_usd"].abs() >= 0.05e6].head(3)
    total = in_npv["change_usd"].sum()
    text = (f"Costs in the NPV over the {int(costs['quarters_compared'].iloc[0])} quarters both plans cover "
            f"(nominal): {total / 1e6:+,.1f} M")
    if len(moved):
        text += ", most in " + ", ".join(f"{row.category} ({row.change_usd / 1e6:+,.1f} M)" for row in moved.itertuples())
    text += "."
    sunk = costs.loc[costs["category"] == SUNK_ANNUITY, "change_usd"].sum()
    if abs(sunk) >= 0.05e6:
        rolled = uncommon.get("previous", ([], 0.0))[0]
        if sunk > 0:  # the usual way round: the new plan starts later
            ordered = f"in {', '.join(rolled)}" if rolled else "before the new plan's start"
            why = (f"is not a saving: the racks ordered {ordered} are paid before the new plan starts, so its NPV "
                   "leaves out their capex annuity")
        else:
            why = "is not a cost: racks paid before the previous plan's start are in the new plan's NPV"
        text += (f" It includes {-sunk / 1e6:+,.1f} M that {why} ({SUNK_ANNUITY} {sunk / 1e6:+,.1f} M); "
                 f"like for like, {(total + sunk) / 1e6:+,.1f} M.")
    for side, label in (("previous", "only the previous plan covers"), ("new", "only the new plan covers")):
        quarters, usd = uncommon.get(side, ([], 0.0))
        if quarters:
            text += f" The quarter{'s' if len(quarters) > 1 else ''} {label} ({', '.join(quarters)}): {usd / 1e6:,.1f} M."
    return text


def compare_plans(previous_dir: Path, new_dir: Path, actuals_note: str = "") -> Changes:
    """The change report between two plan directories."""
    return compare(PlanSnapshot.from_dir(previous_dir), PlanSnapshot.from_dir(new_dir), actuals_note)


def _summary(orders: pd.DataFrame, forecast: pd.DataFrame, npv_previous, npv_new, actuals_note: str,
             rolled: bool, orders_note: str = "") -> str:
    counts = orders["change"].value_counts()
    changed = orders[orders["change"] != "unchanged"]
    parts = [actuals_note] if actuals_note else []
    if changed.empty:
        parts.append("No order changed: every order line has the same racks in the same quarter as before.")
    else:
        words = [f"{counts.get(kind, 0)} {label}" for kind, label in
                 (("added", "added"), ("cancelled", "cancelled"), ("more", "increased"), ("fewer", "reduced"))
                 if counts.get(kind, 0)]
        parts.append(f"{counted(len(changed), 'order line')} changed ({', '.join(words)}); net "
                     f"{counted(int(changed['difference'].sum()), 'rack', '+d')}.")
        shifts = order_shifts(orders)
        if len(shifts):
            parts.append("Moved between quarters: " + "; ".join(
                f"{counted(row.racks, row.rack_type + ' rack')} at {row.factory} {row.direction} "
                + ("(total unchanged)" if row.net == 0 else f"(net {row.net:+d})") for row in shifts.itertuples()) + ".")
    parts.append(orders_note)
    if len(forecast):
        largest = forecast.loc[forecast["change_pct"].abs().idxmax()]
        if forecast["change_pct"].abs().max() < 0.005:
            parts.append("Planned demand is within 0.5% of the previous plan for every stream.")
        else:
            parts.append(f"Planned demand changed most for {largest.region}/{largest.workload} "
                         f"({largest.change_pct:+.1%} over {int(largest.quarters_compared)} common quarters).")
        parts.append(_model_changes(forecast))
    if npv_previous is not None and npv_new is not None:
        parts.append(f"NPV {npv_new / 1e6:,.1f} M vs {npv_previous / 1e6:,.1f} M before ({(npv_new - npv_previous) / 1e6:+,.1f} M"
                     + ("; the horizons differ by the quarter rolled)." if rolled else ")."))
    return " ".join(filter(None, parts))  # a part with nothing to say (no model changed) leaves no double space


def _model_changes(forecast: pd.DataFrame, named: int = 5) -> str:
    """The streams whose forecast model or scale changed, largest demand change first: a jump in
    planned demand reads differently when the backtest chose another model, or when a stream
    moved between the log scale and demand's units (`auto` leaves the log scale for a stream
    once a quarter at zero arrives). A combination is an equal mean of its models, so the same
    models ranked otherwise are no change. Silent where the previous plan names no model
    (written before forecast.csv carried one); scales only where both plans name one."""
    models = [forecast[side].map(lambda model: frozenset(model.split("+"))) for side in ("previous_model", "new_model")]
    model_changed = (models[0] != models[1]) & (forecast["previous_model"] != "")
    scale_changed = ((forecast["previous_scale"] != forecast["new_scale"]) & (forecast["previous_scale"] != "")
                     & (forecast["new_scale"] != ""))
    switched = forecast[model_changed | scale_changed]
    if switched.empty:
        return ""
    switched = switched.sort_values("change_pct", key=abs, ascending=False)

    def described(row) -> str:
        model = f"{row.previous_model} -> {row.new_model}" if model_changed[row.Index] else row.new_model
        scale = f", {row.previous_scale} -> {row.new_scale} scale" if scale_changed[row.Index] else ""
        return f"{row.region}/{row.workload} ({model}{scale})"

    listed = "; ".join(described(row) for row in switched.head(named).itertuples())
    more = f"; and {len(switched) - named} more" if len(switched) > named else ""
    what = ("model" if not scale_changed.any() else "scale" if not model_changed.any() else "model or scale")
    return f"Forecast {what} changed for {len(switched)} of {len(forecast)} streams: {listed}{more}."
