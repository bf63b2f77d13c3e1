//! The trainer on the GPU backend: it starts from the same parameters as
//! on the CPU (the counter-based generator), tracks the CPU run step for
//! step, and a training step costs one submit and no readback.
//!
//! Skipped (with a printed line) where there is no GPU adapter, unless
//! `MINIMAX_REQUIRE_GPU=1`, which turns a missing GPU into a failure.

use minimax::autodiff::Cpu;
use minimax::gan::{Config, Preset, RunOptions, Trainer};
use minimax::wgsl::testing::gpu_or_skip;

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
