//! The backend runs its elementwise loops and Adam in a copy compiled with
//! AVX-512 (or AVX2 + FMA) when the CPU has it (`cpu/simd.rs`): the same
//! operations in the same order, so the same bits as the loops compiled
//! for the baseline target, which these tests call directly.

use minimax_autodiff::reference::unary::EVERY_OP as OPS;
use minimax_autodiff::{rng, AdamStep, Backend, Shape, Unary};
use minimax_cpu::optim::{self, AdamConsts};
use minimax_cpu::unary;
use minimax_cpu::Cpu;

/// `len` values in `[-6, 6)` (in `(0, 6)` for ops with a domain), a few
/// exact zeros among them.
fn inputs(len: usize, seed: u64, positive: bool) -> Vec<f32> {
    let key = rng::seed_key(seed);
    (0..len)
        .map(|i| {
            let u = rng::uniform(key, i as u32) as f32;
            match (positive, i % 97) {
                (false, 0) => 0.0,
                (true, _) => 6.0 * u + 1e-3,
                _ => 12.0 * u - 6.0,
            }
        })
        .collect()
}

#[test]
fn unary_forward_and_backward_in_the_simd_copy_are_the_baseline_bits() {
    let be = Cpu::<f32>::new();
    // 1000 = 62 vectors of 16 and a tail of 8.
    let shape = Shape::new(40, 25);
    for op in OPS {
        let positive = matches!(op, Unary::Log | Unary::Sqrt);
        let (x, dy) = (inputs(1000, 1, positive), inputs(1000, 2, false));
        let mut y_base = vec![0.0f32; 1000];
        unary::forward(op, &x, &mut y_base);
        let mut dx_base = vec![0.0f32; 1000];
        unary::backward(op, &x, &y_base, &dy, &mut dx_base);

        let (xt, dyt) = (be.upload(shape, &x).unwrap(), be.upload(shape, &dy).unwrap());
        let yt = be.unary(op, &xt);
        let dxt = be.unary_backward(op, &xt, &yt, &dyt);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(yt.data()), bits(&y_base), "{op:?} forward");
        assert_eq!(bits(dxt.data()), bits(&dx_base), "{op:?} backward");
    }
}

#[test]
fn adam_in_the_simd_copy_is_the_baseline_bits() {
    let be = Cpu::<f32>::new();
    let shape = Shape::new(33, 31); // 1023 elements: a tail of 15
    let n = shape.numel();
    let (p0, g) = (inputs(n, 3, false), inputs(n, 4, false));
    let (mut p, mut m, mut v) = (p0.clone(), vec![0.0f32; n], vec![0.0f32; n]);
    let (mut pt, gt) = (be.upload(shape, &p0).unwrap(), be.upload(shape, &g).unwrap());
    let (mut mt, mut vt) = (be.fill(shape, 0.0), be.fill(shape, 0.0));
    for t in 1..=3 {
        let hp = AdamStep { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, t };
        let mut out = vec![0.0f32; n];
        optim::adam(&AdamConsts::new(hp), &p, &g, &mut m, &mut v, &mut out);
        p = out;
        be.adam_step(&mut pt, &gt, &mut mt, &mut vt, hp).unwrap();
    }
    assert!(pt.data() == &p[..] && mt.data() == &m[..] && vt.data() == &v[..]);
}
