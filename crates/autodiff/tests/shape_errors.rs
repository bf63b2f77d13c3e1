//! Shape mismatches are `Err` values whose message names the op and the
//! shapes involved, so the message alone is enough to find the bug.
//!
//! Each case is tried through the `Var` API (what a model calls) and, where
//! the backend has the primitive, through `Backend` directly (what a GPU
//! backend must match, since both call the shared checks in `backend.rs`).

use minimax_autodiff::{
    concat_cols, concat_rows, AdamStep, Backend, Error, HostIndices, RefTensor, Reference, Shape,
    Tape, TensorShape, Var,
};

type B = Reference<f64>;

/// A tensor of `[rows, cols]` zeros.
fn zeros(rows: usize, cols: usize) -> RefTensor<f64> {
    B::new().fill(Shape::new(rows, cols), 0.0)
}

/// A tracked `[rows, cols]` variable of zeros on `tape`.
fn var(tape: &Tape<B>, rows: usize, cols: usize) -> Var<B> {
    tape.leaf(zeros(rows, cols))
}

/// Asserts that `result` is an error whose message contains every one of `parts`.
#[track_caller]
fn assert_err<T>(result: Result<T, Error>, parts: &[&str]) {
    let Err(error) = result else { panic!("expected an error mentioning {parts:?}, got Ok") };
    let message = error.to_string();
    for part in parts {
        assert!(message.contains(part), "{message:?} does not mention {part:?}");
    }
}

#[test]
fn matmul_inner_dimensions_for_each_transpose() {
    // op(a) is [3, 4] and op(b) is [5, 2]: 4 != 5 whichever operands are stored transposed.
    let tape = Tape::new(B::new());
    let cases = [
        (false, false, "matmul: [3, 4] and [5, 2]"),
        (true, false, "matmul(aᵀ, b): [4, 3] and [5, 2]"),
        (false, true, "matmul(a, bᵀ): [3, 4] and [2, 5]"),
        (true, true, "matmul(aᵀ, bᵀ): [4, 3] and [2, 5]"),
    ];
    for (ta, tb, head) in cases {
        let a = if ta { var(&tape, 4, 3) } else { var(&tape, 3, 4) };
        let b = if tb { var(&tape, 2, 5) } else { var(&tape, 5, 2) };
        let why = "inner dimensions differ (4 != 5)";
        assert_err(a.matmul_t(ta, &b, tb), &[head, why]);
        assert_err(B::new().matmul(a.value(), ta, b.value(), tb), &[head, why]);
    }
    // The plain method is the (false, false) case.
    assert_err(var(&tape, 3, 4).matmul(&var(&tape, 5, 2)), &["matmul: [3, 4] and [5, 2]"]);
}

#[test]
fn binary_ops_with_an_unbroadcastable_right_operand() {
    // Against a [3, 4] left operand the right one may be [3, 4], [1, 4], [3, 1] or [1, 1].
    let tape = Tape::new(B::new());
    let a = var(&tape, 3, 4);
    let why = "must have the left's shape, or be [1, cols], [rows, 1] or [1, 1]";
    for (rows, cols) in [(2, 4), (1, 3), (4, 1), (4, 3), (3, 2)] {
        let b = var(&tape, rows, cols);
        let shapes = format!("[3, 4] and [{rows}, {cols}]");
        assert_err(a.add(&b), &[&format!("add: {shapes}"), why]);
        assert_err(a.sub(&b), &[&format!("sub: {shapes}"), why]);
        assert_err(a.mul(&b), &[&format!("mul: {shapes}"), why]);
        assert_err(a.div(&b), &[&format!("div: {shapes}"), why]);
    }
    // The left operand never broadcasts: [1, 4] + [3, 4] is an error too.
    assert_err(var(&tape, 1, 4).add(&a), &["add: [1, 4] and [3, 4]"]);
    // The losses built on sub name it as well.
    assert_err(a.mse(&var(&tape, 4, 3)), &["sub: [3, 4] and [4, 3]"]);
    assert_err(a.bce_with_logits(&var(&tape, 2, 4)), &["[3, 4] and [2, 4]"]);
}

#[test]
fn concat_cols_with_differing_rows() {
    let tape = Tape::new(B::new());
    let (a, b, c) = (var(&tape, 2, 3), var(&tape, 2, 1), var(&tape, 4, 1));
    assert_err(
        concat_cols(&[&a, &b, &c]),
        &["concat_cols: [2, 3] and [4, 1]", "row counts differ"],
    );
    let parts = [a.value(), b.value(), c.value()];
    assert_err(B::new().concat_cols(&parts), &["concat_cols: [2, 3] and [4, 1]"]);
    assert_err(concat_cols::<B>(&[]), &["concat_cols", "no tensors"]);
}

#[test]
fn concat_rows_with_differing_columns() {
    let tape = Tape::new(B::new());
    let (a, b, c) = (var(&tape, 2, 3), var(&tape, 1, 3), var(&tape, 4, 1));
    assert_err(
        concat_rows(&[&a, &b, &c]),
        &["concat_rows: [2, 3] and [4, 1]", "column counts differ"],
    );
    let parts = [a.value(), b.value(), c.value()];
    assert_err(B::new().concat_rows(&parts), &["concat_rows: [2, 3] and [4, 1]"]);
    assert_err(concat_rows::<B>(&[]), &["concat_rows", "no tensors"]);
}

#[test]
fn slice_rows_out_of_range() {
    let tape = Tape::new(B::new());
    let x = var(&tape, 4, 3);
    assert_err(x.slice_rows(2, 3), &["slice_rows: rows 2..5 are outside [4, 3]"]);
    assert_err(x.slice_rows(1, 0), &["slice_rows: rows 1..1 are outside [4, 3]"]);
    assert_err(x.slice_rows(usize::MAX, 2), &["slice_rows", "outside [4, 3]"]);
    assert_err(B::new().slice_rows(x.value(), 3, 2), &["slice_rows: rows 3..5"]);
}

#[test]
fn slice_cols_out_of_range() {
    let tape = Tape::new(B::new());
    let x = var(&tape, 3, 4);
    assert_err(x.slice_cols(2, 3), &["slice_cols: columns 2..5 are outside [3, 4]"]);
    assert_err(x.slice_cols(4, 1), &["slice_cols: columns 4..5 are outside [3, 4]"]);
    assert_err(x.slice_cols(1, 0), &["slice_cols: columns 1..1 are outside [3, 4]"]);
    // A start so large that start + len overflows is an error, not a panic.
    assert_err(x.slice_cols(usize::MAX, 2), &["slice_cols", "outside [3, 4]"]);
    assert_err(B::new().slice_cols(x.value(), 3, 2), &["slice_cols: columns 3..5"]);
}

#[test]
fn upload_with_the_wrong_data_length() {
    let be = B::new();
    let message = "upload: shape [2, 3] holds 6 elements but 5 were given";
    assert_err(be.upload(Shape::new(2, 3), &[0.0; 5]), &[message]);
    assert_err(be.upload(Shape::new(2, 3), &[0.0; 7]), &["holds 6 elements but 7 were given"]);
    assert_err(RefTensor::new(Shape::new(1, 2), vec![0.0]), &["[1, 2] holds 2", "1 were given"]);
}

#[test]
fn sgd_step_with_mismatched_state() {
    let be = B::new();
    let why = "optimizer state must have the parameter's shape";
    let mut param = zeros(2, 3);
    // A gradient of the wrong shape, then a velocity of the wrong shape.
    let mut velocity = zeros(2, 3);
    let result = be.sgd_step(&mut param, &zeros(3, 2), &mut velocity, 0.1, 0.9);
    assert_err(result, &["sgd_step: [2, 3] and [3, 2]", why]);
    let mut velocity = zeros(1, 3);
    let result = be.sgd_step(&mut param, &zeros(2, 3), &mut velocity, 0.1, 0.9);
    assert_err(result, &["sgd_step: [2, 3] and [1, 3]", why]);
}

#[test]
fn adam_step_with_mismatched_state() {
    let be = B::new();
    let hp = AdamStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 1 };
    let mut param = zeros(2, 3);
    // The gradient, m and v in turn have the wrong shape.
    for (k, (rows, cols)) in [(3, 2), (2, 1), (6, 1)].into_iter().enumerate() {
        let mut state = [zeros(2, 3), zeros(2, 3), zeros(2, 3)]; // [grad, m, v]
        state[k] = zeros(rows, cols);
        let [g, mut m, mut v] = state;
        let result = be.adam_step(&mut param, &g, &mut m, &mut v, hp);
        let shapes = format!("adam_step: [2, 3] and [{rows}, {cols}]");
        assert_err(result, &[&shapes, "optimizer state must have the parameter's shape"]);
    }
}

#[test]
fn backward_seed_and_scalar_errors() {
    let tape = Tape::new(B::new());
    let y = var(&tape, 2, 3).square();
    assert_err(tape.backward(&y), &["backward: needs a scalar [1, 1] tensor, got [2, 3]"]);
    assert_err(tape.backward_with(&y, zeros(3, 2)), &["backward_with: [2, 3] and [3, 2]"]);
    assert_err(y.item(), &["item: needs a scalar [1, 1] tensor, got [2, 3]"]);
}

#[test]
fn broadcast_to_an_incompatible_shape() {
    let be = B::new();
    let message = "broadcast: [1, 3] and [2, 4]";
    assert_err(be.broadcast(&zeros(1, 3), Shape::new(2, 4)), &[message]);
    assert_eq!(be.broadcast(&zeros(1, 4), Shape::new(2, 4)).unwrap().shape(), Shape::new(2, 4));
}

// ---------------------------------------------------------------------------
// Indices, labels and batch norm.
// ---------------------------------------------------------------------------

#[test]
fn gather_rows_with_an_index_past_the_last_row() {
    // x has 7 rows; index 7 (and 9) are not rows of it. The message names
    // the op, the largest bad index, where it is, and the row count.
    let tape = Tape::new(B::new());
    let x = var(&tape, 7, 2);
    let idx = HostIndices::new(&[0, 6, 9, 7, 9]);
    let message = "gather_rows: index 9 (position 2 of 5) is out of range for a tensor of 7 rows \
                   ([7, 2])";
    assert_err(x.gather_rows(&idx), &[message]);
    assert_err(B::new().gather_rows(x.value(), &idx), &[message]);
    // The last row is fine.
    assert_eq!(x.gather_rows(&HostIndices::new(&[6])).unwrap().shape(), Shape::new(1, 2));
}

#[test]
fn scatter_add_rows_with_a_bad_gradient_or_index() {
    let be = B::new();
    let idx = HostIndices::new(&[0, 4, 1]);
    // dy must have one row per index.
    let message = "scatter_add_rows: [2, 5] has 2 rows but 3 indices were given";
    assert_err(be.scatter_add_rows(&zeros(2, 5), &idx, 5), &[message]);
    // Every index must be a row of the output.
    let message = "scatter_add_rows: index 4 (position 1 of 3) is out of range for a tensor of 4 \
                   rows ([4, 5])";
    assert_err(be.scatter_add_rows(&zeros(3, 5), &idx, 4), &[message]);
}

#[test]
fn a_label_that_is_not_a_class() {
    // Logits [3, 10] (10 classes): label 10 is one past the last class.
    let tape = Tape::new(B::new());
    let z = var(&tape, 3, 10);
    let labels = HostIndices::new(&[2, 10, 9]);
    let why = "label 10 (row 1) is not a column of [3, 10]: labels must be below 10";
    assert_err(z.cross_entropy(&labels), &["cross_entropy: ", why]);
    assert_err(z.pick_cols(&labels), &["pick_cols: ", why]);
    assert_err(B::new().pick_cols(z.value(), &labels), &["pick_cols: ", why]);
    let dy = zeros(3, 1);
    assert_err(B::new().scatter_cols(&dy, &labels, 10), &["scatter_cols: ", why]);
}

#[test]
fn a_label_count_that_is_not_the_row_count() {
    let tape = Tape::new(B::new());
    let z = var(&tape, 3, 10);
    let labels = HostIndices::new(&[1, 2]);
    let why = "[3, 10] has 3 rows but 2 labels were given";
    assert_err(z.cross_entropy(&labels), &["cross_entropy: ", why]);
    assert_err(z.pick_cols(&labels), &["pick_cols: ", why]);
    // scatter_cols: dy must be a column with one row per label.
    let be = B::new();
    assert_err(be.scatter_cols(&zeros(3, 2), &labels, 10), &["scatter_cols: ", "got [3, 2]"]);
    assert_err(be.scatter_cols(&zeros(3, 1), &labels, 10), &["scatter_cols: [3, 10] has 3 rows"]);
}

#[test]
fn cross_entropy_probs_with_targets_of_another_shape() {
    let tape = Tape::new(B::new());
    let z = var(&tape, 2, 3);
    assert_err(z.cross_entropy_probs(&var(&tape, 2, 4)), &["mul: [2, 3] and [2, 4]"]);
}

#[test]
fn batch_norm_of_one_row_or_with_a_bad_eps() {
    let tape = Tape::new(B::new());
    let one_row = var(&tape, 1, 4);
    let Err(error) = one_row.batch_norm(1e-5) else { panic!("a batch of one row was accepted") };
    let message = error.to_string();
    for part in ["batch_norm: a batch [1, 4] of fewer than 2 rows", "batch_norm_eval"] {
        assert!(message.contains(part), "{message:?} does not mention {part:?}");
    }
    let x = var(&tape, 3, 4);
    for eps in [-1e-5, f64::NAN, f64::INFINITY] {
        let Err(error) = x.batch_norm(eps) else { panic!("eps = {eps} was accepted") };
        assert!(error.to_string().contains("batch_norm: eps must be finite and ≥ 0"), "{error}");
    }
}

#[test]
fn batch_norm_statistics_of_the_wrong_shape() {
    // x is [3, 4]: running statistics are [1, 4]. A column [3, 1] would
    // broadcast across the columns instead, silently: it is refused.
    let tape = Tape::new(B::new());
    let x = var(&tape, 3, 4);
    let (good, column) = (var(&tape, 1, 4), var(&tape, 3, 1));
    let why = "running statistics must be one row [1, cols]";
    assert_err(
        x.batch_norm_eval(&column, &good, 1e-5),
        &["batch_norm_eval: [3, 4] and [3, 1]", why],
    );
    assert_err(x.batch_norm_eval(&good, &var(&tape, 1, 3), 1e-5), &["[3, 4] and [1, 3]", why]);
    let out = x.batch_norm(1e-5).unwrap();
    let result = out.updated_running_stats(&zeros(1, 4), &zeros(4, 1), 0.1);
    assert_err(result, &["updated_running_stats: [3, 4] and [4, 1]", why]);
}

#[test]
fn max_rows_backward_with_a_gradient_that_is_not_the_column_of_maxima() {
    // max_rows itself cannot fail ([n, k] -> [n, 1] for every n, k); its
    // adjoint, called directly, needs dy = [n, 1].
    let be = B::new();
    let why = "the gradient must be the column [3, 1] of the rows' maxima";
    let message = format!("max_rows_backward: [3, 4] and [3, 2]: {why}");
    assert_err(be.max_rows_backward(&zeros(3, 4), &zeros(3, 2)), &[&message]);
    assert_err(be.max_rows_backward(&zeros(3, 4), &zeros(2, 1)), &["max_rows_backward: ", why]);
    assert_eq!(be.max_rows_backward(&zeros(3, 4), &zeros(3, 1)).unwrap().shape(), Shape::new(3, 4));
}
