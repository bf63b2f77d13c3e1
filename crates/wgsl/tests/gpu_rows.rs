//! The row-wise GPU kernels (`shaders/gather.wgsl`, `shaders/pick.wgsl`,
//! `shaders/logsumexp.wgsl`, `shaders/max_rows.wgsl`) against the CPU reference, `Reference<f32>`, on
//! awkward shapes (1, 7, 63, 64, 65, 257 rows; several column counts),
//! forward and backward, directly and through the tape (cross-entropy,
//! softmax, batch norm); and the promise that makes a resident data set
//! worth having: a minibatch is gathered with one upload (its indices) and
//! no download.
//!
//! Gathers, scatters, picks and row maxima move numbers without
//! arithmetic, or add them in the same order as the CPU (the scatter-add),
//! so they must agree bit for bit; the log-sum-exp goes through the GPU's own `exp` and `ln`
//! and is compared with a tolerance.

use minimax_autodiff::{
    Backend, Dist, Error, HostIndices, IndexInfo, Reference, Shape, Tape, TensorShape,
};
use minimax_wgsl::testing::{assert_close, assert_finite, assert_same_bits, gpu_or_skip, pair};
use minimax_wgsl::{Wgpu, WgpuIndices};

const CPU: Reference<f32> = Reference::new();

/// Row counts around the 64-wide and 256-wide edges of workgroups.
const ROWS: [usize; 6] = [1, 7, 63, 64, 65, 257];

/// `n` indices in `0..bound` (xorshift), the same list on both backends.
fn indices(gpu: &Wgpu, n: usize, bound: usize, seed: u64) -> (HostIndices, WgpuIndices) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let idx: Vec<u32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % bound as u64) as u32
        })
        .collect();
    (CPU.upload_indices(&idx).unwrap(), gpu.upload_indices(&idx).unwrap())
}

#[test]
fn gather_and_scatter_add_rows_match_the_cpu_bit_for_bit() {
    let Some(gpu) = gpu_or_skip("gather_and_scatter_add_rows_match_the_cpu_bit_for_bit") else {
        return;
    };
    // Data sets of 1 row (every index the same: one long chain), 5 rows
    // (many repeats) and 300 rows (few); n indices for n in ROWS.
    for (seed, data_rows) in [1usize, 5, 300].into_iter().enumerate() {
        for cols in [1, 3, 64, 65] {
            let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(data_rows, cols), -1.0, 1.0, seed as u64);
            for n in ROWS {
                let what = format!("{n} indices into [{data_rows}, {cols}]");
                let (i_cpu, i) = indices(&gpu, n, data_rows, (n * cols) as u64);
                let y = gpu.gather_rows(&x, &i).unwrap();
                assert_same_bits(
                    &format!("gather_rows, {what}"),
                    &gpu,
                    &y,
                    &CPU,
                    &CPU.gather_rows(&x_cpu, &i_cpu).unwrap(),
                );
                let (dy_cpu, dy) = pair(&CPU, &gpu, Shape::new(n, cols), -1.0, 1.0, 7 + n as u64);
                let dx = gpu.scatter_add_rows(&dy, &i, data_rows).unwrap();
                let want = CPU.scatter_add_rows(&dy_cpu, &i_cpu, data_rows).unwrap();
                assert_same_bits(&format!("scatter_add_rows, {what}"), &gpu, &dx, &CPU, &want);
            }
        }
    }
}

#[test]
fn scatter_add_rows_writes_zeros_over_a_recycled_buffer() {
    let Some(gpu) = gpu_or_skip("scatter_add_rows_writes_zeros_over_a_recycled_buffer") else {
        return;
    };
    // Rows 1 and 3 of dx are never named: they must be 0 even when the
    // output buffer comes back from the pool holding 7s.
    drop(gpu.fill(Shape::new(4, 2), 7.0));
    let dy = gpu.upload(Shape::new(3, 2), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let idx = gpu.upload_indices(&[2, 0, 2]).unwrap();
    let dx = gpu.scatter_add_rows(&dy, &idx, 4).unwrap();
    assert_eq!(gpu.download(&dx).unwrap(), [3.0, 4.0, 0.0, 0.0, 6.0, 8.0, 0.0, 0.0]);
}

#[test]
fn pick_and_scatter_cols_match_the_cpu_bit_for_bit() {
    let Some(gpu) = gpu_or_skip("pick_and_scatter_cols_match_the_cpu_bit_for_bit") else {
        return;
    };
    for rows in ROWS {
        for cols in [1, 2, 10, 257] {
            let what = format!("[{rows}, {cols}]");
            let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(rows, cols), -1.0, 1.0, rows as u64);
            let (l_cpu, l) = indices(&gpu, rows, cols, (rows + cols) as u64);
            let y = gpu.pick_cols(&x, &l).unwrap();
            assert_same_bits(
                &format!("pick_cols {what}"),
                &gpu,
                &y,
                &CPU,
                &CPU.pick_cols(&x_cpu, &l_cpu).unwrap(),
            );
            let (dy_cpu, dy) = pair(&CPU, &gpu, Shape::new(rows, 1), -1.0, 1.0, 3 + rows as u64);
            drop(gpu.fill(Shape::new(rows, cols), 7.0)); // a dirty buffer for dx
            let dx = gpu.scatter_cols(&dy, &l, cols).unwrap();
            let want = CPU.scatter_cols(&dy_cpu, &l_cpu, cols).unwrap();
            assert_same_bits(&format!("scatter_cols {what}"), &gpu, &dx, &CPU, &want);
        }
    }
}

#[test]
fn logsumexp_rows_matches_the_cpu_and_is_stable() {
    let Some(gpu) = gpu_or_skip("logsumexp_rows_matches_the_cpu_and_is_stable") else { return };
    // Columns: one, MNIST's 10, one either side of the 256-wide workgroup,
    // and more than 3 per lane. Logits of ±3, and of ±1000 (where a naive
    // ln Σ e^x is ∞ or -∞).
    for rows in ROWS {
        for cols in [1, 10, 255, 256, 257, 1000] {
            for scale in [3.0, 1000.0] {
                let shape = Shape::new(rows, cols);
                let (x_cpu, x) = pair(&CPU, &gpu, shape, -scale, scale, (rows * cols) as u64);
                let want = CPU.logsumexp_rows(&x_cpu);
                let got = gpu.download(&gpu.logsumexp_rows(&x)).unwrap();
                // exp and ln differ by a few ulps between the two; at ±1000
                // the answer is ~1000, whose ulp is 6e-5.
                let what = format!("logsumexp_rows [{rows}, {cols}] of ±{scale}");
                assert_finite(&what, want.data());
                assert_close(&what, &got, want.data(), 1e-5, 1e-5);
            }
        }
    }
    // A row of no columns is ln 0 = -∞, as on the CPU.
    let empty = gpu.upload(Shape::new(3, 0), &[]).unwrap();
    assert_eq!(gpu.download(&gpu.logsumexp_rows(&empty)).unwrap(), [f32::NEG_INFINITY; 3]);
}

/// `[rows, cols]` values on both backends, uniform on [-3, 3), except for a
/// NaN in row 0 (at column `cols / 2`), a tie for the maximum in the last
/// row (its first maximum copied to its last column, so the gradient must
/// pick the earlier one), and `-∞`, `-0` and `+0` in row 1 where it has
/// room. A NaN's bits are kept by both.
fn max_rows_input(
    gpu: &Wgpu,
    rows: usize,
    cols: usize,
) -> (minimax_autodiff::RefTensor<f32>, minimax_wgsl::WgpuTensor) {
    let shape = Shape::new(rows, cols);
    let mut x = CPU
        .download(&CPU.random(shape, Dist::Uniform { lo: -3.0, hi: 3.0 }, (rows * cols) as u64))
        .unwrap();
    x[cols / 2] = f32::NAN;
    if rows > 2 && cols > 3 {
        x[cols..cols + 3].copy_from_slice(&[f32::NEG_INFINITY, -0.0, 0.0]);
    }
    let last = &mut x[(rows - 1) * cols..];
    let first_max = last[minimax_autodiff::reference::rows::argmax(last).unwrap()];
    last[cols - 1] = first_max;
    (CPU.upload(shape, &x).unwrap(), gpu.upload(shape, &x).unwrap())
}

#[test]
fn max_rows_and_its_backward_match_the_cpu_bit_for_bit() {
    let Some(gpu) = gpu_or_skip("max_rows_and_its_backward_match_the_cpu_bit_for_bit") else {
        return;
    };
    // Columns: one, 10, either side of the 256-wide workgroup, more than 3
    // per lane; then one row of 70 000 columns, more than llvmpipe's 65 535
    // loop iterations if one invocation walked it (its maximum near the end).
    let shapes = ROWS.iter().flat_map(|&r| [1, 10, 255, 256, 257, 1000].map(|c| (r, c)));
    for (rows, cols) in shapes.chain([(1, 70_000), (2, 70_000)]) {
        let what = format!("[{rows}, {cols}]");
        let (x_cpu, x) = max_rows_input(&gpu, rows, cols);
        let y_cpu = CPU.max_rows(&x_cpu);
        assert!(y_cpu.data()[0].is_nan(), "{what}: the NaN row");
        assert_same_bits(&format!("max_rows {what}"), &gpu, &gpu.max_rows(&x), &CPU, &y_cpu);
        let (dy_cpu, dy) = pair(&CPU, &gpu, Shape::new(rows, 1), -1.0, 1.0, 5 + rows as u64);
        drop(gpu.fill(Shape::new(rows, cols), 7.0)); // a dirty buffer for dx
        let dx = gpu.max_rows_backward(&x, &dy).unwrap();
        let want = CPU.max_rows_backward(&x_cpu, &dy_cpu).unwrap();
        assert_same_bits(&format!("max_rows_backward {what}"), &gpu, &dx, &CPU, &want);
    }
    // The long row's maximum at its very end: the last lane's last column.
    let mut x = vec![0.0f32; 70_000];
    x[69_999] = 1.0;
    let long = gpu.upload(Shape::new(1, 70_000), &x).unwrap();
    assert_eq!(gpu.download(&gpu.max_rows(&long)).unwrap(), [1.0]);
    // A row of no columns is -∞, as on the CPU, and its gradient empty.
    let empty = gpu.upload(Shape::new(3, 0), &[]).unwrap();
    assert_eq!(gpu.download(&gpu.max_rows(&empty)).unwrap(), [f32::NEG_INFINITY; 3]);
    let dy = gpu.upload(Shape::new(3, 1), &[1.0; 3]).unwrap();
    assert_eq!(gpu.max_rows_backward(&empty, &dy).unwrap().shape(), Shape::new(3, 0));
    // A bad dy is the CPU's error.
    let x = gpu.upload(Shape::new(3, 2), &[0.0; 6]).unwrap();
    let (got, want) = (
        gpu.max_rows_backward(&x, &x),
        CPU.max_rows_backward(&CPU.fill(Shape::new(3, 2), 0.0), &CPU.fill(Shape::new(3, 2), 0.0)),
    );
    assert_eq!(got.unwrap_err().to_string(), want.unwrap_err().to_string());
}

#[test]
fn max_rows_through_the_tape_matches_the_cpu() {
    let Some(gpu) = gpu_or_skip("max_rows_through_the_tape_matches_the_cpu") else { return };
    // L = Σ_i w_i · max_j x_ij: the gradient of x is w_i at each row's argmax.
    let (x_cpu, x_gpu) = max_rows_input(&gpu, 65, 257);
    fn grad<B: Backend<Elem = f32>>(be: &B, x: &B::Tensor) -> Vec<f32> {
        let tape = Tape::new(be.clone());
        let x = tape.leaf(x.clone());
        let w: Vec<f32> = (0..65).map(|i| (i as f32 - 32.0) / 8.0).collect(); // exact
        let w = be.upload(Shape::new(65, 1), &w).unwrap();
        let loss = x.max_rows().mul(&tape.constant(w)).unwrap().sum();
        let grads = tape.backward(&loss).unwrap();
        be.download(grads.get(&x).unwrap()).unwrap()
    }
    let (got, want) = (grad(&gpu, &x_gpu), grad(&CPU, &x_cpu));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&want));
}

/// A classifier's loss through the tape: `x` gathered from a resident data
/// set, a linear layer, batch norm, a scale and shift, and the cross-entropy
/// against labels (plus the probabilities form against one-hot rows
/// gathered from the identity, and the softmax). Returns the loss and the
/// gradients of the data set, the weights and the scale, downloaded.
fn classifier<B: Backend<Elem = f32>>(
    be: &B,
    data: &[f32],
    w: &[f32],
    (rows, n, features, classes): (usize, usize, usize, usize),
    batch: &[u32],
    labels: &[u32],
) -> Vec<Vec<f32>> {
    let tape = Tape::new(be.clone());
    let data = tape.leaf(be.upload(Shape::new(rows, features), data).unwrap()); // [rows, features]
    let w = tape.leaf(be.upload(Shape::new(features, classes), w).unwrap()); // [features, classes]
    let gamma = tape.leaf(be.fill(Shape::new(1, classes), 1.5)); // [1, classes]
    let idx = be.upload_indices(batch).unwrap();
    let labels_idx = be.upload_indices(labels).unwrap();
    let x = data.gather_rows(&idx).unwrap(); // [n, features]
    let bn = x.matmul(&w).unwrap().batch_norm(1e-5).unwrap();
    let z = bn.normalised.mul(&gamma).unwrap().mul_scalar(3.0); // [n, classes]
    let eye: Vec<f32> =
        (0..classes * classes).map(|i| (i % (classes + 1) == 0) as u8 as f32).collect();
    let eye = tape.constant(be.upload(Shape::new(classes, classes), &eye).unwrap());
    let onehot = eye.gather_rows(&labels_idx).unwrap(); // [n, classes]
    let ce = z.cross_entropy(&labels_idx).unwrap();
    let ce_probs = z.cross_entropy_probs(&onehot).unwrap();
    let p = z.softmax_rows().unwrap().mul(&onehot).unwrap().sum().mul_scalar(1.0 / n as f64);
    let loss = ce.add(&ce_probs).unwrap().sub(&p).unwrap();
    let grads = tape.backward(&loss).unwrap();
    let mut out = vec![loss.to_vec().unwrap(), bn.mean.to_vec().unwrap(), bn.var.to_vec().unwrap()];
    for leaf in [&data, &w, &gamma] {
        out.push(be.download(grads.get(leaf).unwrap()).unwrap());
    }
    out
}

#[test]
fn a_classifier_step_through_the_tape_matches_the_cpu() {
    let Some(gpu) = gpu_or_skip("a_classifier_step_through_the_tape_matches_the_cpu") else {
        return;
    };
    let draw = |n, seed| {
        CPU.random(Shape::new(1, n), Dist::Uniform { lo: -1.0, hi: 1.0 }, seed).data().to_vec()
    };
    let (rows, features, classes) = (300, 13, 10);
    for n in [2, 7, 63, 64, 65, 257] {
        let (data, w) = (draw(rows * features, 1), draw(features * classes, 2));
        let cpu_idx = indices(&gpu, n, rows, n as u64).0;
        let cpu_labels = indices(&gpu, n, classes, 100 + n as u64).0;
        let (batch, labels) = (cpu_idx.data(), cpu_labels.data());
        let dims = (rows, n, features, classes);
        let want = classifier(&CPU, &data, &w, dims, batch, labels);
        let got = classifier(&gpu, &data, &w, dims, batch, labels);
        let names = ["loss", "batch mean", "batch var", "d data", "d w", "d gamma"];
        for (name, (g, c)) in names.iter().zip(got.iter().zip(&want)) {
            let what = format!("{name}, batch of {n}");
            assert_finite(&what, c);
            assert_close(&what, g, c, 1e-3, 1e-5);
        }
    }
}

#[test]
fn a_minibatch_is_one_upload_and_no_download() {
    let Some(gpu) = gpu_or_skip("a_minibatch_is_one_upload_and_no_download") else { return };
    // The data set goes up once; each step uploads its indices (and the
    // labels, here), gathers, and runs forward and backward, all on the
    // device: no readback until the host asks for the loss.
    let data = gpu.random(Shape::new(1000, 20), Dist::Uniform { lo: -1.0, hi: 1.0 }, 1);
    let w = gpu.random(Shape::new(20, 10), Dist::Normal { mean: 0.0, std: 0.1 }, 2);
    gpu.sync().unwrap();
    for step in 0..3u32 {
        gpu.reset_stats();
        let tape = Tape::new(gpu.clone());
        let batch: Vec<u32> = (0..64).map(|i| (i * 37 + step * 101) % 1000).collect();
        let labels: Vec<u32> = batch.iter().map(|i| i % 10).collect();
        let idx = gpu.upload_indices(&batch).unwrap();
        let labels = gpu.upload_indices(&labels).unwrap();
        let w = tape.leaf(w.clone());
        let x = tape.constant(data.clone()).gather_rows(&idx).unwrap();
        let loss = x.matmul(&w).unwrap().cross_entropy(&labels).unwrap();
        let grads = tape.backward(&loss).unwrap();
        assert_eq!(grads.get(&w).unwrap().shape(), Shape::new(20, 10));
        gpu.flush().unwrap();
        let stats = gpu.stats();
        assert_eq!((stats.uploads, stats.readbacks), (2, 0), "step {step}: {stats}");
        assert_eq!(stats.upload_bytes, 2 * 3 * 64 * 4, "step {step}: indices and labels only");
        assert!(loss.item().unwrap().is_finite());
    }
}

#[test]
fn bad_indices_are_the_cpus_errors() {
    let Some(gpu) = gpu_or_skip("bad_indices_are_the_cpus_errors") else { return };
    let (x_cpu, x) = pair(&CPU, &gpu, Shape::new(7, 3), 0.0, 1.0, 1);
    let bad = [0, 7, 3];
    let (i_cpu, i) = (CPU.upload_indices(&bad).unwrap(), gpu.upload_indices(&bad).unwrap());
    assert_eq!((i.len(), i.max()), (3, Some((1, 7))));
    let want = CPU.gather_rows(&x_cpu, &i_cpu).unwrap_err();
    assert!(want.to_string().contains("index 7 (position 1 of 3)"), "{want}");
    assert_eq!(gpu.gather_rows(&x, &i).unwrap_err(), want);
    let dy = gpu.fill(Shape::new(3, 3), 1.0);
    let want = CPU.scatter_add_rows(&CPU.fill(Shape::new(3, 3), 1.0), &i_cpu, 7).unwrap_err();
    assert_eq!(gpu.scatter_add_rows(&dy, &i, 7).unwrap_err(), want);
    // Labels: 7 is not one of x's 3 columns.
    let want = CPU.pick_cols(&x_cpu, &i_cpu).unwrap_err();
    assert_eq!(gpu.pick_cols(&x, &i).unwrap_err(), want);
    let tape = Tape::new(gpu.clone());
    let err = tape.leaf(x).cross_entropy(&i).unwrap_err();
    assert!(matches!(&err, Error::Invalid { op: "cross_entropy", .. }), "{err}");
    // Nothing was recorded for the device to trip over.
    gpu.sync().unwrap();
}

#[test]
fn a_tensor_above_the_binding_limit_is_refused_by_name() {
    let Some(gpu) = gpu_or_skip("a_tensor_above_the_binding_limit_is_refused_by_name") else {
        return;
    };
    // WebGPU guarantees 128 MiB; the backend asks for the adapter's own limit.
    let limit = gpu.max_tensor_bytes();
    assert!(limit >= 128 << 20, "{limit}");
    // One row more than fits (of 784 columns, an MNIST image a row) is
    // refused before anything is allocated, naming the limit.
    let rows = (limit / (784 * 4)) as usize + 1;
    // Zeroed pages from the allocator, never touched: the upload is refused
    // before it reads them, so even a limit of gigabytes costs nothing here.
    let zeros = vec![0.0f32; rows * 784];
    let err = gpu.upload(Shape::new(rows, 784), &zeros).unwrap_err();
    assert!(err.to_string().contains(&format!("this adapter holds at most {limit}")), "{err}");
}
