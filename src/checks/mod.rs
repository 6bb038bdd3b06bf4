//! The checks run on a parsed table: duplicates, class balance, the
//! neighbour checks on the kNN graph, text near duplicates, and the verdict.

pub mod balance;
pub mod conflicts;
pub mod duplicates;
pub mod neighbours;
pub mod text_dups;
pub mod verdict;
