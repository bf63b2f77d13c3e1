//! DCGAN's image checkpoints: a conditional DCGAN (strided convolutions,
//! BatchNorm2d in G *and* D) stopped, saved and resumed ends bit for bit
//! where the uninterrupted run ends, D's running statistics included. A
//! small DCGAN on the shipped 8×8 digits (sides 8 → 4 → 2), so the test is
//! quick on the reference-speed paths too.

use minimax_autodiff::Backend;
use minimax_cpu::Cpu;
use minimax_gan::image::{ImageConfig, ImageData, ImagePreset, ImageTrainer};
use minimax_gan::run::{run_with, RunHooks};
use minimax_gan::RunOptions;
use minimax_io::checkpoint::{self, DataId};
use minimax_io::datasets::{self, Splits};

type Be = Cpu<f32>;

/// A conditional DCGAN on 8×8 digits with few channels.
fn config() -> ImageConfig {
    let mut c = ImageConfig::preset(ImagePreset::Dcgan, 64, 10);
    (c.steps, c.seed, c.batch, c.conditional, c.latent_dim) = (12, 3, 8, true, 16);
    (c.g_hidden, c.d_hidden) = (vec![8, 4], vec![4, 8]);
    c
}

fn fresh(c: &ImageConfig, s: &Splits) -> ImageTrainer<Be> {
    let be = Be::new();
    let data = ImageData::upload(&be, c, &s.train.images, &s.train.labels, 200).unwrap();
    ImageTrainer::new(be, c.clone(), data).unwrap()
}

struct NoHooks;
impl RunHooks<ImageTrainer<Be>> for NoHooks {}

fn train_to(t: &mut ImageTrainer<Be>, stop: u64) {
    run_with(t, stop, &RunOptions { log_every: 5, ..RunOptions::default() }, &mut NoHooks).unwrap();
}

/// Every bit of the run's state, D's running statistics included.
fn state_bits(t: &ImageTrainer<Be>) -> Vec<u32> {
    let be = t.backend();
    let (g, d, g_running) = t.stores();
    let (g_opt, d_opt) = t.optimizers();
    let mut bits = vec![t.step() as u32, g_opt.steps(), d_opt.steps()];
    for store in [g, d, g_running, t.d_running()] {
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
fn a_resumed_dcgan_run_equals_an_uninterrupted_one_bit_for_bit() {
    let s = datasets::digits().unwrap();
    let c = config();
    let mut whole = fresh(&c, &s);
    // D keeps running statistics (its BatchNorm2d), and they move.
    assert_eq!(whole.d_running().len(), 2);
    let d_var_before =
        whole.backend().download(&whole.d_running().iter().nth(1).unwrap().tensor).unwrap();
    train_to(&mut whole, 12);
    let d_var_after =
        whole.backend().download(&whole.d_running().iter().nth(1).unwrap().tensor).unwrap();
    assert_ne!(d_var_before, d_var_after, "D's running variance never moved");

    let dir = std::env::temp_dir().join(format!("minimax-dcgan-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("checkpoint.safetensors");
    let mut first = fresh(&c, &s);
    train_to(&mut first, 5);
    checkpoint::save_image(&first, &DataId::of(&s), &path).unwrap();
    drop(first);
    let read = checkpoint::read_image_config(&path).unwrap();
    assert_eq!(read, c);
    let be = Be::new();
    let data = ImageData::upload(&be, &read, &s.train.images, &s.train.labels, 200).unwrap();
    let mut resumed = checkpoint::load_image(be, &path, data, &DataId::of(&s)).unwrap();
    train_to(&mut resumed, 12);
    let _ = std::fs::remove_dir_all(&dir);

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
