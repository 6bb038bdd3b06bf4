//! Class balance of the label column, and finding that column.

use crate::ingest::Table;
use crate::profile::value::{parse_bool, parse_number};
use crate::profile::{ColumnSummary, Comparison};
use std::borrow::Cow;
use crate::report::{ClassBalance, ClassCount, ClassShare, ClassVariants, ColumnType};
use std::collections::BTreeMap;

/// Share of labels that must be JSON arrays of strings for the column to be
/// read as multi-label (the rest count as one label each).
pub const MULTI_LABEL_SHARE: f64 = 0.95;

/// The labels of a multi-label value: a JSON array of strings (as JSONL
/// arrays are stored, `["cat","dog"]`); `None` for anything else.
pub fn label_list(text: &str) -> Option<Vec<String>> {
    if !text.trim_start().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(text).ok()
}

/// Names that say "this is the label" (compared lower-case, without
/// separators).
const LABEL_NAMES: &[&str] = &[
    "label", "labels", "class", "classes", "target", "y", "category", "outcome", "species", "sentiment",
    "diagnosis", "groundtruth", "gold", "goldlabel", "truelabel", "classlabel", "targetclass", "intent",
    "emotion", "topic", "response", "survived", "churn", "fraud", "isfraud", "default", "tags", "topics",
    "categories",
];

/// Most classes a detected label column may have.
pub const MAX_DETECTED_CLASSES: u64 = 100;

fn normalise_name(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Picks the label column: the first whose name is a label name and whose
/// values look like classes (2 to 100 distinct, fewer than half the rows,
/// not an identifier, text or vector). Returns its index and the reason.
pub fn detect_label(summaries: &[ColumnSummary], rows: usize) -> Option<(usize, String)> {
    for hint in LABEL_NAMES {
        for (i, s) in summaries.iter().enumerate() {
            let p = &s.profile;
            if normalise_name(&p.name) != *hint {
                continue;
            }
            let classes_ok = p.distinct >= 2
                && p.distinct <= MAX_DETECTED_CLASSES
                && (p.distinct as f64) <= (rows as f64 * 0.5).max(2.0);
            let type_ok = matches!(
                p.column_type,
                ColumnType::Categorical | ColumnType::Boolean | ColumnType::Integer
            );
            if classes_ok && type_ok {
                return Some((
                    i,
                    format!(
                        "detected: the name {:?} is a usual label name and it has {} classes in {} rows",
                        p.name, p.distinct, rows
                    ),
                ));
            }
        }
    }
    None
}

/// Label of each row, `None` when missing. Labels compare as the column's
/// values do: in a numeric column `1` and `1.0` are one class (named `1`),
/// in a boolean column `True` and `true` are one class (named `true`);
/// other labels as written.
pub fn labels(table: &Table, column: usize, comparison: Comparison) -> Vec<Option<Cow<'_, str>>> {
    table.columns[column].cells().map(|c| (!c.is_missing()).then(|| label_of(c.text(), comparison))).collect()
}

/// The class a non-missing label `text` names, under the column's
/// comparison (see [`labels`]).
pub fn label_of(text: &str, comparison: Comparison) -> Cow<'_, str> {
    let canonical = match comparison {
        Comparison::Integer => text.trim().parse::<i64>().ok().map(|v| v.to_string()),
        Comparison::Numeric => parse_number(text).map(|v| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            }
        }),
        Comparison::Boolean => parse_bool(text).map(|b| b.to_string()),
        Comparison::Text => None,
    };
    canonical.map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Counts, shares, imbalance ratio, entropy, flagged minority classes,
/// singletons and classes written several ways. When at least
/// [`MULTI_LABEL_SHARE`] of the labels are JSON arrays of strings, each
/// label of a row is counted once (shares are then of all assignments).
pub fn class_balance<S: AsRef<str>>(labels: &[Option<S>], label_column: &str, reason: String) -> ClassBalance {
    let weighted: Vec<(Option<&str>, u64)> = labels.iter().map(|l| (l.as_ref().map(|l| l.as_ref()), 1)).collect();
    class_balance_of_counts(&weighted, label_column, reason)
}

/// [`class_balance`] of labels given with their counts (`None`: missing),
/// as a streamed run has them: each distinct label once, with how many rows
/// carry it.
pub fn class_balance_of_counts(labels: &[(Option<&str>, u64)], label_column: &str, reason: String) -> ClassBalance {
    let present: u64 = labels.iter().filter(|(l, _)| l.is_some()).map(|(_, n)| n).sum();
    let lists: u64 = labels.iter().filter(|(l, _)| l.is_some_and(|l| label_list(l).is_some())).map(|(_, n)| n).sum();
    let multi_label = lists > 0 && lists as f64 >= MULTI_LABEL_SHARE * present as f64;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let (mut missing, mut labelled_rows) = (0, 0);
    for &(label, n) in labels {
        let Some(l) = label else {
            missing += n;
            continue;
        };
        match label_list(l).filter(|_| multi_label) {
            Some(mut list) => {
                list.retain(|l| !l.is_empty());
                list.sort();
                list.dedup();
                if list.is_empty() {
                    missing += n;
                    continue;
                }
                labelled_rows += n;
                for l in list {
                    *counts.entry(l).or_default() += n;
                }
            }
            None => {
                labelled_rows += n;
                *counts.entry(l.to_string()).or_default() += n;
            }
        }
    }
    let total: u64 = counts.values().sum();
    let k = counts.len();
    let flag_share_below = if k > 0 { 0.1 / k as f64 } else { 0.0 };
    let mut classes: Vec<ClassShare> = counts
        .iter()
        .map(|(class, &count)| {
            let share = count as f64 / total.max(1) as f64;
            ClassShare { class: class.clone(), count, share, flagged: share < flag_share_below }
        })
        .collect();
    classes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.class.cmp(&b.class)));
    let max = classes.first().map_or(0, |c| c.count);
    let min = classes.last().map_or(0, |c| c.count);
    let entropy: f64 = classes.iter().map(|c| if c.share > 0.0 { -c.share * c.share.ln() } else { 0.0 }).sum();
    let normalized_entropy = if k > 1 { entropy / (k as f64).ln() } else { 0.0 };
    let singletons = classes.iter().filter(|c| c.count == 1).map(|c| c.class.clone()).collect();
    let case_variants: Vec<ClassVariants> = crate::profile::spelling_variants(classes.iter().map(|c| (c.class.as_str(), c.count)))
        .into_iter()
        .map(|(normalized, forms)| {
            let classes: Vec<ClassCount> = forms.into_iter().map(|(class, count)| ClassCount { class, count }).collect();
            ClassVariants { count: classes.iter().map(|c| c.count).sum(), normalized, classes }
        })
        .collect();
    ClassBalance {
        labelled_rows,
        multi_label,
        singletons,
        case_variants,
        label_column: label_column.to_string(),
        reason,
        counts,
        flagged_classes: classes.iter().filter(|c| c.flagged).map(|c| c.class.clone()).collect(),
        classes,
        missing,
        imbalance_ratio: if min > 0 { max as f64 / min as f64 } else { 0.0 },
        normalized_entropy,
        flag_share_below,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_ratio_entropy_and_flags() {
        let mut labels = vec![Some("a"); 90];
        labels.extend(vec![Some("b"); 9]);
        labels.push(Some("c"));
        labels.push(None);
        let b = class_balance(&labels, "y", "chosen".into());
        assert_eq!(b.counts["a"], 90);
        assert_eq!(b.missing, 1);
        assert_eq!(b.imbalance_ratio, 90.0);
        // 0.1 / 3 = 0.0333: only "c" (share 0.01) is below it.
        assert_eq!(b.flagged_classes, vec!["c".to_string()]);
        assert_eq!(b.classes[0].class, "a");
        let p = [0.9f64, 0.09, 0.01];
        let h: f64 = p.iter().map(|p| -p * p.ln()).sum::<f64>() / 3f64.ln();
        assert!((b.normalized_entropy - h).abs() < 1e-12);
    }

    #[test]
    fn labels_compare_as_their_column_does() {
        let mut ing = crate::ingest::Ingestor::new("t.csv");
        ing.push(b"b,n\ntrue,1\nTrue,1.0\nfalse,2\nTRUE,2\n").unwrap();
        ing.finish().unwrap();
        let s: Vec<_> = ing.table.columns.iter().map(crate::profile::profile_column).collect();
        let b = labels(&ing.table, 0, s[0].comparison);
        let b: Vec<Option<&str>> = b.iter().map(|l| l.as_deref()).collect();
        assert_eq!(class_balance(&b, "b", "chosen".into()).counts.len(), 2);
        let n = labels(&ing.table, 1, s[1].comparison);
        let n: Vec<Option<&str>> = n.iter().map(|l| l.as_deref()).collect();
        assert_eq!(n, [Some("1"), Some("1"), Some("2"), Some("2")]);
    }

    #[test]
    fn singletons_and_case_variants() {
        let labels = [Some("Cat"), Some("cat "), Some("cat "), Some("dog"), Some("DOG"), Some("bird"), Some("fish"), Some("Cat")];
        let b = class_balance(&labels, "y", "chosen".into());
        assert_eq!(b.singletons, vec!["DOG", "bird", "dog", "fish"]);
        assert_eq!(b.case_variants.len(), 2);
        let cat = &b.case_variants[0];
        assert_eq!((cat.normalized.as_str(), cat.count), ("cat", 4));
        assert_eq!(cat.classes, vec![ClassCount { class: "Cat".into(), count: 2 }, ClassCount { class: "cat ".into(), count: 2 }]);
        assert_eq!(b.case_variants[1].normalized, "dog");
        assert!(!b.multi_label);
        assert_eq!(b.labelled_rows, 8);
        // "New  York" and "new york" differ only in whitespace and case.
        let b = class_balance(&[Some("New  York"), Some("new york"), Some("Newark")], "y", "chosen".into());
        assert_eq!(b.case_variants.len(), 1);
        assert_eq!(b.case_variants[0].classes.len(), 2);
    }

    #[test]
    fn multi_label_arrays_are_counted_per_label() {
        let labels = [
            Some(r#"["cat","dog"]"#),
            Some(r#"["dog"]"#),
            Some(r#"["dog","dog","bird"]"#),
            Some(r#"[""]"#),
            None,
        ];
        let b = class_balance(&labels, "tags", "chosen".into());
        assert!(b.multi_label);
        assert_eq!(b.counts, BTreeMap::from([("bird".into(), 1), ("cat".into(), 1), ("dog".into(), 3)]));
        assert_eq!((b.labelled_rows, b.missing), (3, 2));
        assert!((b.classes[0].share - 0.6).abs() < 1e-12);
        assert_eq!(b.imbalance_ratio, 3.0);
        // One array among plain labels is a label like any other.
        let b = class_balance(&[Some("a"), Some(r#"["a","b"]"#), Some("b")], "y", "chosen".into());
        assert!(!b.multi_label);
        assert_eq!(b.counts.len(), 3);
    }

    #[test]
    fn multi_label_jsonl_is_detected_and_counted() {
        let mut ing = crate::ingest::Ingestor::new("t.jsonl");
        let mut data = String::new();
        for i in 0..12 {
            let tags = ["[\"a\"]", "[\"a\",\"b\"]", "[\"c\"]"][i % 3];
            data.push_str(&format!("{{\"x\": {i}, \"tags\": {tags}}}\n"));
        }
        ing.push(data.as_bytes()).unwrap();
        ing.finish().unwrap();
        let s: Vec<_> = ing.table.columns.iter().map(crate::profile::profile_column).collect();
        let (column, reason) = detect_label(&s, 12).expect("tags is a label name");
        assert_eq!(ing.table.columns[column].name, "tags");
        let values = labels(&ing.table, column, s[column].comparison);
        let b = class_balance(&values, "tags", reason);
        assert!(b.multi_label);
        assert_eq!(b.counts, BTreeMap::from([("a".into(), 8), ("b".into(), 4), ("c".into(), 4)]));
    }

    #[test]
    fn balanced_classes_have_entropy_one() {
        let labels: Vec<_> = (0..40).map(|i| Some(["x", "y", "z", "w"][i % 4])).collect();
        let b = class_balance(&labels, "y", "chosen".into());
        assert!((b.normalized_entropy - 1.0).abs() < 1e-12);
        assert_eq!(b.imbalance_ratio, 1.0);
        assert!(b.flagged_classes.is_empty());
    }
}
