//! Host time and device commands of the trainers' own step on the GPU
//! backend: `Trainer::train_step` for the default 1-D GAN and
//! `ImageTrainer::train_step` for an image-GAN-sized step (G
//! 100-256-512-784, D 784-512-256-1, batch 64, on random "images").
//!
//! **Host time** is the time `train_step` takes to record the step and
//! hand it to the queue (its `flush` does not wait); the device's work is
//! waited for afterwards, outside the timer, so that a software rasterizer
//! (lavapipe runs the kernels on the same CPU) does not run beside the
//! timed recording. Median of the timed steps, after 20 steps of warm-up.
//!
//! The file uses only long-standing public API (the trainers' `new` and
//! `train_step`, `ImageData::upload`, `Wgpu`'s stats and `sync`), so the
//! same file builds on older commits too: build it on two commits and run
//! the two binaries alternately to compare their steps.
//!
//! Run with `cargo bench --bench gpu_trainer [-- gan1d|image]`; prints one
//! `RESULT bench=gpu_trainer workload=… host_us=… dispatches=…` line each.

use minimax::autodiff::Backend;
use minimax::gan::image::{ImageConfig, ImageData, ImagePreset, ImageTrainer, Pixels};
use minimax::gan::{Config, Preset, Trainer};
use minimax::wgsl::Wgpu;
use std::time::Instant;

/// Median of `xs`.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times `steps` calls of `step` after a warm-up; prints a RESULT line.
fn measure(gpu: &Wgpu, name: &str, steps: usize, mut step: impl FnMut()) {
    for _ in 0..20 {
        step(); // pipelines compiled, buffer pool and bind-group cache filled
    }
    gpu.sync().unwrap();
    gpu.reset_stats();
    step();
    gpu.sync().unwrap();
    let one = gpu.stats();
    let mut host = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t = Instant::now();
        step();
        host.push(t.elapsed().as_secs_f64());
        gpu.sync().unwrap(); // the device's work, untimed
    }
    println!(
        "RESULT bench=gpu_trainer workload={name} host_us={:.1} dispatches={} copies={} \
         submits={}",
        median(host) * 1e6,
        one.dispatches,
        one.copies,
        one.submits
    );
    println!("  one step: {one}");
}

fn main() {
    let gpu = Wgpu::new().expect("a GPU adapter (lavapipe will do)");
    println!("adapter: {}", gpu.adapter_summary());
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |w: &str| args.is_empty() || args.iter().any(|a| a == w);
    if wanted("gan1d") {
        let mut t = Trainer::new(gpu.clone(), Config::preset(Preset::Default)).unwrap();
        measure(&gpu, "gan1d", 200, || t.train_step().unwrap());
    }
    if wanted("image") {
        let mut c = ImageConfig::preset(ImagePreset::Classic, 784, 10);
        c.g_hidden = vec![256, 512];
        c.g_batch_norm = false;
        let n = 256;
        let images = Pixels::new((0..n * 784).map(|i| (i % 200) as u8).collect(), 200);
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let data = ImageData::upload(&gpu, &c, &images, &labels, n).unwrap();
        let mut t = ImageTrainer::new(gpu.clone(), c, data).unwrap();
        measure(&gpu, "image", 20, || t.train_step().unwrap());
    }
}
