//! Shared by the hand-computed gradient tests.

use minimax_autodiff::{Backend, Reference, Result, Shape, Tape, Var};

/// The backend of the hand-computed tests: exact enough for `f64` asserts.
pub type B = Reference<f64>;

/// An input: `(rows, cols, row-major data)`.
pub type Input<'a> = (usize, usize, &'a [f64]);

/// Puts `inputs` on a tape as leaves, applies `f`, and backpropagates from its
/// output, seeded with `seed` (`None`: the output must be a scalar, seeded
/// with 1). Returns the output's values and each input's gradient.
pub fn run(
    inputs: &[Input],
    seed: Option<&[f64]>,
    f: impl Fn(&[Var<B>]) -> Result<Var<B>>,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let be = B::new();
    let tape = Tape::new(be);
    let leaves: Vec<Var<B>> = inputs
        .iter()
        .map(|&(r, c, data)| tape.leaf(be.upload(Shape::new(r, c), data).unwrap()))
        .collect();
    let y = f(&leaves).unwrap();
    let grads = match seed {
        None => tape.backward(&y).unwrap(),
        Some(g) => tape.backward_with(&y, be.upload(y.shape(), g).unwrap()).unwrap(),
    };
    let dx = leaves.iter().map(|v| be.download(grads.get(v).expect("no gradient")).unwrap());
    (y.to_vec().unwrap(), dx.collect())
}
