//! Reading a frame's tensors back to the host.
//!
//! On the CPU a read is a copy, and blocking is fine. On WebGPU a read is
//! `mapAsync`, which completes only after the page's JavaScript returns to
//! the browser's event loop: a blocking read would wait forever, so the
//! page `await`s `Wgpu::download_many_async` (the `webgpu` branch; not yet on main) instead (see
//! `js.rs`). Either way the values arrive here as `f64`, in the order the
//! frame asked for them.

use minimax_autodiff::{Backend, Real};
use minimax_gan::TrainError;

/// The values of a frame's tensors, one `Vec` per tensor, in order.
pub type Values = Vec<Vec<f64>>;

/// Reads `tensors` one after another, blocking: for the CPU backend, and
/// for native tests of any backend.
pub fn read_blocking<B: Backend>(
    backend: &B,
    tensors: &[B::Tensor],
) -> minimax_autodiff::Result<Values> {
    tensors
        .iter()
        .map(|t| Ok(backend.download(t)?.into_iter().map(|v| v.to_f64()).collect()))
        .collect()
}

/// `f32` values as `f64`, for a read that returns `f32`.
pub fn widen(values: Vec<Vec<f32>>) -> Values {
    values.into_iter().map(|v| v.into_iter().map(f64::from).collect()).collect()
}

/// `Err(name)` for the first of `named` holding a NaN or an infinity.
pub fn finite<'a>(named: &[(&'a str, &[f64])]) -> Result<(), &'a str> {
    match named.iter().find(|(_, v)| v.iter().any(|x| !x.is_finite())) {
        Some((name, _)) => Err(name),
        None => Ok(()),
    }
}

/// Puts the last D- and G-step losses (those there are: none before the
/// first step) at the end of a frame's `tensors`; says which were put.
pub fn push_losses<T: Clone>(losses: (Option<&T>, Option<&T>), tensors: &mut Vec<T>) -> [bool; 2] {
    let (d, g) = losses;
    tensors.extend(d.into_iter().chain(g).cloned());
    [d.is_some(), g.is_some()]
}

/// A frame's values, taken in the order its tensors were asked for.
pub struct Taker {
    values: std::vec::IntoIter<Vec<f64>>,
}

impl Taker {
    /// Hands out `values` one tensor at a time.
    pub fn new(values: Values) -> Self {
        Taker { values: values.into_iter() }
    }

    /// The next tensor's values; `what` names it in the error if missing.
    pub fn next(&mut self, what: &str) -> Result<Vec<f64>, TrainError> {
        self.values.next().ok_or_else(|| TrainError::Config(format!("frame: no values for {what}")))
    }

    /// D's and G's losses, for those [`push_losses`] put.
    pub fn losses(&mut self, put: [bool; 2]) -> Result<(Option<f64>, Option<f64>), TrainError> {
        let d = if put[0] { Some(self.next("D's loss")?[0]) } else { None };
        let g = if put[1] { Some(self.next("G's loss")?[0]) } else { None };
        Ok((d, g))
    }
}

/// Why training must stop at `step`: the first of the losses and `named`
/// values holding a NaN or an infinity, if any.
pub fn divergence(
    step: u64,
    (d_loss, g_loss): (Option<f64>, Option<f64>),
    named: &[(&str, &[f64])],
) -> Option<String> {
    let losses = [("D's loss", d_loss.as_slice()), ("G's loss", g_loss.as_slice())];
    finite(&[&losses[..], named].concat())
        .err()
        .map(|what| format!("{what} became NaN or infinite by step {step}: training stopped"))
}
