"""Model speed benchmark: prints one Markdown row per instance size.

Run: python benchmarks/model_benchmark.py [--time-limit 60] [--gap 0.005] [--sizes examples,medium,large]
                                         [--seeds 1,2,3,4]   (synthetic sizes only; default 1)

Each size runs in its own process so peak memory (ru_maxrss) is that size's alone; from 1,000
integers on it is that process's peak plus its search process's (models/isolation.py).
Columns: columns/rows/integers of the MIP, Pyomo build time, hand-over to HiGHS, solve
time, final status and gap, peak memory, and (build + hand-over) / total.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {
    "sovereign-eu": None,
    "global-enterprise": None,
    "medium S=30 R=5 W=6 G=6 T=24": dict(S=30, R=5, W=6, G=6, T=24),
    "large S=100 R=6 W=8 G=10 T=32": dict(S=100, R=6, W=8, G=10, T=32),
}


def example_inputs(name: str):
    """An example scenario with its demand forecast at the planning quantile."""
    from planner.pipeline import forecast_demand
    from planner.bridge import plan_inputs
    from planner.scenario import load_scenario

    scenario = load_scenario(ROOT / "examples" / name)
    return plan_inputs(scenario, forecast_demand(scenario).planning_demand)


def measure(name: str, time_limit: float, gap: float, seed: int) -> dict:
    import pyomo.environ as pyo

    from benchmarks.synthetic import synthetic_inputs
    from models.core import create_model
    from models.inputs import SolverOptions
    from models.solve import solve

    spec = SIZES[name]
    inputs = example_inputs(name) if spec is None else synthetic_inputs(**spec, seed=seed)
    began = time.perf_counter()
    m = create_model(inputs)
    build = time.perf_counter() - began
    integers = sum(1 for v in m.component_data_objects(pyo.Var) if v.is_integer() or v.is_binary())
    result = solve(m, SolverOptions(time_limit_s=time_limit, mip_gap=gap, threads=1))
    total = build + result.seconds
    return {
        "size": name if spec is None else f"{name} seed {seed}", "columns": m.nvariables(), "rows": m.nconstraints(), "integers": integers,
        "build_s": build, "handover_s": result.handover_s, "solve_s": result.seconds - result.handover_s,
        "status": result.status + (", killed" if result.stopped_late else ""),  # models/isolation.py
        "gap": result.gap, "total_s": total,
        # the planner's peak plus its search process's (models/isolation.py): an upper bound on the two together
        "peak_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                     + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024,
        "overhead_share": (build + result.handover_s) / total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated names or prefixes")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds of the synthetic sizes")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.time_limit, args.gap, int(args.seeds))))
        return
    wanted = [n for n in SIZES if any(n.startswith(p.strip()) for p in args.sizes.split(","))]
    print(f"time limit {args.time_limit:g} s, target gap {args.gap:.2%}, 1 thread, HiGHS via Pyomo persistent interface")
    print("| size | columns | rows | integers | build s | hand-over s | solve s | status | gap | peak MiB | (build+hand-over)/total |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    runs = [(name, seed) for name in wanted for seed in ([1] if SIZES[name] is None else args.seeds.split(","))]
    for name, seed in runs:
        out = subprocess.run([sys.executable, __file__, "--one", name, "--time-limit", str(args.time_limit),
                              "--gap", str(args.gap), "--seeds", str(seed)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        gap = f"{r['gap']:.2%}" if r["gap"] is not None else "-"
        print(f"| {r['size']} | {r['columns']:,} | {r['rows']:,} | {r['integers']:,} | {r['build_s']:.2f} | "
              f"{r['handover_s']:.2f} | {r['solve_s']:.2f} | {r['status']} | {gap} | {r['peak_mib']:.0f} | "
              f"{r['overhead_share']:.0%} |", flush=True)


if __name__ == "__main__":
    main()
