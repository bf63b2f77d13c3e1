//! A GAN training step written by hand with `Var` ops on the GPU backend,
//! in three ways, for `benches/gpu_step.rs` (host time per step) and
//! `tests/gpu_step_cost.rs` (what a step costs in commands). Both include
//! this file with `#[path]`.
//!
//! Two workloads (`Gan::new`):
//!
//! - `gan1d`: the default 1-D GAN (G 4-16-16-1 tanh, D 1-32-32-1
//!   LeakyReLU(0.2), batch 128, non-saturating loss, Adam);
//! - `image`: an image-GAN-sized step (G 100-256-512-784 LeakyReLU(0.2) with
//!   a tanh output, D 784-512-256-1 LeakyReLU(0.2), batch 64).
//!
//! A step is one D-pass (real and fake batches, BCE on logits, Adam on D)
//! and one G-pass (Adam on G), then `flush`. Three variants
//! ([`Gan::step`]):
//!
//! - `plain`: the step recorded with the primitive ops only: a layer
//!   is matmul, bias add and activation; the loss is the composite
//!   `bce_with_logits`; Adam runs once per parameter while the tape's
//!   leaves still share the parameters (so each is copied first);
//! - `fused`: the same structure with the fused ops: a layer is
//!   `Var::linear`, the loss `Var::bce_logits`; the gradients are taken out
//!   and the tape reset before the update, which is one `adam_step_many`
//!   per network, in place;
//! - `lean`: `fused`, plus two changes of structure a trainer can make: D
//!   sees the real and the fake batch as one batch of 2·batch rows (one
//!   forward and one backward through D instead of two, and no gradient
//!   sums), and the G-pass puts D's parameters on the tape as constants
//!   (the gradient still flows through D to G, but D's own gradients,
//!   which the G-pass throws away, are not computed).

#![allow(dead_code)] // each includer uses part of it

use minimax_autodiff::{
    concat_cols, AdamStep, AdamTensors, Backend, Dist, Shape, Tape, TensorShape, Unary, Var,
};
use minimax_wgsl::Wgpu;

/// The variants of [`Gan::step`].
pub const VARIANTS: [&str; 3] = ["plain", "fused", "lean"];

/// An MLP's shape: widths, the hidden activation and the output one.
pub struct Mlp {
    sizes: Vec<usize>,
    hidden: Unary,
    out: Option<Unary>,
}

/// A network's parameters (w, b per layer) and Adam state on the GPU.
pub struct Net {
    params: Vec<<Wgpu as Backend>::Tensor>,
    m: Vec<<Wgpu as Backend>::Tensor>,
    v: Vec<<Wgpu as Backend>::Tensor>,
    t: u32,
    lr: f64,
}

impl Net {
    fn new(gpu: &Wgpu, mlp: &Mlp, seed: u64, lr: f64) -> Net {
        let mut params = Vec::new();
        for (l, w) in mlp.sizes.windows(2).enumerate() {
            let a = (6.0 / (w[0] + w[1]) as f64).sqrt();
            let dist = Dist::Uniform { lo: -a, hi: a };
            params.push(gpu.random(Shape::new(w[0], w[1]), dist, seed + l as u64));
            params.push(gpu.fill(Shape::new(1, w[1]), 0.0));
        }
        let zeros = |p: &<Wgpu as Backend>::Tensor| gpu.fill(p.shape(), 0.0);
        let m = params.iter().map(zeros).collect();
        let v = params.iter().map(zeros).collect();
        Net { params, m, v, t: 0, lr }
    }

    /// Adam on every parameter, one call per parameter, as the trainer does.
    fn adam(&mut self, gpu: &Wgpu, grads: &[<Wgpu as Backend>::Tensor]) {
        self.t += 1;
        let hp = AdamStep { lr: self.lr, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: self.t };
        for (i, g) in grads.iter().enumerate() {
            gpu.adam_step(&mut self.params[i], g, &mut self.m[i], &mut self.v[i], hp).unwrap();
        }
    }
}

impl Net {
    /// Adam on every parameter in one call (one dispatch per 6 tensors).
    fn adam_many(&mut self, gpu: &Wgpu, grads: &[<Wgpu as Backend>::Tensor]) {
        self.t += 1;
        let hp = AdamStep { lr: self.lr, beta1: 0.5, beta2: 0.999, eps: 1e-8, t: self.t };
        let tensors = self.params.iter_mut().zip(grads).zip(self.m.iter_mut().zip(&mut self.v));
        let tensors = tensors.map(|((param, grad), (m, v))| AdamTensors { param, grad, m, v });
        gpu.adam_step_many(tensors, hp).unwrap();
    }
}

/// The fused forward: one `Var::linear` per layer.
fn forward_fused(mlp: &Mlp, vars: &[Var<Wgpu>], x: &Var<Wgpu>) -> Var<Wgpu> {
    let layers = mlp.sizes.len() - 1;
    let mut h = x.clone();
    for l in 0..layers {
        let act = if l + 1 < layers { Some(mlp.hidden) } else { mlp.out };
        h = h.linear(&vars[2 * l], Some(&vars[2 * l + 1]), act).unwrap();
    }
    h
}

/// The plain forward: matmul, bias add, activation, one op each.
fn forward_plain(mlp: &Mlp, vars: &[Var<Wgpu>], x: &Var<Wgpu>) -> Var<Wgpu> {
    let layers = mlp.sizes.len() - 1;
    let mut h = x.clone();
    for l in 0..layers {
        h = h.matmul(&vars[2 * l]).unwrap().add(&vars[2 * l + 1]).unwrap();
        let act = if l + 1 < layers { Some(mlp.hidden) } else { mlp.out };
        if let Some(act) = act {
            h = h.map(act);
        }
    }
    h
}

/// A workload: both networks, the batch, the data's shape.
pub struct Gan {
    gpu: Wgpu,
    g_mlp: Mlp,
    d_mlp: Mlp,
    g: Net,
    d: Net,
    batch: usize,
    ones: <Wgpu as Backend>::Tensor,
    targets: Option<<Wgpu as Backend>::Tensor>,
    zeros: <Wgpu as Backend>::Tensor,
    step: u64,
}

impl Gan {
    /// The workload `name` (`gan1d` or `image`) on `gpu`, freshly initialised.
    pub fn new(gpu: &Wgpu, name: &str) -> Gan {
        let leaky = Unary::LeakyRelu(0.2);
        let (g_mlp, d_mlp, batch) = match name {
            "gan1d" => (
                Mlp { sizes: vec![4, 16, 16, 1], hidden: Unary::Tanh, out: None },
                Mlp { sizes: vec![1, 32, 32, 1], hidden: leaky, out: None },
                128,
            ),
            "image" => (
                Mlp { sizes: vec![100, 256, 512, 784], hidden: leaky, out: Some(Unary::Tanh) },
                Mlp { sizes: vec![784, 512, 256, 1], hidden: leaky, out: None },
                64,
            ),
            other => panic!("unknown workload {other:?}: gan1d or image"),
        };
        Gan {
            g: Net::new(gpu, &g_mlp, 10, 2e-4),
            d: Net::new(gpu, &d_mlp, 20, 1e-3),
            gpu: gpu.clone(),
            g_mlp,
            d_mlp,
            batch,
            ones: gpu.fill(Shape::scalar(), 1.0),
            targets: None,
            zeros: gpu.fill(Shape::scalar(), 0.0),
            step: 0,
        }
    }

    /// One step as the trainer records it today: plain ops, and Adam while
    /// the tape's leaves still share the parameters (so each is copied).
    fn step_plain(&mut self, tape: &mut Tape<Wgpu>) {
        let gpu = self.gpu.clone();
        let (latent, dim) = (self.g_mlp.sizes[0], *self.g_mlp.sizes.last().unwrap());
        let normal = Dist::Normal { mean: 0.0, std: 1.0 };
        self.step += 1;
        // D-pass.
        {
            tape.reset().unwrap();
            let g_vars: Vec<_> = self.g.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let d_vars: Vec<_> = self.d.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let real = tape.random(Shape::new(self.batch, dim), normal, 3 * self.step);
            let z = tape.random(Shape::new(self.batch, latent), normal, 3 * self.step + 1);
            let fake = forward_plain(&self.g_mlp, &g_vars, &z).detach();
            let real_logits = forward_plain(&self.d_mlp, &d_vars, &real);
            let fake_logits = forward_plain(&self.d_mlp, &d_vars, &fake);
            let (t1, t0) = (tape.constant(self.ones.clone()), tape.constant(self.zeros.clone()));
            let loss = real_logits
                .bce_with_logits(&t1)
                .unwrap()
                .add(&fake_logits.bce_with_logits(&t0).unwrap())
                .unwrap();
            let grads = tape.backward(&loss).unwrap();
            let d_grads: Vec<_> = d_vars.iter().map(|v| grads.get(v).unwrap().clone()).collect();
            self.d.adam(&gpu, &d_grads);
        }
        // G-pass.
        {
            tape.reset().unwrap();
            let g_vars: Vec<_> = self.g.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let d_vars: Vec<_> = self.d.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let z = tape.random(Shape::new(self.batch, latent), normal, 3 * self.step + 2);
            let fake = forward_plain(&self.g_mlp, &g_vars, &z);
            let logits = forward_plain(&self.d_mlp, &d_vars, &fake);
            let loss = logits.neg().softplus().mean();
            let grads = tape.backward(&loss).unwrap();
            let g_grads: Vec<_> = g_vars.iter().map(|v| grads.get(v).unwrap().clone()).collect();
            self.g.adam(&gpu, &g_grads);
        }
        gpu.flush().unwrap();
    }
}

impl Gan {
    /// One step with the fused ops, updating in place.
    fn step_fused(&mut self, tape: &mut Tape<Wgpu>) {
        let gpu = self.gpu.clone();
        let (latent, dim) = (self.g_mlp.sizes[0], *self.g_mlp.sizes.last().unwrap());
        let normal = Dist::Normal { mean: 0.0, std: 1.0 };
        self.step += 1;
        // D-pass: the gradients are taken out, then every variable dropped
        // and the tape reset, so nothing else holds D's parameters.
        tape.reset().unwrap();
        let d_grads: Vec<_> = {
            let g_vars: Vec<_> = self.g.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let d_vars: Vec<_> = self.d.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let real = tape.random(Shape::new(self.batch, dim), normal, 3 * self.step);
            let z = tape.random(Shape::new(self.batch, latent), normal, 3 * self.step + 1);
            let fake = forward_fused(&self.g_mlp, &g_vars, &z).detach();
            let real_logits = forward_fused(&self.d_mlp, &d_vars, &real);
            let fake_logits = forward_fused(&self.d_mlp, &d_vars, &fake);
            let (t1, t0) = (tape.constant(self.ones.clone()), tape.constant(self.zeros.clone()));
            let loss = real_logits
                .bce_logits(&t1)
                .unwrap()
                .add(&fake_logits.bce_logits(&t0).unwrap())
                .unwrap();
            let grads = tape.backward(&loss).unwrap();
            d_vars.iter().map(|v| grads.get(v).unwrap().clone()).collect()
        };
        tape.reset().unwrap();
        self.d.adam_many(&gpu, &d_grads);
        // G-pass.
        let g_grads: Vec<_> = {
            let g_vars: Vec<_> = self.g.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let d_vars: Vec<_> = self.d.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let z = tape.random(Shape::new(self.batch, latent), normal, 3 * self.step + 2);
            let fake = forward_fused(&self.g_mlp, &g_vars, &z);
            let logits = forward_fused(&self.d_mlp, &d_vars, &fake);
            let loss = logits.bce_logits(&tape.constant(self.ones.clone())).unwrap();
            let grads = tape.backward(&loss).unwrap();
            g_vars.iter().map(|v| grads.get(v).unwrap().clone()).collect()
        };
        tape.reset().unwrap();
        self.g.adam_many(&gpu, &g_grads);
        gpu.flush().unwrap();
    }
}

impl Gan {
    /// One step of `variant` (one of [`VARIANTS`]).
    pub fn step(&mut self, variant: &str, tape: &mut Tape<Wgpu>) {
        match variant {
            "plain" => self.step_plain(tape),
            "fused" => self.step_fused(tape),
            "lean" => self.step_lean(tape),
            other => panic!("unknown variant {other:?}: one of {VARIANTS:?}"),
        }
    }

    /// One step with the fused ops and the lean structure (see the module
    /// docs).
    fn step_lean(&mut self, tape: &mut Tape<Wgpu>) {
        let gpu = self.gpu.clone();
        let (latent, dim, b) = (self.g_mlp.sizes[0], *self.g_mlp.sizes.last().unwrap(), self.batch);
        let normal = Dist::Normal { mean: 0.0, std: 1.0 };
        self.step += 1;
        // Targets of the joint batch: 1 for the real rows, 0 for the fake
        // ones, [2·batch, 1], made once.
        if self.targets.is_none() {
            let ones = gpu.fill(Shape::new(1, b), 1.0);
            let zeros = gpu.fill(Shape::new(1, b), 0.0);
            self.targets = Some(gpu.transpose(&gpu.concat_cols(&[&ones, &zeros]).unwrap()));
        }
        tape.reset().unwrap();
        let d_grads: Vec<_> = {
            let g_vars: Vec<_> = self.g.params.iter().map(|p| tape.constant(p.clone())).collect();
            let d_vars: Vec<_> = self.d.params.iter().map(|p| tape.leaf(p.clone())).collect();
            let real = tape.random(Shape::new(b, dim), normal, 3 * self.step); // [b, dim]
            let z = tape.random(Shape::new(b, latent), normal, 3 * self.step + 1);
            let fake = forward_fused(&self.g_mlp, &g_vars, &z).detach(); // [b, dim]
                                                                         // [2b, dim]: the real rows, then the fake ones (rows joined as
                                                                         // the transpose of joined columns).
            let both = concat_cols(&[&real.transpose(), &fake.transpose()]).unwrap().transpose();
            let logits = forward_fused(&self.d_mlp, &d_vars, &both); // [2b, 1]
            let t = tape.constant(self.targets.clone().unwrap());
            // BCE(real) + BCE(fake) = 2 · the mean over the joint batch.
            let loss = logits.bce_logits(&t).unwrap().mul_scalar(2.0);
            let grads = tape.backward(&loss).unwrap();
            d_vars.iter().map(|v| grads.get(v).unwrap().clone()).collect()
        };
        tape.reset().unwrap();
        self.d.adam_many(&gpu, &d_grads);
        let g_grads: Vec<_> = {
            let g_vars: Vec<_> = self.g.params.iter().map(|p| tape.leaf(p.clone())).collect();
            // Constants: the gradient flows through D, D's own is not made.
            let d_vars: Vec<_> = self.d.params.iter().map(|p| tape.constant(p.clone())).collect();
            let z = tape.random(Shape::new(b, latent), normal, 3 * self.step + 2);
            let fake = forward_fused(&self.g_mlp, &g_vars, &z);
            let logits = forward_fused(&self.d_mlp, &d_vars, &fake);
            let loss = logits.bce_logits(&tape.constant(self.ones.clone())).unwrap();
            let grads = tape.backward(&loss).unwrap();
            g_vars.iter().map(|v| grads.get(v).unwrap().clone()).collect()
        };
        tape.reset().unwrap();
        self.g.adam_many(&gpu, &g_grads);
        gpu.flush().unwrap();
    }
}
