//! The tape: a record of every op, walked in reverse to get gradients.
//!
//! How it works, in the order things happen:
//!
//! 1. A [`Tape`] is created for one forward pass (one training step). It is
//!    a list of nodes, and it is cheap: parameters live outside it, and a
//!    node stores no values of its own.
//! 2. [`Tape::leaf`] puts a tensor on the tape as a *tracked* input (one we
//!    want the gradient of); [`Tape::constant`] puts one on as data.
//! 3. Every op on a [`Var`] (see `ops/`) computes its output with the
//!    backend, then pushes a node holding the ids of its inputs and a
//!    *backward closure*: given the gradient of the loss with respect to the
//!    op's output, it returns the gradient with respect to each input (the
//!    chain rule, one op at a time). The closure captures whatever the
//!    derivative needs (usually the inputs or the output).
//! 4. [`Tape::backward`] seeds the loss's gradient with 1 and walks the
//!    nodes in reverse. Nodes were pushed in the order they were computed,
//!    so reverse order is a valid reverse topological order: by the time a
//!    node is visited, every op that used its output has already added its
//!    contribution. Contributions are summed (`+=`), which is what makes a
//!    tensor used twice get both gradients.
//! 5. Nodes that do not depend on any tracked leaf record no closure at all,
//!    so [`Var::detach`] (which re-enters a value as a constant) stops the
//!    gradient: that is how D is trained on G's output without touching G.

use crate::{Backend, Binary, Error, Result, Shape, TensorShape};
use std::cell::RefCell;
use std::rc::Rc;

/// A backward closure: from the gradient of the op's output to the gradients
/// of its inputs (one per input, in order).
pub type BackwardFn<B> =
    Box<dyn Fn(&B, &<B as Backend>::Tensor) -> Result<Vec<<B as Backend>::Tensor>>>;

struct Node<B: Backend> {
    /// Ids of the op's inputs.
    inputs: Vec<usize>,
    /// `None` for leaves, constants, and ops on constants only.
    backward: Option<BackwardFn<B>>,
    /// Whether any tracked leaf flows into this node.
    requires_grad: bool,
}

/// A tape of recorded ops over backend `B`. Cloning shares the tape.
pub struct Tape<B: Backend> {
    backend: B,
    nodes: Rc<RefCell<Vec<Node<B>>>>,
}

impl<B: Backend> Clone for Tape<B> {
    fn clone(&self) -> Self {
        Tape { backend: self.backend.clone(), nodes: self.nodes.clone() }
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
        Tape { backend, nodes: Rc::new(RefCell::new(Vec::new())) }
    }

    /// The backend the tape's ops run on.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// How many nodes have been recorded.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A tracked input: [`Tape::backward`] returns its gradient.
    pub fn leaf(&self, value: B::Tensor) -> Var<B> {
        self.push_node(value, Vec::new(), None, true)
    }

    /// Untracked data: no gradient flows into it.
    pub fn constant(&self, value: B::Tensor) -> Var<B> {
        self.push_node(value, Vec::new(), None, false)
    }

    /// Records an op's output `value`, computed from `inputs`, with the
    /// closure that maps the output's gradient to the inputs' gradients.
    /// If no input requires a gradient, the closure is dropped.
    pub fn record(&self, value: B::Tensor, inputs: &[&Var<B>], backward: BackwardFn<B>) -> Var<B> {
        let requires_grad = {
            let nodes = self.nodes.borrow();
            inputs.iter().any(|v| nodes[v.id].requires_grad)
        };
        let ids = inputs.iter().map(|v| v.id).collect();
        let backward = requires_grad.then_some(backward);
        self.push_node(value, ids, backward, requires_grad)
    }

    fn push_node(
        &self,
        value: B::Tensor,
        inputs: Vec<usize>,
        backward: Option<BackwardFn<B>>,
        requires_grad: bool,
    ) -> Var<B> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { inputs, backward, requires_grad });
        Var { id: nodes.len() - 1, value, tape: self.clone() }
    }

    /// Gradients of a scalar `loss` with respect to every tracked leaf,
    /// seeded with d loss / d loss = 1.
    pub fn backward(&self, loss: &Var<B>) -> Result<Grads<B>> {
        if !loss.shape().is_scalar() {
            return Err(Error::NotScalar { op: "backward", shape: loss.shape() });
        }
        let seed = self.backend.fill(Shape::scalar(), 1.0);
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
        let b = &self.backend;
        let nodes = self.nodes.borrow();
        // grads[id]: the gradient of the output with respect to node id,
        // summed over every use of that node seen so far.
        let mut grads: Vec<Option<B::Tensor>> = vec![None; output.id + 1];
        grads[output.id] = Some(seed);
        let mut leaves = Vec::new();
        for id in (0..=output.id).rev() {
            let Some(grad) = grads[id].take() else {
                continue;
            };
            let node = &nodes[id];
            let Some(backward) = &node.backward else {
                if node.requires_grad {
                    leaves.push((id, grad)); // a tracked leaf: keep it
                }
                continue;
            };
            let input_grads = backward(b, &grad)?;
            debug_assert_eq!(input_grads.len(), node.inputs.len());
            for (&input, g) in node.inputs.iter().zip(input_grads) {
                if !nodes[input].requires_grad {
                    continue;
                }
                grads[input] = Some(match grads[input].take() {
                    None => g,
                    // A tensor used twice: its gradients add up.
                    Some(acc) => b.binary(Binary::Add, &acc, &g)?,
                });
            }
        }
        Ok(Grads { leaves })
    }
}

/// The gradients returned by [`Tape::backward`], one per tracked leaf that
/// the output depends on.
pub struct Grads<B: Backend> {
    leaves: Vec<(usize, B::Tensor)>,
}

impl<B: Backend> Grads<B> {
    /// The gradient for `leaf`, or `None` if the output does not depend on it.
    pub fn get(&self, leaf: &Var<B>) -> Option<&B::Tensor> {
        self.leaves.iter().find(|(id, _)| *id == leaf.id).map(|(_, g)| g)
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
