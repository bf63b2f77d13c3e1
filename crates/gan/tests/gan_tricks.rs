//! The training tricks are real switches: a tanh output bounds G to the
//! data's range, inverted dropout keeps D's expected output, uniform noise
//! stays in its interval, and a run with every trick on trains to finite
//! values.

use minimax_autodiff::{Backend, Shape, Tape};
use minimax_cpu::Cpu;
use minimax_gan::config::{GOutput, Latent};
use minimax_gan::{Config, Preset, RunOptions, Trainer};
use minimax_nn::Activation;

type Be = Cpu<f64>;

/// Every trick on: uniform noise, tanh output, dropout, label smoothing,
/// label noise, LeakyReLU in both players.
fn all_tricks() -> Config {
    let mut c = Config::preset(Preset::Default);
    c.steps = 30;
    c.generator.latent = Latent::Uniform { lo: -1.0, hi: 1.0 };
    c.generator.output = GOutput::Tanh;
    c.generator.activation = Activation::LeakyRelu(0.2);
    c.discriminator.dropout = 0.3;
    c.real_label = 0.9;
    c.label_noise = 0.05;
    c
}

#[test]
fn a_run_with_every_trick_trains_to_finite_values() {
    let mut t = Trainer::new(Be::new(), all_tricks()).unwrap();
    let mut lines = 0;
    t.run(&RunOptions { log_every: 10, ..RunOptions::default() }, |p| {
        assert!(p.d_loss.is_finite() && p.g_loss.is_finite(), "{}", p.line());
        lines += 1;
    })
    .unwrap();
    assert_eq!(lines, 3);
    let e = t.evaluate(5000).unwrap();
    assert!(e.generated_mean.is_finite() && e.generated_std > 0.0, "{e:?}");
}

#[test]
fn a_tanh_output_keeps_every_sample_inside_the_data_range() {
    let t = Trainer::new(Be::new(), all_tricks()).unwrap();
    let tape = Tape::new(Be::new());
    let g = t.generator();
    // Large noise pushes tanh into saturation (±1): still within mean ± 4 std.
    let z = tape.constant(Be::new().upload(Shape::new(4, 1), &[-1e3, -1.0, 1.0, 1e3]).unwrap());
    let latent = g.net.input_size().unwrap();
    let z = z.matmul(&tape.fill(Shape::new(1, latent), 1.0)).unwrap(); // [4, latent]
    let x = g.forward(&t.g_params().constants(&tape), &z).unwrap().to_vec().unwrap();
    assert!(x.iter().all(|&v| (-1.0..=9.0).contains(&v)), "{x:?}");
    assert!(
        x.iter().any(|&v| !(0.0..=8.0).contains(&v)),
        "saturation should reach the ends: {x:?}"
    );
    assert_eq!(g.output, GOutput::Tanh);
}

#[test]
fn uniform_noise_stays_in_its_interval() {
    let t = Trainer::new(Be::new(), all_tricks()).unwrap();
    let tape = Tape::new(Be::new());
    let z = t.generator().noise(&tape, 10_000, 5).to_vec().unwrap();
    assert!(z.iter().all(|&v| (-1.0..1.0).contains(&v)));
    let mean = z.iter().sum::<f64>() / z.len() as f64;
    assert!(mean.abs() < 0.03, "mean of U[-1, 1) noise {mean}");
}

#[test]
fn inverted_dropout_keeps_d_s_expected_output() {
    // D with one hidden layer: hidden → dropout → linear output, so the
    // logit is linear in the dropped units and E[logit] equals the logit
    // without dropout exactly.
    let mut c = all_tricks();
    c.discriminator.hidden = vec![32];
    let t = Trainer::new(Be::new(), c).unwrap();
    let d = t.discriminator();
    let tape = Tape::new(Be::new());
    let params = t.d_params().constants(&tape);
    let x = tape.constant(Be::new().upload(Shape::new(3, 1), &[2.0, 4.0, 6.0]).unwrap());
    let clean = d.forward(&params, &x, None).unwrap().to_vec().unwrap();
    let draws = 4000;
    let mut mean = [0.0; 3];
    let mut differs = false;
    for seed in 0..draws {
        let noisy = d.forward(&params, &x, Some(seed)).unwrap().to_vec().unwrap();
        differs |= noisy != clean;
        for (m, v) in mean.iter_mut().zip(noisy) {
            *m += v / draws as f64;
        }
    }
    assert!(differs, "dropout changed nothing");
    for (m, c) in mean.iter().zip(&clean) {
        assert!((m - c).abs() < 0.02 * c.abs().max(1.0), "E[logit] {m} vs {c}");
    }
}
