//! The tuned CPU backend against the plain reference backend, every
//! primitive and every fused op, forward and backward, in `f32` and `f64`,
//! on awkward shapes (1, 7, 63, 64, 65, 257: around the SIMD widths, the
//! 64-element blocks and the gemm panels).
//!
//! What must agree bit for bit does (copies, gathers, the elementwise maps
//! in `f64`, broadcasts, SGD); what is summed in another order (matmul,
//! sums) or computed with the fast `f32` e^x, tanh and σ agrees within a
//! tolerance scaled to the type's precision.

use minimax_autodiff::reference::rows;
use minimax_autodiff::reference::unary::EVERY_OP as UNARY;
use minimax_autodiff::{
    AdamStep, AdamTensors, Axis, Backend, Binary, Dist, HostIndices, Real, RefTensor, Reference,
    Shape, TensorShape, Unary,
};
use minimax_cpu::{Cpu, CpuTensor};

/// Sizes around the boundaries the tuned code cares about.
const SIZES: [usize; 6] = [1, 7, 63, 64, 65, 257];

/// The same random values on both backends: `[rows, cols]` uniform in
/// `[lo, hi)`, drawn by the reference and uploaded to the tuned one.
fn pair<T: Real>(shape: Shape, lo: f64, hi: f64, seed: u64) -> (RefTensor<T>, CpuTensor<T>) {
    let r = Reference::<T>::new().random(shape, Dist::Uniform { lo, hi }, seed);
    let c = Cpu::<T>::new().upload(shape, r.data()).unwrap();
    (r, c)
}

/// The type's tolerance: a few hundred ulp relative, which covers sums
/// of up to 257 terms in another order and the fast `f32` functions.
fn tol<T: Real>() -> f64 {
    if T::NAME == "f32" {
        2e-5
    } else {
        1e-12
    }
}

/// `got` within `tol` of `want`, relative to `max(|want|, 1)`; NaN where
/// the reference has NaN.
fn close<T: Real>(what: &str, want: &RefTensor<T>, got: &CpuTensor<T>, tol: f64) {
    assert_eq!(want.shape(), got.shape(), "{what}: shapes");
    for (i, (w, g)) in want.data().iter().zip(got.data()).enumerate() {
        let (w, g) = (w.to_f64(), g.to_f64());
        if w.is_nan() {
            assert!(g.is_nan(), "{what} [{}] element {i}: {g}, reference NaN", T::NAME);
            continue;
        }
        if w.is_infinite() {
            assert_eq!(w, g, "{what} [{}] element {i}", T::NAME);
            continue;
        }
        let err = (w - g).abs() / w.abs().max(1.0);
        assert!(err <= tol, "{what} [{}] element {i}: {g} vs reference {w}", T::NAME);
    }
}

/// The same bits.
fn same<T: Real>(what: &str, want: &RefTensor<T>, got: &CpuTensor<T>) {
    assert_eq!(want.shape(), got.shape(), "{what}: shapes");
    let bits = |xs: &[T]| xs.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(want.data()), bits(got.data()), "{what} [{}]", T::NAME);
}

fn matmul<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for (i, &m) in SIZES.iter().enumerate() {
        for &k in &SIZES[i % 3..] {
            for &n in &SIZES[(i + 1) % 4..] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let a_shape = if ta { Shape::new(k, m) } else { Shape::new(m, k) };
                    let b_shape = if tb { Shape::new(n, k) } else { Shape::new(k, n) };
                    let (ar, ac) = pair::<T>(a_shape, -1.0, 1.0, 1);
                    let (br, bc) = pair::<T>(b_shape, -1.0, 1.0, 2);
                    let what = format!("matmul [{m}, {k}]·[{k}, {n}] ta={ta} tb={tb}");
                    let want = r.matmul(&ar, ta, &br, tb).unwrap();
                    close(&what, &want, &c.matmul(&ac, ta, &bc, tb).unwrap(), tol::<T>() * 4.0);
                }
            }
        }
    }
}

fn elementwise<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    // f64 runs the reference's `f` and `df` themselves; f32 the fast ones.
    let exact_maps = T::NAME == "f64";
    for rows in SIZES {
        for cols in [1, 7, 64, 65] {
            let shape = Shape::new(rows, cols);
            for op in UNARY {
                // Log and Sqrt on (0, 4), the rest across 0.
                let lo = if matches!(op, Unary::Log | Unary::Sqrt) { 0.01 } else { -4.0 };
                let (xr, xc) = pair::<T>(shape, lo, 4.0, 3);
                let (dyr, dyc) = pair::<T>(shape, -1.0, 1.0, 4);
                let what = format!("{op:?} of {shape}");
                let (yr, yc) = (r.unary(op, &xr), c.unary(op, &xc));
                let dxr = r.unary_backward(op, &xr, &yr, &dyr);
                // The tuned backward given the reference's y: only df differs.
                let yc_ref = c.upload(shape, yr.data()).unwrap();
                let dxc = c.unary_backward(op, &xc, &yc_ref, &dyc);
                if exact_maps {
                    same(&what, &yr, &yc);
                    same(&format!("{what}, backward"), &dxr, &dxc);
                } else {
                    close(&what, &yr, &yc, tol::<T>());
                    close(&format!("{what}, backward"), &dxr, &dxc, tol::<T>());
                }
            }
            // Every binary op against every broadcast of the right operand.
            let (ar, ac) = pair::<T>(shape, -2.0, 2.0, 5);
            for b_shape in [shape, Shape::new(1, cols), Shape::new(rows, 1), Shape::scalar()] {
                let (br, bc) = pair::<T>(b_shape, 0.5, 2.0, 6);
                for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
                    let what = format!("{op:?} of {shape} and {b_shape}");
                    same(&what, &r.binary(op, &ar, &br).unwrap(), &c.binary(op, &ac, &bc).unwrap());
                }
                let what = format!("broadcast {b_shape} to {shape}");
                same(&what, &r.broadcast(&br, shape).unwrap(), &c.broadcast(&bc, shape).unwrap());
            }
            let (br, bc) = pair::<T>(shape, -2.0, 2.0, 7);
            let what = format!("accumulate {shape}");
            same(
                &what,
                &r.accumulate(ar.clone(), &br).unwrap(),
                &c.accumulate(ac.clone(), &bc).unwrap(),
            );
            for axis in [None, Some(Axis::Rows), Some(Axis::Cols)] {
                let what = format!("sum {axis:?} of {shape}");
                close(&what, &r.sum(&ar, axis), &c.sum(&ac, axis), tol::<T>());
            }
            same(&format!("transpose {shape}"), &r.transpose(&ar), &c.transpose(&ac));
        }
    }
}

fn copies_and_rows<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for rows in SIZES {
        for cols in [1, 7, 65] {
            let shape = Shape::new(rows, cols);
            let (ar, ac) = pair::<T>(shape, -3.0, 3.0, 8);
            let (br, bc) = pair::<T>(Shape::new(rows, 2), -3.0, 3.0, 9);
            let (dr, dc) = pair::<T>(Shape::new(3, cols), -3.0, 3.0, 10);
            let what = format!("concat_cols {shape}");
            same(&what, &r.concat_cols(&[&ar, &br]).unwrap(), &c.concat_cols(&[&ac, &bc]).unwrap());
            let what = format!("concat_rows {shape}");
            same(&what, &r.concat_rows(&[&ar, &dr]).unwrap(), &c.concat_rows(&[&ac, &dc]).unwrap());
            let (start, len) = (cols / 2, cols - cols / 2);
            let what = format!("slice_cols {shape}");
            same(
                &what,
                &r.slice_cols(&ar, start, len).unwrap(),
                &c.slice_cols(&ac, start, len).unwrap(),
            );
            let (start, len) = (rows / 3, rows - rows / 3);
            let what = format!("slice_rows {shape}");
            same(
                &what,
                &r.slice_rows(&ar, start, len).unwrap(),
                &c.slice_rows(&ac, start, len).unwrap(),
            );
            // Indices with repeats, in any order.
            let idx: Vec<u32> = (0..rows as u32 + 3).map(|i| (i * 7 + 3) % rows as u32).collect();
            let idx = HostIndices::new(&idx);
            let what = format!("gather_rows {shape}");
            let (gr, gc) = (r.gather_rows(&ar, &idx).unwrap(), c.gather_rows(&ac, &idx).unwrap());
            same(&what, &gr, &gc);
            let what = format!("scatter_add_rows {shape}");
            same(
                &what,
                &r.scatter_add_rows(&gr, &idx, rows).unwrap(),
                &c.scatter_add_rows(&gc, &idx, rows).unwrap(),
            );
            let labels: Vec<u32> = (0..rows as u32).map(|i| (i * 5 + 1) % cols as u32).collect();
            let labels = HostIndices::new(&labels);
            let what = format!("pick_cols {shape}");
            let (pr, pc) = (r.pick_cols(&ar, &labels).unwrap(), c.pick_cols(&ac, &labels).unwrap());
            same(&what, &pr, &pc);
            let what = format!("scatter_cols {shape}");
            same(
                &what,
                &r.scatter_cols(&pr, &labels, cols).unwrap(),
                &c.scatter_cols(&pc, &labels, cols).unwrap(),
            );
            let what = format!("logsumexp_rows {shape}");
            close(&what, &r.logsumexp_rows(&ar), &c.logsumexp_rows(&ac), tol::<T>());
        }
    }
}

fn max_rows<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for rows in SIZES {
        for cols in SIZES {
            let shape = Shape::new(rows, cols);
            let (ar, _) = pair::<T>(shape, -3.0, 3.0, (rows * cols) as u64);
            // A NaN in row 0, a tie in the last row (its first maximum
            // copied to its end), then the same values on both.
            let mut x = ar.data().to_vec();
            x[cols / 2] = T::from_f64(f64::NAN);
            let last = &mut x[(rows - 1) * cols..];
            let first_max = last[rows::argmax(last).unwrap()];
            last[cols - 1] = first_max;
            let (xr, xc) = (r.upload(shape, &x).unwrap(), c.upload(shape, &x).unwrap());
            let (yr, yc) = (r.max_rows(&xr), c.max_rows(&xc));
            same(&format!("max_rows {shape}"), &yr, &yc);
            assert!(yr.data()[0].to_f64().is_nan(), "max_rows {shape}: the NaN row");
            let (dr, dc) = pair::<T>(Shape::new(rows, 1), -3.0, 3.0, 11);
            let what = format!("max_rows_backward {shape}");
            same(
                &what,
                &r.max_rows_backward(&xr, &dr).unwrap(),
                &c.max_rows_backward(&xc, &dc).unwrap(),
            );
        }
    }
    // No columns: -∞ and an empty gradient on both.
    let (xr, xc) =
        (r.upload(Shape::new(3, 0), &[]).unwrap(), c.upload(Shape::new(3, 0), &[]).unwrap());
    same("max_rows [3, 0]", &r.max_rows(&xr), &c.max_rows(&xc));
    assert_eq!(c.max_rows(&xc).data(), [T::from_f64(f64::NEG_INFINITY); 3]);
}

fn random_draws<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for n in SIZES {
        let shape = Shape::new(n, 3);
        for dist in [
            Dist::Uniform { lo: -2.0, hi: 3.0 },
            Dist::Bernoulli { p: 0.3 },
            Dist::Normal { mean: 4.0, std: 1.25 },
        ] {
            let (want, got) = (r.random(shape, dist, 11), c.random(shape, dist, 11));
            // f32 normal draws use the fast ln and cos: within 4e-6 of the f64 draw.
            match (dist, T::NAME) {
                (Dist::Normal { .. }, "f32") => close(&format!("{dist:?}"), &want, &got, 4e-6),
                _ => same(&format!("{dist:?}"), &want, &got),
            }
        }
        same("fill", &r.fill(shape, 0.25), &c.fill(shape, 0.25));
    }
}

fn optimizers<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for n in SIZES {
        let shape = Shape::new(n, 5);
        let (mut pr, mut pc) = pair::<T>(shape, -1.0, 1.0, 12);
        let (gr, gc) = pair::<T>(shape, -1.0, 1.0, 13);
        let (mut vr, mut vc) = pair::<T>(shape, -1.0, 1.0, 14);
        r.sgd_step(&mut pr, &gr, &mut vr, 0.1, 0.9).unwrap();
        c.sgd_step(&mut pc, &gc, &mut vc, 0.1, 0.9).unwrap();
        same("sgd_step parameter", &pr, &pc);
        same("sgd_step velocity", &vr, &vc);
        let (mut mr, mut mc) = (r.fill(shape, 0.0), c.fill(shape, 0.0));
        let (mut v2r, mut v2c) = (r.fill(shape, 0.0), c.fill(shape, 0.0));
        for t in 1..=3 {
            let hp = AdamStep { lr: 1e-2, beta1: 0.5, beta2: 0.999, eps: 1e-8, t };
            r.adam_step(&mut pr, &gr, &mut mr, &mut v2r, hp).unwrap();
            c.adam_step(&mut pc, &gc, &mut mc, &mut v2c, hp).unwrap();
        }
        close("adam_step parameter", &pr, &pc, tol::<T>());
        same("adam_step m", &mr, &mc);
        same("adam_step v", &v2r, &v2c);
        // The multi-tensor update: the same as one by one.
        let hp = AdamStep { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, t: 1 };
        let (mut qr, mut qc) = pair::<T>(shape, -1.0, 1.0, 15);
        let (mut m1r, mut m1c) = (r.fill(shape, 0.0), c.fill(shape, 0.0));
        let (mut v1r, mut v1c) = (r.fill(shape, 0.0), c.fill(shape, 0.0));
        let ref_one = AdamTensors { param: &mut qr, grad: &gr, m: &mut m1r, v: &mut v1r };
        r.adam_step_many([ref_one], hp).unwrap();
        let tuned_one = AdamTensors { param: &mut qc, grad: &gc, m: &mut m1c, v: &mut v1c };
        c.adam_step_many([tuned_one], hp).unwrap();
        close("adam_step_many parameter", &qr, &qc, tol::<T>());
    }
}

fn fused<T: Real>() {
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for batch in SIZES {
        for (fan_in, fan_out) in [(1, 1), (7, 65), (65, 7), (64, 1)] {
            let (xr, xc) = pair::<T>(Shape::new(batch, fan_in), -1.0, 1.0, 16);
            let (wr, wc) = pair::<T>(Shape::new(fan_in, fan_out), -1.0, 1.0, 17);
            let (br, bc) = pair::<T>(Shape::new(1, fan_out), -1.0, 1.0, 18);
            let (dyr, dyc) = pair::<T>(Shape::new(batch, fan_out), -1.0, 1.0, 19);
            for act in [None, Some(Unary::Tanh), Some(Unary::LeakyRelu(0.2)), Some(Unary::Sigmoid)]
            {
                for bias in [false, true] {
                    let what = format!(
                        "linear [{batch}, {fan_in}]·[{fan_in}, {fan_out}] {act:?} bias={bias}"
                    );
                    let (zr, yr) = r.linear(&xr, &wr, bias.then_some(&br), act).unwrap();
                    let (zc, yc) = c.linear(&xc, &wc, bias.then_some(&bc), act).unwrap();
                    close(&format!("{what}: z"), &zr, &zc, tol::<T>() * 4.0);
                    close(&format!("{what}: y"), &yr, &yc, tol::<T>() * 4.0);
                    let (dzr, dbr) = r.bias_act_backward(act, &zr, &yr, &dyr, bias).unwrap();
                    let (zc, yc) = (
                        c.upload(zr.shape(), zr.data()).unwrap(),
                        c.upload(yr.shape(), yr.data()).unwrap(),
                    );
                    let (dzc, dbc) = c.bias_act_backward(act, &zc, &yc, &dyc, bias).unwrap();
                    close(&format!("{what}: dz"), &dzr, &dzc, tol::<T>());
                    if let (Some(dbr), Some(dbc)) = (dbr, dbc) {
                        close(&format!("{what}: db"), &dbr, &dbc, tol::<T>());
                    }
                }
            }
        }
        let (xr, xc) = pair::<T>(Shape::new(batch, 1), -6.0, 6.0, 20);
        let (tr, tc) = pair::<T>(Shape::new(batch, 1), 0.0, 1.0, 21);
        let what = format!("bce_with_logits [{batch}, 1]");
        close(
            &what,
            &r.bce_with_logits(&xr, &tr).unwrap(),
            &c.bce_with_logits(&xc, &tc).unwrap(),
            tol::<T>(),
        );
        let (gr, gc) = (r.fill(Shape::scalar(), 0.75), c.fill(Shape::scalar(), 0.75));
        let (dr, dc) = (
            r.bce_with_logits_backward(&xr, &tr, &gr).unwrap(),
            c.bce_with_logits_backward(&xc, &tc, &gc).unwrap(),
        );
        close(&format!("{what}, backward"), &dr, &dc, tol::<T>());
    }
}

#[test]
fn matmul_matches_the_reference() {
    matmul::<f32>();
    matmul::<f64>();
}

#[test]
fn elementwise_ops_match_the_reference() {
    elementwise::<f32>();
    elementwise::<f64>();
}

#[test]
fn copies_and_row_ops_match_the_reference() {
    copies_and_rows::<f32>();
    copies_and_rows::<f64>();
}

#[test]
fn max_rows_matches_the_reference() {
    max_rows::<f32>();
    max_rows::<f64>();
}

#[test]
fn random_draws_match_the_reference() {
    random_draws::<f32>();
    random_draws::<f64>();
}

#[test]
fn optimizer_steps_match_the_reference() {
    optimizers::<f32>();
    optimizers::<f64>();
}

#[test]
fn fused_ops_match_the_reference() {
    fused::<f32>();
    fused::<f64>();
}

/// Tensors with no elements (`[3, 0]`, `[0, 3]`, `[0, 0]`) go through every
/// kind of op without a panic and give what the reference gives: empty
/// results, and sums over nothing that are 0 (`ln 0 = -∞` for log-sum-exp).
fn empty<T: Real>() {
    use minimax_autodiff::Tape;
    let (r, c) = (Reference::<T>::new(), Cpu::<T>::new());
    for shape in [Shape::new(3, 0), Shape::new(0, 3), Shape::new(0, 0)] {
        let (ar, ac) = (r.fill(shape, 1.0), c.fill(shape, 1.0));
        for op in UNARY {
            same(&format!("{op:?} of {shape}"), &r.unary(op, &ar), &c.unary(op, &ac));
        }
        let bs = [shape, Shape::new(1, shape.cols), Shape::new(shape.rows, 1), Shape::scalar()];
        for b_shape in bs {
            let (br, bc) = (r.fill(b_shape, 2.0), c.fill(b_shape, 2.0));
            for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
                let what = format!("{op:?} of {shape} and {b_shape}");
                same(&what, &r.binary(op, &ar, &br).unwrap(), &c.binary(op, &ac, &bc).unwrap());
            }
        }
        for axis in [None, Some(Axis::Rows), Some(Axis::Cols)] {
            same(&format!("sum {axis:?} of {shape}"), &r.sum(&ar, axis), &c.sum(&ac, axis));
        }
        same(&format!("transpose {shape}"), &r.transpose(&ar), &c.transpose(&ac));
        same(&format!("logsumexp_rows {shape}"), &r.logsumexp_rows(&ar), &c.logsumexp_rows(&ac));
        // softmax_rows through the tape: x - max - lse, broadcast over no columns.
        let tape = Tape::new(c);
        let y = tape.leaf(ac.clone()).softmax_rows().unwrap();
        assert_eq!(y.shape(), shape, "softmax_rows of {shape}");
    }
}

#[test]
fn empty_tensors_match_the_reference() {
    empty::<f32>();
    empty::<f64>();
}
