//! The command line tool as users run it: exit statuses, outputs, messages.

use std::path::PathBuf;

mod common;
use common::bin;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    common::temp("cli", name)
}

#[test]
fn profile_writes_json_and_rows_and_passes() {
    let (json, rows) = (temp("p.json"), temp("p.csv"));
    let out = bin()
        .args(["profile", &fixture("penguins.csv"), "--backend", "cpu", "--json"])
        .arg(&json)
        .arg("--rows")
        .arg(&rows)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("344 rows x 8 columns"), "{stdout}");
    assert!(stdout.contains("verdict: passed"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // The keys DESIGN section 4 promises.
    for key in ["schema_version", "source", "columns", "duplicates", "class_balance", "outliers", "label_issues", "verdict", "compute"] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    for key in ["name", "format", "bytes", "rows", "columns"] {
        assert!(report["source"].get(key).is_some(), "missing source.{key}");
    }
    assert!(report["duplicates"]["exact"]["redundant_rows"].is_u64());
    assert!(report["duplicates"]["near"]["groups"].is_array());
    assert_eq!(report["compute"]["backend"], "cpu");
    let csv = std::fs::read_to_string(&rows).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    // DESIGN section 4's columns first; columns are only ever added at the end.
    assert!(
        lines[0].starts_with("row,line,outlier_score,is_outlier,exact_group,near_group,label_issue_score,is_label_issue,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0], preflight::rows::HEADER.join(","));
    assert!(lines[0].contains(",exact_group_ignoring_ids,conflict_group"), "{}", lines[0]);
    assert_eq!(lines.len(), 345);
    assert!(lines[1].starts_with("0,2,"), "{}", lines[1]);
}

#[test]
fn failed_verdict_exits_1() {
    let out = bin().args(["profile", &fixture("bad_json.jsonl"), "--backend", "cpu", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("unusable_rows"), "{stdout}");
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    for name in ["empty.csv", "binary.bin", "does-not-exist.csv"] {
        let out = bin().args(["profile", &fixture(name), "-q"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["profile"],
        vec!["frobnicate", "x.csv"],
        vec!["profile", "x.csv", "--backend", "tpu"],
        vec!["profile", "x.csv", "--bogus"],
        vec!["profile", "x.csv", "--include-rows"],
        vec!["profile", "x.csv", "--html"],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage"), "{args:?}");
    }
    let out = bin().args(["profile", &fixture("penguins.csv"), "--label", "nope", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("label column \"nope\""));
}

#[test]
fn gzip_input_gives_the_same_report() {
    use std::io::Write;
    let raw = std::fs::read(fixture("penguins.csv")).unwrap();
    let gz = temp("penguins.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&raw).unwrap();
    enc.finish().unwrap();
    let (a, b) = (temp("a.json"), temp("b.json"));
    for (input, json) in [(fixture("penguins.csv"), &a), (gz.to_string_lossy().to_string(), &b)] {
        let out = bin().args(["profile", &input, "--backend", "cpu", "-q", "--json"]).arg(json).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
    }
    let mut a: serde_json::Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&std::fs::read(&b).unwrap()).unwrap();
    for v in [&mut a, &mut b] {
        v["compute"]["timings_ms"] = serde_json::Value::Null;
    }
    assert_eq!(a, b);
}

#[test]
fn huge_field_is_profiled() {
    let path = temp("huge.csv");
    let mut data = b"id,blob\n1,\"".to_vec();
    data.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    data.extend_from_slice(b"\"\n2,small\n");
    std::fs::write(&path, data).unwrap();
    let json = temp("huge.json");
    let out = bin().arg("profile").arg(&path).args(["--backend", "cpu", "-q", "--json"]).arg(&json).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["source"]["rows"], 2);
    assert_eq!(report["columns"][1]["lengths"]["max"], 10 * 1024 * 1024);
    // Top values are cut so the report stays small.
    assert!(report["columns"][1]["top_values"][0]["value"].as_str().unwrap().chars().count() <= 201);
}

#[test]
fn neighbour_thresholds_are_configurable() {
    let flagged = |extra: &[&str]| -> (u64, u64) {
        let json = temp(&format!("t{}.json", extra.join("_")));
        let out = bin()
            .args(["profile", &fixture("penguins.csv"), "--backend", "cpu", "-q", "--json"])
            .arg(&json)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        (r["outliers"]["flagged"].as_u64().unwrap(), r["duplicates"]["near"]["group_count"].as_u64().unwrap())
    };
    let (outliers, near) = flagged(&[]);
    let (more_outliers, _) = flagged(&["--outlier-iqr", "0"]);
    let (_, no_near) = flagged(&["--near-factor", "0"]);
    assert!(more_outliers > outliers, "{more_outliers} vs {outliers}");
    assert!(near > 0 && no_near == 0);
    let out = bin().args(["profile", &fixture("penguins.csv"), "--outlier-iqr", "-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_huge_value_is_the_outlier_and_every_number_is_finite() {
    let path = temp("huge_value.csv");
    std::fs::write(&path, "x\n1e20\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n").unwrap();
    let (json, rows) = (temp("huge_value.json"), temp("huge_value_rows.csv"));
    let out = bin().arg("profile").arg(&path).args(["--backend", "cpu", "-q", "--json"]).arg(&json).arg("--rows").arg(&rows).output().unwrap();
    assert!(out.status.code().unwrap() <= 1);
    // serde_json writes a NaN or infinite f64 as null: only the optional
    // top-level sections may be null.
    fn nulls(v: &serde_json::Value, path: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Null => out.push(path),
            serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| nulls(x, format!("{path}[{i}]"), out)),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| nulls(x, format!("{path}.{k}"), out)),
            _ => {}
        }
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut found = Vec::new();
    nulls(&report, String::new(), &mut found);
    found.retain(|p| ![".class_balance", ".label_issues", ".embedding", ".outliers"].contains(&p.as_str()));
    assert!(found.is_empty(), "numbers that are not finite: {found:?}");
    let csv = std::fs::read_to_string(&rows).unwrap();
    assert!(!csv.contains("NaN") && !csv.contains("inf"), "{csv}");
    let first = csv.lines().nth(1).unwrap();
    assert!(first.starts_with("0,2,") && first.contains(",true,"), "row 0 is the outlier: {first}");
}

/// A table with planted defects: rows 3 and 4 identical; rows 0 and 2 the
/// same record under two ids; rows 1/7 and 5/6 identical features with
/// different labels; "Cat", "cat" and "cat " written three ways; "fish"
/// once. `id` repeats once (19 of 20 distinct): still identifier-like.
const PLANTED: &str = "id,colour,size,weight,label\n\
    1,red,small,1.5,Cat\n\
    2,blue,large,3.0,dog\n\
    3,red,small,1.5,Cat\n\
    4,green,medium,2.0,dog\n\
    4,green,medium,2.0,dog\n\
    5,yellow,small,0.5,bird\n\
    6,yellow,small,0.5,fish\n\
    7,blue,large,3.0,cat\n\
    8,purple,tiny,0.1,cat\n\
    9,orange,huge,9.9,cat \n\
    10,white,small,1.1,bird\n\
    11,black,large,4.2,dog\n\
    12,grey,medium,2.2,dog\n\
    13,pink,small,1.3,dog\n\
    14,teal,large,3.3,bird\n\
    15,navy,medium,2.4,dog\n\
    16,olive,tiny,0.2,bird\n\
    17,maroon,huge,8.8,dog\n\
    18,lime,small,1.7,bird\n\
    19,cyan,large,3.9,dog\n";

fn profile_json(path: &std::path::Path, extra: &[&str]) -> (serde_json::Value, String, String) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let (json, rows) = (temp(&format!("{name}{}.json", extra.join(""))), temp(&format!("{name}{}.rows.csv", extra.join(""))));
    let out = bin()
        .arg("profile")
        .arg(path)
        .args(["--backend", "cpu", "-q", "--json"])
        .arg(&json)
        .arg("--rows")
        .arg(&rows)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (report, std::fs::read_to_string(&rows).unwrap(), String::from_utf8(out.stdout).unwrap())
}

fn rows_of(v: &serde_json::Value) -> Vec<u64> {
    v["rows"].as_array().unwrap().iter().map(|r| r.as_u64().unwrap()).collect()
}

#[test]
fn planted_duplicates_conflicts_and_case_variants_are_found() {
    let path = temp("planted.csv");
    std::fs::write(&path, PLANTED).unwrap();
    let (r, rows_csv, stdout) = profile_json(&path, &[]);
    let exact = &r["duplicates"]["exact"];
    assert_eq!((exact["redundant_rows"].as_u64(), exact["rows_in_groups"].as_u64()), (Some(1), Some(2)));
    assert_eq!(rows_of(&exact["groups"][0]), [3, 4]);
    assert_eq!(exact["groups"][0]["lines"], serde_json::json!([5, 6]));
    assert_eq!(exact["normalized"], false);
    let ids = &exact["ignoring_identifiers"];
    assert_eq!(ids["columns_ignored"][0]["column"], "id");
    assert_eq!(
        (ids["redundant_rows"].as_u64(), ids["additional_redundant_rows"].as_u64(), ids["group_count"].as_u64()),
        (Some(2), Some(1), Some(2))
    );
    assert_eq!(rows_of(&ids["groups"][0]), [0, 2]);
    assert_eq!(rows_of(&ids["groups"][1]), [3, 4]);

    let c = &r["conflicting_labels"];
    assert_eq!(c["label_column"], "label");
    assert_eq!((c["group_count"].as_u64(), c["rows_in_groups"].as_u64(), c["rows_outvoted"].as_u64()), (Some(2), Some(4), Some(2)));
    assert_eq!(rows_of(&c["groups"][0]), [1, 7]);
    assert_eq!(c["groups"][0]["lines"], serde_json::json!([3, 9]));
    assert_eq!(c["groups"][0]["labels"], serde_json::json!([{"class": "cat", "count": 1}, {"class": "dog", "count": 1}]));
    assert_eq!(rows_of(&c["groups"][1]), [5, 6]);
    assert_eq!(c["columns_ignored"][0]["column"], "id");

    let b = &r["class_balance"];
    assert_eq!(b["singletons"], serde_json::json!(["cat ", "fish"]));
    let v = &b["case_variants"];
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["normalized"], "cat");
    assert_eq!(v[0]["count"], 5);
    let written: Vec<&str> = v[0]["classes"].as_array().unwrap().iter().map(|c| c["class"].as_str().unwrap()).collect();
    assert_eq!(written, ["Cat", "cat", "cat "]);
    assert!(r["verdict"]["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().starts_with("conflicting_labels:")));

    // Per-row findings: the new columns hold each row's group.
    let lines: Vec<Vec<&str>> = rows_csv.lines().map(|l| l.split(',').collect()).collect();
    let col = |name: &str| lines[0].iter().position(|h| *h == name).unwrap();
    let (ids_col, conflict_col, exact_col) = (col("exact_group_ignoring_ids"), col("conflict_group"), col("exact_group"));
    let at = |row: usize, c: usize| lines[row + 1][c];
    assert_eq!((at(0, ids_col), at(2, ids_col), at(4, ids_col), at(1, ids_col)), ("0", "0", "3", ""));
    assert_eq!((at(1, conflict_col), at(7, conflict_col), at(5, conflict_col), at(6, conflict_col), at(0, conflict_col)), ("1", "1", "5", "5", ""));
    assert_eq!((at(3, exact_col), at(4, exact_col), at(0, exact_col)), ("3", "3", ""));

    assert!(stdout.contains("duplicates ignoring id: 2 redundant rows in 2 groups (1 more than identical rows)"), "{stdout}");
    assert!(stdout.contains("conflicting labels: 2 groups"), "{stdout}");
    assert!(stdout.contains("classes seen once: cat , fish"), "{stdout}");
    assert!(stdout.contains(r#"likely one class written 3 ways: "Cat" (2), "cat" (2), "cat " (1)"#), "{stdout}");

    // Another label column: conflicts and balance follow it.
    let (r, _, _) = profile_json(&path, &["--label", "size"]);
    assert_eq!(r["class_balance"]["label_column"], "size");
    assert_eq!(r["conflicting_labels"]["label_column"], "size");
    assert_eq!(r["conflicting_labels"]["group_count"], 0);
}

#[test]
fn normalize_joins_rows_that_differ_in_case_whitespace_and_number_spelling() {
    let path = temp("normalize.csv");
    std::fs::write(&path, "name,code,label\n Alice ,7,a\nalice,7.0,a\nALICE,007,b\nBob,8,a\n").unwrap();
    let (r, _, _) = profile_json(&path, &["--label", "label"]);
    let e = &r["duplicates"]["exact"];
    assert_eq!((e["group_count"].as_u64(), e["normalized"].as_bool()), (Some(0), Some(false)));
    assert_eq!(e["normalization"], serde_json::json!([]));
    assert_eq!(r["conflicting_labels"]["group_count"], 0);
    let (r, _, stdout) = profile_json(&path, &["--label", "label", "--normalize"]);
    let e = &r["duplicates"]["exact"];
    assert_eq!(e["normalized"], true);
    assert_eq!(e["normalization"].as_array().unwrap().len(), 3);
    assert!(e["method"].as_str().unwrap().contains("normalised"));
    assert_eq!((e["group_count"].as_u64(), e["redundant_rows"].as_u64()), (Some(1), Some(1)));
    assert_eq!(rows_of(&e["groups"][0]), [0, 1]);
    let c = &r["conflicting_labels"];
    assert_eq!((c["normalized"].as_bool(), c["group_count"].as_u64()), (Some(true), Some(1)));
    assert_eq!(rows_of(&c["groups"][0]), [0, 1, 2]);
    assert!(stdout.contains("values normalised"), "{stdout}");
}

#[test]
fn dupes_fixture_has_its_documented_conflicting_pair() {
    let (r, _, _) = profile_json(std::path::Path::new(&fixture("dupes.csv")), &[]);
    let c = &r["conflicting_labels"];
    assert_eq!(c["group_count"], 1);
    assert_eq!(rows_of(&c["groups"][0]), [4, 8]);
}

#[test]
fn multi_label_jsonl_is_counted_per_label() {
    let path = temp("multi.jsonl");
    let mut data = String::new();
    for i in 0..30 {
        let tags = ["[\"news\",\"sport\"]", "[\"news\"]", "[\"sport\",\"tech\"]", "[\"tech\"]", "[\"news\",\"tech\",\"sport\"]"][i % 5];
        data.push_str(&format!("{{\"id\": {i}, \"x\": {}, \"tags\": {tags}}}\n", i % 7));
    }
    std::fs::write(&path, data).unwrap();
    let (r, _, stdout) = profile_json(&path, &[]);
    let b = &r["class_balance"];
    assert_eq!(b["label_column"], "tags");
    assert_eq!(b["multi_label"], true);
    assert_eq!(b["counts"], serde_json::json!({"news": 18, "sport": 18, "tech": 18}));
    assert_eq!((b["labelled_rows"].as_u64(), b["missing"].as_u64()), (Some(30), Some(0)));
    assert!(stdout.contains("multi-label: 54 labels on 30 rows"), "{stdout}");
}

/// Reviews with planted text duplicates: rows 0 and 3 identical; row 5 is
/// row 0 with a few edits (case, punctuation, one word); row 6 is row 1 with
/// its case changed; row 2 and row 4 stand alone.
const REVIEWS: &str = "id,stars,review\n\
    1,5,\"The battery lasts two full days and the screen is bright, sharp and easy to read outdoors.\"\n\
    2,1,\"Support never answered my emails; after three weeks I asked my bank for a refund.\"\n\
    3,4,\"Arrived early, well packed, and the charger works with my old laptop too.\"\n\
    4,5,\"The battery lasts two full days and the screen is bright, sharp and easy to read outdoors.\"\n\
    5,2,\"The strap broke within a month and the replacement costs more than the watch.\"\n\
    6,5,\"the battery lasts two full days, and the screen is bright, sharp and easy to read indoors!\"\n\
    7,1,\"SUPPORT NEVER ANSWERED MY EMAILS; AFTER THREE WEEKS I ASKED MY BANK FOR A REFUND.\"\n";

#[test]
fn text_duplicates_with_text_column_and_threshold() {
    let input = temp("reviews.csv");
    std::fs::write(&input, REVIEWS).unwrap();
    let (json, rows) = (temp("reviews.json"), temp("reviews-rows.csv"));
    let out = bin()
        .args(["profile"])
        .arg(&input)
        .args(["--backend", "cpu", "--text", "review", "--json"])
        .arg(&json)
        .arg("--rows")
        .arg(&rows)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("texts of \"review\": 1 exact groups (1 redundant rows), 2 near groups (5 rows; Jaccard >= 0.7, MinHash on the CPU)"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let sections = report["text_duplicates"].as_array().unwrap();
    assert_eq!(sections.len(), 1);
    let t = &sections[0];
    assert_eq!(t["column"], "review");
    assert_eq!(t["reason"], "chosen by the user");
    assert_eq!(t["engine"], "cpu");
    assert_eq!((t["shingle_size"].as_u64(), t["permutations"].as_u64()), (Some(5), Some(128)));
    assert_eq!((t["bands"].as_u64(), t["rows_per_band"].as_u64()), (Some(20), Some(6)));
    assert_eq!(t["threshold"], 0.7);
    assert_eq!(t["exact"]["groups"][0]["rows"], serde_json::json!([0, 3]));
    assert_eq!(t["exact"]["groups"][0]["lines"], serde_json::json!([2, 5]));
    let near = t["near"]["groups"].as_array().unwrap();
    assert_eq!(near[0]["rows"], serde_json::json!([0, 3, 5]));
    assert_eq!(near[0]["distinct_texts"], 2);
    let j = near[0]["min_jaccard"].as_f64().unwrap();
    assert!((0.7..1.0).contains(&j), "{j}");
    assert_eq!(near[1]["rows"], serde_json::json!([1, 6]));
    assert_eq!(near[1]["max_jaccard"], 1.0);
    assert_eq!(near[0]["texts"][1]["text"], "the battery lasts two full days, and the screen is bright, sharp and easy to read indoors!");
    // Rows 3 and 5 repeat row 0's text, row 6 row 1's: 3 of 7, a warning.
    assert_eq!(t["redundant_rows"], 3);
    let rule = report["verdict"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "text_duplicate_share")
        .expect("text_duplicate_share rule");
    assert_eq!(rule["passed"], false);
    assert!((rule["value"].as_f64().unwrap() - 3.0 / 7.0).abs() < 1e-12);
    // Per row: the smallest row id of the row's text duplicate group.
    let csv = std::fs::read_to_string(&rows).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|&h| h == "text_dup_group").expect("text_dup_group column");
    let groups: Vec<String> = csv.lines().skip(1).map(|l| l.split(',').nth(column).unwrap().to_string()).collect();
    assert_eq!(groups, ["0", "1", "", "0", "", "0", "1"]);

    // A threshold of 1: only texts equal after normalisation stay joined.
    let out = bin()
        .args(["profile"])
        .arg(&input)
        .args(["--backend", "cpu", "--text", "review", "--text-threshold", "1", "-q", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let near = report["text_duplicates"][0]["near"]["groups"].as_array().unwrap();
    assert_eq!(near.len(), 1);
    assert_eq!(near[0]["rows"], serde_json::json!([1, 6]));
    // The exact pair {0, 3} now lies outside every near group: 1 + 1.
    assert_eq!(report["text_duplicates"][0]["redundant_rows"], 2);

    // Bad uses: an unknown column, thresholds out of (0, 1].
    let out = bin().args(["profile"]).arg(&input).args(["--text", "body", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("text column \"body\""));
    for bad in ["0", "1.5", "x"] {
        let out = bin().args(["profile"]).arg(&input).args(["--text-threshold", bad, "-q"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn a_text_column_is_detected_without_text() {
    let input = temp("reviews-detected.csv");
    std::fs::write(&input, REVIEWS).unwrap();
    let json = temp("reviews-detected.json");
    let out = bin().args(["profile"]).arg(&input).args(["--backend", "cpu", "-q", "--json"]).arg(&json).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["text_duplicates"][0]["column"], "review");
    assert_eq!(report["text_duplicates"][0]["reason"], "profiled as text");
    // Penguins has no free text: the section is an empty list.
    let out = bin().args(["profile", &fixture("penguins.csv"), "--backend", "cpu", "-q", "--json"]).arg(&json).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["text_duplicates"], serde_json::json!([]));
}

/// Writes `penguins.csv` split in two: the first `split` data rows as the
/// reference, the rest as the candidate, with `planted` reference rows
/// copied into the candidate.
fn penguin_split(prefix: &str, split: usize, planted: usize) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(fixture("penguins.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (header, rows) = (lines[0], &lines[1..]);
    let (a, b) = rows.split_at(split);
    let reference = format!("{header}\n{}\n", a.join("\n"));
    let mut cand: Vec<&str> = b.to_vec();
    cand.extend(a.iter().take(planted));
    let candidate = format!("{header}\n{}\n", cand.join("\n"));
    let (r, c) = (temp(&format!("{prefix}-ref.csv")), temp(&format!("{prefix}-cand.csv")));
    std::fs::write(&r, reference).unwrap();
    std::fs::write(&c, candidate).unwrap();
    (r, c)
}

#[test]
fn compare_reports_leakage_with_exit_status_1_and_writes_json() {
    // Rows in file order: the first 200 vs the rest (Gentoo-heavy) drift by
    // species too; the planted rows leak.
    let (r, c) = penguin_split("leak", 200, 5);
    let json = temp("compare.json");
    let out = bin().arg("compare").arg(&r).arg(&c).args(["--backend", "cpu", "-q", "--json"]).arg(&json).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("leakage: 5 candidate rows"), "{stdout}");
    assert!(stdout.contains("verdict: FAILED"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in ["schema_version", "reference", "candidate", "comparison", "verdict"] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["reference"]["source"]["rows"], 200);
    assert_eq!(report["candidate"]["source"]["rows"], 149);
    assert_eq!(report["comparison"]["leakage"]["exact_rows"], 5);
    assert!(report["comparison"]["drift"].as_array().unwrap().len() >= 7);
    assert_eq!(report["comparison"]["drift"][0]["flagged"], true);
}

#[test]
fn compare_of_a_file_with_itself_minus_nothing_and_bad_inputs() {
    let (r, c) = penguin_split("same", 172, 0);
    // A loose limit makes the ordered split pass: the exit status follows the verdict.
    let out = bin()
        .arg("compare")
        .arg(&r)
        .arg(&c)
        .args(["--backend", "cpu", "-q", "--psi", "100", "--ks", "1", "--js", "1", "--missing-change", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let missing = bin().arg("compare").arg(&r).arg(temp("nope.csv")).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.csv"));
    let one = bin().arg("compare").arg(&r).output().unwrap();
    assert_eq!(one.status.code(), Some(2));
    let bad = bin().arg("compare").arg(&r).arg(&c).args(["--psi", "-1"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn compare_rows_lists_each_candidate_rows_leaks() {
    // 5 reference rows planted at the candidate's end (rows 144..149).
    let (r, c) = penguin_split("rows", 200, 5);
    let rows = temp("compare-rows.csv");
    let out = bin().arg("compare").arg(&r).arg(&c).args(["--backend", "cpu", "-q", "--rows"]).arg(&rows).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(&rows).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,line,exact_leak_reference_row,leak_ignoring_ids_reference_row,near_leak_reference_row,\
         text_leak_reference_row,nearest_reference_distance"
    );
    let records: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(records.len(), 149);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.len(), 7);
        assert_eq!(r[0], i.to_string());
        assert_eq!(r[1], (i + 2).to_string());
        assert_eq!(r[5], "", "penguins have no free-text column");
        if i >= 144 {
            // A planted copy of reference row i - 144: exact, at distance 0.
            let planted = (i - 144).to_string();
            assert_eq!((r[2], r[3], r[4]), (planted.as_str(), planted.as_str(), ""), "{r:?}");
            assert_eq!(r[6].parse::<f64>().unwrap(), 0.0);
        } else {
            assert_eq!(r[2], "", "{r:?}");
            if !r[6].is_empty() {
                assert!(r[6].parse::<f64>().unwrap() >= 0.0);
            }
        }
    }
    // Near copies (kNN) name a reference row, never an exact copy's.
    assert!(records.iter().filter(|r| !r[4].is_empty()).all(|r| r[2].is_empty()));
}

/// On a headless machine (no `XDG_RUNTIME_DIR`) the GPU probe of `--backend
/// auto` goes through Mesa's Vulkan layers, whose Wayland lookup printed
/// `error: XDG_RUNTIME_DIR is invalid ...` on every run: stderr carries
/// preflight's own lines only.
#[test]
fn a_headless_run_prints_no_foreign_errors() {
    let out = bin()
        .args(["profile", &fixture("penguins.csv"), "--backend", "auto"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MESA_VK_DEVICE_SELECT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let foreign: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty() && !line.starts_with("preflight")).collect();
    assert!(foreign.is_empty(), "lines on stderr not from preflight: {foreign:?}");
}

/// --format and --delimiter say what the name does not: JSON lines named
/// .txt (read as CSV by its name), a semicolon file named .csv, in both
/// modes; contradictions and bad values are usage errors.
#[test]
fn format_and_delimiter_overrule_the_name() {
    let jsonl = temp("lines.txt");
    std::fs::write(&jsonl, "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y\"}\n{\"a\":3,\"b\":\"z\"}\n").unwrap();
    let semi = temp("semi.csv");
    std::fs::write(&semi, "a;b;c\n1;2;3\n4;5;6\n7;8;9\n").unwrap();
    let summary = |args: &[&str]| {
        let out = bin().args(args).args(["--backend", "cpu", "-q"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let j = jsonl.to_str().unwrap();
    assert!(summary(&["profile", j]).contains("(csv,"), "by its name");
    for stream in ["off", "on"] {
        let out = summary(&["profile", j, "--format", "jsonl", "--stream", stream]);
        assert!(out.contains("3 rows x 2 columns (jsonl,"), "{stream}: {out}");
    }
    let s = semi.to_str().unwrap();
    assert!(summary(&["profile", s, "--delimiter", ";"]).contains("3 rows x 3 columns (csv,"));
    assert!(summary(&["profile", s, "--delimiter", ","]).contains("3 rows x 1 columns (csv,"), "the delimiter given is used");
    for (args, message) in [
        (vec!["--format", "xml"], "--format must be csv, tsv or jsonl"),
        (vec!["--delimiter", ",,"], "--delimiter must be one ASCII character"),
        (vec!["--format", "jsonl", "--delimiter", ";"], "--delimiter is for CSV"),
    ] {
        let out = bin().args(["profile", s]).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
