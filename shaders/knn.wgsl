// k-nearest-neighbour graph, brute force, exact. Two entry points:
//
// `knn_tile`: distances as a tiled matrix product with the k best kept on
// the GPU. A workgroup of 256 invocations owns a tile of 128 query rows and
// walks over candidate tiles of 128 rows. Each chunk of 8 values of the 128
// queries and the 128 candidates is staged in workgroup memory, transposed
// (the next chunk's loads from the rows are issued before the current
// chunk is used, so that their latency hides behind the arithmetic);
// each invocation then accumulates an 8 x 8 block of dot products in
// registers (8 queries x 8 candidates, 64 multiply-adds per 4 vec4 loads
// from workgroup memory). After a candidate tile, every invocation turns
// its 64 dot products into distances and offers them to its own sorted
// list of the k best for each of its 8 queries (most are rejected by one
// comparison with the list's worst). The 16 invocations that share a
// query row see disjoint candidates, so a query has 16 lists per workgroup
// column (`splits` columns in the dispatch's y dimension, each taking every
// `splits`-th candidate tile). The lists live in the list buffers between
// dispatches: a dispatch covers a range of candidates and continues the
// lists the previous dispatch of the same query range left.
//
// `knn_merge`: one invocation per query merges its 16 x `splits` sorted
// lists into the final k best; only these n x k results are read back.
//
// Rows come in blocks (one buffer each, so that no binding exceeds the
// device's limit): padded with zeros to a multiple of 8 values (zeros
// change neither dot products nor norms) and to a multiple of 128 rows
// (padding rows are never offered: they are past `candidate_end`).
// Distances match the CPU reference (src/gpu/reference.rs):
//   cosine (rows normalised on the CPU): max(0, 1 - a.b)
//   squared euclidean:                   max(0, |a|^2 + |b|^2 - 2 a.b)
// with the squared norms computed on the CPU and uploaded.
//
// Lavapipe (Mesa's CPU Vulkan driver) silently stops an invocation after
// 65535 loop iterations; the host bounds the work of one dispatch by its
// count of the loops below (src/gpu/context.rs, `loop_iterations_per_tile`
// and `loop_iterations_fixed`): keep them in step.

const TILE: u32 = 128u;           // query rows per workgroup, candidate rows per tile
const LANES: u32 = 16u;           // invocations sharing a query row
const SLOTS: u32 = 8u;            // query rows per invocation
const MAX_K: u32 = 32u;
const METRIC_COSINE: u32 = 0u;
const NONE: u32 = 0xffffffffu;

struct Params {
    row_vec4: u32,         // vec4s per padded row (even)
    k: u32,                // neighbours per row, 1..=MAX_K
    metric: u32,           // 0 cosine, 1 squared euclidean
    splits: u32,           // workgroup columns per query tile (grid y)
    query_first: u32,      // tile: first query row of the dispatch, in its block
    query_end: u32,        // tile: end of the dispatch's query rows, in the block;
                           // merge: queries of the range
    query_global: u32,     // tile: global index of the query block's first row
    list_base: u32,        // tile: the query row (in the block) whose lists come first
    candidate_start: u32,  // tile: candidate rows, in their block: a multiple of
    candidate_end: u32,    //   TILE .. at most the block's real rows
    candidate_global: u32, // tile: global index of the candidate block's first row
    first: u32,            // tile: 1 when the lists start empty
    infinity: f32,         // +inf, passed in: WGSL has no literal for it
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> query_rows: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> query_norms: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> candidate_rows: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> candidate_norms: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> list_indices: array<u32>;
@group(0) @binding(6) var<storage, read_write> list_distances: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_indices: array<u32>;
@group(0) @binding(8) var<storage, read_write> out_distances: array<f32>;

// One chunk (8 values) of 128 rows, transposed: value c of row r at
// [c * 32 + r / 4][r % 4], so that an invocation reads its 4 consecutive
// rows of one value as one vec4. (Chunks of 16 values, 16 KiB, measured
// slower on an H100: fewer workgroups fit an SM.)
var<workgroup> query_tile: array<vec4<f32>, 256>;
var<workgroup> candidate_tile: array<vec4<f32>, 256>;

// The invocation's lists, slot s at [s * MAX_K, s * MAX_K + k), sorted by
// (distance, index); the worst entry of each list kept apart for the
// one-comparison rejection.
var<private> best_d: array<f32, 256>;
var<private> best_i: array<u32, 256>;
var<private> worst_d: array<f32, 8>;
var<private> worst_i: array<u32, 8>;

// (distance, index) order of the contract.
fn before(d: f32, i: u32, other_d: f32, other_i: u32) -> bool {
    return d < other_d || (d == other_d && i < other_i);
}

// Inserts candidate `index` at `distance` into list `slot` if it beats the
// list's worst entry.
fn offer(slot: u32, distance: f32, index: u32) {
    if !before(distance, index, worst_d[slot], worst_i[slot]) {
        return;
    }
    let base = slot * MAX_K;
    let last = params.k - 1u;
    var pos = last;
    loop {
        if pos == 0u {
            break;
        }
        let prev_d = best_d[base + pos - 1u];
        let prev_i = best_i[base + pos - 1u];
        if !before(distance, index, prev_d, prev_i) {
            break;
        }
        best_d[base + pos] = prev_d;
        best_i[base + pos] = prev_i;
        pos -= 1u;
    }
    best_d[base + pos] = distance;
    best_i[base + pos] = index;
    worst_d[slot] = best_d[base + last];
    worst_i[slot] = best_i[base + last];
}

// Raw dot products of one query with 4 candidates to distances: clamped
// at 0, NaN (from overflowing input) as +inf so that it sorts last, as the
// CPU reference does (`max` with a NaN is implementation-defined).
fn distances4(query_norm: f32, dots: vec4<f32>, norms: vec4<f32>) -> vec4<f32> {
    var raw: vec4<f32>;
    if params.metric == METRIC_COSINE {
        raw = vec4<f32>(1.0) - dots;
    } else {
        raw = vec4<f32>(query_norm) + norms - 2.0 * dots;
    }
    return select(vec4<f32>(params.infinity), max(raw, vec4<f32>(0.0)), raw == raw);
}

// Offers 4 consecutive candidates, from global index `first`, to list
// `slot` of the query with global index `query`; `end` is the global end
// of the valid candidates.
fn offer4(slot: u32, query: u32, distances: vec4<f32>, first: u32, end: u32) {
    if !any(distances <= vec4<f32>(worst_d[slot])) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        let candidate = first + j;
        if candidate < end && candidate != query {
            offer(slot, distances[j], candidate);
        }
    }
}

// The query row (in its block) of an invocation's slot.
fn slot_row(tile_first: u32, row_group: u32, slot: u32) -> u32 {
    return tile_first + (slot / 4u) * 64u + row_group * 4u + slot % 4u;
}

// Where the list of (query row `row`, workgroup column `split`, lane) starts.
fn list_start(row: u32, split: u32, lane: u32) -> u32 {
    return (((row - params.list_base) * params.splits + split) * LANES + lane) * params.k;
}

@compute @workgroup_size(256)
fn knn_tile(
    @builtin(local_invocation_index) local: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let k = params.k;
    let lane = local % LANES;       // which 8 candidates of a tile
    let row_group = local / LANES;  // which 8 queries of the tile
    let split = group.y;
    let tile_first = params.query_first + group.x * TILE;

    // The lists: empty, or where the previous dispatch left them.
    for (var slot = 0u; slot < SLOTS; slot++) {
        let row = slot_row(tile_first, row_group, slot);
        let base = slot * MAX_K;
        if params.first == 1u || row >= params.query_end {
            for (var j = 0u; j < k; j++) {
                best_d[base + j] = params.infinity;
                best_i[base + j] = NONE;
            }
        } else {
            let start = list_start(row, split, lane);
            for (var j = 0u; j < k; j++) {
                best_d[base + j] = list_distances[start + j];
                best_i[base + j] = list_indices[start + j];
            }
        }
        worst_d[slot] = best_d[base + k - 1u];
        worst_i[slot] = best_i[base + k - 1u];
    }

    // Queries of this invocation: rows first_lo + 0..3 and first_lo + 64 + 0..3.
    let first_lo = tile_first + row_group * 4u;
    let norms_lo = query_norms[first_lo / 4u];
    let norms_hi = query_norms[first_lo / 4u + 16u];
    let global_lo = params.query_global + first_lo;
    let global_hi = global_lo + 64u;

    // Staging: invocation `local` loads one vec4 (values 4 * half ..) of
    // row local / 2 of the query tile and of the candidate tile per chunk.
    // The next chunk's loads (the next tile's first chunk after a tile's
    // last) are issued before the current chunk is used, so that their
    // latency hides behind the arithmetic.
    let load_row = local / 2u;
    let load_half = local % 2u;
    let store_at = load_half * 128u + load_row / 4u;
    let store_component = load_row % 4u;
    let chunks = params.row_vec4 / 2u;
    let candidate_end = params.candidate_global + params.candidate_end;
    let query_at = (tile_first + load_row) * params.row_vec4 + load_half;
    let tiles = (params.candidate_end - params.candidate_start + TILE - 1u) / TILE;

    var q = vec4<f32>(0.0);
    var c = vec4<f32>(0.0);
    if split < tiles {
        q = query_rows[query_at];
        c = candidate_rows[(params.candidate_start + split * TILE + load_row) * params.row_vec4 + load_half];
    }
    for (var tile = split; tile < tiles; tile += params.splits) {
        let tile_start = params.candidate_start + tile * TILE;
        let candidate_at = (tile_start + load_row) * params.row_vec4 + load_half;
        let next_tile = tile + params.splits;
        let next_tile_at = (params.candidate_start + next_tile * TILE + load_row) * params.row_vec4 + load_half;
        var acc0_lo = vec4<f32>(0.0);
        var acc0_hi = vec4<f32>(0.0);
        var acc1_lo = vec4<f32>(0.0);
        var acc1_hi = vec4<f32>(0.0);
        var acc2_lo = vec4<f32>(0.0);
        var acc2_hi = vec4<f32>(0.0);
        var acc3_lo = vec4<f32>(0.0);
        var acc3_hi = vec4<f32>(0.0);
        var acc4_lo = vec4<f32>(0.0);
        var acc4_hi = vec4<f32>(0.0);
        var acc5_lo = vec4<f32>(0.0);
        var acc5_hi = vec4<f32>(0.0);
        var acc6_lo = vec4<f32>(0.0);
        var acc6_hi = vec4<f32>(0.0);
        var acc7_lo = vec4<f32>(0.0);
        var acc7_hi = vec4<f32>(0.0);

        for (var chunk = 0u; chunk < chunks; chunk++) {
            query_tile[store_at][store_component] = q.x;
            query_tile[store_at + 32u][store_component] = q.y;
            query_tile[store_at + 64u][store_component] = q.z;
            query_tile[store_at + 96u][store_component] = q.w;
            candidate_tile[store_at][store_component] = c.x;
            candidate_tile[store_at + 32u][store_component] = c.y;
            candidate_tile[store_at + 64u][store_component] = c.z;
            candidate_tile[store_at + 96u][store_component] = c.w;
            workgroupBarrier();

            if chunk + 1u < chunks {
                q = query_rows[query_at + chunk * 2u + 2u];
                c = candidate_rows[candidate_at + chunk * 2u + 2u];
            } else if next_tile < tiles {
                q = query_rows[query_at];
                c = candidate_rows[next_tile_at];
            }

            for (var value = 0u; value < 8u; value++) {
                let a_lo = query_tile[value * 32u + row_group];
                let a_hi = query_tile[value * 32u + 16u + row_group];
                let b_lo = candidate_tile[value * 32u + lane];
                let b_hi = candidate_tile[value * 32u + 16u + lane];
                acc0_lo = fma(vec4<f32>(a_lo.x), b_lo, acc0_lo);
                acc0_hi = fma(vec4<f32>(a_lo.x), b_hi, acc0_hi);
                acc1_lo = fma(vec4<f32>(a_lo.y), b_lo, acc1_lo);
                acc1_hi = fma(vec4<f32>(a_lo.y), b_hi, acc1_hi);
                acc2_lo = fma(vec4<f32>(a_lo.z), b_lo, acc2_lo);
                acc2_hi = fma(vec4<f32>(a_lo.z), b_hi, acc2_hi);
                acc3_lo = fma(vec4<f32>(a_lo.w), b_lo, acc3_lo);
                acc3_hi = fma(vec4<f32>(a_lo.w), b_hi, acc3_hi);
                acc4_lo = fma(vec4<f32>(a_hi.x), b_lo, acc4_lo);
                acc4_hi = fma(vec4<f32>(a_hi.x), b_hi, acc4_hi);
                acc5_lo = fma(vec4<f32>(a_hi.y), b_lo, acc5_lo);
                acc5_hi = fma(vec4<f32>(a_hi.y), b_hi, acc5_hi);
                acc6_lo = fma(vec4<f32>(a_hi.z), b_lo, acc6_lo);
                acc6_hi = fma(vec4<f32>(a_hi.z), b_hi, acc6_hi);
                acc7_lo = fma(vec4<f32>(a_hi.w), b_lo, acc7_lo);
                acc7_hi = fma(vec4<f32>(a_hi.w), b_hi, acc7_hi);
            }
            workgroupBarrier();
        }

        // Distances to the lists. Candidates lane * 4 + 0..3 ("lo") and
        // 64 + lane * 4 + 0..3 ("hi") of the tile.
        let c_norms_lo = candidate_norms[tile_start / 4u + lane];
        let c_norms_hi = candidate_norms[tile_start / 4u + 16u + lane];
        let c_lo = params.candidate_global + tile_start + lane * 4u;
        let c_hi = c_lo + 64u;
        if first_lo < params.query_end {
            offer4(0u, global_lo, distances4(norms_lo.x, acc0_lo, c_norms_lo), c_lo, candidate_end);
            offer4(0u, global_lo, distances4(norms_lo.x, acc0_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 1u < params.query_end {
            offer4(1u, global_lo + 1u, distances4(norms_lo.y, acc1_lo, c_norms_lo), c_lo, candidate_end);
            offer4(1u, global_lo + 1u, distances4(norms_lo.y, acc1_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 2u < params.query_end {
            offer4(2u, global_lo + 2u, distances4(norms_lo.z, acc2_lo, c_norms_lo), c_lo, candidate_end);
            offer4(2u, global_lo + 2u, distances4(norms_lo.z, acc2_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 3u < params.query_end {
            offer4(3u, global_lo + 3u, distances4(norms_lo.w, acc3_lo, c_norms_lo), c_lo, candidate_end);
            offer4(3u, global_lo + 3u, distances4(norms_lo.w, acc3_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 64u < params.query_end {
            offer4(4u, global_hi, distances4(norms_hi.x, acc4_lo, c_norms_lo), c_lo, candidate_end);
            offer4(4u, global_hi, distances4(norms_hi.x, acc4_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 65u < params.query_end {
            offer4(5u, global_hi + 1u, distances4(norms_hi.y, acc5_lo, c_norms_lo), c_lo, candidate_end);
            offer4(5u, global_hi + 1u, distances4(norms_hi.y, acc5_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 66u < params.query_end {
            offer4(6u, global_hi + 2u, distances4(norms_hi.z, acc6_lo, c_norms_lo), c_lo, candidate_end);
            offer4(6u, global_hi + 2u, distances4(norms_hi.z, acc6_hi, c_norms_hi), c_hi, candidate_end);
        }
        if first_lo + 67u < params.query_end {
            offer4(7u, global_hi + 3u, distances4(norms_hi.w, acc7_lo, c_norms_lo), c_lo, candidate_end);
            offer4(7u, global_hi + 3u, distances4(norms_hi.w, acc7_hi, c_norms_hi), c_hi, candidate_end);
        }
    }

    for (var slot = 0u; slot < SLOTS; slot++) {
        let row = slot_row(tile_first, row_group, slot);
        if row < params.query_end {
            let start = list_start(row, split, lane);
            let base = slot * MAX_K;
            for (var j = 0u; j < k; j++) {
                list_distances[start + j] = best_d[base + j];
                list_indices[start + j] = best_i[base + j];
            }
        }
    }
}

@compute @workgroup_size(64)
fn knn_merge(@builtin(global_invocation_id) id: vec3<u32>) {
    let query = id.x;
    if query >= params.query_end {
        return;
    }
    let k = params.k;
    for (var j = 0u; j < k; j++) {
        best_d[j] = params.infinity;
        best_i[j] = NONE;
    }
    worst_d[0] = params.infinity;
    worst_i[0] = NONE;
    let lists = params.splits * LANES;
    for (var list = 0u; list < lists; list++) {
        let start = (query * lists + list) * k;
        // Each list is sorted: the first entry that does not beat the
        // worst ends it.
        for (var j = 0u; j < k; j++) {
            let d = list_distances[start + j];
            let i = list_indices[start + j];
            if !before(d, i, worst_d[0], worst_i[0]) {
                break;
            }
            offer(0u, d, i);
        }
    }
    for (var j = 0u; j < k; j++) {
        out_indices[query * k + j] = best_i[j];
        out_distances[query * k + j] = best_d[j];
    }
}
