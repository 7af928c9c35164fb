"""Shadow prices: fix the lumpy build decisions, relax rack orders to continuous, re-solve the LP.

HiGHS gives no duals after a MIP (reference/solver.md). We fix which candidate factories
are open and which power blocks are built, let rack orders be fractional, and read the LP
duals. Every figure is therefore conditional on those fixed decisions, and says so. The rows
and bounds that only repeat a site's limits for the MIP's sake are set aside in that LP, so
the site's own rows carry the whole value of one more MW or position
(tests/test_shadow_prices.py checks it against re-solved LPs).
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

CONDITION = "conditional on the plan's open factories and power blocks; rack orders relaxed to continuous"

# constraint family -> (what one more unit is, sign: +1 when a looser row saves money)
FAMILIES = {
    "site_power": ("one more MW of facility power", -1.0),
    "rack_positions": ("one more rack position", -1.0),
    "supply_cap": ("one more rack of supply", -1.0),
    "commitment": ("one more unit of money committed (in the scenario's currency)", 1.0),
    "demand_balance": ("one more compute unit of demand", 1.0),
}
COLUMNS = ["family", "key", "quarter", "value_usd", "value_usd_discounted", "value_from_here_usd_discounted",
           "meaning", "condition"]
# Racks are stock: an extra MW or position for one quarter is rarely usable, so for these
# families we also report the value of one more unit from that quarter to the end of the horizon.
PERSISTENT = ("site_power", "rack_positions")


def shadow_prices(m: pyo.ConcreteModel, threads: int = 1, time_limit_s: float = 60.0) -> pd.DataFrame:
    """Duals per family row, in USD per unit (discounted to start, and nominal in its quarter).

    The model's variable values are left as the MIP solution: the LP solution is not loaded.
    """
    fixed = [v for v in list(m.open.values()) + list(m.expand.values()) if not v.fixed]
    for v in fixed:
        v.fix(round(pyo.value(v)))
    # With a factory held open, its links to the site's positions and power ceiling repeat the
    # site's own rows (they only tighten the MIP's relaxation), and the LP may put a binding
    # limit's dual on either. Off while the LP runs, the site's rows carry the whole value.
    redundant = [row for links in (m.open_link, m.open_power_link) for (f, _), row in links.items()
                 if row.active and round(pyo.value(m.open[f])) == 1]
    for row in redundant:
        row.deactivate()
    # An order's bound, the whole racks the site's positions hold, repeats the positions rows too,
    # rounded down: in the LP it held a rack taking 2 of 5 positions to 2 an order where the rows
    # allow 2.5, and the value of one more position went to the bound, not the site's rows (one
    # more position at a site read 7.2 M USD where it saved 11.5 M: tests/test_shadow_prices.py).
    bounded = [(v, v.ub) for v in m.order.values() if not v.fixed and v.ub is not None]
    for v, _ in bounded:
        v.setub(None)
    # HiGHS runs its MIP code while any column is integer, even a fixed one: relax them all.
    relaxed = [(v, v.domain) for v in m.component_data_objects(pyo.Var) if v.is_integer() or v.is_binary()]
    for v, domain in relaxed:
        v.domain = pyo.UnitInterval if v.is_binary() else pyo.NonNegativeReals
    try:
        results = Highs().solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                threads=threads, time_limit=time_limit_s)
        if results.solution_status.name != "optimal":
            return pd.DataFrame(columns=COLUMNS)
        duals = results.solution_loader.get_duals()
    finally:
        for v, domain in relaxed:
            v.domain = domain
        for v in fixed:
            v.unfix()
        for row in redundant:
            row.activate()
        for v, upper in bounded:
            v.setub(upper)
    return _table(m, duals)


def _table(m, duals) -> pd.DataFrame:
    quarters = list(m.inputs.quarters)
    rows = []
    for family, (meaning, sign) in FAMILIES.items():
        component = getattr(m, family, None)
        if component is None:
            continue
        for index, row in component.items():
            dual = duals.get(row)
            if dual is None:
                continue
            index = index if isinstance(index, tuple) else (index,)
            t = index[-1] if family != "commitment" else None
            key = "/".join(str(part) for part in (index[:-1] if t is not None else index))
            discounted = sign * dual * 1e6 if family != "commitment" else sign * dual
            discount = m.ix.discount[t] if t is not None else 1.0
            rows.append((family, key, quarters[t] if t is not None else None, discounted / discount, discounted,
                         discounted, meaning, CONDITION))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    values = ["value_usd", "value_usd_discounted", "value_from_here_usd_discounted"]
    frame[values] = frame[values].where(frame[values].abs() > 1e-6, 0.0)
    persistent = frame["family"].isin(PERSISTENT)
    later_first = frame[persistent].sort_values("quarter", ascending=False)
    frame.loc[later_first.index, "value_from_here_usd_discounted"] = (
        later_first.groupby(["family", "key"])["value_usd_discounted"].cumsum())
    return frame
