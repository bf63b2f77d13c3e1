//! [`Sequential`]: layers applied one after the other, grouped in numbered
//! blocks, and [`Context`], what one forward pass runs with.
//!
//! A block is one "layer" in the everyday sense (an affine map with the
//! normalisation, activation and dropout that follow it). Its number names
//! its tensors and seeds its draws:
//!
//! - parameter `weight` of a layer of block `b` is `layer{b}.weight`,
//!   running state `running_mean` is `layer{b}.running_mean`;
//! - block `b`'s layers draw their initial parameters from
//!   `derive_seed(&[seed, b])` and their dropout masks from
//!   `derive_seed(&[pass seed, b])`.
//!
//! Every name, count and position comes from the layers' specs, read once
//! when a block is pushed: parameters are in block order, and within a
//! block in layer order, as [`Module::param_specs`] lists them.

use crate::batchnorm::Norm;
use crate::layer::{Layer, LayerContext, LayerKind, Spec};
use crate::layers::Init;
use crate::{Module, ParamStore};
use minimax_autodiff::rng::derive_seed;
use minimax_autodiff::{Backend, Error, Result, Shape, Var};
use std::ops::Range;

/// A network: a list of layers in numbered blocks (see the module docs).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequential {
    /// The layers in order, each with its block and named tensors.
    entries: Vec<Entry>,
    /// Blocks pushed.
    blocks: usize,
    /// Parameters of all layers.
    param_count: usize,
}

/// One layer of a [`Sequential`] and where its tensors are.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    layer: LayerKind,
    block: usize,
    /// The position of its first parameter among the network's.
    first: usize,
    /// Its parameters' full names and shapes.
    params: Vec<(String, Shape)>,
    /// Its running state's full names and shapes.
    running: Vec<(String, Shape)>,
}

/// What one forward pass runs with beside the parameters and the input.
pub struct Context<'a, B: Backend> {
    /// The running state (batch norm's statistics) and whether the pass
    /// updates it; `None` for a network that keeps none.
    pub norm: Option<Norm<'a, B>>,
    /// The seed of the pass's dropout masks (training); `None` turns
    /// dropout off (evaluation).
    pub dropout_seed: Option<u64>,
}

impl<B: Backend> Default for Context<'_, B> {
    fn default() -> Self {
        Context { norm: None, dropout_seed: None }
    }
}

impl<'a, B: Backend> Context<'a, B> {
    /// No running state, no dropout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same context with running state `norm`.
    pub fn with_norm(self, norm: Norm<'a, B>) -> Self {
        Context { norm: Some(norm), ..self }
    }
}

impl Sequential {
    /// A network with no layers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a block of `layers`, numbered after the last. Refused if one
    /// of its tensors' names is taken (two layers of a block asking for the
    /// same name, such as two `weight`s), or if a layer with fixed widths
    /// does not take the width the one before it gives.
    pub fn push_block(&mut self, layers: impl IntoIterator<Item = LayerKind>) -> Result<()> {
        let block = self.blocks;
        let refuse = |why: String| Err(Error::Invalid { op: "Sequential::push_block", why });
        let mut pushed: Vec<Entry> = Vec::new();
        let mut first = self.param_count;
        for layer in layers {
            let params = named(block, layer.param_specs());
            let running = named(block, layer.running_specs());
            let entry = Entry { layer, block, first, params, running };
            let earlier = || self.entries.iter().chain(&pushed);
            if let Some(name) =
                entry.names().find(|&n| earlier().any(|e| e.names().any(|m| m == n)))
            {
                return refuse(format!("two tensors named {name} in block {block}"));
            }
            let given = earlier().rev().find_map(|e| e.layer.widths()).map(|(_, out)| out);
            let takes = entry.layer.widths().map(|(input, _)| input);
            if let (Some(given), Some(takes)) = (given, takes) {
                if given != takes {
                    let layer = &entry.layer;
                    return refuse(format!(
                        "block {block}: {layer:?} takes {takes} features, \
                         the one before gives {given}"
                    ));
                }
            }
            first += entry.params.len();
            pushed.push(entry);
        }
        self.entries.extend(pushed);
        self.blocks += 1;
        self.param_count = first;
        Ok(())
    }

    /// The same network with a block of `layers` appended
    /// ([`Sequential::push_block`]).
    pub fn block(mut self, layers: impl IntoIterator<Item = LayerKind>) -> Result<Self> {
        self.push_block(layers)?;
        Ok(self)
    }

    /// Blocks in the network.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// Every layer in order, with its block.
    pub fn layers(&self) -> impl Iterator<Item = (usize, &LayerKind)> {
        self.entries.iter().map(|e| (e.block, &e.layer))
    }

    /// Parameter tensors of all layers.
    pub fn param_count(&self) -> usize {
        self.param_count
    }

    /// The widths through the network, input first: the input width of the
    /// first layer that has fixed ones ([`Layer::widths`]), then each such
    /// layer's output width. Empty if no layer fixes a width.
    pub fn sizes(&self) -> Vec<usize> {
        let mut widths = self.entries.iter().filter_map(|e| e.layer.widths()).peekable();
        let mut sizes: Vec<usize> = widths.peek().map(|&(input, _)| input).into_iter().collect();
        sizes.extend(widths.map(|(_, output)| output));
        sizes
    }

    /// Input features, if a layer fixes them.
    pub fn input_size(&self) -> Option<usize> {
        self.entries.iter().find_map(|e| e.layer.widths()).map(|(input, _)| input)
    }

    /// Output features, if a layer fixes them.
    pub fn output_size(&self) -> Option<usize> {
        self.entries.iter().rev().find_map(|e| e.layer.widths()).map(|(_, output)| output)
    }

    /// Fresh parameters for every layer, in [`Module::param_specs`] order,
    /// drawn on `backend`; block `b` draws from `derive_seed(&[seed, b])`,
    /// so two networks given different seeds start differently.
    ///
    /// # Panics
    /// If a layer's [`Layer::init_params`] returns a different number of
    /// tensors than its [`Layer::param_specs`] lists.
    pub fn init_params<B: Backend>(&self, backend: &B, init: Init, seed: u64) -> ParamStore<B> {
        let mut store = ParamStore::new();
        for e in &self.entries {
            let tensors = e.layer.init_params(backend, init, derive_seed(&[seed, e.block as u64]));
            assert_eq!(tensors.len(), e.params.len(), "{:?}: one tensor per spec", e.layer);
            for ((name, _), tensor) in e.params.iter().zip(tensors) {
                store.push(name.clone(), tensor);
            }
        }
        store
    }

    /// Each running tensor's name and shape, in order (batch norm's
    /// `layer{b}.running_mean` and `layer{b}.running_var`).
    pub fn running_specs(&self) -> Vec<(String, Shape)> {
        self.entries.iter().flat_map(|e| e.running.iter().cloned()).collect()
    }

    /// Fresh running state for every layer that keeps some (empty if none
    /// does), for [`Norm::Train`] and [`Norm::Eval`].
    ///
    /// # Panics
    /// As [`Sequential::init_params`], for [`Layer::init_running`].
    pub fn init_running<B: Backend>(&self, backend: &B) -> ParamStore<B> {
        let mut store = ParamStore::new();
        for e in &self.entries {
            let tensors = e.layer.init_running(backend);
            assert_eq!(tensors.len(), e.running.len(), "{:?}: one tensor per spec", e.layer);
            for ((name, _), tensor) in e.running.iter().zip(tensors) {
                store.push(name.clone(), tensor);
            }
        }
        store
    }

    /// The forward pass with no running state and no dropout. `params` are
    /// the variables of [`ParamStore::on_tape`] (or
    /// [`ParamStore::constants`]) of a store that matches
    /// [`Module::param_specs`].
    pub fn forward<B: Backend>(&self, params: &[Var<B>], x: &Var<B>) -> Result<Var<B>> {
        self.forward_with(params, x, Context::new())
    }

    /// The forward pass in context `ctx` (running state, dropout).
    pub fn forward_with<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        ctx: Context<'_, B>,
    ) -> Result<Var<B>> {
        self.forward_blocks(params, x, ctx, 0..self.blocks)
    }

    /// The output of blocks `blocks` for their input `x` (`0..n` gives the
    /// first `n` blocks' output, as a classifier's features; `n..n + 1` then
    /// goes on from there). `params` are the whole network's.
    pub fn forward_blocks<B: Backend>(
        &self,
        params: &[Var<B>],
        x: &Var<B>,
        mut ctx: Context<'_, B>,
        blocks: Range<usize>,
    ) -> Result<Var<B>> {
        if params.len() != self.param_count || blocks.start > blocks.end || blocks.end > self.blocks
        {
            let (want, have, got) = (self.param_count, self.blocks, params.len());
            return Err(Error::Invalid {
                op: "Sequential::forward",
                why: format!(
                    "the network has {want} parameters in {have} blocks, \
                     got {got} parameters for blocks {blocks:?}"
                ),
            });
        }
        // Entries are in block order, so the blocks are a run of entries.
        let start = self.entries.partition_point(|e| e.block < blocks.start);
        let end = self.entries.partition_point(|e| e.block < blocks.end);
        let mut h = x.clone();
        let mut i = start;
        while i < end {
            let e = &self.entries[i];
            let p = &params[e.first..e.first + e.params.len()];
            let norm = ctx.norm.as_mut().map(Norm::reborrow);
            let mut layer_ctx = LayerContext::new(norm, &e.running, ctx.dropout_seed, e.block);
            // An activation right after a layer goes into the layer's op
            // when the layer can take it (`Linear`: one `Var::linear`).
            let next = self.entries[i + 1..end].first();
            h = match next.and_then(|n| n.layer.as_activation()) {
                Some(act) => {
                    i += 2;
                    e.layer.forward_then(p, &h, act, &mut layer_ctx)?
                }
                None => {
                    i += 1;
                    e.layer.forward(p, &h, &mut layer_ctx)?
                }
            };
        }
        Ok(h)
    }
}

impl Entry {
    /// The full names of its parameters and running state.
    fn names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().chain(&self.running).map(|(name, _)| name.as_str())
    }
}

/// A layer's specs named for block `block`: `layer{block}.{name}`.
fn named(block: usize, specs: Vec<Spec>) -> Vec<(String, Shape)> {
    specs.into_iter().map(|(name, shape)| (format!("layer{block}.{name}"), shape)).collect()
}

impl Module for Sequential {
    fn param_specs(&self) -> Vec<(String, Shape)> {
        self.entries.iter().flat_map(|e| e.params.iter().cloned()).collect()
    }
}
