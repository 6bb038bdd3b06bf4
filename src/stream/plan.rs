//! The head of a file (format, header, where data starts) and the plan of
//! its parts: byte ranges that readers parse independently.

use crate::error::{Error, ErrorKind, Result};
use crate::ingest::{self, CsvReader, Format, Issues, Sink, Sniffed, Table, SNIFF_BYTES};
use serde::{Deserialize, Serialize};

/// Parts smaller than this are not worth a reader of their own.
pub const MIN_PART_BYTES: u64 = 1 << 20;

/// What every part needs to know about the file before reading its range:
/// decided once from the file's first bytes, exactly as the sequential
/// reader decides it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    /// CSV or JSON lines.
    pub format: Format,
    /// CSV field delimiter (a comma for JSONL).
    pub delimiter: u8,
    /// Whether the first CSV record names the columns.
    pub header: bool,
    /// Column names as the sequential reader makes them (unique, empty
    /// header fields named `column_N`); positional names for a CSV without
    /// header; empty for JSONL (keys are found row by row).
    pub columns: Vec<String>,
    /// Byte offset of the first data record (after the byte order mark and
    /// header); a lower bound when the first data record lies beyond the
    /// bytes read.
    pub data_start: u64,
    /// Whether the file starts with a UTF-8 byte order mark.
    pub bom: bool,
    /// "\r\n", "\n" or "\r".
    pub line_ending: String,
    /// Lines before the first data record's line (header, blank lines).
    pub lines_before_data: u64,
    /// Data records that start in the bytes read for the head, and the
    /// bytes from the first one's start to the last one's: with two or
    /// more, their average size estimates the file's rows
    /// ([`sample_bound`]). 0 where unknown.
    #[serde(default)]
    pub head_records: u64,
    /// See `head_records`.
    #[serde(default)]
    pub head_span: u64,
    /// The first line is Excel's `sep=;` (`Sniffed::sep_line`).
    #[serde(default)]
    pub sep_line: bool,
    /// The rows' first fields are their names (`Sniffed::row_names`).
    #[serde(default)]
    pub row_names: bool,
}

impl Head {
    /// The sniffer's decision, as the report shows it.
    pub fn sniffed(&self) -> Sniffed {
        Sniffed {
            format: self.format,
            delimiter: self.delimiter,
            header: self.header,
            bom: self.bom,
            line_ending: match self.line_ending.as_str() {
                "\r\n" => "\r\n",
                "\r" => "\r",
                _ => "\n",
            },
            sep_line: self.sep_line,
            row_names: self.row_names,
        }
    }
}

/// Reads the head of a file called `name` (the extension hints the format;
/// a `.gz` suffix already removed) from its first bytes: at least
/// [`SNIFF_BYTES`] of them (more are fine: a long CSV header), or the whole
/// file with `complete`. The format is decided on exactly the first
/// [`SNIFF_BYTES`], as [`ingest::Ingestor`] decides it, so both modes read a
/// file alike.
pub fn read_head(name: &str, first_bytes: &[u8], complete: bool) -> Result<Head> {
    read_head_hinted(ingest::sniff::format_from_name(name), first_bytes, complete)
}

/// [`read_head`] with the format (and CSV delimiter) hint given
/// (`Options::format_hint`).
pub fn read_head_hinted(hint: Option<(ingest::Format, Option<u8>)>, first_bytes: &[u8], complete: bool) -> Result<Head> {
    if !complete && first_bytes.len() < SNIFF_BYTES {
        return Err(Error::new(
            ErrorKind::Internal,
            format!(
                "read_head needs the first {SNIFF_BYTES} bytes of the file (or all of it), not {}",
                first_bytes.len()
            ),
        ));
    }
    // As the sequential reader: the whole input is sniffed as complete only
    // when it is shorter than the sniff window.
    let sniff_complete = complete && first_bytes.len() < SNIFF_BYTES;
    let sample = &first_bytes[..first_bytes.len().min(SNIFF_BYTES)];
    let sniffed = ingest::sniff::sniff(sample, hint, sniff_complete)?;
    let mut head = Head {
        format: sniffed.format,
        delimiter: sniffed.delimiter,
        header: sniffed.header,
        columns: Vec::new(),
        data_start: 0,
        bom: sniffed.bom,
        line_ending: sniffed.line_ending.to_string(),
        lines_before_data: 0,
        head_records: 0,
        head_span: 0,
        sep_line: sniffed.sep_line,
        row_names: sniffed.row_names,
    };
    if sniffed.format == Format::Jsonl {
        // Records are the lines with something on them; only whole lines count.
        let (mut first, mut last, mut pos) = (None, 0u64, 0u64);
        for line in first_bytes.split_inclusive(|&b| b == b'\n') {
            if line.ends_with(b"\n") && !line.iter().all(u8::is_ascii_whitespace) {
                first.get_or_insert(pos);
                last = pos;
                head.head_records += 1;
            }
            pos += line.len() as u64;
        }
        head.head_span = last - first.unwrap_or(last);
        return Ok(head);
    }
    // The first record(s) through the reader the parts use.
    let mut sink = HeadSink { table: Table::default(), first_row: None, records: 0, last_offset: 0 };
    let mut issues = Issues::default();
    let mut reader =
        CsvReader::new(sniffed.delimiter, sniffed.header)
            .with_line_ending(sniffed.line_ending)
            .with_sep_line(sniffed.sep_line)
            .with_row_names(sniffed.row_names);
    reader.push(first_bytes, &mut sink, &mut issues);
    if complete {
        reader.push(&[], &mut sink, &mut issues);
    }
    if sink.table.columns.is_empty() {
        let what = if sniffed.header { "header" } else { "first" };
        return Err(Error::new(
            ErrorKind::Internal,
            format!(
                "the {what} record does not end within the first {} bytes; read more of the file for its head",
                first_bytes.len()
            ),
        ));
    }
    head.columns = sink.table.columns.iter().map(|c| c.name.clone()).collect();
    head.head_records = sink.records;
    head.head_span = sink.first_row.map_or(0, |(_, first)| sink.last_offset - first);
    match sink.first_row {
        Some((line, offset)) => {
            head.data_start = offset;
            head.lines_before_data = line - 1;
        }
        None => {
            head.data_start = reader.offset();
            head.lines_before_data = reader.newlines();
        }
    }
    Ok(head)
}

/// Takes the header's column names and the first data record's position.
struct HeadSink {
    table: Table,
    first_row: Option<(u64, u64)>,
    /// Data records read, and where the last one started.
    records: u64,
    last_offset: u64,
}

impl Sink for HeadSink {
    fn add_column(&mut self, name: &str) -> usize {
        self.table.add_column(name)
    }
    fn column_for_key(&mut self, name: &str) -> usize {
        self.table.column_for_key(name)
    }
    fn set(&mut self, _column: usize, _kind: ingest::CellKind, _text: &str) -> bool {
        true
    }
    fn end_row(&mut self, line: u64, offset: u64) {
        self.first_row.get_or_insert((line, offset));
        self.records += 1;
        self.last_offset = offset;
    }
}

/// One part of a file: the records that start in `start..=end` (the first
/// part also reads the head). A part not at a record boundary skips to the
/// byte after the first newline at or after `start` (assuming, until
/// [`crate::stream::check_parts`] says otherwise, that the newline is not
/// inside a quoted field); every part reads past `end` to finish its last
/// record and stops before the first record that starts after `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartSpec {
    /// Position in the file, from 0.
    pub index: u32,
    /// First byte of the range.
    pub start: u64,
    /// Last byte at which a record of this part may start.
    pub end: u64,
    /// `start` is known to be a record's first byte (the file's start, or
    /// a re-parse from where the part before ended): nothing is skipped.
    pub at_record_boundary: bool,
    /// Bytes in the whole file, 0 where unknown (compressed input): with
    /// the head, what bounds the part's sample ([`sample_bound`]).
    #[serde(default)]
    pub file_bytes: u64,
}

/// Splits a file of `file_bytes` bytes into at most `parts` ranges of equal
/// size (none smaller than [`MIN_PART_BYTES`], none cut inside the head),
/// in file order; the first starts at 0 at a record boundary, the last ends
/// at the end of the file.
pub fn plan_parts(file_bytes: u64, head: &Head, parts: usize) -> Vec<PartSpec> {
    let body_start = head.data_start.min(file_bytes);
    let body = file_bytes - body_start;
    let count = (parts.max(1) as u64).min((body / MIN_PART_BYTES).max(1));
    let cut = |k: u64| body_start + (u128::from(body) * u128::from(k) / u128::from(count)) as u64;
    (0..count)
        .map(|k| PartSpec {
            index: k as u32,
            start: if k == 0 { 0 } else { cut(k) },
            end: if k + 1 == count { file_bytes } else { cut(k + 1) },
            at_record_boundary: k == 0,
            file_bytes,
        })
        .collect()
}

/// Rows a file's sample is bounded for, beyond `sample_rows`: the file's
/// rows are estimated from the head's, and a part keeps only the rows whose
/// sample key is below what `SAMPLE_MARGIN x sample_rows + 64` rows of that
/// many would hold.
pub const SAMPLE_MARGIN: f64 = 3.0;

/// The sample key (`accumulate::Accumulator`'s, uniform over `u64`) below
/// which a part of a file of `file_bytes` bytes with head `head` keeps its
/// rows for a sample of `sample_rows`: `u64::MAX` (every key) unless the
/// head's records estimate the file's rows. The file's sample is then the
/// `sample_rows` smallest keys as without a bound (the same rows, however
/// the file is split) as long as that many rows fall below it, which a file
/// whose rows are about as long as the head's does by a wide margin (3x the
/// rows on average). A file whose rows are on average 3x longer than its
/// head's or more gets fewer: every row below the bound, still the smallest
/// keys, and the report's `sampling.note` says so.
pub fn sample_bound(head: &Head, file_bytes: u64, sample_rows: usize) -> u64 {
    if head.head_records < 2 || head.head_span == 0 || file_bytes <= head.data_start {
        return u64::MAX;
    }
    let bytes_per_row = head.head_span as f64 / (head.head_records - 1) as f64;
    let rows = (file_bytes - head.data_start) as f64 / bytes_per_row;
    let share = (SAMPLE_MARGIN * sample_rows as f64 + 64.0) / rows;
    if share < 1.0 {
        // Below 2^64: share < 1.
        (share * 2f64.powi(64)) as u64
    } else {
        u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_of_csv_names_columns_and_finds_data() {
        let head = read_head("x.csv", b"\xEF\xBB\xBF\r\n id , ,id\r\n\r\n1,2,3\r\n", true).unwrap();
        assert_eq!(head.columns, ["id", "column_2", "id.1"]);
        assert_eq!(head.data_start, 18);
        assert_eq!(head.lines_before_data, 3);
        assert!(head.bom && head.header);
        assert_eq!(head.line_ending, "\r\n");
        let head = read_head("x.csv", b"1,2\n3,4\n", true).unwrap();
        assert_eq!((head.columns.len(), head.data_start, head.header), (2, 0, false));
        let head = read_head("x.jsonl", b"{\"a\":1}\n", true).unwrap();
        assert_eq!(head.format, Format::Jsonl);
        assert!(head.columns.is_empty());
    }

    #[test]
    fn head_counts_its_records_and_bounds_the_sample_by_them() {
        // Three records start at 4, 8 (a quoted newline inside) and 16;
        // the fourth is cut off.
        let head = read_head("x.csv", b"a,b\n1,2\n\"x\ny\",3\n4,5\n6,", false).unwrap_err();
        assert_eq!(*head.kind(), ErrorKind::Internal, "a head needs the sniffed bytes");
        let head = read_head("x.csv", b"a,b\n1,2\n\"x\ny\",3\n4,5\n", true).unwrap();
        assert_eq!((head.head_records, head.head_span), (3, 12));
        let head = read_head("x.jsonl", b"{\"a\":1}\n\n{\"a\":22}\n{\"a\":3", true).unwrap();
        assert_eq!((head.head_records, head.head_span), (2, 9));
        // 7 bytes a row after a 4-byte header: 1,000,004 bytes hold about
        // 142,857 rows; 100 rows get (3 x 100 + 64) / 142,857 of the keys.
        let head = Head { head_records: 11, head_span: 70, data_start: 4, ..head };
        let bound = sample_bound(&head, 1_000_004, 100);
        let share = bound as f64 / 2f64.powi(64);
        assert!((share - 364.0 * 7.0 / 1e6).abs() < 1e-12, "{share}");
        // No bound where the sample may need every row, or the head cannot say.
        assert_eq!(sample_bound(&head, 1_000_004, 60_000), u64::MAX);
        assert_eq!(sample_bound(&head, 0, 100), u64::MAX);
        assert_eq!(sample_bound(&Head { head_records: 1, ..head.clone() }, 1_000_004, 100), u64::MAX);
        assert_eq!(sample_bound(&Head { head_span: 0, ..head }, 1_000_004, 100), u64::MAX);
    }

    #[test]
    fn head_needs_the_sniffed_bytes_and_a_whole_header() {
        assert_eq!(*read_head("x.csv", b"a,b\n", false).unwrap_err().kind(), ErrorKind::Internal);
        let mut long = vec![b'h'; SNIFF_BYTES + 10];
        long.extend_from_slice(b",x\n1,2\n");
        assert!(read_head("x.csv", &long[..SNIFF_BYTES], false).is_err());
        let head = read_head("x.csv", &long, true).unwrap();
        assert_eq!(head.columns.len(), 2);
    }

    #[test]
    fn plans_cover_the_file_in_order() {
        let head = read_head("x.csv", b"a,b\n1,2\n", true).unwrap();
        let plan = plan_parts(10 * MIN_PART_BYTES + 7, &head, 4);
        assert_eq!(plan.len(), 4);
        assert_eq!(plan[0].start, 0);
        assert!(plan[0].at_record_boundary && !plan[1].at_record_boundary);
        for pair in plan.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(plan[3].end, 10 * MIN_PART_BYTES + 7);
        assert_eq!(plan_parts(1000, &head, 8).len(), 1);
        assert_eq!(plan_parts(0, &head, 8), vec![PartSpec { index: 0, start: 0, end: 0, at_record_boundary: true, file_bytes: 0 }]);
    }
}
