// matmul_large.wgsl: C = op(A) · op(B) for large products, with the same
// optional epilogue as matmul_small.wgsl (z = C + bias, y = f(z)). Read
// matmul_tiled.wgsl and matmul_small.wgsl first: this is the same
// algorithm, with the three things a real GPU needs to approach its peak.
//
// 1. More work per invocation. A workgroup owns a 128 × 128 block of C;
//    each of its 16 × 16 = 256 invocations keeps an 8 × 8 block in
//    registers (64 accumulators). Per step of k it reads 8 + 8 values from
//    workgroup memory for 64 fused multiply-adds (matmul_tiled.wgsl: 8 for
//    16).
// 2. Vectorised memory access. Every load and store of global memory is a
//    vec4 (16 bytes), and so are the reads of workgroup memory. This needs
//    m, k and n to be multiples of 4 (the host checks, and uses
//    matmul_small.wgsl otherwise); rows and columns past the edge of C are
//    still handled, a whole vec4 at a time.
// 3. No bank conflicts. The tiles are stored p-major with rows of
//    128 + 4 words. When an operand is read along k (A stored [m, k], B
//    stored [n, k]), invocation t loads the vec4 (row t/2, p = 4·(t%2) ..)
//    and writes its four words to rows p..p+3 of the tile; for one word,
//    32 neighbouring invocations write 16 rows r at p and p + 4, words
//    p·132 + r and (p + 4)·132 + r, in banks (4p + r) and (4p + 16 + r)
//    mod 32: all 32 different. (Rows of 128 words: both in the same 16
//    banks, 2 turns each; the old 64-wide tile with 16-deep k: 16 turns.)
//    An invocation's 8 rows are two runs of 4 (4·ty .. and 64 + 4·ty ..),
//    its 8 columns likewise, so the 16 invocations of a row read 16
//    neighbouring vec4s of a tile row, and write 16 neighbouring vec4s of C.
//
// Each invocation runs ceil(k / 8) steps.
//
// Bindings (as matmul_small.wgsl, but as arrays of vec4):
//   0  params  uniform
//   1  a       read        A, as vec4s
//   2  b       read        B, as vec4s
//   3  z       read_write  z (= C) [m, n], as vec4s
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
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> z: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y: array<vec4<f32>>;

// The grid is ceil(n / TILE) × ceil(m / TILE) workgroups of
// THREADS × THREADS = 256 invocations.
const TILE: u32 = 128u;
const TILE_K: u32 = 8u;
const THREADS: u32 = 16u;
const HALF: u32 = 16u; // vec4s from an invocation's first run of 4 to its second (64 floats)
const STRIDE: u32 = 33u; // vec4s per tile row: (128 + 4) / 4

// a_tile[p · STRIDE + r / 4][r % 4] = op(A)[row0 + r, k0 + p];
// b_tile[p · STRIDE + c / 4][c % 4] = op(B)[k0 + p, col0 + c].
var<workgroup> a_tile: array<vec4<f32>, TILE_K * STRIDE>;
var<workgroup> b_tile: array<vec4<f32>, TILE_K * STRIDE>;

@compute @workgroup_size(THREADS, THREADS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let row0 = group.y * TILE; // first row of this workgroup's block of C
    let col0 = group.x * TILE; // first column
    let m = params.m;
    let k = params.k;
    let n = params.n;
    // Row lengths in vec4s of A, B and C as stored.
    let a_row4 = select(k, m, params.trans_a == 1u) / 4u;
    let b_row4 = select(n, k, params.trans_b == 1u) / 4u;
    let n4 = n / 4u;
    // acc[2i + h]: row i of the invocation's block (i < 4: 4·ty + i; else
    // 64 + 4·ty + i - 4), its columns 4·tx .. (h = 0) or 64 + 4·tx .. (h = 1).
    var acc: array<vec4<f32>, 16>; // zero-initialised

    let steps = (k + TILE_K - 1u) / TILE_K; // uniform: barriers below are safe
    for (var step = 0u; step < steps; step++) {
        let k0 = step * TILE_K;
        // 1. Stage 128 × 8 of op(A) and 8 × 128 of op(B): one vec4 each.
        if params.trans_a == 0u {
            // A stored [m, k]: the vec4 is 4 values of p in row t / 2.
            let r = t / 2u;
            let q = t % 2u;
            var v = vec4<f32>();
            if row0 + r < m && k0 + 4u * q < k {
                v = a[(row0 + r) * a_row4 + k0 / 4u + q];
            }
            for (var i = 0u; i < 4u; i++) {
                a_tile[(4u * q + i) * STRIDE + r / 4u][r % 4u] = v[i];
            }
        } else {
            // A stored [k, m]: the vec4 is 4 rows at p = t / 32.
            let p = t / 32u;
            let c = t % 32u;
            var v = vec4<f32>();
            if k0 + p < k && row0 + 4u * c < m {
                v = a[(k0 + p) * a_row4 + row0 / 4u + c];
            }
            a_tile[p * STRIDE + c] = v;
        }
        if params.trans_b == 0u {
            // B stored [k, n]: the vec4 is 4 columns at p = t / 32.
            let p = t / 32u;
            let c = t % 32u;
            var v = vec4<f32>();
            if k0 + p < k && col0 + 4u * c < n {
                v = b[(k0 + p) * b_row4 + col0 / 4u + c];
            }
            b_tile[p * STRIDE + c] = v;
        } else {
            // B stored [n, k]: the vec4 is 4 values of p in column t / 2.
            let c = t / 2u;
            let q = t % 2u;
            var v = vec4<f32>();
            if col0 + c < n && k0 + 4u * q < k {
                v = b[(col0 + c) * b_row4 + k0 / 4u + q];
            }
            for (var i = 0u; i < 4u; i++) {
                b_tile[(4u * q + i) * STRIDE + c / 4u][c % 4u] = v[i];
            }
        }
        workgroupBarrier();

        // 2. Multiply: 8 rows × 8 columns, 64 fused multiply-adds per p.
        for (var p = 0u; p < TILE_K; p++) {
            let a0 = a_tile[p * STRIDE + lid.y];
            let a1 = a_tile[p * STRIDE + HALF + lid.y];
            let b0 = b_tile[p * STRIDE + lid.x];
            let b1 = b_tile[p * STRIDE + HALF + lid.x];
            for (var i = 0u; i < 4u; i++) {
                acc[2u * i] = fma(vec4<f32>(a0[i]), b0, acc[2u * i]);
                acc[2u * i + 1u] = fma(vec4<f32>(a0[i]), b1, acc[2u * i + 1u]);
                acc[2u * i + 8u] = fma(vec4<f32>(a1[i]), b0, acc[2u * i + 8u]);
                acc[2u * i + 9u] = fma(vec4<f32>(a1[i]), b1, acc[2u * i + 9u]);
            }
        }
        // 3. Everyone is done reading these tiles before the next stage.
        workgroupBarrier();
    }

    // The epilogue, a vec4 at a time, skipping what falls outside C.
    for (var i = 0u; i < 8u; i++) {
        let row = row0 + 4u * lid.y + select(i, 60u + i, i >= 4u); // 64 + 4·ty + (i - 4)
        for (var h = 0u; h < 2u; h++) {
            let col4 = col0 / 4u + lid.x + h * HALF; // in vec4s
            if row < m && 4u * col4 < n {
                var v = acc[2u * i + h];
                if params.bias == 1u {
                    v += bias[col4];
                }
                z[row * n4 + col4] = v;
                if params.act != ACT_NONE {
                    let f = vec4<f32>(
                        act_f(params.act, params.act_a, v.x),
                        act_f(params.act, params.act_a, v.y),
                        act_f(params.act, params.act_a, v.z),
                        act_f(params.act, params.act_a, v.w),
                    );
                    y[row * n4 + col4] = f;
                }
            }
        }
    }
}
