//! Conflicting labels: labelled rows whose features (every column but the
//! label and identifier-like columns) are identical but whose labels
//! differ. The cheapest label-error signal there is: at most one label of
//! such a group can be right for those features.

use super::balance::label_list;
use super::duplicates::{
    groups_by_key, identifier_columns, normalize_text, row_hashes_of, GROUP_EXAMPLES, NORMALIZATION_STEPS,
    ROWS_PER_GROUP,
};
use crate::ingest::Table;
use crate::profile::value::parse_number;
use crate::profile::ColumnSummary;
use crate::report::{ClassCount, ConflictGroup, ConflictingLabels, ExcludedColumn};
use std::collections::BTreeMap;

/// How a label compares: multi-label lists as sets (order and repeats
/// ignored), and with `normalize` case, whitespace and number spelling
/// ignored as for the features.
pub fn label_key(label: &str, normalize: bool) -> String {
    let one = |l: &str| -> String {
        if !normalize {
            return l.to_string();
        }
        let text = normalize_text(l);
        match parse_number(&text) {
            Some(v) => format!("{v}"),
            None => text,
        }
    };
    match label_list(label) {
        Some(list) => {
            let mut set: Vec<String> = list.iter().map(|l| one(l)).filter(|l| !l.is_empty()).collect();
            set.sort();
            set.dedup();
            // A separator no label holds, and a prefix that keeps a list
            // apart from a single label with the same text.
            format!("\u{1e}{}", set.join("\u{1f}"))
        }
        None => one(label),
    }
}

/// Finds the conflict groups. `labels` holds each row's label (`None` when
/// missing; such rows are left out). `label_derived` are columns that carry
/// the label in another form (other annotators, model probabilities, a
/// verified flag), left out of the features with their reasons. Returns the
/// section and each row's conflict group (its smallest row id).
pub fn conflicting_labels<S: AsRef<str>>(
    table: &Table,
    summaries: &[ColumnSummary],
    label_column: usize,
    labels: &[Option<S>],
    label_derived: &[(usize, String)],
    normalize: bool,
) -> (ConflictingLabels, Vec<Option<u32>>) {
    let mut identifiers: Vec<(usize, String)> = identifier_columns(summaries)
        .into_iter()
        .filter(|(i, _)| *i != label_column && !label_derived.iter().any(|(d, _)| d == i))
        .collect();
    identifiers.extend(label_derived.iter().filter(|(d, _)| *d != label_column).cloned());
    identifiers.sort_by_key(|(i, _)| *i);
    let features: Vec<usize> = (0..table.columns.len())
        .filter(|c| *c != label_column && !identifiers.iter().any(|(i, _)| i == c))
        .collect();
    let mut section = ConflictingLabels {
        label_column: table.columns[label_column].name.clone(),
        method: String::new(),
        normalized: normalize,
        feature_columns: features.len() as u64,
        columns_ignored: identifiers
            .iter()
            .map(|(i, reason)| ExcludedColumn { column: table.columns[*i].name.clone(), reason: reason.clone() })
            .collect(),
        group_count: 0,
        rows_in_groups: 0,
        rows_outvoted: 0,
        groups: Vec::new(),
        groups_not_listed: 0,
    };
    let mut conflict_of = vec![None; table.rows()];
    if features.is_empty() {
        section.method = "not run: no column besides the label and identifier-like columns".into();
        return (section, conflict_of);
    }
    section.method = format!(
        "labelled rows grouped by an xxh3-128 hash of their {} feature column{} (every column but the label{}), \
         values compared as for exact duplicates{}; a group is a conflict when its rows carry 2 or more different \
         labels{}",
        features.len(),
        if features.len() == 1 { "" } else { "s" },
        if identifiers.is_empty() { "" } else { " and the columns listed as ignored" },
        if normalize { format!(" and normalised first ({})", NORMALIZATION_STEPS.join("; ")) } else { String::new() },
        if normalize { "; labels normalised the same way" } else { "" },
    );

    let labelled: Vec<u32> = (0..table.rows() as u32)
        .filter(|&r| labels[r as usize].as_ref().is_some_and(|l| !label_key(l.as_ref(), normalize).is_empty()))
        .collect();
    let hashes = row_hashes_of(table, summaries, &features, normalize);
    let keys: Vec<u128> = labelled.iter().map(|&r| hashes[r as usize]).collect();
    drop(hashes);

    // (rows ascending, label counts as written, rows outvoted)
    let mut conflicts: Vec<(Vec<u32>, Vec<ClassCount>, u64)> = Vec::new();
    for group in groups_by_key(&keys) {
        let rows: Vec<u32> = group.iter().map(|&i| labelled[i as usize]).collect();
        let mut compared: BTreeMap<String, u64> = BTreeMap::new();
        let mut written: BTreeMap<&str, u64> = BTreeMap::new();
        for &r in &rows {
            let Some(label) = labels[r as usize].as_ref().map(|l| l.as_ref()) else { continue };
            *compared.entry(label_key(label, normalize)).or_default() += 1;
            *written.entry(label).or_default() += 1;
        }
        if compared.len() < 2 {
            continue;
        }
        let kept = compared.values().copied().max().unwrap_or(0);
        let mut counts: Vec<ClassCount> =
            written.into_iter().map(|(class, count)| ClassCount { class: class.to_string(), count }).collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.class.cmp(&b.class)));
        conflicts.push((rows.clone(), counts, rows.len() as u64 - kept));
    }

    for (rows, _, outvoted) in &conflicts {
        section.rows_in_groups += rows.len() as u64;
        section.rows_outvoted += outvoted;
        for &r in rows {
            conflict_of[r as usize] = Some(rows[0]);
        }
    }
    section.group_count = conflicts.len() as u64;
    conflicts.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0[0].cmp(&b.0[0])));
    section.groups = conflicts
        .iter()
        .take(GROUP_EXAMPLES)
        .map(|(rows, labels, _)| {
            let shown = &rows[..rows.len().min(ROWS_PER_GROUP)];
            ConflictGroup {
                rows: shown.iter().map(|&r| r as u64).collect(),
                lines: shown.iter().map(|&r| table.lines[r as usize]).collect(),
                size: rows.len() as u64,
                rows_not_listed: (rows.len() - shown.len()) as u64,
                labels: labels.clone(),
                values: table.row_values(rows[0] as usize, 200),
            }
        })
        .collect();
    section.groups_not_listed = section.group_count - section.groups.len() as u64;
    (section, conflict_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::balance::labels;
    use crate::ingest::Ingestor;
    use crate::profile::profile_column;

    fn conflicts(csv: &str, name: &str, label: &str, normalize: bool) -> (ConflictingLabels, Vec<Option<u32>>) {
        let mut ing = Ingestor::new(name);
        ing.push(csv.as_bytes()).unwrap();
        ing.finish().unwrap();
        let summaries: Vec<_> = ing.table.columns.iter().map(profile_column).collect();
        let column = ing.table.column_index(label).unwrap();
        let values = labels(&ing.table, column, summaries[column].comparison);
        conflicting_labels(&ing.table, &summaries, column, &values, &[], normalize)
    }

    #[test]
    fn identical_features_with_different_labels_conflict() {
        // Rows 0, 2, 5: same features, labels cat, dog, cat. Rows 1 and 4:
        // same features, same label (a duplicate, no conflict). Row 6 has
        // no label and is left out of the 3/7 group.
        let csv = "x,y,label\n1,a,cat\n2,b,dog\n1.0,a,dog\n3,c,cat\n2,b,dog\n1,a,cat\n3,c,\n3,c,bird\n";
        let (c, of) = conflicts(csv, "t.csv", "label", false);
        assert_eq!(c.group_count, 2);
        assert_eq!(c.rows_in_groups, 5);
        assert_eq!(c.feature_columns, 2);
        let first = &c.groups[0];
        assert_eq!(first.rows, vec![0, 2, 5]);
        assert_eq!(first.lines, vec![2, 4, 7]);
        assert_eq!(first.size, 3);
        assert_eq!(
            first.labels,
            vec![ClassCount { class: "cat".into(), count: 2 }, ClassCount { class: "dog".into(), count: 1 }]
        );
        assert_eq!(first.values, vec!["1", "a", "cat"]);
        assert_eq!(c.groups[1].rows, vec![3, 7]);
        // Row 2 is outvoted in the first group; one of rows 3 and 7 in the second.
        assert_eq!(c.rows_outvoted, 2);
        assert_eq!(of, vec![Some(0), None, Some(0), Some(3), None, Some(0), None, Some(3)]);
    }

    #[test]
    fn identifiers_are_ignored_and_normalisation_joins_near_identical_rows() {
        let csv = "id,text,label\n1,Red ,a\n2,red,b\n3,blue,a\n4,blue,b\n5,green,a\n";
        let (c, _) = conflicts(csv, "t.csv", "label", false);
        assert_eq!(c.columns_ignored.len(), 1);
        assert_eq!(c.columns_ignored[0].column, "id");
        assert_eq!(c.group_count, 1, "{c:?}");
        assert_eq!(c.groups[0].rows, vec![2, 3]);
        let (c, of) = conflicts(csv, "t.csv", "label", true);
        assert!(c.normalized);
        assert_eq!(c.group_count, 2);
        assert_eq!(of[0], Some(0));
        assert_eq!(of[1], Some(0));
    }

    #[test]
    fn labels_that_differ_only_when_normalisation_is_off() {
        let csv = "x,label\n1,Cat\n1,cat \n2,dog\n";
        assert_eq!(conflicts(csv, "t.csv", "label", false).0.group_count, 1);
        assert_eq!(conflicts(csv, "t.csv", "label", true).0.group_count, 0);
    }

    #[test]
    fn multi_labels_compare_as_sets() {
        let jsonl = concat!(
            "{\"x\": 1, \"labels\": [\"a\", \"b\"]}\n",
            "{\"x\": 1, \"labels\": [\"b\", \"a\"]}\n",
            "{\"x\": 2, \"labels\": [\"a\"]}\n",
            "{\"x\": 2, \"labels\": [\"a\", \"c\"]}\n",
        );
        let (c, of) = conflicts(jsonl, "t.jsonl", "labels", false);
        assert_eq!(c.group_count, 1);
        assert_eq!(of, vec![None, None, Some(2), Some(2)]);
    }

    #[test]
    fn no_feature_column_means_not_run() {
        let (c, of) = conflicts("label\na\nb\na\n", "t.csv", "label", false);
        assert!(c.method.starts_with("not run"));
        assert_eq!(c.group_count, 0);
        assert!(of.iter().all(Option::is_none));
    }

    #[test]
    fn listed_rows_and_groups_are_capped_with_totals() {
        let mut csv = String::from("x,label\n");
        for i in 0..(ROWS_PER_GROUP + 10) {
            csv.push_str(if i % 2 == 0 { "0,a\n" } else { "0,b\n" });
        }
        for g in 1..=(GROUP_EXAMPLES + 3) {
            csv.push_str(&format!("{g},a\n{g},b\n"));
        }
        let (c, _) = conflicts(&csv, "t.csv", "label", false);
        assert_eq!(c.group_count as usize, GROUP_EXAMPLES + 4);
        assert_eq!(c.groups.len(), GROUP_EXAMPLES);
        assert_eq!(c.groups_not_listed, 4);
        let big = &c.groups[0];
        assert_eq!(big.size as usize, ROWS_PER_GROUP + 10);
        assert_eq!((big.rows.len(), big.lines.len()), (ROWS_PER_GROUP, ROWS_PER_GROUP));
        assert_eq!(big.rows_not_listed, 10);
    }
}
