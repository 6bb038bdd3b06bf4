//! Agreement between annotators: several columns holding labels that
//! different people (or labelling passes) gave the same rows.
//!
//! Statistics, over the rows where every annotator gave a value (the
//! others are left out and counted):
//!
//! - percent agreement: the share of rows where all annotators gave the
//!   same class;
//! - Cohen's kappa of every pair (on the rows both labelled), computed as
//!   scikit-learn's `cohen_kappa_score` does: 1 - observed disagreement /
//!   disagreement expected from each annotator's own class shares;
//! - Fleiss' kappa of all annotators, as statsmodels'
//!   `fleiss_kappa(table, method="fleiss")`: chance from the pooled class
//!   shares; reported for two annotators too (it is then Scott's pi);
//! - per class: the rows any / every annotator put in the class, and the
//!   specific agreement (see [`crate::report::ClassAgreement`]);
//! - the confusion matrix of every pair, and the rows they disagree on.
//!
//! Detection (no `--annotator` given): a column is an annotator when it
//! looks like a label column (2 to 100 classes, fewer than half the rows;
//! categorical, boolean or integer) and its name says so: a token like
//! `annotator`, `rater`, `labeler`, `judge`, `coder`, `grader` or `label`
//! (`label_a`, `rater2`, `judgeB`), with no token that says it is
//! something else (`id`, `name`, `time`, `confidence`, `score`, `pred`,
//! `model`, ... see [`NOT_ANNOTATOR_TOKENS`]: a model's `predicted_label`
//! is not an annotator). The label column counts as one without a name
//! hint. The columns must share one set of values: each one's classes
//! overlap the first one's (the label column when it qualifies) with a
//! Jaccard index of at least [`MIN_SHARED_VALUES`]. Two boolean feature
//! columns (`smoker`, `married`) share their values but carry no name hint,
//! so they are never taken; nor are `annotator_id` columns (ids, not
//! classes). Columns named otherwise (`a1`, `a2`) are not detected: name
//! them with `--annotator`.

use crate::ingest::Table;
use crate::profile::{ColumnSummary, Comparison};
use crate::report::{AnnotatorAgreement, AnnotatorDisagreement, AnnotatorPair, ClassAgreement, ColumnType};
use crate::{Error, ErrorKind, Result};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Disagreement rows listed in the report (all are in the per-row CSV).
pub const DISAGREEMENTS_LISTED: usize = 100;

/// Most classes for which the pairs carry confusion matrices.
pub const CONFUSION_MAX_CLASSES: usize = 50;

/// Most annotator pairs that carry confusion matrices (10 annotators).
pub const CONFUSION_MAX_PAIRS: usize = 45;

/// Least Jaccard index between a detected annotator's classes and the first
/// annotator's.
pub const MIN_SHARED_VALUES: f64 = 0.5;

/// Name tokens that make a column an annotator candidate (a token starting
/// with one of these: `raters`, `labeller2`, `annotations`).
pub const ANNOTATOR_TOKENS: &[&str] =
    &["annotator", "annotation", "rater", "labeler", "labeller", "label", "judge", "coder", "grader", "assessor"];

/// Name tokens that say a column is not an annotator's labels even when it
/// has an annotator token.
pub const NOT_ANNOTATOR_TOKENS: &[&str] = &[
    "id",
    "ids",
    "uuid",
    "name",
    "names",
    "email",
    "time",
    "timestamp",
    "date",
    "at",
    "count",
    "confidence",
    "conf",
    "score",
    "scores",
    "prob",
    "proba",
    "probability",
    "pred",
    "preds",
    "predicted",
    "prediction",
    "predictions",
    "model",
    "logit",
    "logits",
    "loss",
    "quality",
    "issue",
    "weight",
    "encoded",
    "index",
    "idx",
    "verified",
    "reviewed",
    "source",
    "type",
];

/// A column name split into lower-case tokens at separators, lower-to-upper
/// case changes and letter/digit boundaries: `labelA_2` gives
/// `["label", "a", "2"]`.
pub fn name_tokens(name: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        if let Some(p) = previous {
            let case_change = p.is_lowercase() && c.is_uppercase();
            let digit_change = p.is_ascii_digit() != c.is_ascii_digit();
            if (case_change || digit_change) && !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
        previous = Some(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Whether the name marks an annotator column (see the module notes).
pub fn name_suggests_annotator(name: &str) -> bool {
    let tokens = name_tokens(name);
    tokens.iter().any(|t| ANNOTATOR_TOKENS.iter().any(|h| t.starts_with(h)))
        && !tokens.iter().any(|t| NOT_ANNOTATOR_TOKENS.contains(&t.as_str()))
}

/// Whether the column's values look like classes.
fn looks_like_classes(summary: &ColumnSummary, rows: usize) -> bool {
    let p = &summary.profile;
    p.distinct >= 2
        && p.distinct <= crate::checks::balance::MAX_DETECTED_CLASSES
        && (p.distinct as f64) <= (rows as f64 * 0.5).max(2.0)
        && matches!(p.column_type, ColumnType::Categorical | ColumnType::Boolean | ColumnType::Integer)
}

/// Jaccard index of two sets.
fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// The annotator columns: those the user named (`chosen`, with the label
/// column counted as one) or, when none are named, those detected. `None`
/// when there are fewer than two. Returns the column indices (label first)
/// and the reason. Unknown names, or a named set of fewer than two columns,
/// are errors.
pub fn annotator_columns(
    table: &Table,
    summaries: &[ColumnSummary],
    chosen: &[String],
    label: Option<usize>,
) -> Result<Option<(Vec<usize>, String)>> {
    if chosen.is_empty() {
        return Ok(detect_annotators(table, summaries, label));
    }
    let mut columns: Vec<usize> = label.into_iter().collect();
    for name in chosen {
        let index = table.require_column(name, "annotator")?;
        if !columns.contains(&index) {
            columns.push(index);
        }
    }
    if columns.len() < 2 {
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!(
                "annotator agreement needs at least two columns: {} {}; name another with --annotator or choose a label column",
                chosen.join(", "),
                if label.is_some() { "is the label column" } else { "was given and there is no label column" }
            ),
        ));
    }
    let reason = match label {
        Some(l) => format!("chosen by the user (with the label column {:?})", table.columns[l].name),
        None => "chosen by the user".to_string(),
    };
    Ok(Some((columns, reason)))
}

/// Detects annotator columns (see the module notes); `label` is the label
/// column, which counts as one without a name hint.
pub fn detect_annotators(
    table: &Table,
    summaries: &[ColumnSummary],
    label: Option<usize>,
) -> Option<(Vec<usize>, String)> {
    let rows = table.rows();
    let values_of = |i: usize| -> BTreeSet<String> {
        crate::checks::balance::labels(table, i, summaries[i].comparison)
            .into_iter()
            .flatten()
            .map(Cow::into_owned)
            .collect()
    };
    let label = label.filter(|&l| looks_like_classes(&summaries[l], rows));
    let hinted: Vec<usize> = (0..summaries.len())
        .filter(|&i| Some(i) != label)
        .filter(|&i| looks_like_classes(&summaries[i], rows) && name_suggests_annotator(&summaries[i].profile.name))
        .collect();
    if hinted.is_empty() {
        return None;
    }
    let sets: BTreeMap<usize, BTreeSet<String>> =
        label.into_iter().chain(hinted.iter().copied()).map(|i| (i, values_of(i))).collect();
    // The group around the label column, or else the largest group around
    // a hinted column (the first in file order on ties).
    let group_around = |first: usize, others: &[usize]| -> Vec<usize> {
        let mut group = vec![first];
        group.extend(
            others.iter().copied().filter(|&i| i != first && jaccard(&sets[&first], &sets[&i]) >= MIN_SHARED_VALUES),
        );
        group
    };
    let group = match label {
        Some(l) => group_around(l, &hinted),
        None => hinted.iter().map(|&first| group_around(first, &hinted)).fold(Vec::new(), |best, g| {
            if g.len() > best.len() {
                g
            } else {
                best
            }
        }),
    };
    if group.len() < 2 {
        return None;
    }
    let names: Vec<String> = group.iter().map(|&i| format!("{:?}", summaries[i].profile.name)).collect();
    Some((
        group,
        format!(
            "detected: {} look like labels of the same rows (names of annotators or labels, {} to {} classes, shared \
             values){}",
            names.join(", "),
            2,
            crate::checks::balance::MAX_DETECTED_CLASSES,
            if label.is_some() { "; the first is the label column" } else { "" }
        ),
    ))
}

/// Each annotator column's values, compared alike: as the columns' common
/// comparison when they share one (`1` = `1.0` in numeric columns, `True`
/// = `true` in boolean ones), else as written.
pub fn annotator_values<'a>(
    table: &'a Table,
    summaries: &[ColumnSummary],
    columns: &[usize],
) -> Vec<Vec<Option<Cow<'a, str>>>> {
    let first = columns.first().map(|&i| summaries[i].comparison);
    let shared = columns.iter().all(|&i| Some(summaries[i].comparison) == first);
    // Integer and float columns (`1` and `1.0`; an integer column with a
    // missing value is a float one) compare by value.
    let numeric =
        columns.iter().all(|&i| matches!(summaries[i].comparison, Comparison::Integer | Comparison::Numeric));
    columns
        .iter()
        .map(|&i| {
            let comparison = if numeric {
                Comparison::Numeric
            } else if shared {
                summaries[i].comparison
            } else {
                Comparison::Text
            };
            crate::checks::balance::labels(table, i, comparison)
        })
        .collect()
}

/// Cohen's kappa from a pair's class counts: `diagonal` rows where the two
/// agree out of `rows`, `first[c]` and `second[c]` the rows each gave class
/// `c`. As scikit-learn: 1 - (rows - diagonal) / (rows - sum first[c]
/// second[c] / rows); `None` when no disagreement is expected by chance
/// (both gave one and the same class throughout) or there are no rows.
pub fn cohen_kappa(rows: u64, diagonal: u64, first: &[u64], second: &[u64]) -> Option<f64> {
    if rows == 0 {
        return None;
    }
    let n = rows as f64;
    let chance_same: f64 = first.iter().zip(second).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>() / n;
    let expected = n - chance_same;
    let observed = (rows - diagonal) as f64;
    (expected > 0.0).then(|| 1.0 - observed / expected)
}

/// Fleiss' kappa of a table of `rows` x classes counts (`counts[i][c]`:
/// raters who put row `i` in class `c`; every row rated by `raters`
/// raters, at least 2). As statsmodels: `None` when there are no rows or
/// chance agreement is 1 (a single class throughout).
pub fn fleiss_kappa(counts: &[Vec<u64>], raters: u64) -> Option<f64> {
    if counts.is_empty() || raters < 2 {
        return None;
    }
    let classes = counts[0].len();
    let m = raters as f64;
    let total = counts.len() as f64 * m;
    let mut class_totals = vec![0f64; classes];
    let mut p_rows = 0f64;
    for row in counts {
        let squares: f64 = row.iter().map(|&c| (c * c) as f64).sum();
        p_rows += (squares - m) / (m * (m - 1.0));
        for (t, &c) in class_totals.iter_mut().zip(row) {
            *t += c as f64;
        }
    }
    let p_mean = p_rows / counts.len() as f64;
    let p_expected: f64 = class_totals.iter().map(|t| (t / total) * (t / total)).sum();
    (p_expected < 1.0).then(|| (p_mean - p_expected) / (1.0 - p_expected))
}

/// Orders classes: by value when all are numbers, else by text.
fn ordered_classes(values: &[Vec<Option<Cow<'_, str>>>]) -> Vec<String> {
    let set: BTreeSet<&str> = values.iter().flatten().flatten().map(|v| v.as_ref()).collect();
    let mut classes: Vec<String> = set.into_iter().map(str::to_string).collect();
    let numbers: Option<Vec<f64>> =
        classes.iter().map(|c| c.trim().parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    if let Some(numbers) = numbers {
        let mut paired: Vec<(f64, String)> = numbers.into_iter().zip(classes).collect();
        paired.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        classes = paired.into_iter().map(|(_, c)| c).collect();
    }
    classes
}

/// The agreement section and each row's disagreement flag (`Some(true)`:
/// the annotators disagree; `None`: a value is missing). `values[a][row]`
/// is annotator `a`'s class of the row; `names` the annotator columns.
pub fn agreement<S: AsRef<str>>(
    names: &[String],
    values: &[Vec<Option<S>>],
    lines: &[u64],
    reason: String,
) -> (AnnotatorAgreement, Vec<Option<bool>>) {
    let m = values.len();
    let rows = lines.len();
    let owned: Vec<Vec<Option<Cow<'_, str>>>> =
        values.iter().map(|v| v.iter().map(|x| x.as_ref().map(|s| Cow::Borrowed(s.as_ref()))).collect()).collect();
    let classes = ordered_classes(&owned);
    let class_of: BTreeMap<&str, usize> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let k = classes.len();
    // codes[a][row]: the class index of annotator a's value.
    let codes: Vec<Vec<Option<usize>>> =
        owned.iter().map(|v| v.iter().map(|x| x.as_deref().map(|s| class_of[s])).collect()).collect();
    let missing_by_annotator: Vec<u64> =
        codes.iter().map(|c| c.iter().filter(|x| x.is_none()).count() as u64).collect();

    let mut flags = vec![None; rows];
    let mut fleiss_rows: Vec<Vec<u64>> = Vec::new();
    let (mut compared, mut agreeing) = (0u64, 0u64);
    let mut rows_any = vec![0u64; k];
    let mut rows_all = vec![0u64; k];
    let mut pair_numerator = vec![0u64; k];
    let mut uses = vec![vec![0u64; k]; m];
    let mut disagreements = Vec::new();
    let mut disagreement_rows = 0u64;
    let mut row_counts = vec![0u64; k];
    for row in 0..rows {
        let row_codes: Option<Vec<usize>> = codes.iter().map(|c| c[row]).collect();
        let Some(row_codes) = row_codes else { continue };
        compared += 1;
        row_counts.iter_mut().for_each(|c| *c = 0);
        for (a, &c) in row_codes.iter().enumerate() {
            row_counts[c] += 1;
            uses[a][c] += 1;
        }
        let all_same = row_codes.iter().all(|&c| c == row_codes[0]);
        for c in 0..k {
            let n = row_counts[c];
            if n > 0 {
                rows_any[c] += 1;
                pair_numerator[c] += n * (n - 1);
            }
            if n == m as u64 {
                rows_all[c] += 1;
            }
        }
        fleiss_rows.push(row_counts.clone());
        flags[row] = Some(!all_same);
        if all_same {
            agreeing += 1;
        } else {
            disagreement_rows += 1;
            if disagreements.len() < DISAGREEMENTS_LISTED {
                disagreements.push(AnnotatorDisagreement {
                    row: row as u64,
                    line: lines[row],
                    values: row_codes.iter().map(|&c| classes[c].clone()).collect(),
                });
            }
        }
    }

    let pair_count = m * m.saturating_sub(1) / 2;
    let confusion_note = if k > CONFUSION_MAX_CLASSES {
        Some(format!("{k} classes: confusion matrices are kept for at most {CONFUSION_MAX_CLASSES}"))
    } else if pair_count > CONFUSION_MAX_PAIRS {
        Some(format!("{pair_count} annotator pairs: confusion matrices are kept for at most {CONFUSION_MAX_PAIRS}"))
    } else {
        None
    };
    let mut pairs = Vec::new();
    for a in 0..m {
        for b in a + 1..m {
            let (mut n, mut diagonal) = (0u64, 0u64);
            let (mut first, mut second) = (vec![0u64; k], vec![0u64; k]);
            let mut confusion = if confusion_note.is_none() { vec![vec![0u64; k]; k] } else { Vec::new() };
            for (&x, &y) in codes[a].iter().zip(&codes[b]) {
                let (Some(x), Some(y)) = (x, y) else { continue };
                n += 1;
                first[x] += 1;
                second[y] += 1;
                if x == y {
                    diagonal += 1;
                }
                if let Some(cell) = confusion.get_mut(x).map(|r| &mut r[y]) {
                    *cell += 1;
                }
            }
            pairs.push(AnnotatorPair {
                first: names[a].clone(),
                second: names[b].clone(),
                rows: n,
                agreement: (n > 0).then(|| diagonal as f64 / n as f64),
                cohen_kappa: cohen_kappa(n, diagonal, &first, &second),
                confusion,
            });
        }
    }
    let pair_kappas: Option<Vec<f64>> = pairs.iter().map(|p| p.cohen_kappa).collect();
    let per_class = (0..k)
        .map(|c| ClassAgreement {
            class: classes[c].clone(),
            rows_any: rows_any[c],
            rows_all: rows_all[c],
            share_all: (rows_any[c] > 0).then(|| rows_all[c] as f64 / rows_any[c] as f64),
            specific_agreement: {
                let given: u64 = uses.iter().map(|u| u[c]).sum();
                let denominator = given * (m as u64).saturating_sub(1);
                (denominator > 0).then(|| pair_numerator[c] as f64 / denominator as f64)
            },
            uses: uses.iter().map(|u| u[c]).collect(),
        })
        .collect();
    let section = AnnotatorAgreement {
        annotators: names.to_vec(),
        reason,
        method: "over the rows every annotator labelled (rows with a missing value are left out and counted): \
                 percent agreement = share of rows where all agree; Cohen's kappa per pair on the rows both \
                 labelled (chance from each annotator's class shares, as scikit-learn's cohen_kappa_score); \
                 Fleiss' kappa (chance from the pooled class shares, as statsmodels' fleiss_kappa); per class: \
                 specific agreement = sum n(n-1) / sum n(m-1) over rows, n of m annotators giving the class"
            .into(),
        rows: rows as u64,
        rows_compared: compared,
        rows_missing: rows as u64 - compared,
        missing_by_annotator,
        percent_agreement: (compared > 0).then(|| agreeing as f64 / compared as f64),
        agreeing_rows: agreeing,
        cohen_kappa: if m == 2 { pairs.first().and_then(|p| p.cohen_kappa) } else { None },
        fleiss_kappa: fleiss_kappa(&fleiss_rows, m as u64),
        mean_pairwise_kappa: if m > 2 { pair_kappas.map(|k| k.iter().sum::<f64>() / k.len() as f64) } else { None },
        classes,
        pairs,
        per_class,
        confusion_note,
        disagreement_rows,
        disagreements,
    };
    (section, flags)
}

/// Finds the annotator columns and measures their agreement: `None` when
/// there are fewer than two annotator columns (see [`annotator_columns`]).
pub fn annotator_agreement(
    table: &Table,
    summaries: &[ColumnSummary],
    chosen: &[String],
    label: Option<usize>,
) -> Result<Option<(AnnotatorAgreement, Vec<Option<bool>>)>> {
    let Some((columns, reason)) = annotator_columns(table, summaries, chosen, label)? else { return Ok(None) };
    let names: Vec<String> = columns.iter().map(|&i| table.columns[i].name.clone()).collect();
    let values = annotator_values(table, summaries, &columns);
    Ok(Some(agreement(&names, &values, &table.lines, reason)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("a{i}")).collect()
    }

    /// `rows[i][a]`: annotator a's class of row i.
    fn run(rows: &[&[&str]]) -> (AnnotatorAgreement, Vec<Option<bool>>) {
        let m = rows[0].len();
        let values: Vec<Vec<Option<&str>>> =
            (0..m).map(|a| rows.iter().map(|r| Some(r[a]).filter(|v| !v.is_empty())).collect()).collect();
        let lines: Vec<u64> = (0..rows.len() as u64).map(|i| i + 2).collect();
        agreement(&names(m), &values, &lines, "test".into())
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn perfect_agreement_has_kappa_one() {
        let (s, flags) = run(&[&["a", "a"], &["b", "b"], &["c", "c"], &["a", "a"]]);
        assert!(close(s.percent_agreement, 1.0));
        assert!(close(s.cohen_kappa, 1.0));
        assert!(close(s.fleiss_kappa, 1.0));
        assert_eq!(s.disagreement_rows, 0);
        assert_eq!(flags, vec![Some(false); 4]);
        assert!(s.per_class.iter().all(|c| close(c.specific_agreement, 1.0) && close(c.share_all, 1.0)));
        assert_eq!(s.pairs[0].confusion, vec![vec![2, 0, 0], vec![0, 1, 0], vec![0, 0, 1]]);
    }

    #[test]
    fn agreement_by_chance_only_has_kappa_zero() {
        // Each annotator says yes half the time, independently: the four
        // combinations equally often. Agreement 0.5 = chance, kappa 0.
        let rows: Vec<&[&str]> = vec![&["yes", "yes"], &["yes", "no"], &["no", "yes"], &["no", "no"]];
        let rows: Vec<&[&str]> = rows.iter().cycle().take(40).copied().collect();
        let (s, _) = run(&rows);
        assert!(close(s.percent_agreement, 0.5));
        assert!(close(s.cohen_kappa, 0.0));
        // Pooled shares are also 1/2 each: Fleiss' kappa is 0 too.
        assert!(close(s.fleiss_kappa, 0.0));
        assert_eq!(s.disagreement_rows, 20);
    }

    #[test]
    fn hand_computed_cohen_kappa() {
        // A 2x2 table: yes/yes 20, yes/no 5, no/yes 10, no/no 15 (n = 50).
        // po = 35/50 = 0.7; first yes 25/50, second yes 30/50:
        // pe = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4.
        let mut rows: Vec<&[&str]> = Vec::new();
        rows.extend(std::iter::repeat_n(&["yes", "yes"][..], 20));
        rows.extend(std::iter::repeat_n(&["yes", "no"][..], 5));
        rows.extend(std::iter::repeat_n(&["no", "yes"][..], 10));
        rows.extend(std::iter::repeat_n(&["no", "no"][..], 15));
        let (s, flags) = run(&rows);
        assert!(close(s.percent_agreement, 0.7));
        assert!(close(s.cohen_kappa, 0.4));
        // Fleiss (Scott's pi): pooled yes = 55/100; pe = .55^2 + .45^2 = 0.505;
        // kappa = (0.7 - 0.505) / 0.495.
        assert!(close(s.fleiss_kappa, (0.7 - 0.505) / 0.495));
        assert_eq!(s.classes, vec!["no", "yes"]);
        assert_eq!(s.pairs[0].confusion, vec![vec![15, 10], vec![5, 20]]);
        // yes: 2a / (2a + b + c) = 40 / 55.
        let yes = &s.per_class[1];
        assert!(close(yes.specific_agreement, 40.0 / 55.0));
        assert_eq!((yes.rows_any, yes.rows_all), (35, 20));
        assert_eq!(yes.uses, vec![25, 30]);
        assert_eq!(flags[20], Some(true));
        assert_eq!(s.disagreements[0].row, 20);
        assert_eq!(s.disagreements[0].line, 22);
        assert_eq!(s.disagreements[0].values, vec!["yes", "no"]);
    }

    #[test]
    fn a_class_one_annotator_never_uses() {
        // The second annotator never says "maybe": the first's 2 maybes are
        // 1 yes and 1 no for the second.
        // a0: yes yes no no maybe maybe; a1: yes yes no no yes no.
        let (s, _) =
            run(&[&["yes", "yes"], &["yes", "yes"], &["no", "no"], &["no", "no"], &["maybe", "yes"], &["maybe", "no"]]);
        assert_eq!(s.classes, vec!["maybe", "no", "yes"]);
        let maybe = &s.per_class[0];
        assert_eq!(maybe.uses, vec![2, 0]);
        assert_eq!((maybe.rows_any, maybe.rows_all), (2, 0));
        assert!(close(maybe.specific_agreement, 0.0));
        // po = 4/6; first: maybe 2, no 2, yes 2; second: maybe 0, no 3, yes 3;
        // chance same = (0 + 6 + 6) / 6 = 2; kappa = 1 - 2 / (6 - 2) = 0.5.
        assert!(close(s.cohen_kappa, 0.5));
        assert_eq!(s.pairs[0].confusion, vec![vec![0, 1, 1], vec![0, 2, 0], vec![0, 0, 2]]);
    }

    #[test]
    fn missing_values_are_left_out_and_counted() {
        let (s, flags) = run(&[&["a", "a"], &["a", ""], &["", "b"], &["b", "a"]]);
        assert_eq!((s.rows, s.rows_compared, s.rows_missing), (4, 2, 2));
        assert_eq!(s.missing_by_annotator, vec![1, 1]);
        assert!(close(s.percent_agreement, 0.5));
        assert_eq!(flags, vec![Some(false), None, None, Some(true)]);
    }

    #[test]
    fn undefined_kappa_is_absent() {
        let (s, _) = run(&[&["a", "a"], &["a", "a"]]);
        assert_eq!(s.cohen_kappa, None);
        assert_eq!(s.fleiss_kappa, None);
        assert!(close(s.percent_agreement, 1.0));
    }

    #[test]
    fn fleiss_kappa_of_the_wikipedia_example() {
        // https://en.wikipedia.org/wiki/Fleiss%27_kappa#Worked_example:
        // 10 subjects, 14 raters, 5 categories; kappa = 0.210.
        let table: Vec<Vec<u64>> = vec![
            vec![0, 0, 0, 0, 14],
            vec![0, 2, 6, 4, 2],
            vec![0, 0, 3, 5, 6],
            vec![0, 3, 9, 2, 0],
            vec![2, 2, 8, 1, 1],
            vec![7, 7, 0, 0, 0],
            vec![3, 2, 6, 3, 0],
            vec![2, 5, 3, 2, 2],
            vec![6, 5, 2, 1, 0],
            vec![0, 2, 2, 3, 7],
        ];
        let kappa = fleiss_kappa(&table, 14).unwrap();
        assert!((kappa - 0.20993070442195522).abs() < 1e-12, "{kappa}");
        // The same table as 14 annotator columns through `agreement`.
        let classes = ["1", "2", "3", "4", "5"];
        let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); 14];
        for row in &table {
            let mut rater = 0;
            for (c, &n) in row.iter().enumerate() {
                for _ in 0..n {
                    values[rater].push(Some(classes[c].to_string()));
                    rater += 1;
                }
            }
        }
        let lines: Vec<u64> = (2..12).collect();
        let (s, _) = agreement(&names(14), &values, &lines, "test".into());
        assert!((s.fleiss_kappa.unwrap() - 0.20993070442195522).abs() < 1e-12);
        assert_eq!(s.cohen_kappa, None);
        assert_eq!(s.pairs.len(), 91);
        assert!(s.mean_pairwise_kappa.is_some());
        // Only subject 1 has all 14 raters agreeing.
        assert_eq!(s.agreeing_rows, 1);
    }

    #[test]
    fn three_annotators_pairs_and_specific_agreement() {
        let (s, _) = run(&[&["x", "x", "x"], &["x", "x", "y"], &["y", "y", "y"], &["y", "x", "y"]]);
        assert_eq!(s.pairs.len(), 3);
        assert!(close(s.percent_agreement, 0.5));
        // x: rows with n = 3, 2, 0, 1: sum n(n-1) = 6 + 2 + 0 + 0 = 8;
        // given = 6, sum n(m-1) = 12: 8 / 12.
        assert!(close(s.per_class[0].specific_agreement, 8.0 / 12.0));
        let mean = s.pairs.iter().map(|p| p.cohen_kappa.unwrap()).sum::<f64>() / 3.0;
        assert!(close(s.mean_pairwise_kappa, mean));
    }

    #[test]
    fn numeric_classes_sort_by_value() {
        let (s, _) = run(&[&["10", "2"], &["2", "2"], &["1", "10"]]);
        assert_eq!(s.classes, vec!["1", "2", "10"]);
    }

    #[test]
    fn tokens_and_name_hints() {
        assert_eq!(name_tokens("labelA_2"), vec!["label", "a", "2"]);
        assert_eq!(name_tokens("rater2"), vec!["rater", "2"]);
        for yes in ["annotator_1", "rater2", "label_b", "judgeB", "labeller 3", "coder.x", "Annotations"] {
            assert!(name_suggests_annotator(yes), "{yes}");
        }
        for no in
            ["annotator_id", "predicted_label", "label_confidence", "smoker", "rating", "labelled_at", "model_label"]
        {
            assert!(!name_suggests_annotator(no), "{no}");
        }
    }

    use crate::profile::test_profiled as table;

    fn csv(header: &str, row: impl Fn(usize) -> String, n: usize) -> String {
        let mut out = format!("{header}\n");
        for i in 0..n {
            out.push_str(&row(i));
            out.push('\n');
        }
        out
    }

    #[test]
    fn detects_annotator_columns_with_the_label() {
        let data = csv(
            "x,label,rater_2,rater_3,smoker",
            |i| {
                let c = ["cat", "dog", "bird"];
                format!("{i},{},{},{},{}", c[i % 3], c[(i + i / 7) % 3], c[i % 3], i % 2 == 0)
            },
            40,
        );
        let (t, s) = table(&data);
        let (columns, reason) = detect_annotators(&t, &s, Some(1)).unwrap();
        assert_eq!(columns, vec![1, 2, 3]);
        assert!(reason.starts_with("detected"), "{reason}");
    }

    #[test]
    fn detects_annotators_without_a_label_column() {
        let data = csv("x,label_a,label_b", |i| format!("{i},{},{}", i % 3, (i + i / 5) % 3), 30);
        let (t, s) = table(&data);
        assert_eq!(detect_annotators(&t, &s, None).unwrap().0, vec![1, 2]);
    }

    #[test]
    fn boolean_features_and_unrelated_columns_are_not_annotators() {
        // Two boolean features share {true, false} but have no annotator names.
        let data = csv("smoker,married,label", |i| format!("{},{},{}", i % 2 == 0, i % 3 == 0, ["a", "b"][i % 2]), 30);
        let (t, s) = table(&data);
        assert_eq!(detect_annotators(&t, &s, Some(2)), None);
        // A hinted column with other values (annotator's confidence), an id
        // column and a model's predictions are not annotators either.
        let data = csv(
            "label,rater_confidence,annotator_id,predicted_label,label_source",
            |i| {
                format!(
                    "{},{},{},{},{}",
                    ["a", "b"][i % 2],
                    i % 5,
                    i % 4,
                    ["a", "b"][i % 3 % 2],
                    ["crowd", "expert"][i % 2]
                )
            },
            30,
        );
        let (t, s) = table(&data);
        assert_eq!(detect_annotators(&t, &s, Some(0)), None);
    }

    #[test]
    fn chosen_columns_count_the_label_and_name_errors() {
        let (t, s) = table("y,a1,a2\nx,x,y\ny,y,y\n");
        let (columns, _) = annotator_columns(&t, &s, &["a1".into(), "a2".into()], Some(0)).unwrap().unwrap();
        assert_eq!(columns, vec![0, 1, 2]);
        let (columns, _) = annotator_columns(&t, &s, &["a1".into(), "a2".into()], None).unwrap().unwrap();
        assert_eq!(columns, vec![1, 2]);
        let err = annotator_columns(&t, &s, &["nope".into()], Some(0)).unwrap_err();
        assert!(err.to_string().contains("\"nope\" is not in the file"), "{err}");
        let err = annotator_columns(&t, &s, &["a1".into()], None).unwrap_err();
        assert!(err.to_string().contains("at least two"), "{err}");
    }

    #[test]
    fn values_compare_as_their_columns_do() {
        // Both numeric: 1 and 1.0 agree.
        let (t, s) = table("a,b\n1,1.0\n2,2\n1.5,1.5\n");
        let (section, flags) = annotator_agreement(&t, &s, &["a".into(), "b".into()], None).unwrap().unwrap();
        assert_eq!(flags, vec![Some(false); 3]);
        assert!(close(section.percent_agreement, 1.0));
    }

    #[test]
    fn integer_and_float_annotator_columns_compare_by_value() {
        // An integer label beside a float column (`1.0`, or an integer
        // column with a missing value): 1 = 1.0, not two classes.
        let (t, s) = table("label,b,c\n0,0.0,0\n1,1.0,\n2,2.0,2\n1,2.0,1\n");
        let (section, flags) = annotator_agreement(&t, &s, &["b".into(), "c".into()], Some(0)).unwrap().unwrap();
        assert_eq!(section.classes, vec!["0", "1", "2"]);
        assert_eq!(flags, vec![Some(false), None, Some(false), Some(true)]);
        assert!(close(section.percent_agreement, 2.0 / 3.0));
        assert!(close(section.pairs[0].agreement, 0.75));
    }
}
