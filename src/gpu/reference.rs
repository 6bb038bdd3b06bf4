//! CPU reference of the kNN graph: exact, and the path that runs wherever
//! the GPU does not. Natively the query rows are shared among the machine's
//! cores (each query's neighbours are found exactly as on one thread, so the
//! graph is the same bit for bit); in a browser's worker it runs on the
//! worker's one thread.
//!
//! Distances use the same formulas as the GPU kernel (`shaders/knn.wgsl`) so
//! that both backends agree within float tolerance:
//! - cosine: rows are L2-normalised first ([`normalise_rows`]), distance is
//!   `max(0, 1 - a.b)`;
//! - squared euclidean: `max(0, |a|^2 + |b|^2 - 2 a.b)` with the squared
//!   norms from [`squared_norms`]. Expanding the square instead of summing
//!   `(a_i - b_i)^2` turns the inner loop into a dot product (what both the
//!   CPU and the GPU are fast at); the price is cancellation for very close
//!   rows, hence the clamp at 0 (a duplicated row may show a distance of a
//!   few ulps of `|a|^2` rather than exactly 0).
//!
//! The loops are blocked for cache (a tile of query rows against a tile of
//! candidate rows that fits in L2) and the dot products are written over
//! 8 independent f32 lanes so that the compiler vectorises them.

use super::{KnnGraph, Metric};

/// Lanes of the chunked dot product: independent accumulators break the
/// floating-point dependency chain and map onto SIMD registers.
const LANES: usize = 8;

/// Query rows per tile.
const QUERY_TILE: usize = 32;

/// Bytes of candidate rows per tile: small enough to stay in L2 while a
/// whole query tile runs over it.
const CANDIDATE_TILE_BYTES: usize = 128 * 1024;

/// Exact kNN graph on the CPU. See the module contract in `gpu/mod.rs`.
///
/// `data` holds `n` rows of `d` values, row-major. `graph.k` is
/// `min(k, n - 1)`; `n <= 1` or `k == 0` gives a graph with `k == 0`.
///
/// # Panics
///
/// If `data.len() != n * d`, or if `n` does not fit in `u32`.
pub fn knn_cpu(data: &[f32], n: usize, d: usize, k: usize, metric: Metric) -> KnnGraph {
    knn_cpu_threads(data, n, d, k, metric, cpu_threads(n))
}

/// [`knn_cpu`] on `threads` threads (the same graph whatever the count).
fn knn_cpu_threads(data: &[f32], n: usize, d: usize, k: usize, metric: Metric, threads: usize) -> KnnGraph {
    assert_eq!(
        data.len(),
        n * d,
        "knn_cpu: data holds {} values, expected n * d = {}",
        data.len(),
        n * d
    );
    assert!(
        u32::try_from(n).is_ok(),
        "knn_cpu: n = {n} does not fit in u32"
    );
    let k = k.min(n.saturating_sub(1));
    if k == 0 {
        return KnnGraph {
            n,
            k: 0,
            indices: Vec::new(),
            distances: Vec::new(),
        };
    }

    let (rows, norms) = prepare(data, n, d, metric);
    let rows = &rows[..];
    let mut indices = vec![u32::MAX; n * k];
    let mut distances = vec![f32::INFINITY; n * k];
    let candidate_tile = (CANDIDATE_TILE_BYTES / (d.max(1) * 4)).clamp(4, 1024);
    let tile = Tile { rows, norms: &norms, d, k, metric };
    // Queries `first..first + rows` into their slices of the graph.
    let block = |first: usize, distances: &mut [f32], indices: &mut [u32]| {
        let end = first + distances.len() / k;
        for q_start in (first..end).step_by(QUERY_TILE) {
            let q_end = (q_start + QUERY_TILE).min(end);
            for c_start in (0..n).step_by(candidate_tile) {
                let c_end = (c_start + candidate_tile).min(n);
                tile.run(q_start..q_end, c_start..c_end, first, distances, indices);
            }
        }
    };
    if threads <= 1 || cfg!(target_arch = "wasm32") {
        block(0, &mut distances, &mut indices);
    } else {
        // Whole query tiles per thread, in contiguous blocks.
        let per = n.div_ceil(threads).div_ceil(QUERY_TILE) * QUERY_TILE;
        std::thread::scope(|scope| {
            for (i, (d_chunk, i_chunk)) in distances.chunks_mut(per * k).zip(indices.chunks_mut(per * k)).enumerate() {
                let block = &block;
                scope.spawn(move || block(i * per, d_chunk, i_chunk));
            }
        });
    }
    KnnGraph {
        n,
        k,
        indices,
        distances,
    }
}

/// Threads for a graph of `n` rows: the machine's cores natively (one for
/// small graphs, where starting threads costs more than it saves), one in
/// wasm.
fn cpu_threads(n: usize) -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        if n < 2048 {
            return 1;
        }
        std::thread::available_parallelism().map_or(1, |t| t.get()).min(n.div_ceil(QUERY_TILE))
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = n;
        1
    }
}

/// What one block of the distance matrix needs.
struct Tile<'a> {
    rows: &'a [f32],
    norms: &'a [f32],
    d: usize,
    k: usize,
    metric: Metric,
}

impl Tile<'_> {
    /// Offers candidates `cands` to the top-k of queries `queries`, whose
    /// top-k lists start at query `first` in `distances` and `indices`.
    ///
    /// Never inlined, on purpose: in the browser, V8 compiles a wasm function
    /// with its baseline compiler first and swaps in optimised code only for
    /// later calls (there is no on-stack replacement for wasm). One call per
    /// block lets every block after the first few run optimised code; a
    /// single long loop would run unoptimised to the end.
    ///
    /// Natively on x86-64 with AVX2 the same code runs compiled for AVX2:
    /// the 8 lanes of the dot products become one register instead of two,
    /// and each lane adds in the same order, so the distances have the same
    /// bits.
    #[inline(never)]
    fn run(
        &self,
        queries: std::ops::Range<usize>,
        cands: std::ops::Range<usize>,
        first: usize,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { self.run_avx2(queries, cands, first, distances, indices) };
            return;
        }
        self.run_body(queries, cands, first, distances, indices);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    unsafe fn run_avx2(
        &self,
        queries: std::ops::Range<usize>,
        cands: std::ops::Range<usize>,
        first: usize,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        self.run_body(queries, cands, first, distances, indices);
    }

    #[inline(always)]
    fn run_body(
        &self,
        queries: std::ops::Range<usize>,
        cands: std::ops::Range<usize>,
        first: usize,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        let (rows, d, k) = (self.rows, self.d, self.k);
        let distance = |q: usize, c: usize, dot: f32| -> f32 {
            let raw = match self.metric {
                Metric::Cosine => 1.0 - dot,
                Metric::SquaredEuclidean => self.norms[q] + self.norms[c] - 2.0 * dot,
            };
            sanitise(raw)
        };
        for q in queries {
            let query = &rows[q * d..(q + 1) * d];
            let at = q - first;
            let mut top = TopK { distances: &mut distances[at * k..(at + 1) * k], indices: &mut indices[at * k..(at + 1) * k] };
            // Four candidates at a time share each load of the query.
            let mut c = cands.start;
            while c + 4 <= cands.end {
                let dots = dot4(query, &rows[c * d..(c + 4) * d], d);
                for (j, dot) in dots.into_iter().enumerate() {
                    if c + j != q {
                        top.offer(distance(q, c + j, dot), (c + j) as u32);
                    }
                }
                c += 4;
            }
            for c in c..cands.end {
                if c != q {
                    let dot = dot(query, &rows[c * d..(c + 1) * d]);
                    top.offer(distance(q, c, dot), c as u32);
                }
            }
        }
    }
}

/// The rows each path computes dot products on, and their squared norms:
/// cosine normalises the rows (and needs no norms), squared euclidean uses
/// the rows as given with their norms. One function, so the CPU and the GPU
/// start from the same bits.
pub(crate) fn prepare(data: &[f32], n: usize, d: usize, metric: Metric) -> (std::borrow::Cow<'_, [f32]>, Vec<f32>) {
    match metric {
        Metric::Cosine => (std::borrow::Cow::Owned(normalise_rows(data, n, d)), Vec::new()),
        Metric::SquaredEuclidean => (std::borrow::Cow::Borrowed(data), squared_norms(data, n, d)),
    }
}

/// L2-normalised copy of `n` rows of `d` values; a zero row stays zero.
///
/// Shared by the CPU reference and the GPU path (which normalises on the
/// CPU before upload), so both see the same bits.
pub fn normalise_rows(data: &[f32], n: usize, d: usize) -> Vec<f32> {
    debug_assert_eq!(data.len(), n * d);
    let mut out = vec![0.0f32; data.len()];
    if d == 0 {
        return out;
    }
    for (source, row) in data.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        normalise_row_into(source, row);
    }
    out
}

/// Writes `source` L2-normalised into `target` (of the same length); a zero
/// (or non-finite) row is copied as it is. The one normalisation of both
/// paths.
#[inline]
pub(crate) fn normalise_row_into(source: &[f32], target: &mut [f32]) {
    let norm = dot(source, source).sqrt();
    if norm > 0.0 && norm.is_finite() {
        let inverse = 1.0 / norm;
        for (value, out) in source.iter().zip(target.iter_mut()) {
            *out = value * inverse;
        }
    } else {
        target.copy_from_slice(source);
    }
}

/// Squared L2 norm of each of `n` rows of `d` values (the `|a|^2` term of
/// the squared euclidean distance); shared with the GPU path.
pub fn squared_norms(data: &[f32], n: usize, d: usize) -> Vec<f32> {
    debug_assert_eq!(data.len(), n * d);
    if d == 0 {
        return vec![0.0; n];
    }
    data.chunks_exact(d).map(|row| dot(row, row)).collect()
}

/// Maps a raw distance to the contract's value: clamped at 0, NaN (from
/// non-finite input) treated as +infinity so that it sorts last.
#[inline(always)]
fn sanitise(raw: f32) -> f32 {
    if raw.is_nan() {
        f32::INFINITY
    } else {
        raw.max(0.0)
    }
}

/// Dot product over 8 independent lanes (auto-vectorised), then the tail.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut lanes = [0.0f32; LANES];
    let a_chunks = a.chunks_exact(LANES);
    let b_chunks = b.chunks_exact(LANES);
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    let mut sum = reduce(&lanes);
    for (x, y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// Dot products of `query` with four consecutive rows of `d` values
/// (`candidates.len() == 4 * d`), each over 8 lanes. The same summation
/// order as [`dot`], so a pair gives the same bits whichever is used.
#[inline(always)]
fn dot4(query: &[f32], candidates: &[f32], d: usize) -> [f32; 4] {
    let (c0, rest) = candidates.split_at(d);
    let (c1, rest) = rest.split_at(d);
    let (c2, c3) = rest.split_at(d);
    let mut lanes = [[0.0f32; LANES]; 4];
    let full = d - d % LANES;
    let mut i = 0;
    while i < full {
        let x = &query[i..i + LANES];
        let (y0, y1, y2, y3) = (
            &c0[i..i + LANES],
            &c1[i..i + LANES],
            &c2[i..i + LANES],
            &c3[i..i + LANES],
        );
        for lane in 0..LANES {
            lanes[0][lane] += x[lane] * y0[lane];
            lanes[1][lane] += x[lane] * y1[lane];
            lanes[2][lane] += x[lane] * y2[lane];
            lanes[3][lane] += x[lane] * y3[lane];
        }
        i += LANES;
    }
    let mut sums = [
        reduce(&lanes[0]),
        reduce(&lanes[1]),
        reduce(&lanes[2]),
        reduce(&lanes[3]),
    ];
    for j in full..d {
        let x = query[j];
        sums[0] += x * c0[j];
        sums[1] += x * c1[j];
        sums[2] += x * c2[j];
        sums[3] += x * c3[j];
    }
    sums
}

/// Pairwise sum of the lanes (fixed order: results are reproducible).
#[inline(always)]
fn reduce(lanes: &[f32; LANES]) -> f32 {
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
}

/// One row's k best so far, sorted by (distance, index), as a small
/// insertion array. Empty slots hold (+inf, u32::MAX), so any real
/// candidate, even at +inf, beats them.
struct TopK<'a> {
    distances: &'a mut [f32],
    indices: &'a mut [u32],
}

impl TopK<'_> {
    #[inline(always)]
    fn offer(&mut self, distance: f32, index: u32) {
        let k = self.distances.len();
        if !before(distance, index, self.distances[k - 1], self.indices[k - 1]) {
            return;
        }
        let mut slot = k - 1;
        while slot > 0
            && before(
                distance,
                index,
                self.distances[slot - 1],
                self.indices[slot - 1],
            )
        {
            self.distances[slot] = self.distances[slot - 1];
            self.indices[slot] = self.indices[slot - 1];
            slot -= 1;
        }
        self.distances[slot] = distance;
        self.indices[slot] = index;
    }
}

/// The (distance, index) order of the contract.
#[inline]
fn before(distance: f32, index: u32, other_distance: f32, other_index: u32) -> bool {
    distance < other_distance || (distance == other_distance && index < other_index)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_path_gives_the_same_bits() {
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 here: nothing to compare");
            return;
        }
        let (n, d, k) = (97, 37, 5);
        let data: Vec<f32> = (0..n * d).map(|i| ((i * 7919 % 1009) as f32 / 97.0).sin()).collect();
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let (rows, norms) = prepare(&data, n, d, metric);
            let tile = Tile { rows: &rows, norms: &norms, d, k, metric };
            let mut plain = (vec![f32::INFINITY; n * k], vec![u32::MAX; n * k]);
            let mut avx = plain.clone();
            tile.run_body(0..n, 0..n, 0, &mut plain.0, &mut plain.1);
            // SAFETY: AVX2 checked above.
            unsafe { tile.run_avx2(0..n, 0..n, 0, &mut avx.0, &mut avx.1) };
            assert_eq!(plain.1, avx.1, "{metric:?}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain.0), bits(&avx.0), "{metric:?}");
        }
    }

    #[test]
    fn threads_find_the_same_graph_bit_for_bit() {
        let (n, d, k) = (517, 19, 6);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<f32> = (0..n * d)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Few distinct values: many exact ties across thread blocks.
                (state % 5) as f32 - 2.0
            })
            .collect();
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let one = knn_cpu_threads(&data, n, d, k, metric, 1);
            for threads in [2, 3, 7] {
                let many = knn_cpu_threads(&data, n, d, k, metric, threads);
                assert_eq!(one.indices, many.indices, "{threads} threads, {metric:?}");
                let bits = |g: &KnnGraph| g.distances.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&one), bits(&many), "{threads} threads, {metric:?}");
            }
        }
    }

    use super::*;

    #[test]
    fn dot_and_dot4_agree_bit_for_bit() {
        let d = 19;
        let values: Vec<f32> = (0..5 * d)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let (query, candidates) = values.split_at(d);
        let four = dot4(query, candidates, d);
        for (j, value) in four.iter().enumerate() {
            assert_eq!(
                value.to_bits(),
                dot(query, &candidates[j * d..(j + 1) * d]).to_bits()
            );
        }
    }

    #[test]
    fn tiny_graphs() {
        assert_eq!(knn_cpu(&[], 0, 3, 5, Metric::Cosine).k, 0);
        let one = knn_cpu(&[1.0, 2.0], 1, 2, 5, Metric::SquaredEuclidean);
        assert_eq!((one.n, one.k, one.indices.len()), (1, 0, 0));
        let two = knn_cpu(&[0.0, 3.0], 2, 1, 5, Metric::SquaredEuclidean);
        assert_eq!(
            (two.k, two.indices.clone(), two.distances.clone()),
            (1, vec![1, 0], vec![9.0, 9.0])
        );
    }

    #[test]
    fn zero_row_stays_zero_and_is_at_distance_one() {
        let data = [0.0, 0.0, 3.0, 4.0, -3.0, -4.0];
        assert_eq!(
            normalise_rows(&data, 3, 2),
            vec![0.0, 0.0, 0.6, 0.8, -0.6, -0.8]
        );
        let graph = knn_cpu(&data, 3, 2, 2, Metric::Cosine);
        assert_eq!(graph.neighbours(0), &[1, 2]);
        assert_eq!(graph.neighbour_distances(0), &[1.0, 1.0]);
        assert_eq!(graph.neighbours(1), &[0, 2]);
        assert_eq!(graph.neighbour_distances(1), &[1.0, 2.0]);
    }
}
