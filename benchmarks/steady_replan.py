"""How far a re-plan keeps the previous plan's orders, and what the pass costs in time, by size.

Run: python benchmarks/steady_replan.py [--sizes medium,large] [--seeds 1,2] [--time-limit 120] [--noise 0.03]

For each instance: plan it (the previous plan), move every stream-quarter's demand by a seeded
factor 1 + N(0, noise) (a re-forecast that brings a little news), and re-plan twice from the same
model: from scratch, and keeping to the previous plan's orders (models/steady.py, at
--steady-within, by default up to the optimality gap). Prints one Markdown row each: racks and order lines the cheapest plan found
changes against the previous plan, those the kept plan changes, the NPV difference between the
two, the first solve's and the pass's time, and whether the pass finished within its 5%.
Each instance runs in its own process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.model_benchmark import SIZES, example_inputs  # noqa: E402


def measure(name: str, seed: int, time_limit: float, noise: float, steady_within: float | None) -> dict:
    from benchmarks.synthetic import synthetic_inputs
    from models.core import create_model
    from models.inputs import SolverOptions
    from models.solve import solve
    from models.extract import extract_plan

    spec = SIZES[name]
    inputs = example_inputs(name) if spec is None else synthetic_inputs(**spec, seed=seed)
    options = SolverOptions(time_limit_s=time_limit, mip_gap=0.005, threads=1, steady_within=steady_within)
    first = create_model(inputs)
    solve(first, options)
    orders = extract_plan(first).orders
    previous = orders[~orders["locked"]][["order_quarter", "factory", "rack_type", "racks"]]
    rng = np.random.default_rng(seed)
    demand = inputs.demand.assign(demand=inputs.demand["demand"] * np.maximum(0.0, 1 + rng.normal(0, noise, len(inputs.demand))))
    replan = dataclasses.replace(inputs, demand=demand, previous_orders=previous)
    m = create_model(replan)
    result = solve(m, options)
    report = result.steady
    return {"size": name if spec is None else f"{name} seed {seed}", "status": result.status,
            "first_s": result.seconds - report.seconds, **dataclasses.asdict(report)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="global-enterprise,medium,large", help="comma-separated names or prefixes")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds of the synthetic sizes")
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--noise", type=float, default=0.03, help="standard deviation of the demand factor")
    parser.add_argument("--steady-within", type=float, help="share of spend the pass may add (default: up to the gap)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, int(args.seeds), args.time_limit, args.noise, args.steady_within)))
        return
    wanted = [n for n in SIZES if any(n.startswith(p.strip()) for p in args.sizes.split(","))]
    print(f"time limit {args.time_limit:g} s, target gap 0.50%, demand moved by 1 + N(0, {args.noise:g}), "
          f"steady_within {'unset: up to the gap' if args.steady_within is None else f'{args.steady_within:g}'}, 1 thread")
    print("| size | status | cheapest: lines / racks changed | kept: lines / racks | NPV kept - cheapest (M) | "
          "allowed (M) | first solve s | pass s | pass within 5% |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in wanted:
        for seed in ([1] if SIZES[name] is None else args.seeds.split(",")):
            out = subprocess.run([sys.executable, __file__, "--one", name, "--seeds", str(seed), "--time-limit",
                                  str(args.time_limit), "--noise", str(args.noise),
                                  *(["--steady-within", str(args.steady_within)] if args.steady_within is not None else [])],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode} |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {r['size']} | {r['status']} | {r['lines_before']} / {r['racks_before']} | {r['lines_after']} / "
                  f"{r['racks_after']} | {r['npv_change_musd']:+.2f} | {r['allowed_musd']:.2f} | {r['first_s']:.1f} | "
                  f"{r['seconds']:.1f} | "
                  f"{'yes' if r['proven'] else 'no: ' + r['stopped_by']} |", flush=True)


if __name__ == "__main__":
    main()
