"""One-off quarters: found where a quarter is far out of line with both beside it, and weighed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from forecasts import forecast, forecast_with_choices
from forecasts.one_offs import at_neighbours_level, latest_jump, one_off_quarters
from planner.cli import main
from tests.conftest import EXAMPLES, read_rows, write_rows


def example_streams():
    for example in ("sovereign-eu", "global-enterprise"):
        history = pd.read_csv(EXAMPLES / example / "demand_history.csv")
        for (region, workload), stream in history.groupby(["region", "workload"]):
            stream = stream.sort_values("quarter")
            yield f"{example}:{region}/{workload}", pd.Series(
                stream["demand"].to_numpy(float), index=pd.PeriodIndex(stream["quarter"], freq="Q"))


STREAMS = dict(example_streams())


def test_no_quarter_of_the_shipped_examples_is_a_one_off():
    assert {name: one_off_quarters(series) for name, series in STREAMS.items() if one_off_quarters(series)} == {}


@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_a_doubled_or_halved_quarter_is_found_where_it_is_and_only_there(factor):
    found = 0
    for name, series in STREAMS.items():
        for position in (len(series) // 2, len(series) - 2):
            changed = series.copy()
            changed.iloc[position] *= factor
            one_offs = one_off_quarters(changed)
            assert [o.quarter for o in one_offs] in ([], [changed.index[position]]), name  # never another quarter
            if one_offs:
                found += 1
                assert one_offs[0].value == changed.iloc[position]
                assert one_offs[0].neighbours == pytest.approx(np.sqrt(changed.iloc[position - 1] * changed.iloc[position + 1]))
    assert found >= 0.75 * 2 * len(STREAMS)  # 23 and 24 of 28 when written


@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_a_burst_of_two_or_three_quarters_is_found_where_it_is_and_only_there(factor):
    found = 0
    for name, series in STREAMS.items():
        for run in (2, 3):
            for start in (len(series) // 2, len(series) - 1 - run):
                changed = series.copy()
                changed.iloc[start:start + run] *= factor
                one_offs = one_off_quarters(changed)
                assert [o.quarter for o in one_offs] in ([], list(changed.index[start:start + run])), name
                if one_offs:
                    found += 1
                    assert [o.value for o in one_offs] == changed.iloc[start:start + run].tolist()
                    level = at_neighbours_level(changed, changed.index[start:start + run])
                    assert [o.neighbours for o in one_offs] == pytest.approx(level.iloc[start:start + run].tolist())
    assert found >= 0.65 * 4 * len(STREAMS)  # 41 doubled and 44 halved of 56 when written


def test_a_regular_run_of_peak_quarters_is_not_a_one_off():
    quarters = pd.period_range("2020Q1", periods=24, freq="Q")
    peaks = 1000 * np.array([1.0, 1.0, 2.0, 2.0] * 6) * 1.04 ** np.arange(24)  # every Q3 and Q4 twice the rest
    assert one_off_quarters(pd.Series(peaks, index=quarters)) == []
    burst = peaks.copy()
    burst[9:11] *= 2.5  # within what this season does against the quarters beside it (each quarter is 1.4x off them)
    assert one_off_quarters(pd.Series(burst, index=quarters)) == []
    burst[9:11] *= 8  # 20 times: far beyond it
    assert [o.quarter for o in one_off_quarters(pd.Series(burst, index=quarters))] == list(quarters[9:11])


def test_seasonal_peaks_steps_and_the_last_quarter_are_not_one_offs():
    quarters = pd.period_range("2020Q1", periods=20, freq="Q")
    peaks = 1000 * np.array([1.0, 1.0, 1.0, 2.2] * 5) * 1.05 ** np.arange(20)  # every Q4 2.2x the rest
    step = np.r_[np.full(10, 500.0), np.full(10, 1100.0)] * 1.02 ** np.arange(20)  # a new level that stays
    ramp = 100 * 1.08 ** np.arange(20)
    ramp_with_last = ramp.copy()
    ramp_with_last[-1] *= 3  # a jump in the last quarter: a one-off or a new level, no one can tell yet
    for values in (peaks, step, ramp, ramp_with_last):
        assert one_off_quarters(pd.Series(values, index=quarters)) == []
    spiked = ramp.copy()
    spiked[7] *= 2
    assert [o.quarter for o in one_off_quarters(pd.Series(spiked, index=quarters))] == [quarters[7]]


def test_quarters_beside_a_zero_and_short_histories_are_not_judged():
    quarters = pd.period_range("2020Q1", periods=12, freq="Q")
    with_zero = pd.Series([0, 0, 40, 0, 50, 55, 60, 66, 70, 77, 80, 88], index=quarters, dtype=float)
    assert one_off_quarters(with_zero) == []
    short = pd.Series([100, 105, 300, 110, 115, 120, 125], index=quarters[:7], dtype=float)
    assert one_off_quarters(short) == []


def spiked_history(factor=2.0) -> tuple[pd.DataFrame, pd.Period]:
    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    history["demand"] = history["demand"].astype(float)
    rows = history.index[(history["region"] == "eu-de") & (history["workload"] == "training")]
    history.loc[rows[-2], "demand"] *= factor
    return history, pd.Period(history.loc[rows[-2], "quarter"], freq="Q")


def test_a_one_off_is_weighed_against_the_forecast_with_it_at_its_neighbours_level():
    history, quarter = spiked_history()
    table, choices = forecast_with_choices(history, 16)
    choice = choices.set_index(["region", "workload"]).loc[("eu-de", "training")]
    assert choices.loc[choices["workload"] != "training", "warning"].eq("").all()
    # the same forecast, made by hand from the history with that quarter at its neighbours' level
    stream = history[(history["region"] == "eu-de") & (history["workload"] == "training")].reset_index(drop=True)
    at = stream.index[stream["quarter"] == str(quarter)][0]
    level = np.sqrt(stream.loc[at - 1, "demand"] * stream.loc[at + 1, "demand"])
    smoothed = forecast(stream.assign(demand=stream["demand"].where(stream.index != at, level)), 16)
    spiked = table[(table["region"] == "eu-de") & (table["workload"] == "training")]
    assert f"{quarter} ({stream.loc[at, 'demand']:,.10g}) is " in choice.warning
    assert (f"P90 {smoothed['p90'].iloc[-1]:,.0f} instead of {spiked['p90'].iloc[-1]:,.0f} and "
            f"P50 {smoothed['p50'].iloc[-1]:,.0f} instead of {spiked['p50'].iloc[-1]:,.0f} in 2030Q4") in choice.warning
    assert spiked["p90"].iloc[-1] > 2 * smoothed["p90"].iloc[-1]  # what the warning is for
    assert "one-off quarter" in choice.note
    pd.testing.assert_frame_equal(forecast(history, 16), table)  # the check changes no number


def test_planner_forecast_warns_about_a_one_off_and_still_writes_its_files(sovereign, tmp_path):
    rows = read_rows(sovereign / "demand_history.csv")
    spiked = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-de", "training")][-2]
    rows[spiked]["demand"] = str(float(rows[spiked]["demand"]) * 2)
    write_rows(sovereign / "demand_history.csv", rows)
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith(f"warning: eu-de/training: one-off quarter: {rows[spiked]['quarter']} (")
    assert "latest quarter" not in warnings[0]  # the fall from the spike into the last quarter is no jump
    assert warnings[0].endswith(f"name it in scenario.yaml's forecast.one_off_quarters as the line "
                                f"`eu-de/training: [{rows[spiked]['quarter']}]` (demand_history.csv keeps the actual)")
    # a typo is mended at its source, as the tenfold-jump warning on actuals says, not named and kept
    assert "If it is a typo, fix the figure where it came from (demand_history.csv, or the actuals file" in warnings[0]
    assert "typo" not in warnings[0].split("if it is a one-off that will not recur")[1]
    models = pd.read_csv(tmp_path / "f" / "forecast_models.csv").set_index(["region", "workload"])
    assert "one-off quarter" in models.loc[("eu-de", "training"), "why"]


def test_a_two_quarter_burst_is_weighed_named_in_the_advice_and_quiet_once_named(sovereign, tmp_path):
    rows = read_rows(sovereign / "demand_history.csv")
    stream = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-de", "training")]
    burst = stream[-4:-2]  # the two quarters before the last but one: a burst that ended
    for i in burst:
        rows[i]["demand"] = f"{float(rows[i]['demand']) * 2:g}"
    write_rows(sovereign / "demand_history.csv", rows)
    quarters = [rows[i]["quarter"] for i in burst]
    history = pd.read_csv(sovereign / "demand_history.csv")
    table, choices = forecast_with_choices(history, 16)
    choice = choices.set_index(["region", "workload"]).loc[("eu-de", "training")]
    assert choice.one_offs == tuple(pd.Period(q, freq="Q") for q in quarters)
    assert choice.warning.startswith(f"one-off quarters: {quarters[0]} ({float(rows[burst[0]]['demand']):,.10g}) and "
                                     f"{quarters[1]} ({float(rows[burst[1]]['demand']):,.10g}) are ")
    assert "level break" not in choice.warning  # it came back: no break to start the history at
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert f"`eu-de/training: [{quarters[0]}, {quarters[1]}]`" in result.stderr
    assert "If they are typos, fix the figures where they came from" in result.stderr
    assert "if they are one-offs that will not recur (a double count, a burst that ended), name them" in result.stderr
    name_one_off(sovereign, ", ".join(quarters))
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "g")])
    assert result.exit_code == 0 and "warning:" not in result.stderr, result.output
    named = pd.read_csv(tmp_path / "g" / "forecast.csv")
    named = named[(named["region"] == "eu-de") & (named["workload"] == "training") & (named["kind"] == "forecast")]
    spiked = table[(table["region"] == "eu-de") & (table["workload"] == "training")]
    assert named["p90"].iloc[-1] < spiked["p90"].iloc[-1] / 3  # what naming the burst is for (6.2x P90 when written)


@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_a_jump_into_the_last_quarter_or_the_last_two_is_found_and_only_there(factor):
    assert {name: latest_jump(series) for name, series in STREAMS.items() if latest_jump(series)} == {}
    for run, least in ((1, 12), (2, 9)):  # of 14: 14 and 13 doubled and halved when written; the last two 12 and 10
        found = 0
        for series in STREAMS.values():
            changed = series.copy()
            changed.iloc[-run:] *= factor
            jump = latest_jump(changed)
            assert [o.quarter for o in jump] in ([], list(changed.index[-run:]))
            if jump:
                found += 1
                assert [o.value for o in jump] == changed.iloc[-run:].tolist()
                level = at_neighbours_level(changed, changed.index[-run:])
                assert [o.neighbours for o in jump] == pytest.approx(level.iloc[-run:].tolist())
            assert one_off_quarters(changed) == []  # a one-off needs a quarter after it
        assert found >= least, run


def test_a_spike_in_the_second_last_quarter_is_a_one_off_not_a_jump_into_the_last():
    quarters = pd.period_range("2020Q1", periods=16, freq="Q")
    ramp = pd.Series(100 * 1.08 ** np.arange(16), index=quarters)
    spiked = ramp.copy()
    spiked.iloc[-2] *= 2
    assert latest_jump(spiked) == []  # the fall back from it is no jump
    assert [o.quarter for o in one_off_quarters(spiked)] == [quarters[-2]]
    stepped = ramp.copy()
    stepped.iloc[-2:] *= 2
    assert [o.quarter for o in latest_jump(stepped)] == list(quarters[-2:])


def test_a_latest_jump_is_weighed_against_the_forecast_with_it_at_the_streams_usual_growth():
    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    history["demand"] = history["demand"].astype(float)
    rows = history.index[(history["region"] == "eu-de") & (history["workload"] == "training")]
    history.loc[rows[-1], "demand"] *= 2
    table, choices = forecast_with_choices(history, 16)
    choice = choices.set_index(["region", "workload"]).loc[("eu-de", "training")]
    stream = history.loc[rows].reset_index(drop=True)
    demand = stream["demand"].to_numpy()
    usual = np.median(np.diff(np.log(demand[:-1])))  # every change but the last, by hand
    series = pd.Series(demand, index=pd.PeriodIndex(stream["quarter"], freq="Q"))
    level = at_neighbours_level(series, [series.index[-1]]).iloc[-1]
    assert level == pytest.approx(demand[-2] * np.exp(usual))  # the fits move with the last bit of it: the same float
    by_hand = forecast(stream.assign(demand=np.r_[demand[:-1], level]), 16)
    jumped = table[(table["region"] == "eu-de") & (table["workload"] == "training")]
    quarter = stream["quarter"].iloc[-1]
    assert choice.one_offs == (pd.Period(quarter, freq="Q"),)
    assert choice.warning.startswith(f"latest quarter: {quarter} ({demand[-1]:,.10g}) is 2.1 times what the stream's "
                                     f"usual growth gives it from the quarter before ({demand[-2] * np.exp(usual):,.0f}): "
                                     "a one-off or the start of a new level")
    assert (f"P90 {by_hand['p90'].iloc[-1]:,.0f} instead of {jumped['p90'].iloc[-1]:,.0f} and "
            f"P50 {by_hand['p50'].iloc[-1]:,.0f} instead of {jumped['p50'].iloc[-1]:,.0f} in 2030Q4") in choice.warning
    assert jumped["p50"].iloc[-1] > 2 * by_hand["p50"].iloc[-1]  # what the warning is for


def test_a_jump_into_the_last_two_quarters_is_named_with_both_and_weighed_with_both_at_the_usual_growth():
    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    history["demand"] = history["demand"].astype(float)
    rows = history.index[(history["region"] == "eu-de") & (history["workload"] == "training")]
    history.loc[rows[-2:], "demand"] *= 2
    table, choices = forecast_with_choices(history, 16)
    choice = choices.set_index(["region", "workload"]).loc[("eu-de", "training")]
    stream = history.loc[rows].reset_index(drop=True)
    series = pd.Series(stream["demand"].to_numpy(), index=pd.PeriodIndex(stream["quarter"], freq="Q"))
    assert choice.one_offs == tuple(series.index[-2:])
    assert choice.warning.startswith(f"latest quarters: {series.index[-2]} ({series.iloc[-2]:,.10g}) and "
                                     f"{series.index[-1]} ({series.iloc[-1]:,.10g}) are ")
    assert f"what the stream's usual growth gives them from {series.index[-3]} (" in choice.warning
    by_hand = forecast(stream.assign(demand=at_neighbours_level(series, series.index[-2:]).to_numpy()), 16)
    jumped = table[(table["region"] == "eu-de") & (table["workload"] == "training")]
    assert f"P50 {by_hand['p50'].iloc[-1]:,.0f} instead of {jumped['p50'].iloc[-1]:,.0f} in 2030Q4" in choice.warning


def test_a_named_latest_quarter_is_modelled_at_the_streams_usual_growth(sovereign, tmp_path):
    rows = read_rows(sovereign / "demand_history.csv")
    stream = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-de", "training")]
    rows[stream[-1]]["demand"] = f"{float(rows[stream[-1]]['demand']) * 2:g}"
    write_rows(sovereign / "demand_history.csv", rows)
    quarter = rows[stream[-1]]["quarter"]
    warned = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert f"latest quarter: {quarter}" in warned.stderr and f"`eu-de/training: [{quarter}]`" in warned.stderr
    name_one_off(sovereign, quarter)
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "g")])
    assert result.exit_code == 0 and "warning:" not in result.stderr, result.output
    models = pd.read_csv(tmp_path / "g" / "forecast_models.csv").set_index(["region", "workload"])
    assert f"the stream's usual growth from {rows[stream[-2]]['quarter']} (forecast.one_off_quarters)" in \
        models.loc[("eu-de", "training"), "why"]
    table = pd.read_csv(tmp_path / "g" / "forecast.csv")
    assert table.loc[(table["workload"] == "training") & (table["region"] == "eu-de") & (table["quarter"] == quarter),
                     "p50"].item() == float(rows[stream[-1]]["demand"])  # the history row keeps the actual


def test_a_run_of_named_quarters_takes_a_straight_line_on_the_log_scale_between_its_neighbours():
    quarters = pd.period_range("2024Q1", periods=6, freq="Q")
    series = pd.Series([100.0, 900.0, 5.0, 400.0, 410.0, 0.0], index=quarters)
    smoothed = at_neighbours_level(series, quarters[1:3])
    assert smoothed.iloc[1:3].tolist() == pytest.approx([100 * 4 ** (1 / 3), 100 * 4 ** (2 / 3)])
    assert smoothed.drop(quarters[1:3]).equals(series.drop(quarters[1:3]))
    assert at_neighbours_level(series, [quarters[4]]).iloc[4] == pytest.approx(200.0)  # beside a zero: in units
    with pytest.raises(ValueError, match="first quarter"):
        at_neighbours_level(series, [quarters[0]])
    growing = pd.Series([100.0, 110.0, 125.0, 130.0, 150.0, 400.0], index=quarters)
    usual = np.median(np.log([110 / 100, 125 / 110, 130 / 125, 150 / 130]))  # the changes between the quarters kept
    assert at_neighbours_level(growing, [quarters[-1]]).iloc[-1] == pytest.approx(150 * np.exp(usual))
    usual = np.median(np.log([110 / 100, 125 / 110, 130 / 125]))
    assert at_neighbours_level(growing, quarters[-2:]).iloc[-2:].tolist() == pytest.approx(
        [130 * np.exp(usual), 130 * np.exp(2 * usual)])  # a run at the end: on from the last quarter kept


def name_one_off(directory, quarter: str) -> None:
    settings = directory / "scenario.yaml"
    text = settings.read_text()
    assert "  method: auto\n" in text
    settings.write_text(text.replace("  method: auto\n", f"  method: auto\n  one_off_quarters:\n    eu-de/training: [{quarter}]\n"))


def test_a_named_one_off_is_modelled_at_the_level_either_side_and_the_actual_is_kept(sovereign, tmp_path):
    rows = read_rows(sovereign / "demand_history.csv")
    spiked = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-de", "training")][-2]
    actual = float(rows[spiked]["demand"]) * 2
    rows[spiked]["demand"] = f"{actual:g}"
    write_rows(sovereign / "demand_history.csv", rows)
    quarter = rows[spiked]["quarter"]
    name_one_off(sovereign, quarter)
    result = CliRunner().invoke(main, ["forecast", str(sovereign), "--out", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.stderr  # judged: nothing left to warn about
    table = pd.read_csv(tmp_path / "f" / "forecast.csv")
    stream = table[(table["region"] == "eu-de") & (table["workload"] == "training")]
    assert stream.loc[stream["quarter"] == quarter, "p50"].item() == actual  # the history rows keep the actual
    history = pd.read_csv(sovereign / "demand_history.csv")
    by_hand = history[(history["region"] == "eu-de") & (history["workload"] == "training")].reset_index(drop=True)
    at = by_hand.index[by_hand["quarter"] == quarter][0]
    level = np.sqrt(by_hand.loc[at - 1, "demand"] * by_hand.loc[at + 1, "demand"])
    expected = forecast(by_hand.assign(demand=by_hand["demand"].astype(float).where(by_hand.index != at, level)), 16)
    planned = stream[stream["kind"] == "forecast"]
    assert planned["p90"].to_numpy() == pytest.approx(expected["p90"].to_numpy(), rel=1e-5)  # csv keeps 6 decimals
    models = pd.read_csv(tmp_path / "f" / "forecast_models.csv").set_index(["region", "workload"])
    assert f"{quarter} ({actual:,.10g}) modelled at {level:,.0f}, the level either side" in models.loc[("eu-de", "training"), "why"]


def test_a_tenfold_jump_into_a_named_one_off_is_not_warned_about_again(sovereign):
    from planner.scenario import load_scenario

    rows = read_rows(sovereign / "demand_history.csv")
    spiked = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-de", "training")][10]
    rows[spiked]["demand"] = str(float(rows[spiked]["demand"]) * 20)
    write_rows(sovereign / "demand_history.csv", rows)
    jumps = [w for w in load_scenario(sovereign).warnings if "eu-de/training" in w and "the quarter before" in w]
    assert len(jumps) == 2  # into the spike and out of it
    name_one_off(sovereign, rows[spiked]["quarter"])
    assert [w for w in load_scenario(sovereign).warnings if "the quarter before" in w] == []


def test_planner_backtest_is_given_the_history_with_the_named_one_off_at_its_neighbours_level(sovereign):
    rows = read_rows(sovereign / "demand_history.csv")
    spiked = [i for i, row in enumerate(rows) if (row["region"], row["workload"]) == ("eu-de", "training")][-4]
    rows[spiked]["demand"] = str(float(rows[spiked]["demand"]) * 3)
    write_rows(sovereign / "demand_history.csv", rows)
    command = ["backtest", str(sovereign), "--origins", "1", "--horizon", "2"]
    before = CliRunner().invoke(main, command)
    name_one_off(sovereign, rows[spiked]["quarter"])
    after = CliRunner().invoke(main, command)
    assert before.exit_code == 0 and after.exit_code == 0, before.output + after.output
    changed = {line.split()[0] for line in set(before.stdout.splitlines()) ^ set(after.stdout.splitlines())}
    assert changed == {"eu-de/training", "overall"}, changed  # the spike lies in the quarters the models are fitted to


def test_smoothed_history_changes_only_the_named_quarters_of_the_named_stream():
    from forecasts import smoothed_history

    history = pd.read_csv(EXAMPLES / "sovereign-eu" / "demand_history.csv")
    history["quarter"] = pd.PeriodIndex(history["quarter"], freq="Q")
    named = {("eu-de", "training"): [pd.Period("2024Q2", freq="Q")]}
    smoothed = smoothed_history(history, named)
    changed = smoothed["demand"] != history["demand"]
    assert smoothed.loc[changed, ["region", "workload", "quarter"]].values.tolist() == [
        ["eu-de", "training", pd.Period("2024Q2", freq="Q")]]
    stream = history[(history["region"] == "eu-de") & (history["workload"] == "training")].set_index("quarter")["demand"]
    assert smoothed.loc[changed, "demand"].item() == pytest.approx(
        np.sqrt(stream[pd.Period("2024Q1", freq="Q")] * stream[pd.Period("2024Q3", freq="Q")]))
    assert history["demand"].dtype.kind == "i"  # the caller's frame is left as it was
