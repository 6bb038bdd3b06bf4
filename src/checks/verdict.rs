//! The default rules and the verdict.
//!
//! These rules apply when no rules file is given, and alongside a rules file
//! unless it says `"defaults": false` (`checks::rules`). A rules-file rule of
//! the kind in the last column, on the whole file (no `column`), replaces the
//! default rule of its row.
//!
//! | rule | severity | passes when | replaced by |
//! | --- | --- | --- | --- |
//! | `has_rows` | error | at least one data row was read | `row_count` |
//! | `unusable_rows` | error | at most 1% of records were skipped as unusable, and at most 1% of the lines were in skipped records (`ingest.lines_skipped`) | |
//! | `damaged_rows` | warning | at most 1% of rows were padded (too few fields) or held bytes that are not UTF-8, lines a stray quote joined into one value counted too (`ingest.lines_joined`) | |
//! | `duplicate_share` | warning | at most 5% of rows are redundant exact duplicates | `max_duplicate_share` |
//! | `minority_classes` | warning | no class has a share below 0.1 / K (a small class that is a bigger one written another way is named as its spelling) | `min_class_share` |
//! | `conflicting_labels` | warning | no rows with identical features carry different labels | |
//! | `text_duplicate_share` | warning | at most 5% of a text column's texts repeat an earlier one | |
//! | `outlier_share` | warning | at most 5% of scored rows are flagged outliers | |
//! | `missing_share` | warning | at most 50% of all cells are missing | `max_missing_share` |
//! | `pii` | warning | no value holds personal data (`checks::pii`) | `no_pii` |
//! | `annotator_agreement` | warning | annotators agree on at least 80% of the rows all labelled (`checks::agreement`) | |

use crate::checks::rules::SOURCE_DEFAULT;
use crate::report::{Report, RuleOutcome, Verdict};

/// A default rule's outcome, with the rules-file rule kind that replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct DefaultOutcome {
    /// The outcome, `source` "default".
    pub outcome: RuleOutcome,
    /// The rules-file kind (`checks::rules::RULE_KINDS`) whose rule on the
    /// whole file (no `column`) replaces this one; `None` when no file rule
    /// does.
    pub replaced_by: Option<&'static str>,
}

/// A default rule's outcome on the whole file.
pub fn outcome(
    name: &str,
    severity: &str,
    value: f64,
    limit: f64,
    passed: bool,
    message: String,
) -> RuleOutcome {
    RuleOutcome {
        rule: name.into(),
        severity: severity.into(),
        value,
        limit,
        passed,
        message,
        column: None,
        source: SOURCE_DEFAULT.into(),
    }
}

/// The verdict of a list of evaluated rules: passed when no error-level rule
/// failed; the failed rules' messages as `failures` and `warnings`.
pub fn verdict_of(rules: Vec<RuleOutcome>) -> Verdict {
    let failed = |severity: &str| -> Vec<String> {
        rules
            .iter()
            .filter(|r| !r.passed && r.severity == severity)
            .map(|r| format!("{}: {}", r.rule, r.message))
            .collect()
    };
    let (failures, warnings) = (failed("error"), failed("warning"));
    let passed = rules.iter().all(|r| r.passed || r.severity != "error");
    Verdict {
        passed,
        failures,
        warnings,
        rules,
    }
}

/// Evaluates the default rules on a report (everything but `verdict`).
pub fn default_verdict(report: &Report) -> Verdict {
    verdict_of(
        default_outcomes(report)
            .into_iter()
            .map(|d| d.outcome)
            .collect(),
    )
}

/// Evaluates every default rule on a report (everything but `verdict`),
/// in the order of the table above; rules about a section the report does
/// not have (no label, no text column, no neighbour checks) are left out.
pub fn default_outcomes(report: &Report) -> Vec<DefaultOutcome> {
    let mut out = Vec::new();
    let mut push = |outcome: RuleOutcome, replaced_by: Option<&'static str>| {
        out.push(DefaultOutcome {
            outcome,
            replaced_by,
        });
    };
    let rows = report.source.rows as f64;
    push(
        outcome(
            "has_rows",
            "error",
            rows,
            1.0,
            rows >= 1.0,
            format!("{} data rows", report.source.rows),
        ),
        Some("row_count"),
    );
    let ingest = &report.ingest;
    let skipped = ingest.rows_skipped as f64 / ingest.records_read.max(1) as f64;
    // A record whose quote never closes loses lines rather than records:
    // the share of the lines counts where it is larger (each kept record
    // taken as one line).
    let lines = ingest.records_read - ingest.rows_skipped + ingest.lines_skipped;
    let lost = ingest.lines_skipped as f64 / lines.max(1) as f64;
    let share = skipped.max(lost);
    let mut detail = format!("{} of {} records could not be used ({:.2}%)", ingest.rows_skipped, ingest.records_read, skipped * 100.0);
    if ingest.lines_skipped > ingest.rows_skipped {
        detail.push_str(&format!(
            "; they span {} of about {lines} lines ({:.2}%)",
            ingest.lines_skipped,
            lost * 100.0
        ));
    }
    push(outcome("unusable_rows", "error", share, 0.01, share <= 0.01, detail), None);
    // Rows kept but damaged: short ones padded with missing values, bytes
    // that are not UTF-8 (a file in another encoding, or binary bytes
    // after the data), and lines a stray quote probably joined into one
    // value (a warning: a quoted value may hold such lines by chance).
    let damaged = (ingest.rows_padded + ingest.rows_invalid_utf8).min(ingest.rows_used) + ingest.lines_joined;
    let damaged_share = damaged as f64 / (ingest.rows_used + ingest.lines_joined).max(1) as f64;
    let mut detail = format!(
        "{} rows padded with missing values and {} with bytes that are not UTF-8, of {} rows",
        ingest.rows_padded, ingest.rows_invalid_utf8, ingest.rows_used
    );
    if ingest.lines_joined > 0 {
        detail.push_str(&format!("; {} lines that look like rows were read inside a quoted value (a stray quote?)", ingest.lines_joined));
    }
    detail.push_str(&format!(" ({:.2}%)", damaged_share * 100.0));
    push(outcome("damaged_rows", "warning", damaged_share, 0.01, damaged_share <= 0.01, detail), None);
    let dup = duplicate_share(report);
    push(
        outcome(
            "duplicate_share",
            "warning",
            dup,
            0.05,
            dup <= 0.05,
            format!(
                "{} redundant exact duplicate rows ({:.2}%)",
                report.duplicates.exact.redundant_rows,
                dup * 100.0
            ),
        ),
        Some("max_duplicate_share"),
    );
    if let Some(b) = &report.class_balance {
        let flagged = b.flagged_classes.len() as f64;
        let message = if b.flagged_classes.is_empty() {
            format!(
                "every class of {:?} has a share of at least {:.4}",
                b.label_column, b.flag_share_below
            )
        } else if crate::checks::rules::holds_personal_data(report, &b.label_column) {
            format!(
                "{} classes of {:?} below a share of {:.4} (names not quoted: the label column holds personal data)",
                b.flagged_classes.len(),
                b.label_column,
                b.flag_share_below
            )
        } else {
            // A small class that is a bigger one written another way
            // ("adelie" beside "Adelie") says so: a spelling to fix, not
            // a class to collect more rows of.
            let spelling_of = |class: &str| {
                b.case_variants.iter().find_map(|v| {
                    let leader = &v.classes.first()?.class;
                    (leader != class && v.classes.iter().any(|c| c.class == class)).then_some(leader)
                })
            };
            // ... or the bigger one a letter off ("Adelei").
            let misspelled = crate::profile::misspellings(b.classes.iter().map(|c| (c.class.as_str(), c.count)));
            let misspelling_of = |class: &str| misspelled.iter().find(|m| m.rare.0 == class).map(|m| &m.common.0);
            let named: Vec<String> = b
                .flagged_classes
                .iter()
                .map(|c| match (spelling_of(c), misspelling_of(c)) {
                    (Some(leader), _) => format!("{c} (a spelling of {leader:?})"),
                    (None, Some(leader)) => format!("{c} (perhaps {leader:?} misspelled)"),
                    (None, None) => c.clone(),
                })
                .collect();
            format!("classes of {:?} below a share of {:.4}: {}", b.label_column, b.flag_share_below, named.join(", "))
        };
        push(
            on_column(
                outcome(
                    "minority_classes",
                    "warning",
                    flagged,
                    0.0,
                    flagged == 0.0,
                    message,
                ),
                &b.label_column,
            ),
            Some("min_class_share"),
        );
    }
    if let Some(c) = report
        .conflicting_labels
        .as_ref()
        .filter(|c| c.feature_columns > 0)
    {
        let groups = c.group_count as f64;
        let message = format!(
            "{} group{} of rows with identical features carry different labels of {:?} ({} rows; {} outvoted by \
             their group's most common label)",
            c.group_count,
            if c.group_count == 1 { "" } else { "s" },
            c.label_column,
            c.rows_in_groups,
            c.rows_outvoted
        );
        push(
            on_column(
                outcome(
                    "conflicting_labels",
                    "warning",
                    groups,
                    0.0,
                    c.group_count == 0,
                    message,
                ),
                &c.label_column,
            ),
            None,
        );
    }
    // The text column with the largest share of repeated texts.
    let worst_text = report
        .text_duplicates
        .iter()
        .map(|t| (t, t.redundant_rows as f64 / t.rows_with_text.max(1) as f64))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((t, share)) = worst_text {
        let message = format!(
            "{} of {} texts of {:?} repeat an earlier row's text exactly or nearly ({:.2}%)",
            t.redundant_rows,
            t.rows_with_text,
            t.column,
            share * 100.0
        );
        push(
            on_column(
                outcome(
                    "text_duplicate_share",
                    "warning",
                    share,
                    0.05,
                    share <= 0.05,
                    message,
                ),
                &t.column,
            ),
            None,
        );
    }
    if let Some(o) = &report.outliers {
        let share = o.flagged as f64 / (o.rows_scored.max(1)) as f64;
        push(
            outcome(
                "outlier_share",
                "warning",
                share,
                0.05,
                share <= 0.05,
                format!(
                    "{} of {} scored rows are outliers ({:.2}%)",
                    o.flagged,
                    o.rows_scored,
                    share * 100.0
                ),
            ),
            None,
        );
    }
    let (missing, cells) = missing_cells(report);
    let share = missing as f64 / cells.max(1) as f64;
    push(
        outcome(
            "missing_share",
            "warning",
            share,
            0.5,
            share <= 0.5,
            format!(
                "{missing} of {cells} cells are missing ({:.2}%)",
                share * 100.0
            ),
        ),
        Some("max_missing_share"),
    );
    let pii: u64 = report.pii.columns.iter().map(|f| f.count).sum();
    push(
        outcome(
            "pii",
            "warning",
            pii as f64,
            0.0,
            pii == 0,
            pii_message(report, None),
        ),
        Some("no_pii"),
    );
    if let Some((a, agreement)) = report
        .annotator_agreement
        .as_ref()
        .and_then(|a| a.percent_agreement.map(|p| (a, p)))
    {
        push(
            outcome(
                "annotator_agreement",
                "warning",
                agreement,
                0.8,
                agreement >= 0.8,
                format!(
                    "annotators {} agree on {} of {} rows labelled by all ({:.2}%){}",
                    a.annotators.join(", "),
                    a.agreeing_rows,
                    a.rows_compared,
                    agreement * 100.0,
                    match (a.cohen_kappa, a.fleiss_kappa) {
                        (Some(k), _) => format!(", Cohen's kappa {k:.3}"),
                        (None, Some(k)) => format!(", Fleiss' kappa {k:.3}"),
                        _ => String::new(),
                    }
                ),
            ),
            None,
        );
    }
    // A streamed run: these read checks that saw the row sample only.
    if let Some(sampling) = report.sampling.as_ref().filter(|s| s.rows_sampled < s.rows_total) {
        for d in &mut out {
            if SAMPLED_DEFAULTS.contains(&d.outcome.rule.as_str()) {
                d.outcome.message.push_str(&format!(
                    " (on a uniform sample of {} of the file's {} rows)",
                    sampling.rows_sampled, sampling.rows_total
                ));
            }
        }
    }
    out
}

/// Default rules that read checks a streamed run makes on its row sample.
const SAMPLED_DEFAULTS: [&str; 4] = ["conflicting_labels", "text_duplicate_share", "outlier_share", "annotator_agreement"];

fn on_column(mut outcome: RuleOutcome, column: &str) -> RuleOutcome {
    outcome.column = Some(column.to_string());
    outcome
}

/// Redundant exact duplicate rows / rows.
pub fn duplicate_share(report: &Report) -> f64 {
    report.duplicates.exact.redundant_rows as f64 / (report.source.rows as f64).max(1.0)
}

/// Missing cells and all cells, over every column.
pub fn missing_cells(report: &Report) -> (u64, u64) {
    let cells: u64 = report.columns.iter().map(|c| c.count + c.missing).sum();
    let missing: u64 = report.columns.iter().map(|c| c.missing).sum();
    (missing, cells)
}

/// What the PII scan found of `kinds` (`None`: every kind), for the `pii`
/// and `no_pii` rules: the findings by column and kind, or that there were
/// none, with the columns whose names suggest personal data.
pub fn pii_message(report: &Report, kinds: Option<&[String]>) -> String {
    let wanted = |kind: &str| kinds.is_none_or(|k| k.iter().any(|w| w == kind));
    let found: Vec<_> = report
        .pii
        .columns
        .iter()
        .filter(|f| wanted(&f.kind))
        .collect();
    let which = match kinds {
        Some(k) => format!("PII of kind {}", k.join(", ")),
        None => "PII".to_string(),
    };
    let mut message = if found.is_empty() {
        format!(
            "no {which} found in {} values scanned",
            report.pii.values_scanned
        )
    } else {
        let total: u64 = found.iter().map(|f| f.count).sum();
        let listed: Vec<String> = found
            .iter()
            .take(6)
            .map(|f| {
                format!(
                    "{} in {:?} ({} values, {:.1}%)",
                    f.kind,
                    f.column,
                    f.count,
                    f.share * 100.0
                )
            })
            .collect();
        let more = if found.len() > listed.len() {
            format!("; {} more findings", found.len() - listed.len())
        } else {
            String::new()
        };
        format!("{total} values hold {which}: {}{more}", listed.join(", "))
    };
    let hints: Vec<_> = report
        .pii
        .name_hints
        .iter()
        .filter(|h| wanted(&h.kind))
        .collect();
    if !hints.is_empty() {
        let names: Vec<String> = hints
            .iter()
            .take(6)
            .map(|h| format!("{:?} ({})", h.column, h.kind))
            .collect();
        message.push_str(&format!(
            "; column names that suggest personal data: {}",
            names.join(", ")
        ));
    }
    message
}
