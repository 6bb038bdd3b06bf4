//! Exact duplicate rows: a 128-bit hash of each normalised row.

use crate::ingest::Table;
use crate::profile::{normalized_cell, ColumnSummary};
use crate::report::{ExactDuplicates, RowGroup};

/// Groups listed in the report, largest first.
pub const GROUP_EXAMPLES: usize = 50;
/// Row ids listed per group.
pub const ROWS_PER_GROUP: usize = 100;

/// How rows are compared, for the report.
pub const METHOD: &str = "xxh3-128 hash of every field; numbers compared by value in numeric columns \
    (1.0 = 1), booleans by truth, other values by exact text; missing values equal each other \
    (the semantics of pandas read_csv + duplicated())";

/// The 128-bit hash of each row (16 bytes a row).
pub fn row_hashes(table: &Table, summaries: &[ColumnSummary]) -> Vec<u128> {
    let mut buf = Vec::new();
    (0..table.rows())
        .map(|row| {
            buf.clear();
            for (column, summary) in table.columns.iter().zip(summaries) {
                normalized_cell(column.get(row), summary.comparison, &mut buf);
            }
            xxhash_rust::xxh3::xxh3_128(&buf)
        })
        .collect()
}

/// Groups of rows with equal keys, each sorted, groups ordered by their first row.
pub fn groups_by_key(keys: &[u128]) -> Vec<Vec<u32>> {
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (keys[i as usize], i));
    let mut groups = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && keys[order[end] as usize] == keys[order[start] as usize] {
            end += 1;
        }
        if end - start >= 2 {
            groups.push(order[start..end].to_vec());
        }
        start = end;
    }
    groups.sort_unstable_by_key(|g| g[0]);
    groups
}

/// Builds a report section from groups of row ids, and each row's group id
/// (the smallest row id of its group).
pub fn summarize_groups(groups: &[Vec<u32>], lines: &[u64], rows: usize) -> (Vec<RowGroup>, Vec<Option<u32>>, u64) {
    let mut group_of = vec![None; rows];
    let mut rows_in_groups = 0u64;
    for g in groups {
        rows_in_groups += g.len() as u64;
        for &r in g {
            group_of[r as usize] = Some(g[0]);
        }
    }
    let mut listed: Vec<&Vec<u32>> = groups.iter().collect();
    listed.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let examples = listed
        .into_iter()
        .take(GROUP_EXAMPLES)
        .map(|g| {
            let shown = &g[..g.len().min(ROWS_PER_GROUP)];
            RowGroup {
                rows: shown.iter().map(|&r| r as u64).collect(),
                lines: shown.iter().map(|&r| lines[r as usize]).collect(),
                size: g.len() as u64,
            }
        })
        .collect();
    (examples, group_of, rows_in_groups)
}

/// Exact duplicates of `table`; returns the section and each row's group.
pub fn exact_duplicates(hashes: &[u128], lines: &[u64]) -> (ExactDuplicates, Vec<Option<u32>>) {
    let groups = groups_by_key(hashes);
    let (examples, group_of, rows_in_groups) = summarize_groups(&groups, lines, hashes.len());
    let section = ExactDuplicates {
        method: METHOD.to_string(),
        redundant_rows: rows_in_groups - groups.len() as u64,
        rows_in_groups,
        group_count: groups.len() as u64,
        groups: examples,
    };
    (section, group_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Ingestor;
    use crate::profile::profile_column;

    fn dupes(csv: &str) -> (ExactDuplicates, Vec<Option<u32>>) {
        let mut ing = Ingestor::new("t.csv");
        ing.push(csv.as_bytes()).unwrap();
        ing.finish().unwrap();
        let summaries: Vec<_> = ing.table.columns.iter().map(profile_column).collect();
        let hashes = row_hashes(&ing.table, &summaries);
        exact_duplicates(&hashes, &ing.table.lines)
    }

    #[test]
    fn groups_redundant_and_rows_in_groups() {
        let (d, group_of) = dupes("a,b\n1,x\n2,y\n1,x\n1.0,x\n3,z\n2,y\nNA,\n,NA\n");
        // {0,2,3} (1 = 1.0), {1,5}, {6,7} (missing = missing)
        assert_eq!(d.group_count, 3);
        assert_eq!(d.rows_in_groups, 7);
        assert_eq!(d.redundant_rows, 4);
        assert_eq!(d.groups[0].rows, vec![0, 2, 3]);
        assert_eq!(d.groups[0].lines, vec![2, 4, 5]);
        assert_eq!(group_of, vec![Some(0), Some(1), Some(0), Some(0), None, Some(1), Some(6), Some(6)]);
    }

    #[test]
    fn text_is_compared_exactly() {
        let (d, _) = dupes("a,b\nx,1\nX,1\nx ,1\nx,1\n");
        assert_eq!(d.group_count, 1);
        assert_eq!(d.groups[0].rows, vec![0, 3]);
    }
}
