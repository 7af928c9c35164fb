"""Penalised slacks on hard constraint families, used only to explain an infeasible scenario.

The diagnosis builds the model in elastic mode; any slack left non-zero names a family,
a place and an amount by which the inputs cannot be satisfied.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

# family -> (unit of the slack as a planner reads it, factor from model units to that unit)
ELASTIC_FAMILIES = {
    "site_power": ("MW", 1.0),
    "rack_positions": ("rack positions", 1.0),
    "supply_cap": ("racks", 1.0),
    "min_size": ("accelerators", 1.0),
    "budget": ("in the scenario's currency", 1e6),  # the model knows no currency: a EUR budget had read "USD"
}
PENALTY = 1e4  # $M per unit of slack: dwarfs any real cost, so slack appears only where it must


def slack(m: pyo.ConcreteModel, family: str, keys: list) -> dict:
    """Slack variables for a hard family in elastic mode; an empty mapping otherwise."""
    if not m.elastic or not keys:
        return {}
    var = pyo.Var(keys, domain=pyo.NonNegativeReals)
    m.add_component(f"{family}_slack", var)
    m.slack_vars[family] = var
    return var


def penalty(m: pyo.ConcreteModel):
    return sum(PENALTY * sum(var.values()) for var in m.slack_vars.values())


def guarded(m: pyo.ConcreteModel, family: str, rule):
    """Wrap a constraint rule: a row of constants only (installed fleet, locked orders) is
    skipped when it holds and recorded in `m.violated_constants` when it does not, so the
    solve reports infeasible and the diagnosis can name it. Its comparison is numpy's bool
    where a constant is numpy's (a budget computed with pandas), which Pyomo refuses as a row."""

    def wrapped(model, *index):
        row = rule(model, *index)
        if isinstance(row, (bool, np.bool_)):
            if not row:
                m.violated_constants.append((family, index))
            return pyo.Constraint.Skip
        return row

    return wrapped
