//! The model-prediction audit through the command line: `--proba`, the
//! detected columns, the report's `prediction_audit` and `label_issues`,
//! and the per-row CSV's label columns.

use std::path::PathBuf;
use std::process::Output;

mod common;
use common::bin;

fn temp(name: &str) -> PathBuf {
    common::temp("predictions", name)
}

/// 90 rows of two features, classes cat/dog/owl, and a model's
/// probabilities in `score_cat`, `score_dog`, `score_owl` (named to not be
/// detected) that are wrong on every "night" row and on rows 5 and 50,
/// whose labels were flipped (the model is confident in the true class).
fn write_data(path: &PathBuf) {
    let mut csv = String::from("x,time,label,score_cat,score_dog,score_owl\n");
    for i in 0..90 {
        let truth = i % 3;
        let mut given = truth;
        if i == 5 || i == 50 {
            given = (truth + 1) % 3;
        }
        let night = i % 9 == 0;
        let mut p = [0.05, 0.05, 0.05];
        let predicted = if night { (truth + 2) % 3 } else { truth };
        p[predicted] = 0.9;
        let label = ["cat", "dog", "owl"][given];
        let time = if night { "night" } else { "day" };
        csv.push_str(&format!("{},{time},{label},{},{},{}\n", i as f64 * 0.1 + truth as f64, p[0], p[1], p[2]));
    }
    std::fs::write(path, csv).unwrap();
}

fn profile(data: &PathBuf, extra: &[&str], tag: &str) -> (Output, serde_json::Value, String) {
    let (json, rows) = (temp(&format!("{tag}.json")), temp(&format!("{tag}.csv")));
    let out = bin()
        .args(["profile"])
        .arg(data)
        .args(["--backend", "cpu", "--json"])
        .arg(&json)
        .arg("--rows")
        .arg(&rows)
        .args(extra)
        .output()
        .unwrap();
    let report = std::fs::read(&json).map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(serde_json::Value::Null);
    (out, report, std::fs::read_to_string(&rows).unwrap_or_default())
}

#[test]
fn proba_columns_give_the_audit_and_replace_knn_label_issues() {
    let data = temp("animals.csv");
    write_data(&data);
    let (out, report, rows) =
        profile(&data, &["--proba", "score_cat", "--proba", "score_dog", "--proba", "score_owl"], "chosen");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let a = &report["prediction_audit"];
    assert_eq!(a["kind"], "columns");
    assert_eq!(a["classes"], serde_json::json!(["cat", "dog", "owl"]));
    assert!(a["class_mapping"].as_str().unwrap().starts_with("by position"), "{}", a["class_mapping"]);
    assert_eq!(a["rows_scored"], 90);
    // Wrong on the 10 night rows and on the 2 flipped rows.
    let accuracy = a["accuracy"].as_f64().unwrap();
    assert!((accuracy - 78.0 / 90.0).abs() < 1e-12, "{accuracy}");
    let matrix: Vec<Vec<u64>> = serde_json::from_value(a["confusion_matrix"].clone()).unwrap();
    assert_eq!(matrix.iter().flatten().sum::<u64>(), 90);
    assert_eq!((0..3).map(|c| matrix[c][c]).sum::<u64>(), 78);
    for c in a["per_class"].as_array().unwrap() {
        for key in ["precision", "recall", "f1"] {
            assert!((0.0..=1.0).contains(&c[key].as_f64().unwrap()), "{c}");
        }
    }
    // The worst slice is the night rows, with their size.
    let worst = &a["slices"][0];
    assert_eq!((worst["column"].as_str(), worst["slice"].as_str()), (Some("time"), Some("night")));
    assert_eq!(worst["rows"], 10);
    assert_eq!(worst["accuracy"], 0.0);
    assert!(a["highest_loss"][0]["loss"].as_f64().unwrap() > 2.9);
    // Confident learning flags the two flipped rows and says which method ran.
    let issues = &report["label_issues"];
    assert_eq!(issues["method"], "confident_learning");
    let top: Vec<u64> = issues["top"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert!(top.contains(&5) && top.contains(&50), "{top:?}");
    assert_eq!(report["label_issues_knn"]["method"], "knn");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("model predictions (score_cat, score_dog, score_owl): accuracy 0.8667"), "{stdout}");
    assert!(stdout.contains("worst slice: time = night"), "{stdout}");
    assert!(stdout.contains("confident learning on the model's probabilities"), "{stdout}");

    // Per-row CSV: the label columns at the end; label_issue_score = 1 - label_quality.
    let mut lines = rows.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header, preflight::rows::HEADER);
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Added after the columns before them (columns are only ever added at the end).
    assert!(column("label_quality") > column("text_dup_group"));
    assert_eq!(column("given_label_loss"), column("label_quality") + 1);
    let row5: Vec<&str> = lines.nth(5).unwrap().split(',').collect();
    assert_eq!(row5[column("label_quality")], "0.050000");
    assert_eq!(row5[column("label_issue_score")], "0.950000");
    assert_eq!(row5[column("is_label_issue")], "true");
    assert_eq!(row5[column("given_label_loss")], format!("{:.6}", -(0.05f64.ln())));
}

#[test]
fn detected_columns_and_errors_that_name_the_problem() {
    let data = temp("detect.csv");
    let mut csv = String::from("label,p_yes,p_no,share_a,share_b\n");
    for i in 0..40 {
        let yes = i % 2 == 0;
        let p = if yes { 0.8 } else { 0.3 };
        csv.push_str(&format!("{},{p},{},{},{}\n", if yes { "yes" } else { "no" }, 1.0 - p, i as f64 / 40.0, 0.5));
    }
    std::fs::write(&data, csv).unwrap();
    let (out, report, rows) = profile(&data, &[], "detected");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["prediction_audit"]["columns"], serde_json::json!(["p_no", "p_yes"]));
    assert!(report["prediction_audit"]["reason"].as_str().unwrap().starts_with("detected"));
    assert_eq!(report["prediction_audit"]["accuracy"], 1.0);
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    let first: Vec<&str> = rows.lines().nth(1).unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!((first[column("label_quality")], first[column("given_label_loss")]), ("0.800000", "0.223144"));

    // Chosen columns that are shares, not probabilities: an error naming the line and column.
    let (out, _, _) = profile(&data, &["--proba", "share_a", "--proba", "p_yes", "--label", "label"], "bad");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be matched"), "{stderr}");
    let (out, _, _) = profile(&data, &["--proba", "nope"], "missing");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("probability column \"nope\" is not in the file"));
}

#[test]
fn values_outside_0_1_name_line_and_column() {
    let data = temp("percent.csv");
    let mut csv = String::from("label,p_a,p_b\n");
    for i in 0..20 {
        csv.push_str(&format!("{},{},{}\n", ["a", "b"][i % 2], 40 + i, 60 - i));
    }
    std::fs::write(&data, csv).unwrap();
    // Detection is not fooled: no audit, the kNN label check stays.
    let (_, report, _) = profile(&data, &[], "percent-detect");
    assert!(report.get("prediction_audit").is_none());
    assert_eq!(report["label_issues"]["method"], "knn");
    let (out, _, _) = profile(&data, &["--proba", "p_a", "--proba", "p_b"], "percent");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2, column 2") && stderr.contains("outside [0, 1]"), "{stderr}");
}
