"""The `planner` command line."""

from __future__ import annotations

import os
import sys

import click

from planner import __version__
from planner.problems import ScenarioError

EXIT_INTERNAL_ERROR = 1
EXIT_INVALID_INPUT = 2


class _Guarded(click.Group):
    """Turn an unexpected exception into one readable line instead of a traceback.

    Set PLANNER_DEBUG=1 to see the traceback when reporting a bug.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was written", err=True)
            sys.exit(130)
        except Exception as error:  # noqa: BLE001 - the last line of defence for users
            if os.environ.get("PLANNER_DEBUG"):
                raise
            click.echo(f"internal error: {type(error).__name__}: {error}. This is a bug in planner; "
                       "rerun with PLANNER_DEBUG=1 and report the traceback.", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)


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
def validate(scenario_dir: str) -> None:
    """Check a scenario directory and report every problem at once.

    Each problem names the file, the spreadsheet row (the header is row 1), the
    column, the value found and what was expected. Exits 0 when the scenario is
    valid, 2 when it is not.
    """
    from planner.scenario import load_scenario

    try:
        scenario = load_scenario(scenario_dir)
    except ScenarioError as error:
        click.echo(error.report(), err=True)
        sys.exit(EXIT_INVALID_INPUT)
    for warning in scenario.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(scenario.summary())


@main.command()
def schema() -> None:
    """Print the scenario format reference (Markdown) generated from the schema."""
    from planner.reference import format_reference

    click.echo(format_reference(), nl=False)
