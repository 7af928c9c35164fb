"""Run four quarters of re-forecasting on examples/global-enterprise with the shipped actuals.

Run: python examples/quarterly/run_quarters.py [OUT_DIR]   (default: quarterly-run/)
Plans the scenario as it is, then for each quarter 2027Q1-2027Q4 rolls forward with that
quarter's actuals (`planner reforecast`), leaving each quarter's scenario and roadmap in
OUT_DIR/<quarter>/, and prints one line per quarter (with the order lines and racks changed
against the previous plan, and those the cheapest plan found would have changed: see the README's
"A re-plan keeps the previous plan's orders" section), then the last plan's record of actuals
against the forecasts made before them: how often they fell below and above the band and above
P50 for each number of quarters ahead (the README's table).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "global-enterprise"
QUARTERS = ["2027Q1", "2027Q2", "2027Q3", "2027Q4"]


def planner(*args: str) -> None:
    completed = subprocess.run([sys.executable, "-m", "planner", *args, "--quiet"], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"planner {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="quarterly-run", help="directory for the quarters' scenarios and plans")
    out = Path(parser.parse_args().out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    planner("plan", str(EXAMPLE), "--out", str(out / "initial" / "plan"))
    scenario, previous = EXAMPLE, out / "initial" / "plan"
    for quarter in QUARTERS:
        target = out / quarter
        planner("reforecast", str(scenario), "--actuals", str(HERE / "actuals" / f"{quarter}.csv"),
                "--previous", str(previous), "--out", str(target))
        summary = json.loads((target / "plan" / "plan.json").read_text())
        changes = pd.read_csv(target / "plan" / "changes.csv")
        kept, kpis = summary["previous_orders"], summary["kpis"]
        print(f"{quarter} actuals in: plan from {int(quarter[:4]) + (quarter[-1] == '4')}Q{int(quarter[-1]) % 4 + 1}, "
              f"status {summary['status']}, NPV {kpis['npv_usd'] / 1e6:,.1f} M, "
              f"{sum(kpis['racks_ordered'].values())} racks to order, "
              f"{(changes['change'] != 'unchanged').sum()} of {len(changes)} order lines changed "
              f"({kept['racks_after']} racks; the cheapest plan found changed {kept['lines_before']}, "
              f"{kept['racks_before']} racks)")
        scenario, previous = target / "scenario", target / "plan"
    print_band_record(previous)


def print_band_record(plan: Path) -> None:
    """The plan's record of the band per quarters ahead, as a Markdown table."""
    from planner.actuals_record import ahead_text, band_shares
    from planner.changes import PlanSnapshot

    shares = band_shares(PlanSnapshot.from_dir(plan).record)
    low, high = shares["band"].iloc[0].split("-") if shares["band"].iloc[0] else ("the band", "the band")
    print(f"\n| forecast made | actuals | below {low} | above {high} | above P50 |\n| --- | --- | --- | --- | --- |")
    for row in shares.itertuples():
        print(f"| {ahead_text(row.quarters_ahead)} | {row.actuals} | {_count(row.below_band, row.share_below)} | "
              f"{_count(row.above_band, row.share_above)} | {_count(row.above_p50, row.share_above_p50)} |")


def _count(count, share) -> str:
    """'7 (19%)', '0', or '' where the forecasts had no P50."""
    if pd.isna(count):
        return ""
    return f"{count} ({share:.0%})" if count else "0"


if __name__ == "__main__":
    main()
