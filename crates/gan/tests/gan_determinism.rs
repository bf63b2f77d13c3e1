//! Same seed, same result, bit for bit on the CPU; and a run stopped,
//! saved and resumed ends exactly where an uninterrupted run ends. Also:
//! a checkpoint that is truncated, foreign or inconsistent is refused with
//! a message that says so.

use minimax_autodiff::{Backend, Cpu};
use minimax_gan::safetensors::{self, NamedTensor};
use minimax_gan::{Config, Evaluation, GanLoss, Preset, RunOptions, Trainer};
use std::collections::BTreeMap;
use std::path::PathBuf;

type Be = Cpu<f32>;

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minimax-gan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The default preset, short, with every random trick switched on so every
/// random stream is exercised.
fn tricky(steps: u64) -> Config {
    let mut c = Config::preset(Preset::Default);
    c.steps = steps;
    c.seed = 11;
    c.discriminator.dropout = 0.2;
    c.label_noise = 0.05;
    c.real_label = 0.9;
    c
}

fn wasserstein(steps: u64) -> Config {
    let mut c = Config::preset(Preset::Default);
    c.steps = steps;
    c.loss = GanLoss::Wasserstein;
    c.d_steps = 3;
    c
}

fn devnag(steps: u64) -> Config {
    let mut c = Config::preset(Preset::Devnag);
    c.steps = steps;
    c
}

/// Every bit of the run's state: parameters and optimizer state of both
/// players, and the update counts.
fn state_bits(t: &Trainer<Be>) -> Vec<u32> {
    let be = t.backend();
    let mut bits = Vec::new();
    let (g_opt, d_opt) = t.optimizers();
    bits.push(g_opt.steps());
    bits.push(d_opt.steps());
    for (store, opt) in [(t.g_params(), g_opt), (t.d_params(), d_opt)] {
        for p in store.iter() {
            bits.extend(be.download(&p.tensor).unwrap().iter().map(|x| x.to_bits()));
        }
        for (_, s) in opt.state(store) {
            bits.extend(be.download(&s).unwrap().iter().map(|x| x.to_bits()));
        }
    }
    bits
}

fn eval_bits(e: &Evaluation) -> Vec<u64> {
    [
        e.target_mean,
        e.target_std,
        e.generated_mean,
        e.generated_std,
        e.js_divergence,
        e.d_real,
        e.d_fake,
    ]
    .iter()
    .map(|x| x.to_bits())
    .collect()
}

fn quiet() -> RunOptions {
    RunOptions { log_every: 50, ..RunOptions::default() }
}

fn train(config: Config) -> Trainer<Be> {
    let mut t = Trainer::new(Be::new(), config).unwrap();
    t.run(&quiet(), |_| {}).unwrap();
    t
}

#[test]
fn the_same_seed_gives_bit_identical_runs() {
    let (a, b) = (train(tricky(120)), train(tricky(120)));
    assert_eq!(state_bits(&a), state_bits(&b));
    assert_eq!(eval_bits(&a.evaluate(10_000).unwrap()), eval_bits(&b.evaluate(10_000).unwrap()));

    // And the seed matters: another one gives another run.
    let mut other = tricky(120);
    other.seed = 12;
    assert_ne!(state_bits(&a), state_bits(&train(other)));
}

/// Trains `config` in one go, and again in two halves with a checkpoint in
/// between, and asserts the two end bit-identical.
fn resume_matches(config: Config, name: &str) {
    let whole = train(config.clone());

    let dir = scratch(name);
    let half = config.steps / 2;
    let mut first = Trainer::new(Be::new(), config.clone()).unwrap();
    let opts =
        RunOptions { save_every: half, checkpoint: Some(dir.join("ckpt.safetensors")), ..quiet() };
    first.run_until(half, &opts, |_| {}).unwrap();
    drop(first);
    let mut second = Trainer::from_checkpoint(Be::new(), &dir.join("ckpt.safetensors")).unwrap();
    assert_eq!(second.step(), half);
    assert_eq!(second.config(), &config);
    second.run(&quiet(), |_| {}).unwrap();

    assert_eq!(second.step(), whole.step());
    assert!(state_bits(&second) == state_bits(&whole), "{name}: resumed run differs");
    assert_eq!(
        eval_bits(&second.evaluate(10_000).unwrap()),
        eval_bits(&whole.evaluate(10_000).unwrap())
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_resumed_adam_run_with_every_trick_equals_an_uninterrupted_one() {
    resume_matches(tricky(80), "resume-tricky");
}

#[test]
fn a_resumed_wasserstein_run_with_clipping_equals_an_uninterrupted_one() {
    resume_matches(wasserstein(60), "resume-wgan");
}

#[test]
fn a_resumed_devnag_run_with_sgd_momentum_equals_an_uninterrupted_one() {
    resume_matches(devnag(6), "resume-devnag");
}

#[test]
fn bad_checkpoints_are_refused_with_a_clear_message() {
    let dir = scratch("bad-checkpoints");
    let good = dir.join("good.safetensors");
    let t = train(tricky(3));
    t.save_checkpoint(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let error_for = |name: &str, contents: &[u8]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        match Trainer::<Be>::from_checkpoint(Be::new(), &path) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e.to_string(),
        }
    };

    // Cut short: the header promises more bytes than there are.
    let err = error_for("truncated.safetensors", &bytes[..bytes.len() - 100]);
    assert!(err.contains("truncated.safetensors"), "{err}");
    let err = error_for("stub.safetensors", &bytes[..5]);
    assert!(err.contains("not a safetensors file"), "{err}");

    // Not safetensors at all.
    let err = error_for("notes.safetensors", b"these are not the weights you are looking for");
    assert!(err.contains("notes.safetensors"), "{err}");

    // A valid safetensors file from some other program.
    let foreign = dir.join("foreign.safetensors");
    let w = NamedTensor::f32("encoder.weight", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
    safetensors::save(&foreign, &[w], &BTreeMap::new()).unwrap();
    let err = Trainer::<Be>::from_checkpoint(Be::new(), &foreign).unwrap_err().to_string();
    assert!(err.contains("not a minimax GAN checkpoint"), "{err}");

    // Ours, but its config describes other networks than its tensors hold.
    let (tensors, mut meta) = safetensors::load(&good).unwrap();
    meta.insert("config".into(), devnag(3).to_json().to_compact());
    let mismatched = dir.join("mismatched.safetensors");
    safetensors::save(&mismatched, &tensors, &meta).unwrap();
    let err = Trainer::<Be>::from_checkpoint(Be::new(), &mismatched).unwrap_err().to_string();
    assert!(err.contains("generator.layer0.weight") && err.contains("shape"), "{err}");

    // Ours, with a tensor missing.
    let (mut tensors, meta) = safetensors::load(&good).unwrap();
    tensors.retain(|t| t.name != "discriminator_optimizer.layer1.bias.v");
    let missing = dir.join("missing.safetensors");
    safetensors::save(&missing, &tensors, &meta).unwrap();
    let err = Trainer::<Be>::from_checkpoint(Be::new(), &missing).unwrap_err().to_string();
    assert!(err.contains("\"discriminator_optimizer.layer1.bias.v\" is missing"), "{err}");

    // The good one still loads, at the step it was saved.
    assert_eq!(Trainer::<Be>::from_checkpoint(Be::new(), &good).unwrap().step(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}
