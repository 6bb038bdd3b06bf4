//! The command line tool in stream mode: parts read by threads give the
//! whole-file results of exact mode; compare takes streamed inputs; the new
//! flags are checked.

mod common;
use common::{bin, temp};

/// A CSV of about `bytes` bytes with quoted newlines (so some cuts fall
/// inside quotes), exact duplicates, a label, blank and ragged lines.
fn generated_csv(bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = common::XorShift::new(seed);
    let mut out = b"id,text,value,label\n".to_vec();
    let mut i = 0u64;
    while out.len() < bytes {
        let line = match rng.below(50) {
            0 => "\n".to_string(),
            1 => format!("{i},short\n"),
            2..=5 => "7,\"the same\nrow\",1.5,b\n".to_string(),
            _ => format!(
                "{i},\"text {} with, a comma\nand a second line\",{}.{},{}\n",
                rng.below(1000),
                rng.below(100),
                rng.below(10),
                ["a", "b", "c"][rng.below(3) as usize]
            ),
        };
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

fn run(args: &[&str]) -> std::process::Output {
    bin().args(args).arg("--quiet").arg("--backend").arg("cpu").output().unwrap()
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn streamed_profile_matches_exact_mode_on_whole_file_results() {
    // One part (parts are 1 MiB at least): the splits themselves are
    // tested in tests/stream_parts.rs, where they are quick to check.
    let data = generated_csv(250_000, 5);
    let file = temp("stream", "gen.csv");
    std::fs::write(&file, &data).unwrap();
    let (stream_json, exact_json) = (temp("stream", "s.json"), temp("stream", "e.json"));
    let (stream_rows, exact_rows) = (temp("stream", "s.csv"), temp("stream", "e.csv"));
    let f = file.to_str().unwrap();
    let streamed = run(&[
        "profile",
        f,
        "--stream",
        "on",
        "--threads",
        "3",
        "--json",
        stream_json.to_str().unwrap(),
        "--rows",
        stream_rows.to_str().unwrap(),
    ]);
    let exact = run(&[
        "profile",
        f,
        "--stream",
        "off",
        "--json",
        exact_json.to_str().unwrap(),
        "--rows",
        exact_rows.to_str().unwrap(),
    ]);
    assert!(streamed.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&streamed.stderr));
    assert_eq!(streamed.status.code(), exact.status.code());
    let (s, e) = (json(&stream_json), json(&exact_json));
    assert_eq!(s["source"]["rows"], e["source"]["rows"]);
    assert_eq!(s["ingest"], e["ingest"]);
    for field in ["redundant_rows", "group_count", "rows_in_groups"] {
        assert_eq!(s["duplicates"]["exact"][field], e["duplicates"]["exact"][field], "{field}");
    }
    let names =
        |r: &serde_json::Value| r["columns"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&s), names(&e));
    for (sc, ec) in s["columns"].as_array().unwrap().iter().zip(e["columns"].as_array().unwrap()) {
        assert_eq!((&sc["count"], &sc["missing"]), (&ec["count"], &ec["missing"]), "{}", sc["name"]);
    }
    assert!(s["sampling"].is_object(), "a streamed report says it sampled");
    assert!(e.get("sampling").is_none_or(|v| v.is_null()));
    // Per-row findings: one line per row, the same row ids and lines.
    let row_line = |path: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(row_line(&stream_rows), row_line(&exact_rows));
}

#[test]
fn compare_streams_both_files() {
    let (a, b) = (temp("stream-cmp", "a.csv"), temp("stream-cmp", "b.csv"));
    std::fs::write(&a, generated_csv(120_000, 1)).unwrap();
    std::fs::write(&b, generated_csv(120_000, 2)).unwrap();
    let out_json = temp("stream-cmp", "c.json");
    let out = run(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--stream",
        "on",
        "--json",
        out_json.to_str().unwrap(),
    ]);
    assert!(out.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out_json);
    assert!(report["comparison"]["reference_rows"].as_u64().unwrap() > 500);
    assert!(report["reference"]["sampling"].is_object());
    assert!(report["candidate"]["sampling"].is_object());
}

#[test]
fn stream_flags_are_checked() {
    let file = temp("stream-flags", "x.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    let f = file.to_str().unwrap();
    for args in [
        vec!["profile", f, "--stream", "sometimes"],
        vec!["profile", f, "--threads", "0"],
        vec!["profile", f, "--sample-rows", "x"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage"), "{args:?}");
    }
    // A missing file in stream mode names it, exit 2.
    let out = run(&["profile", "/nonexistent/gone.csv", "--stream", "on"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gone.csv"));
    // An empty file in stream mode is refused as in exact mode.
    let empty = temp("stream-flags", "empty.csv");
    std::fs::write(&empty, "").unwrap();
    let out = run(&["profile", empty.to_str().unwrap(), "--stream", "on"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn gzip_streams_as_one_part() {
    use std::io::Write;
    let data = generated_csv(100_000, 9);
    let gz = temp("stream-gz", "g.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&data).unwrap();
    std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
    let plain = temp("stream-gz", "g.csv");
    std::fs::write(&plain, &data).unwrap();
    let (a, b) = (temp("stream-gz", "a.json"), temp("stream-gz", "b.json"));
    let out = run(&["profile", gz.to_str().unwrap(), "--stream", "on", "--json", a.to_str().unwrap()]);
    assert!(out.status.code().unwrap() <= 1, "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["profile", plain.to_str().unwrap(), "--stream", "off", "--json", b.to_str().unwrap()]);
    assert!(out.status.code().unwrap() <= 1);
    let (a, b) = (json(&a), json(&b));
    assert_eq!(a["source"]["rows"], b["source"]["rows"]);
    assert_eq!(a["source"]["bytes"], b["source"]["bytes"]);
    assert_eq!(a["ingest"], b["ingest"]);
}
