"""Supply caps: new plus locked orders of a rack type in a quarter."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.elastic import guarded, slack


def add(m, ix, inputs) -> None:
    new = defaultdict(list)
    for f, r, t in ix.orders:
        new[(r, t)].append(m.order[f, r, t])
    locked = defaultdict(float)
    for (f, r, t), n in ix.locked_ordered.items():
        locked[(r, t)] += n
    keys = sorted(k for k in ix.supply_cap if k in new or locked.get(k, 0) > 0)
    extra = slack(m, "supply_cap", keys)
    m.supply_cap = pyo.Constraint(keys, rule=guarded(m, "supply_cap", lambda _, r, t: sum(new.get((r, t), [])) + locked.get((r, t), 0.0)
                                  <= ix.supply_cap[(r, t)] + (extra[r, t] if extra else 0)))
