//! The crate's one error type: a kind plus where in the input it happened.

use std::fmt;

/// What went wrong, independent of where.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input holds no bytes (or only whitespace / a byte order mark).
    Empty,
    /// The input looks like a binary file, not delimited text or JSON lines.
    Binary,
    /// The input has a header but not one usable data row.
    NoRows,
    /// An option passed by the caller is invalid (unknown column, bad value).
    InvalidOption,
    /// Reading the input failed (file system, decompression).
    Io,
    /// The GPU could not be used (no adapter, device lost, allocation failed).
    Gpu,
    /// A model file (semantic embeddings) is missing, truncated or not a
    /// preflight model file.
    Model,
    /// An internal invariant did not hold; a bug in preflight.
    Internal,
}

/// Where in the input an error happened. Every field is optional because
/// some errors (an empty file) have no position.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// 0-based data record index (after the header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// 1-based line number where the record starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column (field) number within the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// 0-based byte offset in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte: Option<u64>,
}

/// An error with its kind, a human message and an optional position.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    position: Option<Position>,
}

impl Error {
    /// Builds an error without a position.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), position: None }
    }

    /// Attaches a position.
    pub fn at(mut self, position: Position) -> Error {
        self.position = Some(position);
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The message without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where it happened, when known.
    pub fn position(&self) -> Option<&Position> {
        self.position.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.position {
            if let Some(line) = p.line {
                write!(f, "line {line}")?;
                if let Some(col) = p.column {
                    write!(f, ", column {col}")?;
                }
                write!(f, ": ")?;
            } else if let Some(byte) = p.byte {
                write!(f, "byte {byte}: ")?;
            }
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result with the crate's error.
pub type Result<T> = std::result::Result<T, Error>;
