//! The CPU's fused kernels: a layer's bias and activation, their backward
//! with the bias's gradient, and the BCE loss on logits, each one pass over
//! memory instead of the two to eleven passes of the trait's plain defaults
//! (`backend::plain_linear` and the others, which stay as the references).
//!
//! Each does, element for element, the operations the plain version does,
//! in the same order (the same scalar functions of `unary.rs`, the same
//! summation order as `sum_rows` and `sum_all` in `cpu/mod.rs`), so the
//! results are the same bits; `tests/cpu_fused.rs` checks that on awkward
//! shapes, for one and two threads.

use super::unary;
use super::{block_len, repeated, BLOCK};
use minimax_autodiff::backend::Broadcast;
use minimax_autodiff::{Real, Unary};

/// Elements per chunk of a fused pass: the chunk's rows are worked by each
/// stage in turn while they are in L1 (4 KiB of `f32` per stream).
const CHUNK: usize = 1024;

/// Rows of `cols` elements per chunk: about [`CHUNK`] elements, and for
/// short rows a multiple of the rows in one block (see `block_len`), so the
/// blocks of `sum_rows` fall the same way inside a chunk as across the
/// whole tensor.
#[inline(always)]
fn chunk_rows(cols: usize) -> usize {
    let rows = (CHUNK / cols.max(1)).max(1);
    if cols <= BLOCK / 2 && cols > 0 {
        let per_block = block_len(cols) / cols;
        rows.next_multiple_of(per_block)
    } else {
        rows
    }
}

/// `z[i, j] += b[j]` for `z` of `cols` columns: the plain `binary(Add)`'s
/// `xw + b` with the bias as the right operand, written in place (a layer
/// without activation uses it alone, one pass).
#[inline(always)]
pub fn add_row_in_place<T: Real>(z: &mut [T], b: &[T], cols: usize) {
    if cols <= BLOCK / 2 {
        // A short row: a block of whole rows at a time (as `binary_loop`).
        let (b_rows, len) = repeated(b);
        for block in z.chunks_mut(len) {
            block.iter_mut().zip(&b_rows).for_each(|(z, &b)| *z += b);
        }
    } else {
        for row in z.chunks_exact_mut(cols) {
            row.iter_mut().zip(b).for_each(|(z, &b)| *z += b);
        }
    }
}

/// A layer's write-back: `z += b` (if any) and `y = f(z)`, on whole rows of
/// `cols` columns, a chunk of rows at a time, so `z` is read back for the
/// activation while it is still in L1. `z` holds `x · w` on entry.
///
/// `inline(always)` so it is compiled into the caller's SIMD copy.
#[inline(always)]
pub fn bias_act<T: Real>(z: &mut [T], b: Option<&[T]>, op: Unary, y: &mut [T], cols: usize) {
    let len = chunk_rows(cols) * cols.max(1);
    for (z, y) in z.chunks_mut(len).zip(y.chunks_mut(len)) {
        if let Some(b) = b {
            add_row_in_place(z, b, cols);
        }
        unary::forward(op, z, y);
    }
}

/// The column sums `Σ_rows x` of a matrix of `cols` columns, fed a chunk of
/// whole rows at a time, in the order of `sum_rows` in `cpu/mod.rs` (long
/// rows added one after the other; short rows a block of whole rows at a
/// time into a block-long accumulator, whose row-long pieces are added at
/// the end), so the same bits. Chunks for short rows must be multiples of
/// the block (see [`chunk_rows`]).
pub struct ColumnSums<T> {
    cols: usize,
    acc: [T; BLOCK],
}

impl<T: Real> ColumnSums<T> {
    /// Sums of `cols` columns; `out` (`cols` long) is zeroed.
    #[inline(always)]
    pub fn new(cols: usize, out: &mut [T]) -> Self {
        out.fill(T::zero());
        ColumnSums { cols, acc: [T::zero(); BLOCK] }
    }

    /// Adds the rows of `x`.
    #[inline(always)]
    pub fn add(&mut self, x: &[T], out: &mut [T]) {
        let cols = self.cols;
        if cols == 0 {
            return;
        }
        if cols > BLOCK / 2 {
            for row in x.chunks_exact(cols) {
                out.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
            }
            return;
        }
        for rows in x.chunks(block_len(cols)) {
            self.acc.iter_mut().zip(rows).for_each(|(a, &v)| *a += v);
        }
    }

    /// Adds the short rows' accumulator into `out`.
    #[inline(always)]
    pub fn finish(self, out: &mut [T]) {
        let cols = self.cols;
        if cols == 0 || cols > BLOCK / 2 {
            return;
        }
        for piece in self.acc[..block_len(cols)].chunks_exact(cols) {
            out.iter_mut().zip(piece).for_each(|(o, &v)| *o += v);
        }
    }
}

/// `dz = dy · f'(z)` and `db = Σ_rows dz` in one pass: each chunk of `dz`
/// is summed into `db` right after it is written, while it is in L1.
/// `db` is `cols` long. Not for `cols == 1` (the plain sum of a column
/// uses another order: the caller keeps the plain path for it).
#[inline(always)]
pub fn act_backward_and_bias<T: Real>(
    op: Unary,
    z: &[T],
    y: &[T],
    dy: &[T],
    dz: &mut [T],
    db: &mut [T],
    cols: usize,
) {
    let len = chunk_rows(cols) * cols.max(1);
    let mut sums = ColumnSums::new(cols, db);
    let inputs = z.chunks(len).zip(y.chunks(len)).zip(dy.chunks(len));
    for (((z, y), dy), dz) in inputs.zip(dz.chunks_mut(len)) {
        unary::backward(op, z, y, dy, dz);
        sums.add(dz, db);
    }
    sums.finish(db);
}

/// The per-element BCE term of the plain composite, op for op:
/// `ℓ = softplus(-x) · t + softplus(x) · ((-t) + 1)`.
#[inline(always)]
fn bce_term<T: Real>(x: T, t: T) -> T {
    let if_one = unary::f(Unary::Softplus, -x);
    let if_zero = unary::f(Unary::Softplus, x);
    let one_minus_t = -t + T::one();
    if_one * t + if_zero * one_minus_t
}

/// The BCE loss on logits `x` (`cols` columns) against `t` broadcast by
/// `rule`: `(1/n) · Σ ℓ`, the sum taken as `sum_all` takes it (element `i`
/// into running sum `i % 8`, the eight added in order), then scaled as the
/// plain `MulScalar(1/n)` does. Returns the loss.
pub fn bce_with_logits<T: Real>(x: &[T], t: &[T], cols: usize, rule: Broadcast) -> T {
    let mut lanes = [T::zero(); 8];
    let cols = cols.max(1);
    for (i, row) in x.chunks(cols).enumerate() {
        let at = i * cols;
        for (j, &x) in row.iter().enumerate() {
            let t = t[rule.index(i, j, cols)];
            lanes[(at + j) % 8] += bce_term(x, t);
        }
    }
    let sum = lanes.into_iter().fold(T::zero(), |a, b| a + b);
    T::from_f64(1.0 / x.len() as f64) * sum
}

/// The gradient of [`bce_with_logits`] with respect to `x`, given the
/// loss's gradient `g`, op for op as the tape differentiates the composite:
/// with `g₁ = g · (1/n)`,
/// `dx = (g₁ · t) · σ(-x) · (-1) + (g₁ · ((-t) + 1)) · σ(x)`.
pub fn bce_with_logits_backward<T: Real>(
    x: &[T],
    t: &[T],
    g: T,
    cols: usize,
    rule: Broadcast,
    dx: &mut [T],
) {
    let g1 = g * T::from_f64(1.0 / x.len() as f64);
    let cols = cols.max(1);
    for (i, (row, out)) in x.chunks(cols).zip(dx.chunks_mut(cols)).enumerate() {
        for (j, (&x, d)) in row.iter().zip(out).enumerate() {
            let t = t[rule.index(i, j, cols)];
            let one_minus_t = -t + T::one();
            let from_one = ((g1 * t) * unary::sigmoid(-x)) * -T::one();
            let from_zero = (g1 * one_minus_t) * unary::sigmoid(x);
            *d = from_one + from_zero;
        }
    }
}
