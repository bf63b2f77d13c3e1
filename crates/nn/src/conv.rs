//! [`Conv2d`] and [`ConvTranspose2d`]: the layers of a DCGAN, on images
//! stored as rows `[batch, C·H·W]` (the layout of
//! [`minimax_autodiff::conv`]). Each is its op ([`Var::conv2d`],
//! [`Var::conv_transpose2d`]) with a bias per output channel
//! ([`Var::add_channels`]), and draws its parameters as PyTorch does.

use crate::layer::{Layer, LayerContext, Spec};
use crate::layers::Init;
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, ConvGeometry, Dist, Result, Shape, Var};

/// A convolution layer, `y = conv2d(x, W) + b` per channel: PyTorch's
/// `nn.Conv2d` (square kernel, zero padding, dilation 1), mapping
/// `[batch, C_in·H·W]` to `[batch, C_out·OH·OW]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Conv2d {
    /// The convolution's sizes.
    pub geometry: ConvGeometry,
}

/// A transposed-convolution layer, `y = conv_transpose2d(x, W) + b` per
/// channel: PyTorch's `nn.ConvTranspose2d` (`output_padding = 0`), the
/// upsampling layer of DCGAN's generator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConvTranspose2d {
    /// The convolution this layer is the transpose of: from this layer's
    /// output (`geometry.in_channels × height × width`) to its input
    /// (`geometry.out_channels × OH × OW`); see [`ConvGeometry::transposed`].
    pub geometry: ConvGeometry,
}

impl Conv2d {
    /// `in_channels` images of `(height, width)` to `out_channels`, with a
    /// `kernel`, `stride` and `padding`; an error names a geometry that is
    /// not a convolution.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        hw: (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let geometry = ConvGeometry::new(in_channels, out_channels, hw, kernel, stride, padding);
        geometry.validate("Conv2d")?;
        Ok(Conv2d { geometry })
    }
}

impl ConvTranspose2d {
    /// `in_channels` images of `(height, width)` to `out_channels` images of
    /// `((height - 1)·stride - 2·padding + kernel)` by the same in width.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        hw: (usize, usize),
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let geometry = ConvGeometry::transposed(in_channels, out_channels, hw, kernel, stride, padding)
            .ok_or_else(|| minimax_autodiff::Error::Invalid {
                op: "ConvTranspose2d",
                why: format!(
                    "{in_channels} channels of {}×{} with kernel {kernel}, stride {stride}, padding {padding} give no output image",
                    hw.0, hw.1
                ),
            })?;
        geometry.validate("ConvTranspose2d")?;
        Ok(ConvTranspose2d { geometry })
    }
}

/// `(weight, bias)` drawn by `init` for a weight of `shape` whose outputs
/// each sum `fan_in` inputs and whose inputs each feed `fan_out` outputs,
/// with `bias` entries: Xavier-uniform (`a = √(6 / (fan_in + fan_out))`, bias
/// 0), or PyTorch's default (`U(±1/√fan_in)` for both).
fn draw<B: Backend>(
    backend: &B,
    init: Init,
    seed: u64,
    shape: Shape,
    (fan_in, fan_out): (usize, usize),
    bias: usize,
) -> Vec<B::Tensor> {
    let uniform = |a: f64| Dist::Uniform { lo: -a, hi: a };
    let bias_shape = Shape::new(1, bias);
    let (a, b) = match init {
        Init::XavierUniform => ((6.0 / (fan_in + fan_out) as f64).sqrt(), None),
        Init::TorchDefault => {
            let a = 1.0 / (fan_in as f64).sqrt();
            (a, Some(a))
        }
    };
    let w = backend.random(shape, uniform(a), derive_seed(&[seed, 0]));
    let b = match b {
        Some(a) => backend.random(bias_shape, uniform(a), derive_seed(&[seed, 1])),
        None => backend.fill(bias_shape, 0.0),
    };
    vec![w, b]
}

impl Layer for Conv2d {
    /// `weight` `[C_out, C_in·k·k]` (PyTorch's `[C_out, C_in, k, k]`) and
    /// `bias` `[1, C_out]`.
    fn param_specs(&self) -> Vec<Spec> {
        let g = self.geometry;
        vec![("weight", g.weight_shape()), ("bias", Shape::new(1, g.out_channels))]
    }

    /// PyTorch's fans for `Conv2d`: `fan_in = C_in·k·k`, `fan_out = C_out·k·k`.
    fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> Vec<B::Tensor> {
        let g = self.geometry;
        let k2 = g.kernel * g.kernel;
        draw(
            backend,
            init,
            seed,
            g.weight_shape(),
            (g.in_channels * k2, g.out_channels * k2),
            g.out_channels,
        )
    }

    fn widths(&self) -> Option<(usize, usize)> {
        Some((self.geometry.in_cols(), self.geometry.out_cols()))
    }

    /// `[batch, C_in·H·W] -> [batch, C_out·OH·OW]`.
    fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        _: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        x.conv2d(&params[0], self.geometry)?.add_channels(&params[1])
    }
}

impl Layer for ConvTranspose2d {
    /// `weight` `[C_in, C_out·k·k]` (PyTorch's `ConvTranspose2d` weight
    /// `[C_in, C_out, k, k]`; here `C_in` is `geometry.out_channels`) and
    /// `bias` `[1, C_out]`.
    fn param_specs(&self) -> Vec<Spec> {
        let g = self.geometry;
        vec![("weight", g.weight_shape()), ("bias", Shape::new(1, g.in_channels))]
    }

    /// PyTorch's fans for `ConvTranspose2d`, read off its weight
    /// `[C_in, C_out, k, k]` as for any weight: `fan_in = C_out·k·k` (its
    /// dimension 1 times the kernel), `fan_out = C_in·k·k`.
    fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> Vec<B::Tensor> {
        let g = self.geometry;
        let k2 = g.kernel * g.kernel;
        draw(
            backend,
            init,
            seed,
            g.weight_shape(),
            (g.in_channels * k2, g.out_channels * k2),
            g.in_channels,
        )
    }

    fn widths(&self) -> Option<(usize, usize)> {
        Some((self.geometry.out_cols(), self.geometry.in_cols()))
    }

    /// `[batch, C_in·H·W] -> [batch, C_out·H'·W']` (upsampled).
    fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        _: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        x.conv_transpose2d(&params[0], self.geometry)?.add_channels(&params[1])
    }
}
