//! [`Layer`]: one step of a [`crate::Sequential`] network, and
//! [`LayerKind`], the list of every layer a network can hold.
//!
//! A layer is a *shape*: it says which parameters it needs (a name within
//! the layer and a shape), how to draw them, which running state it keeps
//! beside them (batch norm's statistics), and how to map its input to its
//! output given its parameters as variables on a tape. The tensors live in
//! a [`crate::ParamStore`]; the network names them and hands each layer its
//! own slice.
//!
//! A new layer is a type in its own file implementing [`Layer`], plus one
//! line in the `layer_kinds!` list at the bottom of this file.

use crate::batchnorm::Norm;
use crate::layers::{Activation, Init};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Error, Result, Shape, Var};

/// A tensor a layer asks for: its name within the layer (`"weight"`) and
/// its shape. The network prefixes the name with the layer's block
/// (`"layer0.weight"`).
pub type Spec = (&'static str, Shape);

/// One step of a network: its parameters, running state and forward pass.
///
/// The methods are generic over the backend, so the trait is not object
/// safe: a network holds its layers as a [`LayerKind`].
pub trait Layer {
    /// The parameters, in the order [`Layer::forward`] takes them. None by
    /// default.
    fn param_specs(&self) -> Vec<Spec> {
        Vec::new()
    }

    /// Fresh parameters, one per [`Layer::param_specs`] entry, drawn on
    /// `backend` by `init` from `seed` (the layer's block's seed).
    fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> Vec<B::Tensor> {
        let _ = (backend, init, seed);
        Vec::new()
    }

    /// Running state kept beside the parameters and never trained (batch
    /// norm's running statistics), in order. None by default.
    fn running_specs(&self) -> Vec<Spec> {
        Vec::new()
    }

    /// Fresh running state, one per [`Layer::running_specs`] entry.
    fn init_running<B: Backend>(&self, backend: &B) -> Vec<B::Tensor> {
        let _ = backend;
        Vec::new()
    }

    /// `(in, out)` for a layer that maps `[batch, in]` to `[batch, out]`
    /// with fixed widths; `None` (the default) for one that keeps any width.
    fn widths(&self) -> Option<(usize, usize)> {
        None
    }

    /// The layer's output for `x`, given its parameters (in
    /// [`Layer::param_specs`] order) and the pass's context.
    fn forward<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        ctx: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>>;

    /// [`Layer::forward`] followed by `act`. A layer that can fold the
    /// activation into its own op overrides this (see [`crate::Linear`]).
    fn forward_then<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        act: Activation,
        ctx: &mut LayerContext<'_, B>,
    ) -> Result<Var<B>> {
        Ok(act.apply(&self.forward(params, x, ctx)?))
    }

    /// The activation this layer is, if it is an elementwise one that the
    /// layer before may fold in ([`Layer::forward_then`]).
    fn as_activation(&self) -> Option<Activation> {
        None
    }
}

/// What one layer sees of a forward pass beside its parameters and input:
/// its running state, and the seed of its random draws.
pub struct LayerContext<'c, B: Backend> {
    /// The network's running state and whether this pass updates it; `None`
    /// when the pass was given none.
    norm: Option<Norm<'c, B>>,
    /// The full names of this layer's running state, in
    /// [`Layer::running_specs`] order.
    running: &'c [(String, Shape)],
    /// The pass's dropout seed, if it draws masks (training).
    pass_seed: Option<u64>,
    /// The layer's block in the network.
    block: usize,
}

impl<'c, B: Backend> LayerContext<'c, B> {
    /// The context of a layer of block `block` whose running state is named
    /// `running`.
    pub(crate) fn new(
        norm: Option<Norm<'c, B>>,
        running: &'c [(String, Shape)],
        pass_seed: Option<u64>,
        block: usize,
    ) -> Self {
        LayerContext { norm, running, pass_seed, block }
    }

    /// The seed of this layer's random draws in this pass (dropout's
    /// masks): `derive_seed(&[pass seed, block])`, or `None` when the pass
    /// draws nothing (evaluation).
    pub fn seed(&self) -> Option<u64> {
        self.pass_seed.map(|seed| derive_seed(&[seed, self.block as u64]))
    }

    /// Whether this pass updates the running state ([`Norm::Train`]) or
    /// only reads it.
    pub fn updates_running(&self) -> bool {
        matches!(self.norm, Some(Norm::Train(_)))
    }

    /// Running tensor `i` (in [`Layer::running_specs`] order).
    pub fn running(&self, i: usize) -> Result<&B::Tensor> {
        let name = self.running_name(i)?;
        let found = match &self.norm {
            Some(Norm::Train(store)) => store.get(name),
            Some(Norm::Eval(store)) => store.get(name),
            None => None,
        };
        found.map(|p| &p.tensor).ok_or_else(|| missing(name))
    }

    /// Replaces running tensor `i`; only in a pass that updates them.
    pub fn set_running(&mut self, i: usize, tensor: B::Tensor) -> Result<()> {
        let name = self.running_name(i)?;
        let Some(Norm::Train(store)) = &mut self.norm else {
            return Err(Error::Invalid {
                op: "LayerContext::set_running",
                why: format!("{name}: this pass does not update running state (Norm::Eval)"),
            });
        };
        store.get_mut(name).ok_or_else(|| missing(name))?.tensor = tensor;
        Ok(())
    }

    /// The full name of running tensor `i`.
    fn running_name(&self, i: usize) -> Result<&'c str> {
        self.running.get(i).map(|(name, _)| name.as_str()).ok_or_else(|| Error::Invalid {
            op: "LayerContext::running",
            why: format!("running tensor {i} of a layer that keeps {}", self.running.len()),
        })
    }
}

/// The error for running state the pass was not given.
fn missing(name: &str) -> Error {
    Error::Invalid {
        op: "Sequential::forward",
        why: format!(
            "no running state {name} (give the pass Norm::Train or Norm::Eval \
             with the store of Sequential::init_running)"
        ),
    }
}

/// Declares [`LayerKind`], one variant per layer type, and implements
/// [`Layer`] on it by passing each call to the variant's layer.
macro_rules! layer_kinds {
    ($($(#[$doc:meta])* $variant:ident($layer:ty),)*) => {
        /// One layer of a [`crate::Sequential`]: any of the layer types.
        #[derive(Clone, Debug, PartialEq)]
        pub enum LayerKind {
            $($(#[$doc])* $variant($layer),)*
        }

        $(impl From<$layer> for LayerKind {
            fn from(layer: $layer) -> Self {
                LayerKind::$variant(layer)
            }
        })*

        impl Layer for LayerKind {
            fn param_specs(&self) -> Vec<Spec> {
                match self { $(LayerKind::$variant(l) => l.param_specs(),)* }
            }
            fn init_params<B: Backend>(
                &self,
                backend: &B,
                init: Init,
                seed: u64,
            ) -> Vec<B::Tensor> {
                match self { $(LayerKind::$variant(l) => l.init_params(backend, init, seed),)* }
            }
            fn running_specs(&self) -> Vec<Spec> {
                match self { $(LayerKind::$variant(l) => l.running_specs(),)* }
            }
            fn init_running<B: Backend>(&self, backend: &B) -> Vec<B::Tensor> {
                match self { $(LayerKind::$variant(l) => l.init_running(backend),)* }
            }
            fn widths(&self) -> Option<(usize, usize)> {
                match self { $(LayerKind::$variant(l) => l.widths(),)* }
            }
            fn forward<B: Backend>(
                &self,
                params: &[Var<B>],
                x: &Var<B>,
                ctx: &mut LayerContext<'_, B>,
            ) -> Result<Var<B>> {
                match self { $(LayerKind::$variant(l) => l.forward(params, x, ctx),)* }
            }
            fn forward_then<B: Backend>(
                &self,
                params: &[Var<B>],
                x: &Var<B>,
                act: Activation,
                ctx: &mut LayerContext<'_, B>,
            ) -> Result<Var<B>> {
                match self { $(LayerKind::$variant(l) => l.forward_then(params, x, act, ctx),)* }
            }
            fn as_activation(&self) -> Option<Activation> {
                match self { $(LayerKind::$variant(l) => l.as_activation(),)* }
            }
        }
    };
}

layer_kinds! {
    /// An affine map `x·W + b`.
    Linear(crate::layers::Linear),
    /// Batch normalisation of each feature.
    BatchNorm(crate::batchnorm::BatchNorm1d),
    /// An elementwise activation.
    Act(crate::layers::Activation),
    /// Inverted dropout (training only).
    Dropout(crate::dropout::Dropout),
    /// A 2-D convolution with a bias per channel.
    Conv(crate::conv::Conv2d),
    /// A 2-D transposed convolution with a bias per channel.
    ConvTranspose(crate::conv::ConvTranspose2d),
    /// Batch normalisation of each channel of an image.
    BatchNorm2d(crate::batchnorm2d::BatchNorm2d),
}
