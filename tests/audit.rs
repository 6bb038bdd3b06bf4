//! Label audits from the command line: annotator agreement (`--annotator`),
//! the review sample (`--review-sample` and its options) and the share of
//! rows verified (`--verified`).

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::bin;

fn temp(name: &str) -> PathBuf {
    common::temp("audit", name)
}

/// 51 rows: `label` and `rater_b` agree on 35 of the 50 rows both labelled
/// (yes/yes 20, yes/no 5, no/yes 10, no/no 15: Cohen's kappa 0.4 by hand,
/// see `checks::agreement`'s tests), the last row has no `rater_b`;
/// `is_verified` is true on every 4th row.
fn annotated_csv(name: &str) -> PathBuf {
    let mut text = String::from("x,z,label,rater_b,is_verified\n");
    let pairs = [("yes", "yes", 20), ("yes", "no", 5), ("no", "yes", 10), ("no", "no", 15)];
    let mut i = 0;
    for (a, b, n) in pairs {
        for _ in 0..n {
            text.push_str(&format!("{}.5,{},{a},{b},{}\n", (i * 37) % 101, i % 7, i % 4 == 0));
            i += 1;
        }
    }
    text.push_str(&format!("3.25,1,no,,{}\n", i % 4 == 0));
    let path = temp(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    bin().args(["profile", "--backend", "cpu", "--quiet"]).args(args).output().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn detected_annotators_give_agreement_kappa_rule_and_rows_column() {
    let data = annotated_csv("detected.csv");
    let (report, rows) = (temp("detected.json"), temp("detected-rows.csv"));
    let out = run(&[data.to_str().unwrap(), "--json", report.to_str().unwrap(), "--rows", rows.to_str().unwrap()]);
    // Low agreement is a warning: the verdict still passes.
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("annotator agreement (label, rater_b): 70.0% on 50 rows, Cohen's kappa 0.400"), "{stdout}");
    assert!(stdout.contains("warning: annotator_agreement"), "{stdout}");
    let r = json(&report);
    let a = &r["annotator_agreement"];
    assert_eq!(a["annotators"], serde_json::json!(["label", "rater_b"]));
    assert!(a["reason"].as_str().unwrap().starts_with("detected"));
    assert!((a["percent_agreement"].as_f64().unwrap() - 0.7).abs() < 1e-12);
    assert!((a["cohen_kappa"].as_f64().unwrap() - 0.4).abs() < 1e-12);
    assert!((a["fleiss_kappa"].as_f64().unwrap() - (0.7 - 0.505) / 0.495).abs() < 1e-12);
    assert_eq!((a["rows_compared"].as_u64(), a["rows_missing"].as_u64()), (Some(50), Some(1)));
    assert_eq!(a["disagreement_rows"], 15);
    assert_eq!(a["pairs"][0]["confusion"], serde_json::json!([[15, 10], [5, 20]]));
    assert_eq!(a["disagreements"][0], serde_json::json!({"row": 20, "line": 22, "values": ["yes", "no"]}));
    let rule = r["verdict"]["rules"].as_array().unwrap().iter().find(|r| r["rule"] == "annotator_agreement").unwrap();
    assert_eq!(
        (rule["passed"].as_bool(), rule["severity"].as_str(), rule["limit"].as_f64()),
        (Some(false), Some("warning"), Some(0.8))
    );
    // Every row in the per-row CSV: 1 disagree, 0 agree, empty when a value is missing.
    let csv = std::fs::read_to_string(&rows).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header.iter().position(|&h| h == "annotator_disagreement").unwrap();
    let values: Vec<String> = lines.map(|l| l.split(',').nth(column).unwrap_or("").to_string()).collect();
    assert_eq!(values.len(), 51);
    assert_eq!(values.iter().filter(|v| *v == "1").count(), 15);
    assert_eq!(values.iter().filter(|v| *v == "0").count(), 35);
    assert_eq!(values[50], "");
    assert_eq!(&values[20..22], ["1", "1"]);
    // The verified column is detected by its name; a quarter of the rows.
    let v = &r["review"]["verified"];
    assert_eq!(v["column"], "is_verified");
    assert_eq!((v["verified"].as_u64(), v["rows"].as_u64()), (Some(13), Some(51)));
    assert!(stdout.contains("verified labels (\"is_verified\"): 13 of 51 rows"), "{stdout}");
}

#[test]
fn chosen_annotators_count_the_label_and_unknown_ones_are_refused() {
    let data = annotated_csv("chosen.csv");
    let report = temp("chosen.json");
    // rater_b as the label, label named as the other annotator: the label
    // column comes first and the confusion matrix is transposed.
    let out = run(&[
        data.to_str().unwrap(),
        "--label",
        "rater_b",
        "--annotator",
        "label",
        "--json",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a = &json(&report)["annotator_agreement"];
    assert_eq!(a["annotators"], serde_json::json!(["rater_b", "label"]));
    assert_eq!(a["reason"], "chosen by the user (with the label column \"rater_b\")");
    assert!((a["cohen_kappa"].as_f64().unwrap() - 0.4).abs() < 1e-12);
    assert_eq!(a["pairs"][0]["confusion"], serde_json::json!([[15, 5], [10, 20]]));

    let out = run(&[data.to_str().unwrap(), "--annotator", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("annotator column \"nope\" is not in the file"), "{stderr}");
}

fn sample(data: &Path, name: &str, extra: &[&str]) -> (String, serde_json::Value, String) {
    let (out_csv, report, rows) =
        (temp(&format!("{name}.csv")), temp(&format!("{name}.json")), temp(&format!("{name}-rows.csv")));
    let mut args = vec![data.to_str().unwrap(), "--review-sample", out_csv.to_str().unwrap()];
    args.extend_from_slice(&["--json", report.to_str().unwrap(), "--rows", rows.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    (std::fs::read_to_string(&out_csv).unwrap(), json(&report), std::fs::read_to_string(&rows).unwrap())
}

#[test]
fn review_sample_is_stratified_seeded_and_enriched() {
    let data = annotated_csv("review.csv");
    let (csv, report, _) = sample(&data, "s1", &["--review-per-class", "5", "--review-seed", "7"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "row,line,label,reason,reviewer_label");
    assert_eq!(lines.len(), 11);
    let fields: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    assert_eq!(fields.iter().filter(|f| f[2] == "yes").count(), 5);
    assert_eq!(fields.iter().filter(|f| f[2] == "no").count(), 5);
    for f in &fields {
        let row: u64 = f[0].parse().unwrap();
        assert_eq!(f[1].parse::<u64>().unwrap(), row + 2);
        assert_eq!((f[3], f[4]), ("stratified", ""));
        // The label is the row's own: yes for rows 0-24, no after.
        assert_eq!(f[2], if row < 25 { "yes" } else { "no" });
    }
    let s = &report["review"]["sample"];
    assert_eq!((s["size"].as_u64(), s["seed"].as_u64(), s["method"].as_str()), (Some(10), Some(7), Some("per_class")));
    // The same seed gives the same sample; another seed another one.
    let (again, _, _) = sample(&data, "s2", &["--review-per-class", "5", "--review-seed", "7"]);
    assert_eq!(csv, again);
    let (other, _, _) = sample(&data, "s3", &["--review-per-class", "5", "--review-seed", "8"]);
    assert_ne!(csv, other);

    // A fraction of each class: 10% of 25 yes rows and of 26 no rows.
    let (csv, report, _) = sample(&data, "s4", &["--review-fraction", "0.1"]);
    assert_eq!(csv.lines().count(), 1 + 3 + 3);
    assert_eq!(report["review"]["sample"]["method"], "fraction");

    // Enriched with the rows whose label issue scores are highest.
    let (csv, report, rows) = sample(&data, "s5", &["--review-per-class", "2", "--review-enrich", "4"]);
    let enriched: Vec<u64> = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some("likely_mislabelled"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(enriched.len(), 4, "{csv}");
    assert_eq!(report["review"]["sample"]["enriched"], 4);
    let mut rows = rows.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let score_at = header.iter().position(|&h| h == "label_issue_score").unwrap();
    let scores: Vec<f64> = rows.map(|l| l.split(',').nth(score_at).unwrap().parse().unwrap_or(-1.0)).collect();
    let lowest_enriched = enriched.iter().map(|&r| scores[r as usize]).fold(f64::INFINITY, f64::min);
    let higher_elsewhere =
        scores.iter().enumerate().filter(|(r, _)| !enriched.contains(&(*r as u64))).any(|(_, &s)| s > lowest_enriched);
    assert!(lowest_enriched > 0.0 && !higher_elsewhere, "enriched {enriched:?} are not the top scores {scores:?}");
}

#[test]
fn review_options_are_checked() {
    let data = annotated_csv("options.csv");
    let out = run(&[data.to_str().unwrap(), "--review-per-class", "3", "--review-fraction", "0.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not both"));
    let out = run(&[data.to_str().unwrap(), "--review-fraction", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[data.to_str().unwrap(), "--verified", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("verified column \"nope\" is not in the file"));
    // A chosen column with no true/false, yes/no or 1/0 value at all.
    let out = run(&[data.to_str().unwrap(), "--verified", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("verified column \"x\" holds no verified flags") && stderr.contains("line 2"), "{stderr}");
    // No label column: no sample to write.
    let plain = temp("plain.csv");
    std::fs::write(&plain, "a,b\n1,2\n3,4\n").unwrap();
    let out = run(&[plain.to_str().unwrap(), "--review-sample", temp("none.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no label column"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Columns that carry the label in another form (another annotator, a
/// model's probabilities, the verified flag) would let the label vote for
/// itself: they are left out of the kNN features and of the features that
/// define conflicting-label groups, each with its reason.
#[test]
fn label_derived_columns_are_not_features() {
    let mut text = String::from("x,z,label,rater_b,is_verified,p_yes,p_no\n");
    for i in 0..60 {
        let label = if i % 3 == 0 { "yes" } else { "no" };
        let other = if i % 5 == 0 { "no" } else { label };
        let p = 0.2 + 0.6 * ((i * 13) % 10) as f64 / 10.0;
        text.push_str(&format!("{}.5,{},{label},{other},{},{p:.2},{:.2}\n", (i * 37) % 101, i % 7, i % 4 == 0, 1.0 - p));
    }
    let data = temp("derived.csv");
    std::fs::write(&data, text).unwrap();
    let report = temp("derived.json");
    let out = run(&[data.to_str().unwrap(), "--json", report.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let r = json(&report);
    assert!(r["prediction_audit"].is_object(), "probability columns detected");
    let reasons = |list: &serde_json::Value| -> Vec<(String, String)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| (e["column"].as_str().unwrap().to_string(), e["reason"].as_str().unwrap().to_string()))
            .collect()
    };
    let excluded = reasons(&r["embedding"]["excluded"]);
    let ignored = reasons(&r["conflicting_labels"]["columns_ignored"]);
    for (column, reason) in [
        ("label", "label column"),
        ("rater_b", "annotator label column"),
        ("p_yes", "model probability column"),
        ("p_no", "model probability column"),
        ("is_verified", "verified-labels flag"),
    ] {
        assert!(excluded.contains(&(column.to_string(), reason.to_string())), "{column} in {excluded:?}");
        if column != "label" {
            assert!(ignored.contains(&(column.to_string(), reason.to_string())), "{column} in {ignored:?}");
        }
    }
    let features: Vec<&str> =
        r["embedding"]["features"].as_array().unwrap().iter().map(|f| f["column"].as_str().unwrap()).collect();
    assert_eq!(features, ["x", "z"]);
    assert_eq!(r["conflicting_labels"]["feature_columns"], 2);
}
