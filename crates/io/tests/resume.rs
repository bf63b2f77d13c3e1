//! Same seed, same result, bit for bit on the CPU; and a run stopped,
//! saved and resumed ends exactly where an uninterrupted run ends. Also:
//! a checkpoint that is truncated, foreign, crafted or inconsistent is
//! refused, before anything is allocated from it, with a message that says
//! what is wrong.

use minimax_autodiff::Backend;
use minimax_cpu::Cpu;
use minimax_gan::{Config, Evaluation, GanLoss, Preset, RunOptions, Trainer};
use minimax_io::checkpoint::{self, Checkpointing};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};

type Be = Cpu<f32>;

/// A fresh, empty directory for one test, removed when dropped (even when
/// the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("minimax-gan-{name}-")).tempdir().unwrap()
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

    let tmp = scratch(name);
    let dir = tmp.path();
    let half = config.steps / 2;
    let mut first = Trainer::new(Be::new(), config.clone()).unwrap();
    let opts = RunOptions { save_every: half, ..quiet() };
    let mut hooks = Checkpointing::new(dir.join("ckpt.safetensors"), |_: &_| {});
    first.run_with(half, &opts, &mut hooks).unwrap();
    drop(first);
    let mut second = checkpoint::load(Be::new(), &dir.join("ckpt.safetensors")).unwrap();
    assert_eq!(second.step(), half);
    assert_eq!(second.config(), &config);
    second.run(&quiet(), |_| {}).unwrap();

    assert_eq!(second.step(), whole.step());
    assert!(state_bits(&second) == state_bits(&whole), "{name}: resumed run differs");
    assert_eq!(
        eval_bits(&second.evaluate(10_000).unwrap()),
        eval_bits(&whole.evaluate(10_000).unwrap())
    );
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

/// A checkpoint's parts, to craft bad files from a good one.
type Parts = (BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>, HashMap<String, String>);

fn parts(bytes: &[u8]) -> Parts {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    (tensors, header.metadata().clone().unwrap())
}

fn to_bytes((tensors, meta): &Parts) -> Vec<u8> {
    let views =
        tensors.iter().map(|(n, (d, s, b))| (n, TensorView::new(*d, s.clone(), b).unwrap()));
    safetensors::serialize(views, Some(meta.clone())).unwrap()
}

#[test]
fn bad_checkpoints_are_refused_with_a_clear_message() {
    let tmp = scratch("bad-checkpoints");
    let dir = tmp.path();
    let good = dir.join("good.safetensors");
    let t = train(tricky(3));
    checkpoint::save(&t, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let error_for = |name: &str, contents: &[u8]| -> String {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        match checkpoint::load(Be::new(), &path) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e.to_string(),
        }
    };
    let crafted = |name: &str, edit: &dyn Fn(&mut Parts)| -> String {
        let mut p = parts(&bytes);
        edit(&mut p);
        error_for(name, &to_bytes(&p))
    };

    // Cut short, or not safetensors at all.
    let err = error_for("truncated.safetensors", &bytes[..bytes.len() - 100]);
    assert!(
        err.contains("truncated.safetensors") && err.contains("not a valid safetensors"),
        "{err}"
    );
    let err = error_for("stub.safetensors", &bytes[..5]);
    assert!(err.contains("not a valid safetensors file"), "{err}");
    let err = error_for("notes.safetensors", b"these are not the weights you are looking for");
    assert!(err.contains("notes.safetensors"), "{err}");

    // A valid safetensors file from some other program.
    let err = crafted("foreign.safetensors", &|(t, m)| {
        m.clear();
        t.retain(|n, _| n == "generator.layer0.bias");
    });
    assert!(err.contains("not a minimax GAN checkpoint"), "{err}");

    // Its config describes other networks than its tensors hold.
    let devnag = serde_json::to_string(&devnag(3)).unwrap();
    let err = crafted("mismatched.safetensors", &|(_, m)| {
        m.insert("config".into(), devnag.clone());
        m.insert("seed".into(), "0".into());
    });
    assert!(err.contains("generator.layer0.weight") || err.contains("not part of"), "{err}");

    // A tensor missing; a tensor too many.
    let err = crafted("missing.safetensors", &|(t, _)| {
        t.remove("discriminator_optimizer.layer1.bias.v");
    });
    assert!(err.contains("discriminator_optimizer.layer1.bias.v is missing"), "{err}");
    let err = crafted("extra.safetensors", &|(t, _)| {
        let b = t["generator.layer0.bias"].clone();
        t.insert("generator.layer9.weight".into(), b);
    });
    assert!(err.contains("generator.layer9.weight is not part of"), "{err}");

    // A 22 KB file whose config asks for 40 GB of network: refused by the
    // config's bounds before anything is allocated (allocating first would
    // abort the process, not return an error).
    let err = crafted("huge.safetensors", &|(_, m)| {
        let mut c: serde_json::Value = serde_json::from_str(&m["config"]).unwrap();
        c["generator"]["hidden"] = serde_json::json!([100_000, 100_000]);
        m.insert("config".into(), c.to_string());
    });
    assert!(err.contains("width 100000 is over the limit"), "{err}");

    // Counters out of range or contradicting the file.
    let err = crafted("counter.safetensors", &|(_, m)| {
        m.insert("generator_steps".into(), (u32::MAX as u64 + 6).to_string());
    });
    assert!(err.contains("generator_steps = 4294967301 is out of range"), "{err}");
    let err = crafted("step.safetensors", &|(_, m)| {
        m.insert("step".into(), u64::MAX.to_string());
    });
    assert!(err.contains("past the run's"), "{err}");
    let err = crafted("seed.safetensors", &|(_, m)| {
        m.insert("seed".into(), "12".into());
    });
    assert!(err.contains("contradicts the config's seed 11"), "{err}");
    let err = crafted("dtype.safetensors", &|(_, m)| {
        m.insert("dtype".into(), "f64".into());
    });
    assert!(err.contains("the metadata says F64"), "{err}");

    // Optimizer settings no optimizer accepts.
    for (name, key, value) in
        [("beta2.safetensors", "beta2", 1.0), ("eps.safetensors", "eps", -1e-8)]
    {
        let err = crafted(name, &|(_, m)| {
            let mut c: serde_json::Value = serde_json::from_str(&m["config"]).unwrap();
            c["d_optimizer"][key] = serde_json::json!(value);
            m.insert("config".into(), c.to_string());
        });
        assert!(err.contains(&format!("{key} = {value:?}")), "{err}");
    }

    // A flipped bit in the data is caught by the checksum.
    let err = crafted("bitflip.safetensors", &|(t, _)| {
        t.get_mut("generator.layer0.weight").unwrap().2[5] ^= 0x10;
    });
    assert!(err.contains("checksum"), "{err}");

    // The good one still loads, at the step it was saved.
    assert_eq!(checkpoint::load(Be::new(), &good).unwrap().step(), 3);
}

#[test]
fn a_ring_run_resumed_from_a_checkpoint_ends_where_the_uninterrupted_one_does() {
    // Real data drawn on the host from the step, a learning rate that
    // decays with it, packing: all must resume exactly.
    let mut config = Config::preset(Preset::TwoD);
    config.steps = 60; // the decay starts at step 30: both halves see it differ
    config.seed = 5;
    let quiet = RunOptions { log_every: 1000, ..RunOptions::default() };
    let mut whole = Trainer::new(Be::new(), config.clone()).unwrap();
    whole.run(&quiet, |_| {}).unwrap();

    let tmp = scratch("ring-resume");
    let path = tmp.path().join("ckpt.safetensors");
    let mut first = Trainer::new(Be::new(), config.clone()).unwrap();
    let save = RunOptions { save_every: 25, ..quiet.clone() };
    first.run_with(25, &save, &mut Checkpointing::new(&path, |_: &_| {})).unwrap();
    let mut second = checkpoint::load(Be::new(), &path).unwrap();
    assert_eq!((second.step(), second.config()), (25, &config));
    second.run(&quiet, |_| {}).unwrap();

    let be = Be::new();
    for (a, b) in [(whole.g_params(), second.g_params()), (whole.d_params(), second.d_params())] {
        assert_eq!(a.download(&be).unwrap(), b.download(&be).unwrap());
    }
    assert_eq!(whole.coverage().unwrap(), second.coverage().unwrap());
}
