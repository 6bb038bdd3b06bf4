//! Incremental CSV reading on top of `csv_core`: bytes go in as they arrive,
//! split anywhere; complete records come out into the [`Table`].

use super::{is_missing_token, Issues, Table};
use crate::ingest::table::CellKind;
use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

/// Streaming CSV state: the csv_core reader plus the partial record.
#[derive(Debug)]
pub struct CsvReader {
    reader: Reader,
    header_expected: bool,
    header_done: bool,
    width: usize,
    output: Vec<u8>,
    ends: Vec<usize>,
    outlen: usize,
    endlen: usize,
    /// Quote bytes consumed by the current record, to detect a quote that
    /// is never closed (the record then runs to the end of the file).
    quotes_in_record: u64,
    /// Newlines consumed before the current record's bytes.
    newlines_before: u64,
    /// Newlines consumed by the current record (blank lines and the rest of
    /// the previous CRLF before it, its quoted newlines, its terminator).
    newlines_in_record: u64,
    /// Newlines among the line-break bytes before the record's first byte.
    leading_newlines: u64,
    /// Whether only line-break bytes of the current record were seen yet.
    in_leading: bool,
    /// Last line of the previous record.
    previous_last_line: u64,
    finished: bool,
}

impl CsvReader {
    /// A reader for `delimiter`; `header` says whether the first record names the columns.
    pub fn new(delimiter: u8, header: bool) -> CsvReader {
        CsvReader {
            reader: ReaderBuilder::new().delimiter(delimiter).quote(b'"').double_quote(true).build(),
            header_expected: header,
            header_done: false,
            width: 0,
            output: vec![0; 64 * 1024],
            ends: vec![0; 256],
            outlen: 0,
            endlen: 0,
            quotes_in_record: 0,
            newlines_before: 0,
            newlines_in_record: 0,
            leading_newlines: 0,
            in_leading: true,
            previous_last_line: 0,
            finished: false,
        }
    }

    /// Feeds bytes; an empty slice means end of input.
    pub fn push(&mut self, mut input: &[u8], table: &mut Table, issues: &mut Issues) {
        if self.finished {
            return;
        }
        let eof = input.is_empty();
        loop {
            let (res, nin, nout, nend) =
                self.reader.read_record(input, &mut self.output[self.outlen..], &mut self.ends[self.endlen..]);
            self.account(&input[..nin]);
            input = &input[nin..];
            self.outlen += nout;
            self.endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {
                    if !eof {
                        return;
                    }
                    // csv_core needs one more call with empty input to flush.
                }
                ReadRecordResult::OutputFull => {
                    let len = self.output.len();
                    self.output.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => {
                    // Records completed by the end-of-input call had no terminator.
                    self.record(eof, table, issues);
                    self.outlen = 0;
                    self.endlen = 0;
                    self.quotes_in_record = 0;
                    self.newlines_before += self.newlines_in_record;
                    self.newlines_in_record = 0;
                    self.leading_newlines = 0;
                    self.in_leading = true;
                }
                ReadRecordResult::End => {
                    self.finished = true;
                    // Blank lines after the last record, counted as JSONL counts them.
                    let newlines = self.newlines_before + self.newlines_in_record;
                    issues.blank_lines += newlines.saturating_sub(self.previous_last_line);
                    return;
                }
            }
        }
    }

    /// Counts quotes and newlines in bytes consumed for the current record.
    fn account(&mut self, consumed: &[u8]) {
        let mut rest = consumed;
        if self.in_leading {
            let lead = rest.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
            let newlines = rest[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
            self.leading_newlines += newlines;
            self.newlines_in_record += newlines;
            if lead < rest.len() {
                self.in_leading = false;
            }
            rest = &rest[lead..];
        }
        for &b in rest {
            self.quotes_in_record += (b == b'"') as u64;
            self.newlines_in_record += (b == b'\n') as u64;
        }
    }

    /// Handles one complete record in `self.output[..outlen]`.
    fn record(&mut self, at_eof: bool, table: &mut Table, issues: &mut Issues) {
        let fields = &self.output[..self.outlen];
        let ends = &self.ends[..self.endlen];
        let newlines_inside = fields.iter().filter(|&&b| b == b'\n').count() as u64;
        let start_line = 1 + self.newlines_before + self.leading_newlines;
        let last_line = start_line + newlines_inside;
        issues.blank_lines += start_line.saturating_sub(self.previous_last_line + 1);
        self.previous_last_line = last_line;

        if !self.header_done {
            self.header_done = true;
            self.width = ends.len();
            if self.header_expected {
                let mut start = 0;
                for (i, &end) in ends.iter().enumerate() {
                    let raw = String::from_utf8_lossy(&fields[start..end]);
                    let name = raw.trim();
                    let name = if name.is_empty() { format!("column_{}", i + 1) } else { name.to_string() };
                    table.add_column(&name);
                    start = end;
                }
                return;
            }
            for i in 0..self.width {
                table.add_column(&format!("column_{}", i + 1));
            }
        }

        // A line of only spaces or tabs is a blank line, not a row of one
        // field padded with missing values (pandas skips it too).
        if ends.len() == 1 && self.width > 1 && fields.iter().all(|b| b.is_ascii_whitespace()) {
            issues.blank_lines += 1;
            return;
        }
        issues.records_read += 1;
        if at_eof && self.quotes_in_record % 2 == 1 && newlines_inside > 0 {
            issues.rows_skipped += 1;
            issues.add(
                "unterminated_quote",
                start_line,
                None,
                None,
                format!(
                    "a quoted field opened on line {start_line} is never closed, so lines {start_line} to {last_line} \
                     ({} lines) read as one record; that record was skipped",
                    last_line - start_line + 1
                ),
            );
            return;
        }
        let n = ends.len();
        if n > self.width {
            // Extra fields that are all empty (a trailing delimiter) lose nothing.
            let extra_all_empty = fields[ends[self.width - 1]..].is_empty();
            if !extra_all_empty {
                issues.rows_skipped += 1;
                issues.add(
                    "ragged_long",
                    start_line,
                    None,
                    Some(self.width as u64 + 1),
                    format!(
                        "{n} fields where the header has {}; the row was skipped because its values cannot be \
                         matched to columns",
                        self.width
                    ),
                );
                return;
            }
        }
        let row = table.rows() as u64;
        let mut invalid_utf8_column = None;
        let mut start = 0;
        for (i, &end) in ends.iter().take(self.width).enumerate() {
            let raw = &fields[start..end];
            start = end;
            let text = match std::str::from_utf8(raw) {
                Ok(s) => std::borrow::Cow::Borrowed(s),
                Err(_) => {
                    invalid_utf8_column.get_or_insert(i as u64 + 1);
                    String::from_utf8_lossy(raw)
                }
            };
            let kind = if is_missing_token(&text) { CellKind::Missing } else { CellKind::Text };
            table.set(i, kind, &text);
        }
        if n < self.width {
            issues.rows_padded += 1;
            issues.add(
                "ragged_short",
                start_line,
                Some(row),
                Some(n as u64 + 1),
                format!(
                    "{n} fields where the header has {}; the missing fields were read as missing values",
                    self.width
                ),
            );
        }
        if let Some(column) = invalid_utf8_column {
            issues.rows_invalid_utf8 += 1;
            issues.add(
                "invalid_utf8",
                start_line,
                Some(row),
                Some(column),
                "bytes that are not valid UTF-8; they were replaced with U+FFFD".to_string(),
            );
        }
        table.end_row(start_line);
        issues.rows_used += 1;
    }
}
