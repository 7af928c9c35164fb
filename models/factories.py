"""Candidate factories (open or not), minimum size, fixed costs and take-or-pay commitments."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.elastic import guarded, slack


def add(m, ix, inputs) -> None:
    T = range(ix.horizon)
    factories = ix.factories
    candidates = sorted(factories.index[factories["candidate"]])
    m.open = pyo.Var(candidates, domain=pyo.Binary)
    for f in candidates:
        if factories.at[f, "forced_open"]:
            m.open[f].fix(1)

    def is_open(f):
        return m.open[f] if f in candidates else 1

    site_of = factories["site"].to_dict()
    positions = ix.racks["rack_positions"].astype(int).to_dict()
    accelerators = ix.racks["accelerators_per_rack"].astype(int).to_dict()
    used = defaultdict(list)
    size = defaultdict(list)
    for (f, r, t), expr in m.online.items():
        used[(f, t)].append(positions[r] * expr)
        size[(f, t)].append(accelerators[r] * expr)

    # A closed candidate holds no rack; the site's positions are the tight big-M.
    link = [(f, t) for f in candidates for t in T if (f, t) in used]
    m.open_link = pyo.Constraint(link, rule=lambda _, f, t: sum(used[(f, t)])
                                 <= int(ix.sites.at[site_of[f], "max_racks"]) * m.open[f])

    # The same for power, and tighter where a site runs out of power before positions (the usual
    # case): without it the LP opens candidates by a fraction and the bound sat 0.2-0.45% lower on the
    # large benchmark. Valid for every plan, so it changes no answer, only the bound.
    switchable = [f for f in candidates if not factories.at[f, "forced_open"]]
    power_link = [(f, t) for f in switchable for t in T if (f, t) in m.factory_draw_mw]
    m.open_power_link = pyo.Constraint(power_link, rule=lambda _, f, t: sum(m.factory_draw_mw[(f, t)])
                                       <= m.site_power_ceiling_mw(site_of[f], t) * m.open[f])

    keys = [(f, t) for f, first in sorted(ix.min_size_from.items()) for t in range(first, ix.horizon)]
    extra = slack(m, "min_size", keys)
    m.min_size = pyo.Constraint(keys, rule=guarded(m, "min_size", lambda _, f, t: sum(size.get((f, t), [0])) + (extra[f, t] if extra else 0)
                                >= int(factories.at[f, "min_accelerators"]) * is_open(f)))

    fixed = {f: float(factories.at[f, "fixed_cost_usd"]) / 1e6 for f in candidates}
    m.cost_terms.append(("factory_fixed", sum(fixed[f] * m.open[f] for f in candidates)))
    for f in candidates:
        if fixed[f]:
            m.capex_paid[0].append(fixed[f] * m.open[f])

    _commitments(m, ix, is_open)


def _commitments(m, ix, is_open) -> None:
    """Spend with the operator (rack capex at order, rack opex) + shortfall >= pro-rated commitment."""
    price = ix.racks["price_usd"].astype(float).to_dict()
    opex = ix.racks["opex_usd_per_quarter"].astype(float).to_dict()
    spend = defaultdict(list)
    for f, r, t in ix.orders:
        spend[(f, t)].append(price[r] / 1e6 * m.order[f, r, t])
    for (f, r, t), n in ix.locked_ordered.items():
        spend[(f, t)].append(price[r] / 1e6 * n)
    for (f, r, t), expr in m.online.items():
        spend[(f, t)].append(opex[r] / 1e6 * expr)
    committed = sorted(ix.commitment)
    m.shortfall = pyo.Var(committed, domain=pyo.NonNegativeReals)  # $M
    m.commitment = pyo.Constraint(committed, rule=lambda _, f: sum(
        sum(spend.get((f, t), [])) for t in ix.commitment[f]["quarters"]) + m.shortfall[f]
        >= ix.commitment[f]["required_usd"] / 1e6 * is_open(f))
    m.cost_terms.append(("commitment_shortfall", sum(ix.discount[ix.commitment[f]["pay_t"]] * m.shortfall[f]
                                                     for f in committed)))
