"""The forecast chart: what a planner reads off it must be on it."""

from __future__ import annotations

from types import SimpleNamespace
from warnings import catch_warnings, simplefilter

import matplotlib.colors
import matplotlib.dates
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
    charts.forecast_chart(table, (0.1, 0.5, 0.9), 0.9, "units", tmp_path / "f.png")
    first = figures[0].axes[0]
    assert [t.get_text() for t in first.get_legend().get_texts()] == ["actual", "P10-P90", "P50",
                                                                      "planned for (P90 + overrides)"]
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


def test_a_long_horizon_is_labelled_every_few_years_and_the_labels_do_not_run_into_each_other():
    """Twenty years (horizon_quarters: 80) labelled every year ran into one smear of digits."""
    figure, axis = plt.subplots(figsize=(14, 5))  # plan.png's figure; each of its two panels about this wide
    figure.subplots_adjust(right=0.5)
    quarters = pd.period_range("2027Q1", periods=80, freq="Q")
    axis.plot([q.to_timestamp() for q in quarters], range(80))
    charts._quarter_ticks(axis)
    figure.canvas.draw()
    shown = [tick for tick in axis.get_xticklabels() if tick.get_text()]
    boxes = [tick.get_window_extent() for tick in shown]
    plt.close(figure)
    assert 4 <= len(shown) <= charts.YEAR_LABELS, [tick.get_text() for tick in shown]
    assert all(tick.get_text().endswith("Q1") for tick in shown)
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:])), "labels overlap"


def test_any_number_of_streams_gets_a_panel_each_in_a_picture_of_a_size_to_open():
    """Three panels a row made 305 streams a strip 38,148 pixels tall, and 1,000 streams one of
    124,916 pixels whose raster took 860 MB to draw. Under 65,536 a side: what older matplotlib
    (and many image viewers) take."""
    width, height = charts.PANEL_INCHES
    for streams in [*range(1, 400), 525, 1000, 5000, 20000]:
        columns, rows, dpi = charts.panel_grid(streams)
        assert columns * rows >= streams and columns * (rows - 1) < streams, streams  # no empty row
        assert columns * width * dpi < 65536 and rows * height * dpi < 65536, streams
        assert dpi >= charts.DPI_AT_LEAST
        if streams <= 180:
            assert (columns, dpi) == (min(3, streams), charts.DPI), streams  # the layout the examples have
        else:
            assert 0.5 < (columns * width) / (rows * height) < 2, streams  # about as wide as tall
            assert columns * width * rows * height * dpi ** 2 <= charts.PIXELS_AT_MOST * 1.0001 or dpi == charts.DPI_AT_LEAST


def test_a_flat_forecast_is_drawn_below_the_panel_top_edge(tmp_path, monkeypatch):
    """A stream that never changed: its line sat on the panel's top edge, where no one could see it."""
    quarters = [str(q) for q in pd.period_range("2026Q1", periods=6, freq="Q")]
    table = pd.DataFrame(_rows("a", quarters[:4], [100] * 4, "history") + _rows("a", quarters[4:], [100] * 2, "forecast"))
    future = table["kind"] == "forecast"
    table.loc[~future, ["p10", "p90"]] = 100.0
    table.loc[future, "p10"], table.loc[future, "p90"] = 99.999, 100.001  # the forecaster's about-zero band
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.forecast_chart(table, (0.1, 0.5, 0.9), 0.5, "units", tmp_path / "f.png")
    bottom, top = figures[0].axes[0].get_ylim()
    plt.close(figures[0])
    assert bottom == 0 and top >= 105


def test_every_panel_shows_what_the_plan_buys_for_and_the_inner_bands_asked_for(tmp_path, monkeypatch):
    """Without overrides the planned line was not drawn, so a reader had to know the plan covers P90;
    with quantiles P5/P25/P50/P75/P95 only P5-P95 was shaded."""
    history, future = ["2026Q3", "2026Q4"], ["2027Q1", "2027Q2"]
    table = pd.DataFrame(_rows("a", history, [100, 110], "history") + _rows("a", future, [120, 130], "forecast"))
    table = table.rename(columns={"p10": "p5", "p90": "p95"}).assign(
        p25=table["p50"] * 0.95, p75=table["p50"] * 1.05)
    past = table["kind"] == "history"
    table.loc[past, ["p5", "p25", "p75", "p95"]] = table.loc[past, ["p50"] * 4].to_numpy()  # as the planner writes them
    table["planning_demand"] = table["p75"].where(~past)
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.forecast_chart(table, (0.05, 0.25, 0.5, 0.75, 0.95), 0.75, "units", tmp_path / "f.png")
    axis = figures[0].axes[0]
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["actual", "P5-P95", "P25-P75", "P50",
                                                                     "planned for (P75)"]
    planned = next(line for line in axis.get_lines() if line.get_label() == "planned for (P75)")
    assert list(planned.get_ydata()) == [120 * 1.05, 130 * 1.05]
    inner = next(band for band in axis.collections if band.get_label() == "P25-P75")
    low, high = inner.get_paths()[0].vertices[:, 1].min(), inner.get_paths()[0].vertices[:, 1].max()
    plt.close(figures[0])
    assert (low, high) == (110, 130 * 1.05)  # from the last actual to P75's top


def _two_panels(tmp_path, monkeypatch, history_of_a, **marks):
    """The chart of streams a (history 2026Q2-Q4 as given) and b, with `marks` (marked=, breaks=): its two axes."""
    history, future = ["2026Q2", "2026Q3", "2026Q4"], ["2027Q1", "2027Q2"]
    table = pd.DataFrame(_rows("a", history, history_of_a, "history") + _rows("a", future, [120, 130], "forecast")
                         + _rows("b", history, [50, 55, 60], "history") + _rows("b", future, [60, 65], "forecast"))
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.forecast_chart(table, (0.1, 0.5, 0.9), 0.9, "units", tmp_path / "f.png", **marks)
    plt.close(figures[0])
    return figures[0].axes[0], figures[0].axes[1]


def test_a_one_off_quarter_is_ringed_in_its_own_panel_only(tmp_path, monkeypatch):
    ringed, other = _two_panels(tmp_path, monkeypatch, [100, 220, 110], marked={("a", "w", pd.Period("2026Q3", freq="Q"))})
    rings = [c for c in ringed.collections if c.get_label() == "quarter out of line"]
    assert len(rings) == 1 and rings[0].get_offsets().tolist() == [
        [matplotlib.dates.date2num(pd.Period("2026Q3", freq="Q").to_timestamp()), 220 * 0.9]]
    assert not [c for c in other.collections if c.get_label() == "quarter out of line"]
    assert "quarter out of line" in [t.get_text() for t in ringed.get_legend().get_texts()]


def test_a_level_break_is_a_dotted_line_at_its_quarter_in_its_own_panel_only(tmp_path, monkeypatch):
    with_break, other = _two_panels(tmp_path, monkeypatch, [200, 100, 110], breaks={("a", "w", pd.Period("2026Q3", freq="Q"))})
    lines = [line for line in with_break.get_lines() if line.get_label() == "level break"]
    assert len(lines) == 1 and list(lines[0].get_xdata()) == [pd.Period("2026Q3", freq="Q").to_timestamp()] * 2
    assert not [line for line in other.get_lines() if line.get_label() == "level break"]
    assert "level break" in [t.get_text() for t in with_break.get_legend().get_texts()]


def _plan_figure(power: pd.DataFrame, monkeypatch, tmp_path):
    """plan.png's figure for `power` (quarter, site, facility_kw, capacity_kw), drawn, left open."""
    quarters = sorted(set(power["quarter"]))
    demand = pd.DataFrame({"quarter": quarters, "demand": 10.0, "served_factory": 10.0, "served_cloud": 0.0, "unmet": 0.0})
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.plan_chart(SimpleNamespace(demand=demand, power=power), "units", tmp_path / "p.png")
    figures[0].canvas.draw()
    return figures[0]


def test_a_site_the_plan_never_uses_says_so_in_the_power_legend(tmp_path, monkeypatch):
    """Its used line lay on the axis at zero, hidden, so the legend seemed to name a line not drawn."""
    quarters = list(pd.period_range("2027Q1", periods=3, freq="Q"))
    power = pd.DataFrame({"quarter": quarters * 2, "site": ["a"] * 3 + ["b"] * 3,
                          "facility_kw": [500.0, 800.0, 900.0, 0.0, 0.0, 0.0], "capacity_kw": 1000.0})
    figure = _plan_figure(power, monkeypatch, tmp_path)
    labels = [t.get_text() for t in figure.axes[1].get_legend().get_texts()]
    plt.close(figure)
    assert labels == ["a", "b (none in the plan)", "used", "available"]


def test_the_power_legend_sits_beside_the_panel_inside_the_picture(tmp_path, monkeypatch):
    """Inside the panel's top left, the legend of six sites hid a site's lines running near its top."""
    quarters = list(pd.period_range("2027Q1", periods=4, freq="Q"))
    sites = [f"site-{n}" for n in range(6)]
    power = pd.DataFrame([{"quarter": q, "site": s, "facility_kw": 39_000.0, "capacity_kw": 40_000.0}
                          for s in sites for q in quarters])
    figure = _plan_figure(power, monkeypatch, tmp_path)
    panel, legend = figure.axes[1].get_window_extent(), figure.axes[1].get_legend().get_window_extent()
    plt.close(figure)
    assert legend.x0 >= panel.x1  # beside the panel, over none of its lines
    assert legend.x1 <= figure.bbox.x1 and legend.y0 >= figure.bbox.y0  # and not cut off by the picture's edge


def test_each_site_has_a_colour_of_its_own_however_many_sites():
    """The default ten colours repeated: an eleventh site's lines looked like the first site's."""
    for count in (3, 10, 11, 20, 35):
        colors = [matplotlib.colors.to_rgba(color) for color in charts.site_colors(count)]
        assert len(set(colors)) == count, count


def test_a_band_past_any_scale_keeps_its_labels_short_and_the_layout_whole(tmp_path, monkeypatch):
    """A quarter typed as 1e-320 ran a band to 1e21: its 28-digit tick labels left tight_layout
    unable to fit the panels, with a warning on the planner's stderr."""
    history, future = ["2026Q3", "2026Q4"], ["2027Q1", "2027Q2"]
    table = pd.DataFrame(_rows("a", history, [100, 110], "history") + _rows("a", future, [1e20, 1e21], "forecast")
                         + _rows("b", history, [50, 55], "history") + _rows("b", future, [60, 65], "forecast"))
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    with catch_warnings():
        simplefilter("error")  # matplotlib's 'Tight layout not applied' fails the test
        charts.forecast_chart(table, (0.1, 0.5, 0.9), 0.9, "units", tmp_path / "f.png")
    labels = [label.get_text() for label in figures[0].axes[0].get_yticklabels()]
    assert labels and max(map(len, labels)) <= 8 and any("e+" in label for label in labels), labels
    assert charts._amount_tick(12_500) == "12,500"
    plt.close(figures[0])


def test_long_stream_names_keep_each_panel_title_over_its_own_panel(tmp_path, monkeypatch):
    """A 27-character region ran 'region / workload  [model]' over the next panel's title and off
    the picture's edge."""
    history, future = ["2026Q3", "2026Q4"], ["2027Q1", "2027Q2"]
    rows = []
    for region in ("germany-frankfurt-sovereign", "eu-fr", "a-region-named-at-great-length-" + "x" * 60):
        rows += _rows(region, history, [100, 110], "history") + _rows(region, future, [120, 130], "forecast")
    table = pd.DataFrame(rows).assign(workload="commercial")
    table.loc[table["kind"] == "forecast", "model"] = "arima+ets-damped-seasonal+ets-damped"
    figures = []
    monkeypatch.setattr(charts.plt, "close", figures.append)
    charts.forecast_chart(table, (0.1, 0.5, 0.9), 0.9, "units", tmp_path / "f.png")
    figure = figures[0]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    spans = []
    for axis in figure.axes:
        title, panel = axis.title.get_window_extent(renderer), axis.get_window_extent(renderer)
        assert panel.x0 - 20 <= title.x0 and title.x1 <= panel.x1 + 20, axis.get_title()  # over its panel
        assert figure.bbox.x0 <= title.x0 and title.x1 <= figure.bbox.x1, axis.get_title()
        spans.append((title.x0, title.x1))
    spans.sort()
    assert all(left[1] < right[0] for left, right in zip(spans, spans[1:])), spans  # no two titles overlap
    assert figure.axes[1].get_title() == "eu-fr / commercial\n[arima+ets-damped-seasonal+ets-damped]"
    plt.close(figure)


def test_a_long_site_name_wraps_in_the_power_legend_and_leaves_the_panels_their_width(tmp_path, monkeypatch):
    """A site named in 150 characters made a legend line so wide that both panels shrank to slivers
    and their titles ran into each other."""
    quarters = list(pd.period_range("2027Q1", periods=4, freq="Q"))
    sites = ["par-1", "frankfurt-main-campus-building-" + "y" * 120]
    power = pd.DataFrame([{"quarter": q, "site": s, "facility_kw": 9_000.0, "capacity_kw": 10_000.0}
                          for s in sites for q in quarters])
    figure = _plan_figure(power, monkeypatch, tmp_path)
    labels = [t.get_text() for t in figure.axes[1].get_legend().get_texts()]
    legend = figure.axes[1].get_legend().get_window_extent()
    widths = [axis.get_window_extent().width / figure.bbox.width for axis in figure.axes]
    plt.close(figure)
    wrapped = labels[0]  # sites in name order
    assert wrapped.replace("\n", "") == sites[1] and max(len(line) for line in wrapped.splitlines()) <= 40
    assert min(widths) > 0.3, widths  # each panel keeps about a third of the picture
    assert legend.x1 <= figure.bbox.x1
