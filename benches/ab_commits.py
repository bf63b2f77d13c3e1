#!/usr/bin/env python3
"""Two builds of `benches/train_step.rs` side by side: alternated rounds in
the same minutes, per-round ratios before / after (> 1: after is faster),
medians and ranges. For "is this change slower than the commit before it?".

    # build the bench at each commit (a worktree for the older one), then:
    python3 benches/ab_commits.py BEFORE_BINARY AFTER_BINARY [ROUNDS] [PARTS...]

BINARY is `target/release/deps/train_step-<hash>` of each build (the newest
one `cargo bench --bench train_step --no-run` prints); PARTS default to
`devnag gan gan-trainer`. Runs on one thread (MINIMAX_THREADS=1).
"""
import os
import statistics
import subprocess
import sys


def run(binary, parts):
    env = dict(os.environ, MINIMAX_THREADS="1")
    out = subprocess.run([binary, *parts, "--bench"], capture_output=True, text=True, env=env).stdout
    results = {}
    for line in out.splitlines():
        if line.startswith("RESULT"):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            results[kv["bench"]] = float(kv.get("ms_per_epoch") or kv["ms_per_step"])
    return results


def main():
    before, after = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    parts = sys.argv[4:] or ["devnag", "gan", "gan-trainer"]
    ratios, times = {}, {"before": {}, "after": {}}
    for i in range(rounds):
        # Alternate which build goes first, so a drift in the machine's
        # speed does not favour one side.
        order = [("before", before), ("after", after)]
        if i % 2:
            order.reverse()
        res = {name: run(binary, parts) for name, binary in order}
        for bench, t_after in res["after"].items():
            ratios.setdefault(bench, []).append(res["before"][bench] / t_after)
            times["after"].setdefault(bench, []).append(t_after)
            times["before"].setdefault(bench, []).append(res["before"][bench])
        print(f"round {i}:", {b: round(r[-1], 3) for b, r in ratios.items()}, flush=True)
    for bench, r in ratios.items():
        med = statistics.median
        print(
            f"RESULT bench=ab_{bench} ratio_median={med(r):.3f} ratio_min={min(r):.3f} "
            f"ratio_max={max(r):.3f} after_ms={med(times['after'][bench]):.4f} "
            f"before_ms={med(times['before'][bench]):.4f} rounds={rounds}"
        )


if __name__ == "__main__":
    main()
