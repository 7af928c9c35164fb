"""Explain an infeasible scenario in a planner's words.

Rebuild the model with penalised slacks on the hard families (power, positions, supply,
minimum size, budget), solve it, and report every slack left non-zero: which family, where,
which quarter, and by how much the inputs cannot be met.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.core import create_model
from models.elastic import ELASTIC_FAMILIES
from models.inputs import PlanInputs, SolverOptions
from models.runs import consecutive, span, when
from models.solve import solve

TOLERANCE = 1e-6


def explain_infeasibility(inputs: PlanInputs, options: SolverOptions) -> list[str]:
    m = create_model(inputs, elastic=True)
    result = solve(m, options)
    if not result.has_solution:
        return ["the scenario is infeasible and the relaxed model could not be solved either; "
                "check locked orders, installed fleet, minimum sizes and budgets"]
    quarters = list(inputs.quarters)
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
        for run in consecutive(sorted(points)):
            found.append(_describe(family, where, run, ELASTIC_FAMILIES[family][0], quarters, m))
    return found or ["the scenario is infeasible, but no single hard limit explains it"]


def _describe(family: str, where: str, run: list[tuple[int, float]], unit: str, quarters, m) -> str:
    when_text = when(quarters[run[0][0]], quarters[run[-1][0]], len(run))
    amounts = [amount for _, amount in run]
    if family == "site_power":
        available = span([m.ix.site_power_mw[(where, t)] for t, _ in run], 1)
        return (f"site power: site {where} {when_text} needs {span(amounts, 2)} {unit} more than it can have "
                f"({available} MW scheduled, plus any power blocks); {_power_cause(m, where, [t for t, _ in run])}")
    if family == "rack_positions":
        return (f"rack positions: site {where} {when_text} needs {span(amounts)} more {unit} than its "
                f"{int(m.ix.sites.at[where, 'max_racks'])} (max_racks)")
    if family == "supply_cap":
        return f"supply: orders of {where} {when_text} exceed supply.csv's cap by {span(amounts)} {unit}"
    if family == "min_size":
        return (f"minimum size: factory {where} {when_text} is {span(amounts)} {unit} short of its "
                f"min_accelerators ({int(m.ix.factories.at[where, 'min_accelerators'])})")
    return f"{family} {where} {when_text}: short by {span(amounts, 2)} {unit}"


def _power_cause(m, site: str, quarters: list[int]) -> str:
    """What draws the power no plan can shed: the racks installed or locked (orders.csv) alone, or
    those with the racks a factory's min_accelerators requires (the only other rule that forces a
    rack in). Said of locked racks alone, a minimum size set too high had sent the reader to
    fleet.csv and orders.csv."""
    ix = m.ix
    pue = float(ix.sites.at[site, "pue"])
    fixed = [sum(n * float(ix.racks.at[r, "kw_per_rack"]) * pue / 1000.0 for (f, r, u), n in ix.fixed_online.items()
                 if u == t and ix.factories.at[f, "site"] == site) for t in quarters]
    installed = f"racks installed or locked there draw {span(fixed, 1)} MW"
    if any(draw > m.site_power_ceiling_mw(site, t) + TOLERANCE for draw, t in zip(fixed, quarters)):
        return installed + ", more than it can have"
    return f"{installed}; the rest is the racks its factories' min_accelerators require"
