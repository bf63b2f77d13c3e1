//! The optimizers against updates computed by hand, following PyTorch's
//! definitions (`torch.optim.SGD`, `Adam`, `AdamW`), in f64 on the CPU.

use minimax_autodiff::{Backend, Shape};
use minimax_cpu::Cpu;
use minimax_nn::{Optimizer, OptimizerConfig, ParamStore};

type Be = Cpu<f64>;

/// A store of scalar parameters `name = value`.
fn store(be: &Be, params: &[(&str, f64)]) -> ParamStore<Be> {
    let mut s = ParamStore::new();
    for &(name, v) in params {
        s.push(name, be.upload(Shape::scalar(), &[v]).unwrap());
    }
    s
}

fn value(be: &Be, s: &ParamStore<Be>, name: &str) -> f64 {
    be.download(&s.get(name).unwrap().tensor).unwrap()[0]
}

fn scalar(be: &Be, v: f64) -> <Be as Backend>::Tensor {
    be.upload(Shape::scalar(), &[v]).unwrap()
}

#[test]
fn sgd_nesterov_with_weight_decay_matches_the_hand_computation() {
    // p = 1, g = 1, λ = 0.1, μ = 0.9, lr = 0.1 (PyTorch's order):
    //   g' = g + λp = 1.1
    //   v  = μ·0 + g' = 1.1
    //   p ← p − lr·(g' + μv) = 1 − 0.1·(1.1 + 0.99) = 0.791
    // Step 2 with g = 2, p = 0.791:
    //   g' = 2 + 0.0791 = 2.0791
    //   v  = 0.9·1.1 + 2.0791 = 3.0691
    //   p ← 0.791 − 0.1·(2.0791 + 0.9·3.0691) = 0.791 − 0.1·4.84129 = 0.306871
    let be = Be::new();
    let mut params = store(&be, &[("p", 1.0)]);
    let config = OptimizerConfig::sgd(0.1, 0.9).with_nesterov().with_weight_decay(0.1);
    let mut opt = Optimizer::new(&be, config, &params);
    let g1 = scalar(&be, 1.0);
    opt.step_with(&be, &mut params, |_| Some(&g1)).unwrap();
    assert!((value(&be, &params, "p") - 0.791).abs() < 1e-15);
    let g2 = scalar(&be, 2.0);
    opt.step_with(&be, &mut params, |_| Some(&g2)).unwrap();
    assert!((value(&be, &params, "p") - 0.306871).abs() < 1e-14);
}

#[test]
fn adamw_decays_the_weights_apart_from_the_gradient() {
    // p = 1, g = 0.5, lr = 0.1, λ = 0.01, first step:
    //   p ← p·(1 − lr·λ) = 0.999
    //   m̂ = g, v̂ = g², so p ← 0.999 − 0.1 · 0.5/(0.5 + 1e-8)
    let be = Be::new();
    let mut params = store(&be, &[("p", 1.0)]);
    let mut opt = Optimizer::new(&be, OptimizerConfig::adamw(0.1, 0.9, 0.999, 1e-8, 0.01), &params);
    let g = scalar(&be, 0.5);
    opt.step_with(&be, &mut params, |_| Some(&g)).unwrap();
    let want = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8);
    assert!((value(&be, &params, "p") - want).abs() < 1e-15);
}

#[test]
fn adam_with_l2_weight_decay_adds_it_to_the_gradient() {
    // p = 2, g = 0.5, λ = 0.25: g' = 0.5 + 0.5 = 1; first step moves by
    // lr · g'/(|g'| + ε) = 0.1 · 1/(1 + 1e-8).
    let be = Be::new();
    let mut params = store(&be, &[("p", 2.0)]);
    let config = OptimizerConfig::adam(0.1, 0.9, 0.999, 1e-8).with_weight_decay(0.25);
    let mut opt = Optimizer::new(&be, config, &params);
    let g = scalar(&be, 0.5);
    opt.step_with(&be, &mut params, |_| Some(&g)).unwrap();
    assert!((value(&be, &params, "p") - (2.0 - 0.1 / (1.0 + 1e-8))).abs() < 1e-15);
}

#[test]
fn adam_counts_steps_per_parameter() {
    // `b` gets no gradient on step 1 and one on step 2. Its first update
    // must use t = 1, as PyTorch's per-parameter `state['step']` does:
    //   m̂ = g, v̂ = g²: Δ = lr · g/(|g| + ε) ≈ lr = 0.01.
    // Counting steps per optimizer (t = 2) gave
    //   Δ = lr · (g/(1+β₁)) / (|g|/√(1+β₂)) = 0.01 · √1.999/1.5 ≈ 0.009426.
    let be = Be::new();
    let mut params = store(&be, &[("a", 0.0), ("b", 0.0)]);
    let mut opt = Optimizer::new(&be, OptimizerConfig::adam(0.01, 0.5, 0.999, 1e-8), &params);
    let g = scalar(&be, 3.0);
    opt.step_with(&be, &mut params, |i| (i == 0).then_some(&g)).unwrap();
    assert_eq!(value(&be, &params, "b"), 0.0);
    assert_eq!(opt.update_counts(), &[1, 0]);
    opt.step_with(&be, &mut params, |_| Some(&g)).unwrap();
    let want = -0.01 * 3.0 / (3.0 + 1e-8);
    assert!((value(&be, &params, "b") - want).abs() < 1e-15, "{}", value(&be, &params, "b"));
    assert_eq!((opt.update_counts(), opt.steps()), (&[2, 1][..], 2));
}

#[test]
fn a_gradient_of_the_wrong_shape_is_refused_naming_both_shapes() {
    let be = Be::new();
    let mut params = store(&be, &[("p", 1.0)]);
    let mut opt = Optimizer::new(&be, OptimizerConfig::sgd(0.1, 0.0), &params);
    let g = be.upload(Shape::new(2, 2), &[1.0; 4]).unwrap();
    let err = opt.step_with(&be, &mut params, |_| Some(&g)).unwrap_err().to_string();
    assert!(
        err.contains("Optimizer::step") && err.contains("[1, 1]") && err.contains("[2, 2]"),
        "{err}"
    );
}

#[test]
fn hyperparameters_out_of_range_are_named() {
    for (config, word) in [
        (OptimizerConfig::adam(1e-3, 0.5, 1.0, 1e-8), "beta2 = 1.0"),
        (OptimizerConfig::adam(1e-3, 0.5, 0.999, -1e-8), "eps = -1e-8"),
        (OptimizerConfig::sgd(1e-300, 0.9), "lr = 1e-300"),
        (OptimizerConfig::sgd(0.1, 0.0).with_nesterov(), "Nesterov"),
        (OptimizerConfig::sgd(0.1, 0.9).with_weight_decay(-1.0), "weight_decay"),
    ] {
        let err = config.validate().unwrap_err();
        assert!(err.contains(word), "{err:?} should mention {word:?}");
    }
    assert!(OptimizerConfig::adamw(1e-3, 0.9, 0.999, 1e-8, 0.01).validate().is_ok());
}

#[test]
fn plain_adam_updates_all_parameters_as_adam_step_does_on_each() {
    // The optimizer's fast path (one `adam_step_many` call for every
    // parameter at the same count) against its reference, `adam_step` on
    // each tensor with t = 1, 2, 3: the same numbers, bit for bit, on
    // parameters of awkward sizes.
    use minimax_autodiff::{AdamStep, Dist};
    let be = Be::new();
    let shapes = [Shape::new(7, 3), Shape::new(1, 65), Shape::scalar()];
    let mut params = ParamStore::<Be>::new();
    for (i, &shape) in shapes.iter().enumerate() {
        params.push(
            format!("p{i}"),
            be.random(shape, Dist::Normal { mean: 0.0, std: 1.0 }, i as u64),
        );
    }
    let mut reference: Vec<_> = params.iter().map(|p| p.tensor.clone()).collect();
    let zeros = |s: Shape| be.fill(s, 0.0);
    let mut m: Vec<_> = shapes.iter().map(|&s| zeros(s)).collect();
    let mut v: Vec<_> = shapes.iter().map(|&s| zeros(s)).collect();
    let config = OptimizerConfig::adam(0.01, 0.5, 0.999, 1e-8);
    let mut opt = Optimizer::new(&be, config, &params);
    for t in 1..=3u32 {
        let grads: Vec<_> = shapes
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                be.random(s, Dist::Normal { mean: 0.0, std: 1.0 }, 100 * t as u64 + i as u64)
            })
            .collect();
        opt.step_with(&be, &mut params, |i| grads.get(i)).unwrap();
        let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t };
        for i in 0..shapes.len() {
            be.adam_step(&mut reference[i], &grads[i], &mut m[i], &mut v[i], hp).unwrap();
        }
    }
    for (p, want) in params.iter().zip(&reference) {
        assert_eq!(be.download(&p.tensor).unwrap(), be.download(want).unwrap(), "{}", p.name);
    }
}

/// An optimizer steps only the store it was built for: one with more
/// parameters (whose extra ones it would skip) or a parameter of another
/// shape is an error naming it, checked before anything moves, so the
/// store, the state and the step count are as they were.
#[test]
fn a_store_the_optimizer_was_not_built_for_is_refused_before_anything_moves() {
    let be = Be::new();
    let small = store(&be, &[("a", 1.0), ("b", 2.0)]);
    let mut adam = Optimizer::new(&be, OptimizerConfig::adam(0.1, 0.9, 0.999, 1e-8), &small);
    let g = scalar(&be, 1.0);
    // One parameter more than the optimizer has state for.
    let mut bigger = store(&be, &[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
    let err = adam.step_with(&be, &mut bigger, |_| Some(&g)).unwrap_err().to_string();
    assert!(err.contains("built for 2 parameters, the store has 3"), "{err}");
    // A parameter of another shape than its state.
    let mut reshaped = store(&be, &[("a", 1.0)]);
    reshaped.push("b", be.upload(Shape::new(1, 2), &[2.0, 2.0]).unwrap());
    let err = adam.step_with(&be, &mut reshaped, |_| Some(&g)).unwrap_err().to_string();
    assert!(err.contains("b is [1, 2], the optimizer's state for it [1, 1]"), "{err}");
    // Nothing moved: not the stores, not the step count.
    assert_eq!((value(&be, &bigger, "a"), value(&be, &reshaped, "a")), (1.0, 1.0));
    assert_eq!(adam.steps(), 0);
}
