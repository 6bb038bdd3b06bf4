//! The shareable HTML report: one self-contained file that opens offline.
//!
//! [`report_html`] and [`compare_html`] turn a finished report into one
//! HTML document with its stylesheet inlined (`src/html.css`), charts as
//! inline SVG, no script, and a Content-Security-Policy that forbids every
//! fetch ([`CONTENT_SECURITY_POLICY`]): the file can be mailed or attached
//! to a ticket and shows the same thing everywhere.
//!
//! Everything taken from the report is escaped: column names and values are
//! user data. Personal data is masked by the core before the report is made
//! (`checks::pii`), so nothing here unmasks or re-reads the file; what this
//! module adds is the choice of [`HtmlOptions::include_rows`]: off (the
//! default), no value quoted from a data row is written (the values of
//! outlier, label-issue, neighbour, conflicting and leaked rows, and the
//! texts of text duplicates), only row ids, line numbers and counts.
//! Column summaries (top values, ranges, class names, categories) are
//! aggregates and are always shown.
//!
//! Sections this module does not know (added to the report later) are not
//! lost: each is written as its JSON, collapsed, with row values left out
//! by key name unless rows are included.

use crate::report::*;
use serde_json::Value;
use std::collections::BTreeSet;

/// The report's own Content-Security-Policy: nothing may be fetched, only
/// the inline stylesheet applies.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The inlined stylesheet.
const STYLE: &str = include_str!("html.css");

/// How the HTML report is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HtmlOptions {
    /// Quote values from data rows (flagged rows, neighbours, conflicting
    /// rows, duplicate texts, leaked rows). Off by default: a shared report
    /// then holds ids, line numbers and aggregates only.
    pub include_rows: bool,
}

/// Rows listed in tables of the report before the rest is summarised.
const CLASSES_CHARTED: usize = 40;
/// Top values shown per column.
const TOP_VALUES_SHOWN: usize = 5;

/// Keys of unknown sections whose values are quoted from data rows: left
/// out of the JSON fallback unless rows are included.
const ROW_VALUE_KEYS: &[&str] = &["values", "text", "texts", "row_values", "candidate_text", "reference_text", "raw"];

/// The single-file report as one HTML document.
pub fn report_html(report: &Report, options: &HtmlOptions) -> String {
    let mut h = Html::with_header(&format!("preflight report: {}", report.source.name), "preflight report");
    h.leaf("strong", &[("data-testid", "report-file")], &report.source.name);
    h.text(&format!(
        " · {} rows × {} columns · {} {} · report schema {}",
        int(report.source.rows),
        int(report.source.columns),
        report.tool.name,
        report.tool.version,
        report.schema_version
    ));
    let ctx = h.header_end(options);
    report_body(&mut h, report, &ctx);
    h.footer(&report.tool);
    h.document_end()
}

/// The comparison report (`preflight compare`) as one HTML document: what
/// differs first, then each file's full report.
pub fn compare_html(report: &CompareReport, options: &HtmlOptions) -> String {
    let c = &report.comparison;
    let mut h =
        Html::with_header(&format!("preflight comparison: {} with {}", c.reference, c.candidate), "preflight comparison");
    h.text("reference ");
    h.leaf("strong", &[("data-testid", "reference-file")], &c.reference);
    h.text(&format!(" ({} rows) · candidate ", int(c.reference_rows)));
    h.leaf("strong", &[("data-testid", "candidate-file")], &c.candidate);
    h.text(&format!(
        " ({} rows) · {} {} · comparison schema {}",
        int(c.candidate_rows),
        report.tool.name,
        report.tool.version,
        report.schema_version
    ));
    let ctx = h.header_end(options);
    verdict_section(&mut h, &report.verdict, &ctx, "Verdict of the comparison");
    compare_thresholds(&mut h, &c.thresholds, &ctx);
    schema_section(&mut h, &c.schema, &ctx);
    leakage_section(&mut h, c, &ctx);
    drift_section(&mut h, c, &ctx);
    label_shift_section(&mut h, c.label_shift.as_ref(), &ctx);
    dataset_drift_section(&mut h, c.dataset_drift.as_ref(), &ctx);
    let value = to_value(c);
    other_sections(
        &mut h,
        &value,
        &[
            "reference",
            "candidate",
            "reference_rows",
            "candidate_rows",
            "thresholds",
            "schema",
            "leakage",
            "drift",
            "drift_not_computed",
            "label_shift",
            "dataset_drift",
            "text_leakage",
        ],
        &ctx,
    );
    let top = to_value(report);
    other_sections(&mut h, &top, &["schema_version", "tool", "reference", "candidate", "comparison", "verdict"], &ctx);
    for (which, file) in [("reference", &report.reference), ("candidate", &report.candidate)] {
        let id = format!("{which}-report");
        h.open("section", &[("class", "file-report"), ("id", &id), ("data-testid", &id)]);
        h.leaf("h2", &[], &format!("The {which} file's report: {}", file.source.name));
        let inner = Ctx { include_rows: options.include_rows, prefix: format!("{which}-"), level: 3 };
        report_body(&mut h, file, &inner);
        h.close("section");
    }
    h.footer(&report.tool);
    h.document_end()
}

/// Where a report body is written: inside a compare report, section ids are
/// prefixed and headings one level down.
struct Ctx {
    include_rows: bool,
    prefix: String,
    level: u8,
}

impl Ctx {
    fn heading(&self) -> &'static str {
        if self.level <= 2 {
            "h2"
        } else {
            "h3"
        }
    }

    fn subheading(&self) -> &'static str {
        if self.level <= 2 {
            "h3"
        } else {
            "h4"
        }
    }
}

/// Every section of a single-file report, in the page's order.
fn report_body(h: &mut Html, report: &Report, ctx: &Ctx) {
    let names: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    verdict_section(h, &report.verdict, ctx, "Verdict");
    overview_section(h, report, ctx);
    pii_section(h, &report.pii, ctx);
    columns_section(h, &report.columns, ctx);
    duplicates_section(h, &report.duplicates, ctx);
    text_duplicates_section(h, &report.text_duplicates, ctx);
    class_balance_section(h, report.class_balance.as_ref(), ctx);
    conflicts_section(h, report.conflicting_labels.as_ref(), &names, ctx);
    embedding_section(h, report.embedding.as_ref(), ctx);
    outliers_section(h, report.outliers.as_ref(), &names, ctx);
    label_issues_section(h, report.label_issues.as_ref(), &names, ctx);
    let value = to_value(report);
    other_sections(
        h,
        &value,
        &[
            "schema_version",
            "tool",
            "source",
            "ingest",
            "columns",
            "duplicates",
            "text_duplicates",
            "class_balance",
            "conflicting_labels",
            "embedding",
            "outliers",
            "label_issues",
            "verdict",
            "compute",
            "pii",
        ],
        ctx,
    );
    compute_section(h, &report.compute, ctx);
}

// ---------------------------------------------------------------- sections

fn verdict_section(h: &mut Html, verdict: &Verdict, ctx: &Ctx, title: &str) {
    let id = format!("{}section-verdict", ctx.prefix);
    let class = if verdict.passed { "verdict passed" } else { "verdict failed" };
    let passed = verdict.passed.to_string();
    h.open("section", &[("class", class), ("id", &id), ("data-testid", "verdict"), ("data-passed", &passed)]);
    h.leaf(ctx.heading(), &[], &format!("{title}: {}", if verdict.passed { "passed" } else { "FAILED" }));
    if !verdict.failures.is_empty() {
        h.open("ul", &[("class", "failures"), ("data-testid", "verdict-failures")]);
        for f in &verdict.failures {
            h.leaf("li", &[], &format!("error: {f}"));
        }
        h.close("ul");
    }
    if !verdict.warnings.is_empty() {
        h.open("ul", &[("class", "warnings"), ("data-testid", "verdict-warnings")]);
        for w in &verdict.warnings {
            h.leaf("li", &[], &format!("warning: {w}"));
        }
        h.close("ul");
    }
    if verdict.failures.is_empty() && verdict.warnings.is_empty() {
        h.leaf("p", &[], "No rule failed.");
    }
    if verdict.rules.is_empty() {
        h.leaf("p", &[("class", "muted")], "No rule was evaluated.");
    } else {
        h.leaf(ctx.subheading(), &[], &format!("Every rule ({})", verdict.rules.len()));
        h.table("rules", &["rule", "column", "severity", "source", "value", "limit", "outcome", "message"]);
        for r in &verdict.rules {
            let class =
                if r.passed { "rule-passed".to_string() } else { format!("rule-failed severity-{}", r.severity) };
            h.open("tr", &[("class", &class), ("data-testid", "rule"), ("data-rule", &r.rule)]);
            h.td(&r.rule);
            h.td(r.column.as_deref().unwrap_or("–"));
            h.td(&r.severity);
            h.td(&r.source);
            h.td_num(&num(r.value));
            h.td_num(&num(r.limit));
            h.td(if r.passed { "held" } else { "failed" });
            h.td(&r.message);
            h.close("tr");
        }
        h.table_end();
    }
    h.close("section");
}

fn overview_section(h: &mut Html, report: &Report, ctx: &Ctx) {
    let s = &report.source;
    let i = &report.ingest;
    h.section(ctx, "overview", "Source and reading");
    h.open("div", &[("class", "stats")]);
    h.stat("stat-rows", "rows", &s.rows.to_string(), &int(s.rows));
    h.stat("stat-columns", "columns", &s.columns.to_string(), &int(s.columns));
    h.stat("stat-bytes", "bytes", &s.bytes.to_string(), &bytes(s.bytes));
    h.stat("stat-rows-skipped", "rows skipped", &i.rows_skipped.to_string(), &int(i.rows_skipped));
    h.stat("stat-rows-padded", "rows padded", &i.rows_padded.to_string(), &int(i.rows_padded));
    h.close("div");
    h.open("div", &[("class", "two-col")]);
    let mut facts = vec![
        ("File", s.name.clone()),
        ("Format", s.format.clone()),
        ("Size", format!("{} ({} bytes)", bytes(s.bytes), int(s.bytes))),
    ];
    if let Some(d) = &s.delimiter {
        facts.push(("Delimiter", delimiter_name(d)));
    }
    if let Some(header) = s.header {
        facts.push(("Header row", yes_no(header).to_string()));
    }
    facts.push(("Byte order mark", if s.bom { "yes (removed)".into() } else { "no".into() }));
    facts.push(("Line ending", line_ending_name(&s.line_ending)));
    h.facts("source", &facts);
    h.facts(
        "ingest-accounting",
        &[
            ("Records read", int(i.records_read)),
            ("Rows used", int(i.rows_used)),
            ("Rows skipped", int(i.rows_skipped)),
            ("Rows padded (short, filled as missing)", int(i.rows_padded)),
            ("Rows with invalid UTF-8 (kept, bytes replaced)", int(i.rows_invalid_utf8)),
            ("Blank lines ignored", int(i.blank_lines)),
        ],
    );
    h.close("div");
    if !i.issue_counts.is_empty() || !i.issues.is_empty() {
        h.leaf(ctx.subheading(), &[], "Reading issues");
        if !i.issue_counts.is_empty() {
            let counts: Vec<String> =
                i.issue_counts.iter().map(|(k, n)| format!("{}: {}", humanise(k), int(*n))).collect();
            h.leaf("p", &[("data-testid", "ingest-issue-counts")], &counts.join(", "));
        }
        if !i.issues.is_empty() {
            h.table("ingest-issues", &["line", "row", "column", "kind", "what happened"]);
            for issue in &i.issues {
                let line = issue.line.to_string();
                h.open("tr", &[("data-testid", "ingest-issue"), ("data-line", &line), ("data-kind", &issue.kind)]);
                h.td_num(&format!("line {}", issue.line));
                h.td_num(&issue.row.map_or("–".to_string(), |r| r.to_string()));
                h.td_num(&issue.column.map_or("–".to_string(), |c| c.to_string()));
                h.td(&humanise(&issue.kind));
                h.td(&issue.message);
                h.close("tr");
            }
            h.table_end();
            let total: u64 = i.issue_counts.values().sum();
            if total > i.issues.len() as u64 {
                h.note(&format!("Showing the first {} of {} issues.", i.issues.len(), int(total)));
            }
        }
    }
    h.close("section");
}

fn pii_section(h: &mut Html, pii: &Pii, ctx: &Ctx) {
    h.section(ctx, "pii", "Personal data");
    h.open("div", &[("class", "stats")]);
    let found: u64 = pii.kinds.values().sum();
    h.stat("stat-pii-values", "values with personal data", &found.to_string(), &int(found));
    h.stat("stat-pii-scanned", "values scanned", &pii.values_scanned.to_string(), &int(pii.values_scanned));
    h.close("div");
    if pii.kinds.values().any(|&n| n > 0) {
        let kinds: Vec<String> =
            pii.kinds.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{}: {}", kind_name(k), int(*n))).collect();
        h.leaf("p", &[], &format!("By kind: {}.", kinds.join(", ")));
    }
    if pii.columns.is_empty() {
        h.note("No email address, phone number, payment card, IBAN, US social security number or IP address was found in the values.");
    } else {
        h.note("Examples are masked: this report never shows a personal value in full.");
        h.table("pii-findings", &["column", "kind", "values", "share", "rows", "examples (masked)"]);
        for f in &pii.columns {
            h.open("tr", &[("data-testid", "pii-finding"), ("data-column", &f.column), ("data-kind", &f.kind)]);
            h.th_row(&f.column);
            h.td(&kind_name(&f.kind));
            h.td_num(&int(f.count));
            h.td_num(&pct(f.share));
            h.td_num(&int(f.rows));
            h.open("td", &[]);
            h.values_inline(&f.examples);
            h.close("td");
            h.close("tr");
        }
        h.table_end();
    }
    if !pii.name_hints.is_empty() {
        h.leaf(ctx.subheading(), &[], "Column names that suggest personal data");
        h.table("pii-name-hints", &["column", "suggests", "because of"]);
        for hint in &pii.name_hints {
            h.open("tr", &[("data-testid", "pii-name-hint"), ("data-column", &hint.column)]);
            h.th_row(&hint.column);
            h.td(&humanise(&hint.kind));
            h.td(&hint.reason);
            h.close("tr");
        }
        h.table_end();
    }
    h.close("section");
}

fn columns_section(h: &mut Html, columns: &[ColumnProfile], ctx: &Ctx) {
    h.section(ctx, "columns", &format!("Columns ({})", columns.len()));
    if columns.is_empty() {
        h.note("No columns.");
        h.close("section");
        return;
    }
    h.table("columns-table", &["column", "type", "missing", "distinct", "summary", "distribution", "alerts"]);
    for c in columns {
        let ty = c.column_type.name();
        h.open("tr", &[("data-testid", "column-row"), ("data-column", &c.name), ("data-type", ty)]);
        h.th_row(&c.name);
        h.open("td", &[]);
        h.leaf("span", &[("class", "type")], ty);
        h.close("td");
        h.open("td", &[("class", "num")]);
        h.text(&int(c.missing));
        h.leaf("div", &[("class", "muted")], &pct(c.missing_share));
        h.close("td");
        h.td_num(&format!("{}{}", estimated(c, "distinct"), int(c.distinct)));
        h.open("td", &[]);
        column_summary(h, c);
        h.close("td");
        h.open("td", &[]);
        match &c.numeric {
            Some(n) => histogram_svg(h, &n.histogram, &c.name),
            None => top_values(h, &c.top_values, c.count, estimated(c, "top_values"), c.top_values_overcount.unwrap_or(0)),
        }
        h.close("td");
        h.open("td", &[]);
        if c.alerts.is_empty() {
            h.leaf("span", &[("class", "muted")], "none");
        } else {
            for a in &c.alerts {
                h.open("span", &[("class", "alert"), ("data-kind", &a.kind)]);
                h.leaf("strong", &[], &humanise(&a.kind));
                h.text(&format!(": {}", a.message));
                h.close("span");
            }
        }
        h.close("td");
        h.close("tr");
    }
    h.table_end();
    h.close("section");
}

fn column_summary(h: &mut Html, c: &ColumnProfile) {
    if let Some(n) = &c.numeric {
        h.leaf("div", &[], &format!("min {} · mean {} · max {}", num(n.min), num(n.mean), num(n.max)));
        let median = n.quantiles.get("0.5").copied().map_or("–".to_string(), num);
        let quartiles = match (n.quantiles.get("0.25"), n.quantiles.get("0.75")) {
            (Some(a), Some(b)) => format!(" · quartiles {} – {}", num(*a), num(*b)),
            _ => String::new(),
        };
        h.leaf(
            "div",
            &[("class", "muted")],
            &format!(
                "std {} · median {}{} · skew {} · zeros {} · negatives {}",
                num(n.std),
                median,
                quartiles,
                num(n.skewness),
                int(n.zeros),
                int(n.negatives)
            ),
        );
    } else if let Some(d) = &c.datetime {
        h.open("div", &[]);
        h.text("from ");
        h.leaf("span", &[("class", "value")], &d.min);
        h.text(" to ");
        h.leaf("span", &[("class", "value")], &d.max);
        h.close("div");
    } else if let Some(v) = &c.vector {
        h.leaf("div", &[], &format!("dimension {}", int(v.dimension)));
        if v.mismatched > 0 {
            h.leaf("div", &[("class", "warn")], &format!("{} rows of another length", int(v.mismatched)));
        }
    }
    if let Some(l) = &c.lengths {
        h.leaf("div", &[("class", "muted")], &format!("length {}–{}, mean {}", int(l.min), int(l.max), num(l.mean)));
    }
    let kinds: Vec<String> =
        c.value_kinds.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {}", int(*n))).collect();
    if kinds.len() > 1 {
        h.leaf("div", &[("class", "muted")], &format!("values: {}", kinds.join(", ")));
    }
}

/// "≈ " before a streamed column's estimated figure (its `approximate`
/// lists `field`), as the page writes it.
fn estimated(c: &ColumnProfile, field: &str) -> &'static str {
    if c.approximate.iter().any(|f| f == field) {
        "≈ "
    } else {
        ""
    }
}

/// A top value's count: a range where the counts are upper bounds at most
/// `overcount` above the truth (a streamed column's Space-Saving summary),
/// else the count after `approx` ("≈ " for an estimate), as the page writes it.
fn count_text(n: u64, overcount: u64, approx: &str) -> String {
    if overcount > 0 {
        format!("{}–{}", int(n.saturating_sub(overcount).max(1)), int(n))
    } else {
        format!("{approx}{}", int(n))
    }
}

fn top_values(h: &mut Html, values: &[ValueCount], count: u64, approx: &str, overcount: u64) {
    if values.is_empty() {
        h.leaf("span", &[("class", "muted")], "–");
        return;
    }
    h.open("ol", &[("class", "top-values")]);
    for v in values.iter().take(TOP_VALUES_SHOWN) {
        h.open("li", &[]);
        h.value(&v.value);
        let share = if count > 0 { v.count as f64 / count as f64 } else { 0.0 };
        h.text(&format!(" {} ({})", count_text(v.count, overcount, approx), pct(share)));
        h.close("li");
    }
    h.close("ol");
    if values.len() > TOP_VALUES_SHOWN {
        h.leaf("div", &[("class", "muted")], &format!("… {} more in the JSON report", values.len() - TOP_VALUES_SHOWN));
    }
}

fn duplicates_section(h: &mut Html, d: &Duplicates, ctx: &Ctx) {
    let e = &d.exact;
    h.section(ctx, "duplicates", "Duplicate rows");
    h.open("div", &[("class", "stats")]);
    h.stat("stat-exact-redundant", "redundant rows", &e.redundant_rows.to_string(), &int(e.redundant_rows));
    h.stat("stat-exact-groups", "groups of identical rows", &e.group_count.to_string(), &int(e.group_count));
    h.stat("stat-near-groups", "near-duplicate groups", &d.near.group_count.to_string(), &int(d.near.group_count));
    h.close("div");
    h.leaf(ctx.subheading(), &[], "Identical rows");
    let mut facts = vec![
        ("Method", e.method.clone()),
        ("Rows in groups", int(e.rows_in_groups)),
        ("Redundant rows (could be removed)", int(e.redundant_rows)),
        ("Values normalised", yes_no(e.normalized).to_string()),
    ];
    if !e.normalization.is_empty() {
        facts.push(("Normalisation", e.normalization.join("; ")));
    }
    h.facts("exact-duplicates", &facts);
    row_groups(h, &e.groups, e.groups_not_listed, "exact-group");
    if let Some(i) = &e.ignoring_identifiers {
        h.leaf(ctx.subheading(), &[], "Identical once identifier columns are left out");
        let ignored: Vec<String> = i.columns_ignored.iter().map(|c| format!("{} ({})", c.column, c.reason)).collect();
        h.facts(
            "duplicates-ignoring-identifiers",
            &[
                ("Columns left out", ignored.join("; ")),
                ("Method", i.method.clone()),
                ("Groups", int(i.group_count)),
                ("Rows in groups", int(i.rows_in_groups)),
                ("Redundant rows", int(i.redundant_rows)),
                ("Of them, not already identical rows", int(i.additional_redundant_rows)),
            ],
        );
        row_groups(h, &i.groups, i.groups_not_listed, "id-free-group");
    }
    let n = &d.near;
    h.leaf(ctx.subheading(), &[], "Near duplicates");
    let mut facts = vec![("Method", n.method.clone())];
    if let Some(t) = n.threshold {
        facts.push(("Distance below", num(t)));
    }
    facts.push(("Groups", int(n.group_count)));
    facts.push(("Rows in groups", int(n.rows_in_groups)));
    h.facts("near-duplicates", &facts);
    let listed = n.groups.len() as u64;
    row_groups(h, &n.groups, n.group_count.saturating_sub(listed), "near-group");
    h.close("section");
}

fn row_groups(h: &mut Html, groups: &[RowGroup], not_listed: u64, testid: &str) {
    if groups.is_empty() {
        if not_listed == 0 {
            h.note("None.");
        }
    } else {
        h.table(testid, &["#", "size", "rows (file line)"]);
        for (i, g) in groups.iter().enumerate() {
            h.open("tr", &[("data-testid", testid)]);
            h.td_num(&(i + 1).to_string());
            h.td_num(&int(g.size));
            h.td(&row_list(&g.rows, &g.lines, g.size));
            h.close("tr");
        }
        h.table_end();
    }
    if not_listed > 0 {
        groups_not_listed(h, not_listed, " (see the per-row CSV)");
    }
}

fn text_duplicates_section(h: &mut Html, sections: &[TextDuplicates], ctx: &Ctx) {
    h.section(ctx, "text-duplicates", "Duplicate texts");
    if sections.is_empty() {
        h.note("No free-text column was checked.");
    }
    for t in sections {
        h.leaf(ctx.subheading(), &[], &format!("Column {}", quoted(&t.column)));
        let mut facts = vec![
            ("Why checked", t.reason.clone()),
            ("Method", t.method.clone()),
            ("Normalisation", t.normalization.clone()),
            (
                "MinHash",
                format!(
                    "{}-character shingles, {} permutations, {} bands × {} rows, Jaccard ≥ {}",
                    t.shingle_size,
                    t.permutations,
                    t.bands,
                    t.rows_per_band,
                    num(t.threshold)
                ),
            ),
        ];
        facts.extend(engine_facts(&t.engine, t.engine_note.as_deref()));
        facts.extend([
            ("Rows with text", int(t.rows_with_text)),
            ("Redundant rows (texts repeated exactly or nearly)", int(t.redundant_rows)),
            ("Distinct texts", int(t.distinct_texts)),
            ("Texts shorter than a shingle", int(t.short_texts)),
            (
                "Candidate pairs / verified / unverified",
                format!("{} / {} / {}", int(t.candidate_pairs), int(t.verified_pairs), int(t.unverified_pairs)),
            ),
        ]);
        h.facts("text-duplicates-facts", &facts);
        for (kind, groups) in [("exact", &t.exact), ("near", &t.near)] {
            h.leaf(
                "p",
                &[],
                &format!(
                    "{} duplicates: {} group{}, {} rows in groups, {} redundant.",
                    if kind == "exact" { "Exact" } else { "Near" },
                    int(groups.group_count),
                    plural(groups.group_count),
                    int(groups.rows_in_groups),
                    int(groups.redundant_rows)
                ),
            );
            if groups.groups.is_empty() {
                continue;
            }
            let mut head = vec!["#", "size", "rows (file line)", "distinct texts", "Jaccard"];
            if ctx.include_rows {
                head.push("texts");
            }
            h.table(&format!("text-{kind}-groups"), &head);
            for (i, g) in groups.groups.iter().enumerate() {
                h.open("tr", &[("data-testid", "text-group"), ("data-kind", kind)]);
                h.td_num(&(i + 1).to_string());
                h.td_num(&int(g.size));
                h.td(&row_list(&g.rows, &g.lines, g.size));
                h.td_num(&int(g.distinct_texts));
                h.td_num(&if g.min_jaccard == g.max_jaccard {
                    num(g.max_jaccard)
                } else {
                    format!("{} – {}", num(g.min_jaccard), num(g.max_jaccard))
                });
                if ctx.include_rows {
                    h.open("td", &[]);
                    for example in &g.texts {
                        h.open("div", &[]);
                        h.leaf(
                            "span",
                            &[("class", "muted")],
                            &format!("row {} (line {}): ", example.row, example.line),
                        );
                        h.value(&example.text);
                        h.close("div");
                    }
                    h.close("td");
                }
                h.close("tr");
            }
            h.table_end();
            if groups.group_count > groups.groups.len() as u64 {
                let left = groups.group_count - groups.groups.len() as u64;
                groups_not_listed(h, left, "");
            }
        }
    }
    h.close("section");
}

fn class_balance_section(h: &mut Html, balance: Option<&ClassBalance>, ctx: &Ctx) {
    let Some(b) = h.section_or_note(ctx, "class-balance", "Class balance", balance, "No label column was found or chosen (CLI --label, the page's options).") else {
        return;
    };
    h.open("div", &[("class", "stats")]);
    h.stat("stat-label-column", "label column", &b.label_column, &b.label_column);
    h.stat("stat-classes", "classes", &b.classes.len().to_string(), &int(b.classes.len() as u64));
    h.stat("stat-imbalance", "imbalance ratio", &b.imbalance_ratio.to_string(), &num(b.imbalance_ratio));
    h.close("div");
    let mut facts = vec![
        ("Label column", b.label_column.clone()),
        ("Why this column", b.reason.clone()),
        ("Labelled rows", int(b.labelled_rows)),
        ("Rows without a label", int(b.missing)),
        ("Largest / smallest class", num(b.imbalance_ratio)),
        ("Normalised entropy (1 = balanced)", num(b.normalized_entropy)),
        ("Classes flagged below share", pct(b.flag_share_below)),
    ];
    if b.multi_label {
        let assignments: u64 = b.counts.values().sum();
        facts.push(("Multi-label", format!("yes: {} labels on {} rows", int(assignments), int(b.labelled_rows))));
    }
    h.facts("class-balance-facts", &facts);
    class_chart(h, b);
    h.table("classes", &["class", "rows", "share", "flagged"]);
    for c in &b.classes {
        let flagged = c.flagged.to_string();
        h.open("tr", &[("data-testid", "class-row"), ("data-class", &c.class), ("data-flagged", &flagged)]);
        h.open("th", &[("scope", "row")]);
        h.value(&c.class);
        h.close("th");
        h.td_num(&int(c.count));
        h.td_num(&pct(c.share));
        h.td(if c.flagged { "minority" } else { "" });
        h.close("tr");
    }
    h.table_end();
    if !b.singletons.is_empty() {
        h.open("p", &[]);
        h.text("Classes seen once: ");
        h.values_inline(&b.singletons);
        h.close("p");
    }
    for v in &b.case_variants {
        h.open("p", &[("data-testid", "case-variants")]);
        h.text(&format!("Likely one class written {} ways ({} rows): ", v.classes.len(), int(v.count)));
        let names: Vec<String> = v.classes.iter().map(|c| format!("{} ({})", quoted(&c.class), int(c.count))).collect();
        h.text(&names.join(", "));
        h.close("p");
    }
    h.close("section");
}

/// Horizontal bars of the class counts, largest first.
fn class_chart(h: &mut Html, b: &ClassBalance) {
    let shown = &b.classes[..b.classes.len().min(CLASSES_CHARTED)];
    if shown.is_empty() {
        return;
    }
    let variants: BTreeSet<&str> =
        b.case_variants.iter().flat_map(|v| v.classes.iter().map(|c| c.class.as_str())).collect();
    let (label_width, bar_width, row) = (170.0, 360.0, 18.0);
    let width = label_width + bar_width + 70.0;
    let height = row * shown.len() as f64 + 4.0;
    let max = shown.iter().map(|c| c.count).max().unwrap_or(1).max(1) as f64;
    let (w, ht) = (fmt2(width), fmt2(height));
    let view = format!("0 0 {w} {ht}");
    let label = format!("Rows per class, {} of {} classes, largest first", shown.len(), b.classes.len());
    h.open("svg", &svg_attrs(&view, &w, &ht, "class-chart", &label));
    h.leaf("title", &[], &label);
    for (i, c) in shown.iter().enumerate() {
        let y = i as f64 * row + 2.0;
        let length = if c.count > 0 { (c.count as f64 / max * bar_width).max(1.0) } else { 0.0 };
        let class = if c.flagged {
            "bar flagged"
        } else if variants.contains(c.class.as_str()) {
            "bar variant"
        } else {
            "bar"
        };
        let name = clip(&display_class(&c.class), 26);
        h.leaf("text", &[("x", &fmt2(label_width - 6.0)), ("y", &fmt2(y + row * 0.7)), ("text-anchor", "end")], &name);
        h.open(
            "rect",
            &[
                ("class", class),
                ("x", &fmt2(label_width)),
                ("y", &fmt2(y + 2.0)),
                ("width", &fmt2(length)),
                ("height", &fmt2(row - 4.0)),
                ("data-testid", "class-bar"),
                ("data-class", &c.class),
                ("data-count", &c.count.to_string()),
            ],
        );
        h.leaf("title", &[], &format!("{}: {} ({})", display_class(&c.class), int(c.count), pct(c.share)));
        h.close("rect");
        h.leaf(
            "text",
            &[("class", "tick"), ("x", &fmt2(label_width + length + 4.0)), ("y", &fmt2(y + row * 0.7))],
            &format!("{} ({})", int(c.count), pct(c.share)),
        );
    }
    h.empty(
        "line",
        &[
            ("class", "axis"),
            ("x1", &fmt2(label_width - 0.5)),
            ("y1", "0"),
            ("x2", &fmt2(label_width - 0.5)),
            ("y2", &ht),
        ],
    );
    h.close("svg");
    if b.classes.len() > shown.len() {
        h.note(&format!(
            "The chart shows the {} largest of {} classes; the table lists all.",
            shown.len(),
            b.classes.len()
        ));
    }
}

fn conflicts_section(h: &mut Html, conflicts: Option<&ConflictingLabels>, names: &[&str], ctx: &Ctx) {
    let Some(c) = h.section_or_note(ctx, "conflicts", "Conflicting labels", conflicts, "Not checked: there is no label column.") else {
        return;
    };
    let ignored: Vec<String> = c.columns_ignored.iter().map(|e| format!("{} ({})", e.column, e.reason)).collect();
    h.facts(
        "conflicts-facts",
        &[
            ("Label column", c.label_column.clone()),
            ("Method", c.method.clone()),
            ("Values normalised", yes_no(c.normalized).to_string()),
            ("Feature columns compared", int(c.feature_columns)),
            ("Columns left out", if ignored.is_empty() { "none".into() } else { ignored.join("; ") }),
            ("Groups (identical features, different labels)", int(c.group_count)),
            ("Rows in groups", int(c.rows_in_groups)),
            ("Rows outvoted in their group", int(c.rows_outvoted)),
        ],
    );
    if !c.groups.is_empty() {
        let mut head = vec!["#", "size", "rows (file line)", "labels"];
        if ctx.include_rows {
            head.push("feature values (first row)");
        }
        h.table("conflict-groups", &head);
        for (i, g) in c.groups.iter().enumerate() {
            h.open("tr", &[("data-testid", "conflict-group")]);
            h.td_num(&(i + 1).to_string());
            h.td_num(&int(g.size));
            h.td(&row_list(&g.rows, &g.lines, g.size));
            let labels: Vec<String> =
                g.labels.iter().map(|l| format!("{} ({})", quoted(&l.class), int(l.count))).collect();
            h.td(&labels.join(", "));
            if ctx.include_rows {
                h.open("td", &[]);
                h.row_values(names, &g.values);
                h.close("td");
            }
            h.close("tr");
        }
        h.table_end();
    }
    if c.groups_not_listed > 0 {
        groups_not_listed(h, c.groups_not_listed, "");
    }
    h.close("section");
}

fn embedding_section(h: &mut Html, embedding: Option<&Embedding>, ctx: &Ctx) {
    let Some(e) = h.section_or_note(ctx, "embedding", "How rows became vectors", embedding, "No row was embedded: the neighbour checks (near duplicates, outliers, label issues) did not run.") else {
        return;
    };
    let mut facts = vec![
        ("Dimension", int(e.dimension)),
        ("Rows embedded", int(e.rows)),
        ("Sampled", if e.sampled { "yes: a uniform sample of the rows".into() } else { "no: every row".into() }),
    ];
    if let Some(text) = embedding_text(e) {
        facts.push(("Text", text));
    }
    h.facts("embedding-facts", &facts);
    if !e.features.is_empty() {
        h.table("embedding-features", &["column", "encoding", "dimensions"]);
        for f in &e.features {
            h.open("tr", &[]);
            h.th_row(&f.column);
            h.td(&humanise(&f.encoding));
            h.td_num(&int(f.dimensions));
            h.close("tr");
        }
        h.table_end();
    }
    if !e.excluded.is_empty() {
        h.leaf("p", &[], "Columns left out:");
        excluded_list(h, &e.excluded);
    }
    h.close("section");
}

/// How text became vectors, when a text column did: by meaning (the
/// sentence model, where it ran, texts cut) or as hashed n-grams.
fn embedding_text(e: &Embedding) -> Option<String> {
    match e.method.as_deref()? {
        "semantic" => Some(format!(
            "by meaning: {} on the {}{}; {} texts cut at {} tokens{}{}",
            e.model.as_deref().unwrap_or("a sentence model"),
            if e.backend.as_deref() == Some("gpu") { "GPU" } else { "CPU" },
            e.adapter.as_ref().map(|a| format!(" ({a})")).unwrap_or_default(),
            int(e.truncated_texts.unwrap_or(0)),
            crate::semantic::MAX_TOKENS,
            e.rows_without_text.map(|n| format!("; {} rows without text left out", int(n))).unwrap_or_default(),
            e.note.as_ref().map(|n| format!(". {n}")).unwrap_or_default(),
        )),
        "hashed" => Some("hashed character 3-grams: copies with small edits are close, paraphrases are not".into()),
        other => Some(other.to_string()),
    }
}

fn outliers_section(h: &mut Html, outliers: Option<&Outliers>, names: &[&str], ctx: &Ctx) {
    let Some(o) = h.section_or_note(ctx, "outliers", "Outliers", outliers, "Not computed: no row could be embedded.") else {
        return;
    };
    h.facts(
        "outliers-facts",
        &[
            ("Rows flagged", format!("{} of {}", int(o.flagged), int(o.rows_scored))),
            ("Neighbours per row (k)", int(o.k)),
            ("Metric", o.metric.clone()),
            (
                "Flagged above mean kNN distance",
                format!("{} (Q3 + {} × IQR)", num(o.distance_threshold), num(o.iqr_factor)),
            ),
            ("Backend", o.backend.clone()),
        ],
    );
    if !o.extreme_values.is_empty() {
        h.note(&format!(
            "Extreme values ({} rows): 20 IQRs or more from the column's median, in a column where such values are rare or stand apart, or in a column of positive numbers a few values 4 or more times (and more than the rest spans) smaller or larger than all the others, as values in other units are; flagged whatever their neighbour distance.",
            int(o.extreme_rows)
        ));
        h.table("extreme-values", &["row (file line)", "column", "value", "IQRs from the median", "times apart from the rest"]);
        for x in &o.extreme_values {
            h.open("tr", &[]);
            h.td(&format!("{} (line {})", x.row, x.line));
            h.td(&x.column);
            h.td(&x.value);
            h.td_num(&num(x.iqrs));
            h.td_num(&x.times_apart.map_or(String::new(), |t| format!("{}×", num(t))));
            h.close("tr");
        }
        h.table_end();
    }
    flagged_rows(h, &o.top, names, false, "outlier-row", ctx);
    h.close("section");
}

fn label_issues_section(h: &mut Html, issues: Option<&LabelIssues>, names: &[&str], ctx: &Ctx) {
    let Some(l) = h.section_or_note(ctx, "label-issues", "Suspected label errors", issues, "Not checked: there is no label column, or no row could be embedded.") else {
        return;
    };
    let mut facts =
        vec![("Label column", l.label_column.clone()), ("Method", l.method.clone()), ("Rows flagged", int(l.flagged))];
    if !l.description.is_empty() {
        facts.push(("How", l.description.clone()));
    }
    h.facts("label-issues-facts", &facts);
    flagged_rows(h, &l.top, names, true, "label-issue-row", ctx);
    h.close("section");
}

fn flagged_rows(h: &mut Html, rows: &[FlaggedRow], names: &[&str], labels: bool, testid: &str, ctx: &Ctx) {
    if rows.is_empty() {
        h.note("No row to list.");
        return;
    }
    let mut head = vec!["row (file line)", "score", "distance", "flagged"];
    if labels {
        head.extend(["label", "suggested"]);
    }
    head.push("nearest neighbours");
    if ctx.include_rows {
        head.push("values");
    }
    h.table(&format!("{testid}s"), &head);
    for r in rows {
        let row = r.row.to_string();
        h.open("tr", &[("data-testid", testid), ("data-row", &row)]);
        h.td_num(&format!("row {} (line {})", r.row, r.line));
        h.td_num(&num(r.score));
        h.td_num(&num(r.distance));
        h.td(if r.flagged { "yes" } else { "no" });
        if labels {
            h.open("td", &[]);
            h.value(r.label.as_deref().unwrap_or(""));
            h.close("td");
            h.open("td", &[]);
            h.value(r.suggested_label.as_deref().unwrap_or(""));
            h.close("td");
        }
        h.open("td", &[]);
        if r.neighbour_rows.is_empty() {
            let ids: Vec<String> = r.neighbours.iter().map(|n| n.to_string()).collect();
            h.text(if ids.is_empty() { "–".to_string() } else { format!("rows {}", ids.join(", ")) }.as_str());
        } else {
            for n in &r.neighbour_rows {
                h.open("div", &[]);
                h.text(&format!("row {} (line {}), distance {}", n.row, n.line, num(n.distance)));
                if ctx.include_rows {
                    h.row_values(names, &n.values);
                }
                h.close("div");
            }
            let more = r.neighbours.len().saturating_sub(r.neighbour_rows.len());
            if more > 0 {
                let rest: Vec<String> = r.neighbours[r.neighbour_rows.len()..].iter().map(|n| n.to_string()).collect();
                h.leaf("div", &[("class", "muted")], &format!("and rows {}", rest.join(", ")));
            }
        }
        h.close("td");
        if ctx.include_rows {
            h.open("td", &[]);
            h.row_values(names, &r.values);
            h.close("td");
        }
        h.close("tr");
    }
    h.table_end();
}

fn compute_section(h: &mut Html, compute: &Compute, ctx: &Ctx) {
    h.section(ctx, "compute", "Compute");
    let mut facts = vec![("Backend of the kNN graph", compute.backend.clone())];
    if let Some(a) = &compute.adapter {
        facts.push(("GPU adapter", a.clone()));
    }
    if let Some(n) = &compute.note {
        facts.push(("Note", n.clone()));
    }
    h.facts("compute-facts", &facts);
    if !compute.timings_ms.is_empty() {
        h.table("timings", &["stage", "time"]);
        for (stage, ms) in &compute.timings_ms {
            h.open("tr", &[]);
            h.td(&humanise(stage));
            h.td_num(&milliseconds(*ms));
            h.close("tr");
        }
        h.table_end();
    }
    h.close("section");
}

// ---------------------------------------------------------------- compare

fn compare_thresholds(h: &mut Html, t: &CompareThresholds, ctx: &Ctx) {
    h.section(ctx, "thresholds", "Limits used");
    h.facts(
        "compare-thresholds",
        &[
            ("KS statistic (numeric drift)", num(t.ks)),
            ("p-value of the drift tests", num(t.alpha)),
            ("Population stability index", format!("{} over {} reference quantile bins", num(t.psi), t.psi_bins)),
            ("Jensen-Shannon distance (categorical drift, label shift)", num(t.js)),
            ("Change of the missing share", num(t.missing_change)),
            ("Whole-dataset drift score", num(t.dataset_drift)),
            ("Share of candidate rows that may copy the reference", pct(t.leakage_share)),
        ],
    );
    h.close("section");
}

fn schema_section(h: &mut Html, s: &SchemaDiff, ctx: &Ctx) {
    h.section(ctx, "schema", "Schema");
    h.open("div", &[("class", "stats")]);
    h.stat("stat-shared", "shared columns", &s.shared.len().to_string(), &int(s.shared.len() as u64));
    h.stat("stat-added", "added", &s.added.len().to_string(), &int(s.added.len() as u64));
    h.stat("stat-removed", "removed", &s.removed.len().to_string(), &int(s.removed.len() as u64));
    h.stat("stat-type-changed", "changed type", &s.type_changed.len().to_string(), &int(s.type_changed.len() as u64));
    h.close("div");
    for (title, names, testid) in [
        ("Only in the candidate (added)", &s.added, "schema-added"),
        ("Only in the reference (removed)", &s.removed, "schema-removed"),
    ] {
        if !names.is_empty() {
            h.open("p", &[("data-testid", testid)]);
            h.text(&format!("{title}: "));
            h.values_inline(names);
            h.close("p");
        }
    }
    if !s.type_changed.is_empty() {
        h.table("schema-type-changed", &["column", "reference type", "candidate type"]);
        for t in &s.type_changed {
            h.open("tr", &[]);
            h.th_row(&t.column);
            h.td(t.reference_type.name());
            h.td(t.candidate_type.name());
            h.close("tr");
        }
        h.table_end();
    }
    if !s.renamed.is_empty() {
        h.table("schema-renamed", &["reference column", "candidate column", "evidence"]);
        for r in &s.renamed {
            h.open("tr", &[]);
            h.td(&r.reference_column);
            h.td(&r.candidate_column);
            h.td(&r.evidence);
            h.close("tr");
        }
        h.table_end();
    }
    if s.added.is_empty() && s.removed.is_empty() && s.type_changed.is_empty() {
        h.note("Both files have the same columns with the same types.");
    }
    h.close("section");
}

fn leakage_section(h: &mut Html, c: &Comparison, ctx: &Ctx) {
    let l = &c.leakage;
    h.section(ctx, "leakage", "Leakage: candidate rows that copy reference rows");
    h.open("div", &[("class", "stats")]);
    h.stat("stat-leak-exact", "exact copies", &l.exact_rows.to_string(), &int(l.exact_rows));
    h.stat("stat-leak-share", "of the candidate", &l.exact_share.to_string(), &pct(l.exact_share));
    if let Some(near) = l.near_rows {
        h.stat("stat-leak-near", "near copies", &near.to_string(), &int(near));
    }
    h.close("div");
    let mut facts = vec![("Method", l.method.clone()), ("Columns compared", l.columns_compared.join(", "))];
    if !l.identifier_columns.is_empty() {
        facts.push((
            "Ignoring identifier columns",
            format!(
                "{}: {} rows ({})",
                l.identifier_columns.join(", "),
                int(l.exact_rows_ignoring_identifiers),
                pct(l.exact_share_ignoring_identifiers)
            ),
        ));
    }
    facts.push(("Near copies", l.near_method.clone()));
    h.facts("leakage-facts", &facts);
    if !l.pairs.is_empty() {
        let mut head = vec!["kind", "candidate row (line)", "reference row (line)", "distance"];
        if ctx.include_rows {
            head.push("candidate values");
        }
        h.table("leak-pairs", &head);
        for p in &l.pairs {
            h.open("tr", &[("data-testid", "leak-pair"), ("data-kind", &p.kind)]);
            h.td(&humanise(&p.kind));
            h.td_num(&format!("row {} (line {})", p.candidate_row, p.candidate_line));
            h.td_num(&format!("row {} (line {})", p.reference_row, p.reference_line));
            h.td_num(&p.distance.map_or("–".to_string(), num));
            if ctx.include_rows {
                h.open("td", &[]);
                h.values_inline(&p.values);
                h.close("td");
            }
            h.close("tr");
        }
        h.table_end();
    }
    for t in &c.text_leakage {
        h.leaf(ctx.subheading(), &[], &format!("Texts of {}", quoted(&t.column)));
        let mut facts = vec![
            ("Why checked", t.reason.clone()),
            ("Method", t.method.clone()),
            ("Jaccard at least", num(t.threshold)),
        ];
        facts.extend(engine_facts(&t.engine, t.engine_note.as_deref()));
        facts.extend([
            ("Candidate rows with text", int(t.candidate_rows_with_text)),
            ("Exact copies", int(t.exact_rows)),
            ("Near copies", int(t.near_rows)),
            ("Share of the candidate", pct(t.share)),
            ("Candidate pairs / kept", format!("{} / {}", int(t.candidate_pairs), int(t.kept_pairs))),
        ]);
        h.facts("text-leakage-facts", &facts);
        if !t.pairs.is_empty() {
            let mut head = vec!["kind", "candidate row (line)", "reference row (line)", "Jaccard"];
            if ctx.include_rows {
                head.extend(["candidate text", "reference text"]);
            }
            h.table("text-leak-pairs", &head);
            for p in &t.pairs {
                h.open("tr", &[("data-testid", "text-leak-pair"), ("data-kind", &p.kind)]);
                h.td(&p.kind);
                h.td_num(&format!("row {} (line {})", p.candidate_row, p.candidate_line));
                h.td_num(&format!("row {} (line {})", p.reference_row, p.reference_line));
                h.td_num(&num(p.jaccard));
                if ctx.include_rows {
                    h.open("td", &[]);
                    h.value(&p.candidate_text);
                    h.close("td");
                    h.open("td", &[]);
                    h.value(&p.reference_text);
                    h.close("td");
                }
                h.close("tr");
            }
            h.table_end();
        }
    }
    h.close("section");
}

fn drift_section(h: &mut Html, c: &Comparison, ctx: &Ctx) {
    h.section(ctx, "drift", "Drift per column, most drifted first");
    let flagged = c.drift.iter().filter(|d| d.flagged).count();
    h.leaf("p", &[], &format!("{flagged} of {} shared columns drifted beyond a limit.", c.drift.len()));
    h.open("p", &[("class", "muted")]);
    h.text("Charts: ");
    h.leaf("span", &[("class", "legend-reference")], "reference (filled)");
    h.text(", ");
    h.leaf("span", &[("class", "legend-candidate")], "candidate (outlined)");
    h.text(", as shares of each file's values.");
    h.close("p");
    if !c.drift.is_empty() {
        h.table("drift", &["column", "kind", "statistics", "missing", "score", "drifted", "distributions"]);
        for d in &c.drift {
            let flagged = d.flagged.to_string();
            h.open("tr", &[("data-testid", "drift-row"), ("data-column", &d.column), ("data-flagged", &flagged)]);
            h.th_row(&d.column);
            h.td(&d.kind);
            h.open("td", &[]);
            let mut stats = Vec::new();
            if let Some(v) = d.ks {
                stats.push(format!(
                    "KS {}{}",
                    num(v),
                    d.ks_p_value.map_or(String::new(), |p| format!(" (p {})", num(p)))
                ));
            }
            if let Some(v) = d.psi {
                stats.push(format!("PSI {}", num(v)));
            }
            if let Some(v) = d.js_distance {
                stats.push(format!(
                    "JS {}{}",
                    num(v),
                    d.chi_square_p_value.map_or(String::new(), |p| format!(" (χ² p {})", num(p)))
                ));
            }
            h.text(&stats.join(" · "));
            if !d.new_categories.is_empty() {
                h.open("div", &[]);
                h.text("new: ");
                h.values_inline(&d.new_categories);
                h.close("div");
            }
            if !d.vanished_categories.is_empty() {
                h.open("div", &[]);
                h.text("vanished: ");
                h.values_inline(&d.vanished_categories);
                h.close("div");
            }
            h.close("td");
            h.td_num(&format!("{} → {}", pct(d.missing_reference), pct(d.missing_candidate)));
            h.td_num(&num(d.score));
            h.td(if d.flagged { "yes" } else { "no" });
            h.open("td", &[]);
            overlaid_histogram_svg(h, &d.histogram, &d.column);
            h.close("td");
            h.close("tr");
        }
        h.table_end();
    }
    if !c.drift_not_computed.is_empty() {
        h.leaf("p", &[], "Shared columns without a drift statistic:");
        excluded_list(h, &c.drift_not_computed);
    }
    h.close("section");
}

fn label_shift_section(h: &mut Html, shift: Option<&LabelShift>, ctx: &Ctx) {
    let Some(s) = h.section_or_note(ctx, "label-shift", "Label shift", shift, "Not computed: no label column in both files.") else {
        return;
    };
    h.leaf(
        "p",
        &[],
        &format!(
            "Label {}: Jensen-Shannon distance {}{}.",
            quoted(&s.column),
            num(s.js_distance),
            if s.flagged { " (shifted beyond the limit)" } else { "" }
        ),
    );
    let classes: BTreeSet<&String> = s.reference.keys().chain(s.candidate.keys()).collect();
    h.table("label-shift", &["class", "reference share", "candidate share", "change"]);
    for class in classes {
        let r = s.reference.get(class).copied().unwrap_or(0.0);
        let c = s.candidate.get(class).copied().unwrap_or(0.0);
        h.open("tr", &[]);
        h.open("th", &[("scope", "row")]);
        h.value(class);
        h.close("th");
        h.td_num(&pct(r));
        h.td_num(&pct(c));
        h.td_num(&format!("{:+.1} points", (c - r) * 100.0));
        h.close("tr");
    }
    h.table_end();
    h.close("section");
}

fn dataset_drift_section(h: &mut Html, drift: Option<&DatasetDrift>, ctx: &Ctx) {
    let Some(d) = h.section_or_note(ctx, "dataset-drift", "Whole-dataset drift", drift, "Not computed: the two files could not be embedded together.") else {
        return;
    };
    h.facts(
        "dataset-drift-facts",
        &[
            (
                "Score (0 = indistinguishable, 1 = separated)",
                format!("{}{}", num(d.score), if d.flagged { " (beyond the limit)" } else { "" }),
            ),
            ("Own-set share of neighbours", format!("{} (expected {})", num(d.same_set_share), num(d.expected_share))),
            ("Method", d.method.clone()),
            ("Neighbours per row (k)", int(d.k)),
            ("Rows embedded", int(d.rows_used)),
            ("Backend", d.backend.clone()),
        ],
    );
    h.close("section");
}

// ---------------------------------------------------------------- unknown sections

/// Every key of `value` (an object) not in `known`, as a collapsed JSON
/// block: sections added to the report after this module was written.
fn other_sections(h: &mut Html, value: &Value, known: &[&str], ctx: &Ctx) {
    let Value::Object(map) = value else { return };
    for (key, section) in map {
        if known.contains(&key.as_str()) || section.is_null() {
            continue;
        }
        let mut section = section.clone();
        let left_out = if ctx.include_rows { 0 } else { strip_row_values(&mut section) };
        let id = format!("{}section-{}", ctx.prefix, key.replace('_', "-"));
        h.open(
            "section",
            &[("class", "report-section other"), ("id", &id), ("data-testid", "other-section"), ("data-section", key)],
        );
        h.leaf(ctx.heading(), &[], &capitalise(&humanise(key)));
        h.note("This section is shown as the report's JSON.");
        if left_out > 0 {
            h.note(&format!(
                "{left_out} list{} of row values left out (shared reports quote no row values).",
                plural(left_out as u64)
            ));
        }
        h.open("details", &[("class", "data")]);
        h.leaf("summary", &[], &format!("{key} (JSON)"));
        let json = serde_json::to_string_pretty(&section).unwrap_or_else(|e| format!("(could not be written: {e})"));
        h.leaf("pre", &[], &json);
        h.close("details");
        h.close("section");
    }
}

/// Removes the fields holding values quoted from data rows; returns how many.
fn strip_row_values(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !ROW_VALUE_KEYS.contains(&k.as_str()));
            let mut removed = before - map.len();
            for v in map.values_mut() {
                removed += strip_row_values(v);
            }
            removed
        }
        Value::Array(items) => items.iter_mut().map(strip_row_values).sum(),
        _ => 0,
    }
}

fn to_value(v: &impl serde::Serialize) -> Value {
    // Serialising report structs cannot fail (plain fields, string map
    // keys); null would only mean "no other sections".
    serde_json::to_value(v).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------- charts

/// Attributes of an inline chart (HTML parses inline `<svg>` into the SVG
/// namespace: no `xmlns` needed).
fn svg_attrs<'a>(
    view: &'a str,
    width: &'a str,
    height: &'a str,
    testid: &'a str,
    label: &'a str,
) -> [(&'static str, &'a str); 6] {
    [
        ("viewBox", view),
        ("width", width),
        ("height", height),
        ("role", "img"),
        ("data-testid", testid),
        ("aria-label", label),
    ]
}

fn histogram_svg(h: &mut Html, histogram: &Histogram, column: &str) {
    let counts = &histogram.counts;
    if counts.is_empty() {
        h.leaf("span", &[("class", "muted")], "–");
        return;
    }
    let (width, height) = (160.0, 36.0);
    let bar = width / counts.len() as f64;
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let edge = |i: usize| histogram.edges.get(i).copied().map_or("–".to_string(), num);
    let label = format!(
        "Histogram of {column}: {} bins from {} to {}",
        counts.len(),
        edge(0),
        edge(histogram.edges.len().saturating_sub(1))
    );
    let view = format!("0 0 {width} {height}");
    h.open("svg", &svg_attrs(&view, &fmt2(width), &fmt2(height), "histogram", &label));
    h.leaf("title", &[], &label);
    for (i, &count) in counts.iter().enumerate() {
        let bh = if count > 0 { (count as f64 / max * (height - 1.0)).max(1.0) } else { 0.0 };
        bar_rect(h, "bar", i, bar, height, bh, &format!("{} – {}: {}", edge(i), edge(i + 1), int(count)));
    }
    axis_line(h, width, height);
    h.close("svg");
    h.leaf("div", &[("class", "muted")], &format!("{} – {}", edge(0), edge(histogram.edges.len().saturating_sub(1))));
}

fn overlaid_histogram_svg(h: &mut Html, histogram: &DriftHistogram, column: &str) {
    let bins = &histogram.bins;
    if bins.is_empty() {
        h.leaf("span", &[("class", "muted")], "–");
        return;
    }
    let (width, height) = (180.0, 40.0);
    let bar = width / bins.len() as f64;
    let top =
        histogram.reference.iter().chain(&histogram.candidate).copied().filter(|v| v.is_finite()).fold(1e-12, f64::max);
    let label = format!("Distributions of {column}: reference filled, candidate outlined, {} bins", bins.len());
    let view = format!("0 0 {width} {height}");
    h.open("svg", &svg_attrs(&view, &fmt2(width), &fmt2(height), "drift-histogram", &label));
    h.leaf("title", &[], &label);
    for (class, shares, who) in
        [("bar-reference", &histogram.reference, "reference"), ("bar-candidate", &histogram.candidate, "candidate")]
    {
        for (i, &share) in shares.iter().enumerate() {
            let bh = if share > 0.0 { (share / top * (height - 1.0)).max(1.0) } else { 0.0 };
            let upper = match bins.get(i + 1) {
                Some(next) => format!(" – {next}"),
                None => histogram.upper.map_or(String::new(), |u| format!(" – {}", num(u))),
            };
            let name = bins.get(i).map_or("", String::as_str);
            bar_rect(h, class, i, bar, height, bh, &format!("{who} {name}{upper}: {}", pct(share)));
        }
    }
    axis_line(h, width, height);
    h.close("svg");
}

/// Bar `i` of a histogram `height` high whose bars are `bar` wide: `bh`
/// high from the bottom, with `title` as its tooltip.
fn bar_rect(h: &mut Html, class: &str, i: usize, bar: f64, height: f64, bh: f64, title: &str) {
    h.open(
        "rect",
        &[
            ("class", class),
            ("x", &fmt2(i as f64 * bar + 0.5)),
            ("y", &fmt2(height - bh)),
            ("width", &fmt2((bar - 1.0).max(0.5))),
            ("height", &fmt2(bh)),
        ],
    );
    h.leaf("title", &[], title);
    h.close("rect");
}

/// A histogram's base line.
fn axis_line(h: &mut Html, width: f64, height: f64) {
    h.empty(
        "line",
        &[
            ("class", "axis"),
            ("x1", "0"),
            ("y1", &fmt2(height - 0.5)),
            ("x2", &fmt2(width)),
            ("y2", &fmt2(height - 0.5)),
        ],
    );
}

// ---------------------------------------------------------------- the writer

/// An HTML writer that escapes every text and attribute value and checks
/// (in debug builds) that each element it closes is the one open.
#[derive(Default)]
struct Html {
    out: String,
    open: Vec<&'static str>,
}

impl Html {
    fn document_start(&mut self, title: &str) {
        self.out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        self.out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
        self.out.push_str(&escape(CONTENT_SECURITY_POLICY));
        self.out.push_str("\">\n<meta name=\"referrer\" content=\"no-referrer\">\n");
        self.out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        self.out.push_str("<meta name=\"generator\" content=\"preflight\">\n<title>");
        self.out.push_str(&escape(title));
        self.out.push_str("</title>\n<style>\n");
        self.out.push_str(STYLE);
        self.out.push_str("</style>\n</head>\n");
        self.open("body", &[]);
        self.open("main", &[]);
    }

    fn document_end(mut self) -> String {
        self.close("main");
        self.close("body");
        debug_assert!(self.open.is_empty(), "unclosed elements: {:?}", self.open);
        self.out.push_str("</html>\n");
        self.out
    }

    /// A document whose header has its heading and the meta line's paragraph
    /// open; the caller writes the meta line, then [`Html::header_end`].
    fn with_header(title: &str, heading: &str) -> Html {
        let mut h = Html::default();
        h.document_start(title);
        h.open("header", &[("class", "report-header")]);
        h.leaf("h1", &[], heading);
        h.open("p", &[("class", "meta")]);
        h
    }

    /// Closes the meta line and the header, writes the mode note; the
    /// context of the top-level sections.
    fn header_end(&mut self, options: &HtmlOptions) -> Ctx {
        self.close("p");
        self.close("header");
        self.mode_note(options);
        Ctx { include_rows: options.include_rows, prefix: String::new(), level: 2 }
    }

    fn mode_note(&mut self, options: &HtmlOptions) {
        let included = options.include_rows.to_string();
        self.open("p", &[("class", "mode"), ("data-testid", "row-values"), ("data-included", &included)]);
        if options.include_rows {
            self.leaf("strong", &[], "Row values: included. ");
            self.text(
                "This report quotes values from data rows (flagged rows, their neighbours, conflicting rows, duplicate and leaked texts). \
                 Values the personal-data check recognised are masked.",
            );
        } else {
            self.leaf("strong", &[], "Row values: left out. ");
            self.text(
                "This report quotes no value from a data row: flagged rows, duplicates and leaks are named by row id and file line. \
                 Column summaries (top values, ranges, classes) are aggregates and are shown; values the personal-data check recognised are masked. \
                 To quote row values, make the report with ",
            );
            self.leaf("code", &[], "--include-rows");
            self.text(" (or tick the page's \"include row values\" box).");
        }
        self.close("p");
    }

    fn footer(&mut self, tool: &Tool) {
        self.open("footer", &[]);
        self.text(&format!(
            "Made by {} {}. This file is self-contained: it loads nothing from the network and runs no script.",
            tool.name, tool.version
        ));
        self.close("footer");
    }

    fn open(&mut self, tag: &'static str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push('>');
        self.open.push(tag);
    }

    /// An element without content, written `<tag ...></tag>` (valid for SVG
    /// and for HTML's non-void elements alike).
    fn empty(&mut self, tag: &'static str, attrs: &[(&str, &str)]) {
        self.open(tag, attrs);
        self.close(tag);
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.out.push_str(&escape(value));
            self.out.push('"');
        }
    }

    fn close(&mut self, tag: &'static str) {
        let top = self.open.pop();
        debug_assert_eq!(top, Some(tag), "closing <{tag}> while <{top:?}> is open");
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        if matches!(
            tag,
            "section"
                | "tr"
                | "table"
                | "div"
                | "p"
                | "li"
                | "header"
                | "footer"
                | "ul"
                | "ol"
                | "dl"
                | "dd"
                | "svg"
                | "details"
        ) {
            self.out.push('\n');
        }
    }

    fn text(&mut self, text: &str) {
        self.out.push_str(&escape(text));
    }

    fn leaf(&mut self, tag: &'static str, attrs: &[(&str, &str)], text: &str) {
        self.open(tag, attrs);
        self.text(text);
        self.close(tag);
    }

    fn note(&mut self, text: &str) {
        self.leaf("p", &[("class", "muted")], text);
    }

    /// A value quoted as written, `(empty)` for the empty string.
    fn value(&mut self, value: &str) {
        if value.is_empty() {
            self.leaf("span", &[("class", "muted")], "(empty)");
        } else {
            self.leaf("span", &[("class", "value")], value);
        }
    }

    fn values_inline(&mut self, values: &[String]) {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.text(" ");
            }
            self.value(v);
        }
    }

    /// A row's values beside their column names.
    fn row_values(&mut self, names: &[&str], values: &[String]) {
        self.open("div", &[("class", "row-values"), ("data-testid", "quoted-row")]);
        for (i, v) in values.iter().enumerate() {
            self.open("span", &[]);
            self.leaf("span", &[("class", "k")], names.get(i).copied().unwrap_or("?"));
            self.value(v);
            self.close("span");
        }
        self.close("div");
    }

    fn section(&mut self, ctx: &Ctx, name: &str, title: &str) {
        let id = format!("{}section-{name}", ctx.prefix);
        let testid = format!("section-{name}");
        self.open("section", &[("class", "report-section"), ("id", &id), ("data-testid", &testid)]);
        self.leaf(ctx.heading(), &[], title);
    }

    /// Opens the section for `value`; where there is none, writes `missing`
    /// as its note and closes the section again.
    fn section_or_note<'a, T>(
        &mut self,
        ctx: &Ctx,
        name: &str,
        title: &str,
        value: Option<&'a T>,
        missing: &str,
    ) -> Option<&'a T> {
        self.section(ctx, name, title);
        if value.is_none() {
            self.note(missing);
            self.close("section");
        }
        value
    }

    fn stat(&mut self, testid: &str, label: &str, value: &str, display: &str) {
        self.open("div", &[("class", "stat"), ("data-testid", testid), ("data-value", value)]);
        self.leaf("span", &[("class", "stat-value")], display);
        self.leaf("span", &[("class", "stat-label")], label);
        self.close("div");
    }

    fn facts(&mut self, testid: &str, pairs: &[(&str, String)]) {
        self.open("dl", &[("class", "facts"), ("data-testid", testid)]);
        for (term, value) in pairs {
            self.leaf("dt", &[], term);
            self.leaf("dd", &[], value);
        }
        self.close("dl");
    }

    /// Opens a table with its head; rows follow, then [`Html::table_end`].
    fn table(&mut self, testid: &str, head: &[&str]) {
        self.open("div", &[("class", "table-wrap")]);
        self.open("table", &[("class", "data-table"), ("data-testid", testid)]);
        self.open("thead", &[]);
        self.open("tr", &[]);
        for h in head {
            self.leaf("th", &[("scope", "col")], h);
        }
        self.close("tr");
        self.close("thead");
        self.open("tbody", &[]);
    }

    fn table_end(&mut self) {
        self.close("tbody");
        self.close("table");
        self.close("div");
    }

    fn td(&mut self, text: &str) {
        self.leaf("td", &[], text);
    }

    fn td_num(&mut self, text: &str) {
        self.leaf("td", &[("class", "num")], text);
    }

    fn th_row(&mut self, text: &str) {
        self.leaf("th", &[("scope", "row")], text);
    }
}

/// Where a MinHash ran ("Computed on"), and the engine's note if any.
fn engine_facts(engine: &str, note: Option<&str>) -> Vec<(&'static str, String)> {
    let mut facts = vec![("Computed on", if engine == "gpu" { "GPU".to_string() } else { "CPU".to_string() })];
    if let Some(note) = note {
        facts.push(("Engine note", note.to_string()));
    }
    facts
}

/// "N more groups not listed", then `after`.
fn groups_not_listed(h: &mut Html, n: u64, after: &str) {
    h.note(&format!("{} more group{} not listed{after}.", int(n), plural(n)));
}

fn excluded_list(h: &mut Html, columns: &[ExcludedColumn]) {
    h.open("ul", &[("class", "plain")]);
    for c in columns {
        h.open("li", &[]);
        h.leaf("strong", &[], &c.column);
        h.text(&format!(": {}", c.reason));
        h.close("li");
    }
    h.close("ul");
}

// ---------------------------------------------------------------- formatting

/// Escapes text for HTML content and double-quoted attribute values; C0
/// control characters other than tab and line breaks (invalid in HTML)
/// become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A measured number as people read it: whole numbers as they are (grouped
/// from 10,000), others to 4 significant digits, tiny and huge ones in
/// exponent form.
fn num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞".into() } else { "−∞".into() };
    }
    let a = v.abs();
    if v.fract() == 0.0 && a < 1e15 {
        let sign = if v < 0.0 { "-" } else { "" };
        return if a >= 1e4 { format!("{sign}{}", int(a as u64)) } else { format!("{sign}{}", a as u64) };
    }
    if !(1e-3..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn pct(share: f64) -> String {
    if !share.is_finite() {
        return "–".into();
    }
    let p = share * 100.0;
    if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else {
        format!("{p:.1}%")
    }
}

fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let units = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.prec$} {}", units[unit], prec = if value < 10.0 { 2 } else { 1 })
}

fn milliseconds(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.prec$} ms", prec = if ms < 10.0 { 2 } else { 1 })
    }
}

/// SVG coordinates: two decimals at most.
fn fmt2(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn row_list(rows: &[u64], lines: &[u64], size: u64) -> String {
    let mut parts: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match lines.get(i) {
            Some(l) => format!("row {r} (line {l})"),
            None => format!("row {r}"),
        })
        .collect();
    let listed = rows.len() as u64;
    if size > listed {
        parts.push(format!("… and {} more", int(size - listed)));
    }
    parts.join(", ")
}

fn humanise(key: &str) -> String {
    key.replace('_', " ")
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn quoted(text: &str) -> String {
    format!("\u{201c}{text}\u{201d}")
}

/// A class name as shown: quoted when blank or when its whitespace matters.
fn display_class(name: &str) -> String {
    if name.is_empty() {
        "(empty)".into()
    } else if name != name.trim() || name.contains("  ") {
        format!("{name:?}")
    } else {
        name.to_string()
    }
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(chars - 1).collect();
        out.push('…');
        out
    }
}

fn kind_name(kind: &str) -> String {
    match kind {
        "email" => "email address".into(),
        "phone" => "phone number".into(),
        "card" => "payment card number".into(),
        "iban" => "IBAN".into(),
        "ssn" => "US social security number".into(),
        "ipv4" => "IPv4 address".into(),
        "ipv6" => "IPv6 address".into(),
        other => humanise(other),
    }
}

fn delimiter_name(d: &str) -> String {
    match d {
        "," => "comma (,)".into(),
        "\t" => "tab".into(),
        ";" => "semicolon (;)".into(),
        "|" => "pipe (|)".into(),
        " " => "space".into(),
        other => format!("{other:?}"),
    }
}

fn line_ending_name(ending: &str) -> String {
    match ending {
        "\r\n" => "CRLF (\\r\\n)".into(),
        "\n" => "LF (\\n)".into(),
        "\r" => "CR (\\r)".into(),
        "" => "–".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_controls() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(escape("a\u{0}b\tc"), "a\u{fffd}b\tc");
    }

    #[test]
    fn numbers_read_like_the_page() {
        assert_eq!(num(2007.0), "2007");
        assert_eq!(num(12345.0), "12,345");
        assert_eq!(num(-3.0), "-3");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(0.0001234), "1.234e-4");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(int(1234567), "1,234,567");
        assert_eq!(pct(0.5), "50.0%");
        assert_eq!(pct(0.0004), "<0.1%");
        assert_eq!(bytes(2048), "2.00 KiB");
    }

    #[test]
    fn row_values_are_stripped_from_unknown_sections() {
        let mut v =
            serde_json::json!({"a": 1, "rows": [{"row": 3, "values": ["x"], "nested": {"text": "t", "keep": 2}}]});
        assert_eq!(strip_row_values(&mut v), 2);
        assert_eq!(v, serde_json::json!({"a": 1, "rows": [{"row": 3, "nested": {"keep": 2}}]}));
    }
}
