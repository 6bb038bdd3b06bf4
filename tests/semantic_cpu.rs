//! The CPU network against sentence-transformers: every sentence of
//! tests/fixtures/semantic/reference.jsonl.gz (written by
//! scripts/make_semantic_reference.py: fp32 PyTorch on the model's own
//! token ids) must come out with cosine >= 0.999 from the fp16 model file.
//!
//! Needs the model file (scripts/fetch-model): without it these tests print
//! "SKIPPED" and pass, unless `PREFLIGHT_REQUIRE_MODEL=1` (scripts/test).
//!
//! Unoptimised (dev profile) builds check a fixed few sentences of every
//! kind (the longest, truncated one included) to stay quick; the optimised
//! profiles (`cargo test --profile ci --test semantic_cpu`, or `--release`)
//! check every one. The Rust tokenizer must give every sentence's ids.

mod common;

use preflight::semantic::cpu::embed_cpu;
use preflight::semantic::tokenizer::WordPiece;
use preflight::semantic::weights::{find_model, MiniLm};
use std::io::Read;
use std::sync::OnceLock;

const MIN_COSINE: f64 = 0.999;

struct Reference {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn reference() -> Vec<Reference> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/semantic/reference.jsonl.gz");
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
            let numbers = |key: &str| -> Vec<f64> {
                row[key]
                    .as_array()
                    .unwrap_or_else(|| panic!("{path}:{}: no {key}", i + 1))
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            Reference {
                text: row["text"].as_str().unwrap().to_string(),
                ids: numbers("ids").into_iter().map(|v| v as u32).collect(),
                embedding: numbers("embedding").into_iter().map(|v| v as f32).collect(),
            }
        })
        .collect()
}

/// The model, decoded once for the whole test binary.
fn model() -> Option<&'static MiniLm> {
    static MODEL: OnceLock<Option<MiniLm>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let bytes = common::model_bytes()?;
            Some(MiniLm::from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", find_model().unwrap().display())))
        })
        .as_ref()
}

/// The sentences this build checks: all of them when optimised. The
/// crate's own code is not optimised in the dev profile (the network runs
/// about 100 times slower there), so an unoptimised build checks a fixed
/// few of every kind: English, accents, CJK, emoji, code, numbers, and the
/// longest text (truncated at 256 tokens).
fn selected(all: Vec<Reference>) -> Vec<Reference> {
    if !cfg!(debug_assertions) {
        return all;
    }
    let longest = (0..all.len()).max_by_key(|&i| (all[i].ids.len(), std::cmp::Reverse(i))).unwrap();
    let prefixes = ["The delivery arrived", "Café, naïve", "中文：", "I love this! ", "def add(a, b)", "Order #123456"];
    let picked: Vec<usize> = prefixes
        .iter()
        .map(|p| {
            all.iter()
                .position(|r| r.text.starts_with(p))
                .unwrap_or_else(|| panic!("no fixture sentence starts with {p:?}"))
        })
        .chain([longest])
        .collect();
    all.into_iter().enumerate().filter(|(i, _)| picked.contains(i)).map(|(_, r)| r).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
    let na: f64 = a.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn cpu_embeddings_match_sentence_transformers() {
    let Some(model) = model() else { return };
    let all = reference();
    let total = all.len();
    assert!(total >= 200, "the fixture has {total} sentences");
    assert!(all.iter().filter(|r| r.ids.len() == 256).count() >= 5, "too few truncated sentences");
    let cases = selected(all);
    let batch: Vec<Vec<u32>> = cases.iter().map(|r| r.ids.clone()).collect();
    let started = std::time::Instant::now();
    let got = embed_cpu(model, &batch);
    let elapsed = started.elapsed();
    let dim = model.config.hidden_size;
    let cosines: Vec<f64> = cases.iter().zip(got.chunks_exact(dim)).map(|(r, g)| cosine(g, &r.embedding)).collect();
    let (worst, worst_cos) = cosines.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
    let path = find_model().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "semantic cpu: {} of {total} sentences ({} tokens) in {:.2?}; cosine vs sentence-transformers fp32: min {worst_cos:.7} ({:?}, {} tokens), mean {mean:.7}; model file {} = {:.1} MB (fp16)",
        cases.len(),
        batch.iter().map(Vec::len).sum::<usize>(),
        elapsed,
        cases[worst].text.chars().take(50).collect::<String>(),
        cases[worst].ids.len(),
        path.display(),
        size as f64 / 1e6,
    );
    let meta = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/semantic/reference.meta.json");
    if let Ok(text) = std::fs::read_to_string(meta) {
        let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
        eprintln!(
            "storage cost (PyTorch, same sentences): fp16 weights min cosine {} vs fp32; int8 word embeddings {}",
            meta["min_cosine_fp16_weights_vs_fp32"], meta["min_cosine_int8_word_embeddings_vs_fp32"]
        );
    }
    let failures: Vec<String> = cases
        .iter()
        .zip(&cosines)
        .filter(|(_, &c)| !(c >= MIN_COSINE))
        .map(|(r, c)| format!("{c:.6} {:?}", r.text.chars().take(60).collect::<String>()))
        .collect();
    assert!(failures.is_empty(), "{} sentences below cosine {MIN_COSINE}:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn cpu_embeddings_are_unit_length_and_distinct() {
    let Some(model) = model() else { return };
    let texts = reference();
    // A paraphrase pair and an unrelated sentence (fixture rows 0, 1, 12).
    assert!(texts[0].text.starts_with("The delivery arrived") && texts[1].text.starts_with("My package came late"));
    assert_eq!(texts[12].text, "The cat sat on the mat.");
    let batch: Vec<Vec<u32>> = [0, 1, 12, 2, 3].iter().map(|&i| texts[i].ids.clone()).collect();
    let got = embed_cpu(model, &batch);
    let rows: Vec<&[f32]> = got.chunks_exact(model.config.hidden_size).collect();
    for (i, row) in rows.iter().enumerate() {
        let norm: f64 = row.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row {i}: norm {norm}");
        assert!(row.iter().all(|x| x.is_finite()), "row {i} is not finite");
        assert!(row.iter().filter(|&&x| x != 0.0).count() > 300, "row {i} is mostly zeros");
    }
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            assert!(cosine(rows[i], rows[j]) < 0.99, "rows {i} and {j} are the same vector");
        }
    }
    let paraphrase = cosine(rows[0], rows[1]);
    let unrelated = cosine(rows[0], rows[2]);
    assert!(paraphrase > 0.5 && paraphrase > unrelated + 0.3, "paraphrase {paraphrase} vs unrelated {unrelated}");
    // Two questions about passwords, closer to each other than to the cat.
    assert!(cosine(rows[3], rows[4]) > cosine(rows[3], rows[2]) + 0.3);
}

#[test]
fn text_through_the_rust_tokenizer_gives_the_reference_embeddings() {
    let Some(model) = model() else { return };
    let tokenizer = WordPiece::from_vocab(&model.vocab).unwrap();
    let all = reference();
    let mismatched: Vec<String> = all
        .iter()
        .filter(|r| tokenizer.encode(&r.text, 256).ids != r.ids)
        .map(|r| format!("{:?}", r.text.chars().take(60).collect::<String>()))
        .collect();
    assert!(
        mismatched.is_empty(),
        "{} of {} texts tokenised differently:\n{}",
        mismatched.len(),
        all.len(),
        mismatched.join("\n")
    );
    // Text -> tokenizer -> network, end to end, on three texts.
    let picks: Vec<&Reference> = ["Le service client", "日本語：", "Contact us at"]
        .iter()
        .map(|p| all.iter().find(|r| r.text.starts_with(p)).unwrap())
        .collect();
    let batch: Vec<Vec<u32>> = picks.iter().map(|r| tokenizer.encode(&r.text, 256).ids).collect();
    let got = embed_cpu(model, &batch);
    for (r, g) in picks.iter().zip(got.chunks_exact(model.config.hidden_size)) {
        let c = cosine(g, &r.embedding);
        assert!(c >= MIN_COSINE, "{:?}: cosine {c}", r.text);
    }
}
