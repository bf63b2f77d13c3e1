//! Gradients through compositions of ops, and the tape's own rules.
//!
//! - A 3-layer MLP is gradchecked with each activation, with respect to its
//!   input and every weight and bias.
//! - The four moments of a batch feed a small discriminator, as in the 1-D
//!   Gaussian GAN; BCE with logits on both labels runs through an MLP.
//! - The tape: a tensor used twice sums its gradients; `detach` stops the
//!   flow; `backward` needs a scalar; constants get no gradient.

use minimax_autodiff::gradcheck::{random_input, F64};
use minimax_autodiff::{gradcheck, Backend, Error, RefTensor, Reference, Result, Shape, Tape, Var};

/// An activation function, applied between layers.
type Act = fn(&Var<F64>) -> Var<F64>;

/// Every activation the MLP is checked with.
const ACTIVATIONS: [(&str, Act); 5] = [
    ("tanh", |h| h.tanh()),
    ("sigmoid", |h| h.sigmoid()),
    ("relu", |h| h.relu()),
    ("leaky_relu", |h| h.leaky_relu(0.2)),
    ("elu", |h| h.elu(1.0)),
];

/// `x·W + b`: `[batch, in] · [in, out] + [1, out] -> [batch, out]`.
fn linear(x: &Var<F64>, w: &Var<F64>, b: &Var<F64>) -> Result<Var<F64>> {
    x.matmul(w)?.add(b)
}

/// The three layers' weights and biases for `in -> 4 -> 4 -> out`, in the
/// order `[W1, b1, W2, b2, W3, b3]`, uniform on [-1, 1).
fn mlp_params(inputs: usize, outputs: usize, seed: u64) -> Vec<RefTensor<f64>> {
    let sizes = [(inputs, 4), (4, 4), (4, outputs)];
    let mut params = Vec::new();
    for (l, (fan_in, fan_out)) in sizes.into_iter().enumerate() {
        let s = seed * 100 + 10 * l as u64;
        params.push(random_input(fan_in, fan_out, -1.0, 1.0, s)); // W: [fan_in, fan_out]
        params.push(random_input(1, fan_out, -1.0, 1.0, s + 1)); // b: [1, fan_out]
    }
    params
}

/// x·W1+b1 → act → ·W2+b2 → act → ·W3+b3, with `p = [W1, b1, W2, b2, W3, b3]`.
fn mlp(x: &Var<F64>, p: &[Var<F64>], act: Act) -> Result<Var<F64>> {
    let h1 = act(&linear(x, &p[0], &p[1])?); // [batch, 4]
    let h2 = act(&linear(&h1, &p[2], &p[3])?); // [batch, 4]
    linear(&h2, &p[4], &p[5]) // [batch, out]
}

#[test]
fn three_layer_mlp_with_each_activation() {
    for (name, act) in ACTIVATIONS {
        for seed in [1, 2] {
            // inputs: x [5, 3], then W1 [3, 4], b1, W2 [4, 4], b2, W3 [4, 2], b3.
            let mut inputs = vec![random_input(5, 3, -2.0, 2.0, seed)];
            inputs.extend(mlp_params(3, 2, seed));
            // The whole [5, 2] output, so the full Jacobian is checked.
            let result = gradcheck(|v| mlp(&v[0], &v[1..], act), &inputs);
            result.unwrap_or_else(|e| panic!("MLP with {name}, seed {seed}: {e}"));
        }
    }
}

#[test]
fn moments_into_a_small_discriminator() {
    // The 1-D GAN's D sees a batch only through its four moments:
    // samples [n, 1] -> moments [1, 4] -> tanh MLP -> logit [1, 1].
    // The gradient must reach the samples (that is how G learns).
    for (n, cols) in [(8, 1), (6, 2)] {
        let mut inputs = vec![random_input(n, cols, 2.0, 6.0, 7)];
        inputs.extend(mlp_params(4 * cols, 1, 7));
        let d = |v: &[Var<F64>]| mlp(&v[0].moments()?, &v[1..], |h| h.tanh());
        gradcheck(d, &inputs).unwrap_or_else(|e| panic!("moments -> D on [{n}, {cols}]: {e}"));
    }
}

#[test]
fn bce_with_logits_on_both_labels_through_an_mlp() {
    // The discriminator's loss: real samples labelled 1, fake ones labelled 0.
    //   loss = bce(D(real), 1) + bce(D(fake), 0)
    let mut inputs = vec![random_input(6, 3, -2.0, 2.0, 11), random_input(6, 3, -2.0, 2.0, 12)];
    inputs.extend(mlp_params(3, 1, 13));
    let loss = |v: &[Var<F64>]| {
        let (real, fake, d) = (&v[0], &v[1], &v[2..]);
        let ones = real.tape().fill(Shape::new(6, 1), 1.0);
        let zeros = real.tape().fill(Shape::new(6, 1), 0.0);
        let real_loss = mlp(real, d, |h| h.leaky_relu(0.2))?.bce_with_logits(&ones)?;
        let fake_loss = mlp(fake, d, |h| h.leaky_relu(0.2))?.bce_with_logits(&zeros)?;
        real_loss.add(&fake_loss)
    };
    gradcheck(loss, &inputs).unwrap();
}

/// A leaf `[1, n]` holding `xs` on a new `Reference<f64>` tape.
fn leaf(xs: &[f64]) -> (Tape<Reference<f64>>, Var<Reference<f64>>) {
    let be = Reference::<f64>::new();
    let tape = Tape::new(be);
    let x = tape.leaf(be.upload(Shape::new(1, xs.len()), xs).unwrap());
    (tape, x)
}

#[test]
fn a_tensor_used_twice_accumulates_its_gradient() {
    // L = Σ (x·x + x): x is used three times (twice in the product, once in
    // the sum), and dL/dx = x + x + 1 = 2x + 1. The values are exact in
    // binary, so every sum is exact and the comparison is too.
    let xs = [0.5, -1.25, 3.0, 0.375];
    let (tape, x) = leaf(&xs);
    let loss = x.mul(&x).unwrap().add(&x).unwrap().sum();
    let grads = tape.backward(&loss).unwrap();
    let want: Vec<f64> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
    assert_eq!(grads.get(&x).unwrap().data(), &want[..]);
}

#[test]
fn detach_stops_the_gradient() {
    let xs = [0.5, -1.25, 3.0];
    // Only through a detached path: L = Σ 2·detach(x) does not depend on x
    // as far as the tape knows, so x gets no gradient at all.
    let (tape, x) = leaf(&xs);
    let loss = x.detach().mul_scalar(2.0).sum();
    assert!(tape.backward(&loss).unwrap().get(&x).is_none());

    // Mixed: L = Σ x·detach(x) gets only the tracked factor's part,
    // dL/dx = detach(x) = x, not 2x.
    let (tape, x) = leaf(&xs);
    let loss = x.mul(&x.detach()).unwrap().sum();
    assert_eq!(tape.backward(&loss).unwrap().get(&x).unwrap().data(), &xs[..]);
}

#[test]
fn backward_needs_a_scalar() {
    let (tape, x) = leaf(&[1.0, 2.0, 3.0]);
    let y = x.square(); // [1, 3]
    match tape.backward(&y) {
        Err(Error::NotScalar { op, shape }) => {
            assert_eq!((op, shape), ("backward", Shape::new(1, 3)));
        }
        Err(e) => panic!("expected NotScalar, got {e}"),
        Ok(_) => panic!("backward of a [1, 3] output succeeded"),
    }
}

#[test]
fn constants_get_no_gradient() {
    // L = Σ x·c with c a constant: dL/dx = c, and c has no gradient.
    let (tape, x) = leaf(&[1.0, 2.0]);
    let c = tape.constant(tape.backend().upload(Shape::new(1, 2), &[3.0, -4.0]).unwrap());
    let filled = tape.fill(Shape::new(1, 2), 0.5);
    let loss = x.mul(&c).unwrap().add(&filled).unwrap().sum();
    let grads = tape.backward(&loss).unwrap();
    assert_eq!(grads.get(&x).unwrap().data(), &[3.0, -4.0]);
    assert!(grads.get(&c).is_none());
    assert!(grads.get(&filled).is_none());
    // An op on constants only is untracked too.
    let doubled = c.mul_scalar(2.0);
    assert!(tape.backward(&doubled.add(&x).unwrap().sum()).unwrap().get(&doubled).is_none());
}
