//! The image GAN's checkpoints: a run stopped, saved and resumed ends bit
//! for bit where the uninterrupted run ends, MLP or DCGAN (parameters, G's
//! and D's batch-norm running statistics, both optimizers' state and counters); a damaged or
//! foreign file is refused, naming what is wrong. The judging classifier's
//! cache loads back exactly, and is refused for another data set or config.

use minimax_autodiff::{Backend, TensorShape};
use minimax_cpu::Cpu;
use minimax_gan::image::classifier::ClassifierConfig;
use minimax_gan::image::{Classifier, GChoice, ImageConfig, ImageData, ImagePreset, ImageTrainer};
use minimax_gan::run::{run_with, RunHooks};
use minimax_gan::RunOptions;
use minimax_io::checkpoint::{self, DataId};
use minimax_io::datasets::{self, Splits};

type Be = Cpu<f32>;

/// A fresh, empty directory for one test, removed when dropped (even when
/// the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("minimax-image-{name}-")).tempdir().unwrap()
}

/// A short conditional digits run: batch norm in G, every random stream.
fn config(steps: u64) -> ImageConfig {
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    c.steps = steps;
    c.seed = 5;
    c.conditional = true;
    c.batch = 32;
    c
}

fn fresh(c: &ImageConfig, s: &Splits) -> ImageTrainer<Be> {
    let be = Be::new();
    let data = ImageData::upload(&be, c, &s.train.images, &s.train.labels, 700).unwrap();
    ImageTrainer::new(be, c.clone(), data).unwrap()
}

struct NoHooks;
impl RunHooks<ImageTrainer<Be>> for NoHooks {}

fn train_to(t: &mut ImageTrainer<Be>, stop: u64) {
    run_with(t, stop, &RunOptions { log_every: 7, ..RunOptions::default() }, &mut NoHooks).unwrap();
}

/// Every bit of the run's state (D's running statistics too: DCGAN's).
fn state_bits(t: &ImageTrainer<Be>) -> Vec<u32> {
    let be = t.backend();
    let (g, d, running) = t.stores();
    let (g_opt, d_opt) = t.optimizers();
    let mut bits = vec![t.step() as u32, g_opt.steps(), d_opt.steps()];
    bits.extend(g_opt.update_counts().iter().chain(d_opt.update_counts()));
    let ema = t.ema().map(|e| [&e.weights.params, &e.weights.running]);
    for store in [g, d, running, t.d_running()].into_iter().chain(ema.into_iter().flatten()) {
        for p in store.iter() {
            bits.extend(be.download(&p.tensor).unwrap().iter().map(|x| x.to_bits()));
        }
    }
    for (store, opt) in [(g, g_opt), (d, d_opt)] {
        for (_, t) in opt.state(store) {
            bits.extend(be.download(&t).unwrap().iter().map(|x| x.to_bits()));
        }
    }
    bits
}

#[test]
fn a_resumed_image_run_equals_an_uninterrupted_one_bit_for_bit() {
    resumed_equals_uninterrupted(&config(60));
}

/// The same with an EMA of G's weights (`g_ema`): the average is saved and
/// continues bit for bit, and G's pictures from it too.
#[test]
fn a_resumed_image_run_with_an_ema_of_g_equals_an_uninterrupted_one_bit_for_bit() {
    let c = ImageConfig { g_ema: Some(0.9), ..config(60) };
    resumed_equals_uninterrupted(&c);
}

/// Trains `c` to its end at once, and stopped at step 23, saved, loaded
/// and trained on: the two end in the same bits.
fn resumed_equals_uninterrupted(c: &ImageConfig) {
    let s = datasets::digits().unwrap();
    let c = c.clone();
    let mut whole = fresh(&c, &s);
    train_to(&mut whole, 60);

    let tmp = scratch(if c.g_ema.is_some() { "resume-ema" } else { "resume" });
    let dir = tmp.path();
    let path = dir.join("checkpoint.safetensors");
    let mut first = fresh(&c, &s);
    train_to(&mut first, 23); // mid-epoch of a 700-row chunk, mid log interval
    checkpoint::save_image(&first, &DataId::of(&s), &path).unwrap();
    drop(first);
    let read = checkpoint::read_image_config(&path).unwrap();
    assert_eq!(read, c);
    let be = Be::new();
    let data = ImageData::upload(&be, &read, &s.train.images, &s.train.labels, 700).unwrap();
    let mut resumed = checkpoint::load_image(be, &path, data, &DataId::of(&s)).unwrap();
    assert_eq!(resumed.step(), 23);
    train_to(&mut resumed, 60);

    let (a, b) = (state_bits(&whole), state_bits(&resumed));
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the resumed run differs from the uninterrupted one");
    // And so do G's pictures, in evaluation mode (running statistics).
    let classes: Vec<usize> = (0..20).map(|i| i % 10).collect();
    let (x, y) = (
        whole.sample(20, Some(&classes), 9).unwrap(),
        resumed.sample(20, Some(&classes), 9).unwrap(),
    );
    assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()));
    if c.g_ema.is_some() {
        let ema =
            |t: &ImageTrainer<Be>| t.sample_from(GChoice::Ema, 20, Some(&classes), 9).unwrap();
        let (x_ema, y_ema) = (ema(&whole), ema(&resumed));
        assert!(x_ema.iter().zip(&y_ema).all(|(p, q)| p.to_bits() == q.to_bits()));
        // The EMA G is not G: the average is in the state compared.
        assert_ne!(x_ema, x);
    }
    // Not vacuous: a run stopped early is not in the same state.
    let mut short = fresh(&c, &s);
    train_to(&mut short, 59);
    assert_ne!(state_bits(&short)[3..], a[3..]);
}

#[test]
fn damaged_or_foreign_image_checkpoints_are_refused() {
    let s = datasets::digits().unwrap();
    let c = config(10);
    let mut t = fresh(&c, &s);
    train_to(&mut t, 4);
    let tmp = scratch("damaged");
    let dir = tmp.path();
    let path = dir.join("checkpoint.safetensors");
    checkpoint::save_image(&t, &DataId::of(&s), &path).unwrap();
    let upload = |c: &ImageConfig| {
        ImageData::upload(&Be::new(), c, &s.train.images, &s.train.labels, usize::MAX).unwrap()
    };

    // A flipped bit in the last tensor's data: the checksum catches it.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x10;
    let bad = dir.join("flipped.safetensors");
    std::fs::write(&bad, &bytes).unwrap();
    let err = checkpoint::load_image(Be::new(), &bad, upload(&c), &DataId::of(&s))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("checksum") || err.contains("NaN"), "{err}");
    assert!(err.contains("flipped.safetensors"), "{err}");

    // A 1-D checkpoint is not an image one, and the other way round.
    let one_d = dir.join("one_d.safetensors");
    let mut cfg = minimax_gan::Config::preset(minimax_gan::Preset::Default);
    cfg.steps = 2;
    let mut tr = minimax_gan::Trainer::new(Be::new(), cfg).unwrap();
    tr.run(&RunOptions::default(), |_| {}).unwrap();
    checkpoint::save(&tr, &one_d).unwrap();
    let err = checkpoint::read_image_config(&one_d).err().unwrap().to_string();
    assert!(err.contains("minimax-image-gan-checkpoint"), "{err}");
    let err = checkpoint::load(Be::new(), &path).err().unwrap().to_string();
    assert!(err.contains("not a minimax GAN checkpoint"), "{err}");

    // Truncated.
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &std::fs::read(&path).unwrap()[..100]).unwrap();
    let err = checkpoint::read_image_config(&cut).err().unwrap().to_string();
    assert!(err.contains("not a valid safetensors file"), "{err}");
}

#[test]
fn the_classifier_cache_loads_back_exactly_and_only_for_its_data_and_config() {
    let s = datasets::digits().unwrap();
    let be = Be::new();
    let cc = ClassifierConfig { hidden: vec![32], epochs: 2, batch: 32, lr: 1e-3, seed: 3 };
    let clf = Classifier::train(&be, 64, 10, &s.train.images, &s.train.labels, &cc).unwrap();
    let acc = clf.accuracy(&be, &s.test.images, &s.test.labels).unwrap();
    let tmp = scratch("classifier");
    let dir = tmp.path();
    let path = dir.join("clf.safetensors");
    let fp = s.fingerprint();
    checkpoint::save_classifier(&be, &clf, &cc, fp, acc, &path).unwrap();

    let (back, back_acc) = checkpoint::load_classifier(&be, &path, &cc, fp, 64, 10).unwrap();
    assert_eq!(back_acc, acc);
    let (p, q) =
        (clf.predict(&be, &s.test.images).unwrap(), back.predict(&be, &s.test.images).unwrap());
    assert_eq!(p, q);

    let err =
        checkpoint::load_classifier(&be, &path, &cc, fp ^ 1, 64, 10).err().unwrap().to_string();
    assert!(err.contains("fingerprint"), "{err}");
    let other = ClassifierConfig { epochs: 3, ..cc.clone() };
    let err =
        checkpoint::load_classifier(&be, &path, &other, fp, 64, 10).err().unwrap().to_string();
    assert!(err.contains("trained with"), "{err}");
}

/// `bytes` with the first occurrence of `from` in its header (the JSON
/// before the tensors) replaced by `to`, of the same length.
fn edited_header(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    assert!(header.contains(from), "{from:?} in {header}");
    let mut out = bytes.to_vec();
    let at = 8 + header.find(from).unwrap();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

/// README, "What we promise", header integrity: the checksum covers the
/// metadata as well as the tensors, so a run's step, a learning rate or β₁
/// changed in the header is refused, naming the file. (Before, only the
/// tensors' bytes were summed, and each of these loaded silently into
/// another run.)
#[test]
fn header_integrity_a_changed_step_learning_rate_or_beta1_is_refused() {
    let s = datasets::digits().unwrap();
    let c = config(10);
    let mut t = fresh(&c, &s);
    train_to(&mut t, 4);
    let tmp = scratch("header");
    let dir = tmp.path();
    let path = dir.join("checkpoint.safetensors");
    checkpoint::save_image(&t, &DataId::of(&s), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let upload = |c: &ImageConfig| {
        ImageData::upload(&Be::new(), c, &s.train.images, &s.train.labels, usize::MAX).unwrap()
    };
    // The untouched file loads: the edits below are what is refused.
    checkpoint::load_image(Be::new(), &path, upload(&c), &DataId::of(&s)).unwrap();
    // The step against the optimizers' counters is its own check now.
    let edited = dir.join("edited.safetensors");
    std::fs::write(&edited, edited_header(&bytes, r#""step":"4""#, r#""step":"0""#)).unwrap();
    let err = checkpoint::load_image(Be::new(), &edited, upload(&c), &DataId::of(&s));
    let err = err.err().expect("step 4 -> 0 loaded").to_string();
    assert!(err.contains("edited.safetensors") && err.contains("step 0"), "{err}");
    for (from, to) in [
        (r#""generator_update_counts":"[4,"#, r#""generator_update_counts":"[3,"#),
        (r#"\"lr\":0.001"#, r#"\"lr\":0.003"#),
        (r#"\"beta1\":0.5,"#, r#"\"beta1\":0.4,"#),
    ] {
        let edited = dir.join("edited.safetensors");
        let changed = edited_header(&bytes, from, to);
        std::fs::write(&edited, changed).unwrap();
        let err = checkpoint::load_image(Be::new(), &edited, upload(&c), &DataId::of(&s)).err();
        let err = err.unwrap_or_else(|| panic!("{from} -> {to} loaded")).to_string();
        assert!(err.contains("checksum"), "{from} -> {to}: {err}");
        assert!(err.contains("edited.safetensors"), "{err}");
    }
    // A file of version 2, whose checksum left the metadata out, is refused
    // saying so (see `checkpoint::VERSION`).
    let old = dir.join("old.safetensors");
    std::fs::write(&old, edited_header(&bytes, r#""version":"3""#, r#""version":"2""#)).unwrap();
    let err = checkpoint::load_image(Be::new(), &old, upload(&c), &DataId::of(&s))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("version \"2\"") && err.contains("not the metadata"), "{err}");
}

/// Checkpoints of two identical runs are the same bytes (the metadata was
/// written in a hash map's random order, so they differed).
#[test]
fn checkpoints_of_two_identical_runs_are_byte_identical() {
    let s = datasets::digits().unwrap();
    let c = config(10);
    let tmp = scratch("identical");
    let dir = tmp.path();
    let files: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            let mut t = fresh(&c, &s);
            train_to(&mut t, 3);
            let path = dir.join(format!("run{i}.safetensors"));
            checkpoint::save_image(&t, &DataId::of(&s), &path).unwrap();
            std::fs::read(&path).unwrap()
        })
        .collect();
    assert!(files[0] == files[1], "two identical runs wrote different checkpoints");
}

/// README, "What we promise", data fingerprint: an image checkpoint records
/// its data set, and a resume on other data (here the digits with one pixel
/// changed, the same shape and classes) is refused, naming both data sets
/// and both fingerprints. (Before, a digits run resumed on random noise of
/// the same shape trained on with exit 0.)
#[test]
fn data_fingerprint_a_resume_on_other_data_is_refused_naming_both() {
    let s = datasets::digits().unwrap();
    let mut other = s.clone();
    other.name = "other-digits".into();
    other.train.images = other.train.images.map_bytes(|b| b[100] = (b[100] + 1) % 17);
    assert_ne!(s.fingerprint(), other.fingerprint());
    let c = config(10);
    let mut t = fresh(&c, &s);
    train_to(&mut t, 2);
    let tmp = scratch("fingerprint");
    let dir = tmp.path();
    let path = dir.join("checkpoint.safetensors");
    checkpoint::save_image(&t, &DataId::of(&s), &path).unwrap();
    let upload = |d: &Splits| {
        ImageData::upload(&Be::new(), &c, &d.train.images, &d.train.labels, usize::MAX).unwrap()
    };
    let err = checkpoint::load_image(Be::new(), &path, upload(&other), &DataId::of(&other));
    let err = err.err().expect("a resume on other data loaded").to_string();
    let names = ["digits".to_string(), "other-digits".to_string()];
    for needle in [s.fingerprint_hex(), other.fingerprint_hex()].iter().chain(&names) {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    assert!(err.contains("checkpoint.safetensors"), "{err}");
    // On its own data it loads.
    let back = checkpoint::load_image(Be::new(), &path, upload(&s), &DataId::of(&s)).unwrap();
    assert_eq!(back.step(), 2);
}

/// `t` with G's running statistic `name` set to `value` everywhere.
fn poison_running(t: &mut ImageTrainer<Be>, name: &str, value: f32) {
    let be = *t.backend();
    let (_, _, running, _, _) = t.parts_mut();
    let p = running.iter_mut().find(|p| p.name == name).expect("a running statistic");
    let shape = p.tensor.shape();
    p.tensor = be.upload(shape, &vec![value; shape.numel()]).unwrap();
}

/// README, "What we promise", domains: a checkpoint is refused when a
/// tensor is outside its domain (a negative batch-norm running variance,
/// a negative Adam second moment) or its counters contradict its step.
/// (A negative running variance loaded, and the resumed run's samples were
/// 80% NaN; generator_steps = 5 at step 1000 loaded.)
#[test]
fn domains_a_negative_running_variance_adam_v_or_wrong_counters_are_refused() {
    let s = datasets::digits().unwrap();
    let c = config(10);
    let tmp = scratch("domains");
    let dir = tmp.path();
    let upload =
        || ImageData::upload(&Be::new(), &c, &s.train.images, &s.train.labels, usize::MAX).unwrap();
    let refused = |t: &ImageTrainer<Be>, file: &str| -> String {
        let path = dir.join(file);
        checkpoint::save_image(t, &DataId::of(&s), &path).unwrap();
        let err = checkpoint::load_image(Be::new(), &path, upload(), &DataId::of(&s)).err();
        let err = err.unwrap_or_else(|| panic!("{file} loaded")).to_string();
        assert!(err.contains(file), "{err}");
        err
    };

    let mut t = fresh(&c, &s);
    train_to(&mut t, 3);
    poison_running(&mut t, "layer1.running_var", -2.0);
    let err = refused(&t, "variance.safetensors");
    assert!(err.contains("generator_running.layer1.running_var") && err.contains("-2"), "{err}");

    let mut t = fresh(&c, &s);
    train_to(&mut t, 3);
    let be = *t.backend();
    let (g_params, _, _, g_opt, _) = t.parts_mut();
    let (steps, counts) = (g_opt.steps(), g_opt.update_counts().to_vec());
    let state: Vec<(String, Vec<f32>)> =
        g_opt.state(g_params).into_iter().map(|(n, t)| (n, be.download(&t).unwrap())).collect();
    g_opt
        .load_state(g_params, steps, &counts, |n, shape| {
            let mut v = state.iter().find(|(m, _)| m == n).unwrap().1.clone();
            if n == "layer0.bias.v" {
                v[3] = -1e-3;
            }
            Ok(be.upload(shape, &v).unwrap())
        })
        .unwrap();
    let err = refused(&t, "adam.safetensors");
    assert!(err.contains("generator_optimizer.layer0.bias.v"), "{err}");

    // G updates once a step and D d_steps times: counts behind the step.
    let mut t = fresh(&c, &s);
    train_to(&mut t, 3);
    t.set_step(9);
    let err = refused(&t, "counters.safetensors");
    assert!(err.contains("generator_steps = 3") && err.contains("step 9"), "{err}");
}

/// README, "What we promise", domains: divergence in G's running statistics
/// (which training itself never reads: only G's pictures in evaluation mode
/// do) stops the run, naming the step and the tensor. (Before, a NaN there
/// trained on to "goal met".)
#[test]
fn domains_divergence_in_the_running_statistics_stops_the_run() {
    let s = datasets::digits().unwrap();
    let c = config(10);
    for value in [f32::NAN, -1e30] {
        let mut t = fresh(&c, &s);
        train_to(&mut t, 2);
        poison_running(&mut t, "layer1.running_var", value);
        let opts = RunOptions { log_every: 1, ..RunOptions::default() };
        let err = run_with(&mut t, 5, &opts, &mut NoHooks).err();
        let err = err.unwrap_or_else(|| panic!("running_var {value} trained on")).to_string();
        assert!(err.contains("step 3") && err.contains("running_var"), "{value}: {err}");
    }
}

/// README, "What we promise", domains: a config (a checkpoint's, or one
/// built in code) with more classes than a byte label can name or a
/// million D-steps a step is refused, naming the field: 2^64 − 22 classes
/// wrapped the expected shapes, and d_steps = 1000000 hung the run.
#[test]
fn domains_a_config_with_huge_classes_or_d_steps_is_refused() {
    let mut c = config(10);
    c.classes = usize::MAX - 21;
    let err = c.validate().unwrap_err();
    assert!(err.contains("classes") && err.contains("256"), "{err}");
    let mut c = config(10);
    c.d_steps = 1_000_000;
    let err = c.validate().unwrap_err();
    assert!(err.contains("D-steps") && err.contains("1000000"), "{err}");
    // The bounds themselves are accepted.
    let mut c = config(10);
    (c.classes, c.d_steps) = (256, 100);
    c.validate().unwrap();
}

/// A conditional DCGAN on 8×8 digits with few channels: strided
/// convolutions, BatchNorm2d in G and D.
fn dcgan_config() -> ImageConfig {
    let mut c = ImageConfig::preset(ImagePreset::Dcgan, 64, 10);
    (c.steps, c.seed, c.batch, c.conditional, c.latent_dim) = (12, 3, 8, true, 16);
    (c.g_hidden, c.d_hidden) = (vec![8, 4], vec![4, 8]);
    c
}

#[test]
fn a_resumed_dcgan_run_equals_an_uninterrupted_one_bit_for_bit() {
    let s = datasets::digits().unwrap();
    let c = dcgan_config();
    let mut whole = fresh(&c, &s);
    // D keeps running statistics (its BatchNorm2d), and they move.
    let d_var = |t: &ImageTrainer<Be>| {
        t.backend().download(&t.d_running().iter().nth(1).unwrap().tensor).unwrap()
    };
    assert_eq!(whole.d_running().len(), 2);
    let before = d_var(&whole);
    train_to(&mut whole, 12);
    assert_ne!(before, d_var(&whole), "D's running variance never moved");

    let tmp = scratch("dcgan-resume");
    let dir = tmp.path();
    let path = dir.join("checkpoint.safetensors");
    let mut first = fresh(&c, &s);
    train_to(&mut first, 5);
    checkpoint::save_image(&first, &DataId::of(&s), &path).unwrap();
    drop(first);
    assert_eq!(checkpoint::read_image_config(&path).unwrap(), c);
    let be = Be::new();
    let data = ImageData::upload(&be, &c, &s.train.images, &s.train.labels, 700).unwrap();
    let mut resumed = checkpoint::load_image(be, &path, data, &DataId::of(&s)).unwrap();
    train_to(&mut resumed, 12);

    let (a, b) = (state_bits(&whole), state_bits(&resumed));
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the resumed DCGAN run differs from the uninterrupted one");
    let classes: Vec<usize> = (0..10).collect();
    let (x, y) = (
        whole.sample(10, Some(&classes), 9).unwrap(),
        resumed.sample(10, Some(&classes), 9).unwrap(),
    );
    assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()));
    // Not vacuous: a run stopped one step early is not in the same state.
    let mut short = fresh(&c, &s);
    train_to(&mut short, 11);
    assert_ne!(state_bits(&short)[3..], a[3..]);
}
