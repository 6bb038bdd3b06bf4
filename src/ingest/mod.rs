//! Reading input: sniffing the format, then CSV or JSON lines, incrementally.
//!
//! Bytes arrive in chunks split at arbitrary points; the [`Ingestor`] holds
//! back the first [`SNIFF_BYTES`] to decide the format, then streams. The
//! result never depends on where the splits fall. The readers emit into a
//! [`Sink`]: a [`Table`] here, a streaming accumulator in `crate::stream`.

mod csv;
mod jsonl;
pub mod sniff;
pub mod table;

use crate::error::{Error, ErrorKind, Result};
use crate::report::{Ingest, IngestIssue};
pub use csv::CsvReader;
pub use jsonl::JsonlReader;
pub use sniff::{Format, Sniffed, SNIFF_BYTES};
use std::collections::BTreeMap;
pub use table::{Cell, CellKind, Column, Table};

/// Where a reader puts what it reads: columns, then cells row by row.
///
/// A reader calls [`Sink::set`] for the cells of a record (each column at
/// most once, in any order), then [`Sink::end_row`]; columns it does not set
/// in a row are missing there. `text` borrows the reader's buffers: copy
/// what you keep.
pub trait Sink {
    /// Adds a column (CSV header or positional names); returns its index.
    fn add_column(&mut self, name: &str) -> usize;
    /// The column named exactly `name` (JSONL keys, first appearance
    /// order), added when new; returns its index.
    fn column_for_key(&mut self, name: &str) -> usize;
    /// Sets a cell of the row being built. Returns false (and keeps the
    /// first value) when the column already has a value in this row.
    fn set(&mut self, column: usize, kind: CellKind, text: &str) -> bool;
    /// Starts a record whose first byte is at `offset` (as
    /// [`Sink::end_row`] will give it), before its cells are set. Readers
    /// call it; a sink may ignore it.
    fn start_row(&mut self, _offset: u64) {}
    /// Ends the record: `line` is the 1-based line where it starts
    /// (relative to the reader's first byte: a part's first line is 1),
    /// `offset` its first byte relative to the reader's first byte.
    fn end_row(&mut self, line: u64, offset: u64);
}

impl Sink for Table {
    fn add_column(&mut self, name: &str) -> usize {
        Table::add_column(self, name)
    }
    fn column_for_key(&mut self, name: &str) -> usize {
        Table::column_for_key(self, name)
    }
    fn set(&mut self, column: usize, kind: CellKind, text: &str) -> bool {
        Table::set(self, column, kind, text)
    }
    fn end_row(&mut self, line: u64, _offset: u64) {
        Table::end_row(self, line)
    }
}

/// Examples kept per issue kind; all are counted.
pub const ISSUE_EXAMPLES: usize = 20;

/// Values read as missing in CSV, the same set pandas uses by default.
const MISSING_TOKENS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a CSV field is a missing value.
#[inline]
pub fn is_missing_token(text: &str) -> bool {
    match text.as_bytes().first() {
        None => true,
        // Only these bytes start a token: most values are decided here.
        Some(b'#' | b'-' | b'1' | b'<' | b'N' | b'n') => text.len() <= 8 && MISSING_TOKENS.contains(&text),
        Some(_) => false,
    }
}

/// Accounting of records while reading.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Issues {
    /// Records read after the header.
    pub records_read: u64,
    /// Records stored as rows.
    pub rows_used: u64,
    /// Records not stored.
    pub rows_skipped: u64,
    /// Short CSV records padded with missing values.
    pub rows_padded: u64,
    /// Records with invalid UTF-8.
    pub rows_invalid_utf8: u64,
    /// Blank lines.
    pub blank_lines: u64,
    /// Lines of the records not stored.
    pub lines_skipped: u64,
    /// Lines read inside a quoted field of a stored record that look like
    /// records of their own (a stray quote).
    pub lines_joined: u64,
    examples: Vec<IssueExample>,
    counts: BTreeMap<String, u64>,
}

/// One kept example of an issue ([`IngestIssue`] without its optional
/// fields skipped when serialized, so binary formats round-trip it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct IssueExample {
    kind: String,
    line: u64,
    row: Option<u64>,
    column: Option<u64>,
    message: String,
    /// For a record over several lines: its last line, and the message is
    /// a template naming `{line}` and `{last_line}`.
    last_line: Option<u64>,
}

impl IssueExample {
    fn message(&self) -> String {
        match self.last_line {
            Some(last) => {
                self.message.replace("{line}", &self.line.to_string()).replace("{last_line}", &last.to_string())
            }
            None => self.message.clone(),
        }
    }
}

impl Issues {
    /// Counts a record of `lines` lines that is not stored.
    pub fn skip(&mut self, lines: u64) {
        self.rows_skipped += 1;
        self.lines_skipped += lines;
    }

    /// Records an issue; keeps the first [`ISSUE_EXAMPLES`] of each kind.
    pub fn add(&mut self, kind: &str, line: u64, row: Option<u64>, column: Option<u64>, message: String) {
        let count = self.counts.entry(kind.to_string()).or_insert(0);
        *count += 1;
        if *count as usize <= ISSUE_EXAMPLES {
            self.examples.push(IssueExample { kind: kind.to_string(), line, row, column, message, last_line: None });
        }
    }

    /// Records an issue of a record spanning `line..=last_line` (its row
    /// when kept) whose message names those lines as `{line}` and
    /// `{last_line}`: filled in when shown, after any rebasing.
    pub fn add_spanning(&mut self, kind: &str, line: u64, last_line: u64, row: Option<u64>, column: Option<u64>, template: String) {
        let count = self.counts.entry(kind.to_string()).or_insert(0);
        *count += 1;
        if *count as usize <= ISSUE_EXAMPLES {
            self.examples.push(IssueExample {
                kind: kind.to_string(),
                line,
                row,
                column,
                message: template,
                last_line: Some(last_line),
            });
        }
    }

    /// Appends the accounting of the records right after these: `later`'s
    /// lines move down by `lines_before` and its row ids by `rows_before`
    /// (the lines and rows of the input before `later`'s first byte); the
    /// first [`ISSUE_EXAMPLES`] of each kind stay, in input order.
    pub fn append(&mut self, later: Issues, lines_before: u64, rows_before: u64) {
        self.records_read += later.records_read;
        self.rows_used += later.rows_used;
        self.rows_skipped += later.rows_skipped;
        self.rows_padded += later.rows_padded;
        self.rows_invalid_utf8 += later.rows_invalid_utf8;
        self.blank_lines += later.blank_lines;
        self.lines_skipped += later.lines_skipped;
        self.lines_joined += later.lines_joined;
        // Examples are kept per kind in reading order, so the kept ones of
        // `later` come after ours.
        let mut kept: BTreeMap<String, u64> = BTreeMap::new();
        for example in &self.examples {
            *kept.entry(example.kind.clone()).or_insert(0) += 1;
        }
        for mut example in later.examples {
            let count = kept.entry(example.kind.clone()).or_insert(0);
            if (*count as usize) < ISSUE_EXAMPLES {
                *count += 1;
                example.line += lines_before;
                example.last_line = example.last_line.map(|l| l + lines_before);
                example.row = example.row.map(|r| r + rows_before);
                self.examples.push(example);
            }
        }
        for (kind, count) in later.counts {
            *self.counts.entry(kind).or_insert(0) += count;
        }
    }

    /// The first issue of the input, when there is one: its line and message.
    pub fn first(&self) -> Option<(u64, String)> {
        self.examples.iter().min_by_key(|e| e.line).map(|e| (e.line, e.message()))
    }

    /// The first issue that skipped a record (else [`Issues::first`]): why
    /// rows are missing, rather than a header's odd bytes.
    pub fn first_skip(&self) -> Option<(u64, String)> {
        const SKIPPING: [&str; 4] = ["unterminated_quote", "ragged_long", "not_json", "not_object"];
        self.examples
            .iter()
            .filter(|e| e.row.is_none() && SKIPPING.contains(&e.kind.as_str()))
            .min_by_key(|e| e.line)
            .map(|e| (e.line, e.message()))
            .or_else(|| self.first())
    }

    /// The report section.
    pub fn to_report(&self) -> Ingest {
        let mut issues: Vec<IngestIssue> = self
            .examples
            .iter()
            .map(|e| IngestIssue {
                kind: e.kind.clone(),
                line: e.line,
                row: e.row,
                column: e.column,
                message: e.message(),
            })
            .collect();
        issues.sort_by_key(|i| i.line);
        Ingest {
            records_read: self.records_read,
            rows_used: self.rows_used,
            rows_skipped: self.rows_skipped,
            rows_padded: self.rows_padded,
            rows_invalid_utf8: self.rows_invalid_utf8,
            blank_lines: self.blank_lines,
            lines_skipped: self.lines_skipped,
            lines_joined: self.lines_joined,
            issues,
            issue_counts: self.counts.clone(),
        }
    }
}

/// The error of an input that gave no data row: records that could not be
/// used (the first problem, with its line), no records at all, or a header
/// alone.
pub fn no_rows(issues: &Issues, has_columns: bool) -> Error {
    let first = issues.first_skip().map(|(line, message)| format!(" (line {line}: {message})")).unwrap_or_default();
    let detail = match issues.records_read {
        0 if has_columns => "the file has a header but no data rows".to_string(),
        0 => "the file has no records".to_string(),
        1 => format!("the file's only record could not be used{first}"),
        n => format!("none of the file's {n} records could be used{first}"),
    };
    Error::new(ErrorKind::NoRows, detail)
}

#[derive(Debug)]
enum Reader {
    Sniffing(Vec<u8>),
    Csv(Box<CsvReader>),
    Jsonl(Box<JsonlReader>),
}

/// Incremental reader of one input into a [`Table`].
#[derive(Debug)]
pub struct Ingestor {
    name_hint: Option<(Format, Option<u8>)>,
    reader: Reader,
    sniffed: Option<Sniffed>,
    /// Rows read so far.
    pub table: Table,
    /// Accounting so far.
    pub issues: Issues,
    bytes: u64,
    finished: bool,
}

impl Ingestor {
    /// A reader for a file called `name` (its extension hints the format;
    /// a trailing `.gz` must already be removed by the caller).
    pub fn new(name: &str) -> Ingestor {
        Ingestor::with_hint(sniff::format_from_name(name))
    }

    /// A reader whose format (and CSV delimiter) hint is `hint`, whatever
    /// the file is called.
    pub fn with_hint(hint: Option<(Format, Option<u8>)>) -> Ingestor {
        Ingestor {
            name_hint: hint,
            reader: Reader::Sniffing(Vec::new()),
            sniffed: None,
            table: Table::default(),
            issues: Issues::default(),
            bytes: 0,
            finished: false,
        }
    }

    /// Bytes pushed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What sniffing decided, once it has.
    pub fn sniffed(&self) -> Option<&Sniffed> {
        self.sniffed.as_ref()
    }

    /// Feeds the next chunk of the input.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        if self.finished {
            return Err(Error::new(ErrorKind::Internal, "push after finish"));
        }
        if chunk.is_empty() {
            return Ok(());
        }
        self.bytes += chunk.len() as u64;
        match &mut self.reader {
            Reader::Sniffing(buffer) => {
                buffer.extend_from_slice(chunk);
                if buffer.len() >= SNIFF_BYTES {
                    self.start(false)?;
                }
                Ok(())
            }
            Reader::Csv(r) => {
                r.push(chunk, &mut self.table, &mut self.issues);
                Ok(())
            }
            Reader::Jsonl(r) => {
                r.push(chunk, &mut self.table, &mut self.issues);
                Ok(())
            }
        }
    }

    /// Sniffs the buffered bytes and replays them into the chosen reader.
    fn start(&mut self, complete: bool) -> Result<()> {
        let Reader::Sniffing(buffer) = std::mem::replace(&mut self.reader, Reader::Sniffing(Vec::new())) else {
            return Ok(());
        };
        // Sniff exactly the first SNIFF_BYTES so the decision never depends
        // on how the input was chunked.
        let sample = if complete { &buffer[..] } else { &buffer[..SNIFF_BYTES] };
        let sniffed = sniff::sniff(sample, self.name_hint, complete)?;
        self.reader = match sniffed.format {
            Format::Csv => {
                Reader::Csv(Box::new(
                    CsvReader::new(sniffed.delimiter, sniffed.header)
                        .with_line_ending(sniffed.line_ending)
                        .with_sep_line(sniffed.sep_line)
                        .with_row_names(sniffed.row_names),
                ))
            }
            Format::Jsonl => Reader::Jsonl(Box::new(JsonlReader::new())),
        };
        self.sniffed = Some(sniffed);
        match &mut self.reader {
            Reader::Csv(r) => _ = r.push(&buffer, &mut self.table, &mut self.issues),
            Reader::Jsonl(r) => _ = r.push(&buffer, &mut self.table, &mut self.issues),
            Reader::Sniffing(_) => {}
        }
        Ok(())
    }

    /// Ends the input. Errors when the input is empty, binary, or has no
    /// data row; otherwise the table and accounting are complete.
    pub fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if matches!(self.reader, Reader::Sniffing(_)) {
            self.start(true)?;
        }
        match &mut self.reader {
            Reader::Csv(r) => _ = r.push(&[], &mut self.table, &mut self.issues),
            Reader::Jsonl(r) => _ = r.push(&[], &mut self.table, &mut self.issues),
            Reader::Sniffing(_) => {}
        }
        if self.table.rows() == 0 {
            return Err(no_rows(&self.issues, !self.table.columns.is_empty()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, bytes: &[u8]) -> Result<Ingestor> {
        let mut ing = Ingestor::new(name);
        ing.push(bytes)?;
        ing.finish()?;
        Ok(ing)
    }

    fn cells(table: &Table) -> Vec<Vec<String>> {
        (0..table.rows()).map(|r| table.columns.iter().map(|c| format!("{:?}", c.get(r))).collect()).collect()
    }

    /// Reading must not depend on where the chunks split: every split
    /// point, and byte-by-byte.
    fn assert_split_invariant(name: &str, bytes: &[u8]) {
        let whole = read(name, bytes).unwrap();
        for split in 0..=bytes.len() {
            let mut ing = Ingestor::new(name);
            ing.push(&bytes[..split]).unwrap();
            ing.push(&bytes[split..]).unwrap();
            ing.finish().unwrap();
            assert_eq!(cells(&ing.table), cells(&whole.table), "split at {split}");
            assert_eq!(ing.table.lines, whole.table.lines, "lines, split at {split}");
            assert_eq!(ing.issues.to_report(), whole.issues.to_report(), "issues, split at {split}");
        }
        let mut ing = Ingestor::new(name);
        for b in bytes {
            ing.push(std::slice::from_ref(b)).unwrap();
        }
        ing.finish().unwrap();
        assert_eq!(cells(&ing.table), cells(&whole.table), "byte by byte");
    }

    #[test]
    fn csv_basic_quotes_crlf_bom() {
        let data = b"\xEF\xBB\xBFname,note,n\r\nann,\"a, b\",1\r\nbob,\"say \"\"hi\"\"\nthere\",2\r\n";
        let ing = read("x.csv", data).unwrap();
        let t = &ing.table;
        assert_eq!(t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["name", "note", "n"]);
        assert_eq!(t.rows(), 2);
        assert_eq!(t.columns[1].get(0), Cell::Text("a, b"));
        assert_eq!(t.columns[1].get(1), Cell::Text("say \"hi\"\nthere"));
        assert_eq!(t.lines, vec![2, 3]);
        assert_split_invariant("x.csv", data);
    }

    #[test]
    fn line_numbers_count_blank_lines_and_embedded_newlines() {
        let data = b"a,b\n1,\"x\ny\"\n\n\n2,z\n3,w";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.table.lines, vec![2, 6, 7]);
        assert_eq!(ing.issues.blank_lines, 2);
        assert_split_invariant("x.csv", data);
    }

    #[test]
    fn whitespace_lines_and_trailing_blank_lines_are_blank_lines() {
        let data = b"a,b\n1,2\n   \n3,4\n\n\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.table.rows(), 2);
        assert_eq!(ing.table.lines, vec![2, 4]);
        assert_eq!((ing.issues.blank_lines, ing.issues.rows_padded), (3, 0));
        assert_split_invariant("x.csv", data);
        let j = read("x.jsonl", b"{\"a\":1}\n{\"a\":2}\n\n\n").unwrap();
        let c = read("x.csv", b"a\n1\n2\n\n\n").unwrap();
        assert_eq!((j.issues.blank_lines, c.issues.blank_lines), (2, 2));
    }

    #[test]
    fn missing_tokens_are_missing() {
        let ing = read("x.csv", b"a,b\nNA,\nnull,x\n").unwrap();
        assert!(ing.table.columns[0].get(0).is_missing());
        assert!(ing.table.columns[1].get(0).is_missing());
        assert!(ing.table.columns[0].get(1).is_missing());
    }

    #[test]
    fn ragged_rows_are_padded_or_skipped_and_counted() {
        let data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12,\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.table.rows(), 3);
        assert_eq!(ing.issues.rows_padded, 1);
        assert_eq!(ing.issues.rows_skipped, 1);
        assert_eq!(ing.issues.records_read, 4);
        let report = ing.issues.to_report();
        assert_eq!(report.issues[0].kind, "ragged_short");
        assert_eq!(report.issues[0].line, 3);
        assert_eq!(report.issues[1].kind, "ragged_long");
        assert_eq!(report.issues[1].line, 4);
        assert!(ing.table.columns[2].get(1).is_missing());
        assert_split_invariant("x.csv", data);
    }

    #[test]
    fn unterminated_quote_is_reported_with_its_line() {
        let data = b"a,b\n1,2\n3,\"oops\n4,5\n6,7\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.table.rows(), 1);
        assert_eq!(ing.issues.rows_skipped, 1);
        let report = ing.issues.to_report();
        assert_eq!(report.issues[0].kind, "unterminated_quote");
        assert_eq!(report.issues[0].line, 3);
        assert_split_invariant("x.csv", data);
    }

    #[test]
    fn an_unclosed_quote_counts_the_lines_it_swallowed() {
        let data = b"a,b\n1,2\n3,\"oops\n4,5\n6,7\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!((ing.issues.rows_skipped, ing.issues.lines_skipped, ing.issues.lines_joined), (1, 3, 0));
        assert!(ing.issues.to_report().issues[0].message.contains("lines 3 to 5 (3 lines)"));
        // On the last line, with or without a final line break: the row is
        // kept, its value without the line break, and the quote reported.
        for data in [&b"a,b\n1,2\n3,\"oops\n"[..], b"a,b\n1,2\n3,\"oops", b"a,b\r\n1,2\r\n3,\"oops\r\n"] {
            let ing = read("x.csv", data).unwrap();
            assert_eq!((ing.table.rows(), ing.issues.rows_skipped, ing.issues.blank_lines), (2, 0, 0), "{data:?}");
            assert_eq!(ing.table.columns[1].get(1), Cell::Text("oops"), "{data:?}");
            let report = ing.issues.to_report();
            assert_eq!((report.issues[0].kind.as_str(), report.issues[0].line, report.issues[0].row), ("unterminated_quote", 3, Some(1)));
            assert_split_invariant("x.csv", data);
        }
        // A long record over two lines: both lines are lost, and named.
        let data = b"a,b\n1,\"x\ny\",2,9\n3,4\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!((ing.issues.rows_skipped, ing.issues.lines_skipped), (1, 2));
        let report = ing.issues.to_report();
        assert!(report.issues[0].message.contains("from line 2 to line 3"), "{}", report.issues[0].message);
        assert_split_invariant("x.csv", data);
    }

    /// A stray quote that closes further down joins the lines between into
    /// one value: counted and reported, the record itself kept.
    #[test]
    fn lines_joined_by_a_stray_quote_are_reported() {
        let mut data = String::from("id,name,score\n1,ann,3\n2,\"bob,4\n");
        for i in 3..9 {
            data.push_str(&format!("{i},p{i},{i}\n"));
        }
        data.push_str("9,\"zed\",5\n10,kim,6\n");
        let ing = read("x.csv", data.as_bytes()).unwrap();
        // Row 2's name runs from line 3 to the quote on line 10.
        assert_eq!(ing.table.rows(), 3);
        assert_eq!((ing.issues.rows_skipped, ing.issues.lines_joined), (0, 6));
        let report = ing.issues.to_report();
        assert_eq!(report.lines_joined, 6);
        let issue = &report.issues[0];
        assert_eq!((issue.kind.as_str(), issue.line, issue.row, issue.column), ("quoted_lines", 3, Some(1), Some(2)));
        assert!(issue.message.contains("closes on line 10") && issue.message.contains("6 of the 6"), "{}", issue.message);
        assert_split_invariant("x.csv", data.as_bytes());

        // Text over several lines is not a stray quote: its lines do not
        // have the header's fields (nor with two columns at all).
        let prose = b"id,note,score\n1,\"first line, then\nanother line\nand, one, more\nend\",3\n";
        let ing = read("x.csv", prose).unwrap();
        assert_eq!((ing.table.rows(), ing.issues.lines_joined), (1, 0));
        assert!(ing.issues.to_report().issues.is_empty());
        let two = b"id,note\n1,\"a, b\nc, d\ne, f\ng\"\n";
        assert_eq!(read("x.csv", two).unwrap().issues.lines_joined, 0);
        // An address over a few lines may have the header's fields by
        // chance: two such lines are not a stray quote.
        let address = b"id,address,zip\n1,\"Acme Ltd\nUnit 4, Block B, Dock Road\nLeeds, West Yorkshire, UK\nEngland\",LS1\n";
        assert_eq!(read("x.csv", address).unwrap().issues.lines_joined, 0);
    }

    /// Lines that end with a lone carriage return are numbered as lines
    /// (they were all line 1), quoted ones included.
    #[test]
    fn lines_ending_with_a_carriage_return_are_numbered() {
        let data = b"a,b,c\r1,2,3\r\r4,5\r6,\"x\ry\",7\r8,9,10,11\r";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.sniffed.as_ref().unwrap().line_ending, "\r");
        assert_eq!(ing.table.rows(), 3);
        assert_eq!(ing.table.lines, [2, 4, 5]);
        assert_eq!(ing.issues.blank_lines, 1);
        let report = ing.issues.to_report();
        let lines: Vec<(&str, u64)> = report.issues.iter().map(|i| (i.kind.as_str(), i.line)).collect();
        assert_eq!(lines, [("ragged_short", 4), ("ragged_long", 7)]);
        assert_split_invariant("x.csv", data);
    }

    /// A file without a usable row names why rows are missing, not the
    /// header's odd bytes on line 1.
    #[test]
    fn no_rows_names_the_skipped_record() {
        let err = read("x.csv", b"a,b\xff\n1,2,3,4\n").unwrap_err();
        assert!(err.to_string().contains("(line 2: 4 fields where the header has 2"), "{err}");
    }

    /// R's `write.table` writes row names without a header field for them:
    /// each row holds one field more than the header names. As R and pandas
    /// read it, the first field is the row's name, a column of its own.
    #[test]
    fn rows_one_field_longer_than_the_header_have_row_names() {
        let data = b"\"Weight\",\"Feed\"\n\"1\",26.5,NA\n\"2\",27.6,5.2\n";
        let ing = read("x.csv", data).unwrap();
        let names: Vec<&str> = ing.table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["row_names", "Weight", "Feed"]);
        assert_eq!((ing.table.rows(), ing.issues.rows_skipped, ing.issues.rows_padded), (2, 0, 0));
        assert_eq!((ing.table.columns[0].get(1), ing.table.columns[2].get(0)), (Cell::Text("2"), Cell::Missing));
        let report = ing.issues.to_report();
        assert_eq!((report.issues[0].kind.as_str(), report.issues[0].line), ("row_names", 2));
        assert_split_invariant("x.csv", data);
        // A trailing delimiter is no row name; nor is a header alone.
        let ing = read("x.csv", b"a,b\n1,2,\n3,4,\n").unwrap();
        assert_eq!(ing.table.columns.len(), 2);
        assert!(ing.issues.to_report().issues.is_empty());
        assert!(read("x.csv", b"a,b\n").is_err());
        // Rows two fields longer are skipped, as before; so is a first row
        // one field longer where the rows after it fit the header (a stray
        // delimiter, not row names).
        let ing = read("x.csv", b"a,b\n1,2,3,4\n5,6\n").unwrap();
        assert_eq!((ing.table.columns.len(), ing.issues.rows_skipped), (2, 1));
        let ing = read("x.csv", b"name,n\nSmith, John,1\nLee,2\nKim,3\n").unwrap();
        assert_eq!((ing.table.columns.len(), ing.table.rows(), ing.issues.rows_skipped), (2, 2, 1));
    }

    /// Excel writes `sep=;` as the first line of a CSV it saves for a
    /// reader in another locale: the delimiter, then the header.
    #[test]
    fn excel_sep_line_is_the_delimiter_not_a_record() {
        for data in [&b"sep=;\nname;score\nAsa;1,5\nBob;2\n"[..], b"\xEF\xBB\xBF\"sep=;\"\r\nname;score\r\nAsa;1,5\r\nBob;2\r\n"] {
            let ing = read("x.csv", data).unwrap();
            let names: Vec<&str> = ing.table.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["name", "score"], "{data:?}");
            assert_eq!((ing.table.rows(), ing.issues.records_read, ing.issues.rows_skipped), (2, 2, 0));
            assert_eq!(ing.table.lines, [3, 4]);
            let report = ing.issues.to_report();
            assert_eq!((report.issues[0].kind.as_str(), report.issues[0].line), ("sep_line", 1));
            assert!(report.issues[0].message.contains("\"sep=;\""), "{}", report.issues[0].message);
            assert_split_invariant("x.csv", data);
        }
    }

    #[test]
    fn invalid_utf8_in_the_header_is_reported() {
        let data = b"a,b\xff\n1,2\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.table.columns[1].name, "b\u{FFFD}");
        let report = ing.issues.to_report();
        let issue = &report.issues[0];
        assert_eq!((issue.kind.as_str(), issue.line, issue.row, issue.column), ("invalid_utf8", 1, None, Some(2)));
        assert_eq!(report.rows_invalid_utf8, 0, "the header is not a row");
        assert_split_invariant("x.csv", data);
    }

    #[test]
    fn invalid_utf8_is_replaced_and_counted() {
        let data = b"a,b\nok,\xff\xfe\nfine,yes\n";
        let ing = read("x.csv", data).unwrap();
        assert_eq!(ing.table.rows(), 2);
        assert_eq!(ing.issues.rows_invalid_utf8, 1);
        assert_eq!(ing.table.columns[1].get(0), Cell::Text("\u{FFFD}\u{FFFD}"));
        let report = ing.issues.to_report();
        assert_eq!((report.issues[0].line, report.issues[0].column), (2, Some(2)));
    }

    #[test]
    fn empty_binary_and_header_only_are_errors() {
        assert_eq!(*read("x.csv", b"").unwrap_err().kind(), ErrorKind::Empty);
        assert_eq!(*read("x.bin", b"\x1f\x8b\x08\0\0\0\0\0").unwrap_err().kind(), ErrorKind::Binary);
        assert_eq!(*read("x.csv", b"a,b,c\n").unwrap_err().kind(), ErrorKind::NoRows);
    }

    #[test]
    fn huge_field_is_read_whole() {
        let mut data = b"id,blob\n1,".to_vec();
        data.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        data.extend_from_slice(b"\n2,small\n");
        let mut ing = Ingestor::new("x.csv");
        for chunk in data.chunks(1 << 20) {
            ing.push(chunk).unwrap();
        }
        ing.finish().unwrap();
        assert_eq!(ing.table.rows(), 2);
        assert_eq!(ing.table.columns[1].get(0).text().len(), 10 * 1024 * 1024);
        assert_eq!(ing.table.lines, vec![2, 3]);
    }

    #[test]
    fn jsonl_flattens_and_keeps_vectors() {
        let data = b"{\"id\": 1, \"user\": {\"name\": \"a\", \"age\": 3}, \"emb\": [0.5, 1, 2]}\n\
                     {\"id\": 2, \"user\": {\"name\": null}, \"extra\": true, \"tags\": [\"x\"]}\r\n\
                     \n\
                     not json\n\
                     [1,2]\n\
                     {\"id\": 3}";
        let ing = read("x.jsonl", data).unwrap();
        let t = &ing.table;
        let names: Vec<_> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "user.name", "user.age", "emb", "extra", "tags"]);
        assert_eq!(t.rows(), 3);
        assert_eq!(t.columns[3].get(0), Cell::Vector("[0.5,1,2]"));
        assert!(t.columns[1].get(1).is_missing());
        assert!(t.columns[4].get(0).is_missing());
        assert_eq!(t.columns[5].get(1), Cell::Text("[\"x\"]"));
        assert_eq!(t.lines, vec![1, 2, 6]);
        assert_eq!(ing.issues.rows_skipped, 2);
        assert_eq!(ing.issues.blank_lines, 1);
        let report = ing.issues.to_report();
        assert_eq!((report.issues[0].kind.as_str(), report.issues[0].line), ("not_json", 4));
        assert_eq!((report.issues[1].kind.as_str(), report.issues[1].line), ("not_object", 5));
        assert_split_invariant("x.jsonl", data);
    }

    #[test]
    fn csv_sniffing_is_split_invariant_across_the_sniff_window() {
        // Longer than the sniff window, so sniffing happens mid-stream.
        let mut data = b"k;v;w\n".to_vec();
        let mut i = 0;
        while data.len() < SNIFF_BYTES + 5000 {
            data.extend_from_slice(format!("{i};\"val;{i}\";x\n").as_bytes());
            i += 1;
        }
        let whole = read("data", &data).unwrap();
        assert_eq!(whole.sniffed().unwrap().delimiter, b';');
        for split in [1, 100, SNIFF_BYTES - 1, SNIFF_BYTES, SNIFF_BYTES + 1, data.len() - 1] {
            let mut ing = Ingestor::new("data");
            ing.push(&data[..split]).unwrap();
            ing.push(&data[split..]).unwrap();
            ing.finish().unwrap();
            assert_eq!(cells(&ing.table), cells(&whole.table), "split at {split}");
        }
    }
}

/// Test helper shared by the modules' unit tests: the table of a whole CSV text.
#[cfg(test)]
pub(crate) fn test_table(csv: &str) -> Table {
    let mut ingestor = Ingestor::new("t.csv");
    ingestor.push(csv.as_bytes()).unwrap();
    ingestor.finish().unwrap();
    ingestor.table
}
