//! Per-row findings: one line per data row (DESIGN section 4).

use crate::stream::accumulate::LineIndex;
use std::ops::Range;
use std::sync::Arc;

/// A record of empty fields.
fn empty_record() -> [String; 15] {
    Default::default()
}

/// Header of the per-row CSV. Columns are only ever added at the end.
pub const HEADER: [&str; 15] = [
    "row",
    "line",
    "outlier_score",
    "is_outlier",
    "exact_group",
    "near_group",
    "label_issue_score",
    "is_label_issue",
    "exact_group_ignoring_ids",
    "conflict_group",
    "text_dup_group",
    "annotator_disagreement",
    "label_quality",
    "given_label_loss",
    "pii_kinds",
];

/// Findings for every data row; `None` where a check did not score the row
/// (not in the kNN sample, no label).
///
/// A streamed run (`crate::stream`) fills the vectors below for the rows of
/// its sample only (position `i` is file row `streamed.sampled[i]`; group
/// ids there are the file's row ids), and [`RowFindings::streamed`] holds
/// what covers every row: lines, exact duplicate groups, PII kinds, in a
/// few bytes a row. [`RowFindings::write_csv`] writes one line per data row
/// of the file either way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowFindings {
    /// 1-based line where each row starts.
    pub lines: Vec<u64>,
    /// Outlier score in [0, 1].
    pub outlier_score: Vec<Option<f64>>,
    /// Flagged outlier.
    pub is_outlier: Vec<Option<bool>>,
    /// Smallest row id of the row's exact duplicate group.
    pub exact_group: Vec<Option<u32>>,
    /// Smallest row id of the row's near duplicate group.
    pub near_group: Vec<Option<u32>>,
    /// Label issue score in [0, 1].
    pub label_issue_score: Vec<Option<f64>>,
    /// Suspected label error.
    pub is_label_issue: Vec<Option<bool>>,
    /// Smallest row id of the row's duplicate group once identifier-like
    /// columns are left out.
    pub exact_group_ignoring_ids: Vec<Option<u32>>,
    /// Smallest row id of the row's conflicting-label group.
    pub conflict_group: Vec<Option<u32>>,
    /// Smallest row id of the rows joined to this one by an exact or near
    /// duplicate text (in any free-text column checked).
    pub text_dup_group: Vec<Option<u32>>,
    /// Whether the annotators disagree on the row (written 1 or 0); `None`
    /// without annotator columns or when an annotator's value is missing.
    pub annotator_disagreement: Vec<Option<bool>>,
    /// The probability a model gives the row's label (the prediction
    /// audit's label quality, cleanlab's self-confidence), in [0, 1].
    pub label_quality: Vec<Option<f64>>,
    /// -ln of that probability (clipped as scikit-learn's `log_loss`).
    pub given_label_loss: Vec<Option<f64>>,
    /// Kinds of personal data found in the row, any column, as a bit set
    /// (`checks::pii::Kind::bit`); written `;`-joined ("email;phone"),
    /// empty when none.
    pub pii_kinds: Vec<u8>,
    /// A streamed run's findings for every row of the file; `None` when
    /// the vectors above cover every row.
    pub streamed: Option<StreamedRows>,
}

/// What a streamed run knows about every row of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedRows {
    /// Data rows in the file.
    pub rows: u64,
    /// The file's row id of each sampled row (ascending): the rows the
    /// vectors of [`RowFindings`] describe.
    pub sampled: Arc<Vec<u64>>,
    /// Where each row starts (sparse anchors).
    pub lines: Arc<LineIndex>,
    /// `(row, group)` for every row in an exact duplicate group, by row;
    /// the group is its smallest row id.
    pub exact_groups: Arc<Vec<(u32, u32)>>,
    /// Each row's PII kinds (`checks::pii::Kind::bit`).
    pub pii_kinds: Arc<Vec<u8>>,
}

impl RowFindings {
    /// Empty findings for rows starting at `lines`.
    pub fn new(lines: Vec<u64>) -> RowFindings {
        let n = lines.len();
        RowFindings {
            lines,
            outlier_score: vec![None; n],
            is_outlier: vec![None; n],
            exact_group: vec![None; n],
            near_group: vec![None; n],
            label_issue_score: vec![None; n],
            is_label_issue: vec![None; n],
            exact_group_ignoring_ids: vec![None; n],
            conflict_group: vec![None; n],
            text_dup_group: vec![None; n],
            annotator_disagreement: vec![None; n],
            label_quality: vec![None; n],
            given_label_loss: vec![None; n],
            pii_kinds: vec![0; n],
            streamed: None,
        }
    }

    /// Data rows described: every row of the file.
    pub fn row_count(&self) -> u64 {
        self.streamed.as_ref().map_or(self.lines.len() as u64, |s| s.rows)
    }

    /// The line where row `row` starts, `None` beyond the last row.
    pub fn line(&self, row: u64) -> Option<u64> {
        match &self.streamed {
            Some(s) => (row < s.rows).then(|| s.lines.line(row)),
            None => self.lines.get(row as usize).copied(),
        }
    }

    /// Writes the CSV.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> csv::Result<()> {
        self.write_csv_rows(out, 0..self.row_count(), true)
    }

    /// Writes the CSV lines of rows `rows` (clamped to the rows there are),
    /// after the header when `header`: the CSV in pieces, so that a big
    /// file's findings need not be one string.
    pub fn write_csv_rows<W: std::io::Write>(&self, out: W, rows: Range<u64>, header: bool) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        if header {
            w.write_record(HEADER)?;
        }
        let end = rows.end.min(self.row_count());
        let start = rows.start.min(end);
        match &self.streamed {
            None => {
                for row in start as usize..end as usize {
                    w.write_record(self.record(row, row as u64, self.lines[row], self.exact_group[row], self.pii_kinds[row]))?;
                }
            }
            Some(s) => {
                let mut sampled = s.sampled.partition_point(|&r| r < start);
                let mut grouped = s.exact_groups.partition_point(|&(r, _)| u64::from(r) < start);
                for (row, line) in (start..end).zip(s.lines.iter_from(start)) {
                    let group = match s.exact_groups.get(grouped) {
                        Some(&(r, g)) if u64::from(r) == row => {
                            grouped += 1;
                            Some(g)
                        }
                        _ => None,
                    };
                    let pii = s.pii_kinds[row as usize];
                    if s.sampled.get(sampled) == Some(&row) {
                        w.write_record(self.record(sampled, row, line, group, pii))?;
                        sampled += 1;
                    } else {
                        let mut record = empty_record();
                        record[0] = row.to_string();
                        record[1] = line.to_string();
                        record[4] = group.map(|g| g.to_string()).unwrap_or_default();
                        record[14] = crate::checks::pii::kinds_of(pii);
                        w.write_record(&record)?;
                    }
                }
            }
        }
        w.flush()?;
        Ok(())
    }

    /// The CSV record of the row at position `at` of the vectors, file row
    /// `row`, with the whole-file fields given.
    fn record(&self, at: usize, row: u64, line: u64, exact_group: Option<u32>, pii: u8) -> [String; 15] {
        let opt_f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        let opt_b = |v: Option<bool>| v.map(|v| v.to_string()).unwrap_or_default();
        let opt_u = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        [
            row.to_string(),
            line.to_string(),
            opt_f(self.outlier_score[at]),
            opt_b(self.is_outlier[at]),
            opt_u(exact_group),
            opt_u(self.near_group[at]),
            opt_f(self.label_issue_score[at]),
            opt_b(self.is_label_issue[at]),
            opt_u(self.exact_group_ignoring_ids[at]),
            opt_u(self.conflict_group[at]),
            opt_u(self.text_dup_group[at]),
            self.annotator_disagreement[at].map(|d| if d { "1" } else { "0" }.to_string()).unwrap_or_default(),
            opt_f(self.label_quality[at]),
            opt_f(self.given_label_loss[at]),
            crate::checks::pii::kinds_of(pii),
        ]
    }

    /// The CSV as a string.
    pub fn to_csv(&self) -> crate::Result<String> {
        let mut buf = Vec::new();
        self.write_csv(&mut buf)
            .map_err(|e| crate::Error::new(crate::ErrorKind::Internal, format!("writing the rows CSV: {e}")))?;
        // Every field is a number, a boolean, PII kind names or empty: ASCII.
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}
