"""Why the plan orders each line of power blocks: the quarter its site's load first needs it.

A power block is a facilities contract placed years ahead (us-va-1's takes 20 quarters), so the
line needs its reason beside it as an order line of racks does (models/order_reasons.py). Every
reason is read from the plan's power table and the inputs, not from the solver. Blocks at a site
add up; which of them carries the load is a convention, as for racks: the first to arrive first.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from models.index import ModelIndex
from models.inputs import PlanInputs
from models.order_reasons import COST_TOLERANCE_MUSD, needless, no_budget_later, no_rule_needs
from models.runs import counted, figure

KW_TOLERANCE = 1e-3  # kW: a load within this of the power is at it, not over


@dataclass(frozen=True)
class BlockReason:
    """Why one line of plan.expansions is bought: from when its site's load needs it."""

    order_quarter: pd.Period
    site: str
    blocks: int
    needed_from: pd.Period | None  # first quarter the site's load needs any of its blocks
    early_reasons: tuple[str, ...]  # why it arrives before then, where the inputs say
    text: str

    def record(self) -> dict:
        return {"order_quarter": str(self.order_quarter), "site": self.site, "blocks": self.blocks,
                "needed_from": None if self.needed_from is None else str(self.needed_from),
                "early_reasons": list(self.early_reasons), "text": self.text}


def explain_blocks(ix: ModelIndex, inputs: PlanInputs, plan, gap_usd: float | None = None,
                   replan: bool = False) -> list[BlockReason]:
    """One reason per row of plan.expansions, in its order (gap_usd and replan as for
    models.order_reasons.explain_orders)."""
    lines = list(plan.expansions.itertuples())
    if not lines:
        return []
    index, start = inputs.index_of, inputs.start
    expansions = inputs.power_expansions.set_index("site")
    power = {(row.site, index(row.quarter)): row for row in plan.power.itertuples()}
    by_site = defaultdict(list)
    for k, row in enumerate(lines):
        by_site[row.site].append(k)
    needed = [dict() for _ in lines]  # per line: quarter -> its blocks the load needs, and the load then
    for site, members in by_site.items():
        block_kw = float(expansions.at[site, "block_mw"]) * 1000
        members.sort(key=lambda k: (index(lines[k].online_quarter), k))
        for t in range(ix.horizon):
            row = power.get((site, t))
            if row is None:
                continue
            base_kw = float(row.capacity_kw) - int(row.expansion_blocks_online) * block_kw  # the site without blocks
            over = math.ceil((float(row.facility_kw) - base_kw - KW_TOLERANCE) / block_kw) if block_kw else 0
            ahead = 0
            for k in (k for k in members if index(lines[k].online_quarter) <= t):
                used = min(int(lines[k].blocks), max(0, over - ahead))
                needed[k][t] = (used, float(row.facility_kw), base_kw + ahead * block_kw)
                ahead += int(lines[k].blocks)
    reasons = []
    for k, row in enumerate(lines):
        first = next((t for t, (used, _, _) in sorted(needed[k].items()) if used > 0), None)
        said = _text(row, index(row.online_quarter), first, needed[k], start)
        waits = first is not None and first > index(row.online_quarter)
        early = _early(ix, inputs, plan, row, first) if waits else []
        if waits and not early:  # a later order would cost less, and the budget does not keep it from one
            early = [no_rule_needs(int(row.blocks) == 1, gap_usd, replan, early=True)]
        if first is None:
            said += "; " + needless(int(row.blocks) == 1, gap_usd, replan)
        said += "".join("; " + reason for reason in early)
        reasons.append(BlockReason(row.order_quarter, row.site, int(row.blocks),
                                   None if first is None else start + first, tuple(early), said))
    return reasons


def _text(row, arrival: int, first, needed: dict, start) -> str:
    """'needed from arrival (2030Q4): fra-1's facility load then, 26.5 MW, is over the 25.0 MW it has without it'."""
    it = "it" if int(row.blocks) == 1 else "them"
    if first is None:
        return f"no quarter's facility load at {row.site} within the horizon needs {it} (it arrives in {row.online_quarter})"
    _, load_kw, without_kw = needed[first]
    since = (f"from arrival ({start + first})" if first == arrival
             else f"from {start + first}, {counted(first - arrival, 'quarter')} after it arrives")
    peak_t = max(needed, key=lambda t: needed[t][1])
    peak = (f"; its load peaks at {figure(needed[peak_t][1] / 1000, 1)} MW in {start + peak_t}"
            if needed[peak_t][1] > load_kw + KW_TOLERANCE else "")
    load, without = _apart(load_kw / 1000, without_kw / 1000)
    return f"needed {since}: {row.site}'s facility load then, {load} MW, is over the {without} MW it has without {it}{peak}"


def _apart(larger: float, smaller: float) -> tuple[str, str]:
    """Two MW figures to one decimal, or to as many more (up to 6, a watt) as it takes for them to differ:
    '0.2 MW is over 0.2 MW' read as no reason at all."""
    for places in range(1, 7):
        pair = f"{larger:,.{places}f}", f"{smaller:,.{places}f}"
        if pair[0] != pair[1]:
            break
    return pair


def _early(ix: ModelIndex, inputs: PlanInputs, plan, row, first: int) -> list[str]:
    """Why a line arrives before its site's load needs it, where the inputs say: no later order
    could arrive in time (the block's lead time from the plan's start), a later one would cost the
    plan no less (its capex discounted to the quarter it is paid in), or the yearly budget has no
    room for it later."""
    site, t = row.site, inputs.index_of(row.order_quarter)
    lead = int(inputs.power_expansions.set_index("site").at[site, "lead_time_quarters"])
    orderable = set(ix.expansions)
    later = [u for u in range(t + 1, first - lead + 1) if (site, u) in orderable]
    if not later:
        return [f"no later order could arrive in time ({site}'s blocks take {counted(lead, 'quarter')})"]
    capex_musd = float(row.capex_usd) / 1e6  # paid at order, discounted to its quarter in the NPV (models/power.py)
    if capex_musd * ix.discount[later[-1]] < capex_musd * ix.discount[t] - COST_TOLERANCE_MUSD:  # later costs less
        return no_budget_later(plan, inputs, float(row.capex_usd), row.order_quarter, later)
    return [f"no later order would cost the plan less (no discounting: its capex counts the same paid in "
            f"{row.order_quarter} or {inputs.start + later[-1]})"]
