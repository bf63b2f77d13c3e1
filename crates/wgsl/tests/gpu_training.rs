//! A short training loop run on the CPU and on the GPU from the same
//! initial weights and the same data: the final parameters must agree.
//! And the cost model of a GPU training step: in steady state one step plus
//! its `flush` is exactly one submit, no readback and no new buffer.
//!
//! The model is a 2-layer MLP written directly with `Var` ops (matmul, bias
//! add, tanh or leaky ReLU, BCE on logits), trained once with Adam and once
//! with SGD + momentum, each optimizer being one fused kernel per parameter.

use minimax_autodiff::{AdamStep, Backend, Dist, Reference, Result, Shape, Tape, Var};
use minimax_wgsl::testing::{assert_steady_step, gpu_or_skip};
use minimax_wgsl::Wgpu;

const IN: usize = 4;
const HIDDEN: usize = 16;
const BATCH: usize = 16;
const DATASET: usize = 64;

#[derive(Copy, Clone, Debug)]
enum Optimizer {
    Adam,
    Sgd,
}

/// The data set on the host: `x` is `[DATASET, IN]` standard normal, the
/// label is 1 when x₀ · x₁ > 0 (an XOR: it needs the hidden layer).
fn dataset() -> (Vec<f32>, Vec<f32>) {
    let cpu = Reference::<f32>::new();
    let x = cpu.random(Shape::new(DATASET, IN), Dist::Normal { mean: 0.0, std: 1.0 }, 7);
    let x = x.data().to_vec();
    let t = (0..DATASET).map(|i| (x[i * IN] * x[i * IN + 1] > 0.0) as u8 as f32).collect();
    (x, t)
}

/// The initial parameters on the host, in the order w1, b1, w2, b2.
fn initial_params() -> Vec<(Shape, Vec<f32>)> {
    let cpu = Reference::<f32>::new();
    let shapes =
        [Shape::new(IN, HIDDEN), Shape::new(1, HIDDEN), Shape::new(HIDDEN, 1), Shape::new(1, 1)];
    let scale = |fan_in: usize| 1.0 / (fan_in as f64).sqrt();
    let scales = [scale(IN), 0.1, scale(HIDDEN), 0.1];
    shapes
        .iter()
        .zip(scales)
        .enumerate()
        .map(|(i, (&s, std))| {
            (s, cpu.random(s, Dist::Normal { mean: 0.0, std }, 100 + i as u64).data().to_vec())
        })
        .collect()
}

/// A model and its optimizer state on backend `B`.
struct Trainer<B: Backend<Elem = f32>> {
    be: B,
    opt: Optimizer,
    /// w1 [IN, HIDDEN], b1 [1, HIDDEN], w2 [HIDDEN, 1], b2 [1, 1].
    params: Vec<B::Tensor>,
    /// Adam's m, or SGD's velocity, one per parameter.
    state1: Vec<B::Tensor>,
    /// Adam's v (unused by SGD).
    state2: Vec<B::Tensor>,
    t: u32,
}

impl<B: Backend<Elem = f32>> Trainer<B> {
    fn new(be: &B, opt: Optimizer) -> Result<Self> {
        let mut params = Vec::new();
        for (shape, data) in initial_params() {
            params.push(be.upload(shape, &data)?);
        }
        let zeros = |p: &B::Tensor| be.fill(minimax_autodiff::TensorShape::shape(p), 0.0);
        let state1 = params.iter().map(zeros).collect();
        let state2 = params.iter().map(zeros).collect();
        Ok(Trainer { be: be.clone(), opt, params, state1, state2, t: 0 })
    }

    /// One step on minibatch `step`: forward, backward, update, flush.
    /// Reads nothing back.
    fn step(&mut self, data: &(Vec<f32>, Vec<f32>), step: usize) -> Result<()> {
        let be = &self.be;
        let first = (step * BATCH) % DATASET; // rows first .. first + BATCH
        let x_rows = &data.0[first * IN..(first + BATCH) * IN];
        let t_rows = &data.1[first..first + BATCH];
        // The graph lives in this block; dropping it before the update
        // leaves each parameter's buffer unshared, so the update is in place.
        let grads: Vec<B::Tensor> = {
            let tape = Tape::new(be.clone());
            let x = tape.constant(be.upload(Shape::new(BATCH, IN), x_rows)?); // [batch, in]
            let t = tape.constant(be.upload(Shape::new(BATCH, 1), t_rows)?); // [batch, 1]
            let leaves: Vec<Var<B>> = self.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let (w1, b1, w2, b2) = (&leaves[0], &leaves[1], &leaves[2], &leaves[3]);
            let pre = x.matmul(w1)?.add(b1)?; // [batch, hidden]
            let h = match self.opt {
                Optimizer::Adam => pre.tanh(),
                Optimizer::Sgd => pre.leaky_relu(0.2),
            };
            let logits = h.matmul(w2)?.add(b2)?; // [batch, 1]
            let loss = logits.bce_with_logits(&t)?; // [1, 1]
            let grads = tape.backward(&loss)?;
            leaves
                .iter()
                .map(|leaf| grads.get(leaf).expect("every parameter is used").clone())
                .collect()
        };
        self.t += 1;
        for (i, grad) in grads.iter().enumerate() {
            match self.opt {
                Optimizer::Adam => {
                    let hp = AdamStep { lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: self.t };
                    be.adam_step(
                        &mut self.params[i],
                        grad,
                        &mut self.state1[i],
                        &mut self.state2[i],
                        hp,
                    )?
                }
                Optimizer::Sgd => {
                    be.sgd_step(&mut self.params[i], grad, &mut self.state1[i], 0.1, 0.9)?
                }
            }
        }
        be.flush()
    }

    fn download_params(&self) -> Vec<Vec<f32>> {
        self.params.iter().map(|p| self.be.download(p).unwrap()).collect()
    }
}

/// Trains `steps` steps on both backends and compares the parameters.
fn cpu_and_gpu_agree(gpu: &Wgpu, opt: Optimizer, steps: usize) {
    let data = dataset();
    let mut cpu = Trainer::new(&Reference::<f32>::new(), opt).unwrap();
    let mut gpu = Trainer::new(gpu, opt).unwrap();
    for step in 0..steps {
        cpu.step(&data, step).unwrap();
        gpu.step(&data, step).unwrap();
    }
    let (want, got) = (cpu.download_params(), gpu.download_params());
    let names = ["w1", "b1", "w2", "b2"];
    let mut moved = 0.0f32;
    for (p, ((w, g), (_, init))) in want.iter().zip(&got).zip(initial_params()).enumerate() {
        for i in 0..w.len() {
            // f32 rounding differs between the backends (sum orders, fused
            // multiply-adds); after 40 steps it is ~2e-7 on lavapipe.
            let tol = 1e-5 + 1e-4 * w[i].abs();
            assert!(
                (w[i] - g[i]).abs() <= tol,
                "{opt:?}: {}[{i}]: cpu {} vs gpu {}",
                names[p],
                w[i],
                g[i]
            );
            moved = moved.max((w[i] - init[i]).abs());
        }
    }
    // The comparison means something only if training changed the weights.
    assert!(moved > 0.05, "{opt:?}: the parameters barely moved ({moved})");
}

#[test]
fn adam_training_matches_the_cpu() {
    let Some(gpu) = gpu_or_skip("adam_training_matches_the_cpu") else { return };
    cpu_and_gpu_agree(&gpu, Optimizer::Adam, 40);
}

#[test]
fn sgd_training_matches_the_cpu() {
    let Some(gpu) = gpu_or_skip("sgd_training_matches_the_cpu") else { return };
    cpu_and_gpu_agree(&gpu, Optimizer::Sgd, 40);
}

#[test]
fn a_training_step_is_one_submit_with_no_readback_and_no_new_buffer() {
    let Some(gpu) = gpu_or_skip("a_training_step_is_one_submit_with_no_readback_and_no_new_buffer")
    else {
        return;
    };
    let data = dataset();
    for opt in [Optimizer::Adam, Optimizer::Sgd] {
        let mut trainer = Trainer::new(&gpu, opt).unwrap();
        // Warm-up: the pool grows to what a step needs, the pipelines compile.
        for step in 0..3 {
            trainer.step(&data, step).unwrap();
        }
        gpu.reset_stats();
        trainer.step(&data, 3).unwrap();
        let one = gpu.stats();
        println!("{opt:?}, one step: {one}");
        // The same step again: one step + flush is one submit of one
        // compute pass, the pool serves every buffer, the cache every bind
        // group, the updates are in place and nothing is read back.
        assert_steady_step(&format!("{opt:?}"), &one);
        assert_eq!(
            (one.uploads, one.upload_bytes),
            (2, (BATCH * IN * 4 + BATCH * 4) as u64),
            "{opt:?}"
        );
        // And it stays so: three more steps cost three times one.
        gpu.reset_stats();
        for step in 4..7 {
            trainer.step(&data, step).unwrap();
        }
        let three = gpu.stats();
        assert_eq!(three.submits, 3, "{opt:?}: {three}");
        assert_eq!(three.dispatches, 3 * one.dispatches, "{opt:?}: {three}");
        assert_eq!((three.readbacks, three.buffers_allocated), (0, 0), "{opt:?}: {three}");
        assert_eq!((three.bind_groups_created, three.passes), (0, 3), "{opt:?}: {three}");
    }
}
