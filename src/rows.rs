//! Per-row findings: one line per data row (DESIGN section 4).

use crate::stream::accumulate::LineIndex;
use std::ops::Range;
use std::sync::Arc;

/// Bytes of CSV lines gathered before they are written out.
const CSV_FLUSH: usize = 64 * 1024;

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
    ///
    /// The lines are written by hand, the csv crate's way: no field can
    /// need quoting (numbers, `true`/`false`, `1`/`0`, PII kind names
    /// joined by `;`), fields are separated by `,` and lines end in `\n`
    /// (tested against `csv::Writer`). A line costs no allocation.
    pub fn write_csv_rows<W: std::io::Write>(&self, mut out: W, rows: Range<u64>, header: bool) -> csv::Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(CSV_FLUSH + 512);
        if header {
            buf.extend_from_slice(HEADER.join(",").as_bytes());
            buf.push(b'\n');
        }
        let end = rows.end.min(self.row_count());
        let start = rows.start.min(end);
        let mut flush = |buf: &mut Vec<u8>, last: bool| -> std::io::Result<()> {
            if buf.len() >= CSV_FLUSH || last {
                out.write_all(buf)?;
                buf.clear();
            }
            Ok(())
        };
        match &self.streamed {
            None => {
                for row in start as usize..end as usize {
                    self.write_line(&mut buf, Some(row), row as u64, self.lines[row], self.exact_group[row], self.pii_kinds[row]);
                    flush(&mut buf, false)?;
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
                    let at = (s.sampled.get(sampled) == Some(&row)).then(|| {
                        sampled += 1;
                        sampled - 1
                    });
                    self.write_line(&mut buf, at, row, line, group, pii);
                    flush(&mut buf, false)?;
                }
            }
        }
        flush(&mut buf, true)?;
        out.flush()?;
        Ok(())
    }

    /// Appends the CSV line of file row `row` to `out`: its findings at
    /// position `at` of the vectors (`None`: a streamed run's row outside
    /// the sample, whose checks on the sample are empty), with the
    /// whole-file fields given.
    fn write_line(&self, out: &mut Vec<u8>, at: Option<usize>, row: u64, line: u64, exact_group: Option<u32>, pii: u8) {
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{row},{line},");
        let float = |out: &mut Vec<u8>, v: Option<f64>| {
            if let Some(v) = v {
                let _ = write!(out, "{v:.6}");
            }
            out.push(b',');
        };
        let flag = |out: &mut Vec<u8>, v: Option<bool>| {
            if let Some(v) = v {
                out.extend_from_slice(if v { b"true" } else { b"false" });
            }
            out.push(b',');
        };
        let group = |out: &mut Vec<u8>, v: Option<u32>| {
            if let Some(v) = v {
                let _ = write!(out, "{v}");
            }
            out.push(b',');
        };
        match at {
            Some(at) => {
                float(out, self.outlier_score[at]);
                flag(out, self.is_outlier[at]);
                group(out, exact_group);
                group(out, self.near_group[at]);
                float(out, self.label_issue_score[at]);
                flag(out, self.is_label_issue[at]);
                group(out, self.exact_group_ignoring_ids[at]);
                group(out, self.conflict_group[at]);
                group(out, self.text_dup_group[at]);
                if let Some(d) = self.annotator_disagreement[at] {
                    out.push(if d { b'1' } else { b'0' });
                }
                out.push(b',');
                float(out, self.label_quality[at]);
                float(out, self.given_label_loss[at]);
            }
            None => {
                out.extend_from_slice(b",,");
                group(out, exact_group);
                out.extend_from_slice(b",,,,,,,,,");
            }
        }
        crate::checks::pii::write_kinds(pii, out);
        out.push(b'\n');
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The CSV as the csv crate writes it, field by field: the reference
    /// for [`RowFindings::write_csv_rows`].
    fn csv_crate_rows(f: &RowFindings, rows: Range<u64>, header: bool) -> Vec<u8> {
        let opt_f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        let opt_b = |v: Option<bool>| v.map(|v| v.to_string()).unwrap_or_default();
        let opt_u = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut w = csv::Writer::from_writer(Vec::new());
        if header {
            w.write_record(HEADER).unwrap();
        }
        let end = rows.end.min(f.row_count());
        for row in rows.start.min(end)..end {
            let (at, line, group, pii) = match &f.streamed {
                None => (Some(row as usize), f.lines[row as usize], f.exact_group[row as usize], f.pii_kinds[row as usize]),
                Some(s) => (
                    s.sampled.iter().position(|&r| r == row),
                    s.lines.line(row),
                    s.exact_groups.iter().find(|&&(r, _)| u64::from(r) == row).map(|&(_, g)| g),
                    s.pii_kinds[row as usize],
                ),
            };
            let mut record: [String; 15] = Default::default();
            record[0] = row.to_string();
            record[1] = line.to_string();
            record[4] = opt_u(group);
            record[14] = crate::checks::pii::kinds_of(pii);
            if let Some(at) = at {
                record[2] = opt_f(f.outlier_score[at]);
                record[3] = opt_b(f.is_outlier[at]);
                record[5] = opt_u(f.near_group[at]);
                record[6] = opt_f(f.label_issue_score[at]);
                record[7] = opt_b(f.is_label_issue[at]);
                record[8] = opt_u(f.exact_group_ignoring_ids[at]);
                record[9] = opt_u(f.conflict_group[at]);
                record[10] = opt_u(f.text_dup_group[at]);
                record[11] = f.annotator_disagreement[at].map(|d| if d { "1" } else { "0" }.to_string()).unwrap_or_default();
                record[12] = opt_f(f.label_quality[at]);
                record[13] = opt_f(f.given_label_loss[at]);
            }
            w.write_record(&record).unwrap();
        }
        w.into_inner().unwrap()
    }

    /// Findings for `n` rows with every field sometimes missing, sometimes
    /// set (scores of several magnitudes and signs, every PII kind).
    fn random_findings(n: usize, seed: u64) -> RowFindings {
        let mut next = crate::xorshift64(seed | 1);
        let lines: Vec<u64> = (0..n as u64).map(|i| 2 + i * 2).collect();
        let mut f = RowFindings::new(lines);
        for i in 0..n {
            let mut r = next();
            let mut some = || {
                r = r.rotate_left(3);
                r % 3 != 0
            };
            let score = (next() % 2_000_001) as f64 / 1e6 - 1.0;
            let big = (next() % 1000) as f64 * 1e9 + 0.5;
            f.outlier_score[i] = some().then_some(score);
            f.is_outlier[i] = some().then_some(score > 0.0);
            f.exact_group[i] = some().then_some(next() as u32);
            f.near_group[i] = some().then_some((next() % 1000) as u32);
            f.label_issue_score[i] = some().then_some(big);
            f.is_label_issue[i] = some().then_some(score < 0.0);
            f.exact_group_ignoring_ids[i] = some().then_some(i as u32);
            f.conflict_group[i] = some().then_some(0);
            f.text_dup_group[i] = some().then_some(u32::MAX);
            f.annotator_disagreement[i] = some().then_some(score > 0.5);
            f.label_quality[i] = some().then_some(score.abs() * 1e-9);
            f.given_label_loss[i] = some().then_some(-score * 700.0);
            f.pii_kinds[i] = if some() { (next() & 0xff) as u8 } else { 0 };
        }
        f
    }

    /// Asserts that [`RowFindings::write_csv_rows`] writes what the csv crate does.
    fn assert_csv_crates(f: &RowFindings, range: Range<u64>, header: bool, what: &str) {
        let mut ours = Vec::new();
        f.write_csv_rows(&mut ours, range.clone(), header).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(csv_crate_rows(f, range.clone(), header)).unwrap(),
            "{what}{range:?}"
        );
    }

    #[test]
    fn hand_written_lines_are_the_csv_crates() {
        for n in [0, 1, 7, 5_000] {
            let f = random_findings(n, 11 + n as u64);
            for (range, header) in [(0..n as u64, true), (3..n as u64 + 5, false), (0..2, true)] {
                assert_csv_crates(&f, range, header, &format!("{n} rows, "));
            }
        }
    }

    #[test]
    fn streamed_lines_are_the_csv_crates() {
        let rows = 3_000u64;
        let sampled: Vec<u64> = (0..rows).filter(|r| r % 7 == 3 || *r == 0 || *r == rows - 1).collect();
        let mut f = random_findings(sampled.len(), 5);
        let mut lines = LineIndex::default();
        for r in 0..rows {
            lines.push(2 + r + r / 100);
        }
        let exact_groups: Vec<(u32, u32)> = (0..rows as u32).filter(|r| r % 11 == 0).map(|r| (r, r / 2)).collect();
        let pii_kinds: Vec<u8> = (0..rows).map(|r| (r * 37 % 256) as u8).collect();
        f.streamed = Some(StreamedRows {
            rows,
            sampled: Arc::new(sampled),
            lines: Arc::new(lines),
            exact_groups: Arc::new(exact_groups),
            pii_kinds: Arc::new(pii_kinds),
        });
        for (range, header) in [(0..rows, true), (1_000..2_000, false), (2_990..4_000, false)] {
            assert_csv_crates(&f, range, header, "");
        }
    }
}
