//! Human review: a stratified, seeded sample of rows for people to check
//! labels, and the share of rows a verified-labels column marks verified.
//!
//! The sample takes up to `per_class` rows of each class (or a `fraction`
//! of each class, at least one row), chosen by a seeded Fisher-Yates
//! shuffle of the class's rows: the same file, options and seed give the
//! same sample on every platform (64-bit integer arithmetic only; each
//! class shuffles with its own stream, seeded from the seed and the class
//! name, so adding a class elsewhere does not change a class's rows). It
//! can be enriched with the `enrich` rows whose labels look most wrong
//! (highest `label_issue_score` above 0), drawn first; the stratified rows
//! come from the rest. Rows without a label are never sampled (counted).
//!
//! The review CSV: `row,line,label,reason,reviewer_label` in row order;
//! `reason` is `stratified` or `likely_mislabelled`, `reviewer_label` is
//! empty for the reviewer to fill. Only row ids and labels: the rows'
//! other values stay in the file.
//!
//! Verified column: a column of flags (true/false, yes/no, y/n or 1/0) named like
//! `verified`, `reviewed`, `is_verified`, `human_checked`,
//! `label_validated` (every name token one of [`VERIFIED_TOKENS`] or
//! [`VERIFIED_EXTRA_TOKENS`], at least one of the first), or chosen.

use crate::ingest::Table;
use crate::profile::value::parse_bool;
use crate::profile::ColumnSummary;
use crate::report::{ClassVerified, ColumnType, ReviewSampleSummary, ReviewSummary, VerifiedShare};
use crate::{Error, ErrorKind, Result};
use std::collections::BTreeMap;

/// Rows per class when neither `per_class` nor `fraction` is given.
pub const DEFAULT_PER_CLASS: usize = 20;

/// Seed of the shuffle when none is given.
pub const DEFAULT_SEED: u64 = 42;

/// Largest seed: seeds travel through JavaScript numbers in the page.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// Name tokens that mark a verified-labels column.
pub const VERIFIED_TOKENS: &[&str] =
    &["verified", "reviewed", "checked", "validated", "approved", "vetted", "confirmed"];

/// Name tokens allowed beside them (`is_verified`, `label_reviewed`).
pub const VERIFIED_EXTRA_TOKENS: &[&str] =
    &["is", "was", "has", "been", "label", "labels", "human", "manually", "manual", "expert", "gold", "row"];

/// How the review sample is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewOptions {
    /// Up to this many rows of each class.
    pub per_class: Option<usize>,
    /// This share of each class (in (0, 1]; at least one row per class);
    /// used when `per_class` is `None`. Neither: [`DEFAULT_PER_CLASS`].
    pub fraction: Option<f64>,
    /// Seed of the shuffle (at most [`MAX_SEED`]).
    pub seed: u64,
    /// Rows with the highest label issue scores added to the sample.
    pub enrich: usize,
}

impl Default for ReviewOptions {
    fn default() -> ReviewOptions {
        ReviewOptions { per_class: None, fraction: None, seed: DEFAULT_SEED, enrich: 0 }
    }
}

impl ReviewOptions {
    /// Checks the fraction and the seed.
    pub fn validate(&self) -> Result<()> {
        if let Some(f) = self.fraction {
            if !(f > 0.0 && f <= 1.0) {
                return Err(Error::new(
                    ErrorKind::InvalidOption,
                    format!("the review fraction must be above 0 and at most 1, not {f}"),
                ));
            }
        }
        if self.seed > MAX_SEED {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!("the review seed must be at most {MAX_SEED}, not {}", self.seed),
            ));
        }
        Ok(())
    }
}

/// Why a row is in the review sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewReason {
    /// Drawn at random within its class.
    Stratified,
    /// Among the rows with the highest label issue scores.
    LikelyMislabelled,
}

impl ReviewReason {
    /// The name written in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            ReviewReason::Stratified => "stratified",
            ReviewReason::LikelyMislabelled => "likely_mislabelled",
        }
    }
}

/// One row of the review sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    /// Row id.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// Its current label.
    pub label: String,
    /// Why it was drawn.
    pub reason: ReviewReason,
}

/// The review sample, in row order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewSample {
    /// The rows drawn.
    pub rows: Vec<ReviewRow>,
}

/// Header of the review CSV.
pub const HEADER: [&str; 5] = ["row", "line", "label", "reason", "reviewer_label"];

impl ReviewSample {
    /// Writes the review CSV.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(HEADER)?;
        for r in &self.rows {
            w.write_record([r.row.to_string().as_str(), &r.line.to_string(), &r.label, r.reason.name(), ""])?;
        }
        w.flush()?;
        Ok(())
    }

    /// The review CSV as a string.
    pub fn to_csv(&self) -> Result<String> {
        let mut buf = Vec::new();
        self.write_csv(&mut buf)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("writing the review CSV: {e}")))?;
        String::from_utf8(buf).map_err(|e| Error::new(ErrorKind::Internal, format!("the review CSV is not UTF-8: {e}")))
    }
}

/// Seeded xorshift64*: the shuffle's generator, the same on every platform.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `0..bound` (by modulo: the bias is below 2^-40 for any row count).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// FNV-1a of a class name, to give each class its own stream.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Draws `take` of `rows` by a partial Fisher-Yates shuffle.
fn draw(rows: &mut [u32], take: usize, rng: &mut XorShift) -> Vec<u32> {
    let take = take.min(rows.len());
    for i in 0..take {
        let j = i + rng.below((rows.len() - i) as u64) as usize;
        rows.swap(i, j);
    }
    rows[..take].to_vec()
}

/// The review sample of rows labelled `labels` (starting at `lines`),
/// enriched from `scores` (each row's label issue score; `score_method`
/// names how they were made, `None` when the label check did not run).
pub fn review_sample<S: AsRef<str>>(
    labels: &[Option<S>],
    lines: &[u64],
    scores: &[Option<f64>],
    score_method: Option<&str>,
    options: &ReviewOptions,
) -> (ReviewSampleSummary, ReviewSample) {
    let mut by_class: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut rows_without_label = 0u64;
    for (row, label) in labels.iter().enumerate() {
        match label {
            Some(l) => by_class.entry(l.as_ref()).or_default().push(row as u32),
            None => rows_without_label += 1,
        }
    }
    // Enrichment first: the highest scores above 0 among labelled rows.
    let mut candidates: Vec<(u32, f64)> = scores
        .iter()
        .enumerate()
        .filter(|(row, _)| labels.get(*row).is_some_and(Option::is_some))
        .filter_map(|(row, s)| s.filter(|s| *s > 0.0).map(|s| (row as u32, s)))
        .collect();
    let scored = scores.iter().any(Option::is_some);
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let enriched: Vec<u32> = candidates.iter().take(options.enrich).map(|&(row, _)| row).collect();
    let enrichment = if options.enrich == 0 {
        "not asked".to_string()
    } else if !scored {
        "none: no label issue scores (the label check did not run: no label column, or the neighbour checks did not run)"
            .to_string()
    } else {
        format!(
            "the {} rows with the highest label_issue_score above 0 ({} asked{}; {})",
            enriched.len(),
            options.enrich,
            if enriched.len() < options.enrich { ", fewer rows scored above 0" } else { "" },
            score_method.map_or("label issue scores".to_string(), |m| format!("label_issues.method {m:?}"))
        )
    };
    let mut in_sample: Vec<Option<ReviewReason>> = vec![None; labels.len()];
    for &row in &enriched {
        in_sample[row as usize] = Some(ReviewReason::LikelyMislabelled);
    }
    let (method, per_class, fraction) = match (options.per_class, options.fraction) {
        (Some(n), _) => ("per_class", Some(n), None),
        (None, Some(f)) => ("fraction", None, Some(f)),
        (None, None) => ("per_class", Some(DEFAULT_PER_CLASS), None),
    };
    let mut stratified = 0u64;
    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    for (class, rows) in &by_class {
        let mut rest: Vec<u32> = rows.iter().copied().filter(|&r| in_sample[r as usize].is_none()).collect();
        let take = match (per_class, fraction) {
            (Some(n), _) => n,
            (None, Some(f)) => ((f * rows.len() as f64).round() as usize).max(1),
            (None, None) => DEFAULT_PER_CLASS,
        };
        let mut rng = XorShift::new(options.seed ^ fnv1a(class));
        for row in draw(&mut rest, take, &mut rng) {
            in_sample[row as usize] = Some(ReviewReason::Stratified);
            stratified += 1;
        }
        let count = rows.iter().filter(|&&r| in_sample[r as usize].is_some()).count() as u64;
        if count > 0 {
            classes.insert(class.to_string(), count);
        }
    }
    let rows: Vec<ReviewRow> = in_sample
        .iter()
        .enumerate()
        .filter_map(|(row, reason)| {
            reason.map(|reason| ReviewRow {
                row: row as u64,
                line: lines[row],
                label: labels[row].as_ref().map(|l| l.as_ref().to_string()).unwrap_or_default(),
                reason,
            })
        })
        .collect();
    let summary = ReviewSampleSummary {
        method: method.into(),
        per_class: per_class.map(|n| n as u64),
        fraction,
        seed: options.seed,
        size: rows.len() as u64,
        stratified,
        enriched: enriched.len() as u64,
        enrich_requested: options.enrich as u64,
        enrichment,
        classes,
        rows_without_label,
    };
    (summary, ReviewSample { rows })
}

/// Whether the name marks a verified-labels column (see the module notes).
pub fn name_suggests_verified(name: &str) -> bool {
    let tokens = crate::checks::agreement::name_tokens(name);
    tokens.iter().any(|t| VERIFIED_TOKENS.contains(&t.as_str()))
        && tokens.iter().all(|t| VERIFIED_TOKENS.contains(&t.as_str()) || VERIFIED_EXTRA_TOKENS.contains(&t.as_str()))
}

/// A verified flag: true/false (any case), yes/no, y/n or 1/0; `None`
/// for anything else.
pub fn parse_verified(text: &str) -> Option<bool> {
    let t = text.trim();
    parse_bool(t).or_else(|| match t.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" => Some(true),
        "false" | "no" | "n" => Some(false),
        _ => match t.parse::<f64>() {
            Ok(1.0) => Some(true),
            Ok(0.0) => Some(false),
            _ => None,
        },
    })
}

/// Whether every value of the column is a verified flag (at least one).
fn holds_flags(table: &Table, column: usize) -> bool {
    let mut present = table.columns[column].cells().filter(|c| !c.is_missing()).peekable();
    present.peek().is_some() && present.all(|c| parse_verified(c.text()).is_some())
}

/// The verified column: the one chosen (an error when it is not in the
/// file), or the first boolean (or 0/1) column with a verified name.
pub fn verified_column(
    table: &Table,
    summaries: &[ColumnSummary],
    chosen: Option<&str>,
) -> Result<Option<(usize, String)>> {
    if let Some(name) = chosen {
        let index = table.require_column(name, "verified")?;
        // A column with values but not one flag among them is no verified
        // column: an error, not "0% verified".
        let column = &table.columns[index];
        let mut present = column.cells().enumerate().filter(|(_, c)| !c.is_missing()).peekable();
        if present.peek().is_some() && !column.cells().any(|c| !c.is_missing() && parse_verified(c.text()).is_some()) {
            let (row, cell) = present.next().unwrap_or((0, crate::ingest::Cell::Missing));
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!(
                    "verified column {name:?} holds no verified flags (true/false, yes/no, y/n or 1/0): line {} has {:?}",
                    table.lines[row],
                    crate::ingest::table::clip(cell.text(), 40)
                ),
            ));
        }
        return Ok(Some((index, "chosen by the user".into())));
    }
    Ok(summaries.iter().enumerate().find_map(|(i, s)| {
        let p = &s.profile;
        let zero_one =
            p.column_type == ColumnType::Integer && p.numeric.as_ref().is_some_and(|n| n.min >= 0.0 && n.max <= 1.0);
        let boolean = p.column_type == ColumnType::Boolean
            || zero_one
            || (p.column_type == ColumnType::Categorical && name_suggests_verified(&p.name) && holds_flags(table, i));
        (boolean && p.count > 0 && name_suggests_verified(&p.name))
            .then(|| (i, format!("detected: {:?} is a boolean column named like a verified-labels flag", p.name)))
    }))
}

/// The share of rows verified, overall and per class of `labels`.
pub fn verified_share<S: AsRef<str>>(
    table: &Table,
    column: usize,
    reason: String,
    labels: Option<&[Option<S>]>,
) -> VerifiedShare {
    let (mut verified, mut missing, mut not_boolean) = (0u64, 0u64, 0u64);
    let mut per_class: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (row, cell) in table.columns[column].cells().enumerate() {
        let flag = if cell.is_missing() {
            missing += 1;
            false
        } else {
            match parse_verified(cell.text()) {
                Some(v) => v,
                None => {
                    not_boolean += 1;
                    false
                }
            }
        };
        verified += u64::from(flag);
        if let Some(class) = labels.and_then(|l| l[row].as_ref()) {
            let entry = per_class.entry(class.as_ref()).or_default();
            entry.0 += 1;
            entry.1 += u64::from(flag);
        }
    }
    let rows = table.rows() as u64;
    let mut per_class: Vec<ClassVerified> = per_class
        .into_iter()
        .map(|(class, (rows, verified))| ClassVerified {
            class: class.to_string(),
            rows,
            verified,
            share: verified as f64 / rows.max(1) as f64,
        })
        .collect();
    per_class.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.class.cmp(&b.class)));
    VerifiedShare {
        column: table.columns[column].name.clone(),
        reason,
        rows,
        verified,
        share: verified as f64 / rows.max(1) as f64,
        missing,
        not_boolean,
        per_class,
    }
}

/// The review section and sample: the sample when there is a label column
/// (`label`: its index and values), the verified share when there is a
/// verified column (`verified`: its index and why, from [`verified_column`]).
/// `scores` are the rows' label
/// issue scores, made by `score_method`.
pub fn review<S: AsRef<str>>(
    table: &Table,
    label: Option<(usize, &[Option<S>])>,
    scores: &[Option<f64>],
    score_method: Option<&str>,
    verified: Option<(usize, String)>,
    options: &ReviewOptions,
) -> Result<(Option<ReviewSummary>, Option<ReviewSample>)> {
    options.validate()?;
    let (summary, sample) = match label {
        Some((_, values)) => {
            let (summary, sample) = review_sample(values, &table.lines, scores, score_method, options);
            (Some(summary), Some(sample))
        }
        None => (None, None),
    };
    let verified = verified
        .map(|(column, reason)| verified_share(table, column, reason, label.map(|(_, values)| values)));
    if summary.is_none() && verified.is_none() {
        return Ok((None, None));
    }
    let section =
        ReviewSummary { label_column: label.map(|(i, _)| table.columns[i].name.clone()), sample: summary, verified };
    Ok((Some(section), sample))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(counts: &[(&'static str, usize)]) -> Vec<Option<&'static str>> {
        counts.iter().flat_map(|&(c, n)| std::iter::repeat_n(Some(c), n)).collect()
    }

    fn lines(n: usize) -> Vec<u64> {
        (0..n as u64).map(|i| i + 2).collect()
    }

    #[test]
    fn per_class_counts_and_reproducible_with_a_seed() {
        let l = labels(&[("a", 50), ("b", 7), ("c", 30)]);
        let options = ReviewOptions { per_class: Some(10), ..ReviewOptions::default() };
        let (summary, sample) = review_sample(&l, &lines(l.len()), &vec![None; l.len()], None, &options);
        assert_eq!(summary.classes, BTreeMap::from([("a".into(), 10), ("b".into(), 7), ("c".into(), 10)]));
        assert_eq!((summary.size, summary.stratified, summary.enriched), (27, 27, 0));
        assert_eq!(summary.enrichment, "not asked");
        assert!(sample.rows.windows(2).all(|w| w[0].row < w[1].row));
        for r in &sample.rows {
            assert_eq!(Some(r.label.as_str()), l[r.row as usize]);
            assert_eq!(r.line, r.row + 2);
        }
        let (_, again) = review_sample(&l, &lines(l.len()), &vec![None; l.len()], None, &options);
        assert_eq!(sample, again);
        let other = ReviewOptions { seed: 7, ..options.clone() };
        let (_, different) = review_sample(&l, &lines(l.len()), &vec![None; l.len()], None, &other);
        assert_ne!(sample, different);
    }

    #[test]
    fn the_sample_of_a_seed_is_pinned() {
        // Guards reproducibility across versions and platforms: these rows
        // are what seed 42 draws; a change to the shuffle changes them.
        let l = labels(&[("x", 20)]);
        let options = ReviewOptions { per_class: Some(3), ..ReviewOptions::default() };
        let (_, sample) = review_sample(&l, &lines(20), &vec![None; 20], None, &options);
        let rows: Vec<u64> = sample.rows.iter().map(|r| r.row).collect();
        // Computed independently (Python, the same xorshift64* and FNV-1a).
        assert_eq!(fnv1a("x"), 0xaf63_f54c_8602_1707);
        assert_eq!(rows, vec![5, 9, 12]);
    }

    #[test]
    fn a_class_does_not_change_the_sample_of_another() {
        let l1 = labels(&[("a", 40), ("b", 40)]);
        let l2 = labels(&[("a", 40), ("b", 40), ("c", 5)]);
        let options = ReviewOptions { per_class: Some(5), ..ReviewOptions::default() };
        let (_, s1) = review_sample(&l1, &lines(80), &vec![None; 80], None, &options);
        let (_, s2) = review_sample(&l2, &lines(85), &vec![None; 85], None, &options);
        let rows = |s: &ReviewSample| s.rows.iter().filter(|r| r.row < 80).map(|r| r.row).collect::<Vec<_>>();
        assert_eq!(rows(&s1), rows(&s2));
    }

    #[test]
    fn fraction_rounds_with_at_least_one_per_class() {
        let l = labels(&[("a", 100), ("b", 3)]);
        let options = ReviewOptions { fraction: Some(0.1), ..ReviewOptions::default() };
        let (summary, _) = review_sample(&l, &lines(103), &vec![None; 103], None, &options);
        assert_eq!(summary.method, "fraction");
        assert_eq!(summary.classes, BTreeMap::from([("a".into(), 10), ("b".into(), 1)]));
    }

    #[test]
    fn enrichment_picks_the_highest_scores() {
        let mut l = labels(&[("a", 30), ("b", 30)]);
        l[59] = None;
        let mut scores: Vec<Option<f64>> = (0..60).map(|i| Some(i as f64 / 100.0)).collect();
        scores[0] = None;
        let options = ReviewOptions { per_class: Some(2), enrich: 3, ..ReviewOptions::default() };
        let (summary, sample) = review_sample(&l, &lines(60), &scores, Some("knn"), &options);
        let enriched: Vec<u64> =
            sample.rows.iter().filter(|r| r.reason == ReviewReason::LikelyMislabelled).map(|r| r.row).collect();
        // Row 59 has the top score but no label.
        assert_eq!(enriched, vec![56, 57, 58]);
        assert_eq!((summary.enriched, summary.stratified, summary.size), (3, 4, 7));
        assert_eq!(summary.rows_without_label, 1);
        assert_eq!(summary.classes["b"], 5);
        assert!(summary.enrichment.contains("knn"), "{}", summary.enrichment);
        // No scores: no enrichment, and the summary says why.
        let (summary, _) = review_sample(&l, &lines(60), &vec![None; 60], None, &options);
        assert_eq!(summary.enriched, 0);
        assert!(summary.enrichment.starts_with("none: no label issue scores"));
    }

    #[test]
    fn review_csv_has_an_empty_reviewer_column() {
        let sample = ReviewSample {
            rows: vec![ReviewRow { row: 3, line: 5, label: "a, b".into(), reason: ReviewReason::Stratified }],
        };
        assert_eq!(sample.to_csv().unwrap(), "row,line,label,reason,reviewer_label\n3,5,\"a, b\",stratified,\n");
    }

    #[test]
    fn options_are_validated() {
        assert!(ReviewOptions { fraction: Some(0.0), ..ReviewOptions::default() }.validate().is_err());
        assert!(ReviewOptions { fraction: Some(1.5), ..ReviewOptions::default() }.validate().is_err());
        assert!(ReviewOptions { seed: MAX_SEED + 1, ..ReviewOptions::default() }.validate().is_err());
        assert!(ReviewOptions { fraction: Some(1.0), ..ReviewOptions::default() }.validate().is_ok());
    }

    use crate::profile::test_profiled as table;

    #[test]
    fn verified_names() {
        for yes in ["verified", "is_verified", "reviewed", "label_checked", "humanValidated", "Approved"] {
            assert!(name_suggests_verified(yes), "{yes}");
        }
        for no in ["checked_bag", "verified_by", "label", "review_date"] {
            assert!(!name_suggests_verified(no), "{no}");
        }
    }

    #[test]
    fn verified_share_overall_and_per_class() {
        let (t, s) = table("y,is_verified\na,true\na,false\na,True\nb,\nb,maybe\nb,true\n,true\n");
        // "maybe" makes the column text, not boolean: it is not detected, but may be chosen.
        assert_eq!(verified_column(&t, &s, None).unwrap(), None);
        let (column, reason) = verified_column(&t, &s, Some("is_verified")).unwrap().unwrap();
        assert_eq!(column, 1);
        let (t2, s2) = table("y,is_verified\na,true\nb,false\n");
        assert!(verified_column(&t2, &s2, None).unwrap().unwrap().1.starts_with("detected"));
        let l: Vec<Option<&str>> = vec![Some("a"), Some("a"), Some("a"), Some("b"), Some("b"), Some("b"), None];
        let v = verified_share(&t, column, reason, Some(&l));
        assert_eq!((v.rows, v.verified, v.missing, v.not_boolean), (7, 4, 1, 1));
        assert!((v.share - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(v.per_class.len(), 2);
        assert_eq!((v.per_class[0].class.as_str(), v.per_class[0].rows, v.per_class[0].verified), ("a", 3, 2));
        assert_eq!((v.per_class[1].class.as_str(), v.per_class[1].verified), ("b", 1));
    }

    #[test]
    fn zero_one_verified_columns_and_choices() {
        let (t, s) = table("x,reviewed,checked_bag\n1,1,true\n2,0,false\n3,1,true\n");
        assert_eq!(verified_column(&t, &s, None).unwrap().unwrap().0, 1);
        assert_eq!(verified_column(&t, &s, Some("checked_bag")).unwrap().unwrap().0, 2);
        let err = verified_column(&t, &s, Some("nope")).unwrap_err();
        assert!(err.to_string().contains("\"nope\""));
        let v = verified_share::<&str>(&t, 1, "chosen".into(), None);
        assert_eq!((v.verified, v.rows), (2, 3));
        assert!(v.per_class.is_empty());
        let (t, s) = table("x,smoker\n1,true\n2,false\n");
        assert_eq!(verified_column(&t, &s, None).unwrap(), None);
    }

    #[test]
    fn yes_no_and_mixed_verified_flags() {
        for (text, flag) in [("yes", true), ("No", false), ("Y", true), ("n", false), ("tRue", true), ("1.0", true)] {
            assert_eq!(parse_verified(text), Some(flag), "{text}");
        }
        assert_eq!(parse_verified("maybe"), None);
        // yes/no and 1/0/TRUE/false columns are detected and counted.
        let (t, s) = table("y,verified,is_checked\na,yes,1\na,no,0\nb,Yes,TRUE\nb,NO,false\nb,,\n");
        let (column, reason) = verified_column(&t, &s, None).unwrap().unwrap();
        assert_eq!(column, 1);
        let v = verified_share::<&str>(&t, column, reason, None);
        assert_eq!((v.rows, v.verified, v.missing, v.not_boolean), (5, 2, 1, 0));
        let v = verified_share::<&str>(&t, 2, "chosen".into(), None);
        assert_eq!((v.verified, v.not_boolean), (2, 0));
        // A chosen column with no flag at all is an error naming a line.
        let (t, s) = table("y,score\na,\nb,0.25\nb,0.5\n");
        let err = verified_column(&t, &s, Some("score")).unwrap_err().to_string();
        assert!(err.contains("\"score\" holds no verified flags") && err.contains("line 3"), "{err}");
    }
}
