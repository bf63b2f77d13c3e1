//! Matrix product and transpose.

use crate::{Backend, Result, Var};

impl<B: Backend> Var<B> {
    /// `self · rhs`: `[m, k] · [k, n] -> [m, n]`.
    pub fn matmul(&self, rhs: &Var<B>) -> Result<Var<B>> {
        self.matmul_t(false, rhs, false)
    }

    /// `op(self) · op(rhs)`, where `op` transposes when its flag is set.
    /// The backend reads the transposed operand in place: nothing is copied.
    pub fn matmul_t(&self, ta: bool, rhs: &Var<B>, tb: bool) -> Result<Var<B>> {
        let c = self.backend().matmul(&self.value, ta, &rhs.value, tb)?;
        // C = op(A) · op(B). For a scalar loss L with G = dL/dC:
        //   dL/d op(A) = G · op(B)ᵀ      dL/d op(B) = op(A)ᵀ · G
        // and when A (or B) was transposed, its gradient is the transpose of
        // that, which we fold into the transpose flags instead of copying:
        //   ta:  dA = (G op(B)ᵀ)ᵀ = op(B) · Gᵀ
        //   tb:  dB = (op(A)ᵀ G)ᵀ = Gᵀ · op(A)
        let (a, b) = (self.value.clone(), rhs.value.clone());
        Ok(self.tape.record(
            c,
            &[self, rhs],
            Box::new(move |be, g| {
                let da =
                    if ta { be.matmul(&b, tb, g, true)? } else { be.matmul(g, false, &b, !tb)? };
                let db =
                    if tb { be.matmul(g, true, &a, ta)? } else { be.matmul(&a, !ta, g, false)? };
                Ok(vec![da, db])
            }),
        ))
    }

    /// `[r, c] -> [c, r]`.
    pub fn transpose(&self) -> Var<B> {
        let y = self.backend().transpose(&self.value);
        // y = xᵀ  =>  dx = (dy)ᵀ
        self.tape.record(y, &[self], Box::new(|be, g| Ok(vec![be.transpose(g)])))
    }
}
