//! Tensors with no elements (`[3, 0]`, `[0, 3]`, `[0, 0]`) on the GPU go
//! through every kind of op without an error and give what the reference
//! gives: empty results, and sums over nothing that are 0 (`ln 0 = -∞` for
//! the log-sum-exp of a row of no columns). The CPU's twin is
//! `crates/cpu/tests/against_reference.rs`'s `empty_tensors_match_the_reference`.

use minimax_autodiff::reference::unary::EVERY_OP;
use minimax_autodiff::{Axis, Backend, Binary, Reference, Shape, Tape, TensorShape};
use minimax_wgsl::testing::gpu_or_skip;

/// The GPU's result equals the reference's: the same shape and, element
/// by element, the same value (the sums over nothing are exact: 0 or -∞).
fn same<A: Backend<Elem = f32>, B: Backend<Elem = f32>>(
    what: &str,
    a: (&A, &A::Tensor),
    b: (&B, &B::Tensor),
) {
    assert_eq!(a.1.shape(), b.1.shape(), "{what}: shapes");
    let (x, y) = (a.0.download(a.1).unwrap(), b.0.download(b.1).unwrap());
    assert_eq!(x, y, "{what}: values");
}

#[test]
fn empty_tensors_on_the_gpu_match_the_reference() {
    let Some(g) = gpu_or_skip("empty_tensors_on_the_gpu_match_the_reference") else { return };
    let r = Reference::<f32>::new();
    for shape in [Shape::new(3, 0), Shape::new(0, 3), Shape::new(0, 0)] {
        let (ar, ag) = (r.fill(shape, 1.0), g.fill(shape, 1.0));
        for op in EVERY_OP {
            same(&format!("{op:?} of {shape}"), (&r, &r.unary(op, &ar)), (&g, &g.unary(op, &ag)));
        }
        let bs = [shape, Shape::new(1, shape.cols), Shape::new(shape.rows, 1), Shape::scalar()];
        for b_shape in bs {
            let (br, bg) = (r.fill(b_shape, 2.0), g.fill(b_shape, 2.0));
            for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
                let what = format!("{op:?} of {shape} and {b_shape}");
                same(
                    &what,
                    (&r, &r.binary(op, &ar, &br).unwrap()),
                    (&g, &g.binary(op, &ag, &bg).unwrap()),
                );
            }
        }
        for axis in [None, Some(Axis::Rows), Some(Axis::Cols)] {
            same(
                &format!("sum {axis:?} of {shape}"),
                (&r, &r.sum(&ar, axis)),
                (&g, &g.sum(&ag, axis)),
            );
        }
        same(&format!("transpose {shape}"), (&r, &r.transpose(&ar)), (&g, &g.transpose(&ag)));
        same(
            &format!("logsumexp_rows {shape}"),
            (&r, &r.logsumexp_rows(&ar)),
            (&g, &g.logsumexp_rows(&ag)),
        );
        same(&format!("max_rows {shape}"), (&r, &r.max_rows(&ar)), (&g, &g.max_rows(&ag)));
        let (wr, wg) =
            (r.fill(Shape::new(shape.cols, 2), 1.0), g.fill(Shape::new(shape.cols, 2), 1.0));
        let what = format!("matmul {shape} · [{}, 2]", shape.cols);
        same(
            &what,
            (&r, &r.matmul(&ar, false, &wr, false).unwrap()),
            (&g, &g.matmul(&ag, false, &wg, false).unwrap()),
        );
        let tape = Tape::new(g.clone());
        let y = tape.leaf(ag.clone()).softmax_rows().unwrap();
        assert_eq!(y.shape(), shape, "softmax_rows of {shape}");
        assert!(y.to_vec().unwrap().is_empty());
    }
}
