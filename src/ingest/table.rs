//! Column-major storage of the parsed rows.
//!
//! Each column keeps its cells' text in one arena plus an end offset and a
//! kind byte per row, so a row costs 9 bytes per column beyond its text and
//! no allocation per field.

use std::collections::HashMap;

use crate::error::{Error, ErrorKind, Result};

/// What a stored cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CellKind {
    /// No value (empty field, NA token, JSON null, absent key).
    Missing = 0,
    /// A value as text (numbers and booleans too; typing happens later).
    Text = 1,
    /// A JSON array of numbers, stored as its JSON text.
    Vector = 2,
}

/// A borrowed cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// No value.
    Missing,
    /// Text of the value.
    Text(&'a str),
    /// JSON text of a numeric array, like `[0.5,1,2]`.
    Vector(&'a str),
}

impl<'a> Cell<'a> {
    /// The text of the cell, empty for missing.
    pub fn text(&self) -> &'a str {
        match self {
            Cell::Missing => "",
            Cell::Text(s) | Cell::Vector(s) => s,
        }
    }

    /// Whether the cell is missing.
    pub fn is_missing(&self) -> bool {
        matches!(self, Cell::Missing)
    }
}

/// One column's cells.
#[derive(Debug, Clone, Default)]
pub struct Column {
    /// Column name.
    pub name: String,
    arena: String,
    ends: Vec<usize>,
    kinds: Vec<CellKind>,
}

impl Column {
    fn new(name: String) -> Column {
        Column { name, ..Column::default() }
    }

    /// Number of cells stored.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// Whether no cells are stored.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    fn push(&mut self, kind: CellKind, text: &str) {
        if kind != CellKind::Missing {
            self.arena.push_str(text);
        }
        self.ends.push(self.arena.len());
        self.kinds.push(kind);
    }

    /// The cell of row `row`.
    pub fn get(&self, row: usize) -> Cell<'_> {
        let start = if row == 0 { 0 } else { self.ends[row - 1] };
        let text = &self.arena[start..self.ends[row]];
        match self.kinds[row] {
            CellKind::Missing => Cell::Missing,
            CellKind::Text => Cell::Text(text),
            CellKind::Vector => Cell::Vector(text),
        }
    }

    /// Iterates over all cells in row order.
    pub fn cells(&self) -> impl Iterator<Item = Cell<'_>> + '_ {
        (0..self.len()).map(move |row| self.get(row))
    }
}

/// All rows parsed so far, column-major.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Columns in file order (first appearance for JSONL).
    pub columns: Vec<Column>,
    /// 1-based line where each row starts.
    pub lines: Vec<u64>,
    by_name: HashMap<String, usize>,
}

impl Table {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Index of the column named `name`, or an invalid-option error naming
    /// it as the `what` column ("label", "text", ...) and listing the
    /// file's columns.
    pub fn require_column(&self, name: &str, what: &str) -> Result<usize> {
        self.column_index(name).ok_or_else(|| {
            let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            Error::new(
                ErrorKind::InvalidOption,
                format!("{what} column {name:?} is not in the file; its columns are: {}", names.join(", ")),
            )
        })
    }

    /// Adds a column (name made unique with a `.1`, `.2` suffix, as pandas
    /// does) filled with missing cells for the rows already stored.
    pub fn add_column(&mut self, name: &str) -> usize {
        let mut unique = name.to_string();
        let mut suffix = 1;
        while self.by_name.contains_key(&unique) {
            unique = format!("{name}.{suffix}");
            suffix += 1;
        }
        let index = self.columns.len();
        let mut column = Column::new(unique.clone());
        for _ in 0..self.rows() {
            column.push(CellKind::Missing, "");
        }
        self.columns.push(column);
        self.by_name.insert(unique, index);
        index
    }

    /// Finds or adds the column named exactly `name` (JSONL keys).
    pub fn column_for_key(&mut self, name: &str) -> usize {
        match self.by_name.get(name) {
            Some(&i) => i,
            None => self.add_column(name),
        }
    }

    /// Sets a cell of the row being built (row index `self.rows()`).
    /// A second value for the same column in one row is ignored (JSON keys
    /// that repeat, or that collide after flattening); returns false then.
    pub fn set(&mut self, column: usize, kind: CellKind, text: &str) -> bool {
        let rows = self.rows();
        let col = &mut self.columns[column];
        if col.len() > rows {
            return false;
        }
        col.push(kind, text);
        true
    }

    /// Ends the row being built: columns without a value get a missing cell.
    pub fn end_row(&mut self, line: u64) {
        let rows = self.rows();
        for col in &mut self.columns {
            if col.len() == rows {
                col.push(CellKind::Missing, "");
            }
        }
        self.lines.push(line);
    }

    /// The row's values as text, each cut to `max_chars` characters.
    pub fn row_values(&self, row: usize, max_chars: usize) -> Vec<String> {
        self.columns.iter().map(|c| clip(c.get(row).text(), max_chars)).collect()
    }
}

/// Cuts `text` to `max_chars` characters, adding an ellipsis when cut.
pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
