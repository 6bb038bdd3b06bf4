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
    /// "\r\n" or "\n".
    pub line_ending: String,
    /// Lines before the first data record's line (header, blank lines).
    pub lines_before_data: u64,
}

impl Head {
    /// The sniffer's decision, as the report shows it.
    pub fn sniffed(&self) -> Sniffed {
        Sniffed {
            format: self.format,
            delimiter: self.delimiter,
            header: self.header,
            bom: self.bom,
            line_ending: if self.line_ending == "\r\n" { "\r\n" } else { "\n" },
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
    let sniffed = ingest::sniff::sniff(sample, ingest::sniff::format_from_name(name), sniff_complete)?;
    let mut head = Head {
        format: sniffed.format,
        delimiter: sniffed.delimiter,
        header: sniffed.header,
        columns: Vec::new(),
        data_start: 0,
        bom: sniffed.bom,
        line_ending: sniffed.line_ending.to_string(),
        lines_before_data: 0,
    };
    if sniffed.format == Format::Jsonl {
        return Ok(head);
    }
    // The first record(s) through the reader the parts use.
    let mut sink = HeadSink { table: Table::default(), first_row: None };
    let mut issues = Issues::default();
    let mut reader = CsvReader::new(sniffed.delimiter, sniffed.header);
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
        })
        .collect()
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
        assert_eq!(plan_parts(0, &head, 8), vec![PartSpec { index: 0, start: 0, end: 0, at_record_boundary: true }]);
    }
}
