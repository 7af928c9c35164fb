"""Roll a scenario forward one quarter: append actuals, lock what the previous plan placed.

All carry-over lives here, in one function with explicit invariants:
- the quarter that just ended is the old `start`; actuals must cover exactly that quarter,
  once per known stream;
- the previous plan's *new* orders (locked == false) placed in [old start, old start +
  frozen_quarters] are appended to orders.csv; its locked rows are already in orders.csv and
  are never appended again (no double counting with orders.csv or fleet.csv);
- a candidate factory that now has placed orders becomes existing (it was opened and its
  fixed cost was charged by the plan that opened it), with one quarter less set-up left;
- nothing else changes, and the original scenario directory is never written.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd

from models.runs import some_of
from planner.problems import Problem, ScenarioError, did_you_mean
from planner.quarters import format_quarter, parse_quarter
from planner.rules import demand_jumps
from planner.scenario import Scenario
from planner.schema import TABLES_BY_NAME, Table
from planner.tables import read_table
from planner.text_files import BROWSER_LITTER, SPREADSHEET_LOCK

ACTUALS = Table("actuals.csv", "Actual demand of the quarter that has just ended.",
                TABLES_BY_NAME["demand_history"].columns, key=("quarter", "region", "workload"))


def read_actuals(path: Path, scenario: Scenario) -> tuple[pd.DataFrame, list[Problem]]:
    """Validate actuals against the scenario; raise ScenarioError naming file, row and column.

    Returns the actuals and warnings about the legal but suspicious ones (a tenfold jump from the
    stream's last quarter of history), naming the actuals file's rows: the same rule run on the
    rolled scenario could only name a row of a history file the user never wrote.
    """
    table = Table(path.name, ACTUALS.description, ACTUALS.columns, ACTUALS.key)
    frame, problems, _ = read_table(path.parent, table)
    expected = scenario.settings.start
    streams = set(zip(scenario.demand_history["region"], scenario.demand_history["workload"]))
    for row, item in frame.iterrows():
        if item.quarter != expected:
            problems.append(Problem(path.name, int(row), "quarter",
                                    f"got {format_quarter(item.quarter)}; expected {format_quarter(expected)}, "
                                    "the quarter that has just ended (the scenario's start)"))
    problems += _unknown_streams(path.name, frame, scenario, streams)
    if not problems:
        missing = streams - set(zip(frame["region"], frame["workload"]))
        problems += [Problem(path.name, None, None, f"no actual for stream {g}/{w} in {format_quarter(expected)}")
                     for g, w in sorted(missing)]
    if problems:
        raise ScenarioError(problems, where=str(path))
    history = scenario.demand_history.sort_values("quarter").groupby(["region", "workload"])["demand"].last()
    previous = pd.Series([history[(g, w)] for g, w in zip(frame["region"], frame["workload"])], index=frame.index)
    return frame, demand_jumps(path.name, frame, previous)


def _unknown_streams(name: str, frame: pd.DataFrame, scenario: Scenario, streams: set) -> list[Problem]:
    """Actuals for streams without history: one that the scenario plans from overrides alone (it
    takes actuals once it has history), one the scenario does not know (a typo), or, when no row
    matches, actuals of another scenario: said once, not once per row."""
    labels = {f"{g}/{w}" for g, w in streams}
    unknown = [(int(row), f"{item.region}/{item.workload}") for row, item in frame.iterrows()
               if (item.region, item.workload) not in streams]
    if len(frame) and len(unknown) == len(frame):
        found = sorted({label for _, label in unknown})
        shown = some_of(found)
        return [Problem(name, None, "region", f"none of its streams ({shown}) "
                        f"has history in scenario {scenario.path} ({', '.join(sorted(labels))}): are these the actuals "
                        "of another scenario?")]
    overrides_only = {f"{g}/{w}" for g, w in scenario.streams} - labels
    problems = []
    for row, label in unknown:
        if label in overrides_only:
            problems.append(Problem(name, row, "region", f"stream {label} has no demand history in the scenario; a "
                                    "stream planned from demand_overrides.csv alone takes no actuals until its history "
                                    "is in demand_history.csv (3 quarters or more to forecast it)"))
        else:
            problems.append(Problem(name, row, "region", f"stream {label} is not in the scenario"
                                    f"{did_you_mean(label, labels)}; its streams: {', '.join(sorted(labels))}"))
    return problems


def check_plan_of(scenario: Scenario, previous_forecast: pd.DataFrame, where: str = "the previous plan") -> None:
    """ScenarioError unless the previous plan starts in the scenario's start quarter (the quarter
    whose actuals are rolled in). A plan of an earlier quarter carried orders the scenario's
    orders.csv already held, counted twice (caught only by the plan checker, as an internal error,
    when it broke a supply cap); one of a later quarter would skip orders."""
    planned = previous_forecast[previous_forecast["kind"] == "forecast"]
    start = format_quarter(scenario.settings.start)
    if len(planned) and (first := min(planned["quarter"], key=lambda q: pd.Period(q, freq="Q"))) == start:
        return
    row = int(planned.index[0]) if len(planned) else None
    found = f"starts in {first}" if len(planned) else "has no forecast rows"
    raise ScenarioError([Problem("forecast.csv", row, "quarter", f"the plan {found}, but the scenario {scenario.path} "
                                 f"starts in {start}: --previous must be the plan made from this scenario as it is "
                                 "(a plan of another quarter would carry its orders twice or not at all)")], where)


def carried_orders(scenario: Scenario, previous_orders: pd.DataFrame, where: str = "the previous plan") -> pd.DataFrame:
    """The previous plan's new orders that are now placed or frozen, as orders.csv rows, indexed
    by their row in the previous plan's orders.csv.

    `previous_orders`: planner.plan_files (order_quarter, factory, rack_type, racks, locked).
    ScenarioError, naming those rows, when one names a factory or rack type the scenario does
    not have: the previous plan is another scenario's, and the rolled scenario would not load.
    """
    start = scenario.settings.start
    rows = _new_orders(previous_orders, start, start + scenario.settings.frozen_quarters)
    problems = [Problem("orders.csv", int(row), column, f"'{value}' is not a {noun} of the scenario "
                        f"{scenario.path}{did_you_mean(value, known)}: is --previous this scenario's plan?")
                for column, noun, known in (("factory", "factory", set(scenario.factories["factory"])),
                                            ("rack_type", "rack type", set(scenario.racks["rack_type"])))
                for row, value in rows[column].items() if value not in known]
    if problems:
        raise ScenarioError(problems, where)
    return rows.assign(order_quarter=rows["order_quarter"].map(format_quarter))


def open_orders(scenario: Scenario, previous_orders: pd.DataFrame) -> pd.DataFrame:
    """The previous plan's new orders that the roll does not lock (after the frozen window): the
    orders the re-plan keeps to where its allowance admits (models/steady.py). order_quarter as
    a Period, for PlanInputs.previous_orders."""
    return _new_orders(previous_orders, scenario.settings.start + scenario.settings.frozen_quarters + 1)


def _new_orders(previous_orders: pd.DataFrame, first: pd.Period, last: pd.Period | None = None) -> pd.DataFrame:
    """The previous plan's new (not locked) orders placed from `first` to `last` (no end: None):
    order_quarter (a Period), factory, rack_type, racks, indexed by their row in its orders.csv.
    The roll locks those of the frozen window and the re-plan keeps to the rest."""
    quarters = pd.PeriodIndex(previous_orders["order_quarter"], freq="Q")
    keep = ((~previous_orders["locked"]).to_numpy() & (quarters >= first)
            & ((quarters <= last) if last is not None else True))
    rows = previous_orders[keep]
    return pd.DataFrame({"order_quarter": quarters[keep], "factory": rows["factory"],
                         "rack_type": rows["rack_type"], "racks": rows["racks"].astype(int)}, index=rows.index)


def roll_forward(scenario: Scenario, actuals: pd.DataFrame, locked: pd.DataFrame, target: Path) -> None:
    """Write the rolled scenario into `target` (an empty directory), with the previous plan's
    orders to lock (`carried_orders`) appended to its orders.csv."""
    source = scenario.path
    for path in source.iterdir():  # not a spreadsheet's lock file: copied, it said the rolled file was open
        if path.is_file() and not (SPREADSHEET_LOCK.match(path.name) or BROWSER_LITTER.match(path.name)):
            shutil.copy2(path, target / path.name)
    new_start = scenario.settings.start + 1
    yaml_path = target / "scenario.yaml"
    text, count = re.subn(r"(?m)^(start:\s*)\S+", rf"\g<1>{format_quarter(new_start)}", yaml_path.read_text())
    if count != 1:
        raise ScenarioError([Problem("scenario.yaml", None, "start", "could not find one top-level start key to roll")])
    yaml_path.write_text(text)

    _append_rows(target / "demand_history.csv", ["quarter", "region", "workload", "demand"],
                 [(format_quarter(q), g, w, _number(d)) for q, g, w, d in
                  actuals[["quarter", "region", "workload", "demand"]].itertuples(index=False)])
    _merge_orders(target / "orders.csv", list(locked.itertuples(index=False, name=None)))
    _open_candidates(target / "factories.csv", set(locked["factory"]) | set(scenario.orders["factory"]))
    _drop_overrides_of(target / "demand_overrides.csv", scenario.settings.start)


def _drop_overrides_of(path: Path, ended: pd.Period) -> None:
    """Leave out the demand_overrides.csv rows of the quarter that has just ended: its actuals stand
    for those deals now. Kept, they fell before the rolled scenario's start, where a deal typed in
    the wrong year also lands, and every later quarter warned about them."""
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    position = [cell.strip() for cell in rows[0]].index("quarter")  # the scenario was validated: it is there
    kept = [row for row in rows[1:] if not (len(row) > position and _is_quarter(row[position], ended))]
    if len(kept) < len(rows) - 1:
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows([rows[0], *kept])


def _is_quarter(cell: str, quarter: pd.Period) -> bool:
    try:
        return parse_quarter(cell.strip()) == quarter
    except ValueError:
        return False


def _number(value: float) -> str:
    """Exactly the value read: `:g` kept six digits, so 5,511,123 was appended as 5.51112e+06."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _append_rows(path: Path, header: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    exists = path.exists() and path.read_text().strip()
    if exists and not path.read_text().endswith("\n"):
        with path.open("a") as handle:
            handle.write("\n")
    with path.open("a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if not exists:
            writer.writerow(header)
        writer.writerows(rows)


def _merge_orders(path: Path, carried: list[tuple]) -> None:
    """Add carried orders to orders.csv, summing racks into an existing line with the same
    (order quarter, factory, rack type): a plan may add racks on top of an order locked
    earlier, and the file keeps one line per key."""
    if not carried:
        return
    header = ["order_quarter", "factory", "rack_type", "racks"]
    rows: dict[tuple, dict] = {}
    if path.exists() and path.read_text().strip():
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or header
            for row in reader:
                key = (format_quarter(pd.Period(row["order_quarter"].strip(), freq="Q")), row["factory"].strip(),
                       row["rack_type"].strip())
                rows[key] = row
    for quarter, factory, rack_type, racks in carried:
        key = (quarter, factory, rack_type)
        if key in rows:
            rows[key]["racks"] = str(int(rows[key]["racks"]) + int(racks))
        else:
            rows[key] = {"order_quarter": quarter, "factory": factory, "rack_type": rack_type, "racks": str(int(racks))}
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows.values())


def _open_candidates(path: Path, with_orders: set[str]) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return
    for row in rows:
        if row["factory"] in with_orders and row["status"].strip().lower() == "candidate":
            row["status"] = "existing"
            setup = int(row.get("setup_lead_time_quarters") or 0)
            row["setup_lead_time_quarters"] = str(max(0, setup - 1))
        elif row["status"].strip().lower() == "existing" and int(row.get("setup_lead_time_quarters") or 0) > 0:
            row["setup_lead_time_quarters"] = str(int(row["setup_lead_time_quarters"]) - 1)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


