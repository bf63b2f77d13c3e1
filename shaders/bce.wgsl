// bce.wgsl: binary cross-entropy of logits x against targets t, averaged
// over the n elements of x, and its gradient (`Var::bce_logits`):
//
//   loss  out[0] = (1/n) Σ ℓᵢ,   ℓ = softplus(x) - t·x
//   grad  dx[i] = g[0] · (σ(xᵢ) - tᵢ) / n      (softplus' = σ)
//
// with t broadcast by the rule of binary.wgsl (same shape, row, column or
// scalar). One kernel each where the composite takes five (softplus, mul,
// sub, sum, scale) and four to six.
//
// ℓ is computed as max(x, 0) - t·x + ln(1 + e^-|x|): the first two terms
// cancel exactly where the logit is confidently right (x = 40, t = 1:
// 40 - 40 = 0), leaving the small third term intact (4.2e-18), where
// softplus(x) - t·x would round it away.
//
// `loss` is one workgroup: invocation `lane` adds up elements lane,
// lane + 256, …, then the workgroup adds its 256 sums as a tree (as
// sum.wgsl). The host uses it for n ≤ 65 536 (a loss on logits is [batch, 1]).
//
// Bindings (`loss` uses 1..3, `grad` 1..4):
//   0  params  uniform
//   1  x       read        [rows, cols]
//   2  t       read        [rows, cols], [1, cols], [rows, 1] or [1, 1]
//   3  out     read_write  loss: [1, 1];  grad: dx [rows, cols]
//   4  g       read        grad: [1, 1], the loss's gradient

struct Params {
    rows: u32,
    cols: u32,
    broadcast: u32,  // SAME, ROW, COL, SCALAR: how t is indexed
    inv_n: f32,      // 1 / (rows · cols)
}

// SAME, ROW, COL and SCALAR: the host appends their declarations,
// generated from the table in crates/wgsl/src/codes.rs.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // as in fill.wgsl

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// The target of element idx (binary.wgsl's b_index).
fn target_of(idx: u32) -> f32 {
    switch params.broadcast {
        case ROW: { return t[idx % params.cols]; }
        case COL: { return t[idx / params.cols]; }
        case SCALAR: { return t[0]; }
        default: { return t[idx]; } // SAME
    }
}

// ln(1 + u) for 0 ≤ u ≤ 1. For small u, 1 + u rounds and loses u's low
// bits, so a Taylor series (error below u⁷/7, 2e-9 relative at u = 0.05)
// is used there; above, the rounding costs at most 1.2e-6 relative.
fn ln_1p(u: f32) -> f32 {
    if u < 0.05 {
        return u * (1.0 - u * (0.5 - u * (1.0 / 3.0 - u * (0.25 - u * (0.2 - u / 6.0)))));
    }
    return log(1.0 + u);
}

// σ(v) without overflow, as in unary.wgsl.
fn sigmoid(v: f32) -> f32 {
    if v >= 0.0 {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn loss(@builtin(local_invocation_index) lane: u32) {
    let n = params.rows * params.cols;
    var s = 0.0;
    for (var i = lane; i < n; i += WORKGROUP_SIZE) {
        let v = x[i];
        s += max(v, 0.0) - target_of(i) * v + ln_1p(exp(-abs(v)));
    }
    partial[lane] = s;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if lane < half {
            partial[lane] += partial[lane + half];
        }
        workgroupBarrier(); // outside the `if`: reached by every invocation
    }
    if lane == 0u {
        out[0] = partial[0] * params.inv_n;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn grad(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if i >= params.rows * params.cols {
        return;
    }
    out[i] = g[0] * params.inv_n * (sigmoid(x[i]) - target_of(i));
}
