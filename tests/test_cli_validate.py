"""The `planner` command: help, version, validate exit codes and readable output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from planner import __version__
from planner.cli import main
from tests.conftest import EXAMPLES, set_cell


def test_help_and_version():
    runner = CliRunner()
    assert runner.invoke(main, ["--help"]).exit_code == 0
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and __version__ in version.output
    validate_help = runner.invoke(main, ["validate", "--help"])
    assert validate_help.exit_code == 0 and "SCENARIO_DIR" in validate_help.output


def test_validate_examples_exit_zero_with_summary():
    for name, sites in (("sovereign-eu", 3), ("global-enterprise", 6)):
        result = CliRunner().invoke(main, ["validate", str(EXAMPLES / name)])
        assert result.exit_code == 0, result.output
        assert f"sites: {sites}" in result.output and "streams:" in result.output and "horizon: 16 quarters" in result.output


def test_validate_says_what_the_forecast_reads_differently_from_the_history(sovereign: Path):
    assert "forecast reads" not in CliRunner().invoke(main, ["validate", str(sovereign)]).output
    settings = sovereign / "scenario.yaml"
    settings.write_text(settings.read_text().replace("  method: auto\n", "  method: auto\n  history_start:\n"
                                                     "    eu-fr/inference: 2025Q1\n  one_off_quarters:\n"
                                                     "    eu-de/training: [2024Q2, 2024Q3]\n"))
    result = CliRunner().invoke(main, ["validate", str(sovereign)])
    assert result.exit_code == 0, result.output
    assert "  forecast reads eu-fr/inference from 2025Q1 (forecast.history_start)" in result.output.splitlines()
    assert ("  forecast takes eu-de/training 2024Q2, 2024Q3 at the level either side (forecast.one_off_quarters)"
            in result.output.splitlines())


def test_invalid_scenario_exits_two_without_traceback(sovereign: Path):
    set_cell(sovereign, "sites.csv", 2, "pue", "0.95")
    completed = subprocess.run([sys.executable, "-m", "planner", "validate", str(sovereign)],
                               capture_output=True, text=True)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr + completed.stdout
    assert "sites.csv row 2, column pue: got '0.95'; expected a number >= 1 and <= 3" in completed.stderr


def test_missing_directory_exits_two(tmp_path: Path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "is not a directory" in result.output


def test_schema_command_prints_every_file():
    output = CliRunner().invoke(main, ["schema"]).output
    for file in ("scenario.yaml", "racks.csv", "factories.csv", "supply.csv", "demand_history.csv"):
        assert f"`{file}`" in output


def test_a_flood_of_problems_in_one_file_is_cut_to_the_first_ones_and_all_lists_every_one(sovereign: Path):
    """A history pasted twice reported 209,895 lines; the other files' problems were lost among them."""
    history = sovereign / "demand_history.csv"
    lines = history.read_text().splitlines()
    history.write_text("\n".join(lines[:1] + [line.rsplit(",", 1)[0] + ",lots" for line in lines[1:41]] + lines[41:]) + "\n")
    set_cell(sovereign, "sites.csv", 2, "pue", "0.95")
    result = CliRunner().invoke(main, ["validate", str(sovereign)])
    assert result.exit_code == 2
    listed = [line for line in result.output.splitlines() if line.startswith("  - demand_history.csv")]
    assert len(listed) == 25 and "41 problems found" in result.output
    assert "  ... and 15 more in demand_history.csv (`planner validate --all` lists every one)" in result.output
    assert "sites.csv row 2, column pue" in result.output
    every = CliRunner().invoke(main, ["validate", "--all", str(sovereign)])
    assert every.exit_code == 2 and "... and" not in every.output
    assert len([line for line in every.output.splitlines() if line.startswith("  - demand_history.csv")]) == 40
