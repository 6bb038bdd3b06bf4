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
/// SIMD wasm build), AVX2, AVX-512 (x86-64, chosen at run time). All give
/// the same bits.
const PLAIN: u8 = 0;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX2: u8 = 1;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX512: u8 = 2;

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
    panels: Vec<f32>,
    norms: Vec<f32>,
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
}

impl KnnSearch {
    /// Prepares `data` (`n` rows of `d` values) for a graph of `min(k, n -
    /// 1)` neighbours a row.
    ///
    /// # Panics
    ///
    /// If `data.len() != n * d`, or `n` does not fit in `u32`.
    pub fn new(data: &[f32], n: usize, d: usize, k: usize, metric: Metric) -> KnnSearch {
        assert_eq!(data.len(), n * d, "KnnSearch: data holds {} values, expected n * d = {}", data.len(), n * d);
        assert!(u32::try_from(n).is_ok(), "KnnSearch: n = {n} does not fit in u32");
        let (prepared, norms) = prepare(data, n, d, metric);
        let panels = transpose_panels(&prepared, n, d);
        KnnSearch { panels, norms, n, d, k: k.min(n.saturating_sub(1)), metric }
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
        let tile = Tile { panels: &self.panels, norms: &self.norms, n, d, k, metric: self.metric };
        // Queries `first..first + rows` into their slices of the graph.
        let block = |first: usize, distances: &mut [f32], indices: &mut [u32]| {
            let end = first + distances.len() / k;
            let mut queries = vec![0.0f32; QUERY_BLOCK * d];
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
        let tile = Tile { panels: &self.panels, norms: &self.norms, n, d, k, metric: self.metric };
        let mut queries = vec![0.0f32; QUERY_BLOCK * d];
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
            scratch: &mut [f32],
            distances: &mut [f32],
            indices: &mut [u32],
        ) {
            self.run_body::<MIRROR, $simd>(queries, panels, first, scratch, distances, indices);
        }
    };
}

/// What one block of the distance matrix needs.
struct Tile<'a> {
    /// The rows in panels ([`transpose_panels`]).
    panels: &'a [f32],
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
        scratch: &mut [f32],
        distances: &mut [f32],
        indices: &mut [u32],
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            unsafe { self.run_avx512::<MIRROR>(queries, panels, first, scratch, distances, indices) };
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
        /// [`Tile::run_body`] compiled for AVX-512F (the caller checks the CPU).
        run_avx512, "avx512f", AVX512
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
            gather_queries(self.panels, d, q0, count, scratch);
            let mut query_norms = [0.0f32; QUERY_BLOCK];
            if self.metric == Metric::SquaredEuclidean {
                for (i, norm) in query_norms.iter_mut().enumerate() {
                    *norm = self.norms[q0 + i.min(count - 1)];
                }
            }
            let panel = |p: usize| &self.panels[p * d * PANEL..(p + 1) * d * PANEL];
            let mut p = panels.start;
            while p < panels.end {
                #[cfg(target_arch = "x86_64")]
                if SIMD == AVX512 && p + 1 < panels.end {
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
                    AVX512 | AVX2 => unsafe { panel_dots_avx2(scratch, panel(p), d) },
                    _ => panel_dots(scratch, panel(p), d),
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
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let (rows, norms) = prepare(&data, n, d, metric);
            let panels = transpose_panels(&rows, n, d);
            let tile = Tile { panels: &panels, norms: &norms, n, d, k, metric };
            let mut scratch = vec![0.0; QUERY_BLOCK * d];
            let mut plain = (vec![f32::INFINITY; n * k], vec![u32::MAX; n * k]);
            let mut avx = plain.clone();
            let all = 0..n.div_ceil(PANEL);
            tile.run_body::<false, PLAIN>(0..n, all.clone(), 0, &mut scratch, &mut plain.0, &mut plain.1);
            // SAFETY: AVX2 checked above.
            unsafe { tile.run_avx2::<false>(0..n, all.clone(), 0, &mut scratch, &mut avx.0, &mut avx.1) };
            assert_eq!(plain.1, avx.1, "{metric:?}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain.0), bits(&avx.0), "{metric:?}");
            if std::is_x86_feature_detected!("avx512f") {
                // An odd number of panels: pairs, then one alone.
                assert_eq!(all.len() % 2, 1);
                let mut wide = (vec![f32::INFINITY; n * k], vec![u32::MAX; n * k]);
                // SAFETY: AVX-512F checked just above.
                unsafe { tile.run_avx512::<false>(0..n, all.clone(), 0, &mut scratch, &mut wide.0, &mut wide.1) };
                assert_eq!(plain.1, wide.1, "{metric:?}");
                assert_eq!(bits(&plain.0), bits(&wide.0), "{metric:?}");
            } else {
                eprintln!("no AVX-512 here: only AVX2 compared");
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
