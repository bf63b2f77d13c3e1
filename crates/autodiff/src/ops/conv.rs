//! 2-D convolution and transposed convolution, on images stored as rows
//! `[batch, C·H·W]` (the layout, with a worked index, is in [`crate::conv`]).
//!
//! Both are one primitive each, built from the same three backend kernels:
//! a convolution's forward, its input gradient and its weight gradient. A
//! transposed convolution *is* a convolution's input gradient, so it
//! reuses those kernels with the roles swapped (see [`ConvTransposeRule`]).

use crate::ops::Rule;
use crate::tape::InputGrads;
use crate::{Backend, ConvGeometry, Result, Var};

impl<B: Backend> Var<B> {
    /// A 2-D convolution (PyTorch's `conv2d` without bias; add one with
    /// [`Var::add_channels`]): `self` is the batch `[batch, C_in·H·W]`, `w`
    /// the filters `[C_out, C_in·k·k]`, and the result `[batch, C_out·OH·OW]`:
    ///
    /// ```text
    /// y[n, o, oy, ox] = Σ_{i, ky, kx} w[o, i, ky, kx] · x[n, i, oy·s + ky - p, ox·s + kx - p]
    /// ```
    ///
    /// An error names the op and both shapes if they do not fit `g`.
    pub fn conv2d(&self, w: &Var<B>, g: ConvGeometry) -> Result<Var<B>> {
        let y = self.backend().conv2d(&self.value, &w.value, &g)?; // [batch, C_out·OH·OW]
        let (x, w_saved) = (self.value.clone(), w.value.clone());
        self.tape.record_op(y, &[self, w], ConvRule { x, w: w_saved, g })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct ConvRule<B: Backend> {
    pub(crate) x: B::Tensor,
    pub(crate) w: B::Tensor,
    pub(crate) g: ConvGeometry,
}

/// The backward of [`Var::conv2d`]. y is linear in x and in w, with
///
/// ```text
/// ∂y[n, o, oy, ox] / ∂x[n, i, y, x]    = w[o, i, ky, kx]   (y = oy·s + ky - p, x = ox·s + kx - p)
/// ∂y[n, o, oy, ox] / ∂w[o, i, ky, kx]  = x[n, i, oy·s + ky - p, ox·s + kx - p]
/// ```
///
/// so, summing over every output that used each input or weight,
///
/// ```text
/// dx[n, i, y, x]     = Σ_{o, ky, kx} dy[n, o, oy, ox] · w[o, i, ky, kx]      (conv2d_backward_input)
/// dw[o, i, ky, kx]   = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, i, oy·s+ky-p, ox·s+kx-p]   (conv2d_backward_weight)
/// ```
///
/// In matrix form, with the patches of x unfolded as columns (im2col,
/// `X̂ [C_in·k·k, OH·OW]` per image) the forward is `Y = W · X̂`, so
/// `dX̂ = Wᵀ · dY` (folded back onto the pixels, col2im) and `dW = dY · X̂ᵀ`:
/// the matmul rule.
impl<B: Backend> Rule<B> for ConvRule<B> {
    fn name(&self) -> &'static str {
        "conv2d"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        if inputs.needs(0) {
            inputs.add(0, be.conv2d_backward_input(dy, &self.w, &self.g)?)?;
        }
        if inputs.needs(1) {
            inputs.add(1, be.conv2d_backward_weight(&self.x, dy, &self.g)?)?;
        }
        Ok(())
    }
}

impl<B: Backend> Var<B> {
    /// A 2-D transposed convolution (PyTorch's `conv_transpose2d` with
    /// `output_padding = 0`, no bias): the map whose matrix is the transpose
    /// of the convolution `g`'s. `g` is that convolution, from the transpose's
    /// *output* (`g.in_channels` images of `g.height × g.width`) to its input
    /// (`g.out_channels × OH × OW`); [`ConvGeometry::transposed`] finds it from
    /// the transpose's own sizes. `self` is `[batch, g.out_channels·OH·OW]`,
    /// `w` is `[g.out_channels, g.in_channels·k·k]` (PyTorch's
    /// `ConvTranspose2d` weight `[C_in, C_out, k, k]`, flattened), and the
    /// result `[batch, g.in_channels·H·W]`:
    ///
    /// ```text
    /// y[n, i, y, x] = Σ_{o, ky, kx : oy·s + ky - p = y, ox·s + kx - p = x} x[n, o, oy, ox] · w[o, i, ky, kx]
    /// ```
    ///
    /// which is exactly `g`'s input gradient, [`Backend::conv2d_backward_input`],
    /// with `self` in the place of `dy`: a stride-2 transpose spreads each
    /// input pixel over a k×k patch of a twice larger image.
    pub fn conv_transpose2d(&self, w: &Var<B>, g: ConvGeometry) -> Result<Var<B>> {
        let y = self.backend().conv2d_backward_input(&self.value, &w.value, &g)?; // [batch, C·H·W]
        let (x, w_saved) = (self.value.clone(), w.value.clone());
        self.tape.record_op(y, &[self, w], ConvTransposeRule { x, w: w_saved, g })
    }
}

/// What the backward below needs, saved when the op is recorded.
pub(crate) struct ConvTransposeRule<B: Backend> {
    pub(crate) x: B::Tensor,
    pub(crate) w: B::Tensor,
    pub(crate) g: ConvGeometry,
}

/// The backward of [`Var::conv_transpose2d`]. Its forward is `y = Cᵀ x`,
/// where `C` is the matrix of the convolution `g` for the weight w
/// (`conv2d(z) = C z`). A linear map's input gradient is its transpose
/// applied to `dy`, and `(Cᵀ)ᵀ = C`:
///
/// ```text
/// dx = C · dy = conv2d(dy, w)
/// ```
///
/// For the weight: `y[n, i, y, x] = Σ x[n, o, oy, ox] · w[o, i, ky, kx]` over
/// the same index triples as the convolution's, so
///
/// ```text
/// dw[o, i, ky, kx] = Σ_{n, oy, ox} x[n, o, oy, ox] · dy[n, i, oy·s + ky - p, ox·s + kx - p]
///                  = conv2d_backward_weight(dy, x)
/// ```
///
/// the convolution's weight gradient with `dy` as its input and `x` as its
/// output's gradient. No kernel of its own: the three conv kernels serve
/// both ops.
impl<B: Backend> Rule<B> for ConvTransposeRule<B> {
    fn name(&self) -> &'static str {
        "conv_transpose2d"
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        if inputs.needs(0) {
            inputs.add(0, be.conv2d(dy, &self.w, &self.g)?)?;
        }
        if inputs.needs(1) {
            inputs.add(1, be.conv2d_backward_weight(dy, &self.x, &self.g)?)?;
        }
        Ok(())
    }
}
