//! The command line tool as users run it: exit statuses, outputs, messages.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_preflight"));
    c.env("WGPU_BACKEND", std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "vulkan".into()));
    c
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("preflight-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
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
    assert_eq!(lines[0], "row,line,outlier_score,is_outlier,exact_group,near_group,label_issue_score,is_label_issue");
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
        vec!["profile", "x.csv", "--html", "out.html"],
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
