//! Joining tensors side by side or one below the other, and taking
//! columns or rows back out.

use crate::ops::{Backward, Rule};
use crate::tape::InputGrads;
use crate::{Backend, Result, Shape, TensorShape, Var};

/// Up to this many parts, [`concat_cols`] gathers their values on the
/// stack; more go in a `Vec`.
const ON_STACK: usize = 8;

/// Joins variables with the same number of rows side by side:
/// `[r, c₁], [r, c₂], … -> [r, c₁ + c₂ + …]`.
pub fn concat_cols<B: Backend>(parts: &[&Var<B>]) -> Result<Var<B>> {
    join("concat_cols", parts, B::concat_cols, ConcatColsRule)
}

/// Joins `parts` with the backend's `op` (named `name`) and records the
/// result with backward `rule`.
fn join<B: Backend>(
    name: &'static str,
    parts: &[&Var<B>],
    op: impl FnOnce(&B, &[&B::Tensor]) -> Result<B::Tensor>,
    rule: impl Into<Backward<B>>,
) -> Result<Var<B>> {
    let Some(first) = parts.first() else {
        return Err(crate::Error::Invalid { op: name, why: "no tensors given".into() });
    };
    let be = first.backend();
    // The parts' values, gathered on the stack when they are few.
    let y = if parts.len() <= ON_STACK {
        let mut values = [&first.value; ON_STACK];
        for (value, part) in values.iter_mut().zip(parts) {
            *value = &part.value;
        }
        op(be, &values[..parts.len()])?
    } else {
        op(be, &parts.iter().map(|v| &v.value).collect::<Vec<_>>())?
    };
    first.tape.record_op(y, parts, rule)
}

/// The backward below, which needs nothing saved.
pub(crate) struct ConcatColsRule;

/// The backward of [`concat_cols`]: y = [x₁ | x₂ | …]  =>  dxₖ = the
/// columns of dy that came from xₖ.
impl<B: Backend> Rule<B> for ConcatColsRule {
    fn name(&self) -> &'static str {
        "concat_cols"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let mut start = 0;
        for k in 0..inputs.len() {
            let width = inputs.shape(k).cols;
            if inputs.needs(k) {
                inputs.add(k, be.slice_cols(dy, start, width)?)?;
            }
            start += width;
        }
        Ok(())
    }
}

impl<B: Backend> Var<B> {
    /// Columns `start .. start + len`.
    pub fn slice_cols(&self, start: usize, len: usize) -> Result<Var<B>> {
        let y = self.backend().slice_cols(&self.value, start, len)?;
        Ok(self.tape.record_on_own_tape(y, &[self], SliceColsRule { start }))
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct SliceColsRule {
    pub(crate) start: usize,
}

/// The backward of [`Var::slice_cols`]: y = x[:, start..start+len]  =>
/// dx = [0 | dy | 0], zeros where x's columns were not taken.
impl<B: Backend> Rule<B> for SliceColsRule {
    fn name(&self) -> &'static str {
        "slice_cols"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let SliceColsRule { start } = *self;
        let Shape { rows, cols } = inputs.shape(0);
        let after = cols - start - dy.shape().cols; // columns right of the slice
        let zeros = |width| be.fill(Shape::new(rows, width), 0.0);
        let dx = match (start > 0, after > 0) {
            (false, false) => dy.clone(),
            (true, false) => be.concat_cols(&[&zeros(start), dy])?,
            (false, true) => be.concat_cols(&[dy, &zeros(after)])?,
            (true, true) => be.concat_cols(&[&zeros(start), dy, &zeros(after)])?,
        };
        inputs.add(0, dx)
    }
}

/// Stacks variables with the same number of columns, one below the other:
/// `[r₁, c], [r₂, c], … -> [r₁ + r₂ + …, c]` (two batches as one, say).
pub fn concat_rows<B: Backend>(parts: &[&Var<B>]) -> Result<Var<B>> {
    join("concat_rows", parts, B::concat_rows, ConcatRowsRule)
}

/// The backward below, which needs nothing saved.
pub(crate) struct ConcatRowsRule;

/// The backward of [`concat_rows`]: y = [x₁; x₂; …]  =>  dxₖ = the rows of
/// dy that came from xₖ.
impl<B: Backend> Rule<B> for ConcatRowsRule {
    fn name(&self) -> &'static str {
        "concat_rows"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let mut start = 0;
        for k in 0..inputs.len() {
            let height = inputs.shape(k).rows;
            if inputs.needs(k) {
                inputs.add(k, be.slice_rows(dy, start, height)?)?;
            }
            start += height;
        }
        Ok(())
    }
}

impl<B: Backend> Var<B> {
    /// Rows `start .. start + len`.
    pub fn slice_rows(&self, start: usize, len: usize) -> Result<Var<B>> {
        let y = self.backend().slice_rows(&self.value, start, len)?;
        Ok(self.tape.record_on_own_tape(y, &[self], SliceRowsRule { start }))
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct SliceRowsRule {
    pub(crate) start: usize,
}

/// The backward of [`Var::slice_rows`]: y = x[start..start+len, :]  =>
/// dx = [0; dy; 0], zeros where x's rows were not taken.
impl<B: Backend> Rule<B> for SliceRowsRule {
    fn name(&self) -> &'static str {
        "slice_rows"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let SliceRowsRule { start } = *self;
        let Shape { rows, cols } = inputs.shape(0);
        let after = rows - start - dy.shape().rows; // rows below the slice
        let zeros = |height| be.fill(Shape::new(height, cols), 0.0);
        let dx = match (start > 0, after > 0) {
            (false, false) => dy.clone(),
            (true, false) => be.concat_rows(&[&zeros(start), dy])?,
            (false, true) => be.concat_rows(&[dy, &zeros(after)])?,
            (true, true) => be.concat_rows(&[&zeros(start), dy, &zeros(after)])?,
        };
        inputs.add(0, dx)
    }
}
