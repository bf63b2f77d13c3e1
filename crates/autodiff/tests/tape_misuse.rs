//! Misuse of the tape that would otherwise give a wrong gradient or a
//! panic, and must be an error naming the op:
//!
//! - an op whose inputs are variables of two different tapes (nodes are
//!   numbered per tape, so the op would be linked to unrelated nodes);
//! - a custom backward ([`Tape::record`]) returning a gradient whose shape
//!   is not its input's.

use minimax_autodiff::{concat_cols, Backend, Dist, Error, Reference, Shape, Tape, Var};

type B = Reference<f64>;

fn input(rows: usize, cols: usize, seed: u64) -> <B as Backend>::Tensor {
    B::new().random(Shape::new(rows, cols), Dist::Uniform { lo: 0.5, hi: 1.5 }, seed)
}

/// Asserts that `result` is an `Error::Invalid` of `op` saying the inputs
/// are on two tapes.
#[track_caller]
fn assert_two_tapes<T>(result: Result<T, Error>, op: &str) {
    match result {
        Ok(_) => panic!("{op}: variables of two tapes were accepted"),
        Err(e) => {
            assert!(matches!(e, Error::Invalid { op: o, .. } if o == op), "{op}: {e}");
            assert!(e.to_string().contains("must all be on one tape"), "{op}: {e}");
        }
    }
}

#[test]
fn an_op_mixing_two_tapes_is_an_error_naming_the_op() {
    let (tape_a, tape_b) = (Tape::new(B::new()), Tape::new(B::new()));
    // Tape A holds more nodes than tape B, so q's node number on B also
    // names a (different) node on A: the silent case.
    let x0 = tape_a.leaf(input(2, 2, 1));
    let x1 = tape_a.leaf(input(2, 2, 2));
    let q = tape_b.leaf(input(2, 2, 3));
    assert_two_tapes(x1.mul(&q), "mul");
    assert_two_tapes(q.mul(&x1), "mul");
    assert_two_tapes(x0.add(&q), "add");
    assert_two_tapes(x0.sub(&q), "sub");
    assert_two_tapes(x0.div(&q), "div");
    // q's number names no node on tape A's side for these: the panics.
    let p = tape_b.leaf(input(2, 2, 4));
    let p = p.add(&p).unwrap().add(&p).unwrap(); // node 3 on tape B
    assert_two_tapes(x0.matmul(&p), "matmul");
    assert_two_tapes(p.matmul_t(true, &x0, false), "matmul");
    assert_two_tapes(concat_cols(&[&x0, &p]), "concat_cols");
    assert_two_tapes(concat_cols(&[&p, &x0, &p]), "concat_cols");
    // A custom op recorded on a tape none of its inputs is on.
    let value = x0.value().clone();
    let backward = Box::new(|_: &B, g: &<B as Backend>::Tensor| Ok(vec![g.clone()]));
    assert_two_tapes(tape_b.record("my_identity", value, &[&x0], backward), "my_identity");
    // Each tape still works on its own.
    let grads = tape_a.backward(&x1.mul(&x0).unwrap().sum()).unwrap();
    assert_eq!(grads.get(&x1).unwrap(), x0.value());
}

#[test]
fn tape_ids_survive_a_reset_and_are_shared_by_clones() {
    let mut tape = Tape::new(B::new());
    let clone = tape.clone();
    let (a, b) = (tape.leaf(input(1, 3, 1)), clone.leaf(input(1, 3, 2)));
    a.mul(&b).unwrap(); // a clone is the same tape
    drop((a, b, clone));
    tape.reset().unwrap();
    let (a, b) = (tape.leaf(input(1, 3, 1)), tape.leaf(input(1, 3, 2)));
    a.mul(&b).unwrap();
    let other = Tape::new(B::new());
    assert_two_tapes(a.mul(&other.leaf(input(1, 3, 3))), "mul");
}

/// `y = x` recorded as op `name` with a backward returning `shape`-shaped
/// gradients of ones.
fn identity_with_gradient_of(x: &Var<B>, name: &'static str, shape: Shape) -> Var<B> {
    let backward =
        Box::new(move |be: &B, _: &<B as Backend>::Tensor| Ok(vec![be.fill(shape, 1.0)]));
    x.tape().record(name, x.value().clone(), &[x], backward).unwrap()
}

#[test]
fn a_custom_gradient_of_the_wrong_shape_is_an_error_naming_the_op_and_both_shapes() {
    let tape = Tape::new(B::new());
    let x = tape.leaf(input(2, 2, 1));
    let y = identity_with_gradient_of(&x, "my_op", Shape::new(5, 5));
    let err = tape.backward(&y.sum()).err().expect("a [5, 5] gradient for a [2, 2] input");
    assert!(matches!(err, Error::Shape { op: "my_op", .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("my_op: [2, 2] and [5, 5]"), "{message}");
    assert!(message.contains("input 0"), "{message}");
    // Even for an input that needs no gradient (a constant): the rule is
    // wrong. `y = x + 0 · c`, whose backward gives c a [1, 1] gradient.
    let c = tape.constant(input(2, 2, 2));
    let backward = Box::new(|be: &B, g: &<B as Backend>::Tensor| {
        Ok(vec![g.clone(), be.fill(Shape::new(1, 1), 0.0)])
    });
    let y = tape.record("my_op2", x.value().clone(), &[&x, &c], backward).unwrap();
    let err = tape.backward(&y.sum()).err().expect("a [1, 1] gradient for a [2, 2] input");
    assert!(err.to_string().starts_with("my_op2: [2, 2] and [1, 1]"), "{err}");
    assert!(err.to_string().contains("input 1"), "{err}");
    // The right shape passes.
    let y = identity_with_gradient_of(&x, "my_op", Shape::new(2, 2));
    let grads = tape.backward(&y.sum()).unwrap();
    assert_eq!(B::new().download(grads.get(&x).unwrap()).unwrap(), vec![1.0; 4]);
}
