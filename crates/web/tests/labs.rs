//! The page's three views, natively on the CPU backend: what a frame
//! holds, that stepping one player moves only that player's picture, that
//! the arrows are G's loss's gradient, and that a NaN stops training with
//! a message. The browser tests (`web/tests/`) drive the same code in WASM.

use minimax_autodiff::{Backend, Reference, Shape, Tape};
use minimax_cpu::Cpu;
use minimax_gan::{Config, Preset, Target};
use minimax_web::digits::{default_config, Digits};
use minimax_web::lab1d::Lab1d;
use minimax_web::lab2d::{Frame2d, Lab2d, CELLS, SHOWN};
use minimax_web::read::read_blocking;

fn frame2d<B: Backend>(lab: &Lab2d<B>) -> Frame2d {
    let p = lab.frame_request().unwrap();
    let v = read_blocking(lab.trainer().backend(), &p.tensors).unwrap();
    p.finish(v).unwrap()
}

#[test]
fn a_2d_frame_holds_every_layer_gan_lab_draws() {
    let mut lab = Lab2d::new(Cpu::<f32>::new(), Config::preset(Preset::GanLab)).unwrap();
    let f = frame2d(&lab);
    assert_eq!((f.step, f.d_loss, f.g_loss), (0, None, None));
    lab.train(3).unwrap();
    let f = frame2d(&lab);
    assert_eq!(f.step, 3);
    assert_eq!((f.real.len(), f.fake.len(), f.arrows.len()), (2 * SHOWN, 2 * SHOWN, 2 * SHOWN));
    assert_eq!((f.d_surface.len(), f.d_star.len(), f.cells), (CELLS * CELLS, CELLS * CELLS, CELLS));
    // 2-D noise: the image of a 21 × 21 grid.
    let (dim, points) = f.manifold.clone().unwrap();
    assert_eq!((dim, points.len()), (2, 2 * 21 * 21));
    assert!(f.d_loss.unwrap().is_finite() && f.g_loss.unwrap().is_finite());
    // D's output is a probability (the log loss's sigmoid); the divergences
    // are in bits, JS at most 1.
    assert!(f.d_surface.iter().all(|d| (0.0..=1.0).contains(d)));
    assert!(f.kl >= 0.0 && (0.0..=1.0).contains(&f.js), "{} {}", f.kl, f.js);
    assert_eq!(f.window, (0.0, 1.0));
    // Coverage is the literature's rule for narrow modes: GAN Lab's two
    // wide Gaussians get none; the ring gets its 8 modes.
    assert_eq!(f.coverage, None);
    let mut ring = Config::preset(Preset::TwoD);
    ring.target = Target::ring();
    let f = frame2d(&Lab2d::new(Cpu::<f32>::new(), ring).unwrap());
    assert_eq!(f.coverage.map(|c| c.modes_total), Some(8));
    assert_eq!(f.diverged, None);
}

#[test]
fn stepping_d_moves_only_ds_surface_and_stepping_g_only_gs_samples() {
    let mut lab = Lab2d::new(Cpu::<f32>::new(), Config::preset(Preset::GanLab)).unwrap();
    lab.train(5).unwrap();
    let before = frame2d(&lab);
    lab.step_d().unwrap();
    let after_d = frame2d(&lab);
    assert_ne!(after_d.d_surface, before.d_surface, "a D-step leaves D's surface as it was");
    assert_eq!(after_d.fake, before.fake, "a D-step moved G's samples");
    lab.step_g().unwrap();
    let after_g = frame2d(&lab);
    assert_eq!(after_g.d_surface, after_d.d_surface, "a G-step changed D");
    assert_ne!(after_g.fake, after_d.fake, "a G-step leaves G's samples where they were");
    // The run's own k and G-steps are back after each single step.
    assert_eq!((lab.trainer().config().d_steps, lab.trainer().config().g_steps), (2, 1));
    assert_eq!(after_g.step, 7);
}

#[test]
fn each_arrow_is_minus_the_gradient_of_gs_loss_at_its_sample() {
    // In f64 on the reference backend: move one fake's x by ±h, evaluate G's
    // mean loss L = mean_i ℓ(D(x_i)) on the frame's fakes, and compare
    // -SHOWN·(L(x+h) - L(x-h))/2h with the arrow (the ×SHOWN undoes the mean).
    let mut config = Config::preset(Preset::GanLab);
    config.seed = 3;
    let mut lab = Lab2d::new(Reference::<f64>::new(), config).unwrap();
    lab.train(20).unwrap();
    let f = frame2d(&lab);
    let t = lab.trainer();
    let loss_at = |fake: &[f64]| {
        let tape = Tape::new(*t.backend());
        let x = tape.constant(t.backend().upload(Shape::new(SHOWN, 2), fake).unwrap());
        let d_vars = t.d_params().constants(&tape);
        let logits = t.discriminator().forward(&d_vars, &x, None).unwrap();
        let one = tape.constant(t.backend().fill(Shape::scalar(), 1.0));
        t.config().loss.g_loss(&logits, &one).unwrap().item().unwrap()
    };
    let h = 1e-6;
    for i in [0, 1, 2 * SHOWN - 1] {
        let (mut up, mut down) = (f.fake.clone(), f.fake.clone());
        up[i] += h;
        down[i] -= h;
        let want = -(SHOWN as f64) * (loss_at(&up) - loss_at(&down)) / (2.0 * h);
        assert!(
            (f.arrows[i] - want).abs() <= 1e-5 + 1e-3 * want.abs(),
            "{i}: {} vs {want}",
            f.arrows[i]
        );
    }
}

#[test]
fn a_nan_stops_training_with_a_message_and_a_zero_rate_is_refused() {
    let mut config = Config::preset(Preset::GanLab);
    config.d_optimizer = config.d_optimizer.with_lr(1e30);
    config.g_optimizer = config.g_optimizer.with_lr(1e30);
    let mut lab = Lab2d::new(Cpu::<f32>::new(), config).unwrap();
    lab.train(30).unwrap();
    let f = frame2d(&lab);
    let why = f.diverged.expect("a rate of 1e30 should diverge within 30 steps");
    assert!(why.contains("NaN or infinite") && why.contains("step 30"), "{why}");

    let mut config = Config::preset(Preset::GanLab);
    config.g_optimizer = config.g_optimizer.with_lr(0.0);
    let err = Lab2d::new(Cpu::<f32>::new(), config).err().unwrap().to_string();
    assert!(err.contains("G's optimizer") && err.contains("lr = 0.0 is out of range"), "{err}");
    let mut lab = Lab2d::new(Cpu::<f32>::new(), Config::preset(Preset::GanLab)).unwrap();
    let err = lab.set_learning_rates(0.1, 0.0).unwrap_err().to_string();
    assert!(err.contains("D's optimizer"), "{err}");
}

#[test]
fn a_drawn_distribution_trains() {
    let mut config = Config::preset(Preset::GanLab);
    config.target = Target::drawn(vec![[0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.5, 0.5]]);
    let mut lab = Lab2d::new(Cpu::<f32>::new(), config).unwrap();
    lab.train(10).unwrap();
    let f = frame2d(&lab);
    assert_eq!((f.step, f.diverged), (10, None));
    // The real samples are the drawn points, blurred by σ 0.02.
    for p in f.real.chunks(2) {
        assert!((p[0] + p[1] - 1.0).abs() < 0.2, "{p:?} is off the drawn line x + y = 1");
    }
}

#[test]
fn the_1d_view_ends_near_minus_log_4_as_theorem_1_says() {
    // The `default` preset learns N(4, 1.25²) in 5000 steps: by then D is
    // near ½ everywhere and V(G, D) near -log 4 = -1.386.
    let mut lab = Lab1d::new(Cpu::<f32>::new(), Config::preset(Preset::Default)).unwrap();
    let frame = |lab: &Lab1d<Cpu<f32>>| {
        let p = lab.frame_request().unwrap();
        let v = read_blocking(lab.trainer().backend(), &p.tensors).unwrap();
        p.finish(v).unwrap()
    };
    let start = frame(&lab);
    assert_eq!((start.xs.len(), start.p_data.len(), start.p_g.len()), (80, 80, 80));
    lab.train(5000).unwrap();
    let end = frame(&lab);
    assert!((end.value - end.value_at_end).abs() < 0.05, "V = {} at the end", end.value);
    assert!(end.js < 0.05 && end.js < start.js, "JS {} -> {}", start.js, end.js);
    let d = end.d_of_x.unwrap();
    let centre = d[40];
    assert!((centre - 0.5).abs() < 0.1, "D at the data's mean is {centre}, not ½");
    assert_eq!(end.diverged, None);
}

#[test]
fn the_digits_view_shows_a_hundred_images_and_the_picked_digit() {
    let mut lab = Digits::new(Cpu::<f32>::new(), default_config(true)).unwrap();
    lab.train(20).unwrap();
    let p = lab.frame_request(Some(7)).unwrap();
    let v = read_blocking(lab.trainer().backend(), &p.tensors).unwrap();
    let f = p.finish(v).unwrap();
    assert_eq!((f.step, f.side, f.images.len()), (20, 8, 100 * 64));
    assert!(f.images.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(f.classes.unwrap(), vec![7; 100]);
    let err = lab.frame_request(Some(10)).err().unwrap().to_string();
    assert!(err.contains("digit 10") && err.contains("0 to 9"), "{err}");
}

#[test]
fn the_configs_the_page_edits_round_trip_through_json() {
    // The page edits these JSON objects field by field and hands them back.
    for c in [
        Config::preset(Preset::GanLab),
        Config::preset(Preset::Default),
        Config::preset(Preset::TwoD),
    ] {
        let json = serde_json::to_string(&c).unwrap();
        println!("{json}");
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c);
    }
    println!("{}", serde_json::to_string(&default_config(true)).unwrap());
    println!("{}", serde_json::to_string(&Target::drawn(vec![[0.5, 0.5]])).unwrap());
}
