"""Site power: facility draw of online racks within scheduled power plus expansion blocks; energy cost.

Rows are in MW: sum kW x PUE / 1000 x racks online <= site MW(t) + block MW x blocks arrived.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from models.elastic import guarded, slack


def add(m, ix, inputs) -> None:
    T = range(ix.horizon)
    site_of = ix.factories["site"].to_dict()
    kw = ix.racks["kw_per_rack"].astype(float).to_dict()
    pue = ix.sites["pue"].astype(float).to_dict()
    expansions = inputs.power_expansions.set_index("site")

    m.expand = pyo.Var(ix.expansions, domain=pyo.NonNegativeIntegers,
                       bounds=lambda _, s, t: (0, int(expansions.at[s, "max_blocks"])))
    by_site = defaultdict(list)
    for s, t in ix.expansions:
        by_site[s].append(t)
    m.max_blocks = pyo.Constraint(sorted(by_site), rule=lambda _, s: sum(m.expand[s, t] for t in by_site[s])
                                  <= int(expansions.at[s, "max_blocks"]))

    def blocks_online(s, t):
        if s not in by_site:
            return 0
        lead = int(expansions.at[s, "lead_time_quarters"])
        return sum(m.expand[s, u] for u in by_site[s] if u + lead <= t)

    m.blocks_online = blocks_online
    draw = defaultdict(list)
    m.factory_draw_mw = defaultdict(list)  # (factory, t) -> MW terms, for the factories family
    for (f, r, t), expr in m.online.items():
        s = site_of[f]
        term = kw[r] * pue[s] / 1000.0 * expr
        draw[(s, t)].append(term)
        m.factory_draw_mw[(f, t)].append(term)

    def ceiling_mw(s, t):
        """The most power site s can have in quarter t: its schedule plus every block that could have arrived."""
        could_arrive = s in by_site and t >= int(expansions.at[s, "lead_time_quarters"])
        blocks = float(expansions.at[s, "block_mw"]) * int(expansions.at[s, "max_blocks"]) if could_arrive else 0.0
        return ix.site_power_mw[(s, t)] + blocks

    m.site_power_ceiling_mw = ceiling_mw
    keys = [(s, t) for s in sorted(ix.sites.index) for t in T if (s, t) in draw]
    extra = slack(m, "site_power", keys)
    m.site_power = pyo.Constraint(keys, rule=guarded(m, "site_power", lambda _, s, t: sum(draw[(s, t)]) <= ix.site_power_mw[(s, t)]
                                  + (float(expansions.at[s, "block_mw"]) * blocks_online(s, t) if s in by_site else 0)
                                  + (extra[s, t] if extra else 0)))

    m.cost_terms.append(("energy", sum(ix.energy_usd[(f, r)] / 1e6 * ix.discount[t] * expr
                                       for (f, r, t), expr in m.online.items())))
    capex = {s: float(expansions.at[s, "capex_usd"]) / 1e6 for s in by_site}
    m.cost_terms.append(("power_expansion", sum(capex[s] * ix.discount[t] * m.expand[s, t] for s, t in ix.expansions)))
    for s, t in ix.expansions:
        m.capex_paid[t].append(capex[s] * m.expand[s, t])
