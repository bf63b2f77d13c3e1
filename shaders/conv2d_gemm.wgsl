// conv2d_gemm.wgsl: the 2-D convolution and its two gradients as tiled
// matrix products ("implicit GEMM"), the fast kernels. Read
// conv2d_naive.wgsl (the sums) and matmul_tiled.wgsl (the tiling) first:
// this is matmul_tiled.wgsl with the matrices' elements computed from the
// tensors' indices instead of read from a matrix.
//
// Unfold the patches of x as columns (im2col): X̂[t, (n, oy, ox)] =
// x[n, i, oy·s + ky - p, ox·s + kx - p] for the tap t = (i·k + ky)·k + kx,
// 0 on the padding. Then each of the three is a product C = A · B with
// C [m, n] and the sum over `depth`:
//
//   op               C [m × n]                  A [m × depth]   B [depth × n]      depth
//   FORWARD          y  [C_out × (n, oy, ox)]   w               X̂                  C_in·k·k
//   BACKWARD_INPUT   dx [C_in × (n, y, x)]      wᵀ (per o)      D̂                  C_out·k·k
//   BACKWARD_WEIGHT  dw [C_out × (i, ky, kx)]   dy              X̂ᵀ                 batch·OH·OW
//
// where D̂[(o·k + ky)·k + kx, (n, y, x)] = dy[n, o, oy, ox] for the tap of
// output (oy, ox) = ((y + p - ky) / s, (x + p - kx) / s) when both are
// whole and inside the output, else 0: the input gradient as a gather
// (each input pixel sums the outputs that read it), so no two invocations
// write one element and no atomics are needed (deterministic). X̂ and D̂ are
// never stored: each workgroup computes the elements of its tile of B as
// it stages them. C is written in the tensor's own layout (y and dx as
// image rows, channel-major), not as an [m, n] matrix.
//
// Tiling, as matmul_tiled.wgsl: each workgroup owns a TILE_M × TILE_N =
// 64 × 64 block of C, walks its share of the sum in steps of TILE_K = 16
// (stage a tile of A and of B into workgroup memory, barrier, 16 rank-1
// updates of a 4 × 4 register block per invocation, barrier).
//
// The sum is split: layer z of the grid (group.z) sums t in [z·part,
// (z+1)·part), part = 1024 values at most, into slice z of out, [parts, m·n]
// (llvmpipe, behind lavapipe and wgpu's GL backend, silently stops a
// shader's loops after 65 535 iterations in all: at most 64 steps here).
// With one part (most forwards and input gradients) that slice is the
// result; with several (a weight gradient sums over the whole batch), the
// host adds the slices with sum_parts.wgsl. Every slice is written whole,
// tiles zero-padded past the ends, so nothing needs clearing first.
//
// The blocks of C are numbered tile = group.y · groups.x + group.x (a 2-D
// grid: a large batch has more than 65 535 tiles), row block tile % tiles_m,
// column block tile / tiles_m.
//
// Bindings (what a and b hold depends on op, as in conv2d_naive.wgsl):
//   0  params  uniform
//   1  a       read        FORWARD, BACKWARD_WEIGHT: x [batch, C_in·H·W];  BACKWARD_INPUT: dy
//   2  b       read        FORWARD, BACKWARD_INPUT: w [C_out, C_in·k·k];   BACKWARD_WEIGHT: dy
//   3  out     read_write  [parts, m·n]: slice z holds C summed over part z, laid out as
//                          y [batch, C_out·OH·OW], dx [batch, C_in·H·W] or dw [C_out, C_in·k·k]

struct Params {
    batch: u32,
    in_channels: u32,   // C_in
    out_channels: u32,  // C_out
    height: u32,        // H
    width: u32,         // W
    kernel: u32,        // k
    stride: u32,        // s
    padding: u32,       // p
    out_height: u32,    // OH
    out_width: u32,     // OW
    // conv2d_naive.wgsl's; unused here.
    k_begin: u32,
    k_end: u32,
    // The product: C [m, n], summing over depth values, part per layer z.
    m: u32,
    n: u32,
    depth: u32,
    part: u32,
    op: u32,            // FORWARD, BACKWARD_INPUT or BACKWARD_WEIGHT (codes.rs)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// The grid is tiles_m · tiles_n workgroups (folded 2-D) × parts, of
// THREADS_X × THREADS_Y = 16 × 16 = 256 invocations.
const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;
const THREADS_X: u32 = 16u;
const THREADS_Y: u32 = 16u;
const THREADS: u32 = THREADS_X * THREADS_Y;
const BLOCK_M: u32 = TILE_M / THREADS_Y; // 4 rows of C per invocation
const BLOCK_N: u32 = TILE_N / THREADS_X; // 4 columns of C per invocation

// The staged tiles, p-major: a_tile[p][r] = A[row0 + r, k0 + p],
// b_tile[p][c] = B[k0 + p, col0 + c]. 4 KiB each.
var<workgroup> a_tile: array<f32, TILE_K * TILE_M>;
var<workgroup> b_tile: array<f32, TILE_K * TILE_N>;

// Input pixel (i, y, x) of image n, x being binding a, or 0 on the padding
// (y, x as i32: oy·s + ky - p may be negative).
fn x_at(n: u32, i: u32, y: i32, x: i32) -> f32 {
    if y < 0 || x < 0 || y >= i32(params.height) || x >= i32(params.width) {
        return 0.0;
    }
    let cols = params.in_channels * params.height * params.width; // C_in·H·W
    return a[n * cols + (i * params.height + u32(y)) * params.width + u32(x)];
}

// X̂[tap, (n, oy, ox)] = x[n, i, oy·s + ky - p, ox·s + kx - p], position q = oy·OW + ox.
fn unfolded(tap: u32, n: u32, q: u32) -> f32 {
    let k = params.kernel;
    let i = tap / (k * k);
    let ky = (tap / k) % k;
    let kx = tap % k;
    let oy = q / params.out_width;
    let ox = q % params.out_width;
    let y = i32(oy * params.stride + ky) - i32(params.padding);
    let x = i32(ox * params.stride + kx) - i32(params.padding);
    return x_at(n, i, y, x);
}

// The weight's row length, C_in·k·k.
fn taps() -> u32 {
    return params.in_channels * params.kernel * params.kernel;
}

// OH·OW.
fn out_plane() -> u32 {
    return params.out_height * params.out_width;
}

// A[row, t], or 0 outside A and past `stop` (the end of this layer's part).
// A is binding b for every op.
fn load_a(row: u32, t: u32, stop: u32) -> f32 {
    if row >= params.m || t >= stop {
        return 0.0;
    }
    let kk = params.kernel * params.kernel;
    switch params.op {
        case FORWARD: { // w[o = row, tap = t]
            return b[row * taps() + t];
        }
        case BACKWARD_INPUT: { // w[o, i = row, ky, kx] for t = (o·k + ky)·k + kx
            return b[(t / kk) * taps() + row * kk + t % kk];
        }
        default: { // BACKWARD_WEIGHT: dy[n, o = row, q] for t = n·OH·OW + q
            let n = t / out_plane();
            return b[(n * params.out_channels + row) * out_plane() + t % out_plane()];
        }
    }
}

// B[t, col], or 0 outside B and past `stop`. B is computed from binding a.
fn load_b(t: u32, col: u32, stop: u32) -> f32 {
    if t >= stop || col >= params.n {
        return 0.0;
    }
    switch params.op {
        case FORWARD: { // X̂[tap = t, col = n·OH·OW + q]
            return unfolded(t, col / out_plane(), col % out_plane());
        }
        case BACKWARD_INPUT: { // D̂[t = (o·k + ky)·k + kx, col = (n·H + y)·W + x]
            let k = params.kernel;
            let s = params.stride;
            let o = t / (k * k);
            let ky = (t / k) % k;
            let kx = t % k;
            let plane = params.height * params.width;
            let n = col / plane;
            let y = (col % plane) / params.width;
            let x = col % params.width;
            // oy·s = y + p - ky, in i32: negative when the tap starts above.
            let sy = i32(y + params.padding) - i32(ky);
            let sx = i32(x + params.padding) - i32(kx);
            if sy < 0 || sx < 0 || u32(sy) % s != 0u || u32(sx) % s != 0u {
                return 0.0;
            }
            let oy = u32(sy) / s;
            let ox = u32(sx) / s;
            if oy >= params.out_height || ox >= params.out_width {
                return 0.0;
            }
            return a[((n * params.out_channels + o) * params.out_height + oy) * params.out_width + ox];
        }
        default: { // BACKWARD_WEIGHT: X̂ᵀ[t = n·OH·OW + q, col = tap]
            return unfolded(col, t / out_plane(), t % out_plane());
        }
    }
}

// Where C[row, col] goes in its slice of out: the tensor's own layout.
fn address(row: u32, col: u32) -> u32 {
    switch params.op {
        case FORWARD: { // y[n, o = row, q], col = n·OH·OW + q
            let n = col / out_plane();
            return (n * params.out_channels + row) * out_plane() + col % out_plane();
        }
        case BACKWARD_INPUT: { // dx[n, i = row, y, x], col = n·H·W + (y·W + x)
            let plane = params.height * params.width;
            let n = col / plane;
            return (n * params.in_channels + row) * plane + col % plane;
        }
        default: { // BACKWARD_WEIGHT: dw[o = row, tap = col]
            return row * params.n + col;
        }
    }
}

@compute @workgroup_size(THREADS_X, THREADS_Y)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    // Which block of C: uniform over the workgroup, so the early return
    // keeps the barriers below in uniform control flow.
    let tiles_m = (params.m + TILE_M - 1u) / TILE_M;
    let tiles_n = (params.n + TILE_N - 1u) / TILE_N;
    let tile = group.y * groups.x + group.x;
    if tile >= tiles_m * tiles_n {
        return; // the folded grid's overhang
    }
    let row0 = (tile % tiles_m) * TILE_M;
    let col0 = (tile / tiles_m) * TILE_N;
    // This layer's part of the sum, [start, stop).
    let start = group.z * params.part;
    let stop = min(start + params.part, params.depth);
    var acc: array<array<f32, BLOCK_N>, BLOCK_M>; // zero-initialised

    let steps = (max(stop, start) - start + TILE_K - 1u) / TILE_K;
    for (var step = 0u; step < steps; step++) {
        let k0 = start + step * TILE_K;

        // 1. Stage. A's elements neighbour along t in memory for every op
        //    (w's rows, dy's positions), so neighbouring invocations walk
        //    along p; B's along the column (x's and dy's pixels).
        for (var l = 0u; l < TILE_M * TILE_K / THREADS; l++) {
            let e = l * THREADS + lane;
            let r = e / TILE_K;
            let p = e % TILE_K;
            a_tile[p * TILE_M + r] = load_a(row0 + r, k0 + p, stop);
        }
        for (var l = 0u; l < TILE_K * TILE_N / THREADS; l++) {
            let e = l * THREADS + lane;
            let p = e / TILE_N;
            let c = e % TILE_N;
            b_tile[p * TILE_N + c] = load_b(k0 + p, col0 + c, stop);
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

    // Write the register block into slice z, skipping what falls outside C.
    let slice = group.z * params.m * params.n;
    for (var i = 0u; i < BLOCK_M; i++) {
        for (var j = 0u; j < BLOCK_N; j++) {
            let row = row0 + lid.y + i * THREADS_Y;
            let col = col0 + lid.x + j * THREADS_X;
            if row < params.m && col < params.n {
                out[slice + address(row, col)] = acc[i][j];
            }
        }
    }
}
