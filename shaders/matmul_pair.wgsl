// matmul_pair.wgsl: two independent products in one dispatch,
//
//     c0 = op(a0) · op(b0)      c1 = op(a1) · op(b1)
//
// the algorithm of matmul_small.wgsl (read it first) with each workgroup
// working on a tile of one of the two. A layer's backward needs two
// products of the same small size, dx = dz · Wᵀ and dW = xᵀ · dz; on a GPU
// where a step of small layers is bound by the number of commands, one
// dispatch instead of two matters more than anything inside them.
//
// The grid is one list of workgroups, those of product 0 first: workgroup
// w belongs to product s = 1 when w ≥ p[1].first, and is tile w - p[s].first
// of it, row-major over p[s].tiles_n columns of tiles. Which product a
// workgroup computes is the same for all its invocations, so the branches
// on s below are uniform and the barriers stay legal.
//
// Bindings:
//   0  params  uniform
//   1  a0      read        A of product 0
//   2  b0      read        B of product 0
//   3  c0      read_write  C of product 0, [m, n]
//   4  a1      read        A of product 1
//   5  b1      read        B of product 1
//   6  c1      read_write  C of product 1, [m, n]

struct Product {
    m: u32,
    k: u32,
    n: u32,
    trans_a: u32,  // 1: A is stored transposed, [k, m]
    trans_b: u32,  // 1: B is stored transposed, [n, k]
    tiles_n: u32,  // ceil(n / TILE): tiles per row of C
    first: u32,    // the product's first workgroup
    _pad: u32,
}

struct Params {
    p: array<Product, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a0: array<f32>;
@group(0) @binding(2) var<storage, read> b0: array<f32>;
@group(0) @binding(3) var<storage, read_write> c0: array<f32>;
@group(0) @binding(4) var<storage, read> a1: array<f32>;
@group(0) @binding(5) var<storage, read> b1: array<f32>;
@group(0) @binding(6) var<storage, read_write> c1: array<f32>;

// As in matmul_small.wgsl.
const TILE: u32 = 32u;
const TILE_K: u32 = 16u;
const THREADS: u32 = 16u;
const BLOCK: u32 = 2u; // TILE / THREADS rows (and columns) of C per invocation
const LANES: u32 = 256u; // THREADS · THREADS
const STRIDE: u32 = 34u;

var<workgroup> a_tile: array<f32, TILE_K * STRIDE>;
var<workgroup> b_tile: array<f32, TILE_K * STRIDE>;

// Element (row, p) of op(A) of product s, or 0 outside it.
fn load_a(s: u32, row: u32, p: u32) -> f32 {
    let q = params.p[s];
    if row >= q.m || p >= q.k {
        return 0.0;
    }
    let i = select(row * q.k + p, p * q.m + row, q.trans_a == 1u);
    if s == 0u {
        return a0[i];
    }
    return a1[i];
}

// Element (p, col) of op(B) of product s, or 0 outside it.
fn load_b(s: u32, p: u32, col: u32) -> f32 {
    let q = params.p[s];
    if p >= q.k || col >= q.n {
        return 0.0;
    }
    let i = select(p * q.n + col, col * q.k + p, q.trans_b == 1u);
    if s == 0u {
        return b0[i];
    }
    return b1[i];
}

@compute @workgroup_size(THREADS, THREADS)
fn main(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let w = group.y * groups.x + group.x;
    let s = select(0u, 1u, w >= params.p[1].first); // the same for the whole workgroup
    let q = params.p[s];
    let tile = w - q.first;
    if tile >= ((q.m + TILE - 1u) / TILE) * q.tiles_n {
        return; // past the last tile (the grid is folded to 2-D): the whole workgroup
    }
    let row0 = (tile / q.tiles_n) * TILE;
    let col0 = (tile % q.tiles_n) * TILE;
    var acc: array<array<f32, BLOCK>, BLOCK>;

    let steps = (q.k + TILE_K - 1u) / TILE_K; // uniform over the workgroup
    for (var step = 0u; step < steps; step++) {
        let k0 = step * TILE_K;
        for (var l = 0u; l < TILE * TILE_K / LANES; l++) {
            let e = l * LANES + lane;
            var r = e / TILE_K;
            var p = e % TILE_K;
            if q.trans_a == 1u {
                r = e % TILE;
                p = e / TILE;
            }
            a_tile[p * STRIDE + r] = load_a(s, row0 + r, k0 + p);
        }
        for (var l = 0u; l < TILE_K * TILE / LANES; l++) {
            let e = l * LANES + lane;
            var p = e / TILE;
            var c = e % TILE;
            if q.trans_b == 1u {
                p = e % TILE_K;
                c = e / TILE_K;
            }
            b_tile[p * STRIDE + c] = load_b(s, k0 + p, col0 + c);
        }
        workgroupBarrier();
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
        workgroupBarrier();
    }

    for (var i = 0u; i < BLOCK; i++) {
        for (var j = 0u; j < BLOCK; j++) {
            let row = row0 + lid.y + i * THREADS;
            let col = col0 + lid.x + j * THREADS;
            if row < q.m && col < q.n {
                if s == 0u {
                    c0[row * q.n + col] = acc[i][j];
                } else {
                    c1[row * q.n + col] = acc[i][j];
                }
            }
        }
    }
}
