//! Guessing the format of an input from its first bytes.

use crate::error::{Error, ErrorKind, Result};

/// Bytes looked at before deciding the format.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Delimited text.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// What sniffing decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    /// Format.
    pub format: Format,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// Whether the first CSV record is a header.
    pub header: bool,
    /// Whether the input starts with a UTF-8 byte order mark.
    pub bom: bool,
    /// "\r\n", "\n", or "\r" where the head has no `\n` but a `\r`.
    pub line_ending: &'static str,
    /// The first line is Excel's `sep=;`, naming the delimiter: no record.
    pub sep_line: bool,
    /// Every data record of the sample holds one field more than the
    /// header names, the last not empty (R's `write.table` with row names):
    /// the first field of each row is its name ([`row_names`]).
    pub row_names: bool,
}

/// Data records looked at for [`Sniffed::row_names`].
const ROW_NAMES_SAMPLE: usize = 50;

/// Whether a CSV's data records (in `body`, after the header) hold row
/// names: every one of the first [`ROW_NAMES_SAMPLE`] in the sample has
/// exactly one field more than the header, and its last is not empty (a
/// trailing delimiter is not a name), as R's read.table and pandas'
/// read_csv decide from the first data record. One stray delimiter in the
/// first row alone is not taken for row names.
fn row_names(body: &[u8], delimiter: u8, complete: bool) -> bool {
    let records = sample_records(body, delimiter, ROW_NAMES_SAMPLE + 1, complete);
    let mut records = records.iter().filter(|r| !(r.len() == 1 && r[0].iter().all(u8::is_ascii_whitespace)));
    let Some(header) = records.next() else { return false };
    let mut data = records.peekable();
    data.peek().is_some() && data.all(|r| r.len() == header.len() + 1 && r.last().is_some_and(|f| !f.is_empty()))
}

/// Excel's first line `sep=;` (or `"sep=;"`), which names the delimiter of
/// the lines after it: the delimiter, when `body` starts with one.
pub fn sep_directive(body: &[u8]) -> Option<u8> {
    let quoted = body.first() == Some(&b'"');
    let rest = if quoted { &body[1..] } else { body };
    if rest.len() < 5 || !rest[..4].eq_ignore_ascii_case(b"sep=") {
        return None;
    }
    let delimiter = rest[4];
    let mut end = &rest[5..];
    if quoted {
        end = end.strip_prefix(b"\"").unwrap_or(b"x");
    }
    let end = end.strip_prefix(b"\r").unwrap_or(end);
    (matches!(end.first(), None | Some(b'\n')) && !delimiter.is_ascii_alphanumeric() && !matches!(delimiter, b'"' | b'\r' | b'\n'))
        .then_some(delimiter)
}

/// A format hint from a file name's extension (`.gz` already removed).
pub fn format_from_name(name: &str) -> Option<(Format, Option<u8>)> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    if !lower.contains('.') {
        return None;
    }
    match ext {
        "csv" => Some((Format::Csv, None)),
        "tsv" | "tab" => Some((Format::Csv, Some(b'\t'))),
        "txt" | "psv" => Some((Format::Csv, None)),
        "jsonl" | "ndjson" | "jsonlines" => Some((Format::Jsonl, None)),
        _ => None,
    }
}

/// The format a person names over the file name's hint (the CLI's
/// `--format` and `--delimiter`, the JS API's `format` and `delimiter`):
/// `csv`, `tsv` or `jsonl` (`ndjson`), and one ASCII delimiter character
/// (or `tab`); a delimiter alone means CSV. `Ok(None)` when neither is given.
pub fn format_override(format: Option<&str>, delimiter: Option<&str>) -> std::result::Result<Option<(Format, Option<u8>)>, String> {
    let format = match format.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("csv") => Some((Format::Csv, None)),
        Some("tsv") => Some((Format::Csv, Some(b'\t'))),
        Some("jsonl" | "ndjson") => Some((Format::Jsonl, None)),
        Some(other) => return Err(format!("format must be csv, tsv or jsonl, not {other:?}")),
    };
    let delimiter = match delimiter {
        None => None,
        Some("tab" | "\\t" | "\t") => Some(b'\t'),
        Some(d) if d.len() == 1 && d.is_ascii() && !matches!(d.as_bytes()[0], b'"' | b'\n' | b'\r') => Some(d.as_bytes()[0]),
        Some(d) => return Err(format!("delimiter must be one ASCII character (or tab), not {d:?}")),
    };
    Ok(match (format, delimiter) {
        (Some((Format::Jsonl, _)), Some(_)) => return Err("delimiter is for CSV: not with format jsonl".into()),
        (Some((f, d)), given) => Some((f, given.or(d))),
        (None, Some(d)) => Some((Format::Csv, Some(d))),
        (None, None) => None,
    })
}

/// Decides the format from the first bytes (`sample`), which are the whole
/// input when `complete` is true.
pub fn sniff(sample: &[u8], name_hint: Option<(Format, Option<u8>)>, complete: bool) -> Result<Sniffed> {
    let bom = sample.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &sample[3..] } else { sample };
    if body.starts_with(b"\xFF\xFE") || body.starts_with(b"\xFE\xFF") {
        return Err(Error::new(
            ErrorKind::Binary,
            "the file is UTF-16 encoded; preflight reads UTF-8 (save the file as UTF-8 CSV or JSON lines)",
        ));
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::new(ErrorKind::Empty, "the file is empty: it holds no data"));
    }
    if looks_binary(body) {
        return Err(Error::new(
            ErrorKind::Binary,
            "this is not a text file (it holds NUL or control bytes); preflight reads CSV, TSV and JSON lines",
        ));
    }
    let line_ending = match memchr_newline(body) {
        Some(i) if i > 0 && body[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        // Lines that end with a lone carriage return (classic Mac OS).
        // (Not a `\r` that ends the sample: its `\n` may follow.)
        None if body[..body.len().saturating_sub(1)].contains(&b'\r') => "\r",
        None => "\n",
    };
    let format = match name_hint {
        Some((format, _)) => format,
        None => {
            if looks_like_jsonl(body) {
                Format::Jsonl
            } else {
                Format::Csv
            }
        }
    };
    if format == Format::Jsonl {
        return Ok(Sniffed { format, delimiter: b',', header: false, bom, line_ending, sep_line: false, row_names: false });
    }
    // Excel's `sep=;` line names the delimiter; the records start after it.
    let sep = sep_directive(body);
    let body = match (sep, memchr_newline(body)) {
        (Some(_), Some(newline)) => &body[newline + 1..],
        (Some(_), None) => &[][..],
        (None, _) => body,
    };
    let delimiter = match (name_hint.and_then(|(_, d)| d), sep) {
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => guess_delimiter(body, complete),
    };
    let header = guess_header(body, delimiter, complete);
    let row_names = header && row_names(body, delimiter, complete);
    Ok(Sniffed { format, delimiter, header, bom, line_ending, sep_line: sep.is_some(), row_names })
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// NUL bytes, or many control bytes, mean binary. Bytes >= 0x80 are allowed:
/// they are UTF-8 (or invalid UTF-8, handled and counted per row later).
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.contains(&0) {
        return true;
    }
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    control * 20 > sample.len()
}

fn looks_like_jsonl(body: &[u8]) -> bool {
    let first_line = body
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty());
    match first_line {
        Some(line) => {
            line.first() == Some(&b'{')
                && serde_json::from_slice::<serde_json::Value>(line).map(|v| v.is_object()).unwrap_or(false)
        }
        None => false,
    }
}

/// Reads up to `max` records of `body` with `delimiter`, quote-aware.
/// The last record is left out unless the sample is the complete input.
pub(crate) fn sample_records(body: &[u8], delimiter: u8, max: usize, complete: bool) -> Vec<Vec<Vec<u8>>> {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut records = Vec::new();
    let mut input = body;
    let mut output = vec![0u8; 4096];
    let mut ends = vec![0usize; 64];
    let (mut outlen, mut endlen) = (0, 0);
    let mut eof_sent = false;
    loop {
        let (res, nin, nout, nend) = reader.read_record(input, &mut output[outlen..], &mut ends[endlen..]);
        input = &input[nin..];
        outlen += nout;
        endlen += nend;
        match res {
            csv_core::ReadRecordResult::InputEmpty => {
                // Without the whole input, the rest of the record lies beyond
                // the sample. With it, an empty slice tells csv_core to finish.
                if !complete || eof_sent {
                    break;
                }
                eof_sent = true;
            }
            csv_core::ReadRecordResult::OutputFull => output.resize(output.len() * 2, 0),
            csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            csv_core::ReadRecordResult::Record => {
                let mut fields = Vec::with_capacity(endlen);
                let mut start = 0;
                for &end in &ends[..endlen] {
                    fields.push(output[start..end].to_vec());
                    start = end;
                }
                records.push(fields);
                outlen = 0;
                endlen = 0;
                if records.len() >= max {
                    break;
                }
            }
            csv_core::ReadRecordResult::End => break,
        }
    }
    records
}

/// Picks the delimiter whose records have the most consistent field count
/// above one. Ties go to comma, then semicolon, tab, pipe.
fn guess_delimiter(body: &[u8], complete: bool) -> u8 {
    let mut best = (b',', 0.0f64);
    for &delimiter in b",;\t|" {
        let records = sample_records(body, delimiter, 50, complete);
        if records.is_empty() {
            continue;
        }
        let mut counts = std::collections::HashMap::new();
        for r in &records {
            *counts.entry(r.len()).or_insert(0usize) += 1;
        }
        let Some((&mode_fields, &mode_count)) = counts.iter().max_by_key(|(f, c)| (**c, **f)) else { continue };
        if mode_fields < 2 {
            continue;
        }
        let consistency = mode_count as f64 / records.len() as f64;
        // Consistency matters most; more fields break near-ties.
        let score = consistency * 1000.0 + (mode_fields as f64).min(999.0) / 1000.0;
        if score > best.1 {
            best = (delimiter, score);
        }
    }
    best.0
}

/// A header is assumed unless the first record looks like data: every field
/// a number, or a column whose other values are all numeric has a number in
/// the first record too while no first-record field is a non-numeric name.
fn guess_header(body: &[u8], delimiter: u8, complete: bool) -> bool {
    let records = sample_records(body, delimiter, 30, complete);
    let Some(first) = records.first() else { return true };
    let is_number = |f: &[u8]| {
        std::str::from_utf8(f).ok().map(|s| s.trim()).is_some_and(|s| !s.is_empty() && s.parse::<f64>().is_ok())
    };
    if first.iter().all(|f| is_number(f)) {
        return false;
    }
    // Any empty header field is fine (pandas names it); duplicate names are
    // made unique. A first row that is all text is taken as the header.
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_overrides_are_read_as_the_cli_reads_them() {
        assert_eq!(format_override(None, None), Ok(None));
        assert_eq!(format_override(Some("JSONL"), None), Ok(Some((Format::Jsonl, None))));
        assert_eq!(format_override(Some("tsv"), None), Ok(Some((Format::Csv, Some(b'\t')))));
        assert_eq!(format_override(Some("tsv"), Some(";")), Ok(Some((Format::Csv, Some(b';')))));
        assert_eq!(format_override(None, Some("tab")), Ok(Some((Format::Csv, Some(b'\t')))));
        assert_eq!(format_override(None, Some("|")), Ok(Some((Format::Csv, Some(b'|')))));
        assert!(format_override(Some("xml"), None).unwrap_err().starts_with("format must be csv, tsv or jsonl"));
        for bad in [",,", "\"", "\n", "é"] {
            assert!(format_override(None, Some(bad)).unwrap_err().starts_with("delimiter must be one ASCII character"), "{bad:?}");
        }
        assert_eq!(format_override(Some("jsonl"), Some(",")), Err("delimiter is for CSV: not with format jsonl".into()));
    }

    #[test]
    fn delimiters_are_guessed() {
        assert_eq!(sniff(b"a;b;c\n1;2;3\n", None, true).unwrap().delimiter, b';');
        assert_eq!(sniff(b"a\tb\tc\n1\t2\t3\n", None, true).unwrap().delimiter, b'\t');
        assert_eq!(sniff(b"a|b\n1|2\n", None, true).unwrap().delimiter, b'|');
        assert_eq!(sniff(b"a,b\n\"1;2\",3\n", None, true).unwrap().delimiter, b',');
        // Semicolons inside quotes do not count.
        assert_eq!(sniff(b"x,y\n\"a;b;c\",1\n\"d;e;f\",2\n", None, true).unwrap().delimiter, b',');
    }

    #[test]
    fn excel_sep_line_names_the_delimiter() {
        for (text, delimiter) in [(&b"sep=;\na;b\n1;2\n"[..], b';'), (b"\"sep=|\"\r\na|b\r\n1|2\r\n", b'|'), (b"SEP=\t\na\tb\n1\t2\n", b'\t')] {
            let s = sniff(text, None, true).unwrap();
            assert_eq!((s.delimiter, s.header, s.sep_line), (delimiter, true, true), "{text:?}");
        }
        for text in [&b"sep=;x\na;b\n"[..], b"sep=a\n", b"separator,b\n1,2\n"] {
            assert_eq!(sep_directive(text), None, "{text:?}");
        }
        assert!(!sniff(b"a,b\n1,2\n", None, true).unwrap().sep_line);
    }

    #[test]
    fn header_is_guessed() {
        assert!(sniff(b"a,b\n1,2\n", None, true).unwrap().header);
        assert!(!sniff(b"1,2\n3,4\n", None, true).unwrap().header);
    }

    #[test]
    fn jsonl_is_sniffed_and_binary_refused() {
        assert_eq!(sniff(b"{\"a\": 1}\n{\"a\": 2}\n", None, true).unwrap().format, Format::Jsonl);
        assert_eq!(*sniff(b"\x89PNG\r\n\x1a\n\0\0\0", None, true).unwrap_err().kind(), ErrorKind::Binary);
        assert_eq!(*sniff(b"  \n\n", None, true).unwrap_err().kind(), ErrorKind::Empty);
        assert_eq!(*sniff(b"\xEF\xBB\xBF", None, true).unwrap_err().kind(), ErrorKind::Empty);
    }

    #[test]
    fn bom_and_crlf_are_seen() {
        let s = sniff(b"\xEF\xBB\xBFa,b\r\n1,2\r\n", None, true).unwrap();
        assert!(s.bom);
        assert_eq!(s.line_ending, "\r\n");
    }
}
