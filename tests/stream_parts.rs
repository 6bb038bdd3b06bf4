//! Stream mode's parts: a file read as 1, 2, 3 or 7 parts, cut at every
//! offset (small inputs), gives the rows, lines and reading accounting of
//! the sequential reader; a part that guessed its first record wrong (a cut
//! inside a quoted field) is caught by the check and fixed by a re-read;
//! parts survive their binary form.

use preflight::ingest::{Cell, CellKind, Ingestor, Issues, Sink, Table};
use preflight::stream::{self, check_bounds, read_head, Head, PartBounds, PartReader, PartSpec};

/// What the comparison looks at: each row's cells by column name, its
/// line, and the reading accounting.
#[derive(Debug, PartialEq)]
struct Read {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<u64>,
    ingest: preflight::report::Ingest,
}

fn cell_text(cell: Cell) -> String {
    format!("{cell:?}")
}

fn of_table(table: &Table, issues: &Issues) -> Read {
    Read {
        columns: table.columns.iter().map(|c| c.name.clone()).collect(),
        rows: (0..table.rows()).map(|r| table.columns.iter().map(|c| cell_text(c.get(r))).collect()).collect(),
        lines: table.lines.clone(),
        ingest: issues.to_report(),
    }
}

fn sequential(name: &str, data: &[u8]) -> Read {
    let mut ingestor = Ingestor::new(name);
    ingestor.push(data).unwrap();
    ingestor.finish().unwrap();
    of_table(&ingestor.table, &ingestor.issues)
}

/// A small seeded generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Reads one part: bytes from `spec.start` on, in chunks of random sizes.
fn read_part(head: &Head, spec: &PartSpec, data: &[u8], rng: &mut Rng) -> (Table, Issues, PartBounds) {
    let mut table = Table::default();
    for name in &head.columns {
        table.add_column(name);
    }
    let mut reader = PartReader::new(head, spec, table);
    let mut at = spec.start.min(data.len() as u64) as usize;
    while at < data.len() {
        let take = if rng.below(3) == 0 { data.len() - at } else { 1 + rng.below(16) as usize };
        let take = take.min(data.len() - at);
        let done = reader.push(&data[at..at + take]);
        at += take;
        if done {
            break;
        }
    }
    reader.finish()
}

/// Reads `data` as the parts cut at `cuts`, re-reading parts as the check
/// says, then merges them as `stream::merge_parts` does (lines and rows
/// rebased, columns by name in order of appearance). Returns the merged
/// read and how many re-reads it took.
fn read_in_parts(name: &str, data: &[u8], cuts: &[u64], rng: &mut Rng) -> (Read, usize) {
    let head = read_head(name, data, true).unwrap();
    let mut bounds_at = vec![0u64];
    bounds_at.extend_from_slice(cuts);
    bounds_at.push(data.len() as u64);
    let specs: Vec<PartSpec> = bounds_at
        .windows(2)
        .enumerate()
        .map(|(i, w)| PartSpec { index: i as u32, start: w[0], end: w[1], at_record_boundary: i == 0, file_bytes: data.len() as u64 })
        .collect();
    let mut parts: Vec<(Table, Issues, PartBounds)> = specs.iter().map(|s| read_part(&head, s, data, rng)).collect();
    let mut reparses = 0;
    loop {
        let bounds: Vec<PartBounds> = parts.iter().map(|p| p.2).collect();
        match check_bounds(&bounds) {
            Ok(()) => break,
            Err(reparse) => {
                reparses += 1;
                assert!(reparses <= specs.len(), "{name} cuts {cuts:?}: re-reads do not converge");
                let planned = specs[reparse.index as usize];
                let spec = PartSpec { start: reparse.start, at_record_boundary: true, ..planned };
                parts[reparse.index as usize] = read_part(&head, &spec, data, rng);
            }
        }
    }
    assert_eq!(parts.last().unwrap().2.end_offset, data.len() as u64, "{name} cuts {cuts:?}");
    let mut merged = Table::default();
    for column in &head.columns {
        merged.add_column(column);
    }
    let mut issues = Issues::default();
    let mut lines_before = 0;
    for (table, part_issues, bounds) in parts {
        let rows_before = merged.rows() as u64;
        for row in 0..table.rows() {
            for column in &table.columns {
                let index = merged.column_for_key(&column.name);
                let (kind, text) = match column.get(row) {
                    Cell::Missing => (CellKind::Missing, ""),
                    Cell::Text(t) => (CellKind::Text, t),
                    Cell::Vector(t) => (CellKind::Vector, t),
                };
                Sink::set(&mut merged, index, kind, text);
            }
            Sink::end_row(&mut merged, table.lines[row] + lines_before, 0);
        }
        issues.append(part_issues, lines_before, rows_before);
        lines_before += bounds.newlines;
    }
    (of_table(&merged, &issues), reparses)
}

/// Every cut into 2 parts, every pair of cuts into 3 (up to `max_pairs`,
/// spread evenly), and random cuts into 7: the same read as sequential.
/// Returns the re-reads needed in all.
fn assert_parts_read_alike(name: &str, data: &[u8]) -> usize {
    let expected = sequential(name, data);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ data.len() as u64);
    let len = data.len() as u64;
    let mut reparses = 0;
    let (one, r) = read_in_parts(name, data, &[], &mut rng);
    assert_eq!(one, expected, "{name}: one part");
    reparses += r;
    for cut in 0..=len {
        let (got, r) = read_in_parts(name, data, &[cut], &mut rng);
        assert_eq!(got, expected, "{name}: 2 parts cut at {cut}");
        reparses += r;
    }
    let step = (len / 60).max(1);
    for a in (0..=len).step_by(step as usize) {
        for b in (a..=len).step_by(step as usize) {
            let (got, r) = read_in_parts(name, data, &[a, b], &mut rng);
            assert_eq!(got, expected, "{name}: 3 parts cut at {a}, {b}");
            reparses += r;
        }
    }
    for _ in 0..300 {
        let mut cuts: Vec<u64> = (0..6).map(|_| rng.below(len + 1)).collect();
        cuts.sort();
        let (got, r) = read_in_parts(name, data, &cuts, &mut rng);
        assert_eq!(got, expected, "{name}: 7 parts cut at {cuts:?}");
        reparses += r;
    }
    reparses
}

const QUOTED_CSV: &[u8] = b"id,note,n\n1,\"two\nlines\",3\n2,plain,4\n3,\"a, \"\"quoted\"\"\r\nvalue\n\nwith a blank line\",5\n\n4,x,6\n5,\"\n\",7\n";

#[test]
fn csv_with_quoted_newlines_reads_alike_at_every_cut_and_needs_re_reads() {
    let reparses = assert_parts_read_alike("q.csv", QUOTED_CSV);
    // Cuts inside the quoted fields guess wrong, and the check sees it.
    assert!(reparses > 0);
}

#[test]
fn csv_with_bom_crlf_blank_and_ragged_lines_reads_alike() {
    let data = b"\xEF\xBB\xBF\r\nname,age,city\r\nann,31,Paris\r\n\r\n   \r\nbob,27\r\ncy,40,Rome,extra\r\ndee,,,\r\n\r\n\r\neve,22,\"Oslo\r\nNorway\"\r\nfin,50,Turku";
    assert_parts_read_alike("b.csv", data);
}

#[test]
fn csv_without_header_and_with_invalid_utf8_reads_alike() {
    let data = b"1,2,3\n4,\xff\xfe,6\n\n7,8,9\n10,11\n";
    assert_parts_read_alike("n.csv", data);
    let head = read_head("n.csv", data, true).unwrap();
    assert!(!head.header);
}

#[test]
fn csv_ending_in_an_unclosed_quote_reads_alike() {
    let data = b"a,b\n1,2\n3,\"open\n4,5\n6,7\n";
    assert_parts_read_alike("u.csv", data);
}

#[test]
fn csv_with_lone_carriage_returns_reads_alike() {
    // Old Mac line ends: no newline to cut after, so every part past the
    // first finds nothing and the first reads everything.
    let data = b"a,b\r1,2\r3,4\r5,6\r";
    assert_parts_read_alike("cr.csv", data);
}

#[test]
fn jsonl_with_blank_invalid_and_nested_lines_reads_alike() {
    let data = b"\xEF\xBB\xBF{\"id\": 1, \"user\": {\"name\": \"a\"}}\r\n\n{\"id\": 2, \"emb\": [1, 2.5]}\nnot json\n[1,2]\n  \n{\"id\": 3, \"tags\": [\"x\"], \"id\": 4}\n{\"late\": true}";
    let reparses = assert_parts_read_alike("j.jsonl", data);
    assert_eq!(reparses, 0, "JSON lines hold no raw newline inside a record");
}

#[test]
fn the_fixtures_read_alike_in_parts() {
    for name in
        ["quoted.csv", "crlf_bom.csv", "ragged.csv", "noheader.csv", "bad_json.jsonl", "semicolon.csv", "tab.tsv"]
    {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(&path).unwrap();
        let expected = sequential(name, &data);
        let mut rng = Rng(7);
        let len = data.len() as u64;
        for cut in (0..=len).step_by((len / 97).max(1) as usize) {
            let (got, _) = read_in_parts(name, &data, &[cut], &mut rng);
            assert_eq!(got, expected, "{name}: cut at {cut}");
        }
        for _ in 0..50 {
            let mut cuts: Vec<u64> = (0..6).map(|_| rng.below(len + 1)).collect();
            cuts.sort();
            let (got, _) = read_in_parts(name, &data, &cuts, &mut rng);
            assert_eq!(got, expected, "{name}: cuts {cuts:?}");
        }
    }
}

#[test]
fn a_part_past_its_own_end_is_empty() {
    let head = read_head("q.csv", QUOTED_CSV, true).unwrap();
    let spec = PartSpec { index: 1, start: 20, end: 10, at_record_boundary: true, file_bytes: 0 };
    let (table, issues, bounds) = read_part(&head, &spec, QUOTED_CSV, &mut Rng(3));
    assert_eq!(table.rows(), 0);
    assert_eq!(issues.records_read, 0);
    assert_eq!((bounds.first_record_offset, bounds.end_offset, bounds.newlines), (20, 20, 0));
}

#[test]
fn stream_mode_parses_from_text() {
    assert_eq!("on".parse::<stream::StreamMode>().unwrap(), stream::StreamMode::On);
    assert!("sometimes".parse::<stream::StreamMode>().is_err());
    assert!(stream::StreamMode::Auto.streams(101, 100));
    assert!(!stream::StreamMode::Auto.streams(100, 100));
}

// --- Through the accumulator: PartBuilder, Part bytes, merge_parts ---

use preflight::stream::{merge_parts, plan_parts, Part, PartBuilder};
use preflight::{Backend, Options, Profiler};

fn cpu() -> Options {
    Options { backend: Backend::Cpu, ..Options::default() }
}

/// Builds the parts of `data` cut at `cuts` with [`PartBuilder`], re-reading
/// as `check_parts` says.
fn build_parts(name: &str, data: &[u8], cuts: &[u64], options: &Options) -> (Head, Vec<Part>) {
    let head = read_head(name, data, true).unwrap();
    let mut at = vec![0u64];
    at.extend_from_slice(cuts);
    at.push(data.len() as u64);
    let specs: Vec<PartSpec> = at
        .windows(2)
        .enumerate()
        .map(|(i, w)| PartSpec { index: i as u32, start: w[0], end: w[1], at_record_boundary: i == 0, file_bytes: data.len() as u64 })
        .collect();
    let build = |spec: &PartSpec| {
        let mut builder = PartBuilder::new(name, options, &head, spec).unwrap();
        for chunk in data[spec.start as usize..].chunks(7) {
            if builder.push(chunk).unwrap() {
                break;
            }
        }
        builder.finish().unwrap()
    };
    let mut parts: Vec<Part> = specs.iter().map(build).collect();
    while let Err(reparse) = stream::check_parts(&parts) {
        let spec = PartSpec { start: reparse.start, at_record_boundary: true, ..specs[reparse.index as usize] };
        parts[reparse.index as usize] = build(&spec);
    }
    (head, parts)
}

fn exact_report(name: &str, data: &[u8], options: &Options) -> preflight::report::Report {
    let mut profiler = Profiler::new(name, options.clone());
    profiler.push(data).unwrap();
    pollster::block_on(profiler.finish(&mut |_, _| {})).unwrap().report
}

fn merged_report(
    name: &str,
    head: &Head,
    parts: Vec<Part>,
    len: usize,
    options: &Options,
) -> preflight::report::Report {
    let profiler = merge_parts(name, options, head, parts, len as u64).unwrap();
    pollster::block_on(profiler.finish(&mut |_, _| {})).unwrap().report
}

#[test]
fn parts_through_bytes_merge_to_the_whole_file_counts() {
    let options = cpu();
    let data = b"id,note,n\n1,\"two\nlines\",3\n2,plain,4\n2,plain,4\n\n3,\"x\",\n4,short\n5,plain,4,extra\n1,\"two\nlines\",3\n";
    let exact = exact_report("p.csv", data, &options);
    for cuts in [vec![], vec![12], vec![20, 40], vec![5, 11, 17, 30, 44, 61]] {
        let (head, parts) = build_parts("p.csv", data, &cuts, &options);
        let rows: u64 = parts.iter().map(Part::rows).sum();
        assert_eq!(rows, exact.source.rows, "cuts {cuts:?}");
        // Through bytes and back.
        let decoded: Vec<Part> = parts.iter().map(|p| Part::from_bytes(&p.to_bytes()).unwrap()).collect();
        for (a, b) in parts.iter().zip(&decoded) {
            assert_eq!(a.bounds(), b.bounds());
            assert_eq!(a.rows(), b.rows());
            assert_eq!(a.issues(), b.issues());
            assert_eq!(Part::header_from_bytes(&a.to_bytes()).unwrap().0, a.bounds());
        }
        let from_parts = merged_report("p.csv", &head, parts, data.len(), &options);
        let from_bytes = merged_report("p.csv", &head, decoded, data.len(), &options);
        let strip = |r: &preflight::report::Report| {
            let mut v = serde_json::to_value(r).unwrap();
            v["compute"]["timings_ms"] = serde_json::Value::Null;
            v
        };
        assert_eq!(strip(&from_parts), strip(&from_bytes), "cuts {cuts:?}");
        assert_eq!(from_parts.source.rows, exact.source.rows, "cuts {cuts:?}");
        assert_eq!(from_parts.ingest, exact.ingest, "cuts {cuts:?}");
        let names = |r: &preflight::report::Report| r.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&from_parts), names(&exact));
        let e = (&from_parts.duplicates.exact, &exact.duplicates.exact);
        assert_eq!((e.0.redundant_rows, e.0.group_count), (e.1.redundant_rows, e.1.group_count), "cuts {cuts:?}");
    }
}

#[test]
fn jsonl_parts_merge_columns_in_order_of_first_appearance() {
    let options = cpu();
    let data =
        b"{\"a\": 1}\n{\"a\": 2, \"b\": \"x\"}\n\n{\"c\": true, \"a\": 3}\nnot json\n{\"b\": \"y\", \"d\": null}\n";
    let exact = exact_report("p.jsonl", data, &options);
    for cut in 0..=data.len() as u64 {
        let (head, parts) = build_parts("p.jsonl", data, &[cut], &options);
        let report = merged_report("p.jsonl", &head, parts, data.len(), &options);
        let names = |r: &preflight::report::Report| r.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&report), names(&exact), "cut {cut}");
        assert_eq!(report.ingest, exact.ingest, "cut {cut}");
        assert_eq!(report.source.rows, exact.source.rows);
    }
}

#[test]
fn broken_part_bytes_and_gaps_are_refused() {
    let options = cpu();
    let data = b"a,b\n1,2\n3,4\n5,6\n";
    let (head, parts) = build_parts("g.csv", data, &[6], &options);
    let bytes = parts[1].to_bytes();
    assert!(Part::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(Part::from_bytes(b"PFPART\0\0\x09\0\0\0").is_err());
    let mut wrong_version = bytes.clone();
    wrong_version[8] = 99;
    assert!(Part::from_bytes(&wrong_version).unwrap_err().to_string().contains("version 99"));
    // A part missing: the merge says which.
    let only_second = vec![parts[1].clone()];
    assert!(merge_parts("g.csv", &options, &head, only_second, data.len() as u64).is_err());
    match merge_parts("g.csv", &options, &head, parts, data.len() as u64 + 5) {
        Err(err) => assert!(err.to_string().contains("the parts end at byte"), "{err}"),
        Ok(_) => panic!("parts short of the file's end were merged"),
    }
}

#[test]
fn planned_parts_of_a_generated_file_read_alike() {
    // Big enough for several planned parts, with quoted newlines everywhere
    // (so some cuts fall inside quotes).
    let mut data = b"id,text,value\n".to_vec();
    let mut i = 0u64;
    while data.len() < 3 * stream::MIN_PART_BYTES as usize + 12345 {
        data.extend_from_slice(format!("{i},\"line one\nline {i}, two\",{}\n", i % 97).as_bytes());
        i += 1;
    }
    let head = read_head("g.csv", &data[..preflight::ingest::SNIFF_BYTES], false).unwrap();
    let specs = plan_parts(data.len() as u64, &head, 4);
    assert_eq!(specs.len(), 3);
    let cuts: Vec<u64> = specs[1..].iter().map(|s| s.start).collect();
    let expected = sequential("g.csv", &data);
    let (got, _) = read_in_parts("g.csv", &data, &cuts, &mut Rng(11));
    assert_eq!(got.rows.len(), expected.rows.len());
    assert!(got == expected);
}

#[test]
fn threads_read_a_file_in_parts_as_one_reader_does() {
    // Several planned parts (1 MiB at least each), quoted newlines throughout.
    let mut data = b"id,text,value\n".to_vec();
    let mut i = 0u64;
    while data.len() < 2 * stream::MIN_PART_BYTES as usize + 4321 {
        let line = match i % 11 {
            0 => "7,\"the same\nrow\",1\n".to_string(),
            5 => "\n".to_string(),
            _ => format!("{i},\"text {i}\nsecond, line\",{}\n", i % 13),
        };
        data.extend_from_slice(line.as_bytes());
        i += 1;
    }
    let path = std::env::temp_dir().join(format!("preflight-parallel-{}.csv", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    // Small sample and neighbour checks: the whole-file counts are the point.
    let options = Options { sample_rows: 300, max_knn_rows: 300, ..cpu() };
    let mut calls = 0;
    let mut last = (0, 0);
    let profiler = stream::profile_path_parallel(&path, &options, 3, &mut |bytes, rows| {
        calls += 1;
        last = (bytes, rows);
    })
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    let report = pollster::block_on(profiler.finish(&mut |_, _| {})).unwrap().report;
    let mut ingestor = Ingestor::new("g.csv");
    ingestor.push(&data).unwrap();
    ingestor.finish().unwrap();
    assert_eq!(report.source.rows, ingestor.table.rows() as u64);
    assert_eq!(report.ingest, ingestor.issues.to_report());
    assert_eq!(report.source.bytes, data.len() as u64);
    assert!(calls >= 1);
    assert_eq!(last, (data.len() as u64, report.source.rows), "the last progress call covers the file");
    // Every row "7,the same row,1" is one exact duplicate group.
    assert_eq!(report.duplicates.exact.group_count, 1);
    let copies = (0..i).filter(|i| i % 11 == 0).count() as u64;
    assert_eq!(report.duplicates.exact.redundant_rows, copies - 1);
}
