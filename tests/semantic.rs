//! `--embed semantic` end to end through the command line tool: a small
//! text dataset of four topics with planted paraphrase pairs runs on the CPU
//! and (when there is a GPU adapter: lavapipe in CI, `PREFLIGHT_REQUIRE_GPU=1`)
//! on the GPU; the report says which embedding ran, where, and how many texts
//! were cut; both backends find the same neighbours; paraphrases are each
//! other's nearest neighbours; every way of getting the model wrong exits 2
//! with a message that says what to do.
//!
//! Needs the model file (scripts/fetch-model): without it the tests that run
//! the model print "SKIPPED" and pass, unless `PREFLIGHT_REQUIRE_MODEL=1`.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Paraphrase pairs (row ids in `dataset()`): same meaning, few shared words.
const PAIRS: [(u64, u64); 4] = [(0, 1), (2, 3), (4, 5), (6, 7)];

/// id,text,label: four topics; rows 0-7 are the paraphrase pairs, row 16 a
/// text of more than 256 tokens, row 17 has no text.
fn dataset() -> String {
    let texts = [
        ("The cat is sleeping on the sofa.", "pets"),
        ("A kitten naps on the couch.", "pets"),
        ("The stock market fell sharply today.", "finance"),
        ("Share prices dropped steeply this afternoon.", "finance"),
        ("Bake the cake at 180 degrees for forty minutes.", "cooking"),
        ("Cook the sponge in a 180C oven for 40 minutes.", "cooking"),
        ("The striker scored twice in the final.", "football"),
        ("In the cup final the forward netted two goals.", "football"),
        ("Dogs love to chase balls in the park.", "pets"),
        ("My parrot repeats every word it hears.", "pets"),
        ("The central bank raised interest rates again.", "finance"),
        ("Investors are worried about inflation.", "finance"),
        ("Chop the onions and fry them in butter.", "cooking"),
        ("Season the soup with salt and pepper.", "cooking"),
        ("The goalkeeper saved a penalty in extra time.", "football"),
        ("The referee showed the defender a red card.", "football"),
    ];
    let mut csv = String::from("id,text,label\n");
    for (i, (text, label)) in texts.iter().enumerate() {
        csv.push_str(&format!("{i},\"{text}\",{label}\n"));
    }
    let long: Vec<String> = (0..300).map(|i| format!("word{i}")).collect();
    csv.push_str(&format!("16,\"{}\",finance\n", long.join(" ")));
    csv.push_str("17,,pets\n");
    csv
}

/// The model file, or `None` after a loud skip notice (a failure under
/// `PREFLIGHT_REQUIRE_MODEL=1`).
fn model_path() -> Option<PathBuf> {
    match preflight::semantic::weights::find_model() {
        Ok(path) => Some(path),
        Err(why) => {
            if std::env::var("PREFLIGHT_REQUIRE_MODEL").is_ok_and(|v| v == "1") {
                panic!("PREFLIGHT_REQUIRE_MODEL=1 but {why}");
            }
            eprintln!("\n*** SKIPPED: {why} ***\n");
            None
        }
    }
}

fn data_file() -> PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = common::temp("semantic", "texts.csv");
        std::fs::write(&path, dataset()).unwrap();
        path
    })
    .clone()
}

/// `preflight profile FILE ARGS... --json OUT`: (exit status, report or Null, stderr).
fn profile(file: &Path, args: &[&str], tag: &str) -> (i32, Value, String) {
    let json = common::temp("semantic", &format!("{tag}.json"));
    let _ = std::fs::remove_file(&json);
    let out =
        common::bin().arg("profile").arg(file).args(args).arg("--json").arg(&json).arg("--quiet").output().unwrap();
    let report = std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The semantic report of the dataset on `backend`, made once per backend.
fn semantic_report(backend: &'static str) -> Option<&'static Value> {
    static CPU: OnceLock<Option<Value>> = OnceLock::new();
    static GPU: OnceLock<Option<Value>> = OnceLock::new();
    let cell = if backend == "cpu" { &CPU } else { &GPU };
    cell.get_or_init(|| {
        let model = model_path()?;
        let model = model.to_str().unwrap();
        let (status, report, stderr) =
            profile(&data_file(), &["--embed", "semantic", "--model", model, "--backend", backend], backend);
        assert!(status == 0 || status == 1, "exit {status}: {stderr}");
        Some(report)
    })
    .as_ref()
}

/// Each row's neighbours, by row id, from the outlier list (every row of
/// this small dataset is in it).
fn neighbours(report: &Value) -> std::collections::BTreeMap<u64, Vec<u64>> {
    report["outliers"]["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["neighbours"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect(),
            )
        })
        .collect()
}

#[test]
fn cpu_report_says_semantic_and_counts_truncated_and_missing_texts() {
    let Some(r) = semantic_report("cpu") else { return };
    let e = &r["embedding"];
    assert_eq!(e["method"], "semantic");
    assert_eq!(e["model"], "all-MiniLM-L6-v2 fp16");
    assert_eq!(e["backend"], "cpu");
    assert_eq!(e["dimension"], 384);
    assert_eq!(e["truncated_texts"], 1, "row 16 has more than 256 tokens");
    assert_eq!(e["rows_without_text"], 1, "row 17 has no text");
    assert_eq!(e["rows"], 17);
    assert_eq!(e["features"][0]["column"], "text");
    assert_eq!(e["features"][0]["encoding"], "semantic");
    let excluded: Vec<&str> = e["excluded"].as_array().unwrap().iter().map(|x| x["column"].as_str().unwrap()).collect();
    assert_eq!(excluded, ["id", "label"]);
    assert_eq!(r["outliers"]["metric"], "cosine");
    assert_eq!(r["outliers"]["rows_scored"], 17);
    assert!(r["compute"]["timings_ms"]["embedding"].as_f64().unwrap() > 0.0);
}

#[test]
fn paraphrases_are_each_others_nearest_neighbours() {
    let Some(r) = semantic_report("cpu") else { return };
    let near = neighbours(r);
    for (a, b) in PAIRS {
        assert_eq!(near[&a][0], b, "row {a}'s nearest neighbour: {:?}", near[&a]);
        assert_eq!(near[&b][0], a, "row {b}'s nearest neighbour: {:?}", near[&b]);
    }
    // The hashed n-grams, for the record: they do not see these pairs.
    let (status, hashed, stderr) = profile(&data_file(), &["--backend", "cpu"], "hashed");
    assert!(status == 0 || status == 1, "{stderr}");
    assert_eq!(hashed["embedding"]["method"], "hashed");
    assert!(hashed["embedding"].get("model").is_none());
    let hashed_near = neighbours(&hashed);
    let found = PAIRS.iter().filter(|(a, b)| hashed_near[a][0] == *b && hashed_near[b][0] == *a).count();
    eprintln!("hashed n-grams: {found} of {} paraphrase pairs mutual nearest neighbours; semantic: all", PAIRS.len());
}

#[test]
fn gpu_finds_the_same_neighbours_as_the_cpu() {
    if common::gpu_context().is_none() {
        return;
    }
    let (Some(cpu), Some(gpu)) = (semantic_report("cpu"), semantic_report("gpu")) else { return };
    assert_eq!(gpu["embedding"]["backend"], "gpu", "note: {}", gpu["embedding"]["note"]);
    assert!(gpu["embedding"]["adapter"].is_string());
    assert_eq!(gpu["embedding"]["truncated_texts"], 1);
    let (c, g) = (neighbours(cpu), neighbours(gpu));
    assert_eq!(c.keys().collect::<Vec<_>>(), g.keys().collect::<Vec<_>>());
    for (row, list) in &c {
        // The nearest three: further down, near-equal distances may swap.
        assert_eq!(list[..3], g[row][..3], "row {row}");
    }
    let scores = |r: &Value| -> Vec<(u64, f64)> {
        r["outliers"]["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["row"].as_u64().unwrap(), t["distance"].as_f64().unwrap()))
            .collect()
    };
    let (mut sc, mut sg) = (scores(cpu), scores(gpu));
    sc.sort_by_key(|s| s.0);
    sg.sort_by_key(|s| s.0);
    for ((row, a), (_, b)) in sc.iter().zip(&sg) {
        assert!((a - b).abs() < 1e-3, "row {row}: mean kNN distance {a} on the CPU, {b} on the GPU");
    }
}

#[test]
fn a_missing_or_wrong_model_file_exits_2_saying_what_to_do() {
    let file = data_file();
    let (status, _, stderr) = profile(&file, &["--embed", "semantic", "--model", "/nonexistent/model.pfm"], "missing");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("/nonexistent/model.pfm") && stderr.contains("scripts/fetch-model"), "{stderr}");

    let out = common::bin()
        .env("PREFLIGHT_MODEL", "/nonexistent/env.pfm")
        .args(["profile", file.to_str().unwrap(), "--embed", "semantic", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/env.pfm") && stderr.contains("scripts/fetch-model"), "{stderr}");

    // A file that is not a model: named, with the reason.
    let (status, _, stderr) = profile(&file, &["--embed", "semantic", "--model", file.to_str().unwrap()], "notmodel");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("texts.csv"), "{stderr}");

    let (status, _, stderr) = profile(&file, &["--model", "x.pfm"], "nomode");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("--embed semantic"), "{stderr}");
    let (status, _, stderr) = profile(&file, &["--embed", "meaning"], "badmode");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("hashed or semantic"), "{stderr}");
}

#[test]
fn a_missing_text_column_is_named() {
    let Some(model) = model_path() else { return };
    let model = model.to_str().unwrap();
    let (status, _, stderr) =
        profile(&data_file(), &["--embed", "semantic", "--model", model, "--text", "review"], "notext");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("\"review\"") && stderr.contains("id, text, label"), "{stderr}");

    let numbers = common::temp("semantic", "numbers.csv");
    std::fs::write(&numbers, "x,y\n1,2\n3,4\n5,6\n").unwrap();
    let (status, _, stderr) = profile(&numbers, &["--embed", "semantic", "--model", model], "numbers");
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("no column is profiled as text") && stderr.contains("x (integer)"), "{stderr}");
}

#[test]
fn the_library_refuses_semantic_without_a_model() {
    let options = preflight::Options { embed: preflight::EmbedMode::Semantic, ..preflight::Options::default() };
    let mut profiler = preflight::Profiler::new("t.csv", options);
    profiler.push(b"text\nhello there\ngood morning\n").unwrap();
    let err = pollster::block_on(profiler.finish(&mut |_, _| {})).unwrap_err();
    assert_eq!(*err.kind(), preflight::ErrorKind::InvalidOption);
    assert!(err.message().contains("all-MiniLM-L6-v2.pfm"), "{err}");
}

#[test]
fn identical_texts_are_embedded_once_and_counted_each_time() {
    let Some(bytes) = common::model_bytes() else { return };
    let model = preflight::semantic::SemanticModel::from_bytes(&bytes).unwrap();
    let long: Vec<String> = (0..300).map(|i| format!("word{i}")).collect();
    let long = long.join(" ");
    let texts = ["the cat sleeps", long.as_str(), "the cat sleeps", long.as_str(), "a dog barks"];
    let mut seen = Vec::new();
    let found = pollster::block_on(preflight::semantic::embed_texts(
        &model,
        &texts,
        preflight::Backend::Cpu,
        &mut |f| seen.push(f),
    ))
    .unwrap();
    let d = preflight::semantic::DIMENSION;
    assert_eq!(found.vectors.len(), texts.len() * d);
    let row = |i: usize| &found.vectors[i * d..(i + 1) * d];
    assert_eq!(row(0), row(2));
    assert_eq!(row(1), row(3));
    assert_ne!(row(0), row(4));
    assert_eq!(found.truncated, 2, "each copy of the long text counts");
    assert_eq!(found.backend, "cpu");
    // The three distinct texts' tokens, [CLS] and [SEP] included; the long one cut at 256.
    let tokens: usize = [texts[0], texts[1], texts[4]].iter().map(|t| model.tokenizer().encode(t, 256).ids.len()).sum();
    assert_eq!(model.tokenizer().encode(texts[1], 256).ids.len(), 256);
    assert_eq!(found.tokens, tokens as u64);
    assert_eq!(seen.last().copied(), Some(1.0));
    for i in 0..texts.len() {
        let norm: f32 = row(i).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "row {i} has length {norm}");
    }
}
