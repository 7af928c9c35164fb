"""Shadow prices against finite differences: on random scenarios the value of one more MW, rack
position or rack of supply that the plan reports lies between what the LP it comes from saves with a little more of
it and what it costs with a little less (the LP's value is convex in the limit, the dual a
subgradient). That checks the dual's sign, its units ($M in the model, USD reported), the
discounting and the sum 'from here' on, against re-solved LPs that share no code with duals.py."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pyomo.environ as pyo
from hypothesis import HealthCheck, given, settings
from pyomo.contrib.solver.solvers.highs import Highs

from models.core import create_model
from models.run import run_model
from models.solve import OPTIMAL
from tests.builders import FAST, scheduled_mw
from tests.test_model_properties import scenarios

MW_STEP = 1e-3


def _lp_npv_musd(plan_inputs, plan) -> float | None:
    """The NPV of the LP the shadow prices are read from: the plan's open factories and power
    blocks held, rack orders continuous and bounded only by the rows; None where it has no optimum."""
    m = create_model(plan_inputs)
    if m.violated_constants:  # a row of constants only that fails is left out of the model (models/elastic.py)
        return None
    for var in m.order.values():
        if not var.fixed:
            var.setub(None)
    opened = dict(zip(plan.factories["factory"], plan.factories["open"]))
    for f, var in m.open.items():
        var.fix(int(bool(opened[f])))
    blocks = plan.expansions.groupby(["site", "order_quarter"])["blocks"].sum()
    for (s, t), var in m.expand.items():
        var.fix(int(blocks.get((s, plan_inputs.start + t), 0)))
    for var in m.component_data_objects(pyo.Var):
        if var.is_integer() or var.is_binary():
            var.domain = pyo.UnitInterval if var.is_binary() else pyo.NonNegativeReals
    results = Highs().solve(m, load_solutions=False, raise_exception_on_nonoptimal_result=False, threads=1)
    if results.solution_status.name != "optimal":
        return None
    results.solution_loader.load_vars()
    return pyo.value(m.npv)


def _more_power_from(plan_inputs, site_name: str, quarter: pd.Period, mw: float):
    """The inputs with `mw` more scheduled at the site from `quarter` to the end of the horizon."""
    schedule = plan_inputs.site_power
    rows = schedule[schedule["site"] == site_name]
    earlier = [row for row in rows.itertuples(index=False) if row.quarter < quarter]
    later = [row._replace(power_mw=row.power_mw + mw) for row in rows.itertuples(index=False) if row.quarter > quarter]
    changed = pd.DataFrame([row._asdict() for row in earlier + later]
                           + [{"site": site_name, "quarter": quarter,
                               "power_mw": scheduled_mw(plan_inputs, site_name, quarter) + mw}])
    return dataclasses.replace(plan_inputs, site_power=pd.concat([schedule[schedule["site"] != site_name], changed],
                                                                 ignore_index=True))


def _more_positions(plan_inputs, site_name: str, positions: int):
    sites = plan_inputs.sites.copy()
    sites.loc[sites["site"] == site_name, "max_racks"] += positions
    return dataclasses.replace(plan_inputs, sites=sites)


def _more_supply(plan_inputs, rack_type: str, quarter: pd.Period, racks: int):
    supply = plan_inputs.supply.copy()
    capped = (supply["rack_type"] == rack_type) & (supply["quarter"] == quarter)
    supply.loc[capped, "max_racks"] += racks
    return dataclasses.replace(plan_inputs, supply=supply)


def _bracketed(value_usd: float, base: float, more: float | None, less: float | None, step: float) -> None:
    """(base - more) / step <= value <= (less - base) / step, in USD, to $1 and 1e-6 of the value."""
    slack = 1.0 + 1e-6 * abs(value_usd)
    assert more is not None  # more of a limit never makes the LP infeasible
    assert (base - more) * 1e6 / step <= value_usd + slack, ((base - more) * 1e6 / step, value_usd)
    if less is not None:  # less may: the racks installed or locked may need all of it
        assert value_usd <= (less - base) * 1e6 / step + slack, (value_usd, (less - base) * 1e6 / step)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_value_of_more_power_positions_or_supply_is_what_the_lp_saves_with_it(plan_inputs):
    run = run_model(plan_inputs, FAST)
    if run.result.status != OPTIMAL or run.shadow_prices is None or run.shadow_prices.empty:
        return
    prices, base = run.shadow_prices, _lp_npv_musd(plan_inputs, run.plan)
    assert base is not None
    power = prices[prices["family"] == "site_power"]
    if len(power):  # a site's power row exists where a rack can be online there
        top = power.loc[power["value_from_here_usd_discounted"].idxmax()]  # the one most worth checking
        more = _lp_npv_musd(_more_power_from(plan_inputs, top.key, top.quarter, MW_STEP), run.plan)
        less = _lp_npv_musd(_more_power_from(plan_inputs, top.key, top.quarter, -MW_STEP), run.plan)
        _bracketed(top.value_from_here_usd_discounted, base, more, less, MW_STEP)
    for row in prices[prices["family"] == "supply_cap"].itertuples():  # one more rack of supply, in its quarter
        more = _lp_npv_musd(_more_supply(plan_inputs, row.key, row.quarter, 1), run.plan)
        less = _lp_npv_musd(_more_supply(plan_inputs, row.key, row.quarter, -1), run.plan)
        _bracketed(row.value_usd_discounted, base, more, less, 1.0)
    positions = prices[(prices["family"] == "rack_positions") & (prices["quarter"] == plan_inputs.start)]
    for row in positions.itertuples():  # max_racks holds in every quarter: the value from the first on
        more = _lp_npv_musd(_more_positions(plan_inputs, row.key, 1), run.plan)
        less = _lp_npv_musd(_more_positions(plan_inputs, row.key, -1), run.plan)
        _bracketed(row.value_from_here_usd_discounted, base, more, less, 1.0)
