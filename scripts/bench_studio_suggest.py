#!/usr/bin/env python3
"""`latina suggest` as a whole process on a studio's history.

Builds a database of 200 ratings from 5 designers (hidden offsets -1 ... +1
star) over 3 room contexts through the real commands (`suggest --by
--context`, `rate --by`), then times `latina suggest --count 2 --by d0` in
a dark basement, 9 runs each on a fresh copy of that database: warm (the
hyperparameters cached, as after any earlier command) and refit (the cache
dropped, as every 10% more ratings). Prints the medians.

    cargo build --release && python3 scripts/bench_studio_suggest.py
"""
import json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

BINARY = os.environ.get("LATINA_BIN", "target/release/latina")
WORK = tempfile.mkdtemp(prefix="latina-bench-studio-")
DB = os.path.join(WORK, "studio.db")
ENV = dict(os.environ, LATINA_DB=DB, NO_COLOR="1")
ROOMS = [
    dict(brightness=0.15, contrast=0.3, warmth=0.6, colourfulness=0.3, clutter=0.2, window_light=0.02, room="basement"),
    dict(brightness=0.5, contrast=0.4, warmth=0.5, colourfulness=0.4, clutter=0.3, window_light=0.1, room="kitchen"),
    dict(brightness=0.85, contrast=0.35, warmth=0.45, colourfulness=0.3, clutter=0.2, window_light=0.3, room="loft"),
]
OFFSETS = [-1.0, -0.5, 0.0, 0.5, 1.0]


def context_args(room):
    return [arg for key, value in room.items() for arg in ("--context", f"{key}={value}")]


def latina(*args):
    result = subprocess.run([BINARY, *args], env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"latina {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def build_history(ratings=200):
    rng = random.Random(1)
    given = 0
    while given < ratings:
        designer = (given // 2) % len(OFFSETS)
        room = ROOMS[(given // 2) % len(ROOMS)]
        for s in json.loads(latina("--json", "suggest", "--count", "2", "--by", f"d{designer}", *context_args(room))):
            p = s["params"]
            quality = 3 + 1.5 * (1 - ((p["init_strength"] - 0.3) / 0.2) ** 2)
            stars = max(1, min(5, round(quality + OFFSETS[designer] + rng.gauss(0, 0.5))))
            latina("rate", s["experiment_id"], str(stars), "--by", f"d{designer}")
            given += 1


def timed(command, snapshot, cold, runs=9):
    times = []
    for _ in range(runs):
        shutil.copy(snapshot, DB)
        if cold:
            with sqlite3.connect(DB) as c:
                c.execute("DELETE FROM model_cache")
        start = time.perf_counter()
        latina(*command)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


def main():
    build_history()
    command = ["--json", "suggest", "--count", "2", "--by", "d0", "--context", "room=basement",
               *context_args(dict(brightness=0.2, contrast=0.3, warmth=0.6, colourfulness=0.3,
                                  clutter=0.2, window_light=0.02))]
    latina(*command)  # fills the hyperparameter cache
    snapshot = os.path.join(WORK, "snapshot.db")
    shutil.copy(DB, snapshot)
    print("suggest, 200 ratings, 5 designers, 3 rooms, whole process:")
    print("  warm:  median %.1f ms (min %.1f, max %.1f)" % timed(command, snapshot, cold=False))
    print("  refit: median %.1f ms (min %.1f, max %.1f)" % timed(command, snapshot, cold=True))
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
