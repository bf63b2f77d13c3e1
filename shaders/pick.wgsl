// pick.wgsl: one element per row, picked by a label, and the adjoint,
// which puts it back into a row of zeros (a one-hot row scaled by dy).
//
//   pick_cols     out[i] = x[i, labels[i]]                  x [rows, cols] -> out [rows, 1]
//   scatter_cols  dx[i, j] = dy[i] if j = labels[i], else 0  dy [rows, 1]  -> dx [rows, cols]
//
// pick_cols runs one invocation per row, scatter_cols one per element of
// dx (so every element is written, zeros included). The labels were
// checked on the host to be below `cols`.
//
// Bindings (both entry points):
//   0  params  uniform
//   1  x       read        pick_cols: x [rows, cols];  scatter_cols: dy [rows, 1]
//   2  labels  read        [rows] u32 (a `WgpuIndices`, whose first `rows` words are the labels)
//   3  out     read_write  pick_cols: out [rows, 1];   scatter_cols: dx [rows, cols]

struct Params {
    rows: u32,
    cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // one invocation per row or element, as in fill.wgsl

@compute @workgroup_size(WORKGROUP_SIZE)
fn pick_cols(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if i >= params.rows {
        return;
    }
    out[i] = x[i * params.cols + labels[i]];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scatter_cols(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let e = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if e >= params.rows * params.cols {
        return;
    }
    let i = e / params.cols;
    let j = e % params.cols;
    out[e] = select(0.0, x[i], j == labels[i]); // x is dy [rows, 1]
}
