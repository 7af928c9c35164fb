"""One call from inputs to a checked plan: build, solve, extract, check, shadow prices, diagnosis."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
import pyomo.environ as pyo

from models.checker import check_plan
from models.core import create_model
from models.diagnose import explain_infeasibility
from models.duals import shadow_prices
from models.extract import Plan, extract_plan
from models.inputs import PlanInputs, SolverOptions
from models.block_reasons import BlockReason, explain_blocks
from models.order_reasons import OrderReason, explain_orders
from models.solve import INFEASIBLE, SolveResult, solve
from models.service_gaps import ServiceGap, explain_service_gaps


class PlanCheckError(RuntimeError):
    """The independent checker found the model's plan breaking a rule: a bug, never ignored."""

    def __init__(self, violations: list[str]):
        self.violations = violations
        super().__init__("plan checker found violations:\n" + "\n".join(f"  - {v}" for v in violations))


@dataclass
class ModelRun:
    result: SolveResult
    plan: Plan | None = None
    shadow_prices: pd.DataFrame | None = None
    infeasibility: list[str] = field(default_factory=list)
    unmet: list[ServiceGap] = field(default_factory=list)  # why demand is left unmet, a run of quarters each
    cloud: list[ServiceGap] = field(default_factory=list)  # why demand is served from cloud
    orders: list[OrderReason] = field(default_factory=list)  # why each line of plan.orders is bought, in its order
    blocks: list[BlockReason] = field(default_factory=list)  # why each line of plan.expansions is bought
    timings: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)


def run_model(inputs: PlanInputs, options: SolverOptions, log_stream=None, with_duals: bool = True) -> ModelRun:
    began = time.perf_counter()
    m = create_model(inputs)
    built = time.perf_counter()
    size = {"columns": m.nvariables(), "rows": m.nconstraints(),
            "integers": sum(1 for v in m.component_data_objects(pyo.Var) if v.is_integer() or v.is_binary())}
    if m.violated_constants:
        result = SolveResult(INFEASIBLE, None, None, None, 0.0, options.name)
    else:
        result = solve(m, options, log_stream)
    run = ModelRun(result, timings={"build_s": built - began, "solve_s": result.seconds}, size=size)
    if result.status == INFEASIBLE:
        run.infeasibility = explain_infeasibility(inputs, options)
        return run
    if not result.has_solution:
        return run
    run.plan = extract_plan(m)
    violations = check_plan(inputs, run.plan)
    if violations:
        raise PlanCheckError(violations)
    result = run.result
    gap_usd = (result.objective_musd - result.bound_musd) * 1e6 if result.bound_musd is not None else None
    run.unmet, run.cloud = explain_service_gaps(m.ix, inputs, run.plan, gap_usd)
    run.orders = explain_orders(m.ix, inputs, run.plan, gap_usd, replan=result.steady is not None)
    run.blocks = explain_blocks(m.ix, inputs, run.plan, gap_usd, replan=result.steady is not None)
    if with_duals and options.name.lower() == "highs":
        run.shadow_prices = shadow_prices(m, threads=options.threads, time_limit_s=options.time_limit_s)
    run.timings["total_s"] = time.perf_counter() - began
    return run
