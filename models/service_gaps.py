"""Why a plan leaves demand unmet or buys cloud for it rather than serve it from its own racks.

Both are allowed (unmet demand costs `unmet_penalty_per_unit_quarter`, cloud its price), so a
plan with either is not wrong; but a planner who sees "2,625 unit-quarters unmet" or "40 M of
cloud" needs to know whether it was forced (no rack can arrive in time, sites full, supply or
budget used up, cloud forbidden or capped) or chosen (a rack costs more per unit-quarter, or the
demand is less than a rack's worth). Every reason is a fact read from the inputs and the plan's
own tables, not from the solver, and a run of quarters with the same reasons is one line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from models.index import ModelIndex
from models.inputs import CAPEX_PAID, PlanInputs, capex_annuity
from models.runs import consecutive, figure, span, when

UNITS_TOLERANCE = 1e-3   # compute units: less than this is solver round-off
RACKS_TOLERANCE = 1e-4   # racks: assignment within this of the usable capacity is "fully used"
UNMET, CLOUD = "unmet", "cloud"
NO_LIMIT = "no hard limit binds"


@dataclass(frozen=True)
class ServiceGap:
    """One stream's demand left unmet, or served from cloud, over consecutive quarters that share
    the same reasons."""

    served_by: str  # UNMET or CLOUD
    region: str
    workload: str
    first_quarter: pd.Period
    last_quarter: pd.Period
    quarters: int
    units: tuple[float, ...]
    reasons: tuple[str, ...]

    @property
    def unit_quarters(self) -> float:
        return float(sum(self.units))

    @property
    def text(self) -> str:
        how = "unmet" if self.served_by == UNMET else "on cloud"
        units = span(self.units)
        return (f"{self.region}/{self.workload} {when(self.first_quarter, self.last_quarter, self.quarters)}: "
                f"{units} {'unit' if units == '1' else 'units'} {how}: " + "; ".join(self.reasons))

    def record(self) -> dict:
        return {"served_by": self.served_by, "region": self.region, "workload": self.workload,
                "first_quarter": str(self.first_quarter), "last_quarter": str(self.last_quarter),
                "unit_quarters": self.unit_quarters, "reasons": list(self.reasons), "text": self.text}


def explain_service_gaps(ix: ModelIndex, inputs: PlanInputs, plan,
                         gap_usd: float | None = None) -> tuple[list[ServiceGap], list[ServiceGap]]:
    """(unmet, cloud): why the plan leaves demand unmet, and why it serves demand from cloud.

    gap_usd: how far the plan's NPV may be above the best possible (objective minus bound), if
    known. Demand not served from racks though nothing forced it is either cheaper so, or inside
    that gap."""
    facts = _Facts(ix, inputs, plan)
    return _explain(UNMET, facts, gap_usd), _explain(CLOUD, facts, gap_usd)


def _explain(kind: str, facts: "_Facts", gap_usd: float | None) -> list[ServiceGap]:
    ix, inputs, plan = facts.ix, facts.inputs, facts.plan
    column, price = (("unmet", inputs.unmet_penalty_per_unit_quarter) if kind == UNMET
                     else ("served_cloud", inputs.cloud_price_per_unit_quarter))
    points, unforced_units = defaultdict(list), {}
    for row in plan.demand.itertuples():
        units = float(getattr(row, column))
        if units > UNITS_TOLERANCE:
            t = inputs.index_of(row.quarter)
            stream = (row.region, row.workload)
            reasons, unforced_units[(stream, t)] = facts.capacity_reasons(stream, t, units, kind)
            if kind == UNMET:
                reasons += facts.cloud_reasons(stream, t)
            points[(stream, tuple(reasons))].append((t, units))
    gaps = []
    for ((g, w), reasons), found in points.items():
        for run in consecutive(sorted(found)):
            said = list(reasons)
            unforced = [k for k, r in enumerate(said) if r.startswith(NO_LIMIT)]
            if unforced:
                cost = sum(unforced_units[((g, w), t)] * price * ix.discount[t] for t, _ in run)
                said.insert(unforced[0] + 1, _chosen(kind, cost, gap_usd, price))
            gaps.append(ServiceGap(kind, g, w, inputs.start + run[0][0], inputs.start + run[-1][0], len(run),
                                   tuple(units for _, units in run), tuple(said)))
    return sorted(gaps, key=lambda r: (r.region, r.workload, r.first_quarter))


def _price_name(kind: str) -> str:
    return "unmet_penalty_per_unit_quarter" if kind == UNMET else "cloud.price_per_unit_quarter"


def _chosen(kind: str, cost_usd: float, gap_usd: float | None, price: float) -> str:
    """Why the solver did not serve unforced demand from racks: cheaper, or not worth the search (inside the gap)."""
    if gap_usd is not None and cost_usd <= gap_usd:
        what = "penalty" if kind == UNMET else "cloud cost"
        return (f"its {what} ({figure(cost_usd / 1e6, 2)} M discounted) is within the plan's optimality gap "
                f"({gap_usd / 1e6:,.2f} M): a smaller solver.mip_gap (--mip-gap) may serve it from racks")
    doing = "leaving it unmet" if kind == UNMET else "cloud"
    return (f"{doing} at {_price_name(kind)} ({price:,.0f}) costs less than the racks, power or commitments "
            "to serve it")


def site_room(ix: ModelIndex, inputs: PlanInputs, plan) -> tuple[dict, dict]:
    """(rack positions used, power headroom in kW), per (site, quarter index): what one more rack
    finds at a site, from the plan's fleet and power tables."""
    index = inputs.index_of
    positions = defaultdict(float)
    for row in plan.fleet.itertuples():
        taken = float(row.racks_online) * int(ix.racks.at[row.rack_type, "rack_positions"])
        positions[(row.site, index(row.quarter))] += taken
    headroom = {(row.site, index(row.quarter)): float(row.capacity_kw - row.facility_kw)
                for row in plan.power.itertuples()}
    return positions, headroom


def racks_ordered(inputs: PlanInputs, plan) -> dict:
    """(rack type, quarter index) -> racks ordered, placed and new: what supply.csv caps."""
    ordered = defaultdict(float)
    for row in plan.orders.itertuples():
        ordered[(row.rack_type, inputs.index_of(row.order_quarter))] += float(row.racks)
    return ordered


def supply_used_up(ix: ModelIndex, ordered: dict, rack_type: str, t: int) -> bool:
    """supply.csv caps orders of the rack type in quarter t, and the plan's orders (racks_ordered)
    take all of it."""
    cap = ix.supply_cap.get((rack_type, t))
    return cap is not None and ordered[(rack_type, t)] >= cap - 1e-6


def capex_paid_by_year(plan) -> dict[int, float]:
    """What budget_usd_per_year caps (models/budget.py): racks, power blocks and factory fixed
    costs, paid per calendar year, USD."""
    costs = plan.costs[plan.costs["category"].isin([CAPEX_PAID, "power_expansion", "factory_fixed"])]
    return costs.groupby(costs["quarter"].map(lambda q: q.year))["usd"].sum().to_dict()


class _Facts:
    """The plan's state per quarter, indexed once: what could serve each stream and what was used."""

    def __init__(self, ix: ModelIndex, inputs: PlanInputs, plan):
        self.ix, self.inputs, self.plan = ix, inputs, plan
        self.site_of = ix.factories["site"].to_dict()
        self.lead = ix.racks["lead_time_quarters"].astype(int).to_dict()  # rack type -> quarters
        region_of = ix.factories["region"].to_dict()
        allowed = {(s, r, g, w) for s, r, g, w in ix.assign}
        self.serving = defaultdict(list)  # stream -> (factory, rack type) pairs that may serve it
        for f, r in ix.pairs:
            for g, w in ix.streams:
                if (region_of[f], r, g, w) in allowed:
                    self.serving[(g, w)].append((f, r))
        self.first_new = {}  # (factory, rack type) -> first quarter a new rack can be online
        for f, r, t in ix.built:
            self.first_new[(f, r)] = min(t, self.first_new.get((f, r), t))
        self.orderable = defaultdict(list)  # (factory, rack type) -> quarters a new order may be placed
        for f, r, t in ix.orders:
            self.orderable[(f, r)].append(t)

        index = inputs.index_of
        self.online = {(row.factory, row.rack_type, index(row.quarter)): float(row.racks_online)
                       for row in plan.fleet.itertuples()}
        self.assigned = defaultdict(float)
        for row in plan.assignments.itertuples():
            self.assigned[(row.factory, row.rack_type, index(row.quarter))] += float(row.racks)
        self.positions_used, self.headroom_kw = site_room(ix, inputs, plan)
        self.ordered = racks_ordered(inputs, plan)
        self.cloud_used = plan.demand.groupby("quarter")["served_cloud"].sum().to_dict()
        self.max_blocks = inputs.power_expansions.groupby("site")["max_blocks"].sum().to_dict()
        self.blocks_ordered = plan.expansions.groupby("site")["blocks"].sum().to_dict()
        self.capex_by_year = capex_paid_by_year(plan)

    def capacity_reasons(self, stream: tuple[str, str], t: int, units: float, kind: str) -> tuple[list[str], float]:
        """The reasons the stream's `units` in quarter t were not served from racks, and how many of
        them no hard limit kept off racks (what the plan chose: 0 where a limit forced them all)."""
        g, w = stream
        pairs = self.serving.get(stream, [])
        if not pairs:
            return [f"no factory it may be served from (residency) can hold a rack type with capacity for {w} "
                    "(rack_capacity.csv, factories' rack_types, liquid cooling)"], 0.0
        reasons = []
        online = sum(self.online.get((f, r, t), 0.0) for f, r in pairs)
        used = sum(self.assigned.get((f, r, t), 0.0) for f, r in pairs)
        if online > 0 and used >= self.inputs.utilization * online - RACKS_TOLERANCE:
            reasons.append("the racks online that may serve it are fully used")
        arriving = [p for p in pairs if self.first_new.get(p, self.ix.horizon) <= t]
        if not arriving:
            return reasons + [self._soonest_arrival(pairs)], 0.0
        # Judge the racks that can arrive in quarter t itself where any can: a site with room for a
        # rack type no longer orderable is full for one that is. Where every site is full for those,
        # a rack ordered to arrive earlier may still fit.
        in_time = [p for p in arriving if self._latest_arrival(p, t) == t]
        judged = in_time or arriving
        full_sites = self._full_sites(judged, t)
        with_room = [p for p in judged if self.site_of[p[0]] not in full_sites]
        earlier = []
        if in_time and not with_room:
            late = [p for p in arriving if p not in in_time]
            earlier = [p for p in late if self.site_of[p[0]] not in self._full_sites(late, t)]
        sites = self._site_limits(full_sites, every_site=not with_room, in_that_quarter=bool(earlier))
        placeable = with_room or earlier or judged  # the limits that matter are those where a rack would still fit
        limits = self._supply_limit(placeable, t) + self._budget_limit(placeable, t)
        if not (with_room or earlier) or limits:
            return reasons + sites + limits, 0.0
        if with_room:
            late_text = "" if in_time else (", but no rack type that may serve it there can be ordered to arrive in "
                                            f"{self.inputs.start + t}: {self._latest_of(with_room, t)}")
        else:
            late_text = f" on racks ordered to arrive earlier: {self._latest_of(earlier, t)}"
        fitting, elsewhere = with_room or earlier, bool(with_room and full_sites)
        room, where = self._room(fitting, w, t)
        if 0 < room < units - UNITS_TOLERANCE:  # racks fit for part of it: the rest is forced
            racks = ("racks that fit and could be ordered to arrive earlier" if earlier else
                     "racks that fit and can be ordered to arrive in that quarter" if in_time else "new racks that fit")
            said = f"{racks} serve at most {figure(room)} units of it ({where})"
            return reasons + sites + [said, self._economics(fitting, w, room, kind, elsewhere, late_text, part=True)], room
        return reasons + sites + [self._economics(fitting, w, units, kind, elsewhere, late_text)], units

    def _room(self, pairs, workload: str, t: int) -> tuple[float, str]:
        """Units of the workload that new racks could still serve in quarter t at the sites of these
        pairs (at each, as many of its most useful rack type as the power and positions left hold),
        and what fits where ('ap-sg-1: 3 more trn4-ultra, then power (2 of 2 power blocks ordered)')."""
        total, said = 0.0, []
        for site in sorted({self.site_of[f] for f, _ in pairs}):
            blocks = self._blocks(site).removeprefix("; ")
            power = f"power ({blocks})" if blocks else "power"
            best = (0.0, 0, "", "")
            for f, r in (p for p in pairs if self.site_of[p[0]] == site):
                by_power, by_positions = self._fit(site, r, t)
                racks = max(0, min(by_power, by_positions))
                units = racks * self.ix.capacity[(r, workload)] * self.inputs.utilization
                if units > best[0]:
                    best = (units, racks, r, power if by_power <= by_positions else "rack positions")
            if best[1]:
                total += best[0]
                said.append(f"{site}: {best[1]} more {best[2]}, then {best[3]}")
        return total, "; ".join(said)

    def _fit(self, site: str, rack_type: str, t: int) -> tuple[int, int]:
        """How many more racks of the type the site's power and its rack positions each hold in
        quarter t, beside what the plan has there (to a watt of round-off)."""
        kw = float(self.ix.racks.at[rack_type, "kw_per_rack"]) * float(self.ix.sites.at[site, "pue"])
        positions_left = int(self.ix.sites.at[site, "max_racks"]) - self.positions_used[(site, t)]
        return (math.floor((self.headroom_kw.get((site, t), 0.0) + 1e-6) / kw),
                math.floor(positions_left / int(self.ix.racks.at[rack_type, "rack_positions"]) + 1e-9))

    def _latest_arrival(self, pair, t: int) -> int | None:
        """The last quarter up to t in which a new rack of this (factory, rack type) can come online."""
        lead = self.lead[pair[1]]
        return max((u + lead for u in self.orderable[pair] if u + lead <= t), default=None)

    def _latest_of(self, pairs, t: int) -> str:
        """When the latest new rack of these pairs, none of which can be ordered to arrive in quarter t
        (orderable windows or supply caps), can come online: serving the quarter from racks means
        paying for them from then on, not for one quarter."""
        arrival, (f, r) = max(((self._latest_arrival(p, t), p) for p in pairs), key=lambda found: found[0])
        early = t - arrival
        return (f"the latest new rack comes online in {self.inputs.start + arrival} ({r} at {f}, ordered "
                f"{self.inputs.start + arrival - self.lead[r]}), {early} {'quarter' if early == 1 else 'quarters'} before")

    def _soonest_arrival(self, pairs) -> str:
        arrivals = sorted((self.first_new[p], p) for p in pairs if p in self.first_new)
        if not arrivals:
            return ("no new rack that may serve it can arrive inside the horizon "
                    "(lead times, orderable windows, factory set-up, supply caps)")
        first, (f, r) = arrivals[0]
        lead = self.lead[r]
        quarters = "quarter's" if lead == 1 else "quarters'"
        return (f"no new rack that may serve it can arrive before {self.inputs.start + first} (soonest: {r} at {f}, "
                f"ordered {self.inputs.start + first - lead} with {lead} {quarters} lead time)")

    def _full_sites(self, pairs, t: int) -> dict[str, str]:
        """Sites where no further rack that may serve the stream fits in quarter t, with what ran out:
        power, rack positions, or each for some of the rack types ('power for b; rack positions for
        a': a rack with the power to spare may lack the positions, and the reverse)."""
        full = {}
        for site in sorted({self.site_of[f] for f, _ in pairs}):
            here = sorted({r for f, r in pairs if self.site_of[f] == site})
            fit = {r: self._fit(site, r, t) for r in here}
            no_power = [r for r in here if fit[r][0] < 1]
            no_positions = [r for r in here if fit[r][1] < 1]
            if len(no_power) == len(here):
                full[site] = f"power{self._blocks(site)}"
            elif len(no_positions) == len(here):
                full[site] = "rack positions"
            elif set(no_power) | set(no_positions) == set(here):
                by_positions = [r for r in here if r not in no_power]
                full[site] = (f"power for {', '.join(no_power)}{self._blocks(site)}; "
                              f"rack positions for {', '.join(by_positions)}")
        return full

    @staticmethod
    def _site_limits(full_sites: dict[str, str], every_site: bool, in_that_quarter: bool = False) -> list[str]:
        """The full sites as a reason, saying whether they are every site that could take a new rack
        (one that can arrive in the quarter itself, where racks ordered earlier would still fit)."""
        if not full_sites:
            return []
        named = ", ".join(f"{site} ({what})" for site, what in full_sites.items())
        rack = "a rack for it ordered to arrive in that quarter" if in_that_quarter else "a new rack for it"
        return [(f"every site that may take {rack} is full: " if every_site else "full: ") + named]

    def _blocks(self, site: str) -> str:
        """'; 2 of 4 power blocks ordered' where the site may expand: whether its power limit was
        the plan's choice or the most it could have."""
        most = self.max_blocks.get(site, 0)
        return f"; {self.blocks_ordered.get(site, 0)} of {most} power blocks ordered" if most else ""

    def _supply_limit(self, pairs, t: int) -> list[str]:
        """Every quarter an order arriving by t could be placed in has its supply cap used up."""
        windows = set()
        for f, r in pairs:
            lead = self.lead[r]
            windows |= {(r, u) for u in self.orderable[(f, r)] if u + lead <= t}
        capped = all(supply_used_up(self.ix, self.ordered, r, u) for r, u in windows)
        return ["supply.csv's caps used up in every quarter an order could be placed to arrive in time"] \
            if windows and capped else []

    def _budget_limit(self, pairs, t: int) -> list[str]:
        """Every year an order arriving by t could be paid in has its budget used up, to within one rack."""
        budget = self.inputs.budget_usd_per_year
        if budget is None:
            return []
        years, cheapest = set(), min(float(self.ix.racks.at[r, "price_usd"]) for _, r in pairs)
        for f, r in pairs:
            lead = self.lead[r]
            years |= {(self.inputs.start + u).year for u in self.orderable[(f, r)] if u + lead <= t}
        if years and all(self.capex_by_year.get(y, 0.0) > budget - cheapest for y in years):
            return [f"budget_usd_per_year used up in {', '.join(str(y) for y in sorted(years))}"]
        return []

    def _economics(self, pairs, workload: str, units: float, kind: str, elsewhere: bool, late: str = "",
                   part: bool = False) -> str:
        """No hard limit binds at the sites with room (pairs): compare the cheapest rack's cost per
        unit-quarter there with the price of the alternative the plan took (the unmet penalty, or
        cloud). elsewhere: other sites were full, so the reason says it holds at these; late: why
        no rack there can arrive in the quarter itself (_latest_of), said after it; part: `units`
        are the part of the demand that racks fit for (_room), and the reason says it holds for those."""
        no_limit = NO_LIMIT + (" at the other sites" if elsewhere else "") + (" for those" if part else "") + late
        price = self.inputs.unmet_penalty_per_unit_quarter if kind == UNMET else self.inputs.cloud_price_per_unit_quarter
        costs = {p: self._cost_per_unit_quarter(*p, workload) for p in pairs}
        f, r = min(costs, key=costs.get)  # the first cheapest, in the order of pairs
        cheapest = costs[(f, r)]
        if cheapest > price:
            return (f"a new rack that may serve it costs at least {cheapest:,.0f} per unit-quarter (capex annuity, "
                    f"opex, energy), more than {_price_name(kind)} ({price:,.0f})")
        one_rack = self.ix.capacity[(r, workload)] * self.inputs.utilization
        if units < one_rack:
            return f"{no_limit}; it is less than one rack's worth (a {r} at {f} serves {one_rack:,.0f} units)"
        return no_limit

    def _cost_per_unit_quarter(self, f: str, r: str, workload: str) -> float:
        rack = self.ix.racks.loc[r]
        per_quarter = (capex_annuity(float(rack.price_usd), self.inputs.discount_rate, int(rack.lead_time_quarters),
                                     int(rack.lifetime_quarters))
                       + float(rack.opex_usd_per_quarter) + self.ix.energy_usd[(f, r)])
        return per_quarter / (self.ix.capacity[(r, workload)] * self.inputs.utilization)

    def cloud_reasons(self, stream: tuple[str, str], t: int) -> list[str]:
        inputs = self.inputs
        if stream not in self.ix.cloud_streams:
            return ["cloud not allowed (residency.csv)"]
        cap = inputs.cloud_max_units
        if cap is not None and self.cloud_used.get(inputs.start + t, 0.0) >= cap - UNITS_TOLERANCE:
            return [f"cloud at its cap of {cap:,.0f} units (cloud.max_units)"]
        if inputs.cloud_price_per_unit_quarter > inputs.unmet_penalty_per_unit_quarter:
            return [f"cloud ({inputs.cloud_price_per_unit_quarter:,.0f} per unit-quarter) costs more than "
                    f"unmet_penalty_per_unit_quarter ({inputs.unmet_penalty_per_unit_quarter:,.0f})"]
        return []
