//! G and D for an [`ImageConfig`]: the MLPs of the `digits`, `classic` and
//! `notebook` presets, or DCGAN's convolutions (Radford et al. 2015), the
//! net of `../shared/peers/dcgan_step_torch.py` for 28×28 images:
//!
//! ```text
//! G: z → Linear → [c₀, s/4, s/4] → BN → ReLU → ConvT(c₀→c₁, k4 s2 p1) [c₁, s/2, s/2] → BN → ReLU
//!      → ConvT(c₁→1, k4 s2 p1) [1, s, s] → tanh
//! D: x [1, s, s] → Conv(1→d₀, k4 s2 p1) [d₀, s/2, s/2] → LeakyReLU 0.2
//!      → Conv(d₀→d₁, k4 s2 p1) [d₁, s/4, s/4] → BN → LeakyReLU 0.2 → Linear → logit
//! ```
//!
//! with `(c₀, c₁) = g_hidden`, `(d₀, d₁) = d_hidden` (128, 64 and 64, 128 in
//! the preset) and `s` the image's side. Images are rows `[batch, C·s·s]`
//! (the layout of [`minimax_autodiff::conv`]), so G's first Linear already
//! gives `[c₀, s/4, s/4]` channel-major and D's last one reads `[d₁, s/4, s/4]`
//! as it is: no reshape layer is needed. A conditional DCGAN joins the
//! one-hot class to z for G and gives D the class as constant planes beside
//! the image, `1 + classes` input channels ([`class_planes`]).

use crate::error::TrainError;
use crate::image::{ImageConfig, ImageNet};
use minimax_autodiff::{concat_cols, Backend, Shape, Var};
use minimax_nn::{
    Activation, BatchNorm2d, Conv2d, ConvTranspose2d, LayerKind, Linear, Mlp, Sequential,
};

/// G and D for `config`: G ends in tanh (pixels in [-1, 1]), D in a logit.
pub fn players(config: &ImageConfig) -> Result<(Sequential, Sequential), TrainError> {
    match config.net {
        ImageNet::Mlp => mlp_players(config),
        ImageNet::Dcgan => Ok(dcgan_players(config)?),
    }
}

/// The MLP players: hidden widths `g_hidden` and `d_hidden`, batch norm on
/// G's hidden layers after the first if `g_batch_norm`.
fn mlp_players(c: &ImageConfig) -> Result<(Sequential, Sequential), TrainError> {
    let mut g_sizes = vec![c.g_input()];
    g_sizes.extend(&c.g_hidden);
    g_sizes.push(c.pixels);
    let mut g_acts = vec![c.g_activation; c.g_hidden.len()];
    g_acts.push(Activation::Tanh);
    let mut g = Mlp::new(&g_sizes, &g_acts)?;
    if c.g_batch_norm {
        // On the hidden layers after the first, as the classic MLP GAN has it.
        g = g.with_batch_norm(&(1..c.g_hidden.len()).collect::<Vec<_>>())?;
    }
    let mut d_sizes = vec![c.d_input()];
    d_sizes.extend(&c.d_hidden);
    d_sizes.push(1);
    let mut d_acts = vec![c.d_activation; c.d_hidden.len()];
    d_acts.push(Activation::Identity);
    Ok((g.build(), Mlp::new(&d_sizes, &d_acts)?.build()))
}

/// The side `s` of the config's square one-channel images, if `pixels` is
/// `s²` with `s` a multiple of 4 (DCGAN halves it twice).
pub fn dcgan_side(pixels: usize) -> Option<usize> {
    let s = (pixels as f64).sqrt().round() as usize;
    (s * s == pixels && s.is_multiple_of(4) && s > 0).then_some(s)
}

/// DCGAN's G and D (see the module's documentation).
fn dcgan_players(c: &ImageConfig) -> minimax_autodiff::Result<(Sequential, Sequential)> {
    let bad = |why: String| minimax_autodiff::Error::Invalid { op: "dcgan", why };
    let s = dcgan_side(c.pixels).ok_or_else(|| {
        bad(format!("{} pixels are not a square image of a side divisible by 4", c.pixels))
    })?;
    let (&[c0, c1], &[d0, d1]) = (c.g_hidden.as_slice(), c.d_hidden.as_slice()) else {
        return Err(bad("G and D need two channel counts each (g_hidden, d_hidden)".into()));
    };
    let (q, h) = (s / 4, s / 2); // the sides after two and one halvings
    let (g_act, d_act) = (LayerKind::from(c.g_activation), LayerKind::from(c.d_activation));
    let bn = |channels| LayerKind::from(BatchNorm2d::new(channels));
    let g = Sequential::new()
        .block([Linear { fan_in: c.g_input(), fan_out: c0 * q * q }.into(), bn(c0), g_act.clone()])? // [batch, c₀·q·q]
        .block([ConvTranspose2d::new(c0, c1, (q, q), 4, 2, 1)?.into(), bn(c1), g_act])? // [batch, c₁·h·h]
        .block([ConvTranspose2d::new(c1, 1, (h, h), 4, 2, 1)?.into(), Activation::Tanh.into()])?; // [batch, s·s]
    let channels = 1 + if c.conditional { c.classes } else { 0 }; // the image, and the class planes
    let d = Sequential::new()
        .block([Conv2d::new(channels, d0, (s, s), 4, 2, 1)?.into(), d_act.clone()])? // [batch, d₀·h·h]
        .block([Conv2d::new(d0, d1, (h, h), 4, 2, 1)?.into(), bn(d1), d_act])? // [batch, d₁·q·q]
        .block([Linear { fan_in: d1 * q * q, fan_out: 1 }.into()])?; // [batch, 1]
    Ok((g, d))
}

/// D's conditional input for DCGAN: the images `[batch, pixels]` with the
/// one-hot classes `[batch, classes]` as `classes` constant planes beside
/// them, `[batch, (1 + classes)·pixels]`: plane `c` of image `n` is all
/// `onehot[n, c]`. Each one-hot entry, read as a column `[batch·classes, 1]`,
/// is repeated across a plane's pixels; the rows then read back as
/// `[batch, classes·pixels]` are the planes, channel-major.
pub fn class_planes<B: Backend>(
    images: &Var<B>,
    onehot: &Var<B>,
) -> minimax_autodiff::Result<Var<B>> {
    let (batch, pixels, classes) = (images.shape().rows, images.shape().cols, onehot.shape().cols);
    let column = onehot.reshape(Shape::new(batch * classes, 1))?; // [batch·classes, 1]
    let planes = column.broadcast_to(Shape::new(batch * classes, pixels))?; // [batch·classes, pixels]
    concat_cols(&[images, &planes.reshape(Shape::new(batch, classes * pixels))?])
}
