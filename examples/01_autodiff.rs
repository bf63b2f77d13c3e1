//! # Example 01: reverse-mode autodiff on one neuron
//!
//! Run it with `cargo run --release --example 01_autodiff`.
//!
//! We build one neuron, `y = tanh(x·w + b)`, and a squared-error loss
//! `L = (y - t)²` on a tape; print every intermediate value; call
//! `backward`; and then check the gradients three ways:
//!
//! 1. by the chain rule, worked out by hand below;
//! 2. by a finite difference, `(L(w + h) - L(w - h)) / 2h`;
//! 3. by `gradcheck`, which does (2) for every input element.
//!
//! Read the file top to bottom: it is the tutorial.

use minimax::autodiff::{gradcheck, Backend, Reference, Shape, Tape, Var};

/// Our numbers: one sample with two features, its weights, bias and target.
const X: [f64; 2] = [0.5, -1.0];
const W: [f64; 2] = [0.8, 0.3];
const B: f64 = 0.1;
const TARGET: f64 = 0.5;

/// The backend: plain loops on the CPU, in `f64` so the numbers are precise.
type Be = Reference<f64>;

/// The forward pass, written once and used three times below:
/// `z = x·w + b`, `y = tanh z`, `L = (y - t)²`. Returns `(z, y, L)`.
fn forward(
    x: &Var<Be>,
    w: &Var<Be>,
    b: &Var<Be>,
) -> minimax::autodiff::Result<(Var<Be>, Var<Be>, Var<Be>)> {
    let z = x.matmul(w)?.add(b)?; // [1, 2] · [2, 1] + [1, 1] -> [1, 1]
    let y = z.tanh(); // [1, 1]
    let t = x.tape().fill(Shape::scalar(), TARGET); // a constant: no gradient
    let loss = y.sub(&t)?.square(); // [1, 1]
    Ok((z, y, loss))
}

/// The loss as a plain number for a given `w`, on a fresh tape: what the
/// finite difference needs.
fn loss_at(w: [f64; 2]) -> minimax::autodiff::Result<f64> {
    let be = Be::new();
    let tape = Tape::new(be);
    let x = tape.constant(be.upload(Shape::new(1, 2), &X)?);
    let w = tape.constant(be.upload(Shape::new(2, 1), &w)?);
    let b = tape.constant(be.upload(Shape::scalar(), &[B])?);
    forward(&x, &w, &b)?.2.item()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // ---------------------------------------------------------------------
    // 1. A tape, and the inputs on it.
    // ---------------------------------------------------------------------
    // A tape records every op of one forward pass. `leaf` puts a tensor on it
    // that we want the gradient of; `constant` puts on plain data. Here we
    // track all three inputs: the weights and bias (what training updates)
    // and x too (in a GAN, the gradient with respect to D's *input* is what
    // teaches G).
    let be = Be::new();
    let tape = Tape::new(be);
    let x = tape.leaf(be.upload(Shape::new(1, 2), &X)?); // [1, 2]: one sample, two features
    let w = tape.leaf(be.upload(Shape::new(2, 1), &W)?); // [2, 1]: two weights
    let b = tape.leaf(be.upload(Shape::scalar(), &[B])?); // [1, 1]: the bias

    // ---------------------------------------------------------------------
    // 2. The forward pass.
    // ---------------------------------------------------------------------
    let (z, y, loss) = forward(&x, &w, &b)?;
    println!("forward pass");
    println!("  x = {X:?}, w = {W:?}, b = {B}, t = {TARGET}");
    // z = x₁w₁ + x₂w₂ + b = 0.5·0.8 + (-1)·0.3 + 0.1 = 0.4 - 0.3 + 0.1 = 0.2
    println!("  z = x·w + b  = {:.6}   (0.5·0.8 - 1·0.3 + 0.1 = 0.2)", z.item()?);
    println!("  y = tanh z   = {:.6}", y.item()?);
    println!("  L = (y - t)² = {:.6}", loss.item()?);
    println!("  the tape holds {} nodes (x, w, b, the constant t, 5 ops)", tape.len());

    // ---------------------------------------------------------------------
    // 3. The backward pass.
    // ---------------------------------------------------------------------
    // `backward` seeds dL/dL = 1 and walks the tape in reverse; each op turns
    // the gradient of its output into gradients of its inputs.
    let grads = tape.backward(&loss)?;
    let dw = be.download(grads.get(&w).expect("L depends on w"))?;
    let db = be.download(grads.get(&b).expect("L depends on b"))?;
    let dx = be.download(grads.get(&x).expect("L depends on x"))?;
    println!("\nbackward pass (from the tape)");
    println!("  dL/dw = [{:.6}, {:.6}]", dw[0], dw[1]);
    println!("  dL/db = {:.6}", db[0]);
    println!("  dL/dx = [{:.6}, {:.6}]", dx[0], dx[1]);

    // ---------------------------------------------------------------------
    // 4. The same gradients by the chain rule, by hand.
    // ---------------------------------------------------------------------
    // L depends on w only through y, and y only through z, so
    //   dL/dwᵢ = dL/dy · dy/dz · dz/dwᵢ
    // with, one link at a time:
    //   dL/dy  = 2(y - t)          (L = (y - t)²)
    //   dy/dz  = 1 - tanh²z = 1 - y²
    //   dz/dwᵢ = xᵢ,  dz/db = 1,  dz/dxᵢ = wᵢ      (z = Σ xᵢwᵢ + b)
    // The first two links are shared: the tape computes them once, on the
    // way back, and so do we.
    let (yv, zv) = (y.item()?, z.item()?);
    let dl_dy = 2.0 * (yv - TARGET);
    let dy_dz = 1.0 - yv * yv;
    let dl_dz = dl_dy * dy_dz;
    println!("\nchain rule (by hand)");
    println!("  dL/dy = 2(y - t)         = {dl_dy:.6}");
    println!("  dy/dz = 1 - y²           = {dy_dz:.6}   (tanh' at z = {zv:.1})");
    println!("  dL/dz = dL/dy · dy/dz    = {dl_dz:.6}");
    println!("  dL/dw = dL/dz · x        = [{:.6}, {:.6}]", dl_dz * X[0], dl_dz * X[1]);
    println!("  dL/db = dL/dz · 1        = {dl_dz:.6}");
    println!("  dL/dx = dL/dz · w        = [{:.6}, {:.6}]", dl_dz * W[0], dl_dz * W[1]);
    let by_hand = [dl_dz * X[0], dl_dz * X[1], dl_dz, dl_dz * W[0], dl_dz * W[1]];
    let from_tape = [dw[0], dw[1], db[0], dx[0], dx[1]];
    let worst = by_hand.iter().zip(&from_tape).map(|(h, t)| (h - t).abs()).fold(0.0, f64::max);
    println!("  largest difference from the tape: {worst:.1e}");
    assert!(worst < 1e-15, "the tape disagrees with the chain rule");

    // ---------------------------------------------------------------------
    // 5. A finite difference, for one weight.
    // ---------------------------------------------------------------------
    // dL/dw₁ ≈ (L(w₁ + h) - L(w₁ - h)) / 2h, the central difference: its
    // error shrinks like h², until h is so small that rounding in L wins.
    let h = 1e-6;
    let numerical = (loss_at([W[0] + h, W[1]])? - loss_at([W[0] - h, W[1]])?) / (2.0 * h);
    println!("\nfinite difference, h = {h:e}");
    println!("  dL/dw₁ ≈ {numerical:.9}   tape: {:.9}", dw[0]);
    println!("  difference: {:.1e}", (numerical - dw[0]).abs());
    assert!((numerical - dw[0]).abs() < 1e-8, "the finite difference disagrees");

    // ---------------------------------------------------------------------
    // 6. gradcheck: every element of every input.
    // ---------------------------------------------------------------------
    // `gradcheck` does step 5 for each element of x, w and b and compares
    // with the tape under PyTorch's tolerances (atol 1e-5, rtol 1e-3). It
    // returns an error naming the input and element if any disagree.
    let inputs = [x.value().clone(), w.value().clone(), b.value().clone()];
    gradcheck(|v| Ok(forward(&v[0], &v[1], &v[2])?.2), &inputs)?;
    println!("\ngradcheck of L(x, w, b): passed");
    Ok(())
}
