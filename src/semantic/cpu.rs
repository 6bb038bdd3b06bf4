//! all-MiniLM-L6-v2 on the CPU: the reference for the GPU path and the
//! fallback where there is no GPU (natively and in the browser's wasm).
//!
//! The network is BERT's encoder as sentence-transformers runs it: word +
//! position + token-type-0 embeddings and a layer norm; per layer,
//! multi-head self-attention (scaled dot product), output projection,
//! residual, layer norm, feed-forward with exact (erf) GELU, residual, layer
//! norm; then the mean of the token states and L2 normalisation.
//!
//! Speed: the sequences of a batch are packed one after another, without
//! padding, into one `tokens x hidden` matrix, so every linear layer is one
//! matrix product over the whole batch; only attention runs per sequence
//! (over that sequence's own tokens, which is what an additive padding mask
//! computes, without the wasted rows). Matrix products are cache blocked
//! (BLIS-style: packed weight panels, a register tile in explicit SIMD:
//! AVX2 + FMA picked at run time on x86-64, wasm simd128 in the web build,
//! plain Rust elsewhere). Working memory is
//! allocated once per call and reused; at most [`CHUNK_TOKENS`] tokens are
//! in flight at once, so memory stays bounded for any batch size.
//!
//! Per row, the result does not depend on the other rows of the batch: each
//! output element is summed in the same order wherever its row falls.

use super::weights::{Linear, MiniLm};

/// Most tokens encoded together (the sequences of a batch are split into
/// consecutive runs of at most this many tokens; a longer sequence goes
/// alone). Working memory is about 16 KB per token in flight.
pub const CHUNK_TOKENS: usize = 1024;

/// Embeds a batch of token id sequences (each with its [CLS] and [SEP], as
/// [`crate::semantic`]'s tokenizer writes them): `batch.len() x hidden`
/// values, row-major, each row L2-normalised (the mean of the token states
/// over the sequence's tokens).
///
/// A sequence longer than the model's position table (512) is cut to its
/// length; an id past the vocabulary counts as `[UNK]`; an empty sequence
/// gives a row of zeros.
pub fn embed_cpu(model: &MiniLm, batch: &[Vec<u32>]) -> Vec<f32> {
    let hidden = model.config.hidden_size;
    let mut out = vec![0f32; batch.len() * hidden];
    embed_into(model, batch, &mut out);
    out
}

/// [`embed_cpu`] on up to `threads` threads (native builds only): the batch
/// is split into consecutive runs of about equal token counts. The rows are
/// the same as [`embed_cpu`]'s, bit for bit.
#[cfg(not(target_arch = "wasm32"))]
pub fn embed_cpu_threads(model: &MiniLm, batch: &[Vec<u32>], threads: usize) -> Vec<f32> {
    let hidden = model.config.hidden_size;
    let mut out = vec![0f32; batch.len() * hidden];
    let total: usize = batch.iter().map(|s| sequence_len(model, s)).sum();
    let threads = threads.clamp(1, batch.len().max(1));
    if threads == 1 {
        embed_into(model, batch, &mut out);
        return out;
    }
    // Consecutive runs of about total / threads tokens each.
    let mut bounds = vec![0];
    let mut tokens = 0;
    for (i, sequence) in batch.iter().enumerate() {
        tokens += sequence_len(model, sequence);
        if tokens * threads >= total * bounds.len() && bounds.len() < threads && i + 1 < batch.len() {
            bounds.push(i + 1);
        }
    }
    bounds.push(batch.len());
    std::thread::scope(|scope| {
        let mut rest = out.as_mut_slice();
        for pair in bounds.windows(2) {
            let (mine, later) = std::mem::take(&mut rest).split_at_mut((pair[1] - pair[0]) * hidden);
            rest = later;
            let sequences = &batch[pair[0]..pair[1]];
            scope.spawn(move || embed_into(model, sequences, mine));
        }
    });
    out
}

fn sequence_len(model: &MiniLm, sequence: &[u32]) -> usize {
    sequence.len().min(model.config.max_position_embeddings)
}

fn embed_into(model: &MiniLm, batch: &[Vec<u32>], out: &mut [f32]) {
    let hidden = model.config.hidden_size;
    let mut work = Workspace::default();
    let mut start = 0;
    while start < batch.len() {
        let mut end = start;
        let mut tokens = 0;
        while end < batch.len() {
            let len = sequence_len(model, &batch[end]);
            if end > start && tokens + len > CHUNK_TOKENS {
                break;
            }
            tokens += len;
            end += 1;
        }
        encode_chunk(model, &batch[start..end], &mut work, &mut out[start * hidden..end * hidden]);
        start = end;
    }
}

/// Buffers reused across chunks and layers.
#[derive(Default)]
struct Workspace {
    /// Hidden states, `tokens x hidden`.
    states: Vec<f32>,
    query: Vec<f32>,
    key: Vec<f32>,
    value: Vec<f32>,
    /// Attention output, then the projections' output (`tokens x hidden`).
    context: Vec<f32>,
    projected: Vec<f32>,
    /// Feed-forward activations, `tokens x intermediate`.
    intermediate: Vec<f32>,
    /// Packed weight panels of the current matrix product.
    panels: Vec<f32>,
    /// Attention: one head's keys transposed (`head_dim x len`, rows
    /// padded to a multiple of [`LANES`]), one row of scores.
    keys_t: Vec<f32>,
    scores: Vec<f32>,
}

fn resize(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}

/// Encodes one chunk. On x86-64 with AVX2 and FMA the whole chunk runs in
/// a copy compiled for them, so that the loops LLVM vectorises (attention,
/// layer norms, GELU) use 8 lanes instead of SSE2's 4; the matrix products
/// pick their own tile either way.
fn encode_chunk(model: &MiniLm, batch: &[Vec<u32>], work: &mut Workspace, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { encode_chunk_avx2(model, batch, work, out) };
            return;
        }
    }
    encode_chunk_impl(model, batch, work, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn encode_chunk_avx2(model: &MiniLm, batch: &[Vec<u32>], work: &mut Workspace, out: &mut [f32]) {
    encode_chunk_impl(model, batch, work, out);
}

#[inline(always)]
fn encode_chunk_impl(model: &MiniLm, batch: &[Vec<u32>], work: &mut Workspace, out: &mut [f32]) {
    let config = &model.config;
    let hidden = config.hidden_size;
    let eps = config.layer_norm_eps as f32;
    // (first row, length) of each sequence in the packed matrix.
    let mut spans = Vec::with_capacity(batch.len());
    let mut tokens = 0;
    for sequence in batch {
        let len = sequence_len(model, sequence);
        spans.push((tokens, len));
        tokens += len;
    }
    let longest = spans.iter().map(|s| s.1).max().unwrap_or(0);
    for buffer in
        [&mut work.states, &mut work.query, &mut work.key, &mut work.value, &mut work.context, &mut work.projected]
    {
        resize(buffer, tokens * hidden);
    }
    resize(&mut work.intermediate, tokens * config.intermediate_size);
    let longest_padded = longest.div_ceil(LANES) * LANES;
    resize(&mut work.keys_t, config.head_dim() * longest_padded);
    resize(&mut work.scores, longest_padded);

    // Embeddings: word + position + token type 0, then the layer norm.
    let states = &mut work.states[..tokens * hidden];
    let token_type = &model.token_type[..hidden];
    for (sequence, &(first, len)) in batch.iter().zip(&spans) {
        for (position, &id) in sequence[..len].iter().enumerate() {
            let id = if (id as usize) < config.vocab_size { id } else { model.unk_id } as usize;
            let word = &model.word[id * hidden..(id + 1) * hidden];
            let place = &model.position[position * hidden..(position + 1) * hidden];
            let row = &mut states[(first + position) * hidden..(first + position + 1) * hidden];
            for (((x, w), p), t) in row.iter_mut().zip(word).zip(place).zip(token_type) {
                *x = w + p + t;
            }
            layer_norm(row, &model.emb_ln.0, &model.emb_ln.1, eps);
        }
    }

    let heads = config.num_attention_heads;
    let size = tokens * hidden;
    let wide = tokens * config.intermediate_size;
    for layer in &model.layers {
        let states = &work.states[..size];
        linear(states, tokens, &layer.q, &mut work.query[..size], &mut work.panels);
        linear(states, tokens, &layer.k, &mut work.key[..size], &mut work.panels);
        linear(states, tokens, &layer.v, &mut work.value[..size], &mut work.panels);
        attention(work, &spans, hidden, heads);
        linear(&work.context[..size], tokens, &layer.o, &mut work.projected[..size], &mut work.panels);
        add_layer_norm(&mut work.states[..size], &work.projected[..size], &layer.ln1, hidden, eps);
        let intermediate = &mut work.intermediate[..wide];
        linear(&work.states[..size], tokens, &layer.ffn_in, intermediate, &mut work.panels);
        gelu(intermediate);
        linear(intermediate, tokens, &layer.ffn_out, &mut work.projected[..size], &mut work.panels);
        add_layer_norm(&mut work.states[..size], &work.projected[..size], &layer.ln2, hidden, eps);
    }

    // Mean over each sequence's tokens, then L2 normalisation.
    for (&(first, len), row) in spans.iter().zip(out.chunks_exact_mut(hidden)) {
        row.fill(0.0);
        if len == 0 {
            continue;
        }
        for state in work.states[first * hidden..(first + len) * hidden].chunks_exact(hidden) {
            for (o, s) in row.iter_mut().zip(state) {
                *o += s;
            }
        }
        let inverse = 1.0 / len as f32;
        row.iter_mut().for_each(|o| *o *= inverse);
        let norm = dot(row, row).sqrt().max(1e-12);
        row.iter_mut().for_each(|o| *o /= norm);
    }
}

/// Self-attention of every sequence and head: `work.context` from
/// `work.query`, `work.key`, `work.value`.
#[inline(always)]
fn attention(work: &mut Workspace, spans: &[(usize, usize)], hidden: usize, heads: usize) {
    let head_dim = hidden / heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    for &(first, len) in spans {
        for head in 0..heads {
            let column = head * head_dim;
            // This head's keys, transposed, rows padded with zeros to a
            // multiple of the vector width: keys_t[d * stride + j] = key_j[d].
            let stride = len.div_ceil(LANES) * LANES;
            let keys_t = &mut work.keys_t[..head_dim * stride];
            keys_t.fill(0.0);
            for j in 0..len {
                let key = &work.key[(first + j) * hidden + column..][..head_dim];
                for (d, &k) in key.iter().enumerate() {
                    keys_t[d * stride + j] = k;
                }
            }
            for i in 0..len {
                let query = &work.query[(first + i) * hidden + column..][..head_dim];
                let padded = &mut work.scores[..stride];
                padded.fill(0.0);
                for (d, &q) in query.iter().enumerate() {
                    let q = q * scale;
                    for (s, &k) in padded.iter_mut().zip(&keys_t[d * stride..(d + 1) * stride]) {
                        *s += q * k;
                    }
                }
                let scores = &mut padded[..len];
                softmax(scores);
                let context = &mut work.context[(first + i) * hidden + column..][..head_dim];
                context.fill(0.0);
                for (j, &p) in scores.iter().enumerate() {
                    let value = &work.value[(first + j) * hidden + column..][..head_dim];
                    for (c, &v) in context.iter_mut().zip(value) {
                        *c += p * v;
                    }
                }
            }
        }
    }
}

/// In place: exp(x - max) / sum.
#[inline(always)]
fn softmax(row: &mut [f32]) {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for x in row.iter_mut() {
        *x = exp(*x - max);
    }
    let sum = sum(row);
    let inverse = 1.0 / sum;
    row.iter_mut().for_each(|x| *x *= inverse);
}

/// `states = layer_norm(states + delta)`, row by row.
#[inline(always)]
fn add_layer_norm(states: &mut [f32], delta: &[f32], norm: &(Vec<f32>, Vec<f32>), hidden: usize, eps: f32) {
    for (row, d) in states.chunks_exact_mut(hidden).zip(delta.chunks_exact(hidden)) {
        for (x, y) in row.iter_mut().zip(d) {
            *x += y;
        }
        layer_norm(row, &norm.0, &norm.1, eps);
    }
}

/// PyTorch's LayerNorm of one row: (x - mean) / sqrt(biased variance + eps)
/// * gamma + beta.
#[inline(always)]
fn layer_norm(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let mut lanes = [0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(chunk) {
            let centred = x - mean;
            *l += centred * centred;
        }
    }
    let mut variance: f32 = chunks.remainder().iter().map(|&x| (x - mean) * (x - mean)).sum();
    variance += lanes.iter().sum::<f32>();
    let inverse = 1.0 / (variance / n + eps).sqrt();
    for ((x, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *x = (*x - mean) * inverse * g + b;
    }
}

/// Lanes of the vectorisable reductions (sums in this many partial sums).
const LANES: usize = 8;

#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(chunk) {
            *l += x;
        }
    }
    chunks.remainder().iter().sum::<f32>() + lanes.iter().sum::<f32>()
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let mut chunks_a = a.chunks_exact(LANES);
    let mut chunks_b = b.chunks_exact(LANES);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        for ((l, &x), &y) in lanes.iter_mut().zip(ca).zip(cb) {
            *l += x * y;
        }
    }
    let rest: f32 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    rest + lanes.iter().sum::<f32>()
}

/// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), in place.
#[inline(always)]
fn gelu(values: &mut [f32]) {
    for x in values.iter_mut() {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The error function in f32, branch-free so that it vectorises: a rational
/// approximation x P(x^2) / Q(x^2) on [-4, 4] (the coefficients of Eigen's
/// and XLA's f32 erf), clamped outside, where |erf| rounds to 1 anyway.
/// Absolute error below 5e-7 (measured against f64 on a 6e-6 grid of
/// [-6, 6]).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906_3e-4;
    p = p * x2 + -2.954_600_2e-3;
    p = p * x2 + -1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329_2e-3;
    q = q * x2 + -1.426_474e-2;
    x * p / q
}

/// e^x in f32, branch-free so that it vectorises (Cephes' expf: x = n ln 2 +
/// r with |r| <= ln 2 / 2, a degree-6 polynomial for e^r, 2^n by exponent
/// bits). Relative error about 2e-7; inputs below -87.3 give 0 (softmax
/// only ever passes x <= 0).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    // Round x / ln 2 to the nearest integer by the 1.5 * 2^23 trick (no
    // round() call: SSE2 has no vector rounding).
    const SHIFTER: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // 2^n: n in [-126, 128) after the clamp; build its bits directly. For
    // n = -126 - 1 (x near -87.3) the product is still a normal number.
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(SHIFTER.to_bits() as i32);
    let two_n = f32::from_bits(((n_bits + 127).clamp(1, 254) as u32) << 23);
    e_r * two_n
}

// ------------------------------------------------------------------ matmul

/// `out[m x lin.out] = a[m x lin.inp] W^T + b`.
fn linear(a: &[f32], m: usize, lin: &Linear, out: &mut [f32], panels: &mut Vec<f32>) {
    gemm_bt(&a[..m * lin.inp], m, lin.inp, &lin.weight, Some(&lin.bias), lin.out, &mut out[..m * lin.out], panels);
}

/// `c[m x n] = a[m x k] · w[n x k]^T (+ bias[n])`, with the fastest
/// register tile this CPU runs.
#[allow(clippy::too_many_arguments)]
fn gemm_bt(
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    c: &mut [f32],
    panels: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above), all
            // that tile_avx2 needs.
            unsafe { gemm_blocked::<6, 16>(a, m, k, w, bias, n, c, panels, tile_avx2) };
            return;
        }
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        // SAFETY: this build targets wasm SIMD (simd128 enabled at compile time).
        unsafe { gemm_blocked::<4, 8>(a, m, k, w, bias, n, c, panels, tile_simd128) };
        return;
    }
    #[allow(unreachable_code)]
    // SAFETY: tile_portable is plain Rust.
    unsafe {
        gemm_blocked::<4, 8>(a, m, k, w, bias, n, c, panels, tile_portable::<4, 8>)
    };
}

/// A register tile: `out[r][j] = sum over p < kc of a[r][p] * panel[p NR + j]`
/// (each row of `a` holds at least `kc` values, the panel `kc * NR`).
/// Unsafe because a tile may use instructions the CPU must have.
type Tile<const MR: usize, const NR: usize> = unsafe fn(usize, &[&[f32]; MR], &[f32], &mut [[f32; NR]; MR]);

/// Depth of one block of the k loop: a `KC x NR` slice of a packed panel
/// stays in L1 while every tile of a row block meets it.
const KC: usize = 256;
/// Rows of `a` per block (`MC x KC` floats stay in L2); a multiple of the
/// tiles' 4 and 6 rows.
const MC: usize = 72;

/// The blocked product (BLIS-like, without packing `a`); `MR x NR` is the
/// register tile. Each output element is summed in the same order
/// (k ascending within a block, blocks in order, bias first) wherever its
/// row and column fall in the tiling.
///
/// # Safety
/// `tile` must be runnable on this CPU.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_blocked<const MR: usize, const NR: usize>(
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    c: &mut [f32],
    panels: &mut Vec<f32>,
    tile: Tile<MR, NR>,
) {
    assert!(a.len() >= m * k && w.len() >= n * k && c.len() >= m * n && bias.is_none_or(|b| b.len() >= n));
    let panel_count = n.div_ceil(NR);
    let mut acc = [[0f32; NR]; MR];
    // Pack w into panels of NR columns of the product, once per call:
    // panel j holds, for each p < k, w[j NR + 0..NR][p] (zeros past n), so a
    // k block of a panel is one contiguous run of kc * NR values.
    resize(panels, panel_count * k * NR);
    for (j, panel) in panels[..panel_count * k * NR].chunks_exact_mut(k * NR).enumerate() {
        for col in 0..NR {
            let row = j * NR + col;
            if row < n {
                for (p, &value) in w[row * k..(row + 1) * k].iter().enumerate() {
                    panel[p * NR + col] = value;
                }
            } else {
                for p in 0..k {
                    panel[p * NR + col] = 0.0;
                }
            }
        }
    }
    if k == 0 {
        // No products: the bias (or zeros).
        for row in c[..m * n].chunks_exact_mut(n.max(1)) {
            match bias {
                Some(bias) => row.copy_from_slice(&bias[..n]),
                None => row.fill(0.0),
            }
        }
        return;
    }
    // Loop order: a block of MC rows of a (in L2), then each panel, then
    // its k blocks (a KC x NR slice in L1, met by every MR-row tile of the
    // block), so the output block MC x NR stays in L1 across k blocks.
    for block_m in (0..m).step_by(MC) {
        let rows_end = (block_m + MC).min(m);
        for (j, panel) in panels[..panel_count * k * NR].chunks_exact(k * NR).enumerate() {
            let col0 = j * NR;
            let cols = NR.min(n - col0);
            for block_k in (0..k).step_by(KC) {
                let kc = KC.min(k - block_k);
                let slice = &panel[block_k * NR..(block_k + kc) * NR];
                for row0 in (block_m..rows_end).step_by(MR) {
                    let rows = MR.min(rows_end - row0);
                    // Rows past the end repeat the last row (computed, never stored).
                    let a_rows: [&[f32]; MR] = std::array::from_fn(|r| {
                        let row = row0 + r.min(rows - 1);
                        &a[row * k + block_k..row * k + block_k + kc]
                    });
                    // SAFETY: the caller vouches for the CPU; the rows hold
                    // kc values and the slice kc * NR (sliced just above).
                    unsafe { tile(kc, &a_rows, slice, &mut acc) };
                    store_tile(&acc, rows, c, n, row0, col0, cols, block_k == 0, bias);
                }
            }
        }
    }
}

/// Adds a finished tile to `c` (or writes bias + tile in the first k block).
#[inline]
#[allow(clippy::too_many_arguments)]
fn store_tile<const MR: usize, const NR: usize>(
    acc: &[[f32; NR]; MR],
    rows: usize,
    c: &mut [f32],
    n: usize,
    row0: usize,
    col0: usize,
    cols: usize,
    first: bool,
    bias: Option<&[f32]>,
) {
    for (r, acc_row) in acc.iter().enumerate().take(rows) {
        let out = &mut c[(row0 + r) * n + col0..(row0 + r) * n + col0 + cols];
        if first {
            match bias {
                Some(bias) => {
                    for ((o, &s), &b) in out.iter_mut().zip(acc_row).zip(&bias[col0..col0 + cols]) {
                        *o = b + s;
                    }
                }
                None => out.copy_from_slice(&acc_row[..cols]),
            }
        } else {
            for (o, &s) in out.iter_mut().zip(acc_row) {
                *o += s;
            }
        }
    }
}

/// The tile in plain Rust (any CPU): separate multiply and add, the same
/// rounding as the wasm tile.
unsafe fn tile_portable<const MR: usize, const NR: usize>(
    kc: usize,
    a: &[&[f32]; MR],
    panel: &[f32],
    out: &mut [[f32; NR]; MR],
) {
    *out = [[0f32; NR]; MR];
    for (p, b) in panel[..kc * NR].chunks_exact(NR).enumerate() {
        for r in 0..MR {
            let x = a[r][p];
            for (o, &y) in out[r].iter_mut().zip(b) {
                *o += x * y;
            }
        }
    }
}

/// 6 x 16 tile in AVX2 + FMA (the shape of BLIS's Haswell kernel): 12
/// accumulators of 8 lanes, 2 panel loads and one broadcast per row and
/// step: 15 of the 16 vector registers, no spills.
///
/// # Safety
/// The CPU must have AVX2 and FMA; each row of `a` holds `kc` values, the
/// panel `kc * 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(kc: usize, a: &[&[f32]; 6], panel: &[f32], out: &mut [[f32; 16]; 6]) {
    use std::arch::x86_64::*;
    debug_assert!(a.iter().all(|row| row.len() >= kc) && panel.len() >= kc * 16);
    let rows = a.map(|row| row.as_ptr());
    let b = panel.as_ptr();
    let mut c = [[_mm256_setzero_ps(); 2]; 6];
    for p in 0..kc {
        // SAFETY: p < kc: inside every row and the panel (see the contract).
        unsafe {
            let b0 = _mm256_loadu_ps(b.add(p * 16));
            let b1 = _mm256_loadu_ps(b.add(p * 16 + 8));
            for (row, acc) in rows.iter().zip(c.iter_mut()) {
                let x = _mm256_broadcast_ss(&*row.add(p));
                acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
            }
        }
    }
    for (row, acc) in out.iter_mut().zip(&c) {
        for (chunk, v) in row.chunks_exact_mut(8).zip(acc) {
            // SAFETY: chunk holds 8 floats.
            unsafe { _mm256_storeu_ps(chunk.as_mut_ptr(), *v) };
        }
    }
}

/// 4 x 8 tile in wasm SIMD (simd128: 4 lanes, no fused multiply-add): 8
/// accumulators, 2 panel loads and one splat per row and step.
///
/// # Safety
/// Each row of `a` holds `kc` values, the panel `kc * 8`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
unsafe fn tile_simd128(kc: usize, a: &[&[f32]; 4], panel: &[f32], out: &mut [[f32; 8]; 4]) {
    use std::arch::wasm32::*;
    debug_assert!(a.iter().all(|row| row.len() >= kc) && panel.len() >= kc * 8);
    let (a0, a1, a2, a3) = (a[0].as_ptr(), a[1].as_ptr(), a[2].as_ptr(), a[3].as_ptr());
    let b = panel.as_ptr();
    let mut c = [[f32x4_splat(0.0); 2]; 4];
    for p in 0..kc {
        // SAFETY: p < kc: inside every row and the panel (see the contract).
        unsafe {
            let b0 = v128_load(b.add(p * 8) as *const v128);
            let b1 = v128_load(b.add(p * 8 + 4) as *const v128);
            for (row, acc) in [a0, a1, a2, a3].into_iter().zip(c.iter_mut()) {
                let x = f32x4_splat(*row.add(p));
                acc[0] = f32x4_add(acc[0], f32x4_mul(x, b0));
                acc[1] = f32x4_add(acc[1], f32x4_mul(x, b1));
            }
        }
    }
    for (row, acc) in out.iter_mut().zip(&c) {
        for (chunk, v) in row.chunks_exact_mut(4).zip(acc) {
            // SAFETY: chunk holds 4 floats.
            unsafe { v128_store(chunk.as_mut_ptr() as *mut v128, *v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::weights::{Config, Layer};

    /// Seeded xorshift: reproducible weights without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
            (0..n).map(|_| self.next() * scale).collect()
        }
    }

    fn naive_gemm(a: &[f32], m: usize, k: usize, w: &[f32], bias: &[f32], n: usize) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = bias[j] as f64 + (0..k).map(|p| a[i * k + p] as f64 * w[j * k + p] as f64).sum::<f64>();
            }
        }
        c
    }

    #[test]
    fn blocked_products_match_the_naive_product() {
        let mut rng = Rng(7);
        // Sizes around every edge: rows not a multiple of MR or MC, columns
        // not a multiple of NR, depth beyond one KC block.
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (5, 384, 40), (70, 600, 53), (130, 257, 24)] {
            let a = rng.vec(m * k, 1.0);
            let w = rng.vec(n * k, 1.0);
            let bias = rng.vec(n, 1.0);
            let want = naive_gemm(&a, m, k, &w, &bias, n);
            let mut panels = Vec::new();
            let mut got = vec![f32::NAN; m * n];
            gemm_bt(&a, m, k, &w, Some(&bias), n, &mut got, &mut panels);
            let mut portable = vec![f32::NAN; m * n];
            // SAFETY: the portable tile is plain Rust.
            unsafe {
                gemm_blocked::<4, 8>(&a, m, k, &w, Some(&bias), n, &mut portable, &mut panels, tile_portable::<4, 8>)
            };
            for (i, ((&g, &p), &e)) in got.iter().zip(&portable).zip(&want).enumerate() {
                let tolerance = 1e-5 * (k as f64).sqrt() * 4.0;
                assert!((g as f64 - e).abs() < tolerance, "({m},{k},{n}) [{i}]: {g} vs {e}");
                assert!((p as f64 - e).abs() < tolerance, "({m},{k},{n}) [{i}]: {p} vs {e}");
            }
        }
    }

    #[test]
    fn erf_and_exp_are_accurate() {
        let mut worst_erf = 0f64;
        let mut worst_exp = 0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4;
            worst_erf = worst_erf.max((erf(x) as f64 - erf_f64(x as f64)).abs());
            let y = i as f32 * 1.4e-3; // [-84, 84]
            let e = (y as f64).exp();
            worst_exp = worst_exp.max(((exp(y) as f64) - e).abs() / e);
        }
        assert!(worst_erf < 6e-7, "erf error {worst_erf}");
        assert!(worst_exp < 4e-7, "exp relative error {worst_exp}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(10.0), erf(4.0));
        assert!(exp(-200.0) < 1e-37 && exp(-200.0) >= 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    /// erf in f64 by its Taylor series (|x| < 3) and continued fraction.
    fn erf_f64(x: f64) -> f64 {
        if x.abs() < 3.0 {
            let mut term = x;
            let mut total = x;
            for n in 1..200 {
                term *= -x * x / n as f64;
                total += term / (2 * n + 1) as f64;
            }
            total * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc by Lentz's continued fraction.
            let z = x.abs();
            let mut f = z;
            for n in (1..200).rev() {
                f = z + (n as f64 / 2.0) / f;
            }
            let erfc = (-z * z).exp() / (f * std::f64::consts::PI.sqrt());
            (1.0 - erfc).copysign(x)
        }
    }

    fn random_model(seed: u64, hidden: usize, heads: usize, intermediate: usize, layer_count: usize) -> MiniLm {
        let mut rng = Rng(seed);
        let vocab_size = 50;
        let positions = 40;
        let linear = |rng: &mut Rng, out: usize, inp: usize| Linear {
            weight: rng.vec(out * inp, 1.0 / (inp as f32).sqrt()),
            bias: rng.vec(out, 0.1),
            out,
            inp,
        };
        let norm = |rng: &mut Rng| ((0..hidden).map(|_| 1.0 + 0.2 * rng.next()).collect(), rng.vec(hidden, 0.1));
        let layers = (0..layer_count)
            .map(|_| Layer {
                q: linear(&mut rng, hidden, hidden),
                k: linear(&mut rng, hidden, hidden),
                v: linear(&mut rng, hidden, hidden),
                o: linear(&mut rng, hidden, hidden),
                ln1: norm(&mut rng),
                ffn_in: linear(&mut rng, intermediate, hidden),
                ffn_out: linear(&mut rng, hidden, intermediate),
                ln2: norm(&mut rng),
            })
            .collect();
        MiniLm {
            config: Config {
                vocab_size,
                hidden_size: hidden,
                num_hidden_layers: layer_count,
                num_attention_heads: heads,
                intermediate_size: intermediate,
                max_position_embeddings: positions,
                type_vocab_size: 2,
                layer_norm_eps: 1e-12,
                max_seq_length: positions,
            },
            vocab: (0..vocab_size).map(|i| format!("t{i}\n")).collect(),
            unk_id: 1,
            word: rng.vec(vocab_size * hidden, 1.0),
            position: rng.vec(positions * hidden, 0.5),
            token_type: rng.vec(2 * hidden, 0.1),
            emb_ln: norm(&mut rng),
            layers,
        }
    }

    /// The network as PyTorch computes it, in f64: sequences padded to the
    /// longest, an additive mask on padded keys, mean over the mask.
    fn reference(model: &MiniLm, batch: &[Vec<u32>]) -> Vec<f64> {
        let c = &model.config;
        let (h, heads) = (c.hidden_size, c.num_attention_heads);
        let hd = h / heads;
        let longest = batch.iter().map(|s| s.len()).max().unwrap();
        let ln = |x: &mut [f64], g: &[f32], b: &[f32]| {
            let mean = x.iter().sum::<f64>() / h as f64;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / h as f64;
            for (i, v) in x.iter_mut().enumerate() {
                *v = (*v - mean) / (var + c.layer_norm_eps).sqrt() * g[i] as f64 + b[i] as f64;
            }
        };
        let lin = |x: &[f64], l: &Linear| -> Vec<f64> {
            (0..l.out)
                .map(|o| l.bias[o] as f64 + (0..l.inp).map(|i| x[i] * l.weight[o * l.inp + i] as f64).sum::<f64>())
                .collect()
        };
        let mut out = Vec::new();
        for seq in batch {
            let mask: Vec<f64> = (0..longest).map(|j| if j < seq.len() { 0.0 } else { f64::MIN }).collect();
            let mut x: Vec<Vec<f64>> = (0..longest)
                .map(|p| {
                    let id = seq.get(p).copied().unwrap_or(0) as usize;
                    let mut row: Vec<f64> = (0..h)
                        .map(|d| (model.word[id * h + d] + model.position[p * h + d] + model.token_type[d]) as f64)
                        .collect();
                    ln(&mut row, &model.emb_ln.0, &model.emb_ln.1);
                    row
                })
                .collect();
            for layer in &model.layers {
                let q: Vec<Vec<f64>> = x.iter().map(|r| lin(r, &layer.q)).collect();
                let k: Vec<Vec<f64>> = x.iter().map(|r| lin(r, &layer.k)).collect();
                let v: Vec<Vec<f64>> = x.iter().map(|r| lin(r, &layer.v)).collect();
                let mut ctx = vec![vec![0f64; h]; longest];
                for head in 0..heads {
                    for i in 0..longest {
                        let s: Vec<f64> = (0..longest)
                            .map(|j| {
                                (0..hd).map(|d| q[i][head * hd + d] * k[j][head * hd + d]).sum::<f64>()
                                    / (hd as f64).sqrt()
                                    + mask[j]
                            })
                            .collect();
                        let max = s.iter().cloned().fold(f64::MIN, f64::max);
                        let e: Vec<f64> = s.iter().map(|v| (v - max).exp()).collect();
                        let total: f64 = e.iter().sum();
                        for d in 0..hd {
                            ctx[i][head * hd + d] = (0..longest).map(|j| e[j] / total * v[j][head * hd + d]).sum();
                        }
                    }
                }
                for i in 0..longest {
                    let a = lin(&ctx[i], &layer.o);
                    let mut r: Vec<f64> = x[i].iter().zip(&a).map(|(p, q)| p + q).collect();
                    ln(&mut r, &layer.ln1.0, &layer.ln1.1);
                    let f: Vec<f64> =
                        lin(&r, &layer.ffn_in).iter().map(|&z| 0.5 * z * (1.0 + erf_f64(z / 2f64.sqrt()))).collect();
                    let o = lin(&f, &layer.ffn_out);
                    let mut y: Vec<f64> = r.iter().zip(&o).map(|(p, q)| p + q).collect();
                    ln(&mut y, &layer.ln2.0, &layer.ln2.1);
                    x[i] = y;
                }
            }
            let mut pooled = vec![0f64; h];
            for row in x.iter().take(seq.len()) {
                for d in 0..h {
                    pooled[d] += row[d] / seq.len() as f64;
                }
            }
            let norm = pooled.iter().map(|v| v * v).sum::<f64>().sqrt();
            out.extend(pooled.iter().map(|v| v / norm));
        }
        out
    }

    #[test]
    fn packed_batches_match_the_padded_masked_network() {
        // hidden 40 = 4 heads of 10: column tiles of 24 leave a remainder.
        let model = random_model(11, 40, 4, 72, 2);
        let mut rng = Rng(5);
        let batch: Vec<Vec<u32>> = [1usize, 2, 7, 33, 40, 3, 12]
            .iter()
            .map(|&len| (0..len).map(|_| ((rng.next() + 1.0) * 24.99) as u32).collect())
            .collect();
        let got = embed_cpu(&model, &batch);
        let want = reference(&model, &batch);
        for (i, (g, w)) in got.chunks(40).zip(want.chunks(40)).enumerate() {
            let cos: f64 = g.iter().zip(w).map(|(&a, &b)| a as f64 * b).sum();
            let worst = g.iter().zip(w).map(|(&a, &b)| (a as f64 - b).abs()).fold(0.0, f64::max);
            assert!(cos > 0.99999 && worst < 1e-4, "sequence {i}: cos {cos}, worst {worst}");
        }
        // Alone or in a batch, in any company: the same rows, bit for bit.
        for (i, sequence) in batch.iter().enumerate() {
            assert_eq!(embed_cpu(&model, std::slice::from_ref(sequence)), got[i * 40..(i + 1) * 40]);
        }
        #[cfg(not(target_arch = "wasm32"))]
        assert_eq!(embed_cpu_threads(&model, &batch, 3), got);
    }

    #[test]
    fn odd_inputs_give_defined_rows() {
        let model = random_model(3, 24, 2, 48, 1);
        let too_long: Vec<u32> = (0..100).map(|i| i % 50).collect();
        let got = embed_cpu(&model, &[vec![], vec![2, 999_999, 3], too_long.clone(), too_long[..40].to_vec()]);
        assert!(got[..24].iter().all(|&v| v == 0.0), "empty sequence: zeros");
        // An id past the vocabulary reads as [UNK] (id 1 here).
        assert_eq!(got[24..48], embed_cpu(&model, &[vec![2, 1, 3]])[..]);
        // A sequence past the position table is cut to it.
        assert_eq!(got[48..72], got[72..96]);
        assert!(embed_cpu(&model, &[]).is_empty());
    }
}
