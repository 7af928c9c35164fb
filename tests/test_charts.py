"""The forecast chart: what a planner reads off it must be on it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from planner import charts


def _rows(region, quarters, values, kind, override=0.0):
    return [{"quarter": pd.Period(q, freq="Q"), "region": region, "workload": "w", "p10": v * 0.9, "p50": v,
             "p90": v * 1.1, "kind": kind, "model": "actual" if kind == "history" else "drift",
             "override_delta": override if kind == "forecast" else 0.0,
             "planning_demand": v + override if kind == "forecast" else float("nan")}
            for q, v in zip(quarters, values)]


def test_forecast_starts_at_the_last_actual_and_every_line_is_in_the_legend(tmp_path, monkeypatch):
    history, future = ["2026Q3", "2026Q4"], ["2027Q1", "2027Q2"]
    table = pd.DataFrame(_rows("a", history, [100, 110], "history") + _rows("a", future, [120, 130], "forecast")
                         + _rows("b", history, [50, 55], "history")
                         + _rows("b", future, [60, 65], "forecast", override=10.0))
    for row in table.itertuples():  # history rows carry the actual in every quantile column
        if row.kind == "history":
            table.loc[row.Index, ["p10", "p90"]] = row.p50
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.forecast_chart(table, (0.1, 0.5, 0.9), "units", tmp_path / "f.png")
    first = figures[0].axes[0]
    assert [t.get_text() for t in first.get_legend().get_texts()] == ["actual", "P10-P90", "P50",
                                                                      "planned (with overrides)"]
    p50 = next(line for line in first.get_lines() if line.get_label() == "P50")
    assert list(p50.get_ydata()) == [110, 120, 130]  # joined to the last actual
    plt.close(figures[0])


def test_plan_chart_time_axis_is_labelled_in_quarters():
    figure, axis = plt.subplots()
    axis.plot([pd.Period(q, freq="Q").to_timestamp() for q in ("2027Q1", "2028Q3", "2030Q4")], [1, 2, 3])
    charts._quarter_ticks(axis)
    figure.canvas.draw()
    labels = [tick.get_text() for tick in axis.get_xticklabels() if tick.get_text()]
    plt.close(figure)
    assert labels and all(label in {"2027Q1", "2028Q1", "2029Q1", "2030Q1", "2031Q1"} for label in labels), labels


def test_a_flat_forecast_is_drawn_below_the_panel_top_edge(tmp_path, monkeypatch):
    """A stream that never changed: its line sat on the panel's top edge, where no one could see it."""
    quarters = [str(q) for q in pd.period_range("2026Q1", periods=6, freq="Q")]
    table = pd.DataFrame(_rows("a", quarters[:4], [100] * 4, "history") + _rows("a", quarters[4:], [100] * 2, "forecast"))
    future = table["kind"] == "forecast"
    table.loc[~future, ["p10", "p90"]] = 100.0
    table.loc[future, "p10"], table.loc[future, "p90"] = 99.999, 100.001  # the forecaster's about-zero band
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.forecast_chart(table, (0.1, 0.5, 0.9), "units", tmp_path / "f.png")
    bottom, top = figures[0].axes[0].get_ylim()
    plt.close(figures[0])
    assert bottom == 0 and top >= 105
