//! The checks run on a parsed table: duplicates, class balance, the
//! neighbour checks on the kNN graph, and the verdict.

pub mod balance;
pub mod duplicates;
pub mod neighbours;
pub mod verdict;
