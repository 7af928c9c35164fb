"""Assemble the model from feature modules (the SWITCH pattern).

Each module in `FAMILIES` declares its own variables and constraints and appends its
discounted cost terms (in $M) to `m.cost_terms`; the core sums them into the objective.
A new constraint family is a new module added to `FAMILIES`, not an edit across files.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models import budget, demand, factories, fleet, power, space, supply
from models.elastic import penalty
from models.index import build_index
from models.inputs import PlanInputs

FAMILIES = (fleet, demand, power, space, factories, supply, budget)

def create_model(inputs: PlanInputs, elastic: bool = False) -> pyo.ConcreteModel:
    """Build the MIP. With `elastic`, hard families get penalised slacks (for diagnosis)."""
    ix = build_index(inputs)
    m = pyo.ConcreteModel(name="capacity_plan")
    m.ix = ix
    m.inputs = inputs
    m.elastic = elastic
    m.cost_terms = []                  # (category, expression in discounted $M)
    m.capex_paid = defaultdict(list)   # t -> expressions of capex paid in quarter t ($M, nominal)
    m.slack_vars = {}                  # family -> Pyomo Var of slacks
    m.violated_constants = []          # (family, index) rows of constants that cannot hold
    for family in FAMILIES:
        family.add(m, ix, inputs)
    m.npv = pyo.Objective(expr=sum(expr for _, expr in m.cost_terms) + penalty(m), sense=pyo.minimize)
    return m
