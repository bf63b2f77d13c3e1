//! GPU matmul throughput and the fixed costs of the GPU backend.
//!
//! Prints, for square products of several sizes, the GFLOP/s (`2·n³` per
//! product) of the naive and the tiled WGSL kernels and of `Cpu<f32>`; then
//! the cost of one recorded dispatch, of one submit, and of one submit that
//! waits. Each figure is the median of several timed repeats; a GPU repeat
//! records the products, then waits for them with one `sync`.
//!
//! Run with `cargo bench --bench gpu_matmul`. With no GPU adapter it prints
//! the CPU figures and says why the GPU ones are missing. On lavapipe (Mesa's
//! software Vulkan) the GPU figures measure a CPU emulating a GPU: they
//! prove the kernels run, not that they are fast.

use minimax::autodiff::{Backend, Cpu, Dist, Shape, TensorShape, Unary};
use minimax::wgsl::{MatmulKernel, Wgpu};
use std::time::{Duration, Instant};

/// Timed repeats per figure (the median is reported).
const REPEATS: usize = 5;
/// Square sizes to multiply.
const SIZES: [usize; 4] = [64, 128, 256, 512];
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
    let cpu = Cpu::<f32>::new();

    println!();
    println!(
        "| n | GPU naive GFLOP/s | GPU tiled GFLOP/s | Cpu<f32> GFLOP/s | max abs(tiled - cpu) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let shape = Shape::new(n, n);
        let a_cpu = cpu.random(shape, Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
        let b_cpu = cpu.random(shape, Dist::Uniform { lo: -1.0, hi: 1.0 }, 2);
        let gflops = |seconds: f64| 2.0 * (n as f64).powi(3) / seconds / 1e9;
        let cpu_s = seconds_per_call(|reps| {
            for _ in 0..reps {
                std::hint::black_box(cpu.matmul(&a_cpu, false, &b_cpu, false).unwrap());
            }
        });
        let Some(gpu) = &gpu else {
            println!("| {n} | - | - | {:.2} | - |", gflops(cpu_s));
            continue;
        };
        let a = gpu.upload(shape, a_cpu.data()).unwrap();
        let b = gpu.upload(shape, b_cpu.data()).unwrap();
        let mut gpu_s = [0.0; 2];
        for (i, kernel) in [MatmulKernel::Naive, MatmulKernel::Tiled].into_iter().enumerate() {
            gpu_s[i] = seconds_per_call(|reps| {
                for _ in 0..reps {
                    // Recorded only; the output goes back to the pool at once
                    // and the next product reuses it (ordered on the GPU).
                    drop(gpu.matmul_with(kernel, &a, false, &b, false).unwrap());
                }
                gpu.sync().unwrap();
            });
        }
        // Not a test (tests/gpu_kernels.rs is): a sanity figure beside the speed.
        let tiled = gpu.download(&gpu.matmul(&a, false, &b, false).unwrap()).unwrap();
        let want = cpu.matmul(&a_cpu, false, &b_cpu, false).unwrap();
        let err = tiled.iter().zip(want.data()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        println!(
            "| {n} | {:.2} | {:.2} | {:.2} | {err:.1e} |",
            gflops(gpu_s[0]),
            gflops(gpu_s[1]),
            gflops(cpu_s)
        );
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
}
