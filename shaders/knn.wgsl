// k-nearest-neighbour graph, brute force, exact.
//
// One invocation owns one query row and keeps its k best candidates in
// private arrays, sorted by (distance, index). A workgroup of QUERY_TILE
// queries walks over a range of candidate rows in tiles of CANDIDATE_TILE
// rows; each tile is streamed through workgroup memory in chunks of
// CHUNK_VEC4 vec4s (16 dimensions) together with the matching chunk of the
// workgroup's queries, so every global load is coalesced and shared by the
// workgroup.
//
// One dispatch covers a range of queries (query_offset, query_count: no
// dispatch dimension above the device's limit) and a range of candidates
// (candidate_start..candidate_end). The host runs the candidate ranges of a
// query range in order; each dispatch but the first reads the k best so far
// back from the output buffers and merges into them. Bounding the work of
// one invocation keeps dispatches short (GPU watchdogs) and keeps lavapipe
// (Mesa's CPU Vulkan driver) under its limit of 65535 loop iterations per
// invocation, beyond which it silently stops the invocation. The host's
// count of loop iterations (src/gpu/context.rs, `loop_iterations_per_tile`)
// mirrors the loops below: keep them in step.
//
// Rows are padded with zeros to a multiple of 4 values (zeros change neither
// dot products nor norms). Distances match the CPU reference
// (src/gpu/reference.rs):
//   cosine (rows normalised on the CPU): max(0, 1 - a.b)
//   squared euclidean:                   max(0, |a|^2 + |b|^2 - 2 a.b)
// with the squared norms computed on the CPU and uploaded.

const QUERY_TILE: u32 = 64u;      // = workgroup size
const CANDIDATE_TILE: u32 = 32u;
const CHUNK_VEC4: u32 = 4u;       // vec4s of one row per chunk (16 values)
const METRIC_COSINE: u32 = 0u;

struct Params {
    n: u32,               // rows
    row_vec4: u32,        // vec4s per (padded) row
    k: u32,               // neighbours per row, 1..=32
    metric: u32,          // 0 cosine, 1 squared euclidean
    query_offset: u32,    // first query row of this dispatch
    query_count: u32,     // query rows in this dispatch
    candidate_start: u32, // candidate rows of this dispatch, a multiple of
    candidate_end: u32,   //   CANDIDATE_TILE .. at most n
    infinity: f32,        // +inf, passed in: WGSL has no literal for it
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rows: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> squared_norms: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_indices: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_distances: array<f32>;

var<workgroup> query_tile: array<vec4<f32>, 256>;      // QUERY_TILE * CHUNK_VEC4
var<workgroup> candidate_tile: array<vec4<f32>, 128>;  // CANDIDATE_TILE * CHUNK_VEC4

// (distance, index) order of the contract.
fn before(d: f32, i: u32, other_d: f32, other_i: u32) -> bool {
    return d < other_d || (d == other_d && i < other_i);
}

// Slot `slot` (0..CHUNK_VEC4 * rows) of a tile of `first_row..`, columns
// `col0..col0 + CHUNK_VEC4`; zeros outside the data.
fn tile_value(first_row: u32, col0: u32, slot: u32) -> vec4<f32> {
    let r = first_row + slot / CHUNK_VEC4;
    let col = col0 + slot % CHUNK_VEC4;
    if r < params.n && col < params.row_vec4 {
        return rows[r * params.row_vec4 + col];
    }
    return vec4<f32>(0.0);
}

@compute @workgroup_size(64)
fn knn(
    @builtin(local_invocation_index) local: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = params.n;
    let k = params.k;
    let first_query = params.query_offset + group.x * QUERY_TILE;
    let local_query = group.x * QUERY_TILE + local;
    let query = params.query_offset + local_query;
    let valid = local_query < params.query_count && query < n;
    let out = query * k;

    // The k best so far: empty slots (+inf, no index) on the first
    // candidate range, the previous dispatch's result on the others.
    var best_d: array<f32, 32>;
    var best_i: array<u32, 32>;
    if valid {
        let first_range = params.candidate_start == 0u;
        for (var j = 0u; j < k; j++) {
            if first_range {
                best_d[j] = params.infinity;
                best_i[j] = 0xffffffffu;
            } else {
                best_d[j] = out_distances[out + j];
                best_i[j] = out_indices[out + j];
            }
        }
    }
    var worst_d = best_d[k - 1u];
    var worst_i = best_i[k - 1u];

    var query_norm = 0.0;
    if valid && params.metric != METRIC_COSINE {
        query_norm = squared_norms[query];
    }

    let chunks = (params.row_vec4 + CHUNK_VEC4 - 1u) / CHUNK_VEC4;
    for (var tile_start = params.candidate_start; tile_start < params.candidate_end; tile_start += CANDIDATE_TILE) {
        // Dot products with the tile's candidates, candidate c in dots[c / 4][c % 4].
        var dots = array<vec4<f32>, 8>();

        for (var chunk = 0u; chunk < chunks; chunk++) {
            let col0 = chunk * CHUNK_VEC4;
            // Queries of this workgroup: 256 vec4s, candidates: 128 vec4s.
            // Unrolled (loop iterations are what lavapipe counts).
            query_tile[local] = tile_value(first_query, col0, local);
            query_tile[local + 64u] = tile_value(first_query, col0, local + 64u);
            query_tile[local + 128u] = tile_value(first_query, col0, local + 128u);
            query_tile[local + 192u] = tile_value(first_query, col0, local + 192u);
            candidate_tile[local] = tile_value(tile_start, col0, local);
            candidate_tile[local + 64u] = tile_value(tile_start, col0, local + 64u);
            workgroupBarrier();

            let q0 = query_tile[local * CHUNK_VEC4];
            let q1 = query_tile[local * CHUNK_VEC4 + 1u];
            let q2 = query_tile[local * CHUNK_VEC4 + 2u];
            let q3 = query_tile[local * CHUNK_VEC4 + 3u];
            for (var g = 0u; g < 8u; g++) {
                let b = g * 16u;  // four candidates of four vec4s each
                dots[g] += vec4<f32>(
                    dot(q0, candidate_tile[b]) + dot(q1, candidate_tile[b + 1u])
                        + dot(q2, candidate_tile[b + 2u]) + dot(q3, candidate_tile[b + 3u]),
                    dot(q0, candidate_tile[b + 4u]) + dot(q1, candidate_tile[b + 5u])
                        + dot(q2, candidate_tile[b + 6u]) + dot(q3, candidate_tile[b + 7u]),
                    dot(q0, candidate_tile[b + 8u]) + dot(q1, candidate_tile[b + 9u])
                        + dot(q2, candidate_tile[b + 10u]) + dot(q3, candidate_tile[b + 11u]),
                    dot(q0, candidate_tile[b + 12u]) + dot(q1, candidate_tile[b + 13u])
                        + dot(q2, candidate_tile[b + 14u]) + dot(q3, candidate_tile[b + 15u]),
                );
            }
            workgroupBarrier();
        }

        if valid {
            let tile_len = min(CANDIDATE_TILE, params.candidate_end - tile_start);
            for (var c = 0u; c < tile_len; c++) {
                let candidate = tile_start + c;
                if candidate == query {
                    continue;
                }
                let dot_value = dots[c / 4u][c % 4u];
                var raw: f32;
                if params.metric == METRIC_COSINE {
                    raw = 1.0 - dot_value;
                } else {
                    raw = query_norm + squared_norms[candidate] - 2.0 * dot_value;
                }
                let distance = max(raw, 0.0);
                if !before(distance, candidate, worst_d, worst_i) {
                    continue;
                }
                // Insertion into the sorted array: shift the worse ones down.
                var slot = k - 1u;
                loop {
                    if slot == 0u {
                        break;
                    }
                    let prev_d = best_d[slot - 1u];
                    let prev_i = best_i[slot - 1u];
                    if !before(distance, candidate, prev_d, prev_i) {
                        break;
                    }
                    best_d[slot] = prev_d;
                    best_i[slot] = prev_i;
                    slot -= 1u;
                }
                best_d[slot] = distance;
                best_i[slot] = candidate;
                worst_d = best_d[k - 1u];
                worst_i = best_i[k - 1u];
            }
        }
    }

    if valid {
        for (var j = 0u; j < k; j++) {
            out_indices[out + j] = best_i[j];
            out_distances[out + j] = best_d[j];
        }
    }
}
