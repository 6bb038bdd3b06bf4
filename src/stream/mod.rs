//! Streaming profiles of big files: byte-range parts parsed into mergeable
//! accumulators, merged in file order, then finished into a profiler.
//!
//! 1. [`read_head`] decides the format and header from the file's first
//!    bytes, as the sequential reader does.
//! 2. [`plan_parts`] cuts the file into byte ranges ([`PartSpec`]).
//! 3. A [`PartBuilder`] per range (a thread, a browser worker) reads it into
//!    an [`accumulate::Accumulator`] and ends as a [`Part`], which moves
//!    between workers as bytes ([`Part::to_bytes`]).
//! 4. [`check_parts`] verifies that the parts met at record boundaries (a
//!    part guesses where its first record starts); a part that guessed
//!    wrong is read again from where the part before it stopped.
//! 5. [`merge_parts`] merges them in file order into a [`crate::Profiler`].
//!
//! Natively, [`profile_path_parallel`] does all of it with threads. The
//! merge contract (for shards merged elsewhere) is `docs/merge-contract.md`.

pub mod accumulate;
pub mod finish;
#[cfg(not(target_arch = "wasm32"))]
pub mod parallel;
pub mod part;
pub mod plan;

#[cfg(not(target_arch = "wasm32"))]
pub use parallel::profile_path_parallel;
pub use part::{
    check_bounds, check_parts, merge_parts, Part, PartBounds, PartBuilder, PartMerger, PartReader, Reparse,
};
pub use plan::{plan_parts, read_head, read_head_hinted, sample_bound, Head, PartSpec, MIN_PART_BYTES};

use crate::error::{Error, ErrorKind, Result};

/// Whether a file is profiled whole (exact) or streamed in parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamMode {
    /// Stream files larger than [`crate::Options::stream_above_bytes`].
    #[default]
    Auto,
    /// Always stream.
    On,
    /// Never stream: the whole file in memory, every check on every row.
    Off,
}

impl StreamMode {
    /// Whether a file of `bytes` bytes is streamed under `above_bytes`.
    pub fn streams(self, bytes: u64, above_bytes: u64) -> bool {
        match self {
            StreamMode::Auto => bytes > above_bytes,
            StreamMode::On => true,
            StreamMode::Off => false,
        }
    }
}

impl std::str::FromStr for StreamMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<StreamMode> {
        match s {
            "auto" => Ok(StreamMode::Auto),
            "on" => Ok(StreamMode::On),
            "off" => Ok(StreamMode::Off),
            _ => Err(Error::new(ErrorKind::InvalidOption, format!("stream must be auto, on or off, not {s:?}"))),
        }
    }
}
