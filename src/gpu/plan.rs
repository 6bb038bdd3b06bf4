//! How the kNN kernels (`shaders/knn.wgsl`) split one graph into buffers and
//! dispatches. Pure arithmetic, tested without a GPU.
//!
//! - Rows come in **blocks** of `block_rows` (a multiple of [`TILE`]), one
//!   buffer each, so that no binding exceeds the device's
//!   `maxStorageBufferBindingSize` however large the data.
//! - Queries are taken in **ranges** of at most `query_range` rows inside a
//!   block: the list buffers hold a range's partial lists, and no dispatch
//!   has more than the device's 65535 workgroups per dimension.
//! - For each query range, the candidates of every block are taken in
//!   **dispatches** of at most `candidates_per_dispatch` rows (whole tiles),
//!   bounded by a work budget (GPU watchdogs) and by a loop budget
//!   (lavapipe's 65535 loop iterations per invocation), then one merge
//!   dispatch turns the range's lists into its k best.

/// Query rows per workgroup and candidate rows per tile (`TILE`).
pub const TILE: u64 = 128;

/// Invocations sharing a query row, each with its own list (`LANES`).
pub const LANES: u64 = 16;

/// Query rows per invocation (`SLOTS`).
const SLOTS: u64 = 8;

/// Workgroup size of the merge kernel.
pub const MERGE_GROUP: u64 = 64;

/// Largest number of workgroup columns sharing a query tile.
const MAX_SPLITS: u64 = 8;

/// Workgroups a dispatch should have to fill a large GPU: fewer query tiles
/// than this split the candidates between several workgroup columns.
const TARGET_WORKGROUPS: u64 = 1024;

/// Loop iterations one invocation may run in one dispatch. Lavapipe (Mesa's
/// CPU Vulkan driver, what CI and GPU-less machines get) silently stops an
/// invocation after 65535 loop iterations; half of that leaves a margin.
pub const LOOP_ITERATIONS_PER_DISPATCH: u64 = 32_768;

/// Worst-case loop iterations of one `knn_tile` invocation per candidate
/// tile: the tile loop, per chunk of 8 values the chunk loop and its value
/// loop, the 16 four-candidate offers, and an insertion of up to k steps
/// for each of the 64 distances.
pub fn loop_iterations_per_tile(row_vec4: u64, k: u64) -> u64 {
    1 + (row_vec4 / 2) * (1 + 8) + 16 * 4 + 64 * k
}

/// Loop iterations of one `knn_tile` invocation outside the tile loop:
/// loading and storing 8 lists of k.
pub fn loop_iterations_fixed(k: u64) -> u64 {
    2 * (SLOTS * (1 + k) + 1)
}

/// Worst-case loop iterations of one `knn_merge` invocation.
pub fn merge_loop_iterations(splits: u64, k: u64) -> u64 {
    2 * k + splits * LANES * (1 + k * (1 + k))
}

/// What the planner needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Input {
    /// Rows.
    pub n: u64,
    /// vec4s per padded row (even: rows are padded to 8 values).
    pub row_vec4: u64,
    /// Neighbours per row.
    pub k: u64,
    /// Multiply-adds one dispatch may do.
    pub work_per_dispatch: u64,
    /// Largest binding, in bytes.
    pub binding_limit: u64,
    /// Largest number of workgroups in one dimension.
    pub max_groups: u64,
    /// Whether to run one workgroup column per query tile (CPU adapters,
    /// which gain nothing from more).
    pub one_split: bool,
}

/// The sizes chosen for a graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Rows per block (buffer), a multiple of [`TILE`].
    pub block_rows: u64,
    /// Workgroup columns per query tile.
    pub splits: u64,
    /// Query rows per range, a multiple of [`TILE`].
    pub query_range: u64,
    /// Candidate rows per dispatch, a multiple of [`TILE`].
    pub candidates_per_dispatch: u64,
}

impl Plan {
    /// Bytes of one list buffer (indices or distances) for a whole range.
    pub fn list_bytes(&self, k: u64) -> u64 {
        self.query_range * self.splits * LANES * k * 4
    }
}

/// Chooses the sizes; `None` when even one tile does not fit (rows of tens
/// of thousands of values, or a tiny binding limit).
pub fn plan(input: Input) -> Option<Plan> {
    let Input {
        n,
        row_vec4,
        k,
        work_per_dispatch,
        binding_limit,
        max_groups,
        one_split,
    } = input;
    let row_bytes = row_vec4 * 16;
    let tiles_total = n.div_ceil(TILE).max(1);
    let block_rows = (binding_limit / row_bytes.max(1) / TILE * TILE).min(tiles_total * TILE);
    if block_rows == 0 {
        return None;
    }

    let mut splits = if one_split {
        1
    } else {
        TARGET_WORKGROUPS
            .div_ceil(tiles_total)
            .clamp(1, MAX_SPLITS)
            .min(tiles_total)
    };
    let list_bytes_per_query = |splits: u64| splits * LANES * k * 4;
    while splits > 1
        && (merge_loop_iterations(splits, k) > LOOP_ITERATIONS_PER_DISPATCH
            || TILE * list_bytes_per_query(splits) > binding_limit)
    {
        splits -= 1;
    }
    if merge_loop_iterations(splits, k) > LOOP_ITERATIONS_PER_DISPATCH
        || TILE * list_bytes_per_query(splits) > binding_limit
    {
        return None;
    }

    let max_groups = max_groups.max(1);
    // The smallest dispatch is the whole range against one tile: within
    // the work budget too (unless one tile of queries is already over it).
    let range_by_work = work_per_dispatch / (TILE * row_vec4 * 4).max(1);
    let query_range = (binding_limit / list_bytes_per_query(splits))
        .min(max_groups * TILE)
        .min(max_groups * MERGE_GROUP)
        .min(block_rows)
        .min(range_by_work.max(TILE))
        / TILE
        * TILE;
    if query_range == 0 {
        return None;
    }

    let fixed = loop_iterations_fixed(k);
    let tiles_per_group = LOOP_ITERATIONS_PER_DISPATCH.checked_sub(fixed)?
        / loop_iterations_per_tile(row_vec4, k);
    if tiles_per_group == 0 {
        return None;
    }
    let tiles_by_work = work_per_dispatch / (query_range * TILE * row_vec4 * 4).max(1);
    let tiles = (tiles_per_group * splits).min(tiles_by_work.max(1));
    Some(Plan {
        block_rows,
        splits,
        query_range,
        candidates_per_dispatch: tiles * TILE,
    })
}

/// One dispatch of `knn_tile`: a range of queries of one block against a
/// range of candidates of one block (rows relative to their blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileDispatch {
    /// Block of the queries.
    pub query_block: u64,
    /// First query row, in the block (a multiple of [`TILE`]).
    pub query_first: u64,
    /// End of the query rows, in the block.
    pub query_end: u64,
    /// Block of the candidates.
    pub candidate_block: u64,
    /// First candidate row, in the block (a multiple of [`TILE`]).
    pub candidate_start: u64,
    /// End of the candidate rows, in the block.
    pub candidate_end: u64,
    /// The first dispatch of its query range: the lists start empty.
    pub first: bool,
}

/// A step of a graph: tile dispatches of a query range, then its merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A `knn_tile` dispatch.
    Tile(TileDispatch),
    /// A `knn_merge` dispatch: the lists of the queries `first..end`
    /// (global rows) to their k best.
    Merge {
        /// First query row.
        first: u64,
        /// End of the query rows.
        end: u64,
    },
}

/// Real rows of block `block`.
pub fn block_len(n: u64, plan: &Plan, block: u64) -> u64 {
    plan.block_rows.min(n - block * plan.block_rows)
}

/// Blocks of `n` rows.
pub fn blocks(n: u64, plan: &Plan) -> u64 {
    n.div_ceil(plan.block_rows)
}

/// Every step of the graph, in order.
pub fn steps(n: u64, plan: &Plan) -> Vec<Step> {
    let mut steps = Vec::new();
    for query_block in 0..blocks(n, plan) {
        let query_rows = block_len(n, plan, query_block);
        for query_first in (0..query_rows).step_by(plan.query_range as usize) {
            let query_end = (query_first + plan.query_range).min(query_rows);
            let mut first = true;
            for candidate_block in 0..blocks(n, plan) {
                let candidate_rows = block_len(n, plan, candidate_block);
                for candidate_start in
                    (0..candidate_rows).step_by(plan.candidates_per_dispatch as usize)
                {
                    steps.push(Step::Tile(TileDispatch {
                        query_block,
                        query_first,
                        query_end,
                        candidate_block,
                        candidate_start,
                        candidate_end: (candidate_start + plan.candidates_per_dispatch)
                            .min(candidate_rows),
                        first,
                    }));
                    first = false;
                }
            }
            let base = query_block * plan.block_rows;
            steps.push(Step::Merge {
                first: base + query_first,
                end: base + query_end,
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(n: u64, row_vec4: u64, k: u64, work: u64, limit: u64, one_split: bool) -> Input {
        Input {
            n,
            row_vec4,
            k,
            work_per_dispatch: work,
            binding_limit: limit,
            max_groups: 65_535,
            one_split,
        }
    }

    /// Every (query, candidate) pair is covered exactly once, each query
    /// range merged once after its dispatches, every size within its limits.
    #[test]
    fn steps_cover_every_pair_within_limits() {
        let big = 1u64 << 31;
        for case in [
            input(1, 4, 1, 1 << 35, big, false),
            input(257, 4, 10, 1, big, false),
            input(10_000, 16, 10, 1 << 35, big, false),
            input(100_000, 96, 10, 1 << 35, big, false),
            input(100_000, 96, 10, 1 << 35, 128 << 20, false),
            input(20_000, 192, 10, 1 << 26, 1 << 31, false),
            input(2_000, 96, 32, 1 << 35, big, true),
            input(2_000, 36, 10, 1 << 20, 512 << 10, false),
            input(500, 384, 10, 1 << 35, big, true),
        ] {
            let plan = plan(case).unwrap();
            let n = case.n;
            assert_eq!(plan.block_rows % TILE, 0);
            assert_eq!(plan.query_range % TILE, 0);
            assert_eq!(plan.candidates_per_dispatch % TILE, 0);
            assert!(plan.block_rows * case.row_vec4 * 16 <= case.binding_limit);
            assert!(plan.list_bytes(case.k) <= case.binding_limit);
            assert!(plan.query_range / TILE <= case.max_groups);
            let row_values = case.row_vec4 * 4;
            assert!(
                plan.query_range * plan.candidates_per_dispatch * row_values
                    <= case.work_per_dispatch.max(TILE * TILE * row_values),
                "{case:?}: one dispatch over the work budget"
            );
            assert!(merge_loop_iterations(plan.splits, case.k) <= LOOP_ITERATIONS_PER_DISPATCH);
            let tiles_per_group = (plan.candidates_per_dispatch / TILE).div_ceil(plan.splits);
            assert!(
                loop_iterations_fixed(case.k)
                    + tiles_per_group * loop_iterations_per_tile(case.row_vec4, case.k)
                    <= LOOP_ITERATIONS_PER_DISPATCH
            );
            if case.one_split {
                assert_eq!(plan.splits, 1);
            }

            // Pairs per query row, counted over the dispatches before each merge.
            let mut covered = vec![0u64; n as usize];
            let mut merged = vec![false; n as usize];
            let mut open: Vec<u64> = Vec::new();
            for step in steps(n, &plan) {
                match step {
                    Step::Tile(t) => {
                        assert!(t.query_end - t.query_first <= plan.query_range);
                        assert_eq!(t.query_first % TILE, 0);
                        assert_eq!(t.candidate_start % TILE, 0);
                        assert!(t.candidate_end <= block_len(n, &plan, t.candidate_block));
                        assert_eq!(t.first, open.is_empty());
                        let base = t.query_block * plan.block_rows;
                        for q in t.query_first..t.query_end {
                            covered[(base + q) as usize] += t.candidate_end - t.candidate_start;
                        }
                        open.push(base + t.query_first);
                    }
                    Step::Merge { first, end } => {
                        assert!(!open.is_empty());
                        assert!(open.iter().all(|&f| f == first));
                        open.clear();
                        for q in first..end {
                            assert!(!merged[q as usize]);
                            merged[q as usize] = true;
                            assert_eq!(covered[q as usize], n, "row {q} of {case:?}");
                        }
                    }
                }
            }
            assert!(open.is_empty());
            assert!(merged.iter().all(|&m| m), "{case:?}");
        }
    }

    #[test]
    fn small_limits_split_into_blocks_and_ranges() {
        // 2000 rows of 144 values in 512 KiB bindings: 3 blocks, 768-row ranges
        // (rows of 130 values are padded to 136: the same).
        let plan = plan(input(2_000, 36, 10, 1 << 35, 512 << 10, true)).unwrap();
        assert_eq!(plan.block_rows, 896);
        assert_eq!(blocks(2_000, &plan), 3);
        assert_eq!(plan.query_range, 768);
    }

    #[test]
    fn large_graphs_keep_the_gpu_busy() {
        // 10k rows: 79 query tiles, so candidates are split 8 ways.
        let plan10k = plan(input(10_000, 96, 10, 1 << 35, 1 << 31, false)).unwrap();
        assert_eq!(plan10k.splits, 8);
        let plan100k = plan(input(100_000, 96, 10, 1 << 35, 1 << 31, false)).unwrap();
        assert_eq!(plan100k.splits, 2);
        assert_eq!(plan100k.query_range, plan100k.block_rows);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        // One tile of rows over the binding limit.
        assert!(plan(input(100, 4096, 10, 1 << 35, 1 << 20, false)).is_none());
        // Rows so long that one tile is over the loop budget.
        assert!(plan(input(100, 8192, 10, 1 << 35, 1 << 31, false)).is_none());
        assert!(plan(input(100, 6144, 10, 1 << 35, 1 << 31, false)).is_some());
    }
}
