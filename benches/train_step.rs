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
//! - `gan`: one image-GAN step: G 100-256-512-784 (LeakyReLU 0.2, tanh
//!   out), D 784-512-256-1 (LeakyReLU 0.2), batch 64, one D step and one G
//!   step with the non-saturating loss, Adam 2e-4 (0.5, 0.999): the same
//!   work as one PyTorch step of these nets, where `.backward()` also fills
//!   D's gradients in the G step (the peer column of `BENCHMARKS.md`);
//! - `gan-trainer`: the same step through `ImageTrainer`, which does less
//!   work for the same update (D sees both batches as one; the G step does
//!   not compute D's weight gradients);
//! - `dcgan`: one DCGAN step through `ImageTrainer` with the `dcgan` preset,
//!   the net of `../shared/peers/dcgan_step_torch.py` (batch 64, BatchNorm
//!   in training mode, D run once on the real and once on the fake batch,
//!   Adam 2e-4 (0.5, 0.999)): the peer's update. The G step holds D's
//!   parameters as constants, so D's weight gradients, which PyTorch's
//!   `.backward()` also computes there and its update never uses, are not
//!   computed (two of the step's ~30 conv products);
//! - `alloc`: heap allocations per steady-state step of both, counted by a
//!   counting global allocator in this binary.
//!
//! Each figure is also printed as one machine-readable line, e.g.
//! `RESULT bench=mlp_step h=256 batch=64 threads=1 ms_per_step=…`
//! (`bench=gan_step`, `bench=devnag … ms_per_epoch=…`). `batch=N` arguments
//! set the MLP step's batch sizes (default 64); the thread count is
//! `MINIMAX_THREADS` (default: one per core).
//!
//! Run with `cargo bench --bench train_step` (devnag, mlp, alloc) or name
//! the parts: `cargo bench --bench train_step -- devnag-full`. Every product
//! in these steps is below the size at which the CPU matmul starts a second
//! thread, so the figures are one-thread figures (run under `taskset -c 0`
//! to be sure). Compare with `benches/peers/train_step.py`.

use minimax::autodiff::{Backend, Dist, Grads, Shape, Tape, Var};
use minimax::cpu::threads::threads;
use minimax::cpu::Cpu;
use minimax::gan::image::{ImageConfig, ImageData, ImagePreset, ImageTrainer, Pixels};
use minimax::gan::{Config, Preset, RunOptions, Trainer};
use minimax::nn::{Activation, Init, Mlp, Optimizer, OptimizerConfig, ParamStore, Sequential};
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
    println!("RESULT bench=devnag threads={} ms_per_epoch={:.4}", threads(), epoch * 1e3);
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
    mlp: Sequential,
    params: ParamStore<Cpu<f32>>,
    opt: Optimizer<Cpu<f32>>,
    x: <Cpu<f32> as Backend>::Tensor,
    t: <Cpu<f32> as Backend>::Tensor,
    tape: Tape<Cpu<f32>>,
    vars: Vec<Var<Cpu<f32>>>,
    grads: Vec<Option<<Cpu<f32> as Backend>::Tensor>>,
}

impl MlpStep {
    fn new(batch: usize) -> MlpStep {
        let be = Cpu::<f32>::new();
        let leaky = Activation::LeakyRelu(0.2);
        let mlp = Mlp::new(&[784, 256, 256, 1], &[leaky, leaky, Activation::Identity])
            .expect("a valid MLP")
            .build();
        let params = mlp.init_params(&be, Init::TorchDefault, 1);
        let adam = OptimizerConfig::adam(2e-4, 0.5, 0.999, 1e-8);
        let opt = Optimizer::new(&be, adam, &params);
        let x = be.random(Shape::new(batch, 784), Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
        let t = be.random(Shape::new(batch, 1), Dist::Bernoulli { p: 0.5 }, 2);
        let (tape, vars, grads) = (Tape::new(be), Vec::new(), Vec::new());
        MlpStep { be, mlp, params, opt, x, t, tape, vars, grads }
    }

    /// Forward, backward and one Adam update. The gradients are taken out,
    /// the step's variables dropped and the tape reset before the update, as
    /// the trainer does, so Adam updates the parameters in place.
    fn step(&mut self) {
        self.tape.reset().expect("the last step's variables are dropped");
        self.params.on_tape_into(&self.tape, &mut self.vars);
        let mut grads = {
            let x = self.tape.constant(self.x.clone()); // [batch, 784]
            let t = self.tape.constant(self.t.clone()); // [batch, 1]
            let logits = self.mlp.forward(&self.vars, &x).expect("forward"); // [batch, 1]
            let loss = logits.bce_logits(&t).expect("loss");
            self.tape.backward(&loss).expect("backward")
        };
        self.grads.clear();
        self.grads.extend(self.vars.iter().map(|v| grads.take(v)));
        drop(grads);
        self.vars.clear();
        self.tape.reset().expect("the step's variables are dropped");
        let grads = &self.grads;
        let adam = self.opt.step_with(&self.be, &mut self.params, |i| grads[i].as_ref());
        adam.expect("Adam");
    }
}

/// The MLP step: median over repeats of 50 steps each (~0.2 s).
fn mlp(batch: usize) {
    let mut step = MlpStep::new(batch);
    let seconds = median_secs(|| (0..50).for_each(|_| step.step())) / 50.0;
    println!("mlp: 784-256-256-1, batch {batch}, forward + backward + Adam, Cpu<f32>");
    println!("  {:.3} ms/step", seconds * 1e3);
    let t = threads();
    println!(
        "RESULT bench=mlp_step h=256 batch={batch} threads={t} ms_per_step={:.4}",
        seconds * 1e3
    );
}

/// The image-GAN step's two MLPs, their parameters and optimizers, a fixed
/// "real" batch, and the tape and leaf vectors reused from step to step.
struct GanStep {
    be: Cpu<f32>,
    g: Sequential,
    d: Sequential,
    g_params: ParamStore<Cpu<f32>>,
    d_params: ParamStore<Cpu<f32>>,
    g_opt: Optimizer<Cpu<f32>>,
    d_opt: Optimizer<Cpu<f32>>,
    real: <Cpu<f32> as Backend>::Tensor,
    ones: <Cpu<f32> as Backend>::Tensor,
    zeros: <Cpu<f32> as Backend>::Tensor,
    tape: Tape<Cpu<f32>>,
    g_vars: Vec<Var<Cpu<f32>>>,
    d_vars: Vec<Var<Cpu<f32>>>,
    /// The gradients taken out of the last backward pass, by parameter.
    grads: Vec<Option<<Cpu<f32> as Backend>::Tensor>>,
    seed: u64,
}

impl GanStep {
    const BATCH: usize = 64;

    fn new() -> GanStep {
        let be = Cpu::<f32>::new();
        let leaky = Activation::LeakyRelu(0.2);
        let g =
            Mlp::new(&[100, 256, 512, 784], &[leaky, leaky, Activation::Tanh]).expect("G").build();
        let d = Mlp::new(&[784, 512, 256, 1], &[leaky, leaky, Activation::Identity])
            .expect("D")
            .build();
        let (g_params, d_params) =
            (g.init_params(&be, Init::TorchDefault, 1), d.init_params(&be, Init::TorchDefault, 2));
        let adam = OptimizerConfig::adam(2e-4, 0.5, 0.999, 1e-8);
        let (g_opt, d_opt) =
            (Optimizer::new(&be, adam, &g_params), Optimizer::new(&be, adam, &d_params));
        let b = GanStep::BATCH;
        let real = be.random(Shape::new(b, 784), Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
        let (ones, zeros) = (be.fill(Shape::new(b, 1), 1.0), be.fill(Shape::new(b, 1), 0.0));
        let tape = Tape::new(be);
        let (g_vars, d_vars) = (Vec::new(), Vec::new());
        GanStep {
            be,
            g,
            d,
            g_params,
            d_params,
            g_opt,
            d_opt,
            real,
            ones,
            zeros,
            tape,
            g_vars,
            d_vars,
            grads: Vec::new(),
            seed: 0,
        }
    }

    /// Fresh leaves of both nets on the reset tape, and a noise batch `[64, 100]`.
    fn begin(&mut self) -> Var<Cpu<f32>> {
        self.g_vars.clear();
        self.d_vars.clear();
        self.tape.reset().expect("the last pass's variables are dropped");
        self.g_params.on_tape_into(&self.tape, &mut self.g_vars);
        self.d_params.on_tape_into(&self.tape, &mut self.d_vars);
        self.seed += 1;
        let z = Dist::Normal { mean: 0.0, std: 1.0 };
        self.tape.constant(self.be.random(Shape::new(GanStep::BATCH, 100), z, self.seed))
    }

    /// Moves the gradients of `vars` out of `grads` into `self.grads`, drops
    /// every variable and resets the tape: the parameters are then held by
    /// their store alone, and Adam updates them in place (as the trainer does).
    fn end(&mut self, mut grads: Grads<Cpu<f32>>, d: bool) {
        let vars = if d { &self.d_vars } else { &self.g_vars };
        self.grads.clear();
        self.grads.extend(vars.iter().map(|v| grads.take(v)));
        drop(grads);
        self.g_vars.clear();
        self.d_vars.clear();
        self.tape.reset().expect("the pass's variables are dropped");
    }

    /// One D step (G's output detached) and one G step (through D, whose
    /// gradients are computed too, as PyTorch does: `.backward()` fills D's
    /// `.grad` as well; they are dropped unused).
    fn step(&mut self) {
        let grads = {
            let z = self.begin(); // [64, 100]
            let tape = &self.tape;
            let real = tape.constant(self.real.clone()); // [64, 784]
            let (ones, zeros) =
                (tape.constant(self.ones.clone()), tape.constant(self.zeros.clone()));
            let fake = self.g.forward(&self.g_vars, &z).expect("G").detach(); // [64, 784]
            let d_real = self.d.forward(&self.d_vars, &real).expect("D"); // [64, 1]
            let d_fake = self.d.forward(&self.d_vars, &fake).expect("D");
            let real_loss = d_real.bce_logits(&ones).expect("loss");
            let loss = real_loss.add(&d_fake.bce_logits(&zeros).expect("loss")).expect("loss");
            self.tape.backward(&loss).expect("backward")
        };
        self.end(grads, true);
        let (be, grads) = (&self.be, &self.grads);
        self.d_opt.step_with(be, &mut self.d_params, |i| grads[i].as_ref()).expect("Adam D");

        let grads = {
            let z = self.begin(); // [64, 100]
            let ones = self.tape.constant(self.ones.clone()); // [64, 1]
            let fake = self.g.forward(&self.g_vars, &z).expect("G"); // [64, 784]
            let loss = self.d.forward(&self.d_vars, &fake).expect("D").bce_logits(&ones);
            self.tape.backward(&loss.expect("loss")).expect("backward")
        };
        self.end(grads, false);
        let (be, grads) = (&self.be, &self.grads);
        self.g_opt.step_with(be, &mut self.g_params, |i| grads[i].as_ref()).expect("Adam G");
    }
}

/// The image-GAN step: median over repeats of 10 steps each.
fn gan() {
    let mut step = GanStep::new();
    let seconds = median_secs(|| (0..10).for_each(|_| step.step())) / 10.0;
    println!("gan: G 100-256-512-784, D 784-512-256-1, batch 64, one D + one G step, Cpu<f32>");
    println!("  {:.3} ms/step", seconds * 1e3);
    let t = threads();
    println!(
        "RESULT bench=gan_step batch={} threads={t} ms_per_step={:.4}",
        GanStep::BATCH,
        seconds * 1e3
    );
}

/// The same image-GAN step as the trainer records it (`ImageTrainer` on
/// `Cpu<f32>`, 256 random images resident): D scores the real and the fake
/// batch stacked as one batch, and the G step holds D's parameters as
/// constants, so D's weight gradients, which its update never uses, are not
/// computed. The same update as `gan`, with less work than the peer does.
fn gan_trainer() {
    let mut c = ImageConfig::preset(ImagePreset::Classic, 784, 10);
    c.g_hidden = vec![256, 512];
    c.g_batch_norm = false;
    let mut trainer = on_random_images(c);
    let seconds =
        median_secs(|| (0..10).for_each(|_| trainer.train_step().expect("a step"))) / 10.0;
    println!("gan-trainer: the same step through ImageTrainer (D on one stacked batch)");
    println!("  {:.3} ms/step", seconds * 1e3);
    println!(
        "RESULT bench=gan_trainer_step batch=64 threads={} ms_per_step={:.4}",
        threads(),
        seconds * 1e3
    );
}

/// One DCGAN step through `ImageTrainer` (see the module's documentation),
/// on 256 random 28×28 images resident in memory.
fn dcgan() {
    let c = ImageConfig::preset(ImagePreset::Dcgan, 784, 10);
    let mut trainer = on_random_images(c);
    trainer.train_step().expect("a warm-up step");
    let seconds = median_secs(|| (0..3).for_each(|_| trainer.train_step().expect("a step"))) / 3.0;
    println!("dcgan: one DCGAN step through ImageTrainer (the peer's net, batch 64)");
    println!("  {:.3} ms/step", seconds * 1e3);
    println!("RESULT bench=dcgan batch=64 threads={} ms_per_step={:.4}", threads(), seconds * 1e3);
}

/// An `ImageTrainer` on `Cpu<f32>` for `c`, with 256 made-up 28×28 "images"
/// held (the step's cost does not depend on the pixels).
fn on_random_images(c: ImageConfig) -> ImageTrainer<Cpu<f32>> {
    let be = Cpu::<f32>::new();
    let n = 256;
    let images = Pixels::new((0..n * 784).map(|i| (i * 7919 % 256) as u8).collect(), 255);
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let data = ImageData::upload(&be, &c, &images, &labels, n).expect("the images");
    ImageTrainer::new(be, c, data).expect("a valid config")
}

/// Heap allocations per steady-state step of both.
fn alloc() {
    let mut trainer = devnag_trainer();
    let epoch = allocations(|| trainer.train_step().expect("a devnag epoch"));
    let mut step = MlpStep::new(64);
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
    let all: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let batches: Vec<usize> =
        all.iter().filter_map(|a| a.strip_prefix("batch=")?.parse().ok()).collect();
    let args: Vec<&String> = all.iter().filter(|a| !a.starts_with("batch=")).collect();
    let wanted = |name: &str| {
        if args.is_empty() {
            name != "devnag-full"
        } else {
            args.iter().any(|a| *a == name)
        }
    };
    if wanted("devnag") {
        devnag();
    }
    if wanted("mlp") {
        for &batch in if batches.is_empty() { &[64][..] } else { &batches } {
            mlp(batch);
        }
    }
    if wanted("gan") {
        gan();
    }
    if wanted("gan-trainer") {
        gan_trainer();
    }
    if wanted("dcgan") {
        dcgan();
    }
    if wanted("alloc") {
        alloc();
    }
    if wanted("devnag-full") {
        devnag_full();
    }
}
