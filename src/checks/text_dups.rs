//! Exact and near duplicate texts in a free-text column: MinHash over
//! character 5-grams, LSH banding, candidate pairs verified by exact Jaccard
//! of the shingle sets, groups by union-find.
//!
//! Per column:
//!
//! 1. **Exact duplicates**: rows whose text is identical byte for byte
//!    (xxh3-128 of the text), reported on their own.
//! 2. **Normalisation** before shingling (see [`normalize`]): lower case
//!    (Unicode), runs of white space collapsed to one space, leading and
//!    trailing white space removed. Punctuation, digits and accents are kept:
//!    they are part of what makes two texts differ. Texts equal after
//!    normalisation are hashed once and are near duplicates of Jaccard 1.
//! 3. **Shingles**: the overlapping character 5-grams (Unicode scalar values)
//!    of the normalised text, each hashed with xxh3-64. A text shorter than 5
//!    characters is one shingle (the whole text): it only matches texts
//!    equal to it after normalisation. A text empty after normalisation
//!    (white space only) takes part in exact duplicates only.
//! 4. **MinHash**: 128 values per text, 32-bit: value `p` is the minimum over
//!    the text's shingles `x` (the xxh3-64 hash folded to 32 bits) of
//!    `fmix32(a_p x + b_p mod 2^32)`, murmur3's finaliser, a bijection; `a_p`
//!    (odd) and `b_p` come from a seeded generator ([`Permutations`]). The
//!    same arithmetic runs on the GPU (`shaders/minhash.wgsl`) and gives the
//!    same bits.
//! 5. **LSH**: the signature is cut into `b` bands of `r` values; texts that
//!    agree on a whole band share a bucket and become a candidate pair. `b`
//!    and `r` minimise `0.1 x` the false-positive area plus `0.9 x` the
//!    false-negative area of the S-curve `1 - (1 - s^r)^b` around the
//!    threshold (datasketch's rule, weighted towards recall because every
//!    candidate is verified): 20 x 6 for 0.7.
//! 6. **Verification**: each candidate pair (once, in the first band where it
//!    collides) is kept when the exact Jaccard similarity of the two shingle
//!    sets (as 64-bit hashes) is at least the threshold.
//! 7. **Groups**: union-find over the kept pairs; a near group is a
//!    connected set of rows holding at least two distinct texts.

use std::collections::HashMap;

use super::duplicates::{groups_by_key, GROUP_EXAMPLES, ROWS_PER_GROUP};
use crate::error::Result;
use crate::ingest::{Cell, Column, Table};
use crate::report::{TextDuplicateGroups, TextDuplicates, TextExample, TextGroup};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64, xxh3_64_with_seed};

/// Characters per shingle.
pub const SHINGLE_SIZE: usize = 5;
/// MinHash values per text.
pub const PERMUTATIONS: usize = 128;
/// Default Jaccard similarity from which two texts are near duplicates.
pub const DEFAULT_THRESHOLD: f64 = 0.7;
/// Weight of the false-positive area when choosing bands (see the module docs).
pub const FALSE_POSITIVE_WEIGHT: f64 = 0.1;
/// Weight of the false-negative area when choosing bands.
pub const FALSE_NEGATIVE_WEIGHT: f64 = 0.9;
/// Distinct texts shown per group in the report.
pub const TEXTS_PER_GROUP: usize = 10;
/// Characters of each text shown in the report.
pub const TEXT_CHARS: usize = 1000;
/// Candidate pairs verified before pairs whose texts are already joined are
/// skipped (keeps pathological inputs, thousands of templated texts, bounded).
pub const MAX_VERIFIED_PAIRS: u64 = 2_000_000;
/// Within one LSH bucket (sorted by text), a text is paired with at most
/// this many texts before it.
pub const BUCKET_WINDOW: usize = 256;
/// Shingles per batch of signatures (one GPU upload and readback each).
pub const BATCH_SHINGLES: usize = 1 << 22;
/// Texts per batch: 32 MiB of signatures, well within WebGPU's smallest
/// storage binding limit (128 MiB).
pub const BATCH_TEXTS: usize = 1 << 16;
/// Seed of the MinHash permutations: changing it changes every signature.
const PERMUTATION_SEED: u64 = 0x5052_4546_4c49_4748;

/// Normalisation, in words, for the report.
pub const NORMALIZATION: &str = "lower case (Unicode); runs of white space collapsed to one space; leading and \
    trailing white space removed; punctuation, digits and accents kept";

/// The text as it is shingled: lower case, white space collapsed and trimmed.
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        // The same result without the Unicode tables: ASCII lower case, and
        // the ASCII characters Unicode calls white space (tab, line feed,
        // vertical tab, form feed, carriage return, space).
        let mut out = String::with_capacity(text.len());
        let mut gap = false;
        for &b in text.as_bytes() {
            if matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
                gap = true;
                continue;
            }
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(b.to_ascii_lowercase() as char);
        }
        return out;
    }
    normalize_unicode(text)
}

/// [`normalize`] by the Unicode rules, for any text.
fn normalize_unicode(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    for word in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Appends the xxh3-64 hash of every character 5-gram of `normalized`, in
/// order, repeats kept; a shorter non-empty text is one shingle (itself).
pub fn shingle_hashes(normalized: &str, out: &mut Vec<u64>) {
    let bytes = normalized.as_bytes();
    if normalized.is_ascii() {
        // A character a byte.
        if bytes.len() < SHINGLE_SIZE {
            out.extend((!bytes.is_empty()).then(|| xxh3_64(bytes)));
        } else {
            out.extend(bytes.windows(SHINGLE_SIZE).map(xxh3_64));
        }
        return;
    }
    shingle_hashes_by_char(normalized, out);
}

/// [`shingle_hashes`] a character at a time, for any text.
fn shingle_hashes_by_char(normalized: &str, out: &mut Vec<u64>) {
    let bytes = normalized.as_bytes();
    let starts: Vec<usize> = normalized.char_indices().map(|(i, _)| i).chain([bytes.len()]).collect();
    let chars = starts.len() - 1;
    if chars == 0 {
        return;
    }
    if chars < SHINGLE_SIZE {
        out.push(xxh3_64(bytes));
        return;
    }
    for i in 0..=chars - SHINGLE_SIZE {
        out.push(xxh3_64(&bytes[starts[i]..starts[i + SHINGLE_SIZE]]));
    }
}

/// The set of shingle hashes of `normalized`, sorted, without repeats.
pub fn shingle_set(normalized: &str) -> Vec<u64> {
    let mut set = Vec::new();
    shingle_hashes(normalized, &mut set);
    set.sort_unstable();
    set.dedup();
    set
}

/// A 64-bit shingle hash folded to the 32 bits MinHash works on.
pub fn fold32(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

/// Jaccard similarity of two sorted sets without repeats (0 for two empty sets).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// murmur3's 32-bit finaliser: a bijection that mixes every input bit into
/// every output bit. `shaders/minhash.wgsl` has the same function.
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The 128 hash functions of MinHash: `h_p(x) = fmix32(a_p x + b_p)` (mod 2^32),
/// `a_p` odd so that each is a permutation of the 32-bit values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutations {
    /// `a_p`, odd.
    pub multipliers: [u32; PERMUTATIONS],
    /// `b_p`.
    pub increments: [u32; PERMUTATIONS],
}

impl Default for Permutations {
    fn default() -> Permutations {
        Permutations::new()
    }
}

impl Permutations {
    /// The fixed permutations (splitmix64 from [`PERMUTATION_SEED`]).
    pub fn new() -> Permutations {
        let mut state = PERMUTATION_SEED;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut multipliers = [0u32; PERMUTATIONS];
        let mut increments = [0u32; PERMUTATIONS];
        for p in 0..PERMUTATIONS {
            let v = next();
            multipliers[p] = (v as u32) | 1;
            increments[p] = (v >> 32) as u32;
        }
        Permutations { multipliers, increments }
    }

    /// `h_p(x)`.
    pub fn apply(&self, p: usize, x: u32) -> u32 {
        fmix32(self.multipliers[p].wrapping_mul(x).wrapping_add(self.increments[p]))
    }

    /// `a_0, b_0, a_1, b_1, ...`: the GPU's layout.
    pub fn interleaved(&self) -> Vec<u32> {
        self.multipliers.iter().zip(&self.increments).flat_map(|(&a, &b)| [a, b]).collect()
    }
}

/// The MinHash signature of one text's 32-bit shingles into `out`
/// (`PERMUTATIONS` values; all `u32::MAX` for no shingle).
pub fn minhash(shingles: &[u32], permutations: &Permutations, out: &mut [u32]) {
    minhash_inline(shingles, permutations, out);
}

/// Permutations [`minhash_inline`] takes over a text's shingles at a time.
/// In wasm 16, 4 SIMD registers of minima (with their multipliers and
/// increments 12 of the engine's 16): they never leave registers, and the
/// text stage took 15-20% less time in V8 than with all 128 at once, whose
/// minima went to memory and back for every shingle. Natively all at once:
/// blocks of 64 (4 AVX-512 registers) measured no faster there.
#[cfg(not(target_arch = "wasm32"))]
const PERMUTATION_BLOCK: usize = PERMUTATIONS;
#[cfg(target_arch = "wasm32")]
const PERMUTATION_BLOCK: usize = 16;

#[inline(always)]
fn minhash_inline(shingles: &[u32], permutations: &Permutations, out: &mut [u32]) {
    const _: () = assert!(PERMUTATIONS.is_multiple_of(PERMUTATION_BLOCK));
    let out: &mut [u32; PERMUTATIONS] = out.try_into().expect("PERMUTATIONS values");
    // A block of permutations at a time over all the shingles (they stay in
    // L1), so that the minima never leave registers; over the permutations
    // innermost, which the compiler vectorises. The same minima as any order.
    for ((out, a), b) in out
        .chunks_exact_mut(PERMUTATION_BLOCK)
        .zip(permutations.multipliers.chunks_exact(PERMUTATION_BLOCK))
        .zip(permutations.increments.chunks_exact(PERMUTATION_BLOCK))
    {
        let a: &[u32; PERMUTATION_BLOCK] = a.try_into().expect("a block");
        let b: &[u32; PERMUTATION_BLOCK] = b.try_into().expect("a block");
        let mut min = [u32::MAX; PERMUTATION_BLOCK];
        for &x in shingles {
            for p in 0..PERMUTATION_BLOCK {
                min[p] = min[p].min(fmix32(a[p].wrapping_mul(x).wrapping_add(b[p])));
            }
        }
        out.copy_from_slice(&min);
    }
}

/// Signatures of many texts: text `t` has shingles
/// `shingles[offsets[t]..offsets[t + 1]]`; returns `PERMUTATIONS` values per
/// text, text after text. The CPU reference of `gpu::minhash`.
///
/// Natively the texts are shared among the machine's cores, and on x86-64
/// with AVX2 the permutations run 8 to a register (16 with AVX-512); integer arithmetic, so
/// the values are the same however they are computed.
pub fn signatures_cpu(shingles: &[u32], offsets: &[u32], permutations: &Permutations) -> Vec<u32> {
    let texts = offsets.len().saturating_sub(1);
    let mut out = vec![0u32; texts * PERMUTATIONS];
    let threads = signature_threads(shingles.len());
    if threads <= 1 {
        signatures_into(shingles, offsets, 0, permutations, &mut out);
        return out;
    }
    let per = texts.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (i, chunk) in out.chunks_mut(per * PERMUTATIONS).enumerate() {
            scope.spawn(move || signatures_into(shingles, offsets, i * per, permutations, chunk));
        }
    });
    out
}

/// Threads for signatures over `shingles` shingles: the machine's cores
/// natively when there is enough work, one in wasm.
fn signature_threads(shingles: usize) -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        if shingles < 1 << 16 {
            return 1;
        }
        std::thread::available_parallelism().map_or(1, |t| t.get())
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = shingles;
        1
    }
}

/// Signatures of texts `first..` into `out` (`PERMUTATIONS` values each).
fn signatures_into(shingles: &[u32], offsets: &[u32], first: usize, permutations: &Permutations, out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, checked just above.
        unsafe { signatures_into_avx512(shingles, offsets, first, permutations, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { signatures_into_avx2(shingles, offsets, first, permutations, out) };
        return;
    }
    signatures_into_body(shingles, offsets, first, permutations, out);
}

/// With AVX-512 the permutations run 16 to a register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn signatures_into_avx512(shingles: &[u32], offsets: &[u32], first: usize, permutations: &Permutations, out: &mut [u32]) {
    signatures_into_body(shingles, offsets, first, permutations, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn signatures_into_avx2(shingles: &[u32], offsets: &[u32], first: usize, permutations: &Permutations, out: &mut [u32]) {
    signatures_into_body(shingles, offsets, first, permutations, out);
}

#[inline(always)]
fn signatures_into_body(shingles: &[u32], offsets: &[u32], first: usize, permutations: &Permutations, out: &mut [u32]) {
    for (i, signature) in out.chunks_exact_mut(PERMUTATIONS).enumerate() {
        let t = first + i;
        minhash_inline(&shingles[offsets[t] as usize..offsets[t + 1] as usize], permutations, signature);
    }
}

/// How a signature is cut for LSH: `bands` bands of `rows` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Banding {
    /// Bands.
    pub bands: usize,
    /// Values per band.
    pub rows: usize,
}

/// Simpson's rule over [lo, hi] with 200 intervals (the integrands are smooth).
fn integrate(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const STEPS: usize = 200;
    let h = (hi - lo) / STEPS as f64;
    let mut sum = f(lo) + f(hi);
    for i in 1..STEPS {
        sum += f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    sum * h / 3.0
}

/// The banding that minimises `FALSE_POSITIVE_WEIGHT x` the area under the
/// candidate probability `1 - (1 - s^r)^b` below `threshold` plus
/// `FALSE_NEGATIVE_WEIGHT x` the area above it, over `b x r <= permutations`
/// (datasketch's `_optimal_param`, with other weights).
pub fn banding_for(threshold: f64, permutations: usize) -> Banding {
    let mut best = (f64::INFINITY, Banding { bands: 1, rows: permutations.max(1) });
    for bands in 1..=permutations {
        for rows in 1..=permutations / bands {
            let candidate = |s: f64| 1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32);
            let false_positive = integrate(candidate, 0.0, threshold);
            let false_negative = integrate(|s| 1.0 - candidate(s), threshold, 1.0);
            let error = FALSE_POSITIVE_WEIGHT * false_positive + FALSE_NEGATIVE_WEIGHT * false_negative;
            if error < best.0 {
                best = (error, Banding { bands, rows });
            }
        }
    }
    best.1
}

/// Union-find over `0..n` with path halving; the root of a set is always
/// its smallest member.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n as u32).collect() }
    }

    /// The smallest member of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Joins the sets of `a` and `b`; false when they were one already.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[high as usize] = low;
        true
    }
}

/// LSH band keys of every text: `keys[band * texts + t]`.
#[derive(Debug, Clone)]
pub struct Lsh {
    banding: Banding,
    texts: usize,
    keys: Vec<u64>,
}

impl Lsh {
    /// Room for `texts` signatures.
    pub fn new(banding: Banding, texts: usize) -> Lsh {
        Lsh { banding, texts, keys: vec![0; banding.bands * texts] }
    }

    /// Records the signatures of texts `first..`, `PERMUTATIONS` values each.
    pub fn insert(&mut self, first: usize, signatures: &[u32]) {
        let Banding { bands, rows } = self.banding;
        for (i, signature) in signatures.chunks_exact(PERMUTATIONS).enumerate() {
            for band in 0..bands {
                let values = &signature[band * rows..(band + 1) * rows];
                self.keys[band * self.texts + first + i] =
                    xxh3_64_with_seed(bytemuck::cast_slice(values), band as u64);
            }
        }
    }

    fn key(&self, band: usize, t: u32) -> u64 {
        self.keys[band * self.texts + t as usize]
    }

    /// Calls `visit(a, b)` (a < b) for every candidate pair, once: in the
    /// first band where the two share a bucket. Bands in order, buckets by
    /// key, members by text; a member is paired with at most
    /// [`BUCKET_WINDOW`] members before it.
    pub fn for_each_candidate(&self, mut visit: impl FnMut(u32, u32)) {
        // The bands' buckets sorted a few bands at a time (one a core
        // natively), then visited in band order.
        let bands = self.banding.bands;
        let wave = if self.texts >= 20_000 { crate::par::cores() } else { 1 };
        for first_band in (0..bands).step_by(wave) {
            let count = wave.min(bands - first_band);
            let sorted = crate::par::map_ranges(count, wave > 1, |range| {
                range
                    .map(|b| {
                        let band = first_band + b;
                        sorted_by_key((0..self.texts as u32).map(|t| (self.key(band, t), t)).collect())
                    })
                    .collect::<Vec<_>>()
            });
            for (b, order) in sorted.into_iter().flatten().enumerate() {
                self.visit_band(first_band + b, &order, &mut visit);
            }
        }
    }

    /// The candidates of one band, whose (key, text) pairs are sorted in `order`.
    fn visit_band(&self, band: usize, order: &[(u64, u32)], visit: &mut impl FnMut(u32, u32)) {
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && order[end].0 == order[start].0 {
                end += 1;
            }
            for j in start + 1..end {
                for i in start.max(j.saturating_sub(BUCKET_WINDOW))..j {
                    let (a, b) = (order[i].1, order[j].1);
                    if (0..band).any(|earlier| self.key(earlier, a) == self.key(earlier, b)) {
                        continue; // met in an earlier band
                    }
                    visit(a, b);
                }
            }
            start = end;
        }
    }
}

/// `(key, text)` pairs given in text order, sorted by key, then text (what
/// `sort_unstable` gives): spread by the key's top bits into about as many
/// buckets as pairs (in order, so each bucket keeps its texts in order),
/// then each bucket sorted on its own, by insertion where it is small. A
/// band's keys are hashes, so buckets hold one or two pairs. In wasm (Node,
/// the 100,000 texts of the bench CSV's sample) the text stage's sorting
/// took 61 ms against 130 ms with `sort_unstable`, of a 520-610 ms stage.
fn sorted_by_key(items: Vec<(u64, u32)>) -> Vec<(u64, u32)> {
    let n = items.len();
    if n < 2 {
        return items;
    }
    let bits = (usize::BITS - n.leading_zeros()).clamp(1, 16);
    let bucket = |key: u64| (key >> (64 - bits)) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for &(key, _) in &items {
        starts[bucket(key) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut next = starts.clone();
    let mut out = vec![(0u64, 0u32); n];
    for &item in &items {
        let b = bucket(item.0);
        out[next[b]] = item;
        next[b] += 1;
    }
    for range in starts.windows(2) {
        let members = &mut out[range[0]..range[1]];
        if members.len() > 16 {
            members.sort_unstable();
            continue;
        }
        for i in 1..members.len() {
            let mut j = i;
            while j > 0 && members[j] < members[j - 1] {
                members.swap(j, j - 1);
                j -= 1;
            }
        }
    }
    out
}

/// Candidate pairs after verification.
#[derive(Debug, Clone)]
pub struct NearPairs {
    /// Kept pairs `(a, b, jaccard)`, jaccard >= threshold.
    pub kept: Vec<(u32, u32, f64)>,
    /// Sets of texts joined by kept pairs.
    pub sets: UnionFind,
    /// Candidate pairs seen.
    pub candidates: u64,
    /// Pairs whose Jaccard was computed.
    pub verified: u64,
    /// Pairs skipped after the budget (their texts were joined already).
    pub unverified: u64,
}

/// Verifies every candidate of `lsh`: keeps pairs whose exact Jaccard
/// (`shingles(t)` gives text `t`'s shingle set) is at least `threshold`.
pub fn verify_candidates(lsh: &Lsh, threshold: f64, mut shingles: impl FnMut(u32) -> Vec<u64>) -> NearPairs {
    let mut out = NearPairs {
        kept: Vec::new(),
        sets: UnionFind::new(lsh.texts),
        candidates: 0,
        verified: 0,
        unverified: 0,
    };
    let mut cache: HashMap<u32, Vec<u64>> = HashMap::new();
    lsh.for_each_candidate(|a, b| {
        out.candidates += 1;
        if out.verified >= MAX_VERIFIED_PAIRS && out.sets.find(a) == out.sets.find(b) {
            out.unverified += 1;
            return;
        }
        out.verified += 1;
        cache.entry(a).or_insert_with(|| shingles(a));
        cache.entry(b).or_insert_with(|| shingles(b));
        let similarity = jaccard(&cache[&a], &cache[&b]);
        // A hair of slack so that 7/10 counts for 0.7 whatever the rounding.
        if similarity + 1e-12 >= threshold {
            out.kept.push((a, b, similarity));
            out.sets.union(a, b);
        }
    });
    out
}

/// A batch of distinct texts' 32-bit shingles, for one signatures call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShingleBatch {
    /// Id of the batch's first distinct text.
    pub first: usize,
    /// Shingles of all its texts, text after text.
    pub shingles: Vec<u32>,
    /// `texts + 1` offsets into `shingles`.
    pub offsets: Vec<u32>,
}

impl ShingleBatch {
    /// Texts in the batch.
    pub fn texts(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// One text column prepared for the check: which rows hold text, each row's
/// exact-text key and its distinct normalised text.
#[derive(Debug)]
pub struct ColumnTexts<'a> {
    column: &'a Column,
    /// Rows with a non-missing text, ascending.
    rows: Vec<u32>,
    /// xxh3-128 of each such row's text (same order as `rows`).
    exact_keys: Vec<u128>,
    /// Distinct normalised text of each such row; `u32::MAX` when empty.
    normalized: Vec<u32>,
    /// First row of each distinct normalised text.
    representatives: Vec<u32>,
    /// Rows whose normalised text is shorter than a shingle.
    short_texts: u64,
}

const NO_TEXT: u32 = u32::MAX;

impl<'a> ColumnTexts<'a> {
    /// Reads and normalises the column once (natively on the machine's
    /// cores, in ranges of rows; the distinct texts are then numbered in
    /// row order, so the numbers do not depend on the ranges).
    pub fn new(column: &'a Column) -> ColumnTexts<'a> {
        let mut prepared = ColumnTexts {
            column,
            rows: Vec::new(),
            exact_keys: Vec::new(),
            normalized: Vec::new(),
            representatives: Vec::new(),
            short_texts: 0,
        };
        // Per row with text: its exact key and its normalised text's key
        // (`None` when empty), and whether that is shorter than a shingle.
        let keyed = crate::par::map_ranges(column.len(), column.len() >= 20_000, |range| {
            let mut out: Vec<(u32, u128, Option<u128>)> = Vec::new();
            let mut short = 0u64;
            for row in range {
                let text = match column.get(row) {
                    Cell::Missing => continue,
                    Cell::Text(t) | Cell::Vector(t) => t,
                };
                let normalized = normalize(text);
                let key = (!normalized.is_empty()).then(|| xxh3_128(normalized.as_bytes()));
                if key.is_some() && normalized.chars().nth(SHINGLE_SIZE - 1).is_none() {
                    short += 1;
                }
                out.push((row as u32, xxh3_128(text.as_bytes()), key));
            }
            (out, short)
        });
        let mut ids: HashMap<u128, u32> = HashMap::new();
        for (part, short) in keyed {
            prepared.short_texts += short;
            for (row, exact, key) in part {
                prepared.rows.push(row);
                prepared.exact_keys.push(exact);
                let Some(key) = key else {
                    prepared.normalized.push(NO_TEXT);
                    continue;
                };
                let next = prepared.representatives.len() as u32;
                let id = *ids.entry(key).or_insert(next);
                if id == next {
                    prepared.representatives.push(row);
                }
                prepared.normalized.push(id);
            }
        }
        prepared
    }

    /// Distinct non-empty normalised texts.
    pub fn distinct_texts(&self) -> usize {
        self.representatives.len()
    }

    /// Each row with a non-missing text, ascending: its row id, the xxh3-128
    /// of its text, and its distinct normalised text (`None` when empty).
    pub fn rows_with_text(&self) -> impl Iterator<Item = (u32, u128, Option<u32>)> + '_ {
        self.rows
            .iter()
            .zip(&self.exact_keys)
            .zip(&self.normalized)
            .map(|((&row, &key), &id)| (row, key, (id != NO_TEXT).then_some(id)))
    }

    /// The first row holding distinct text `id`.
    pub fn representative(&self, id: u32) -> u32 {
        self.representatives[id as usize]
    }

    fn normalized_text(&self, id: u32) -> String {
        normalize(self.column.get(self.representatives[id as usize] as usize).text())
    }

    /// The shingle set of distinct text `id`.
    pub fn shingle_set(&self, id: u32) -> Vec<u64> {
        shingle_set(&self.normalized_text(id))
    }

    /// The distinct texts from `first` on, as many as fit in about
    /// `max_shingles` shingles and [`BATCH_TEXTS`] texts (at least one).
    pub fn batch(&self, first: usize, max_shingles: usize) -> ShingleBatch {
        let mut batch = ShingleBatch { first, shingles: Vec::new(), offsets: vec![0] };
        let end = self.distinct_texts().min(first.saturating_add(BATCH_TEXTS));
        // A text's byte length bounds its shingles (one a character past
        // the fourth, or one for a short text), so the batch stays within
        // `max_shingles` unless its first text alone is longer.
        let mut budget = max_shingles;
        let mut id = first;
        while id < end {
            let mut stop = id;
            while stop < end && stop - id < SHINGLE_ROUND {
                let bound = self.column.get(self.representatives[stop] as usize).text().len();
                if bound > budget && stop > first {
                    break;
                }
                budget = budget.saturating_sub(bound);
                stop += 1;
            }
            if stop == id {
                break;
            }
            // The round's texts shingled on the machine's cores, in id order.
            let parts = crate::par::map_ranges(stop - id, stop - id >= 2_000, |range| {
                let (mut shingles, mut lengths, mut hashes) = (Vec::new(), Vec::with_capacity(range.len()), Vec::new());
                for t in range {
                    hashes.clear();
                    shingle_hashes(&self.normalized_text((id + t) as u32), &mut hashes);
                    shingles.extend(hashes.iter().map(|&h| fold32(h)));
                    lengths.push(hashes.len() as u32);
                }
                (shingles, lengths)
            });
            for (shingles, lengths) in parts {
                batch.shingles.extend_from_slice(&shingles);
                let mut offset = *batch.offsets.last().expect("offsets start with 0");
                for length in lengths {
                    offset += length;
                    batch.offsets.push(offset);
                }
            }
            id = stop;
        }
        batch
    }
}

/// Texts shingled per round of [`ColumnTexts::batch`].
const SHINGLE_ROUND: usize = 8_192;

/// One column's result: the report section and the sets of rows it joins
/// (exact groups and near groups, each at least 2 rows).
#[derive(Debug, Clone)]
pub struct ColumnResult {
    /// The report section.
    pub section: TextDuplicates,
    /// Rows that belong together (each sorted), for the per-row findings.
    pub linked_rows: Vec<Vec<u32>>,
}

/// What the section says besides the groups.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Why the column was checked.
    pub reason: String,
    /// Jaccard threshold.
    pub threshold: f64,
    /// The LSH banding used.
    pub banding: Banding,
    /// "gpu" or "cpu".
    pub engine: String,
    /// Why the CPU ran, if it did when the GPU was allowed.
    pub engine_note: Option<String>,
}

/// Builds the groups and the report section of a prepared column from its
/// verified pairs.
pub fn column_result(texts: &ColumnTexts<'_>, pairs: &mut NearPairs, lines: &[u64], settings: Settings) -> ColumnResult {
    let column = texts.column;
    let text_of = |row: u32| column.get(row as usize).text();
    let example = |row: u32| TextExample {
        row: row as u64,
        line: lines[row as usize],
        text: crate::ingest::table::clip(text_of(row), TEXT_CHARS),
    };
    let shown = |rows: &[u32]| -> (Vec<u64>, Vec<u64>) {
        let rows = &rows[..rows.len().min(ROWS_PER_GROUP)];
        (rows.iter().map(|&r| r as u64).collect(), rows.iter().map(|&r| lines[r as usize]).collect())
    };
    let mut linked_rows = Vec::new();

    // Exact: identical bytes.
    let exact_sets: Vec<Vec<u32>> =
        groups_by_key(&texts.exact_keys).into_iter().map(|g| g.into_iter().map(|i| texts.rows[i as usize]).collect()).collect();
    let exact_groups: Vec<TextGroup> = exact_sets
        .iter()
        .map(|g| {
            let (rows, group_lines) = shown(g);
            TextGroup {
                rows,
                lines: group_lines,
                size: g.len() as u64,
                distinct_texts: 1,
                texts: vec![example(g[0])],
                max_jaccard: 1.0,
                min_jaccard: 1.0,
            }
        })
        .collect();
    let exact = summarize(exact_groups);
    let exact_set_count = exact_sets.len();
    linked_rows.extend(exact_sets);

    // Near: rows whose normalised texts are joined, with at least two distinct texts.
    let mut members: Vec<(u32, u32, usize)> = Vec::new(); // (set, row, index into texts.rows)
    for (i, &id) in texts.normalized.iter().enumerate() {
        if id != NO_TEXT {
            members.push((pairs.sets.find(id), texts.rows[i], i));
        }
    }
    members.sort_unstable();
    // Similarity range per set: the kept pairs, and 1.0 where two distinct
    // texts are equal after normalisation.
    let mut range: HashMap<u32, (f64, f64)> = HashMap::new();
    let mut widen = |set: u32, j: f64| {
        let r = range.entry(set).or_insert((j, j));
        r.0 = r.0.min(j);
        r.1 = r.1.max(j);
    };
    for &(a, _, j) in &pairs.kept {
        widen(pairs.sets.find(a), j);
    }
    let mut by_text: Vec<(u32, u128)> =
        texts.normalized.iter().zip(&texts.exact_keys).filter(|(&id, _)| id != NO_TEXT).map(|(&id, &k)| (id, k)).collect();
    by_text.sort_unstable();
    by_text.dedup();
    for w in by_text.windows(2) {
        if w[0].0 == w[1].0 {
            widen(pairs.sets.find(w[0].0), 1.0);
        }
    }
    let mut near_groups = Vec::new();
    let mut start = 0;
    while start < members.len() {
        let mut end = start + 1;
        while end < members.len() && members[end].0 == members[start].0 {
            end += 1;
        }
        let set = &members[start..end];
        let mut keys: Vec<u128> = set.iter().map(|&(_, _, i)| texts.exact_keys[i]).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() >= 2 {
            let rows: Vec<u32> = set.iter().map(|&(_, row, _)| row).collect();
            let mut seen = std::collections::HashSet::new();
            let examples: Vec<TextExample> = set
                .iter()
                .filter(|&&(_, _, i)| seen.insert(texts.exact_keys[i]))
                .take(TEXTS_PER_GROUP)
                .map(|&(_, row, _)| example(row))
                .collect();
            let (low, high) = range.get(&members[start].0).copied().unwrap_or((1.0, 1.0));
            let (shown_rows, group_lines) = shown(&rows);
            near_groups.push(TextGroup {
                rows: shown_rows,
                lines: group_lines,
                size: rows.len() as u64,
                distinct_texts: keys.len() as u64,
                texts: examples,
                max_jaccard: high,
                min_jaccard: low,
            });
            linked_rows.push(rows);
        }
        start = end;
    }
    let near = summarize(near_groups);
    // Rows that repeat an earlier row's text, exactly or nearly: a near set
    // holds whole exact groups (their copies normalise alike), so count the
    // near sets and the exact groups outside them.
    let in_near: std::collections::HashSet<u32> =
        linked_rows[exact_set_count..].iter().flatten().copied().collect();
    let redundant_rows = near.redundant_rows
        + linked_rows[..exact_set_count]
            .iter()
            .filter(|g| !in_near.contains(&g[0]))
            .map(|g| g.len() as u64 - 1)
            .sum::<u64>();

    let Banding { bands, rows: rows_per_band } = settings.banding;
    ColumnResult {
        section: TextDuplicates {
            column: column.name.clone(),
            reason: settings.reason,
            method: format!(
                "exact: identical text, byte for byte. near: MinHash ({PERMUTATIONS} values, 32-bit hashing) of the \
                 character {SHINGLE_SIZE}-grams of each normalised text; LSH with {bands} bands of {rows_per_band} \
                 values (minimising {FALSE_POSITIVE_WEIGHT} x false positives + {FALSE_NEGATIVE_WEIGHT} x false \
                 negatives around the threshold); candidate pairs kept when the exact Jaccard similarity of their \
                 shingle sets is at least {}; groups by union-find (texts joined through others may be less similar \
                 to each other)",
                settings.threshold
            ),
            normalization: NORMALIZATION.to_string(),
            shingle_size: SHINGLE_SIZE as u64,
            permutations: PERMUTATIONS as u64,
            bands: bands as u64,
            rows_per_band: rows_per_band as u64,
            threshold: settings.threshold,
            engine: settings.engine,
            engine_note: settings.engine_note,
            rows_with_text: texts.rows.len() as u64,
            redundant_rows,
            distinct_texts: texts.distinct_texts() as u64,
            short_texts: texts.short_texts,
            candidate_pairs: pairs.candidates,
            verified_pairs: pairs.verified,
            unverified_pairs: pairs.unverified,
            exact,
            near,
        },
        linked_rows,
    }
}

/// Counts and the largest groups first.
fn summarize(mut groups: Vec<TextGroup>) -> TextDuplicateGroups {
    let rows_in_groups: u64 = groups.iter().map(|g| g.size).sum();
    let group_count = groups.len() as u64;
    groups.sort_by(|a, b| b.size.cmp(&a.size).then(a.rows[0].cmp(&b.rows[0])));
    groups.truncate(GROUP_EXAMPLES);
    TextDuplicateGroups { redundant_rows: rows_in_groups - group_count, rows_in_groups, group_count, groups }
}

/// Where MinHash signatures are computed: the GPU while it works (when
/// allowed), else the CPU reference.
pub struct Engine {
    #[cfg(feature = "gpu")]
    gpu: Option<std::rc::Rc<crate::gpu::GpuContext>>,
    gpu_required: bool,
    note: Option<String>,
}

impl Engine {
    /// The CPU, with the reason the GPU is not used (if it was allowed).
    pub fn cpu(note: Option<String>) -> Engine {
        Engine {
            #[cfg(feature = "gpu")]
            gpu: None,
            gpu_required: false,
            note,
        }
    }

    /// The GPU of `context`; when `required`, a GPU failure is an error,
    /// otherwise the CPU takes over (and the report says why).
    #[cfg(feature = "gpu")]
    pub fn gpu(context: std::rc::Rc<crate::gpu::GpuContext>, required: bool) -> Engine {
        Engine { gpu: Some(context), gpu_required: required, note: None }
    }

    /// "gpu" or "cpu": where the signatures are computed now.
    pub fn name(&self) -> &'static str {
        #[cfg(feature = "gpu")]
        if self.gpu.is_some() {
            return "gpu";
        }
        "cpu"
    }

    /// Why the CPU runs, when the GPU was allowed.
    pub fn note(&self) -> Option<String> {
        self.note.clone()
    }

    /// The signatures of a batch.
    pub async fn signatures(&mut self, batch: &ShingleBatch, permutations: &Permutations) -> Result<Vec<u32>> {
        #[cfg(feature = "gpu")]
        if let Some(context) = &self.gpu {
            let result = crate::gpu::minhash::signatures(context, &batch.shingles, &batch.offsets, permutations)
                .await
                .and_then(|signatures| spot_check(batch, permutations, signatures));
            match result {
                Ok(signatures) => return Ok(signatures),
                Err(e) if self.gpu_required => return Err(e),
                Err(e) => {
                    self.note = Some(format!("GPU not used, the CPU ran instead: {}", e.message()));
                    self.gpu = None;
                }
            }
        }
        let _ = self.gpu_required;
        #[cfg(target_arch = "wasm32")]
        return Ok(signatures_cpu_yielding(batch, permutations).await);
        #[cfg(not(target_arch = "wasm32"))]
        Ok(signatures_cpu(&batch.shingles, &batch.offsets, permutations))
    }
}

/// Texts per call of [`signatures_cpu`] in a browser.
#[cfg(target_arch = "wasm32")]
const WASM_SIGNATURE_TEXTS: usize = 4096;

/// [`signatures_cpu`] of a batch in calls of [`WASM_SIGNATURE_TEXTS`]
/// texts with the event loop turning between them (the browser swaps
/// optimised wasm code in only between calls into wasm). The same values.
#[cfg(target_arch = "wasm32")]
async fn signatures_cpu_yielding(batch: &ShingleBatch, permutations: &Permutations) -> Vec<u32> {
    let texts = batch.offsets.len().saturating_sub(1);
    let mut out = vec![0u32; texts * PERMUTATIONS];
    for (i, chunk) in out.chunks_mut(WASM_SIGNATURE_TEXTS * PERMUTATIONS).enumerate() {
        signatures_into(&batch.shingles, &batch.offsets, i * WASM_SIGNATURE_TEXTS, permutations, chunk);
        crate::wasm::yield_to_event_loop().await;
    }
    out
}

/// Compares up to 16 texts of a GPU result (spread over the batch) with the
/// CPU reference: a dropped dispatch or a miscompiled kernel sends the run
/// to the CPU instead of into the report.
#[cfg(feature = "gpu")]
fn spot_check(batch: &ShingleBatch, permutations: &Permutations, signatures: Vec<u32>) -> Result<Vec<u32>> {
    let texts = batch.texts();
    if signatures.len() != texts * PERMUTATIONS {
        return Err(crate::Error::new(
            crate::ErrorKind::Gpu,
            format!("the GPU returned {} MinHash values for {texts} texts", signatures.len()),
        ));
    }
    let mut expected = [0u32; PERMUTATIONS];
    for k in 0..texts.min(16) {
        let t = if texts <= 16 { k } else { k * (texts - 1) / 15 };
        let range = batch.offsets[t] as usize..batch.offsets[t + 1] as usize;
        minhash(&batch.shingles[range], permutations, &mut expected);
        if signatures[t * PERMUTATIONS..(t + 1) * PERMUTATIONS] != expected {
            return Err(crate::Error::new(
                crate::ErrorKind::Gpu,
                format!("the GPU's MinHash signature of text {t} differs from the CPU's"),
            ));
        }
    }
    Ok(signatures)
}

/// Runs the check on column `index` of `table`.
pub async fn check_column(
    table: &Table,
    index: usize,
    reason: String,
    threshold: f64,
    engine: &mut Engine,
) -> Result<ColumnResult> {
    let texts = ColumnTexts::new(&table.columns[index]);
    let banding = banding_for(threshold, PERMUTATIONS);
    let permutations = Permutations::new();
    let mut lsh = Lsh::new(banding, texts.distinct_texts());
    let mut first = 0;
    while first < texts.distinct_texts() {
        let batch = texts.batch(first, BATCH_SHINGLES);
        let signatures = engine.signatures(&batch, &permutations).await?;
        lsh.insert(first, &signatures);
        first += batch.texts();
    }
    let mut pairs = verify_candidates(&lsh, threshold, |id| texts.shingle_set(id));
    let settings = Settings { reason, threshold, banding, engine: engine.name().to_string(), engine_note: engine.note() };
    Ok(column_result(&texts, &mut pairs, &table.lines, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ingest::test_table as table;

    fn run(csv: &str, threshold: f64) -> ColumnResult {
        let t = table(csv);
        pollster::block_on(check_column(&t, 0, "test".into(), threshold, &mut Engine::cpu(None))).unwrap()
    }

    #[test]
    fn normalisation_lowercases_and_collapses_white_space() {
        assert_eq!(normalize("  Hello,\tWORLD \n\n again "), "hello, world again");
        assert_eq!(normalize("ÉTÉ  Straße"), "été straße");
        assert_eq!(normalize(" \t "), "");
    }

    #[test]
    fn shingles_are_character_5_grams() {
        let mut h = Vec::new();
        shingle_hashes("abcdefg", &mut h);
        let expected: Vec<u64> = ["abcde", "bcdef", "cdefg"].iter().map(|s| xxh3_64(s.as_bytes())).collect();
        assert_eq!(h, expected);
        // Characters, not bytes: 6 characters of 2 bytes each give 2 shingles.
        h.clear();
        shingle_hashes("éééééé", &mut h);
        assert_eq!(h, vec![xxh3_64("ééééé".as_bytes()); 2]);
        assert_eq!(shingle_set("éééééé").len(), 1);
        // Shorter than a shingle: the text itself; empty: nothing.
        h.clear();
        shingle_hashes("abc", &mut h);
        assert_eq!(h, vec![xxh3_64(b"abc")]);
        h.clear();
        shingle_hashes("", &mut h);
        assert!(h.is_empty());
    }

    #[test]
    fn batched_signatures_match_one_text_at_a_time() {
        // Enough shingles for several threads natively (and AVX2 or AVX-512
        // where the CPU has them): the same values as the plain per-text loop.
        let p = Permutations::new();
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut shingles = Vec::new();
        let mut offsets = vec![0u32];
        for t in 0..3001 {
            for _ in 0..(t % 57) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shingles.push(state as u32);
            }
            offsets.push(shingles.len() as u32);
        }
        assert!(shingles.len() >= 1 << 16);
        let batched = signatures_cpu(&shingles, &offsets, &p);
        let mut one = vec![0u32; PERMUTATIONS];
        for t in 0..offsets.len() - 1 {
            let text = &shingles[offsets[t] as usize..offsets[t + 1] as usize];
            one.fill(u32::MAX);
            for &x in text {
                for (q, value) in one.iter_mut().enumerate() {
                    *value = (*value).min(p.apply(q, x));
                }
            }
            assert_eq!(&batched[t * PERMUTATIONS..(t + 1) * PERMUTATIONS], &one[..], "text {t}");
        }
        // Each SIMD path this CPU has (the dispatch takes the widest).
        let texts = offsets.len() - 1;
        let mut plain = vec![0u32; texts * PERMUTATIONS];
        signatures_into_body(&shingles, &offsets, 0, &p, &mut plain);
        assert_eq!(plain, batched);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            let mut avx2 = vec![0u32; texts * PERMUTATIONS];
            // SAFETY: AVX2 checked just above.
            unsafe { signatures_into_avx2(&shingles, &offsets, 0, &p, &mut avx2) };
            assert_eq!(avx2, batched);
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            let mut avx512 = vec![0u32; texts * PERMUTATIONS];
            // SAFETY: AVX-512F checked just above.
            unsafe { signatures_into_avx512(&shingles, &offsets, 0, &p, &mut avx512) };
            assert_eq!(avx512, batched);
        }
    }

    #[test]
    fn radix_order_is_the_sorted_order() {
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (n, distinct) in [(0, 1), (1, 1), (2, 1), (1000, 1000), (5000, 7), (3000, 1)] {
            let pool: Vec<u64> = (0..distinct).map(|i| if i == 0 { 0 } else { next() >> (i % 64) }).collect();
            let items: Vec<(u64, u32)> = (0..n as u32).map(|t| (pool[(next() % distinct as u64) as usize], t)).collect();
            let mut want = items.clone();
            want.sort_unstable();
            assert_eq!(sorted_by_key(items), want, "{n} keys, {distinct} distinct");
        }
    }

    #[test]
    fn jaccard_of_sorted_sets() {
        assert_eq!(jaccard(&[1, 2, 3, 4], &[3, 4, 5]), 2.0 / 5.0);
        assert_eq!(jaccard(&[1, 2], &[1, 2]), 1.0);
        assert_eq!(jaccard(&[1], &[2]), 0.0);
        assert_eq!(jaccard(&[], &[]), 0.0);
        let a = shingle_set("the quick brown fox");
        let b = shingle_set("the quick brown fix");
        // 15 shingles each; the last 2 hold the changed letter: 13 shared of 17.
        assert_eq!(jaccard(&a, &b), 13.0 / 17.0);
    }

    #[test]
    fn permutations_are_fixed_odd_bijections() {
        let p = Permutations::new();
        assert_eq!(p, Permutations::new());
        assert!(p.multipliers.iter().all(|a| a % 2 == 1));
        let distinct: std::collections::HashSet<u32> = p.multipliers.iter().copied().collect();
        assert_eq!(distinct.len(), PERMUTATIONS);
        // fmix32 is a bijection: no collisions over a range.
        let images: std::collections::HashSet<u32> = (0..100_000u32).map(|x| p.apply(7, x)).collect();
        assert_eq!(images.len(), 100_000);
        assert_eq!(fmix32(0), 0);
        assert_eq!(fmix32(1), 0x514e_28b7); // murmur3's fmix32 of 1
        assert_eq!(p.interleaved()[..4], [p.multipliers[0], p.increments[0], p.multipliers[1], p.increments[1]]);
    }

    #[test]
    fn minhash_is_the_minimum_per_permutation_and_estimates_jaccard() {
        let p = Permutations::new();
        let mut signature = [0u32; PERMUTATIONS];
        minhash(&[5, 9, 1000], &p, &mut signature);
        for (k, &v) in signature.iter().enumerate() {
            assert_eq!(v, [5, 9, 1000].iter().map(|&x| p.apply(k, x)).min().unwrap());
        }
        minhash(&[], &p, &mut signature);
        assert!(signature.iter().all(|&v| v == u32::MAX));
        // Order and repeats do not matter.
        let (mut s1, mut s2) = ([0u32; PERMUTATIONS], [0u32; PERMUTATIONS]);
        minhash(&[3, 1, 2, 2], &p, &mut s1);
        minhash(&[1, 2, 3], &p, &mut s2);
        assert_eq!(s1, s2);
        // Agreement rate estimates Jaccard: sets of 400 sharing 300 (J = 0.6).
        let a: Vec<u32> = (0..400).map(|i| fold32(xxh3_64(&(i as u32).to_le_bytes()))).collect();
        let b: Vec<u32> = (100..500).map(|i| fold32(xxh3_64(&(i as u32).to_le_bytes()))).collect();
        minhash(&a, &p, &mut s1);
        minhash(&b, &p, &mut s2);
        let agree = s1.iter().zip(&s2).filter(|(x, y)| x == y).count() as f64 / PERMUTATIONS as f64;
        assert!((agree - 0.6).abs() < 0.15, "agreement {agree}");
        // Batched signatures are the per-text ones.
        let batched = signatures_cpu(&[5, 9, 1000, 3, 1, 2], &[0, 3, 3, 6], &p);
        assert_eq!(batched.len(), 3 * PERMUTATIONS);
        minhash(&[5, 9, 1000], &p, &mut s1);
        assert_eq!(&batched[..PERMUTATIONS], &s1);
        assert!(batched[PERMUTATIONS..2 * PERMUTATIONS].iter().all(|&v| v == u32::MAX));
        minhash(&[1, 2, 3], &p, &mut s2);
        assert_eq!(&batched[2 * PERMUTATIONS..], &s2);
    }

    #[test]
    fn banding_is_tuned_to_the_threshold() {
        let b = banding_for(0.7, PERMUTATIONS);
        assert_eq!(b, Banding { bands: 20, rows: 6 });
        let p = |s: f64| 1.0 - (1.0 - s.powi(b.rows as i32)).powi(b.bands as i32);
        assert!(p(0.7) > 0.9 && p(0.8) > 0.99 && p(0.3) < 0.02, "{} {} {}", p(0.7), p(0.8), p(0.3));
        // A higher threshold: longer bands; every choice fits the signature.
        let high = banding_for(0.9, PERMUTATIONS);
        assert!(high.rows > b.rows);
        for t in [0.3, 0.5, 0.7, 0.9, 1.0] {
            let x = banding_for(t, PERMUTATIONS);
            assert!(x.bands * x.rows <= PERMUTATIONS);
        }
    }

    #[test]
    fn union_find_roots_are_smallest_members() {
        let mut u = UnionFind::new(6);
        assert!(u.union(4, 2));
        assert!(u.union(5, 4));
        assert!(!u.union(2, 5));
        assert!(u.union(3, 1));
        assert_eq!([u.find(0), u.find(1), u.find(2), u.find(3), u.find(4), u.find(5)], [0, 1, 2, 1, 2, 2]);
        assert!(u.union(5, 3));
        assert_eq!(u.find(4), 1);
    }

    #[test]
    fn lsh_pairs_collide_once_and_verification_keeps_similar_ones() {
        let texts = [
            "the quick brown fox jumps over the lazy dog",
            "the quick brown fox jumped over the lazy dog",
            "an entirely different sentence about databases",
            "the quick brown fox jumps over the lazy dog!",
        ];
        let p = Permutations::new();
        let banding = banding_for(0.7, PERMUTATIONS);
        let sets: Vec<Vec<u64>> = texts.iter().map(|t| shingle_set(t)).collect();
        let mut lsh = Lsh::new(banding, texts.len());
        for (t, set) in sets.iter().enumerate() {
            let shingles: Vec<u32> = set.iter().map(|&h| fold32(h)).collect();
            lsh.insert(t, &signatures_cpu(&shingles, &[0, shingles.len() as u32], &p));
        }
        let mut seen = Vec::new();
        lsh.for_each_candidate(|a, b| seen.push((a, b)));
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "each pair once: {seen:?}");
        assert!(seen.iter().all(|&(a, b)| a < b));
        assert!(unique.contains(&(0, 3)) && unique.contains(&(0, 1)), "{unique:?}");
        let pairs = verify_candidates(&lsh, 0.7, |t| sets[t as usize].clone());
        assert_eq!(pairs.candidates, seen.len() as u64);
        assert_eq!(pairs.verified, pairs.candidates);
        let mut kept: Vec<(u32, u32)> = pairs.kept.iter().map(|&(a, b, _)| (a, b)).collect();
        kept.sort_unstable();
        assert!(kept.iter().all(|&(a, b)| a != 2 && b != 2), "{kept:?}");
        for &(a, b, j) in &pairs.kept {
            assert_eq!(j, jaccard(&sets[a as usize], &sets[b as usize]));
            assert!(j >= 0.7);
        }
        // A threshold of 0.99 keeps only what is identical.
        let strict = verify_candidates(&lsh, 0.99, |t| sets[t as usize].clone());
        assert!(strict.kept.is_empty());
    }

    #[test]
    fn exact_and_near_groups_with_rows_lines_and_jaccard() {
        let csv = "review\n\
            The battery lasts all day and the screen is bright.\n\
            Terrible support; I waited three weeks for a reply.\n\
            The battery lasts all day and the screen is bright.\n\
            the battery lasts ALL day  and the screen is bright.\n\
            \"The battery lasts all day, and the screen is bright.\"\n\
            Shipping was quick and the box was intact.\n\
            \n\
            ok\n\
            OK\n\
            fine\n";
        let r = run(csv, 0.7);
        let s = &r.section;
        assert_eq!(s.rows_with_text, 9);
        // Normalised: 0 = 2 = 3, 6 = 7 ("ok", "OK"): six distinct texts.
        assert_eq!(s.distinct_texts, 6);
        assert_eq!(s.short_texts, 3); // ok, OK, fine
        // Exact: rows 0 and 2 only ("OK" is not "ok" byte for byte).
        assert_eq!(s.exact.group_count, 1);
        assert_eq!(s.exact.groups[0].rows, vec![0, 2]);
        assert_eq!(s.exact.groups[0].lines, vec![2, 4]);
        assert_eq!(s.exact.redundant_rows, 1);
        assert_eq!(s.exact.groups[0].texts[0].text, "The battery lasts all day and the screen is bright.");
        // Near: {0, 2, 3, 4} (three distinct texts) and {6, 7} (equal after normalisation).
        assert_eq!(s.near.group_count, 2);
        let g = &s.near.groups[0];
        assert_eq!(g.rows, vec![0, 2, 3, 4]);
        assert_eq!(g.size, 4);
        assert_eq!(g.distinct_texts, 3);
        assert_eq!(g.texts.iter().map(|t| t.row).collect::<Vec<_>>(), vec![0, 3, 4]);
        assert_eq!(g.max_jaccard, 1.0);
        let set = |t: &str| shingle_set(&normalize(t));
        let j = jaccard(
            &set("The battery lasts all day and the screen is bright."),
            &set("The battery lasts all day, and the screen is bright."),
        );
        assert!(j >= 0.7 && j < 1.0);
        assert_eq!(g.min_jaccard, j);
        assert_eq!(s.near.groups[1].rows, vec![6, 7]);
        assert_eq!(s.near.groups[1].lines, vec![9, 10]); // the blank line 8 is skipped
        assert_eq!(s.near.rows_in_groups, 6);
        assert_eq!(s.near.redundant_rows, 4);
        // Each row once: the exact group {0, 2} lies inside the near group.
        assert_eq!(s.redundant_rows, 4);
        assert_eq!((s.bands, s.rows_per_band, s.shingle_size, s.permutations), (20, 6, 5, 128));
        assert_eq!(s.engine, "cpu");
        let mut linked = r.linked_rows.clone();
        linked.sort();
        assert_eq!(linked, vec![vec![0, 2], vec![0, 2, 3, 4], vec![6, 7]]);
    }

    #[test]
    fn the_threshold_decides_and_dissimilar_texts_stay_apart() {
        let csv = "t\nthe cat sat on the mat today\nthe cat sat on a mat today\nsomething else entirely here\n";
        let loose = run(csv, 0.5);
        assert_eq!(loose.section.near.group_count, 1);
        assert_eq!(loose.section.near.groups[0].rows, vec![0, 1]);
        let strict = run(csv, 0.95);
        assert_eq!(strict.section.near.group_count, 0);
        assert_eq!(strict.section.exact.group_count, 0);
        assert!(strict.linked_rows.is_empty());
    }

    #[test]
    fn missing_and_white_space_only_texts() {
        let r = run("t,x\n,1\n   ,2\n   ,3\nNA,4\n", 0.7);
        // Missing values are not texts; two identical white-space texts are
        // exact duplicates but not near ones.
        assert_eq!(r.section.rows_with_text, 2);
        assert_eq!(r.section.distinct_texts, 0);
        assert_eq!(r.section.exact.group_count, 1);
        assert_eq!(r.section.near.group_count, 0);
    }

    #[test]
    fn ascii_fast_paths_equal_the_unicode_rules() {
        // Every ASCII byte, white space and controls included, in short and
        // long runs.
        let mut next = crate::xorshift64(0x9E37_79B9_7F4A_7C15u64);
        for round in 0..2_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| match next() % 4 {
                    0 => [' ', '\t', '\n', '\u{0B}', '\u{0C}', '\r', '\u{1C}', '\u{1F}'][(next() % 8) as usize],
                    _ => char::from((next() % 128) as u8),
                })
                .collect();
            assert!(text.is_ascii());
            let fast = normalize(&text);
            assert_eq!(fast, normalize_unicode(&text), "round {round}: {text:?}");
            let (mut a, mut b) = (Vec::new(), Vec::new());
            shingle_hashes(&fast, &mut a);
            shingle_hashes_by_char(&fast, &mut b);
            assert_eq!(a, b, "round {round}: {fast:?}");
        }
        assert_eq!(normalize("  Hello\u{0B}\tWORLD \u{1F} "), "hello world \u{1f}");
    }

    #[test]
    fn texts_are_numbered_in_row_order_whatever_the_threads() {
        // Enough rows for several threads natively: a distinct text's id is
        // the order of its first row, its representative that row.
        let mut csv = String::from("t\n");
        for i in 0..60_000 {
            match i % 7 {
                0 => csv.push('\n'),
                1 => csv.push_str(&format!("  Text   {}\n", (i * 7919) % 5_003)),
                _ => csv.push_str(&format!("text {}\n", (i * 7919) % 5_003)),
            }
        }
        let t = table(&csv);
        let column = &t.columns[0];
        let texts = ColumnTexts::new(column);
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut expected = Vec::new();
        for (row, cell) in column.cells().enumerate() {
            if let Cell::Text(text) = cell {
                if normalize(text).is_empty() {
                    expected.push((row as u32, xxh3_128(text.as_bytes()), None));
                    continue;
                }
                let next = seen.len() as u32;
                let id = *seen.entry(normalize(text)).or_insert(next);
                expected.push((row as u32, xxh3_128(text.as_bytes()), Some(id)));
                if id == next {
                    assert_eq!(texts.representative(id), row as u32);
                }
            }
        }
        assert_eq!(texts.rows_with_text().collect::<Vec<_>>(), expected);
        assert_eq!(texts.distinct_texts(), seen.len());
    }

    #[test]
    fn batches_stay_within_their_shingles() {
        let mut csv = String::from("t\n");
        for i in 0..3_000 {
            csv.push_str(&format!("text number {i} {}\n", "w".repeat(i % 90)));
        }
        let t = table(&csv);
        let texts = ColumnTexts::new(&t.columns[0]);
        let mut first = 0;
        while first < texts.distinct_texts() {
            let batch = texts.batch(first, 2_000);
            assert!(batch.shingles.len() <= 2_000, "{} shingles", batch.shingles.len());
            for (t, window) in batch.offsets.windows(2).enumerate() {
                let set = texts.shingle_set((first + t) as u32);
                let mut all = Vec::new();
                shingle_hashes(&normalize(t_text(&texts, first + t)), &mut all);
                assert_eq!((window[1] - window[0]) as usize, all.len());
                assert!(set.len() <= all.len());
            }
            first += batch.texts();
        }
        assert_eq!(first, 3_000);
    }

    fn t_text<'t>(texts: &'t ColumnTexts<'_>, id: usize) -> &'t str {
        texts.column.get(texts.representative(id as u32) as usize).text()
    }

    #[test]
    fn batches_cover_every_distinct_text_once() {
        let mut csv = String::from("t\n");
        for i in 0..50 {
            csv.push_str(&format!("text number {i} with some words\n"));
        }
        let t = table(&csv);
        let texts = ColumnTexts::new(&t.columns[0]);
        let mut first = 0;
        let mut batches = 0;
        while first < texts.distinct_texts() {
            let batch = texts.batch(first, 100);
            assert!(batch.texts() >= 1);
            assert_eq!(batch.offsets[0], 0);
            assert_eq!(*batch.offsets.last().unwrap() as usize, batch.shingles.len());
            first += batch.texts();
            batches += 1;
        }
        assert_eq!(first, 50);
        assert!(batches > 5);
    }
}
