// bias_act.wgsl: a layer's backward through its activation and its bias,
// in one pass over the gradient (what unary.wgsl's `backward` and then
// sum.wgsl's `sum_rows` do in two):
//
//     dz = dy · f'(z)       z, y = f(z), dy, dz: [rows, cols]
//     db = Σ_rows dz        [1, cols]   (when params.bias = 1)
//
// f is an ACT_* code of activation.wgsl (appended to this file by the
// host).
//
// A workgroup owns 32 columns, with 8 invocations per column: invocation
// (c, r) walks rows r, r + 8, r + 16, … of column col0 + c, writes dz and
// adds it up; then the 8 partial sums of each column are added in a fixed
// order, so db is the same every run. The 32 invocations of a row read and
// write 32 neighbouring elements.
//
// Bindings:
//   0  params  uniform
//   1  z       read        [rows, cols]
//   2  y       read        [rows, cols]
//   3  dy      read        [rows, cols]
//   4  dz      read_write  [rows, cols]
//   5  db      read_write  [1, cols] when params.bias = 1

struct Params {
    rows: u32,
    cols: u32,
    bias: u32,   // 1: write db
    act: u32,    // ACT_* (activation.wgsl)
    act_a: f32,  // LEAKY_RELU's slope, ELU's α
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;

const COLS: u32 = 32u; // columns per workgroup
const ROW_LANES: u32 = 8u; // invocations per column
const WORKGROUP_SIZE: u32 = 256u; // COLS · ROW_LANES, as in fill.wgsl

var<workgroup> partial: array<f32, WORKGROUP_SIZE>; // partial[r · COLS + c]

@compute @workgroup_size(COLS, ROW_LANES)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
) {
    let col = (group.y * groups.x + group.x) * COLS + lid.x;
    var s = 0.0;
    if col < params.cols {
        for (var row = lid.y; row < params.rows; row += ROW_LANES) {
            let i = row * params.cols + col;
            let d = dy[i] * act_df(params.act, params.act_a, z[i], y[i]);
            dz[i] = d;
            s += d;
        }
    }
    partial[lid.y * COLS + lid.x] = s;
    workgroupBarrier(); // outside the `if`: reached by every invocation
    if params.bias == 1u && lid.y == 0u && col < params.cols {
        var total = 0.0;
        for (var r = 0u; r < ROW_LANES; r++) {
            total += partial[r * COLS + lid.x];
        }
        db[col] = total;
    }
}
