"""The loaded, validated scenario: settings plus one typed DataFrame per input file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forecasts import smoothed_history
from planner.output_marker import OUTPUT_MARKER
from planner.config import FILE as SETTINGS_FILE
from planner.config import ScenarioSettings, load_settings
from planner.problems import Problem, ScenarioError
from planner.rules import check_rules, check_warnings
from planner.schema import TABLES
from planner.tables import read_table


@dataclass(frozen=True)
class Scenario:
    """Everything the planner needs, validated. Frames are indexed by spreadsheet row."""

    path: Path
    settings: ScenarioSettings
    tables: dict[str, pd.DataFrame] = field(repr=False)
    warnings: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def streams(self) -> list[tuple[str, str]]:
        """Every (region, workload) with history or overrides, sorted."""
        frames = [self.tables["demand_history"], self.tables["demand_overrides"]]
        pairs = {(r, w) for frame in frames for r, w in zip(frame["region"], frame["workload"])}
        return sorted(pairs)

    @property
    def history_streams(self) -> list[tuple[str, str]]:
        """Every (region, workload) with history (the streams the forecaster models), sorted."""
        history = self.tables["demand_history"]
        return sorted(set(zip(history["region"], history["workload"])))

    @property
    def modelled_history(self) -> pd.DataFrame:
        """quarter, region, workload, demand as the forecaster and the backtest are given it: each
        stream from its forecast.history_start on, with its forecast.one_off_quarters at the level
        either side (the actuals stay in `demand_history`, and in forecast.csv's history rows)."""
        history = self.tables["demand_history"][["quarter", "region", "workload", "demand"]]
        forecast = self.settings.forecast
        if forecast.history_start:
            read = [quarter >= (forecast.history_start_of(region, workload) or quarter)
                    for region, workload, quarter in zip(history["region"], history["workload"], history["quarter"])]
            history = history[pd.Series(read, index=history.index, dtype=bool)]
        named = {(r, w): forecast.one_offs_of(r, w) for r, w in self.history_streams if forecast.one_offs_of(r, w)}
        return smoothed_history(history, named) if named else history

    def summary(self) -> str:
        settings = self.settings
        history = self.tables["demand_history"]["quarter"]
        span = (f"{history.nunique()} quarters ({history.min()} to {history.max()})" if len(history)
                else "none (every stream's demand is in demand_overrides.csv)")
        end = settings.start + settings.horizon_quarters - 1
        lines = [
            f"Scenario '{settings.name}' is valid.",
            f"  sites: {len(self.sites)}  factories: {len(self.factories)}  rack types: {len(self.racks)}  "
            f"streams: {len(self.streams)}",
            f"  history: {span}",
            f"  horizon: {settings.horizon_quarters} quarters ({settings.start} to {end}), "
            f"planning at P{round(settings.planning_quantile * 100)}",
        ]
        forecast = settings.forecast  # what the models read differently from demand_history.csv, said where it is checked
        lines += [f"  forecast reads {stream} from {start} (forecast.history_start)"
                  for stream, start in sorted(forecast.history_start.items())]
        lines += [f"  forecast takes {stream} {', '.join(map(str, quarters))} at the level either side "
                  "(forecast.one_off_quarters)" for stream, quarters in sorted(forecast.one_off_quarters.items())]
        return "\n".join(lines)


def load_scenario(directory: str | Path) -> Scenario:
    """Load and validate a scenario directory; raise ScenarioError listing every problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ScenarioError([Problem(str(directory), None, None, "is not a directory")], where=str(directory))
    elsewhere = _not_a_scenario(directory)
    if elsewhere:
        raise ScenarioError([elsewhere], where=str(directory))
    settings, problems = load_settings(directory / SETTINGS_FILE)
    tables, warnings = {}, []
    for table in TABLES:
        frame, table_problems, table_warnings = read_table(directory, table)
        tables[table.name] = frame
        problems += table_problems
        warnings += table_warnings
    problems += check_rules(settings, tables)
    if problems:
        raise ScenarioError(problems, where=str(directory))
    warnings += [str(warning) for warning in sorted(check_warnings(settings, tables))]
    return Scenario(directory, settings, tables, tuple(warnings))


def _not_a_scenario(directory: Path) -> Problem | None:
    """What `directory` is, where it is plainly not a scenario. A plan's, a forecast's or a
    re-forecast's --out: its orders.csv, fleet.csv and factories.csv share a scenario's names and
    were judged as one, eleven problems none of which said what had happened. A folder holding
    none of a scenario's files (`examples`): six 'file not found' lines, not the scenarios in it.
    A scenario's file counts as there in any form, a link to a moved file too: the loaders name
    what is wrong with it (text_files.not_a_file), where this said the folder held no scenario."""
    if os.path.lexists(directory / SETTINGS_FILE):
        return None
    if (directory / "scenario" / SETTINGS_FILE).is_file():
        return Problem(SETTINGS_FILE, None, None, f"this is a re-forecast's output, whose rolled scenario is in "
                                                  f"{directory / 'scenario'}: give that directory")
    if (directory / OUTPUT_MARKER).is_file() or (directory / "plan.json").is_file():
        return Problem(SETTINGS_FILE, None, None, "this is an output directory the planner wrote (a plan's or a "
                                                  "forecast's --out), not a scenario: give the scenario directory")
    if not any(os.path.lexists(directory / table.file) for table in TABLES):
        inside = sorted(str(path.parent) for path in directory.glob(f"*/{SETTINGS_FILE}"))
        return Problem(SETTINGS_FILE, None, None, "file not found, nor any of a scenario's CSV files: "
                                                  + (f"the scenarios in it are {', '.join(inside)}" if inside
                                                     else "this directory holds no scenario"))
    return None
