//! The four GAN games, checked three ways: each loss's value against its
//! formula computed on the host, each loss's gradient (for D and for G)
//! against finite differences through a small D (and a small G) on
//! `Reference<f64>`, and the training passes' gradient flow (`detach` keeps D's
//! loss away from G; WGAN's clipping holds).

use minimax_autodiff::gradcheck::random_input;
use minimax_autodiff::{gradcheck, Backend, RefTensor, Reference, Shape, Tape, Var};
use minimax_cpu::Cpu;
use minimax_gan::config::DInput;
use minimax_gan::{Config, Discriminator, GanLoss, Generator, Preset, RunOptions, Trainer};
use minimax_nn::{Activation, Module, Optimizer};

type F64 = Reference<f64>;

/// A small config: D 1 → 3 → 1 with tanh (smooth, so finite differences
/// are exact to O(ε²)), G 2 → 3 → 1 with tanh.
fn small(input: DInput) -> Config {
    let mut c = Config::preset(Preset::Default);
    c.discriminator.hidden = vec![3];
    c.discriminator.activation = Activation::Tanh;
    c.discriminator.input = input;
    c.generator.latent_dim = 2;
    c.generator.hidden = vec![3];
    c
}

/// D's parameters at a random point: `[w0, b0, w1, b1]`.
fn d_params(d: &Discriminator, seed: u64) -> Vec<RefTensor<f64>> {
    let mut out = Vec::new();
    for (l, pair) in d.net.param_specs().chunks(2).enumerate() {
        let (w, b) = (pair[0].1, pair[1].1);
        out.push(random_input(w.rows, w.cols, -1.0, 1.0, seed + 2 * l as u64));
        out.push(random_input(b.rows, b.cols, -0.5, 0.5, seed + 2 * l as u64 + 1));
    }
    out
}

/// Targets with label smoothing and a flipped label, as constants.
fn targets(tape: &Tape<F64>, n: usize) -> (Var<F64>, Var<F64>) {
    let real: Vec<f64> = (0..n).map(|i| if i == 1 { 0.0 } else { 0.9 }).collect();
    let fake: Vec<f64> = (0..n).map(|i| if i == 2 { 1.0 } else { 0.0 }).collect();
    let be = *tape.backend();
    let up = |v: Vec<f64>| tape.constant(be.upload(Shape::new(n, 1), &v).unwrap());
    (up(real), up(fake))
}

#[test]
fn every_d_loss_passes_gradcheck_through_a_small_discriminator() {
    for input in [DInput::Samples, DInput::Moments] {
        let d = Discriminator::new(&small(input)).unwrap();
        for loss in GanLoss::ALL {
            let mut inputs = d_params(&d, 10);
            inputs.push(random_input(6, 1, 2.0, 6.0, 1)); // a real batch
            inputs.push(random_input(6, 1, -1.0, 3.0, 2)); // a fake batch
            let np = inputs.len() - 2;
            let f = |v: &[Var<F64>]| {
                let real = d.forward(&v[..np], &v[np], None)?;
                let fake = d.forward(&v[..np], &v[np + 1], None)?;
                let (t_real, t_fake) = targets(v[0].tape(), real.shape().rows);
                loss.d_loss(&real, &fake, &t_real, &t_fake)
            };
            gradcheck(f, &inputs)
                .unwrap_or_else(|e| panic!("D loss {loss}, D sees {input:?}: {e}"));
        }
    }
}

#[test]
fn every_g_loss_passes_gradcheck_through_a_small_discriminator_and_generator() {
    for input in [DInput::Samples, DInput::Moments] {
        let config = small(input);
        let (g, d) = (Generator::new(&config).unwrap(), Discriminator::new(&config).unwrap());
        for loss in GanLoss::ALL {
            // Inputs: D's parameters, then G's, then the noise z (so the
            // gradient G's output receives is checked too).
            let mut inputs = d_params(&d, 20);
            let nd = inputs.len();
            for (l, pair) in g.net.param_specs().chunks(2).enumerate() {
                let (w, b) = (pair[0].1, pair[1].1);
                inputs.push(random_input(w.rows, w.cols, -1.0, 1.0, 40 + l as u64));
                inputs.push(random_input(b.rows, b.cols, -0.5, 0.5, 50 + l as u64));
            }
            let ng = inputs.len();
            inputs.push(random_input(5, 2, -1.5, 1.5, 3));
            let f = |v: &[Var<F64>]| {
                let fake = g.forward(&v[nd..ng], &v[ng])?; // [5, 1]
                let one = v[0].tape().fill(Shape::scalar(), 1.0);
                loss.g_loss(&d.forward(&v[..nd], &fake, None)?, &one)
            };
            gradcheck(f, &inputs)
                .unwrap_or_else(|e| panic!("G loss {loss}, D sees {input:?}: {e}"));
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn each_loss_has_the_value_of_its_formula() {
    let be = F64::new();
    let tape = Tape::new(be);
    let real_l = [2.0, -0.5, 0.3, 4.0];
    let fake_l = [-3.0, 0.1, 1.5, -0.2];
    let up = |v: &[f64]| tape.constant(be.upload(Shape::new(v.len(), 1), v).unwrap());
    let (lr, lf) = (up(&real_l), up(&fake_l));
    let (t_real, t_fake) = (up(&[0.9, 0.9, 0.0, 0.9]), up(&[0.0, 1.0, 0.0, 0.0]));
    let mean = |f: &dyn Fn(usize) -> f64| (0..4).map(f).sum::<f64>() / 4.0;
    let tr = [0.9, 0.9, 0.0, 0.9];
    let tf = [0.0, 1.0, 0.0, 0.0];
    // -[t ln σ(l) + (1 - t) ln(1 - σ(l))], written the naive way.
    let bce = |l: f64, t: f64| -(t * sigmoid(l).ln() + (1.0 - t) * (1.0 - sigmoid(l)).ln());

    let expected_d = |loss: GanLoss| match loss {
        GanLoss::Minimax | GanLoss::NonSaturating => {
            mean(&|i| bce(real_l[i], tr[i])) + mean(&|i| bce(fake_l[i], tf[i]))
        }
        GanLoss::LeastSquares => {
            0.5 * mean(&|i| (real_l[i] - tr[i]).powi(2))
                + 0.5 * mean(&|i| (fake_l[i] - tf[i]).powi(2))
        }
        GanLoss::Wasserstein => mean(&|i| fake_l[i]) - mean(&|i| real_l[i]),
    };
    let expected_g = |loss: GanLoss| match loss {
        GanLoss::Minimax => mean(&|i| (1.0 - sigmoid(fake_l[i])).ln()),
        GanLoss::NonSaturating => -mean(&|i| sigmoid(fake_l[i]).ln()),
        GanLoss::LeastSquares => 0.5 * mean(&|i| (fake_l[i] - 1.0).powi(2)),
        GanLoss::Wasserstein => -mean(&|i| fake_l[i]),
    };
    for loss in GanLoss::ALL {
        let d = loss.d_loss(&lr, &lf, &t_real, &t_fake).unwrap().item().unwrap();
        let g = loss.g_loss(&lf, &tape.fill(Shape::scalar(), 1.0)).unwrap().item().unwrap();
        assert!((d - expected_d(loss)).abs() < 1e-12, "{loss}: D loss {d} vs {}", expected_d(loss));
        assert!((g - expected_g(loss)).abs() < 1e-12, "{loss}: G loss {g} vs {}", expected_g(loss));
    }
}

#[test]
fn the_minimax_g_loss_saturates_where_the_non_saturating_one_does_not() {
    // D confidently rejects a fake: logit -10, D(G(z)) = σ(-10) ≈ 4.5e-5.
    let slope = |loss: GanLoss| {
        let tape = Tape::new(F64::new());
        let l = tape.leaf(F64::new().upload(Shape::scalar(), &[-10.0]).unwrap());
        let one = tape.fill(Shape::scalar(), 1.0);
        let grads = tape.backward(&loss.g_loss(&l, &one).unwrap()).unwrap();
        F64::new().download(grads.get(&l).unwrap()).unwrap()[0]
    };
    // minimax: d/dl = -σ(l), which vanishes.
    assert!((slope(GanLoss::Minimax) + sigmoid(-10.0)).abs() < 1e-12);
    // non-saturating: d/dl = σ(l) - 1 ≈ -1.
    assert!((slope(GanLoss::NonSaturating) - (sigmoid(-10.0) - 1.0)).abs() < 1e-12);

    // And the losses stay finite where a sigmoid would round to 0 or 1.
    for loss in GanLoss::ALL {
        let tape = Tape::new(F64::new());
        let l = tape.constant(F64::new().upload(Shape::new(2, 1), &[-800.0, 800.0]).unwrap());
        let t = tape.fill(Shape::scalar(), 1.0);
        let z = tape.fill(Shape::scalar(), 0.0);
        assert!(loss.g_loss(&l, &t).unwrap().item().unwrap().is_finite(), "{loss}");
        assert!(loss.d_loss(&l, &l, &t, &z).unwrap().item().unwrap().is_finite(), "{loss}");
    }
}

#[test]
fn d_steps_send_g_nothing_and_g_steps_reach_g_through_d() {
    let trainer = Trainer::new(Cpu::<f32>::new(), Config::preset(Preset::Default)).unwrap();
    let tape = Tape::new(*trainer.backend());
    let pass = trainer.discriminator_pass(&tape, 0, 0).unwrap();
    let grads = tape.backward(&pass.loss).unwrap();
    assert!(
        pass.g_vars.iter().all(|v| grads.get(v).is_none()),
        "D's loss reached G through detach"
    );
    assert!(pass.d_vars.iter().all(|v| grads.get(v).is_some()));

    let tape = Tape::new(*trainer.backend());
    let pass = trainer.generator_pass(&tape, 0, 0).unwrap();
    let grads = tape.backward(&pass.loss).unwrap();
    assert!(pass.g_vars.iter().all(|v| grads.get(v).is_some()), "G's loss must reach G");
    // D's parameters are constants in a G-pass: the gradient flows through
    // D's ops to G, but D's own gradients, which a G-step would throw
    // away, are never computed (and a G-step leaves D untouched: below).
    assert!(pass.d_vars.iter().all(|v| grads.get(v).is_none()));
}

#[test]
fn a_training_step_leaves_d_where_its_d_step_put_it() {
    // Replay step 0's D-step by hand on copies of D's parameters...
    let be = Cpu::<f32>::new();
    let mut t = Trainer::new(be, Config::preset(Preset::Default)).unwrap();
    let mut d_copy = t.d_params().clone();
    let mut d_opt = Optimizer::new(&be, t.config().d_optimizer, &d_copy);
    let tape = Tape::new(be);
    let pass = t.discriminator_pass(&tape, 0, 0).unwrap();
    let grads = tape.backward(&pass.loss).unwrap();
    d_opt.step(&be, &mut d_copy, &pass.d_vars, &grads).unwrap();
    let g_before = t.g_params().download(&be).unwrap();

    // ...then run the whole step (its D-step, then its G-step through D).
    t.train_step().unwrap();
    // D is exactly where the D-step left it: the G-step, although its
    // gradient flowed through D, applied nothing to D.
    assert_eq!(t.d_params().download(&be).unwrap(), d_copy.download(&be).unwrap());
    // G did move.
    assert_ne!(t.g_params().download(&be).unwrap(), g_before);
    let (g_opt, d_opt) = t.optimizers();
    assert_eq!((g_opt.steps(), d_opt.steps()), (1, 1));
}

#[test]
fn wasserstein_clips_every_critic_weight_after_each_step() {
    let mut config = Config::preset(Preset::Default);
    config.loss = GanLoss::Wasserstein;
    config.d_steps = 5;
    config.clip = 0.01;
    config.steps = 3;
    let be = Cpu::<f32>::new();
    let mut t = Trainer::new(be, config).unwrap();
    t.run(&RunOptions::default(), |_| {}).unwrap();
    let d = t.d_params().download(&be).unwrap();
    let max = d.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(max <= 0.01 + 1e-9, "a critic weight of {max} escaped the clip");
    assert!(max > 0.009, "the clip should bind: Xavier weights start far above 0.01");
}

#[test]
fn the_joint_d_loss_equals_the_d_loss_on_the_two_halves_with_the_same_gradient() {
    // D's loss on a stacked batch [real; fake] against the stacked targets
    // must be d_loss on the halves: the same value, and the same gradient
    // for every logit (each half is a mean over m rows, so the sum is twice
    // the mean over 2m).
    let be = F64::new();
    let real_l = [2.0, -0.5, 0.3, 4.0, -7.0];
    let fake_l = [-3.0, 0.1, 1.5, -0.2, 0.9];
    let (tr, tf) = ([0.9, 0.9, 0.0, 0.9, 0.9], [0.0, 1.0, 0.0, 0.0, 0.0]);
    for loss in GanLoss::ALL {
        // Apart: two logit leaves, two target columns.
        let tape = Tape::new(be);
        let up = |v: &[f64]| be.upload(Shape::new(v.len(), 1), v).unwrap();
        let (lr, lf) = (tape.leaf(up(&real_l)), tape.leaf(up(&fake_l)));
        let (t_real, t_fake) = (tape.constant(up(&tr)), tape.constant(up(&tf)));
        let apart = loss.d_loss(&lr, &lf, &t_real, &t_fake).unwrap();
        let grads = tape.backward(&apart).unwrap();
        let mut want = be.download(grads.get(&lr).unwrap()).unwrap();
        want.extend(be.download(grads.get(&lf).unwrap()).unwrap());
        // Joint: one leaf of 10 logits, the real rows first.
        let tape = Tape::new(be);
        let both = tape.leaf(up(&[real_l, fake_l].concat()));
        let t = tape.constant(up(&[tr, tf].concat()));
        let joint = loss.d_loss_joint(&both, &t).unwrap();
        let got = be.download(tape.backward(&joint).unwrap().get(&both).unwrap()).unwrap();
        let (a, j) = (apart.item().unwrap(), joint.item().unwrap());
        assert!((a - j).abs() < 1e-14, "{loss}: apart {a}, joint {j}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-15, "{loss}: d/dlogit {i}: joint {g}, apart {w}");
        }
    }
}
