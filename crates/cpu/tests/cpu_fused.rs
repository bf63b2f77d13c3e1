//! The CPU backend's fused kernels (`cpu/fused.rs`, and its multi-tensor
//! Adam) against the trait's plain references (`backend::plain_linear`,
//! `plain_bias_act_backward`, `plain_bce_with_logits[_backward]`, and
//! `adam_step` on each tensor), on awkward shapes (1, 7, 63, 64, 65, 257
//! rows and columns), in `f32` and `f64`.
//!
//! Every comparison is exact: each fused kernel does, element by element,
//! the operations its plain version does, in the same order (the same
//! scalar functions, the same summation order for the bias's column sums
//! and the loss's sum), so there is no rounding difference to allow for.
//! And each gives the same bits on one thread and on two, on sizes past the
//! thresholds at which the work is split.

use minimax_autodiff::backend::{
    plain_bce_with_logits, plain_bce_with_logits_backward, plain_bias_act_backward, plain_linear,
};
use minimax_autodiff::{
    AdamStep, AdamTensors, Backend, Binary, Dist, Real, Shape, TensorShape, Unary,
};
use minimax_cpu::threads::with_threads;
use minimax_cpu::ELEMENTWISE_PER_THREAD;
use minimax_cpu::{Cpu, CpuTensor};

const SIZES: [usize; 6] = [1, 7, 63, 64, 65, 257];

/// The activations a layer uses, and none.
const ACTS: [Option<Unary>; 6] = [
    None,
    Some(Unary::LeakyRelu(0.2)),
    Some(Unary::Tanh),
    Some(Unary::Sigmoid),
    Some(Unary::Relu),
    Some(Unary::Elu(1.0)),
];

fn draw<T: Real>(be: &Cpu<T>, shape: Shape, seed: u64) -> CpuTensor<T> {
    be.random(shape, Dist::Uniform { lo: -2.0, hi: 2.0 }, seed)
}

/// Asserts two tensors are the same shape and the same bits.
fn same<T: Real>(a: &CpuTensor<T>, b: &CpuTensor<T>, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    let bits = |t: &CpuTensor<T>| t.data().iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
    assert!(bits(a) == bits(b), "{what}: values differ");
}

fn linear_matches_plain<T: Real>() {
    let be = Cpu::<T>::new();
    for rows in SIZES {
        for cols in SIZES {
            let x = draw(&be, Shape::new(rows, 7), 1); // [batch, in 7]
            let w = draw(&be, Shape::new(7, cols), 2); // [in 7, out]
            let b = draw(&be, Shape::new(1, cols), 3); // [1, out]
            for act in ACTS {
                for bias in [Some(&b), None] {
                    let what =
                        format!("linear [{rows}, 7]·[7, {cols}] {act:?} bias {}", bias.is_some());
                    let (z, y) = be.linear(&x, &w, bias, act).unwrap();
                    let (z0, y0) = plain_linear(&be, &x, &w, bias, act).unwrap();
                    same(&z, &z0, &format!("{what}: z"));
                    same(&y, &y0, &format!("{what}: y"));
                }
            }
        }
    }
}

#[test]
fn linear_is_plain_linear_bit_for_bit() {
    linear_matches_plain::<f32>();
    linear_matches_plain::<f64>();
}

fn bias_act_backward_matches_plain<T: Real>() {
    let be = Cpu::<T>::new();
    for rows in SIZES {
        for cols in SIZES {
            let shape = Shape::new(rows, cols); // [batch, out]
            let z = draw(&be, shape, 4);
            let dy = draw(&be, shape, 5);
            for act in ACTS {
                let y = match act {
                    Some(op) => be.unary(op, &z),
                    None => z.clone(),
                };
                for bias in [true, false] {
                    let what = format!("bias_act_backward [{rows}, {cols}] {act:?} bias {bias}");
                    let (dz, db) = be.bias_act_backward(act, &z, &y, &dy, bias).unwrap();
                    let (dz0, db0) = plain_bias_act_backward(&be, act, &z, &y, &dy, bias).unwrap();
                    same(&dz, &dz0, &format!("{what}: dz"));
                    assert_eq!(db.is_some(), bias, "{what}: db given iff asked for");
                    if let (Some(db), Some(db0)) = (db, db0) {
                        same(&db, &db0, &format!("{what}: db"));
                    }
                }
            }
        }
    }
}

#[test]
fn bias_act_backward_is_the_plain_one_bit_for_bit() {
    bias_act_backward_matches_plain::<f32>();
    bias_act_backward_matches_plain::<f64>();
}

#[test]
fn bias_act_backward_rejects_mismatched_shapes() {
    let be = Cpu::<f32>::new();
    let z = draw(&be, Shape::new(4, 3), 1);
    let dy = draw(&be, Shape::new(3, 4), 2);
    let err = be.bias_act_backward(Some(Unary::Tanh), &z, &z, &dy, true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("bias_act_backward") && msg.contains("[4, 3]") && msg.contains("[3, 4]"));
}

/// Targets of each shape the broadcasting rule allows against `[rows, cols]`.
fn targets(rows: usize, cols: usize) -> [Shape; 4] {
    [Shape::new(rows, cols), Shape::new(1, cols), Shape::new(rows, 1), Shape::scalar()]
}

fn bce_matches_plain<T: Real>() {
    let be = Cpu::<T>::new();
    for rows in SIZES {
        for cols in SIZES {
            // Logits wide enough to reach both branches of softplus and σ.
            let x = be.random(Shape::new(rows, cols), Dist::Uniform { lo: -30.0, hi: 30.0 }, 6);
            let g = be.upload(Shape::scalar(), &[T::from_f64(0.75)]).unwrap();
            for (k, ts) in targets(rows, cols).into_iter().enumerate() {
                let t = be.random(ts, Dist::Uniform { lo: 0.0, hi: 1.0 }, 7 + k as u64);
                let what = format!("bce [{rows}, {cols}] against {ts}");
                let loss = be.bce_with_logits(&x, &t).unwrap();
                same(&loss, &plain_bce_with_logits(&be, &x, &t).unwrap(), &what);
                let dx = be.bce_with_logits_backward(&x, &t, &g).unwrap();
                let dx0 = plain_bce_with_logits_backward(&be, &x, &t, &g).unwrap();
                same(&dx, &dx0, &format!("{what}: backward"));
            }
        }
    }
}

#[test]
fn bce_with_logits_is_the_plain_composite_bit_for_bit() {
    bce_matches_plain::<f32>();
    bce_matches_plain::<f64>();
}

#[test]
fn bce_with_logits_rejects_bad_shapes() {
    let be = Cpu::<f32>::new();
    let x = draw(&be, Shape::new(4, 3), 1);
    let t = draw(&be, Shape::new(2, 3), 2);
    let msg = be.bce_with_logits(&x, &t).unwrap_err().to_string();
    assert!(msg.contains("bce_with_logits") && msg.contains("[4, 3]") && msg.contains("[2, 3]"));
    let g = draw(&be, Shape::new(1, 2), 3);
    let msg = be.bce_with_logits_backward(&x, &x, &g).unwrap_err().to_string();
    assert!(msg.contains("bce_with_logits_backward") && msg.contains("[1, 2]"), "{msg}");
}

/// Parameter shapes for the multi-tensor Adam: every awkward size, more
/// tensors than one batch of the CPU's update holds (32), and together
/// past two threads' threshold.
fn adam_shapes() -> Vec<Shape> {
    let mut shapes: Vec<Shape> =
        SIZES.iter().flat_map(|&r| SIZES.iter().map(move |&c| Shape::new(r, c))).collect();
    shapes.push(Shape::new(257, 2 * ELEMENTWISE_PER_THREAD / 257 + 3));
    shapes
}

/// `[p, g, m, v]` per shape; `v` non-negative, as Adam keeps it.
fn adam_state<T: Real>(be: &Cpu<T>, seed: u64) -> Vec<[CpuTensor<T>; 4]> {
    let shapes = adam_shapes();
    (0..shapes.len())
        .map(|i| {
            let (s, k) = (shapes[i], seed + 10 * i as u64);
            let v = be.unary(Unary::Powi(2), &draw(be, s, k + 3));
            [draw(be, s, k), draw(be, s, k + 1), draw(be, s, k + 2), v]
        })
        .collect()
}

/// Three steps of `adam_step_many`; with `hold`, a clone of every third
/// parameter is kept alive (as a tape's leaf would), so both the in-place
/// and the out-of-place paths run.
fn adam_many<T: Real>(be: &Cpu<T>, hold: bool) -> Vec<[CpuTensor<T>; 4]> {
    let mut state = adam_state(be, 0);
    for t in 1..=3 {
        let held: Vec<CpuTensor<T>> =
            if hold { state.iter().step_by(3).map(|[p, ..]| p.clone()).collect() } else { vec![] };
        let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t };
        let tensors =
            state.iter_mut().map(|[p, g, m, v]| AdamTensors { param: p, grad: &*g, m, v });
        be.adam_step_many(tensors, hp).unwrap();
        drop(held);
    }
    state
}

fn adam_many_matches_adam_step<T: Real>() {
    let be = Cpu::<T>::new();
    let mut reference = adam_state(&be, 0);
    for t in 1..=3 {
        let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t };
        for [p, g, m, v] in &mut reference {
            be.adam_step(p, g, m, v, hp).unwrap();
        }
    }
    for hold in [false, true] {
        for threads in [1, 2] {
            let got = with_threads(threads, || adam_many(&be, hold));
            for (i, (a, b)) in got.iter().zip(&reference).enumerate() {
                for (x, y) in a.iter().zip(b) {
                    same(x, y, &format!("adam tensor {i}, {threads} threads, held {hold}"));
                }
            }
        }
    }
}

#[test]
fn adam_step_many_is_adam_step_on_each_tensor_in_place_shared_and_threaded() {
    adam_many_matches_adam_step::<f32>();
    adam_many_matches_adam_step::<f64>();
}

#[test]
fn adam_step_many_updates_an_unshared_parameter_in_place() {
    let be = Cpu::<f32>::new();
    let mut state = adam_state(&be, 0);
    let before: Vec<*const f32> = state.iter().map(|[p, ..]| p.data().as_ptr()).collect();
    let hp = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: 1 };
    let tensors = state.iter_mut().map(|[p, g, m, v]| AdamTensors { param: p, grad: &*g, m, v });
    be.adam_step_many(tensors, hp).unwrap();
    for (i, [p, ..]) in state.iter().enumerate() {
        assert_eq!(p.data().as_ptr(), before[i], "tensor {i} was moved to a new buffer");
    }
}

/// Everything the fused kernels compute on sizes past two threads'
/// thresholds (uneven, so the last part is short), downloaded.
fn fused_outputs(be: &Cpu<f32>) -> Vec<Vec<f32>> {
    let (rows, cols) = (301, 2 * ELEMENTWISE_PER_THREAD / 300 + 7);
    let x = draw(be, Shape::new(rows, 65), 1); // [301, 65]
    let w = draw(be, Shape::new(65, cols), 2); // [65, cols]
    let b = draw(be, Shape::new(1, cols), 3);
    let dy = draw(be, Shape::new(rows, cols), 4);
    let t = be.random(Shape::new(rows, cols), Dist::Uniform { lo: 0.0, hi: 1.0 }, 5);
    let g = be.fill(Shape::scalar(), 1.0);
    let get = |t: &CpuTensor<f32>| t.data().to_vec();
    let mut out = Vec::new();
    for act in ACTS {
        let (z, y) = be.linear(&x, &w, Some(&b), act).unwrap();
        let (dz, db) = be.bias_act_backward(act, &z, &y, &dy, true).unwrap();
        out.extend([get(&z), get(&y), get(&dz), get(&db.unwrap())]);
    }
    out.push(get(&be.bce_with_logits(&dy, &t).unwrap()));
    out.push(get(&be.bce_with_logits_backward(&dy, &t, &g).unwrap()));
    for [p, g, m, v] in adam_many(be, false) {
        out.extend([get(&p), get(&g), get(&m), get(&v)]);
    }
    out
}

#[test]
fn fused_kernels_give_the_same_bits_for_any_thread_count() {
    let be = Cpu::<f32>::new();
    let one = with_threads(1, || fused_outputs(&be));
    for threads in [2, 3] {
        let many = with_threads(threads, || fused_outputs(&be));
        for (i, (a, b)) in one.iter().zip(&many).enumerate() {
            assert!(a == b, "output {i} differs between 1 and {threads} threads");
        }
    }
}

/// `accumulate` (the tape's sum of a tensor's gradients) against
/// `binary(Add)`: the same bits, in place when `acc` is held alone (the
/// result is `acc`'s own buffer), and a new buffer, leaving `acc` as it
/// was, when another handle shares it; on sizes past the threading
/// threshold, with one and two threads.
fn accumulate_matches_add<T: Real>() {
    let be = Cpu::<T>::new();
    let big = ELEMENTWISE_PER_THREAD.div_ceil(64) * 3; // rows of 64: split across threads
    for rows in SIZES.into_iter().chain([big]) {
        for cols in [1, 7, 64] {
            for threads in [1, 2] {
                let shape = Shape::new(rows, cols);
                let what = format!("accumulate {shape:?}, {threads} threads");
                let (acc, g) = (draw(&be, shape, 4), draw(&be, shape, 5));
                let want = be.binary(Binary::Add, &acc, &g).unwrap();
                // Alone: in place.
                let alone = be.binary(Binary::Mul, &acc, &be.fill(shape, 1.0));
                let alone = alone.unwrap(); // a copy of acc's values in a buffer of its own
                let ptr = alone.data().as_ptr();
                let sum = with_threads(threads, || be.accumulate(alone, &g)).unwrap();
                same(&sum, &want, &what);
                assert_eq!(sum.data().as_ptr(), ptr, "{what}: not in place");
                // Shared: a new buffer, `acc` untouched.
                let before = acc.clone();
                let kept: Vec<f64> = acc.data().iter().map(|v| v.to_f64()).collect();
                let sum = with_threads(threads, || be.accumulate(acc, &g)).unwrap();
                same(&sum, &want, &format!("{what}, shared"));
                let after: Vec<f64> = before.data().iter().map(|v| v.to_f64()).collect();
                assert!(kept == after, "{what}: a shared buffer was written");
            }
        }
    }
}

#[test]
fn accumulate_is_add_in_place_when_unshared_and_a_copy_when_shared() {
    accumulate_matches_add::<f32>();
    accumulate_matches_add::<f64>();
}
