"""Rack positions per site (cooling is enforced by the index sets: no pair for a rack a site cannot cool)."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.elastic import guarded, slack


def add(m, ix, inputs) -> None:
    site_of = ix.factories["site"].to_dict()
    positions = ix.racks["rack_positions"].astype(int).to_dict()
    used = defaultdict(list)
    for (f, r, t), expr in m.online.items():
        used[(site_of[f], t)].append(positions[r] * expr)
    keys = sorted(used)
    extra = slack(m, "rack_positions", keys)
    m.rack_positions = pyo.Constraint(keys, rule=guarded(m, "rack_positions", lambda _, s, t: sum(used[(s, t)])
                                      <= int(ix.sites.at[s, "max_racks"]) + (extra[s, t] if extra else 0)))
