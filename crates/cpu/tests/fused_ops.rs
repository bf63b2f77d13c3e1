//! The fused ops (`ops/fused.rs`): `Var::linear` (a layer `f(x·W + b)` as
//! one op) and `Var::bce_logits` (`bce_with_logits` as one op), and the
//! multi-tensor `Backend::adam_step_many`.
//!
//! Each is checked three ways:
//!
//! 1. against its composite of plain ops, on `Cpu<f32>` and `Cpu<f64>`:
//!    values and gradients **bit for bit** (the backend defaults are those
//!    composites, and the backward rules are the chain rule through them);
//! 2. by finite differences in f64 at PyTorch's tolerances (`gradcheck`);
//! 3. by hand, with the derivation in a comment.
//!
//! Plus their shape errors. The GPU kernels that override the defaults are
//! checked against these in `crates/wgsl/tests/gpu_fused.rs`.

use minimax_autodiff::gradcheck::{random_input, F64};
use minimax_autodiff::{
    gradcheck, AdamStep, AdamTensors, Backend, Dist, Real, Result, Shape, Tape, TensorShape, Unary,
    Var,
};
use minimax_cpu::{Cpu, CpuTensor};

/// Every activation a layer may have (`None`: the identity), and a few more
/// maps, since any `Unary` is accepted.
const ACTS: [Option<Unary>; 8] = [
    None,
    Some(Unary::Tanh),
    Some(Unary::Sigmoid),
    Some(Unary::Relu),
    Some(Unary::LeakyRelu(0.2)),
    Some(Unary::Elu(1.0)),
    Some(Unary::Softplus),
    Some(Unary::MulScalar(-3.0)),
];

/// `(batch, in, out)`: ones, a row, a column, primes, and one either side of
/// 64.
const LAYERS: [(usize, usize, usize); 6] =
    [(1, 1, 1), (1, 7, 3), (7, 1, 5), (5, 3, 1), (13, 17, 11), (65, 63, 64)];

/// `f(x·W + b)` from plain ops: the reference `Var::linear` must equal.
fn linear_composite<B: Backend>(
    x: &Var<B>,
    w: &Var<B>,
    b: Option<&Var<B>>,
    act: Option<Unary>,
) -> Result<Var<B>> {
    let mut z = x.matmul(w)?;
    if let Some(b) = b {
        z = z.add(b)?;
    }
    Ok(match act {
        Some(op) => z.map(op),
        None => z,
    })
}

/// Runs `f` on leaves holding `inputs`, seeds the backward with `seed`
/// (the output's shape), returns the output and every input's gradient.
fn value_and_grads<B: Backend>(
    be: &B,
    inputs: &[B::Tensor],
    seed: &B::Tensor,
    f: impl Fn(&[Var<B>]) -> Result<Var<B>>,
) -> (Vec<B::Elem>, Vec<Vec<B::Elem>>) {
    let tape = Tape::new(be.clone());
    let vars: Vec<Var<B>> = inputs.iter().map(|x| tape.leaf(x.clone())).collect();
    let y = f(&vars).unwrap();
    let grads = tape.backward_with(&y, seed.clone()).unwrap();
    let dx = vars.iter().map(|v| be.download(&grads.get_or_zeros(v)).unwrap()).collect();
    (y.to_vec().unwrap(), dx)
}

/// The fused layer and its composite agree bit for bit, values and
/// gradients, for every activation, with and without a bias.
fn linear_matches_its_composite<T: Real>() {
    let be = Cpu::<T>::new();
    for (i, &(batch, fan_in, fan_out)) in LAYERS.iter().enumerate() {
        let s = 10 * i as u64;
        let u = Dist::Uniform { lo: -2.0, hi: 2.0 };
        let x = be.random(Shape::new(batch, fan_in), u, s);
        let w = be.random(Shape::new(fan_in, fan_out), u, s + 1);
        let b = be.random(Shape::new(1, fan_out), u, s + 2);
        let seed = be.random(Shape::new(batch, fan_out), u, s + 3);
        for act in ACTS {
            for with_bias in [true, false] {
                let inputs = if with_bias {
                    vec![x.clone(), w.clone(), b.clone()]
                } else {
                    vec![x.clone(), w.clone()]
                };
                let fused =
                    value_and_grads(&be, &inputs, &seed, |v| v[0].linear(&v[1], v.get(2), act));
                let plain = value_and_grads(&be, &inputs, &seed, |v| {
                    linear_composite(&v[0], &v[1], v.get(2), act)
                });
                let what = format!(
                    "{} [{batch}, {fan_in}] -> {fan_out}, {act:?}, bias {with_bias}",
                    be.name()
                );
                assert!(fused == plain, "{what}: the fused layer differs from its composite");
            }
        }
    }
}

#[test]
fn linear_matches_its_composite_bit_for_bit_f32() {
    linear_matches_its_composite::<f32>();
}

#[test]
fn linear_matches_its_composite_bit_for_bit_f64() {
    linear_matches_its_composite::<f64>();
}

#[test]
fn linear_passes_gradcheck() {
    // Inputs in [-2, 2): a pre-activation lands within ε = 1e-6 of relu's
    // kink with probability ~1e-6, so the kinked activations are checked too.
    for (i, &(batch, fan_in, fan_out)) in LAYERS[..5].iter().enumerate() {
        for act in ACTS {
            for with_bias in [true, false] {
                let s = 7 * i as u64;
                let mut inputs = vec![
                    random_input(batch, fan_in, -2.0, 2.0, s),
                    random_input(fan_in, fan_out, -1.0, 1.0, s + 1),
                ];
                if with_bias {
                    inputs.push(random_input(1, fan_out, -1.0, 1.0, s + 2));
                }
                gradcheck(|v: &[Var<F64>]| v[0].linear(&v[1], v.get(2), act), &inputs)
                    .unwrap_or_else(|e| panic!("linear [{batch}, {fan_in}] -> {fan_out}, {act:?}, bias {with_bias}: {e}"));
            }
        }
    }
}

#[test]
fn linear_by_hand() {
    // x = [[1, 2]], W = [[1, -1], [0.5, 2]], b = [[0.5, -4]], f = leaky_relu(0.25):
    //   z = x·W + b = [[1 + 1, -1 + 4]] + b = [[2.5, -1]],  y = f(z) = [[2.5, -0.25]]
    // Seed G = dL/dy = [[2, 4]]:
    //   dz = G · f'(z) = [[2 · 1, 4 · 0.25]] = [[2, 1]]
    //   db = Σ_rows dz = [[2, 1]]
    //   dW = xᵀ · dz = [[1], [2]] · [[2, 1]] = [[2, 1], [4, 2]]
    //   dx = dz · Wᵀ = [[2·1 + 1·(-1), 2·0.5 + 1·2]] = [[1, 3]]
    let be = Cpu::<f64>::new();
    let up = |r, c, d: &[f64]| be.upload(Shape::new(r, c), d).unwrap();
    let inputs = [up(1, 2, &[1.0, 2.0]), up(2, 2, &[1.0, -1.0, 0.5, 2.0]), up(1, 2, &[0.5, -4.0])];
    let seed = up(1, 2, &[2.0, 4.0]);
    let act = Some(Unary::LeakyRelu(0.25));
    let (y, d) = value_and_grads(&be, &inputs, &seed, |v| v[0].linear(&v[1], Some(&v[2]), act));
    assert_eq!(y, [2.5, -0.25]);
    assert_eq!(d[0], [1.0, 3.0]);
    assert_eq!(d[1], [2.0, 1.0, 4.0, 2.0]);
    assert_eq!(d[2], [2.0, 1.0]);
}

#[test]
fn linear_shape_errors_name_the_op_and_both_shapes() {
    let be = Cpu::<f64>::new();
    let tape = Tape::new(be);
    let leaf = |r, c| tape.leaf(be.fill(Shape::new(r, c), 1.0));
    let x = leaf(4, 3);
    let err = x.linear(&leaf(2, 5), None, None).unwrap_err().to_string();
    assert!(err.contains("linear") && err.contains("[4, 3]") && err.contains("[2, 5]"), "{err}");
    for bias in [leaf(5, 1), leaf(1, 4), leaf(4, 5)] {
        let err = x.linear(&leaf(3, 5), Some(&bias), None).unwrap_err().to_string();
        assert!(err.contains("linear") && err.contains("[1, 5]"), "{err}");
        assert!(err.contains(&bias.shape().to_string()), "{err}");
    }
}

/// Targets of each broadcasting form against `[rows, cols]` logits.
fn target_shapes(rows: usize, cols: usize) -> [Shape; 4] {
    [Shape::new(rows, cols), Shape::new(1, cols), Shape::new(rows, 1), Shape::scalar()]
}

/// The fused loss and `bce_with_logits` agree bit for bit, value and both
/// gradients, for every form of the targets.
fn bce_matches_its_composite<T: Real>() {
    let be = Cpu::<T>::new();
    for (i, (rows, cols)) in [(1, 1), (1, 7), (7, 1), (64, 1), (13, 5)].into_iter().enumerate() {
        let x = be.random(Shape::new(rows, cols), Dist::Uniform { lo: -6.0, hi: 6.0 }, i as u64);
        for t_shape in target_shapes(rows, cols) {
            let t = be.random(t_shape, Dist::Uniform { lo: 0.0, hi: 1.0 }, 50 + i as u64);
            let seed = be.fill(Shape::scalar(), 1.5);
            let inputs = [x.clone(), t.clone()];
            let fused = value_and_grads(&be, &inputs, &seed, |v| v[0].bce_logits(&v[1]));
            let plain = value_and_grads(&be, &inputs, &seed, |v| v[0].bce_with_logits(&v[1]));
            assert!(
                fused == plain,
                "{}: [{rows}, {cols}] against {t_shape}: {fused:?} vs {plain:?}",
                be.name()
            );
        }
    }
}

#[test]
fn bce_logits_matches_bce_with_logits_bit_for_bit_f32() {
    bce_matches_its_composite::<f32>();
}

#[test]
fn bce_logits_matches_bce_with_logits_bit_for_bit_f64() {
    bce_matches_its_composite::<f64>();
}

#[test]
fn bce_logits_passes_gradcheck() {
    // Both inputs tracked: the targets' gradient is checked too.
    for (rows, cols) in [(1, 1), (1, 7), (7, 1), (3, 5), (33, 65)] {
        for t_shape in target_shapes(rows, cols) {
            let x = random_input(rows, cols, -3.0, 3.0, 1);
            let t = random_input(t_shape.rows, t_shape.cols, 0.0, 1.0, 2);
            gradcheck(|v: &[Var<F64>]| v[0].bce_logits(&v[1]), &[x, t])
                .unwrap_or_else(|e| panic!("bce_logits [{rows}, {cols}] against {t_shape}: {e}"));
        }
    }
}

#[test]
fn bce_logits_by_hand() {
    // x = [0, 0], t = [1, 0.5]; softplus(0) = ln 2, so
    //   ℓ = ((ln 2 - 1·0) + (ln 2 - 0.5·0)) / 2 = ln 2
    //   dℓ/dx = (σ(x) - t)/n = ([0.5, 0.5] - [1, 0.5]) / 2 = [-0.25, 0]
    //   dℓ/dt = -x/n = [0, 0]
    let be = Cpu::<f64>::new();
    let x = be.upload(Shape::new(1, 2), &[0.0, 0.0]).unwrap();
    let t = be.upload(Shape::new(1, 2), &[1.0, 0.5]).unwrap();
    let (y, d) =
        value_and_grads(&be, &[x, t], &be.fill(Shape::scalar(), 1.0), |v| v[0].bce_logits(&v[1]));
    assert_eq!(y, [std::f64::consts::LN_2]);
    assert_eq!(d[0], [-0.25, 0.0]);
    assert_eq!(d[1], [0.0, 0.0]);
}

#[test]
fn bce_logits_rejects_targets_that_do_not_broadcast() {
    let be = Cpu::<f64>::new();
    let tape = Tape::new(be);
    let x = tape.leaf(be.fill(Shape::new(4, 3), 0.0));
    let t = tape.constant(be.fill(Shape::new(3, 4), 1.0));
    let err = x.bce_logits(&t).unwrap_err().to_string();
    assert!(
        err.contains("bce_with_logits") && err.contains("[4, 3]") && err.contains("[3, 4]"),
        "{err}"
    );
}

#[test]
fn adam_step_many_is_adam_step_on_each_tensor() {
    let be = Cpu::<f32>::new();
    let shapes = [Shape::new(3, 5), Shape::scalar(), Shape::new(1, 7), Shape::new(64, 65)];
    let draw = |s: Shape, seed| be.random(s, Dist::Uniform { lo: -1.0, hi: 1.0 }, seed);
    let fresh = |k: u64| -> Vec<[CpuTensor<f32>; 4]> {
        shapes
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let i = 10 * i as u64 + k;
                [
                    draw(s, i),
                    draw(s, i + 1),
                    draw(s, i + 2),
                    be.unary(Unary::Powi(2), &draw(s, i + 3)),
                ]
            })
            .collect()
    };
    let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: 3 };
    let (mut one_by_one, mut many) = (fresh(0), fresh(0));
    for [p, g, m, v] in &mut one_by_one {
        be.adam_step(p, g, m, v, hp).unwrap();
    }
    let tensors = many.iter_mut().map(|[p, g, m, v]| AdamTensors { param: p, grad: &*g, m, v });
    be.adam_step_many(tensors, hp).unwrap();
    for (a, b) in one_by_one.iter().zip(&many) {
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.data(), y.data());
            assert_eq!(x.shape(), y.shape());
        }
    }
}
