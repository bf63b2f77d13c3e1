// sum.wgsl: sums over everything, over the rows, or over the columns, each
// a parallel tree reduction in workgroup memory.
//
//   sum_all   x[n]          -> out[G]: one partial sum per workgroup, for a
//             1-D grid of G ≤ WORKGROUP_SIZE workgroups. The host runs it
//             twice for a full sum: n -> G partials -> 1.
//   sum_rows  x[rows, cols] -> out[parts, cols]: collapses the rows (axis
//             0); one workgroup per column and part. With one part (the
//             usual case) that is the sum, [1, cols].
//   sum_cols  x[rows, cols] -> out[rows, parts]: collapses the columns (axis
//             1); one workgroup per row and part; [rows, 1] with one part.
//
// Every invocation first adds up a strided share of its workgroup's
// numbers (elements lane, lane + 256, lane + 512, …), then the workgroup
// adds up its 256 sums as a tree. That loop's length matters beyond speed:
// llvmpipe (Mesa's software rasterizer, behind lavapipe and wgpu's GL
// backend) silently stops a shader's loops after 65 535 iterations in all,
// after which every later loop, the tree's too, runs once at most. So no
// invocation may loop much more than a few thousand times:
//
// - sum_all: a grid of G ≤ 256 workgroups strides over x, n / 65 536
//   iterations at most, 16 384 for the largest buffer (4 GiB).
// - sum_rows / sum_cols: the grid's third dimension cuts a long column
//   (row) into `parts` (= groups.z) stretches, each one workgroup's, and
//   each workgroup writes its partial sum; the host picks `parts` so that a
//   stretch is at most 256 · 4096 numbers, and sums the partials with a
//   second dispatch.

// Bindings (all three entry points):
//   0  params  uniform
//   1  x       read        see above
//   2  out     read_write  see above

struct Params {
    n: u32,     // sum_all: number of elements of x
    rows: u32,  // sum_rows, sum_cols
    cols: u32,  // sum_rows, sum_cols
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// 256 invocations per workgroup. For sum_all it is also the most partial
// sums the first pass may produce, so that the second pass is one workgroup
// with one invocation per partial.
const WORKGROUP_SIZE: u32 = 256u;

// One slot per invocation, for the tree.
var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// The sum of `s` over the workgroup's invocations, returned to all of them.
// Each round, the first half of the active invocations adds in the second
// half's values: 256 -> 128 -> … -> 1 in log2(256) = 8 rounds. Every
// invocation of the workgroup must call it (it contains barriers).
fn workgroup_sum(lane: u32, s: f32) -> f32 {
    partial[lane] = s;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half = half / 2u) {
        if lane < half {
            partial[lane] += partial[lane + half];
        }
        workgroupBarrier(); // outside the `if`: reached by every invocation
    }
    return partial[0];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_all(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    // The whole grid strides over x, so at each step neighbouring
    // invocations read neighbouring elements.
    let stride = groups.x * WORKGROUP_SIZE;
    var s = 0.0;
    for (var i = group.x * WORKGROUP_SIZE + lane; i < params.n; i += stride) {
        s += x[i];
    }
    let total = workgroup_sum(lane, s);
    if lane == 0u {
        out[group.x] = total;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let j = group.y * groups.x + group.x; // this workgroup's column
    if j >= params.cols {
        return; // the whole workgroup leaves: the barriers stay uniform
    }
    // This workgroup's stretch of the column: part group.z of groups.z.
    let per_part = (params.rows + groups.z - 1u) / groups.z;
    let first = group.z * per_part;
    let end = min(first + per_part, params.rows);
    var s = 0.0;
    for (var i = first + lane; i < end; i += WORKGROUP_SIZE) {
        s += x[i * params.cols + j];
    }
    let total = workgroup_sum(lane, s);
    if lane == 0u {
        out[group.z * params.cols + j] = total; // [parts, cols]
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_cols(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = group.y * groups.x + group.x; // this workgroup's row
    if i >= params.rows {
        return; // the whole workgroup leaves: the barriers stay uniform
    }
    // This workgroup's stretch of the row: part group.z of groups.z.
    let per_part = (params.cols + groups.z - 1u) / groups.z;
    let first = group.z * per_part;
    let end = min(first + per_part, params.cols);
    var s = 0.0;
    for (var j = first + lane; j < end; j += WORKGROUP_SIZE) {
        s += x[i * params.cols + j];
    }
    let total = workgroup_sum(lane, s);
    if lane == 0u {
        out[i * groups.z + group.z] = total; // [rows, parts]
    }
}
