"""Runs `cargo bench --bench matmul -- square` and `matmul.py` alternately,
several rounds, and summarises both per size: min / median / max over rounds
of each round's median GFLOP/s, and ours ÷ NumPy.

Why rounds: on a small shared VM, another job starting mid-run can halve a
figure for seconds. Alternating the two programs gives both the same chances;
the median over rounds is the honest central figure, the max shows what each
reaches undisturbed. Run from the repository root:

    python3 benches/peers/rounds.py [rounds]     # default 5
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

PEER = Path(__file__).with_name("matmul.py")
SIZES = (64, 128, 256, 512, 1024)


def table(text, columns):
    """{n: {column: GFLOP/s}} from rows that start with a size."""
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if len(cells) == len(columns) + 1 and cells[0].isdigit() and int(cells[0]) in SIZES:
            rows[int(cells[0])] = {c: float(v) for c, v in zip(columns, cells[1:]) if v != "-"}
    return rows


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    run(["cargo", "bench", "--bench", "matmul", "--no-run"])  # build outside the timing
    ours, peers = [], []
    for r in range(rounds):
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
        print(f"round {r + 1}/{rounds} at {time.strftime('%H:%M:%S')}, load {load}", file=sys.stderr)
        rust = run(["cargo", "bench", "--bench", "matmul", "--", "square"])
        ours.append(table(rust, ["plain", "portable", "simd 1T", "simd 2T"]))
        peer = run([sys.executable, str(PEER)])
        has_torch = "torch: not installed" not in peer
        peers.append(table(peer, ["numpy", "torch"] if has_torch else ["numpy"]))
    print(f"{rounds} rounds; each cell: min / median / max over rounds of a median GFLOP/s")
    columns = [("ours", c) for c in ("plain", "simd 1T", "simd 2T")] + [("peer", "numpy")]
    if has_torch:
        columns.append(("peer", "torch"))
    print(f"{'n':>5} " + " ".join(f"{c:>20}" for _, c in columns) + f" {'1T/numpy (median)':>18}")
    for n in SIZES:
        cells, medians = [], {}
        for source, c in columns:
            vals = [t[n][c] for t in (ours if source == "ours" else peers) if c in t.get(n, {})]
            if vals:
                medians[c] = statistics.median(vals)
                cells.append(f"{min(vals):.1f} / {medians[c]:.1f} / {max(vals):.1f}")
            else:
                cells.append("-")
        ratio = medians["simd 1T"] / medians["numpy"] if "numpy" in medians else float("nan")
        print(f"{n:>5} " + " ".join(f"{c:>20}" for c in cells) + f" {ratio:>18.2f}")


if __name__ == "__main__":
    main()
