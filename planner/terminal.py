"""What the commands print on the terminal: the plan's summary and tables as plain text."""

from __future__ import annotations

import pandas as pd
from pandas.api.types import is_numeric_dtype

from models.inputs import SHORTEST_SOLVER_CALL_S, UNMET_PENALTY, WATCHDOG_GRACE
from models.order_reasons import never_in_use
from models.runs import counted, figure
from models.steady import CLOSENESS_GAP, KILLED
from planner.problems import many_times

# Past this many times the plan's spend, the unmet-demand penalty leaves the solver's precision
# coarser than the gap target. A sovereign-eu actual typed as 1e11 units made the penalty 5e7 times
# the spend, and HiGHS's bound came out 1,061 M above the plan's NPV, 4e-8 of the objective: at
# 1e4 times the spend that error is under a tenth of the 0.5% default gap. Real unmet demand stays
# far below it (sovereign-eu's penalty is 0.3 times its spend).
PENALTY_SWAMPS_SPEND = 1e4


def text_table(frame) -> str:
    """The frame as plain text for the terminal, names left-aligned so a factory or rack type reads
    down its column, numbers right-aligned (pandas' to_string right-aligns every column)."""
    columns = []
    for name in frame.columns:
        cells = [name] + frame[name].map(lambda value: "" if pd.isna(value) else str(value)).tolist()
        width = max(len(cell) for cell in cells)
        align = str.rjust if is_numeric_dtype(frame[name]) else str.ljust
        columns.append([align(cell, width) for cell in cells])
    return "\n".join("  ".join(row).rstrip() for row in zip(*columns))


def gap_text(gap: float | None) -> str:
    """A plan stopped by the watchdog may have no valid bound, so no gap to report."""
    return "gap unknown (no bound)" if gap is None else f"gap {gap:.3%}"


def time_limit_text(options) -> str:
    """The time limit as given, and, where it is shorter than HiGHS is ever given, that it will run
    longer: a plan reported solved in a second under a limit of 0.01 s would otherwise read as a bug."""
    text = f"{options.time_limit_s:g} s"
    if options.time_limit_s < SHORTEST_SOLVER_CALL_S:
        text += f" (HiGHS is given at least {SHORTEST_SOLVER_CALL_S:g} s)"
    return text


def stopped_at_time_limit(result, options) -> str:
    """The warning for a plan the time limit stopped short of the target gap: it is a valid plan,
    and the reader should know how much cheaper one might be before placing orders from it."""
    limit = f"the solve stopped at its time limit of {time_limit_text(options)}"
    advice = "a longer --time-limit (solver.time_limit_s) may find a cheaper plan"
    if result.gap is None:
        return f"{limit} with no bound, so how far this plan is from the best is unknown; {advice}"
    apart = result.objective_musd - result.bound_musd
    return (f"{limit}, {result.gap:.3%} of the plan's spend ({apart:,.1f} M discounted) from the best possible, "
            f"short of the {options.mip_gap:.2%} target (solver.mip_gap); the plan is feasible and checked, but "
            f"{advice}")


def penalty_swamps_spend(plan) -> str | None:
    """The warning for a plan whose unmet-demand penalty dwarfs what it spends, or None: on figures
    that far apart the solver cannot rank plans to the gap, so the racks bought and the reasons
    given for unmet demand may not hold, though every rule is met (the checker says so)."""
    costs = plan.costs[plan.costs["in_objective"]]
    penalty = float(costs.loc[costs["category"] == UNMET_PENALTY, "usd_discounted"].sum())
    spend = float(costs["usd_discounted"].sum()) - penalty
    if penalty <= PENALTY_SWAMPS_SPEND * max(spend, 1.0):
        return None
    unmet = plan.demand.groupby(["region", "workload"])["unmet"].sum()
    (region, workload), most = unmet.idxmax(), unmet.max()
    return (f"the unmet-demand penalty ({penalty / 1e6:,.0f} M discounted) is {many_times(penalty / max(spend, 1.0))} "
            f"the plan's spend ({spend / 1e6:,.1f} M): on figures that far apart the solver's precision is coarser than "
            f"the gap, so this plan's racks may be far from the cheapest and its reasons for unmet demand may not hold. "
            f"Most of it is {region}/{workload}'s {most:,.0f} unit-quarters unmet: check that stream's demand (a figure "
            "far off the rest of its history, or an override) and scenario.yaml's unmet_penalty_per_unit_quarter "
            "before relying on the plan")


def ran_past_time_limit(result, options) -> str:
    """The warning for a solve HiGHS carried on with well past its time limit: the watchdog stops it
    only where it checks for an interrupt (models/search.py, `watched`), and a planner who asked for a
    minute should hear why it took five rather than suspect the limit was ignored."""
    return (f"HiGHS ran {result.overrun_s:,.1f} s past the time limit of {time_limit_text(options)} (and the "
            f"{WATCHDOG_GRACE:.0%} grace the planner gives it) in a step that does not stop when interrupted; the plan "
            f"is feasible and checked. Where this was seen, a warm start cut short by the limit led to it, and a longer "
            f"--time-limit avoided it")


def stopped_past_time_limit(result, options) -> str:
    """The warning for a search the planner had to kill (models/isolation.py): HiGHS did not answer
    the watchdog, so the plan is the best it had sent, not what it would have ended with."""
    return (f"HiGHS did not stop at the time limit of {time_limit_text(options)} in a step that does not check for "
            f"an interrupt; the planner stopped it {result.overrun_s:,.1f} s past the limit and its grace, and kept the "
            f"best plan it had found, completed at least cost. The plan is feasible and checked; a longer --time-limit "
            f"may find a cheaper one")


def steady_text(report, sentence: bool = False) -> str:
    """What a re-plan's pass toward the previous plan's orders kept (models/steady.py): the order
    lines and racks changed by the cheapest plan found and by the plan kept, and at what cost. As a
    clause after a label, or with `sentence` capitalised and closed, for the workbook's cells."""
    text = _steady_clause(report)
    return f"{text[:1].upper()}{text[1:]}." if sentence else text


def _steady_clause(report) -> str:
    lines = lambda n: f"{n} order line{'s' * (n != 1)}"  # noqa: E731
    racks = lambda n: f"{n} rack{'s' * (n != 1)}"  # noqa: E731
    scope = (f"within {report.allowed_musd:,.2f} M of its NPV (allowed by {report.basis})" if report.allowed_musd > 0
             else "as cheap")
    if report.racks_before == 0:
        return "the cheapest plan found keeps every order of the previous plan"
    if report.improved:
        cost = ("at the same NPV" if abs(report.npv_change_musd) < 0.005
                else f"at {report.npv_change_musd:+,.2f} M NPV")
        text = (f"the cheapest plan found changed {lines(report.lines_before)} ({racks(report.racks_before)}) of the "
                f"previous plan; this one, {cost}, changes {report.lines_after} ({racks(report.racks_after)})")
    else:
        text = f"{lines(report.lines_before)} ({racks(report.racks_before)}) of the previous plan changed"
    if report.proven:
        return f"{text}, within {CLOSENESS_GAP:.0%} of the fewest racks any plan {scope} can change"
    if report.stopped_by in ("kTimeLimit", "kInterrupt", KILLED):
        return f"{text}; the time limit stopped the search for a plan {scope} that changes fewer"
    return f"{text}; the search for a plan {scope} that changes fewer ended unproven (HiGHS: {report.stopped_by or 'no run'})"


GAP_LINES_SHOWN = 8


def _gap_lines(title: str, gaps, key: str) -> list[str]:
    """Why demand is left unmet or served from cloud, a line per stream and run of quarters; the
    rest in plan.json and the workbook."""
    if not gaps:
        return []
    lines = [f"  {title}:"] + [f"    {gap.text}" for gap in gaps[:GAP_LINES_SHOWN]]
    if len(gaps) > GAP_LINES_SHOWN:
        lines.append(f"    ... and {len(gaps) - GAP_LINES_SHOWN} more (plan.json '{key}', workbook sheet Cloud and unmet)")
    return lines


def idle_order_lines(plan, reasons) -> list[str]:
    """The order lines with racks no demand uses within the horizon, and why they are bought
    (models/order_reasons.py): a plan for zero demand that buys racks must say so, not leave it to
    the Orders sheet."""
    idle = [reason for reason in reasons if reason.spare]
    if not idle:
        return []
    racks, capex = never_in_use(reasons, plan.orders)
    lines = [f"  racks never in use within the horizon: {racks:,} of {int(plan.orders['racks'].sum()):,} ordered "
             f"({figure(capex / 1e6, 1)} M of capex):"]
    lines += [f"    {r.rack_type} at {r.factory} ordered {r.order_quarter} ({counted(r.racks, 'rack')}): {r.text}"
              for r in idle[:GAP_LINES_SHOWN]]
    if len(idle) > GAP_LINES_SHOWN:
        lines.append(f"    ... and {len(idle) - GAP_LINES_SHOWN} more (plan.json 'order_reasons', workbook sheet Orders)")
    return lines


def block_lines(plan, reasons) -> list[str]:
    """The power blocks ordered and why (models/block_reasons.py): few, dear, and ordered years
    ahead, so each is listed."""
    if not reasons:
        return []
    lines = ["  power blocks ordered:"]
    for reason, row in zip(reasons, plan.expansions.itertuples()):
        lines.append(f"    {row.site}: {counted(int(row.blocks), 'block')} of {figure(row.block_mw, 1)} MW "
                     f"({figure(row.capex_usd / 1e6, 1)} M) ordered {row.order_quarter}, online {row.online_quarter}: "
                     f"{reason.text}")
    return lines


def summary_text(context: dict) -> str:
    plan, run, settings = context["plan"], context["run"], context["scenario"].settings
    kpis = plan.kpis
    lines = [
        f"Plan for '{settings.name}' ({settings.quarters[0]} to {settings.quarters[-1]}, P{settings.planning_quantile * 100:g} demand)",
        f"  status: {run.result.status}, {gap_text(run.result.gap)} ({run.result.solver})",
        f"  NPV: {kpis['npv_usd'] / 1e6:,.1f} M{settings.currency}; capex paid in horizon {kpis['capex_paid_usd'] / 1e6:,.1f} M",
        f"  cloud spend: {figure(kpis['cloud_spend_usd'] / 1e6, 1)} M; "
        f"unmet demand: {figure(kpis['unmet_unit_quarters'])} unit-quarters",
    ]
    if run.result.steady is not None:
        lines.append(f"  previous plan's orders: {steady_text(run.result.steady)}")
    lines += _gap_lines("why demand is unmet", run.unmet, "unmet") + _gap_lines("why cloud is used", run.cloud, "cloud")
    lines.append("  racks ordered by type and year:")
    lines += [f"    {key}: {n}" for key, n in kpis["racks_ordered_by_type_and_year"].items()] or ["    none"]
    lines += idle_order_lines(plan, run.orders) + block_lines(plan, run.blocks)
    lines.append("  peak facility MW per site:")
    lines += [f"    {site}: {mw:,.1f}" for site, mw in kpis["peak_facility_mw_by_site"].items()]
    return "\n".join(lines)
