//! The default rules and the verdict.
//!
//! Until rules files arrive (a later issue), these rules always apply:
//!
//! | rule | severity | passes when |
//! | --- | --- | --- |
//! | `has_rows` | error | at least one data row was read |
//! | `unusable_rows` | error | at most 1% of records were skipped as unusable |
//! | `duplicate_share` | warning | at most 5% of rows are redundant exact duplicates |
//! | `minority_classes` | warning | no class has a share below 0.1 / K |
//! | `conflicting_labels` | warning | no rows with identical features carry different labels |
//! | `outlier_share` | warning | at most 5% of scored rows are flagged outliers |
//! | `missing_share` | warning | at most 50% of all cells are missing |

use crate::report::{Report, RuleOutcome, Verdict};

fn rule(name: &str, severity: &str, value: f64, limit: f64, passed: bool, message: String) -> RuleOutcome {
    RuleOutcome { rule: name.into(), severity: severity.into(), value, limit, passed, message }
}

/// Evaluates the default rules on a report (everything but `verdict`).
pub fn default_verdict(report: &Report) -> Verdict {
    let rows = report.source.rows as f64;
    let mut rules = Vec::new();
    rules.push(rule(
        "has_rows",
        "error",
        rows,
        1.0,
        rows >= 1.0,
        format!("{} data rows", report.source.rows),
    ));
    let read = report.ingest.records_read.max(1) as f64;
    let skipped = report.ingest.rows_skipped as f64 / read;
    rules.push(rule(
        "unusable_rows",
        "error",
        skipped,
        0.01,
        skipped <= 0.01,
        format!(
            "{} of {} records could not be used ({:.2}%)",
            report.ingest.rows_skipped,
            report.ingest.records_read,
            skipped * 100.0
        ),
    ));
    let dup = report.duplicates.exact.redundant_rows as f64 / rows.max(1.0);
    rules.push(rule(
        "duplicate_share",
        "warning",
        dup,
        0.05,
        dup <= 0.05,
        format!("{} redundant exact duplicate rows ({:.2}%)", report.duplicates.exact.redundant_rows, dup * 100.0),
    ));
    if let Some(b) = &report.class_balance {
        let flagged = b.flagged_classes.len() as f64;
        rules.push(rule(
            "minority_classes",
            "warning",
            flagged,
            0.0,
            flagged == 0.0,
            if b.flagged_classes.is_empty() {
                format!("every class of {:?} has a share of at least {:.4}", b.label_column, b.flag_share_below)
            } else {
                format!(
                    "classes of {:?} below a share of {:.4}: {}",
                    b.label_column,
                    b.flag_share_below,
                    b.flagged_classes.join(", ")
                )
            },
        ));
    }
    if let Some(c) = report.conflicting_labels.as_ref().filter(|c| c.feature_columns > 0) {
        let groups = c.group_count as f64;
        rules.push(rule(
            "conflicting_labels",
            "warning",
            groups,
            0.0,
            c.group_count == 0,
            format!(
                "{} group{} of rows with identical features carry different labels of {:?} ({} rows; {} outvoted \
                 by their group's most common label)",
                c.group_count,
                if c.group_count == 1 { "" } else { "s" },
                c.label_column,
                c.rows_in_groups,
                c.rows_outvoted
            ),
        ));
    }
    // The text column with the largest share of repeated texts.
    let worst_text = report
        .text_duplicates
        .iter()
        .map(|t| (t, t.redundant_rows as f64 / t.rows_with_text.max(1) as f64))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((t, share)) = worst_text {
        rules.push(rule(
            "text_duplicate_share",
            "warning",
            share,
            0.05,
            share <= 0.05,
            format!(
                "{} of {} texts of {:?} repeat an earlier row's text exactly or nearly ({:.2}%)",
                t.redundant_rows,
                t.rows_with_text,
                t.column,
                share * 100.0
            ),
        ));
    }
    if let Some(o) = &report.outliers {
        let share = o.flagged as f64 / (o.rows_scored.max(1)) as f64;
        rules.push(rule(
            "outlier_share",
            "warning",
            share,
            0.05,
            share <= 0.05,
            format!("{} of {} scored rows are outliers ({:.2}%)", o.flagged, o.rows_scored, share * 100.0),
        ));
    }
    let cells: u64 = report.columns.iter().map(|c| c.count + c.missing).sum();
    let missing: u64 = report.columns.iter().map(|c| c.missing).sum();
    let share = missing as f64 / cells.max(1) as f64;
    rules.push(rule(
        "missing_share",
        "warning",
        share,
        0.5,
        share <= 0.5,
        format!("{missing} of {cells} cells are missing ({:.2}%)", share * 100.0),
    ));
    let failures = rules.iter().filter(|r| !r.passed && r.severity == "error").map(|r| format!("{}: {}", r.rule, r.message)).collect();
    let warnings = rules.iter().filter(|r| !r.passed && r.severity == "warning").map(|r| format!("{}: {}", r.rule, r.message)).collect();
    let passed = rules.iter().all(|r| r.passed || r.severity != "error");
    Verdict { passed, failures, warnings, rules }
}
