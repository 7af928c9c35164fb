"""Why each changed order line changed between two plans, read from the two plans' files alone.

A re-forecast listed which order lines gained or lost racks, and its summary named the stream
whose demand moved most; which change, if any, stood behind a given line was left for
procurement to work out across two forecasts and two assignment tables. Each changed line now
says, as facts a planner can check in those files:
- the planned demand, before and now, of the streams its racks serve: at the quarter they
  arrive and, where it moved further the line's way later in their life, in that quarter; and
  what the racks gained or lost serve when fully used, so a 60-unit fall is not read as the
  reason 15 racks (1,600 units) were cancelled;
- for racks added, a quarter only the new plan covers (the one a roll adds) whose demand exceeds
  anything the previous plan planned;
- where neither accounts for it, the changed lines serving the same streams that went the other
  way (racks of another type bought earlier in place of these, or a line deferred).
`planner diff` compares any two plans, whose inputs may differ in ways the plans' files do not
show (a new supply cap, a price), so a line that none of these accounts for says so, and no more.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from models.extract import SOLVER_NOISE
from models.runs import counted, figure, some_of

DEMAND_MOVED = 0.005  # planned demand within 0.5% of before accounts for no change of racks
DEMAND_SHARE = 0.5  # nor does a change of demand under half of what the racks gained or lost serve fully used
STREAMS_NAMED = 4  # streams named per line; the rest counted
LINES_NAMED = 3  # other changed lines named per line; the rest counted

DEMAND, NEW_QUARTERS, TRADED, UNACCOUNTED, UNUSED, UNKNOWN = (
    "demand", "new quarters", "traded", "unaccounted", "unused", "unknown")


@dataclass(frozen=True)
class ChangeReason:
    """Why one changed order line (factory, rack type, order quarter) gained or lost racks."""

    kind: str  # DEMAND, NEW_QUARTERS, TRADED, UNACCOUNTED, UNUSED (its racks serve no stream), UNKNOWN (the
    # plans' files lack its arrival quarter or the streams served)
    arrival: str | None  # the quarter its racks come online (the new plan's, where it still has racks)
    streams: tuple[str, ...]  # region/workload its racks serve from then, in either plan
    demand: tuple[tuple[str, float | None, float | None], ...]  # (quarter, planned before, now; None where that
    # plan does not forecast it) at its arrival, then, where it moved further the line's way, the quarter of its
    # life both plans cover where it moved most
    capacity: float | None  # units the racks gained or lost serve when fully used, at the plans' mix of workloads
    new_quarter: tuple[str, float, float] | None  # (quarter only the new plan covers, planned then, the previous
    # plan's most from the line's arrival on) where the streams need more than the previous plan ever planned
    traded: tuple[tuple[str, str, str, int], ...]  # changed lines serving the same streams that went the other way
    text: str


class _Plan:
    """One plan's facts the reasons read: its lines' arrival quarters, the streams each factory's
    racks of a type serve per quarter, and its planned demand per stream and quarter."""

    def __init__(self, snapshot):
        orders = snapshot.orders
        if "online_quarter" in orders.columns:
            known = orders.dropna(subset=["online_quarter"])
            self.arrival = known.groupby(["factory", "rack_type", "order_quarter"])["online_quarter"].min().to_dict()
        else:
            self.arrival = {}
        self.served: dict[tuple, frozenset] = {}
        self.in_use: dict[tuple, dict[str, tuple[float, float]]] = {}  # (factory, rack type): quarter: (units, racks)
        assignments = snapshot.assignments
        self.has_assignments = assignments is not None
        if assignments is not None and len(assignments):
            used = assignments[assignments["racks"] > SOLVER_NOISE]
            keys = [used["quarter"], used["factory"], used["rack_type"]]
            streams = used["region"].astype(str) + "/" + used["workload"].astype(str)
            self.served = streams.groupby(keys).agg(frozenset).to_dict()
            if "units" in used.columns and used["units"].notna().all():
                sums = used[["units", "racks"]].groupby(keys).sum()
                for (quarter, factory, rack_type), units, racks in zip(sums.index, sums["units"], sums["racks"]):
                    self.in_use.setdefault((factory, rack_type), {})[quarter] = (units, racks)
        planned = snapshot.planned_demand()
        self.demand = (planned.assign(stream=planned["region"].astype(str) + "/" + planned["workload"].astype(str))
                       .set_index(["quarter", "stream"])["planning_demand"].to_dict())
        self.quarters = sorted(set(planned["quarter"]))

    def serving(self, factory: str, rack_type: str, quarters) -> frozenset:
        found = frozenset()
        for quarter in quarters:
            found |= self.served.get((quarter, factory, rack_type), frozenset())
        return found

    def planned(self, quarter: str, streams) -> float | None:
        """The streams' planned demand in `quarter`, None where the plan does not forecast it."""
        values = [self.demand[(quarter, stream)] for stream in streams if (quarter, stream) in self.demand]
        return float(sum(values)) if values else None


def explain_changes(orders: pd.DataFrame, previous, new) -> list[ChangeReason | None]:
    """Row for row of `orders` (planner/changes.py order_changes): why each changed line changed,
    None for an unchanged one. `previous` and `new` are PlanSnapshots."""
    before, now = _Plan(previous), _Plan(new)
    added = [q for q in now.quarters if before.quarters and q > before.quarters[-1]]
    lines = {}
    for index, line in orders[orders["difference"] != 0].iterrows():
        key = (line["factory"], line["rack_type"], line["order_quarter"])
        arrival = (now if line["new_racks"] > 0 else before).arrival.get(key) or before.arrival.get(key)
        lines[index] = (line, arrival, _streams(line, arrival, before, now))
    reasons = []
    for index in orders.index:
        if index not in lines:
            reasons.append(None)
            continue
        line, arrival, streams = lines[index]
        reasons.append(_reason(line, arrival, tuple(sorted(streams)), _traded(index, lines), before, now, added))
    return reasons


def _traded(index, lines: dict) -> tuple:
    """The other changed lines that went the other way and serve a stream this one does: the same
    factory's rack type first (a line moved between quarters), then the same factory's, then by how
    many quarters apart they are ordered."""
    line, _, streams = lines[index]
    others = [(other["factory"], other["rack_type"], other["order_quarter"], int(other["difference"]))
              for j, (other, _, served) in lines.items()
              if j != index and (other["difference"] > 0) != (line["difference"] > 0) and streams & served]
    return tuple(sorted(others, key=lambda o: (o[:2] != (line["factory"], line["rack_type"]), o[0] != line["factory"],
                                               _distance(o[2], line["order_quarter"]), o)))


def _streams(line, arrival, before: _Plan, now: _Plan) -> frozenset:
    """The streams the line's factory's racks of its type serve at its arrival in either plan, or,
    where none is served then (racks that wait for demand), in any later quarter."""
    if arrival is None:
        return frozenset()
    factory, rack_type = line["factory"], line["rack_type"]
    found = before.serving(factory, rack_type, [arrival]) | now.serving(factory, rack_type, [arrival])
    if not found:
        later = [q for q in sorted(set(before.quarters) | set(now.quarters)) if q >= arrival]
        found = before.serving(factory, rack_type, later) | now.serving(factory, rack_type, later)
    return found


def _units_per_rack(factory: str, rack_type: str, arrival: str, plans) -> float | None:
    """What one of the factory's racks of the type serves, at the plans' mix of workloads at the
    line's arrival, or over all quarters where none is in use then; None without units."""
    for at_arrival in (True, False):
        pairs = [pair for plan in plans for quarter, pair in plan.in_use.get((factory, rack_type), {}).items()
                 if quarter == arrival or not at_arrival]
        units, racks = sum(served for served, _ in pairs), sum(used for _, used in pairs)
        if racks > SOLVER_NOISE:
            return units / racks
    return None


def _distance(quarter: str, other: str) -> int:
    return abs((pd.Period(quarter, "Q") - pd.Period(other, "Q")).n)


def _reason(line, arrival, streams, traded, before: _Plan, now: _Plan, added) -> ChangeReason:
    gained, racks = line["difference"] > 0, abs(int(line["difference"]))
    if arrival is None:
        return ChangeReason(UNKNOWN, None, (), (), None, None, traded,
                            "its arrival quarter is not in either plan's orders.csv (online_quarter)")
    if not (before.has_assignments or now.has_assignments):
        return ChangeReason(UNKNOWN, arrival, (), (), None, None, traded,
                            "neither plan has assignments.csv, which says the streams its racks serve")
    if not streams:
        return ChangeReason(UNUSED, arrival, (), (), None, None, traded,
                            f"racks of {line['rack_type']} at {line['factory']} serve no stream from its arrival "
                            f"({arrival}) in either plan: the Orders sheet's Why says which rule needs them")
    named = some_of(streams, STREAMS_NAMED)
    now_then = now.planned(arrival, streams)
    if before.planned(arrival, streams) is None and now_then is not None and added and arrival >= added[0]:
        return ChangeReason(NEW_QUARTERS, arrival, streams, ((arrival, None, now_then),), None, None, traded,
                            f"it arrives in {arrival}, after the previous plan's last quarter ({before.quarters[-1]}): "
                            f"{named} planned at {figure(now_then)} units then")
    per_rack = _units_per_rack(line["factory"], line["rack_type"], arrival, (before, now))
    capacity = None if per_rack is None else racks * per_rack
    demand = _demand_over_life(arrival, streams, before, now, gained)
    new_quarter = _new_quarter(line, arrival, streams, before, now, added, capacity) if gained else None
    reason = ChangeReason(UNACCOUNTED, arrival, streams, demand, capacity, new_quarter, traded, "")
    text = f"planned demand of {named} at its arrival ({arrival}): " + ", and ".join(
        ("" if quarter == arrival else f"in {quarter}, where it {'rose' if gained else 'fell'} most: ")
        + _figures(then, now_then) for quarter, then, now_then in demand)
    if capacity is not None:
        text += (f"; the {counted(racks, 'rack')} {'added' if gained else 'taken off'} "
                 f"serve{'s' if racks == 1 else ''} {figure(capacity)} units when fully used")
    quarter, then, now_then = demand[-1]
    moved = None if then is None or now_then is None or then <= 0 else now_then - then
    moved_way = moved is not None and abs(moved) >= DEMAND_MOVED * then and (moved > 0) == gained
    if moved_way and (capacity is None or abs(moved) >= DEMAND_SHARE * capacity):
        return _with(reason, DEMAND, text)
    if new_quarter is not None:
        quarter, planned, most = new_quarter
        return _with(reason, NEW_QUARTERS, f"{text}; in {quarter}, which only this plan covers, they are planned "
                     f"at {figure(planned)} units, {figure(planned - most)} more than the previous plan's most "
                     f"from {arrival} on")
    if traded:
        listed = some_of([f"{f} {r} ordered {q} ({d:+d})" for f, r, q, d in traded], LINES_NAMED)
        return _with(reason, TRADED, f"{text}; lines serving the same streams {'lost' if gained else 'gained'} "
                     f"racks: {listed}")
    how = ("by less than half of that" if moved_way else "the other way" if moved is not None and
           abs(moved) >= DEMAND_MOVED * then else "by less than 0.5%")
    return _with(reason, UNACCOUNTED, f"{text}; demand moved {how}, "
                 + ("no quarter only this plan covers needs more, " if gained and added else "")
                 + "and no line serving the same streams changed the other way: the plans' files do not say why "
                 "(an input changed, or the solver chose between plans within the optimality gap)")


def _demand_over_life(arrival: str, streams, before: _Plan, now: _Plan, gained: bool) -> tuple:
    """(quarter, planned before, now) at the line's arrival, and, where planned demand moved
    further the line's way in a later quarter both plans cover, that quarter's: the racks serve
    from their arrival on, and a type orderable no later than an earlier quarter is bought early
    for the growth after it."""
    at_arrival = (arrival, before.planned(arrival, streams), now.planned(arrival, streams))
    if at_arrival[1] is None or at_arrival[2] is None:
        return (at_arrival,)
    way = 1 if gained else -1
    covered_now = set(now.quarters)
    common = [q for q in before.quarters if q > arrival and q in covered_now]
    later = [(q, before.planned(q, streams), now.planned(q, streams)) for q in common]
    later = [item for item in later if item[1] is not None and item[2] is not None]
    most = max(later, key=lambda item: way * (item[2] - item[1]), default=None)
    if most is None or way * (most[2] - most[1]) <= max(0.0, way * (at_arrival[2] - at_arrival[1])):
        return (at_arrival,)
    return at_arrival, most


def _new_quarter(line, arrival, streams, before: _Plan, now: _Plan, added, capacity) -> tuple | None:
    """The first quarter only the new plan covers in which the line's factory's racks of its type
    are in use and the streams' planned demand exceeds the previous plan's most from the line's
    arrival on by half of what the racks added serve (by anything, without units): a quarter a
    roll adds needs racks no quarter of the previous plan did."""
    previous_most = max((value for q in before.quarters if q >= arrival
                         for value in [before.planned(q, streams)] if value is not None), default=None)
    if previous_most is None:
        return None
    for quarter in added:
        planned = now.planned(quarter, streams)
        if (quarter >= arrival and planned is not None and now.serving(line["factory"], line["rack_type"], [quarter])
                and planned - previous_most > (0 if capacity is None else DEMAND_SHARE * capacity)):
            return quarter, planned, previous_most
    return None


def _figures(then: float | None, now: float | None) -> str:
    """'300 units, against 100 before (+200 units, +200.0%)', or which plan does not cover the quarter."""
    if then is None and now is None:
        return "forecast by neither plan"
    if then is None:
        return f"{figure(now)} units, none planned before (the previous plan does not forecast them then)"
    if now is None:
        return f"none planned now (this plan does not forecast them then), against {figure(then)} before"
    change = f"{now - then:+,.0f} units" + (f", {now / then - 1:+.1%}" if then > 0 else "")
    return f"{figure(now)} units, against {figure(then)} before ({change})"


def _with(reason: ChangeReason, kind: str, text: str) -> ChangeReason:
    return dataclasses.replace(reason, kind=kind, text=text)


def reasons_summary(reasons) -> str:
    """One sentence: how many changed lines each kind of reason accounts for."""
    changed = [reason for reason in reasons if reason is not None]
    if not changed:
        return ""
    count = {kind: sum(reason.kind == kind for reason in changed) for kind in
             (DEMAND, NEW_QUARTERS, TRADED, UNACCOUNTED, UNUSED, UNKNOWN)}
    parts = [f"{count[kind]} {text}" for kind, text in (
        (DEMAND, "where planned demand moved the same way"),
        (NEW_QUARTERS, "for quarters only this plan covers"),
        (TRADED, "traded against lines serving the same streams"),
        (UNUSED, "whose racks serve no stream in either plan"),
        (UNACCOUNTED, "that none of these accounts for"),
        (UNKNOWN, "that the plans' files cannot place (no online_quarter or assignments.csv)"),
    ) if count[kind]]
    return f"Why the {counted(len(changed), 'changed order line')} changed (the orders table's Why): {'; '.join(parts)}."
