//! Batch statistics: the four moments Dev Nag's 1-D GAN feeds its
//! discriminator instead of the raw samples.

use crate::{Axis, Backend, Result, Var};

use super::concat_cols;

impl<B: Backend> Var<B> {
    /// The four moments of each column of a batch `[n, c]`, as
    /// `[1, 4c]` = `[mean | std | skew | excess kurtosis]`:
    ///
    /// ```text
    /// μ = Σx / n          d = x - μ          σ = √(Σd² / n)   (population std)
    /// z = d / σ           skew = Σz³ / n     kurt = Σz⁴ / n - 3
    /// ```
    ///
    /// Composed from primitives, so its gradient needs no code of its own.
    pub fn moments(&self) -> Result<Var<B>> {
        let mean = self.mean_axis(Axis::Rows); // [1, c]
        let d = self.sub(&mean)?; // [n, c]
        let std = d.square().mean_axis(Axis::Rows).sqrt(); // [1, c]
        let z = d.div(&std)?; // [n, c]
        let skew = z.powi(3).mean_axis(Axis::Rows); // [1, c]
        let kurt = z.powi(4).mean_axis(Axis::Rows).add_scalar(-3.0); // [1, c]
        concat_cols(&[&mean, &std, &skew, &kurt])
    }
}
