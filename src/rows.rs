//! Per-row findings: one line per data row (DESIGN section 4).

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
        }
    }

    /// Writes the CSV.
    pub fn write_csv<W: std::io::Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(HEADER)?;
        let opt_f = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        let opt_b = |v: Option<bool>| v.map(|v| v.to_string()).unwrap_or_default();
        let opt_u = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        for row in 0..self.lines.len() {
            w.write_record([
                row.to_string(),
                self.lines[row].to_string(),
                opt_f(self.outlier_score[row]),
                opt_b(self.is_outlier[row]),
                opt_u(self.exact_group[row]),
                opt_u(self.near_group[row]),
                opt_f(self.label_issue_score[row]),
                opt_b(self.is_label_issue[row]),
                opt_u(self.exact_group_ignoring_ids[row]),
                opt_u(self.conflict_group[row]),
                opt_u(self.text_dup_group[row]),
                self.annotator_disagreement[row].map(|d| if d { "1" } else { "0" }.to_string()).unwrap_or_default(),
                opt_f(self.label_quality[row]),
                opt_f(self.given_label_loss[row]),
                crate::checks::pii::kinds_of(self.pii_kinds[row]),
            ])?;
        }
        w.flush()?;
        Ok(())
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
