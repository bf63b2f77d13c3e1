//! Host time and device commands of one GAN training step on the GPU
//! backend (the step of `common/gan_step.rs`: two workloads, three
//! variants).
//!
//! **Host time** is the time to record the step and hand it to the queue
//! (`flush` does not wait); the device's own work is waited for afterwards,
//! outside the timer, so that a software rasterizer (lavapipe, which runs
//! the kernels on the same CPU) does not run concurrently with the timed
//! recording. The median of the timed steps is reported, after 12 steps of
//! warm-up (pipelines compiled, buffer pool and bind-group cache filled).
//!
//! Run with `cargo bench -p minimax-wgsl --bench gpu_step [-- WORKLOAD… VARIANT…]`
//! (workloads `gan1d`, `image`; variants `plain`, `fused`, `lean`; default
//! all). Prints one `RESULT` line per workload and variant.

#[path = "common/gan_step.rs"]
mod gan_step;

use gan_step::{Gan, VARIANTS};
use minimax_autodiff::{Backend, Tape};
use minimax_wgsl::Wgpu;
use std::time::Instant;

/// Median of `xs`.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times `steps` steps of `variant` on workload `name`; prints a RESULT line.
fn measure(gpu: &Wgpu, name: &str, variant: &str, steps: usize) {
    let mut gan = Gan::new(gpu, name);
    let mut tape = Tape::new(gpu.clone());
    let step = |gan: &mut Gan, tape: &mut Tape<Wgpu>| gan.step(variant, tape);
    // Warm-up: pipelines compiled, buffer pool and caches filled.
    for _ in 0..12 {
        step(&mut gan, &mut tape);
    }
    gpu.sync().unwrap();
    gpu.reset_stats();
    step(&mut gan, &mut tape);
    gpu.sync().unwrap();
    let one = gpu.stats();
    let mut host = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t = Instant::now();
        step(&mut gan, &mut tape);
        host.push(t.elapsed().as_secs_f64());
        gpu.sync().unwrap(); // the device's work, untimed
    }
    let host_us = median(host) * 1e6;
    println!(
        "RESULT bench=gpu_step workload={name} variant={variant} host_us={host_us:.1} \
         dispatches={} copies={} submits={}",
        one.dispatches, one.copies, one.submits
    );
    println!("  one step: {one}");
}

fn main() {
    let gpu = Wgpu::new().expect("a GPU adapter (lavapipe will do)");
    println!("adapter: {}", gpu.adapter_summary());
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let workloads = [("gan1d", 200), ("image", 20)];
    let named = |list: &[&str]| args.iter().any(|a| list.contains(&a.as_str()));
    let names: Vec<&str> = workloads.iter().map(|w| w.0).collect();
    let wanted = |w: &str, list: &[&str]| !named(list) || args.iter().any(|a| a == w);
    for (name, steps) in workloads {
        for variant in VARIANTS {
            if wanted(name, &names) && wanted(variant, &VARIANTS) {
                measure(&gpu, name, variant, steps);
            }
        }
    }
}
