// matmul_small.wgsl: C = op(A) · op(B) for the products a training step
// really has, short and narrow ones (a batch of 64 rows times a layer),
// optionally followed by a layer's bias and activation (the *epilogue*):
//
//     z = op(A) · op(B) + bias      y = f(z)
//
// Same contract as matmul_naive.wgsl and matmul_tiled.wgsl (read those
// first); correct for any m, k, n.
//
// Why another tiled kernel. matmul_tiled.wgsl gives each workgroup a
// 64 × 64 block of C, so [64, 784] · [784, 512] is 8 workgroups: a GPU
// with a hundred cores runs 8 of them and idles the rest. Here a workgroup
// owns a 32 × 32 block: the same product is 32 workgroups, a
// [64, 512] · [512, 784] one 50. Each keeps 256 invocations (16 × 16, each
// a 2 × 2 block of C in registers), so that the few workgroups there are
// still give a core many warps to switch between while loads are in
// flight. (With 64 invocations of 4 × 4 each, lavapipe ran it 3 to 8 times
// slower than the tiled kernel: it pays per workgroup.)
//
// Workgroup memory without bank conflicts. Workgroup memory is split into
// 32 banks of 4-byte words; 32 invocations touching 32 different words of
// one bank take 32 turns. The tiles are stored p-major with a row of
// STRIDE = 32 + 2 words: when an operand is read along k (A stored [m, k],
// B stored [n, k]), 32 neighbouring invocations write 16 values of p for
// 2 rows, words p·34 + r, which fall in banks 2p + r: all 32 different. (With
// rows of exactly 32 words they would fall in 2 banks: 16 turns.)
//
// The epilogue: `bias` = 1 adds bias[col] (binding 4) to each row; `act` is
// an ACT_* code of activation.wgsl (appended to this file by the host):
// for ACT_NONE only z is written, else y = f(z) too. A plain product sets
// neither and binds placeholders to 4 and 5.
//
// Bindings:
//   0  params  uniform
//   1  a       read        A
//   2  b       read        B
//   3  z       read_write  z (= C) [m, n]
//   4  bias    read        [1, n] when params.bias = 1
//   5  y       read_write  f(z) [m, n] when params.act != ACT_NONE

struct Params {
    m: u32,
    k: u32,
    n: u32,
    trans_a: u32,  // 1: A is stored transposed, [k, m]
    trans_b: u32,  // 1: B is stored transposed, [n, k]
    bias: u32,     // 1: add bias[col]
    act: u32,      // ACT_* (activation.wgsl)
    act_a: f32,    // LEAKY_RELU's slope, ELU's α
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// The grid is ceil(n / TILE) × ceil(m / TILE) workgroups of
// THREADS × THREADS = 256 invocations.
const TILE: u32 = 32u;
const TILE_K: u32 = 16u;
const THREADS: u32 = 16u;
const BLOCK: u32 = 2u; // TILE / THREADS rows (and columns) of C per invocation
const LANES: u32 = 256u; // THREADS · THREADS
const STRIDE: u32 = 34u; // TILE + 2: a tile row, padded (see above)

// a_tile[p · STRIDE + r] = op(A)[row0 + r, k0 + p];
// b_tile[p · STRIDE + c] = op(B)[k0 + p, col0 + c].
var<workgroup> a_tile: array<f32, TILE_K * STRIDE>;
var<workgroup> b_tile: array<f32, TILE_K * STRIDE>;

// Element (row, p) of op(A), or 0 outside it (the padding of edge tiles).
fn load_a(row: u32, p: u32) -> f32 {
    if row >= params.m || p >= params.k {
        return 0.0;
    }
    if params.trans_a == 1u {
        return a[p * params.m + row];
    }
    return a[row * params.k + p];
}

// Element (p, col) of op(B), or 0 outside it.
fn load_b(p: u32, col: u32) -> f32 {
    if p >= params.k || col >= params.n {
        return 0.0;
    }
    if params.trans_b == 1u {
        return b[col * params.k + p];
    }
    return b[p * params.n + col];
}

@compute @workgroup_size(THREADS, THREADS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row0 = group.y * TILE; // first row of this workgroup's block of C
    let col0 = group.x * TILE; // first column
    var acc: array<array<f32, BLOCK>, BLOCK>; // zero-initialised

    let steps = (params.k + TILE_K - 1u) / TILE_K; // uniform: barriers below are safe
    for (var step = 0u; step < steps; step++) {
        let k0 = step * TILE_K;
        // 1. Stage 32 × 16 of op(A) and 16 × 32 of op(B), 2 + 2 elements
        //    per invocation, neighbouring invocations reading neighbouring
        //    addresses of the matrix as it is stored.
        for (var l = 0u; l < TILE * TILE_K / LANES; l++) {
            let e = l * LANES + lane;
            var r = e / TILE_K; // A stored [m, k]: walk along p
            var p = e % TILE_K;
            if params.trans_a == 1u { // A stored [k, m]: walk along r
                r = e % TILE;
                p = e / TILE;
            }
            a_tile[p * STRIDE + r] = load_a(row0 + r, k0 + p);
        }
        for (var l = 0u; l < TILE_K * TILE / LANES; l++) {
            let e = l * LANES + lane;
            var p = e / TILE; // B stored [k, n]: walk along the column
            var c = e % TILE;
            if params.trans_b == 1u { // B stored [n, k]: walk along p
                p = e % TILE_K;
                c = e / TILE_K;
            }
            b_tile[p * STRIDE + c] = load_b(k0 + p, col0 + c);
        }
        workgroupBarrier();

        // 2. Multiply: rows lid.y + 16i and columns lid.x + 16j of the block.
        for (var p = 0u; p < TILE_K; p++) {
            var a_reg: array<f32, BLOCK>;
            var b_reg: array<f32, BLOCK>;
            for (var i = 0u; i < BLOCK; i++) {
                a_reg[i] = a_tile[p * STRIDE + lid.y + i * THREADS];
                b_reg[i] = b_tile[p * STRIDE + lid.x + i * THREADS];
            }
            for (var i = 0u; i < BLOCK; i++) {
                for (var j = 0u; j < BLOCK; j++) {
                    acc[i][j] = fma(a_reg[i], b_reg[j], acc[i][j]);
                }
            }
        }
        // 3. Everyone is done reading these tiles before the next stage.
        workgroupBarrier();
    }

    // The epilogue, skipping what falls outside C.
    for (var i = 0u; i < BLOCK; i++) {
        for (var j = 0u; j < BLOCK; j++) {
            let row = row0 + lid.y + i * THREADS;
            let col = col0 + lid.x + j * THREADS;
            if row < params.m && col < params.n {
                var v = acc[i][j];
                if params.bias == 1u {
                    v += bias[col];
                }
                z[row * params.n + col] = v;
                if params.act != ACT_NONE {
                    y[row * params.n + col] = act_f(params.act, params.act_a, v);
                }
            }
        }
    }
}
