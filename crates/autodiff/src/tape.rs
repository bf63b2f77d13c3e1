//! The tape: a record of every op, walked in reverse to get gradients.
//!
//! How it works, in the order things happen:
//!
//! 1. A [`Tape`] records one forward pass (one training step) at a time.
//!    It is a list of nodes, and it is cheap: parameters live outside it,
//!    and a node stores no values of its own, only what its derivative
//!    needs.
//! 2. [`Tape::leaf`] puts a tensor on the tape as a *tracked* input (one we
//!    want the gradient of); [`Tape::constant`] puts one on as data.
//! 3. Every op on a [`Var`] (see `ops/`) computes its output with the
//!    backend, then pushes a node holding the ids of its inputs and its
//!    *backward rule*: a struct of the op's file holding whatever the
//!    derivative needs (usually the inputs or the output, sometimes flags).
//!    Given the gradient of the loss with respect to the op's output, the
//!    rule gives the gradient with respect to each input (the chain rule,
//!    one op at a time). Each rule's `backward` is in `ops/`, right under the
//!    forward of its op, registered once in `ops/mod.rs`.
//! 4. [`Tape::backward`] seeds the loss's gradient with 1 and walks the
//!    nodes in reverse. Nodes were pushed in the order they were computed,
//!    so reverse order is a valid reverse topological order: by the time a
//!    node is visited, every op that used its output has already added its
//!    contribution. A rule hands each input's gradient to an [`InputGrads`],
//!    which sums contributions (`+=`: a tensor used twice gets both
//!    gradients) and tells the rule which inputs need no gradient at all (a
//!    constant, such as the noise fed to a generator), so those are never
//!    computed.
//! 5. Nodes that do not depend on any tracked leaf record no rule at all, so
//!    [`Var::detach`] (which re-enters a value as a constant) stops the
//!    gradient: that is how D is trained on G's output without touching G.
//!
//! ## Why an enum, and why [`Tape::reset`]
//!
//! A training step records the same few dozen ops every time. Were each
//! backward a boxed closure, and each node's inputs a `Vec` of their own,
//! every op would cost heap allocations, every step. Here a rule is one
//! enum value stored *inline* in its node, the input ids of all nodes share
//! one `Vec`, and [`Tape::reset`] empties a tape for the next step while
//! keeping all of its storage (the nodes, the input ids, the per-node
//! gradient slots of the backward pass and the vector [`Grads`] hands back
//! when dropped). So in a training step's steady state the tape allocates
//! nothing, and with the CPU backend's recycled tensor buffers neither does
//! the whole step (`tests/alloc_steady_state.rs`).
//!
//! Ops outside this crate can still be differentiated: [`Tape::record`]
//! takes a boxed closure ([`BackwardFn`]), stored as the `Custom` rule.
//!
//! ## One tape per op
//!
//! Nodes are numbered per tape, so an op whose inputs sit on two tapes
//! would link its node to unrelated nodes of the other tape (a wrong
//! gradient, or an index out of bounds). Every tape has a unique id, carried
//! by its variables, and recording an op checks that all of its inputs
//! carry the recording tape's id: a mix is an error naming the op. The same
//! goes for a gradient of the wrong shape from a custom backward.

use crate::ops::{Backward, Rule};
use crate::{Backend, Error, Result, Shape, TensorShape};
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A user-defined backward, for [`Tape::record`]: from the gradient of the
/// op's output to the gradients of its inputs (one per input, in order).
pub type BackwardFn<B> =
    Box<dyn Fn(&B, &<B as Backend>::Tensor) -> Result<Vec<<B as Backend>::Tensor>>>;

/// The rule of an op defined outside this crate, named `op`: its boxed
/// closure, see [`Tape::record`].
pub(crate) struct CustomRule<B: Backend> {
    op: &'static str,
    backward: BackwardFn<B>,
}

impl<B: Backend> Rule<B> for CustomRule<B> {
    fn name(&self) -> &'static str {
        self.op
    }

    fn backward(&self, be: &B, dy: &B::Tensor, inputs: &mut InputGrads<'_, B>) -> Result<()> {
        let grads = (self.backward)(be, dy)?;
        if grads.len() != inputs.len() {
            return Err(Error::Invalid {
                op: self.op,
                why: format!(
                    "the backward returned {} gradients for {} inputs",
                    grads.len(),
                    inputs.len()
                ),
            });
        }
        for (k, g) in grads.into_iter().enumerate() {
            inputs.add(k, g)?;
        }
        Ok(())
    }
}

/// Where a backward rule sends the gradients of its node's inputs, input
/// `k` being the `k`-th operand of the op.
pub(crate) struct InputGrads<'a, B: Backend> {
    backend: &'a B,
    /// The op whose rule runs (for error messages).
    op: &'static str,
    /// The ids of the node's inputs.
    ids: &'a [usize],
    /// Every node of the tape (for `requires_grad` and the shapes).
    nodes: &'a [Node<B>],
    /// The gradients received so far by every node before this one (an
    /// input always comes before the node that uses it).
    grads: &'a mut [Option<B::Tensor>],
}

impl<B: Backend> InputGrads<'_, B> {
    /// How many inputs the node has.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether input `k` needs a gradient: a tracked leaf flows into it.
    /// A rule computes the gradient of an input only if it does.
    pub(crate) fn needs(&self, k: usize) -> bool {
        self.nodes[self.ids[k]].requires_grad
    }

    /// The shape of input `k`.
    pub(crate) fn shape(&self, k: usize) -> Shape {
        self.nodes[self.ids[k]].shape
    }

    /// Adds `g` to the gradient of input `k` (dropped if it needs none).
    /// A gradient must have its input's shape: a rule that gets it wrong (a
    /// custom backward, see [`Tape::record`]) is an error naming the op.
    pub(crate) fn add(&mut self, k: usize, g: B::Tensor) -> Result<()> {
        if g.shape() != self.shape(k) {
            return Err(crate::shape_error(
                self.op,
                self.shape(k),
                g.shape(),
                format!("the backward gave input {k} a gradient of another shape than its own"),
            ));
        }
        if !self.needs(k) {
            return Ok(());
        }
        let slot = &mut self.grads[self.ids[k]];
        *slot = Some(match slot.take() {
            None => g,
            // A tensor used twice: its gradients add up.
            Some(acc) => self.backend.accumulate(acc, &g)?,
        });
        Ok(())
    }
}

struct Node<B: Backend> {
    /// Where the ids of the op's inputs are in [`Storage::inputs`].
    inputs: Range<usize>,
    /// The shape of the node's value.
    shape: Shape,
    /// `None` for leaves, constants, and ops on constants only.
    backward: Option<Backward<B>>,
    /// Whether any tracked leaf flows into this node.
    requires_grad: bool,
}

/// Everything a tape holds, kept from one pass to the next by [`Tape::reset`].
struct Storage<B: Backend> {
    /// The nodes, in the order they were recorded.
    nodes: Vec<Node<B>>,
    /// The input ids of every node, one node's after another's.
    inputs: Vec<usize>,
    /// The backward pass's gradient of every node, empty between passes.
    grads: Vec<Option<B::Tensor>>,
    /// Room for the next [`Grads`], handed back when the last one is dropped.
    leaves: Vec<(usize, B::Tensor)>,
    /// The `[1, 1]` one that seeds [`Tape::backward`], made once (a fill is
    /// a kernel launch on the GPU). Shared, never written: an in-place
    /// update of a shared tensor copies it first.
    one: Option<B::Tensor>,
}

/// A tape of recorded ops over backend `B`. Cloning shares the tape.
pub struct Tape<B: Backend> {
    backend: B,
    storage: Rc<RefCell<Storage<B>>>,
    /// Unique among the tapes of this process, shared by clones: an op
    /// checks that its inputs all carry the id of the tape it records on.
    id: u64,
}

/// The id of the next tape.
static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

impl<B: Backend> Clone for Tape<B> {
    fn clone(&self) -> Self {
        Tape { backend: self.backend.clone(), storage: self.storage.clone(), id: self.id }
    }
}

/// A tensor on a tape: its value, and its place on the tape.
pub struct Var<B: Backend> {
    pub(crate) id: usize,
    pub(crate) value: B::Tensor,
    pub(crate) tape: Tape<B>,
}

impl<B: Backend> Clone for Var<B> {
    fn clone(&self) -> Self {
        Var { id: self.id, value: self.value.clone(), tape: self.tape.clone() }
    }
}

impl<B: Backend> std::fmt::Debug for Var<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var#{} {}", self.id, self.shape())
    }
}

impl<B: Backend> Tape<B> {
    /// An empty tape on `backend`.
    pub fn new(backend: B) -> Self {
        let storage = Storage {
            nodes: Vec::new(),
            inputs: Vec::new(),
            grads: Vec::new(),
            leaves: Vec::new(),
            one: None,
        };
        let id = NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed);
        Tape { backend, storage: Rc::new(RefCell::new(storage)), id }
    }

    /// Empties the tape for the next pass, keeping its storage, so a pass
    /// like the last one allocates nothing for its bookkeeping.
    ///
    /// Every [`Var`] and [`Grads`] of the last pass must be dropped first
    /// (they name nodes by number, and the numbers are about to be reused),
    /// as must every other clone of the tape; otherwise this is an error
    /// and nothing is reset.
    pub fn reset(&mut self) -> Result<()> {
        let others = Rc::strong_count(&self.storage) - 1;
        if others > 0 {
            return Err(Error::Invalid {
                op: "Tape::reset",
                why: format!(
                    "{others} variables, gradients or clones of this tape are still alive; \
                     drop them before reusing the tape"
                ),
            });
        }
        let mut storage = self.storage.borrow_mut();
        storage.nodes.clear();
        storage.inputs.clear();
        Ok(())
    }

    /// The backend the tape's ops run on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// How many nodes have been recorded.
    pub fn len(&self) -> usize {
        self.storage.borrow().nodes.len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A tracked input: [`Tape::backward`] returns its gradient.
    pub fn leaf(&self, value: B::Tensor) -> Var<B> {
        self.push_node(value, &[], None, true)
    }

    /// Untracked data: no gradient flows into it.
    pub fn constant(&self, value: B::Tensor) -> Var<B> {
        self.push_node(value, &[], None, false)
    }

    /// Records the output `value` of an op named `op`, defined outside this
    /// crate, computed from `inputs`, with the closure that maps the
    /// output's gradient to the inputs' gradients (one per input, in order,
    /// each of its input's shape). If no input requires a gradient, the
    /// closure is dropped. (The ops of this crate record an enum value
    /// naming their backward rule instead, which allocates nothing.)
    ///
    /// Errors, naming `op`, if an input is on another tape; and at
    /// [`Tape::backward`], if the closure returns the wrong number of
    /// gradients or one of the wrong shape.
    pub fn record(
        &self,
        op: &'static str,
        value: B::Tensor,
        inputs: &[&Var<B>],
        backward: BackwardFn<B>,
    ) -> Result<Var<B>> {
        self.record_op(value, inputs, CustomRule { op, backward })
    }

    /// Records an op's output `value`, computed from `inputs`, with its
    /// backward rule, kept only if some input requires a gradient. An input
    /// on another tape is an error naming the op. (Allocates nothing.)
    pub(crate) fn record_op(
        &self,
        value: B::Tensor,
        inputs: &[&Var<B>],
        backward: impl Into<Backward<B>>,
    ) -> Result<Var<B>> {
        if let Some((k, other)) = inputs.iter().enumerate().find(|(_, v)| v.tape.id != self.id) {
            return Err(Error::Invalid {
                op: backward.into().name(),
                why: format!(
                    "input {k} is a variable of tape {}, but the op is recorded on tape {}: \
                     an op's inputs must all be on one tape (to use a value of another \
                     tape, enter it as `tape.constant(var.value().clone())`)",
                    other.tape.id, self.id
                ),
            });
        }
        Ok(self.record_on_own_tape(value, inputs, backward))
    }

    /// [`Tape::record_op`] for inputs known to be on this tape, such as an
    /// op's only input `x` recorded on `x`'s own tape: cannot fail.
    pub(crate) fn record_on_own_tape(
        &self,
        value: B::Tensor,
        inputs: &[&Var<B>],
        backward: impl Into<Backward<B>>,
    ) -> Var<B> {
        debug_assert!(inputs.iter().all(|v| v.tape.id == self.id));
        let requires_grad = {
            let storage = self.storage.borrow();
            inputs.iter().any(|v| storage.nodes[v.id].requires_grad)
        };
        self.push_node(value, inputs, requires_grad.then(|| backward.into()), requires_grad)
    }

    fn push_node(
        &self,
        value: B::Tensor,
        inputs: &[&Var<B>],
        backward: Option<Backward<B>>,
        requires_grad: bool,
    ) -> Var<B> {
        let mut storage = self.storage.borrow_mut();
        let start = storage.inputs.len();
        storage.inputs.extend(inputs.iter().map(|v| v.id));
        let inputs = start..storage.inputs.len();
        storage.nodes.push(Node { inputs, shape: value.shape(), backward, requires_grad });
        Var { id: storage.nodes.len() - 1, value, tape: self.clone() }
    }

    /// Gradients of a scalar `loss` with respect to every tracked leaf,
    /// seeded with d loss / d loss = 1.
    pub fn backward(&self, loss: &Var<B>) -> Result<Grads<B>> {
        if !loss.shape().is_scalar() {
            return Err(Error::NotScalar { op: "backward", shape: loss.shape() });
        }
        let seed = {
            let mut storage = self.storage.borrow_mut();
            storage.one.get_or_insert_with(|| self.backend.fill(Shape::scalar(), 1.0)).clone()
        };
        self.backward_with(loss, seed)
    }

    /// Like [`Tape::backward`] for an output of any shape, seeded with the
    /// given gradient (a vector–Jacobian product: returns `seedᵀ · J`).
    pub fn backward_with(&self, output: &Var<B>, seed: B::Tensor) -> Result<Grads<B>> {
        if seed.shape() != output.shape() {
            return Err(crate::shape_error(
                "backward_with",
                output.shape(),
                seed.shape(),
                "the seed must have the output's shape",
            ));
        }
        if !Rc::ptr_eq(&output.tape.storage, &self.storage) {
            return Err(Error::Invalid {
                op: "backward_with",
                why: "the output was recorded on another tape".into(),
            });
        }
        let mut storage = self.storage.borrow_mut();
        let Storage { nodes, inputs, grads, leaves, .. } = &mut *storage;
        // grads[id]: the gradient of the output with respect to node id,
        // summed over every use of that node seen so far.
        grads.resize_with(output.id + 1, || None);
        grads[output.id] = Some(seed);
        let mut found = std::mem::take(leaves);
        let walked = self.walk_back(nodes, inputs, grads, &mut found);
        grads.clear(); // empty already, unless a rule failed half-way
        walked?;
        Ok(Grads { leaves: found, storage: self.storage.clone() })
    }

    /// The reverse walk of [`Tape::backward_with`], from the last node with
    /// a gradient to the first: runs each node's rule, and collects the
    /// gradients of the tracked leaves in `leaves`.
    fn walk_back(
        &self,
        nodes: &[Node<B>],
        inputs: &[usize],
        grads: &mut [Option<B::Tensor>],
        leaves: &mut Vec<(usize, B::Tensor)>,
    ) -> Result<()> {
        for id in (0..grads.len()).rev() {
            let Some(dy) = grads[id].take() else {
                continue;
            };
            let node = &nodes[id];
            let Some(rule) = &node.backward else {
                if node.requires_grad {
                    leaves.push((id, dy)); // a tracked leaf: keep it
                }
                continue;
            };
            let mut input_grads = InputGrads {
                backend: &self.backend,
                op: rule.name(),
                ids: &inputs[node.inputs.clone()],
                nodes,
                grads: &mut grads[..id],
            };
            rule.backward(&self.backend, &dy, &mut input_grads)?;
        }
        Ok(())
    }
}

/// The gradients returned by [`Tape::backward`], one per tracked leaf that
/// the output depends on. While they are alive, their tape cannot be
/// [reset](Tape::reset); when dropped, they hand their storage back to it.
pub struct Grads<B: Backend> {
    leaves: Vec<(usize, B::Tensor)>,
    storage: Rc<RefCell<Storage<B>>>,
}

impl<B: Backend> Grads<B> {
    /// The gradient for `leaf`, or `None` if the output does not depend on
    /// it (or `leaf` is on another tape).
    pub fn get(&self, leaf: &Var<B>) -> Option<&B::Tensor> {
        if !Rc::ptr_eq(&leaf.tape.storage, &self.storage) {
            return None;
        }
        self.leaves.iter().find(|(id, _)| *id == leaf.id).map(|(_, g)| g)
    }

    /// Moves the gradient for `leaf` out of the set (`None` if the output
    /// does not depend on it, or it was taken already). An optimizer given
    /// the only handle on a gradient, after the tape is reset and its
    /// variables dropped, updates the parameters in place.
    pub fn take(&mut self, leaf: &Var<B>) -> Option<B::Tensor> {
        if !Rc::ptr_eq(&leaf.tape.storage, &self.storage) {
            return None;
        }
        let at = self.leaves.iter().position(|(id, _)| *id == leaf.id)?;
        Some(self.leaves.swap_remove(at).1)
    }

    /// The gradient for `leaf`, or zeros of its shape if the output does not
    /// depend on it.
    pub fn get_or_zeros(&self, leaf: &Var<B>) -> B::Tensor {
        match self.get(leaf) {
            Some(g) => g.clone(),
            None => leaf.tape.backend.fill(leaf.shape(), 0.0),
        }
    }
}

impl<B: Backend> Drop for Grads<B> {
    fn drop(&mut self) {
        self.leaves.clear();
        // Hand the vector back for the next backward pass (unless the tape
        // is busy, or already has a vector at least as large).
        if let Ok(mut storage) = self.storage.try_borrow_mut() {
            if storage.leaves.capacity() < self.leaves.capacity() {
                std::mem::swap(&mut storage.leaves, &mut self.leaves);
            }
        }
    }
}

impl<B: Backend> Var<B> {
    /// The value.
    pub fn value(&self) -> &B::Tensor {
        &self.value
    }

    /// The shape of the value.
    pub fn shape(&self) -> Shape {
        self.value.shape()
    }

    /// The tape this variable is on.
    pub fn tape(&self) -> &Tape<B> {
        &self.tape
    }

    /// The backend this variable's tape runs on.
    pub fn backend(&self) -> &B {
        &self.tape.backend
    }

    /// The same value as a constant: no gradient flows back through it.
    pub fn detach(&self) -> Var<B> {
        self.tape.constant(self.value.clone())
    }

    /// Copies the value to the host.
    pub fn to_vec(&self) -> Result<Vec<B::Elem>> {
        self.tape.backend.download(&self.value)
    }

    /// The value of a `[1, 1]` variable as an `f64` (downloads it).
    pub fn item(&self) -> Result<f64> {
        use crate::Real;
        if !self.shape().is_scalar() {
            return Err(Error::NotScalar { op: "item", shape: self.shape() });
        }
        Ok(self.to_vec()?[0].to_f64())
    }
}
