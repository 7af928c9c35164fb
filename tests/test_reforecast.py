"""Quarterly re-forecast: locks never change, nothing is double counted, changes add up."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.output_marker import OUTPUT_MARKER
from planner.plan_files import read_plan_files
from planner.cli import main
from planner.scenario import load_scenario
from tests.conftest import AWKWARD_CELLS, EXAMPLES, QUARTERS, ROOT, open_xml_problems, read_rows, set_cell

def _stages(root: Path):
    """(scenario dir, plan dir) for the initial plan and each rolled quarter."""
    return [(EXAMPLES / "global-enterprise", root / "initial" / "plan")] + \
        [(root / q / "scenario", root / q / "plan") for q in QUARTERS]


def _by_key(orders: pd.DataFrame) -> dict:
    totals = defaultdict(int)
    for row in orders.itertuples():
        totals[(str(row.order_quarter), row.factory, row.rack_type)] += int(row.racks)
    return dict(totals)


def test_locked_orders_never_change_and_are_carried_exactly_once(four_quarters):
    stages = _stages(four_quarters)
    for (scenario_k, plan_k), (scenario_next, plan_next) in zip(stages, stages[1:]):
        start = pd.Period(next(line.split(":")[1].strip() for line in (scenario_k / "scenario.yaml").read_text().splitlines()
                               if line.startswith("start:")), freq="Q")
        orders_k = pd.read_csv(plan_k / "orders.csv")
        locked_k = _by_key(orders_k[orders_k["locked"]])
        new_k = orders_k[~orders_k["locked"]]
        quarters = pd.PeriodIndex(new_k["order_quarter"], freq="Q")
        carried = _by_key(new_k[(quarters >= start) & (quarters <= start + 1)])  # frozen_quarters = 1
        expected = defaultdict(int, locked_k)
        for key, racks in carried.items():
            expected[key] += racks
        placed_next = _by_key(pd.read_csv(scenario_next / "orders.csv"))
        assert placed_next == dict(expected), "orders.csv must be the old locks plus the newly placed orders, once"
        orders_next = pd.read_csv(plan_next / "orders.csv")
        assert _by_key(orders_next[orders_next["locked"]]) == dict(expected), "the new plan must keep every lock"
    first = _by_key(pd.read_csv(EXAMPLES / "global-enterprise" / "orders.csv"))
    last = _by_key(pd.read_csv(stages[-1][0] / "orders.csv"))
    assert all(last[key] >= racks for key, racks in first.items())


def test_fleet_is_installed_plus_locked_plus_new_orders(four_quarters):
    for scenario_dir, plan_dir in _stages(four_quarters):
        racks = pd.read_csv(scenario_dir / "racks.csv").set_index("rack_type")
        fleet = pd.read_csv(scenario_dir / "fleet.csv")
        orders = pd.read_csv(plan_dir / "orders.csv")
        expected = defaultdict(int)
        plan_fleet = pd.read_csv(plan_dir / "fleet.csv")
        quarters = sorted(set(plan_fleet["quarter"]))
        cohorts = [(r.factory, r.rack_type, pd.Period(r.online_quarter, freq="Q"), r.racks) for r in fleet.itertuples()]
        cohorts += [(r.factory, r.rack_type, pd.Period(r.online_quarter, freq="Q"), r.racks) for r in orders.itertuples()]
        for factory, rack_type, online, count in cohorts:
            life = int(racks.at[rack_type, "lifetime_quarters"])
            for quarter in quarters:
                if online <= pd.Period(quarter, freq="Q") < online + life:
                    expected[(quarter, factory, rack_type)] += int(count)
        reported = {(r.quarter, r.factory, r.rack_type): int(r.racks_online) for r in plan_fleet.itertuples()}
        assert reported == {k: v for k, v in expected.items() if v > 0}


def test_each_quarter_leaves_a_checked_roadmap_and_changes(four_quarters):
    import json

    for quarter in QUARTERS:
        plan = four_quarters / quarter / "plan"
        assert json.loads((plan / "plan.json").read_text())["status"] == "optimal"
        assert (plan / "roadmap.xlsx").stat().st_size > 10_000
        book = pd.ExcelFile(plan / "roadmap.xlsx")
        assert "Changes" in book.sheet_names


def test_a_rolled_workbook_passes_the_open_xml_sdks_validation(four_quarters):
    """The Changes sheet's tables and the Actuals record's filter and red and amber rules are what a
    rolled plan's workbook adds to a plan's (test_plan_cli checks those)."""
    book = four_quarters / QUARTERS[-1] / "plan" / "roadmap.xlsx"
    assert {"Changes", "Actuals record"} <= set(pd.ExcelFile(book).sheet_names)
    assert open_xml_problems(book) == []


def test_a_roll_keeps_a_streams_models_as_the_previous_plan_had_them(four_quarters):
    """The re-forecast hands the previous plan's models to the forecaster (forecasts.core.KEEP_MARGIN):
    a stream whose note says they were kept forecasts with the previous plan's models."""
    kept = 0
    for before, quarter in zip(["initial"] + QUARTERS, QUARTERS):
        previous = pd.read_csv(four_quarters / before / "plan" / "forecast_models.csv")
        models = pd.read_csv(four_quarters / quarter / "plan" / "forecast_models.csv").merge(
            previous, on=["region", "workload"], suffixes=("", "_before"))
        rows = models[models["why"].str.startswith("last quarter's models kept")]
        assert (rows["model"] == rows["model_before"]).all(), rows
        kept += len(rows)
    assert kept >= 1


def test_reforecast_help_names_every_file_it_adds_to_a_plan(four_quarters):
    """The help named changes.csv alone of the five files a re-forecast adds to a plan."""
    rolled, planned = four_quarters / QUARTERS[0] / "plan", four_quarters / "initial" / "plan"
    added = sorted({p.name for p in rolled.iterdir()} - {p.name for p in planned.iterdir()})
    shown = CliRunner().invoke(main, ["reforecast", "--help"]).output
    assert len(added) >= 5 and [name for name in added if name not in shown] == []


def test_cost_changes_add_up_from_the_two_plans_costs(four_quarters):
    """The NPVs of two plans are discounted to different starts over different horizons; the
    report compares nominal costs in the NPV per category over the quarters both cover."""
    stages = _stages(four_quarters)
    for (_, before), (_, after) in zip(stages, stages[1:]):
        old, new = (pd.read_csv(plan / "costs.csv").query("in_objective") for plan in (before, after))
        common = set(old["quarter"]) & set(new["quarter"])
        assert len(common) == 15
        table = pd.read_csv(after / "cost_changes.csv").set_index("category")
        for category in set(old["category"]) | set(new["category"]):
            was = old[old["quarter"].isin(common) & (old["category"] == category)]["usd"].sum()
            now = new[new["quarter"].isin(common) & (new["category"] == category)]["usd"].sum()
            if category not in table.index:  # no cost of it in the common quarters (factory fixed costs: the start)
                assert was == now == 0
                continue
            assert table.loc[category, "previous_usd"] == pytest.approx(was, abs=1e-3)
            assert table.loc[category, "new_usd"] == pytest.approx(now, abs=1e-3)
            assert table.loc[category, "change_usd"] == pytest.approx(now - was, abs=1e-3)
        sheet = pd.read_excel(after / "roadmap.xlsx", sheet_name="Changes", header=None)
        summary = str(sheet.iloc[1, 0])
        added = new[~new["quarter"].isin(common)]
        assert (f"The quarter only the new plan covers ({added['quarter'].iloc[0]}): "
                f"{added['usd'].sum() / 1e6:,.1f} M.") in summary
        assert f"over the 15 quarters both plans cover (nominal): {(new[new['quarter'].isin(common)]['usd'].sum() - old[old['quarter'].isin(common)]['usd'].sum()) / 1e6:+,.1f} M" in summary


DEMAND_REASON = re.compile(r"planned demand of (?P<streams>[^;]+?) at its arrival \((?P<arrival>\d{4}Q\d)\): "
                           r"(?P<now>[\d,]+) units, against (?P<before>[\d,]+) before")


def test_each_changed_line_says_why_with_figures_read_again_from_the_two_plans_files(four_quarters):
    """Every changed line of each roll has a reason and no unchanged one has; where it quotes the
    planned demand at the line's arrival, the arrival is the line's online_quarter, the streams
    are those assignments.csv has its factory's racks of its type serving then, and the figures
    are forecast.csv's planning_demand summed over them, in each plan."""
    import openpyxl

    stages = _stages(four_quarters)
    quoted = 0
    for (_, before), (_, after) in zip(stages, stages[1:]):
        table = pd.read_csv(after / "changes.csv", keep_default_na=False)
        assert ((table["reasons"] != "") == (table["change"] != "unchanged")).all()
        assert set(table.loc[table["change"] != "unchanged", "reason_kind"]) <= {
            "demand", "new quarters", "traded", "unaccounted", "unused", "unknown"}
        assert (table.loc[table["change"] == "unchanged", "reason_kind"] == "").all()
        plans = {side: {name: pd.read_csv(plan / f"{name}.csv") for name in ("orders", "assignments", "forecast")}
                 for side, plan in (("before", before), ("now", after))}
        for line in table[table["change"] != "unchanged"].itertuples():
            found = DEMAND_REASON.match(line.reasons)
            if not found or " more" in found["streams"]:
                continue
            quoted += 1
            side = "now" if line.new_racks > 0 else "before"
            orders = plans[side]["orders"]
            arrival = orders[(orders["factory"] == line.factory) & (orders["rack_type"] == line.rack_type)
                             & (orders["order_quarter"] == line.order_quarter)]["online_quarter"]
            assert found["arrival"] in set(arrival), line
            streams = set(found["streams"].split(", "))
            serving = set()
            for files in plans.values():
                used = files["assignments"]
                used = used[(used["quarter"] == found["arrival"]) & (used["factory"] == line.factory)
                            & (used["rack_type"] == line.rack_type) & (used["racks"] > 1e-7)]
                serving |= set(used["region"] + "/" + used["workload"])
            assert streams == serving, line
            for side in ("before", "now"):
                forecast = plans[side]["forecast"]
                rows = forecast[(forecast["quarter"] == found["arrival"]) & (forecast["kind"] == "forecast")
                                & (forecast["region"] + "/" + forecast["workload"]).isin(streams)]
                assert len(rows) == len(streams)
                assert found[side] == f"{rows['planning_demand'].sum():,.0f}", (line, side)
        # the Changes sheet shows each reason beside its line, wrapped in a wide column
        sheet = openpyxl.load_workbook(after / "roadmap.xlsx")["Changes"]
        header = next(row for row in sheet.iter_rows() if row[0].value == "Factory")
        why = next(cell for cell in header if cell.value == "Why")
        assert sheet.column_dimensions[why.column_letter].width >= 80
        shown = [sheet.cell(header[0].row + 1 + i, why.column).value or "" for i in range(len(table))]
        assert shown == table["reasons"].tolist()
        assert all(sheet.cell(header[0].row + 1 + i, why.column).alignment.wrap_text for i in range(len(table)))
    assert quoted >= 20  # most changed lines quote demand: the check above is not vacuous


def test_orders_of_the_quarter_rolled_are_reported_as_sunk_not_as_a_saving(four_quarters):
    """A roll moves the orders placed in the quarter just ended before the new plan's start: paid,
    out of its NPV. The cost report once showed their capex annuity as a fall in capex_annuity
    (global-enterprise's first roll: -270 M, of which 238 M was these orders alone)."""
    import yaml

    stages = _stages(four_quarters)
    for (scenario_dir, before), (_, after) in zip(stages, stages[1:]):
        settings = yaml.safe_load((scenario_dir / "scenario.yaml").read_text())
        start, rate = pd.Period(settings["start"], freq="Q"), (1 + settings["discount_rate"]) ** 0.25 - 1
        racks = pd.read_csv(scenario_dir / "racks.csv").set_index("rack_type")
        orders = pd.read_csv(before / "orders.csv")
        common = pd.period_range(start + 1, start + settings["horizon_quarters"] - 1, freq="Q")
        expected = 0.0
        for o in orders[orders["order_quarter"] == str(start)].itertuples():
            rack = racks.loc[o.rack_type]
            life = int(rack["lifetime_quarters"])
            payment = o.racks * rack["price_usd"] / sum((1 + rate) ** -(int(rack["lead_time_quarters"]) + k)
                                                        for k in range(life))
            online = pd.Period(o.online_quarter, freq="Q")
            expected += payment * sum(online + k in common for k in range(life))
        assert expected > 1e6
        table = pd.read_csv(after / "cost_changes.csv").set_index("category")
        assert table.loc["capex_annuity_sunk", "change_usd"] == pytest.approx(expected, rel=1e-9)
        in_npv = table.drop(index="capex_annuity_sunk")["change_usd"].sum()
        summary = str(pd.read_excel(after / "roadmap.xlsx", sheet_name="Changes", header=None).iloc[1, 0])
        assert (f"It includes {-expected / 1e6:+,.1f} M that is not a saving: the racks ordered in {start} are paid before "
                "the new plan starts") in summary
        assert f"like for like, {(in_npv + expected) / 1e6:+,.1f} M." in summary


def test_a_previous_plan_written_before_sunk_capex_was_reported_is_compared_as_before(four_quarters, tmp_path):
    """Its costs.csv lacks the annuity of its own pre-start orders: reading that as zero would call
    them a cost the roll added, so the report leaves the sunk row and its sentence out."""
    before, after = four_quarters / "initial" / "plan", four_quarters / QUARTERS[0] / "plan"
    old = tmp_path / "old"
    shutil.copytree(before, old)
    costs = pd.read_csv(old / "costs.csv")
    assert (costs["category"] == "capex_annuity_sunk").any()  # global-enterprise has orders placed before 2027Q1
    costs[costs["category"] != "capex_annuity_sunk"].to_csv(old / "costs.csv", index=False)
    result = CliRunner().invoke(main, ["diff", str(old), str(after)])
    assert result.exit_code == 0, result.output
    assert "Costs in the NPV over the 15 quarters" in result.output and "capex_annuity_sunk" not in result.output
    assert "capex_annuity_sunk" in CliRunner().invoke(main, ["diff", str(before), str(after)]).output


def test_actuals_equal_to_p50_are_reported_and_change_arithmetic_holds(tmp_path):
    previous = tmp_path / "previous"
    assert CliRunner().invoke(main, ["plan", str(EXAMPLES / "global-enterprise"), "--out", str(previous), "--quiet"]).exit_code == 0
    forecast = pd.read_csv(previous / "forecast.csv")
    actuals = forecast[(forecast["kind"] == "forecast") & (forecast["quarter"] == "2027Q1")]
    actuals[["quarter", "region", "workload", "p50"]].rename(columns={"p50": "demand"}).to_csv(tmp_path / "a.csv", index=False)
    result = CliRunner().invoke(main, ["reforecast", str(EXAMPLES / "global-enterprise"), "--actuals", str(tmp_path / "a.csv"),
                                       "--previous", str(previous), "--out", str(tmp_path / "new"), "--quiet"])
    assert result.exit_code == 0, result.output
    changes = pd.read_csv(tmp_path / "new" / "plan" / "changes.csv")
    assert (changes["difference"] == changes["new_racks"] - changes["previous_racks"]).all()
    before = _by_key(pd.read_csv(previous / "orders.csv"))
    after = _by_key(pd.read_csv(tmp_path / "new" / "plan" / "orders.csv"))
    for row in changes.itertuples():
        key = (row.order_quarter, row.factory, row.rack_type)
        assert row.previous_racks == before.get(key, 0) and row.new_racks == after.get(key, 0)
        expected = ("unchanged" if row.difference == 0 else "added" if row.previous_racks == 0 else
                    "cancelled" if row.new_racks == 0 else "more" if row.difference > 0 else "fewer")
        assert row.change == expected
    sheet = pd.read_excel(tmp_path / "new" / "plan" / "roadmap.xlsx", sheet_name="Changes", header=None)
    assert "exactly the previous P50 forecast for every stream" in str(sheet.iloc[1, 0])
    assert (EXAMPLES / "global-enterprise" / "scenario.yaml").read_text().count("start: 2027Q1") == 1
    # Many plans cost about the same: the re-plan keeps to the previous orders among them (models/steady.py).
    summary = json.loads((tmp_path / "new" / "plan" / "plan.json").read_text())
    kept = summary["previous_orders"]
    assert kept["racks_after"] < kept["racks_before"] and kept["npv_change_musd"] <= kept["allowed_musd"] + 1e-6
    assert summary["mip_gap"] <= 0.005 + 1e-6  # by default kept within the optimality gap
    assert kept["racks_after"] <= changes["difference"].abs().sum()  # lines the model cannot change add to it
    assert f"changes {kept['lines_after']} ({kept['racks_after']} racks)" in str(sheet.iloc[1, 0])


BAD_ACTUALS = [
    ("wrong quarter", "2027Q2,us,training,5000", "row 2, column quarter", "expected 2027Q1"),
    ("unknown stream", "2027Q1,us,training,5000\n2027Q1,us,trainig,5000", "row 3, column region",
     "stream us/trainig is not in the scenario (did you mean 'us/training'?)"),
    ("negative demand", "2027Q1,us,training,-5", "row 2, column demand", ">= 0"),
    ("duplicate row", "2027Q1,us,training,5000\n2027Q1,us,training,5000", "row 3, column quarter", "duplicate"),
]


@pytest.mark.parametrize("lines, where, words", [c[1:] for c in BAD_ACTUALS], ids=[c[0] for c in BAD_ACTUALS])
def test_bad_actuals_exit_two_and_write_nothing(tmp_path, lines, where, words):
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("quarter,region,workload,demand\n" + lines + "\n")
    previous = tmp_path / "previous"
    previous.mkdir()
    result = CliRunner().invoke(main, ["reforecast", str(EXAMPLES / "global-enterprise"), "--actuals", str(actuals),
                                       "--previous", str(previous), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"actuals.csv {where}" in result.output and words in result.output
    assert not (tmp_path / "out").exists()


def _reforecast_with(tmp_path, scenario: Path, actuals: Path):
    previous = tmp_path / "previous"
    previous.mkdir(exist_ok=True)
    return CliRunner().invoke(main, ["reforecast", str(scenario), "--actuals", str(actuals), "--previous",
                                     str(previous), "--out", str(tmp_path / "out")])


def test_actuals_through_a_link_to_a_moved_file_are_named_as_such(tmp_path):
    actuals = tmp_path / "2027Q1.csv"
    actuals.symlink_to(tmp_path / "inbox" / "2027Q1.csv")
    result = _reforecast_with(tmp_path, EXAMPLES / "sovereign-eu", actuals)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"{actuals}: is a link to {tmp_path / 'inbox' / '2027Q1.csv'}, which does not "
                                     "exist; point the link at the file, or copy the file here")
    assert not (tmp_path / "out").exists()


def test_actuals_of_another_scenario_are_one_problem_not_one_per_row(tmp_path):
    result = _reforecast_with(tmp_path, EXAMPLES / "sovereign-eu", ROOT / "examples" / "quarterly" / "actuals" / "2027Q1.csv")
    assert result.exit_code == 2, result.output
    assert "1 problem found" in result.output and "are these the actuals of another scenario?" in result.output
    assert "apac/fine-tuning, apac/inference, apac/training, eu/fine-tuning and 5 more" in result.output
    assert not (tmp_path / "out").exists()


def test_an_actual_for_a_stream_planned_from_overrides_alone_says_what_to_do(tmp_path):
    scenario = tmp_path / "scenario"
    shutil.copytree(EXAMPLES / "global-enterprise", scenario)
    history = pd.read_csv(scenario / "demand_history.csv")
    history[~((history["region"] == "apac") & (history["workload"] == "fine-tuning"))].to_csv(
        scenario / "demand_history.csv", index=False)
    with open(scenario / "demand_overrides.csv", "a") as overrides:
        overrides.write("2027Q2,apac,fine-tuning,300\n")
    actuals = ROOT / "examples" / "quarterly" / "actuals" / "2027Q1.csv"
    row = 2 + int(pd.read_csv(actuals).query("region == 'apac' and workload == 'fine-tuning'").index[0])
    result = _reforecast_with(tmp_path, scenario, actuals)
    assert result.exit_code == 2, result.output
    assert "1 problem found" in result.output
    assert (f"2027Q1.csv row {row}, column region: stream apac/fine-tuning has no demand history in the scenario; "
            "a stream planned from demand_overrides.csv alone takes no actuals") in result.output


def test_diff_reports_the_same_changes(tmp_path, four_quarters):
    result = CliRunner().invoke(main, ["diff", str(four_quarters / "2027Q1" / "plan"), str(four_quarters / "2027Q2" / "plan"),
                                       "--out", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output
    assert "NPV" in result.output
    table = pd.read_csv(tmp_path / "d.csv")
    assert (table["difference"] == table["new_racks"] - table["previous_racks"]).all()
    # a rack type is marked moved on its changed lines only, and only where racks were both gained and lost
    table["moved"] = table["moved"].fillna("")
    marked = table[table["moved"] != ""]
    assert len(marked) > 0 and (marked["difference"] != 0).all()
    for (factory, rack_type), lines in table.groupby(["factory", "rack_type"]):
        if (lines["moved"] != "").any():
            assert (lines["difference"] > 0).any() and (lines["difference"] < 0).any(), (factory, rack_type)
            assert ((lines["moved"] != "") == (lines["difference"] != 0)).all(), (factory, rack_type)
    # the screen shows the changed lines, names left-aligned and numbers right-aligned under their headers
    lines = result.output.splitlines()
    header = next(line for line in lines if line.startswith("factory "))
    why = lines.index("why each line changed:")
    shown = lines[lines.index(header) + 1:why]
    changed = table[table["change"] != "unchanged"]
    assert len(shown) == len(changed) > 0
    number_end = header.index("difference") + len("difference")
    for line, row in zip(shown, changed.itertuples()):
        assert line.startswith(f"{row.factory} ") and f" {row.rack_type} " in line, line
        assert line[:number_end].endswith(f" {row.difference}") and line[number_end] == " ", line
    # then each changed line's reason, a sentence too long for a column, as the re-forecast gave it
    assert "reasons" not in header and "reason_kind" not in header
    reforecast = pd.read_csv(four_quarters / "2027Q2" / "plan" / "changes.csv", keep_default_na=False)
    assert table["reasons"].fillna("").tolist() == reforecast["reasons"].tolist()
    assert lines[why + 1:] == [f"  {row.factory} {row.rack_type} ordered {row.order_quarter} ({row.difference:+d}): "
                               f"{row.reasons}" for row in changed.itertuples()]


def test_actuals_are_appended_exactly_and_a_tenfold_jump_is_warned_about_in_the_actuals_file(tmp_path):
    """A seven-digit actual was appended to the rolled history as 5.51112e+06 (`:g` keeps six
    digits); a typo in the actuals was warned about as a row of the rolled history file."""
    previous = tmp_path / "previous"
    assert CliRunner().invoke(main, ["plan", str(EXAMPLES / "global-enterprise"), "--out", str(previous), "--quiet"]).exit_code == 0
    actuals = pd.read_csv(ROOT / "examples" / "quarterly" / "actuals" / "2027Q1.csv")
    row = int(actuals.index[(actuals["region"] == "us") & (actuals["workload"] == "training")][0])
    actuals.loc[row, "demand"] = 5511123  # three digits too many
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    result = CliRunner().invoke(main, ["reforecast", str(EXAMPLES / "global-enterprise"), "--actuals",
                                       str(tmp_path / "actuals.csv"), "--previous", str(previous),
                                       "--out", str(tmp_path / "new"), "--quiet"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings[0].startswith(f"warning: actuals.csv row {row + 2}, column demand: 5,511,123 for us/training "
                                  "in 2027Q1 is "), warnings
    assert not any("demand_history.csv row" in warning for warning in warnings), warnings
    history = pd.read_csv(tmp_path / "new" / "scenario" / "demand_history.csv", dtype=str)
    appended = history[(history["quarter"] == "2027Q1") & (history["region"] == "us") & (history["workload"] == "training")]
    assert appended["demand"].tolist() == ["5511123"]


def test_an_actual_that_sends_a_forecast_past_any_scale_is_refused_naming_the_stream(tmp_path):
    """An actual of 1e-320 beside hundreds put sovereign-eu's P90, which it plans at, at 1e21 and
    more on the log scale; the model built on it broke its own rows, and the planner stopped with an
    internal error (exit 1)."""
    previous = tmp_path / "previous"
    assert CliRunner().invoke(main, ["plan", str(EXAMPLES / "sovereign-eu"), "--out", str(previous), "--quiet"]).exit_code == 0
    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    actuals = history[history["quarter"] == "2026Q4"].assign(quarter="2027Q1").astype({"demand": object})
    actuals.loc[(actuals["region"] == "eu-de") & (actuals["workload"] == "commercial"), "demand"] = "1e-320"
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    result = CliRunner().invoke(main, ["reforecast", str(EXAMPLES / "sovereign-eu"), "--actuals",
                                       str(tmp_path / "actuals.csv"), "--previous", str(previous),
                                       "--out", str(tmp_path / "new"), "--quiet"])
    assert result.exit_code == 2, result.output
    error = result.stderr.splitlines()[-1]
    assert error.startswith(f"{EXAMPLES / 'sovereign-eu'} rolled forward with {tmp_path / 'actuals.csv'}: "
                            "demand_history.csv: stream eu-de/commercial: demand at P90 reaches "), error
    assert "past the 1,000,000,000,000 units a plan can take" in error and "(2027Q1)" in error
    assert "partial" not in result.stderr and not (tmp_path / "new").exists()


def test_out_holding_what_the_command_reads_is_refused(four_quarters, tmp_path):
    """A rolled quarter's directory is a previous output (it may be replaced), but it holds the
    scenario, plan or actuals being read: replacing it whole would delete them."""
    quarter = four_quarters / "2027Q1"
    before = sorted(str(path.relative_to(quarter)) for path in quarter.rglob("*"))
    actuals = ROOT / "examples" / "quarterly" / "actuals" / "2027Q2.csv"
    runs = [["reforecast", str(quarter / "scenario"), "--actuals", str(actuals), "--previous", str(quarter / "plan"),
             "--out", str(quarter)],
            ["plan", str(quarter / "scenario"), "--out", str(quarter), "--quiet"],
            ["forecast", str(quarter / "scenario"), "--out", str(quarter)]]
    for args in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert f"{quarter} holds {quarter / 'scenario'}, which this command reads" in result.stderr
    (tmp_path / OUTPUT_MARKER).write_text("")  # a previous output, holding the actuals this run reads
    (tmp_path / "mine.csv").write_bytes(actuals.read_bytes())
    result = CliRunner().invoke(main, ["reforecast", str(EXAMPLES / "global-enterprise"), "--actuals",
                                       str(tmp_path / "mine.csv"), "--previous", str(quarter / "plan"),
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "mine.csv, which this command reads" in result.stderr, result.output
    assert sorted(str(path.relative_to(quarter)) for path in quarter.rglob("*")) == before


def test_a_damaged_or_foreign_plan_directory_is_an_input_error_naming_file_row_and_column(tmp_path, four_quarters):
    """diff and reforecast read plan directories back; a hand-edited or foreign one was an internal
    error (KeyError, exit 1) instead of a message a planner can act on."""
    damaged = tmp_path / "damaged"
    shutil.copytree(four_quarters / "2027Q1" / "plan", damaged)
    orders = pd.read_csv(damaged / "orders.csv", dtype=str)
    orders.loc[1, "racks"] = "lots"
    orders.to_csv(damaged / "orders.csv", index=False)
    good = str(four_quarters / "2027Q2" / "plan")
    actuals = ROOT / "examples" / "quarterly" / "actuals" / "2027Q2.csv"
    runs = {"diff": ["diff", good, str(damaged)],
            "reforecast": ["reforecast", str(four_quarters / "2027Q1" / "scenario"), "--actuals", str(actuals),
                           "--previous", str(damaged), "--out", str(tmp_path / "out")]}
    for name, args in runs.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (name, result.output)
        assert "orders.csv row 3, column racks: got 'lots'; expected a whole number" in result.stderr, (name, result.output)
    assert not (tmp_path / "out").exists()

    orders.drop(columns="locked").to_csv(damaged / "orders.csv", index=False)  # a roll would carry the locks twice
    result = CliRunner().invoke(main, ["diff", good, str(damaged)])
    assert result.exit_code == 2 and "orders.csv row 1, column locked: required column is missing" in result.stderr

    # a scenario, or a re-forecast's output, for a plan: said so, not as the files it lacks
    result = CliRunner().invoke(main, ["diff", good, str(EXAMPLES / "global-enterprise")])
    assert result.exit_code == 2 and "scenario.yaml: this is a scenario directory, not a plan" in result.stderr, \
        result.output
    result = CliRunner().invoke(main, ["diff", good, str(four_quarters / "2027Q1")])
    assert result.exit_code == 2, result.output
    assert f"plan: this is a re-forecast's output, whose plan is in {four_quarters / '2027Q1' / 'plan'}" in result.stderr
    (damaged / "forecast.csv").unlink()
    result = CliRunner().invoke(main, ["diff", good, str(damaged)])
    assert result.exit_code == 2 and "forecast.csv: file not found" in result.stderr, result.output
    (damaged / "forecast.csv").symlink_to(tmp_path / "archive" / "forecast.csv")  # a link to a file since moved
    result = CliRunner().invoke(main, ["diff", good, str(damaged)])
    assert result.exit_code == 2, result.output
    assert f"forecast.csv: is a link to {tmp_path / 'archive' / 'forecast.csv'}, which does not exist" in result.stderr


def test_diff_never_writes_over_a_file_it_reads_and_makes_missing_folders(tmp_path, four_quarters):
    plan_a, plan_b = four_quarters / "2027Q1" / "plan", four_quarters / "2027Q2" / "plan"
    before = (plan_a / "orders.csv").read_bytes()
    for target in (plan_a / "orders.csv", plan_b / "forecast.csv", plan_b / "plan.json"):
        result = CliRunner().invoke(main, ["diff", str(plan_a), str(plan_b), "--out", str(target)])
        assert result.exit_code == 2 and "is a file this command reads (in " in result.stderr, result.output
    assert (plan_a / "orders.csv").read_bytes() == before  # it was replaced by the change report
    nested = tmp_path / "reports" / "2027Q2" / "changes.csv"
    result = CliRunner().invoke(main, ["diff", str(plan_a), str(plan_b), "--out", str(nested)])
    assert result.exit_code == 0 and "difference" in nested.read_text().splitlines()[0], result.output


def test_a_previous_plan_of_another_scenario_is_named_before_anything_is_rolled(tmp_path, four_quarters):
    """Its orders to carry name factories this scenario does not have: the rolled scenario failed
    to load, and the message named a staging directory that no longer existed."""
    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    last = history[history["quarter"] == history["quarter"].max()]
    actuals = tmp_path / "actuals.csv"
    last.assign(quarter=str(pd.Period(last["quarter"].iloc[0], freq="Q") + 1)).to_csv(actuals, index=False)
    previous = four_quarters / "initial" / "plan"  # global-enterprise's
    result = CliRunner().invoke(main, ["reforecast", str(EXAMPLES / "sovereign-eu"), "--actuals", str(actuals),
                                       "--previous", str(previous), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"{previous} (the previous plan) is not valid" in result.stderr
    assert "column factory" in result.stderr and "is --previous this scenario's plan?" in result.stderr
    assert ".partial-" not in result.stderr and not (tmp_path / "out").exists()


def test_a_previous_plan_of_an_earlier_quarter_is_refused(tmp_path, four_quarters):
    """A skipped or repeated quarter: the initial plan's orders for 2027Q2 are already locked in the
    2027Q1-rolled scenario, and carrying them again counted them twice (the plan checker then
    failed on a supply cap, reported as an internal error)."""
    result = CliRunner().invoke(main, ["reforecast", str(four_quarters / "2027Q1" / "scenario"), "--actuals",
                                       str(ROOT / "examples" / "quarterly" / "actuals" / "2027Q2.csv"),
                                       "--previous", str(four_quarters / "initial" / "plan"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "column quarter: the plan starts in 2027Q1, but the scenario" in result.stderr
    assert "starts in 2027Q2" in result.stderr and not (tmp_path / "out").exists()


def _snapshot(models: dict, start: str = "2027Q1", units: float = 100.0, npv: float = 1e9, scales: dict | None = None):
    from planner.changes import PlanSnapshot

    quarters = [str(q) for q in pd.period_range(start, periods=4, freq="Q")]
    forecast = pd.DataFrame([{"quarter": q, "region": region, "workload": "w", "kind": "forecast",
                              "planning_demand": units * (1 + i), "p50": units, "model": model}
                             for region, model in models.items() for i, q in enumerate(quarters)])
    orders = pd.DataFrame({"order_quarter": [start], "factory": ["f"], "rack_type": ["r"], "racks": [3]})
    fitted = None if scales is None else pd.DataFrame([{"region": r, "workload": "w", "scale": v} for r, v in scales.items()])
    return PlanSnapshot(orders, forecast, npv, models=fitted)


def test_a_deferral_with_a_cut_is_read_as_a_move_not_as_unrelated_cancels_and_adds():
    """Only a factory's rack type whose total was unchanged was marked moved: 10 racks deferred a
    quarter and cut to 6 read as a cancel and an unrelated add, though procurement reschedules."""
    from planner.changes import PlanSnapshot, compare

    def snapshot(lines):
        orders = pd.DataFrame(lines, columns=["factory", "rack_type", "order_quarter", "racks"])
        return PlanSnapshot(orders, _snapshot({"a": "theta"}).forecast, 1e9)

    previous = [("f", "r", "2027Q2", 10), ("f", "r", "2027Q4", 5), ("g", "r", "2027Q2", 4), ("h", "r", "2027Q2", 1),
                ("k", "r", "2027Q1", 1), ("k", "r", "2027Q3", 1)]
    new = [("f", "r", "2027Q3", 6), ("f", "r", "2027Q4", 5), ("g", "r", "2027Q1", 4), ("h", "r", "2027Q2", 3),
           ("h", "r", "2027Q3", 1), ("k", "r", "2027Q2", 2)]
    changes = compare(snapshot(previous), snapshot(new))
    moved = changes.orders.set_index(["factory", "order_quarter"])["moved"]
    assert moved[("f", "2027Q2")] == moved[("f", "2027Q3")] == "later" and moved[("f", "2027Q4")] == ""
    assert moved[("g", "2027Q1")] == moved[("g", "2027Q2")] == "earlier"
    # only gained, or lost and gained around the same mean quarter: no way to say it moved
    assert (moved.loc[["h", "k"]] == "").all()
    assert "Moved between quarters: 6 r racks at f later (net -4); 4 r racks at g earlier (total unchanged)." in changes.summary


def test_the_change_summary_says_one_order_line_and_one_rack_in_the_singular():
    """It read '2 order lines changed' and '1 r racks at f later' for one rack deferred a quarter."""
    from planner.changes import PlanSnapshot, compare

    def snapshot(lines):
        orders = pd.DataFrame(lines, columns=["factory", "rack_type", "order_quarter", "racks"])
        return PlanSnapshot(orders, _snapshot({"a": "theta"}).forecast, 1e9)

    one_rack_later = compare(snapshot([("f", "r", "2027Q2", 1)]), snapshot([("f", "r", "2027Q3", 1)])).summary
    assert "2 order lines changed (1 added, 1 cancelled); net +0 racks." in one_rack_later
    assert "Moved between quarters: 1 r rack at f later (total unchanged)." in one_rack_later
    one_more = compare(snapshot([("f", "r", "2027Q2", 1)]), snapshot([("f", "r", "2027Q2", 2)])).summary
    assert "1 order line changed (1 increased); net +1 rack." in one_more
    assert "  " not in one_more  # no model changed: that part of the summary leaves no double space


def test_the_change_report_names_the_streams_whose_forecast_scale_changed():
    """`auto` moves a stream from the log scale to demand's units once a quarter at zero arrives:
    its planned demand may move with the same models, and the report said nothing of why."""
    from planner.changes import compare

    log, moved = {"a": "log", "b": "log"}, {"a": "log", "b": "units"}
    changes = compare(_snapshot({"a": "theta", "b": "arima+drift"}, scales=log),
                      _snapshot({"a": "theta", "b": "drift+arima"}, units=80, scales=moved))
    assert changes.forecast.set_index("region").loc["b", ["previous_scale", "new_scale"]].tolist() == ["log", "units"]
    assert "Forecast scale changed for 1 of 2 streams: b/w (drift+arima, log -> units scale)." in changes.summary
    both = compare(_snapshot({"a": "theta", "b": "arima"}, scales=log), _snapshot({"a": "drift", "b": "arima"}, scales=moved))
    assert ("Forecast model or scale changed for 2 of 2 streams: a/w (theta -> drift); b/w (arima, log -> units scale)."
            in both.summary)
    unknown = compare(_snapshot({"a": "theta", "b": "arima"}), _snapshot({"a": "theta", "b": "arima"}, scales=moved))
    assert "Forecast" not in unknown.summary  # a plan without forecast_models.csv names no scale to compare


def test_diff_reads_each_plans_scales_from_forecast_models_csv_and_names_a_bad_one(tmp_path, four_quarters):
    plan = four_quarters / "2027Q1" / "plan"
    edited = tmp_path / "edited"
    shutil.copytree(plan, edited)
    models = pd.read_csv(edited / "forecast_models.csv", dtype=str, keep_default_na=False)
    row = int(models.index[models["scale"] == "log"][0])
    stream = f"{models.at[row, 'region']}/{models.at[row, 'workload']}"
    models.loc[row, "scale"] = "units"
    models.to_csv(edited / "forecast_models.csv", index=False)
    result = CliRunner().invoke(main, ["diff", str(plan), str(edited), "--out", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output
    assert "Forecast scale changed for 1 of " in result.output and f"{stream} (" in result.output
    assert "log -> units scale)" in result.output
    models.loc[row, "scale"] = "linear"
    models.to_csv(edited / "forecast_models.csv", index=False)
    result = CliRunner().invoke(main, ["diff", str(plan), str(edited), "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 2
    assert f"forecast_models.csv row {row + 2}, column scale" in result.output
    assert not (tmp_path / "e.csv").exists()


def test_the_change_report_names_the_streams_whose_forecast_model_changed():
    from planner.changes import compare

    changes = compare(_snapshot({"a": "theta", "b": "arima+drift"}), _snapshot({"a": "theta", "b": "ets-damped"}, units=130))
    table = changes.forecast.set_index("region")
    assert table.loc["b", ["previous_model", "new_model"]].tolist() == ["arima+drift", "ets-damped"]
    assert table.loc["a", "previous_model"] == table.loc["a", "new_model"] == "theta"
    assert "Forecast model changed for 1 of 2 streams: b/w (arima+drift -> ets-damped)." in changes.summary
    assert "NPV 1,000.0 M vs 1,000.0 M before (+0.0 M)." in changes.summary  # same start: no roll to explain
    unchanged = compare(_snapshot({"a": "theta"}), _snapshot({"a": "theta"}))
    assert "Forecast model" not in unchanged.summary
    reranked = compare(_snapshot({"a": "arima+drift+theta"}), _snapshot({"a": "drift+arima+theta"}))  # the same mean
    assert "Forecast model" not in reranked.summary
    older = compare(_snapshot({"a": ""}), _snapshot({"a": "theta"}))  # a plan from before forecast.csv named models
    assert "Forecast model" not in older.summary


def test_the_change_report_says_the_horizons_differ_only_when_the_plans_start_apart():
    from planner.changes import compare

    rolled = compare(_snapshot({"a": "theta"}), _snapshot({"a": "theta"}, start="2027Q2"))
    assert "the horizons differ by the quarter rolled" in rolled.summary
    assert "the horizons differ" not in compare(_snapshot({"a": "theta"}), _snapshot({"a": "theta"})).summary


def test_reforecast_takes_the_solver_flags_plan_takes_for_this_run_only(tmp_path):
    """Only scenario.yaml could set a re-forecast's time limit or gap; a user who planned with
    --time-limit had no way to re-plan the same way."""
    previous = tmp_path / "previous"
    assert CliRunner().invoke(main, ["plan", str(EXAMPLES / "sovereign-eu"), "--out", str(previous), "--quiet"]).exit_code == 0
    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    last = history[history["quarter"] == history["quarter"].max()]
    actuals = tmp_path / "actuals.csv"
    last.assign(quarter="2027Q1").to_csv(actuals, index=False)
    arguments = ["reforecast", str(EXAMPLES / "sovereign-eu"), "--actuals", str(actuals), "--previous", str(previous)]
    missing = CliRunner().invoke(main, [*arguments, "--out", str(tmp_path / "refused"), "--solver", "no-such-solver"])
    assert missing.exit_code == 2 and "solver 'no-such-solver' (--solver) is not available" in missing.stderr
    assert not (tmp_path / "refused").exists()
    result = CliRunner().invoke(main, [*arguments, "--out", str(tmp_path / "new"), "--time-limit", "45", "--mip-gap", "0.02",
                                       "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "build and solve: highs, time limit 45 s, gap 2.00%" in result.stderr
    assert json.loads((tmp_path / "new" / "plan" / "plan.json").read_text())["mip_gap"] <= 0.02 + 1e-9
    settings = (tmp_path / "new" / "scenario" / "scenario.yaml").read_text()
    assert "time_limit_s: 120" in settings and "mip_gap: 0.005" in settings


def test_a_roll_leaves_out_the_deals_of_the_quarter_just_ended_and_nothing_else(four_quarters):
    """Kept, the deals of quarters now past fell before the rolled scenario's start, where a deal
    typed in the wrong year lands too, and every later quarter warned about them."""
    original = pd.read_csv(EXAMPLES / "global-enterprise" / "demand_overrides.csv")
    for ended in ("2027Q2", "2027Q3", "2027Q4"):
        rolled = pd.read_csv(four_quarters / ended / "scenario" / "demand_overrides.csv")
        assert rolled.to_dict("records") == original[original["quarter"] > ended].to_dict("records"), ended
    last = load_scenario(four_quarters / "2027Q4" / "scenario")
    assert not [warning for warning in last.warnings if "demand_overrides.csv" in warning], last.warnings


def test_a_file_open_in_a_spreadsheet_is_warned_about_and_its_lock_file_is_not_rolled_on(tmp_path):
    """racks.csv edited in LibreOffice and not yet saved: the plan read the file as it was, without a
    word. Its lock file, copied into the rolled scenario like any other file, would say there that
    a file no one has open is open."""
    from planner.reforecast import read_actuals, roll_forward

    directory = tmp_path / "global-enterprise"
    shutil.copytree(EXAMPLES / "global-enterprise", directory)
    (directory / ".~lock.racks.csv#").write_text("planner,host,user;\n")
    (directory / "~$orders.csv").write_bytes(b"\0")  # Excel's
    (directory / ".DS_Store").write_bytes(b"\0")
    scenario = load_scenario(directory)
    said = [warning for warning in scenario.warnings if "open in a spreadsheet" in warning]
    assert said == ["racks.csv is open in a spreadsheet (.~lock.racks.csv# is beside it): changes not yet saved there "
                    "are not in this run; save them and run again",
                    "orders.csv is open in a spreadsheet (~$orders.csv is beside it): changes not yet saved there are "
                    "not in this run; save them and run again"]
    actuals, _ = read_actuals(ROOT / "examples" / "quarterly" / "actuals" / "2027Q1.csv", scenario)
    rolled = tmp_path / "rolled"
    rolled.mkdir()
    roll_forward(scenario, actuals, pd.DataFrame(columns=["order_quarter", "factory", "rack_type", "racks"]), rolled)
    left = {path.name for path in directory.iterdir()} - {path.name for path in rolled.iterdir()}
    assert left == {".~lock.racks.csv#", "~$orders.csv", ".DS_Store"}
    assert not [warning for warning in load_scenario(rolled).warnings if "open in a spreadsheet" in warning]


def test_an_output_directory_given_for_a_scenario_is_named_as_such(four_quarters):
    """A plan's --out holds orders.csv, fleet.csv and factories.csv under a scenario's names: given to
    validate, it was judged as a scenario, eleven problems none of which said what had happened."""
    for directory, words in ((four_quarters / "initial" / "plan", "this is an output directory the planner wrote"),
                             (four_quarters / "2027Q1", "this is a re-forecast's output, whose rolled scenario is in "
                                                        f"{four_quarters / '2027Q1' / 'scenario'}: give that directory")):
        result = CliRunner().invoke(main, ["validate", str(directory)])
        assert result.exit_code == 2, result.output
        assert "1 problem found" in result.stderr and f"scenario.yaml: {words}" in result.stderr, result.stderr


@pytest.fixture(scope="module")
def sovereign_plan(tmp_path_factory) -> Path:
    """sovereign-eu planned once for the module (csv and json: what diff and reforecast read back)."""
    out = tmp_path_factory.mktemp("sovereign-plan") / "plan"
    result = CliRunner().invoke(main, ["plan", str(EXAMPLES / "sovereign-eu"), "--out", str(out), "--quiet",
                                       "--format", "csv,json"])
    assert result.exit_code == 0, result.output
    return out


READ_BACK = ["orders.csv", "forecast.csv", "costs.csv", "forecast_models.csv", "assignments.csv"]
# each file's place in what read_plan_files returns
READ_BACK_AS = {"orders.csv": 0, "forecast.csv": 1, "costs.csv": 3, "forecast_models.csv": 4,
                "actuals_vs_forecast.csv": 5, "earlier_forecasts.csv": 7, "assignments.csv": 8}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_one_cell_of_a_plan_read_back_set_to_anything_is_compared_or_refused_by_file_never_a_crash(
        sovereign_plan, data):
    """A plan directory is read back by `diff` and `reforecast --previous`, and its CSVs are open
    to anyone with a spreadsheet: any cell of the files read back set to an awkward value or any
    short text leaves `planner diff` at exit 0, or 2 with the problems listed in that file, one at that row."""
    _one_cell_set_to_anything(sovereign_plan, sovereign_plan, READ_BACK, data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_one_cell_of_a_rolled_plans_record_set_to_anything_is_compared_or_refused_by_file_never_a_crash(
        four_quarters, data):
    """The same for the record a re-forecast carries on from plan to plan (actuals against the
    forecasts on record, and the forecasts still to be scored), compared with the plan before it."""
    _one_cell_set_to_anything(four_quarters / "2027Q1" / "plan", four_quarters / "2027Q2" / "plan",
                              ["actuals_vs_forecast.csv", "earlier_forecasts.csv"], data)


def _one_cell_set_to_anything(previous: Path, plan: Path, files: list[str], data) -> None:
    """Set one cell of one of `files` in a copy of `plan` to an awkward value or any short text,
    diff `previous` against the copy, and check it is compared with that row read back, or refused
    by that file and row."""
    name = data.draw(st.sampled_from(files), label="file")
    rows = read_rows(plan / name)
    row = data.draw(st.integers(2, len(rows) + 1), label="row")
    column = data.draw(st.sampled_from(list(rows[0])), label="column")
    value = data.draw(st.one_of(st.sampled_from(AWKWARD_CELLS), st.text(max_size=12)), label="value")
    with tempfile.TemporaryDirectory() as folder:
        edited = Path(shutil.copytree(plan, Path(folder) / "edited"))
        set_cell(edited, name, row, column, value)
        result = CliRunner().invoke(main, ["diff", str(previous), str(edited)])
        kept = result.exit_code != 0 or row in read_plan_files(edited)[READ_BACK_AS[name]].index
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2) and "Traceback" not in result.output, result.output
    assert kept, f"{name} row {row} was dropped, not refused"
    if result.exit_code == 2:
        listed = [line[4:] for line in result.stderr.splitlines() if line.startswith("  - ")]
        assert listed and all(line.startswith(f"{name} ") or line.startswith(f"{name}:") for line in listed), result.stderr
        assert any(f"{name} row {row}," in line or f"duplicate of row {row} (" in line for line in listed), result.stderr


@pytest.mark.parametrize("content, problem", [
    ("garbage", "plan.json: is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    ("[]", "plan.json: expected a JSON object with the plan's objective_usd"),
    ('{"objective_usd": "abc"}', "plan.json, column objective_usd: got 'abc'; expected a finite number (USD)"),
    ('{"objective_usd": true}', "plan.json, column objective_usd: got True; expected a finite number (USD)"),
    ('{"objective_usd": 1e999}', "plan.json, column objective_usd: got inf; expected a finite number (USD)"),
    ('{"objective_usd": NaN}', "plan.json, column objective_usd: got nan; expected a finite number (USD)"),
    ('{"objective_usd": 1.0, "planning_quantile": 2}',
     "plan.json, column planning_quantile: got 2; expected a number between 0 and 1"),
])
def test_a_damaged_plan_json_is_named_by_its_key_and_what_was_expected(sovereign_plan, tmp_path, content, problem):
    """plan.json gives diff the NPV to compare and the quantile planned for; an NPV of 1e999 (read
    as inf) was compared as such: 'NPV inf M vs 709.7 M before (+inf M)'."""
    edited = Path(shutil.copytree(sovereign_plan, tmp_path / "edited"))
    (edited / "plan.json").write_text(content)
    result = CliRunner().invoke(main, ["diff", str(sovereign_plan), str(edited)])
    assert result.exit_code == 2, result.output
    assert f"  - {problem}" in result.stderr.splitlines(), result.stderr
