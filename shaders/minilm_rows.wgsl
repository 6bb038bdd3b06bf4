// Row-wise kernels of all-MiniLM-L6-v2 over rows of 384 values (src/semantic/
// gpu.rs drives them, src/semantic/cpu.rs is the reference):
//
// - `embed`: word[id] + token_type[0] + position[p], then the embeddings'
//   layer norm, for every token of the batch (word and position tables in
//   fp16, two halves per u32, unpacked as in minilm_matmul.wgsl);
// - `layer_norm`: (x - mean) / sqrt(var + 1e-12) * gamma + beta, var the
//   biased variance (two passes: mean first, then the centred squares);
// - `mean_pool`: the mean of a sentence's token rows (its attention mask:
//   the batch is packed without padding, sentence s = tokens offsets[s]..
//   offsets[s + 1]), L2-normalised (x / max(|x|, 1e-12), as PyTorch's
//   F.normalize), written at row output_row + s of the output.
//
// A workgroup of 128 invocations handles 4 rows, 32 invocations a row, each
// invocation 3 vec4s of it (quads lane, lane + 32, lane + 64: neighbouring
// invocations read neighbouring memory). Sums over a row go through
// workgroup memory in 5 halving steps.

const HIDDEN: f32 = 384.0;
const ROW_QUADS: u32 = 96u;     // 384 / 4
const LANES: u32 = 32u;         // invocations per row
const ROWS: u32 = 4u;           // rows per workgroup
const EPS: f32 = 1e-12;

struct Params {
    rows: u32,        // tokens of the batch
    cols: u32,
    depth: u32,
    epilogue: u32,
    sequences: u32,   // sentences of the batch
    output_row: u32,  // mean_pool: output row of the batch's first sentence
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;                  // embed: tokens
@group(0) @binding(2) var<storage, read> positions: array<u32>;            // embed: tokens
@group(0) @binding(3) var<storage, read> word: array<vec2<u32>>;           // embed: vocab x 96
@group(0) @binding(4) var<storage, read> position_table: array<vec2<u32>>; // embed: positions x 96
@group(0) @binding(5) var<storage, read> norm: array<vec4<f32>>;           // gamma (96), beta (96)[, token type 0 (96)]
@group(0) @binding(6) var<storage, read> x: array<vec4<f32>>;              // layer_norm, mean_pool: rows x 96
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;      // rows x 96
@group(0) @binding(8) var<storage, read> offsets: array<u32>;              // mean_pool: sequences + 1

var<workgroup> partial: array<f32, 128>;

// The sum of `value` over the 32 invocations of this invocation's row.
// Every invocation of the workgroup must call it (it has barriers).
fn row_sum(index: u32, value: f32) -> f32 {
    partial[index] = value;
    workgroupBarrier();
    let lane = index % LANES;
    for (var width = LANES / 2u; width > 0u; width = width / 2u) {
        if (lane < width) {
            partial[index] = partial[index] + partial[index + width];
        }
        workgroupBarrier();
    }
    let total = partial[index - lane];
    workgroupBarrier(); // everyone has read before `partial` is reused
    return total;
}

fn quad_sum(v: vec4<f32>) -> f32 {
    return v.x + v.y + v.z + v.w;
}

// Layer-normalises the row held as v0, v1, v2 (quads lane, lane + 32,
// lane + 64) and writes it to row `row` of `out` when `live`.
fn normalise_and_store(index: u32, live: bool, row: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>) {
    let lane = index % LANES;
    let mean = row_sum(index, quad_sum(v0) + quad_sum(v1) + quad_sum(v2)) / HIDDEN;
    let d0 = v0 - mean;
    let d1 = v1 - mean;
    let d2 = v2 - mean;
    let variance = row_sum(index, dot(d0, d0) + dot(d1, d1) + dot(d2, d2)) / HIDDEN;
    let scale = 1.0 / sqrt(variance + EPS);
    if (live) {
        let at = row * ROW_QUADS + lane;
        out[at] = d0 * scale * norm[lane] + norm[ROW_QUADS + lane];
        out[at + 32u] = d1 * scale * norm[lane + 32u] + norm[ROW_QUADS + lane + 32u];
        out[at + 64u] = d2 * scale * norm[lane + 64u] + norm[ROW_QUADS + lane + 64u];
    }
}

// Four fp16 values as f32, exactly (see unpack_halves in minilm_matmul.wgsl).
fn unpack4(h: vec2<u32>) -> vec4<f32> {
    let bits = vec4<u32>(h.x & 0xffffu, h.x >> 16u, h.y & 0xffffu, h.y >> 16u);
    let normal = bitcast<vec4<f32>>(((bits & vec4<u32>(0x7fffu)) << vec4<u32>(13u)) + vec4<u32>(0x38000000u));
    let subnormal = vec4<f32>(bits & vec4<u32>(0x3ffu)) * 5.960464477539063e-8;
    let magnitude = select(normal, subnormal, (bits & vec4<u32>(0x7c00u)) == vec4<u32>(0u));
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(magnitude) | ((bits & vec4<u32>(0x8000u)) << vec4<u32>(16u)));
}

@compute @workgroup_size(128)
fn embed(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) index: u32,
) {
    let row = group.x * ROWS + index / LANES;
    let lane = index % LANES;
    let live = row < params.rows;
    let r = min(row, params.rows - 1u);
    let word_base = ids[r] * ROW_QUADS + lane;
    let position_base = positions[r] * ROW_QUADS + lane;
    let token_type = 2u * ROW_QUADS + lane;
    // BERT's order: (word + token type) + position.
    let v0 = (unpack4(word[word_base]) + norm[token_type]) + unpack4(position_table[position_base]);
    let v1 = (unpack4(word[word_base + 32u]) + norm[token_type + 32u])
        + unpack4(position_table[position_base + 32u]);
    let v2 = (unpack4(word[word_base + 64u]) + norm[token_type + 64u])
        + unpack4(position_table[position_base + 64u]);
    normalise_and_store(index, live, row, v0, v1, v2);
}

@compute @workgroup_size(128)
fn layer_norm(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) index: u32,
) {
    let row = group.x * ROWS + index / LANES;
    let lane = index % LANES;
    let live = row < params.rows;
    let base = min(row, params.rows - 1u) * ROW_QUADS + lane;
    normalise_and_store(index, live, row, x[base], x[base + 32u], x[base + 64u]);
}

@compute @workgroup_size(128)
fn mean_pool(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) index: u32,
) {
    let sequence = group.x * ROWS + index / LANES;
    let lane = index % LANES;
    let live = sequence < params.sequences;
    let s = min(sequence, params.sequences - 1u);
    let start = offsets[s];
    let end = offsets[s + 1u];
    var v0 = vec4<f32>(0.0);
    var v1 = vec4<f32>(0.0);
    var v2 = vec4<f32>(0.0);
    for (var t = start; t < end; t = t + 1u) {
        let base = t * ROW_QUADS + lane;
        v0 = v0 + x[base];
        v1 = v1 + x[base + 32u];
        v2 = v2 + x[base + 64u];
    }
    // sentence-transformers: sum / max(count, 1e-9); an empty sentence stays 0.
    let count = max(f32(end - start), 1e-9);
    v0 = v0 / count;
    v1 = v1 / count;
    v2 = v2 / count;
    let norm_value = sqrt(row_sum(index, dot(v0, v0) + dot(v1, v1) + dot(v2, v2)));
    let scale = 1.0 / max(norm_value, EPS);
    if (live) {
        let at = (params.output_row + sequence) * ROW_QUADS + lane;
        out[at] = v0 * scale;
        out[at + 32u] = v1 * scale;
        out[at + 64u] = v2 * scale;
    }
}
