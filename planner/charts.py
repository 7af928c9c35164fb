"""PNG charts a planner can read at a glance (matplotlib, no screen needed)."""

from __future__ import annotations

import datetime
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from forecasts import quantile_column  # noqa: E402


def forecast_chart(table: pd.DataFrame, quantiles, planning_quantile: float, compute_unit: str, path: Path,
                   marked=frozenset(), breaks=frozenset()) -> None:
    """One small panel per stream: history, P50, the shaded quantile bands and the demand the plan buys for.

    The planned line is drawn in every panel, not only where overrides move it: without it a
    reader had to know which edge of the band (if any) the plan covers. `marked` holds
    (region, workload, quarter) of history quarters to ring in red, 'out of line': the one-off
    quarters and latest jumps the forecaster warned about (the panel shows which point a wide band
    comes from; a latest jump may be a new level, so the legend does not call it a one-off) or
    that the scenario has the models take at another level (the line still shows the actual).
    `breaks` holds (region, workload, quarter) of breaks in a stream's level, found or where the
    scenario starts the models' history: a dotted red line at that quarter."""
    streams = sorted(set(zip(table["region"], table["workload"])))
    columns, rows, dpi = panel_grid(len(streams))
    figure, axes = plt.subplots(rows, columns, figsize=(PANEL_INCHES[0] * columns, PANEL_INCHES[1] * rows), squeeze=False)
    low, mid, high = quantile_column(min(quantiles)), quantile_column(0.5) if 0.5 in quantiles else None, quantile_column(max(quantiles))
    inner = _inner_bands(quantiles)
    overridden = bool((table["override_delta"] != 0).any())
    planned_label = f"planned for (P{planning_quantile * 100:g}{' + overrides' if overridden else ''})"
    for axis, (region, workload) in zip(axes.flat, streams):
        stream = table[(table["region"] == region) & (table["workload"] == workload)]
        past, future = stream[stream["kind"] == "history"], stream[stream["kind"] == "forecast"]
        x_past = past["quarter"].map(lambda q: q.to_timestamp())
        axis.plot(x_past, past[low], color="black", linewidth=1.6, label="actual")
        one_offs = past[past["quarter"].map(lambda quarter: (region, workload, quarter) in marked).astype(bool)]
        if len(one_offs):
            axis.scatter(one_offs["quarter"].map(lambda q: q.to_timestamp()), one_offs[low], s=70, facecolors="none",
                         edgecolors="tab:red", linewidths=1.6, zorder=3, label="quarter out of line")
        for quarter in sorted(q for r, w, q in breaks if (r, w) == (region, workload)):
            axis.axvline(quarter.to_timestamp(), color="tab:red", linestyle=":", linewidth=1.4, label="level break")
        # the forecast starts from the last actual, so the eye does not read a jump between them
        joined = pd.concat([past.tail(1), future]) if len(past) else future
        x_future = joined["quarter"].map(lambda q: q.to_timestamp())
        axis.fill_between(x_future, joined[low], joined[high], color="tab:blue", alpha=0.2,
                          label=f"{low.upper()}-{high.upper()}")
        for inner_low, inner_high in inner:  # darker than the outer band in the legend too
            axis.fill_between(x_future, joined[inner_low], joined[inner_high], color="tab:blue", alpha=0.3,
                              label=f"{inner_low.upper()}-{inner_high.upper()}")
        if mid:
            axis.plot(x_future, joined[mid], color="tab:blue", linewidth=1.6, label="P50")
        x_future = future["quarter"].map(lambda q: q.to_timestamp())
        axis.plot(x_future, future["planning_demand"], color="tab:orange", linestyle="--", linewidth=1.4,
                  label=planned_label)
        model = future["model"].iloc[0] if len(future) else ""
        axis.set_title(_panel_title(f"{region} / {workload}", f"[{model}]"), fontsize=10)
        drawn = stream[[low, high, "planning_demand"]].to_numpy(float)
        _from_zero_with_headroom(axis, float(np.nanmax(drawn, initial=0.0)))
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=8)
        axis.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_amount_tick))
    for axis in list(axes.flat)[len(streams):]:
        axis.set_visible(False)
    # one legend for every panel's lines: a line drawn only in some panels (planned with overrides) was unexplained
    legend = {}
    for axis in axes.flat:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    axes.flat[0].legend(legend.values(), legend.keys(), fontsize=8, loc="best")  # upper left hid a flat line
    figure.suptitle(f"Demand forecast ({compute_unit})", fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


PANEL_INCHES = (5.2, 3.4)  # a forecast panel, width and height
DPI = 110
# Three panels a row made 305 streams a strip 1,716 x 38,148 pixels, a hundred screens to scroll,
# and 1,000 streams one 124,916 pixels tall, whose raster (4 bytes a pixel, held in memory while it
# is drawn) took 860 MB. Past ROWS_AT_MOST rows the panels are laid out about as wide as tall, and
# past PIXELS_AT_MOST the resolution comes down, never below DPI_AT_LEAST.
ROWS_AT_MOST = 60
PIXELS_AT_MOST = 100e6
DPI_AT_LEAST = 40


def panel_grid(streams: int) -> tuple[int, int, float]:
    """(columns, rows, dpi) of forecast.png for `streams` panels: three a row while that keeps to
    ROWS_AT_MOST rows, else a grid about as wide as tall; DPI while the picture keeps to PIXELS_AT_MOST."""
    columns = min(3, streams)
    if streams > 3 * ROWS_AT_MOST:
        columns = math.ceil(math.sqrt(streams * PANEL_INCHES[1] / PANEL_INCHES[0]))
    rows = math.ceil(streams / columns)
    inches = PANEL_INCHES[0] * columns * PANEL_INCHES[1] * rows
    return columns, rows, max(DPI_AT_LEAST, min(DPI, math.sqrt(PIXELS_AT_MOST / inches)))


TITLE_CHARACTERS = 56  # of a forecast panel's title on one line: fits its 5.2 inches at 10 points with room to spare
LEGEND_CHARACTERS = 40  # of a site's name in the power legend before it wraps


def _panel_title(stream: str, model: str) -> str:
    """'stream  [model]' on one line where it fits the panel, else the two on lines of their own,
    each wrapped: a 27-character region ran its title over the next panel's and off the picture."""
    line = f"{stream}  {model}"
    if len(line) <= TITLE_CHARACTERS:
        return line
    return "\n".join(textwrap.fill(part, TITLE_CHARACTERS) for part in (stream, model))


def _amount_tick(value: float, _position=None) -> str:
    """'12,500' on an amount axis; from ten billion on '2.5e+21': a band that ran to 1e21 (a quarter
    typed as 1e-320) wrote 28-digit labels, and tight_layout gave up on the panel with a warning."""
    return f"{value:,.0f}" if abs(value) < 1e10 else f"{value:.2g}"


LEGEND_ROWS = 20  # entries in one legend column that fit the panel's height at the legend's size
NEVER_USED = " (none in the plan)"  # after a site in a legend: its used line lies hidden on the axis at zero


def plan_chart(plan, compute_unit: str, path: Path) -> None:
    """Left: demand and how it is served per quarter. Right: facility MW used (solid) vs available
    (dashed) per site, a colour per site; a site the plan never uses says so in the legend, as its
    used line lies hidden on the axis at zero."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5))
    demand = plan.demand.groupby("quarter")[["demand", "served_factory", "served_cloud", "unmet"]].sum()
    x = [q.to_timestamp() for q in demand.index]
    left.stackplot(x, demand["served_factory"], demand["served_cloud"], demand["unmet"],
                   labels=["own factories", "cloud", "unmet"], colors=["tab:green", "tab:orange", "tab:red"], alpha=0.7)
    left.plot(x, demand["demand"], color="black", linewidth=1.5, label="demand planned for")
    left.set_title(f"Demand and how it is served ({compute_unit})")
    left.legend(fontsize=8, loc="upper left")
    by_site = list(plan.power.groupby("site"))
    colors, unused = site_colors(len(by_site)), never_used_sites(plan.power)
    handles = []
    for color, (site, rows) in zip(colors, by_site):
        xs = [q.to_timestamp() for q in rows["quarter"]]
        # wrapped: a site named in 150 characters squeezed both panels to slivers
        label = textwrap.fill(site + (NEVER_USED if site in unused else ""), LEGEND_CHARACTERS)
        handles += right.plot(xs, rows["facility_kw"] / 1000, color=color, linewidth=1.8, label=label)
        right.plot(xs, rows["capacity_kw"] / 1000, color=color, linewidth=1, linestyle="--")
    handles += [Line2D([], [], color="grey", linewidth=1.8, label="used"),
                Line2D([], [], color="grey", linewidth=1, linestyle="--", label="available")]
    right.set_title("Facility power per site (MW)")
    # beside the panel: inside it, the legend hid the lines running near the top
    right.legend(handles=handles, fontsize=7, ncol=math.ceil(len(handles) / LEGEND_ROWS), loc="upper left",
                 bbox_to_anchor=(1.01, 1))
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.set_ylim(bottom=0)
        axis.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_amount_tick))
        _quarter_ticks(axis)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def never_used_sites(power: pd.DataFrame) -> set[str]:
    """Sites that draw no power in any quarter of the plan (power.csv's rows)."""
    most = power.groupby("site")["facility_kw"].max()
    return set(most[most <= 0].index)


def site_colors(count: int) -> list[str]:
    """A colour of its own for each site, in site order, as hex: the default ten repeated from the
    eleventh site on. The workbook's power chart takes the same, so a site reads alike in both."""
    if count <= 10:
        return [matplotlib.colors.to_hex(f"C{index}") for index in range(count)]
    palette = plt.get_cmap("tab20" if count <= 20 else "turbo")
    return [matplotlib.colors.to_hex(palette(index if count <= 20 else index / (count - 1))) for index in range(count)]


def _inner_bands(quantiles) -> list[tuple[str, str]]:
    """Column pairs of the central intervals inside the outer band, outermost first (P25-P75 of
    P5/P25/P50/P75/P95): the outer band alone hid the other quantiles a scenario asked for."""
    ordered = sorted(quantiles)
    return [(quantile_column(q), quantile_column(upper)) for q in ordered[1:] if q < 0.5
            for upper in ordered if math.isclose(upper, 1 - q)]


def _from_zero_with_headroom(axis, peak: float) -> None:
    """The y axis from zero to above the highest value drawn: matplotlib's autoscale puts a flat
    line at the top of its own tiny range, which starting the axis at zero turned into the
    panel's top edge (a stream that never changed drew no visible line at all)."""
    axis.set_ylim(0, max(axis.get_ylim()[1], peak * 1.08, 1.0))


# The most year labels a plan panel's time axis holds side by side: "2027Q1" at 8 points is about
# 0.45 in, a panel about 6 in. Twenty years labelled every year ran into one smear of digits.
YEAR_LABELS = 8


def _quarter_ticks(axis) -> None:
    """Label the time axis in quarters as the plan tables do (2027Q1), not as dates (2027-07),
    a label every year (every few years on a long horizon, at most YEAR_LABELS) and a minor tick
    each quarter. Call it once the data is drawn: the span sets the step."""
    low, high = axis.get_xlim()
    januaries = [year for year in range(mdates.num2date(low).year, mdates.num2date(high).year + 1)
                 if low <= mdates.date2num(datetime.datetime(year, 1, 1)) <= high]
    step = next((step for step in (1, 2, 3, 4, 5, 10, 20, 50) if len(januaries[::step]) <= YEAR_LABELS), 100)
    axis.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(
        [mdates.date2num(datetime.datetime(year, 1, 1)) for year in januaries[::step]]))
    axis.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda value, _: f"{mdates.num2date(value).year}Q{(mdates.num2date(value).month - 1) // 3 + 1}"))
