//! A training step in steady state allocates nothing: the CPU backend's
//! tensor storage is recycled (`crates/autodiff/src/cpu/pool.rs`), and the
//! tape's bookkeeping and the trainer's are kept from step to step
//! (`Tape::reset`, `crates/autodiff/src/tape.rs`).
//!
//! A counting global allocator, private to this test binary, counts the
//! allocations made *on the current thread* (so tests running in parallel
//! do not count each other's). After a few warm-up steps, each of these
//! must make zero allocations per step:
//!
//! - the elementwise, reduction, broadcast, column and optimizer kernels on
//!   their own;
//! - a taped MLP step (forward, backward, Adam) on a reused tape;
//! - a taped conv-net step (conv2d and conv_transpose2d, forward and
//!   backward, SGD) on `Cpu<f32>`, whose im2col buffers come from the pool
//!   (`crates/cpu/src/conv.rs`);
//! - a whole `Trainer::train_step` for the `devnag` and `default` presets.
//!
//! The last two run on `Cpu<f64>` and on `Cpu<f32>` (whose matmuls take
//! the narrow and blocked paths of `cpu/gemm/`, which must not allocate
//! either: the blocked path opens a thread scope only for two threads or
//! more, and that is only for products far larger than these).

use minimax::autodiff::{
    AdamStep, Axis, Backend, Binary, ConvGeometry, Dist, Shape, Tape, Unary, Var,
};
use minimax::cpu::{Cpu, CpuTensor};
use minimax::gan::Config;
use minimax::gan::{Preset, Trainer};
use minimax::nn::{Activation, Init, Mlp, Optimizer, OptimizerConfig, ParamStore, Sequential};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting allocations per thread.
struct Counting;

thread_local! {
    /// (allocations, bytes) made on this thread.
    static ALLOCATED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn count(bytes: usize) {
    // `try_with`: the counter may be gone while the thread exits.
    let _ = ALLOCATED.try_with(|c| c.set((c.get().0 + 1, c.get().1 + bytes as u64)));
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches
// only a const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (allocations, bytes) made on this thread by `f`.
fn allocated(f: impl FnOnce()) -> (u64, u64) {
    let before = ALLOCATED.with(Cell::get);
    f();
    let after = ALLOCATED.with(Cell::get);
    (after.0 - before.0, after.1 - before.1)
}

type T32 = CpuTensor<f32>;

/// One "step" of kernels: what a forward, backward and update call, minus
/// matmul. Returns the new parameter, velocity and Adam state.
fn kernel_step(be: Cpu<f32>, step: u32, p: T32, vel: T32, m: T32, v: T32) -> [T32; 4] {
    let shape = Shape::new(500, 5);
    let x = be.random(shape, Dist::Normal { mean: 0.0, std: 1.0 }, step as u64); // [500, 5]
    let h = be.binary(Binary::Add, &x, &p).unwrap(); // + a bias [1, 5]
    let y = be.unary(Unary::Tanh, &h);
    let s = be.unary(Unary::Sigmoid, &y);
    let z = be.binary(Binary::Mul, &s, &be.fill(Shape::scalar(), 0.5)).unwrap();
    let col = be.sum(&z, Some(Axis::Cols)); // [500, 1]
    let both = be.concat_cols(&[&z, &col]).unwrap(); // [500, 6]
    let back = be.slice_cols(&both, 1, 5).unwrap(); // [500, 5]
    let dy = be.broadcast(&be.sum(&back, None), shape).unwrap();
    let dh = be.unary_backward(Unary::Tanh, &h, &y, &dy);
    let dx = be.transpose(&dh); // [5, 500]
    let g = be.sum(&be.transpose(&dx), Some(Axis::Rows)); // [1, 5]
    let (mut p, mut vel, mut m, mut v) = (p, vel, m, v);
    be.sgd_step(&mut p, &g, &mut vel, 1e-3, 0.9).unwrap();
    let hp = AdamStep { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: step };
    be.adam_step(&mut p, &g, &mut m, &mut v, hp).unwrap();
    [p, vel, m, v]
}

#[test]
fn the_cpu_kernels_allocate_nothing_in_steady_state() {
    let be = Cpu::<f32>::new();
    let zeros = || be.fill(Shape::new(1, 5), 0.0);
    let mut state = [zeros(), zeros(), zeros(), zeros()];
    let mut per_step = Vec::new();
    for step in 1..=5 {
        let [p, vel, m, v] = state;
        let mut next = None;
        per_step.push(allocated(|| next = Some(kernel_step(be, step, p, vel, m, v))).0);
        state = next.unwrap();
    }
    // The first step fills the pool; every later one takes from it.
    assert!(per_step[0] > 0, "the first step allocates its buffers: {per_step:?}");
    assert_eq!(&per_step[2..], &[0, 0, 0], "allocations per step: {per_step:?}");
}

/// Allocations made by each of 3 calls of `step`, after 3 warm-up calls
/// (the first fills the pools and the tape's storage).
fn steady_state(mut step: impl FnMut()) -> Vec<u64> {
    for _ in 0..3 {
        step();
    }
    (0..3).map(|_| allocated(&mut step).0).collect()
}

/// A small MLP (32 → 64 → 64 → 1, LeakyReLU, batch 64) trained with Adam
/// on a fixed batch, on one tape reset every step: what a training loop
/// outside [`Trainer`] does.
struct MlpStep<B: Backend> {
    be: B,
    mlp: Sequential,
    params: ParamStore<B>,
    opt: Optimizer<B>,
    x: B::Tensor,
    t: B::Tensor,
    tape: Tape<B>,
    vars: Vec<Var<B>>,
}

impl<B: Backend> MlpStep<B> {
    fn new(be: B) -> Self {
        let leaky = Activation::LeakyRelu(0.2);
        let mlp =
            Mlp::new(&[32, 64, 64, 1], &[leaky, leaky, Activation::Identity]).unwrap().build();
        let params = mlp.init_params(&be, Init::TorchDefault, 1);
        let adam = OptimizerConfig::adam(1e-3, 0.5, 0.999, 1e-8);
        let opt = Optimizer::new(&be, adam, &params);
        let x = be.random(Shape::new(64, 32), Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
        let t = be.random(Shape::new(64, 1), Dist::Bernoulli { p: 0.5 }, 2);
        let tape = Tape::new(be.clone());
        MlpStep { be, mlp, params, opt, x, t, tape, vars: Vec::new() }
    }

    fn step(&mut self) {
        self.vars.clear(); // the last step's leaves, so the tape can be reset
        self.tape.reset().unwrap();
        self.params.on_tape_into(&self.tape, &mut self.vars);
        let x = self.tape.constant(self.x.clone()); // [64, 32]
        let t = self.tape.constant(self.t.clone()); // [64, 1]
        let logits = self.mlp.forward(&self.vars, &x).unwrap(); // [64, 1]
        let loss = logits.bce_with_logits(&t).unwrap();
        let grads = self.tape.backward(&loss).unwrap();
        self.opt.step(&self.be, &mut self.params, &self.vars, &grads).unwrap();
    }
}

fn mlp_step_allocations<B: Backend>(be: B) -> Vec<u64> {
    let mut mlp = MlpStep::new(be);
    let per_step = steady_state(|| mlp.step());
    // The steps did train: the loss depends on the updated parameters.
    let first = mlp.params.download(&mlp.be).unwrap();
    mlp.step();
    assert_ne!(first, mlp.params.download(&mlp.be).unwrap(), "Adam moved nothing");
    per_step
}

#[test]
fn a_taped_mlp_step_allocates_nothing_in_steady_state() {
    let per_step = mlp_step_allocations(Cpu::<f64>::new());
    assert_eq!(per_step, [0, 0, 0], "allocations per step");
}

#[test]
fn a_taped_mlp_step_allocates_nothing_in_steady_state_f32() {
    let per_step = mlp_step_allocations(Cpu::<f32>::new());
    assert_eq!(per_step, [0, 0, 0], "allocations per step");
}

/// A conv 16×16×16 -> 32×8×8 (k4 s2 p1), tanh, and the transposed conv
/// back to 16×16×16 (the same geometry), loss `Σ y²`, on a batch of 20: two
/// blocks of 10 images in `conv.rs` (so the permutations and the weight
/// gradient's sum over blocks run), every conv kernel in both roles (the
/// input is a leaf, so its gradients are computed too), and SGD on both
/// weights, on one tape reset every step.
struct ConvStep {
    be: Cpu<f32>,
    x: T32,
    weights: [T32; 2],
    velocities: [T32; 2],
    tape: Tape<Cpu<f32>>,
}

const CONV: ConvGeometry = ConvGeometry::new(16, 32, (16, 16), 4, 2, 1);

impl ConvStep {
    fn new() -> Self {
        let be = Cpu::<f32>::new();
        let u = Dist::Uniform { lo: -0.1, hi: 0.1 };
        let x = be.random(Shape::new(20, CONV.in_cols()), u, 1); // [20, 16·16·16]
        let weights = [be.random(CONV.weight_shape(), u, 2), be.random(CONV.weight_shape(), u, 3)];
        let velocities = [be.fill(CONV.weight_shape(), 0.0), be.fill(CONV.weight_shape(), 0.0)];
        ConvStep { be, x, weights, velocities, tape: Tape::new(be) }
    }

    fn step(&mut self) {
        self.tape.reset().unwrap();
        let x = self.tape.leaf(self.x.clone());
        let [w1, w2] = self.weights.each_ref().map(|w| self.tape.leaf(w.clone()));
        let h = x.conv2d(&w1, CONV).unwrap().tanh(); // [20, 32·8·8]
        let y = h.conv_transpose2d(&w2, CONV).unwrap(); // [20, 16·16·16]
        let grads = self.tape.backward(&y.square().sum()).unwrap();
        assert!(grads.get(&x).is_some());
        for ((w, vel), var) in self.weights.iter_mut().zip(&mut self.velocities).zip([&w1, &w2]) {
            self.be.sgd_step(w, grads.get(var).unwrap(), vel, 1e-3, 0.9).unwrap();
        }
    }
}

#[test]
fn a_taped_conv_step_allocates_nothing_in_steady_state_f32() {
    // Two blocks of images, as the doc of `ConvStep` says.
    assert_eq!(minimax::cpu::conv::block_images(&CONV, 20), 10);
    let mut conv = ConvStep::new();
    let before = conv.be.download(&conv.weights[0]).unwrap();
    let per_step = steady_state(|| conv.step());
    assert_ne!(before, conv.be.download(&conv.weights[0]).unwrap(), "SGD moved nothing");
    assert_eq!(per_step, [0, 0, 0], "allocations per step");
}

/// Allocations of steady-state `Trainer::train_step`s of `preset`.
fn train_step_allocations<B: Backend>(be: B, preset: Preset) -> Vec<u64> {
    let mut trainer = Trainer::new(be, Config::preset(preset)).unwrap();
    let per_step = steady_state(|| trainer.train_step().unwrap());
    assert_eq!(trainer.step(), 6);
    // The steps did train, and their results are readable afterwards.
    let eval = trainer.progress(minimax::gan::clock::Instant::now(), 0, 6).unwrap().unwrap();
    assert!(eval.d_loss.is_finite() && eval.g_loss.is_finite(), "{}", eval.line());
    per_step
}

#[test]
fn a_devnag_training_step_allocates_nothing_in_steady_state() {
    // 20 D-passes and 20 G-passes per step, each on the trainer's one tape.
    let per_step = train_step_allocations(Cpu::<f64>::new(), Preset::Devnag);
    assert_eq!(per_step, [0, 0, 0], "allocations per step");
}

#[test]
fn a_default_training_step_allocates_nothing_in_steady_state() {
    let per_step = train_step_allocations(Cpu::<f64>::new(), Preset::Default);
    assert_eq!(per_step, [0, 0, 0], "allocations per step");
}

#[test]
fn training_steps_allocate_nothing_in_steady_state_f32() {
    for preset in [Preset::Devnag, Preset::Default] {
        let per_step = train_step_allocations(Cpu::<f32>::new(), preset);
        assert_eq!(per_step, [0, 0, 0], "{preset}: allocations per step");
    }
}

#[test]
fn a_fresh_tape_per_step_does_allocate() {
    // The counter sees the tape's bookkeeping: without `Tape::reset`, every
    // step builds a new tape (its `Rc`, its node and input vectors).
    let be = Cpu::<f64>::new();
    let w = be.random(Shape::new(4, 4), Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
    let per_step = steady_state(|| {
        let tape = Tape::new(be);
        let w = tape.leaf(w.clone());
        let loss = w.matmul(&w).unwrap().tanh().sum();
        let grads = tape.backward(&loss).unwrap();
        assert!(grads.get(&w).is_some());
    });
    assert!(per_step.iter().all(|&n| n > 0), "allocations per step: {per_step:?}");
}
