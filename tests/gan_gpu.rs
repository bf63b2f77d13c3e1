//! The trainer on the GPU backend: it starts from the same parameters as
//! on the CPU (the counter-based generator), tracks the CPU run step for
//! step, and a training step costs one submit and no readback.
//!
//! Skipped (with a printed line) where there is no GPU adapter, unless
//! `MINIMAX_REQUIRE_GPU=1`, which turns a missing GPU into a failure.

use minimax::cpu::Cpu;
use minimax::gan::image::{ImageConfig, ImageData, ImagePreset, ImageTrainer, Pixels};
use minimax::gan::run::WARMUP_STEPS;
use minimax::gan::{Config, Preset, RunOptions, Trainer};
use minimax::wgsl::testing::{assert_steady_step, extra_adam_dispatches, gpu_or_skip};
use minimax::wgsl::Stats;

/// The largest difference between two runs' parameters, G's and D's.
fn max_difference<A: minimax::autodiff::Backend, B: minimax::autodiff::Backend>(
    a: &Trainer<A>,
    b: &Trainer<B>,
) -> f64 {
    let mut worst = 0.0f64;
    for (x, y) in [
        (a.g_params().download(a.backend()).unwrap(), b.g_params().download(b.backend()).unwrap()),
        (a.d_params().download(a.backend()).unwrap(), b.d_params().download(b.backend()).unwrap()),
    ] {
        for (u, v) in x.iter().flatten().zip(y.iter().flatten()) {
            worst = worst.max((u - v).abs());
        }
    }
    worst
}

#[test]
fn the_gpu_trainer_tracks_the_cpu_one_and_a_step_reads_nothing_back() {
    let Some(gpu) = gpu_or_skip("the_gpu_trainer_tracks_the_cpu_one_and_a_step_reads_nothing_back")
    else {
        return;
    };
    let mut config = Config::preset(Preset::Default);
    config.steps = 8;
    let mut on_gpu = Trainer::new(gpu.clone(), config.clone()).unwrap();
    let mut on_cpu = Trainer::new(Cpu::<f32>::new(), config).unwrap();
    // Same draws on both devices (up to f32 rounding of the transforms).
    let start = max_difference(&on_gpu, &on_cpu);
    assert!(start < 1e-6, "initial parameters differ by {start}");

    // Three steps: each is one submit (its flush) and reads nothing back.
    gpu.reset_stats();
    for _ in 0..3 {
        on_gpu.train_step().unwrap();
    }
    let stats = gpu.stats();
    assert_eq!((stats.submits, stats.readbacks, stats.readback_bytes), (3, 0, 0), "{stats}");
    assert!(stats.dispatches > 0);

    for _ in 0..3 {
        on_cpu.train_step().unwrap();
    }
    let opts = RunOptions { log_every: 4, ..RunOptions::default() };
    on_gpu.run(&opts, |_| {}).unwrap();
    on_cpu.run(&opts, |_| {}).unwrap();
    // Eight Adam steps move weights by up to ~8e-3; f32 rounding in other
    // orders must stay far below that.
    let end = max_difference(&on_gpu, &on_cpu);
    eprintln!("start {start:e}, end {end:e}");
    assert!(end < 1e-4, "after 8 steps the GPU and CPU runs differ by {end}");
}

/// The GPU's counters of each of `steps` consecutive calls of `step`.
fn per_step(gpu: &minimax::wgsl::Wgpu, steps: usize, mut step: impl FnMut()) -> Vec<Stats> {
    (0..steps)
        .map(|_| {
            gpu.reset_stats();
            step();
            gpu.stats()
        })
        .collect()
}

/// What a lean steady-state step may cost: at most `max_dispatches`
/// kernels in one compute pass and one submit, no copy (every update in
/// place), no bind group created (the cache serves them), no buffer
/// created (the pool serves them), no readback.
fn assert_lean(name: &str, steps: &[Stats], max_dispatches: u64) {
    for (i, s) in steps.iter().enumerate() {
        eprintln!("{name} step {i}: {s}");
    }
    // The first steps fill the buffer pool and the bind-group cache: until
    // the order in which the pool hands buffers out repeats, a step binds
    // new combinations (7 steps for the default 1-D GAN on lavapipe).
    let steady = &steps[WARMUP_STEPS as usize..];
    for s in steady {
        assert!(s.dispatches <= max_dispatches, "{name}: {s}");
        assert_steady_step(name, s);
    }
    assert!(steady.windows(2).all(|w| w[0] == w[1]), "{name}: steady steps differ");
}

/// The dispatch budget of a step: `base` where Adam updates six tensors
/// per dispatch (Vulkan, lavapipe included). Where the device binds too few
/// storage buffers for that (wgpu's OpenGL backend), Adam runs one tensor
/// per dispatch, and the extra dispatches are not held against the step
/// (`params` lists each network's parameter tensors).
fn budget(gpu: &minimax::wgsl::Wgpu, base: u64, params: &[usize]) -> u64 {
    base + extra_adam_dispatches(gpu, params)
}

#[test]
fn the_default_1d_step_is_at_most_50_dispatches_with_no_copies_or_new_bind_groups() {
    let Some(gpu) = gpu_or_skip("the_default_1d_step_is_at_most_50_dispatches") else {
        return;
    };
    let mut t = Trainer::new(gpu.clone(), Config::preset(Preset::Default)).unwrap();
    let params = [t.g_params().len(), t.d_params().len()]; // 6 and 6
    let steps = per_step(&gpu, WARMUP_STEPS as usize + 5, || t.train_step().unwrap());
    assert_lean("default 1-D GAN", &steps, budget(&gpu, 50, &params));
}

#[test]
fn the_image_gan_sized_step_is_at_most_60_dispatches_with_no_copies_or_new_bind_groups() {
    let Some(gpu) = gpu_or_skip("the_image_gan_sized_step_is_at_most_60_dispatches") else {
        return;
    };
    // G 100-256-512-784 (LeakyReLU 0.2, tanh out), D 784-512-256-1, batch
    // 64, non-saturating, Adam: the image-GAN-sized step of BENCHMARKS.md,
    // on 256 random "images" (the counts do not depend on the pixels).
    let mut c = ImageConfig::preset(ImagePreset::Classic, 784, 10);
    c.g_hidden = vec![256, 512];
    c.g_batch_norm = false;
    let n = 256;
    let images = Pixels::new((0..n * 784).map(|i| ((i * 7919) % 200) as u8).collect(), 200);
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let data = ImageData::upload(&gpu, &c, &images, &labels, n).unwrap();
    let mut t = ImageTrainer::new(gpu.clone(), c, data).unwrap();
    let steps = per_step(&gpu, WARMUP_STEPS as usize + 5, || t.train_step().unwrap());
    assert_lean("image-GAN-sized", &steps, budget(&gpu, 60, &[6, 6])); // w and b of 3 layers each
}

#[test]
fn a_dcgan_step_is_one_submit_with_no_copies_readbacks_or_new_bind_groups() {
    let Some(gpu) = gpu_or_skip("a_dcgan_step_is_one_submit") else {
        return;
    };
    // The dcgan preset's layers (two strided convolutions each way,
    // BatchNorm2d in G and D, D run apart on the real and fake batches), on
    // 8×8 images with few channels so lavapipe runs it quickly: the counts
    // depend on the layers, not their sizes. Conditional, so the class
    // planes are in the step too.
    let mut c = ImageConfig::preset(ImagePreset::Dcgan, 64, 10);
    (c.batch, c.latent_dim, c.conditional) = (8, 16, true);
    (c.g_hidden, c.d_hidden) = (vec![8, 4], vec![4, 8]);
    let n = 64;
    let images = Pixels::new((0..n * 64).map(|i| ((i * 7919) % 200) as u8).collect(), 200);
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let data = ImageData::upload(&gpu, &c, &images, &labels, n).unwrap();
    let mut t = ImageTrainer::new(gpu.clone(), c, data).unwrap();
    let steps = per_step(&gpu, WARMUP_STEPS as usize + 3, || t.train_step().unwrap());
    // G: Linear, BN2d, 2 ConvT with BN2d; D: 2 Conv, BN2d, Linear: w and b
    // (or γ and β) of each, 10 tensors in G and 8 in D.
    assert_lean("DCGAN", &steps, budget(&gpu, DCGAN_DISPATCHES, &[10, 8]));
}

/// The most kernels a DCGAN step may dispatch: 434 measured on lavapipe
/// (2026-12-07, 436 before D's targets were kept between steps; the test
/// prints each step's counts). The composed batch
/// norms and per-channel biases are most of them: each is a dozen small
/// kernels forward and more backward, where a fused kernel would be two.
const DCGAN_DISPATCHES: u64 = 436;
