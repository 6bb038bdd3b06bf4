//! k-nearest-neighbour graph: the CPU reference (always built) and the wgpu
//! compute path (feature `gpu`).
//!
//! Contract shared by both paths, so that every backend gives the same report:
//! - input: `n` rows of `d` f32 values, row-major;
//! - cosine: rows are L2-normalised first (a zero row stays zero) and the
//!   distance is `max(0, 1 - dot)`; squared euclidean: `max(0, |a - b|^2)`;
//! - a row is never its own neighbour; `graph.k = min(k, n - 1)`;
//! - each row's neighbours are sorted by (distance, index) ascending.

pub mod reference;
#[cfg(feature = "gpu")]
pub(crate) mod context;
#[cfg(feature = "gpu")]
pub mod minhash;
#[cfg(feature = "gpu")]
pub mod plan;

#[cfg(feature = "gpu")]
pub use context::{GpuContext, KnnTiming};
pub use reference::{knn_block_pairs, knn_block_rows, knn_cpu, knn_cpu_threads_for, merge_lists, KnnLists, KnnSearch};

/// Distance used by the kNN graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// 1 - cosine similarity.
    Cosine,
    /// Squared euclidean distance.
    SquaredEuclidean,
}

impl Metric {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::SquaredEuclidean => "euclidean",
        }
    }
}

/// The k nearest neighbours of every row.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnGraph {
    /// Rows.
    pub n: usize,
    /// Neighbours per row (`min(requested k, n - 1)`).
    pub k: usize,
    /// `n * k` neighbour row indices, row-major.
    pub indices: Vec<u32>,
    /// `n * k` distances, same layout, ascending per row.
    pub distances: Vec<f32>,
}

impl KnnGraph {
    /// Neighbour indices of row `i`.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }

    /// Distances to the neighbours of row `i`.
    pub fn neighbour_distances(&self, i: usize) -> &[f32] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
}
