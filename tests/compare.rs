//! `preflight compare` on public data (the Palmer penguins, CC0) split two
//! ways: a clean seeded random split, and one with planted shared rows and
//! a shifted numeric column.

use preflight::report::{CompareReport, CompareThresholds};
use preflight::{Backend, Options, Profiler};

fn penguins() -> (String, Vec<String>) {
    let text = std::fs::read_to_string(format!("{}/tests/fixtures/penguins.csv", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    (header, lines.filter(|l| !l.is_empty()).collect())
}

/// The rows in a seeded random order (xorshift Fisher-Yates).
fn shuffled(mut rows: Vec<String>, seed: u64) -> Vec<String> {
    let mut state = seed;
    for i in (1..rows.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        rows.swap(i, (state % (i as u64 + 1)) as usize);
    }
    rows
}

fn csv(header: &str, rows: &[String]) -> String {
    let mut out = format!("{header}\n");
    for r in rows {
        out.push_str(r);
        out.push('\n');
    }
    out
}

fn compare(reference: &str, candidate: &str) -> CompareReport {
    let options = Options { backend: Backend::Cpu, ..Options::default() };
    let mut r = Profiler::new("reference.csv", options.clone());
    r.push(reference.as_bytes()).unwrap();
    let mut c = Profiler::new("candidate.csv", options);
    c.push(candidate.as_bytes()).unwrap();
    pollster::block_on(preflight::compare(&mut r, &mut c, &CompareThresholds::default(), &mut |_, _| {}))
        .unwrap()
        .report
}

/// body_mass_g (column 5) + `by`, "NA" kept.
fn shift_body_mass(row: &str, by: f64) -> String {
    let mut fields: Vec<String> = row.split(',').map(str::to_string).collect();
    if let Ok(v) = fields[5].parse::<f64>() {
        fields[5] = format!("{}", v + by);
    }
    fields.join(",")
}

#[test]
fn clean_random_split_shows_no_leakage_and_low_drift() {
    let (header, rows) = penguins();
    let rows = shuffled(rows, 0x9e37_79b9_7f4a_7c15);
    let (a, b) = rows.split_at(rows.len() / 2);
    let report = compare(&csv(&header, a), &csv(&header, b));
    let c = &report.comparison;
    assert_eq!((c.reference_rows, c.candidate_rows), (172, 172));
    assert_eq!(c.leakage.exact_rows, 0);
    assert_eq!(c.leakage.exact_rows_ignoring_identifiers, 0);
    assert!(c.leakage.pairs.iter().all(|p| p.kind == "near"), "{:?}", c.leakage.pairs);
    assert!(c.schema.added.is_empty() && c.schema.removed.is_empty() && c.schema.type_changed.is_empty());
    assert_eq!(c.drift.len(), 8, "{:?}", c.drift_not_computed);
    for d in &c.drift {
        assert!(!d.flagged, "{} drifted: {d:?}", d.column);
        if let Some(psi) = d.psi {
            assert!(psi < 0.2, "{d:?}");
        }
    }
    let shift = c.label_shift.as_ref().expect("species is the label in both");
    assert_eq!(shift.column, "species");
    assert!(!shift.flagged && shift.js_distance < 0.1, "{shift:?}");
    let dataset = c.dataset_drift.as_ref().unwrap();
    assert!(dataset.score.abs() < 0.2 && !dataset.flagged, "{dataset:?}");
    assert!(report.verdict.passed, "{:?}", report.verdict.failures);
    // Each file keeps its full single-file report.
    assert_eq!(report.reference.source.rows, 172);
    assert_eq!(report.candidate.source.name, "candidate.csv");
}

#[test]
fn planted_leakage_is_counted_exactly_and_the_shifted_column_ranks_first() {
    let (header, rows) = penguins();
    let rows = shuffled(rows, 42);
    let (a, b) = rows.split_at(rows.len() / 2);
    const PLANTED: usize = 17;
    let mut candidate: Vec<String> = b.iter().map(|r| shift_body_mass(r, 1500.0)).collect();
    // Copies of reference rows, spread through the candidate.
    for (i, row) in a.iter().step_by(9).take(PLANTED).enumerate() {
        candidate.insert(i * 10, row.clone());
    }
    let report = compare(&csv(&header, a), &csv(&header, &candidate));
    let c = &report.comparison;
    assert_eq!(c.leakage.exact_rows, PLANTED as u64);
    assert_eq!(c.leakage.exact_rows_ignoring_identifiers, PLANTED as u64);
    assert!((c.leakage.exact_share - PLANTED as f64 / candidate.len() as f64).abs() < 1e-12);
    let exact: Vec<_> = c.leakage.pairs.iter().filter(|p| p.kind == "exact").collect();
    assert_eq!(exact.len(), PLANTED);
    for p in &exact {
        // Row ids and lines in both files point at the same text.
        assert_eq!(candidate[p.candidate_row as usize], a[p.reference_row as usize]);
        assert_eq!(p.candidate_line, p.candidate_row + 2);
        assert_eq!(p.reference_line, p.reference_row + 2);
    }
    assert_eq!(c.drift[0].column, "body_mass_g", "{:?}", c.drift.iter().map(|d| &d.column).collect::<Vec<_>>());
    assert!(c.drift[0].flagged);
    assert!(c.drift[0].ks.unwrap() > 0.5 && c.drift[0].psi.unwrap() > 1.0, "{:?}", c.drift[0]);
    assert!(c.drift[1..].iter().all(|d| !d.flagged), "{:?}", c.drift);
    assert!(!report.verdict.passed);
    let failed: Vec<&str> = report.verdict.rules.iter().filter(|r| !r.passed && r.severity == "error").map(|r| r.rule.as_str()).collect();
    assert_eq!(failed, ["leakage", "column_drift"]);
    let dataset = c.dataset_drift.as_ref().unwrap();
    assert!(dataset.score > 0.0, "{dataset:?}");
}

#[test]
fn identifier_columns_are_ignored_and_renames_suggested() {
    let (header, rows) = penguins();
    let rows = shuffled(rows, 7);
    let (a, b) = rows.split_at(rows.len() / 2);
    let with_id = |rows: &[String], start: usize| -> Vec<String> {
        rows.iter().enumerate().map(|(i, r)| format!("{},{r}", start + i)).collect()
    };
    let reference = with_id(a, 0);
    let mut candidate = with_id(b, 1000);
    // Two reference records copied under new ids.
    candidate.push(format!("5000,{}", a[3]));
    candidate.push(format!("5001,{}", a[50]));
    let renamed_header = format!("row_id,{}", header.replace("flipper_length_mm", "flipper_mm"));
    let report = compare(&csv(&format!("row_id,{header}"), &reference), &csv(&renamed_header, &candidate));
    let c = &report.comparison;
    assert_eq!(c.leakage.identifier_columns, ["row_id"]);
    assert_eq!(c.leakage.exact_rows, 0);
    assert_eq!(c.leakage.exact_rows_ignoring_identifiers, 2);
    assert_eq!(c.schema.added, ["flipper_mm"]);
    assert_eq!(c.schema.removed, ["flipper_length_mm"]);
    assert_eq!(c.schema.renamed.len(), 1, "{:?}", c.schema.renamed);
    assert_eq!(c.schema.renamed[0].candidate_column, "flipper_mm");
}

/// A category whose values all differ in the (smaller) candidate is typed
/// identifier there: it stays a feature, so rows differing in it do not
/// leak, and its drift is computed.
#[test]
fn a_column_unique_in_one_file_only_is_not_an_identifier() {
    let reference: Vec<String> = (0..100).map(|i| format!("A{:02},{}", i % 5, i % 2)).collect();
    let candidate: Vec<String> = (0..50).map(|i| format!("B{i:02},{}", i % 2)).collect();
    let report = compare(&csv("code,x", &reference), &csv("code,x", &candidate));
    let c = &report.comparison;
    assert!(c.leakage.identifier_columns.is_empty(), "{:?}", c.leakage.identifier_columns);
    assert_eq!(c.leakage.exact_rows_ignoring_identifiers, 0);
    let code = c.drift.iter().find(|d| d.column == "code").expect("drift of code");
    assert!((code.js_distance.unwrap() - 1.0).abs() < 1e-9, "{:?}", code.js_distance);
    assert!(code.flagged);
}

/// Reviews: the candidate plants one reference text byte for byte (row 1)
/// and one edited (row 3: case, punctuation, one word); the rest are new.
const REFERENCE_REVIEWS: &str = "id,stars,review\n\
    1,5,\"The battery lasts two full days and the screen is bright, sharp and easy to read outdoors.\"\n\
    2,1,\"Support never answered my emails; after three weeks I asked my bank for a refund.\"\n\
    3,4,\"Arrived early, well packed, and the charger works with my old laptop too.\"\n\
    4,2,\"The strap broke within a month and the replacement costs more than the watch.\"\n";
const CANDIDATE_REVIEWS: &str = "id,stars,review\n\
    10,3,\"Decent sound for the price, but the left earbud disconnects every few minutes.\"\n\
    11,1,\"Support never answered my emails; after three weeks I asked my bank for a refund.\"\n\
    12,4,\"Setup took five minutes and the app explains every setting clearly.\"\n\
    13,5,\"the battery lasts two full days, and the screen is bright, sharp and easy to read indoors!\"\n";

#[test]
fn planted_exact_and_edited_texts_leak_across_files() {
    let options = Options { backend: Backend::Cpu, text_columns: vec!["review".into()], ..Options::default() };
    let mut r = Profiler::new("reference.csv", options.clone());
    r.push(REFERENCE_REVIEWS.as_bytes()).unwrap();
    let mut c = Profiler::new("candidate.csv", options);
    c.push(CANDIDATE_REVIEWS.as_bytes()).unwrap();
    let analysis =
        pollster::block_on(preflight::compare(&mut r, &mut c, &CompareThresholds::default(), &mut |_, _| {})).unwrap();
    let t = &analysis.report.comparison.text_leakage;
    assert_eq!(t.len(), 1, "{t:?}");
    let t = &t[0];
    assert_eq!((t.column.as_str(), t.reason.as_str(), t.engine.as_str()), ("review", "chosen by the user", "cpu"));
    assert_eq!((t.exact_rows, t.near_rows, t.candidate_rows_with_text), (1, 1, 4));
    assert!((t.share - 0.5).abs() < 1e-12);
    let pairs: Vec<(&str, u64, u64, u64, u64)> =
        t.pairs.iter().map(|p| (p.kind.as_str(), p.candidate_row, p.candidate_line, p.reference_row, p.reference_line)).collect();
    assert_eq!(pairs, [("exact", 1, 3, 1, 3), ("near", 3, 5, 0, 2)]);
    assert!(t.pairs[1].jaccard >= 0.7 && t.pairs[1].jaccard < 1.0, "{:?}", t.pairs[1]);
    assert!(t.pairs[1].candidate_text.ends_with("indoors!"));
    // The ids differ, so no row copies a reference row: only the text leaks.
    assert_eq!(analysis.report.comparison.leakage.exact_rows, 0);
    let rule = analysis.report.verdict.rules.iter().find(|r| r.rule == "text_leakage").expect("text_leakage rule");
    assert_eq!((rule.severity.as_str(), rule.passed), ("warning", false));
    assert!(analysis.report.verdict.warnings.iter().any(|w| w.starts_with("text_leakage:")));
    assert_eq!(analysis.candidate_leaks.text, vec![None, Some(1), None, Some(0)]);
    // The JSON is additive: a report without the field still reads.
    let mut json = serde_json::to_value(&analysis.report).unwrap();
    json["comparison"].as_object_mut().unwrap().remove("text_leakage");
    let back: CompareReport = serde_json::from_value(json).unwrap();
    assert!(back.comparison.text_leakage.is_empty());
}
