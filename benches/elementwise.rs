//! CPU elementwise kernels through `Cpu<f32>`: LeakyReLU forward and
//! backward, a bias add (a row broadcast) and an Adam update, at sizes from
//! a devnag layer to an image-GAN weight, on one thread and on
//! `MINIMAX_THREADS` threads (default: one per core). This places
//! `cpu::ELEMENTWISE_PER_THREAD`, the size from which the backend splits
//! such a kernel across threads.
//!
//! `cargo bench --bench elementwise` prints one line per figure:
//! `RESULT bench=elementwise op=leaky_relu n=65536 threads=2 ns_per_call=… gb_per_s=…`
//! (`gb_per_s`: the bytes the kernel reads and writes, per second). Name
//! ops to run only those: `cargo bench --bench elementwise -- adam`.

use minimax::autodiff::{AdamStep, Backend, Binary, Dist, Shape, Unary};
use minimax::cpu::threads::{threads, with_threads};
use minimax::cpu::Cpu;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Timed repeats per figure (the median is reported).
const REPEATS: usize = 9;

/// Median seconds per call of `f`, each repeat at least ~10 ms of calls.
fn per_call(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 1usize;
    while start.elapsed() < Duration::from_millis(3) {
        f();
        calls += 1;
    }
    let calls = calls * 3;
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_secs_f64() / calls as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |op: &str| args.is_empty() || args.iter().any(|a| a == op);
    let be = Cpu::<f32>::new();
    let u = Dist::Uniform { lo: -1.0, hi: 1.0 };
    let most = threads();
    // [rows, 256]: 4K to 1M elements.
    for rows in [16, 64, 128, 256, 512, 1024, 4096] {
        let shape = Shape::new(rows, 256);
        let n = shape.numel();
        let (x, dy) = (be.random(shape, u, 1), be.random(shape, u, 2));
        let bias = be.random(Shape::new(1, 256), u, 3);
        let leaky = Unary::LeakyRelu(0.2);
        let y = be.unary(leaky, &x);
        let mut counts = vec![1];
        if most > 1 {
            counts.push(most);
        }
        for &t in &counts {
            let report = |op: &str, bytes_per_elem: usize, f: &mut dyn FnMut()| {
                if !wanted(op) {
                    return;
                }
                let secs = with_threads(t, || per_call(f));
                let gbs = (bytes_per_elem * n) as f64 / secs / 1e9;
                println!(
                    "RESULT bench=elementwise op={op} n={n} threads={t} ns_per_call={:.0} gb_per_s={gbs:.1}",
                    secs * 1e9
                );
            };
            report("leaky_relu", 8, &mut || drop(black_box(be.unary(leaky, &x))));
            report("leaky_relu_backward", 16, &mut || {
                drop(black_box(be.unary_backward(leaky, &x, &y, &dy)))
            });
            report("bias_add", 8, &mut || drop(black_box(be.binary(Binary::Add, &x, &bias))));
            let (mut p, mut m, mut v) = (x.clone(), be.fill(shape, 0.0), be.fill(shape, 0.0));
            let hp = AdamStep { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: 10 };
            // Reads p, g, m, v; writes p, m, v: 28 bytes per element.
            report("adam", 28, &mut || be.adam_step(&mut p, &dy, &mut m, &mut v, hp).unwrap());
        }
    }
}
