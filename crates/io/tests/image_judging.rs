//! The tools for long image GAN runs, on the shipped digits:
//!
//! - the EMA of G's weights (`g_ema`) follows its formula step by step,
//!   never changes training, and at β = 0 is G itself;
//! - judging every N steps keeps the G of the lowest Fréchet distance
//!   (raw or EMA), and its file (`best.safetensors`) reloads to the same G,
//!   and is refused when damaged;
//! - G's samples exported as `.npy` read back with their shape, dtype and
//!   values (and, where python3 has numpy, numpy agrees).

use minimax_autodiff::{Backend, Real, TensorShape};
use minimax_cpu::Cpu;
use minimax_gan::frechet::Gaussian;
use minimax_gan::image::classifier::ClassifierConfig;
use minimax_gan::image::judging::{Judge, PeriodicJudge};
use minimax_gan::image::{Classifier, GChoice, ImageConfig, ImageData, ImagePreset, ImageTrainer};
use minimax_gan::run::{run_with, RunHooks};
use minimax_gan::RunOptions;
use minimax_io::checkpoint::{self, DataId};
use minimax_io::datasets::{self, Splits};
use minimax_io::npy;

type Be = Cpu<f32>;

/// A scratch folder, removed when dropped (even when the test fails).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("minimax-judging-{name}-")).tempdir().unwrap()
}

fn config(steps: u64, g_ema: Option<f64>) -> ImageConfig {
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    c.steps = steps;
    c.seed = 3;
    c.batch = 32;
    c.g_ema = g_ema;
    c
}

fn fresh(c: &ImageConfig, s: &Splits) -> ImageTrainer<Be> {
    let be = Be::new();
    let data = ImageData::upload(&be, c, &s.train.images, &s.train.labels, usize::MAX).unwrap();
    ImageTrainer::new(be, c.clone(), data).unwrap()
}

struct NoHooks;
impl RunHooks<ImageTrainer<Be>> for NoHooks {}

fn train_to(t: &mut ImageTrainer<Be>, stop: u64) {
    run_with(t, stop, &RunOptions::default(), &mut NoHooks).unwrap();
}

/// G's parameters then running statistics, raw or EMA, as f64.
fn g_values(t: &ImageTrainer<Be>, which: GChoice) -> Vec<f64> {
    let be = t.backend();
    let (params, running) = match which {
        GChoice::Raw => (t.stores().0, t.stores().2),
        GChoice::Ema => {
            let w = &t.ema().unwrap().weights;
            (&w.params, &w.running)
        }
    };
    params
        .iter()
        .chain(running.iter())
        .flat_map(|p| be.download(&p.tensor).unwrap())
        .map(|v| v.to_f64())
        .collect()
}

/// After each step the EMA is `β·ema + (1-β)·θ` of the G that step left,
/// computed here on the host in f64 from G's downloaded weights (starting
/// from G's initial weights); the f32 EMA agrees to rounding. Training is
/// the same bits with or without the EMA, and at β = 0 the EMA is G.
#[test]
fn the_ema_of_g_follows_its_formula_and_never_changes_training() {
    let s = datasets::digits().unwrap();
    let beta = 0.9;
    let mut with = fresh(&config(6, Some(beta)), &s);
    let mut host = g_values(&with, GChoice::Raw);
    assert_eq!(g_values(&with, GChoice::Ema), host, "the EMA starts as a copy of G");
    for step in 1..=6 {
        train_to(&mut with, step);
        let theta = g_values(&with, GChoice::Raw);
        host.iter_mut().zip(&theta).for_each(|(e, t)| *e = beta * *e + (1.0 - beta) * t);
        let ema = g_values(&with, GChoice::Ema);
        let worst =
            ema.iter().zip(&host).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0.0, f64::max);
        assert!(worst < 1e-5, "step {step}: the EMA is off its formula by {worst}");
        // Not vacuous: the EMA has left G behind.
        assert!(ema.iter().zip(&theta).any(|(a, b)| (a - b).abs() > 1e-4));
    }
    let mut without = fresh(&config(6, None), &s);
    train_to(&mut without, 6);
    let bits = |t: &ImageTrainer<Be>| {
        let (g, d, r) = t.stores();
        [g, d, r]
            .iter()
            .flat_map(|st| st.iter().flat_map(|p| t.backend().download(&p.tensor).unwrap()))
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    };
    assert!(bits(&with) == bits(&without), "the EMA changed training");

    let mut zero = fresh(&config(4, Some(0.0)), &s);
    train_to(&mut zero, 4);
    assert_eq!(g_values(&zero, GChoice::Ema), g_values(&zero, GChoice::Raw));
    // A run without an EMA says so when one is asked for.
    let err = without.sample_from(GChoice::Ema, 2, None, 0).err().unwrap().to_string();
    assert!(err.contains("--g-ema"), "{err}");
}

/// Judging every 100 of 400 steps, raw and EMA: the best kept is the
/// curve's lowest Fréchet distance (the first of equal ones); its copy
/// draws the samples it was judged on (judged anew: the same figures, later
/// training notwithstanding); `best.safetensors` reloads to the same G, bit
/// for bit, and is refused when a byte of it changes.
#[test]
fn judging_every_n_steps_keeps_the_best_g_and_its_file_reloads() {
    let s = datasets::digits().unwrap();
    let cpu = Be::new();
    let cc = ClassifierConfig { hidden: vec![32], epochs: 3, batch: 32, lr: 1e-3, seed: 3 };
    let clf = Classifier::train(&cpu, 64, 10, &s.train.images, &s.train.labels, &cc).unwrap();
    let real_test = clf.predict(&cpu, &s.test.images).unwrap();
    let judge = Judge {
        classifier: &clf,
        backend: &cpu,
        real: Gaussian::fit(&real_test.features, real_test.feature_dim).unwrap(),
        real_frequencies: s.train.class_frequencies(),
        classes: 10,
        samples: 300,
        seed: 7,
    };
    let c = config(400, Some(0.95));
    let mut t = fresh(&c, &s);
    let mut periodic = PeriodicJudge::default();
    let (tmp, data) = (scratch("best"), DataId::of(&s));
    let dir = tmp.path();
    let path = dir.join(checkpoint::BEST_FILE_NAME);
    let mut saves = 0;
    for stop in [100, 200, 300, 400] {
        train_to(&mut t, stop);
        if periodic.judge(&judge, &t).unwrap() {
            let b = &periodic.best.as_ref().unwrap();
            let j = &b.judgement;
            checkpoint::save_generator(
                t.backend(),
                t.config(),
                &b.weights,
                j.g,
                j.step,
                Some(j.frechet_distance),
                &data,
                &path,
            )
            .unwrap();
            saves += 1;
        }
    }
    let curve = &periodic.curve;
    assert_eq!(curve.len(), 8, "raw and EMA at each of 4 steps");
    let steps: Vec<(u64, GChoice)> = curve.iter().map(|j| (j.step, j.g)).collect();
    assert_eq!(steps[..2], [(100, GChoice::Raw), (100, GChoice::Ema)]);
    let lowest = curve.iter().map(|j| j.frechet_distance).fold(f64::INFINITY, f64::min);
    let first = curve.iter().find(|j| j.frechet_distance == lowest).unwrap();
    let best = periodic.best.as_ref().unwrap();
    assert_eq!((best.judgement.step, best.judgement.g), (first.step, first.g));
    assert!(saves >= 1);
    // The figures move over the run: picking is not vacuous.
    assert!(curve.iter().any(|j| j.frechet_distance > lowest * 1.05), "{:?}", curve);

    // The kept copy is the G that was judged, though G has trained on.
    let again = judge.judge_kept(&t, &best.weights, best.judgement.step, best.judgement.g).unwrap();
    assert_eq!(again, best.judgement);

    // The file: the same G, which one and its figure.
    let saved = checkpoint::load_generator(&Be::new(), &path).unwrap();
    assert_eq!((saved.step, saved.g), (best.judgement.step, best.judgement.g));
    assert_eq!(saved.frechet_distance, Some(best.judgement.frechet_distance));
    assert_eq!((saved.config.clone(), saved.data.clone()), (c.clone(), data.clone()));
    let classes: Vec<usize> = (0..50).map(|i| i % 10).collect();
    let x = t.sample_kept(&best.weights, 50, Some(&classes), 1).unwrap();
    let y = t.sample_kept(&saved.weights, 50, Some(&classes), 1).unwrap();
    assert!(x.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()));

    // A changed byte is refused, naming the file; so is another kind of file.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x04;
    let bad = dir.join("damaged.safetensors");
    std::fs::write(&bad, &bytes).unwrap();
    let err = checkpoint::load_generator(&Be::new(), &bad).err().unwrap().to_string();
    assert!(err.contains("damaged.safetensors") && err.contains("checksum"), "{err}");
    let ckpt = dir.join("checkpoint.safetensors");
    checkpoint::save_image(&t, &data, &ckpt).unwrap();
    let err = checkpoint::load_generator(&Be::new(), &ckpt).err().unwrap().to_string();
    assert!(err.contains("minimax-image-generator"), "{err}");

    // Whole or nothing: weights holding a NaN are not saved, and the
    // earlier file stays as it was.
    let before = std::fs::read(&path).unwrap();
    let mut poisoned = t.copy_weights(GChoice::Raw).unwrap();
    let p = poisoned.params.iter_mut().next().unwrap();
    let shape = p.tensor.shape();
    p.tensor = t.backend().upload(shape, &vec![f32::NAN; shape.rows * shape.cols]).unwrap();
    let err = checkpoint::save_generator(
        t.backend(),
        &c,
        &poisoned,
        GChoice::Raw,
        400,
        None,
        &data,
        &path,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("NaN"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// G's samples as `.npy`: `float32 [n, 8, 8]` with G's values bit for bit,
/// labels `int64 [n]`; numpy (if python3 has it) reads the same.
#[test]
fn exported_samples_read_back_with_their_shape_dtype_and_values() {
    let s = datasets::digits().unwrap();
    let mut c = config(20, None);
    c.conditional = true;
    let mut t = fresh(&c, &s);
    train_to(&mut t, 20);
    let n = 37;
    let asked: Vec<usize> = (0..n).map(|i| (i * 3) % 10).collect();
    let images = t.sample(n, Some(&asked), 11).unwrap();
    let tmp = scratch("npy");
    let dir = tmp.path();
    let (img_path, lab_path) = (dir.join("samples.npy"), dir.join("labels.npy"));
    npy::save_images(&img_path, &images, 8, 8).unwrap();
    npy::save_labels(&lab_path, &asked).unwrap();

    let back = npy::read(&img_path).unwrap();
    assert_eq!((back.shape.clone(), back.dtype.as_str()), (vec![n as u64, 8, 8], "<f4"));
    assert!(back.values.iter().zip(&images).all(|(a, b)| (*a as f32).to_bits() == b.to_bits()));
    let labels = npy::read(&lab_path).unwrap();
    assert_eq!((labels.shape.clone(), labels.dtype.as_str()), (vec![n as u64], "<i8"));
    assert_eq!(labels.values, asked.iter().map(|&l| l as f64).collect::<Vec<_>>());
    assert!(std::fs::read(&img_path).unwrap().starts_with(b"\x93NUMPY"));
    // Not images of 8×8: an error, and nothing written.
    let odd = dir.join("odd.npy");
    assert!(npy::save_images(&odd, &images[..65], 8, 8).is_err());
    assert!(!odd.exists());

    // numpy's own reading, where it is installed.
    let has_numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        println!("skipped the numpy check: python3 with numpy is not installed");
        return;
    }
    let sum: f64 = images.iter().map(|&v| v as f64).sum();
    let script = format!(
        "import numpy as np\n\
         x = np.load({:?}); y = np.load({:?})\n\
         assert x.shape == ({n}, 8, 8) and x.dtype == np.float32, (x.shape, x.dtype)\n\
         assert y.shape == ({n},) and y.dtype == np.int64, (y.shape, y.dtype)\n\
         assert abs(float(x.astype(np.float64).sum()) - {sum:?}) < 1e-9, x.sum()\n\
         assert list(y) == {:?}, list(y)\n",
        img_path.display().to_string(),
        lab_path.display().to_string(),
        asked
    );
    let out = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "numpy: {}", String::from_utf8_lossy(&out.stderr));
}
