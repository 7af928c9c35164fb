"""The record of actuals against the forecasts made before them (planner/actuals_record.py)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl.utils import get_column_letter

from planner.actuals_record import (COLUMNS, SHARE_COLUMNS, band_shares, extended_record, forecasts_on_record,
                                    plan_forecasts, quarter_against_forecasts, record_summary)
from planner.cli import main
from planner.xlsx_tables import HEADERS
from tests.conftest import EXAMPLES, QUARTERS, ROOT, readability_problems

ACTUALS = ROOT / "examples" / "quarterly" / "actuals"


def _forecast(quarter: str = "2027Q1", deals: dict | None = None) -> pd.DataFrame:
    """Three streams whose P10, P50 and P90 are 80, 100 and 120, planned at P90, with any deals."""
    rows = []
    for region in ("a", "b", "c"):
        delta = (deals or {}).get(region, 0.0)
        rows.append({"quarter": quarter, "region": region, "workload": "w", "kind": "forecast", "p10": 80.0, "p50": 100.0,
                     "p90": 120.0, "override_delta": delta, "planning_demand": max(120.0 + delta, 0.0), "model": "theta"})
    rows.append({**rows[0], "quarter": "2026Q4", "kind": "history", "planning_demand": float("nan")})  # not compared
    return pd.DataFrame(rows)


def _scored(forecast: pd.DataFrame, actuals: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """The record of `quarter` against one plan's forecast (a quarter ahead)."""
    return quarter_against_forecasts(plan_forecasts(forecast), actuals, quarter)


def _actuals(values: dict, quarter: str = "2027Q1") -> pd.DataFrame:
    return pd.DataFrame([{"quarter": quarter, "region": r, "workload": "w", "demand": v} for r, v in values.items()])


def test_each_actual_is_placed_among_the_forecasts_quantiles_with_the_known_deals_added():
    record = _scored(_forecast(deals={"c": 50.0}), _actuals({"a": 70, "b": 110, "c": 160}), "2027Q1")
    assert list(record.columns) == COLUMNS and len(record) == 3
    rows = record.set_index("region")
    assert rows.loc["a", "position"] == "below P10" and rows.loc["a", "previous_low"] == 80
    assert rows.loc["b", "position"] == "P50-P90" and rows.loc["b", "above_planned_units"] == 0
    # c's deal of 50 moves its whole forecast, as it moved the demand planned for: 160 sits inside 130-170
    assert rows.loc["c", ["previous_low", "previous_p50", "previous_high", "previous_planned"]].tolist() == [130, 150, 170, 170]
    assert rows.loc["c", "position"] == "P50-P90" and rows.loc["c", "previous_deals"] == 50
    over = _scored(_forecast(), _actuals({"a": 125, "b": 100, "c": 80}), "2027Q1").set_index("region")
    assert over.loc["a", ["position", "above_planned_units"]].tolist() == ["above P90", 5]
    assert over.loc["b", "position"] == "P10-P50" and over.loc["c", "position"] == "P10-P50"  # a quantile's own value is inside
    assert set(over["band"]) == {"P10-P90"}


def test_the_summary_names_the_streams_outside_the_band_and_a_deal_that_did_not_come():
    record = _scored(_forecast(deals={"c": 50.0}), _actuals({"a": 70, "b": 110, "c": 100}), "2027Q1")
    text = record_summary(record, "2027Q1", "P90")
    assert "2 of 3 streams came in outside its P10-P90 band: a/w at 70 below P10 (80), " in text
    assert "c/w at 100 below P10 (130 with +50 of known deals)" in text
    expected_total = (70 + 110 + 100) / (100 + 100 + 150) - 1
    assert f"Actual demand in 2027Q1 was {expected_total:+.1%} against the previous P50 forecast in total" in text
    assert "above the demand the previous plan was made for" not in text  # none exceeded its P90
    assert "quarters on record" not in text  # one quarter is no record yet
    exact = _scored(_forecast(deals={"c": 50.0}), _actuals({"a": 100, "b": 100, "c": 150}), "2027Q1")
    assert record_summary(exact, "2027Q1", "P90").startswith(
        "Actual demand in 2027Q1 was exactly the previous P50 forecast for every stream; every stream came in inside")


def test_the_record_grows_by_a_quarter_and_counts_how_often_actuals_fell_outside_the_band():
    first = _scored(_forecast("2027Q1"), _actuals({"a": 70, "b": 100, "c": 100}, "2027Q1"), "2027Q1")
    second = _scored(_forecast("2027Q2"), _actuals({"a": 130, "b": 125, "c": 100}, "2027Q2"), "2027Q2")
    record = extended_record(first, second)
    assert record["quarter"].tolist() == ["2027Q1"] * 3 + ["2027Q2"] * 3
    text = record_summary(record, "2027Q2", "P90")
    assert ("Over the 2 quarters on record (2027Q1 to 2027Q2), actuals fell below and above the P10-P90 band (10% and "
            "10% expected) 17% and 33% of the time as forecast a quarter before (6 actuals); ") in text
    assert "2 of 3 above the demand the previous plan was made for (P90): a/w by 10, b/w by 5" in text
    again = extended_record(record, second.assign(actual=100.0))  # the same quarter rolled again replaces its rows
    assert len(again) == 6 and (again[again["quarter"] == "2027Q2"]["actual"] == 100).all()


def test_the_band_shares_count_each_number_of_quarters_ahead_over_the_whole_record():
    first = _scored(_forecast("2027Q1"), _actuals({"a": 70, "b": 100, "c": 100}, "2027Q1"), "2027Q1")
    second = _scored(_forecast("2027Q2"), _actuals({"a": 130, "b": 125, "c": 100}, "2027Q2"), "2027Q2")
    # 2027Q2's actuals against an older plan's forecast, made with other deals: 130 below a's P10 of 140, 125 and
    # 100 between b's P50 and P90 (110-130) and c's (90-110)
    older = _scored(_forecast("2027Q2", deals={"a": 60.0, "b": 10.0, "c": -10.0}),
                    _actuals({"a": 130, "b": 125, "c": 100}, "2027Q2"), "2027Q2").assign(quarters_ahead=2)
    shares = band_shares(pd.concat([first, second, older], ignore_index=True))
    assert list(shares.columns) == SHARE_COLUMNS
    shares = shares.set_index("quarters_ahead")
    # a quarter ahead: 70 below P10, 130 and 125 above P90, and those two alone above the P50 of 100 (100 is not)
    assert shares.loc[1, ["band", "actuals", "below_band", "above_band", "above_p50"]].tolist() == ["P10-P90", 6, 1, 2, 2]
    assert shares.loc[2, ["actuals", "below_band", "above_band", "above_p50"]].tolist() == [3, 1, 0, 2]
    assert shares.loc[1, "share_above"] == pytest.approx(2 / 6) and shares.loc[2, "share_above_p50"] == pytest.approx(2 / 3)
    assert shares.loc[1, ["expected_below", "expected_above"]].tolist() == pytest.approx([0.1, 0.1])
    no_p50 = band_shares(first.assign(previous_p50=float("nan"))).iloc[0]  # a scenario without 0.5 in its list
    assert pd.isna(no_p50["above_p50"]) and pd.isna(no_p50["share_above_p50"]) and no_p50["below_band"] == 1
    changed = band_shares(pd.concat([first, second.assign(band="P5-P95")])).iloc[0]  # the list changed between plans
    assert changed["band"] == "" and pd.isna(changed["expected_below"]) and changed["actuals"] == 6
    assert band_shares(first.assign(band="", position="")).empty  # plans that showed no quantile


def _plan(first: str, quarters: int, quantiles: dict) -> pd.DataFrame:
    """One stream's forecast.csv rows from `first` on, the same quantile values every quarter."""
    planned = pd.period_range(first, periods=quarters, freq="Q").astype(str)
    return pd.DataFrame([{"quarter": q, "region": "a", "workload": "w", "kind": "forecast", "override_delta": 0.0,
                          "planning_demand": quantiles["p50"], "model": "theta", **quantiles} for q in planned])


def test_a_quarter_is_scored_against_every_earlier_plans_forecast_of_it_each_in_its_own_quantiles():
    """The forecast that bought a quarter's racks was made a lead time before it: a plan made after
    2026Q4 (P10-P90) and the one after 2027Q1 (P5-P95, the scenario changed its list) both forecast
    2027Q2, so its actual is placed against both, 2 and 1 quarters ahead."""
    first = plan_forecasts(_plan("2027Q1", 4, {"p10": 80.0, "p50": 100.0, "p90": 120.0}))
    carried = forecasts_on_record(None, _plan("2027Q1", 4, {"p10": 80.0, "p50": 100.0, "p90": 120.0}))
    pd.testing.assert_frame_equal(carried, first)
    assert set(first["last_actual_quarter"]) == {"2026Q4"}
    carried = carried[carried["quarter"] > "2027Q1"]  # what the plan rolled after 2027Q1 keeps
    on_record = forecasts_on_record(carried, _plan("2027Q2", 4, {"p5": 60.0, "p50": 110.0, "p95": 150.0}))
    assert sorted(set(on_record["quarter"])) == ["2027Q2", "2027Q3", "2027Q4", "2028Q1"]
    record = quarter_against_forecasts(on_record, _actuals({"a": 130.0}, "2027Q2"), "2027Q2").set_index("quarters_ahead")
    assert list(record.columns) == [c for c in COLUMNS if c != "quarters_ahead"] and len(record) == 2
    assert record.loc[1, ["band", "position", "previous_low", "previous_high"]].tolist() == ["P5-P95", "P50-P95", 60, 150]
    assert record.loc[2, ["band", "position", "previous_low", "previous_high"]].tolist() == ["P10-P90", "above P90", 80, 120]
    assert record.loc[2, "above_planned_units"] == 30 and record.loc[1, "above_planned_units"] == 20
    earlier = quarter_against_forecasts(on_record, _actuals({"a": 90.0}, "2027Q1"), "2027Q1")
    assert earlier.empty  # 2027Q1 was scored by the roll before: the plans on record now start at 2027Q2
    text = record_summary(extended_record(_scored(_plan("2027Q1", 1, {"p10": 80.0, "p50": 100.0, "p90": 120.0}),
                                                  _actuals({"a": 125.0}), "2027Q1"), record.reset_index()[COLUMNS]),
                          "2027Q2", "P50")
    assert "Actual demand in 2027Q2 was +18.2% against the previous P50 forecast in total" in text  # 130 / 110
    assert "every stream came in inside its P5-P95 band" in text  # the previous plan's band, not the older one
    assert ("Over the 2 quarters on record (2027Q1 to 2027Q2), actuals fell below and above the band 0% and 50% of the "
            "time as forecast a quarter before (2 actuals), 0% and 100% 2 quarters before (1); ") in text


def _band_by_hand(previous_plan, actuals_file) -> pd.DataFrame:
    """Where each actual fell against the previous plan's outer band, from its files, without the planner's code."""
    forecast = pd.read_csv(previous_plan / "forecast.csv")
    actuals = pd.read_csv(actuals_file)
    merged = forecast[forecast["kind"] == "forecast"].merge(actuals, on=["quarter", "region", "workload"])
    low = (merged["p10"] + merged["override_delta"]).clip(lower=0)
    high = (merged["p90"] + merged["override_delta"]).clip(lower=0)
    merged["side"] = np.where(merged["demand"] < low, "below", np.where(merged["demand"] > high, "above", "inside"))
    return merged.set_index(["region", "workload"]).sort_index()


def test_each_rolled_plan_scores_its_quarter_against_every_earlier_plan_and_carries_the_record(four_quarters):
    """Quarter i of the roll is scored against the plan made k quarters before it, for every k
    down to the initial plan's, each recomputed here from that plan's own forecast.csv."""
    plans = [four_quarters / "initial" / "plan"] + [four_quarters / quarter / "plan" for quarter in QUARTERS]
    previous_record = None
    for count, quarter in enumerate(QUARTERS, start=1):
        plan = plans[count]
        record = pd.read_csv(plan / "actuals_vs_forecast.csv")
        assert list(record.columns) == COLUMNS
        assert sorted(set(record["quarter"])) == QUARTERS[:count]
        latest = record[record["quarter"] == quarter]
        assert sorted(set(latest["quarters_ahead"])) == list(range(1, count + 1))
        for ahead in range(1, count + 1):
            scored = latest[latest["quarters_ahead"] == ahead].set_index(["region", "workload"]).sort_index()
            by_hand = _band_by_hand(plans[count - ahead], ACTUALS / f"{quarter}.csv")
            assert len(scored) == len(by_hand) == 9
            assert (scored["actual"] == by_hand["demand"]).all()
            assert np.allclose(scored["previous_planned"], by_hand["planning_demand"])
            assert (scored["position"].str.split(" ").str[0].where(lambda s: s.isin(["below", "above"]), "inside")
                    == by_hand["side"]).all()
            assert np.allclose(scored["above_planned_units"],
                               (by_hand["demand"] - by_hand["planning_demand"]).clip(lower=0))
        if previous_record is not None:  # the earlier quarters are carried exactly
            carried = record[record["quarter"] != quarter].reset_index(drop=True)
            pd.testing.assert_frame_equal(carried, previous_record)
        earlier = pd.read_csv(plan / "earlier_forecasts.csv")  # what the next roll will score against
        assert sorted(set(earlier["last_actual_quarter"])) == (["2026Q4"] + QUARTERS)[:count]
        assert earlier["quarter"].min() > quarter
        summary = pd.read_excel(plan / "roadmap.xlsx", sheet_name="Changes", header=None).iloc[1, 0]
        by_hand = _band_by_hand(plans[count - 1], ACTUALS / f"{quarter}.csv")
        outside = int((by_hand["side"] != "inside").sum())
        assert (f"{outside} of 9 streams came in outside its P10-P90 band" in summary if outside
                else "every stream came in inside its P10-P90 band" in summary), summary
        if count > 1:
            ahead = record[record["quarters_ahead"] == count]
            shares = [ahead["position"].str.startswith(side).mean() for side in ("below", "above")]
            assert (f"Over the {count} quarters on record ({QUARTERS[0]} to {quarter}), actuals fell below and above "
                    f"the P10-P90 band (10% and 10% expected)") in summary
            assert f", {shares[0]:.0%} and {shares[1]:.0%} {count} quarters before ({len(ahead)});" in summary, summary
        previous_record = record


def test_the_changes_sheet_is_tall_enough_for_its_summary(four_quarters):
    """A merged cell neither grows its rows nor shows what does not fit: the summary was cut after five lines."""
    import openpyxl

    sheet = openpyxl.load_workbook(four_quarters / "2027Q4" / "plan" / "roadmap.xlsx")["Changes"]
    width = sum(sheet.column_dimensions[letter].width or 8.43 for letter in "ABCDEFGH")
    height = sum(sheet.row_dimensions[row].height or 15 for row in range(2, 7))
    assert len(sheet["A2"].value) > 5 * width  # more than five lines' worth: the rows had to grow
    assert height >= 15 * math.ceil(len(sheet["A2"].value) / width)


def test_the_record_has_a_sheet_of_its_own_that_filters_and_the_changes_sheet_points_to_it(four_quarters):
    """On the Changes sheet the record grew below the other tables by a row per stream and forecast
    each roll, with no filter (a sheet filters one range) and no header in view."""
    import openpyxl

    assert "Changes" not in openpyxl.load_workbook(four_quarters / "initial" / "plan" / "roadmap.xlsx",
                                                   read_only=True).sheetnames  # a first plan has no record
    for quarter, rows in zip(QUARTERS, (9, 27, 54, 90)):
        plan = four_quarters / quarter / "plan"
        book = openpyxl.load_workbook(plan / "roadmap.xlsx")
        assert book.sheetnames.index("Actuals record") == book.sheetnames.index("Changes") + 1
        sheet = book["Actuals record"]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{get_column_letter(len(COLUMNS))}{rows + 1}"
        assert sheet.print_title_rows == "$1:$1"  # its header on every printed page
        shown = pd.read_excel(plan / "roadmap.xlsx", sheet_name="Actuals record")
        record = pd.read_csv(plan / "actuals_vs_forecast.csv")
        assert len(shown) == len(record) == rows
        assert shown["Quarter"].tolist() == sorted(shown["Quarter"], reverse=True)  # the quarter just ended first
        assert shown["Quarter"].iloc[0] == quarter
        keys = ["quarter", "region", "workload", "quarters_ahead"]
        by_key = shown.rename(columns={HEADERS[c][0]: c for c in COLUMNS}).sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(by_key[COLUMNS], record.sort_values(keys, ignore_index=True)[COLUMNS],
                                      check_dtype=False)
        changes = [row[0] for row in book["Changes"].iter_rows(values_only=True) if row[0]]
        assert "Each actual against the forecasts made before it: the Actuals record sheet." in changes
        pointer = next(cell for cell in book["Changes"]["A"] if cell.value == changes[-1])
        assert pointer.hyperlink.location == "'Actuals record'!A1" and not pointer.hyperlink.target  # within the book
        assert quarter not in changes  # no record row is left on the Changes sheet
        assert not readability_problems(book)
        # long labels over short numbers wrap onto two lines rather than widen the sheet: on one
        # line each, the record printed one page wide at about half size
        band_low = COLUMNS.index("previous_low") + 1
        assert sheet.row_dimensions[1].height == 30
        assert sheet.column_dimensions[get_column_letter(band_low)].width < len(sheet.cell(1, band_low).value) * 0.9
        coloured = _coloured_by_rules(sheet)
        positions = {row: sheet.cell(row, 4).value for row in range(2, rows + 2)}
        assert sheet.cell(1, 4).value == HEADERS["position"][0]
        assert {row for row, colour in coloured.items() if colour == "above"} == {
            row for row, position in positions.items() if position.startswith("above")}
        assert {row for row, colour in coloured.items() if colour == "below"} == {
            row for row, position in positions.items() if position.startswith("below")}
    assert set(coloured.values()) == {"above", "below"}  # a year of the example has actuals on both sides


def _coloured_by_rules(sheet) -> dict[int, str]:
    """Row -> 'above' or 'below' for the cells the sheet's formula rules colour, each rule of the
    form LEFT(D2,n)="word" applied as Excel does, its reference moving down the range with the row;
    the fill must be the one that word is given."""
    import re

    from planner.workbook import OUTSIDE_BAND_FILLS

    coloured = {}
    for formatting in sheet.conditional_formatting:
        for rule in formatting.rules:
            column, first, length, word = re.fullmatch(r'LEFT\(([A-Z]+)(\d+),(\d+)\)="(\w+)"', rule.formula[0]).groups()
            fill = rule.dxf.fill  # Excel paints it in the background colour, LibreOffice in the foreground one
            assert fill.fgColor.rgb.endswith(OUTSIDE_BAND_FILLS[word]) and fill.bgColor.rgb.endswith(OUTSIDE_BAND_FILLS[word])
            for cell_range in formatting.sqref.ranges:
                assert get_column_letter(cell_range.min_col) == column and cell_range.min_row == int(first)
                for row in range(cell_range.min_row, cell_range.max_row + 1):
                    value = str(sheet[f"{column}{row}"].value)
                    if value[:int(length)] == word:
                        coloured[row] = word
    return coloured


def _shares_by_hand(plan) -> pd.DataFrame:
    """Per quarters ahead, from the plan's actuals_vs_forecast.csv alone: actuals, below P10, above P90, above P50."""
    record = pd.read_csv(plan / "actuals_vs_forecast.csv")
    return pd.DataFrame({"actuals": record.groupby("quarters_ahead").size(),
                         "below": (record["actual"] < record["previous_low"]).groupby(record["quarters_ahead"]).sum(),
                         "above": (record["actual"] > record["previous_high"]).groupby(record["quarters_ahead"]).sum(),
                         "above_p50": (record["actual"] > record["previous_p50"]).groupby(record["quarters_ahead"]).sum()})


def test_the_changes_sheet_and_the_example_script_give_the_records_shares_per_quarters_ahead(four_quarters):
    import openpyxl

    plan = four_quarters / "2027Q4" / "plan"
    by_hand = _shares_by_hand(plan)
    assert by_hand.index.tolist() == [1, 2, 3, 4] and by_hand["actuals"].tolist() == [36, 27, 18, 9]
    rows = list(openpyxl.load_workbook(plan / "roadmap.xlsx")["Changes"].iter_rows(values_only=True))
    title = next(i for i, row in enumerate(rows) if row[0] == "Actuals outside the band over the whole record, "
                                                                  "by quarters ahead the forecast was made")
    header = list(rows[title + 1][:len(SHARE_COLUMNS)])
    assert header[:6] == ["Band", "Quarters ahead", "Actuals scored", "Below the band", "Above the band", "Above P50"]
    table = pd.DataFrame([row[:len(SHARE_COLUMNS)] for row in rows[title + 2:title + 6]], columns=header)
    assert table["Quarters ahead"].tolist() == [1, 2, 3, 4] and set(table["Band"]) == {"P10-P90"}
    assert table["Actuals scored"].tolist() == by_hand["actuals"].tolist()
    assert table["Below the band"].tolist() == by_hand["below"].tolist()
    assert table["Above the band"].tolist() == by_hand["above"].tolist()
    assert table["Above P50"].tolist() == by_hand["above_p50"].tolist()
    assert np.allclose(table["Above the band (%)"], by_hand["above"] / by_hand["actuals"])
    assert rows[title + 6][0] is None  # four rows, then the gap before the pointer to the record's sheet
    printed = (four_quarters / "stdout.txt").read_text()
    for ahead, row in by_hand.iterrows():
        made = "a quarter before" if ahead == 1 else f"{ahead} quarters before"
        above = f"{row['above']} ({row['above'] / row['actuals']:.0%})" if row["above"] else "0"
        assert f"| {made} | {row['actuals']} | " in printed and f" | {above} | " in printed, printed


@pytest.mark.parametrize("file, column, value, expected", [
    ("actuals_vs_forecast.csv", "actual", "many", "expected a number >= 0 and <= 1,000,000,000,000 (units)"),
    ("actuals_vs_forecast.csv", "quarter", "2027Q9", "expected a quarter like 2027Q1"),
    ("actuals_vs_forecast.csv", "quarters_ahead", "0", "expected a whole number >= 1 and <= 400 (quarters)"),
    ("earlier_forecasts.csv", "p90", "high", "expected a number"),
    ("earlier_forecasts.csv", "last_actual_quarter", "Q4", "expected a quarter like 2027Q1"),
])
def test_a_damaged_record_in_the_previous_plan_is_an_input_error(tmp_path, four_quarters, file, column, value, expected):
    damaged = tmp_path / "damaged"
    shutil.copytree(four_quarters / "2027Q1" / "plan", damaged)
    record = pd.read_csv(damaged / file, dtype=str)
    record.loc[2, column] = value
    record.to_csv(damaged / file, index=False)
    result = CliRunner().invoke(main, ["reforecast", str(four_quarters / "2027Q1" / "scenario"), "--actuals",
                                       str(ACTUALS / "2027Q2.csv"), "--previous", str(damaged), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"{file} row 4, column {column}: got '{value}'; {expected}" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_a_plan_from_before_the_earlier_forecasts_were_kept_rolls_on(tmp_path, four_quarters):
    """A previous plan written before the record held quarters_ahead, and without earlier_forecasts.csv,
    is read as what it was: a record of forecasts a quarter ahead, and the previous plan's own forecast
    the only one to score against. The plans after it carry the earlier forecasts again."""
    old = tmp_path / "old"
    shutil.copytree(four_quarters / "2027Q1" / "plan", old)
    (old / "earlier_forecasts.csv").unlink()
    record = pd.read_csv(old / "actuals_vs_forecast.csv")
    record.drop(columns="quarters_ahead").to_csv(old / "actuals_vs_forecast.csv", index=False)
    result = CliRunner().invoke(main, ["reforecast", str(four_quarters / "2027Q1" / "scenario"), "--actuals",
                                       str(ACTUALS / "2027Q2.csv"), "--previous", str(old), "--out", str(tmp_path / "out"),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    rolled = pd.read_csv(tmp_path / "out" / "plan" / "actuals_vs_forecast.csv")
    assert rolled.groupby("quarter")["quarters_ahead"].agg(set).to_dict() == {"2027Q1": {1}, "2027Q2": {1}}
    earlier = pd.read_csv(tmp_path / "out" / "plan" / "earlier_forecasts.csv")
    assert set(earlier["last_actual_quarter"]) == {"2027Q1"}


def test_the_demand_planned_for_is_named_by_the_quantile_the_previous_plan_used(tmp_path):
    """A plan made with --quantile 0.9 on a P50 scenario was planned at P90: the summary says so
    (plan.json records it), and a damaged planning_quantile there is named, not guessed."""
    previous = tmp_path / "previous"
    made = CliRunner().invoke(main, ["plan", str(EXAMPLES / "global-enterprise"), "--quantile", "0.9", "--out",
                                     str(previous), "--quiet"])
    assert made.exit_code == 0, made.output
    forecast = pd.read_csv(previous / "forecast.csv")
    ended = forecast[(forecast["kind"] == "forecast") & (forecast["quarter"] == "2027Q1")]
    actuals = ended.assign(demand=(ended["planning_demand"] + 10).round())[["quarter", "region", "workload", "demand"]]
    actuals.to_csv(tmp_path / "actuals.csv", index=False)
    run = ["reforecast", str(EXAMPLES / "global-enterprise"), "--actuals", str(tmp_path / "actuals.csv"),
           "--previous", str(previous), "--quiet"]
    result = CliRunner().invoke(main, run + ["--out", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert f"{len(ended)} of {len(ended)} above the demand the previous plan was made for (P90)" in result.output
    summary = (previous / "plan.json").read_text()
    (previous / "plan.json").write_text(summary.replace('"planning_quantile": 0.9', '"planning_quantile": 9'))
    result = CliRunner().invoke(main, run + ["--out", str(tmp_path / "other")])
    assert result.exit_code == 2, result.output
    assert "plan.json, column planning_quantile: got 9; expected a number between 0 and 1" in result.stderr, result.stderr
    assert not (tmp_path / "other").exists()
