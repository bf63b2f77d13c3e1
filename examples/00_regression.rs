//! # Example 00: fit sin(x) with a small network
//!
//! Run it with `cargo run --release --example 00_regression` (about a
//! second on a CPU).
//!
//! The engine as a library, before any GAN: a plain training loop that
//! fits `y = sin x` on [-π, π] with a small multilayer perceptron and Adam.
//! Every training loop in this project has the same four beats:
//!
//! 1. **data** as tensors on a backend (here the CPU, in `f32`);
//! 2. **a model**, which is only a shape (an [`Mlp`] of given widths and
//!    activations builds a network of layers), and its **parameters**, which live in a `ParamStore`
//!    that outlives every step, each tensor with a name (`layer0.weight`);
//! 3. **each step**: a fresh tape; the parameters go on it as leaves; the
//!    forward pass and the loss are recorded; `backward` walks the tape in
//!    reverse and returns each leaf's gradient; the optimizer updates the
//!    parameters in place;
//! 4. **judge** the result on points the model never saw.
//!
//! The mean squared error should fall below 1e-3 (printed at the end). Next
//! on the path: `01_autodiff` opens up what the tape and `backward` do.

use minimax::autodiff::{Backend, Shape, Tape};
use minimax::cpu::Cpu;
use minimax::nn::{Activation, Init, Mlp, Optimizer, OptimizerConfig};
use std::f32::consts::PI;
use std::time::Instant;

/// Training points, evenly spaced over [-π, π].
const N: usize = 256;
/// Full-batch training steps.
const STEPS: usize = 2000;

fn main() -> minimax::autodiff::Result<()> {
    let be = Cpu::<f32>::new();
    let started = Instant::now();

    // 1. The data: N points and their sines, as [N, 1] tensors. The test
    //    points lie half way between the training points.
    let grid = |offset: f32| -> Vec<f32> {
        (0..N).map(|i| -PI + 2.0 * PI * (i as f32 + offset) / N as f32).collect()
    };
    let sines = |xs: &[f32]| xs.iter().map(|x| x.sin()).collect::<Vec<f32>>();
    let (train_x, test_x) = (grid(0.0), grid(0.5));
    let x = be.upload(Shape::new(N, 1), &train_x)?; // [N, 1]
    let y = be.upload(Shape::new(N, 1), &sines(&train_x))?; // [N, 1]

    // 2. The model, 1 → 32 → 32 → 1 with tanh hidden layers and a linear
    //    output, its parameters (Xavier, seed 0), and Adam to train them.
    let mlp =
        Mlp::new(&[1, 32, 32, 1], &[Activation::Tanh, Activation::Tanh, Activation::Identity])?
            .build();
    let mut params = mlp.init_params(&be, Init::XavierUniform, 0);
    let mut adam = Optimizer::new(&be, OptimizerConfig::adam(0.01, 0.9, 0.999, 1e-8), &params);

    // 3. Train: record forward and loss, backward, update.
    for step in 1..=STEPS {
        let tape = Tape::new(be);
        let vars = params.on_tape(&tape); // the parameters, as leaves
        let prediction = mlp.forward(&vars, &tape.constant(x.clone()))?; // [N, 1]
        let loss = prediction.sub(&tape.constant(y.clone()))?.square().mean(); // [1, 1]
        let grads = tape.backward(&loss)?;
        adam.step(&be, &mut params, &vars, &grads)?;
        if step % 400 == 0 {
            println!("step {step:>5}  training MSE {:.6}", loss.item()?);
        }
    }

    // 4. Judge on the test points: parameters as constants (no gradients).
    let tape = Tape::new(be);
    let x_test = tape.constant(be.upload(Shape::new(N, 1), &test_x)?);
    let y_test = tape.constant(be.upload(Shape::new(N, 1), &sines(&test_x))?);
    let prediction = mlp.forward(&params.constants(&tape), &x_test)?;
    let mse = prediction.sub(&y_test)?.square().mean().item()?;
    let seconds = started.elapsed().as_secs_f64();
    println!("final test MSE {mse:.2e} on {N} unseen points ({STEPS} steps, {seconds:.2} s)");
    if mse < 1e-3 {
        println!("goal met: MSE below 1e-3");
    } else {
        println!("goal NOT met: MSE {mse:.2e} is not below 1e-3");
        std::process::exit(1);
    }
    Ok(())
}
