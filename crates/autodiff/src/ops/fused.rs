//! Fused ops: a layer `f(x·W + b)` and the BCE loss on logits, each one op
//! on the tape (one kernel forward, and few backward, on the GPU) instead
//! of the three to five primitives they are made of.
//!
//! They compute what their composites compute ([`Var::matmul`],
//! [`Var::add`], [`Var::map`]; [`Var::bce_with_logits`]), and their
//! backward rules are the chain rule through those composites, written out
//! once: the tests check each against its composite and by finite
//! differences. Each is a primitive of the tape with a hand-written
//! backward; on the backend each is a method with a default made of the
//! plain primitives ([`Backend::linear`], [`Backend::bias_act_backward`],
//! [`Backend::bce_with_logits`], [`Backend::bce_with_logits_backward`]),
//! which the GPU backend overrides with fused kernels.

use crate::backend::{broadcast_rule, Broadcast};
use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Axis, Backend, Binary, Product, Result, Unary, Var};

impl<B: Backend> Var<B> {
    /// A layer: `f(self · w + b)`, for `self` `[batch, in]`, `w`
    /// `[in, out]`, `b` (if any) `[1, out]` and the activation `f` (`None`:
    /// the identity). One op, the same value as
    /// `self.matmul(w)?.add(b)?.map(f)`.
    ///
    /// ```
    /// use minimax_autodiff::{Backend, Reference, Shape, Tape, Unary};
    ///
    /// let be = Reference::<f64>::new();
    /// let tape = Tape::new(be);
    /// let x = tape.constant(be.upload(Shape::new(1, 2), &[1.0, -2.0])?); // [batch 1, in 2]
    /// let w = tape.leaf(be.upload(Shape::new(2, 1), &[3.0, 1.0])?); // [in 2, out 1]
    /// let b = tape.leaf(be.upload(Shape::new(1, 1), &[-2.0])?); // [1, out 1]
    /// let y = x.linear(&w, Some(&b), Some(Unary::Relu))?; // relu(3 - 2 - 2) = 0
    /// assert_eq!(y.to_vec()?, vec![0.0]);
    /// # Ok::<(), minimax_autodiff::Error>(())
    /// ```
    pub fn linear(&self, w: &Var<B>, b: Option<&Var<B>>, act: Option<Unary>) -> Result<Var<B>> {
        let (z, y) = self.backend().linear(&self.value, &w.value, b.map(|b| &b.value), act)?;
        let rule = LinearRule { x: self.value.clone(), w: w.value.clone(), z, y: y.clone(), act };
        match b {
            Some(b) => self.tape.record_op(y, &[self, w, b], rule),
            None => self.tape.record_op(y, &[self, w], rule),
        }
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct LinearRule<B: Backend> {
    pub(crate) x: B::Tensor,
    pub(crate) w: B::Tensor,
    pub(crate) z: B::Tensor,
    pub(crate) y: B::Tensor,
    pub(crate) act: Option<Unary>,
}

/// The backward of [`Var::linear`]. With `z = x·W + b` (`[batch, out]`),
/// `y = f(z)` and `G = dL/dy`:
///
/// ```text
/// dz = G · f'(z)      elementwise (f' given z and y; G itself for the identity)
/// db = Σ_rows dz      b was added to every row: its gradient sums them
/// dW = xᵀ · dz        the matmul's rule (ops/matmul.rs) with dz for G
/// dx = dz · Wᵀ
/// ```
///
/// `dz` and `db` come from one call ([`Backend::bias_act_backward`], one
/// kernel on the GPU), and so do the two products when both are needed
/// ([`Backend::matmul_pair`]), which read `x` and `W` transposed in place.
impl<B: Backend> Rule<B> for LinearRule<B> {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn backward(&self, be: &B, g: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let LinearRule { ref x, ref w, ref z, ref y, act } = *self;
        let want_bias = inputs.len() == 3 && inputs.needs(2);
        let (dz, db) = be.bias_act_backward(act, z, y, g, want_bias)?; // [batch, out], [1, out]
        let dx = Product::new(&dz, false, w, true); // [batch, out]·[out, in]
        let dw = Product::new(x, true, &dz, false); // [in, batch]·[batch, out]
        match (inputs.needs(0), inputs.needs(1)) {
            // Both: one call, which the GPU runs as one kernel.
            (true, true) => {
                let (dx, dw) = be.matmul_pair(dx, dw)?;
                inputs.add(0, dx)?;
                inputs.add(1, dw)?;
            }
            (true, false) => inputs.add(0, be.matmul(dx.a, false, dx.b, true)?)?,
            (false, true) => inputs.add(1, be.matmul(dw.a, true, dw.b, false)?)?,
            (false, false) => {}
        }
        if let Some(db) = db {
            inputs.add(2, db)?;
        }
        Ok(())
    }
}

impl<B: Backend> Var<B> {
    /// Binary cross-entropy of logits `self` against targets `t` in
    /// [0, 1], averaged over every element, as one op: the same value as
    /// [`Var::bce_with_logits`] (the composite, which shows the algebra),
    /// computed by one call to [`Backend::bce_with_logits`] (one kernel on
    /// the GPU) and differentiated by one more. `t` is `self`'s shape, a
    /// row, a column or a scalar `[1, 1]`.
    pub fn bce_logits(&self, t: &Var<B>) -> Result<Var<B>> {
        let rule = broadcast_rule("bce_with_logits", self.shape(), t.shape())?;
        let y = self.backend().bce_with_logits(&self.value, &t.value)?;
        let (x, tv) = (self.value.clone(), t.value.clone());
        self.tape.record_op(y, &[self, t], BceLogitsRule { x, t: tv, rule })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct BceLogitsRule<B: Backend> {
    pub(crate) x: B::Tensor,
    pub(crate) t: B::Tensor,
    pub(crate) rule: Broadcast,
}

/// The backward of [`Var::bce_logits`]. With
/// `ℓ = (1/n) Σ t·softplus(-x) + (1 - t)·softplus(x)` and `g = dL/dℓ`
/// (`[1, 1]`):
///
/// ```text
/// dℓ/dx = (σ(x) - t) / n                        (softplus' = σ)
/// dℓ/dt = (softplus(-x) - softplus(x)) / n = -x / n  (summed down to t's shape if t was broadcast)
/// ```
impl<B: Backend> Rule<B> for BceLogitsRule<B> {
    fn name(&self) -> &'static str {
        "bce_logits"
    }

    fn backward(&self, be: &B, g: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let BceLogitsRule { ref x, ref t, rule } = *self;
        if inputs.needs(0) {
            inputs.add(0, be.bce_with_logits_backward(x, t, g)?)?;
        }
        if inputs.needs(1) {
            // Targets are usually data; when they are not, plain primitives, op
            // for op as the tape differentiates `Var::bce_with_logits`
            // (ℓ = t·softplus(-x) + (1 - t)·softplus(x), so dℓ/dt =
            // softplus(-x) - softplus(x), which is -x up to rounding).
            let n = inputs.shape(0).numel() as f64;
            let g = be.unary_backward(Unary::MulScalar(1.0 / n), g, g, g); // g/n, [1, 1]
            let gn = be.broadcast(&g, inputs.shape(0))?; // [r, c]
            let reduce = |d: B::Tensor| match rule {
                Broadcast::Same => d,
                Broadcast::Row => be.sum(&d, Some(Axis::Rows)),
                Broadcast::Col => be.sum(&d, Some(Axis::Cols)),
                Broadcast::Scalar => be.sum(&d, None),
            };
            let if_one = be.unary(Unary::Softplus, &be.unary(Unary::Neg, x)); // [r, c]
            let if_zero = be.unary(Unary::Softplus, x); // [r, c]
            let from_one = reduce(be.binary(Binary::Mul, &gn, &if_one)?); // t's shape
            let d_one_minus_t = reduce(be.binary(Binary::Mul, &gn, &if_zero)?); // t's shape
            let from_zero = be.unary_backward(Unary::Neg, t, t, &d_one_minus_t); // AddScalar: dy
            let dt = be.binary(Binary::Add, &from_one, &from_zero)?;
            inputs.add(1, dt)?;
        }
        Ok(())
    }
}
