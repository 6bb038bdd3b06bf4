//! The peer of issue 7's native speed target: the `csv` crate only splitting
//! a file into fields (no typing, no statistics), single-threaded, as fast as
//! it goes: one reused `ByteRecord`, a 1 MiB buffer.
//!
//!     cargo run --release --example csv_split -- FILE.csv
//!
//! Prints one JSON line: {"tool":"csv crate split","seconds":..,"rows":..,"fields":..,"bytes":..}.

use std::io::Read;
use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: csv_split FILE.csv");
        std::process::exit(2);
    };
    let started = Instant::now();
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("csv_split: {path}: {e}");
            std::process::exit(2);
        }
    };
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = std::io::BufReader::with_capacity(1 << 20, file.take(u64::MAX));
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let (mut rows, mut fields) = (0u64, 0u64);
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {
                rows += 1;
                fields += record.len() as u64;
            }
            Ok(false) => break,
            Err(e) => {
                eprintln!("csv_split: {path}: {e}");
                std::process::exit(2);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{{\"tool\":\"csv crate split\",\"seconds\":{seconds:.4},\"rows\":{rows},\"fields\":{fields},\"bytes\":{bytes}}}");
}
