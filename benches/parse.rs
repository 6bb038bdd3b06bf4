//! Parse speed of the readers against the csv crate and serde_json, on a
//! synthetic mixed CSV (numbers, dates, short categoricals, quoted text with
//! commas and newlines) and a JSON lines file of the same rows.
//!
//! `cargo bench --bench parse [-- MB]` (default 64 MB of each). Prints MB/s
//! of each reader (best of 3) and the ratios:
//! - `csv crate ByteRecord`: the csv crate splitting the fields, nothing else
//!   (the baseline of issue 7's native target);
//! - `CsvReader -> no-op sink`: preflight's reader, every field unquoted,
//!   UTF-8 checked and classed (missing or text), handed to a sink that only
//!   counts;
//! - `CsvReader -> Table`: the same into exact mode's column store;
//! - `CsvReader -> Accumulator`: the same into stream mode's accumulator
//!   (sketches, row hashes, PII scan, sample): the full per-row work of a
//!   streamed profile;
//! - JSONL: `JsonlReader` into a no-op sink and an Accumulator, against
//!   serde_json reading each line into a `Value` (what the reader did
//!   before) and serde_json only validating each line (`IgnoredAny`).

use preflight::ingest::{CellKind, CsvReader, Issues, JsonlReader, Sink, Table};
use preflight::stream::accumulate::Accumulator;
use std::hint::black_box;
use std::time::Instant;

/// Counts what it is given and keeps nothing.
#[derive(Default)]
struct NoopSink {
    columns: usize,
    cells: u64,
    bytes: u64,
    rows: u64,
}

impl Sink for NoopSink {
    fn add_column(&mut self, _name: &str) -> usize {
        self.columns += 1;
        self.columns - 1
    }
    fn column_for_key(&mut self, name: &str) -> usize {
        // JSONL: a fixed set of keys, found by their length.
        name.len() % 16
    }
    fn set(&mut self, _column: usize, kind: CellKind, text: &str) -> bool {
        self.cells += 1;
        self.bytes += text.len() as u64 + kind as u64;
        true
    }
    fn end_row(&mut self, line: u64, offset: u64) {
        self.rows += 1;
        self.bytes += line ^ offset;
    }
}

/// A seeded xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "data", "quality", "check", "file", "value",
    "label", "train", "test", "model", "great", "poor", "item", "order", "late", "fine",
];
const CITIES: &[&str] = &["Paris", "Berlin", "Oslo", "Lima", "Quito", "Accra", "Hanoi", "Perth"];
const LABELS: &[&str] = &["positive", "negative", "neutral"];

/// One row's values: id, amount, count, date, city, label, flag, note.
fn row(rng: &mut Rng, id: u64) -> [String; 8] {
    let words = 3 + rng.below(12);
    let mut note = String::new();
    for w in 0..words {
        if w > 0 {
            note.push_str(if rng.below(8) == 0 { ", " } else { " " });
        }
        note.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    if rng.below(20) == 0 {
        note.push_str("\nsecond line");
    }
    [
        id.to_string(),
        format!("{}.{:02}", rng.below(10_000), rng.below(100)),
        if rng.below(30) == 0 { String::new() } else { rng.below(500).to_string() },
        format!("20{:02}-{:02}-{:02}", 10 + rng.below(15), 1 + rng.below(12), 1 + rng.below(28)),
        CITIES[rng.below(CITIES.len() as u64) as usize].to_string(),
        LABELS[rng.below(3) as usize].to_string(),
        if rng.below(2) == 0 { "true".into() } else { "false".into() },
        note,
    ]
}

const NAMES: [&str; 8] = ["id", "amount", "count", "date", "city", "label", "flag", "note"];

fn make_csv(bytes: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = NAMES.join(",").into_bytes();
    out.push(b'\n');
    let mut id = 0;
    while out.len() < bytes {
        let values = row(&mut rng, id);
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if v.contains([',', '\n', '"']) {
                out.push(b'"');
                out.extend_from_slice(v.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(v.as_bytes());
            }
        }
        out.push(b'\n');
        id += 1;
    }
    out
}

fn make_jsonl(bytes: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = Vec::new();
    let mut id = 0;
    while out.len() < bytes {
        let v = row(&mut rng, id);
        let count = if v[2].is_empty() { "null".to_string() } else { v[2].clone() };
        let line = format!(
            "{{\"id\":{},\"amount\":{},\"count\":{},\"date\":\"{}\",\"city\":\"{}\",\"label\":\"{}\",\"flag\":{},\"note\":{}}}\n",
            v[0],
            v[1],
            count,
            v[3],
            v[4],
            v[5],
            v[6],
            serde_json::to_string(&v[7]).unwrap_or_default()
        );
        out.extend_from_slice(line.as_bytes());
        id += 1;
    }
    out
}

/// Best MB/s of 3 runs of `run` over `bytes` bytes.
fn measure(label: &str, bytes: usize, mut run: impl FnMut() -> u64) -> f64 {
    let mut best = f64::INFINITY;
    let mut check = 0;
    for _ in 0..3 {
        let start = Instant::now();
        check = black_box(run());
        best = best.min(start.elapsed().as_secs_f64());
    }
    let mb_s = bytes as f64 / 1e6 / best;
    println!("{label:<34} {mb_s:>8.1} MB/s  {:>8.3} s  ({check})", best);
    mb_s
}

/// Feeds `data` in 1 MiB chunks, as the CLI and the browser do.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.chunks(1 << 20)
}

fn csv_into<S: Sink>(data: &[u8], sink: &mut S) -> u64 {
    let mut issues = Issues::default();
    let mut reader = CsvReader::new(b',', true);
    for chunk in chunks(data) {
        reader.push(chunk, sink, &mut issues);
    }
    reader.push(&[], sink, &mut issues);
    issues.rows_used
}

fn jsonl_into<S: Sink>(data: &[u8], sink: &mut S) -> u64 {
    let mut issues = Issues::default();
    let mut reader = JsonlReader::new();
    for chunk in chunks(data) {
        reader.push(chunk, sink, &mut issues);
    }
    reader.push(&[], sink, &mut issues);
    issues.rows_used
}

fn main() {
    let mb: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(64);
    let options = preflight::Options::default();

    let csv = make_csv(mb << 20);
    println!("CSV: {:.1} MB, 8 columns (numbers, dates, categoricals, quoted text)", csv.len() as f64 / 1e6);
    let baseline = measure("csv crate ByteRecord (split only)", csv.len(), || {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&csv[..]);
        let mut record = csv::ByteRecord::new();
        let mut fields = 0u64;
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            fields += record.len() as u64;
        }
        fields
    });
    let noop = measure("CsvReader -> no-op sink", csv.len(), || {
        let mut sink = NoopSink::default();
        csv_into(&csv, &mut sink) + sink.bytes
    });
    let table = measure("CsvReader -> Table (exact mode)", csv.len(), || {
        let mut table = Table::default();
        csv_into(&csv, &mut table)
    });
    let header: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let accumulate = measure("CsvReader -> Accumulator (stream)", csv.len(), || {
        // The header goes through the reader: the accumulator starts empty.
        let mut acc = Accumulator::new(&options, &[], 0);
        let _ = &header;
        csv_into(&csv, &mut acc)
    });
    println!(
        "ratios to the csv crate: no-op sink {:.2}x its speed, Table {:.2}x, Accumulator {:.2}x \
         (time of the Accumulator path / csv crate time: {:.2})",
        noop / baseline,
        table / baseline,
        accumulate / baseline,
        baseline / accumulate
    );
    drop(csv);

    let jsonl = make_jsonl(mb << 20);
    println!("\nJSONL: {:.1} MB, the same rows", jsonl.len() as f64 / 1e6);
    let value = measure("serde_json Value per line", jsonl.len(), || {
        let mut n = 0;
        for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
            n += v.as_object().map_or(0, |o| o.len()) as u64;
        }
        n
    });
    let ignored = measure("serde_json IgnoredAny per line", jsonl.len(), || {
        let mut n = 0;
        for line in jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            n += serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok() as u64;
        }
        n
    });
    let noop_j = measure("JsonlReader -> no-op sink", jsonl.len(), || {
        let mut sink = NoopSink::default();
        jsonl_into(&jsonl, &mut sink) + sink.bytes
    });
    let acc_j = measure("JsonlReader -> Accumulator (stream)", jsonl.len(), || {
        let mut acc = Accumulator::new(&options, &[], 0);
        jsonl_into(&jsonl, &mut acc)
    });
    println!(
        "ratios to serde_json Value: no-op sink {:.2}x, Accumulator {:.2}x; to IgnoredAny: no-op sink {:.2}x",
        noop_j / value,
        acc_j / value,
        noop_j / ignored
    );
}
