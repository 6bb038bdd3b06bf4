//! Incremental JSON lines reading: one object per line, nested objects
//! flattened with dotted names, numeric arrays kept as vectors.
//!
//! Each line is read by a scanner for the common shapes (objects of
//! strings, numbers, booleans, nulls, nested objects and numeric arrays);
//! a line it does not take (arrays of other values, a surrogate pair
//! escape, a syntax error) goes through serde_json, which also words the
//! errors. Both give the same cells; `tests` checks that on random lines.

use super::{Issues, Sink};
use crate::ingest::table::CellKind;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt::Write as _;

/// Deepest object nesting the scanner takes; deeper lines go to serde_json
/// (which refuses beyond 128).
const MAX_DEPTH: usize = 64;

/// One cell of the row being read: its column name and text, as ranges of
/// the row buffer's strings.
#[derive(Debug, Clone, Copy)]
struct BufferedCell {
    name: (usize, usize),
    kind: CellKind,
    text: (usize, usize),
}

/// The cells of one line, kept until the line is known to be valid, so a
/// line that turns out to be broken leaves nothing in the sink. Reused
/// from line to line: no allocation per field.
#[derive(Debug, Default)]
struct RowBuffer {
    names: String,
    texts: String,
    cells: Vec<BufferedCell>,
    /// The dotted name of the value being read.
    path: String,
}

impl RowBuffer {
    fn clear(&mut self) {
        self.names.clear();
        self.texts.clear();
        self.cells.clear();
        self.path.clear();
    }

    /// Adds a cell named by the current path whose text was appended to
    /// `texts` from `text_start` on.
    fn cell(&mut self, kind: CellKind, text_start: usize) {
        let name_start = self.names.len();
        self.names.push_str(&self.path);
        self.cells.push(BufferedCell {
            name: (name_start, self.names.len()),
            kind,
            text: (text_start, self.texts.len()),
        });
    }

    fn missing(&mut self) {
        let at = self.texts.len();
        self.cell(CellKind::Missing, at);
    }
}

/// Streaming JSONL state: the bytes of the line not yet complete.
#[derive(Debug, Default)]
pub struct JsonlReader {
    partial: Vec<u8>,
    /// Lines read so far.
    line: u64,
    /// Newlines consumed.
    newlines: u64,
    /// Bytes consumed (from the reader's first byte).
    offset: u64,
    /// Offset of the current line's first byte.
    line_start: u64,
    bom_checked: bool,
    stop_after: Option<u64>,
    first_record: Option<u64>,
    stopped_at: Option<u64>,
    finished: bool,
    row: RowBuffer,
    /// Tests: read every line with serde_json.
    #[cfg(test)]
    serde_only: bool,
}

impl JsonlReader {
    /// A reader of a whole input.
    pub fn new() -> JsonlReader {
        JsonlReader::default()
    }

    /// A reader of part of an input. `at_start`: it starts at the input's
    /// first byte (a byte order mark is dropped); otherwise right after a
    /// line break. Line 1 is its first line. `stop_after`: it ends before
    /// the first line that starts after this offset (relative to its first
    /// byte).
    pub fn part(at_start: bool, stop_after: Option<u64>) -> JsonlReader {
        JsonlReader { bom_checked: !at_start, stop_after, ..JsonlReader::default() }
    }

    /// Counts `bytes` as consumed before the reader's first byte is pushed.
    pub fn skip_offset(&mut self, bytes: u64) {
        self.offset += bytes;
        self.line_start = self.offset;
    }

    /// Whether the reader needs no more input.
    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// Offset of the first line's first byte, once seen.
    pub fn first_record_offset(&self) -> Option<u64> {
        self.first_record
    }

    /// Where the reader stopped (the first byte of the first line past the
    /// stop offset); `None` when it read to the end.
    pub fn stopped_at(&self) -> Option<u64> {
        self.stopped_at
    }

    /// Newlines consumed by the lines read.
    pub fn newlines(&self) -> u64 {
        self.newlines
    }

    /// Bytes consumed.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Feeds bytes; an empty slice means end of input. Returns the bytes of
    /// `input` consumed: all of them, unless the reader stopped.
    pub fn push<S: Sink>(&mut self, input: &[u8], sink: &mut S, issues: &mut Issues) -> usize {
        if self.finished {
            return 0;
        }
        if input.is_empty() {
            if !self.partial.is_empty() {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, sink, issues);
                self.partial = line;
                self.partial.clear();
            }
            self.finished = true;
            return 0;
        }
        let mut rest = input;
        let mut consumed = 0;
        while !rest.is_empty() {
            if self.partial.is_empty() {
                // A line starts here.
                let start = self.offset;
                self.first_record.get_or_insert(start);
                if self.stop_after.is_some_and(|stop| start > stop) {
                    self.finished = true;
                    self.stopped_at = Some(start);
                    return consumed;
                }
                self.line_start = start;
            }
            match memchr::memchr(b'\n', rest) {
                Some(pos) => {
                    if self.partial.is_empty() {
                        self.line(&rest[..pos], sink, issues);
                    } else {
                        self.partial.extend_from_slice(&rest[..pos]);
                        let line = std::mem::take(&mut self.partial);
                        self.line(&line, sink, issues);
                        self.partial = line;
                        self.partial.clear();
                    }
                    self.newlines += 1;
                    self.offset += pos as u64 + 1;
                    consumed += pos + 1;
                    rest = &rest[pos + 1..];
                }
                None => {
                    self.partial.extend_from_slice(rest);
                    self.offset += rest.len() as u64;
                    consumed += rest.len();
                    rest = &[];
                }
            }
        }
        consumed
    }

    fn line<S: Sink>(&mut self, mut bytes: &[u8], sink: &mut S, issues: &mut Issues) {
        self.line += 1;
        if !self.bom_checked {
            self.bom_checked = true;
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
            }
        }
        if let Some(rest) = bytes.strip_suffix(b"\r") {
            bytes = rest;
        }
        if bytes.trim_ascii().is_empty() {
            issues.blank_lines += 1;
            return;
        }
        issues.records_read += 1;
        let line = self.line;
        let (text, invalid_utf8) = match std::str::from_utf8(bytes) {
            Ok(s) => (std::borrow::Cow::Borrowed(s), false),
            Err(_) => (String::from_utf8_lossy(bytes), true),
        };
        self.row.clear();
        #[cfg(test)]
        let fast = !self.serde_only && scan_line(&text, &mut self.row).is_some();
        #[cfg(not(test))]
        let fast = scan_line(&text, &mut self.row).is_some();
        if !fast {
            self.row.clear();
            match serde_line(&text, &mut self.row) {
                Ok(None) => {}
                Ok(Some(kind)) => {
                    issues.skip(1);
                    issues.add(
                        "not_object",
                        line,
                        None,
                        None,
                        format!("a JSON {kind} where an object was expected; the line was skipped"),
                    );
                    return;
                }
                Err(e) => {
                    issues.skip(1);
                    issues.add(
                        "not_json",
                        line,
                        None,
                        Some(e.column() as u64),
                        not_json_message(&e),
                    );
                    return;
                }
            }
        }
        let row = issues.rows_used;
        if invalid_utf8 {
            issues.rows_invalid_utf8 += 1;
            issues.add(
                "invalid_utf8",
                line,
                Some(row),
                None,
                "bytes that are not valid UTF-8; they were replaced with U+FFFD".to_string(),
            );
        }
        let mut collided = false;
        sink.start_row(self.line_start);
        let buffer = &self.row;
        for cell in &buffer.cells {
            let column = sink.column_for_key(&buffer.names[cell.name.0..cell.name.1]);
            if !sink.set(column, cell.kind, &buffer.texts[cell.text.0..cell.text.1]) {
                collided = true;
            }
        }
        if collided {
            issues.add(
                "duplicate_key",
                line,
                Some(row),
                None,
                "a key appears twice (or collides with a flattened name); the first value was kept".to_string(),
            );
        }
        sink.end_row(line, self.line_start);
        issues.rows_used += 1;
    }
}

/// The scanner: reads a line holding one object of the common shapes into
/// `row`; `None` when the line is anything else (serde_json then reads it).
fn scan_line(line: &str, row: &mut RowBuffer) -> Option<()> {
    let mut scanner = Scanner { text: line, s: line.as_bytes(), i: 0 };
    scanner.ws();
    if scanner.peek()? != b'{' {
        return None;
    }
    scanner.i += 1;
    scanner.object(row, 0)?;
    scanner.ws();
    (scanner.i == line.len()).then_some(())
}

/// Bytes that end a run of plain string bytes: quote, backslash, controls.
const STRING_STOP: [bool; 256] = {
    let mut stop = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stop[b] = true;
        b += 1;
    }
    stop[b'"' as usize] = true;
    stop[b'\\' as usize] = true;
    stop
};

struct Scanner<'a> {
    /// The line (valid UTF-8: runs between ASCII stops slice it cheaply).
    text: &'a str,
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    /// The members of an object whose `{` was read, flattened under `row.path`.
    /// Returns whether the object had members.
    fn object(&mut self, row: &mut RowBuffer, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(false);
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            self.i += 1;
            let path_len = row.path.len();
            if path_len > 0 {
                row.path.push('.');
            }
            // The key is decoded onto the path.
            let mut path = std::mem::take(&mut row.path);
            let ok = self.string(&mut path);
            row.path = path;
            ok?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            self.ws();
            self.value(row, depth)?;
            row.path.truncate(path_len);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(true);
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self, row: &mut RowBuffer, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                let start = row.texts.len();
                self.string(&mut row.texts)?;
                let kind = if row.texts.len() == start { CellKind::Missing } else { CellKind::Text };
                row.cell(kind, start);
            }
            b'{' => {
                self.i += 1;
                if !self.object(row, depth + 1)? {
                    row.missing();
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    row.missing();
                    return Some(());
                }
                // Numbers only; anything else goes to serde_json.
                let start = row.texts.len();
                row.texts.push('[');
                loop {
                    self.ws();
                    self.number(&mut row.texts)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.i += 1;
                            row.texts.push(',');
                        }
                        b']' => {
                            self.i += 1;
                            row.texts.push(']');
                            break;
                        }
                        _ => return None,
                    }
                }
                row.cell(CellKind::Vector, start);
            }
            b't' => {
                self.literal(b"true")?;
                let start = row.texts.len();
                row.texts.push_str("true");
                row.cell(CellKind::Text, start);
            }
            b'f' => {
                self.literal(b"false")?;
                let start = row.texts.len();
                row.texts.push_str("false");
                row.cell(CellKind::Text, start);
            }
            b'n' => {
                self.literal(b"null")?;
                row.missing();
            }
            _ => {
                let start = row.texts.len();
                self.number(&mut row.texts)?;
                row.cell(CellKind::Text, start);
            }
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// A JSON number, written to `out` as serde_json's `Number` prints it.
    fn number(&mut self, out: &mut String) -> Option<()> {
        let start = self.i;
        let digits = |s: &mut Self| {
            let from = s.i;
            while let Some(b'0'..=b'9') = s.peek() {
                s.i += 1;
            }
            s.i - from
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            integer = false;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        // What follows a number: whitespace or structure, else serde_json reads the line.
        if !matches!(self.peek(), None | Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b'}' | b']')) {
            return None;
        }
        let token = self.text.get(start..self.i)?;
        // Integers that fit in an i64 print as written; "-0" is a float to
        // serde_json, and floats print in its shortest form, which is the
        // token itself for short plain decimals.
        if (integer && token.len() <= 18 && !token.starts_with("-0")) || (!integer && plain_decimal(token)) {
            out.push_str(token);
        } else {
            let number: serde_json::Number = serde_json::from_str(token).ok()?;
            write!(out, "{number}").ok()?;
        }
        Some(())
    }

    /// A string whose opening quote was read, decoded onto `out`.
    fn string(&mut self, out: &mut String) -> Option<()> {
        loop {
            let start = self.i;
            while self.i < self.s.len() && !STRING_STOP[self.s[self.i] as usize] {
                self.i += 1;
            }
            // The run starts and stops at ASCII bytes: char boundaries.
            out.push_str(self.text.get(start..self.i)?);
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    let escaped = self.peek()?;
                    self.i += 1;
                    let c = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            let code = u32::from_str_radix(hex, 16).ok()?;
                            self.i += 4;
                            // Surrogate pairs (and lone surrogates) go to serde_json.
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    out.push(c);
                }
                // A control character: serde_json words the error.
                _ => return None,
            }
        }
    }
}

/// Whether serde_json prints the float `token` (a valid JSON number with a
/// fraction) as the token itself: `-?digits.digits` without exponent or
/// trailing zero, at most 15 significant digits (so its parse, one exact
/// division, is the nearest double, whose shortest form is these digits),
/// at least 1e-5 (printed in fixed notation).
fn plain_decimal(token: &str) -> bool {
    let digits = token.strip_prefix('-').unwrap_or(token).as_bytes();
    let Some(dot) = digits.iter().position(|&b| b == b'.') else { return false };
    let (int, frac) = (&digits[..dot], &digits[dot + 1..]);
    if frac.is_empty() || frac.last() == Some(&b'0') || !frac.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if int == b"0" {
        let leading = frac.iter().take_while(|&&b| b == b'0').count();
        leading <= 4 && frac.len() - leading <= 15
    } else {
        int.len() + frac.len() <= 15
    }
}

/// Reads a line with serde_json into `row`. `Ok(None)`: an object;
/// `Ok(Some(kind))`: valid JSON but not an object.
fn serde_line(text: &str, row: &mut RowBuffer) -> Result<Option<&'static str>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let top = TopSeed { row }.deserialize(&mut de)?;
    de.end()?;
    Ok(top)
}

struct TopSeed<'r> {
    row: &'r mut RowBuffer,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Option<&'static str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Option<&'static str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectSeed { row: self.row }.visit_map(map)?;
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some("array"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some("boolean"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Some("number"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Some("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Some("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Some("string"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some("null"))
    }
}

/// The members of an object, flattened under `row.path`; the value says
/// whether it had any.
struct ObjectSeed<'r> {
    row: &'r mut RowBuffer,
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut any = false;
        let path_len = self.row.path.len();
        while map.next_key_seed(KeySeed { path: &mut self.row.path })?.is_some() {
            any = true;
            map.next_value_seed(ValueSeed { row: self.row })?;
            self.row.path.truncate(path_len);
        }
        Ok(any)
    }
}

/// A key, appended to the dotted path.
struct KeySeed<'p> {
    path: &'p mut String,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, key: &str) -> Result<(), E> {
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        Ok(())
    }
}

/// A member's value: a cell, or the members of a nested object.
struct ValueSeed<'r> {
    row: &'r mut RowBuffer,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn text(self, kind: CellKind, text: std::fmt::Arguments) {
        let start = self.row.texts.len();
        let _ = self.row.texts.write_fmt(text);
        self.row.cell(kind, start);
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        if !(ObjectSeed { row: self.row }).visit_map(map)? {
            self.row.missing();
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        if items.is_empty() {
            self.row.missing();
        } else if items.iter().all(Value::is_number) {
            self.text(CellKind::Vector, format_args!("{}", Value::Array(items)));
        } else {
            self.text(CellKind::Text, format_args!("{}", Value::Array(items)));
        }
        Ok(())
    }
    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.text(CellKind::Text, format_args!("{b}"));
        Ok(())
    }
    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.text(CellKind::Text, format_args!("{}", serde_json::Number::from(n)));
        Ok(())
    }
    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.text(CellKind::Text, format_args!("{}", serde_json::Number::from(n)));
        Ok(())
    }
    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        match serde_json::Number::from_f64(n) {
            Some(number) => self.text(CellKind::Text, format_args!("{number}")),
            None => self.row.missing(),
        }
        Ok(())
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        if s.is_empty() {
            self.row.missing();
        } else {
            self.text(CellKind::Text, format_args!("{s}"));
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.row.missing();
        Ok(())
    }
}

/// serde_json's message without its "at line 1 column N": the line is the
/// file's (the issue's `line`); serde's column counts bytes.
fn not_json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let what = text.strip_suffix(&position).unwrap_or(&text);
    format!("not valid JSON ({what}, at byte {} of the line); the line was skipped", e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Table;

    fn cells(table: &Table) -> Vec<Vec<String>> {
        (0..table.rows())
            .map(|r| table.columns.iter().map(|c| format!("{}={:?}", c.name, c.get(r))).collect())
            .collect()
    }

    fn read(data: &[u8], serde_only: bool) -> (Table, Issues) {
        let mut reader = JsonlReader { serde_only, ..JsonlReader::new() };
        let (mut table, mut issues) = (Table::default(), Issues::default());
        reader.push(data, &mut table, &mut issues);
        reader.push(&[], &mut table, &mut issues);
        (table, issues)
    }

    /// A small seeded generator (xorshift), for the random lines.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    fn random_value(rng: &mut Rng, depth: usize) -> String {
        let scalars = [
            "1",
            "-0",
            "0",
            "-12",
            "3.50",
            "1e3",
            "-2.5E-3",
            "123456789012345678901",
            "18446744073709551615",
            "-9223372036854775808",
            "0.1",
            "true",
            "false",
            "null",
            "\"\"",
            "\"x\"",
            "\"a b\"",
            "\"\\u00e9\\n\"",
            "\"\\ud83d\\ude00\"",
            "\"q\\\"t\"",
            "\"é ü\"",
            "[]",
            "[1,2.0, 3]",
            "[1,\"a\"]",
            "[[1],[2]]",
            "{}",
            "[1e400]",
            "01",
            "\"\\x\"",
            "[1,]",
            "1.",
            "tru",
            "\"\u{1}\"",
            "{\"a\":1}",
        ];
        if depth < 3 && rng.next().is_multiple_of(5) {
            let members = rng.next() % 4;
            let inner: Vec<String> = (0..members)
                .map(|_| format!("\"{}\" : {}", rng.pick(&["a", "b", "c.d", "a.b"]), random_value(rng, depth + 1)))
                .collect();
            format!("{{{}}}", inner.join(","))
        } else {
            rng.pick(&scalars).to_string()
        }
    }

    #[test]
    fn scanner_and_serde_json_read_random_lines_alike() {
        let mut rng = Rng(0x9E3779B97F4A7C15);
        let mut data = String::new();
        for _ in 0..3000 {
            let line = match rng.next() % 10 {
                0 => random_value(&mut rng, 0),
                1 => String::new(),
                _ => {
                    let members = rng.next() % 5;
                    let inner: Vec<String> = (0..members)
                        .map(|_| {
                            format!(
                                " \"{}\":{} ",
                                rng.pick(&["id", "x", "user", "user.name", "\\u0041", "emb", "id"]),
                                random_value(&mut rng, 0)
                            )
                        })
                        .collect();
                    format!("{{{}}}{}", inner.join(","), rng.pick(&["", " ", "x", "\r"]))
                }
            };
            data.push_str(&line);
            data.push('\n');
        }
        let (fast_table, fast_issues) = read(data.as_bytes(), false);
        let (serde_table, serde_issues) = read(data.as_bytes(), true);
        assert!(fast_table.rows() > 1000, "{}", fast_table.rows());
        assert_eq!(cells(&fast_table), cells(&serde_table));
        assert_eq!(fast_table.lines, serde_table.lines);
        assert_eq!(fast_issues.to_report(), serde_issues.to_report());
    }

    #[test]
    fn plain_decimals_are_printed_by_serde_json_as_written() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut checked = 0;
        for _ in 0..200_000 {
            let int_digits = rng.next() % 17;
            let frac_digits = 1 + rng.next() % 20;
            let mut token = String::new();
            if rng.next().is_multiple_of(2) {
                token.push('-');
            }
            if int_digits == 0 {
                token.push('0');
            } else {
                token.push(char::from(b'1' + (rng.next() % 9) as u8));
                for _ in 1..int_digits {
                    token.push(char::from(b'0' + (rng.next() % 10) as u8));
                }
            }
            token.push('.');
            let zeros = if int_digits == 0 { rng.next() % 7 } else { 0 };
            for i in 0..frac_digits {
                let digit = if i < zeros { 0 } else { rng.next() % 10 };
                token.push(char::from(b'0' + digit as u8));
            }
            let number: serde_json::Number = serde_json::from_str(&token).unwrap();
            if plain_decimal(&token) {
                checked += 1;
                assert_eq!(number.to_string(), token);
            }
        }
        assert!(checked > 20_000, "{checked}");
    }

    #[test]
    fn numbers_print_as_serde_json_prints_them() {
        let (t, _) =
            read(b"{\"a\": -0, \"b\": 1.50, \"c\": 1e3, \"d\": 12345678901234567890123, \"e\": [1, 2.50]}\n", false);
        let values: Vec<&str> = t.columns.iter().map(|c| c.get(0).text()).collect();
        assert_eq!(values, ["-0.0", "1.5", "1000.0", "1.2345678901234568e+22", "[1,2.5]"]);
    }
}
