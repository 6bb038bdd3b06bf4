//! The checks run on a parsed table: duplicates, class balance, the
//! neighbour checks on the kNN graph, text near duplicates, the verdict, and
//! the comparison of two files (leakage, drift).

pub mod agreement;
pub mod balance;
pub mod compare;
pub mod conflicts;
pub mod duplicates;
pub mod neighbours;
pub mod pii;
pub mod predictions;
pub mod review;
pub mod rules;
pub mod text_dups;
pub mod verdict;
