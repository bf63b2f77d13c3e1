//! Matrix product and transpose.

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Backend, Product, Result, Var};

impl<B: Backend> Var<B> {
    /// `self · rhs`: `[m, k] · [k, n] -> [m, n]`.
    pub fn matmul(&self, rhs: &Var<B>) -> Result<Var<B>> {
        self.matmul_t(false, rhs, false)
    }

    /// `op(self) · op(rhs)`, where `op` transposes when its flag is set.
    /// The backend reads the transposed operand in place: nothing is copied.
    pub fn matmul_t(&self, ta: bool, rhs: &Var<B>, tb: bool) -> Result<Var<B>> {
        let c = self.backend().matmul(&self.value, ta, &rhs.value, tb)?;
        let (a, b) = (self.value.clone(), rhs.value.clone());
        self.tape.record_op(c, &[self, rhs], MatmulRule { a, ta, b, tb })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct MatmulRule<B: Backend> {
    pub(crate) a: B::Tensor,
    pub(crate) ta: bool,
    pub(crate) b: B::Tensor,
    pub(crate) tb: bool,
}

/// The backward of [`Var::matmul_t`]. C = op(A) · op(B). For a scalar loss
/// L with G = dL/dC:
///
/// ```text
/// dL/d op(A) = G · op(B)ᵀ      dL/d op(B) = op(A)ᵀ · G
/// ```
///
/// and when A (or B) was transposed, its gradient is the transpose of that,
/// which we fold into the transpose flags instead of copying:
///
/// ```text
/// ta:  dA = (G op(B)ᵀ)ᵀ = op(B) · Gᵀ
/// tb:  dB = (op(A)ᵀ G)ᵀ = Gᵀ · op(A)
/// ```
impl<B: Backend> Rule<B> for MatmulRule<B> {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn backward(&self, be: &B, g: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let MatmulRule { ref a, ta, ref b, tb } = *self;
        let da = || if ta { Product::new(b, tb, g, true) } else { Product::new(g, false, b, !tb) };
        let db = || if tb { Product::new(g, true, a, ta) } else { Product::new(a, !ta, g, false) };
        let product = |p: Product<'_, B::Tensor>| be.matmul(p.a, p.transpose_a, p.b, p.transpose_b);
        match (inputs.needs(0), inputs.needs(1)) {
            // Both: one call, which the GPU runs as one kernel.
            (true, true) => {
                let (da, db) = be.matmul_pair(da(), db())?;
                inputs.add(0, da)?;
                inputs.add(1, db)
            }
            (true, false) => inputs.add(0, product(da())?),
            (false, true) => inputs.add(1, product(db())?),
            (false, false) => Ok(()),
        }
    }
}

impl<B: Backend> Var<B> {
    /// `[r, c] -> [c, r]`.
    pub fn transpose(&self) -> Var<B> {
        let y = self.backend().transpose(&self.value);
        self.tape.record_on_own_tape(y, &[self], TransposeRule)
    }
}

/// The backward below, which needs nothing saved.
pub(crate) struct TransposeRule;

/// The backward of [`Var::transpose`]: y = xᵀ  =>  dx = (dy)ᵀ.
impl<B: Backend> Rule<B> for TransposeRule {
    fn name(&self) -> &'static str {
        "transpose"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        inputs.add(0, be.transpose(dy))
    }
}
