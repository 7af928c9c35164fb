"""Explain an infeasible scenario in a planner's words.

Rebuild the model with penalised slacks on the hard families (power, positions, supply,
minimum size, budget), solve it, and report every slack left non-zero: which family, where,
which quarter, and by how much the inputs cannot be met.
"""

from __future__ import annotations

import pyomo.environ as pyo

from models.core import create_model
from models.elastic import ELASTIC_FAMILIES
from models.inputs import PlanInputs, SolverOptions
from models.solve import solve

TOLERANCE = 1e-6


def explain_infeasibility(inputs: PlanInputs, options: SolverOptions) -> list[str]:
    m = create_model(inputs, elastic=True)
    result = solve(m, options)
    if not result.has_solution:
        return ["the scenario is infeasible and the relaxed model could not be solved either; "
                "check locked orders, installed fleet, minimum sizes and budgets"]
    quarters = list(inputs.quarters)
    found = []
    for family, var in m.slack_vars.items():
        unit, scale = ELASTIC_FAMILIES[family]
        for index, slack in var.items():
            amount = pyo.value(slack) * scale
            if amount > TOLERANCE * scale:
                found.append(_describe(family, index, amount, unit, quarters, m))
    return found or ["the scenario is infeasible, but no single hard limit explains it"]


def _describe(family: str, index: tuple, amount: float, unit: str, quarters, m) -> str:
    if family == "budget":
        return f"budget: capex that must be paid in {index} exceeds budget_usd_per_year by {amount:,.0f} {unit}"
    where, t = index[0], index[1]
    quarter = quarters[t]
    if family == "site_power":
        available = m.ix.site_power_mw[(where, t)]
        return (f"site power: site {where} in {quarter} needs {amount:,.2f} {unit} more than it can have "
                f"({available:,.1f} MW scheduled, plus any power blocks); racks installed or locked there draw too much")
    if family == "rack_positions":
        return (f"rack positions: site {where} in {quarter} needs {amount:,.0f} more {unit} than its "
                f"{int(m.ix.sites.at[where, 'max_racks'])} (max_racks)")
    if family == "supply_cap":
        return f"supply: orders of {where} in {quarter} exceed supply.csv's cap by {amount:,.0f} {unit}"
    if family == "min_size":
        return (f"minimum size: factory {where} in {quarter} is {amount:,.0f} {unit} short of its "
                f"min_accelerators ({int(m.ix.factories.at[where, 'min_accelerators'])})")
    return f"{family} {index}: short by {amount:,.2f} {unit}"
