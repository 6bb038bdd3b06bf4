//! Streamed runs (`preflight::stream`) against exact mode: the same file
//! profiled both ways. Where every sketch is still exact and the sample
//! holds every row, the reports and the per-row CSV are the same; with a
//! small sample the whole-file sections still are, the sample does not
//! depend on how the file was split, and past the sketches' exact limits
//! the estimates stay within their published bounds.

use preflight::report::Report;
use preflight::stream;
use preflight::{Analysis, Backend, Options, Profiler};

/// A deterministic generator (64-bit LCG, high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A mixed table of `rows` rows: ids, categories, numbers with missing
/// values, booleans, dates, free text, personal data, a label, and exact
/// copies of earlier rows.
fn mixed_csv(rows: usize, seed: u64) -> String {
    let mut rng = Lcg(seed);
    let mut out = String::from("id,city,age,score,member,joined,comment,email,phone,label\n");
    let cities = ["Paris", "Lyon", "Nice", "Lille", "Brest", "Metz"];
    let words = ["good", "service", "slow", "delivery", "great", "product", "broken", "box", "would", "buy", "again"];
    let mut written: Vec<String> = Vec::new();
    for i in 0..rows {
        if i > 10 && rng.below(25) == 0 {
            // An exact copy of an earlier row.
            let copy = written[rng.below(written.len() as u64) as usize].clone();
            out.push_str(&copy);
            written.push(copy);
            continue;
        }
        let age = if rng.below(20) == 0 { String::new() } else { (18 + rng.below(60)).to_string() };
        let score = format!("{:.2}", rng.below(100_000) as f64 / 997.0 - 20.0);
        let member = if rng.below(2) == 0 { "true" } else { "false" };
        let joined = format!("20{:02}-{:02}-{:02}", 10 + rng.below(14), 1 + rng.below(12), 1 + rng.below(28));
        let n = 4 + rng.below(8) as usize;
        let comment: Vec<&str> = (0..n).map(|_| words[rng.below(words.len() as u64) as usize]).collect();
        let email = if rng.below(10) == 0 { format!("user{}@example.com", rng.below(500)) } else { String::new() };
        let phone = if rng.below(15) == 0 { format!("+44 20 7946 {:04}", rng.below(10_000)) } else { String::new() };
        let label = match rng.below(20) {
            0 => "rare",
            1..=7 => "neg",
            _ => "pos",
        };
        let line = format!(
            "{},{},{age},{score},{member},{joined},{},{email},{phone},{label}\n",
            i,
            cities[rng.below(cities.len() as u64) as usize],
            comment.join(" "),
        );
        out.push_str(&line);
        written.push(line);
    }
    out
}

fn cpu(sample_rows: usize) -> Options {
    Options { backend: Backend::Cpu, sample_rows, ..Options::default() }
}

fn exact(name: &str, bytes: &[u8], options: Options) -> Analysis {
    let mut p = Profiler::new(name, options);
    p.push(bytes).unwrap();
    pollster::block_on(p.finish(&mut |_, _| {})).unwrap()
}

/// Streams a file in `parts` byte ranges of about equal size (cut anywhere:
/// each part finds its first record), each read into its own part, moved as
/// bytes, checked, and merged in file order. The parts know the file's size,
/// so their samples are bounded as the CLI's and the page's are.
fn streamed_profiler(name: &str, bytes: &[u8], parts: usize, options: Options) -> Profiler {
    streamed_parts(name, bytes, parts, options, true).0
}

/// [`streamed_profiler`], with the parts' samples bounded or not (the
/// parts' sizes then unknown to them), and the rows each part's sample held.
fn streamed_parts(name: &str, bytes: &[u8], parts: usize, options: Options, bounded: bool) -> (Profiler, Vec<usize>) {
    let head = stream::read_head(name, &bytes[..bytes.len().min(64 << 10)], bytes.len() <= 64 << 10).unwrap();
    let body = bytes.len() as u64 - head.data_start;
    let cut = |k: u64| if k == 0 { 0 } else { head.data_start + body * k / parts as u64 };
    let file_bytes = if bounded { bytes.len() as u64 } else { 0 };
    let specs: Vec<stream::PartSpec> = (0..parts as u64)
        .map(|k| stream::PartSpec { index: k as u32, start: cut(k), end: cut(k + 1), at_record_boundary: k == 0, file_bytes })
        .collect();
    let mut read: Vec<stream::Part> = Vec::new();
    for spec in &specs {
        let mut builder = stream::PartBuilder::new(name, &options, &head, spec).unwrap();
        for chunk in bytes[spec.start as usize..].chunks(4096) {
            if builder.push(chunk).unwrap() {
                break;
            }
        }
        let bytes = builder.finish().unwrap().to_bytes();
        read.push(stream::Part::from_bytes(&bytes).unwrap());
    }
    assert!(stream::check_parts(&read).is_ok(), "the parts met at record boundaries");
    let held = read.iter().map(|p| p.accumulator().sampled_rows()).collect();
    (stream::merge_parts(name, &options, &head, read, bytes.len() as u64).unwrap(), held)
}

fn streamed(name: &str, bytes: &[u8], parts: usize, options: Options) -> Analysis {
    let mut p = streamed_profiler(name, bytes, parts, options);
    pollster::block_on(p.analyse(&mut |_, _| {})).unwrap()
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

/// The first place where two JSON values differ, as a path and both values.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let (va, vb) = (x.get(key).unwrap_or(&Value::Null), y.get(key).unwrap_or(&Value::Null));
                if let Some(d) = first_difference(va, vb, &format!("{path}.{key}")) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => {
            let clip = |v: &Value| v.to_string().chars().take(300).collect::<String>();
            Some(format!("{path}: {} != {}", clip(a), clip(b)))
        }
    }
}

#[track_caller]
fn assert_same<T: serde::Serialize>(a: &T, b: &T, what: &str) {
    if let Some(d) = first_difference(&json(a), &json(b), "") {
        panic!("{what} differs at {d}");
    }
}

/// The report without what differs by design between the two modes.
fn comparable(r: &Report) -> serde_json::Value {
    let mut v = json(r);
    v["compute"]["timings_ms"] = serde_json::Value::Null;
    v.as_object_mut().unwrap().remove("sampling");
    v
}

#[test]
fn a_sample_of_every_row_gives_the_exact_report_and_rows() {
    let csv = mixed_csv(2_000, 7);
    let e = exact("mixed.csv", csv.as_bytes(), cpu(100_000));
    for parts in [1, 3] {
        let s = streamed("mixed.csv", csv.as_bytes(), parts, cpu(100_000));
        let sampling = s.report.sampling.as_ref().expect("a streamed report says so");
        assert_eq!((sampling.rows_total, sampling.rows_sampled, sampling.parts), (2_000, 2_000, parts as u64));
        assert!(sampling.approximate.is_empty(), "{:?}", sampling.approximate);
        assert_same(&e.report.columns, &s.report.columns, "columns");
        assert_same(&e.report.duplicates.exact, &s.report.duplicates.exact, "duplicates.exact");
        assert!(e.report.duplicates.exact.group_count > 10, "the fixture has copies");
        assert_same(&e.report.class_balance, &s.report.class_balance, "class_balance");
        assert_same(&e.report.pii, &s.report.pii, "pii");
        assert!(!e.report.pii.columns.is_empty());
        assert_same(&comparable(&e.report), &comparable(&s.report), &format!("the report ({parts} parts)"));
        assert_eq!(e.rows.to_csv().unwrap(), s.rows.to_csv().unwrap(), "{parts} parts");
    }
}

/// Every `(row, line)` a report quotes (objects with both, and `rows` and
/// `lines` lists side by side), checked against the file's lines.
fn check_rows_and_lines(value: &serde_json::Value, lines: &[u64], checked: &mut usize) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let (Some(Value::Number(row)), Some(Value::Number(line))) = (map.get("row"), map.get("line")) {
                let row = row.as_u64().unwrap() as usize;
                assert_eq!(Some(line.as_u64().unwrap()), lines.get(row).copied(), "row {row} in {value}");
                *checked += 1;
            }
            if let (Some(Value::Array(rows)), Some(Value::Array(ls))) = (map.get("rows"), map.get("lines")) {
                for (row, line) in rows.iter().zip(ls) {
                    let row = row.as_u64().unwrap() as usize;
                    assert_eq!(line.as_u64(), lines.get(row).copied(), "row {row} in a group");
                    *checked += 1;
                }
            }
            map.values().for_each(|v| check_rows_and_lines(v, lines, checked));
        }
        Value::Array(items) => items.iter().for_each(|v| check_rows_and_lines(v, lines, checked)),
        _ => {}
    }
}

#[test]
fn a_small_sample_keeps_whole_file_sections_and_does_not_depend_on_the_split() {
    let csv = mixed_csv(2_000, 11);
    let e = exact("mixed.csv", csv.as_bytes(), cpu(100_000));
    let exact_rows: Vec<Vec<String>> = e.rows.to_csv().unwrap().lines().map(|l| l.split(',').map(String::from).collect()).collect();
    let mut samples = Vec::new();
    for parts in [1, 2, 5] {
        let s = streamed("mixed.csv", csv.as_bytes(), parts, cpu(50));
        let r = &s.report;
        let sampling = r.sampling.as_ref().unwrap();
        assert_eq!((sampling.rows_total, sampling.rows_sampled, sampling.parts), (2_000, 50, parts as u64));
        assert!(sampling.whole_file.iter().any(|w| w == "class_balance"), "{:?}", sampling.whole_file);
        assert!(sampling.checks_on_sample.iter().any(|c| c == "outliers"));
        assert_eq!(r.source.rows, 2_000);
        assert_same(&e.report.ingest, &r.ingest, "ingest");
        assert_same(&e.report.columns, &r.columns, "columns");
        let (mut whole, mut sample) = (e.report.duplicates.exact.clone(), r.duplicates.exact.clone());
        (whole.ignoring_identifiers, sample.ignoring_identifiers) = (None, None);
        assert_same(&whole, &sample, "duplicates.exact");
        assert_same(&e.report.class_balance, &r.class_balance, "class_balance");
        assert_same(&e.report.pii, &r.pii, "pii");
        assert_eq!(r.outliers.as_ref().unwrap().rows_scored, 50, "the neighbour checks saw the sample");

        // Row ids anywhere in the report are the file's, with their lines.
        let mut checked = 0;
        check_rows_and_lines(&json(r), &e.rows.lines, &mut checked);
        assert!(checked > 100, "{checked} rows checked");

        // The per-row CSV: one line per row; whole-file columns as exact
        // mode's; sample-only columns only on sampled rows.
        let sampled = s.rows.streamed.as_ref().unwrap().sampled.clone();
        assert_eq!(sampled.len(), 50);
        assert_eq!(s.rows.row_count(), 2_000);
        let csv_rows: Vec<Vec<String>> = s.rows.to_csv().unwrap().lines().map(|l| l.split(',').map(String::from).collect()).collect();
        assert_eq!(csv_rows.len(), 2_001);
        assert_eq!(csv_rows[0], exact_rows[0], "header");
        let mut scored = 0;
        for (row, (mine, theirs)) in csv_rows[1..].iter().zip(&exact_rows[1..]).enumerate() {
            for column in [0, 1, 4, 14] {
                assert_eq!(mine[column], theirs[column], "row {row}, column {}", preflight::rows::HEADER[column]);
            }
            if sampled.binary_search(&(row as u64)).is_err() {
                for column in [2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13] {
                    assert!(mine[column].is_empty(), "row {row} is not sampled: {}", mine.join(","));
                }
            } else {
                scored += usize::from(!mine[2].is_empty());
            }
        }
        assert_eq!(scored, 50, "every sampled row has an outlier score");
        samples.push(sampled);
    }
    assert!(samples.windows(2).all(|w| w[0] == w[1]), "the sample does not depend on the parts");
    // Spread over the file, not its first rows.
    assert!(*samples[0].last().unwrap() > 1_500 && samples[0][0] < 500, "{:?}", samples[0]);
}

/// The sampled rows of a streamed run and its `sampling` section.
fn sample_of(name: &str, bytes: &[u8], parts: usize, sample_rows: usize, bounded: bool) -> (Vec<u64>, preflight::report::Sampling, Vec<usize>) {
    let (mut profiler, held) = streamed_parts(name, bytes, parts, cpu(sample_rows), bounded);
    let analysis = pollster::block_on(profiler.analyse(&mut |_, _| {})).unwrap();
    let sampled = analysis.rows.streamed.as_ref().unwrap().sampled.to_vec();
    (sampled, analysis.report.sampling.clone().unwrap(), held)
}

#[test]
fn the_sample_bound_from_the_head_keeps_the_same_sample_and_less_in_the_parts() {
    let csv = mixed_csv(20_000, 5);
    for parts in [1, 4] {
        let (free, free_sampling, free_held) = sample_of("mixed.csv", csv.as_bytes(), parts, 500, false);
        let (bounded, sampling, held) = sample_of("mixed.csv", csv.as_bytes(), parts, 500, true);
        assert_eq!(bounded, free, "{parts} parts: the bound changes no sampled row");
        assert_eq!((sampling.rows_sampled, sampling.note.as_deref()), (500, None));
        assert_eq!(free_sampling.rows_sampled, 500);
        if parts == 4 {
            // Unbounded, each part keeps its own bottom 500; bounded, the
            // rows below (3 x 500 + 64) / 20,000 of the keys: about 390 of
            // its 5,000.
            assert_eq!(free_held, [500; 4]);
            assert!(held.iter().all(|&h| (250..500).contains(&h)), "{held:?}");
        }
    }
}

#[test]
fn rows_longer_than_the_heads_give_a_smaller_sample_of_the_smallest_keys_and_say_so() {
    // Short rows in the head, rows 20x longer after it: the head's rows
    // suggest 20x as many rows as there are, so the bound keeps fewer than
    // the sample asks for.
    let mut csv = String::from("id,text\n");
    for i in 0..2_000 {
        csv.push_str(&format!("{i},a\n"));
    }
    let long = "x".repeat(200);
    for i in 2_000..12_000 {
        csv.push_str(&format!("{i},{long}{i}\n"));
    }
    let (free, _, _) = sample_of("long.csv", csv.as_bytes(), 2, 1_000, false);
    let (bounded, sampling, _) = sample_of("long.csv", csv.as_bytes(), 2, 1_000, true);
    assert_eq!(free.len(), 1_000);
    assert!(bounded.len() < 1_000 && bounded.len() > 100, "{} rows", bounded.len());
    assert!(bounded.iter().all(|r| free.binary_search(r).is_ok()), "the bounded sample is among the smallest keys");
    assert_eq!(sampling.rows_sampled, bounded.len() as u64);
    let note = sampling.note.expect("the report says why the sample is smaller");
    assert!(note.contains(&format!("{} rows, not 1000", bounded.len())), "{note}");
}

/// Exact column profiles of a CSV (exact mode's profile step only).
fn exact_columns(bytes: &[u8]) -> (preflight::ingest::Table, Vec<preflight::report::ColumnProfile>) {
    let mut ingestor = preflight::ingest::Ingestor::new("big.csv");
    ingestor.push(bytes).unwrap();
    ingestor.finish().unwrap();
    let profiles = ingestor.table.columns.iter().map(|c| preflight::profile::profile_column(c).profile).collect();
    (ingestor.table, profiles)
}

#[test]
fn past_the_exact_limits_estimates_stay_within_the_sketches_bounds() {
    use preflight::sketch::{Kll, DEFAULT_K, TOP_CAPACITY};
    const ROWS: usize = 300_000;
    let mut rng = Lcg(42);
    let mut csv = String::from("key,amount,skewed,code\n");
    for i in 0..ROWS {
        // key: 150k distinct; amount: uniform with cents; skewed: heavy
        // tail; code: zipf-like over 40k values.
        let amount = rng.below(5_000_000) as f64 / 100.0;
        let skewed = (1.0 / (1.0 - rng.below(1_000_000) as f64 / 1_000_001.0)).ln() * 100.0;
        let code = (40_000.0 * (rng.below(1_000_000) as f64 / 1_000_000.0).powi(4)) as u64;
        csv.push_str(&format!("k{},{amount:.2},{skewed:.3},c{code}\n", (i * 7919) % 150_000));
    }
    let bytes = csv.as_bytes();
    let (table, exact) = exact_columns(bytes);
    let s = streamed("big.csv", bytes, 3, cpu(1_000));
    let approximate = &s.report.sampling.as_ref().unwrap().approximate;
    assert!(!approximate.is_empty());
    let fields = |name: &str| s.report.columns.iter().find(|c| c.name == name).unwrap().approximate.clone();
    assert_eq!(fields("key"), ["distinct", "top_values"]);
    assert_eq!(fields("amount"), ["distinct", "quantiles", "histogram", "top_values"]);
    assert!(fields("code").contains(&"top_values".to_string()), "{:?}", fields("code"));
    for (e, a) in exact.iter().zip(&s.report.columns) {
        assert_eq!((e.name.as_str(), e.column_type, e.count, e.missing), (a.name.as_str(), a.column_type, a.count, a.missing));
        assert_eq!(e.value_kinds, a.value_kinds);
        assert_eq!(e.lengths.as_ref().map(|l| (l.min, l.max)), a.lengths.as_ref().map(|l| (l.min, l.max)));
        // Distinct counts: HyperLogLog p = 14, relative standard error 0.81 %: within 4 of them.
        if a.approximate.iter().any(|f| f == "distinct") {
            let error = (a.distinct as f64 - e.distinct as f64).abs() / e.distinct as f64;
            assert!(error <= 4.0 * 1.04 / 128.0, "{}: {} vs exact {}", e.name, a.distinct, e.distinct);
        } else {
            assert_eq!(a.distinct, e.distinct, "{}", e.name);
        }
        // Top values: each count at most n / capacity above the true count, never below.
        let counts: std::collections::HashMap<&str, u64> = e.top_values.iter().map(|v| (v.value.as_str(), v.count)).collect();
        // The report's overcount bounds them from below.
        let overcount = a.top_values_overcount.unwrap_or(0);
        assert_eq!(a.top_values_overcount.is_some(), a.approximate.iter().any(|f| f == "top_values"), "{}", e.name);
        for v in &a.top_values {
            if let Some(&truth) = counts.get(v.value.as_str()) {
                assert!(v.count >= truth && v.count - truth <= ROWS as u64 / TOP_CAPACITY as u64, "{}: {v:?} vs {truth}", e.name);
                assert!(v.count - overcount <= truth, "{}: {v:?} less {overcount} vs {truth}", e.name);
            }
        }
        // A value more frequent than the next by more than the error is first.
        let slack = 2 * ROWS as u64 / TOP_CAPACITY as u64;
        if e.top_values[0].count > e.top_values[1].count + slack {
            assert_eq!(a.top_values[0].value, e.top_values[0].value, "{}: the most frequent value", e.name);
        }
        let (Some(en), Some(an)) = (&e.numeric, &a.numeric) else { continue };
        assert_eq!((en.min, en.max, en.zeros, en.negatives), (an.min, an.max, an.zeros, an.negatives));
        assert!((en.mean - an.mean).abs() <= 1e-9 * en.mean.abs().max(1.0), "{}", e.name);
        assert!((en.std - an.std).abs() <= 1e-9 * en.std, "{}", e.name);
        assert!((en.skewness - an.skewness).abs() <= 1e-6 * en.skewness.abs().max(1.0), "{}", e.name);
        assert_eq!(an.histogram.counts.iter().sum::<u64>(), e.count);
        assert_eq!(en.histogram.edges, an.histogram.edges);
        assert!(a.approximate.iter().any(|f| f == "quantiles"), "{}: {:?}", e.name, a.approximate);
        // Quantiles: the estimate's true rank within the KLL bound of q.
        let column = table.column_index(&e.name).unwrap();
        let mut values: Vec<f64> = table.columns[column].cells().filter_map(|c| c.text().parse().ok()).collect();
        values.sort_by(f64::total_cmp);
        let n = values.len() as f64;
        let rank_bound = Kll::rank_error_bound(DEFAULT_K);
        for (q, estimate) in &an.quantiles {
            let q: f64 = q.parse().unwrap();
            let below = values.partition_point(|&v| v < *estimate) as f64 / n;
            let at_most = values.partition_point(|&v| v <= *estimate) as f64 / n;
            let off = if q < below { below - q } else if q > at_most { q - at_most } else { 0.0 };
            assert!(off <= rank_bound, "{} q{q}: rank off by {off}", e.name);
        }
        // Histogram: each bin's count within the double-sided bound x n.
        let pmf = Kll::pmf_error_bound(DEFAULT_K) * n;
        for (bin, (x, y)) in en.histogram.counts.iter().zip(&an.histogram.counts).enumerate() {
            assert!((*x as f64 - *y as f64).abs() <= pmf, "{} bin {bin}: {y} vs exact {x}", e.name);
        }
    }
}

/// A streamed column of distinct values past the top-values limit lists
/// values seen once as seen once, not at the summary's offset (Space-Saving
/// counts are upper bounds); a column with repeats keeps its upper bounds.
#[test]
fn a_column_of_distinct_values_lists_its_values_once() {
    let mut csv = String::from("id,code\n");
    for i in 0..40_000u64 {
        csv.push_str(&format!("{},c{}\n", (i * 7919) % 40_000 + 1, (i * 31) % 12_000));
    }
    for parts in [1, 3] {
        let s = streamed("ids.csv", csv.as_bytes(), parts, cpu(1_000));
        let column = |name: &str| s.report.columns.iter().find(|c| c.name == name).unwrap();
        let id = column("id");
        assert!(id.approximate.contains(&"top_values".to_string()), "{:?}", id.approximate);
        assert_eq!((id.distinct, id.count), (40_000, 40_000));
        // (Three parts' merge purges every one-off counter: none is listed.)
        assert!(parts > 1 || !id.top_values.is_empty());
        assert!(id.top_values.iter().all(|v| v.count == 1), "{parts} parts: {:?}", id.top_values);
        assert_eq!(id.top_values_overcount, None, "lower bounds");
        let code = column("code");
        assert!(code.approximate.contains(&"top_values".to_string()) && code.distinct < code.count);
        // Each code occurs 3 or 4 times: upper bounds, never below the truth.
        assert!(!code.top_values.is_empty() && code.top_values.iter().all(|v| v.count >= 3), "{:?}", code.top_values);
        let overcount = code.top_values_overcount.expect("upper bounds say how far off they may be");
        assert!(code.top_values.iter().all(|v| v.count.saturating_sub(overcount) <= 4), "{overcount}: {:?}", code.top_values);
    }
}

/// JSON lines whose keys come in varying order, appear late (`extra`
/// only from row 700: the parts before never see it), nest, hold vectors
/// and nulls, with copies of earlier records written in another key order.
fn mixed_jsonl(rows: usize) -> String {
    let mut rng = Lcg(5);
    let mut out = String::new();
    let mut records: Vec<(u64, String, u64, String)> = Vec::new();
    for i in 0..rows {
        let (id, name, age, label) = if i > 20 && rng.below(15) == 0 {
            records[rng.below(records.len() as u64) as usize].clone()
        } else {
            let name = ["ann", "bob", "cy", "dee"][rng.below(4) as usize].to_string();
            let label = ["x", "y"][rng.below(2) as usize].to_string();
            let r = (i as u64 % 50, name, rng.below(90), label);
            records.push(r.clone());
            r
        };
        let emb = if rng.below(3) == 0 {
            "null".to_string()
        } else {
            format!("[{}, {}, {}]", rng.below(10), rng.below(10), rng.below(10))
        };
        let extra = if i >= 700 && rng.below(2) == 0 { format!(", \"extra\": {}", rng.below(5)) } else { String::new() };
        if rng.below(2) == 0 {
            out.push_str(&format!(
                "{{\"id\": {id}, \"user\": {{\"name\": \"{name}\", \"age\": {age}}}, \"label\": \"{label}\", \"emb\": {emb}{extra}}}\n"
            ));
        } else {
            out.push_str(&format!(
                "{{\"label\": \"{label}\"{extra}, \"emb\": {emb}, \"user\": {{\"age\": {age}, \"name\": \"{name}\"}}, \"id\": {id}}}\n"
            ));
        }
        if rng.below(100) == 0 {
            out.push('\n');
        }
    }
    out
}

#[test]
fn json_lines_with_late_keys_stream_as_exact_mode_reads_them() {
    let jsonl = mixed_jsonl(1_500);
    let e = exact("mixed.jsonl", jsonl.as_bytes(), cpu(100_000));
    assert!(e.report.duplicates.exact.group_count > 5);
    for parts in [1, 4] {
        let s = streamed("mixed.jsonl", jsonl.as_bytes(), parts, cpu(100_000));
        assert_same(&comparable(&e.report), &comparable(&s.report), &format!("the report ({parts} parts)"));
        assert_eq!(e.rows.to_csv().unwrap(), s.rows.to_csv().unwrap(), "{parts} parts");
    }
}

#[test]
fn normalised_duplicates_stream_exactly() {
    let mut csv = String::from("name,code,n\n");
    for i in 0..600 {
        let v = i % 40;
        match i % 3 {
            0 => csv.push_str(&format!(" Item {v} ,00{v},{v}\n")),
            1 => csv.push_str(&format!("item  {v},{v}.0,{v}.00\n")),
            _ => csv.push_str(&format!("ITEM {v},{v},{v}e0\n")),
        }
    }
    let options = Options { normalize: true, ..cpu(100_000) };
    let e = exact("n.csv", csv.as_bytes(), options.clone());
    assert!(e.report.duplicates.exact.normalized && e.report.duplicates.exact.redundant_rows > 500);
    let s = streamed("n.csv", csv.as_bytes(), 3, options);
    assert_same(&e.report.duplicates.exact, &s.report.duplicates.exact, "normalised duplicates");
    assert_eq!(e.rows.to_csv().unwrap(), s.rows.to_csv().unwrap());
}

/// Where a column's type decides how its values compare and the stream
/// could not know it yet, the report says the duplicates may differ.
#[test]
fn duplicates_the_stream_cannot_settle_are_flagged() {
    // "n" compares as text (one stray word): 1 and 1.0 differ in exact
    // mode; the stream hashed them by value.
    let mut csv = String::from("n,v\n");
    for i in 0..100 {
        csv.push_str(&format!("{},{}\n", i % 10, i));
    }
    csv.push_str("1,500\n1.0,500\nnone,7\n");
    let e = exact("c.csv", csv.as_bytes(), cpu(100_000));
    let s = streamed("c.csv", csv.as_bytes(), 1, cpu(100_000));
    assert_eq!(e.report.duplicates.exact.redundant_rows, 0);
    assert_eq!(s.report.duplicates.exact.redundant_rows, 1, "joined by value");
    let sampling = s.report.sampling.as_ref().unwrap();
    assert!(sampling.approximate.iter().any(|a| a.starts_with("duplicates.exact") && a.contains("\"n\"")), "{:?}", sampling.approximate);
    assert!(s.report.duplicates.exact.method.contains("may differ"), "{}", s.report.duplicates.exact.method);
    // Written canonically, nothing to flag and the same result.
    let clean = csv.replace("1.0,500", "2,500");
    let s = streamed("c.csv", clean.as_bytes(), 1, cpu(100_000));
    assert!(s.report.sampling.as_ref().unwrap().approximate.is_empty());
    assert_same(&exact("c.csv", clean.as_bytes(), cpu(100_000)).report.duplicates.exact, &s.report.duplicates.exact, "clean");
}

/// 2^53 + 1 parses to 2^53 as f64: in an integer column (compared as
/// int64 in exact mode) the stream keeps them apart too, in the distinct
/// count and in the row hashes.
#[test]
fn integers_next_to_two_to_the_53_stream_as_exact_mode_reads_them() {
    let mut csv = String::from("id,v\n");
    for (i, id) in ["9007199254740993", "9007199254740992", "9007199254740993", "-9007199254740993", "-9007199254740992", "1"].iter().enumerate() {
        csv.push_str(&format!("{id},{i}\n"));
    }
    let e = exact("big.csv", csv.as_bytes(), cpu(100_000));
    let s = streamed("big.csv", csv.as_bytes(), 2, cpu(100_000));
    assert_eq!(e.report.columns[0].distinct, 5);
    assert_eq!(e.report.duplicates.exact.redundant_rows, 0);
    assert_same(&e.report.columns, &s.report.columns, "columns");
    assert_same(&e.report.duplicates.exact, &s.report.duplicates.exact, "duplicates.exact");
}

/// A file whose lines end with a lone carriage return streams in parts
/// (cut at carriage returns) with the lines exact mode gives.
#[test]
fn carriage_return_lines_stream_as_exact_mode_reads_them() {
    let csv = mixed_csv(1_500, 5).replace("\r\n", "\n").replace('\n', "\r");
    let e = exact("cr.csv", csv.as_bytes(), cpu(100_000));
    assert_eq!(e.report.source.line_ending, "\r");
    assert!(e.rows.to_csv().unwrap().contains("\n1,3,"), "row 1 on line 3");
    for parts in [1, 3] {
        let s = streamed("cr.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&comparable(&e.report), &comparable(&s.report), &format!("the report ({parts} parts)"));
        assert_eq!(e.rows.to_csv().unwrap(), s.rows.to_csv().unwrap(), "{parts} parts");
    }
}

/// Categories written several ways ("Male", "male ", "MALE") are an
/// alert of their column, the same streamed as read whole.
#[test]
fn values_written_several_ways_are_flagged_in_both_modes() {
    let mut csv = String::from("sex,island,n\n");
    let sexes = ["male", "female", "male", "female", "male ", "MALE", " female"];
    for i in 0..700 {
        let sex = if i == 400 { "F" } else if i < 690 { sexes[i % 2] } else { sexes[i % 7] };
        csv.push_str(&format!("{sex},{},{i}\n", ["Biscoe", "Dream", "Torgersen"][i % 3]));
    }
    let e = exact("v.csv", csv.as_bytes(), cpu(100_000));
    let alert = e.report.columns[0].alerts.iter().find(|a| a.kind == "spelling_variants").expect("an alert");
    assert!(alert.message.starts_with("2 values are written several ways"), "{}", alert.message);
    assert!(alert.message.contains("\"male \" (2)") && alert.message.contains("\" female\" (2)"), "{}", alert.message);
    assert!(!e.report.columns[1].alerts.iter().any(|a| a.kind == "spelling_variants"));
    let alert = e.report.columns[0].alerts.iter().find(|a| a.kind == "abbreviations").expect("an alert");
    assert!(alert.message.ends_with("\"F\" (1 row) beside \"female\" (349 rows)"), "{}", alert.message);
    for parts in [1, 3] {
        let s = streamed("v.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&e.report.columns, &s.report.columns, &format!("columns ({parts} parts)"));
    }
}

/// A key held by two rows is named in both modes while the counts are
/// exact; past the exact distinct limit the stream says nothing of it
/// rather than read an estimate below the row count as repeats.
#[test]
fn repeated_identifiers_are_named_only_from_exact_counts() {
    let key_csv = |rows: usize| {
        let mut csv = String::from("tailnum,seats\n");
        for i in 0..rows {
            let key = if i == 250 { 17 } else { i };
            csv.push_str(&format!("N{key:06}Q,{}\n", i % 7));
        }
        csv
    };
    let csv = key_csv(400);
    let e = exact("k.csv", csv.as_bytes(), cpu(100_000));
    let alert = e.report.columns[0].alerts.iter().find(|a| a.kind == "repeated_ids").expect("an alert");
    assert!(alert.message.starts_with("1 row repeats another row's value") && alert.message.ends_with("\"N000017Q\" (2 rows)"), "{}", alert.message);
    for parts in [1, 3] {
        let s = streamed("k.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&e.report.columns, &s.report.columns, &format!("columns ({parts} parts)"));
    }
    let big = key_csv(70_000);
    let e = exact("k.csv", big.as_bytes(), cpu(1_000));
    assert!(e.report.columns[0].alerts.iter().any(|a| a.kind == "repeated_ids"));
    let s = streamed("k.csv", big.as_bytes(), 2, cpu(1_000));
    assert!(s.report.columns[0].approximate.iter().any(|f| f == "distinct"), "{:?}", s.report.columns[0].approximate);
    assert!(!s.report.columns[0].alerts.iter().any(|a| a.kind == "repeated_ids"), "{:?}", s.report.columns[0].alerts);
}

/// Dates in two layouts are named with their rows and first text, the
/// same streamed in parts (each part counting its own) as read whole.
#[test]
fn dates_in_several_layouts_are_flagged_in_both_modes() {
    let mut csv = String::from("day,n\n");
    for i in 0..2000 {
        let (m, d) = (i % 12 + 1, i % 28 + 1);
        let day = if i % 200 == 150 { format!("{d:02}/{m:02}/2021") } else { format!("2021-{m:02}-{d:02}") };
        csv.push_str(&format!("{day},{i}\n"));
    }
    let e = exact("d.csv", csv.as_bytes(), cpu(100_000));
    let alert = e.report.columns[0].alerts.iter().find(|a| a.kind == "date_formats").expect("an alert");
    assert!(alert.message.starts_with("dates are written 2 ways: 1990 rows yyyy-mm-dd (e.g. \"2021-01-01\"), 6 rows dd/mm/yyyy (e.g. \"15/03/2021\"), 4 rows dd/mm/yyyy or mm/dd/yyyy"), "{}", alert.message);
    for parts in [1, 4] {
        let s = streamed("d.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&e.report.columns, &s.report.columns, &format!("columns ({parts} parts)"));
    }
}

/// A numeric column with a few other values names the first of them,
/// the same streamed (in parts, the memo of texts forgetting) as read whole.
#[test]
fn mixed_types_name_their_first_odd_values_in_both_modes() {
    let mut csv = String::from("x,y,price\n");
    for i in 0..3000 {
        let x = match i {
            700 => "?".to_string(),
            1500 | 2900 => "-".to_string(),
            2000 => "unknown".to_string(),
            2500 => "n.a.".to_string(),
            _ => format!("{}.{}", i % 97, i % 10),
        };
        // A European price column: decimal commas, a few with the sign.
        let price = if i % 100 == 7 { format!("\"{},{:02} \u{20ac}\"", i % 40, i % 100) } else { format!("\"{},{}\"", i % 40, i % 10 + 1) };
        csv.push_str(&format!("{x},{i},{price}\n"));
    }
    let e = exact("m.csv", csv.as_bytes(), cpu(100_000));
    let alert = e.report.columns[0].alerts.iter().find(|a| a.kind == "mixed_types").expect("an alert");
    assert_eq!(alert.message, "values of several kinds: 2995 numeric, 5 string (e.g. \"?\", \"-\", \"unknown\")");
    // The same five values read as markers for a missing value.
    let alert = e.report.columns[0].alerts.iter().find(|a| a.kind == "missing_value_markers").expect("an alert");
    assert_eq!(
        alert.message,
        "5 values read like a marker for a missing value: \"-\" (2 rows), \"?\" (1 row), \"n.a.\" (1 row), \"unknown\" (1 row); counted as values, not as missing"
    );
    let alert = e.report.columns[2].alerts.iter().find(|a| a.kind == "numbers_as_text").expect("an alert");
    assert_eq!(
        alert.message,
        "numbers written in a form read as text (as pandas reads them): 2970 values with a decimal comma (e.g. \"0,1\"), 30 values with a currency sign (e.g. \"7,07 \u{20ac}\"); they are not in the numeric statistics"
    );
    for parts in [1, 4] {
        let s = streamed("m.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&e.report.columns, &s.report.columns, &format!("columns ({parts} parts)"));
    }
}

#[test]
fn rules_read_whole_file_numbers_in_a_streamed_run() {
    let csv = mixed_csv(2_000, 3);
    let rules = preflight::checks::rules::RuleSet::from_json(
        r#"{"rules": [
            {"rule": "allowed_values", "column": "city", "values": ["Paris", "Lyon", "Nice"], "severity": "error"},
            {"rule": "allowed_values", "column": "member", "values": ["true", "false"], "severity": "error"},
            {"rule": "row_count", "min": 1999, "max": 2000, "severity": "error"},
            {"rule": "max_duplicate_share", "max": 0.001, "severity": "warning"},
            {"rule": "no_pii", "kinds": ["email"], "severity": "warning"}
        ]}"#,
        "rules.json",
    )
    .unwrap();
    let options = Options { rules: Some(rules), ..cpu(40) };
    let e = exact("mixed.csv", csv.as_bytes(), options.clone());
    let s = streamed("mixed.csv", csv.as_bytes(), 2, options);
    for (x, y) in e.report.verdict.rules.iter().zip(&s.report.verdict.rules) {
        if ["conflicting_labels", "text_duplicate_share", "outlier_share"].contains(&x.rule.as_str()) {
            assert!(y.message.ends_with("(on a uniform sample of 40 of the file's 2000 rows)"), "{}", y.message);
            continue;
        }
        assert_eq!((&x.rule, x.passed, x.value), (&y.rule, y.passed, y.value), "{} / {}", x.message, y.message);
    }
    let city = s.report.verdict.rules.iter().find(|r| r.rule == "allowed_values" && !r.passed).unwrap();
    let expected = e.report.verdict.rules.iter().find(|r| r.rule == "allowed_values" && !r.passed).unwrap();
    // The same counts, without the first lines (counts do not keep them).
    let exact_message = expected.message.split(" (first on line").next().unwrap();
    assert!(city.message.starts_with(exact_message.split(':').next().unwrap()), "{} vs {}", city.message, expected.message);
    assert!(!city.message.contains("first on line") && !city.message.contains("sample"), "{}", city.message);
}

/// A file R's `write.table` wrote (row names, without a header field for
/// them) streamed in parts reads as read whole: a `row_names` column, an
/// identifier, and the ingest note on the first data line.
#[test]
fn row_names_read_the_same_streamed() {
    let mut csv = String::from("\"Weight\",\"Feed\",\"Pig\"\n");
    for i in 1..=1500 {
        csv.push_str(&format!("\"{i}\",{}.{},{},{}\n", 20 + i % 70, i % 10, if i % 9 == 0 { "NA".to_string() } else { (i % 40).to_string() }, 4600 + i % 72));
    }
    let e = exact("r.csv", csv.as_bytes(), cpu(100_000));
    let names: Vec<&str> = e.report.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["row_names", "Weight", "Feed", "Pig"]);
    assert_eq!(e.report.columns[0].column_type.name(), "identifier");
    assert_eq!((e.report.ingest.rows_used, e.report.ingest.rows_skipped), (1500, 0));
    assert_eq!((e.report.ingest.issues[0].kind.as_str(), e.report.ingest.issues[0].line), ("row_names", 2));
    for parts in [1, 3] {
        let s = streamed("r.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&e.report.columns, &s.report.columns, &format!("columns ({parts} parts)"));
        assert_same(&e.report.ingest, &s.report.ingest, &format!("ingest ({parts} parts)"));
    }
}

/// A daily table whose rows lie close together: a day entered twice, its
/// wind retyped one step off, is a near copy (equal but for one number a
/// step apart), though its distance is no less than between other days.
#[test]
fn a_row_copied_with_one_number_retyped_is_a_near_copy() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut csv = String::from("date,precipitation,temp_max,temp_min,wind,weather\n");
    let mut lines = Vec::new();
    for i in 0..900u64 {
        let (y, m, d) = (2012 + i / 336, i / 28 % 12 + 1, i % 28 + 1);
        // Seasons: each day near the days around it.
        let precipitation = if next(5) > 0 { 0.0 } else { next(30) as f64 / 10.0 };
        let temp_max = 15.0 + 10.0 * (i as f64 / 58.0).sin() + next(10) as f64 / 10.0;
        let line = format!(
            "{y}-{m:02}-{d:02},{precipitation:.1},{temp_max:.1},{:.1},{:.1},{}",
            temp_max - 6.0,
            2.0 + next(20) as f64 / 10.0,
            if precipitation > 0.0 { "rain" } else { "sun" }
        );
        lines.push(line);
    }
    // Line 902: row 400 again, its wind (the 5th field) 0.1 higher.
    let mut fields: Vec<String> = lines[400].split(',').map(str::to_string).collect();
    fields[4] = format!("{:.1}", fields[4].parse::<f64>().unwrap() + 0.1);
    lines.push(fields.join(","));
    for line in &lines {
        csv.push_str(line);
        csv.push('\n');
    }
    let e = exact("w.csv", csv.as_bytes(), cpu(100_000));
    let rows = e.rows.to_csv().unwrap();
    let near: Vec<String> = rows.lines().skip(1).map(|l| l.split(',').nth(5).unwrap_or("").to_string()).collect();
    assert!(!near[400].is_empty() && near[400] == near[900], "rows 400 and 900: {:?} {:?}", near[400], near[900]);
}

/// A CSV Excel saved with its `sep=;` line reads the same streamed in
/// parts as whole: the line names the delimiter and is no record.
#[test]
fn excel_sep_line_reads_the_same_streamed() {
    let mut csv = String::from("sep=;\r\nname;score;n\r\n");
    for i in 0..1200 {
        csv.push_str(&format!("p{};{},{};{}\r\n", i % 50, i % 9, i % 4, i));
    }
    let e = exact("x.csv", csv.as_bytes(), cpu(100_000));
    let names: Vec<&str> = e.report.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["name", "score", "n"]);
    assert_eq!(e.report.ingest.rows_used, 1200);
    assert_eq!(e.report.ingest.issues[0].kind, "sep_line");
    for parts in [1, 3] {
        let s = streamed("x.csv", csv.as_bytes(), parts, cpu(100_000));
        assert_same(&e.report.columns, &s.report.columns, &format!("columns ({parts} parts)"));
        assert_same(&e.report.ingest, &s.report.ingest, &format!("ingest ({parts} parts)"));
        assert_eq!(e.rows.to_csv().unwrap(), s.rows.to_csv().unwrap(), "{parts} parts");
    }
}
