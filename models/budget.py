"""Optional cap on capex paid per calendar year (racks, power blocks, factory fixed costs)."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.elastic import guarded, slack


def add(m, ix, inputs) -> None:
    if inputs.budget_usd_per_year is None:
        return
    by_year = defaultdict(list)
    for t, exprs in m.capex_paid.items():
        if 0 <= t < ix.horizon:
            by_year[(inputs.start + t).year].extend(exprs)
    keys = sorted(by_year)
    extra = slack(m, "budget", keys)
    cap = inputs.budget_usd_per_year / 1e6
    m.budget = pyo.Constraint(keys, rule=guarded(m, "budget", lambda _, y: sum(by_year[y]) <= cap + (extra[y] if extra else 0)))
