//! A run that diverges stops with an error naming the step, and the
//! checkpoint on disk is the last good one: it loads, it is from before
//! the divergence, and every value in it is finite.

use minimax::autodiff::Cpu;
use minimax::gan::{Config, GanLoss, OptimizerConfig, Preset, RunOptions, TrainError, Trainer};

type Be = Cpu<f32>;

#[test]
fn a_diverging_run_stops_naming_the_step_and_keeps_the_last_good_checkpoint() {
    // Least squares has no saturating sigmoid to hold it back, and plain SGD
    // no Adam-style bound on its steps: with lr 0.3 the quadratic loss
    // overflows within a few steps. (The cross-entropy losses with Adam stay
    // finite even at lr 1e6: softplus never overflows and Adam's steps are
    // at most lr.)
    let mut config = Config::preset(Preset::Default);
    config.loss = GanLoss::LeastSquares;
    config.g_optimizer = OptimizerConfig::sgd(0.3, 0.9);
    config.d_optimizer = config.g_optimizer;
    config.steps = 200;

    let dir = std::env::temp_dir().join(format!("minimax-gan-{}-nan", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ckpt.safetensors");
    let _ = std::fs::remove_file(&path);
    let opts = RunOptions {
        log_every: 1,
        save_every: 1,
        checkpoint: Some(path.clone()),
        snapshot_at: vec![],
    };
    let mut trainer = Trainer::new(Be::new(), config).unwrap();
    let err = trainer.run(&opts, |_| {}).unwrap_err();

    let TrainError::NonFinite { step, ref what, ref last_checkpoint } = err else {
        panic!("expected a divergence, got: {err}");
    };
    let message = err.to_string();
    assert!(message.contains(&format!("step {step}")), "{message}");
    assert!(what.contains("NaN") || what.contains("inf"), "{what}");
    let (saved, at) = last_checkpoint.clone().expect("steps before the divergence were saved");
    assert_eq!(saved, path);
    assert!(at < step && at >= 1, "checkpoint at step {at}, divergence at step {step}");
    assert!(message.contains(&format!("step {at}")), "{message}");

    // The checkpoint loads (loading refuses non-finite values) at its step.
    let resumed = Trainer::<Be>::from_checkpoint(Be::new(), &path).unwrap();
    assert_eq!(resumed.step(), at);
    // And it holds what the run held at that step: replay to it and compare.
    let mut replay = Trainer::new(Be::new(), resumed.config().clone()).unwrap();
    replay.run_until(at, &RunOptions::default(), |_| {}).unwrap();
    let be = Be::new();
    assert_eq!(replay.g_params().download(&be).unwrap(), resumed.g_params().download(&be).unwrap());
    assert_eq!(replay.d_params().download(&be).unwrap(), resumed.d_params().download(&be).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn without_checkpoints_the_error_says_none_was_written() {
    let mut config = Config::preset(Preset::Default);
    config.loss = GanLoss::LeastSquares;
    config.g_optimizer = OptimizerConfig::sgd(1e6, 0.9);
    config.d_optimizer = config.g_optimizer;
    let mut trainer = Trainer::new(Be::new(), config).unwrap();
    let err =
        trainer.run(&RunOptions { log_every: 1, ..RunOptions::default() }, |_| {}).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("training diverged at step "), "{message}");
    assert!(message.contains("no checkpoint was written"), "{message}");
}
