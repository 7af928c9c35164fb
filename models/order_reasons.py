"""Why the plan orders each line of racks: the demand its racks serve, or the rule that needs them.

Procurement signs each order line, and a line whose racks serve no demand (a plan for zero demand
bought 39 racks, $136.5 M, to meet a take-or-pay commitment) needs its reason beside it as much as
one that does. Every reason is a fact read from the plan's own tables and the inputs, not from the
solver, as in models/service_gaps.py.

Racks of one type serve the demand of their factory's region as one pool (models/demand.py), so
which racks of the pool are in use is a convention: the oldest first (the installed fleet, then
orders by the quarter they arrive, placed orders before new ones). An order's racks are then in
use when the pool's demand needs more racks than those ahead of it, which is how a planner reads a
growing fleet: the last racks bought serve the growth.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from models.index import ModelIndex
from models.inputs import PlanInputs
from models.runs import counted, figure, some_of
from models.service_gaps import RACKS_TOLERANCE, capex_paid_by_year, racks_ordered, site_room, supply_used_up

PLACED = "already placed (orders.csv, or the frozen window of a re-forecast)"
STREAMS_NAMED = 4  # streams named per order line; the rest counted
COST_TOLERANCE_MUSD = 1e-9  # costs this close are the same: a tie the solver may break either way
SPEND_TOLERANCE_USD = 1.0  # spend within a dollar of a commitment meets it (the checker's tolerance)


@dataclass(frozen=True)
class OrderReason:
    """Why one line of plan.orders is bought: when its racks are in use and for which streams,
    and, for racks never in use within the horizon, which rule needs them."""

    order_quarter: pd.Period
    factory: str
    rack_type: str
    racks: int
    locked: bool
    in_use_from: pd.Period | None  # first quarter any of its racks is in use
    all_in_use_from: pd.Period | None  # first quarter all of them are
    most_in_use: int  # the most of its racks in use in any quarter of the horizon
    streams: tuple[str, ...]  # region/workload served by its pool while its racks are in use
    early_reasons: tuple[str, ...]  # why it arrives before any of its racks is in use, where the inputs say
    spare_reasons: tuple[str, ...]  # why the racks never in use are bought
    text: str

    @property
    def spare(self) -> int:
        """Racks of the line never in use within the horizon."""
        return self.racks - self.most_in_use

    def record(self) -> dict:
        return {"order_quarter": str(self.order_quarter), "factory": self.factory, "rack_type": self.rack_type,
                "racks": self.racks, "locked": self.locked,
                "in_use_from": None if self.in_use_from is None else str(self.in_use_from),
                "all_in_use_from": None if self.all_in_use_from is None else str(self.all_in_use_from),
                "most_in_use": self.most_in_use, "spare": self.spare, "streams": list(self.streams),
                "early_reasons": list(self.early_reasons), "spare_reasons": list(self.spare_reasons),
                "text": self.text}


def explain_orders(ix: ModelIndex, inputs: PlanInputs, plan, gap_usd: float | None = None,
                   replan: bool = False) -> list[OrderReason]:
    """One reason per row of plan.orders, in its order.

    gap_usd: how far the plan's NPV may be above the best possible, if known; replan: the plan
    kept the previous plan's orders where it could (models/steady.py). Both say why racks no rule
    needs may still be bought, or bought before any rule needs them."""
    if plan.orders.empty:
        return []
    facts = _Facts(ix, inputs, plan)
    use = facts.racks_in_use()
    start = inputs.start
    reasons = []
    for k, row in enumerate(plan.orders.itertuples()):
        in_use = sorted(use[k].items())
        first = next((t for t, n in in_use if n > 0), None)
        full = next((t for t, n in in_use if n >= row.racks), None)
        most = max((n for _, n in in_use), default=0)
        streams = facts.streams_served(row, [t for t, n in in_use if n > 0])
        why_spare = facts.spare_reasons(row, int(row.racks) - most, gap_usd, replan) if most < row.racks else []
        waits = first is not None and first > max(facts.arrival(row), 0)
        early = facts.early_reasons(row, first) if waits else []
        if waits and not early:  # a later order would cost less, and no rule keeps it from one
            early = [no_rule_needs(True, gap_usd, replan, early=True)]  # "it": the line, as its other reasons say
        said = [_use_text(row, facts.arrival(row), first, full, most, streams, start, ix.horizon),
                *([] if row.locked and why_spare else early)]  # a placed line says so once
        if why_spare:
            whose = ("why" if most == 0 else f"the other {counted(int(row.racks) - most, 'rack')}")
            said.append(f"{whose}: " + "; ".join(why_spare))
        reasons.append(OrderReason(
            row.order_quarter, row.factory, row.rack_type, int(row.racks), bool(row.locked),
            None if first is None else start + first, None if full is None else start + full, most,
            tuple(streams), tuple(early), tuple(why_spare), "; ".join(said)))
    return reasons


def never_in_use(reasons: list[OrderReason], orders: pd.DataFrame) -> tuple[int, float]:
    """The racks never in use within the horizon over all lines, and their capex (USD): what a
    summary says before the lines (orders: plan.orders, row for row with reasons)."""
    idle = [(reason.spare, capex * reason.spare / reason.racks) for reason, capex in zip(reasons, orders["capex_usd"])]
    return sum(racks for racks, _ in idle), float(sum(capex for _, capex in idle))


def no_budget_later(plan, inputs: PlanInputs, capex_usd: float, ordered: pd.Period, later: list[int]) -> list[str]:
    """budget_usd_per_year, where it leaves no room for the line's capex in the year of any later
    quarter it could be ordered in (a later quarter of its own year would move nothing)."""
    budget = inputs.budget_usd_per_year
    quarters = [inputs.start + u for u in later]
    if budget is None or not quarters or any(q.year == ordered.year for q in quarters):
        return []
    paid = capex_paid_by_year(plan)
    years = sorted({q.year for q in quarters})
    if any(paid.get(year, 0.0) + capex_usd <= budget + SPEND_TOLERANCE_USD for year in years):
        return []
    spent = ", ".join(f"{figure(paid.get(year, 0.0) / 1e6, 1)} M in {year}" for year in years)
    return [f"budget_usd_per_year ({figure(budget / 1e6, 1)} M) leaves no room for its {figure(capex_usd / 1e6, 1)} M "
            f"in a later year it could be ordered in ({spent})"]


def needless(single: bool, gap_usd: float | None, replan: bool, later: bool = False) -> str:
    """Why a plan may buy what nothing in it needs, or buy it earlier than anything needs (`later`):
    it is not proven the cheapest (within its optimality gap, or a re-plan's allowance for keeping
    the previous plan's orders)."""
    them = "it" if single else "them"
    bound = (f"within its optimality gap ({figure(gap_usd / 1e6, 2)} M) of the best possible"
             if gap_usd is not None else "not proven the cheapest")
    kept = ("; a re-plan keeps the previous plan's orders among plans that cost little more "
            "(solver.steady_within, --steady-within)") if replan else ""
    other = f"one ordering {them} later" if later else f"one without {them}"
    return f"the plan is {bound}, and {other} may cost less (a smaller solver.mip_gap, --mip-gap){kept}"


def no_rule_needs(single: bool, gap_usd: float | None, replan: bool, early: bool = False) -> str:
    """'no rule of the plan needs them[ this early]: ' and why the plan may still buy them (then)."""
    return (f"no rule of the plan needs {'it' if single else 'them'}{' this early' if early else ''}: "
            + needless(single, gap_usd, replan, later=early))


def _use_text(row, arrival: int, first, full, most: int, streams, start, horizon: int) -> str:
    """'all 31 racks in use from arrival (2027Q3), serving eu-de/inference, eu-fr/training', and so on."""
    racks = int(row.racks)
    if arrival >= horizon:
        return f"arrives in {start + arrival}, after the plan's last quarter"
    if first is None:
        which = "its rack is not" if racks == 1 else f"none of its {racks} racks is"
        return f"{which} in use within the horizon (it arrives in {start + max(arrival, 0)})"
    if first > max(arrival, 0):
        since = f"from {start + first}, {counted(first - arrival, 'quarter')} after it arrives"
    else:
        since = f"from arrival ({start + first})" if arrival >= 0 else f"from the plan's start ({start + first})"
    if full == first:
        said = {1: "the rack", 2: "both racks"}.get(racks, f"all {racks} racks") + f" in use {since}"
    elif full is not None:
        said = f"in use {since}, all {racks} racks from {start + full}"
    else:
        said = f"in use {since}, at most {most} of its {racks} racks"
    return f"{said}, serving {some_of(streams, STREAMS_NAMED)}"


class _Facts:
    """The plan's racks online and in use per pool (region, rack type) and quarter, indexed once."""

    def __init__(self, ix: ModelIndex, inputs: PlanInputs, plan):
        self.ix, self.inputs, self.plan = ix, inputs, plan
        self.region_of = ix.factories["region"].to_dict()
        self.lead = ix.racks["lead_time_quarters"].astype(int).to_dict()
        self.life = ix.racks["lifetime_quarters"].astype(int).to_dict()
        index = inputs.index_of
        self.online = defaultdict(float)  # (region, rack type, t) -> racks online in the pool
        self.accelerators = defaultdict(float)  # (factory, t) -> accelerators online
        for row in plan.fleet.itertuples():
            t = index(row.quarter)
            self.online[(self.region_of[row.factory], row.rack_type, t)] += float(row.racks_online)
            self.accelerators[(row.factory, t)] += float(row.accelerators_online)
        self.assigned = defaultdict(float)  # (region, rack type, t) -> racks the pool's demand uses
        self.served = defaultdict(set)  # (region, rack type, t) -> streams the pool serves
        for row in plan.assignments.itertuples():
            key = (self.region_of[row.factory], row.rack_type, index(row.quarter))
            self.assigned[key] += float(row.racks)
            self.served[key].add(f"{row.region}/{row.workload}")
        self.positions_used, self.headroom_kw = site_room(ix, inputs, plan)  # per (site, t)
        self.orderable = set(ix.orders)  # (factory, rack type, t) a new order may be placed at
        self.ordered = racks_ordered(inputs, plan)  # (rack type, t) -> racks ordered

    def arrival(self, row) -> int:
        return self.inputs.index_of(row.online_quarter)

    def active(self, row) -> range:
        """The quarters of the horizon the line's racks are online."""
        arrival = self.arrival(row)
        return range(max(arrival, 0), min(arrival + self.life[row.rack_type], self.ix.horizon))

    def racks_in_use(self) -> list[dict[int, int]]:
        """Per row of plan.orders, its racks in use per quarter online: the pool's racks needed
        (assigned racks over the utilisation cap) filled oldest first."""
        orders = self.plan.orders
        pools = defaultdict(list)
        rows = list(orders.itertuples())
        for k, row in enumerate(rows):
            pools[(self.region_of[row.factory], row.rack_type)].append(k)
        active = [self.active(row) for row in rows]
        use: list[dict[int, int]] = [{} for _ in rows]
        utilization = self.inputs.utilization
        for (region, rack_type), members in pools.items():
            # oldest first: by arrival, placed before new, then as listed
            members.sort(key=lambda k: (self.arrival(rows[k]), not rows[k].locked, k))
            for t in range(self.ix.horizon):
                key = (region, rack_type, t)
                needed = self.assigned.get(key, 0.0) / utilization
                online = [k for k in members if t in active[k]]
                # what the pool holds besides these lines: the installed fleet
                ahead = self.online.get(key, 0.0) - sum(int(rows[k].racks) for k in online)
                for k in online:
                    n = int(rows[k].racks)
                    use[k][t] = min(n, max(0, math.ceil(needed - ahead - RACKS_TOLERANCE)))
                    ahead += n
        return use

    def streams_served(self, row, quarters) -> list[str]:
        pool = (self.region_of[row.factory], row.rack_type)
        return sorted(set().union(*(self.served.get((*pool, t), set()) for t in quarters)))

    def early_reasons(self, row, first: int) -> list[str]:
        """Why a line arrives before any of its racks is in use, where the inputs say so: no later
        order could arrive in time, or a commitment or minimum size needs it before then; or it was
        placed before this plan."""
        if row.locked:
            return [PLACED]
        racks, idle = int(row.racks), range(max(self.arrival(row), 0), first)
        return (self._no_later_order(row, first) + self._no_room_after(row) + self._commitment(row, racks)
                + self._minimum_size(row, racks, idle))

    def _no_room_after(self, row) -> list[str]:
        """Arriving any later (yet in use by the same quarter), the line's racks would still be
        online in the quarter after it retires, and its site has no room for them then: it comes
        early to leave in time."""
        r, end = row.rack_type, self.arrival(row) + self.life[row.rack_type]
        if end >= self.ix.horizon:
            return []
        site, racks = row.site, int(row.racks)
        full = []
        if self.positions_used[(site, end)] + racks * int(self.ix.racks.at[r, "rack_positions"]) > \
                int(self.ix.sites.at[site, "max_racks"]):
            full.append("rack positions")
        draw_kw = racks * float(self.ix.racks.at[r, "kw_per_rack"]) * float(self.ix.sites.at[site, "pue"])
        if draw_kw > self.headroom_kw.get((site, end), 0.0) + 1e-6:
            full.append("power")
        if not full:
            return []
        return [f"arriving later, it would still be online in {self.inputs.start + end}, when {site} has no "
                f"{' or '.join(full)} left for it"]

    def _no_later_order(self, row, first: int) -> list[str]:
        """In every later quarter an order could be placed in to arrive by `first`, supply.csv's cap
        on the rack type is used up, or no order may be placed (the rack type's orderable window,
        the factory's set-up); or one could, and would cost the plan no less."""
        f, r, t = row.factory, row.rack_type, self.inputs.index_of(row.order_quarter)
        capped, closed, open_ = [], [], []
        for u in range(t + 1, first - self.lead[r] + 1):
            if supply_used_up(self.ix, self.ordered, r, u):
                capped.append(u)
            elif (f, r, u) not in self.orderable:
                closed.append(u)
            else:
                open_.append(u)
        if open_:
            now, later = self._rack_cost(f, r, t), min((self._rack_cost(f, r, u), u) for u in open_)
            if later[0] < now - COST_TOLERANCE_MUSD:  # a later order would have cost less: the budget may say why not
                capex = float(row.racks) * float(self.ix.racks.at[r, "price_usd"])
                return no_budget_later(self.plan, self.inputs, capex, row.order_quarter, open_)
            return [f"no later order would cost the plan less: a rack of it costs {figure(now, 3)} M in the NPV "
                    f"ordered in {row.order_quarter}, {figure(later[0], 3)} M ordered in {self.inputs.start + later[1]} "
                    "(capex annuity, opex and energy, discounted)"]
        said = []
        if capped:
            said.append(f"supply.csv's caps on {r} are used up {self._quarters(capped)}")
        if closed:
            said.append(f"no order of {r} at {f} may be placed {self._quarters(closed)} "
                        "(the rack type's orderable window, the factory's set-up)")
        return [f"no later order could arrive in time: {' and '.join(said)}"]

    def _rack_cost(self, f: str, r: str, t: int) -> float:
        """What one rack of type r at factory f ordered at t costs the plan's NPV, $M: its capex
        annuity, opex and energy over the quarters it is online in the horizon, discounted (the
        model's own cost terms, models/fleet.py and models/power.py)."""
        arrival = t + self.lead[r]
        per_quarter = (float(self.ix.racks.at[r, "opex_usd_per_quarter"]) + self.ix.energy_usd[(f, r)]) / 1e6
        online = range(arrival, min(arrival + self.life[r], self.ix.horizon))
        return self.ix.order_capex[(f, r, t)] + per_quarter * sum(self.ix.discount[u] for u in online)

    def _quarters(self, points: list[int]) -> str:
        """'in 2027Q2', 'from 2027Q2 to 2027Q4' or 'in 2027Q2, 2027Q4'."""
        named = [str(self.inputs.start + u) for u in points]
        if len(points) > 1 and points[-1] - points[0] == len(points) - 1:
            return f"from {named[0]} to {named[-1]}"
        return "in " + ", ".join(named)

    def spare_reasons(self, row, spare: int, gap_usd: float | None, replan: bool) -> list[str]:
        """Why `spare` racks of the line, never in use within the horizon, are bought: placed before
        the plan, a commitment or a minimum size that needs them, or neither."""
        if row.locked:
            return [f"{PLACED}, so every plan keeps it"]
        found = self._commitment(row, spare) + self._minimum_size(row, spare, self.active(row))
        if found:
            return found
        return [no_rule_needs(spare == 1, gap_usd, replan)]

    def _commitment(self, row, spare: int) -> list[str]:
        """The factory's take-or-pay commitment, met only with the spend of `spare` racks of the
        line (capex at order, opex online) inside its window."""
        window = self.ix.commitment.get(row.factory)
        if window is None:
            return []
        rack = self.ix.racks.loc[row.rack_type]
        inside = set(window["quarters"])
        t = self.inputs.index_of(row.order_quarter)
        spend = spare * (float(rack.price_usd) * (t in inside)
                         + float(rack.opex_usd_per_quarter) * len(inside.intersection(self.active(row))))
        if spend <= 0:
            return []
        status = self.plan.factories.set_index("factory").loc[row.factory]
        required, spent = float(status.commitment_required_usd), float(status.commitment_spend_usd)
        if spent - spend >= required - SPEND_TOLERANCE_USD:
            return []
        first, last = self.inputs.start + window["quarters"][0], self.inputs.start + window["quarters"][-1]
        they, these = ("it counts", "this rack") if spare == 1 else ("they count", "these racks")
        return [f"{they} toward {row.factory}'s take-or-pay commitment ({figure(required / 1e6, 1)} M from "
                f"{first} to {last}; the plan spends {figure(spent / 1e6, 1)} M there, {figure(spend / 1e6, 1)} M "
                f"of it on {these}, and a shortfall is paid anyway)"]

    def _minimum_size(self, row, racks: int, quarters) -> list[str]:
        """The factory's minimum size (accelerators), which it would fall below in some of these
        quarters without `racks` of the line."""
        first = self.ix.min_size_from.get(row.factory)
        if first is None:
            return []
        minimum = int(self.ix.factories.at[row.factory, "min_accelerators"])
        less = racks * int(self.ix.racks.at[row.rack_type, "accelerators_per_rack"])
        short = [t for t in quarters if t >= first and self.accelerators[(row.factory, t)] - less < minimum]
        if not short:
            return []
        return [f"{'it keeps' if racks == 1 else 'they keep'} {row.factory} at its minimum size of {minimum:,} accelerators "
                f"(factories.csv min_accelerators) {self._quarters(short)}"]
