// matmul_tiled.wgsl: C = op(A) · op(B), tiled in workgroup memory with
// register blocking. Same contract as matmul_naive.wgsl (read that first):
// op(A) is [m, k], op(B) is [k, n], C is [m, n], and the trans_a / trans_b
// flags say whether A or B is stored transposed (read in place, never
// copied). Correct for any m, k, n: tiles are padded with zeros.
//
// How it works. Each workgroup owns a TILE_M × TILE_N = 64 × 64 block of C
// and walks k in steps of TILE_K = 16:
//
//   1. stage: its 256 invocations copy a 64 × 16 tile of op(A) and a
//      16 × 64 tile of op(B) from global into workgroup memory (4 + 4
//      elements each), then wait at a barrier;
//   2. multiply: each invocation keeps a BLOCK_M × BLOCK_N = 4 × 4 block of
//      C in registers; for each of the 16 p's it loads 4 values of A's
//      column p and 4 of B's row p into registers and does 16 fused
//      multiply-adds: 8 workgroup-memory loads for 16 FMAs, where the naive
//      kernel does 2 global loads per FMA;
//   3. wait at a barrier so no invocation overwrites a tile still being read.
//
// A dispatch covers p in [k_begin, k_end), at most 1024 of them, in
// ceil((k_end - k_begin) / 16) steps: the host splits a longer k over
// several dispatches, each starting from what the one before left in C (see
// matmul_naive.wgsl on llvmpipe's loop limit). Tiles are zero-padded past
// k_end, so a split continues exactly the same sum.
//
// An invocation's 4 × 4 block is strided: rows lid.y + 16·i, columns
// lid.x + 16·j, so neighbouring invocations always touch neighbouring
// addresses (in workgroup memory, and when writing C).
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
    trans_a: u32,  // 1: A is stored transposed, [k, m]
    trans_b: u32,  // 1: B is stored transposed, [n, k]
    k_begin: u32,  // this dispatch's share of the sum over p: [k_begin, k_end)
    k_end: u32,    // (k_begin > 0: C holds the sum over [0, k_begin) to add to)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// The grid is ceil(n / TILE_N) × ceil(m / TILE_M) workgroups of
// THREADS_X × THREADS_Y = 16 × 16 = 256 invocations.
const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;
const THREADS_X: u32 = 16u;
const THREADS_Y: u32 = 16u;
const THREADS: u32 = THREADS_X * THREADS_Y;
const BLOCK_M: u32 = TILE_M / THREADS_Y; // 4 rows of C per invocation
const BLOCK_N: u32 = TILE_N / THREADS_X; // 4 columns of C per invocation

// The staged tiles, both stored p-major: a_tile[p][r] = op(A)[row0 + r, k0 + p],
// b_tile[p][c] = op(B)[k0 + p, col0 + c]. 4 KiB each.
var<workgroup> a_tile: array<f32, TILE_K * TILE_M>;
var<workgroup> b_tile: array<f32, TILE_K * TILE_N>;

// Element (row, p) of op(A), or 0 outside it and past this dispatch's
// share of k (the padding of edge tiles).
fn load_a(row: u32, p: u32) -> f32 {
    if row >= params.m || p >= params.k_end {
        return 0.0;
    }
    if params.trans_a == 1u {
        return a[p * params.m + row];
    }
    return a[row * params.k + p];
}

// Element (p, col) of op(B), or 0 outside it and past this dispatch's share.
fn load_b(p: u32, col: u32) -> f32 {
    if p >= params.k_end || col >= params.n {
        return 0.0;
    }
    if params.trans_b == 1u {
        return b[col * params.k + p];
    }
    return b[p * params.n + col];
}

@compute @workgroup_size(THREADS_X, THREADS_Y)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row0 = group.y * TILE_M; // first row of this workgroup's block of C
    let col0 = group.x * TILE_N; // first column
    var acc: array<array<f32, BLOCK_N>, BLOCK_M>; // zero-initialised
    if params.k_begin > 0u { // continue the sum an earlier dispatch left in C
        for (var i = 0u; i < BLOCK_M; i++) {
            for (var j = 0u; j < BLOCK_N; j++) {
                let row = row0 + lid.y + i * THREADS_Y;
                let col = col0 + lid.x + j * THREADS_X;
                if row < params.m && col < params.n {
                    acc[i][j] = c[row * params.n + col];
                }
            }
        }
    }

    // Uniform: the barriers below are safe.
    let steps = (params.k_end - params.k_begin + TILE_K - 1u) / TILE_K;
    for (var step = 0u; step < steps; step++) {
        let k0 = params.k_begin + step * TILE_K;

        // 1. Stage. Element e of a tile is (r, p); which of r and p varies
        //    fastest with e is chosen so that neighbouring invocations read
        //    neighbouring addresses of the matrix as it is stored.
        for (var l = 0u; l < TILE_M * TILE_K / THREADS; l++) {
            let e = l * THREADS + lane;
            var r = e / TILE_K; // A stored [m, k]: walk along p
            var p = e % TILE_K;
            if params.trans_a == 1u { // A stored [k, m]: walk along r
                r = e % TILE_M;
                p = e / TILE_M;
            }
            a_tile[p * TILE_M + r] = load_a(row0 + r, k0 + p);
        }
        for (var l = 0u; l < TILE_K * TILE_N / THREADS; l++) {
            let e = l * THREADS + lane;
            var p = e / TILE_N; // B stored [k, n]: walk along the column
            var col = e % TILE_N;
            if params.trans_b == 1u { // B stored [n, k]: walk along p
                p = e % TILE_K;
                col = e / TILE_K;
            }
            b_tile[p * TILE_N + col] = load_b(k0 + p, col0 + col);
        }
        workgroupBarrier();

        // 2. Multiply out of workgroup memory into the register block.
        for (var p = 0u; p < TILE_K; p++) {
            var a_reg: array<f32, BLOCK_M>;
            var b_reg: array<f32, BLOCK_N>;
            for (var i = 0u; i < BLOCK_M; i++) {
                a_reg[i] = a_tile[p * TILE_M + lid.y + i * THREADS_Y];
            }
            for (var j = 0u; j < BLOCK_N; j++) {
                b_reg[j] = b_tile[p * TILE_N + lid.x + j * THREADS_X];
            }
            for (var i = 0u; i < BLOCK_M; i++) {
                for (var j = 0u; j < BLOCK_N; j++) {
                    acc[i][j] = fma(a_reg[i], b_reg[j], acc[i][j]);
                }
            }
        }
        // 3. Everyone is done reading these tiles before the next stage.
        workgroupBarrier();
    }

    // Write the register block, skipping what falls outside C.
    for (var i = 0u; i < BLOCK_M; i++) {
        for (var j = 0u; j < BLOCK_N; j++) {
            let row = row0 + lid.y + i * THREADS_Y;
            let col = col0 + lid.x + j * THREADS_X;
            if row < params.m && col < params.n {
                c[row * params.n + col] = acc[i][j];
            }
        }
    }
}
