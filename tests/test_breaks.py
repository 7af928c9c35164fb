"""Breaks in a stream's level: found where the level moved off its trend and stayed, and weighed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from forecasts import forecast, forecast_with_choices
from forecasts.breaks import launch, level_breaks, stop
from planner.cli import main
from tests.conftest import read_rows, write_rows
from tests.test_one_offs import STREAMS

QUARTERS = pd.period_range("2022Q1", periods=20, freq="Q")
# the README's stream: 1,000 rising to 1,600, then a customer leaves: 800 rising to 900
CUSTOMER_LEFT = pd.Series(np.r_[np.linspace(1000, 1600, 14), np.linspace(800, 900, 6)], index=QUARTERS)


def test_no_quarter_of_the_shipped_examples_is_a_break():
    assert {name: level_breaks(series) for name, series in STREAMS.items() if level_breaks(series)} == {}


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_a_halved_or_doubled_level_is_found_where_it_moved_and_only_there(factor):
    found = 0
    for name, series in STREAMS.items():
        moved = series.copy()
        moved.iloc[12:] *= factor
        breaks = level_breaks(moved)
        assert [b.quarter for b in breaks] in ([], [series.index[12]]), name
        if breaks:
            found += 1
            assert (breaks[0].ratio < 1) == (factor < 1)
    assert found >= 10  # of 14: 13 halved and 11 doubled when written


def test_a_one_off_a_ramp_a_seasonal_peak_and_a_move_in_the_last_two_quarters_are_no_break():
    ramp = pd.Series(100 * 1.08 ** np.arange(20), index=QUARTERS)
    one_off = ramp.copy()
    one_off.iloc[10] *= 2.5
    peaks = pd.Series(1000 * np.array([1.0, 1.0, 1.0, 2.2] * 5) * 1.05 ** np.arange(20), index=QUARTERS)
    late = ramp.copy()
    late.iloc[-2:] *= 0.4  # too few quarters after it to say the level stayed
    with_zero = CUSTOMER_LEFT.copy()
    with_zero.iloc[3] = 0.0
    for series in (ramp, one_off, peaks, late, with_zero):
        assert level_breaks(series) == []
    assert [b.quarter for b in level_breaks(CUSTOMER_LEFT)] == [QUARTERS[14]]


def test_a_burst_of_two_or_three_quarters_that_ended_is_no_break():
    ramp = pd.Series(100 * 1.08 ** np.arange(20), index=QUARTERS)
    for run in (2, 3):
        for factor in (2.0, 0.5):
            burst = ramp.copy()
            burst.iloc[10:10 + run] *= factor
            assert level_breaks(burst) == [], (run, factor)
    read_as_breaks = 0
    for series in STREAMS.values():
        for run in (2, 3):
            for start in (len(series) // 2, len(series) - 1 - run):
                for factor in (2.0, 0.5):
                    burst = series.copy()
                    burst.iloc[start:start + run] *= factor
                    read_as_breaks += bool(level_breaks(burst))
    assert read_as_breaks <= 2  # of 112; 1 when written, 88 before each quarter either side had to stay off


def weighed_from(series: pd.Series, position: int, horizon: int) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """(warning, forecast from the whole history, forecast from `position` on) of a one-stream
    history, after checking the warning names that quarter with both forecasts' last P90 and P50."""
    history = pd.DataFrame({"quarter": series.index, "region": "r", "workload": "w", "demand": series.to_numpy()})
    table, choices = forecast_with_choices(history, horizon)
    later = forecast(history.iloc[position:], horizon)
    warning, quarter = choices["warning"].iloc[0], series.index[position]
    assert choices["breaks"].iloc[0] == (quarter,)
    assert (f"from {quarter} on, P90 {later['p90'].iloc[-1]:,.0f} instead of {table['p90'].iloc[-1]:,.0f} "
            f"and P50 {later['p50'].iloc[-1]:,.0f} instead of {table['p50'].iloc[-1]:,.0f} "
            f"in {table['quarter'].iloc[-1]}") in warning
    assert warning in choices["note"].iloc[0]
    return warning, table, later


def test_a_break_is_weighed_against_the_forecast_from_the_break_on():
    warning, table, from_break = weighed_from(CUSTOMER_LEFT, 14, 8)
    assert warning.startswith(f"level break: from {QUARTERS[14]} the level moved to 1/")
    assert table["quarter"].iloc[-1] == pd.Period("2028Q4", freq="Q")
    assert from_break["p50"].iloc[-1] > table["p50"].iloc[-1]  # whole, the history's fall bends the forecast down


# a workload launched in 2025Q1, given as zeros from the file's first quarter
LAUNCHED = pd.Series(np.r_[np.zeros(12), [319, 390, 429, 506, 461, 569, 602, 684]], index=QUARTERS)


def test_a_stream_that_starts_from_zero_is_named_at_its_first_quarter_of_demand():
    assert launch(LAUNCHED) == QUARTERS[12]
    assert level_breaks(LAUNCHED) == []  # zero has no ratio: the breaks cannot judge it
    late = LAUNCHED.copy()
    late.iloc[:-2] = 0.0  # two quarters of demand: too few to forecast from
    paused = CUSTOMER_LEFT.copy()
    paused.iloc[3:6] = 0.0  # zeros inside the history are no start
    for series in (late, paused, CUSTOMER_LEFT, pd.Series(0.0, index=QUARTERS)):
        assert launch(series) is None


def test_a_start_from_zero_is_weighed_against_the_forecast_from_the_start_on():
    """The models read the zeros as demand: a launch's P50 four years on was a third of its own trend's."""
    warning, table, from_start = weighed_from(LAUNCHED, 12, 16)
    assert warning.startswith(f"zero until {QUARTERS[11]}: the stream started in {QUARTERS[12]} (319)")
    assert from_start["p50"].iloc[-1] > 2 * table["p50"].iloc[-1]


def test_a_stream_that_fell_to_zero_and_stayed_is_named_at_its_first_quarter_at_zero():
    """A customer that left: the models kept a band above zero, and the plan bought for it."""
    left = CUSTOMER_LEFT.copy()
    left.iloc[-4:] = 0.0
    assert stop(left) == QUARTERS[16] and level_breaks(left) == []
    assert launch(left) is None and stop(LAUNCHED) is None
    brief = CUSTOMER_LEFT.copy()
    brief.iloc[-2:] = 0.0  # two quarters at zero: as likely a gap in the figures, warned about by validate
    for series in (brief, CUSTOMER_LEFT, pd.Series(0.0, index=QUARTERS)):
        assert stop(series) is None
    warning, table, from_stop = weighed_from(left, 16, 8)
    assert warning.startswith(f"zero since {QUARTERS[16]}, after {left.iloc[15]:,.10g} in {QUARTERS[15]}")
    assert from_stop["p90"].iloc[-1] == 0.0 < table["p90"].iloc[-1]


def test_a_stream_that_started_and_stopped_is_named_at_both_quarters():
    both = LAUNCHED.copy()
    both.iloc[-4:] = 0.0
    history = pd.DataFrame({"quarter": QUARTERS, "region": "r", "workload": "w", "demand": both.to_numpy()})
    choice = forecast_with_choices(history, 8)[1].iloc[0]
    assert choice["breaks"] == (QUARTERS[12], QUARTERS[16])
    assert choice["warning"].startswith(f"zero until {QUARTERS[11]}") and f"zero since {QUARTERS[16]}" in choice["warning"]


def test_planner_warns_about_a_start_from_zero_with_the_line_that_starts_the_stream_there(sovereign, tmp_path):
    rows = read_rows(sovereign / "demand_history.csv")
    stream = [row for row in rows if (row["region"], row["workload"]) == ("eu-fr", "inference")]
    for row in stream[:12]:
        row["demand"] = "0"
    write_rows(sovereign / "demand_history.csv", rows)
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("warning: eu-fr/inference: zero until 2024Q4: the stream started in 2025Q1")
    assert ("If the level before 2025Q1 will not come back (a customer left, a workload moved, or the stream had not "
            "started), start the stream there with scenario.yaml's forecast.history_start as the line "
            "`eu-fr/inference: 2025Q1`") in warnings[0]


def halve_from(directory, stream=("eu-fr", "inference"), position=12) -> str:
    rows = read_rows(directory / "demand_history.csv")
    indices = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == stream]
    for i in indices[position:]:
        rows[i]["demand"] = str(round(float(rows[i]["demand"]) / 2))
    write_rows(directory / "demand_history.csv", rows)
    return rows[indices[position]]["quarter"]


def start_history(directory, quarter: str, stream="eu-fr/inference") -> None:
    settings = directory / "scenario.yaml"
    text = settings.read_text()
    assert "  method: auto\n" in text
    settings.write_text(text.replace("  method: auto\n", f"  method: auto\n  history_start:\n    {stream}: {quarter}\n"))


def test_planner_warns_about_a_break_with_the_line_that_starts_the_stream_there(sovereign, tmp_path):
    quarter = halve_from(sovereign)
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(f"warning: eu-fr/inference: level break: from {quarter} the level moved to 1/")
    assert warnings[0].endswith(f"with scenario.yaml's forecast.history_start as the line `eu-fr/inference: {quarter}` "
                                "(demand_history.csv keeps the earlier quarters)")


def test_a_history_start_has_the_models_read_the_stream_from_there_and_keeps_the_earlier_actuals(sovereign, tmp_path):
    quarter = halve_from(sovereign)
    start_history(sovereign, quarter)
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.stderr
    table = pd.read_csv(tmp_path / "f" / "forecast.csv")
    stream = table[(table["region"] == "eu-fr") & (table["workload"] == "inference")]
    history = pd.read_csv(sovereign / "demand_history.csv")
    actual = history[(history["region"] == "eu-fr") & (history["workload"] == "inference")]
    assert stream.loc[stream["kind"] == "history", "p50"].tolist() == actual["demand"].astype(float).tolist()
    expected = forecast(actual[actual["quarter"] >= quarter], 16)
    planned = stream[stream["kind"] == "forecast"]
    assert planned["p90"].to_numpy() == pytest.approx(expected["p90"].to_numpy(), rel=1e-5)
    models = pd.read_csv(tmp_path / "f" / "forecast_models.csv").set_index(["region", "workload"])
    assert models.loc[("eu-fr", "inference"), "why"].endswith(f"history read from {quarter} (forecast.history_start)")


def test_a_tenfold_fall_into_the_history_start_is_not_warned_about_again(sovereign):
    from planner.scenario import load_scenario

    rows = read_rows(sovereign / "demand_history.csv")
    indices = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-fr", "inference")]
    for i in indices[12:]:
        rows[i]["demand"] = str(float(rows[i]["demand"]) / 20)
    write_rows(sovereign / "demand_history.csv", rows)
    quarter = rows[indices[12]]["quarter"]
    assert [w for w in load_scenario(sovereign).warnings if "the quarter before" in w and quarter in w]
    start_history(sovereign, quarter)
    assert [w for w in load_scenario(sovereign).warnings if "the quarter before" in w] == []
