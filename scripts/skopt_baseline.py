#!/usr/bin/env python3
"""The original system's optimizer on latina's simulated designers, side by side.

scikit-optimize's GP + Expected Improvement at the original settings
(5 initial points, batches of two by ask(n_points=2) with its default
constant liar), minimising minus the rating, on exactly the designers of
`latina simulate --print-panel`, with the same metrics as `latina simulate`.

    pip install scikit-optimize
    cargo build --release
    python3 scripts/skopt_baseline.py --seeds 10 --ratings 50

It only reads the panel from the latina binary; the ratings here come from
numpy's generator, so individual sessions differ from latina's, and the
comparison is between medians over seeds.
"""
import argparse
import json
import math
import statistics
import subprocess
import warnings

import numpy as np
from skopt import Optimizer
from skopt.space import Categorical, Real

RANGES = [(0.1, 0.5), (5.0, 12.0), (0.7, 0.99)]
ARMS = ["tone", "detail"]


def arm_quality(arm, u):
    def bump(centre, widths):
        q = 0.0
        for d in range(3):
            c = (centre[d] - RANGES[d][0]) / (RANGES[d][1] - RANGES[d][0])
            q += ((u[d] - c) / widths[d]) ** 2
        if arm["shape"] == "bump":
            return math.exp(-0.5 * q)
        return 1.0 - min(0.5 * q / 4.0, 1.0)

    main = arm["floor"] + (arm["ceiling"] - arm["floor"]) * bump(arm["optimum"], arm["widths"])
    if arm["decoy"]:
        height, at = arm["decoy"]
        main = max(main, arm["floor"] + (height - arm["floor"]) * bump(at, [w * 0.8 for w in arm["widths"]]))
    return main


def true_quality(designer, provider, params):
    u = [(params[d] - RANGES[d][0]) / (RANGES[d][1] - RANGES[d][0]) for d in range(3)]
    index = ARMS.index(provider)
    if index < len(designer["arms"]):
        q = arm_quality(designer["arms"][index], u)
    else:
        q = arm_quality(designer["arms"][-1], u) - 1.0
    return min(max(q, 1.0), 5.0)


def session(designer, seed, ratings, batch):
    rng = np.random.default_rng(seed + 1_000_003)
    opt = Optimizer(
        [Categorical(ARMS), Real(*RANGES[0]), Real(*RANGES[1]), Real(*RANGES[2])],
        base_estimator="GP",
        acq_func="EI",
        n_initial_points=5,
        random_state=seed,
    )
    given, best, trace = [], -1.0, []
    while len(given) < ratings:
        xs = opt.ask(n_points=min(batch, ratings - len(given)))
        ys = []
        for x in xs:
            truth = true_quality(designer, x[0], x[1:])
            stars = min(max(round(truth + rng.normal(0.0, designer["noise_sd"])), 1), 5)
            ys.append(-float(stars))
            best = max(best, truth)
            given.append((stars, truth))
            trace.append(best)
        opt.tell(xs, ys)
    first = lambda level: next((i + 1 for i, b in enumerate(trace) if b >= level), None)
    last = given[-10:]
    return {
        "to4": first(4.0),
        "to45": first(4.5),
        "best_at": [trace[min(n, len(trace)) - 1] for n in (10, 20, 30, 50)],
        "seen": sum(g[0] for g in last) / len(last),
        "true": sum(g[1] for g in last) / len(last),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--ratings", type=int, default=50)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--latina", default="target/release/latina")
    ap.add_argument("--designers", default="", help="comma-separated names (default: the whole panel)")
    args = ap.parse_args()
    panel = json.loads(subprocess.run([args.latina, "simulate", "--print-panel"], capture_output=True, check=True, text=True).stdout)
    warnings.filterwarnings("ignore")
    print(f"scikit-optimize GP+EI (original settings), {args.seeds} seeds, {args.ratings} ratings in batches of {args.batch}")
    print(f"  {'designer':<10} {'to 4.0':>11} {'to 4.5':>11}  {'best true @10/20/30/50':>23}  {'last 10 seen':>12}")
    fill = args.ratings + 1
    wanted = [n for n in args.designers.split(",") if n]
    for d in panel:
        if wanted and d["name"] not in wanted:
            continue
        runs = [session(d, s, args.ratings, args.batch) for s in range(args.seeds)]
        med = lambda key: statistics.median([r[key] if r[key] is not None else fill for r in runs])
        reached = lambda key: sum(r[key] is not None for r in runs)
        best = [statistics.mean(r["best_at"][i] for r in runs) for i in range(4)]
        print(
            f"  {d['name']:<10} {med('to4'):>5g} {reached('to4'):>2}/{len(runs):<2} {med('to45'):>5g} {reached('to45'):>2}/{len(runs):<2}"
            f"  {best[0]:5.2f} {best[1]:5.2f} {best[2]:5.2f} {best[3]:5.2f}"
            f"     {statistics.mean(r['seen'] for r in runs):5.2f} ({statistics.mean(r['true'] for r in runs):.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
