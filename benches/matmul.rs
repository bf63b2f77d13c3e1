//! CPU `f32` matmul throughput: the plain reference loop against the blocked
//! SIMD path (one thread and all cores), in GFLOP/s (`2·m·k·n` per product).
//!
//! Run with `cargo bench --bench matmul` (all tables), or name tables:
//! `cargo bench --bench matmul -- square small narrow threads`.
//!
//! The `narrow` table times, in nanoseconds per call, the products of Dev
//! Nag's 1-D GAN (`--preset devnag`: batch 500, G 1-5-5-1, D on 4 moments)
//! through `gemm::matmul`, which sends them all to the narrow path, and
//! prints one `RESULT bench=narrow shape=MxKxN_op ns_per_call=…` line each.
//!
//! `cargo bench --bench matmul -- sgemm` (not in the default set) prints one
//! machine-readable line per size, for scripts and the peers' runner:
//! `RESULT bench=sgemm n=512 threads=1 kernel=avx512 gflops=… cpu_gflops=…`.
//! The thread count is `MINIMAX_THREADS` (default: one per core), the
//! kernel the best this CPU has unless `MINIMAX_GEMM_KERNEL` names one
//! (`portable`, `avx2+fma`, `avx512`), and the sizes 256, 512 and 1024
//! unless `n=SIZE` arguments name others. `gflops` is from wall-clock time;
//! on one thread, `cpu_gflops` is from the CPU time the process was given
//! (Linux `/proc/self/schedstat`), which other jobs time-sharing the core
//! do not inflate — on a shared machine the two differ by the share it got. Each figure is the median of
//! several timed repeats; each repeat runs the product enough times to take
//! at least ~20 ms. Compare with `benches/peers/matmul.py` run right after
//! (see `benches/peers/README.md` and `BENCHMARKS.md`).

use minimax::autodiff::reference::matmul as reference;
use minimax::autodiff::rng;
use minimax::cpu::gemm::{self, Kernel};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Timed repeats per figure (the median is reported).
const REPEATS: usize = 7;
/// Minimum duration of one repeat.
const MIN_REPEAT: Duration = Duration::from_millis(20);

/// `len` uniform values in `[-1, 1)`, reproducible from `seed`.
fn random(len: usize, seed: u64) -> Vec<f32> {
    let key = rng::seed_key(seed);
    (0..len).map(|i| (2.0 * rng::uniform(key, i as u32) - 1.0) as f32).collect()
}

/// Median GFLOP/s of `product`, which computes one `m × k × n` product.
fn gflops(m: usize, k: usize, n: usize, mut product: impl FnMut()) -> f64 {
    product(); // warm up caches, page in buffers, start threads once
               // Calibrate: how many products make one repeat last MIN_REPEAT.
    let start = Instant::now();
    let mut iters = 1usize;
    while start.elapsed() < MIN_REPEAT / 4 {
        product();
        iters += 1;
    }
    let iters = (iters * 4).max(1);
    let mut rates: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                product();
            }
            let seconds = t.elapsed().as_secs_f64();
            2.0 * (m * k * n) as f64 * iters as f64 / seconds / 1e9
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[REPEATS / 2]
}

/// One row of the square table.
fn square_row(n: usize, cores: usize) {
    let (a, b) = (random(n * n, 1), random(n * n, 2));
    let mut c = vec![0.0f32; n * n];
    let reference = if n <= 512 {
        let r = gflops(n, n, n, || {
            reference::matmul(black_box(&a), false, black_box(&b), false, &mut c, n, n, n)
        });
        format!("{r:>9.1}")
    } else {
        format!("{:>9}", "-")
    };
    let mut blocked = |kernel: Kernel, threads: usize| {
        gflops(n, n, n, || {
            gemm::matmul_f32(
                kernel,
                threads,
                black_box(&a),
                false,
                black_box(&b),
                false,
                &mut c,
                n,
                n,
                n,
            )
        })
    };
    let portable = blocked(Kernel::portable(), 1);
    let best_1 = blocked(Kernel::best(), 1);
    let best_all = blocked(Kernel::best(), cores);
    println!("{n:>6} {reference} {portable:>10.1} {best_1:>10.1} {best_all:>10.1}");
}

/// One row of the small-shape table: what the dispatching `gemm::matmul`
/// does against always-plain and always-blocked, to place the crossover.
fn small_row(m: usize, k: usize, n: usize, ta: bool, tb: bool) {
    let (a, b) = (random(m * k, 3), random(k * n, 4));
    let mut c = vec![0.0f32; m * n];
    let plain = gflops(m, k, n, || {
        reference::matmul(black_box(&a), ta, black_box(&b), tb, &mut c, m, k, n)
    });
    let blocked = gflops(m, k, n, || {
        gemm::matmul_f32(Kernel::best(), 1, black_box(&a), ta, black_box(&b), tb, &mut c, m, k, n)
    });
    let narrow = if n <= gemm::narrow::MAX_N {
        let f = || gemm::narrow::matmul(black_box(&a), ta, black_box(&b), tb, &mut c, (m, k, n));
        format!("{:9.2}", gflops(m, k, n, f))
    } else {
        format!("{:>9}", "-")
    };
    let dispatched =
        gflops(m, k, n, || gemm::matmul(black_box(&a), ta, black_box(&b), tb, &mut c, m, k, n));
    let path = if gemm::uses_narrow_path(m, k, n) {
        "narrow"
    } else if gemm::uses_fast_path(m, k, n) {
        "blocked"
    } else {
        "plain"
    };
    let flags = format!("{}{}", if ta { "t" } else { "n" }, if tb { "t" } else { "n" });
    let shape = format!("{m}x{k}x{n} {flags}");
    println!("{shape:>16} {plain:>9.2} {blocked:>9.2} {narrow} {dispatched:>10.2}  {path}");
}

/// One row of the threading table: the blocked path on one thread and on
/// all cores, and what [`gemm::default_threads`] picks.
fn threads_row(n: usize, cores: usize) {
    let (a, b) = (random(n * n, 5), random(n * n, 6));
    let mut c = vec![0.0f32; n * n];
    let mut blocked = |threads: usize| {
        gflops(n, n, n, || {
            gemm::matmul_f32(
                Kernel::best(),
                threads,
                black_box(&a),
                false,
                black_box(&b),
                false,
                &mut c,
                n,
                n,
                n,
            )
        })
    };
    let (one, all) = (blocked(1), blocked(cores));
    let picked = gemm::default_threads(n, n, n);
    println!("{n:>6} {one:>9.1} {all:>9.1}  {picked}");
}

/// CPU time this process has run, in seconds (Linux: the first field of
/// `/proc/self/schedstat`, nanoseconds; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    Some(text.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// The `sgemm` lines: `[n, n] · [n, n]` through `gemm::matmul_f32` with
/// the chosen kernel and `MINIMAX_THREADS` threads, median of the repeats,
/// by wall-clock time and by CPU time.
fn sgemm_lines(sizes: &[usize]) {
    let kernel = match std::env::var("MINIMAX_GEMM_KERNEL").ok().as_deref() {
        None | Some("") => Kernel::best(),
        Some(name) => Kernel::available()
            .into_iter()
            .find(|k| k.name() == name)
            .unwrap_or_else(|| panic!("MINIMAX_GEMM_KERNEL={name}: not a kernel this CPU has")),
    };
    let threads = minimax::cpu::threads::threads();
    for &n in sizes {
        let (a, b) = (random(n * n, 1), random(n * n, 2));
        let mut c = vec![0.0f32; n * n];
        let mut product = || {
            gemm::matmul_f32(
                kernel,
                threads,
                black_box(&a),
                false,
                black_box(&b),
                false,
                &mut c,
                n,
                n,
                n,
            )
        };
        let flops = 2.0 * (n * n * n) as f64;
        product();
        let start = Instant::now();
        let mut iters = 1usize;
        while start.elapsed() < MIN_REPEAT * 5 {
            product();
            iters += 1;
        }
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..REPEATS {
            let (t, c0) = (Instant::now(), cpu_seconds());
            for _ in 0..iters {
                product();
            }
            wall.push(flops * iters as f64 / t.elapsed().as_secs_f64() / 1e9);
            if let (Some(c0), Some(c1), 1) = (c0, cpu_seconds(), threads) {
                cpu.push(flops * iters as f64 / (c1 - c0) / 1e9);
            }
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        // CPU time only on one thread (workers spinning between jobs count too).
        let cpu =
            if cpu.is_empty() { String::new() } else { format!(" cpu_gflops={:.2}", median(cpu)) };
        println!(
            "RESULT bench=sgemm n={n} threads={threads} kernel={} gflops={:.2}{cpu}",
            kernel.name(),
            median(wall),
        );
    }
}

fn main() {
    // Table names on the command line (cargo adds `--bench`, skipped); none = all.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let sizes: Vec<usize> =
        args.iter().filter_map(|a| a.strip_prefix("n=")?.parse().ok()).collect();
    let named: Vec<&String> = args.iter().filter(|a| !a.starts_with("n=")).collect();
    if named.iter().any(|a| *a == "sgemm") {
        return sgemm_lines(if sizes.is_empty() { &[256, 512, 1024] } else { &sizes });
    }
    let wanted = |table: &str| named.is_empty() || named.iter().any(|a| *a == table);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("f32 matmul, GFLOP/s (median of {REPEATS}); best kernel: {}", Kernel::best().name());
    if wanted("square") {
        square_table(cores);
    }
    if wanted("small") {
        small_table();
    }
    if wanted("narrow") {
        narrow_table();
    }
    if wanted("threads") {
        threads_table(cores);
    }
}

/// Dev Nag's products, as the tape asks for them (before `gemm::matmul`
/// drops transposes of single rows and columns): nanoseconds per call.
fn narrow_table() {
    println!();
    println!("devnag's products through gemm::matmul (the narrow path), ns per call");
    for (m, k, n, ta, tb, what) in [
        (500, 1, 5, false, false, "G layer 1 forward, and layer 3's dX = dY·Wᵀ"),
        (500, 5, 5, false, false, "G layer 2 forward"),
        (500, 5, 1, false, false, "G layer 3 forward"),
        (500, 5, 5, false, true, "G layer 2 dX = dY·Wᵀ"),
        (5, 500, 5, true, false, "G layer 2 dW = Xᵀ·dY"),
        (5, 500, 1, true, false, "G layer 3 dW = Xᵀ·dY"),
        (1, 500, 5, true, false, "G layer 1 dW = Zᵀ·dY"),
        (1, 10, 1, false, false, "D layer 3 forward"),
    ] {
        let (a, b) = (random(m * k, 7), random(k * n, 8));
        let mut c = vec![0.0f32; m * n];
        let product = || gemm::matmul(black_box(&a), ta, black_box(&b), tb, &mut c, m, k, n);
        let ns = 2.0 * (m * k * n) as f64 / gflops(m, k, n, product);
        let flags = format!("{}{}", if ta { "t" } else { "n" }, if tb { "t" } else { "n" });
        println!("RESULT bench=narrow shape={m}x{k}x{n}_{flags} ns_per_call={ns:.1}  # {what}");
    }
}

/// The main table: square products, every path.
fn square_table(cores: usize) {
    println!();
    println!("square n x n x n: plain loop, blocked with each kernel and thread count");
    let all = format!("simd {cores}T");
    println!("{:>6} {:>9} {:>10} {:>10} {:>10}", "n", "plain", "portable", "simd 1T", all);
    for n in [64, 128, 256, 512, 1024] {
        square_row(n, cores);
    }
}

/// Where the dispatch switches from the plain loop to the blocked path.
fn small_table() {
    println!();
    println!(
        "small shapes (the GAN's layers, fwd nn / bwd nt, tn): plain, blocked 1T, narrow, \
         gemm::matmul (GFLOP/s)"
    );
    let head = ("m x k x n op", "plain", "blocked", "narrow", "dispatch");
    println!("{:>16} {:>9} {:>9} {:>9} {:>10}  path", head.0, head.1, head.2, head.3, head.4);
    for (m, k, n, ta, tb) in [
        (500, 5, 5, false, false),
        (500, 5, 5, false, true),
        (5, 500, 5, true, false),
        (128, 16, 16, false, false),
        (128, 16, 16, false, true),
        (16, 128, 16, true, false),
        (128, 32, 32, false, false),
        (32, 128, 32, true, false),
        (500, 1, 5, false, false),
        (500, 5, 1, false, false),
        (1, 500, 5, true, false),
        (64, 256, 1, false, false),
        (256, 64, 1, true, false),
        (128, 32, 1, false, false),
        (256, 64, 8, false, false),
        (512, 64, 8, false, false),
        (1024, 64, 8, false, false),
        (2048, 128, 8, false, false),
        (64, 2048, 8, true, false),
        (8, 8, 8, false, false),
        (12, 12, 12, false, false),
        (16, 16, 16, false, false),
        (24, 24, 24, false, false),
        (32, 32, 32, false, false),
    ] {
        small_row(m, k, n, ta, tb);
    }
}

/// Where a second thread starts to pay.
fn threads_table(cores: usize) {
    println!();
    println!("threads: blocked n x n x n on 1 and {cores} threads, and the default's pick");
    println!("{:>6} {:>9} {:>9}  default", "n", "1T", format!("{cores}T"));
    for n in [128, 192, 224, 256, 320, 384] {
        threads_row(n, cores);
    }
}
