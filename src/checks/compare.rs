//! Comparing two datasets (reference vs candidate): schema differences,
//! leakage (candidate rows copying reference rows), per-column drift
//! (Kolmogorov-Smirnov, population stability index, Jensen-Shannon
//! distance, missing-rate change), and whole-dataset drift from a kNN graph
//! over one embedding of both sets.
//!
//! The statistics are plain functions of shares and sorted samples, tested
//! against hand-computed values; [`compare_tables`] applies them to two
//! parsed tables, [`stack`] builds the one table both sets are embedded
//! from, and [`dataset_drift`] / [`near_leakage`] read the graph over it.

use crate::checks::duplicates::{cell_key, identifier_columns};
use crate::profile::name_suggests_identifier;
use crate::checks::neighbours::true_distance;
use crate::checks::text_dups::{
    banding_for, jaccard, Banding, ColumnTexts, Engine, Lsh, Permutations, BATCH_SHINGLES, PERMUTATIONS, SHINGLE_SIZE,
};
use crate::error::Result;
use crate::gpu::{KnnGraph, Metric};
use crate::ingest::table::clip;
use crate::ingest::{Cell, CellKind, Table};
use crate::profile::value::{parse_datetime, parse_number};
use crate::profile::{quantile_sorted, ColumnSummary, Comparison as ValueComparison};
use crate::report::{
    ColumnDrift, ColumnType, CompareThresholds, DatasetDrift, DriftHistogram, ExcludedColumn, LabelShift, LeakPair,
    Leakage, RenameSuggestion, RuleOutcome, SchemaDiff, TextLeakPair, TextLeakage, TypeChange, Verdict,
};
use std::collections::{BTreeMap, HashMap};

/// Shares below this count as this in the PSI (an empty bin would make it
/// infinite); the usual choice of PSI implementations.
pub const PSI_EPSILON: f64 = 1e-4;
/// Leak pairs listed per kind (exact, ignoring identifiers, near).
pub const LEAK_PAIRS_SHOWN: usize = 20;
/// New or vanished categories listed per column.
pub const CATEGORIES_SHOWN: usize = 20;
/// Bins of the overlaid numeric histograms (and categories shown).
pub const DRIFT_HISTOGRAM_BINS: usize = 20;

impl Default for CompareThresholds {
    fn default() -> CompareThresholds {
        CompareThresholds {
            ks: 0.1,
            alpha: 0.01,
            psi: 0.2,
            psi_bins: 10,
            js: 0.1,
            missing_change: 0.1,
            dataset_drift: 0.2,
            leakage_share: 0.0,
        }
    }
}

// ---------------------------------------------------------------- statistics

/// Two-sample Kolmogorov-Smirnov statistic: the largest distance between
/// the empirical distribution functions of two sorted samples (ties
/// handled: both functions step past a shared value together). 0 when
/// either sample is empty.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return 0.0;
    }
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < n && j < m {
        let x = a[i].min(b[j]);
        while i < n && a[i] <= x {
            i += 1;
        }
        while j < m && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n as f64 - j as f64 / m as f64).abs());
    }
    d
}

/// Asymptotic p-value of the two-sample KS statistic `d` for samples of
/// `n` and `m` values (Kolmogorov's distribution with Stephens' small-sample
/// correction, as Numerical Recipes' `probks`).
pub fn ks_p_value(d: f64, n: usize, m: usize) -> f64 {
    if n == 0 || m == 0 {
        return 1.0;
    }
    let effective = (n as f64 * m as f64 / (n + m) as f64).sqrt();
    let lambda = (effective + 0.12 + 0.11 / effective) * d;
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let term = sign * (-2.0 * (j as f64).powi(2) * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, &g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularised upper incomplete gamma Q(a, x) (series below a + 1,
/// continued fraction above, as Numerical Recipes' `gammq`).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * front).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let step = d * c;
            h *= step;
            if (step - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (front * h).clamp(0.0, 1.0)
    }
}

/// Chi-square test of homogeneity of two count vectors over the same
/// categories (categories with no count in either are skipped): the
/// statistic, and its p-value with (categories - 1) degrees of freedom.
pub fn chi_square_test(reference: &[u64], candidate: &[u64]) -> (f64, f64) {
    let (r_total, c_total) = (reference.iter().sum::<u64>() as f64, candidate.iter().sum::<u64>() as f64);
    let total = r_total + c_total;
    if r_total == 0.0 || c_total == 0.0 {
        return (0.0, 1.0);
    }
    let mut statistic = 0.0;
    let mut categories = 0usize;
    for (&a, &b) in reference.iter().zip(candidate) {
        let column = (a + b) as f64;
        if column == 0.0 {
            continue;
        }
        categories += 1;
        for (observed, row_total) in [(a as f64, r_total), (b as f64, c_total)] {
            let expected = row_total * column / total;
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    if categories < 2 {
        return (0.0, 1.0);
    }
    (statistic, gamma_q((categories - 1) as f64 / 2.0, statistic / 2.0))
}

/// Inner edges of `bins` quantile bins of a sorted sample: the value at or
/// below which `i / bins` of it lies, for i = 1..bins, ties merged. Bin i
/// holds the values in (edge[i-1], edge[i]]; the first bin is unbounded
/// below and the last above.
pub fn quantile_edges(sorted: &[f64], bins: usize) -> Vec<f64> {
    let n = sorted.len();
    let mut edges: Vec<f64> = Vec::new();
    if n == 0 {
        return edges;
    }
    for i in 1..bins {
        let index = ((i * n).div_ceil(bins)).max(1) - 1;
        let edge = sorted[index];
        if edges.last() != Some(&edge) {
            edges.push(edge);
        }
    }
    edges
}

/// Shares of a sorted sample in the bins that `edges` bound (see
/// [`quantile_edges`]): `edges.len() + 1` shares summing to 1.
pub fn bin_shares(sorted: &[f64], edges: &[f64]) -> Vec<f64> {
    let n = sorted.len().max(1) as f64;
    let mut shares = Vec::with_capacity(edges.len() + 1);
    let mut below = 0usize;
    for &edge in edges {
        let at_or_below = sorted.partition_point(|&v| v <= edge);
        shares.push((at_or_below - below) as f64 / n);
        below = at_or_below;
    }
    shares.push((sorted.len() - below) as f64 / n);
    shares
}

/// Population stability index of two share vectors over the same bins:
/// sum of (q - p) ln(q / p), shares floored at [`PSI_EPSILON`].
pub fn psi(reference: &[f64], candidate: &[f64]) -> f64 {
    reference
        .iter()
        .zip(candidate)
        .map(|(&p, &q)| {
            let (p, q) = (p.max(PSI_EPSILON), q.max(PSI_EPSILON));
            (q - p) * (q / p).ln()
        })
        .sum()
}

/// PSI of two sorted samples over `bins` quantile bins of the reference.
pub fn psi_of_samples(reference: &[f64], candidate: &[f64], bins: usize) -> f64 {
    let edges = quantile_edges(reference, bins);
    psi(&bin_shares(reference, &edges), &bin_shares(candidate, &edges))
}

/// Jensen-Shannon distance (square root of the JS divergence, base 2, so in
/// [0, 1]) of two share vectors over the same categories.
pub fn js_distance(p: &[f64], q: &[f64]) -> f64 {
    let mut divergence = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let m = (a + b) / 2.0;
        if a > 0.0 {
            divergence += 0.5 * a * (a / m).log2();
        }
        if b > 0.0 {
            divergence += 0.5 * b * (b / m).log2();
        }
    }
    divergence.max(0.0).sqrt().min(1.0)
}

// ---------------------------------------------------------------- tables

/// How one column's values compare across the two files: the same
/// comparison where both files agree, numbers by value where one is
/// integers and the other floats, text otherwise.
pub fn shared_comparison(a: ValueComparison, b: ValueComparison) -> ValueComparison {
    use ValueComparison::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Integer, Numeric) | (Numeric, Integer) => Numeric,
        _ => Text,
    }
}

/// Which drift statistics a column type gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Numeric,
    Date,
    Categorical,
}

fn family(t: ColumnType) -> Option<Family> {
    match t {
        ColumnType::Integer | ColumnType::Float => Some(Family::Numeric),
        ColumnType::Datetime => Some(Family::Date),
        ColumnType::Categorical | ColumnType::Boolean => Some(Family::Categorical),
        _ => None,
    }
}

/// One parsed table with its column summaries and name.
pub struct Side<'a> {
    /// File name.
    pub name: &'a str,
    /// The parsed rows.
    pub table: &'a Table,
    /// Column summaries.
    pub summaries: &'a [ColumnSummary],
}

/// A column shared by both files: index in the reference and in the candidate.
#[derive(Debug, Clone, Copy)]
pub struct SharedColumn {
    /// Index in the reference.
    pub reference: usize,
    /// Index in the candidate.
    pub candidate: usize,
    /// How values compare across the files.
    pub comparison: ValueComparison,
}

/// The columns of both files, matched by name, in reference order.
pub fn shared_columns(reference: &Side<'_>, candidate: &Side<'_>) -> Vec<SharedColumn> {
    reference
        .table
        .columns
        .iter()
        .enumerate()
        .filter_map(|(r, column)| {
            candidate.table.column_index(&column.name).map(|c| SharedColumn {
                reference: r,
                candidate: c,
                comparison: shared_comparison(reference.summaries[r].comparison, candidate.summaries[c].comparison),
            })
        })
        .collect()
}

/// Everything [`compare_tables`] finds.
pub struct TableComparison {
    /// Schema differences.
    pub schema: SchemaDiff,
    /// Exact leakage (near leakage is filled in from the graph later).
    pub leakage: Leakage,
    /// Candidate rows that copy a reference row exactly (ignoring
    /// identifiers included): left out of near leakage.
    pub copied: Vec<bool>,
    /// For each candidate row, the first reference row it equals in every
    /// shared column.
    pub exact_matches: Vec<Option<u32>>,
    /// For each candidate row, the first reference row it equals once
    /// identifier-like columns are left out.
    pub ignoring_matches: Vec<Option<u32>>,
    /// Per-column drift, most drifted first.
    pub drift: Vec<ColumnDrift>,
    /// Shared columns without drift statistics, and why.
    pub drift_not_computed: Vec<ExcludedColumn>,
    /// Label shift.
    pub label_shift: Option<LabelShift>,
}

/// Schema, exact leakage and per-column drift of two parsed tables. `label`
/// is the label column's name when both files have it; `normalize` compares
/// values normalised, as the single-file duplicate check does.
pub fn compare_tables(
    reference: &Side<'_>,
    candidate: &Side<'_>,
    label: Option<&str>,
    thresholds: &CompareThresholds,
    normalize: bool,
) -> TableComparison {
    let shared = shared_columns(reference, candidate);
    let schema = schema_diff(reference, candidate, &shared, thresholds);
    let (leakage, copied, exact_matches, ignoring_matches) = exact_leakage(reference, candidate, &shared, normalize);
    let mut drift = Vec::new();
    let mut drift_not_computed = Vec::new();
    let mut label_shift = None;
    for s in &shared {
        let name = &reference.table.columns[s.reference].name;
        let (rt, ct) = (reference.summaries[s.reference].column_type(), candidate.summaries[s.candidate].column_type());
        let family = match (family(rt), family(ct)) {
            (Some(a), Some(b)) if a == b => a,
            (Some(_), Some(_)) => Family::Categorical,
            // All values distinct in one file only (a small file, say): still
            // categories, compared as such.
            (Some(Family::Categorical), None) if ct == ColumnType::Identifier => Family::Categorical,
            (None, Some(Family::Categorical)) if rt == ColumnType::Identifier => Family::Categorical,
            _ => {
                let why = if rt == ct { format!("{rt:?}") } else { format!("{rt:?} in the reference, {ct:?} in the candidate") };
                drift_not_computed.push(ExcludedColumn {
                    column: name.clone(),
                    reason: format!(
                        "{} column: drift is computed for numbers, dates, booleans and categories",
                        why.to_lowercase()
                    ),
                });
                continue;
            }
        };
        let column = column_drift(reference, candidate, s, family, thresholds);
        if label == Some(name.as_str()) {
            label_shift = Some(label_shift_of(&column, thresholds));
        }
        drift.push(column);
    }
    drift.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.column.cmp(&b.column)));
    TableComparison { schema, leakage, copied, exact_matches, ignoring_matches, drift, drift_not_computed, label_shift }
}

fn label_shift_of(column: &ColumnDrift, thresholds: &CompareThresholds) -> LabelShift {
    // The label's categorical histogram lists every class up to the bin
    // limit; its JS distance is over all classes.
    let h = &column.histogram;
    let js = column.js_distance.unwrap_or(0.0);
    LabelShift {
        column: column.column.clone(),
        reference: h.bins.iter().cloned().zip(h.reference.iter().copied()).collect(),
        candidate: h.bins.iter().cloned().zip(h.candidate.iter().copied()).collect(),
        js_distance: js,
        flagged: js > thresholds.js,
    }
}

fn schema_diff(
    reference: &Side<'_>,
    candidate: &Side<'_>,
    shared: &[SharedColumn],
    thresholds: &CompareThresholds,
) -> SchemaDiff {
    let names = |t: &Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    let added: Vec<String> =
        names(candidate.table).into_iter().filter(|n| reference.table.column_index(n).is_none()).collect();
    let removed: Vec<String> =
        names(reference.table).into_iter().filter(|n| candidate.table.column_index(n).is_none()).collect();
    let type_changed = shared
        .iter()
        .filter_map(|s| {
            let (a, b) = (reference.summaries[s.reference].column_type(), candidate.summaries[s.candidate].column_type());
            (a != b).then(|| TypeChange { column: reference.table.columns[s.reference].name.clone(), reference_type: a, candidate_type: b })
        })
        .collect();
    // Renames: a removed column whose values are distributed like an added
    // column's of the same kind (the best match each, each used once).
    let mut renamed = Vec::new();
    let mut used = vec![false; added.len()];
    for r_name in &removed {
        let r = reference.table.column_index(r_name).unwrap_or(0);
        let r_family = family(reference.summaries[r].column_type());
        let mut best: Option<(f64, usize, String)> = None;
        for (a, c_name) in added.iter().enumerate() {
            if used[a] {
                continue;
            }
            let c = candidate.table.column_index(c_name).unwrap_or(0);
            let c_family = family(candidate.summaries[c].column_type());
            let (Some(rf), Some(cf)) = (r_family, c_family) else { continue };
            if rf != cf {
                continue;
            }
            let s = SharedColumn {
                reference: r,
                candidate: c,
                comparison: shared_comparison(reference.summaries[r].comparison, candidate.summaries[c].comparison),
            };
            let d = column_drift(reference, candidate, &s, rf, thresholds);
            let similar = match rf {
                Family::Categorical => {
                    let overlap = category_overlap(&d);
                    (d.js_distance.unwrap_or(1.0) <= thresholds.js && overlap >= 0.5).then(|| {
                        (
                            d.js_distance.unwrap_or(1.0),
                            format!("Jensen-Shannon distance {:.3}, {:.0}% of the values shared", d.js_distance.unwrap_or(1.0), overlap * 100.0),
                        )
                    })
                }
                _ => (d.ks.unwrap_or(1.0) <= thresholds.ks)
                    .then(|| (d.ks.unwrap_or(1.0), format!("Kolmogorov-Smirnov D {:.3}", d.ks.unwrap_or(1.0)))),
            };
            if let Some((stat, evidence)) = similar {
                if best.as_ref().is_none_or(|(b, _, _)| stat < *b) {
                    best = Some((stat, a, evidence));
                }
            }
        }
        if let Some((_, a, evidence)) = best {
            used[a] = true;
            renamed.push(RenameSuggestion { reference_column: r_name.clone(), candidate_column: added[a].clone(), evidence });
        }
    }
    SchemaDiff {
        shared: shared.iter().map(|s| reference.table.columns[s.reference].name.clone()).collect(),
        added,
        removed,
        type_changed,
        renamed,
    }
}

/// Share of the values seen in either file that are seen in both, from a
/// categorical drift entry (its listed new and vanished categories are
/// capped, so this uses the counts behind the histogram's bins).
fn category_overlap(d: &ColumnDrift) -> f64 {
    let h = &d.histogram;
    let total = h.bins.len();
    if total == 0 {
        return 0.0;
    }
    let both = h.reference.iter().zip(&h.candidate).filter(|(a, b)| **a > 0.0 && **b > 0.0).count();
    both as f64 / total as f64
}

/// Hash of each row over `columns` (reference or candidate side), values
/// compared as the shared comparison says, so that both files hash alike.
fn row_keys(table: &Table, columns: &[(usize, ValueComparison)], normalize: bool) -> Vec<u128> {
    let mut buf = Vec::new();
    (0..table.rows())
        .map(|row| {
            buf.clear();
            for &(c, comparison) in columns {
                cell_key(table.columns[c].get(row), comparison, normalize, &mut buf);
            }
            xxhash_rust::xxh3::xxh3_128(&buf)
        })
        .collect()
}

/// For each candidate row, the first reference row with the same key.
fn matches(reference: &[u128], candidate: &[u128]) -> Vec<Option<u32>> {
    let mut first: HashMap<u128, u32> = HashMap::with_capacity(reference.len());
    for (row, &key) in reference.iter().enumerate() {
        first.entry(key).or_insert(row as u32);
    }
    candidate.iter().map(|key| first.get(key).copied()).collect()
}

/// For each candidate row, the reference row it matches.
type Matches = Vec<Option<u32>>;

fn exact_leakage(
    reference: &Side<'_>,
    candidate: &Side<'_>,
    shared: &[SharedColumn],
    normalize: bool,
) -> (Leakage, Vec<bool>, Matches, Matches) {
    let rows = candidate.table.rows();
    let share = |count: u64| if rows == 0 { 0.0 } else { count as f64 / rows as f64 };
    // A shared column is left out as an identifier when it is one in both
    // files, or in one file and named like one: a category whose values all
    // happen to differ in a small file is still a feature.
    let ids_of = |side: &Side<'_>| -> Vec<String> {
        identifier_columns(side.summaries).into_iter().map(|(i, _)| side.table.columns[i].name.clone()).collect()
    };
    let (reference_ids, candidate_ids) = (ids_of(reference), ids_of(candidate));
    let identifiers: Vec<String> = shared
        .iter()
        .map(|s| &reference.table.columns[s.reference].name)
        .filter(|name| {
            let (in_reference, in_candidate) = (reference_ids.contains(name), candidate_ids.contains(name));
            (in_reference && in_candidate) || ((in_reference || in_candidate) && name_suggests_identifier(name))
        })
        .cloned()
        .collect();
    let pick = |keep: &dyn Fn(&SharedColumn) -> bool| -> (Vec<(usize, ValueComparison)>, Vec<(usize, ValueComparison)>) {
        let kept: Vec<&SharedColumn> = shared.iter().filter(|s| keep(s)).collect();
        (
            kept.iter().map(|s| (s.reference, s.comparison)).collect(),
            kept.iter().map(|s| (s.candidate, s.comparison)).collect(),
        )
    };
    let find = |r_cols: &[(usize, ValueComparison)], c_cols: &[(usize, ValueComparison)]| -> Vec<Option<u32>> {
        if r_cols.is_empty() {
            return vec![None; rows];
        }
        matches(&row_keys(reference.table, r_cols, normalize), &row_keys(candidate.table, c_cols, normalize))
    };
    let (r_all, c_all) = pick(&|_| true);
    let exact = find(&r_all, &c_all);
    let ignoring = if identifiers.is_empty() {
        exact.clone()
    } else {
        let (r_cols, c_cols) = pick(&|s| !identifiers.contains(&reference.table.columns[s.reference].name));
        find(&r_cols, &c_cols)
    };
    let mut pairs = Vec::new();
    let pair = |kind: &str, c: usize, r: u32| LeakPair {
        kind: kind.into(),
        reference_row: r as u64,
        reference_line: reference.table.lines[r as usize],
        candidate_row: c as u64,
        candidate_line: candidate.table.lines[c],
        distance: None,
        values: candidate.table.row_values(c, 200),
    };
    for (c, m) in exact.iter().enumerate() {
        if let Some(r) = m {
            if pairs.len() < LEAK_PAIRS_SHOWN {
                pairs.push(pair("exact", c, *r));
            }
        }
    }
    let mut shown = 0;
    for (c, (m, e)) in ignoring.iter().zip(&exact).enumerate() {
        if let (Some(r), None) = (m, e) {
            if shown < LEAK_PAIRS_SHOWN {
                pairs.push(pair("ignoring_identifiers", c, *r));
                shown += 1;
            }
        }
    }
    let exact_rows = exact.iter().filter(|m| m.is_some()).count() as u64;
    let ignoring_rows = ignoring.iter().filter(|m| m.is_some()).count() as u64;
    let copied = ignoring.iter().zip(&exact).map(|(a, b)| a.is_some() || b.is_some()).collect();
    let leakage = Leakage {
        method: format!(
            "xxh3-128 hash of each row over the {} shared columns; values compared as the single-file duplicate \
             check does (numbers by value where both files hold numbers{})",
            shared.len(),
            if normalize { ", normalised" } else { "" }
        ),
        columns_compared: shared.iter().map(|s| reference.table.columns[s.reference].name.clone()).collect(),
        exact_rows,
        exact_share: share(exact_rows),
        identifier_columns: identifiers,
        exact_rows_ignoring_identifiers: ignoring_rows,
        exact_share_ignoring_identifiers: share(ignoring_rows),
        near_rows: None,
        near_method: "not run".into(),
        pairs,
    };
    (leakage, copied, exact, ignoring)
}

/// Numeric values of a column (dates as days), sorted, and its missing count.
fn numeric_sample(table: &Table, column: usize, family: Family) -> (Vec<f64>, usize) {
    let mut values = Vec::new();
    let mut missing = 0;
    for cell in table.columns[column].cells() {
        match cell {
            Cell::Missing => missing += 1,
            Cell::Text(t) => {
                let v = if family == Family::Date {
                    parse_datetime(t).map(|(y, m, d, s)| y as f64 * 372.0 + m as f64 * 31.0 + d as f64 + s / 86400.0)
                } else {
                    parse_number(t)
                };
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    values.push(v);
                }
            }
            Cell::Vector(_) => {}
        }
    }
    values.sort_unstable_by(f64::total_cmp);
    (values, missing)
}

fn column_drift(
    reference: &Side<'_>,
    candidate: &Side<'_>,
    s: &SharedColumn,
    family: Family,
    thresholds: &CompareThresholds,
) -> ColumnDrift {
    let name = reference.table.columns[s.reference].name.clone();
    let rate = |missing: usize, rows: usize| if rows == 0 { 0.0 } else { missing as f64 / rows as f64 };
    let (r_rows, c_rows) = (reference.table.rows(), candidate.table.rows());
    // (statistic name, value, value / threshold, flagged)
    let mut stats: Vec<(&str, f64, f64, bool)> = Vec::new();
    let mut drift = ColumnDrift {
        column: name,
        kind: String::new(),
        statistic: String::new(),
        value: 0.0,
        score: 0.0,
        flagged: false,
        ks: None,
        ks_p_value: None,
        psi: None,
        js_distance: None,
        chi_square_p_value: None,
        new_categories: Vec::new(),
        vanished_categories: Vec::new(),
        missing_reference: 0.0,
        missing_candidate: 0.0,
        missing_change: 0.0,
        histogram: DriftHistogram { bins: Vec::new(), upper: None, reference: Vec::new(), candidate: Vec::new() },
    };
    let (r_missing, c_missing);
    if family == Family::Categorical {
        drift.kind = "categorical".into();
        let mut counts: BTreeMap<Vec<u8>, (String, u64, u64)> = BTreeMap::new();
        let mut tally = |table: &Table, column: usize, which: usize| -> usize {
            let mut missing = 0;
            let mut key = Vec::new();
            for cell in table.columns[column].cells() {
                if cell.is_missing() {
                    missing += 1;
                    continue;
                }
                key.clear();
                cell_key(cell, s.comparison, false, &mut key);
                let entry = counts.entry(key.clone()).or_insert_with(|| (clip(cell.text(), 100), 0, 0));
                if which == 0 {
                    entry.1 += 1;
                } else {
                    entry.2 += 1;
                }
            }
            missing
        };
        r_missing = tally(reference.table, s.reference, 0);
        c_missing = tally(candidate.table, s.candidate, 1);
        let r_total: u64 = counts.values().map(|v| v.1).sum();
        let c_total: u64 = counts.values().map(|v| v.2).sum();
        let share = |count: u64, total: u64| if total == 0 { 0.0 } else { count as f64 / total as f64 };
        if r_total > 0 && c_total > 0 {
            let (a, b): (Vec<u64>, Vec<u64>) = counts.values().map(|v| (v.1, v.2)).unzip();
            let (_, p_value) = chi_square_test(&a, &b);
            drift.chi_square_p_value = Some(p_value);
            let p: Vec<f64> = a.iter().map(|&n| share(n, r_total)).collect();
            let q: Vec<f64> = b.iter().map(|&n| share(n, c_total)).collect();
            let js = js_distance(&p, &q);
            drift.js_distance = Some(js);
            stats.push(("js_distance", js, js / thresholds.js, js > thresholds.js && p_value < thresholds.alpha));
        }
        let mut entries: Vec<(String, f64, f64)> =
            counts.into_values().map(|(text, r, c)| (text, share(r, r_total), share(c, c_total))).collect();
        // Most common (both sets together) first, then by text.
        entries.sort_by(|a, b| (b.1 + b.2).total_cmp(&(a.1 + a.2)).then_with(|| a.0.cmp(&b.0)));
        if c_total > 0 {
            drift.vanished_categories =
                entries.iter().filter(|e| e.2 == 0.0).take(CATEGORIES_SHOWN).map(|e| e.0.clone()).collect();
        }
        if r_total > 0 {
            drift.new_categories =
                entries.iter().filter(|e| e.1 == 0.0).take(CATEGORIES_SHOWN).map(|e| e.0.clone()).collect();
        }
        let (shown, rest) = entries.split_at(entries.len().min(DRIFT_HISTOGRAM_BINS));
        let h = &mut drift.histogram;
        for e in shown {
            h.bins.push(e.0.clone());
            h.reference.push(e.1);
            h.candidate.push(e.2);
        }
        if !rest.is_empty() {
            h.bins.push(format!("({} other values)", rest.len()));
            h.reference.push(rest.iter().map(|e| e.1).sum());
            h.candidate.push(rest.iter().map(|e| e.2).sum());
        }
    } else {
        drift.kind = "numeric".into();
        let (a, am) = numeric_sample(reference.table, s.reference, family);
        let (b, bm) = numeric_sample(candidate.table, s.candidate, family);
        (r_missing, c_missing) = (am, bm);
        if !a.is_empty() && !b.is_empty() {
            let d = ks_statistic(&a, &b);
            let p = ks_p_value(d, a.len(), b.len());
            drift.ks = Some(d);
            drift.ks_p_value = Some(p);
            stats.push(("ks", d, d / thresholds.ks, d > thresholds.ks && p < thresholds.alpha));
            let value = psi_of_samples(&a, &b, thresholds.psi_bins.max(2));
            drift.psi = Some(value);
            stats.push(("psi", value, value / thresholds.psi, value > thresholds.psi));
            drift.histogram = numeric_histogram(&a, &b);
        }
    }
    drift.missing_reference = rate(r_missing, r_rows);
    drift.missing_candidate = rate(c_missing, c_rows);
    drift.missing_change = drift.missing_candidate - drift.missing_reference;
    let change = drift.missing_change.abs();
    stats.push(("missing_change", drift.missing_change, change / thresholds.missing_change, change > thresholds.missing_change));
    if let Some(top) = stats.iter().max_by(|a, b| a.2.total_cmp(&b.2)) {
        drift.statistic = top.0.into();
        drift.value = top.1;
        drift.score = if top.2.is_finite() { top.2 } else { f64::MAX };
    }
    drift.flagged = stats.iter().any(|s| s.3);
    drift
}

/// Shares of both sorted samples in equal-width bins over their joint range.
fn numeric_histogram(a: &[f64], b: &[f64]) -> DriftHistogram {
    let lo = a[0].min(b[0]);
    let hi = a[a.len() - 1].max(b[b.len() - 1]);
    let bins = if hi > lo { DRIFT_HISTOGRAM_BINS } else { 1 };
    let width = if hi > lo { (hi - lo) / bins as f64 } else { 1.0 };
    let shares = |values: &[f64]| {
        let mut counts = vec![0f64; bins];
        for &v in values {
            let i = (((v - lo) / width) as usize).min(bins - 1);
            counts[i] += 1.0;
        }
        counts.iter().map(|c| c / values.len() as f64).collect::<Vec<_>>()
    };
    DriftHistogram {
        bins: (0..bins).map(|i| format!("{}", lo + width * i as f64)).collect(),
        upper: Some(if hi > lo { hi } else { lo + 1.0 }),
        reference: shares(a),
        candidate: shares(b),
    }
}

// ---------------------------------------------------------------- one embedding

/// One table of the shared columns: the reference's rows, then the
/// candidate's (row `reference.rows() + i` is candidate row `i`), so both
/// sets are embedded in one space (one scaling, one one-hot vocabulary).
pub fn stack(reference: &Table, candidate: &Table, shared: &[SharedColumn]) -> Table {
    let mut table = Table::default();
    for s in shared {
        table.add_column(&reference.columns[s.reference].name);
    }
    for (source, pick) in [(reference, true), (candidate, false)] {
        for row in 0..source.rows() {
            for (i, s) in shared.iter().enumerate() {
                let cell = source.columns[if pick { s.reference } else { s.candidate }].get(row);
                let kind = match cell {
                    Cell::Missing => CellKind::Missing,
                    Cell::Text(_) => CellKind::Text,
                    Cell::Vector(_) => CellKind::Vector,
                };
                table.set(i, kind, cell.text());
            }
            table.end_row(source.lines[row]);
        }
    }
    table
}

/// Whole-dataset drift from a kNN graph over embedded rows of the stacked
/// table: `rows[pos]` is the stacked row id, below `reference_rows` for
/// the reference.
pub fn dataset_drift(
    graph: &KnnGraph,
    rows: &[u32],
    reference_rows: usize,
    threshold: f64,
    backend: &str,
) -> DatasetDrift {
    let n = rows.len();
    let is_reference = |pos: usize| (rows[pos] as usize) < reference_rows;
    let n_ref = (0..n).filter(|&p| is_reference(p)).count() as f64;
    let n_cand = n as f64 - n_ref;
    let mut same = 0.0;
    let mut counted = 0usize;
    for pos in 0..n {
        let neighbours = graph.neighbours(pos);
        if neighbours.is_empty() {
            continue;
        }
        let own = neighbours.iter().filter(|&&j| is_reference(j as usize) == is_reference(pos)).count();
        same += own as f64 / neighbours.len() as f64;
        counted += 1;
    }
    let observed = if counted == 0 { 0.0 } else { same / counted as f64 };
    let total = n as f64;
    let expected = if n < 2 { 0.0 } else { (n_ref * (n_ref - 1.0) + n_cand * (n_cand - 1.0)) / (total * (total - 1.0)) };
    let score = if expected < 1.0 { (observed - expected) / (1.0 - expected) } else { 0.0 };
    DatasetDrift {
        method: format!(
            "one embedding of both sets (shared columns, one scaling); each row's {} nearest neighbours; the mean \
             share of them from the row's own set, against the share the set sizes predict for indistinguishable \
             sets; score = (observed - expected) / (1 - expected)",
            graph.k
        ),
        k: graph.k as u64,
        rows_used: n as u64,
        same_set_share: observed,
        expected_share: expected,
        score,
        flagged: score > threshold,
        backend: backend.into(),
    }
}

/// What [`near_leakage`] finds.
#[derive(Debug, Clone, Default)]
pub struct NearLeakage {
    /// Candidate rows that are near copies.
    pub count: u64,
    /// The distance below which a reference neighbour is a near copy.
    pub threshold: f64,
    /// Example pairs.
    pub pairs: Vec<LeakPair>,
    /// For each candidate row, the reference row it nearly copies.
    pub matches: Vec<Option<u32>>,
    /// For each candidate row in the graph, the distance to its nearest
    /// reference row among its k neighbours (`None`: no reference row among
    /// them, or the row is not in the graph's sample).
    pub nearest_reference: Vec<Option<f64>>,
}

/// Near leakage from the same graph: candidate rows, not exact copies,
/// with a reference neighbour closer than `factor` x the median
/// nearest-neighbour distance (each row's nearest positive distance), or
/// at distance 0. Returns the count, example pairs and per-row matches.
#[allow(clippy::too_many_arguments)]
pub fn near_leakage(
    graph: &KnnGraph,
    metric: Metric,
    rows: &[u32],
    reference: &Table,
    candidate: &Table,
    copied: &[bool],
    factor: f64,
) -> NearLeakage {
    let reference_rows = reference.rows();
    let mut first: Vec<f64> = (0..graph.n)
        .filter_map(|i| graph.neighbour_distances(i).iter().map(|&d| true_distance(d, metric)).find(|&d| d > 0.0))
        .collect();
    first.sort_unstable_by(f64::total_cmp);
    let threshold = if first.is_empty() { 0.0 } else { factor * quantile_sorted(&first, 0.5) };
    let mut count = 0u64;
    let mut pairs = Vec::new();
    let mut matches = vec![None; candidate.rows()];
    let mut nearest_reference = vec![None; candidate.rows()];
    for pos in 0..graph.n {
        let row = rows[pos] as usize;
        if row < reference_rows {
            continue;
        }
        let c = row - reference_rows;
        nearest_reference[c] = graph
            .neighbours(pos)
            .iter()
            .zip(graph.neighbour_distances(pos))
            .filter(|(&j, _)| (rows[j as usize] as usize) < reference_rows)
            .map(|(_, &d)| true_distance(d, metric))
            .min_by(f64::total_cmp);
        if copied[c] {
            continue;
        }
        let hit = graph.neighbours(pos).iter().zip(graph.neighbour_distances(pos)).find_map(|(&j, &d)| {
            let other = rows[j as usize] as usize;
            let distance = true_distance(d, metric);
            (other < reference_rows && (distance < threshold || distance == 0.0)).then_some((other, distance))
        });
        if let Some((r, distance)) = hit {
            count += 1;
            matches[c] = Some(r as u32);
            if pairs.len() < LEAK_PAIRS_SHOWN {
                pairs.push(LeakPair {
                    kind: "near".into(),
                    reference_row: r as u64,
                    reference_line: reference.lines[r],
                    candidate_row: c as u64,
                    candidate_line: candidate.lines[c],
                    distance: Some(distance),
                    values: candidate.row_values(c, 200),
                });
            }
        }
    }
    NearLeakage { count, threshold, pairs, matches, nearest_reference }
}

// ---------------------------------------------------------------- text leakage

/// Example text pairs listed per kind (exact, near) and column.
pub const TEXT_LEAK_PAIRS_SHOWN: usize = 20;
/// Characters of each text shown in the example pairs.
pub const TEXT_LEAK_CHARS: usize = 300;

/// The text leakage of one column, and each candidate row's leaked
/// reference row.
#[derive(Debug, Clone)]
pub struct ColumnTextLeakage {
    /// The report section.
    pub section: TextLeakage,
    /// For each candidate row, the reference row whose text it copies
    /// (exactly, else the best near match).
    pub matches: Vec<Option<u32>>,
}

/// Candidate texts of column `c_index` that copy (byte for byte) or nearly
/// copy (Jaccard of the character 5-gram sets >= `threshold`) a text of the
/// reference's column `r_index`. Both files' distinct normalised texts get
/// MinHash signatures (`engine`) and go into one LSH; only the pairs joining
/// a reference text to a candidate text are verified, by exact Jaccard. A
/// candidate text's match is its most similar reference text (ties: the
/// earlier one), reported as that text's first row.
#[allow(clippy::too_many_arguments)]
pub async fn text_leakage(
    reference: &Table,
    r_index: usize,
    candidate: &Table,
    c_index: usize,
    reason: String,
    threshold: f64,
    engine: &mut Engine,
) -> Result<ColumnTextLeakage> {
    let r_texts = ColumnTexts::new(&reference.columns[r_index]);
    let c_texts = ColumnTexts::new(&candidate.columns[c_index]);
    let (nr, nc) = (r_texts.distinct_texts(), c_texts.distinct_texts());
    let banding = banding_for(threshold, PERMUTATIONS);
    let permutations = Permutations::new();
    // Reference texts are ids 0..nr, candidate texts nr..nr + nc.
    let mut lsh = Lsh::new(banding, nr + nc);
    for (texts, offset) in [(&r_texts, 0), (&c_texts, nr)] {
        let mut first = 0;
        while first < texts.distinct_texts() {
            let batch = texts.batch(first, BATCH_SHINGLES);
            let signatures = engine.signatures(&batch, &permutations).await?;
            lsh.insert(offset + first, &signatures);
            first += batch.texts();
        }
    }
    let mut best: Vec<Option<(u32, f64)>> = vec![None; nc];
    let mut r_cache: HashMap<u32, Vec<u64>> = HashMap::new();
    let mut c_cache: HashMap<u32, Vec<u64>> = HashMap::new();
    let (mut candidate_pairs, mut kept_pairs) = (0u64, 0u64);
    lsh.for_each_candidate(|a, b| {
        // a < b, so a cross-file pair has a in the reference, b in the candidate.
        if a as usize >= nr || (b as usize) < nr {
            return;
        }
        candidate_pairs += 1;
        let c = b - nr as u32;
        let rs = r_cache.entry(a).or_insert_with(|| r_texts.shingle_set(a));
        let cs = c_cache.entry(c).or_insert_with(|| c_texts.shingle_set(c));
        let similarity = jaccard(rs, cs);
        // The same hair of slack as the single-file check.
        if similarity + 1e-12 >= threshold {
            kept_pairs += 1;
            let slot = &mut best[c as usize];
            if slot.is_none_or(|(r, j)| similarity > j || (similarity == j && a < r)) {
                *slot = Some((a, similarity));
            }
        }
    });
    drop((r_cache, c_cache));

    let mut exact_first: HashMap<u128, u32> = HashMap::new();
    for (row, key, id) in r_texts.rows_with_text() {
        if id.is_some() {
            exact_first.entry(key).or_insert(row);
        }
    }
    let (r_column, c_column) = (&reference.columns[r_index], &candidate.columns[c_index]);
    let mut matches = vec![None; candidate.rows()];
    let (mut rows_with_text, mut exact_rows, mut near_rows) = (0u64, 0u64, 0u64);
    let (mut exact_pairs, mut near_pairs) = (Vec::new(), Vec::new());
    for (row, key, id) in c_texts.rows_with_text() {
        rows_with_text += 1;
        // Texts empty after normalisation (white space only) never leak.
        let Some(id) = id else { continue };
        let (kind, r, similarity) = if let Some(&r) = exact_first.get(&key) {
            exact_rows += 1;
            ("exact", r, 1.0)
        } else if let Some((text, similarity)) = best[id as usize] {
            near_rows += 1;
            ("near", r_texts.representative(text), similarity)
        } else {
            continue;
        };
        matches[row as usize] = Some(r);
        let list = if kind == "exact" { &mut exact_pairs } else { &mut near_pairs };
        if list.len() < TEXT_LEAK_PAIRS_SHOWN {
            list.push(TextLeakPair {
                kind: kind.into(),
                candidate_row: row as u64,
                candidate_line: candidate.lines[row as usize],
                reference_row: r as u64,
                reference_line: reference.lines[r as usize],
                jaccard: similarity,
                candidate_text: clip(c_column.get(row as usize).text(), TEXT_LEAK_CHARS),
                reference_text: clip(r_column.get(r as usize).text(), TEXT_LEAK_CHARS),
            });
        }
    }
    exact_pairs.extend(near_pairs);
    let Banding { bands, rows: rows_per_band } = banding;
    let candidate_rows = candidate.rows();
    Ok(ColumnTextLeakage {
        section: TextLeakage {
            column: c_column.name.clone(),
            reason,
            method: format!(
                "exact: the candidate's text equals a reference text byte for byte. near: MinHash ({PERMUTATIONS} \
                 values) of the character {SHINGLE_SIZE}-grams of each normalised text of both files, one LSH \
                 ({bands} bands of {rows_per_band} values); reference-candidate pairs kept when the exact Jaccard \
                 similarity of their shingle sets is at least {threshold}; each candidate text matched to its most \
                 similar reference text"
            ),
            threshold,
            engine: engine.name().to_string(),
            engine_note: engine.note(),
            candidate_rows_with_text: rows_with_text,
            exact_rows,
            near_rows,
            share: if candidate_rows == 0 { 0.0 } else { (exact_rows + near_rows) as f64 / candidate_rows as f64 },
            candidate_pairs,
            kept_pairs,
            pairs: exact_pairs,
        },
        matches,
    })
}

// ---------------------------------------------------------------- per-row findings

/// Header of the candidate's per-row leakage CSV (`compare --rows`).
pub const CANDIDATE_ROWS_HEADER: [&str; 7] = [
    "row",
    "line",
    "exact_leak_reference_row",
    "leak_ignoring_ids_reference_row",
    "near_leak_reference_row",
    "text_leak_reference_row",
    "nearest_reference_distance",
];

/// Per candidate row: the reference row it leaks from, by each kind of
/// leakage, and its distance to the nearest reference row in the graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandidateLeaks {
    /// 1-based line of each candidate row.
    pub lines: Vec<u64>,
    /// Reference row equal in every shared column.
    pub exact: Vec<Option<u32>>,
    /// Reference row equal once identifier-like columns are left out
    /// (includes the exact copies).
    pub ignoring_identifiers: Vec<Option<u32>>,
    /// Reference row it nearly copies in the shared embedding (kNN).
    pub near: Vec<Option<u32>>,
    /// Reference row whose text it copies or nearly copies (the first
    /// free-text column with a match).
    pub text: Vec<Option<u32>>,
    /// Distance to the nearest reference row among its k neighbours.
    pub nearest_reference_distance: Vec<Option<f64>>,
}

impl CandidateLeaks {
    /// Writes the CSV ([`CANDIDATE_ROWS_HEADER`]).
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CANDIDATE_ROWS_HEADER)?;
        let get = |v: &[Option<u32>], row: usize| v.get(row).copied().flatten().map(|r| r.to_string()).unwrap_or_default();
        for row in 0..self.lines.len() {
            w.write_record([
                row.to_string(),
                self.lines[row].to_string(),
                get(&self.exact, row),
                get(&self.ignoring_identifiers, row),
                get(&self.near, row),
                get(&self.text, row),
                self.nearest_reference_distance.get(row).copied().flatten().map(|d| format!("{d:.6}")).unwrap_or_default(),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// The CSV as a string.
    pub fn to_csv(&self) -> Result<String> {
        let mut buf = Vec::new();
        self.write_csv(&mut buf).map_err(|e| {
            crate::Error::new(crate::ErrorKind::Internal, format!("writing the candidate rows CSV: {e}"))
        })?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

// ---------------------------------------------------------------- verdict

fn rule(name: &str, severity: &str, value: f64, limit: f64, passed: bool, message: String) -> RuleOutcome {
    crate::checks::verdict::outcome(name, severity, value, limit, passed, message)
}

/// The comparison's rules: leakage and column drift are errors (exit 1);
/// near leakage, whole-dataset drift and schema changes warnings; each
/// file's own error rules count too (prefixed `reference.` / `candidate.`).
/// With a rule set: its `max_drift` rules are evaluated here; a `max_drift`
/// without a column replaces `column_drift`, one on a column takes that
/// column out of `column_drift`; `"defaults": false` keeps none of the
/// default rules above.
pub fn compare_verdict(
    comparison: &crate::report::Comparison,
    reference: &Verdict,
    candidate: &Verdict,
    rule_set: Option<&crate::checks::rules::RuleSet>,
) -> Verdict {
    use crate::checks::rules::RuleSet;
    let t = &comparison.thresholds;
    let l = &comparison.leakage;
    let own_drift_rule = rule_set.map(RuleSet::drift_columns).unwrap_or_default();
    let mut rules = Vec::new();
    rules.push(rule(
        "leakage",
        "error",
        l.exact_share_ignoring_identifiers,
        t.leakage_share,
        l.exact_share_ignoring_identifiers <= t.leakage_share,
        format!(
            "{} candidate rows ({:.1}%) copy a reference row{}",
            l.exact_rows_ignoring_identifiers,
            l.exact_share_ignoring_identifiers * 100.0,
            if l.identifier_columns.is_empty() { String::new() } else { format!(" (identifier-like columns {} ignored)", l.identifier_columns.join(", ")) }
        ),
    ));
    let flagged: Vec<&ColumnDrift> =
        comparison.drift.iter().filter(|d| d.flagged && !own_drift_rule.contains(&d.column.as_str())).collect();
    let column_drift_at = rules.len();
    rules.push(rule(
        "column_drift",
        "error",
        flagged.len() as f64,
        0.0,
        flagged.is_empty(),
        if flagged.is_empty() {
            "no column drifted beyond the thresholds".into()
        } else {
            let names: Vec<String> =
                flagged.iter().take(5).map(|d| format!("{} ({} {:.3})", d.column, d.statistic, d.value)).collect();
            format!("{} columns drifted: {}", flagged.len(), names.join(", "))
        },
    ));
    if !own_drift_rule.is_empty() {
        let names: Vec<String> = own_drift_rule.iter().map(|c| format!("{c:?}")).collect();
        rules[column_drift_at].message.push_str(&format!(" (left to their own max_drift rule: {})", names.join(", ")));
    }
    if let Some(near) = l.near_rows {
        let rows = comparison.candidate_rows.max(1) as f64;
        let share = near as f64 / rows;
        rules.push(rule(
            "near_leakage",
            "warning",
            share,
            t.leakage_share,
            share <= t.leakage_share,
            format!("{near} candidate rows ({:.1}%) are near copies of a reference row", share * 100.0),
        ));
    }
    if let Some(worst) = comparison.text_leakage.iter().max_by(|a, b| a.share.total_cmp(&b.share)) {
        rules.push(rule(
            "text_leakage",
            "warning",
            worst.share,
            t.leakage_share,
            worst.share <= t.leakage_share,
            format!(
                "{} candidate rows ({:.1}%) copy a reference text in {:?} ({} exactly, {} nearly, Jaccard >= {})",
                worst.exact_rows + worst.near_rows,
                worst.share * 100.0,
                worst.column,
                worst.exact_rows,
                worst.near_rows,
                worst.threshold
            ),
        ));
    }
    if let Some(d) = &comparison.dataset_drift {
        rules.push(rule(
            "dataset_drift",
            "warning",
            d.score,
            t.dataset_drift,
            !d.flagged,
            format!("whole-dataset drift score {:.3}", d.score),
        ));
    }
    let s = &comparison.schema;
    let changes = s.added.len() + s.removed.len() + s.type_changed.len();
    rules.push(rule(
        "schema_changes",
        "warning",
        changes as f64,
        0.0,
        changes == 0,
        format!("{} columns added, {} removed, {} changed type", s.added.len(), s.removed.len(), s.type_changed.len()),
    ));
    if rule_set.is_some() {
        let replaced = |name: &str| if name == "column_drift" { Some("max_drift") } else { None };
        rules.retain(|r| RuleSet::keeps_default(rule_set, replaced(&r.rule)));
    }
    if let Some(set) = rule_set {
        rules.extend(crate::checks::rules::drift_outcomes(set, comparison));
    }
    for (prefix, verdict) in [("reference", reference), ("candidate", candidate)] {
        // A file's own max_drift rules say "not evaluated": they are evaluated above.
        for r in verdict.rules.iter().filter(|r| r.severity == "error" && r.rule != "max_drift") {
            rules.push(RuleOutcome { rule: format!("{prefix}.{}", r.rule), message: format!("{prefix}: {}", r.message), ..r.clone() });
        }
    }
    crate::checks::verdict::verdict_of(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ks_matches_hand_computed_values() {
        // F_a - F_b at 2: 0.5 - 0; at 3: 0.75 - 0.25; at 4: 1 - 0.5.
        assert!(close(ks_statistic(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]), 0.5));
        assert!(close(ks_statistic(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 1.0));
        assert!(close(ks_statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0));
        // Ties: at 1 both step together (2/3 - 1/2), at 2 (1 - 1/2).
        assert!(close(ks_statistic(&[1.0, 1.0, 2.0], &[1.0, 3.0]), 0.5));
        assert_eq!(ks_statistic(&[], &[1.0]), 0.0);
        // Kolmogorov's distribution: Q(1.0) = 0.26999967.
        let n = 1_000_000usize;
        let effective = (n as f64 / 2.0).sqrt();
        let d = 1.0 / (effective + 0.12 + 0.11 / effective);
        assert!((ks_p_value(d, n, n) - 0.26999967).abs() < 1e-6);
        assert_eq!(ks_p_value(0.0, 10, 10), 1.0);
        assert!(ks_p_value(1.0, 100, 100) < 1e-10);
    }

    #[test]
    fn psi_matches_hand_computed_values() {
        // (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5)
        let expected = -0.25 * 0.5f64.ln() + 0.25 * 1.5f64.ln();
        assert!(close(psi(&[0.5, 0.5], &[0.25, 0.75]), expected));
        assert!(close(expected, 0.27465307216702745));
        assert_eq!(psi(&[0.2, 0.8], &[0.2, 0.8]), 0.0);
        // An empty bin counts as PSI_EPSILON.
        let floored = (0.5 - 1e-4) * (0.5f64 / 1e-4).ln() + (0.5 - 1.0) * 0.5f64.ln();
        assert!(close(psi(&[0.0, 1.0], &[0.5, 0.5]), floored));
        // Quartile edges of 1..8: 2, 4, 6; bins (..2], (2..4], (4..6], (6..).
        let reference: Vec<f64> = (1..=8).map(f64::from).collect();
        assert_eq!(quantile_edges(&reference, 4), vec![2.0, 4.0, 6.0]);
        assert_eq!(bin_shares(&[1.0, 1.5, 3.0, 9.0], &[2.0, 4.0, 6.0]), vec![0.5, 0.25, 0.0, 0.25]);
        // Ties merge edges: a constant reference has one edge.
        assert_eq!(quantile_edges(&[5.0; 10], 10), vec![5.0]);
        let candidate = [1.0, 1.5, 3.0, 9.0];
        let by_hand = psi(&[0.25; 4], &[0.5, 0.25, 0.0, 0.25]);
        assert!(close(psi_of_samples(&reference, &candidate, 4), by_hand));
        assert!(close(psi_of_samples(&reference, &reference, 4), 0.0));
    }

    #[test]
    fn js_distance_matches_hand_computed_values() {
        assert!(close(js_distance(&[1.0, 0.0], &[0.0, 1.0]), 1.0));
        assert!(close(js_distance(&[0.3, 0.7], &[0.3, 0.7]), 0.0));
        // M = (0.75, 0.25): KL(P||M) = 0.5 log2(2/3) + 0.5 log2 2, KL(Q||M) = log2(4/3).
        let kl_p = 0.5 * (2.0f64 / 3.0).log2() + 0.5;
        let kl_q = (4.0f64 / 3.0).log2();
        let expected = (0.5 * kl_p + 0.5 * kl_q).sqrt();
        assert!(close(js_distance(&[0.5, 0.5], &[1.0, 0.0]), expected));
        assert!((expected - 0.5579230).abs() < 1e-6);
    }

    #[test]
    fn chi_square_matches_hand_computed_values() {
        // [[10, 20], [20, 10]]: every expected count is 15, so
        // chi2 = 4 x 25 / 15 = 6.667 with 1 degree of freedom:
        // p = erfc(sqrt(chi2 / 2)) = 0.009823.
        let (statistic, p) = chi_square_test(&[10, 20], &[20, 10]);
        assert!(close(statistic, 20.0 / 3.0));
        assert!((p - 0.009_823_2).abs() < 1e-6, "{p}");
        // 2 degrees of freedom: p = exp(-chi2 / 2).
        let (statistic, p) = chi_square_test(&[10, 20, 30], &[30, 20, 10]);
        assert!((p - (-statistic / 2.0).exp()).abs() < 1e-12, "{statistic} {p}");
        // Large a (series branch and continued fraction agree at the seam).
        assert!((gamma_q(5.0, 5.999_999) - gamma_q(5.0, 6.000_001)).abs() < 1e-5);
        assert!(close(ln_gamma(5.0), 24f64.ln()));
        assert_eq!(chi_square_test(&[5, 0], &[7, 0]), (0.0, 1.0));
    }

    #[test]
    fn shared_comparison_makes_both_files_hash_alike() {
        use ValueComparison::*;
        assert_eq!(shared_comparison(Integer, Numeric), Numeric);
        assert_eq!(shared_comparison(Integer, Integer), Integer);
        assert_eq!(shared_comparison(Boolean, Text), Text);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        cell_key(Cell::Text("1"), Numeric, false, &mut a);
        cell_key(Cell::Text("1.0"), Numeric, false, &mut b);
        assert_eq!(a, b);
    }

    use crate::ingest::test_table as table;

    #[test]
    fn text_leakage_finds_exact_and_edited_copies_across_files_only() {
        let reference = table(
            "text\n\
             \"The battery lasts two full days and the screen is bright and sharp.\"\n\
             \"Support never answered my emails, so I asked my bank for a refund.\"\n\
             \"Arrived early, well packed, and the charger works with my old laptop.\"\n\
             \"Arrived early, well packed, and the charger works with my old laptop.\"\n",
        );
        let candidate = table(
            "text\n\
             \"The strap broke within a month and the replacement costs too much.\"\n\
             \"Support never answered my emails, so I asked my bank for a refund.\"\n\
             \"the battery lasts two full days, and the screen is bright and sharp!\"\n\
             \"The strap broke within a month and the replacement costs too much.\"\n\
             \"ARRIVED EARLY, WELL PACKED, AND THE CHARGER WORKS WITH MY OLD LAPTOP.\"\n\
             \"   \"\n",
        );
        let found = pollster::block_on(text_leakage(&reference, 0, &candidate, 0, "test".into(), 0.7, &mut Engine::cpu(None)))
            .unwrap();
        let s = &found.section;
        // Row 1 byte for byte; row 2 edited (Jaccard checked below); row 4
        // equal after normalisation (Jaccard 1, reported near, first row 2).
        // Rows 0 and 3 repeat each other inside the candidate only: no leak.
        assert_eq!(found.matches, vec![None, Some(1), Some(0), None, Some(2), None]);
        assert_eq!((s.exact_rows, s.near_rows), (1, 2));
        // The white-space-only text has a text but never leaks.
        assert_eq!(s.candidate_rows_with_text, 6);
        assert!(close(s.share, 3.0 / 6.0));
        assert_eq!(s.engine, "cpu");
        let kinds: Vec<(&str, u64, u64)> = s.pairs.iter().map(|p| (p.kind.as_str(), p.candidate_row, p.reference_row)).collect();
        assert_eq!(kinds, [("exact", 1, 1), ("near", 2, 0), ("near", 4, 2)]);
        let norm = |t: &str| crate::checks::text_dups::shingle_set(&crate::checks::text_dups::normalize(t));
        let expected = jaccard(
            &norm("The battery lasts two full days and the screen is bright and sharp."),
            &norm("the battery lasts two full days, and the screen is bright and sharp!"),
        );
        assert!((0.7..1.0).contains(&expected), "{expected}");
        assert!(close(s.pairs[1].jaccard, expected));
        assert!(close(s.pairs[2].jaccard, 1.0));
        assert_eq!((s.pairs[1].candidate_line, s.pairs[1].reference_line), (4, 2));
        assert_eq!(s.pairs[1].reference_text, "The battery lasts two full days and the screen is bright and sharp.");
        // Every kept pair joins the two files.
        assert!(s.kept_pairs >= 3 && s.candidate_pairs >= s.kept_pairs, "{s:?}");
        // At threshold 1 only texts equal after normalisation leak.
        let strict = pollster::block_on(text_leakage(&reference, 0, &candidate, 0, "test".into(), 1.0, &mut Engine::cpu(None)))
            .unwrap();
        assert_eq!(strict.matches, vec![None, Some(1), None, None, Some(2), None]);
    }

    #[test]
    fn candidate_leaks_csv_has_one_line_per_candidate_row() {
        let leaks = CandidateLeaks {
            lines: vec![2, 3],
            exact: vec![Some(4), None],
            ignoring_identifiers: vec![Some(4), Some(7)],
            near: vec![None, None],
            text: vec![None, Some(1)],
            nearest_reference_distance: vec![Some(0.0), None],
        };
        assert_eq!(
            leaks.to_csv().unwrap(),
            "row,line,exact_leak_reference_row,leak_ignoring_ids_reference_row,near_leak_reference_row,\
             text_leak_reference_row,nearest_reference_distance\n0,2,4,4,,,0.000000\n1,3,,7,,1,\n"
        );
    }

    #[test]
    fn dataset_drift_separates_disjoint_sets() {
        // Two far-apart clusters of 4 rows each: every neighbour is from the
        // row's own set.
        let data: Vec<f32> = vec![0.0, 0.1, 0.2, 0.3, 100.0, 100.1, 100.2, 100.3];
        let graph = crate::gpu::knn_cpu(&data, 8, 1, 3, Metric::SquaredEuclidean);
        let rows: Vec<u32> = (0..8).collect();
        let d = dataset_drift(&graph, &rows, 4, 0.2, "cpu");
        assert!(close(d.same_set_share, 1.0));
        assert!(close(d.expected_share, 24.0 / 56.0));
        assert!(close(d.score, 1.0));
        assert!(d.flagged);
    }
}
