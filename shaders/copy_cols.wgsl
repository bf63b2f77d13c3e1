// copy_cols.wgsl: copies a block of columns from one row-major matrix into
// another:  dst[i, dst_start + j] = src[i, src_start + j]  for j < len.
//
// `concat_cols` is one dispatch per part (each writing its own columns of
// the same output); `slice_cols` is one dispatch with dst_start = 0.
// `concat_rows` and `slice_rows` use it too: a row-major block of whole
// rows is one "row" (rows = 1) of all its values.
//
// Bindings:
//   0  params  uniform
//   1  src     read        [rows, src_cols]
//   2  dst     read_write  [rows, dst_cols]

struct Params {
    rows: u32,
    len: u32,        // columns to copy
    src_cols: u32,
    src_start: u32,
    dst_cols: u32,
    dst_start: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // one invocation per copied element, as in fill.wgsl

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let idx = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if idx >= params.rows * params.len {
        return;
    }
    let i = idx / params.len;
    let j = idx % params.len;
    let src_index = i * params.src_cols + params.src_start + j;
    dst[i * params.dst_cols + params.dst_start + j] = src[src_index];
}
