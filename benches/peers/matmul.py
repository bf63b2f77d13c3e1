"""Peer figures for `cargo bench --bench matmul`: square f32 matmul in NumPy
(and PyTorch, if importable), single-threaded, in GFLOP/s (2·n³ per product).

Same sizes and the same measurement as the Rust bench: a warm-up product,
then the median of 7 timed repeats, each running the product enough times to
last at least ~20 ms. Run: `python3 benches/peers/matmul.py`.
"""

import os

# Pin every BLAS backend NumPy/PyTorch might load to one thread. This must
# happen before numpy is imported: the thread pools read it at load time.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[var] = "1"

import platform
import statistics
import time

import numpy as np

SIZES = (64, 128, 256, 512, 1024)
REPEATS = 7
MIN_REPEAT_S = 0.020


def gflops(n, product):
    """Median GFLOP/s of `product`, which computes one n×n×n product."""
    product()  # warm up
    start, iters = time.perf_counter(), 1
    while time.perf_counter() - start < MIN_REPEAT_S / 4:
        product()
        iters += 1
    iters *= 4
    rates = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        for _ in range(iters):
            product()
        rates.append(2.0 * n**3 * iters / (time.perf_counter() - t) / 1e9)
    return statistics.median(rates)


def numpy_column():
    rng = np.random.default_rng(0)
    out = {}
    for n in SIZES:
        a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
        c = np.empty((n, n), dtype=np.float32)
        out[n] = gflops(n, lambda: np.matmul(a, b, out=c))
    return out


def torch_column():
    try:
        import torch
    except ImportError:
        return None, None
    torch.set_num_threads(1)
    out = {}
    for n in SIZES:
        a = torch.rand(n, n, dtype=torch.float32) * 2 - 1
        b = torch.rand(n, n, dtype=torch.float32) * 2 - 1
        c = torch.empty(n, n, dtype=torch.float32)
        out[n] = gflops(n, lambda: torch.matmul(a, b, out=c))
    return out, torch.__version__


def blas_name():
    """The BLAS NumPy links, as numpy reports it (best effort)."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy: no dict mode
        return "unknown"


def main():
    print(f"python {platform.python_version()}, numpy {np.__version__} ({blas_name()}), 1 thread")
    numpy_rates = numpy_column()
    torch_rates, torch_version = torch_column()
    if torch_rates is None:
        print("torch: not installed, column omitted")
    else:
        print(f"torch {torch_version}, 1 thread")
    print()
    header = f"{'n':>6} {'numpy':>9}" + (f" {'torch':>9}" if torch_rates else "")
    print("f32 matmul, GFLOP/s (median of 7)")
    print(header)
    for n in SIZES:
        row = f"{n:>6} {numpy_rates[n]:>9.1f}"
        if torch_rates:
            row += f" {torch_rates[n]:>9.1f}"
        print(row)


if __name__ == "__main__":
    main()
