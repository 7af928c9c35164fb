"""Serving demand: racks assigned per serving region, public cloud, and unmet demand.

Sites of one region are interchangeable for residency, so assignment is per (serving region,
rack type, stream, quarter) rather than per factory; `extract` splits it per factory after
the solve. Capacity rows cap assigned racks at utilisation x racks online in the region.
The balance is an equality so that served + cloud + unmet is exactly the demand in reports.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.inputs import UNMET_PENALTY


def add(m, ix, inputs) -> None:
    T = range(ix.horizon)
    region_of = ix.factories["region"].to_dict()
    m.assign = pyo.Var([(s, r, g, w, t) for s, r, g, w in ix.assign for t in T], domain=pyo.NonNegativeReals)
    m.cloud = pyo.Var([(g, w, t) for g, w in ix.cloud_streams for t in T], domain=pyo.NonNegativeReals)
    m.unmet = pyo.Var([(g, w, t) for g, w in ix.streams for t in T], domain=pyo.NonNegativeReals)

    online_by_region = defaultdict(list)
    for (f, r, t), expr in m.online.items():
        online_by_region[(region_of[f], r, t)].append(expr)
    streams_by_holder = defaultdict(list)
    for s, r, g, w in ix.assign:
        streams_by_holder[(s, r)].append((g, w))
    capacity_keys = [(s, r, t) for s, r in sorted(streams_by_holder) for t in T]
    utilization = inputs.utilization
    m.rack_capacity = pyo.Constraint(capacity_keys, rule=lambda _, s, r, t: (
        sum(m.assign[s, r, g, w, t] for g, w in streams_by_holder[(s, r)])
        <= utilization * sum(online_by_region.get((s, r, t), [0]))))

    servers = defaultdict(list)
    for s, r, g, w in ix.assign:
        servers[(g, w)].append((s, r))
    cloud_ok = set(ix.cloud_streams)
    m.demand_balance = pyo.Constraint([(g, w, t) for g, w in ix.streams for t in T], rule=lambda _, g, w, t: (
        sum(ix.capacity[(r, w)] * m.assign[s, r, g, w, t] for s, r in servers[(g, w)])
        + (m.cloud[g, w, t] if (g, w) in cloud_ok else 0) + m.unmet[g, w, t]
        == ix.demand.get((g, w, t), 0.0)))

    if inputs.cloud_max_units is not None and ix.cloud_streams:
        m.cloud_cap = pyo.Constraint(T, rule=lambda _, t: sum(m.cloud[g, w, t] for g, w in ix.cloud_streams)
                                     <= inputs.cloud_max_units)

    cloud_price = inputs.cloud_price_per_unit_quarter / 1e6
    penalty = inputs.unmet_penalty_per_unit_quarter / 1e6
    m.cost_terms.append(("cloud", sum(cloud_price * ix.discount[t] * m.cloud[g, w, t] for g, w, t in m.cloud)))
    m.cost_terms.append((UNMET_PENALTY, sum(penalty * ix.discount[t] * m.unmet[g, w, t] for g, w, t in m.unmet)))
