// matmul_naive.wgsl: C = op(A) · op(B), one invocation per element of C.
//
// The reference GPU matmul: the CPU's triple loop with the two outer loops
// replaced by the grid. Every product reads a row of op(A) and a column of
// op(B) straight from global memory, 2·k loads for 2·k flops, which is why
// matmul_tiled.wgsl exists. Kept beside it so tests and benches compare the
// two (`MatmulKernel::Naive`).
//
// Each invocation loops over p in [k_begin, k_end): the host splits a long
// k over several dispatches, each continuing the sum that the one before
// left in C, so no invocation loops more than 1024 times. (llvmpipe, Mesa's
// software rasterizer behind lavapipe and wgpu's GL backend, silently stops
// a shader's loops after 65 535 iterations in all; see `matmul` in
// `crates/wgsl/src/backend.rs`.) The additions are the same, in the same
// order, as in one long loop.
//
// Shapes (row-major): op(A) is [m, k], op(B) is [k, n], C is [m, n].
// A is stored [m, k], or [k, m] when trans_a = 1 (then op(A) = Aᵀ, read in
// place); likewise B is stored [k, n], or [n, k] when trans_b = 1.
//
// Bindings:
//   0  params  uniform
//   1  a       read        A
//   2  b       read        B
//   3  c       read_write  C [m, n]

struct Params {
    m: u32,
    k: u32,
    n: u32,
    trans_a: u32,  // 1: A is stored transposed
    trans_b: u32,  // 1: B is stored transposed
    k_begin: u32,  // this dispatch's share of the sum over p: [k_begin, k_end)
    k_end: u32,    // (k_begin > 0: C holds the sum over [0, k_begin) to add to)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// 16 × 16 = 256 invocations per workgroup, each one element of C: x walks
// the columns (neighbouring invocations write neighbouring elements),
// y the rows. The grid is ceil(n / 16) × ceil(m / 16) workgroups.
const WORKGROUP_X: u32 = 16u;
const WORKGROUP_Y: u32 = 16u;

// Element (row, p) of op(A), wherever it is stored.
fn a_at(row: u32, p: u32) -> f32 {
    if params.trans_a == 1u {
        return a[p * params.m + row];
    }
    return a[row * params.k + p];
}

// Element (p, col) of op(B), wherever it is stored.
fn b_at(p: u32, col: u32) -> f32 {
    if params.trans_b == 1u {
        return b[col * params.k + p];
    }
    return b[p * params.n + col];
}

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let row = id.y;
    let col = id.x;
    // The grid is rounded up to whole workgroups: skip the overhang.
    if row >= params.m || col >= params.n {
        return;
    }
    var acc = 0.0;
    if params.k_begin > 0u {
        acc = c[row * params.n + col];
    }
    for (var p = params.k_begin; p < params.k_end; p++) {
        acc += a_at(row, p) * b_at(p, col);
    }
    c[row * params.n + col] = acc;
}
