// logsumexp.wgsl: the log-sum-exp of each row, computed stably,
//
//   out[i] = ln Σ_j e^(x[i, j]) = m + ln Σ_j e^(x[i, j] - m),   m = max_j x[i, j]
//
// so every exponent is ≤ 0 (no overflow for logits of +1000) and the sum is
// ≥ 1 (no ln 0 = -∞ for logits of -1000). Its derivative, the softmax
// e^(x - out), is composed on the host from the binary and unary kernels.
//
// One workgroup per row, as sum_cols in sum.wgsl: each invocation takes a
// strided share of the row (columns lane, lane + 256, …), then the
// workgroup combines the 256 partial results as a tree, twice: first the
// maximum, then the sum. No invocation loops more than cols / 256 + 8
// times (llvmpipe stops a shader's loops after 65 535 iterations).
//
// Inputs must be finite: WGSL lets an implementation assume no ±∞ or NaN
// (the CPU backend handles them; see `cpu/rows.rs`). A row of no columns
// never gets here: the host fills it with -∞ = ln 0.
//
// Bindings:
//   0  params  uniform
//   1  x       read        [rows, cols]
//   2  out     read_write  [rows, 1]

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u;

// The most negative finite f32: the maximum of nothing, for lanes past the
// end of a short row.
const LOWEST: f32 = -0x1.fffffep+127f; // -f32::MAX, written exactly (see kernels.rs)

// One slot per invocation, for the trees.
var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// The maximum of `v` over the workgroup, returned to every invocation: a
// tree of log2(256) = 8 rounds, as `workgroup_sum` in sum.wgsl. Every
// invocation of the workgroup must call it (it contains barriers).
fn workgroup_max(lane: u32, v: f32) -> f32 {
    partial[lane] = v;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if lane < half {
            partial[lane] = max(partial[lane], partial[lane + half]);
        }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier(); // everyone has read it before `partial` is reused
    return result;
}

// The sum of `v` over the workgroup, returned to every invocation.
fn workgroup_sum(lane: u32, v: f32) -> f32 {
    partial[lane] = v;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if lane < half {
            partial[lane] += partial[lane + half];
        }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn logsumexp_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = group.y * groups.x + group.x; // this workgroup's row
    if i >= params.rows {
        return; // the whole workgroup leaves: the barriers stay uniform
    }
    let row = i * params.cols;
    var m = LOWEST;
    for (var j = lane; j < params.cols; j += WORKGROUP_SIZE) {
        m = max(m, x[row + j]);
    }
    let row_max = workgroup_max(lane, m);
    var s = 0.0;
    for (var j = lane; j < params.cols; j += WORKGROUP_SIZE) {
        s += exp(x[row + j] - row_max);
    }
    let total = workgroup_sum(lane, s); // ≥ 1: the maximum's term is e^0
    if lane == 0u {
        out[i] = row_max + log(total);
    }
}
