//! Incremental JSON lines reading: one object per line, nested objects
//! flattened with dotted names, numeric arrays kept as vectors.

use super::{Issues, Table};
use crate::ingest::table::CellKind;
use serde_json::Value;

/// Streaming JSONL state: the bytes of the line not yet complete.
#[derive(Debug, Default)]
pub struct JsonlReader {
    partial: Vec<u8>,
    line: u64,
    bom_checked: bool,
}

impl JsonlReader {
    /// A fresh reader.
    pub fn new() -> JsonlReader {
        JsonlReader::default()
    }

    /// Feeds bytes; an empty slice means end of input.
    pub fn push(&mut self, input: &[u8], table: &mut Table, issues: &mut Issues) {
        if input.is_empty() {
            if !self.partial.is_empty() {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, table, issues);
            }
            return;
        }
        let mut rest = input;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                self.line(&rest[..pos], table, issues);
            } else {
                self.partial.extend_from_slice(&rest[..pos]);
                let line = std::mem::take(&mut self.partial);
                self.line(&line, table, issues);
            }
            rest = &rest[pos + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    fn line(&mut self, mut bytes: &[u8], table: &mut Table, issues: &mut Issues) {
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
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                issues.rows_skipped += 1;
                issues.add(
                    "not_json",
                    line,
                    None,
                    Some(e.column() as u64),
                    format!("not valid JSON ({e}); the line was skipped"),
                );
                return;
            }
        };
        let Value::Object(object) = value else {
            issues.rows_skipped += 1;
            issues.add(
                "not_object",
                line,
                None,
                None,
                format!("a JSON {} where an object was expected; the line was skipped", json_kind(&value)),
            );
            return;
        };
        let row = table.rows() as u64;
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
        let mut path = String::new();
        flatten(&object, &mut path, table, &mut collided);
        if collided {
            issues.add(
                "duplicate_key",
                line,
                Some(row),
                None,
                "a key appears twice (or collides with a flattened name); the first value was kept".to_string(),
            );
        }
        table.end_row(line);
        issues.rows_used += 1;
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn flatten(object: &serde_json::Map<String, Value>, path: &mut String, table: &mut Table, collided: &mut bool) {
    for (key, value) in object {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let (kind, text): (CellKind, std::borrow::Cow<'_, str>) = match value {
            Value::Object(inner) if !inner.is_empty() => {
                flatten(inner, path, table, collided);
                path.truncate(len);
                continue;
            }
            Value::Object(_) | Value::Null => (CellKind::Missing, "".into()),
            Value::Bool(b) => (CellKind::Text, if *b { "true" } else { "false" }.into()),
            Value::Number(n) => (CellKind::Text, n.to_string().into()),
            Value::String(s) if s.is_empty() => (CellKind::Missing, "".into()),
            Value::String(s) => (CellKind::Text, s.as_str().into()),
            Value::Array(items) if items.is_empty() => (CellKind::Missing, "".into()),
            Value::Array(items) if items.iter().all(Value::is_number) => {
                (CellKind::Vector, Value::Array(items.clone()).to_string().into())
            }
            Value::Array(_) => (CellKind::Text, value.to_string().into()),
        };
        let column = table.column_for_key(path);
        if !table.set(column, kind, &text) {
            *collided = true;
        }
        path.truncate(len);
    }
}
