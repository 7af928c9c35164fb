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
                f"({available} MW scheduled, plus any power blocks); racks installed or locked there draw too much")
    if family == "rack_positions":
        return (f"rack positions: site {where} {when_text} needs {span(amounts)} more {unit} than its "
                f"{int(m.ix.sites.at[where, 'max_racks'])} (max_racks)")
    if family == "supply_cap":
        return f"supply: orders of {where} {when_text} exceed supply.csv's cap by {span(amounts)} {unit}"
    if family == "min_size":
        return (f"minimum size: factory {where} {when_text} is {span(amounts)} {unit} short of its "
                f"min_accelerators ({int(m.ix.factories.at[where, 'min_accelerators'])})")
    return f"{family} {where} {when_text}: short by {span(amounts, 2)} {unit}"
