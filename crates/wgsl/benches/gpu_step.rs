//! Host time and device commands of one GAN training step on the GPU
//! backend, written by hand with `Var` ops the way the trainer writes it.
//!
//! Two workloads:
//!
//! - `gan1d`: the default 1-D GAN (G 4-16-16-1 tanh, D 1-32-32-1
//!   LeakyReLU(0.2), batch 128, non-saturating loss, Adam);
//! - `image`: an image-GAN-sized step (G 100-256-512-784 LeakyReLU(0.2) with
//!   a tanh output, D 784-512-256-1 LeakyReLU(0.2), batch 64).
//!
//! A step is one D-pass (real and fake batches, BCE on logits, Adam on D)
//! and one G-pass (Adam on G), then `flush`. Two variants:
//!
//! - `plain`: the step as the trainer records it before issue 14: a layer
//!   is matmul, bias add and activation; the loss is the composite
//!   `bce_with_logits`; Adam runs once per parameter while the tape's
//!   leaves still share the parameters (so each is copied first);
//! - `fused`: a layer is `Var::linear`, the loss `Var::bce_logits`, the
//!   gradients are taken and the tape reset before the update, which is one
//!   `adam_step_many` per network, in place. **Host time** is the time to
//! record the step and hand it to the queue (`flush` does not wait); the
//! device's own work is waited for afterwards, outside the timer, so that a
//! software rasterizer (lavapipe, which runs the kernels on the same CPU)
//! does not run concurrently with the timed recording.
//!
//! Run with `cargo bench -p minimax-wgsl --bench gpu_step [-- gan1d|image]`.
//! Prints one `RESULT` line per workload and variant.

use minimax_autodiff::{
    AdamStep, AdamTensors, Backend, Dist, Shape, Tape, TensorShape, Unary, Var,
};
use minimax_wgsl::Wgpu;
use std::time::Instant;

/// An MLP's shape: widths, the hidden activation and the output one.
struct Mlp {
    sizes: Vec<usize>,
    hidden: Unary,
    out: Option<Unary>,
}

/// A network's parameters (w, b per layer) and Adam state on the GPU.
struct Net {
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
struct Gan {
    gpu: Wgpu,
    g_mlp: Mlp,
    d_mlp: Mlp,
    g: Net,
    d: Net,
    batch: usize,
    ones: <Wgpu as Backend>::Tensor,
    zeros: <Wgpu as Backend>::Tensor,
    step: u64,
}

impl Gan {
    fn new(gpu: &Wgpu, name: &str) -> Gan {
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

/// Median of `xs`.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times `steps` steps of `variant` on workload `name`; prints a RESULT line.
fn measure(gpu: &Wgpu, name: &str, variant: &str, steps: usize) {
    let mut gan = Gan::new(gpu, name);
    let mut tape = Tape::new(gpu.clone());
    let step = |gan: &mut Gan, tape: &mut Tape<Wgpu>| match variant {
        "plain" => gan.step_plain(tape),
        "fused" => gan.step_fused(tape),
        other => panic!("unknown variant {other}"),
    };
    // Warm-up: pipelines compiled, buffer pool and caches filled.
    for _ in 0..12 {
        step(&mut gan, &mut tape);
    }
    gpu.sync().unwrap();
    gpu.reset_stats();
    step(&mut gan, &mut tape);
    gpu.sync().unwrap();
    let one = gpu.stats();
    let mut host = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t = Instant::now();
        step(&mut gan, &mut tape);
        host.push(t.elapsed().as_secs_f64());
        gpu.sync().unwrap(); // the device's work, untimed
    }
    let host_us = median(host) * 1e6;
    println!(
        "RESULT bench=gpu_step workload={name} variant={variant} host_us={host_us:.1} \
         dispatches={} copies={} submits={}",
        one.dispatches, one.copies, one.submits
    );
    println!("  one step: {one}");
}

fn main() {
    let gpu = Wgpu::new().expect("a GPU adapter (lavapipe will do)");
    println!("adapter: {}", gpu.adapter_summary());
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |w: &str| args.is_empty() || args.iter().any(|a| a == w);
    for (name, steps) in [("gan1d", 200), ("image", 20)] {
        if wanted(name) {
            for variant in ["plain", "fused"] {
                if args.iter().all(|a| a == "gan1d" || a == "image") || wanted(variant) {
                    measure(&gpu, name, variant, steps);
                }
            }
        }
    }
}
