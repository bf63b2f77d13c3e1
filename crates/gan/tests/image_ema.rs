//! The EMA of G's weights (`image/ema.rs`) on tiny cases computed by hand,
//! on the reference and the tuned CPU backend; and the rule for the best G
//! of a run (`image/judging.rs`). The EMA in a training run (it never
//! changes training, β = 0 is G itself, it resumes bit for bit) is tested
//! in `crates/io/tests/image_resume.rs`, on the real digits; on the GPU in
//! `tests/image_gan.rs`.

use minimax_autodiff::{Backend, Reference, Shape};
use minimax_cpu::Cpu;
use minimax_gan::image::ema::{ema_step, GEma};
use minimax_gan::image::judging::beats;
use minimax_gan::image::{ImageConfig, ImagePreset};
use minimax_nn::ParamStore;

fn values<B: Backend>(be: &B, t: &B::Tensor) -> Vec<f64> {
    be.download(t).unwrap().iter().map(|v| minimax_autodiff::Real::to_f64(*v)).collect()
}

fn store<B: Backend>(be: &B, tensors: &[(&str, Shape, &[f64])]) -> ParamStore<B> {
    let mut s = ParamStore::new();
    for (name, shape, v) in tensors {
        let v: Vec<B::Elem> = v.iter().map(|&x| minimax_autodiff::Real::from_f64(x)).collect();
        s.push(*name, be.upload(*shape, &v).unwrap());
    }
    s
}

/// `β·ema + (1-β)·θ` with β = 0.75 (exact in binary, so is every result):
/// ema = [1, 2, -4], θ = [3, -2, 0] gives
/// [0.75 + 0.75, 1.5 - 0.5, -3 + 0] = [1.5, 1, -3].
fn one_step_by_hand<B: Backend>(be: B) {
    let s = Shape::new(1, 3);
    let ema = be.upload(s, &[1.0, 2.0, -4.0].map(minimax_autodiff::Real::from_f64)).unwrap();
    let theta = be.upload(s, &[3.0, -2.0, 0.0].map(minimax_autodiff::Real::from_f64)).unwrap();
    let (beta, rest) = (be.fill(Shape::scalar(), 0.75), be.fill(Shape::scalar(), 0.25));
    let out = ema_step(&be, &beta, &rest, &ema, &theta).unwrap();
    assert_eq!(values(&be, &out), [1.5, 1.0, -3.0]);
    // Shapes that differ are an error naming both.
    let other = be.fill(Shape::new(3, 1), 0.0);
    let err = ema_step(&be, &beta, &rest, &ema, &other).err().unwrap().to_string();
    assert!(err.contains("[1, 3]") && err.contains("[3, 1]"), "{err}");
}

#[test]
fn one_ema_step_computed_by_hand() {
    one_step_by_hand(Reference::<f64>::new());
    one_step_by_hand(Cpu::<f32>::new());
    one_step_by_hand(Cpu::<f64>::new());
}

/// [`GEma`] on a store of a weight and a running variance, β = 0.5, over
/// two updates, by hand: it starts as a copy of G, so
/// w: 2 → ½·2 + ½·4 = 3 → ½·3 + ½·(-1) = 1; var: 1 → ½ + ½·3 = 2 → ½·2 + ½·2 = 2.
/// And the copy is a copy: changing G's tensors afterwards leaves it alone.
fn two_updates_by_hand<B: Backend>(be: B) {
    let w = |v: f64| store(&be, &[("layer0.weight", Shape::new(1, 2), &[v, -v])]);
    let var = |v: f64| store(&be, &[("layer1.running_var", Shape::new(1, 1), &[v])]);
    let mut ema = GEma::new(&be, 0.5, &w(2.0), &var(1.0)).unwrap();
    assert_eq!(ema.beta(), 0.5);
    let read = |e: &GEma<B>| {
        let p = values(&be, &e.weights.params.iter().next().unwrap().tensor);
        let r = values(&be, &e.weights.running.iter().next().unwrap().tensor);
        (p, r)
    };
    assert_eq!(read(&ema), (vec![2.0, -2.0], vec![1.0]));
    ema.update(&be, &w(4.0), &var(3.0)).unwrap();
    assert_eq!(read(&ema), (vec![3.0, -3.0], vec![2.0]));
    ema.update(&be, &w(-1.0), &var(2.0)).unwrap();
    assert_eq!(read(&ema), (vec![1.0, -1.0], vec![2.0]));

    // A store of other names is refused, and nothing moves.
    let wrong = store(&be, &[("layer9.weight", Shape::new(1, 2), &[0.0, 0.0])]);
    let err = ema.update(&be, &wrong, &var(0.0)).err().unwrap().to_string();
    assert!(err.contains("layer9.weight"), "{err}");
    assert_eq!(read(&ema), (vec![1.0, -1.0], vec![2.0]));

    // β outside [0, 1) is refused.
    for beta in [1.0, -0.1, f64::NAN] {
        assert!(GEma::new(&be, beta, &w(0.0), &var(0.0)).is_err(), "β = {beta}");
    }
}

#[test]
fn two_ema_updates_computed_by_hand() {
    two_updates_by_hand(Reference::<f64>::new());
    two_updates_by_hand(Cpu::<f32>::new());
}

/// The config's `g_ema` is checked with every other field: 0 ≤ β < 1.
#[test]
fn a_config_with_an_ema_decay_out_of_range_is_refused() {
    let mut c = ImageConfig::preset(ImagePreset::Digits, 64, 10);
    for (beta, ok) in [(0.0, true), (0.999, true), (1.0, false), (1.5, false), (-0.5, false)] {
        c.g_ema = Some(beta);
        assert_eq!(c.validate().is_ok(), ok, "g_ema = {beta}: {:?}", c.validate());
    }
    c.g_ema = Some(f64::NAN);
    assert!(c.validate().unwrap_err().contains("EMA"));
    // A config without one serialises as before (no `g_ema` key), so older
    // checkpoints and run identities are unchanged.
    c.g_ema = None;
    assert!(!serde_json::to_string(&c).unwrap().contains("g_ema"));
}

/// The best G: strictly lower Fréchet distance wins (a tie keeps the
/// earlier G), NaN never wins, and the first finite judgement always does.
#[test]
fn the_best_g_is_the_lowest_frechet_distance_and_ties_keep_the_earlier() {
    assert!(beats(50.0, None));
    assert!(beats(40.0, Some(50.0)));
    assert!(!beats(50.0, Some(50.0)));
    assert!(!beats(60.0, Some(50.0)));
    assert!(!beats(f64::NAN, None));
    assert!(!beats(f64::NAN, Some(50.0)));
    // Over a curve: the best is its minimum, the first of equal ones.
    let curve = [90.0, 41.0, 55.0, 41.0, f64::NAN, 47.0];
    let mut best: Option<(usize, f64)> = None;
    for (i, &fd) in curve.iter().enumerate() {
        if beats(fd, best.map(|b| b.1)) {
            best = Some((i, fd));
        }
    }
    assert_eq!(best, Some((1, 41.0)));
}
