//! From a merged [`Accumulator`] to a [`Profiler`]: the sample becomes the
//! profiler's table (every check runs on it as usual), and the whole-file
//! results ([`WholeFile`]) override the sample's in
//! [`Profiler::analyse`]: column profiles, row count, ingest accounting,
//! exact duplicates (groups from the 16-byte row hashes of every row),
//! class counts, personal data, and each row's exact group, PII kinds and
//! line in the per-row findings.

use super::accumulate::{Accumulator, ColumnAcc, LineIndex, RowHashes, SAMPLE_SEED};
use crate::checks::duplicates::{group_examples, ExactFindings};
use crate::checks::pii::PiiScan;
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::{self, CellKind, Sniffed, Table};
use crate::profile::{histogram_edges, numeric_stats, ColumnFacts, ColumnSummary, Comparison, TOP_VALUES};
use crate::report::{
    ClassBalance, ExactDuplicates, FlaggedRow, Histogram, Ingest, NumericStats, Pii, Report, RowGroup, Sampling,
};
use crate::rows::{RowFindings, StreamedRows};
use crate::sketch::TopValues;
use crate::{Options, Profiler};
use std::sync::Arc;

/// Numeric quantiles the profiles report.
const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Standard errors within which a distinct-count estimate counts as "every
/// value distinct" (for the unique alert and the identifier type).
const UNIQUE_WITHIN_ERRORS: f64 = 3.0;

/// What a streamed run knows about the whole file, kept by the
/// [`Profiler`] (whose table is the sample) for [`Profiler::analyse`].
#[derive(Debug, Clone)]
pub struct WholeFile {
    pub(crate) sniffed: Sniffed,
    pub(crate) file_bytes: u64,
    pub(crate) rows: u64,
    pub(crate) parts: u64,
    pub(crate) ingest: Ingest,
    pub(crate) summaries: Vec<ColumnSummary>,
    /// Each column's value counts (for class balance).
    pub(crate) values: Vec<TopValues>,
    /// Exact duplicate counts and listed groups of every row.
    pub(crate) exact: ExactDuplicates,
    /// Why the exact duplicates may differ from exact mode's (empty: they do not).
    pub(crate) exact_caveats: Vec<String>,
    /// `(row, group)` of every row in an exact duplicate group, by row.
    pub(crate) exact_groups: Arc<Vec<(u32, u32)>>,
    pub(crate) pii: Pii,
    pub(crate) pii_kinds: Arc<Vec<u8>>,
    pub(crate) lines: Arc<LineIndex>,
    /// The file's row id of each row of the sample table.
    pub(crate) sampled: Arc<Vec<u64>>,
    /// Whole-file results that are estimates.
    pub(crate) approximate: Vec<String>,
    /// Why the sample holds fewer rows than asked, where it does.
    pub(crate) sample_note: Option<String>,
}

/// Builds the profiler of a streamed file from the merged accumulator of
/// all its parts (in file order, lines rebased), the file's head, the
/// readers' merged accounting, and the file's size (see
/// [`profiler_from_parts`]).
pub fn into_profiler(
    name: &str,
    options: Options,
    head: &super::Head,
    merged: Accumulator,
    issues: ingest::Issues,
    file_bytes: u64,
) -> Result<Profiler> {
    profiler_from_parts(name, options, head.sniffed(), merged, issues, file_bytes)
}

/// Builds the profiler of a streamed file from the merged accumulator of
/// all its parts (in file order, lines rebased), what sniffing decided, the
/// readers' merged accounting, and the file's size. Errors as reading does
/// when the file has no data row.
pub fn profiler_from_parts(
    name: &str,
    options: Options,
    sniffed: Sniffed,
    merged: Accumulator,
    issues: ingest::Issues,
    file_bytes: u64,
) -> Result<Profiler> {
    let rows = merged.rows();
    if rows == 0 {
        return Err(ingest::no_rows(&issues, !merged.columns.is_empty()));
    }
    if rows > u64::from(u32::MAX) {
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!("the file has {rows} rows; row ids are 32-bit, so at most {} rows can be profiled", u32::MAX),
        ));
    }
    let mut approximate = Vec::new();
    let mut summaries = Vec::with_capacity(merged.columns.len());
    for column in &merged.columns {
        let (summary, fields) = summarize(column, rows);
        if !fields.is_empty() {
            approximate.push(format!("columns[{:?}]: {}", column.name, fields.join(", ")));
        }
        summaries.push(summary);
    }
    let exact_caveats = duplicate_caveats(&merged, &summaries);
    if !exact_caveats.is_empty() {
        approximate.push(format!("duplicates.exact: {}", exact_caveats.join("; ")));
    }
    let mut merged = merged;
    merged.finish_sample();
    let wanted = merged.sample_rows() as u64;
    let Accumulator { columns, hashes, pii, lines, sample, parts, .. } = merged;

    let groups = duplicate_groups(&hashes);
    drop(hashes);
    let rows_in_groups: u64 = groups.iter().map(|g| g.len() as u64).sum();
    let listed = group_examples(&groups, |r| lines.line(u64::from(r)));
    let exact = ExactDuplicates {
        method: crate::checks::duplicates::METHOD.to_string(),
        redundant_rows: rows_in_groups - groups.len() as u64,
        rows_in_groups,
        group_count: groups.len() as u64,
        groups_not_listed: (groups.len() - listed.len()) as u64,
        groups: listed,
        normalized: false,
        normalization: Vec::new(),
        ignoring_identifiers: None,
    };
    let mut exact_groups: Vec<(u32, u32)> = Vec::with_capacity(rows_in_groups as usize);
    for g in &groups {
        exact_groups.extend(g.iter().map(|&r| (r, g[0])));
    }
    drop(groups);
    exact_groups.sort_unstable();

    let PiiScan { section: pii, row_kinds } = pii.finish();

    // The sample, in row order, as a table with the file's lines.
    let mut table = Table::default();
    for column in &columns {
        table.add_column(&column.name);
    }
    for i in 0..sample.len() {
        for (column, vector, text) in sample.cells(i) {
            table.set(column, if vector { CellKind::Vector } else { CellKind::Text }, text);
        }
        table.end_row(sample.lines[i]);
    }
    let sampled = sample.rows.clone();
    drop(sample);
    let sample_note = ((sampled.len() as u64) < wanted.min(rows)).then(|| {
        format!(
            "the sample holds {} rows, not {wanted}: the parts kept only rows with sample keys below a bound set from the file's size and its first rows, and the file's rows are longer on average than those (all rows below the bound are in, still the smallest keys)",
            sampled.len()
        )
    });

    let mut ingest = issues.to_report();
    ingest.rows_used = rows;
    let whole = WholeFile {
        sniffed,
        file_bytes,
        rows,
        parts,
        ingest,
        summaries,
        values: columns.into_iter().map(|c| c.top).collect(),
        exact,
        exact_caveats,
        exact_groups: Arc::new(exact_groups),
        pii,
        pii_kinds: Arc::new(row_kinds),
        lines: Arc::new(lines),
        sampled: Arc::new(sampled),
        approximate,
        sample_note,
    };
    let mut profiler = Profiler::new(name, options);
    profiler.ingestor.table = table;
    profiler.streamed = Some(Box::new(whole));
    Ok(profiler)
}

/// A column's profile from its sketches, and the fields that are estimates.
fn summarize(column: &ColumnAcc, rows: u64) -> (ColumnSummary, Vec<String>) {
    let approximate = std::cell::RefCell::new(Vec::<String>::new());
    let count = rows - column.missing;
    let top = column.top.top(TOP_VALUES);
    // Values written several ways, where the counts are exact and few.
    let forms = if column.top.is_exact() && column.top.len() <= crate::profile::VARIANTS_MAX_DISTINCT {
        let all = column.top.top(usize::MAX);
        crate::profile::written_forms(all.iter().map(|(v, c)| (v.as_str(), *c)))
    } else {
        Default::default()
    };
    let facts = ColumnFacts {
        name: &column.name,
        rows,
        missing: column.missing,
        kinds: column.kind_map(),
        lengths: column.lengths,
        vector_dims: column.vector_dims.clone(),
        datetimes: column.dates.texts(),
        top_values: top,
        kind_examples: column.kind_examples.clone(),
        date_layouts: column.date_layouts.clone(),
        markers: column.markers.clone(),
        number_shapes: column.number_shapes.clone(),
        forms,
    };
    let mut summary = facts.summarize(
        |comparison| {
            let by_value = comparison != Comparison::Text;
            let sketch = if by_value { column.distinct_by_value() } else { &column.distinct_text };
            // Big integers hashed as integers where f64 equality applies.
            let exact = sketch.is_exact() && !(comparison == Comparison::Numeric && column.big_integers > 0);
            if exact {
                return sketch.estimate();
            }
            approximate.borrow_mut().push("distinct".into());
            let estimate = sketch.estimate().min(count);
            let tolerance = UNIQUE_WITHIN_ERRORS * sketch.relative_standard_error().max(1e-9);
            if estimate as f64 >= count as f64 * (1.0 - tolerance) {
                count
            } else {
                estimate
            }
        },
        || {
            if let Some(values) = column.numbers.exact_values() {
                return numeric_stats(&mut values.to_vec());
            }
            approximate.borrow_mut().extend(["quantiles".to_string(), "histogram".to_string()]);
            sketch_numeric(column)
        },
    );
    let mut approximate = approximate.into_inner();
    if !column.top.is_exact() {
        approximate.push("top_values".into());
        // Space-Saving counts are upper bounds, each at most Δ (the summary's
        // offset) above the truth. In a column the report calls all
        // distinct they would list one-off values as seen Δ times (an id
        // column of a 100 MB file: 240 times each): there each count is
        // its lower bound instead, at least 1. Elsewhere the report says
        // how far above the truth a count may be.
        let p = &mut summary.profile;
        let delta = column.top.max_overcount();
        if p.count > 0 && p.distinct == p.count {
            for v in &mut p.top_values {
                v.count = v.count.saturating_sub(delta).max(1);
            }
            p.top_values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        } else if delta > 0 {
            p.top_values_overcount = Some(delta);
        }
    }
    // Repeated identifiers are named only from exact counts: an estimated
    // distinct count below the row count, or a Space-Saving count of 2,
    // says nothing of a key seen twice.
    if approximate.iter().any(|f| f == "distinct" || f == "top_values") {
        summary.profile.alerts.retain(|a| a.kind != "repeated_ids");
    }
    summary.profile.approximate = approximate.clone();
    (summary, approximate)
}

/// Numeric statistics from the sketches: exact count, min, max, zeros,
/// negatives; mean, std and skewness from mergeable moments (exact up to
/// rounding); quantiles and histogram counts from the KLL sketch.
fn sketch_numeric(column: &ColumnAcc) -> Option<NumericStats> {
    let kll = &column.numbers;
    let m = &column.moments;
    if kll.count() == 0 {
        return None;
    }
    let (min, max) = (kll.min(), kll.max());
    let n = m.n as f64;
    let constant = min == max;
    let std = if m.n > 1 && !constant { (m.m2 / (n - 1.0)).sqrt() } else { 0.0 };
    let skewness = if m.n > 2 && m.m2 > 0.0 && !constant {
        let (m2n, m3n) = (m.m2 / n, m.m3 / n);
        (n * (n - 1.0)).sqrt() / (n - 2.0) * m3n / m2n.powf(1.5)
    } else {
        0.0
    };
    let quantiles = QUANTILES.iter().zip(kll.quantiles(&QUANTILES)).map(|(q, v)| (q.to_string(), v)).collect();
    let (edges, _) = histogram_edges(min, max);
    let bins = edges.len() - 1;
    // Values at most each inner edge, by rank; the last bin ends at max.
    let ranks = kll.ranks(&edges[1..bins]);
    let total = kll.count();
    let mut counts = Vec::with_capacity(bins);
    let mut below = 0u64;
    for rank in ranks {
        let at_most = ((rank * total as f64).round() as u64).clamp(below, total);
        counts.push(at_most - below);
        below = at_most;
    }
    counts.push(total - below);
    Some(NumericStats {
        min,
        max,
        mean: m.mean.clamp(min, max),
        std,
        quantiles,
        skewness,
        zeros: column.zeros,
        negatives: column.negatives,
        histogram: Histogram { edges, counts },
    })
}

/// Why the row hashes may join or split rows differently from exact mode,
/// which compares each column by its final type: a column compared as
/// text that holds numbers or booleans written several ways, or a column
/// compared as f64 holding integers at or beyond 2^53. Normalised comparison
/// (`--normalize`) does not depend on the type: no caveat.
fn duplicate_caveats(merged: &Accumulator, summaries: &[ColumnSummary]) -> Vec<String> {
    if merged.normalize() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (column, summary) in merged.columns.iter().zip(summaries) {
        match summary.comparison {
            Comparison::Text if column.noncanonical > 0 => out.push(format!(
                "{:?} compares as text, but {} of its numbers or booleans are not written in canonical form \
                 (1.0, +1, True): the stream compared them by value",
                column.name, column.noncanonical
            )),
            Comparison::Numeric if column.big_integers > 0 => out.push(format!(
                "{:?} compares numbers as f64, but {} of its integers are at or beyond 2^53: the stream compared \
                 them exactly",
                column.name, column.big_integers
            )),
            _ => {}
        }
    }
    out
}

/// Passes over the row hashes when looking for repeated prefixes: each
/// sorts the prefixes of 1/`PREFIX_PASSES` of the rows (by their top bits).
const PREFIX_PASSES: u32 = 16;

/// Groups of rows with equal 128-bit hashes (each sorted, groups by first
/// row). Memory: 8 bytes per 1/16 of the rows while 64-bit prefixes are
/// sorted (16 passes over the hashes), then 32 bytes per row whose prefix
/// repeats (the rows in groups, mostly).
pub(crate) fn duplicate_groups(hashes: &RowHashes) -> Vec<Vec<u32>> {
    let mut repeated: std::collections::HashSet<u64, crate::sketch::FastBuild> = Default::default();
    let mut prefixes: Vec<u64> = Vec::new();
    let shift = 64 - PREFIX_PASSES.trailing_zeros();
    for pass in 0..u64::from(PREFIX_PASSES) {
        prefixes.clear();
        prefixes.extend(hashes.iter().map(|h| (h >> 64) as u64).filter(|p| p >> shift == pass));
        prefixes.sort_unstable();
        for pair in prefixes.windows(2) {
            if pair[0] == pair[1] {
                repeated.insert(pair[0]);
            }
        }
    }
    drop(prefixes);
    let mut candidates: Vec<(u128, u32)> = hashes
        .iter()
        .zip(0u32..)
        .filter(|(h, _)| repeated.contains(&((h >> 64) as u64)))
        .collect();
    drop(repeated);
    candidates.sort_unstable();
    let mut groups = Vec::new();
    for run in candidates.chunk_by(|a, b| a.0 == b.0) {
        if run.len() >= 2 {
            groups.push(run.iter().map(|&(_, row)| row).collect());
        }
    }
    groups.sort_unstable_by_key(|g: &Vec<u32>| g[0]);
    groups
}

/// Report sections of a streamed run computed over every row.
pub const WHOLE_FILE_SECTIONS: [&str; 6] =
    ["source", "ingest", "columns", "duplicates.exact (but ignoring_identifiers)", "pii", "rows CSV: row, line, exact_group, pii_kinds"];

impl WholeFile {
    /// The PII scan for the sample table: the whole file's section, and
    /// the kinds of each sampled row.
    pub(crate) fn pii_scan(&self) -> PiiScan {
        PiiScan { section: self.pii.clone(), row_kinds: self.sampled.iter().map(|&r| self.pii_kinds[r as usize]).collect() }
    }

    /// The file's exact duplicate group of each sampled row.
    fn sample_exact_groups(&self) -> Vec<Option<u32>> {
        let groups = &self.exact_groups;
        self.sampled
            .iter()
            .map(|&row| {
                let i = groups.partition_point(|&(r, _)| u64::from(r) < row);
                groups.get(i).filter(|&&(r, _)| u64::from(r) == row).map(|&(_, g)| g)
            })
            .collect()
    }

    /// Replaces the sample's exact duplicates with the whole file's (the
    /// duplicates ignoring identifiers stay the sample's).
    pub(crate) fn override_exact(&self, found: &mut ExactFindings) {
        let section = &mut found.section;
        let whole = &self.exact;
        section.redundant_rows = whole.redundant_rows;
        section.rows_in_groups = whole.rows_in_groups;
        section.group_count = whole.group_count;
        section.groups = whole.groups.clone();
        section.groups_not_listed = whole.groups_not_listed;
        if !self.exact_caveats.is_empty() {
            section.method = format!(
                "{}; streamed, so each row was hashed as it was read, before the columns' types were known, and \
                 the result may differ from a run on the whole table: {}",
                section.method,
                self.exact_caveats.join("; ")
            );
        }
        if let Some(ids) = &mut section.ignoring_identifiers {
            if (self.sampled.len() as u64) < self.rows {
                ids.method = format!(
                    "{} (on the row sample only: {} of {} rows; additional_redundant_rows compares with the \
                     sample's identical rows)",
                    ids.method,
                    self.sampled.len(),
                    self.rows
                );
            }
        }
        found.exact_group = self.sample_exact_groups();
    }

    /// The class balance of the label column over every row, from its exact
    /// value counts; `None` when the column has too many distinct values
    /// for exact counts (the sample's balance stays then).
    pub(crate) fn class_balance(&self, column: usize, comparison: Comparison, reason: String) -> Option<ClassBalance> {
        let counts = self.values[column].exact_counts()?;
        let missing = self.summaries[column].profile.missing;
        let mut labels: Vec<(Option<std::borrow::Cow<'_, str>>, u64)> =
            counts.map(|(text, n)| (Some(crate::checks::balance::label_of(text, comparison)), n)).collect();
        labels.push((None, missing));
        let labels: Vec<(Option<&str>, u64)> = labels.iter().map(|(l, n)| (l.as_deref(), *n)).collect();
        let name = &self.summaries[column].profile.name;
        Some(crate::checks::balance::class_balance_of_counts(&labels, name, reason))
    }

    /// The whole file's exact value counts of column `name`, when exact.
    pub fn value_counts(&self, name: &str) -> Option<impl Iterator<Item = (&str, u64)> + '_> {
        let i = self.summaries.iter().position(|s| s.profile.name == name)?;
        self.values[i].exact_counts()
    }

    /// Rows in the file.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes in the file.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// What sniffing decided.
    pub fn sniffed(&self) -> &Sniffed {
        &self.sniffed
    }

    /// Puts the whole-file results into a report made from the sample,
    /// turns the sample's row ids into the file's, adds the `sampling`
    /// section, and makes the per-row findings cover every row.
    pub(crate) fn apply(
        &self,
        report: &mut Report,
        findings: &mut RowFindings,
        review_sample: &mut Option<crate::checks::review::ReviewSample>,
        class_balance_whole: bool,
    ) {
        report.source.rows = self.rows;
        report.source.bytes = self.file_bytes;
        report.ingest = self.ingest.clone();
        let row = |pos: u64| self.sampled.get(pos as usize).copied().unwrap_or(pos);
        remap_rows(report, &row);
        if let Some(sample) = review_sample {
            for r in &mut sample.rows {
                r.row = row(r.row);
            }
        }
        let group = |g: &mut Option<u32>| {
            if let Some(pos) = g {
                *pos = row(u64::from(*pos)) as u32;
            }
        };
        findings.near_group.iter_mut().for_each(group);
        findings.exact_group_ignoring_ids.iter_mut().for_each(group);
        findings.conflict_group.iter_mut().for_each(group);
        findings.text_dup_group.iter_mut().for_each(group);
        findings.streamed = Some(StreamedRows {
            rows: self.rows,
            sampled: self.sampled.clone(),
            lines: self.lines.clone(),
            exact_groups: self.exact_groups.clone(),
            pii_kinds: self.pii_kinds.clone(),
        });
        let mut whole: Vec<String> = WHOLE_FILE_SECTIONS.iter().map(|s| s.to_string()).collect();
        let mut on_sample: Vec<String> = [
            "duplicates.exact.ignoring_identifiers",
            "duplicates.near",
            "text_duplicates",
            "conflicting_labels",
            "embedding",
            "outliers",
            "label_issues",
            "label_issues_knn",
            "annotator_agreement",
            "review",
            "prediction_audit",
            "rows CSV: outlier, near, label, text, conflict and annotator columns",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if report.class_balance.is_some() {
            if class_balance_whole {
                whole.insert(4, "class_balance".into());
            } else {
                on_sample.insert(0, "class_balance".into());
            }
        }
        report.sampling = Some(Sampling {
            mode: "stream".into(),
            rows_total: self.rows,
            rows_sampled: self.sampled.len() as u64,
            sample_seed: SAMPLE_SEED,
            parts: self.parts,
            checks_on_sample: on_sample,
            whole_file: whole,
            approximate: self.approximate.clone(),
            note: self.sample_note.clone(),
        });
    }
}

/// Turns the row ids of a report made from the sample table (positions in
/// it) into the file's row ids, in every section that lists rows.
fn remap_rows(report: &mut Report, row: &dyn Fn(u64) -> u64) {
    let groups = |groups: &mut Vec<RowGroup>| {
        for g in groups {
            g.rows.iter_mut().for_each(|r| *r = row(*r));
        }
    };
    if let Some(ids) = &mut report.duplicates.exact.ignoring_identifiers {
        groups(&mut ids.groups);
    }
    groups(&mut report.duplicates.near.groups);
    for t in &mut report.text_duplicates {
        for section in [&mut t.exact, &mut t.near] {
            for g in &mut section.groups {
                g.rows.iter_mut().for_each(|r| *r = row(*r));
                g.texts.iter_mut().for_each(|e| e.row = row(e.row));
            }
        }
    }
    if let Some(c) = &mut report.conflicting_labels {
        for g in &mut c.groups {
            g.rows.iter_mut().for_each(|r| *r = row(*r));
        }
    }
    let flagged = |rows: &mut Vec<FlaggedRow>| {
        for f in rows {
            f.row = row(f.row);
            f.neighbours.iter_mut().for_each(|r| *r = row(*r));
            f.neighbour_rows.iter_mut().for_each(|n| n.row = row(n.row));
        }
    };
    if let Some(o) = &mut report.outliers {
        flagged(&mut o.top);
    }
    for l in [&mut report.label_issues, &mut report.label_issues_knn].into_iter().flatten() {
        flagged(&mut l.top);
    }
    if let Some(a) = &mut report.annotator_agreement {
        a.disagreements.iter_mut().for_each(|d| d.row = row(d.row));
    }
    if let Some(p) = &mut report.prediction_audit {
        p.highest_loss.iter_mut().for_each(|l| l.row = row(l.row));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_groups_match_exact_grouping() {
        let values: Vec<u128> = [5u128, 7, 5, 9, 7, 5, 1 << 64 | 5, 11].to_vec();
        let mut hashes = RowHashes::default();
        values[..3].iter().for_each(|&h| hashes.push(h));
        let mut later = RowHashes::default();
        values[3..].iter().for_each(|&h| later.push(h));
        hashes.append(later);
        let groups = duplicate_groups(&hashes);
        assert_eq!(groups, crate::checks::duplicates::groups_by_key(&values));
        assert_eq!(groups, vec![vec![0, 2, 5], vec![1, 4]]);
    }
}
