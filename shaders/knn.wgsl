// k-nearest-neighbour graph, brute force, exact.
//
// One invocation owns one query row and keeps its k best candidates in
// private arrays, sorted by (distance, index). A workgroup of QUERY_TILE
// queries walks over all candidate rows in tiles of CANDIDATE_TILE rows;
// each tile is streamed through workgroup memory in chunks of CHUNK_VEC4
// vec4s (16 dimensions) together with the matching chunk of the workgroup's
// queries, so every global load is coalesced and shared by the workgroup.
//
// Rows are padded with zeros to a multiple of 4 values (zeros change neither
// dot products nor norms). Distances match the CPU reference
// (src/gpu/reference.rs):
//   cosine (rows normalised on the CPU): max(0, 1 - a.b)
//   squared euclidean:                   max(0, |a|^2 + |b|^2 - 2 a.b)
// with the squared norms computed on the CPU and uploaded.
//
// The host splits the queries into chunks (params.query_offset), each small
// enough that no dispatch dimension exceeds the device's limit.

const QUERY_TILE: u32 = 64u;      // = workgroup size
const CANDIDATE_TILE: u32 = 32u;
const CHUNK_VEC4: u32 = 4u;       // vec4s of one row per chunk (16 values)
const MAX_K: u32 = 32u;
const METRIC_COSINE: u32 = 0u;

struct Params {
    n: u32,             // rows
    row_vec4: u32,      // vec4s per (padded) row
    k: u32,             // neighbours per row, 1..=MAX_K
    metric: u32,        // 0 cosine, 1 squared euclidean
    query_offset: u32,  // first query row of this dispatch
    query_count: u32,   // query rows in this dispatch
    infinity: f32,      // +inf, passed in: WGSL has no literal for it
    _pad: u32,
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

@compute @workgroup_size(64)
fn knn(
    @builtin(local_invocation_index) local: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = params.n;
    let row_vec4 = params.row_vec4;
    let k = params.k;
    let first_query = params.query_offset + group.x * QUERY_TILE;
    let local_query = group.x * QUERY_TILE + local;
    let query = params.query_offset + local_query;
    let valid = local_query < params.query_count && query < n;

    var best_d: array<f32, 32>;
    var best_i: array<u32, 32>;
    for (var j = 0u; j < MAX_K; j++) {
        best_d[j] = params.infinity;
        best_i[j] = 0xffffffffu;
    }
    var worst_d = params.infinity;
    var worst_i = 0xffffffffu;

    var query_norm = 0.0;
    if valid && params.metric != METRIC_COSINE {
        query_norm = squared_norms[query];
    }

    let chunks = (row_vec4 + CHUNK_VEC4 - 1u) / CHUNK_VEC4;
    for (var tile_start = 0u; tile_start < n; tile_start += CANDIDATE_TILE) {
        var dots: array<f32, 32>;  // CANDIDATE_TILE
        for (var c = 0u; c < CANDIDATE_TILE; c++) {
            dots[c] = 0.0;
        }

        for (var chunk = 0u; chunk < chunks; chunk++) {
            let col0 = chunk * CHUNK_VEC4;
            // Queries of this workgroup: 256 vec4s, 4 per invocation.
            for (var s = local; s < QUERY_TILE * CHUNK_VEC4; s += QUERY_TILE) {
                let r = first_query + s / CHUNK_VEC4;
                let col = col0 + s % CHUNK_VEC4;
                var v = vec4<f32>(0.0);
                if r < n && col < row_vec4 {
                    v = rows[r * row_vec4 + col];
                }
                query_tile[s] = v;
            }
            // Candidates: 128 vec4s, 2 per invocation.
            for (var s = local; s < CANDIDATE_TILE * CHUNK_VEC4; s += QUERY_TILE) {
                let r = tile_start + s / CHUNK_VEC4;
                let col = col0 + s % CHUNK_VEC4;
                var v = vec4<f32>(0.0);
                if r < n && col < row_vec4 {
                    v = rows[r * row_vec4 + col];
                }
                candidate_tile[s] = v;
            }
            workgroupBarrier();

            let q0 = query_tile[local * CHUNK_VEC4 + 0u];
            let q1 = query_tile[local * CHUNK_VEC4 + 1u];
            let q2 = query_tile[local * CHUNK_VEC4 + 2u];
            let q3 = query_tile[local * CHUNK_VEC4 + 3u];
            for (var c = 0u; c < CANDIDATE_TILE; c++) {
                let base = c * CHUNK_VEC4;
                dots[c] += dot(q0, candidate_tile[base]) + dot(q1, candidate_tile[base + 1u])
                    + dot(q2, candidate_tile[base + 2u]) + dot(q3, candidate_tile[base + 3u]);
            }
            workgroupBarrier();
        }

        if valid {
            let tile_end = min(tile_start + CANDIDATE_TILE, n);
            for (var candidate = tile_start; candidate < tile_end; candidate++) {
                if candidate == query {
                    continue;
                }
                let dot_value = dots[candidate - tile_start];
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
        let out = query * k;
        for (var j = 0u; j < k; j++) {
            out_indices[out + j] = best_i[j];
            out_distances[out + j] = best_d[j];
        }
    }
}
