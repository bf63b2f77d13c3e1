//! CPU `f32` convolution throughput on the DCGAN's layers at batch 64: the
//! tuned path (`crates/cpu/src/conv.rs`, im2col into the gemm) on one
//! thread and on all cores, and the reference's seven loops, in GFLOP/s
//! (`2·MACs / time`, `MACs = batch·C_out·OH·OW·C_in·k·k`, the same for the
//! three kernels).
//!
//! The DCGAN (`../shared/peers/dcgan_step_torch.py`) has two geometries:
//! `d1` is D's conv 1→64 k4 s2 p1 on 28×28 (and G's last transposed conv,
//! whose forward is `d1`'s input gradient), `d2` D's conv 64→128 k4 s2 p1
//! on 14×14 (and G's first transposed conv). Each is timed in the three
//! directions: `fwd` (`conv2d`), `dx` (`conv2d_backward_input`), `dw`
//! (`conv2d_backward_weight`), through `Backend` on `Cpu<f32>` (so the
//! output tensor's pool buffer is included).
//!
//! Run with `cargo bench --bench conv` (add `ref` for the reference's
//! loops, slow: about a second a call). One line per figure:
//! `RESULT bench=conv layer=d2 dir=fwd batch=64 threads=1 gflops=… cpu_gflops=…`
//! (`cpu_gflops` on one thread: from the CPU time the process was given,
//! see `benches/matmul.rs`), and `threads=ref` for the reference.

use minimax::autodiff::{Backend, ConvGeometry, Dist, Reference, Shape, TensorShape};
use minimax::cpu::threads::with_threads;
use minimax::cpu::Cpu;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Timed repeats per figure (the median is reported).
const REPEATS: usize = 7;
/// Minimum duration of one repeat.
const MIN_REPEAT: Duration = Duration::from_millis(50);
const BATCH: usize = 64;

/// CPU time this process has run, in seconds (Linux: the first field of
/// `/proc/self/schedstat`, nanoseconds; `None` elsewhere).
fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/schedstat").ok()?;
    Some(text.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// Median (wall, CPU) GFLOP/s of `call`, which does `flops` operations.
fn rate(flops: f64, repeats: usize, min: Duration, mut call: impl FnMut()) -> (f64, f64) {
    call(); // warm up: fill the pool, start the workers
    let start = Instant::now();
    let mut iters = 1usize;
    while start.elapsed() < min {
        call();
        iters += 1;
    }
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        let (t, c0) = (Instant::now(), cpu_seconds());
        for _ in 0..iters {
            call();
        }
        wall.push(flops * iters as f64 / t.elapsed().as_secs_f64() / 1e9);
        if let (Some(c0), Some(c1)) = (c0, cpu_seconds()) {
            cpu.push(flops * iters as f64 / (c1 - c0) / 1e9);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    (median(wall), median(cpu))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let with_reference = args.iter().any(|a| a == "ref");
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let layers = [
        ("d1", ConvGeometry::new(1, 64, (28, 28), 4, 2, 1)),
        ("d2", ConvGeometry::new(64, 128, (14, 14), 4, 2, 1)),
    ];
    let (be, re) = (Cpu::<f32>::new(), Reference::<f32>::new());
    let u = Dist::Uniform { lo: -1.0, hi: 1.0 };
    for (name, g) in layers {
        let macs = BATCH * g.out_cols() * g.taps();
        let flops = 2.0 * macs as f64;
        println!("{name}: {g}, batch {BATCH}: {:.1} M multiply-adds", macs as f64 / 1e6);
        let x = be.random(Shape::new(BATCH, g.in_cols()), u, 1);
        let w = be.random(g.weight_shape(), u, 2);
        let dy = be.random(Shape::new(BATCH, g.out_cols()), u, 3);
        let dirs: [(&str, &dyn Fn()); 3] = [
            ("fwd", &|| drop(black_box(be.conv2d(&x, &w, &g).unwrap()))),
            ("dx", &|| drop(black_box(be.conv2d_backward_input(&dy, &w, &g).unwrap()))),
            ("dw", &|| drop(black_box(be.conv2d_backward_weight(&x, &dy, &g).unwrap()))),
        ];
        for (dir, call) in dirs {
            for threads in [1, cores] {
                let (wall, cpu) = with_threads(threads, || rate(flops, REPEATS, MIN_REPEAT, call));
                let cpu =
                    if threads == 1 { format!(" cpu_gflops={cpu:.2}") } else { String::new() };
                println!(
                    "RESULT bench=conv layer={name} dir={dir} batch={BATCH} threads={threads} \
                     gflops={wall:.2}{cpu}"
                );
            }
        }
        if with_reference {
            let (xr, wr, dyr) = (
                re.upload(x.shape(), x.data()).unwrap(),
                re.upload(w.shape(), w.data()).unwrap(),
                re.upload(dy.shape(), dy.data()).unwrap(),
            );
            let dirs: [(&str, &dyn Fn()); 3] = [
                ("fwd", &|| drop(black_box(re.conv2d(&xr, &wr, &g).unwrap()))),
                ("dx", &|| drop(black_box(re.conv2d_backward_input(&dyr, &wr, &g).unwrap()))),
                ("dw", &|| drop(black_box(re.conv2d_backward_weight(&xr, &dyr, &g).unwrap()))),
            ];
            for (dir, call) in dirs {
                let (wall, cpu) = rate(flops, 3, Duration::ZERO, call);
                println!(
                    "RESULT bench=conv layer={name} dir={dir} batch={BATCH} threads=ref \
                     gflops={wall:.2} cpu_gflops={cpu:.2}"
                );
            }
        }
    }
}
