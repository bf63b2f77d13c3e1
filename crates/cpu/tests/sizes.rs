//! Shapes too large for any tensor: an error naming the op and the shape,
//! never a `rows * cols` that wraps around (release builds do not check
//! overflow: `[2³², 2³²]` had 0 elements and was accepted) and never an
//! abort on a huge allocation. One tensor holds at most
//! `Shape::MAX_NUMEL` = u32::MAX elements.

use minimax_autodiff::backend::concat_cols_shape;
use minimax_autodiff::{Backend, Dist, Error, Shape, Tape, TensorShape};
use minimax_cpu::{Cpu, CpuTensor};

type B = Cpu<f32>;
const BIG: usize = 1 << 32;

/// Asserts an `Error::Invalid` of `op` naming `shape` and the bound.
#[track_caller]
fn assert_too_large<T: std::fmt::Debug>(result: Result<T, Error>, op: &str, shape: &str) {
    let err = result.expect_err("a shape larger than one tensor may hold was accepted");
    assert!(matches!(&err, Error::Invalid { op: o, .. } if *o == op), "{err}");
    let message = err.to_string();
    assert!(message.contains(shape), "{message}");
    assert!(message.contains("at most 4294967295"), "{message}");
}

#[test]
fn numel_never_wraps_around() {
    assert_eq!(Shape::new(BIG - 1, 1).numel(), BIG - 1);
    assert_eq!(Shape::new(0, usize::MAX).numel(), 0);
    let overflow = std::panic::catch_unwind(|| Shape::new(BIG, BIG).numel());
    assert!(overflow.is_err(), "[2³², 2³²] has {} elements", overflow.unwrap());
    assert_eq!(Shape::MAX_NUMEL, u32::MAX as usize);
    assert_eq!(Shape::new(1, u32::MAX as usize).checked_numel("op"), Ok(u32::MAX as usize));
    assert_too_large(Shape::new(1, BIG).checked_numel("op"), "op", "[1, 4294967296]");
    assert_too_large(Shape::new(BIG, BIG).checked_numel("op"), "op", "[4294967296, 4294967296]");
}

#[test]
fn ops_that_make_a_new_shape_refuse_one_too_large() {
    let be = B::new();
    // upload: [2³², 2³²] "holds" 0 elements where rows * cols wraps.
    assert_too_large(be.upload(Shape::new(BIG, BIG), &[]), "upload", "[4294967296, 4294967296]");
    assert_too_large(CpuTensor::<f32>::new(Shape::new(BIG, BIG), vec![]), "tensor", "[4294967296");
    // matmul: [2³³, 0] · [0, 2³³] is a valid product of two empty tensors,
    // whose output would have 2⁶⁶ elements (0, wrapped).
    let a = be.upload(Shape::new(2 * BIG, 0), &[]).unwrap();
    let b = be.upload(Shape::new(0, 2 * BIG), &[]).unwrap();
    assert_too_large(be.matmul(&a, false, &b, false), "matmul", "[8589934592, 8589934592]");
    // The same product of a size that fits: fine.
    let a = be.upload(Shape::new(1 << 10, 0), &[]).unwrap();
    let b = be.upload(Shape::new(0, 1 << 9), &[]).unwrap();
    let c = be.matmul(&a, false, &b, false).unwrap();
    assert_eq!((c.shape(), c.data().iter().sum::<f32>()), (Shape::new(1 << 10, 1 << 9), 0.0));
    // broadcast of a scalar to 2⁶⁴ elements.
    let one = be.fill(Shape::scalar(), 1.0);
    assert_too_large(
        be.broadcast(&one, Shape::new(BIG, BIG)),
        "broadcast",
        "[4294967296, 4294967296]",
    );
    // concat_cols of two empty tensors whose widths add up past usize::MAX.
    let wide = be.upload(Shape::new(0, usize::MAX), &[]).unwrap();
    let err = be.concat_cols(&[&wide, &wide]).unwrap_err();
    assert!(matches!(err, Error::Invalid { op: "concat_cols", .. }), "{err}");
    assert!(err.to_string().contains("add up to more than"), "{err}");
    // The shared rule (allocating no 8 GiB tensors to show it).
    let half = Shape::new(1 << 16, 1 << 15);
    let joined = concat_cols_shape(&[half, half]);
    assert_too_large(joined, "concat_cols", "[65536, 65536]");
    // Through the tape.
    let tape = Tape::new(be);
    let (a, b) = (tape.leaf(be.upload(Shape::new(BIG, 0), &[]).unwrap()), tape.leaf(b_empty(&be)));
    assert_too_large(a.matmul(&b), "matmul", "[4294967296, 4294967296]");
}

fn b_empty(be: &B) -> <B as Backend>::Tensor {
    be.upload(Shape::new(0, BIG), &[]).unwrap()
}

#[test]
fn fill_and_random_panic_naming_the_op_instead_of_aborting() {
    // They return a tensor, not a Result: a panic with the message, rather
    // than an attempt to allocate 4 TiB (an abort) or 0 bytes (wrapped).
    for (op, shape) in [("fill", Shape::new(1 << 20, 1 << 20)), ("random", Shape::new(BIG, BIG))] {
        let caught = std::panic::catch_unwind(|| match op {
            "fill" => B::new().fill(shape, 0.0),
            _ => B::new().random(shape, Dist::Uniform { lo: 0.0, hi: 1.0 }, 1),
        });
        let payload = caught.expect_err("a tensor too large for the bound was made");
        let message = payload.downcast_ref::<String>().expect("a formatted panic message");
        assert!(message.starts_with(&format!("{op}: a tensor of shape {shape}")), "{message}");
    }
}
