//! The CPU backend gives the same bits whatever its thread count
//! (`cpu::threads::with_threads`, the in-process form of `MINIMAX_THREADS`)
//! and run to run: every kernel that splits work across threads (matmul,
//! the elementwise maps and their backward, the binary ops with each
//! broadcast, SGD and Adam) on sizes past the split thresholds, with
//! uneven lengths so the last part is short.

use minimax_autodiff::{AdamStep, Backend, Binary, Dist, Shape, TensorShape, Unary};
use minimax_cpu::threads::with_threads;
use minimax_cpu::{gemm, ELEMENTWISE_PER_THREAD};
use minimax_cpu::{Cpu, CpuTensor};

/// Everything one "step" computes, downloaded: a product, maps, their
/// backward, broadcasts, and the optimizer updates.
fn step_outputs(be: &Cpu<f32>) -> Vec<Vec<f32>> {
    // [rows, cols]: more elements than two threads' thresholds, uneven.
    let (rows, cols) = (301, 2 * ELEMENTWISE_PER_THREAD / 300 + 7);
    let u = Dist::Uniform { lo: -1.0, hi: 1.0 };
    let x = be.random(Shape::new(rows, cols), u, 1);
    let w = be.random(Shape::new(cols, 257), u, 2); // [cols, 257]
    let row = be.random(Shape::new(1, cols), u, 3);
    let col = be.random(Shape::new(rows, 1), u, 4);
    let dy = be.random(Shape::new(rows, cols), u, 5);
    let get = |t: &CpuTensor<f32>| be.download(t).unwrap();
    let mut out = vec![get(&be.matmul(&x, false, &w, false).unwrap())];
    out.push(get(&be.matmul(&x, true, &x, false).unwrap())); // [cols, cols]
    for op in [Unary::LeakyRelu(0.2), Unary::Tanh, Unary::Sigmoid, Unary::Exp, Unary::Relu] {
        let y = be.unary(op, &x);
        out.push(get(&be.unary_backward(op, &x, &y, &dy)));
        out.push(get(&y));
    }
    for (op, b) in
        [(Binary::Add, &row), (Binary::Mul, &col), (Binary::Sub, &dy), (Binary::Div, &row)]
    {
        out.push(get(&be.binary(op, &x, b).unwrap()));
    }
    let (mut p, mut m, mut v) = (x.clone(), be.fill(x.shape(), 0.0), be.fill(x.shape(), 0.0));
    for t in 1..=3 {
        let hp = AdamStep { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, t };
        be.adam_step(&mut p, &dy, &mut m, &mut v, hp).unwrap();
    }
    out.extend([get(&p), get(&m), get(&v)]);
    let (mut p, mut vel) = (x.clone(), be.fill(x.shape(), 0.0));
    for _ in 0..3 {
        be.sgd_step(&mut p, &dy, &mut vel, 0.01, 0.9).unwrap();
    }
    out.extend([get(&p), get(&vel)]);
    out
}

#[test]
fn every_split_kernel_gives_the_same_bits_for_any_thread_count() {
    let be = Cpu::<f32>::new();
    let one = with_threads(1, || step_outputs(&be));
    for threads in [2, 3, 8] {
        let many = with_threads(threads, || step_outputs(&be));
        for (i, (a, b)) in one.iter().zip(&many).enumerate() {
            assert!(a == b, "output {i} differs between 1 and {threads} threads");
        }
    }
    let again = with_threads(2, || step_outputs(&be));
    assert!(one == again, "a rerun gave different bits");
}

#[test]
fn work_is_split_only_past_the_thresholds() {
    // What the test above relies on: its sizes are split with 2 threads.
    let (rows, cols) = (301, 2 * ELEMENTWISE_PER_THREAD / 300 + 7);
    assert!(rows * cols >= 2 * ELEMENTWISE_PER_THREAD, "the maps are split in two");
    with_threads(2, || {
        assert_eq!(gemm::default_threads(rows, cols, 257), 2);
        assert_eq!(gemm::default_threads(8, 8, 8), 1);
    });
    with_threads(1, || assert_eq!(gemm::default_threads(1000, 1000, 1000), 1));
}
