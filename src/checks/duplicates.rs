//! Exact duplicate rows: a 128-bit hash of each normalised row; the same
//! again with identifier-like columns left out; optional normalisation of
//! values (trim, case-fold, numbers by value) before either.

use crate::ingest::{Cell, Table};
use crate::profile::value::{parse_bool, parse_number, parse_vector};
use crate::profile::{name_suggests_identifier, normalized_cell, ColumnSummary, Comparison};
use crate::report::{ColumnType, DuplicatesIgnoringIdentifiers, ExactDuplicates, ExcludedColumn, RowGroup};

/// Groups listed in the report, largest first.
pub const GROUP_EXAMPLES: usize = 50;
/// Row ids listed per group.
pub const ROWS_PER_GROUP: usize = 100;

/// How rows are compared, for the report.
pub const METHOD: &str = "xxh3-128 hash of every field; numbers compared by value in numeric columns \
    (1.0 = 1), booleans by truth, other values by exact text; missing values equal each other \
    (the semantics of pandas read_csv + duplicated())";

/// What `--normalize` does to each value before rows are compared.
pub const NORMALIZATION_STEPS: [&str; 3] = [
    "trim surrounding whitespace and collapse inner runs of whitespace to one space",
    "case-fold text (Unicode lower case)",
    "compare numbers by value in every column (1.0 = 1, 1e3 = 1000)",
];

/// A column named like an identifier counts as one when at least this
/// share of its values are distinct (so that a few copied rows that kept
/// their id do not hide the column).
pub const IDENTIFIER_NAME_DISTINCT_SHARE: f64 = 0.9;

/// The 128-bit hash of each row (16 bytes a row), every column, values as
/// written (pandas semantics).
pub fn row_hashes(table: &Table, summaries: &[ColumnSummary]) -> Vec<u128> {
    let columns: Vec<usize> = (0..table.columns.len()).collect();
    row_hashes_of(table, summaries, &columns, false)
}

/// The 128-bit hash of each row over `columns` only, values normalised
/// first when `normalize` is set (see [`NORMALIZATION_STEPS`]).
/// Natively the rows are hashed in ranges on the machine's cores.
pub fn row_hashes_of(table: &Table, summaries: &[ColumnSummary], columns: &[usize], normalize: bool) -> Vec<u128> {
    let worth_threads = table.rows().saturating_mul(columns.len()) >= 200_000;
    crate::par::map_ranges(table.rows(), worth_threads, |rows| {
        let mut buf = Vec::new();
        rows.map(|row| {
            buf.clear();
            for &c in columns {
                cell_key(table.columns[c].get(row), summaries[c].comparison, normalize, &mut buf);
            }
            xxhash_rust::xxh3::xxh3_128(&buf)
        })
        .collect::<Vec<_>>()
    })
    .concat()
}

/// Appends the comparison bytes of a cell: cells that compare equal give
/// equal bytes. Without `normalize` this is [`normalized_cell`] (pandas
/// semantics); with it, see [`NORMALIZATION_STEPS`]; a value that is
/// empty once trimmed is missing.
pub fn cell_key(cell: Cell<'_>, comparison: Comparison, normalize: bool, out: &mut Vec<u8>) {
    if !normalize {
        return normalized_cell(cell, comparison, out);
    }
    match cell {
        Cell::Missing => out.push(0),
        Cell::Vector(text) => match parse_vector(text) {
            Some(values) => {
                out.push(4);
                out.extend_from_slice(&(values.len() as u64).to_le_bytes());
                for v in values {
                    let v = if v == 0.0 { 0.0f32 } else { v };
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                }
            }
            None => normalized_cell(cell, comparison, out),
        },
        Cell::Text(text) => {
            let text = normalize_text(text);
            if text.is_empty() {
                out.push(0);
            } else if let Some(v) = parse_number(&text) {
                out.push(1);
                let v = if v == 0.0 { 0.0 } else { v };
                out.extend_from_slice(&v.to_bits().to_le_bytes());
            } else if let Some(b) = parse_bool(&text) {
                out.extend_from_slice(&[2, b as u8]);
            } else {
                out.push(3);
                out.extend_from_slice(&(text.len() as u64).to_le_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
}

/// Lower case, surrounding whitespace trimmed, inner runs of whitespace
/// collapsed to one space.
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Identifier-like columns, with the reason: typed `identifier` by the
/// profile (every value distinct, or 99% of 100 or more, id-like name or
/// short key-like values),
/// or named like an identifier (id, uuid, key, ..., `user_id`) with at
/// least [`IDENTIFIER_NAME_DISTINCT_SHARE`] of its values distinct.
pub fn identifier_columns(summaries: &[ColumnSummary]) -> Vec<(usize, String)> {
    summaries
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let p = &s.profile;
            if p.column_type == ColumnType::Identifier {
                let how = if p.distinct == p.count {
                    format!("all {} values distinct", p.distinct)
                } else {
                    format!("{} distinct values in {}", p.distinct, p.count)
                };
                return Some((i, format!("profiled as an identifier: {how}")));
            }
            let share = p.distinct as f64 / p.count.max(1) as f64;
            (p.count >= 2 && name_suggests_identifier(&p.name) && share >= IDENTIFIER_NAME_DISTINCT_SHARE).then(|| {
                (i, format!("named like an identifier, {} distinct values in {} ({:.1}%)", p.distinct, p.count, share * 100.0))
            })
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
    (group_examples(groups, |r| lines[r as usize]), group_of, rows_in_groups)
}

/// The groups listed in a report: the largest first (ties by first row), at
/// most [`GROUP_EXAMPLES`], each with at most [`ROWS_PER_GROUP`] rows and
/// their lines (`line_of`).
pub fn group_examples(groups: &[Vec<u32>], line_of: impl Fn(u32) -> u64) -> Vec<RowGroup> {
    let mut listed: Vec<&Vec<u32>> = groups.iter().collect();
    listed.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    listed
        .into_iter()
        .take(GROUP_EXAMPLES)
        .map(|g| {
            let shown = &g[..g.len().min(ROWS_PER_GROUP)];
            RowGroup {
                rows: shown.iter().map(|&r| r as u64).collect(),
                lines: shown.iter().map(|&r| line_of(r)).collect(),
                size: g.len() as u64,
                rows_not_listed: (g.len() - shown.len()) as u64,
            }
        })
        .collect()
}

/// Exact duplicates from row hashes; returns the section and each row's
/// group (values compared as written; no identifier check).
pub fn exact_duplicates(hashes: &[u128], lines: &[u64]) -> (ExactDuplicates, Vec<Option<u32>>) {
    let groups = groups_by_key(hashes);
    let (examples, group_of, rows_in_groups) = summarize_groups(&groups, lines, hashes.len());
    let section = ExactDuplicates {
        method: METHOD.to_string(),
        redundant_rows: rows_in_groups - groups.len() as u64,
        rows_in_groups,
        group_count: groups.len() as u64,
        groups_not_listed: (groups.len() - examples.len()) as u64,
        groups: examples,
        normalized: false,
        normalization: Vec::new(),
        ignoring_identifiers: None,
    };
    (section, group_of)
}

/// What the exact duplicate check found.
#[derive(Debug, Clone)]
pub struct ExactFindings {
    /// The report section.
    pub section: ExactDuplicates,
    /// Each row's identical-row group (smallest row id of the group).
    pub exact_group: Vec<Option<u32>>,
    /// Each row's group once identifier-like columns are left out.
    pub group_ignoring_identifiers: Vec<Option<u32>>,
}

/// Identical rows, and rows identical but for identifier-like columns,
/// values normalised first when `normalize` is set.
pub fn exact_duplicate_check(table: &Table, summaries: &[ColumnSummary], normalize: bool) -> ExactFindings {
    let all: Vec<usize> = (0..table.columns.len()).collect();
    let hashes = row_hashes_of(table, summaries, &all, normalize);
    let (mut section, exact_group) = exact_duplicates(&hashes, &table.lines);
    drop(hashes);
    if normalize {
        section.normalized = true;
        section.normalization = NORMALIZATION_STEPS.iter().map(|s| s.to_string()).collect();
        section.method = format!("{METHOD}; values normalised first: {}", NORMALIZATION_STEPS.join("; "));
    }
    let identifiers = identifier_columns(summaries);
    let kept: Vec<usize> = all.iter().copied().filter(|c| !identifiers.iter().any(|(i, _)| i == c)).collect();
    let mut group_ignoring_identifiers = vec![None; table.rows()];
    if !identifiers.is_empty() && !kept.is_empty() {
        let hashes = row_hashes_of(table, summaries, &kept, normalize);
        let groups = groups_by_key(&hashes);
        drop(hashes);
        let (examples, group_of, rows_in_groups) = summarize_groups(&groups, &table.lines, table.rows());
        group_ignoring_identifiers = group_of;
        let redundant_rows = rows_in_groups - groups.len() as u64;
        let names: Vec<&str> = identifiers.iter().map(|(i, _)| table.columns[*i].name.as_str()).collect();
        section.ignoring_identifiers = Some(DuplicatesIgnoringIdentifiers {
            columns_ignored: identifiers
                .iter()
                .map(|(i, reason)| ExcludedColumn { column: table.columns[*i].name.clone(), reason: reason.clone() })
                .collect(),
            method: format!(
                "as identical rows, with the identifier-like column{} {} left out{}",
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if normalize { "; values normalised first" } else { "" }
            ),
            redundant_rows,
            additional_redundant_rows: redundant_rows.saturating_sub(section.redundant_rows),
            rows_in_groups,
            group_count: groups.len() as u64,
            groups_not_listed: (groups.len() - examples.len()) as u64,
            groups: examples,
        });
    }
    ExactFindings { section, exact_group, group_ignoring_identifiers }
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
    fn threaded_row_hashes_are_the_one_row_at_a_time_hashes() {
        // 60,000 rows x 4 columns: hashed in ranges on several cores natively.
        let mut csv = String::from("a,b,c,d\n");
        for i in 0..60_000 {
            csv.push_str(&format!("{},x{} ,{}.5,{}\n", i % 97, i % 13, i % 7, if i % 5 == 0 { "" } else { "t" }));
        }
        let mut ing = Ingestor::new("t.csv");
        ing.push(csv.as_bytes()).unwrap();
        ing.finish().unwrap();
        let table = &ing.table;
        let summaries: Vec<_> = table.columns.iter().map(profile_column).collect();
        for normalize in [false, true] {
            let columns = [0usize, 1, 2, 3];
            let threaded = row_hashes_of(table, &summaries, &columns, normalize);
            let mut buf = Vec::new();
            let one_at_a_time: Vec<u128> = (0..table.rows())
                .map(|row| {
                    buf.clear();
                    for &c in &columns {
                        cell_key(table.columns[c].get(row), summaries[c].comparison, normalize, &mut buf);
                    }
                    xxhash_rust::xxh3::xxh3_128(&buf)
                })
                .collect();
            assert_eq!(threaded, one_at_a_time);
        }
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

    /// pandas reads a column of integers as int64 and compares exactly:
    /// 2^53 + 1 and 2^53 are different rows (as f64 they are equal).
    #[test]
    fn integers_beyond_f64_precision_are_not_duplicates() {
        let (d, _) = dupes("a,b\n9007199254740993,x\n9007199254740992,x\n1,y\n");
        assert_eq!((d.redundant_rows, d.group_count), (0, 0));
        // With a missing value pandas makes the column float64: equal again.
        let (d, _) = dupes("a,b\n9007199254740993,x\n9007199254740992,x\n,y\n");
        assert_eq!((d.redundant_rows, d.group_count), (1, 1));
    }

    /// One text value among numbers makes pandas keep the column as text,
    /// where "1" and "1.0" differ.
    #[test]
    fn a_stray_text_value_makes_numbers_compare_as_text() {
        let mut csv = String::from("a,b\n");
        for i in 0..30 {
            csv.push_str(&format!("{i},v\n"));
        }
        csv.push_str("1.0,v\nabc,v\n");
        let (d, _) = dupes(&csv);
        assert_eq!(d.redundant_rows, 0);
        // Without the text value, 1 and 1.0 are one number.
        let (d, _) = dupes(&csv.replace("abc,v\n", ""));
        assert_eq!(d.redundant_rows, 1);
    }

    fn check(csv: &str, normalize: bool) -> ExactFindings {
        let mut ing = Ingestor::new("t.csv");
        ing.push(csv.as_bytes()).unwrap();
        ing.finish().unwrap();
        let summaries: Vec<_> = ing.table.columns.iter().map(profile_column).collect();
        exact_duplicate_check(&ing.table, &summaries, normalize)
    }

    #[test]
    fn the_full_check_without_normalisation_is_pandas_duplicated() {
        // The same table as `groups_redundant_and_rows_in_groups`: pandas
        // read_csv(...).duplicated(keep=False) marks rows 0, 1, 2, 3, 5, 6, 7.
        let f = check("a,b\n1,x\n2,y\n1,x\n1.0,x\n3,z\n2,y\nNA,\n,NA\n", false);
        assert_eq!((f.section.redundant_rows, f.section.rows_in_groups, f.section.group_count), (4, 7, 3));
        assert!(!f.section.normalized && f.section.normalization.is_empty());
        assert!(f.section.ignoring_identifiers.is_none(), "no identifier-like column");
        assert_eq!(f.exact_group, vec![Some(0), Some(1), Some(0), Some(0), None, Some(1), Some(6), Some(6)]);
    }

    #[test]
    fn normalisation_trims_case_folds_and_compares_numbers_by_value() {
        let csv = "name,code,n\n x ,007,1\nX,7,1.0\nx,7.0,1\n\"new  york\",a,2\nNew York,A,2\ny,b,3\n";
        let plain = check(csv, false);
        assert_eq!(plain.section.group_count, 0);
        let f = check(csv, true);
        assert!(f.section.normalized);
        assert_eq!(f.section.normalization.len(), NORMALIZATION_STEPS.len());
        assert!(f.section.method.contains("normalised"));
        assert_eq!((f.section.group_count, f.section.redundant_rows, f.section.rows_in_groups), (2, 3, 5));
        assert_eq!(f.section.groups[0].rows, vec![0, 1, 2]);
        assert_eq!(f.section.groups[1].rows, vec![3, 4]);
        // A value that is only whitespace is missing.
        let f = check("a,b\n1,\" \"\n1,\n", true);
        assert_eq!(f.section.group_count, 1);
    }

    #[test]
    fn duplicates_ignoring_identifier_columns_are_reported_separately() {
        let csv = "id,a,b\n1,x,1\n2,x,1\n3,y,2\n4,x,1\n5,y,3\n5,y,3\n";
        // "id" repeats once (5 of 6 distinct, under 90%): it is not ignored.
        let f = check(csv, false);
        assert_eq!(f.section.group_count, 1);
        assert!(f.section.ignoring_identifiers.is_none());
        let csv = "id,uuid,a,b\n1,u1,x,1\n2,u2,x,1\n3,u3,y,2\n4,u4,x,1\n5,u5,y,3\n";
        let f = check(csv, false);
        assert_eq!(f.section.group_count, 0);
        let ids = f.section.ignoring_identifiers.as_ref().expect("id and uuid are identifiers");
        let ignored: Vec<&str> = ids.columns_ignored.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(ignored, ["id", "uuid"]);
        assert_eq!((ids.group_count, ids.redundant_rows, ids.rows_in_groups, ids.additional_redundant_rows), (1, 2, 3, 2));
        assert_eq!(ids.groups[0].rows, vec![0, 1, 3]);
        assert_eq!(ids.groups[0].lines, vec![2, 3, 5]);
        assert_eq!(f.group_ignoring_identifiers, vec![Some(0), Some(0), None, Some(0), None]);
        assert!(f.exact_group.iter().all(Option::is_none));
    }

    #[test]
    fn an_id_named_column_with_a_few_repeats_is_still_an_identifier() {
        // 20 rows, ids 0..18 and 18 again (19 of 20 distinct): rows 18 and
        // 19 are full copies; rows 0 and 1 differ only in their id.
        let mut csv = String::from("record_id,v\n");
        for i in 0..20 {
            let id = i.min(18);
            let v = match i { 0 | 1 => 100, 18 | 19 => 200, _ => i };
            csv.push_str(&format!("{id},{v}\n"));
        }
        let f = check(&csv, false);
        assert_eq!(f.section.groups.iter().map(|g| g.rows.clone()).collect::<Vec<_>>(), vec![vec![18, 19]]);
        let ids = f.section.ignoring_identifiers.as_ref().unwrap();
        assert!(ids.columns_ignored[0].reason.contains("named like an identifier"), "{:?}", ids.columns_ignored);
        assert_eq!((ids.group_count, ids.redundant_rows, ids.additional_redundant_rows), (2, 2, 1));
    }

    #[test]
    fn listed_groups_and_rows_are_capped_with_totals() {
        let mut csv = String::from("v\n");
        for _ in 0..(ROWS_PER_GROUP + 7) {
            csv.push_str("big\n");
        }
        for g in 0..(GROUP_EXAMPLES + 5) {
            csv.push_str(&format!("g{g}\ng{g}\n"));
        }
        let f = check(&csv, false);
        let e = &f.section;
        assert_eq!(e.group_count as usize, GROUP_EXAMPLES + 6);
        assert_eq!((e.groups.len(), e.groups_not_listed as usize), (GROUP_EXAMPLES, 6));
        assert_eq!(e.groups[0].size as usize, ROWS_PER_GROUP + 7);
        assert_eq!((e.groups[0].rows.len(), e.groups[0].lines.len()), (ROWS_PER_GROUP, ROWS_PER_GROUP));
        assert_eq!(e.groups[0].rows_not_listed, 7);
        assert_eq!(e.groups[1].rows_not_listed, 0);
        assert_eq!(e.redundant_rows as usize, ROWS_PER_GROUP + 6 + GROUP_EXAMPLES + 5);
    }

    #[test]
    fn text_is_compared_exactly() {
        let (d, _) = dupes("a,b\nx,1\nX,1\nx ,1\nx,1\n");
        assert_eq!(d.group_count, 1);
        assert_eq!(d.groups[0].rows, vec![0, 3]);
    }
}
