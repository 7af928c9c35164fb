"""Every validation rule has a failing case: file, row, column and message are checked."""

from __future__ import annotations

import functools
import math
import re
import shutil
import tempfile
from pathlib import Path
from warnings import catch_warnings, simplefilter

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.problems import ScenarioError
from planner.scenario import load_scenario
from planner.rules import RULES, WARNING_RULES
from planner.schema import TABLES
from tests.conftest import AWKWARD_CELLS, EXAMPLES, append_row, read_rows, set_cell, write_rows

FILES = {table.file for table in TABLES} | {"scenario.yaml"}


def problems_of(directory: Path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(directory)
    return caught.value.problems


def edit_yaml(directory: Path, old: str, new: str) -> None:
    path = directory / "scenario.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def drop_history(directory: Path, quarter: str, region: str, workload: str) -> None:
    path = directory / "demand_history.csv"
    rows = [r for r in read_rows(path) if (r["quarter"], r["region"], r["workload"]) != (quarter, region, workload)]
    write_rows(path, rows)


def _two_streams_read_alike(directory: Path) -> None:
    """Region eu-de/x with workload y and region eu-de with workload x/y: both are eu-de/x/y."""
    for region, workload in (("eu-de/x", "y"), ("eu-de", "x/y")):
        for quarter in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"):
            append_row(directory, "demand_history.csv", {"quarter": quarter, "region": region, "workload": workload, "demand": "10"})
    edit_yaml(directory, "method: auto", "method: auto\n  scale_by_stream:\n    eu-de/x/y: units")


# (case id, edit, expected file, row, column, words in message)
CASES = [
    ("negative number", lambda d: set_cell(d, "fleet.csv", 2, "racks", "-3"), "fleet.csv", 2, "racks", ">= 0"),
    ("nan number", lambda d: set_cell(d, "sites.csv", 3, "energy_usd_per_kwh", "nan"), "sites.csv", 3, "energy_usd_per_kwh", "a number"),
    ("text for number", lambda d: set_cell(d, "racks.csv", 2, "kw_per_rack", "lots"), "racks.csv", 2, "kw_per_rack", "kW"),
    ("zero kw", lambda d: set_cell(d, "racks.csv", 2, "kw_per_rack", "0"), "racks.csv", 2, "kw_per_rack", "> 0"),
    ("pue below one", lambda d: set_cell(d, "sites.csv", 2, "pue", "0.9"), "sites.csv", 2, "pue", ">= 1"),
    ("blank required", lambda d: set_cell(d, "sites.csv", 4, "region", ""), "sites.csv", 4, "region", "blank"),
    ("bad bool", lambda d: set_cell(d, "racks.csv", 3, "liquid_cooled", "maybe"), "racks.csv", 3, "liquid_cooled", "true or false"),
    ("bad choice", lambda d: set_cell(d, "factories.csv", 3, "status", "planned"), "factories.csv", 3, "status", "existing, candidate"),
    ("unparseable quarter", lambda d: set_cell(d, "racks.csv", 4, "first_order_quarter", "2027Q5"), "racks.csv", 4, "first_order_quarter", "2027Q1"),
    ("fractional int", lambda d: set_cell(d, "racks.csv", 2, "lead_time_quarters", "1.5"), "racks.csv", 2, "lead_time_quarters", "whole number"),
    ("duplicate key", lambda d: append_row(d, "sites.csv", read_rows(d / "sites.csv")[0]), "sites.csv", 5, "site", "duplicate of row 2"),
    ("unknown rack type", lambda d: set_cell(d, "fleet.csv", 3, "rack_type", "gb301-nvl72"), "fleet.csv", 3, "rack_type", "did you mean 'gb300-nvl72'"),
    ("unknown site", lambda d: set_cell(d, "factories.csv", 2, "site", "fra-9"), "factories.csv", 2, "site", "not a site"),
    ("unknown factory", lambda d: set_cell(d, "orders.csv", 2, "factory", "nowhere"), "orders.csv", 2, "factory", "not a factory"),
    ("unknown serving region", lambda d: set_cell(d, "residency.csv", 2, "serving_regions", "eu-de;eu-xx"), "residency.csv", 2, "serving_regions", "eu-xx"),
    ("unknown listed rack type", lambda d: set_cell(d, "factories.csv", 3, "rack_types", "gb300-nvl72;trn5-ultra"), "factories.csv", 3, "rack_types", "trn5-ultra"),
    ("unknown override region", lambda d: append_row(d, "demand_overrides.csv", {"quarter": "2027Q2", "region": "us", "workload": "training", "delta": "5"}), "demand_overrides.csv", 2, "region", "'us'"),
    ("unknown override workload", lambda d: append_row(d, "demand_overrides.csv", {"quarter": "2027Q2", "region": "eu-de", "workload": "gaming", "delta": "5"}), "demand_overrides.csv", 2, "workload", "'gaming'"),
    ("order window reversed", lambda d: set_cell(d, "racks.csv", 2, "last_order_quarter", "2025Q1"), "racks.csv", 2, "last_order_quarter", "before first_order_quarter"),
    ("history gap", lambda d: drop_history(d, "2024Q3", "eu-de", "training"), "demand_history.csv", None, "quarter", "gap in eu-de/training: no rows for 2024Q3"),
    ("history duplicate", lambda d: append_row(d, "demand_history.csv", {"quarter": "2024Q3", "region": "eu-de", "workload": "training", "demand": "1"}), "demand_history.csv", 102, "quarter", "duplicate"),
    ("history out of order", lambda d: _swap_history_rows(d), "demand_history.csv", 3, "quarter", "in order"),
    ("history after start", lambda d: append_row(d, "demand_history.csv", {"quarter": "2027Q1", "region": "eu-de", "workload": "training", "demand": "1"}), "demand_history.csv", 102, "quarter", "at or after start"),
    ("history ends early", lambda d: drop_history(d, "2026Q4", "eu-fr", "inference"), "demand_history.csv", None, "quarter", "must run to 2026Q4"),
    ("history too short", lambda d: _short_stream(d), "demand_history.csv", 102, "demand", "demand_overrides.csv"),
    ("site power out of order", lambda d: append_row(d, "site_power.csv", {"site": "ber-2", "quarter": "2027Q3", "power_mw": "12"}), "site_power.csv", 4, "quarter", "out of order"),
    ("liquid rack at air-cooled site", lambda d: set_cell(d, "sites.csv", 3, "liquid_cooling", "false"), "factories.csv", 3, "rack_types", "needs liquid cooling"),
    ("rack type not allowed", lambda d: set_cell(d, "orders.csv", 2, "rack_type", "trn4-ultra") or set_cell(d, "factories.csv", 2, "rack_types", "gb300-nvl72;trn3-ultra"), "orders.csv", 2, "rack_type", "not among the rack types"),
    ("fleet at candidate", lambda d: set_cell(d, "fleet.csv", 2, "factory", "eu-diy-ber"), "fleet.csv", 2, "factory", "candidate"),
    ("fleet in the future", lambda d: set_cell(d, "fleet.csv", 2, "online_quarter", "2027Q3"), "fleet.csv", 2, "online_quarter", "orders.csv"),
    ("order after horizon", lambda d: set_cell(d, "orders.csv", 2, "order_quarter", "2031Q1"), "orders.csv", 2, "order_quarter", "last planned quarter"),
    ("supply cap below a placed order", lambda d: (d / "supply.csv").write_text("rack_type,quarter,max_racks\ngb300-nvl72,2026Q4,7\n"), "supply.csv", 2, "max_racks", "a cap of 7 gb300-nvl72 racks in 2026Q4 is below the 8 orders.csv already places then (row 2)"),
    ("commitment without window", lambda d: set_cell(d, "factories.csv", 4, "commitment_quarters", "0"), "factories.csv", 4, "commitment_quarters", "no commitment window"),
    ("stream with no server", lambda d: set_cell(d, "residency.csv", 3, "serving_regions", "eu-fr") or set_cell(d, "factories.csv", 4, "rack_types", "trn3-ultra") or _drop_capacity(d, "trn3-ultra", "inference"), "residency.csv", 3, "serving_regions", "cannot be served"),
    ("missing column", lambda d: _drop_column(d, "sites.csv", "pue"), "sites.csv", 1, "pue", "required column is missing"),
    ("missing file", lambda d: (d / "racks.csv").unlink(), "racks.csv", None, None, "file not found"),
    ("too many cells", lambda d: (d / "orders.csv").write_text("order_quarter,factory,rack_type,racks\n2026Q4,eu-managed-fra,gb300-nvl72,8,9\n"), "orders.csv", 2, None, "cells"),
    ("quantile outside (0, 1)", lambda d: edit_yaml(d, "planning_quantile: 0.9", "planning_quantile: 1.0"), "scenario.yaml", 9, "planning_quantile", "expected a number < 1 (got 1.0)"),
    ("forecast quantile outside (0, 1)", lambda d: edit_yaml(d, "[0.1, 0.5, 0.9]", "[0, 0.5, 0.9]"), "scenario.yaml", 17, "forecast.quantiles.0", "expected a number > 0 (got 0)"),
    ("yaml unknown key", lambda d: edit_yaml(d, "horizon_quarters:", "horizon_quarter:"), "scenario.yaml", 5, "horizon_quarter", "unknown key (did you mean 'horizon_quarters'?)"),
    ("yaml unknown nested key", lambda d: edit_yaml(d, "  threads: 1", "  thread: 1"), "scenario.yaml", 21, "solver.thread", "unknown key (did you mean 'threads'?)"),
    ("yaml date for a quarter", lambda d: edit_yaml(d, "start: 2027Q1", "start: 2027-01-01"), "scenario.yaml", 4, "start", "2027Q1 (got 2027-01-01)"),
    ("yaml missing key", lambda d: edit_yaml(d, "discount_rate: 0.08\n", ""), "scenario.yaml", None, "discount_rate", "missing"),
    ("yaml bad quarter", lambda d: edit_yaml(d, "start: 2027Q1", "start: 2027-13"), "scenario.yaml", 4, "start", "2027Q1"),
    ("yaml syntax", lambda d: edit_yaml(d, "cloud:\n", "cloud: [\n"), "scenario.yaml", None, None, "not valid YAML"),
    ("unknown forecast method", lambda d: edit_yaml(d, "method: auto", "method: ets-hol"), "scenario.yaml", 16, "forecast.method", "unknown forecast method (did you mean 'ets-holt'?)"),
    ("unknown forecast scale", lambda d: edit_yaml(d, "method: auto", "method: auto\n  scale: logs"), "scenario.yaml", 17, "forecast.scale", "'auto', 'log' or 'units'"),
    ("log scale with a zero quarter", lambda d: edit_yaml(d, "method: auto", "method: auto\n  scale: log") or set_cell(d, "demand_history.csv", 5, "demand", "0"), "demand_history.csv", 5, "demand", "forecast.scale log needs demand above zero"),
    ("log scale for one stream with a zero quarter", lambda d: edit_yaml(d, "method: auto", "method: auto\n  scale_by_stream:\n    eu-de/training: log") or set_cell(d, "demand_history.csv", 5, "demand", "0"), "demand_history.csv", 5, "demand", "forecast.scale_by_stream.eu-de/training log needs demand above zero"),
    ("scale for an unknown stream", lambda d: edit_yaml(d, "method: auto", "method: auto\n  scale_by_stream:\n    eu-de/trainng: units"), "scenario.yaml", None, "forecast.scale_by_stream.eu-de/trainng", "no stream eu-de/trainng in demand_history.csv (did you mean 'eu-de/training'?)"),
    ("one-off quarters for an unknown stream", lambda d: edit_yaml(d, "method: auto", "method: auto\n  one_off_quarters:\n    eu-de/trainng: [2025Q2]"), "scenario.yaml", None, "forecast.one_off_quarters.eu-de/trainng", "no stream eu-de/trainng in demand_history.csv (did you mean 'eu-de/training'?)"),
    ("one-off quarter that is the first of its stream", lambda d: edit_yaml(d, "method: auto", "method: auto\n  one_off_quarters:\n    eu-de/training: [2022Q1, 2026Q4]"), "scenario.yaml", None, "forecast.one_off_quarters.eu-de/training", "2022Q1 is the first quarter the models read, with none before it to take a level from; expected a quarter between 2022Q2 and 2026Q4"),
    ("one-off quarter outside its stream's history", lambda d: edit_yaml(d, "method: auto", "method: auto\n  one_off_quarters:\n    eu-de/training: [2019Q3]"), "scenario.yaml", None, "forecast.one_off_quarters.eu-de/training", "2019Q3 is outside the history the models read (2022Q1 to 2026Q4); expected a quarter between 2022Q2 and 2026Q4"),
    ("one-off quarters that are no list", lambda d: edit_yaml(d, "method: auto", "method: auto\n  one_off_quarters:\n    eu-de/training: {2025Q2: yes}"), "scenario.yaml", 18, "forecast.one_off_quarters.eu-de/training", "expected a list of quarters like [2026Q3] (got {'2025Q2': True})"),
    ("history start for an unknown stream", lambda d: edit_yaml(d, "method: auto", "method: auto\n  history_start:\n    eu-de/trainng: 2025Q2"), "scenario.yaml", None, "forecast.history_start.eu-de/trainng", "no stream eu-de/trainng in demand_history.csv (did you mean 'eu-de/training'?)"),
    ("history start leaving too few quarters", lambda d: edit_yaml(d, "method: auto", "method: auto\n  history_start:\n    eu-de/training: 2026Q3"), "scenario.yaml", None, "forecast.history_start.eu-de/training", "2026Q3 leaves 2 quarters of eu-de/training's history to forecast from; at least 3 are needed; expected a quarter between 2022Q1 and 2026Q2"),
    ("history start before the history", lambda d: edit_yaml(d, "method: auto", "method: auto\n  history_start:\n    eu-de/training: 2020Q1"), "scenario.yaml", None, "forecast.history_start.eu-de/training", "2020Q1 is before eu-de/training's history (2022Q1 to 2026Q4)"),
    ("one-off quarter at the history start", lambda d: edit_yaml(d, "method: auto", "method: auto\n  history_start:\n    eu-de/training: 2025Q1\n  one_off_quarters:\n    eu-de/training: [2025Q1]"), "scenario.yaml", None, "forecast.one_off_quarters.eu-de/training", "2025Q1 is the first quarter the models read"),
    ("scale for two streams that read alike", _two_streams_read_alike, "scenario.yaml", None, "forecast.scale_by_stream.eu-de/x/y", "names 2 streams of demand_history.csv (region 'eu-de' with workload 'x/y', region 'eu-de/x' with workload 'y')"),
    ("frozen beyond horizon", lambda d: edit_yaml(d, "frozen_quarters: 1", "frozen_quarters: 17"), "scenario.yaml", None, None, "frozen_quarters"),
    # magnitudes no scenario reaches: a 20-digit whole number stopped validation with an OverflowError,
    # a lifetime of 10^15 quarters ran for minutes, a price of 1e300 made the NPV infinite
    ("20-digit span in quarters", lambda d: set_cell(d, "power_expansions.csv", 3, "lead_time_quarters", "99999999999999999999"), "power_expansions.csv", 3, "lead_time_quarters", "expected a whole number >= 0 and <= 400 (quarters)"),
    ("lifetime of a million years", lambda d: set_cell(d, "racks.csv", 2, "lifetime_quarters", "4000000"), "racks.csv", 2, "lifetime_quarters", "<= 400"),
    ("20-digit count of racks", lambda d: set_cell(d, "fleet.csv", 2, "racks", "99999999999999999999"), "fleet.csv", 2, "racks", "<= 1,000,000,000 (racks)"),
    ("price beyond a trillion", lambda d: set_cell(d, "racks.csv", 2, "price_usd", "1e300"), "racks.csv", 2, "price_usd", "<= 1,000,000,000,000 (USD)"),
    ("override below minus a trillion", lambda d: append_row(d, "demand_overrides.csv", {"quarter": "2027Q2", "region": "eu-de", "workload": "training", "delta": "-2e12"}), "demand_overrides.csv", 2, "delta", "expected a number >= -1,000,000,000,000 and <= 1,000,000,000,000"),
    ("yaml penalty beyond a trillion", lambda d: edit_yaml(d, "unmet_penalty_per_unit_quarter: 80000", "unmet_penalty_per_unit_quarter: 1e300"), "scenario.yaml", 11, "unmet_penalty_per_unit_quarter", "expected a number <= 1,000,000,000,000 (got '1e300')"),
    ("capitalised header", lambda d: _rename_column(d, "sites.csv", "site", "Site"), "sites.csv", 1, "site", "required column is missing; expected text; the header has 'Site': name the column 'site'"),
    # a header cell holding a zero-width space was quoted as 'region' beside 'name the column region'
    ("header holding a zero-width space", lambda d: _rename_column(d, "sites.csv", "region", "\u200bregion"), "sites.csv", 1, "region",
     "the header has '\\u200bregion': name the column 'region'; that header cell holds the invisible character U+200B (ZERO WIDTH SPACE) at character 1"),
    ("misspelt optional column", lambda d: _rename_column(d, "racks.csv", "rack_positions", "rack_position"), "racks.csv", 1, "rack_position", "is not a column of the format (did you mean 'rack_positions'?); read as it is, rack_positions would be 1 in every row"),
    # a stream needing 5e-7 of a rack was planned with none, unmet, while HiGHS reported optimal
    ("units_per_rack in another compute unit", lambda d: set_cell(d, "rack_capacity.csv", 3, "units_per_rack", "1e12"), "rack_capacity.csv", 3, "units_per_rack",
     "one gb300-nvl72 rack delivers 1,000,000,000,000 units of inference, yet the largest quarter of eu-fr/inference is 684, less than a 10,000th of that rack"),
    # a placed order of 0 racks planned, then stopped the workbook's export with a ZeroDivisionError
    ("placed order of no racks", lambda d: set_cell(d, "orders.csv", 2, "racks", "0"), "orders.csv", 2, "racks", "got '0'; expected a whole number >= 1"),
    # a control character in a name passed validation, then stopped the workbook's export as an internal error
    ("control character in a name", lambda d: set_cell(d, "racks.csv", 2, "vendor", "nv\x01idia"), "racks.csv", 2, "vendor",
     "got 'nv\\x01idia'; expected text; it holds the control character U+0001 at character 3, which a spreadsheet cannot show: retype the cell"),
    ("tab inside a listed name", lambda d: set_cell(d, "factories.csv", 3, "rack_types", "gb300-nvl72;trn3\tultra"), "factories.csv", 3, "rack_types", "U+0009 at character 17"),
    # a region ending in a zero-width space (copied from a web page) matched no stream: its site stayed idle, warned
    # about with a 'did you mean' that showed the same name twice
    ("zero-width space in a region", lambda d: set_cell(d, "sites.csv", 2, "region", "eu-de\u200b"), "sites.csv", 2, "region",
     "got 'eu-de\\u200b'; expected text; it holds the invisible character U+200B (ZERO WIDTH SPACE) at character 6, so it would not match the name typed without it: retype the cell"),
    ("no-break space inside a listed name", lambda d: set_cell(d, "residency.csv", 2, "serving_regions", "eu-de;eu\u00a0fr"), "residency.csv", 2, "serving_regions",
     "holds U+00A0 (NO-BREAK SPACE) at character 9, which looks like a space but would not match one"),
    ("yaml stream holding a bidirectional mark", lambda d: edit_yaml(d, "method: auto", 'method: auto\n  scale_by_stream:\n    "eu-de/training\\u200f": log'),
     "scenario.yaml", None, "forecast.scale_by_stream.eu-de/training\u200f",
     "(did you mean 'eu-de/training'?); the name given holds the invisible character U+200F (RIGHT-TO-LEFT MARK) at character 15"),
    ("yaml control character in the name", lambda d: edit_yaml(d, "name: Sovereign EU AI factory", 'name: "Sovereign\\x7fEU"'), "scenario.yaml", 3, "name",
     "holds the control character U+007F at character 10, which a spreadsheet cannot show: retype it (got 'Sovereign\\x7fEU')"),
    ("yaml newline in the compute unit", lambda d: edit_yaml(d, "compute_unit: GB200-equivalent accelerators", 'compute_unit: "GB200\\nequivalents"'), "scenario.yaml", 8, "compute_unit", "U+000A at character 6"),
    ("no demand at all", lambda d: write_rows(d / "demand_history.csv", [], ["quarter", "region", "workload", "demand"]), "demand_history.csv", None, None, "there is no demand to plan for"),
]


def _swap_history_rows(directory: Path) -> None:
    path = directory / "demand_history.csv"
    rows = read_rows(path)
    rows[0], rows[1] = rows[1], rows[0]
    write_rows(path, rows)


def _short_stream(directory: Path) -> None:
    for quarter in ("2026Q3", "2026Q4"):
        append_row(directory, "demand_history.csv", {"quarter": quarter, "region": "eu-fr", "workload": "commercial", "demand": "10"})


def _drop_capacity(directory: Path, rack_type: str, workload: str) -> None:
    path = directory / "rack_capacity.csv"
    write_rows(path, [r for r in read_rows(path) if (r["rack_type"], r["workload"]) != (rack_type, workload)])


def _rename_column(directory: Path, file: str, column: str, name: str) -> None:
    path = directory / file
    lines = path.read_text().splitlines(keepends=True)
    assert column in lines[0].rstrip("\n").split(",")
    lines[0] = ",".join(name if cell == column else cell for cell in lines[0].rstrip("\n").split(",")) + "\n"
    path.write_text("".join(lines))


def _drop_column(directory: Path, file: str, column: str) -> None:
    path = directory / file
    rows = read_rows(path)
    header = [name for name in rows[0] if name != column]
    write_rows(path, [{k: r[k] for k in header} for r in rows], header)


@pytest.mark.parametrize("edit, file, row, column, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_reports_the_fault(sovereign, edit, file, row, column, words):
    edit(sovereign)
    problems = problems_of(sovereign)
    matching = [p for p in problems if p.file == file and p.column == column and words in p.message
                and (row is None or p.row == row)]
    assert matching, "\n".join(map(str, problems))


def test_every_cross_file_rule_has_a_case():
    """A new rule without a failing case above fails this test."""
    covered = {
        "unknown_references", "unknown_regions", "unknown_workloads", "order_window", "history_shape",
        "log_scale_positive", "per_stream_settings_known", "modelled_quarters_inside", "site_power_order", "factory_cooling",
        "installed_racks_fit_factory", "quarters_in_range", "supply_covers_placed_orders", "commitment_window", "some_demand", "rack_capacity_scale",
        "stream_has_server",
    }
    assert {rule.__name__ for rule in RULES} == covered
    assert {rule.__name__ for rule in WARNING_RULES} == {"idle_site_regions", "rack_capacity_too_small", "history_jumps",
                                                         "overrides_outside_horizon"}  # cases: below


def test_one_off_quarters_may_name_a_lone_quarter_without_brackets_and_each_quarter_counts_once(sovereign):
    import pandas as pd

    edit_yaml(sovereign, "method: auto", "method: auto\n  one_off_quarters:\n    eu-de/training: 2025Q2\n"
                                         "    eu-fr/inference: [2025Q3, 2025Q2, 2025Q3]")
    settings = load_scenario(sovereign).settings.forecast
    assert settings.one_offs_of("eu-de", "training") == (pd.Period("2025Q2", freq="Q"),)
    assert settings.one_offs_of("eu-fr", "inference") == (pd.Period("2025Q2", freq="Q"), pd.Period("2025Q3", freq="Q"))


def test_examples_are_valid_without_warnings():
    root = Path(__file__).resolve().parent.parent / "examples"
    for name in ("sovereign-eu", "global-enterprise"):
        scenario = load_scenario(root / name)
        assert scenario.settings.horizon_quarters >= 12
        assert len(scenario.streams) >= 5
        assert scenario.warnings == ()


def test_a_mistyped_site_region_is_a_warning_naming_the_row_and_the_likely_region(sovereign):
    """Legal (the site may be kept for later) but its factories could never serve anything."""
    set_cell(sovereign, "sites.csv", 3, "region", "eu-dee")
    warnings = load_scenario(sovereign).warnings
    assert warnings == ("sites.csv row 3, column region: no stream may be served from region 'eu-dee' (no demand "
                        "there and no residency rule lists it), so site ber-2 and its factories will stay idle "
                        "(did you mean 'eu-de'?)",)


def test_a_rack_capacity_a_thousand_times_too_small_is_a_warning_naming_the_row(sovereign):
    """units_per_rack counted in thousands (0.036 for 36) was planned, its racks left unused without
    a word before the solve: the mirror case, a thousand times too large, is an error already."""
    set_cell(sovereign, "rack_capacity.csv", 6, "units_per_rack", "0.036")
    assert load_scenario(sovereign).warnings == (
        "rack_capacity.csv row 6, column units_per_rack: one trn3-ultra rack delivers 0.036 units of inference: all 530 "
        "rack positions of the sites, filled with it, would deliver 9.54, under a tenth of the last quarter of the "
        "smallest inference stream (684, eu-fr/inference in 2026Q4), so the plan can make no real use of it for "
        "inference; units_per_rack and the demand files most likely count different compute units (scenario.yaml "
        "names it in compute_unit)",)


def test_a_rack_capacity_whose_estate_serves_a_tenth_of_the_smallest_stream_is_not_a_warning(sovereign):
    """The bound, both sides: 265 trn3-ultra racks (530 positions, 2 each) at 0.26 deliver 68.9, over
    a tenth of eu-fr/inference's last quarter, 684; at 0.25 they deliver 66.25, under it."""
    set_cell(sovereign, "rack_capacity.csv", 6, "units_per_rack", "0.26")
    assert load_scenario(sovereign).warnings == ()
    set_cell(sovereign, "rack_capacity.csv", 6, "units_per_rack", "0.25")
    assert len(load_scenario(sovereign).warnings) == 1


def test_overrides_outside_the_horizon_are_a_warning_naming_the_first_row_each_side(sovereign):
    """A known deal typed in the wrong year (2037Q3 for 2027Q3) was dropped from the plan without a word."""
    (sovereign / "demand_overrides.csv").write_text(
        "quarter,region,workload,delta\n2027Q3,eu-de,training,100\n2026Q4,eu-de,training,100\n"
        "2037Q3,eu-de,training,100\n2025Q1,eu-fr,training,5\n2030Q4,eu-fr,training,5\n")
    assert load_scenario(sovereign).warnings == (
        "demand_overrides.csv row 3, column quarter: 2026Q4 is before start 2027Q1 (the same goes for 1 later row), so "
        "its delta is not planned (a deal in a quarter already past is in that quarter's actual); check the year if it "
        "is a deal still to come",
        "demand_overrides.csv row 4, column quarter: 2037Q3 is after the last planned quarter 2030Q4, so its delta is "
        "not planned (horizon_quarters in scenario.yaml sets the last); check the year if it is a deal still to come")


def test_a_site_region_only_a_residency_rule_serves_from_is_not_a_warning(sovereign):
    """eu-fr has demand of its own; with it gone, eu-de's residency rules still send work to par-1."""
    for file in ("demand_history.csv", "residency.csv"):
        write_rows(sovereign / file, [r for r in read_rows(sovereign / file) if r["region"] != "eu-fr"])
    assert load_scenario(sovereign).warnings == ()


def test_five_faults_in_three_files_all_reported(sovereign):
    set_cell(sovereign, "sites.csv", 2, "pue", "0.95")
    set_cell(sovereign, "sites.csv", 3, "power_mw", "ten")
    set_cell(sovereign, "racks.csv", 4, "first_order_quarter", "2027Q5")
    set_cell(sovereign, "factories.csv", 3, "rack_types", "gb300-nvl72;trn5-ultra")
    set_cell(sovereign, "factories.csv", 4, "commitment_quarters", "0")
    located = {(p.file, p.row, p.column) for p in problems_of(sovereign)}
    assert located == {
        ("sites.csv", 2, "pue"), ("sites.csv", 3, "power_mw"), ("racks.csv", 4, "first_order_quarter"),
        ("factories.csv", 3, "rack_types"), ("factories.csv", 4, "commitment_quarters"),
    }


def test_unparsed_row_does_not_cascade(sovereign):
    """A bad number in racks.csv must not make every reference to that rack type 'unknown'."""
    set_cell(sovereign, "racks.csv", 2, "price_usd", "a lot")
    problems = problems_of(sovereign)
    assert [(p.file, p.row, p.column) for p in problems] == [("racks.csv", 2, "price_usd")]


def test_loaded_tables_are_typed(sovereign):
    scenario = load_scenario(sovereign)
    racks = scenario.racks
    assert str(racks["first_order_quarter"].dtype) == "period[Q-DEC]"
    assert racks["last_order_quarter"].isna().tolist() == [False, False, True]
    assert racks["lead_time_quarters"].dtype == "int64"
    assert racks.set_index("rack_type").at["trn3-ultra", "rack_positions"] == 2
    factories = scenario.factories.set_index("factory")
    assert factories.at["eu-diy-ber", "rack_types"] == ("gb300-nvl72", "trn4-ultra")
    assert factories.at["eu-diy-ber", "commitment_usd"] == 0.0
    assert scenario.racks.index.tolist() == [2, 3, 4]  # spreadsheet rows
    assert scenario.supply.empty and list(scenario.supply.columns) == ["rack_type", "quarter", "max_racks"]


def test_optional_column_defaults_apply_when_left_out(sovereign):
    path = sovereign / "racks.csv"
    rows = read_rows(path)
    header = [name for name in rows[0] if name != "rack_positions"]
    write_rows(path, [{k: r[k] for k in header} for r in rows], header)
    assert load_scenario(sovereign).racks["rack_positions"].tolist() == [1, 1, 1]


def test_unknown_column_is_a_warning_not_an_error(sovereign):
    path = sovereign / "sites.csv"
    rows = read_rows(path)
    for row in rows:
        row["notes"] = "x"
    write_rows(path, rows)
    scenario = load_scenario(sovereign)
    assert any("'notes'" in w for w in scenario.warnings)


def test_a_spreadsheets_empty_trailing_columns_are_ignored_and_unnamed_values_warned_about(sovereign):
    """Excel saves a sheet whose formatting runs past the data with empty columns: racks.csv with
    two read 'column appears twice in the header', naming no column."""
    path = sovereign / "racks.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line + ",," for line in lines) + "\n")
    assert load_scenario(sovereign).warnings == ()
    lines[1] += ",,a note"
    path.write_text("\n".join([lines[0] + ",,"] + [lines[1]] + [line + ",," for line in lines[2:]]) + "\n")
    columns = len(lines[0].split(",")) + 2
    assert load_scenario(sovereign).warnings == (
        f"racks.csv: column {columns} has values but no name in the header, and is ignored",)


def test_yaml_loads_safely(sovereign):
    edit_yaml(sovereign, "name: Sovereign EU AI factory", "name: !!python/object/apply:os.system ['echo hacked']")
    problems = problems_of(sovereign)
    assert any(p.file == "scenario.yaml" and "not valid YAML" in p.message for p in problems)


@pytest.mark.parametrize("old, new, key, expected", [
    ("method: auto", "method: auto\n  history_start: 2025Q1", "forecast.history_start",
     "expected one line per stream under it, as region/workload: value (e.g. `eu-de/training: 2025Q3`) (got '2025Q1')"),
    ("method: auto", "method: auto\n  one_off_quarters: [2025Q1]", "forecast.one_off_quarters",
     "expected one line per stream under it, as region/workload: value (e.g. `eu-de/training: [2026Q2, 2026Q3]`) "
     "(got ['2025Q1'])"),
    ("cloud:\n", "cloud: 5\nold_cloud:\n", "cloud", "expected its keys on lines of their own under it, indented (got 5)"),
])
def test_a_section_written_as_one_value_says_how_to_write_it(sovereign, old, new, key, expected):
    """pydantic's 'Input should be a valid dictionary or instance of CloudSettings' told a planner
    neither what a dictionary is here nor how to write one."""
    edit_yaml(sovereign, old, new)
    problems = [p for p in problems_of(sovereign) if p.column == key]
    assert [p.message for p in problems] == [expected]


@pytest.mark.parametrize("old, new, key, expected", [
    ("horizon_quarters: 16", "horizon_quarters: yes", "horizon_quarters",
     "expected a number; YAML reads true, false, yes and no as switches (got True)"),
    ("horizon_quarters: 16", "horizon_quarters: sixteen", "horizon_quarters", "expected a whole number (got 'sixteen')"),
    ("[0.1, 0.5, 0.9]", "0.9", "forecast.quantiles", "expected a list in brackets, e.g. [0.1, 0.5, 0.9] (got 0.9)"),
    ("[0.1, 0.5, 0.9]", "[]", "forecast.quantiles", "expected at least 1 value in it (got [])"),
    ("discount_rate: 0.08", "discount_rate:\n  annual: 0.08", "discount_rate", "expected a number (got keys under it)"),
    ("name: Sovereign EU AI factory", "name: ''", "name", "expected text, not nothing (got '')"),
])
def test_a_wrong_kind_of_value_is_said_in_the_planners_words(sovereign, old, new, key, expected):
    """pydantic's 'Input should be a valid tuple' or 'a valid integer, unable to parse string as an
    integer' reached the planner; `yes` for a number was read as 1 (a one-quarter horizon)."""
    edit_yaml(sovereign, old, new)
    assert [p.message for p in problems_of(sovereign) if p.column == key] == [expected]


def test_a_bad_history_value_is_reported_alone_not_as_a_gap_too(sovereign):
    """The row with the bad value is in the file: its stream has no gap to report."""
    set_cell(sovereign, "demand_history.csv", 3, "demand", "abc")
    problems = problems_of(sovereign)
    assert [(p.file, p.row, p.column) for p in problems] == [("demand_history.csv", 3, "demand")]


def _history_row(directory: Path, region: str, workload: str, quarter: str) -> int:
    """Spreadsheet row (header = row 1) of one stream's quarter in demand_history.csv."""
    rows = read_rows(directory / "demand_history.csv")
    return next(index + 2 for index, row in enumerate(rows)
                if (row["region"], row["workload"], row["quarter"]) == (region, workload, quarter))


def test_a_thousandfold_quarter_in_the_history_is_a_warning_naming_the_row(sovereign):
    """Three zeros too many in the last quarter: the forecast would take it for real."""
    row = _history_row(sovereign, "eu-fr", "inference", "2026Q4")
    previous = float(read_rows(sovereign / "demand_history.csv")[row - 3]["demand"])
    set_cell(sovereign, "demand_history.csv", row, "demand", "684000")
    warnings = load_scenario(sovereign).warnings
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"demand_history.csv row {row}, column demand: 684,000 for eu-fr/inference in "
                                  f"2026Q4 is {684000 / previous:,.0f} times the quarter before ({previous:,.10g}); "
                                  "if it is a typo or a missing figure, fix it")


@pytest.mark.parametrize("written, whole", [("3.6e3", 3600), ("3E+03", 3000), (" 1e9 ", 1_000_000_000)])
def test_a_whole_number_in_exponent_form_is_read_as_that_number(sovereign, written, whole):
    set_cell(sovereign, "factories.csv", 2, "min_accelerators", written)
    factories = load_scenario(sovereign).tables["factories"]
    assert factories.loc[2, "min_accelerators"] == whole


@pytest.mark.parametrize("written, words", [("3.6505e3", "a whole number"), ("1e10", "<= 1,000,000,000"),
                                            ("1e400", "a whole number")])
def test_exponent_form_that_is_not_a_whole_number_in_bounds_is_still_refused(sovereign, written, words):
    set_cell(sovereign, "factories.csv", 2, "min_accelerators", written)
    [problem] = problems_of(sovereign)
    assert (problem.file, problem.row, problem.column) == ("factories.csv", 2, "min_accelerators")
    assert f"got '{written}'" in problem.message and words in problem.message


def test_a_vanishing_quarter_is_named_in_words_without_a_numeric_warning(sovereign):
    """A figure of 1e-300 beside hundreds: its ratios are past what digits say (inf times, once,
    with numpy's overflow warning printed above the planner's)."""
    row = _history_row(sovereign, "eu-de", "training", "2024Q2")
    set_cell(sovereign, "demand_history.csv", row, "demand", "1e-300")
    with catch_warnings():
        simplefilter("error")  # numpy's overflow warning fails the test
        said = load_scenario(sovereign).warnings
    assert [w.split(":")[0] for w in said] == [f"demand_history.csv row {row}, column demand",
                                              f"demand_history.csv row {row + 1}, column demand"]
    assert "is under a trillionth of the quarter before" in said[0]
    assert "is over a trillion times the quarter before (1e-300)" in said[1]
    set_cell(sovereign, "demand_history.csv", row, "demand", "1e-320")  # its ratio to hundreds underflows to 0
    said = load_scenario(sovereign).warnings
    assert "is under a trillionth of the quarter before" in said[0] and "a fall to zero" not in said[0]


def test_a_fall_to_a_tenth_is_a_warning_and_a_stream_starting_from_zero_is_not(sovereign):
    row = _history_row(sovereign, "eu-de", "training", "2024Q2")
    previous = float(read_rows(sovereign / "demand_history.csv")[row - 3]["demand"])
    set_cell(sovereign, "demand_history.csv", row, "demand", f"{previous / 20:g}")
    set_cell(sovereign, "demand_history.csv", row + 1, "demand", f"{previous:g}")  # and back: a second jump
    warnings = load_scenario(sovereign).warnings
    assert [w.split(":")[0] for w in warnings] == [f"demand_history.csv row {row}, column demand",
                                                  f"demand_history.csv row {row + 1}, column demand"]
    assert "is 1/20 of the quarter before" in warnings[0] and "is 20 times the quarter before" in warnings[1]

    first = _history_row(sovereign, "eu-fr", "training", "2022Q1")
    set_cell(sovereign, "demand_history.csv", first, "demand", "0")
    assert len(load_scenario(sovereign).warnings) == 2

    last = _history_row(sovereign, "eu-fr", "training", "2026Q4")  # a missing figure entered as 0
    set_cell(sovereign, "demand_history.csv", last, "demand", "0")
    warnings = load_scenario(sovereign).warnings
    assert len(warnings) == 3 and warnings[2].startswith(f"demand_history.csv row {last}, column demand: 0 for "
                                                         "eu-fr/training in 2026Q4 is a fall to zero from the "
                                                         "quarter before"), warnings


@pytest.mark.parametrize("file, separator, name", [("demand_history.csv", ";", "semicolons"), ("sites.csv", "\t", "tabs")])
def test_a_csv_with_another_separator_is_one_problem_that_says_so(sovereign, file, separator, name):
    """A spreadsheet saved where the list separator is ';' had every column reported missing, and
    every residency rule's region unknown (the regions come from the unreadable file)."""
    path = sovereign / file
    path.write_text(path.read_text().replace(",", separator))
    problems = problems_of(sovereign)
    assert [(p.file, p.row, p.column) for p in problems] == [(file, 1, None)], "\n".join(map(str, problems))
    assert f"separated by {name}, not commas" in problems[0].message and "comma-separated" in problems[0].message


def test_unreadable_sources_of_regions_and_workloads_do_not_make_every_reference_unknown(sovereign):
    """Regions come from sites.csv and the history, workloads from the history and rack_capacity.csv;
    with those files unreadable every residency rule was reported as naming an unknown region and
    workload, burying the one real problem per file."""
    for file in ("demand_history.csv", "sites.csv", "rack_capacity.csv"):
        (sovereign / file).write_text("")
    problems = problems_of(sovereign)
    assert {p.file for p in problems} == {"demand_history.csv", "sites.csv", "rack_capacity.csv"}, \
        "\n".join(map(str, problems))


def test_a_csv_saved_as_utf16_is_one_problem_that_says_how_to_save_it(sovereign):
    path = sovereign / "racks.csv"
    path.write_bytes(path.read_text().encode("utf-16"))
    problems = problems_of(sovereign)
    assert [(p.file, p.row) for p in problems] == [("racks.csv", None)], "\n".join(map(str, problems))
    assert "UTF-16" in problems[0].message and "CSV UTF-8" in problems[0].message


def test_a_workbook_given_for_a_csv_is_called_a_workbook(sovereign):
    """It read as 'byte 0x87 is not UTF-8 text (a character such as an accented letter saved in another
    encoding)', which sends the user looking for an accent in a file that is not text at all."""
    import pandas as pd

    history = sovereign / "demand_history.csv"
    pd.read_csv(history).to_excel(sovereign / "history.xlsx", index=False)
    (sovereign / "history.xlsx").replace(history)
    (sovereign / "racks.csv").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an .xls header block
    problems = problems_of(sovereign)
    assert [str(p) for p in problems] == [
        "demand_history.csv: is a workbook (.xlsx or .ods: a zip file), not CSV text; open it in the spreadsheet and "
        "save it as 'CSV UTF-8 (Comma delimited)'",
        "racks.csv: is an Excel 97-2003 workbook (.xls), not CSV text; open it in the spreadsheet and save it as "
        "'CSV UTF-8 (Comma delimited)'"]


def test_a_number_saved_as_a_spreadsheet_displays_it_is_refused_and_named_as_such(sovereign):
    """Excel's CSV saves a formatted cell as shown: a thousands separator, a currency sign, a
    percent sign, a decimal comma. Each is refused, not guessed ('1,316' is 1.316 where the comma is
    the decimal mark), and says how to mend the whole column; text that is no number says nothing more."""
    for row, value in ((2, "1,316"), (3, "12,5"), (4, "1 316"), (5, "abc"), (6, "1.2.3")):
        set_cell(sovereign, "demand_history.csv", row, "demand", value)
    set_cell(sovereign, "racks.csv", 2, "price_usd", "$3,900,000.00")
    set_cell(sovereign, "racks.csv", 3, "lead_time_quarters", "50%")
    said = {(p.file, p.row): p.message for p in problems_of(sovereign)}
    mend = "as a spreadsheet displays it: format the column as General, with a point for decimals, and save again"
    expected = "expected a number >= 0 and <= 1,000,000,000,000 (compute units)"
    assert said[("demand_history.csv", 2)] == f"got '1,316'; {expected}; written with a thousands separator, {mend}"
    assert said[("demand_history.csv", 3)] == f"got '12,5'; {expected}; written with a decimal comma, {mend}"
    assert said[("demand_history.csv", 4)] == f"got '1 316'; {expected}; written with a thousands separator, {mend}"
    assert said[("demand_history.csv", 5)] == f"got 'abc'; {expected}"
    assert said[("demand_history.csv", 6)] == f"got '1.2.3'; {expected}"
    assert said[("racks.csv", 2)].endswith(f"written with a currency sign and a thousands separator, {mend}")
    assert said[("racks.csv", 3)].endswith(f"written with a percent sign, {mend}")


def test_a_file_under_another_case_or_extension_is_named_even_where_the_file_is_optional(sovereign):
    """orders.CSV (saved on Windows) was ignored as if the scenario placed no orders: its racks left
    out of every plan without a word; Sites.csv and racks.csv.txt were only 'file not found'."""
    (sovereign / "orders.csv").rename(sovereign / "orders.CSV")
    (sovereign / "sites.csv").rename(sovereign / "Sites.csv")
    (sovereign / "racks.csv").rename(sovereign / "racks.csv.txt")
    (sovereign / "demand_history.csv").rename(sovereign / "demand_history.csv.bak")  # a backup: not taken for it
    (sovereign / "supply.xlsx").write_bytes(b"PK\x03\x04")
    said = {p.file: p.message for p in problems_of(sovereign)}
    rename = "(file names are case-sensitive here, and the extension must be .csv alone)"
    assert said["orders.csv"] == f"not found in {sovereign}, but orders.CSV is: rename it orders.csv {rename}"
    assert said["sites.csv"] == f"not found in {sovereign}, but Sites.csv is: rename it sites.csv {rename}"
    assert said["racks.csv"] == f"not found in {sovereign}, but racks.csv.txt is: rename it racks.csv {rename}"
    assert said["supply.csv"] == (f"not found in {sovereign}, but supply.xlsx is: open it in the spreadsheet and save it "
                                  "as 'CSV UTF-8 (Comma delimited)' named supply.csv")
    assert said["demand_history.csv"] == f"file not found in {sovereign}"


def test_a_link_to_a_moved_file_or_a_folder_under_a_files_name_is_named_even_where_the_file_is_optional(sovereign):
    """A sites.csv linked from a shared folder that has moved read 'file not found' while `ls`
    listed it; an orders.csv so linked was taken for no orders placed, without a word."""
    (sovereign / "orders.csv").unlink()
    (sovereign / "orders.csv").symlink_to("../shared/orders.csv")
    (sovereign / "demand_history.csv").unlink()
    (sovereign / "demand_history.csv").mkdir()
    shared = sovereign.parent / "shared-sites.csv"
    (sovereign / "sites.csv").replace(shared)
    (sovereign / "sites.csv").symlink_to(shared)  # a link that works is read through
    (sovereign / "scenario.yaml").replace(sovereign.parent / "scenario.yaml")
    (sovereign / "scenario.yaml").symlink_to(sovereign.parent / "moved" / "scenario.yaml")
    assert [str(p) for p in problems_of(sovereign)] == [
        f"demand_history.csv: is a folder, not a file, in {sovereign}",
        "orders.csv: is a link to ../shared/orders.csv, which does not exist; point the link at the file, or copy the "
        "file here",
        f"scenario.yaml: is a link to {sovereign.parent / 'moved' / 'scenario.yaml'}, which does not exist; point "
        "the link at the file, or copy the file here"]


def test_a_scenario_of_links_to_a_moved_folder_is_named_file_by_file_not_as_no_scenario(sovereign, tmp_path):
    """Every file a link into a shared folder that has moved: the folder was said to hold no scenario."""
    linked = tmp_path / "linked"
    linked.mkdir()
    for path in sovereign.iterdir():
        (linked / path.name).symlink_to(tmp_path / "moved" / path.name)
    problems = problems_of(linked)
    assert {p.file for p in problems} == {path.name for path in sovereign.iterdir() if path.suffix in (".csv", ".yaml")}
    assert all(p.message.startswith(f"is a link to {tmp_path / 'moved' / p.file}, which does not exist") for p in problems)


def test_scenario_yaml_in_another_encoding_or_under_another_name_is_named(sovereign):
    """'name: Café' saved in Latin-1 stopped validate as an internal error (UnicodeDecodeError), and
    scenario.yml was 'file not found'."""
    path = sovereign / "scenario.yaml"
    text = path.read_text().replace("name: Sovereign EU AI factory", "name: Café souverain")
    path.write_bytes(text.encode("latin-1"))
    line = 1 + text.splitlines().index("name: Café souverain")
    assert [str(p) for p in problems_of(sovereign)] == [
        f"scenario.yaml line {line}: byte 0xe9 is not UTF-8 text (a character such as an accented letter saved in "
        "another encoding); save it as UTF-8 (in the editor: Save As, encoding UTF-8)"]
    path.write_text(text, encoding="utf-8-sig")  # with the byte-order mark Windows editors write: read as it is
    assert load_scenario(sovereign).settings.name == "Café souverain"
    path.rename(sovereign / "scenario.yml")
    assert [str(p) for p in problems_of(sovereign)] == [
        f"scenario.yaml: not found in {sovereign}, but scenario.yml is: rename it scenario.yaml (file names are "
        "case-sensitive here, and the extension must be .yaml alone)"]


def test_a_byte_in_another_encoding_is_named_by_its_row_even_deep_in_a_long_file(sovereign):
    """The text stream decodes in 8 KB chunks and its error counts from the chunk, not the file."""
    path = sovereign / "demand_history.csv"
    lines = path.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    padded = [header] + rows + [f"20{10 + i // 4:02d}Q{i % 4 + 1},pad-{k},training,1" for k in range(30)
                               for i in range(60)]
    target = len(padded) - 7  # 0-based line index: row number is index + 1
    data = "\n".join(padded).encode()
    lines_bytes = data.split(b"\n")
    lines_bytes[target] = lines_bytes[target].replace(b"pad-", b"p\xe4d-")
    path.write_bytes(b"\n".join(lines_bytes) + b"\n")
    assert path.stat().st_size > 5 * 8192
    problems = problems_of(sovereign)
    assert [(p.file, p.row) for p in problems] == [("demand_history.csv", target + 1)], "\n".join(map(str, problems))
    assert "byte 0xe4 is not UTF-8" in problems[0].message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_one_cell_of_an_example_set_to_anything_is_valid_or_listed_problems_never_a_crash(data):
    """One-off scripts setting each cell of row 2 to 30 awkward values found a crash each (exponent
    forms, 1e-320, formulas...): here any cell of any row of either example, set to an awkward value
    or to any short text, must leave `planner validate` exiting 0, or 2 with problems listed by file."""
    example = EXAMPLES / data.draw(st.sampled_from(["sovereign-eu", "global-enterprise"]), label="example")
    name = data.draw(st.sampled_from(sorted(path.name for path in example.glob("*.csv"))), label="file")
    rows = read_rows(example / name)
    row = data.draw(st.integers(2, len(rows) + 1), label="row")
    column = data.draw(st.sampled_from(list(rows[0])), label="column")
    value = data.draw(st.one_of(st.sampled_from(AWKWARD_CELLS), st.text(max_size=12)), label="value")
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(shutil.copytree(example, Path(folder) / example.name))
        set_cell(scenario, name, row, column, value)
        result = _validated(scenario)
        loaded = load_scenario(scenario) if result.exit_code == 0 else None
    if result.exit_code == 2:
        return
    table = next(table for table in TABLES if table.file == name)
    frame = loaded.tables[table.name]
    assert list(frame.index) == list(range(2, len(rows) + 2)), f"{name}: rows {list(frame.index)} read"
    read, meant = frame.at[row, column], _as_written(table.column(column), value)
    same = pd.isna(read) and pd.isna(meant) if pd.api.types.is_scalar(meant) and pd.isna(meant) else read == meant
    assert same, f"{name} row {row}, {column}: {value!r} read as {read!r}, not {meant!r}"
    assert not _unshowable(loaded), _unshowable(loaded)


def _validated(scenario: Path):
    """`planner validate SCENARIO`'s result, held to what any input must give: exit 0, or 2 with
    each problem listed under its file, never a crash or a traceback."""
    from click.testing import CliRunner

    from planner.cli import main

    result = CliRunner().invoke(main, ["validate", str(scenario)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2) and "Traceback" not in result.output, result.output
    if result.exit_code == 2:
        listed = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
        assert listed and all(line[4:].split(" ", 1)[0].rstrip(":") in FILES for line in listed), result.stderr
    return result


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damage_in_several_places_at_once_is_valid_or_listed_problems_never_a_crash(data):
    """One cell at a time leaves each cross-file rule one fault to judge: here two to four edits,
    in any files (cells set to an awkward value, a short text or another value of their column;
    rows deleted or duplicated), so rules meet rows that failed, keys gone and keys twice at once.
    A one-off run of 1,200 such scenarios found no crash; this keeps it so (with the
    rules' first-row-wins keying removed, it fails on a duplicated factory)."""
    example = EXAMPLES / data.draw(st.sampled_from(["sovereign-eu", "global-enterprise"]), label="example")
    names = sorted(path.name for path in example.glob("*.csv"))
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(shutil.copytree(example, Path(folder) / example.name))
        for _ in range(data.draw(st.integers(2, 4), label="edits")):
            name = data.draw(st.sampled_from(names), label="file")
            header, rows = list(read_rows(example / name)[0]), read_rows(scenario / name)
            if not rows:
                continue
            index = data.draw(st.integers(0, len(rows) - 1), label="row")
            edit = data.draw(st.sampled_from(["cell", "cell", "cell", "delete", "duplicate"]), label="edit")
            if edit == "delete":
                del rows[index]
            elif edit == "duplicate":
                rows.insert(index, dict(rows[index]))
            else:
                column = data.draw(st.sampled_from(header), label="column")
                rows[index][column] = data.draw(st.one_of(st.sampled_from(AWKWARD_CELLS), st.text(max_size=8),
                                                          st.sampled_from([row[column] for row in rows])), label="value")
            write_rows(scenario / name, rows, header)
        _validated(scenario)


_TRUE, _FALSE = {"1", "on", "t", "true", "y", "yes"}, {"0", "off", "f", "false", "n", "no"}


def _as_written(column, text: str):
    """What a cell's text means, read apart from the loader (pydantic's words for true and false
    aside): the value a scenario that validates must hold for it."""
    text = text.strip()
    if not text:
        return float("nan") if column.nullable else column.default
    if column.kind in ("int", "number"):
        return float(text)
    if column.kind == "quarter":
        year, quarter = re.fullmatch(r"(\d{4})\s*-?\s*[Qq]([1-4])", text).groups()
        return pd.Period(f"{year}Q{quarter}", freq="Q")
    if column.kind == "bool":
        assert text.lower() in _TRUE | _FALSE, f"{text!r} read as true or false"
        return text.lower() in _TRUE
    if column.kind == "list":
        return tuple(part.strip() for part in text.split(";") if part.strip())
    return text.lower() if column.kind == "choice" else text


def _unshowable(scenario) -> list[str]:
    """Each text a valid scenario holds that the workbook cannot: openpyxl refuses control
    characters, and a vendor holding one stopped `planner plan`'s export as an internal error."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    texts = [(f"scenario.yaml {key}", value) for key, value in scenario.settings.model_dump().items() if isinstance(value, str)]
    texts += [(f"{name} row {row}", text) for name, frame in scenario.tables.items()
              for row, values in frame.iterrows() for value in values
              for text in (value if isinstance(value, tuple) else [value]) if isinstance(text, str)]
    return [f"{where}: {text!r}" for where, text in texts if ILLEGAL_CHARACTERS_RE.search(text)]


def _leaf_keys(mapping: dict, prefix: tuple = ()) -> list[tuple]:
    return [key for name, value in mapping.items()
            for key in (_leaf_keys(value, prefix + (name,)) if isinstance(value, dict) and value else [prefix + (name,)])]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_one_key_of_scenario_yaml_set_to_anything_is_valid_or_listed_problems_never_a_crash(data):
    """Setting every key to 13 kinds of value found pydantic's own words ('Input should be a valid
    tuple') and `yes` read as 1: here any key, any YAML value, must leave `planner validate` at exit 0,
    or 2 with each problem in the planner's words."""
    import yaml

    example = EXAMPLES / data.draw(st.sampled_from(["sovereign-eu", "global-enterprise"]), label="example")
    settings_ = yaml.safe_load((example / "scenario.yaml").read_text())
    key = data.draw(st.sampled_from(_leaf_keys(settings_)), label="key")
    value = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                                st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=6)), max_size=3),
                                st.dictionaries(st.text(max_size=6), st.integers(), max_size=2)), label="value")
    section = settings_
    for name in key[:-1]:
        section = section[name]
    section[key[-1]] = value
    with tempfile.TemporaryDirectory() as folder:
        scenario = Path(shutil.copytree(example, Path(folder) / example.name))
        (scenario / "scenario.yaml").write_text(yaml.safe_dump(settings_))
        result = _validated(scenario)
        loaded = load_scenario(scenario) if result.exit_code == 0 else None
    assert "Input should" not in result.stderr and "Value error" not in result.stderr, result.stderr
    assert loaded is None or not _unshowable(loaded), _unshowable(loaded)


def test_a_name_in_another_script_or_joined_by_a_zero_width_joiner_is_read_as_written(sovereign):
    """Hidden characters are refused in names, but the joiners shape letters in Persian, Indic scripts
    and emoji, and a name in any script is a name: refusing them would refuse a real vendor's name."""
    # written escaped, or the joiners would not show here either: ZWNJ (U+200C) in Persian, ZWJ (U+200D) in Devanagari
    names = {"vendor": "\u0627\u0646\u0648\u06cc\u200c\u062f\u06cc\u0627",
             "rack_type": "\u0930\u0948\u0915\u200d-72 \u30e9\u30c3\u30af"}
    for column, name in names.items():
        set_cell(sovereign, "racks.csv", 2, column, name)
    for path in sovereign.glob("*.csv"):  # the rack type's other files name it too
        path.write_text(path.read_text(encoding="utf-8").replace("gb300-nvl72", names["rack_type"]), encoding="utf-8")
    racks = load_scenario(sovereign).tables["racks"]
    assert (racks.at[2, "vendor"], racks.at[2, "rack_type"]) == (names["vendor"], names["rack_type"])


def test_a_folder_holding_no_scenario_file_says_so_and_names_the_scenarios_in_it(tmp_path):
    """`planner validate examples` listed six 'file not found' lines and not the two scenarios inside."""
    from click.testing import CliRunner

    from planner.cli import main

    result = CliRunner().invoke(main, ["validate", str(EXAMPLES)])
    assert result.exit_code == 2 and "1 problem found" in result.stderr, result.output
    assert (f"scenario.yaml: file not found, nor any of a scenario's CSV files: the scenarios in it are "
            f"{EXAMPLES / 'global-enterprise'}, {EXAMPLES / 'sovereign-eu'}") in result.stderr
    assert problems_of(tmp_path)[0].message.endswith("this directory holds no scenario")


@functools.lru_cache(maxsize=1)
def _enterprise():
    """global-enterprise as loaded, once: the scenario the shipped 2027Q1 actuals are for."""
    return load_scenario(EXAMPLES / "global-enterprise")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_one_cell_of_an_actuals_file_set_to_anything_is_read_or_refused_by_its_row_never_a_crash(data):
    """`planner reforecast --actuals` reads a file a planner pastes each quarter: any cell of the
    shipped 2027Q1 actuals set to an awkward value or to any short text is read as a finite
    number or refused with problems that name the actuals file, one of them that row; never an
    exception of another kind."""
    from planner.reforecast import read_actuals

    actuals = EXAMPLES / "quarterly" / "actuals" / "2027Q1.csv"
    rows = read_rows(actuals)
    row = data.draw(st.integers(2, len(rows) + 1), label="row")
    column = data.draw(st.sampled_from(list(rows[0])), label="column")
    value = data.draw(st.one_of(st.sampled_from(AWKWARD_CELLS), st.text(max_size=12)), label="value")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(shutil.copy(actuals, folder))
        set_cell(Path(folder), path.name, row, column, value)
        try:
            frame, _ = read_actuals(path, _enterprise())
        except ScenarioError as error:
            assert error.problems and all(problem.file == path.name for problem in error.problems), error
            assert any(problem.row == row or f"duplicate of row {row} (" in problem.message
                       for problem in error.problems), error
        else:
            assert len(frame) == len(rows) and frame["demand"].map(math.isfinite).all()
            assert (frame["demand"] >= 0).all(), frame
