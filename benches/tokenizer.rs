//! WordPiece tokenizer speed: MB/s of UTF-8 input, texts/s and tokens/s on
//! the texts of tests/fixtures/semantic/tokenizer_cases.jsonl.gz, all of
//! them and by kind of text (English prose, multilingual sentences, long
//! texts, CJK, random code points).
//!
//!     cargo bench --bench tokenizer [-- SECONDS]
//!
//! Needs the vocabulary: `$PREFLIGHT_VOCAB` (a vocab.txt) or the model file
//! (scripts/fetch-model). Each set is encoded over and over for SECONDS
//! (default 2) per set; truncation at 256 ids as in use (the whole text is
//! still read: the untruncated length is counted). MB/s is by wall time;
//! on Linux "MB/s cpu" is by the thread's own CPU time too
//! (/proc/thread-self/schedstat), steadier on a busy machine.

use preflight::semantic::tokenizer::WordPiece;
use preflight::semantic::weights::{find_model, ModelFile};
use std::hint::black_box;
use std::io::Read;
use std::time::{Duration, Instant};

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("SECONDS must be a number"))
        .unwrap_or(2.0);
    let vocab = match std::env::var_os("PREFLIGHT_VOCAB") {
        Some(path) => std::fs::read_to_string(&path).expect("PREFLIGHT_VOCAB"),
        None => {
            let path = find_model().unwrap_or_else(|why| panic!("{why}"));
            let bytes = std::fs::read(&path).unwrap();
            ModelFile::parse(&bytes).unwrap().vocab().to_string()
        }
    };
    let started = Instant::now();
    let tokenizer = WordPiece::from_vocab(&vocab).unwrap();
    println!(
        "vocabulary: {} tokens, built in {:.1} ms",
        tokenizer.vocab_size(),
        started.elapsed().as_secs_f64() * 1e3
    );

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/semantic/tokenizer_cases.jsonl.gz"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let cases: Vec<(String, String)> = text
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                row["kind"].as_str().unwrap().to_string(),
                row["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    let sets: [(&str, &dyn Fn(&str) -> bool); 7] = [
        ("all fixture texts", &|_| true),
        ("English prose (pydoc)", &|k| k == "prose" || k == "zen"),
        ("long texts (> 256 ids)", &|k| k.starts_with("long")),
        ("sentences, 40 languages", &|k| k.starts_with("sentence")),
        ("CJK, kana, hangul", &|k| {
            k.starts_with("script-cjk")
                || k == "script-hiragana"
                || k == "script-katakana"
                || k == "script-hangul"
        }),
        ("accents and combining marks", &|k| {
            k.starts_with("accents") || k == "combining"
        }),
        ("code points, one per word", &|k| k.starts_with("sweep")),
    ];
    println!(
        "{:<30} {:>6} {:>9} {:>9} {:>9} {:>11} {:>12}",
        "texts", "count", "MB", "MB/s", "MB/s cpu", "texts/s", "tokens/s"
    );
    for (name, keep) in sets {
        let texts: Vec<&str> = cases
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(_, t)| t.as_str())
            .collect();
        let bytes: usize = texts.iter().map(|t| t.len()).sum();
        let tokens: usize = texts
            .iter()
            .map(|t| tokenizer.encode(t, 256).full_len)
            .sum();
        let (mut rounds, started, cpu_started) = (0u64, Instant::now(), cpu_ns());
        while started.elapsed() < Duration::from_secs_f64(seconds) || rounds == 0 {
            for text in &texts {
                black_box(tokenizer.encode(black_box(text), 256));
            }
            rounds += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_round = elapsed / rounds as f64;
        let cpu = match (cpu_started, cpu_ns()) {
            (Some(a), Some(b)) => format!(
                "{:.1}",
                bytes as f64 / 1e6 / ((b - a) as f64 / 1e9 / rounds as f64)
            ),
            _ => "-".to_string(),
        };
        println!(
            "{:<30} {:>6} {:>9.3} {:>9.1} {:>9} {:>11.0} {:>12.0}",
            name,
            texts.len(),
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / per_round,
            cpu,
            texts.len() as f64 / per_round,
            tokens as f64 / per_round
        );
    }
}

/// CPU time of this thread in nanoseconds (Linux), else `None`.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
