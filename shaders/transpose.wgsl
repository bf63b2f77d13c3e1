// transpose.wgsl: out = xᵀ, [rows, cols] -> [cols, rows].
//
// One invocation per *output* element, so the writes are contiguous and the
// reads are strided by `cols`. (A tiled transpose through workgroup memory
// would make both contiguous; the matmul kernels read transposed operands in
// place, so this kernel is off the hot path and stays simple.)
//
// Bindings:
//   0  params  uniform
//   1  x       read        [rows, cols]
//   2  out     read_write  [cols, rows]

struct Params {
    rows: u32, // of x
    cols: u32, // of x
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 256u; // as in fill.wgsl

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let idx = (group.y * groups.x + group.x) * WORKGROUP_SIZE + lane;
    if idx >= params.rows * params.cols {
        return;
    }
    // out[j, i] = x[i, j], where out is [cols, rows]: idx = j · rows + i.
    let j = idx / params.rows;
    let i = idx % params.rows;
    out[idx] = x[i * params.cols + j];
}
