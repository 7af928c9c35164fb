"""Rack orders and the fleet they build: stock-and-flow, capex as an annuity, opex.

online(f, r, t) = fixed (installed fleet + locked orders) + built[f, r, t], where
built[t] = built[t-1] + arrivals(t) - retirements(t): three terms per row, not a long sum.
"""

from __future__ import annotations

import pyomo.environ as pyo


def add(m, ix, inputs) -> None:
    racks = ix.racks
    lead = racks["lead_time_quarters"].astype(int).to_dict()
    life = racks["lifetime_quarters"].astype(int).to_dict()
    positions = racks["rack_positions"].astype(int).to_dict()
    site_of = ix.factories["site"].to_dict()
    max_racks = ix.sites["max_racks"].astype(int).to_dict()

    order_set = set(ix.orders)
    m.order = pyo.Var(ix.orders, domain=pyo.NonNegativeIntegers,
                      bounds=lambda _, f, r, t: (0, max_racks[site_of[f]] // positions[r]))
    m.built = pyo.Var(ix.built, domain=pyo.NonNegativeReals)
    built_set = set(ix.built)

    def balance(_, f, r, t):
        previous = m.built[f, r, t - 1] if (f, r, t - 1) in built_set else 0
        arrive = m.order[f, r, t - lead[r]] if (f, r, t - lead[r]) in order_set else 0
        retire = m.order[f, r, t - lead[r] - life[r]] if (f, r, t - lead[r] - life[r]) in order_set else 0
        return m.built[f, r, t] == previous + arrive - retire

    m.fleet_balance = pyo.Constraint(ix.built, rule=balance)

    # online racks per (factory, rack type, quarter), as linear expressions shared by other modules
    m.online = {key: value for key, value in ix.fixed_online.items()}
    for key in ix.built:
        m.online[key] = m.online.get(key, 0) + m.built[key]

    m.cost_terms.append(("capex", sum(ix.order_capex[o] * m.order[o] for o in ix.orders) + ix.locked_capex_objective))
    opex = racks["opex_usd_per_quarter"].astype(float).to_dict()
    m.cost_terms.append(("opex", sum(opex[r] / 1e6 * ix.discount[t] * expr for (f, r, t), expr in m.online.items())))

    price = racks["price_usd"].astype(float).to_dict()
    for f, r, t in ix.orders:
        m.capex_paid[t].append(price[r] / 1e6 * m.order[f, r, t])
    for (f, r, t), n in ix.locked_ordered.items():
        m.capex_paid[t].append(price[r] / 1e6 * n)
