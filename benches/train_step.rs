//! Training-step speed on `Cpu<f32>`, one thread: the figures of
//! `BENCHMARKS.md`, "Training step (CPU)".
//!
//! - `devnag`: one epoch of Dev Nag's GAN (20 D-steps + 20 G-steps, batch
//!   500) through [`Trainer`] with the `devnag` preset, median of several
//!   epochs, and the 5000-epoch run extrapolated from it;
//! - `devnag-full`: the whole 5000-epoch run, once, timed, with G's final
//!   statistics (not in the default set: it takes a while);
//! - `mlp`: one step (forward, backward, Adam) of a 784-256-256-1 MLP with
//!   LeakyReLU(0.2) hidden layers and a BCE-with-logits loss, batch 64;
//! - `alloc`: heap allocations per steady-state step of both, counted by a
//!   counting global allocator in this binary.
//!
//! Run with `cargo bench --bench train_step` (devnag, mlp, alloc) or name
//! the parts: `cargo bench --bench train_step -- devnag-full`. Every product
//! in these steps is below the size at which the CPU matmul starts a second
//! thread, so the figures are one-thread figures (run under `taskset -c 0`
//! to be sure). Compare with `benches/peers/train_step.py`.

use minimax::autodiff::{Backend, Cpu, Dist, Shape, Tape, Var};
use minimax::gan::{Config, Preset, RunOptions, Trainer};
use minimax::nn::{Activation, Init, Mlp, Optimizer, OptimizerConfig, ParamStore};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The system allocator, counting every allocation (and reallocation).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter is a
// relaxed atomic and allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Timed repeats per figure (the median is reported).
const REPEATS: usize = 7;

/// Median seconds of `f` over [`REPEATS`] calls, after one warm-up call.
fn median_secs(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

/// Heap allocations made by `f`.
fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// A devnag trainer on `Cpu<f32>`, warmed up by a few epochs.
fn devnag_trainer() -> Trainer<Cpu<f32>> {
    let mut trainer = Trainer::new(Cpu::<f32>::new(), Config::preset(Preset::Devnag))
        .expect("the devnag preset is valid");
    for _ in 0..3 {
        trainer.train_step().expect("a devnag epoch");
    }
    trainer
}

/// One epoch (20 D-steps + 20 G-steps), and 5000 of them extrapolated.
fn devnag() {
    let mut trainer = devnag_trainer();
    let epoch = median_secs(|| trainer.train_step().expect("a devnag epoch"));
    let per_step = epoch / 40.0;
    println!("devnag: one epoch (20 D + 20 G steps, batch 500), Cpu<f32>, median of {REPEATS}");
    println!(
        "  {:.3} ms/epoch  {:.1} µs/step  5000 epochs ≈ {:.1} s",
        epoch * 1e3,
        per_step * 1e6,
        epoch * 5000.0
    );
}

/// The whole devnag run, timed once, with G's final statistics.
fn devnag_full() {
    let config = Config::preset(Preset::Devnag);
    let epochs = config.steps;
    let mut trainer = Trainer::new(Cpu::<f32>::new(), config).expect("the devnag preset is valid");
    let opts = RunOptions { log_every: epochs, ..RunOptions::default() };
    let started = Instant::now();
    trainer.run(&opts, |_| {}).expect("the devnag run");
    let seconds = started.elapsed().as_secs_f64();
    let eval = trainer.evaluate(10_000).expect("evaluation");
    println!("devnag-full: {epochs} epochs in {seconds:.2} s");
    println!(
        "  G mean {:.4} std {:.4} (data {:.4}, {:.4})  JS {:.4}  D(real) {:.4}  D(fake) {:.4}",
        eval.generated_mean,
        eval.generated_std,
        eval.target_mean,
        eval.target_std,
        eval.js_divergence,
        eval.d_real,
        eval.d_fake
    );
}

/// The 784-256-256-1 MLP, its parameters, its Adam optimizer, a fixed
/// batch `[64, 784]` with targets `[64, 1]`, and the tape and leaf vector
/// reused from step to step.
struct MlpStep {
    be: Cpu<f32>,
    mlp: Mlp,
    params: ParamStore<Cpu<f32>>,
    opt: Optimizer<Cpu<f32>>,
    x: <Cpu<f32> as Backend>::Tensor,
    t: <Cpu<f32> as Backend>::Tensor,
    tape: Tape<Cpu<f32>>,
    vars: Vec<Var<Cpu<f32>>>,
}

impl MlpStep {
    fn new() -> MlpStep {
        let be = Cpu::<f32>::new();
        let leaky = Activation::LeakyRelu(0.2);
        let mlp = Mlp::new(&[784, 256, 256, 1], &[leaky, leaky, Activation::Identity])
            .expect("a valid MLP");
        let params = mlp.init_params(&be, Init::TorchDefault, 1);
        let adam = OptimizerConfig::adam(2e-4, 0.5, 0.999, 1e-8);
        let opt = Optimizer::new(&be, adam, &params);
        let x = be.random(Shape::new(64, 784), Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
        let t = be.random(Shape::new(64, 1), Dist::Bernoulli { p: 0.5 }, 2);
        MlpStep { be, mlp, params, opt, x, t, tape: Tape::new(be), vars: Vec::new() }
    }

    /// Forward, backward and one Adam update.
    fn step(&mut self) {
        // Last step's leaves go first: a tape is reset only once nothing
        // recorded on it is alive.
        self.vars.clear();
        self.tape.reset().expect("the last step's variables are dropped");
        self.params.on_tape_into(&self.tape, &mut self.vars);
        let x = self.tape.constant(self.x.clone()); // [64, 784]
        let t = self.tape.constant(self.t.clone()); // [64, 1]
        let logits = self.mlp.forward(&self.vars, &x, None).expect("forward"); // [64, 1]
        let loss = logits.bce_with_logits(&t).expect("loss");
        let grads = self.tape.backward(&loss).expect("backward");
        self.opt.step(&self.be, &mut self.params, &self.vars, &grads).expect("Adam");
    }
}

/// The MLP step: median over repeats of 50 steps each (~0.2 s).
fn mlp() {
    let mut step = MlpStep::new();
    let seconds = median_secs(|| (0..50).for_each(|_| step.step())) / 50.0;
    println!("mlp: 784-256-256-1, batch 64, forward + backward + Adam, Cpu<f32>");
    println!("  {:.3} ms/step", seconds * 1e3);
}

/// Heap allocations per steady-state step of both.
fn alloc() {
    let mut trainer = devnag_trainer();
    let epoch = allocations(|| trainer.train_step().expect("a devnag epoch"));
    let mut step = MlpStep::new();
    for _ in 0..3 {
        step.step();
    }
    let mlp = allocations(|| step.step());
    println!("alloc: heap allocations in steady state");
    println!("  devnag: {epoch} per epoch ({:.1} per D- or G-step)", epoch as f64 / 40.0);
    println!("  mlp:    {mlp} per step");
}

/// Runs the parts named on the command line (all but `devnag-full` if none).
fn main() {
    let args: Vec<String> =
        std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect::<Vec<_>>();
    let wanted = |name: &str| {
        if args.is_empty() {
            name != "devnag-full"
        } else {
            args.iter().any(|a| a == name)
        }
    };
    if wanted("devnag") {
        devnag();
    }
    if wanted("mlp") {
        mlp();
    }
    if wanted("alloc") {
        alloc();
    }
    if wanted("devnag-full") {
        devnag_full();
    }
}
