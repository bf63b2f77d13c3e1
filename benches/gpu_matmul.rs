//! GPU matmul throughput and the fixed costs of the GPU backend.
//!
//! Prints, for square products of several sizes, the GFLOP/s (`2·n³` per
//! product) of each chosen WGSL kernel and of `Cpu<f32>`, and the fraction
//! of the adapter's FP32 peak where the peak is known (a table of common
//! datacentre and desktop GPUs below, or `MINIMAX_FP32_PEAK_GFLOPS`); then
//! the cost of one recorded dispatch, of one submit, and of one submit that
//! waits. Each figure is the median of several timed repeats; a GPU repeat
//! records the products, then waits for them with one `sync`.
//!
//! ```text
//! cargo bench --bench gpu_matmul                                  # n = 64 … 512, every kernel
//! cargo bench --bench gpu_matmul -- --sizes 256,1024,4096 --kernels auto,tiled --no-cpu
//! ```
//!
//! Kernels: `auto` (what `Backend::matmul` runs: `large` or `small`),
//! `large`, `small`, `tiled`, `naive`. Every figure is also printed as a
//! `RESULT bench=gpu_matmul …` line, and each row checks the product
//! against the CPU (or, for n > 1024, against the naive kernel).
//!
//! With no GPU adapter it prints the CPU figures and says why the GPU ones
//! are missing. On lavapipe (Mesa's software Vulkan) the GPU figures measure
//! a CPU emulating a GPU: they prove the kernels run, not that they are fast.

use minimax::autodiff::{Backend, Dist, Shape, TensorShape, Unary};
use minimax::cpu::Cpu;
use minimax::wgsl::{MatmulKernel, Wgpu};
use std::time::{Duration, Instant};

/// Timed repeats per figure (the median is reported).
const REPEATS: usize = 5;
/// Square sizes to multiply, unless `--sizes` says otherwise.
const SIZES: [usize; 4] = [64, 128, 256, 512];

/// FP32 peaks (GFLOP/s, boost clock, no tensor cores) of GPUs by a part of
/// their adapter name, most specific first.
const PEAKS: [(&str, f64); 16] = [
    ("H200", 67_000.0),
    ("H100 PCIe", 51_200.0),
    ("H100", 67_000.0),
    ("A100", 19_500.0),
    ("L40S", 91_600.0),
    ("L40", 90_500.0),
    ("L4", 30_300.0),
    ("A10G", 31_200.0),
    ("A10", 31_200.0),
    ("T4", 8_100.0),
    ("V100", 15_700.0),
    ("RTX 4090", 82_600.0),
    ("RTX 3090", 35_600.0),
    ("A6000", 38_700.0),
    ("MI300X", 163_400.0),
    ("MI250X", 47_900.0),
];

/// The adapter's FP32 peak in GFLOP/s: `MINIMAX_FP32_PEAK_GFLOPS`, else
/// the table, else unknown.
fn fp32_peak(adapter: &str) -> Option<f64> {
    if let Ok(v) = std::env::var("MINIMAX_FP32_PEAK_GFLOPS") {
        return v.parse().ok();
    }
    PEAKS.iter().find(|(name, _)| adapter.contains(name)).map(|&(_, peak)| peak)
}

/// The command line: `--sizes 256,512`, `--kernels auto,tiled`, `--no-cpu`.
struct Options {
    sizes: Vec<usize>,
    kernels: Vec<(&'static str, MatmulKernel)>,
    cpu: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let sizes = value("--sizes").map_or(SIZES.to_vec(), |v| {
        v.split(',').map(|n| n.parse().expect("--sizes takes numbers: 256,512")).collect()
    });
    let all = [
        ("auto", MatmulKernel::Auto),
        ("large", MatmulKernel::Large),
        ("small", MatmulKernel::Small),
        ("tiled", MatmulKernel::Tiled),
        ("naive", MatmulKernel::Naive),
    ];
    let kernels = match value("--kernels") {
        None => all.to_vec(),
        Some(v) => v
            .split(',')
            .map(|k| {
                *all.iter().find(|(name, _)| *name == k).unwrap_or_else(|| {
                    panic!("unknown kernel {k:?}: auto, large, small, tiled, naive")
                })
            })
            .collect(),
    };
    Options { sizes, kernels, cpu: !args.iter().any(|a| a == "--no-cpu") }
}
/// Each repeat runs enough products to take at least this long.
const MIN_REPEAT: Duration = Duration::from_millis(50);

/// Median seconds per call of `run(reps)`, which does `reps` calls,
/// with `reps` chosen so that one repeat lasts at least `MIN_REPEAT`.
fn seconds_per_call(mut run: impl FnMut(usize)) -> f64 {
    run(1); // warm up: compile the pipeline, fill the buffer pool
    let start = Instant::now();
    run(1);
    let once = start.elapsed().max(Duration::from_micros(1));
    let reps = (MIN_REPEAT.as_secs_f64() / once.as_secs_f64()).ceil().max(1.0) as usize;
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            run(reps);
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

/// The CPU model, from /proc/cpuinfo where there is one.
fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{}, {threads} threads", model.unwrap_or("unknown CPU"))
}

fn main() {
    let opts = options();
    println!("cpu: {}", cpu_model());
    let gpu = match Wgpu::new() {
        Ok(gpu) => {
            let kind = if gpu.is_software() { " (software rasterizer)" } else { "" };
            println!("adapter: {}{kind}", gpu.adapter_summary());
            Some(gpu)
        }
        Err(e) => {
            println!("no GPU figures: {e}");
            None
        }
    };
    let peak = gpu.as_ref().and_then(|g| fp32_peak(&g.adapter_summary()));
    match peak {
        Some(p) => println!("FP32 peak: {p:.0} GFLOP/s"),
        None => println!("FP32 peak: unknown (set MINIMAX_FP32_PEAK_GFLOPS to show fractions)"),
    }
    let cpu = Cpu::<f32>::new();

    println!();
    println!("| n | kernel | GPU GFLOP/s | fraction of FP32 peak | max abs error |");
    println!("|---:|---|---:|---:|---:|");
    for &n in &opts.sizes {
        let shape = Shape::new(n, n);
        let a_cpu = cpu.random(shape, Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
        let b_cpu = cpu.random(shape, Dist::Uniform { lo: -1.0, hi: 1.0 }, 2);
        let gflops = |seconds: f64| 2.0 * (n as f64).powi(3) / seconds / 1e9;
        if opts.cpu {
            let cpu_s = seconds_per_call(|reps| {
                for _ in 0..reps {
                    std::hint::black_box(cpu.matmul(&a_cpu, false, &b_cpu, false).unwrap());
                }
            });
            println!("| {n} | Cpu<f32> | {:.2} | - | - |", gflops(cpu_s));
            println!("RESULT bench=gpu_matmul n={n} kernel=cpu gflops={:.2}", gflops(cpu_s));
        }
        let Some(gpu) = &gpu else { continue };
        let a = gpu.upload(shape, a_cpu.data()).unwrap();
        let b = gpu.upload(shape, b_cpu.data()).unwrap();
        // The reference: the CPU up to n = 1024, the naive kernel beyond.
        let want = if n <= 1024 {
            cpu.matmul(&a_cpu, false, &b_cpu, false).unwrap().data().to_vec()
        } else {
            let c = gpu.matmul_with(MatmulKernel::Naive, &a, false, &b, false).unwrap();
            gpu.download(&c).unwrap()
        };
        for &(name, kernel) in &opts.kernels {
            let Ok(c) = gpu.matmul_with(kernel, &a, false, &b, false) else {
                println!("| {n} | {name} | - (not for this shape) | - | - |");
                continue;
            };
            // Not a test (tests/gpu_fused.rs is): a sanity figure beside the speed.
            let got = gpu.download(&c).unwrap();
            let err = got.iter().zip(&want).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            drop(c);
            let gpu_s = seconds_per_call(|reps| {
                for _ in 0..reps {
                    // Recorded only; the output goes back to the pool at once
                    // and the next product reuses it (ordered on the GPU).
                    drop(gpu.matmul_with(kernel, &a, false, &b, false).unwrap());
                }
                gpu.sync().unwrap();
            });
            let g = gflops(gpu_s);
            let fraction = peak.map_or("-".to_string(), |p| format!("{:.3}", g / p));
            println!("| {n} | {name} | {g:.2} | {fraction} | {err:.1e} |");
            println!(
                "RESULT bench=gpu_matmul n={n} kernel={name} gflops={g:.2} peak_fraction={fraction} \
                 max_abs_err={err:.1e}"
            );
        }
    }

    let Some(gpu) = gpu else { return };
    // Fixed costs, on a [1, 1] tensor so that the kernel's work is nil.
    let x = gpu.fill(Shape::scalar(), 1.0);
    assert_eq!(x.shape(), Shape::scalar());
    let tiny = |x: &_| gpu.unary(Unary::Neg, x);
    let dispatch = seconds_per_call(|reps| {
        for _ in 0..reps {
            drop(tiny(&x));
        }
        gpu.sync().unwrap();
    });
    let flush = seconds_per_call(|reps| {
        for _ in 0..reps {
            drop(tiny(&x));
            gpu.flush().unwrap();
        }
        gpu.sync().unwrap();
    });
    let sync = seconds_per_call(|reps| {
        for _ in 0..reps {
            drop(tiny(&x));
            gpu.sync().unwrap();
        }
    });
    println!();
    println!("per dispatch (many recorded, one sync): {:.1} µs", dispatch * 1e6);
    println!("per submit (one dispatch + flush, no wait): {:.1} µs", flush * 1e6);
    println!("per submit and wait (one dispatch + sync): {:.1} µs", sync * 1e6);
    println!(
        "RESULT bench=gpu_fixed_costs dispatch_us={:.1} submit_us={:.1} submit_wait_us={:.1}",
        dispatch * 1e6,
        flush * 1e6,
        sync * 1e6
    );
}
