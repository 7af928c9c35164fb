"""What the model needs, as plain tables and numbers: the contract between planner and models.

`models` never imports `planner`; the planner fills a `PlanInputs` from a validated scenario
and a demand table. Tables keep the scenario's column names (see SCENARIO.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

HOURS_PER_QUARTER = 8760.0 / 4


@dataclass(frozen=True)
class PlanInputs:
    start: pd.Period
    horizon_quarters: int
    discount_rate: float
    utilization: float
    unmet_penalty_per_unit_quarter: float
    cloud_price_per_unit_quarter: float
    cloud_max_units: float | None
    budget_usd_per_year: float | None
    racks: pd.DataFrame
    rack_capacity: pd.DataFrame
    sites: pd.DataFrame
    site_power: pd.DataFrame
    power_expansions: pd.DataFrame
    factories: pd.DataFrame
    residency: pd.DataFrame
    fleet: pd.DataFrame
    orders: pd.DataFrame
    supply: pd.DataFrame
    demand: pd.DataFrame  # quarter, region, workload, demand (at the planning quantile)
    # A re-plan's previous plan: the orders it meant to place from `start` on that are not locked
    # (order_quarter, factory, rack_type, racks); the solve then keeps to them as far as
    # SolverOptions.steady_within allows (models/steady.py). None: a plan from scratch.
    previous_orders: pd.DataFrame | None = None

    @property
    def quarters(self) -> pd.PeriodIndex:
        return pd.period_range(self.start, periods=self.horizon_quarters, freq="Q")

    def index_of(self, quarter: pd.Period) -> int:
        """Quarter -> 0-based position from start (negative before start)."""
        return int(quarter.ordinal - self.start.ordinal)


# Each HiGHS call (warm start, branch and bound, a re-plan's steady pass) is given at least this
# long, whatever is left of the time limit, so that no run ends without a try at a plan.
SHORTEST_SOLVER_CALL_S = 1.0
WATCHDOG_GRACE = 0.05  # share of the time limit HiGHS may overrun before it is interrupted (models/search.py)


@dataclass(frozen=True)
class SolverOptions:
    name: str = "highs"
    time_limit_s: float = 300.0
    mip_gap: float = 0.005
    threads: int = 1
    verbose: bool = False
    # Share of spend a re-plan may add to keep the previous plan's orders; None: up to the optimality
    # gap's bound (models.search.steady_allowance).
    steady_within: float | None = None


def quarterly_rate(annual_rate: float) -> float:
    return (1.0 + annual_rate) ** 0.25 - 1.0


def discount_factors(annual_rate: float, quarters: int) -> list[float]:
    """Discount factor of each quarter from start (start quarter = 1.0)."""
    rate = quarterly_rate(annual_rate)
    return [(1.0 + rate) ** -t for t in range(quarters)]


# Cost categories not in the NPV: the cash paid for capex (the NPV charges its annuity), and the
# annuity of racks ordered before the start (paid: sunk), reported so that two plans made a quarter
# apart, whose NPVs differ by the orders the roll moved into the past, compare like with like.
CAPEX_PAID, SUNK_ANNUITY = "capex_paid", "capex_annuity_sunk"
NOT_IN_NPV = (CAPEX_PAID, SUNK_ANNUITY)
# In the NPV but not money: the price put on demand left unmet. The optimality gap is measured
# against the NPV without it (models/search.py), so a plan that leaves much demand unmet is held to
# the same tolerance, in dollars spent, as one that serves it all.
UNMET_PENALTY = "unmet_penalty"


def capex_annuity(price: float, annual_rate: float, lead: int, lifetime: int) -> float:
    """Quarterly payment, over the rack's life from arrival, worth `price` at the order quarter.

    The objective charges capex as this annuity for the quarters a rack serves inside the
    horizon, so a rack bought late is not penalised for life it has after the horizon.
    """
    rate = quarterly_rate(annual_rate)
    if rate == 0:
        return price / lifetime
    # payments at the start of each quarter of life (annuity-due), discounted back over the lead time
    return price * (1 + rate) ** (lead - 1) * rate / (1 - (1 + rate) ** -lifetime)
