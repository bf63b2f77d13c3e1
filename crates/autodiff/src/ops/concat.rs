//! Joining tensors side by side, and taking columns back out.

use crate::{Backend, Result, Shape, TensorShape, Var};

/// Joins variables with the same number of rows side by side:
/// `[r, c₁], [r, c₂], … -> [r, c₁ + c₂ + …]`.
pub fn concat_cols<B: Backend>(parts: &[&Var<B>]) -> Result<Var<B>> {
    let Some(first) = parts.first() else {
        return Err(crate::Error::Invalid { op: "concat_cols", why: "no tensors given".into() });
    };
    let values: Vec<&B::Tensor> = parts.iter().map(|v| &v.value).collect();
    let y = first.backend().concat_cols(&values)?;
    // y = [x₁ | x₂ | …]  =>  dxₖ = the columns of dy that came from xₖ.
    let widths: Vec<usize> = parts.iter().map(|v| v.shape().cols).collect();
    Ok(first.tape.record(
        y,
        parts,
        Box::new(move |be, g| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(widths.len());
            for &w in &widths {
                grads.push(be.slice_cols(g, start, w)?);
                start += w;
            }
            Ok(grads)
        }),
    ))
}

impl<B: Backend> Var<B> {
    /// Columns `start .. start + len`.
    pub fn slice_cols(&self, start: usize, len: usize) -> Result<Var<B>> {
        let y = self.backend().slice_cols(&self.value, start, len)?;
        // y = x[:, start..start+len]  =>  dx = [0 | dy | 0]
        let Shape { rows, cols } = self.shape();
        Ok(self.tape.record(
            y,
            &[self],
            Box::new(move |be, g| {
                let left = be.fill(Shape::new(rows, start), 0.0);
                let right = be.fill(Shape::new(rows, cols - start - len), 0.0);
                let parts: Vec<&B::Tensor> =
                    [&left, g, &right].into_iter().filter(|t| t.shape().cols > 0).collect();
                Ok(vec![be.concat_cols(&parts)?])
            }),
        ))
    }
}
