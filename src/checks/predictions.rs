//! Audit of a model's predicted class probabilities against the label:
//! accuracy, confusion matrix, per-class scores, the slices of rows where
//! the model fails, the rows it finds least likely under their label, and
//! suspected label errors by confident learning.
//!
//! Where the probabilities come from:
//!
//! - Chosen (`Options::proba_columns`, the CLI's `--proba COL`): one column
//!   per class, matched to the label's classes by name (the name after a
//!   [`PREFIXES`] prefix, or the whole name, is the class) or, when no name
//!   names a class, by position (the columns in the order given are the
//!   classes in [`sort_classes`] order); or one column holding JSON arrays
//!   (one entry per class, classes in [`sort_classes`] order); or, for a
//!   two-class label, one number column: the probability of the class its
//!   name names, else of the second class in sorted order (scikit-learn's
//!   `predict_proba(X)[:, 1]`). Values that are not numbers in [0, 1] are
//!   errors naming the line and column.
//! - Detected: columns named a [`PREFIXES`] prefix plus a class of the label
//!   (`p_cat`, `prob_dog`; the class compared exactly, else ignoring case
//!   and punctuation), one for every class, with other columns of the same
//!   prefix as classes no row is labelled with when they sum to 1 with them
//!   (see [`MAX_EXTRA_CLASSES`]); or one column of JSON arrays
//!   whose name contains "prob" or "pred" and whose arrays have one entry
//!   per class. Detected columns are used only when every value is a number
//!   in [0, 1] and at least [`SUMMING_SHARE`] of the rows sum to 1 within
//!   [`SUM_TOLERANCE`]: shares that do not sum to one, a single column, or
//!   values outside [0, 1] are not mistaken for probabilities.
//!
//! Rows whose probabilities do not sum to 1 within [`EXACT_SUM`] are divided
//! by their sum and counted; chosen columns that mostly do not sum to 1 are
//! taken as scores and every row is divided by its sum (the report says so).
//!
//! Confident learning follows cleanlab 2.x's default
//! `find_label_issues(labels, pred_probs)` (`filter_by="prune_by_noise_rate"`)
//! step for step; see [`confident_learning`]. Each row's label quality is
//! cleanlab's default `get_label_quality_scores` (method "self_confidence"):
//! the probability the model gives the row's label.

use crate::checks::balance::labels as canonical_values;
use crate::error::Position;
use crate::ingest::{Cell, Table};
use crate::profile::value::parse_number;
use crate::profile::{name_suggests_identifier, quantile_sorted, ColumnSummary};
use crate::report::{
    ClassMetrics, ColumnType, ConfidentLearning, ExcludedColumn, FlaggedRow, LabelIssues, LossRow, PredictionAudit,
    SliceAccuracy,
};
use crate::rows::RowFindings;
use crate::{Error, ErrorKind, Result};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// Name prefixes of detected probability columns (compared ignoring case).
pub const PREFIXES: [&str; 4] = ["proba_", "prob_", "pred_", "p_"];
/// How far from 1 a row's probabilities may sum and still count as summing
/// to 1 for detection (values written with a few decimals).
pub const SUM_TOLERANCE: f64 = 0.01;
/// Share of rows that must sum to 1 (within [`SUM_TOLERANCE`]) for detected
/// columns to be taken as probabilities.
pub const SUMMING_SHARE: f64 = 0.99;
/// Rows whose probabilities sum to 1 within this are used as written; the
/// others are divided by their sum.
pub const EXACT_SUM: f64 = 1e-6;
/// Slices need at least this many rows (or [`MIN_SLICE_SHARE`] of the
/// audited rows, whichever is more) to be ranked.
pub const MIN_SLICE_ROWS: u64 = 10;
/// Slices need at least this share of the audited rows to be ranked.
pub const MIN_SLICE_SHARE: f64 = 0.01;
/// Slices with fewer rows are marked small (their accuracy is uncertain).
pub const SMALL_SLICE_ROWS: u64 = 30;
/// Most slices listed in the report.
pub const SLICES_LISTED: usize = 30;
/// Quantile bins of a numeric column (quartiles).
pub const NUMERIC_BINS: usize = 4;
/// Categorical columns with more distinct values are not sliced.
pub const MAX_SLICE_VALUES: u64 = 50;
/// Integer columns with at most this many distinct values are sliced by
/// value, others by quantile bins.
pub const INTEGER_VALUES_AS_CATEGORIES: u64 = 10;
/// Detection tries every subset of up to this many prefixed columns that
/// name no class of the label as classes no row is labelled with (more: all
/// of them or none).
pub const MAX_EXTRA_CLASSES: usize = 4;
/// Name parts that mark a vector column as probabilities, for detection.
const VECTOR_NAME_HINTS: [&str; 2] = ["prob", "pred"];
/// cleanlab's tolerance when comparing probabilities with thresholds and
/// labels (`FLOATING_POINT_COMPARISON`).
const CLEANLAB_TOLERANCE: f64 = 1e-6;
/// cleanlab's lower bound of the per-class thresholds.
const THRESHOLD_LOWER_BOUND: f64 = 2.0 * CLEANLAB_TOLERANCE;
/// cleanlab's threshold for a class no row is labelled with: never reached.
const THRESHOLD_OF_ABSENT_CLASS: f64 = 2.0;

/// The label column as the audit needs it.
pub struct LabelInput<'a> {
    /// Its index in the table.
    pub column: usize,
    /// Each row's label as the class balance counts it (`None`: missing).
    pub values: &'a [Option<Cow<'a, str>>],
    /// Whether the labels are JSON arrays (multi-label): not audited.
    pub multi_label: bool,
}

/// The audit's report section, the label issues that replace the kNN ones,
/// and the per-row values.
#[derive(Debug, Clone)]
pub struct AuditFindings {
    /// `report.prediction_audit`.
    pub section: PredictionAudit,
    /// `report.label_issues` (method "confident_learning").
    pub label_issues: LabelIssues,
    /// Per row: p(label) (`None` when not audited).
    pub label_quality: Vec<Option<f64>>,
    /// Per row: -ln p(label), p clipped as for the log loss.
    pub given_label_loss: Vec<Option<f64>>,
    /// Per row: flagged by confident learning.
    pub is_label_issue: Vec<Option<bool>>,
}

impl AuditFindings {
    /// Writes the per-row values: `label_issue_score` (1 - label quality) and
    /// `is_label_issue` from confident learning, replacing the kNN ones for
    /// every row (rows not audited are left empty), `label_quality` and
    /// `given_label_loss`.
    pub fn apply(&self, findings: &mut RowFindings) {
        findings.label_issue_score = self.label_quality.iter().map(|q| q.map(|q| 1.0 - q)).collect();
        findings.is_label_issue = self.is_label_issue.clone();
        findings.label_quality = self.label_quality.clone();
        findings.given_label_loss = self.given_label_loss.clone();
    }
}

/// Orders classes as scikit-learn's `classes_` does: by value when every
/// class is a number, else by code point.
pub fn sort_classes(classes: &mut [String]) {
    let numeric: Option<Vec<f64>> = classes.iter().map(|c| parse_number(c)).collect();
    if numeric.is_some() {
        classes.sort_by(|a, b| {
            let (x, y) = (parse_number(a).unwrap_or(0.0), parse_number(b).unwrap_or(0.0));
            x.total_cmp(&y).then_with(|| a.cmp(b))
        });
    } else {
        classes.sort();
    }
}

/// Lower case, letters and digits only.
fn loose(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The class a name (after its prefix) names: the class written exactly
/// so, else the one class equal ignoring case and punctuation.
fn class_named(name: &str, classes: &[String]) -> Option<usize> {
    if let Some(k) = classes.iter().position(|c| c == name) {
        return Some(k);
    }
    let wanted = loose(name);
    let mut found = classes.iter().enumerate().filter(|(_, c)| !wanted.is_empty() && loose(c) == wanted);
    match (found.next(), found.next()) {
        (Some((k, _)), None) => Some(k),
        _ => None,
    }
}

/// The name without a [`PREFIXES`] prefix (compared ignoring case).
fn strip_prefix(name: &str) -> Option<&str> {
    PREFIXES
        .iter()
        .find_map(|p| name.get(..p.len()).filter(|head| head.eq_ignore_ascii_case(p)).map(|_| &name[p.len()..]))
}

/// Where the probabilities come from, resolved to table columns.
#[derive(Debug, Clone)]
struct Source {
    /// "columns", "vector" or "binary".
    kind: &'static str,
    /// "columns": the column of each class; "vector" and "binary": one.
    columns: Vec<usize>,
    /// The classes, in [`sort_classes`] order.
    classes: Vec<String>,
    /// "binary": the class the column gives the probability of.
    binary_class: usize,
    /// Why these columns.
    reason: String,
    /// How columns were matched to classes.
    mapping: String,
    /// Chosen by the user: bad values are errors, not a reason to skip.
    chosen: bool,
}

/// Why a row's probabilities cannot be used.
enum Unusable {
    /// A value is missing.
    Missing,
    /// A value is there but is not a probability: (column, what is wrong).
    Invalid(usize, String),
}

impl Source {
    fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Reads row `row`'s probabilities into `out` (one per class).
    fn read(&self, table: &Table, row: usize, out: &mut [f64]) -> std::result::Result<(), Unusable> {
        let probability = |column: usize, text: &str| -> std::result::Result<f64, Unusable> {
            match parse_number(text) {
                Some(v) if (-1e-9..=1.0 + 1e-9).contains(&v) => Ok(v.clamp(0.0, 1.0)),
                Some(v) if v > 1.0 && v <= 100.0 => Err(Unusable::Invalid(
                    column,
                    format!("{v} is outside [0, 1] (percentages? divide them by 100)"),
                )),
                Some(v) => Err(Unusable::Invalid(column, format!("{v} is outside [0, 1]"))),
                None => Err(Unusable::Invalid(column, format!("{:?} is not a number", clip(text)))),
            }
        };
        match self.kind {
            "vector" => {
                let column = self.columns[0];
                let text = match table.columns[column].get(row) {
                    Cell::Missing => return Err(Unusable::Missing),
                    cell => cell.text(),
                };
                let values: Vec<f64> = serde_json::from_str(text.trim()).map_err(|_| {
                    Unusable::Invalid(column, format!("{:?} is not a JSON array of numbers", clip(text)))
                })?;
                if values.len() != out.len() {
                    return Err(Unusable::Invalid(
                        column,
                        format!("the array has {} entries for {} classes", values.len(), out.len()),
                    ));
                }
                for (slot, v) in out.iter_mut().zip(values) {
                    if !(-1e-9..=1.0 + 1e-9).contains(&v) {
                        return Err(Unusable::Invalid(column, format!("{v} is outside [0, 1]")));
                    }
                    *slot = v.clamp(0.0, 1.0);
                }
            }
            "binary" => {
                let column = self.columns[0];
                let text = match table.columns[column].get(row) {
                    Cell::Missing => return Err(Unusable::Missing),
                    cell => cell.text(),
                };
                let p = probability(column, text)?;
                out[self.binary_class] = p;
                out[1 - self.binary_class] = 1.0 - p;
            }
            _ => {
                for (slot, &column) in out.iter_mut().zip(&self.columns) {
                    match table.columns[column].get(row) {
                        Cell::Missing => return Err(Unusable::Missing),
                        cell => *slot = probability(column, cell.text())?,
                    }
                }
            }
        }
        Ok(())
    }
}

fn clip(text: &str) -> String {
    crate::ingest::table::clip(text, 40)
}

/// Every row's probabilities, as read.
struct Read {
    /// `probabilities[row * k + class]`, renormalised where needed.
    probabilities: Vec<f64>,
    /// Whether the row's probabilities are usable.
    usable: Vec<bool>,
    /// Whether the row was divided by its sum.
    renormalised: Vec<bool>,
    /// Why rows were divided by their sum, when any was.
    note: Option<String>,
}

/// Reads the source's probabilities; `None` when detected columns turn out
/// not to be probabilities. Chosen columns with bad values are an error.
fn read_all(table: &Table, source: &Source) -> Result<Option<Read>> {
    let (n, k) = (table.rows(), source.class_count());
    let mut probabilities = vec![0.0; n * k];
    let mut usable = vec![false; n];
    let (mut present, mut summing) = (0u64, 0u64);
    for row in 0..n {
        let out = &mut probabilities[row * k..(row + 1) * k];
        match source.read(table, row, out) {
            Ok(()) => {
                let sum: f64 = out.iter().sum();
                if sum > 0.0 {
                    usable[row] = true;
                    present += 1;
                    summing += u64::from((sum - 1.0).abs() <= SUM_TOLERANCE);
                }
            }
            Err(Unusable::Missing) => {}
            Err(Unusable::Invalid(column, what)) if source.chosen => {
                return Err(Error::new(
                    ErrorKind::InvalidOption,
                    format!(
                        "probability column {:?}: {what}; probabilities are numbers in [0, 1]",
                        table.columns[column].name
                    ),
                )
                .at(Position {
                    record: Some(row as u64),
                    line: Some(table.lines[row]),
                    column: Some(column as u64 + 1),
                    byte: None,
                }));
            }
            Err(Unusable::Invalid(..)) => return Ok(None),
        }
    }
    if present == 0 {
        return Ok(None);
    }
    let summing_share = summing as f64 / present as f64;
    let scores = summing_share < SUMMING_SHARE;
    if scores && !source.chosen {
        return Ok(None);
    }
    let mut renormalised = vec![false; n];
    for row in (0..n).filter(|&r| usable[r]) {
        let out = &mut probabilities[row * k..(row + 1) * k];
        let sum: f64 = out.iter().sum();
        if (sum - 1.0).abs() > EXACT_SUM {
            out.iter_mut().for_each(|v| *v /= sum);
            renormalised[row] = true;
        }
    }
    let count = renormalised.iter().filter(|&&r| r).count();
    let note = (count > 0).then(|| {
        if scores {
            format!(
                "only {:.1}% of the rows sum to 1 (within {SUM_TOLERANCE}): the columns were taken as scores and \
                 each row divided by its sum ({count} rows)",
                summing_share * 100.0
            )
        } else {
            format!("{count} rows did not sum to 1 (within {EXACT_SUM}) and were divided by their sum")
        }
    });
    Ok(Some(Read { probabilities, usable, renormalised, note }))
}

/// Whether the column's first value is a JSON array.
fn holds_arrays(table: &Table, column: usize) -> bool {
    table.columns[column]
        .cells()
        .find(|c| !c.is_missing())
        .is_some_and(|c| matches!(c, Cell::Vector(_)) || c.text().trim_start().starts_with('['))
}

/// The probability columns found by name and value (module docs), with
/// their values.
fn detect(table: &Table, label: usize, classes: &[String]) -> Result<Option<(Source, Read)>> {
    let k = classes.len();
    if k < 2 {
        return Ok(None);
    }
    for prefix in PREFIXES {
        let mut column_of: Vec<Option<usize>> = vec![None; k];
        let mut clash = false;
        // Prefixed columns that name no class of the label: classes the
        // model knows and no row is labelled with (or other columns).
        let mut extra: Vec<(String, usize)> = Vec::new();
        for (i, column) in table.columns.iter().enumerate() {
            if i == label {
                continue;
            }
            if !column.name.get(..prefix.len()).is_some_and(|h| h.eq_ignore_ascii_case(prefix)) {
                continue;
            }
            let rest = &column.name[prefix.len()..];
            match class_named(rest, classes) {
                Some(class) => clash |= column_of[class].replace(i).is_some(),
                None if !rest.is_empty() && !extra.iter().any(|(c, _)| loose(c) == loose(rest)) => {
                    extra.push((rest.to_string(), i))
                }
                None => {}
            }
        }
        if clash || column_of.iter().any(Option::is_none) {
            continue;
        }
        let label_columns: Vec<usize> = column_of.into_iter().flatten().collect();
        // With extra columns first, the most first (they must then sum to
        // 1 with the others; every subset of up to MAX_EXTRA_CLASSES, else
        // all of them), last the label's classes alone.
        let subsets: Vec<u32> = if extra.len() <= MAX_EXTRA_CLASSES {
            let mut all: Vec<u32> = (1..1u32 << extra.len()).collect();
            all.sort_by_key(|m| (std::cmp::Reverse(m.count_ones()), *m));
            all
        } else {
            vec![u32::MAX]
        };
        let candidates = subsets.into_iter().map(|mask| {
            let chosen = extra.iter().enumerate().filter(|(e, _)| *e >= 32 || mask & (1 << e) != 0).map(|(_, x)| x);
            let mut all: Vec<String> = classes.iter().cloned().chain(chosen.map(|(c, _)| c.clone())).collect();
            sort_classes(&mut all);
            let columns = all
                .iter()
                .map(|c| match classes.iter().position(|x| x == c) {
                    Some(k) => label_columns[k],
                    None => extra.iter().find(|(x, _)| x == c).map_or(0, |(_, i)| *i),
                })
                .collect::<Vec<usize>>();
            (all, columns)
        });
        for (all_classes, columns) in candidates.chain([(classes.to_vec(), label_columns.clone())]) {
            let names: Vec<&str> = columns.iter().map(|&c| table.columns[c].name.as_str()).collect();
            let unlabelled = all_classes.len() - k;
            let source = Source {
                kind: "columns",
                columns,
                classes: all_classes,
                binary_class: 0,
                reason: format!(
                    "detected: the columns {} are named {prefix:?} plus a class{}, hold numbers in [0, 1], and sum \
                     to 1 on at least {}% of the rows",
                    names.join(", "),
                    if unlabelled > 0 { " (of the label, or one the model knows)" } else { " of the label" },
                    SUMMING_SHARE * 100.0
                ),
                mapping: if unlabelled > 0 {
                    format!(
                        "by name: the column name after the prefix is the class; {unlabelled} class{} no row is \
                         labelled with",
                        if unlabelled == 1 { "" } else { "es" }
                    )
                } else {
                    "by name: the column name after the prefix is the class".into()
                },
                chosen: false,
            };
            if let Some(read) = read_all(table, &source)? {
                return Ok(Some((source, read)));
            }
        }
    }
    for (i, column) in table.columns.iter().enumerate() {
        let name = loose(&column.name);
        if i == label || !VECTOR_NAME_HINTS.iter().any(|h| name.contains(h)) || !holds_arrays(table, i) {
            continue;
        }
        let source = Source {
            kind: "vector",
            columns: vec![i],
            classes: classes.to_vec(),
            binary_class: 0,
            reason: format!(
                "detected: the column {:?} holds arrays of {k} numbers in [0, 1] (one per class) that sum to 1 on at \
                 least {}% of the rows",
                column.name,
                SUMMING_SHARE * 100.0
            ),
            mapping: "vector: entry i is the i-th class in sorted order".into(),
            chosen: false,
        };
        if let Some(read) = read_all(table, &source)? {
            return Ok(Some((source, read)));
        }
    }
    Ok(None)
}

/// The columns the user chose, matched to classes (module docs).
fn chosen(table: &Table, label: usize, label_classes: &[String], names: &[String]) -> Result<Source> {
    let invalid = |message: String| Error::new(ErrorKind::InvalidOption, message);
    let mut columns = Vec::new();
    for name in names {
        let index = table.require_column(name, "probability")?;
        if index == label {
            return Err(invalid(format!("{name:?} is the label column; it cannot also hold probabilities")));
        }
        if columns.contains(&index) {
            return Err(invalid(format!("probability column {name:?} is given twice")));
        }
        columns.push(index);
    }
    let k = label_classes.len();
    let listed = names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
    let reason = format!("chosen by the user: {listed}");
    let bare = |name: &str| strip_prefix(name).filter(|s| !s.is_empty()).unwrap_or(name).to_string();
    if let [column] = columns[..] {
        if holds_arrays(table, column) {
            return Ok(Source {
                kind: "vector",
                columns,
                classes: label_classes.to_vec(),
                binary_class: 0,
                reason,
                mapping: "vector: entry i is the i-th class in sorted order".into(),
                chosen: true,
            });
        }
        if k != 2 {
            return Err(invalid(format!(
                "one probability column ({listed}) was given for a label with {k} classes; give one column per class \
                 (in class order, or named like p_<class>), or one column of arrays"
            )));
        }
        let (binary_class, mapping) = match class_named(&bare(&names[0]), label_classes) {
            Some(class) => (class, format!("binary: the column is p({:?}), named by the column", label_classes[class])),
            None => (
                1,
                format!(
                    "binary: the column is p({:?}), the second class in sorted order (its name names no class)",
                    label_classes[1]
                ),
            ),
        };
        return Ok(Source {
            kind: "binary",
            columns,
            classes: label_classes.to_vec(),
            binary_class,
            reason,
            mapping,
            chosen: true,
        });
    }
    let named: Vec<Option<usize>> = names.iter().map(|n| class_named(&bare(n), label_classes)).collect();
    for (a, class) in named.iter().enumerate() {
        if let Some(b) = (0..a).find(|&b| class.is_some() && named[b] == *class) {
            return Err(invalid(format!(
                "probability columns {:?} and {:?} both name the class {:?}",
                names[b],
                names[a],
                label_classes[class.unwrap_or(0)]
            )));
        }
    }
    let uncovered: Vec<&str> =
        (0..k).filter(|c| !named.contains(&Some(*c))).map(|c| label_classes[c].as_str()).collect();
    if uncovered.is_empty() {
        // Unmatched columns are classes the model knows and no row is labelled with.
        let mut classes = label_classes.to_vec();
        for (i, name) in names.iter().enumerate().filter(|(i, _)| named[*i].is_none()) {
            let class = bare(name);
            if classes.contains(&class) {
                return Err(invalid(format!("probability column {:?} names the class {class:?} twice", names[i])));
            }
            classes.push(class);
        }
        sort_classes(&mut classes);
        let class_of: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| named[i].map_or_else(|| bare(n), |c| label_classes[c].clone()))
            .collect();
        let columns = classes.iter().map(|c| columns[class_of.iter().position(|x| x == c).unwrap_or(0)]).collect();
        let mut mapping = "by name: the column name (after a p_/pred_/prob_/proba_ prefix) is the class".to_string();
        if classes.len() > k {
            mapping.push_str(&format!("; {} classes no row is labelled with", classes.len() - k));
        }
        return Ok(Source { kind: "columns", columns, classes, binary_class: 0, reason, mapping, chosen: true });
    }
    if named.iter().all(Option::is_none) && names.len() == k {
        let pairs: Vec<String> = names.iter().zip(label_classes).map(|(n, c)| format!("{n} = {c:?}")).collect();
        return Ok(Source {
            kind: "columns",
            columns,
            classes: label_classes.to_vec(),
            binary_class: 0,
            reason,
            mapping: format!(
                "by position (no column name names a class): the columns in the order given are the classes in \
                 sorted order: {}",
                pairs.join(", ")
            ),
            chosen: true,
        });
    }
    Err(invalid(format!(
        "the probability columns {listed} cannot be matched to the {k} classes of the label: {}{} named by no column; \
         name the columns like p_<class>, or give exactly one column per class in sorted class order ({}) with \
         names that name no class",
        uncovered.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", "),
        if uncovered.len() == 1 { " is" } else { " are" },
        label_classes.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ")
    )))
}

/// Confusion matrix and per-class scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// `matrix[label][predicted]`.
    pub matrix: Vec<Vec<u64>>,
    /// Correct / all.
    pub accuracy: f64,
    /// (precision, recall, F1) per class, as scikit-learn with `zero_division=0`.
    pub per_class: Vec<(f64, f64, f64)>,
}

/// Confusion matrix, accuracy, per-class precision, recall and F1 of
/// `predicted` against `labels` (class ids below `k`).
pub fn scores(labels: &[usize], predicted: &[usize], k: usize) -> Scores {
    let mut matrix = vec![vec![0u64; k]; k];
    for (&l, &p) in labels.iter().zip(predicted) {
        matrix[l][p] += 1;
    }
    let correct: u64 = (0..k).map(|c| matrix[c][c]).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class = (0..k)
        .map(|c| {
            let tp = matrix[c][c];
            let support: u64 = matrix[c].iter().sum();
            let predicted: u64 = matrix.iter().map(|row| row[c]).sum();
            let (fp, fn_) = (predicted - tp, support - tp);
            (ratio(tp, predicted), ratio(tp, support), ratio(2 * tp, 2 * tp + fp + fn_))
        })
        .collect();
    Scores { accuracy: ratio(correct, labels.len() as u64), matrix, per_class }
}

/// Mean F1 over the classes some row is labelled with or predicted as
/// (scikit-learn's `f1_score(average="macro")`: a class the model knows
/// but neither the labels nor the predictions use is left out); 0 when
/// there are none.
pub fn macro_f1(scores: &Scores) -> f64 {
    let used: Vec<f64> = (0..scores.per_class.len())
        .filter(|&c| scores.matrix[c].iter().sum::<u64>() > 0 || scores.matrix.iter().any(|row| row[c] > 0))
        .map(|c| scores.per_class[c].2)
        .collect();
    if used.is_empty() {
        0.0
    } else {
        used.iter().sum::<f64>() / used.len() as f64
    }
}

/// The first class with the highest probability (numpy's `argmax`).
fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (c, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = c;
        }
    }
    best
}

/// -ln p, p clipped to [eps, 1 - eps] (scikit-learn's `log_loss`).
pub fn loss(p: f64) -> f64 {
    -p.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
}

/// Rounds to whole numbers keeping the (rounded) total, as cleanlab's
/// `round_preserving_sum`: round half to even, then move the entries
/// rounded furthest the other way by one until the totals agree.
pub fn round_preserving_sum(values: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = values.iter().map(|v| v.round_ties_even()).collect();
    let target = values.iter().sum::<f64>().round_ties_even();
    for _ in 0..values.len() + 2 {
        let total: f64 = ints.iter().sum::<f64>().round_ties_even();
        if (total - target).abs() <= CLEANLAB_TOLERANCE {
            break;
        }
        let diff = (target - total).round_ties_even();
        let step = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(values.len());
        // numpy's argsort of (value - int), reversed when adding: the
        // entries rounded down most get +1, those rounded up most get -1.
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| (values[a] - ints[a]).total_cmp(&(values[b] - ints[b])));
        if step > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += step;
        }
    }
    ints.into_iter().map(|v| v as i64).collect()
}

/// The result of [`confident_learning`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidentJoint {
    /// Per-class thresholds.
    pub thresholds: Vec<f64>,
    /// The calibrated confident joint, `[label][true class]`.
    pub joint: Vec<Vec<i64>>,
    /// Rows flagged as label errors.
    pub flagged: Vec<bool>,
}

/// Confident learning as cleanlab 2.x's `find_label_issues(labels,
/// pred_probs)` with its defaults (`filter_by="prune_by_noise_rate"`,
/// `min_examples_per_class=1`, `frac_noise=1`), row `i`'s probabilities at
/// `probabilities[i * k..(i + 1) * k]`:
///
/// 1. thresholds: t_j = mean p_j over the rows labelled j (2, never reached,
///    for a class no row has), at least 2e-6;
/// 2. confident joint: a row counts in (label, j) where j is its only class
///    with p_j >= t_j - 1e-6, or its most probable class when several reach
///    their thresholds (rows reaching none are not counted); the diagonal is
///    at least 1;
/// 3. calibration: each row of the joint scaled to the label's count, the
///    whole to the number of rows, rounded keeping each row's total;
/// 4. prune by noise rate: the prune counts are the transposed joint with a
///    diagonal of at least 1 (the increase taken evenly from the column's
///    other non-zero cells), truncated to whole numbers; then for each label
///    i with more than one row and each other class j, the `count[i][j]`
///    rows labelled i with the largest margin p_j - p_i are flagged (ties by
///    row order);
/// 5. rows whose most probable class is their label (the label winning ties
///    by 1e-6) are never flagged.
pub fn confident_learning(labels: &[usize], probabilities: &[f64], k: usize) -> ConfidentJoint {
    let n = labels.len();
    let p = |i: usize| &probabilities[i * k..(i + 1) * k];
    let mut label_counts = vec![0u64; k];
    let mut sums = vec![0f64; k];
    for (i, &l) in labels.iter().enumerate() {
        label_counts[l] += 1;
        sums[l] += p(i)[l];
    }
    let thresholds: Vec<f64> = (0..k)
        .map(|c| {
            let t = if label_counts[c] > 0 { sums[c] / label_counts[c] as f64 } else { THRESHOLD_OF_ABSENT_CLASS };
            t.max(THRESHOLD_LOWER_BOUND)
        })
        .collect();
    let mut joint = vec![vec![0f64; k]; k];
    for (i, &l) in labels.iter().enumerate() {
        let row = p(i);
        let confident: Vec<usize> = (0..k).filter(|&c| row[c] >= thresholds[c] - CLEANLAB_TOLERANCE).collect();
        let guess = match confident[..] {
            [] => continue,
            [only] => only,
            _ => argmax(row),
        };
        joint[l][guess] += 1.0;
    }
    for (c, row) in joint.iter_mut().enumerate() {
        row[c] = row[c].max(1.0);
    }
    // Calibrate: rows to the label counts, the whole to n.
    for (c, row) in joint.iter_mut().enumerate() {
        let total = row.iter().sum::<f64>().max(1e-100);
        row.iter_mut().for_each(|v| *v = *v / total * label_counts[c] as f64);
    }
    let total = joint.iter().flatten().sum::<f64>().max(1e-100);
    joint.iter_mut().flatten().for_each(|v| *v = *v / total * n as f64);
    let joint: Vec<Vec<i64>> = joint.iter().map(|row| round_preserving_sum(row)).collect();

    // Prune counts: prune[true][given] = joint[given][true], diagonal >= 1.
    let mut prune = vec![vec![0f64; k]; k];
    for given in 0..k {
        let diagonal = joint[given][given] as f64;
        let raised = diagonal.max(1.0) - diagonal;
        let nonzero = (0..k).filter(|&t| joint[given][t] != 0).count();
        let spread = (nonzero as f64 - 1.0).max(1.0);
        for true_class in 0..k {
            let v = if true_class == given {
                diagonal.max(1.0)
            } else {
                (joint[given][true_class] as f64 - raised / spread).max(0.0)
            };
            prune[true_class][given] = v.trunc();
        }
    }
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        by_label[l].push(i);
    }
    let mut flagged = vec![false; n];
    for (given, rows) in by_label.iter().enumerate() {
        if rows.len() <= 1 {
            continue;
        }
        for other in (0..k).filter(|&j| j != given) {
            let count = prune[other][given] as usize;
            if count == 0 {
                continue;
            }
            let mut order: Vec<(f64, usize)> = rows.iter().map(|&i| (p(i)[other] - p(i)[given], i)).collect();
            order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in order.iter().take(count) {
                flagged[i] = true;
            }
        }
    }
    for (i, &l) in labels.iter().enumerate() {
        let mut row = p(i).to_vec();
        row[l] += CLEANLAB_TOLERANCE;
        if argmax(&row) == l {
            flagged[i] = false;
        }
    }
    ConfidentJoint { thresholds, joint, flagged }
}

/// 95% Wilson score interval of `correct` out of `rows`.
fn wilson(correct: u64, rows: u64) -> (f64, f64) {
    if rows == 0 {
        return (0.0, 1.0);
    }
    let (z, n) = (1.959_963_984_540_054_f64, rows as f64);
    let p = correct as f64 / n;
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// A number for a bin edge: whole numbers as such, others with about four
/// significant digits.
pub(crate) fn edge(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{v:.digits$}");
    let text = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text };
    if text == "0" || text == "-0" {
        format!("{v:e}")
    } else {
        text
    }
}

/// Running counts of one slice.
#[derive(Default, Clone)]
struct Tally {
    rows: u64,
    correct: u64,
    loss: f64,
    issues: u64,
}

/// Per audited row, what the slices sum.
struct Outcomes<'a> {
    rows: &'a [usize],
    correct: &'a [bool],
    loss: &'a [f64],
    flagged: &'a [bool],
}

impl Outcomes<'_> {
    fn add(&self, tally: &mut Tally, pos: usize) {
        tally.rows += 1;
        tally.correct += u64::from(self.correct[pos]);
        tally.loss += self.loss[pos];
        tally.issues += u64::from(self.flagged[pos]);
    }
}

/// One slice before the size filter: column, kind, the slice in words, counts.
type Slice = (String, &'static str, String, Tally);

/// Every slice of every sliceable column (before the size filter), and the
/// columns not sliced with the reason.
fn slices(
    table: &Table,
    summaries: &[ColumnSummary],
    skip: &[usize],
    annotators: &[usize],
    outcomes: &Outcomes<'_>,
) -> (Vec<Slice>, Vec<ExcludedColumn>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, summary) in summaries.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let p = &summary.profile;
        let mut not_sliced = |reason: String| skipped.push(ExcludedColumn { column: p.name.clone(), reason });
        let by_value = match p.column_type {
            _ if annotators.contains(&i) => {
                not_sliced("an annotator column: labels, not a subgroup".into());
                continue;
            }
            _ if name_suggests_identifier(&p.name) => {
                not_sliced("named like an identifier".into());
                continue;
            }
            ColumnType::Identifier => {
                not_sliced("identifier-like (unique per row)".into());
                continue;
            }
            ColumnType::Text | ColumnType::Vector | ColumnType::Datetime | ColumnType::Empty => {
                not_sliced(format!("{} column", format!("{:?}", p.column_type).to_lowercase()));
                continue;
            }
            ColumnType::Categorical | ColumnType::Boolean if p.distinct > MAX_SLICE_VALUES => {
                not_sliced(format!("{} distinct values (more than {MAX_SLICE_VALUES})", p.distinct));
                continue;
            }
            ColumnType::Categorical | ColumnType::Boolean => true,
            ColumnType::Integer => p.distinct <= INTEGER_VALUES_AS_CATEGORIES,
            ColumnType::Float => false,
        };
        let column = &table.columns[i];
        let mut missing = Tally::default();
        if by_value {
            let values = canonical_values(table, i, summary.comparison);
            let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
            for (pos, &row) in outcomes.rows.iter().enumerate() {
                match values[row].as_deref() {
                    Some(v) => outcomes.add(tallies.entry(v).or_default(), pos),
                    None => outcomes.add(&mut missing, pos),
                }
            }
            let mut ordered: Vec<(&str, Tally)> = tallies.into_iter().collect();
            if p.column_type == ColumnType::Integer {
                ordered.sort_by(|a, b| parse_number(a.0).unwrap_or(0.0).total_cmp(&parse_number(b.0).unwrap_or(0.0)));
            }
            for (value, tally) in ordered {
                out.push((p.name.clone(), "value", value.to_string(), tally));
            }
        } else {
            let numbers: Vec<Option<f64>> =
                outcomes.rows.iter().map(|&row| parse_number(column.get(row).text())).collect();
            let mut sorted: Vec<f64> = numbers.iter().flatten().copied().collect();
            sorted.sort_unstable_by(f64::total_cmp);
            if let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) {
                let mut edges: Vec<f64> =
                    (1..NUMERIC_BINS).map(|b| quantile_sorted(&sorted, b as f64 / NUMERIC_BINS as f64)).collect();
                edges.dedup();
                edges.retain(|&e| e < max);
                let mut tallies = vec![Tally::default(); edges.len() + 1];
                for (pos, value) in numbers.iter().enumerate() {
                    match value {
                        Some(v) => outcomes.add(&mut tallies[edges.iter().filter(|&&e| e < *v).count()], pos),
                        None => outcomes.add(&mut missing, pos),
                    }
                }
                for (b, tally) in tallies.into_iter().enumerate() {
                    let low = if b == 0 { format!("[{}", edge(min)) } else { format!("({}", edge(edges[b - 1])) };
                    let high = if b == edges.len() { edge(max) } else { edge(edges[b]) };
                    out.push((p.name.clone(), "bin", format!("{low}, {high}]"), tally));
                }
            } else {
                outcomes.rows.iter().enumerate().for_each(|(pos, _)| outcomes.add(&mut missing, pos));
            }
        }
        if missing.rows > 0 {
            out.push((p.name.clone(), "missing", "(missing)".into(), missing));
        }
    }
    (out, skipped)
}

/// Runs the audit when probabilities were chosen or are detected; `None`
/// when there is no label or no probability columns. `annotators` are the
/// annotator columns of the agreement check: labels, not subgroups, so not
/// sliced. Errors: chosen columns
/// that are not in the file, cannot be matched to the classes, hold values
/// that are not probabilities, or come without a label column.
pub fn audit(
    table: &Table,
    summaries: &[ColumnSummary],
    label: Option<LabelInput<'_>>,
    proba_columns: &[String],
    annotators: &[String],
    top_rows: usize,
) -> Result<Option<AuditFindings>> {
    let Some(label) = label else {
        if proba_columns.is_empty() {
            return Ok(None);
        }
        return Err(Error::new(
            ErrorKind::InvalidOption,
            "probability columns were given but the file has no label column to audit them against; name the label \
             column",
        ));
    };
    if label.multi_label {
        if proba_columns.is_empty() {
            return Ok(None);
        }
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!(
                "the label column {:?} is multi-label (JSON arrays); the probability audit needs one label per row",
                table.columns[label.column].name
            ),
        ));
    }
    let mut label_classes: Vec<String> = label.values.iter().flatten().map(|v| v.to_string()).collect();
    sort_classes(&mut label_classes);
    label_classes.dedup();
    let (source, read) = if proba_columns.is_empty() {
        match detect(table, label.column, &label_classes)? {
            Some(found) => found,
            None => return Ok(None),
        }
    } else {
        let source = chosen(table, label.column, &label_classes, proba_columns)?;
        match read_all(table, &source)? {
            Some(read) => (source, read),
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidOption,
                    format!(
                        "the probability columns {proba_columns:?} hold no usable row (every row has a missing value)"
                    ),
                ))
            }
        }
    };
    let annotators: Vec<usize> = annotators.iter().filter_map(|name| table.column_index(name)).collect();
    let scope = Scope { label_column: label.column, annotators: &annotators, top_rows };
    Ok(Some(evaluate(table, summaries, label.values, &source, read, &scope)))
}

/// The columns the audit must know about besides the probabilities, and
/// how many rows it lists.
struct Scope<'a> {
    label_column: usize,
    /// Annotator columns (not sliced).
    annotators: &'a [usize],
    top_rows: usize,
}

/// Every number of the audit, from probabilities that were read.
fn evaluate(
    table: &Table,
    summaries: &[ColumnSummary],
    labels: &[Option<Cow<'_, str>>],
    source: &Source,
    read: Read,
    scope: &Scope<'_>,
) -> AuditFindings {
    let (label_column, top_rows) = (scope.label_column, scope.top_rows);
    let n = table.rows();
    let classes = &source.classes;
    let k = classes.len();
    let class_id: HashMap<&str, usize> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let (mut rows, mut given) = (Vec::new(), Vec::new());
    let (mut without_label, mut without_probabilities) = (0u64, 0u64);
    for (row, label) in labels.iter().enumerate() {
        match label.as_deref().and_then(|l| class_id.get(l)) {
            None => without_label += 1,
            Some(_) if !read.usable[row] => without_probabilities += 1,
            Some(&c) => {
                rows.push(row);
                given.push(c);
            }
        }
    }
    let probabilities: Vec<f64> =
        rows.iter().flat_map(|&r| read.probabilities[r * k..(r + 1) * k].iter().copied()).collect();
    let p = |pos: usize| &probabilities[pos * k..(pos + 1) * k];
    let m = rows.len();
    let predicted: Vec<usize> = (0..m).map(|pos| argmax(p(pos))).collect();
    let quality: Vec<f64> = (0..m).map(|pos| p(pos)[given[pos]]).collect();
    let losses: Vec<f64> = quality.iter().map(|&q| loss(q)).collect();
    let s = scores(&given, &predicted, k);
    let cl = confident_learning(&given, &probabilities, k);
    let correct: Vec<bool> = (0..m).map(|pos| predicted[pos] == given[pos]).collect();

    let mut skip = source.columns.clone();
    skip.push(label_column);
    let outcomes = Outcomes { rows: &rows, correct: &correct, loss: &losses, flagged: &cl.flagged };
    let (all_slices, slice_columns_skipped) = slices(table, summaries, &skip, scope.annotators, &outcomes);
    let min_slice_rows = MIN_SLICE_ROWS.max((MIN_SLICE_SHARE * m as f64).ceil() as u64);
    let mut too_small = 0u64;
    let mut ranked: Vec<SliceAccuracy> = Vec::new();
    for (column, kind, slice, t) in all_slices {
        if t.rows < min_slice_rows {
            too_small += 1;
            continue;
        }
        if t.rows as usize == m {
            continue; // a slice of every row says nothing about a subgroup
        }
        let accuracy = t.correct as f64 / t.rows as f64;
        let (accuracy_low, accuracy_high) = wilson(t.correct, t.rows);
        ranked.push(SliceAccuracy {
            column,
            kind: kind.into(),
            slice,
            rows: t.rows,
            correct: t.correct,
            accuracy,
            accuracy_low,
            accuracy_high,
            gap: accuracy - s.accuracy,
            mean_loss: t.loss / t.rows as f64,
            label_issues: t.issues,
            small: t.rows < SMALL_SLICE_ROWS,
        });
    }
    // Stable: equal slices keep column and value order.
    ranked.sort_by(|a, b| a.accuracy.total_cmp(&b.accuracy).then(b.rows.cmp(&a.rows)));
    let slice_count = ranked.len() as u64;
    ranked.truncate(SLICES_LISTED);

    let mut by_loss: Vec<usize> = (0..m).collect();
    by_loss.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]).then(a.cmp(&b)));
    let highest_loss = by_loss
        .iter()
        .take(top_rows)
        .map(|&pos| LossRow {
            row: rows[pos] as u64,
            line: table.lines[rows[pos]],
            label: classes[given[pos]].clone(),
            predicted: classes[predicted[pos]].clone(),
            label_probability: quality[pos],
            predicted_probability: p(pos)[predicted[pos]],
            loss: losses[pos],
            label_issue: cl.flagged[pos],
            values: table.row_values(rows[pos], 200),
        })
        .collect();

    let mut label_quality = vec![None; n];
    let mut given_label_loss = vec![None; n];
    let mut is_label_issue = vec![None; n];
    let mut flagged_by_class = vec![0u64; k];
    for (pos, &row) in rows.iter().enumerate() {
        label_quality[row] = Some(quality[pos]);
        given_label_loss[row] = Some(losses[pos]);
        is_label_issue[row] = Some(cl.flagged[pos]);
        flagged_by_class[given[pos]] += u64::from(cl.flagged[pos]);
    }
    let flagged_count = cl.flagged.iter().filter(|&&f| f).count() as u64;
    let mut flagged: Vec<usize> = (0..m).filter(|&pos| cl.flagged[pos]).collect();
    flagged.sort_by(|&a, &b| quality[a].total_cmp(&quality[b]).then(a.cmp(&b)));
    let columns: Vec<String> = source.columns.iter().map(|&c| table.columns[c].name.clone()).collect();
    let label_name = table.columns[label_column].name.clone();
    let quality_score = "label quality = p(label), the probability the model gives the row's label (cleanlab's \
                         get_label_quality_scores, default method \"self_confidence\"); label_issue_score = 1 - it"
        .to_string();
    let cl_method = "confident learning (Northcutt et al. 2021) as cleanlab's find_label_issues(labels, pred_probs) \
                     with its defaults (filter_by=\"prune_by_noise_rate\"): per-class thresholds t_j = mean p_j over \
                     the rows labelled j; confident joint of (label, class whose p reaches its threshold, the most \
                     probable when several do), calibrated to the label counts; for each label i and class j, the \
                     rows labelled i with the largest margin p_j - p_i are flagged, as many as the joint estimates; \
                     rows whose most probable class is their label are never flagged"
        .to_string();
    let label_issues = LabelIssues {
        method: "confident_learning".into(),
        label_column: label_name.clone(),
        flagged: flagged_count,
        top: flagged
            .iter()
            .take(top_rows)
            .map(|&pos| FlaggedRow {
                row: rows[pos] as u64,
                line: table.lines[rows[pos]],
                score: 1.0 - quality[pos],
                distance: 0.0,
                flagged: true,
                values: table.row_values(rows[pos], 200),
                neighbours: Vec::new(),
                neighbour_rows: Vec::new(),
                label: Some(classes[given[pos]].clone()),
                suggested_label: Some(classes[predicted[pos]].clone()),
            })
            .collect(),
        description: format!(
            "{cl_method}; on the model's probabilities in {} ({} rows audited); score: {quality_score}",
            columns.join(", "),
            m
        ),
    };
    let section = PredictionAudit {
        label_column: label_name,
        columns,
        kind: source.kind.into(),
        reason: source.reason.clone(),
        classes: classes.clone(),
        class_mapping: source.mapping.clone(),
        rows_scored: m as u64,
        rows_without_label: without_label,
        rows_without_probabilities: without_probabilities,
        rows_renormalised: rows.iter().filter(|&&r| read.renormalised[r]).count() as u64,
        renormalisation_note: read.note.clone(),
        accuracy: s.accuracy,
        log_loss: if m > 0 { losses.iter().sum::<f64>() / m as f64 } else { 0.0 },
        macro_f1: macro_f1(&s),
        per_class: (0..k)
            .map(|c| ClassMetrics {
                class: classes[c].clone(),
                support: s.matrix[c].iter().sum(),
                predicted: s.matrix.iter().map(|row| row[c]).sum(),
                precision: s.per_class[c].0,
                recall: s.per_class[c].1,
                f1: s.per_class[c].2,
            })
            .collect(),
        confusion_matrix: s.matrix,
        slice_method: format!(
            "slices are the values of each categorical or boolean column (at most {MAX_SLICE_VALUES} values) and of \
             integer columns with at most {INTEGER_VALUES_AS_CATEGORIES} values, the {NUMERIC_BINS} quantile bins of \
             other numeric columns (over the audited rows), and the rows where a column is missing; the label, the \
             probability columns, annotator columns and identifier, text, vector and date columns are not sliced; \
             slices under \
             max({MIN_SLICE_ROWS}, {}% of the audited rows) are left out; worst accuracy first",
            MIN_SLICE_SHARE * 100.0
        ),
        min_slice_rows,
        slice_count,
        slices_too_small: too_small,
        slices: ranked,
        slice_columns_skipped,
        highest_loss,
        confident_learning: ConfidentLearning {
            method: cl_method,
            thresholds: cl.thresholds.clone(),
            confident_joint: cl.joint.iter().map(|row| row.iter().map(|&v| v.max(0) as u64).collect()).collect(),
            flagged: flagged_count,
            flagged_by_class,
            quality_score,
        },
    };
    AuditFindings { section, label_issues, label_quality, given_label_loss, is_label_issue }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::balance;
    use crate::ingest::Ingestor;
    use crate::profile::profile_column;

    /// Parses `data` (named `name`) and runs the audit with label `label`.
    fn run(name: &str, data: &str, label: &str, chosen: &[&str]) -> Result<Option<AuditFindings>> {
        let mut ingestor = Ingestor::new(name);
        ingestor.push(data.as_bytes()).unwrap();
        ingestor.finish().unwrap();
        let table = &ingestor.table;
        let summaries: Vec<ColumnSummary> = table.columns.iter().map(profile_column).collect();
        let column = table.column_index(label).unwrap();
        let values = balance::labels(table, column, summaries[column].comparison);
        let chosen: Vec<String> = chosen.iter().map(|c| c.to_string()).collect();
        audit(table, &summaries, Some(LabelInput { column, values: &values, multi_label: false }), &chosen, &[], 5)
    }

    /// A CSV `header` then one line per row from `line(i)`.
    fn csv(header: &str, rows: usize, line: impl Fn(usize) -> String) -> String {
        let mut out = format!("{header}\n");
        for i in 0..rows {
            out.push_str(&line(i));
            out.push('\n');
        }
        out
    }

    #[test]
    fn detected_columns_include_a_class_no_row_is_labelled_with() {
        // The model knows cat, dog and owl; no row is labelled owl. p_cat +
        // p_dog alone do not sum to 1: the owl column is taken with them.
        let data = csv("x,label,p_cat,p_dog,p_owl,p_value", 40, |i| {
            let (label, p) = if i % 2 == 0 { ("cat", [0.7, 0.1, 0.2]) } else { ("dog", [0.1, 0.6, 0.3]) };
            let p = if i == 3 { [0.1, 0.2, 0.7] } else { p };
            format!("{i},{label},{},{},{},0.5", p[0], p[1], p[2])
        });
        let found = run("t.csv", &data, "label", &[]).unwrap().expect("detected");
        let a = &found.section;
        assert_eq!(a.classes, vec!["cat", "dog", "owl"]);
        assert_eq!(a.columns, vec!["p_cat", "p_dog", "p_owl"]);
        assert!(a.class_mapping.contains("1 class no row is labelled with"), "{}", a.class_mapping);
        assert_eq!(a.rows_scored, 40);
        assert_eq!(a.confusion_matrix[1], vec![0, 19, 1]);
        assert!((a.accuracy - 39.0 / 40.0).abs() < 1e-12);
        // scikit-learn: f1_score(macro) over cat, dog and owl (owl is
        // predicted once): (1 + 2*19/39 + 0) / 3.
        assert!((a.macro_f1 - (1.0 + 38.0 / 39.0) / 3.0).abs() < 1e-12, "{}", a.macro_f1);
        // The label's classes alone are still detected when they sum to 1.
        let data = csv("x,label,p_cat,p_dog,p_value", 20, |i| format!("{i},{},0.8,0.2,0.5", ["cat", "dog"][i % 2]));
        let found = run("t.csv", &data, "label", &[]).unwrap().expect("detected");
        assert_eq!(found.section.classes, vec!["cat", "dog"]);
    }

    #[test]
    fn macro_f1_leaves_out_classes_neither_labelled_nor_predicted() {
        // Class 2 is a column of the model, never labelled nor predicted.
        let s = scores(&[0, 0, 1, 1], &[0, 1, 1, 1], 3);
        let f1 = [2.0 / 3.0, 0.8];
        assert!((macro_f1(&s) - (f1[0] + f1[1]) / 2.0).abs() < 1e-12);
        assert_eq!(macro_f1(&scores(&[], &[], 2)), 0.0);
    }

    #[test]
    fn confusion_accuracy_precision_recall_by_hand() {
        let s = scores(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 2, 0], 3);
        assert_eq!(s.matrix, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-15);
        let expected = [(0.5, 0.5, 0.5), (2.0 / 3.0, 1.0, 0.8), (1.0, 0.5, 2.0 / 3.0)];
        for (got, want) in s.per_class.iter().zip(expected) {
            assert!(
                (got.0 - want.0).abs() < 1e-15 && (got.1 - want.1).abs() < 1e-15 && (got.2 - want.2).abs() < 1e-15,
                "{got:?} {want:?}"
            );
        }
        // A class never predicted and never labelled scores 0, not NaN.
        let s = scores(&[0, 0], &[0, 0], 2);
        assert_eq!(s.per_class[1], (0.0, 0.0, 0.0));
    }

    #[test]
    fn rounding_keeps_the_total_as_cleanlab_does() {
        assert_eq!(round_preserving_sum(&[1.5, 2.5, 1.0]), vec![2, 2, 1]);
        // 0.4 + 0.4 + 0.2 = 1: numpy's reversed argsort gives the +1 to the later 0.4.
        assert_eq!(round_preserving_sum(&[0.4, 0.4, 0.2]), vec![0, 1, 0]);
        assert_eq!(round_preserving_sum(&[2.6, 2.6, 2.8]).iter().sum::<i64>(), 8);
    }

    #[test]
    fn confident_joint_on_a_hand_case() {
        // t0 = (0.9 + 0.8 + 0.2) / 3, t1 = (0.9 + 0.7 + 0.8) / 3 = 0.8. Row 2
        // is labelled 0 but confidently 1; row 4 reaches no threshold.
        let p0 = [0.9, 0.8, 0.2, 0.1, 0.3, 0.2];
        let probabilities: Vec<f64> = p0.iter().flat_map(|&p| [p, 1.0 - p]).collect();
        let cl = confident_learning(&[0, 0, 0, 1, 1, 1], &probabilities, 2);
        assert!((cl.thresholds[0] - 1.9 / 3.0).abs() < 1e-12 && (cl.thresholds[1] - 0.8).abs() < 1e-12);
        // Raw joint [[2, 1], [0, 2]]; label 1's row scaled to its 3 rows.
        assert_eq!(cl.joint, vec![vec![2, 1], vec![0, 3]]);
        assert_eq!(cl.flagged, vec![false, false, true, false, false, false]);
    }

    #[test]
    fn confident_learning_equals_cleanlab_on_a_reference_case() {
        // 30 rows, 3 classes, 6 labels flipped; expected values from cleanlab
        // 2.9.0: find_label_issues(labels, pred_probs) flags rows 9, 12, 15,
        // 20, 23, 26; compute_confident_joint gives the joint below.
        let labels = [2, 2, 0, 1, 1, 1, 1, 0, 2, 0, 0, 1, 2, 2, 0, 2, 0, 0, 0, 2, 1, 1, 2, 0, 0, 1, 1, 2, 0, 2];
        let probabilities = [
            [0.059, 0.308, 0.633],
            [0.13, 0.149, 0.721],
            [0.876, 0.078, 0.046],
            [0.303, 0.461, 0.236],
            [0.199, 0.584, 0.217],
            [0.037, 0.833, 0.13],
            [0.209, 0.601, 0.19],
            [0.574, 0.073, 0.353],
            [0.021, 0.202, 0.777],
            [0.333, 0.532, 0.135],
            [0.841, 0.141, 0.018],
            [0.098, 0.579, 0.323],
            [0.023, 0.952, 0.025],
            [0.095, 0.344, 0.561],
            [0.446, 0.475, 0.079],
            [0.831, 0.137, 0.032],
            [0.555, 0.379, 0.066],
            [0.722, 0.097, 0.181],
            [0.663, 0.136, 0.201],
            [0.068, 0.026, 0.906],
            [0.741, 0.135, 0.124],
            [0.364, 0.584, 0.052],
            [0.081, 0.386, 0.533],
            [0.441, 0.481, 0.078],
            [0.728, 0.165, 0.107],
            [0.038, 0.937, 0.025],
            [0.638, 0.059, 0.303],
            [0.121, 0.224, 0.655],
            [0.776, 0.101, 0.123],
            [0.137, 0.08, 0.783],
        ];
        let flat: Vec<f64> = probabilities.iter().flatten().copied().collect();
        let cl = confident_learning(&labels, &flat, 3);
        let flagged: Vec<usize> = (0..30).filter(|&i| cl.flagged[i]).collect();
        assert_eq!(flagged, vec![9, 12, 15, 20, 23, 26]);
        assert_eq!(cl.joint, vec![vec![9, 2, 0], vec![2, 7, 0], vec![1, 1, 8]]);
        let thresholds = [0.6322727272727272, 0.5303333333333334, 0.5626000000000001];
        for (got, want) in cl.thresholds.iter().zip(thresholds) {
            assert!((got - want).abs() < 1e-12);
        }
    }

    /// 60 rows, classes a/b/c, a `group` column where the model is wrong on
    /// every "x" row (rows 0, 6, 12, ...), probabilities in p_a, p_b, p_c.
    fn audited_csv() -> String {
        csv("id,group,size,label,p_a,p_b,p_c", 60, |i| {
            let label = ["a", "b", "c"][i % 3];
            let group = if i % 6 == 0 { "x" } else { "y" };
            let mut p = [0.1, 0.1, 0.1];
            let right = i % 3;
            let predicted = if group == "x" { (right + 1) % 3 } else { right };
            p[predicted] = 0.8;
            format!("{i},{group},{},{label},{},{},{}", i as f64 * 0.5, p[0], p[1], p[2])
        })
    }

    #[test]
    fn detected_columns_give_accuracy_slices_and_label_issues() {
        let found = run("t.csv", &audited_csv(), "label", &[]).unwrap().expect("p_a, p_b, p_c are detected");
        let a = &found.section;
        assert_eq!(a.kind, "columns");
        assert_eq!(a.columns, ["p_a", "p_b", "p_c"]);
        assert_eq!(a.classes, ["a", "b", "c"]);
        assert_eq!(a.rows_scored, 60);
        assert!((a.accuracy - 50.0 / 60.0).abs() < 1e-12, "{}", a.accuracy);
        assert_eq!(a.confusion_matrix[0], vec![10, 10, 0]);
        // The worst slice is group = x, every row of it wrong.
        let worst = &a.slices[0];
        assert_eq!((worst.column.as_str(), worst.slice.as_str(), worst.rows, worst.correct), ("group", "x", 10, 0));
        assert!(a.slice_columns_skipped.iter().any(|s| s.column == "id"));
        assert!(a.slices.iter().all(|s| s.column != "label" && !s.column.starts_with("p_")));
        assert!(a.slices.iter().any(|s| s.column == "size" && s.kind == "bin"));
        // Highest loss: the wrong rows, p(label) = 0.1.
        assert!((a.highest_loss[0].label_probability - 0.1).abs() < 1e-12);
        assert_eq!(a.highest_loss[0].row, 0);
        assert!((a.log_loss - (50.0 * -(0.8f64.ln()) + 10.0 * -(0.1f64.ln())) / 60.0).abs() < 1e-12);
        assert_eq!(found.label_issues.method, "confident_learning");
        assert_eq!(found.label_quality[0], Some(0.1));
        let mut findings = RowFindings::new(vec![0; 60]);
        found.apply(&mut findings);
        assert_eq!(findings.label_issue_score[0].map(|s| (s * 10.0).round()), Some(9.0));
        assert_eq!(findings.is_label_issue.iter().flatten().filter(|&&f| f).count() as u64, found.label_issues.flagged);
    }

    #[test]
    fn shares_that_do_not_sum_to_one_are_not_probabilities() {
        let data = csv("label,p_a,p_b", 50, |i| {
            let label = ["a", "b"][i % 2];
            // Two independent shares in [0, 1]: they sum to 1 on few rows.
            format!("{label},{},{}", (i % 10) as f64 / 10.0, (i % 7) as f64 / 7.0)
        });
        assert!(run("t.csv", &data, "label", &[]).unwrap().is_none());
        // Chosen, the same columns are taken as scores and renormalised, and the report says so.
        let found = run("t.csv", &data, "label", &["p_a", "p_b"]).unwrap().unwrap();
        assert!(found.section.rows_renormalised > 0);
        assert!(found.section.renormalisation_note.as_deref().unwrap_or("").contains("scores"));
    }

    #[test]
    fn one_column_or_values_outside_0_1_are_not_probabilities() {
        let single =
            csv("label,p_yes", 40, |i| format!("{},{}", ["yes", "no"][i % 2], if i % 2 == 0 { 0.9 } else { 0.2 }));
        assert!(run("t.csv", &single, "label", &[]).unwrap().is_none());
        // Percentages that sum to 100.
        let percent = csv("label,p_a,p_b", 40, |i| format!("{},{},{}", ["a", "b"][i % 2], 30 + i, 70 - i));
        assert!(run("t.csv", &percent, "label", &[]).unwrap().is_none());
        // Chosen, the same values are an error naming the line and column.
        let err = run("t.csv", &percent, "label", &["p_a", "p_b"]).unwrap_err();
        assert_eq!(err.position().and_then(|p| p.line), Some(2));
        assert_eq!(err.position().and_then(|p| p.column), Some(2));
        assert!(err.message().contains("outside [0, 1]"), "{}", err.message());
        // Chosen, one column of a two-class label is p(the class it names).
        let found = run("t.csv", &single, "label", &["p_yes"]).unwrap().unwrap();
        assert_eq!(found.section.kind, "binary");
        assert_eq!(found.section.classes, ["no", "yes"]);
        assert_eq!(found.section.accuracy, 1.0);
    }

    #[test]
    fn chosen_columns_match_by_name_or_position_and_refuse_ambiguity() {
        let data = csv("label,s1,s2,p_a,p_A", 20, |i| {
            let (a, b) = if i % 2 == 0 { (0.7, 0.3) } else { (0.2, 0.8) };
            format!("{},{a},{b},{a},{a}", ["a", "b"][i % 2])
        });
        let found = run("t.csv", &data, "label", &["s1", "s2"]).unwrap().unwrap();
        assert!(found.section.class_mapping.starts_with("by position"), "{}", found.section.class_mapping);
        assert_eq!(found.section.accuracy, 1.0);
        let err = run("t.csv", &data, "label", &["p_a", "p_A"]).unwrap_err();
        assert!(err.message().contains("both name the class"), "{}", err.message());
        let err = run("t.csv", &data, "label", &["s1", "p_a"]).unwrap_err();
        assert!(err.message().contains("cannot be matched"), "{}", err.message());
        let err = run("t.csv", &data, "label", &["nope"]).unwrap_err();
        assert!(err.message().contains("not in the file"), "{}", err.message());
    }

    #[test]
    fn vector_columns_follow_sorted_class_order() {
        let mut data = String::new();
        for i in 0..30 {
            let label = [10, 9, 100][i % 3];
            // Numeric classes sort as numbers: 9, 10, 100.
            let p = match label {
                9 => "[0.8, 0.1, 0.1]",
                10 => "[0.1, 0.8, 0.1]",
                _ => "[0.1, 0.1, 0.8]",
            };
            data.push_str(&format!("{{\"x\": {i}, \"label\": {label}, \"pred_probs\": {p}}}\n"));
        }
        let found = run("t.jsonl", &data, "label", &[]).unwrap().expect("pred_probs is detected");
        assert_eq!(found.section.kind, "vector");
        assert_eq!(found.section.classes, ["9", "10", "100"]);
        assert_eq!(found.section.accuracy, 1.0);
        assert_eq!(found.label_issues.flagged, 0);
    }

    #[test]
    fn sorted_classes_are_numeric_when_all_are_numbers() {
        let mut c: Vec<String> = ["10", "9", "100"].iter().map(|s| s.to_string()).collect();
        sort_classes(&mut c);
        assert_eq!(c, ["9", "10", "100"]);
        let mut c: Vec<String> = ["b", "B", "a"].iter().map(|s| s.to_string()).collect();
        sort_classes(&mut c);
        assert_eq!(c, ["B", "a", "b"]);
    }

    #[test]
    fn wilson_interval_brackets_the_accuracy() {
        let (low, high) = wilson(8, 10);
        assert!(low < 0.8 && 0.8 < high);
        assert!((low - 0.4902).abs() < 1e-3 && (high - 0.9433).abs() < 1e-3, "{low} {high}");
        assert_eq!(edge(2.0), "2");
        assert_eq!(edge(12.3456), "12.35");
        assert_eq!(edge(0.000123456), "0.0001235");
    }
}
