"""Explain an infeasible scenario in a planner's words.

Rebuild the model with penalised slacks on the hard families (power, positions, supply,
minimum size, budget), solve it, and report every slack left non-zero: which family, where,
which quarter, and by how much the inputs cannot be met.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby

import pyomo.environ as pyo

from models.core import create_model
from models.elastic import ELASTIC_FAMILIES
from models.inputs import PlanInputs, SolverOptions
from models.runs import consecutive, span, when
from models.solve import solve

TOLERANCE = 1e-6
# family -> what the racks installed or locked at a site do to it, what "more than" says, decimals
_FIXED_WORDS = {"site_power": ("draw {} MW", "more than it can have", 2),
                "rack_positions": ("take {} positions", "more than it has", 0)}


def explain_infeasibility(inputs: PlanInputs, options: SolverOptions) -> list[str]:
    m = create_model(inputs, elastic=True)
    result = solve(m, options)
    if not result.has_solution:
        return ["the scenario is infeasible and the relaxed model could not be solved either; "
                "check locked orders, installed fleet, minimum sizes and budgets"]
    quarters = list(inputs.quarters)
    fixed = _fixed_racks(m.ix)
    found, shortfalls = [], defaultdict(list)
    for family, var in m.slack_vars.items():
        unit, scale = ELASTIC_FAMILIES[family]
        for index, slack in var.items():
            amount = pyo.value(slack) * scale
            if amount <= TOLERANCE * scale:
                continue
            if family == "budget":
                found.append(f"budget: capex that must be paid in {index} exceeds budget_usd_per_year by "
                             f"{amount:,.0f} {unit}")
            else:
                shortfalls[(family, index[0])].append((index[1], amount))
    for (family, where), points in shortfalls.items():
        for run in consecutive(sorted(points)):  # then split where the cause changes, so it holds for each line's span
            for _, same in groupby(run, key=lambda point: _forced_by(m, fixed, family, where, *point)):
                found.append(_describe(family, where, list(same), ELASTIC_FAMILIES[family][0], quarters, m, fixed))
    return found or ["the scenario is infeasible, but no single hard limit explains it"]


def _describe(family: str, where: str, run: list[tuple[int, float]], unit: str, quarters, m, fixed: dict) -> str:
    when_text = when(quarters[run[0][0]], quarters[run[-1][0]], len(run))
    amounts = [amount for _, amount in run]
    if family == "site_power":
        available = span([m.ix.site_power_mw[(where, t)] for t, _ in run], 2)  # as the draw, which at one read 0.2 MW of 0.2
        return (f"site power: site {where} {when_text} needs {span(amounts, 2)} {unit} more than it can have "
                f"({available} MW scheduled, plus any power blocks); {_fixed_cause(m, fixed, family, where, run)}")
    if family == "rack_positions":
        return (f"rack positions: site {where} {when_text} needs {_amount(amounts, unit)} more than its "
                f"{int(m.ix.sites.at[where, 'max_racks'])} (max_racks); {_fixed_cause(m, fixed, family, where, run)}")
    if family == "supply_cap":
        return f"supply: orders of {where} {when_text} exceed supply.csv's cap by {_amount(amounts, unit)}"
    if family == "min_size":
        return (f"minimum size: factory {where} {when_text} is {_amount(amounts, unit)} short of its "
                f"min_accelerators ({int(m.ix.factories.at[where, 'min_accelerators']):,})")
    return f"{family} {where} {when_text}: short by {span(amounts, 2)} {unit}"


def _amount(amounts: list[float], unit: str) -> str:
    """'1 rack', '2 racks', '1 to 3 racks': whole-number amounts with their unit."""
    figures = span(amounts)
    return f"{figures} {unit[:-1] if figures == '1' and unit.endswith('s') else unit}"


def _fixed_racks(ix) -> dict:
    """(site, quarter) -> [(rack type, racks)] installed or locked there, gathered once for every
    line of the diagnosis."""
    site_of = ix.factories["site"].to_dict()
    fixed = defaultdict(list)
    for (f, r, t), n in ix.fixed_online.items():
        fixed[(site_of[f], t)].append((r, n))
    return fixed


def _fixed_load(m, fixed: dict, family: str, site: str, t: int) -> tuple[float, float]:
    """(what the racks installed or locked at the site take in quarter t, the most it can have):
    in MW for site_power, in rack positions for rack_positions."""
    ix = m.ix
    if family == "site_power":
        pue = float(ix.sites.at[site, "pue"])
        per_rack, most = (lambda r: float(ix.racks.at[r, "kw_per_rack"]) * pue / 1000.0), m.site_power_ceiling_mw(site, t)
    else:
        per_rack, most = (lambda r: int(ix.racks.at[r, "rack_positions"])), int(ix.sites.at[site, "max_racks"])
    return sum(n * per_rack(r) for r, n in fixed.get((site, t), ())), most


def _forced_by(m, fixed: dict, family: str, site: str, t: int, short: float) -> tuple[bool, bool]:
    """Which rules force in the racks behind a power or positions shortfall in quarter t: (the racks
    installed or locked in orders.csv take more than the site can have, the racks a factory's
    min_accelerators requires add to them: the only other rule that forces a rack in). Said of
    locked racks alone, a minimum size set too high had sent the reader to fleet.csv and orders.csv."""
    if family not in _FIXED_WORDS:
        return False, False
    taken, most = _fixed_load(m, fixed, family, site, t)
    excess = max(0.0, taken - most)
    return excess > TOLERANCE, short > excess + TOLERANCE * max(1.0, short)


def _fixed_cause(m, fixed: dict, family: str, site: str, run: list[tuple[int, float]]) -> str:
    """The cause _forced_by finds, the same in every quarter of the run, in words."""
    take, over, decimals = _FIXED_WORDS[family]
    taken = [_fixed_load(m, fixed, family, site, t)[0] for t, _ in run]
    locked_over, minimum_adds = _forced_by(m, fixed, family, site, *run[0])
    installed = "racks installed or locked there " + take.format(span(taken, decimals))
    minimum = "the rest is the racks its factories' min_accelerators require"
    if not locked_over:
        return f"{installed}; {minimum}"
    return f"{installed}, {over}" + (f"; {minimum}" if minimum_adds else "")
