//! The image GAN end to end on the shipped 8×8 digits, across the crates
//! (data from `minimax-io`, trainer and judges from `minimax-gan`):
//!
//! - a short run is deterministic bit for bit on the CPU (parameters,
//!   running statistics, and G's pictures);
//! - the classifier the engine trains tells the digits apart far above
//!   chance on the test split;
//! - the conditional GAN draws the class it is asked for: the classifier
//!   agrees with the requested class far above chance (10%).

use minimax::autodiff::Backend;
use minimax::cpu::Cpu;
use minimax::gan::image::classifier::ClassifierConfig;
use minimax::gan::image::{Classifier, ImageConfig, ImageData, ImagePreset, ImageTrainer};
use minimax::gan::run::{run_with, RunHooks};
use minimax::gan::{judge, RunOptions};
use minimax::io::datasets::{self, Splits};

type Be = Cpu<f32>;

struct Quiet;
impl RunHooks<ImageTrainer<Be>> for Quiet {}

fn trained(c: &ImageConfig, s: &Splits) -> ImageTrainer<Be> {
    let be = Be::new();
    let data = ImageData::upload(&be, c, &s.train.images, &s.train.labels, usize::MAX).unwrap();
    let mut t = ImageTrainer::new(be, c.clone(), data).unwrap();
    run_with(&mut t, c.steps, &RunOptions::default(), &mut Quiet).unwrap();
    t
}

/// Every bit of G's and D's parameters and G's running statistics.
fn bits(t: &ImageTrainer<Be>) -> Vec<u32> {
    let (g, d, running) = t.stores();
    let mut out = Vec::new();
    for store in [g, d, running] {
        for p in store.iter() {
            out.extend(t.backend().download(&p.tensor).unwrap().iter().map(|x| x.to_bits()));
        }
    }
    out
}

#[test]
fn a_short_digits_run_is_deterministic_bit_for_bit() {
    let s = datasets::digits().unwrap();
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    c.steps = 200;
    c.seed = 3;
    let (a, b) = (trained(&c, &s), trained(&c, &s));
    assert!(bits(&a) == bits(&b), "two equal runs differ");
    let (x, y) = (a.sample(50, None, 1).unwrap(), b.sample(50, None, 1).unwrap());
    assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()));
    assert!(x.iter().all(|v| v.is_finite() && (-1.0..=1.0).contains(v)));
    // G along a line of noise: one image per point, the ends differ, and
    // a length that is not whole rows of noise is refused.
    let latent = c.latent_dim;
    let line: Vec<f32> =
        (0..3 * latent).map(|i| (i / latent) as f32 - 1.0 + (i % latent) as f32 * 0.01).collect();
    let strip = a.sample_z(&line, &[]).unwrap();
    assert_eq!(strip.len(), 3 * 64);
    assert!(strip[..64] != strip[128..]);
    assert_eq!(strip, b.sample_z(&line, &[]).unwrap());
    assert!(a.sample_z(&line[1..], &[]).is_err());
    // Not vacuous: another seed gives another run.
    c.seed = 4;
    assert!(bits(&trained(&c, &s)) != bits(&a));
}

#[test]
fn the_classifier_and_the_conditional_gan_work() {
    let s = datasets::digits().unwrap();
    let be = Be::new();
    let cc = ClassifierConfig::for_pixels(64);
    let clf = Classifier::train(&be, 64, 10, &s.train.images, &s.train.labels, &cc).unwrap();
    let accuracy = clf.accuracy(&be, &s.test.images, &s.test.labels).unwrap();
    println!("classifier test accuracy {accuracy:.3}");
    assert!(accuracy > 0.85, "classifier test accuracy {accuracy}");

    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    c.conditional = true;
    c.steps = 1500;
    let t = trained(&c, &s);
    let asked: Vec<usize> = (0..500).map(|i| i % 10).collect();
    let x = t.sample(500, Some(&asked), 11).unwrap();
    let p = clf.predict(&be, &x).unwrap();
    let cond = judge::conditional_accuracy(&asked, &p.predicted, 10).unwrap();
    println!("conditional accuracy after {} steps: {:.3}", c.steps, cond.overall);
    assert!(cond.overall > 0.8, "conditional accuracy {}", cond.overall);
    // The same noise for another class is another picture.
    let other: Vec<usize> = asked.iter().map(|k| (k + 1) % 10).collect();
    let y = t.sample(500, Some(&other), 11).unwrap();
    let q = clf.predict(&be, &y).unwrap();
    let moved = judge::conditional_accuracy(&other, &q.predicted, 10).unwrap();
    assert!(moved.overall > 0.8, "asked for the next class: {}", moved.overall);
}

/// The image trainer on the GPU backend (the training set resident in two
/// chunks, batches gathered on the device) tracks the CPU run: same
/// initial parameters, same batches, and after a few Adam steps the same
/// parameters up to f32 rounding; a step reads nothing back. Skipped (with
/// a printed line) without a GPU adapter unless `MINIMAX_REQUIRE_GPU=1`.
#[cfg(feature = "gpu")]
#[test]
fn the_image_trainer_on_the_gpu_tracks_the_cpu_one() {
    let name = "the_image_trainer_on_the_gpu_tracks_the_cpu_one";
    let Some(gpu) = minimax::wgsl::testing::gpu_or_skip(name) else { return };
    let s = datasets::digits().unwrap();
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    c.conditional = true;
    c.steps = 6;
    let (images, labels) = (&s.train.images, &s.train.labels);
    let data = ImageData::upload(&gpu, &c, images, labels, 800).unwrap();
    let mut on_gpu = ImageTrainer::new(gpu.clone(), c.clone(), data).unwrap();
    let cpu = Be::new();
    let data = ImageData::upload(&cpu, &c, images, labels, 800).unwrap();
    let mut on_cpu = ImageTrainer::new(cpu, c.clone(), data).unwrap();
    // The bias of a layer followed by batch norm gets a gradient that is
    // zero in exact arithmetic (the norm subtracts it again): rounding noise
    // of ~1e-9, which Adam's first steps scale up to ±lr on either device.
    // It changes nothing downstream, so it is left out of the comparison.
    let (g, _) = on_cpu.nets();
    let cancelled: Vec<String> = g
        .layers()
        .filter(|(_, layer)| matches!(layer, minimax::nn::LayerKind::BatchNorm(_)))
        .map(|(block, _)| format!("layer{block}.bias"))
        .collect();
    let worst = |a: &ImageTrainer<minimax::wgsl::Wgpu>, b: &ImageTrainer<Be>| {
        let (ga, da, ra) = a.stores();
        let (gb, db, rb) = b.stores();
        let mut w = 0.0f64;
        for (x, y) in [(ga, gb), (da, db), (ra, rb)] {
            for (p, q) in x.iter().zip(y.iter()) {
                if std::ptr::eq(x, ga) && cancelled.contains(&p.name) {
                    continue;
                }
                let u = a.backend().download(&p.tensor).unwrap();
                let v = b.backend().download(&q.tensor).unwrap();
                for (u, v) in u.iter().zip(&v) {
                    w = w.max((*u as f64 - *v as f64).abs());
                }
            }
        }
        w
    };
    assert!(worst(&on_gpu, &on_cpu) < 1e-6);
    train_both(&gpu, &mut on_gpu, &mut on_cpu, c.steps);
    let end = worst(&on_gpu, &on_cpu);
    let asked: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let x = on_gpu.sample(100, Some(&asked), 3).unwrap();
    let y = on_cpu.sample(100, Some(&asked), 3).unwrap();
    let pictures = x.iter().zip(&y).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max);
    eprintln!("G's pictures differ by at most {pictures:e}");
    // Measured on lavapipe: 4.1e-4 for the parameters (Adam's steps of
    // lr = 1e-3 turn f32 rounding in small gradients into parts of a step)
    // and 4.4e-4 for the pictures, whose pixels span [-1, 1].
    assert!(pictures < 5e-3, "G's pictures differ by {pictures} after {} steps", c.steps);
    eprintln!("after {} steps the runs differ by {end:e}", c.steps);
    assert!(end < 1e-3, "after {} steps the GPU and CPU runs differ by {end}", c.steps);
}

/// The image GAN plays every game of Algorithm 1, Wasserstein included:
/// after a step, every critic weight lies in `±clip` (the clipping ran),
/// and with a learning-rate decay the optimizers' rates follow the
/// schedule (`LrDecay::factor`), as in the 1-D trainer: the same step
/// function trains both.
#[test]
fn the_image_gan_plays_wasserstein_with_clipping_and_a_rate_schedule() {
    use minimax::gan::GanLoss;
    use minimax::nn::LrDecay;
    let s = datasets::digits().unwrap();
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    (c.steps, c.loss, c.clip) = (20, GanLoss::Wasserstein, 0.005);
    c.lr_decay = Some(LrDecay { start: 0.5, to: 0.1 });
    let t = trained(&c, &s);
    let (_, d, _) = t.stores();
    for p in d.iter() {
        let most =
            t.backend().download(&p.tensor).unwrap().iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(most <= 0.005, "critic {} reaches {most}, past the clip 0.005", p.name);
    }
    // The last step, 19 of 20, ran at the factor `to`.
    let factor = c.lr_decay.unwrap().factor(19, 20);
    assert!((factor - 0.1).abs() < 1e-12, "{factor}");
    let (g_opt, d_opt) = t.optimizers();
    assert_eq!(d_opt.config().lr(), c.d_optimizer.lr() * factor);
    assert_eq!(g_opt.config().lr(), c.g_optimizer.lr() * factor);
    assert!(t.sample(20, None, 1).unwrap().iter().all(|v| v.is_finite()));
    // Label smoothing has no meaning for a critic: refused, named.
    c.real_label = 0.9;
    let data = ImageData::upload(&Be::new(), &c, &s.train.images, &s.train.labels, 64).unwrap();
    let err = ImageTrainer::new(Be::new(), c, data).err().expect("refused").to_string();
    assert!(err.contains("label smoothing"), "{err}");
}

/// The EMA of G's weights on the GPU: one EMA step on awkward shapes gives
/// the CPU's values (two products and a sum, each rounded once on either
/// device), and a trainer with `g_ema` keeps an EMA that tracks the CPU
/// run's, reading nothing back in a step. Skipped (with a printed line)
/// without a GPU adapter unless `MINIMAX_REQUIRE_GPU=1`.
#[cfg(feature = "gpu")]
#[test]
fn the_ema_of_g_on_the_gpu_tracks_the_cpu_one() {
    use minimax::autodiff::{Dist, Shape};
    use minimax::gan::image::ema::ema_step;
    use minimax::gan::image::GChoice;
    let name = "the_ema_of_g_on_the_gpu_tracks_the_cpu_one";
    let Some(gpu) = minimax::wgsl::testing::gpu_or_skip(name) else { return };
    let cpu = Be::new();
    for (rows, cols) in [(1, 1), (1, 7), (7, 63), (64, 65), (257, 3), (65, 257)] {
        let s = Shape::new(rows, cols);
        let normal = Dist::Normal { mean: 0.0, std: 1.0 };
        let (e, t) = (cpu.random(s, normal, 1), cpu.random(s, normal, 2));
        let (e_host, t_host) = (cpu.download(&e).unwrap(), cpu.download(&t).unwrap());
        let beta = 0.999;
        let want = ema_step(
            &cpu,
            &cpu.fill(Shape::scalar(), beta),
            &cpu.fill(Shape::scalar(), 1.0 - beta),
            &e,
            &t,
        )
        .unwrap();
        let got = ema_step(
            &gpu,
            &gpu.fill(Shape::scalar(), beta),
            &gpu.fill(Shape::scalar(), 1.0 - beta),
            &gpu.upload(s, &e_host).unwrap(),
            &gpu.upload(s, &t_host).unwrap(),
        )
        .unwrap();
        let (w, g) = (cpu.download(&want).unwrap(), gpu.download(&got).unwrap());
        let worst = w.iter().zip(&g).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst <= 1e-6, "[{rows}, {cols}]: the GPU's EMA step is off by {worst}");
    }

    let s = datasets::digits().unwrap();
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    c.steps = 6;
    c.g_ema = Some(0.9);
    let (images, labels) = (&s.train.images, &s.train.labels);
    let data = ImageData::upload(&gpu, &c, images, labels, 800).unwrap();
    let mut on_gpu = ImageTrainer::new(gpu.clone(), c.clone(), data).unwrap();
    let data = ImageData::upload(&cpu, &c, images, labels, 800).unwrap();
    let mut on_cpu = ImageTrainer::new(cpu, c.clone(), data).unwrap();
    train_both(&gpu, &mut on_gpu, &mut on_cpu, c.steps);
    let asked: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let x = on_gpu.sample_from(GChoice::Ema, 100, Some(&asked), 3).unwrap();
    let y = on_cpu.sample_from(GChoice::Ema, 100, Some(&asked), 3).unwrap();
    let pictures = x.iter().zip(&y).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max);
    eprintln!("the EMA G's pictures differ by at most {pictures:e}");
    assert!(pictures < 5e-3, "the EMA G's pictures differ by {pictures} after {} steps", c.steps);
    // Not vacuous: the EMA G is not the raw G.
    let raw = on_gpu.sample(100, Some(&asked), 3).unwrap();
    assert!(raw.iter().zip(&x).any(|(u, v)| (u - v).abs() > 1e-3));
}

/// `steps` training steps on both trainers, side by side; the GPU's first
/// one must read nothing back.
fn train_both(
    gpu: &minimax::wgsl::Wgpu,
    on_gpu: &mut ImageTrainer<minimax::wgsl::Wgpu>,
    on_cpu: &mut ImageTrainer<Be>,
    steps: u64,
) {
    gpu.reset_stats();
    on_gpu.train_step().unwrap();
    let stats = gpu.stats();
    assert_eq!((stats.readbacks, stats.readback_bytes), (0, 0), "{stats}");
    on_cpu.train_step().unwrap();
    for _ in 1..steps {
        on_gpu.train_step().unwrap();
        on_cpu.train_step().unwrap();
    }
}
