//! A run that diverges stops with an error naming the step, and the
//! checkpoint on disk is the last good one: it loads, it is from before
//! the divergence, and every value in it is finite.

use minimax_cpu::Cpu;
use minimax_gan::{Config, GanLoss, Preset, RunOptions, TrainError, Trainer};
use minimax_io::checkpoint::{self, Checkpointing};
use minimax_nn::OptimizerConfig;
use std::path::{Path, PathBuf};

type Be = Cpu<f32>;

/// A fresh scratch directory for one test (removed when dropped, even when
/// the test fails), and a checkpoint path in it.
fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix(&format!("minimax-io-{name}-")).tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    (dir, path)
}

/// Trains `config` saving every 10 steps, and returns how it ended.
fn run_saving(config: Config, path: &Path) -> Result<u64, TrainError> {
    let opts =
        RunOptions { log_every: 10, save_every: 10, snapshot_at: vec![], ..RunOptions::default() };
    let mut trainer = Trainer::new(Be::new(), config.clone()).unwrap();
    trainer.run_with(config.steps, &opts, &mut Checkpointing::new(path, |_: &_| {}))?;
    Ok(trainer.step())
}

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

    let (_dir, path) = scratch("nan");
    let opts =
        RunOptions { log_every: 1, save_every: 1, snapshot_at: vec![], ..RunOptions::default() };
    let mut trainer = Trainer::new(Be::new(), config).unwrap();
    let err = trainer.run_with(200, &opts, &mut Checkpointing::new(&path, |_: &_| {})).unwrap_err();

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
    let resumed = checkpoint::load(Be::new(), &path).unwrap();
    assert_eq!(resumed.step(), at);
    // And it holds what the run held at that step: replay to it and compare.
    let mut replay = Trainer::new(Be::new(), resumed.config().clone()).unwrap();
    replay.run_until(at, &RunOptions::default(), |_| {}).unwrap();
    let be = Be::new();
    assert_eq!(replay.g_params().download(&be).unwrap(), resumed.g_params().download(&be).unwrap());
    assert_eq!(replay.d_params().download(&be).unwrap(), resumed.d_params().download(&be).unwrap());
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
    assert!(message.contains("no checkpoint had been saved"), "{message}");
}

#[test]
fn divergence_hidden_by_relu_is_caught_in_the_parameters() {
    // The 2-D preset's D uses LeakyReLU and G's samples pass through tanh,
    // and with lr 1e10 the parameters overflow: before the parameters were
    // checked, this run ended "successfully" with every progress line
    // showing "gen mean NaN".
    let mut config = Config::preset(Preset::TwoD);
    config.g_optimizer = config.g_optimizer.with_lr(1e10);
    config.d_optimizer = config.d_optimizer.with_lr(1e10);
    config.steps = 300;
    let mut trainer = Trainer::new(Be::new(), config).unwrap();
    let err = trainer.run(&RunOptions::default(), |_| {}).unwrap_err();
    let TrainError::NonFinite { step, what, .. } = &err else { panic!("{err}") };
    assert!(*step <= 300 && what.contains("NaN"), "{err}");
}

#[test]
fn the_last_good_checkpoint_always_resumes() {
    // Settings that diverge in the optimizer state before the losses show
    // it (Adam's v overflows first): the checkpoint named as the last good
    // one must hold only finite state, or --resume would refuse it.
    let mut minimax = Config::preset(Preset::Default);
    minimax.loss = GanLoss::Minimax;
    minimax.g_optimizer = minimax.g_optimizer.with_lr(1e10);
    minimax.d_optimizer = minimax.d_optimizer.with_lr(1e10);
    minimax.steps = 300;
    let mut wgan = Config::preset(Preset::Default);
    wgan.loss = GanLoss::Wasserstein;
    wgan.g_optimizer = wgan.g_optimizer.with_lr(1e30);
    wgan.d_optimizer = wgan.d_optimizer.with_lr(1e30);
    wgan.steps = 300;
    for (name, config) in [("minimax", minimax), ("wasserstein", wgan)] {
        let (_dir, path) = scratch(name);
        let saved_at = match run_saving(config, &path) {
            Ok(step) => Some(step),
            Err(TrainError::NonFinite { last_checkpoint, .. }) => last_checkpoint.map(|(_, s)| s),
            Err(e) => panic!("{name}: {e}"),
        };
        if let Some(step) = saved_at {
            let resumed = checkpoint::load(Be::new(), &path)
                .unwrap_or_else(|e| panic!("{name}: the last good checkpoint does not load: {e}"));
            assert_eq!(resumed.step(), step, "{name}");
        } else {
            assert!(!path.exists(), "{name}: a checkpoint was written but not reported");
        }
    }
}

#[test]
fn a_checkpoint_with_non_finite_state_is_never_written() {
    let (_dir, path) = scratch("never-written");
    let mut trainer = Trainer::new(Be::new(), Config::preset(Preset::Default)).unwrap();
    trainer.run_until(2, &RunOptions::default(), |_| {}).unwrap();
    checkpoint::save(&trainer, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    // Poison one of D's Adam moments by hand.
    let be = Be::new();
    let (_, d_params, _, d_opt) = trainer.parts_mut();
    let steps = d_opt.steps();
    let counts = d_opt.update_counts().to_vec();
    let names: Vec<String> = d_opt.state(d_params).into_iter().map(|(n, _)| n).collect();
    d_opt
        .load_state(d_params, steps, &counts, |n, s| {
            use minimax_autodiff::Backend;
            let v = if n == names[1] { f32::INFINITY } else { 0.0 };
            Ok(be.upload(s, &vec![v; s.numel()]).unwrap())
        })
        .unwrap();
    let err = checkpoint::save(&trainer, &path).unwrap_err().to_string();
    assert!(
        err.contains(&format!("discriminator_optimizer.{}", names[1])) && err.contains("inf"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "the good checkpoint was replaced");
}

/// A resumed run that diverges before its first save names the checkpoint
/// it resumed from as the last good one (it said "no checkpoint had been
/// saved", although the file it started from is good).
#[test]
fn a_resumed_run_that_diverges_names_the_checkpoint_it_resumed_from() {
    let mut config = Config::preset(Preset::Default);
    config.loss = GanLoss::LeastSquares;
    config.g_optimizer = OptimizerConfig::sgd(1e6, 0.9);
    config.d_optimizer = config.g_optimizer;
    let (_dir, path) = scratch("resumed-diverges");
    let first = Trainer::new(Be::new(), config).unwrap();
    checkpoint::save(&first, &path).unwrap();
    drop(first);
    let mut resumed = checkpoint::load(Be::new(), &path).unwrap();
    let opts =
        RunOptions { log_every: 1, resumed_from: Some(path.clone()), ..RunOptions::default() };
    let err = resumed.run(&opts, |_| {}).unwrap_err();
    let TrainError::NonFinite { last_checkpoint, .. } = &err else { panic!("{err}") };
    assert_eq!(last_checkpoint, &Some((path.clone(), 0)), "{err}");
    assert!(err.to_string().contains("the last good checkpoint is"), "{err}");
}
