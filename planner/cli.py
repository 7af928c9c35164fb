"""The `planner` command line."""

from __future__ import annotations

import math
import os
import sys

import click

from models.killed import SearchProcessKilled
from models.runs import some_of
from planner import __version__
from planner.atomic import (WRITTEN, OutputError, check_meant, check_not_around_the_working_directory,
                            check_not_holding_inputs, check_not_overwriting_inputs, check_replaceable, check_writable)
from planner.out_lock import output_locked
from planner.problems import SHOWN_PER_FILE, ScenarioError
from planner.stop_signals import StopRequested, stops_unwind

EXIT_INTERNAL_ERROR = 1
EXIT_INVALID_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4
# The watchdog (models/search.py) stops HiGHS at its next poll of a callback, expected within a
# second or two (a judgement, not a measurement); running on longer than this past the watchdog's
# limit means a step that does not poll (the README's large seed 3), in a search not run in a child
# process that the planner can kill (models/isolation.py): say so.
OVERRUN_WORTH_A_WARNING_S = 5.0


class _Guarded(click.Group):
    """Turn an unexpected exception into one readable line instead of a traceback.

    Set PLANNER_DEBUG=1 to see the traceback when reporting a bug.
    """

    def invoke(self, ctx: click.Context):
        WRITTEN.clear()
        try:
            with stops_unwind():
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except ScenarioError as error:  # any input (scenario, actuals, a plan directory), at any step
            click.echo(error.report(), err=True)
            sys.exit(EXIT_INVALID_INPUT)
        except OutputError as error:  # checked before any work (_check_out); here if it changed since
            click.echo(f"error: {error}; {_written()}", err=True)
            sys.exit(EXIT_INVALID_INPUT)
        except KeyboardInterrupt:
            click.echo(f"interrupted; {_written()}", err=True)
            sys.exit(130)
        except MemoryError:  # the machine's limit, not a bug: a traceback or "report it" would mislead
            click.echo("error: the planner ran out of memory; free memory (or raise the process's limit) and run it "
                       f"again; {_written()}", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)
        except SearchProcessKilled as error:
            click.echo(f"error: {error}; {_written()}", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)
        except StopRequested as stop:  # SIGTERM or SIGHUP: unwound like Ctrl-C, so no staging directory is left
            click.echo(f"stopped by {stop.name}; {_written()}", err=True)
            sys.exit(stop.exit_code)
        except Exception as error:  # noqa: BLE001 - the last line of defence for users
            if os.environ.get("PLANNER_DEBUG"):
                raise
            click.echo(f"internal error: {type(error).__name__}: {error}. This is a bug in planner; "
                       "rerun with PLANNER_DEBUG=1 and report the traceback.", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)


def _written() -> str:
    """What a stopped or failed command leaves: nothing, or the outputs it had put in place whole
    before it stopped (a stop during the swap waits for it: planner/atomic.py)."""
    if not WRITTEN:
        return "nothing was written"
    verb = "was" if len(WRITTEN) == 1 else "were"
    return f"{some_of([str(path) for path in WRITTEN])} {verb} written in full before that"


def _check_out(out: str, *inputs, directory: bool = True) -> None:
    """Exit 2, before any work, when --out cannot be written, or would destroy what the command
    reads or what the planner did not write: a directory (replaced whole) must not be or contain an
    input nor hold others' files; a file must not be an input nor an existing file in an input
    directory; neither may be written by another run at the same time."""
    try:
        check_meant(out)
        if directory:
            check_replaceable(out)
            check_not_holding_inputs(out, *inputs)
            check_not_around_the_working_directory(out)
        else:
            check_not_overwriting_inputs(out, *inputs)
        check_writable(out)
        # held until the command ends: a second run into it is refused (planner/out_lock.py)
        put_right = click.get_current_context().with_resource(output_locked(out, directory))
        _warn(put_right)  # a killed run's leavings beside it
        if put_right and directory:
            check_replaceable(out)  # a previous output put back is checked as any other
    except OutputError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_INVALID_INPUT)


class FiniteRange(click.FloatRange):
    """click's FloatRange, less nan and inf: a range check passes nan (every comparison with it is
    false), so `--mip-gap nan` planned with no gap and `--quantile nan` was blamed on the history.
    scenario.yaml refuses both for the same settings."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


OUT = dict(required=True, type=click.Path(file_okay=False))
OUT_RULE = " (new, empty, or a previous output: it is replaced whole)."


@click.group(cls=_Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def main() -> None:
    """Forecast AI compute demand and plan the cheapest feasible rollout of
    accelerator racks, quarter by quarter, across sites and factories.

    Exit codes: 0 success, 2 invalid input, 3 infeasible plan, 4 no solution
    within the time limit.
    """


@main.command()
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--all", "show_all", is_flag=True, help=f"List every problem (by default at most {SHOWN_PER_FILE} per file).")
def validate(scenario_dir: str, show_all: bool) -> None:
    """Check a scenario directory and report every problem at once.

    Each problem names the file, the spreadsheet row (the header is row 1), the
    column, the value found and what was expected. Exits 0 when the scenario is
    valid, 2 when it is not.
    """
    from models.solve import solver_available

    try:
        scenario = _load(scenario_dir)
    except ScenarioError as error:
        if show_all:
            error.shown_per_file = None
        raise
    if not solver_available(name := scenario.settings.solver.name):
        _warn([f"scenario.yaml solver.name: '{name}' is not installed on this machine; plan and reforecast will "
               "refuse it here (highs is installed with the planner)"])
    click.echo(scenario.summary())


@main.command()
def schema() -> None:
    """Print the scenario format reference (Markdown) generated from the schema."""
    from planner.reference import format_reference

    click.echo(format_reference(), nl=False)


def _load(scenario_dir: str, warn: bool = True):
    """Load a scenario (ScenarioError: exit 2 with every problem listed); print its warnings unless told not to."""
    from planner.scenario import load_scenario

    scenario = load_scenario(scenario_dir)
    if warn:
        _warn(scenario.warnings)
    return scenario


def _warn(warnings) -> None:
    """Legal but suspicious input, on stderr: the command goes on."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


STREAM_BAR_MIN = 8  # from this many streams (~0.5 s each) the forecast shows a progress bar


def _forecast(scenario, say, quiet: bool = False, previous_forecast=None, named: str | None = None):
    """The scenario's demand forecast, its warnings on stderr; a stream it cannot forecast exits 2,
    the scenario `named` so (a re-forecast's rolled scenario lives in a staging folder until the end)."""
    from forecasts import ForecastError
    from models.runs import counted
    from planner.pipeline import OverrideScaleError, forecast_demand

    say(f"forecast: {counted(len(scenario.streams), 'stream')}, {scenario.settings.horizon_quarters} quarters")
    bar = None if quiet or len(scenario.streams) < STREAM_BAR_MIN else _stream_bar("forecasting streams")
    try:
        demand = forecast_demand(scenario, bar, previous_forecast)
    except ForecastError as error:
        at_fault = error.problem if isinstance(error, OverrideScaleError) else f"demand_history.csv: {error}"
        click.echo(f"{named or scenario.path}: {at_fault}", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    _warn(demand.warnings)
    return demand


def _stream_bar(label: str):
    """A progress bar on stderr over streams (click hides it when stderr is no terminal), as a
    `progress(iterable, length)` wrapper for the forecaster's and the backtest's loops."""
    def wrap(streams, length):
        with click.progressbar(streams, length=length, label=label, file=sys.stderr,
                               show_pos=True, item_show_func=lambda item: "/".join(item[0]) if item else None) as bar:
            yield from bar
    return wrap


@main.command("forecast")
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out_dir", **OUT, help="Directory for forecast.csv, forecast_models.csv and forecast.png" + OUT_RULE)
def forecast_command(scenario_dir: str, out_dir: str) -> None:
    """Forecast demand per stream: forecast.csv (history and quantiles), forecast_models.csv
    (model per stream, why, backtest scores) and forecast.png."""
    from planner.atomic import atomic_directory
    from planner.export import write_forecast_files

    _check_out(out_dir, scenario_dir)
    scenario = _load(scenario_dir)
    say = lambda text: click.echo(text, err=True)  # noqa: E731
    demand = _forecast(scenario, say)
    with atomic_directory(out_dir) as staging:
        write_forecast_files(staging, {"demand": demand, "scenario": scenario}, ("csv", "png"))
    for choice in demand.choices.itertuples():
        click.echo(f"{choice.region}/{choice.workload}: {choice.model} ({choice.note})")
    click.echo(f"wrote {out_dir}/forecast.csv, {out_dir}/forecast_models.csv and {out_dir}/forecast.png")


@main.command("backtest")
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--origins", default=4, show_default=True, type=click.IntRange(1), help="Forecast origins per stream.")
@click.option("--horizon", default=4, show_default=True, type=click.IntRange(1), help="Quarters ahead from each origin.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Also write the scores per stream and method as CSV.")
def backtest_command(scenario_dir: str, origins: int, horizon: int, out_file: str | None) -> None:
    """Rolling-origin accuracy of the forecaster on the scenario's own history, against
    seasonal naive: MASE, sMAPE, interval coverage and pinball loss at the planning quantile."""
    import numpy as np

    from forecasts.backtest import backtest, quarters_needed
    from planner.pipeline import stream_scales
    from planner.export import write_csv_file

    if out_file:
        _check_out(out_file, scenario_dir, directory=False)
    scenario = _load(scenario_dir)
    settings = scenario.settings
    table = backtest(scenario.modelled_history, settings.forecast.quantiles,
                     settings.planning_quantile, origins, horizon, settings.forecast.method,
                     _stream_bar("backtesting streams"), scale=stream_scales(scenario))
    if table.empty:
        click.echo(f"not enough history for a backtest (a stream needs {quarters_needed(horizon)} quarters: "
                   f"{quarters_needed(0)} before an origin, {horizon} after it)", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    nominal = table["nominal_coverage"].iloc[0]
    click.echo(f"Backtest: {origins} origins x {horizon} quarters ahead; coverage of the central {nominal:.0%} interval; "
               f"pinball at P{settings.planning_quantile * 100:g} in {settings.compute_unit}; forecaster: "
               f"forecast.method {settings.forecast.method}")
    click.echo(f"{'stream':28} {'method':10} {'MASE':>6} {'sMAPE':>7} {'cover':>6} {'pinball':>9}")
    for row in table.itertuples():
        click.echo(_score_line(row.region + "/" + row.workload, row.method == "snaive", row))
    lengths = scenario.demand_history.groupby(["region", "workload"]).size()
    for (region, workload), length in lengths.items():
        scored = table[(table["region"] == region) & (table["workload"] == workload)]  # every method: same origins
        if scored.empty:
            click.echo(f"{region + '/' + workload:28} not backtested: {length} quarters of history, "
                       f"{quarters_needed(horizon)} needed for one origin")
        elif scored["origins"].iloc[0] < origins:
            click.echo(f"{region + '/' + workload:28} {scored['origins'].iloc[0]} of {origins} origins only: {length} "
                       f"quarters of history, {quarters_needed(horizon) + origins - 1} needed for all")
    unscaled = table.loc[table["mase"].isna(), ["region", "workload"]].drop_duplicates()
    for region, workload in unscaled.itertuples(index=False):
        click.echo(f"{region + '/' + workload:28} MASE n/a: its history repeats year on year, so seasonal naive's "
                   f"error there, MASE's unit, is 0; the overall MASE leaves it out")
    scores = table[["mase", "smape", "coverage", "pinball"]]
    beyond = table[np.isinf(scores).any(axis=1)]
    for (region, workload), methods in beyond.groupby(["region", "workload"], sort=True)["method"]:
        named = " and ".join("snaive" if method == "snaive" else "the forecaster" for method in methods)
        click.echo(f"{region + '/' + workload:28} inf: {named} went past 1e308 at an origin, most likely from a figure "
                   "far off the rest of its history, such as a typo; the overall leaves the inf out")
    overall = scores.replace([np.inf, -np.inf], np.nan).groupby(table["method"] == "snaive").mean()
    for is_naive, row in overall.iterrows():
        click.echo(_score_line("overall", is_naive, row))
    if out_file:
        write_csv_file(table, out_file)


def _score_line(label: str, is_naive: bool, scores) -> str:
    """One row of the backtest table; a MASE that cannot be scaled (NaN) reads n/a, not nan."""
    mase = "n/a" if math.isnan(scores.mase) else f"{scores.mase:.2f}"
    return (f"{label:28} {'snaive' if is_naive else 'forecaster':10} {mase:>6} {scores.smape:7.1%} "
            f"{scores.coverage:6.0%} {scores.pinball:9.1f}")


def _solver_flags(command):
    """--time-limit, --mip-gap, --threads and --solver: the scenario's solver settings a run may
    override without editing scenario.yaml, the same for `plan` and `reforecast`."""
    flags = (
        click.option("--time-limit", type=FiniteRange(0, min_open=True), help="Solver time limit in seconds."),
        click.option("--mip-gap", type=FiniteRange(0, 1, max_open=True), help="Relative optimality gap, e.g. 0.002."),
        click.option("--threads", type=click.IntRange(1), help="Solver threads."),
        click.option("--solver", help="Solver name (default highs; any Pyomo-supported solver installed)."),
    )
    for flag in reversed(flags):  # the first listed is shown first
        command = flag(command)
    return command


@main.command("plan")
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--out", "out_dir", **OUT, help="Directory for the plan files" + OUT_RULE)
@click.option("--quantile", type=FiniteRange(0, 1, min_open=True, max_open=True), help="Plan for this demand quantile.")
@_solver_flags
@click.option("--format", "formats", default="xlsx,csv,json,png", show_default=True, help="Outputs to write.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--verbose", is_flag=True, help="Show the solver log on stderr.")
def plan_command(scenario_dir, out_dir, quantile, time_limit, mip_gap, threads, solver, formats, quiet, verbose) -> None:
    """Forecast demand and compute the cheapest feasible procurement roadmap.

    Writes roadmap.xlsx, orders.csv, fleet.csv, assignments.csv, power.csv,
    demand.csv, costs.csv, expansions.csv, factories.csv, shadow_prices.csv,
    forecast.csv, forecast_models.csv, plan.json, plan.png and forecast.png into
    --out (--format picks which kinds), all at once: an interrupted run leaves the
    previous contents of --out intact.

    Exit codes: 0 plan written; 2 invalid input; 3 infeasible (with the reason);
    4 no solution within the time limit.
    """
    import dataclasses

    wanted = _formats(formats)
    say = _progress(quiet)
    _check_out(out_dir, scenario_dir)
    say(f"validate: {scenario_dir}")
    scenario = _load(scenario_dir)
    if quantile is not None:
        settings = scenario.settings.model_copy(update={"planning_quantile": quantile})
        scenario = dataclasses.replace(scenario, settings=settings)
    overrides = _solver_overrides(scenario, time_limit, mip_gap, threads, solver, verbose)
    context = _solve(scenario, overrides, say, verbose, quiet)
    say(f"write: {out_dir} ({', '.join(wanted)})")
    from planner.export import write_plan_outputs
    from planner.terminal import summary_text

    write_plan_outputs(out_dir, context, wanted)
    click.echo(summary_text(context))


def _solver_overrides(scenario, time_limit, mip_gap, threads, solver, verbose) -> dict:
    """What `_solver_flags` and --verbose override of scenario.yaml's solver settings, once the
    solver they name (or the scenario's) is known to be installed."""
    _check_solver(solver or scenario.settings.solver.name, "--solver" if solver else "scenario.yaml solver.name")
    return dict(time_limit_s=time_limit, mip_gap=mip_gap, threads=threads, name=solver, verbose=verbose)


def _check_solver(name: str, source: str) -> None:
    """Exit 2 before the forecast when the solver asked for is not installed (it was an 'internal
    error' after the forecast)."""
    from models.solve import solver_available

    if not solver_available(name):
        click.echo(f"error: solver '{name}' ({source}) is not available on this machine; use highs, which is "
                   "installed with the planner, or install that solver", err=True)
        sys.exit(EXIT_INVALID_INPUT)


def _formats(formats: str) -> tuple[str, ...]:
    from planner.export import FORMATS

    wanted = tuple(dict.fromkeys(f.strip().lower() for f in formats.split(",") if f.strip()))  # CSV as csv, once
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise click.BadParameter(f"unknown format {', '.join(unknown)}; choose from {', '.join(FORMATS)}", param_hint="--format")
    if not wanted:  # the whole solve ran and then wrote nothing
        raise click.BadParameter(f"names no format; choose one or more of {', '.join(FORMATS)}", param_hint="--format")
    return wanted


def _progress(quiet: bool):
    import time

    began = time.perf_counter()
    return (lambda text: None) if quiet else (lambda text: click.echo(f"[{time.perf_counter() - began:6.1f}s] {text}", err=True))


def _solve(scenario, overrides: dict, say, verbose: bool = False, quiet: bool = False, previous_forecast=None,
           previous_orders=None, named: str | None = None) -> dict:
    """Forecast and plan; exit 3 or 4 with the reason when there is no plan to write. previous_forecast
    and previous_orders: a re-forecast's previous forecast.csv (see planner.pipeline.forecast_demand)
    and the previous plan's orders to keep to (planner.reforecast.open_orders); named: see _forecast."""
    from planner.bridge import solver_options
    from planner.export import fingerprint
    from planner.pipeline import plan
    from planner.terminal import (gap_text, penalty_swamps_spend, ran_past_time_limit, stopped_at_time_limit,
                                  stopped_past_time_limit, time_limit_text)

    demand = _forecast(scenario, say, quiet, previous_forecast, named)
    options = solver_options(scenario, **overrides)
    say(f"build and solve: {options.name}, time limit {time_limit_text(options)}, gap {options.mip_gap:.2%}")
    run = plan(scenario, demand, options, log_stream=sys.stderr if verbose else None, previous_orders=previous_orders)
    result = run.result
    if result.status == "infeasible":
        click.echo("The scenario is infeasible: no plan can meet its hard limits.", err=True)
        for line in run.infeasibility:
            click.echo(f"  - {line}", err=True)
        sys.exit(EXIT_INFEASIBLE)
    if run.plan is None:
        click.echo(f"No plan found within the time limit of {time_limit_text(options)}; raise --time-limit.", err=True)
        sys.exit(EXIT_NO_SOLUTION)
    say(f"solved: {result.status}, {gap_text(result.gap)}, {result.seconds:.1f} s; checker found no violation")
    if result.status == "time_limit":
        _warn([stopped_at_time_limit(result, options)])
    if result.stopped_late:
        _warn([stopped_past_time_limit(result, options)])
    elif result.overrun_s > OVERRUN_WORTH_A_WARNING_S:
        _warn([ran_past_time_limit(result, options)])
    if swamped := penalty_swamps_spend(run.plan):
        _warn([swamped])
    return {"scenario": scenario, "plan": run.plan, "demand": demand, "run": run,
            "shadow_prices": run.shadow_prices, "fingerprint": fingerprint(scenario.path)}


@main.command("reforecast")
@click.argument("scenario_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--actuals", "actuals_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="CSV of quarter, region, workload, demand for the quarter that has just ended.")
@click.option("--previous", "previous_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=str),
              help="The previous plan's output directory.")
@click.option("--out", "out_dir", **OUT, help="Writes OUT/scenario and OUT/plan" + OUT_RULE)
@click.option("--steady-within", type=FiniteRange(0, 1, max_open=True),
              help="Share of the plan's spend the re-plan may add to keep the previous plan's orders, e.g. 0.002; 0: no "
                   "dearer than the cheapest plan found (default: solver.steady_within, else within the optimality gap).")
@_solver_flags
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@click.option("--verbose", is_flag=True, help="Show the solver log on stderr.")
def reforecast_command(scenario_dir, actuals_path, previous_dir, out_dir, steady_within, time_limit, mip_gap, threads,
                       solver, quiet, verbose) -> None:
    """Roll the scenario forward one quarter and re-plan.

    Appends the actuals, locks the previous plan's orders placed in the quarter that
    has just ended and in the frozen window, leaves that quarter's known deals out of
    demand_overrides.csv (its actuals stand for them), writes OUT/scenario (the rolled
    scenario; the original is left untouched) and OUT/plan: the new plan's files (see `plan
    --help`), what changed against the previous plan in changes.csv,
    forecast_changes.csv and cost_changes.csv, each actual against the forecasts
    made of it in actuals_vs_forecast.csv, the forecasts still to be scored in
    earlier_forecasts.csv, and the workbook's Changes and Actuals record sheets.
    The solver flags apply to this run; OUT/scenario keeps scenario.yaml's settings.

    Exit codes as for `plan`.
    """
    from pathlib import Path

    from models.runs import counted
    from planner.atomic import atomic_directory
    from planner.actuals_record import extended_record, forecasts_on_record, quarter_against_forecasts, record_summary
    from planner.changes import PlanSnapshot, compare
    from planner.export import write_plan_outputs
    from planner.reforecast import carried_orders, check_plan_of, open_orders, read_actuals, roll_forward
    from planner.terminal import steady_text, summary_text
    from planner.text_files import not_a_file

    say = _progress(quiet)
    _check_out(out_dir, scenario_dir, previous_dir, actuals_path)
    scenario = _load(scenario_dir)
    overrides = {**_solver_overrides(scenario, time_limit, mip_gap, threads, solver, verbose), "steady_within": steady_within}
    if not Path(actuals_path).is_file():
        unreadable = not_a_file(Path(actuals_path), actuals_path)
        click.echo(f"{actuals_path}: {unreadable.message if unreadable else 'file not found'}", err=True)
        sys.exit(EXIT_INVALID_INPUT)
    actuals, suspicious = read_actuals(Path(actuals_path), scenario)
    _warn(suspicious)
    previous = PlanSnapshot.from_dir(Path(previous_dir))
    where = f"{previous_dir} (the previous plan)"
    check_plan_of(scenario, previous.forecast, where)
    locked = carried_orders(scenario, previous.orders, where)
    with atomic_directory(out_dir) as staging:
        (staging / "scenario").mkdir()
        roll_forward(scenario, actuals, locked, staging / "scenario")
        say(f"rolled to {scenario.settings.start + 1}: {counted(len(actuals), 'actual')} appended, "
            f"{counted(len(locked), 'order line')} locked")
        rolled = _load(str(staging / "scenario"), warn=False)  # its warnings: the scenario's and the actuals', given above
        context = _solve(rolled, overrides, say, verbose, quiet, previous_forecast=previous.forecast,
                         previous_orders=open_orders(scenario, previous.orders),
                         named=f"{scenario_dir} rolled forward with {actuals_path}")
        ended = scenario.settings.start
        forecasts = forecasts_on_record(previous.earlier, previous.forecast)
        record = extended_record(previous.record, quarter_against_forecasts(forecasts, actuals, ended))
        to_come = forecasts[forecasts["quarter"] > str(ended)]  # the next rolls score them; quarters are text: they sort
        planned_for = f"P{(previous.planning_quantile or scenario.settings.planning_quantile) * 100:g}"
        steady = context["run"].result.steady
        context["changes"] = compare(previous, PlanSnapshot.from_context(context),
                                     record_summary(record, ended, planned_for), record, to_come,
                                     orders_note=steady_text(steady, sentence=True) if steady is not None else "")
        write_plan_outputs(staging / "plan", context)
    click.echo(summary_text(context))
    click.echo("Changes: " + context["changes"].summary)


@main.command("diff")
@click.argument("plan_a", type=click.Path(file_okay=False, exists=True, path_type=str))
@click.argument("plan_b", type=click.Path(file_okay=False, exists=True, path_type=str))
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Also write the order changes as CSV.")
def diff_command(plan_a, plan_b, out_file) -> None:
    """Report what changed from PLAN_A to PLAN_B: orders, planned demand, costs and NPV."""
    from pathlib import Path

    from planner.changes import compare_plans
    from planner.export import write_csv_file
    from planner.terminal import text_table

    if out_file:
        _check_out(out_file, plan_a, plan_b, directory=False)
    changes = compare_plans(Path(plan_a), Path(plan_b))
    click.echo(changes.summary)
    moved = changes.orders[changes.orders["change"] != "unchanged"]
    if len(moved):  # the reasons, a sentence each, below the table rather than as its last column
        click.echo(text_table(moved.drop(columns=["reason_kind", "reasons"])))
        click.echo("why each line changed:")
        for line in moved.itertuples():
            click.echo(f"  {line.factory} {line.rack_type} ordered {line.order_quarter} ({line.difference:+d}): "
                       f"{line.reasons}")
    if out_file:
        write_csv_file(changes.orders, out_file)
