//! The WordPiece tokenizer against the reference: every text of
//! tests/fixtures/semantic/tokenizer_cases.jsonl.gz (written by
//! scripts/make_tokenizer_fixture.py with HuggingFace `tokenizers` and the
//! model's tokenizer.json, truncation 256) must get exactly the reference's
//! ids, truncation flag and untruncated length.
//!
//! The vocabulary comes from `$PREFLIGHT_VOCAB` (a vocab.txt) when set, else
//! from the model file (`www/models/all-MiniLM-L6-v2.pfm` or
//! `$PREFLIGHT_MODEL`; scripts/fetch-model makes it). Without either the
//! tests print "SKIPPED" and pass, unless `PREFLIGHT_REQUIRE_MODEL=1`
//! (scripts/test sets it).

mod common;

use preflight::semantic::tokenizer::WordPiece;
use preflight::semantic::weights::ModelFile;
use std::io::Read;

const MAX_LEN: usize = 256;
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/semantic/tokenizer_cases.jsonl.gz"
);

struct Case {
    line: usize,
    kind: String,
    text: String,
    ids: Vec<u32>,
    full_len: usize,
}

fn cases() -> Vec<Case> {
    let file = std::fs::File::open(FIXTURE).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let row: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{FIXTURE}:{}: {e}", i + 1));
            let field = |key: &str| {
                row.get(key)
                    .unwrap_or_else(|| panic!("{FIXTURE}:{}: no {key}", i + 1))
            };
            Case {
                line: i + 1,
                kind: field("kind").as_str().unwrap().to_string(),
                text: field("text").as_str().unwrap().to_string(),
                ids: field("ids")
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect(),
                full_len: field("full_len").as_u64().unwrap() as usize,
            }
        })
        .collect()
}

/// The vocabulary text, or `None` (after a skip notice) when there is none.
fn vocab_text() -> Option<String> {
    if let Some(path) = std::env::var_os("PREFLIGHT_VOCAB").filter(|p| !p.is_empty()) {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "PREFLIGHT_VOCAB={}: {e}",
                std::path::Path::new(&path).display()
            )
        });
        return Some(text);
    }
    let bytes = common::model_bytes()?;
    let file = ModelFile::parse(&bytes).unwrap_or_else(|e| panic!("the model file: {e}"));
    Some(file.vocab().to_string())
}

fn tokenizer() -> Option<WordPiece> {
    vocab_text().map(|text| WordPiece::from_vocab(&text).unwrap())
}

/// The ids with their tokens, for failure messages.
fn show(ids: &[u32], tokens: &[&str]) -> String {
    let shown: Vec<String> = ids
        .iter()
        .map(|&id| format!("{id}:{}", tokens.get(id as usize).copied().unwrap_or("?")))
        .collect();
    format!("[{}]", shown.join(" "))
}

#[test]
fn fixture_is_large_and_varied() {
    let cases = cases();
    assert!(cases.len() >= 2000, "{} cases", cases.len());
    let kinds: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.kind.as_str()).collect();
    for kind in [
        "sentence",
        "prose",
        "accents",
        "emoji",
        "script-cjk",
        "url",
        "code",
        "control-whitespace",
        "long",
    ] {
        assert!(kinds.contains(kind), "no {kind} case");
    }
    assert!(
        cases.iter().filter(|c| c.full_len > MAX_LEN).count() >= 50,
        "too few truncated cases"
    );
    assert!(cases.iter().any(|c| c.text.is_empty()));
}

#[test]
fn ids_equal_the_reference_on_every_fixture_text() {
    let Some(tokenizer) = tokenizer() else { return };
    let vocab = vocab_text().unwrap();
    let tokens: Vec<&str> = vocab.lines().collect();
    assert_eq!(tokenizer.vocab_size(), 30_522);
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let encoded = tokenizer.encode(&case.text, MAX_LEN);
        let ok = encoded.ids == case.ids
            && encoded.full_len == case.full_len
            && encoded.truncated == (case.full_len > MAX_LEN);
        if !ok {
            failures.push((case, encoded));
        }
    }
    if !failures.is_empty() {
        let mut message = format!(
            "{} of {} texts differ from the reference; the first ones:\n",
            failures.len(),
            cases.len()
        );
        for (case, encoded) in failures.iter().take(8) {
            let first = case
                .ids
                .iter()
                .zip(&encoded.ids)
                .position(|(a, b)| a != b)
                .unwrap_or(case.ids.len().min(encoded.ids.len()));
            let from = first.saturating_sub(3);
            message += &format!(
                "\n{FIXTURE}:{} ({}), first difference at id {first}\n  text: {:?}\n  reference: {} full_len {}\n  ours:      {} full_len {} truncated {}\n",
                case.line,
                case.kind,
                case.text.chars().take(300).collect::<String>(),
                show(&case.ids[from..case.ids.len().min(first + 8)], &tokens),
                case.full_len,
                show(&encoded.ids[from.min(encoded.ids.len())..encoded.ids.len().min(first + 8)], &tokens),
                encoded.full_len,
                encoded.truncated,
            );
        }
        panic!("{message}");
    }
}

#[test]
fn untruncated_encoding_extends_the_truncated_one() {
    let Some(tokenizer) = tokenizer() else { return };
    for case in cases().iter().filter(|c| c.full_len > MAX_LEN) {
        let full = tokenizer.encode(&case.text, usize::MAX);
        assert_eq!(full.ids.len(), case.full_len, "{FIXTURE}:{}", case.line);
        assert!(!full.truncated);
        // The same pieces up to the cut; [SEP] moves to the end.
        assert_eq!(
            full.ids[..MAX_LEN - 1],
            case.ids[..MAX_LEN - 1],
            "{FIXTURE}:{}",
            case.line
        );
        assert_eq!(full.ids.last(), case.ids.last());
        let short = tokenizer.encode(&case.text, 16);
        assert_eq!(short.ids[..15], case.ids[..15]);
        assert_eq!(
            (short.ids.len(), short.full_len, short.truncated),
            (16, case.full_len, true)
        );
    }
}

#[test]
fn vocabulary_tokens_map_to_their_line_numbers() {
    let Some(tokenizer) = tokenizer() else { return };
    let vocab = vocab_text().unwrap();
    for (id, token) in vocab.lines().enumerate() {
        assert_eq!(
            tokenizer.token_id(token),
            Some(id as u32),
            "vocab line {}: {token:?}",
            id + 1
        );
    }
    assert_eq!(
        (tokenizer.unk_id(), tokenizer.cls_id(), tokenizer.sep_id()),
        (100, 101, 102)
    );
}
