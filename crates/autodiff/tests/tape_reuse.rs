//! Reusing a tape across passes (`Tape::reset`), and the backward rules'
//! skipping of inputs that need no gradient.
//!
//! - A reset tape gives bit-for-bit the values and gradients of a fresh one.
//! - `reset` refuses, with an error naming what is still alive, while a
//!   variable or the gradients of the last pass could still be used.
//! - Gradients and outputs are tied to their tape: a variable of another
//!   tape has no gradient in `Grads`, and `backward` refuses its output.
//! - A rule computes no gradient for a constant input, and the gradients it
//!   does compute are those of the same op with every input tracked.
//! - A user-defined backward (`Tape::record`) that returns the wrong number
//!   of gradients is an error, not a panic.

use minimax_autodiff::{concat_cols, Backend, Dist, Error, Reference, Result, Shape, Tape, Var};

type B = Reference<f64>;

fn input(rows: usize, cols: usize, seed: u64) -> <B as Backend>::Tensor {
    B::new().random(Shape::new(rows, cols), Dist::Uniform { lo: 0.5, hi: 1.5 }, seed)
}

/// One pass on `tape`: `loss = Σ tanh(x·w + b) / w₀₀`, and the gradients
/// of `w` and `b`, downloaded.
fn pass(tape: &Tape<B>, seed: u64) -> (f64, Vec<f64>, Vec<f64>) {
    let be = B::new();
    let x = tape.constant(input(5, 3, seed)); // [5, 3]
    let w = tape.leaf(input(3, 4, seed + 1)); // [3, 4]
    let b = tape.leaf(input(1, 4, seed + 2)); // [1, 4]
    let corner = w.slice_cols(0, 1).unwrap().sum(); // [1, 1]
    let loss = x.matmul(&w).unwrap().add(&b).unwrap().tanh().sum().div(&corner).unwrap();
    let grads = tape.backward(&loss).unwrap();
    let dw = be.download(grads.get(&w).unwrap()).unwrap();
    let db = be.download(grads.get(&b).unwrap()).unwrap();
    (loss.item().unwrap(), dw, db)
}

#[test]
fn a_reset_tape_gives_the_results_of_a_fresh_one() {
    let mut tape = Tape::new(B::new());
    for seed in [1, 10, 20] {
        tape.reset().unwrap();
        let reused = pass(&tape, seed);
        let fresh = pass(&Tape::new(B::new()), seed);
        assert_eq!(reused, fresh, "seed {seed}");
    }
    let recorded = tape.len();
    tape.reset().unwrap();
    assert!(recorded > 0 && tape.is_empty(), "{recorded} nodes, then {}", tape.len());
}

#[test]
fn reset_refuses_while_a_variable_or_the_gradients_are_alive() {
    let mut tape = Tape::new(B::new());
    let x = tape.leaf(input(2, 2, 1));
    let y = x.square().sum();
    let err = tape.reset().unwrap_err();
    assert!(matches!(err, Error::Invalid { op: "Tape::reset", .. }), "{err}");
    assert!(err.to_string().contains("2 variables, gradients or clones"), "{err}");
    let grads = tape.backward(&y).unwrap();
    drop((x, y));
    let err = tape.reset().unwrap_err();
    assert!(err.to_string().contains("1 variables, gradients or clones"), "{err}");
    assert_eq!(tape.len(), 3, "a refused reset leaves the tape as it was");
    drop(grads);
    tape.reset().unwrap();
    assert!(tape.is_empty());
}

#[test]
fn gradients_and_outputs_belong_to_their_tape() {
    let (one, other) = (Tape::new(B::new()), Tape::new(B::new()));
    let x = one.leaf(input(1, 3, 1));
    let x_elsewhere = other.leaf(input(1, 3, 1)); // the same id, on another tape
    let grads = one.backward(&x.square().sum()).unwrap();
    assert!(grads.get(&x).is_some());
    assert!(grads.get(&x_elsewhere).is_none());
    let err = other.backward(&x.sum()).err().expect("an error");
    assert!(err.to_string().contains("another tape"), "{err}");
}

/// The gradient of every leaf of `f(inputs)` (seeded with ones), with the
/// inputs flagged in `constant` put on the tape as constants (`None` there).
fn grads_with_constants(
    inputs: &[<B as Backend>::Tensor],
    constant: &[bool],
    f: impl Fn(&[Var<B>]) -> Result<Var<B>>,
) -> Vec<Option<Vec<f64>>> {
    let be = B::new();
    let tape = Tape::new(be);
    let vars: Vec<Var<B>> = inputs
        .iter()
        .zip(constant)
        .map(|(x, &c)| if c { tape.constant(x.clone()) } else { tape.leaf(x.clone()) })
        .collect();
    let y = f(&vars).unwrap();
    let grads = tape.backward_with(&y, be.fill(y.shape(), 1.0)).unwrap();
    vars.iter().map(|v| grads.get(v).map(|g| be.download(g).unwrap())).collect()
}

#[test]
fn a_constant_input_gets_no_gradient_and_changes_no_other() {
    type Op = fn(&[Var<B>]) -> Result<Var<B>>;
    let ops: [(&str, Shape, Shape, Op); 9] = [
        ("matmul", Shape::new(4, 3), Shape::new(3, 2), |v| v[0].matmul(&v[1])),
        ("matmul(aᵀ, b)", Shape::new(3, 4), Shape::new(3, 2), |v| {
            v[0].matmul_t(true, &v[1], false)
        }),
        ("matmul(a, bᵀ)", Shape::new(4, 3), Shape::new(2, 3), |v| {
            v[0].matmul_t(false, &v[1], true)
        }),
        ("matmul(aᵀ, bᵀ)", Shape::new(3, 4), Shape::new(2, 3), |v| {
            v[0].matmul_t(true, &v[1], true)
        }),
        ("add", Shape::new(4, 3), Shape::new(1, 3), |v| v[0].add(&v[1])),
        ("sub", Shape::new(4, 3), Shape::new(4, 1), |v| v[0].sub(&v[1])),
        ("mul", Shape::new(4, 3), Shape::new(1, 1), |v| v[0].mul(&v[1])),
        ("div", Shape::new(4, 3), Shape::new(4, 3), |v| v[0].div(&v[1])),
        ("concat_cols", Shape::new(4, 3), Shape::new(4, 2), |v| {
            concat_cols(&[&v[0], &v[1], &v[0].slice_cols(1, 1)?])
        }),
    ];
    for (name, a, b, op) in ops {
        let inputs = [input(a.rows, a.cols, 1), input(b.rows, b.cols, 2)];
        let [da, db] = <[_; 2]>::try_from(grads_with_constants(&inputs, &[false, false], op))
            .expect("two inputs");
        let only_b = grads_with_constants(&inputs, &[true, false], op);
        assert_eq!(only_b, [None, db], "{name}: a constant");
        let only_a = grads_with_constants(&inputs, &[false, true], op);
        assert_eq!(only_a, [da, None], "{name}: b constant");
    }
}

#[test]
fn a_custom_backward_with_the_wrong_number_of_gradients_is_an_error() {
    let be = B::new();
    let tape = Tape::new(be);
    let (a, b) = (tape.leaf(input(1, 2, 1)), tape.leaf(input(1, 2, 2)));
    let sum = be.binary(minimax_autodiff::Binary::Add, a.value(), b.value()).unwrap();
    // y = a + b, whose backward forgets b's gradient.
    let y = tape.record("my_add", sum, &[&a, &b], Box::new(|_, g| Ok(vec![g.clone()]))).unwrap();
    let err = tape.backward(&y.sum()).err().expect("an error");
    assert_eq!(err.to_string(), "my_add: the backward returned 1 gradients for 2 inputs");
}
