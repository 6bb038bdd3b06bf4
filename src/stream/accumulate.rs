//! The whole-file state of a streamed run, fed one cell at a time by a
//! reader ([`crate::ingest::Sink`]) and mergeable in file order.
//!
//! Per column: what type inference needs (value kinds, missing, lengths,
//! letters, vector lengths, earliest and latest date), distinct counts
//! ([`Distinct`]: by text, and by value for numbers and booleans), value
//! counts ([`TopValues`]), numbers ([`Kll`] quantiles, exact min and max,
//! mergeable moments for mean, std and skewness, zeros, negatives). Per row:
//! a 128-bit hash for exact duplicates (16 bytes), the kinds of personal
//! data found (1 byte, [`PiiStream`]), and the line where the record starts
//! (stored only where it does not follow the previous record's line). And a
//! uniform sample of rows, kept whole: bottom-k by a hash of each record's
//! byte offset in the file, so the sample does not depend on how the file
//! was split into parts.
//!
//! Memory: 17 bytes a row plus line anchors, the sketches (bounded per
//! column), and at most 2 x `sample_rows` sampled rows.

use crate::checks::duplicates::cell_key;
use crate::checks::pii::{CleanText, PiiStream};
use crate::ingest::{Cell, CellKind, Sink};
use crate::memo::Memo;
use crate::profile::value::{
    classify_parsed, date_layout, missing_marker, number_shape, ByteCounts, DateLayouts, Marker, MissingMarkers, NumberShapes, Parsed,
    ValueKind,
};
use crate::profile::{Comparison, Dates, Lengths};
use crate::sketch::{Distinct, Kll, TopValues};
use crate::Options;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use xxhash_rust::xxh3::{xxh3_128_with_seed, xxh3_64, xxh3_64_with_seed};

/// Seed of the sample's keys: a record is in the sample when
/// `xxh3_64_with_seed(offset as 8 little-endian bytes, SAMPLE_SEED)` of the
/// byte offset where it starts is among the `sample_rows` smallest keys.
/// Below 2^53, so the report's `sampling.sample_seed` is exact as a
/// JavaScript number.
pub const SAMPLE_SEED: u64 = 0x0010_6566_6c69_6768;

/// Integers of this magnitude or more are compared as 64-bit integers (as
/// pandas' int64), not as f64 where 2^53 + 1 equals 2^53: the test is on
/// the parsed f64, which a text such as "9007199254740993" rounds down to
/// 2^53 itself.
const F64_EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0;

/// Texts kept per kind of value, for the `mixed_types` alert's examples.
pub(crate) use crate::profile::KIND_EXAMPLES;

/// Count, mean and central moments of numbers, mergeable (Chan, Golub,
/// LeVeque 1979; Pébay 2008 for the third moment).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Values.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Sum of cubed deviations from the mean.
    pub m3: f64,
}

impl Moments {
    /// Adds one value (Welford's update with Pébay's third moment).
    #[inline]
    pub fn add(&mut self, x: f64) {
        let n1 = self.n as f64;
        self.n += 1;
        let n = self.n as f64;
        let delta = x - self.mean;
        let delta_n = delta / n;
        let term = delta * delta_n * n1;
        self.mean += delta_n;
        self.m3 += term * delta_n * (n - 2.0) - 3.0 * delta_n * self.m2;
        self.m2 += term;
    }

    /// Adds the moments of other values.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        let m2 = self.m2 + other.m2 + delta * delta * na * nb / n;
        let m3 = self.m3
            + other.m3
            + delta * delta * delta * na * nb * (na - nb) / (n * n)
            + 3.0 * delta * (na * other.m2 - nb * self.m2) / n;
        self.mean += delta * nb / n;
        self.m2 = m2;
        self.m3 = m3;
        self.n += other.n;
    }
}

/// One column's statistics while streaming.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ColumnAcc {
    pub(crate) name: String,
    /// Seed of this column's cell hashes in the row hash.
    seed: u64,
    pub(crate) missing: u64,
    /// Non-missing values of each kind, indexed as [`ValueKind::ALL`].
    pub(crate) kinds: [u64; 6],
    pub(crate) lengths: Lengths,
    /// Vector values of each length (0: not a numeric array).
    pub(crate) vector_dims: Vec<(u64, u64)>,
    pub(crate) dates: Dates<String>,
    /// Distinct texts (every non-missing value).
    pub(crate) distinct_text: Distinct,
    /// Distinct values of numbers and booleans compared by value.
    pub(crate) distinct_value: ByValue,
    pub(crate) top: TopValues,
    pub(crate) numbers: Kll,
    pub(crate) moments: Moments,
    pub(crate) zeros: u64,
    pub(crate) negatives: u64,
    /// Numbers and booleans not written in their one canonical form
    /// (`1.0`, `+1`, ` 1`, `True`): in a column that ends up compared as
    /// text, the row hash (which compares them by value) may join rows that
    /// exact mode keeps apart.
    pub(crate) noncanonical: u64,
    /// Integers at or beyond 2^53, hashed as 64-bit integers: in a column that
    /// ends up compared as f64 (some float or missing value), exact mode
    /// may join rows the row hash keeps apart.
    pub(crate) big_integers: u64,
    /// The first [`KIND_EXAMPLES`] distinct texts of each kind, in the
    /// order first seen (indexed as [`ValueKind::ALL`]; none for vectors).
    #[serde(default)]
    pub(crate) kind_examples: [Vec<String>; 6],
    /// The layouts of its dates: rows of each, and the first text of each.
    #[serde(default)]
    pub(crate) date_layouts: DateLayouts,
    /// Texts standing for a missing value (`?`, `unknown`): rows of each.
    #[serde(default)]
    pub(crate) markers: MissingMarkers,
    /// Numbers written in forms read as text (`1,5`, `$1,200`): rows of each.
    #[serde(default)]
    pub(crate) number_shapes: NumberShapes,
    /// Row (+1) in which the column was last set, to refuse a second value.
    #[serde(skip)]
    set_row: u64,
    #[serde(skip)]
    memo: Memo<Counted>,
}

impl ColumnAcc {
    fn new(name: &str) -> ColumnAcc {
        ColumnAcc {
            name: name.to_string(),
            seed: xxh3_64(name.as_bytes()),
            missing: 0,
            kinds: [0; 6],
            lengths: Lengths::default(),
            vector_dims: Vec::new(),
            dates: Dates::default(),
            distinct_text: Distinct::new(),
            distinct_value: ByValue::SameAsText,
            top: TopValues::new(),
            numbers: Kll::default(),
            moments: Moments::default(),
            zeros: 0,
            negatives: 0,
            noncanonical: 0,
            big_integers: 0,
            kind_examples: Default::default(),
            date_layouts: DateLayouts::default(),
            markers: MissingMarkers::default(),
            number_shapes: NumberShapes::default(),
            set_row: 0,
            memo: Memo::default(),
        }
    }

    /// Whether a value seen so far makes the column compare as text
    /// whatever follows: a string, date or vector value, or both numbers
    /// and booleans.
    fn text_only(&self) -> bool {
        let k = &self.kinds;
        k[3] + k[4] + k[5] > 0 || (k[2] > 0 && k[0] + k[1] > 0)
    }

    /// Counts a vector value; returns its hash for the row hash.
    fn add_vector(&mut self, text: &str, normalize: bool, key: &mut Vec<u8>) -> u128 {
        key.clear();
        self.kinds[ValueKind::Vector.index()] += 1;
        let dim = vector_len(text).unwrap_or(0) as u64;
        match self.vector_dims.iter_mut().find(|(d, _)| *d == dim) {
            Some((_, n)) => *n += 1,
            None => self.vector_dims.push((dim, 1)),
        }
        let hash = xxh3_64(text.as_bytes());
        self.distinct_text.add_hash(hash);
        self.top.add_hashed(text, hash);
        self.distinct_value = ByValue::Dropped;
        if normalize {
            cell_key(Cell::Vector(text), Comparison::Text, true, key);
            if key[..] == [0] {
                return 0;
            }
        } else {
            text_key(text, key);
        }
        xxh3_128_with_seed(key, self.seed)
    }

    /// Counts a text value whose xxh3-64 hash is `hash`; writes what
    /// counting the same text again adds ([`ColumnAcc::add_again`]) into
    /// `counted` (filled in place: moving it out as a return value cost a
    /// stalled copy per value), and returns whether it is a date.
    #[inline]
    fn add_text(
        &mut self,
        text: &str,
        hash: u64,
        counts: &ByteCounts,
        normalize: bool,
        key: &mut Vec<u8>,
        counted: &mut Counted,
    ) -> bool {
        key.clear();
        let mut date = false;
        // The exact distinct set's slot is likely a cache miss: start the
        // load now, insert after the parsing and hashing below.
        self.distinct_text.prefetch(hash);
        let (kind, parsed) = classify_parsed(text);
        let examples = &mut self.kind_examples[kind.index()];
        // (A text seen again after the memo forgot it is no new example.)
        if examples.len() < KIND_EXAMPLES && !examples.iter().any(|e| e == text) {
            examples.push(text.to_string());
        }
        let (chars, letters) = Lengths::chars_and_letters(text, counts);
        *counted = Counted {
            kind: kind.index() as u8,
            chars,
            letters,
            spaced: counts.spaces > 0,
            number: None,
            noncanonical: false,
            big_integer: false,
            as_text: false,
            row_hash: 0,
            pii: CleanText::default(),
            date_layout: 0,
            marker: Marker::No,
            number_shape: 0,
        };
        match parsed {
            Parsed::Number(v) => {
                counted.number = Some(v);
                let big = (kind == ValueKind::Integer && v.abs() >= F64_EXACT_INTEGERS)
                    .then(|| text.trim().parse::<i64>().ok())
                    .flatten();
                match big {
                    Some(i) => {
                        counted.big_integer = true;
                        key.push(5);
                        key.extend_from_slice(&i.to_le_bytes());
                        counted.noncanonical = !canonical_integer(text);
                    }
                    None => {
                        let v = if v == 0.0 { 0.0 } else { v }; // -0 equals 0
                        key.push(1);
                        key.extend_from_slice(&v.to_bits().to_le_bytes());
                        counted.noncanonical = !canonical_number(text);
                    }
                }
            }
            Parsed::Date(parsed) => {
                date = true;
                self.dates.add(parsed, text);
                counted.date_layout = date_layout(text);
                self.date_layouts.add(counted.date_layout, 0, text);
                text_key(text, key);
            }
            Parsed::Nothing if kind == ValueKind::Boolean => {
                let truth = matches!(text, "true" | "True" | "TRUE");
                key.extend_from_slice(&[2, truth as u8]);
                counted.noncanonical = !matches!(text, "true" | "false");
            }
            Parsed::Nothing => {
                if kind == ValueKind::String {
                    counted.marker = missing_marker(text);
                    self.markers.add(counted.marker, 0, text);
                    counted.number_shape = number_shape(text);
                    self.number_shapes.add(counted.number_shape, 0, text);
                }
                text_key(text, key)
            }
        }
        counted.as_text = key[0] == 3;
        // A number or boolean written in its canonical form is its value's
        // text: its value hash is its text hash, and while every value is
        // so, the distinct values are the distinct texts.
        if !counted.as_text && counted.noncanonical {
            if let ByValue::SameAsText = self.distinct_value {
                self.distinct_value = ByValue::Own(self.distinct_text.clone());
            }
        }
        let value_hash = match &self.distinct_value {
            ByValue::Own(d) if !counted.as_text => {
                let value_hash = if counted.noncanonical { xxh3_64(canonical_text(key).as_bytes()) } else { hash };
                d.prefetch(value_hash);
                Some(value_hash)
            }
            _ => None,
        };
        if normalize {
            // Normalised comparison does not depend on the column's type.
            key.clear();
            cell_key(Cell::Text(text), Comparison::Text, true, key);
        }
        // Empty once trimmed (normalised): missing, no part of the row hash.
        counted.row_hash = if key[..] == [0] { 0 } else { xxh3_128_with_seed(key, self.seed) };
        self.distinct_text.add_hash(hash);
        if let (ByValue::Own(d), Some(value_hash)) = (&mut self.distinct_value, value_hash) {
            d.add_hash(value_hash);
        }
        self.add_again(text, hash, counted);
        date
    }

    /// Counts a text (xxh3-64 hash `hash`) whose [`ColumnAcc::add_text`]
    /// gave `counted`: what depends on how often a value occurs. (Distinct
    /// counts and the date range do not, and are left alone.)
    #[inline]
    fn add_again(&mut self, text: &str, hash: u64, counted: &Counted) {
        self.kinds[counted.kind as usize] += 1;
        if counted.date_layout != 0 {
            self.date_layouts.rows[counted.date_layout as usize] += 1;
        }
        if counted.marker == Marker::Missing {
            self.markers.count(text, 1);
        }
        if counted.number_shape != 0 {
            self.number_shapes.rows[counted.number_shape as usize] += 1;
        }
        self.top.add_hashed(text, hash);
        self.lengths.add_known(counted.chars, counted.letters, counted.spaced);
        if let Some(v) = counted.number {
            self.numbers.add(v);
            self.moments.add(v);
            self.zeros += u64::from(v == 0.0);
            self.negatives += u64::from(v < 0.0);
        }
        self.noncanonical += u64::from(counted.noncanonical);
        self.big_integers += u64::from(counted.big_integer);
        if counted.as_text || self.text_only() {
            self.distinct_value = ByValue::Dropped;
        }
    }

    /// Adds the statistics of the same column of a later part.
    fn merge(&mut self, later: &ColumnAcc) {
        self.missing += later.missing;
        for (mine, theirs) in self.kinds.iter_mut().zip(later.kinds) {
            *mine += theirs;
        }
        self.lengths.merge(&later.lengths);
        for &(dim, n) in &later.vector_dims {
            match self.vector_dims.iter_mut().find(|(d, _)| *d == dim) {
                Some((_, m)) => *m += n,
                None => self.vector_dims.push((dim, n)),
            }
        }
        self.dates.merge(&later.dates);
        self.date_layouts.merge(&later.date_layouts);
        self.markers.merge(&later.markers);
        self.number_shapes.merge(&later.number_shapes);
        for (mine, theirs) in self.kind_examples.iter_mut().zip(&later.kind_examples) {
            for text in theirs {
                if mine.len() < KIND_EXAMPLES && !mine.contains(text) {
                    mine.push(text.clone());
                }
            }
        }
        // (Before the texts merge: a side whose values are its texts gives
        // its own texts.)
        let mine = std::mem::replace(&mut self.distinct_value, ByValue::Dropped);
        self.distinct_value = match (mine, &later.distinct_value) {
            _ if self.text_only() => ByValue::Dropped,
            (_, ByValue::Dropped) | (ByValue::Dropped, _) => ByValue::Dropped,
            (ByValue::SameAsText, ByValue::SameAsText) => ByValue::SameAsText,
            (mine, _) => {
                let mut mine = match mine {
                    ByValue::Own(mine) => mine,
                    _ => self.distinct_text.clone(),
                };
                mine.merge(later.distinct_by_value());
                ByValue::Own(mine)
            }
        };
        self.distinct_text.merge(&later.distinct_text);
        self.top.merge(&later.top);
        self.numbers.merge(&later.numbers);
        self.moments.merge(&later.moments);
        self.zeros += later.zeros;
        self.negatives += later.negatives;
        self.noncanonical += later.noncanonical;
        self.big_integers += later.big_integers;
    }

    /// The distinct values compared by value: their own sketch, else the
    /// texts' (which are the values while every value is canonical, and
    /// what a column compared as text counts).
    pub(crate) fn distinct_by_value(&self) -> &Distinct {
        self.distinct_value.own().unwrap_or(&self.distinct_text)
    }

    /// The value kinds as `profile` counts them (kinds seen only).
    pub(crate) fn kind_map(&self) -> std::collections::BTreeMap<ValueKind, u64> {
        ValueKind::count_map(&self.kinds)
    }
}

/// The distinct values of a column's numbers and booleans, compared by
/// value (`1.0` = `1`, `True` = `true`).
///
/// A value's hash is the xxh3-64 hash of its canonical text (what
/// [`canonical_number`] and [`canonical_integer`] accept; `true`, `false`):
/// for a value written so, the hash of its text, which the column hashed
/// already. So while every value is written canonically the distinct values
/// are the distinct texts, and no second sketch is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ByValue {
    /// Every value so far is a number or boolean in its canonical form:
    /// the distinct values are [`ColumnAcc::distinct_text`].
    SameAsText,
    /// Its own sketch, from the first value not written canonically on.
    Own(Distinct),
    /// Dropped: the column holds a value that makes it compare as text
    /// whatever follows (a string, date or vector, or both numbers and
    /// booleans).
    Dropped,
}

impl ByValue {
    /// The sketch of the distinct values, when the column keeps one apart
    /// from its texts'.
    pub(crate) fn own(&self) -> Option<&Distinct> {
        match self {
            ByValue::Own(d) => Some(d),
            _ => None,
        }
    }
}

/// The canonical text of the number or boolean whose comparison key is
/// `key` (written into by [`ColumnAcc::add_text`]): the text whose hash is
/// its value's hash ([`ByValue`]). Integers past 2^53 as 64-bit integers,
/// other numbers in f64's shortest form (for the texts [`canonical_number`]
/// accepts, the text itself; the key has `-0` as `0`), booleans as `true`
/// or `false`.
fn canonical_text(key: &[u8]) -> String {
    match key {
        [5, bytes @ ..] => i64::from_le_bytes(bytes.try_into().expect("an i64 key")).to_string(),
        [1, bytes @ ..] => f64::from_bits(u64::from_le_bytes(bytes.try_into().expect("an f64 key"))).to_string(),
        [2, truth] => (*truth == 1).to_string(),
        _ => unreachable!("not the key of a number or boolean"),
    }
}

/// The comparison key of a text compared as text (`profile::normalized_cell`).
#[inline]
fn text_key(text: &str, key: &mut Vec<u8>) {
    key.push(3);
    key.extend_from_slice(&(text.len() as u64).to_le_bytes());
    key.extend_from_slice(text.as_bytes());
}

/// What counting a text value adds to its column, kept so that the same
/// text counted again skips parsing, hashing its comparison key and the
/// personal-data scan: every field is a function of the column and the
/// text.
#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    /// [`ValueKind::index`].
    kind: u8,
    chars: u64,
    letters: u64,
    spaced: bool,
    number: Option<f64>,
    noncanonical: bool,
    big_integer: bool,
    /// Compared as text: the column's distinct count by value ends.
    as_text: bool,
    /// Its part of the row hash.
    row_hash: u128,
    /// Nothing personal was found in it (only such texts are remembered).
    pii: CleanText,
    /// Its [`date_layout`] (0: not a date).
    date_layout: u8,
    /// Its [`missing_marker`].
    marker: Marker,
    /// Its [`number_shape`] (0: none).
    number_shape: u8,
}

/// Elements of a JSON numeric array's text, as
/// `profile::value::parse_vector(text).map(|v| v.len())`, without allocating.
fn vector_len(text: &str) -> Option<usize> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(0);
    }
    let mut n = 0;
    for part in inner.split(',') {
        part.trim().parse::<f32>().ok()?;
        n += 1;
    }
    Some(n)
}

/// Whether a number is written in the one form no other text of the same
/// f64 value has: optional `-`, no leading zeros, a fraction without
/// trailing zeros, no exponent, no spaces, at most 15 digits (so distinct
/// such texts are distinct f64 values), and not a negative zero.
fn canonical_number(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let negative = digits.len() != b.len();
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
        None => (digits, None),
    };
    let int_ok = !int.is_empty() && int.iter().all(u8::is_ascii_digit) && (int == b"0" || int[0] != b'0');
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit) && f.last() != Some(&b'0'));
    let count = int.len() + frac.map_or(0, <[u8]>::len);
    let zero = int == b"0" && frac.is_none();
    int_ok && frac_ok && count <= 15 && !(negative && zero)
}

/// Whether an integer is written as `i64::to_string` writes it.
fn canonical_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'))
}

/// Line numbers of the rows, stored where a record does not start on the
/// line after the previous record's start (blank lines, multi-line
/// records, a part's first row): `(row, line)` anchors, in row order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineIndex {
    anchors: Vec<(u64, u64)>,
    rows: u64,
    last_line: u64,
}

impl LineIndex {
    /// Records the start line of the next row.
    #[inline]
    pub fn push(&mut self, line: u64) {
        if self.rows == 0 || line != self.last_line + 1 {
            self.anchors.push((self.rows, line));
        }
        self.rows += 1;
        self.last_line = line;
    }

    /// Rows recorded.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Anchors stored (a measure of the memory used: 16 bytes each).
    pub fn anchors(&self) -> usize {
        self.anchors.len()
    }

    /// The line where row `row` starts (`row` < [`LineIndex::rows`]).
    pub fn line(&self, row: u64) -> u64 {
        let i = self.anchors.partition_point(|&(r, _)| r <= row);
        let (anchor_row, anchor_line) = self.anchors[i.saturating_sub(1)];
        anchor_line + (row - anchor_row)
    }

    /// Every row's line, in row order, without a search per row.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.iter_from(0)
    }

    /// The lines of rows `start..`, in row order.
    pub fn iter_from(&self, start: u64) -> impl Iterator<Item = u64> + '_ {
        let mut next = self.anchors.partition_point(|&(r, _)| r <= start);
        let mut line = if start < self.rows { self.line(start) } else { 0 };
        let first = start;
        (start..self.rows).map(move |row| {
            if row == first {
                return line;
            }
            if next < self.anchors.len() && self.anchors[next].0 == row {
                line = self.anchors[next].1;
                next += 1;
            } else {
                line += 1;
            }
            line
        })
    }

    /// Adds `lines` to every line.
    pub fn shift(&mut self, lines: u64) {
        for (_, line) in &mut self.anchors {
            *line += lines;
        }
        if self.rows > 0 {
            self.last_line += lines;
        }
    }

    /// Appends the rows of a later part (its lines in the same frame).
    pub fn append(&mut self, later: &LineIndex) {
        for &(row, line) in &later.anchors {
            let row = row + self.rows;
            let follows = self.rows > 0 && row == self.rows && line == self.last_line + 1;
            if !follows {
                self.anchors.push((row, line));
            }
        }
        if later.rows > 0 {
            self.last_line = later.last_line;
        }
        self.rows += later.rows;
    }
}

/// Marks a vector cell in [`Sample::cells`]' column word.
const VECTOR_CELL: u32 = 1 << 31;

/// The bottom-k sample: rows kept whole (non-missing cells only), in
/// about 36 bytes a row and 8 a cell beyond the text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Sample {
    pub(crate) keys: Vec<u64>,
    pub(crate) rows: Vec<u64>,
    pub(crate) lines: Vec<u64>,
    /// End (in `cells`) of each sampled row's cells.
    ends: Vec<u32>,
    /// End (in `arena`) of each sampled row's text.
    text_ends: Vec<u64>,
    /// Each stored cell: its column ([`VECTOR_CELL`] set for a vector) and
    /// its text's length.
    cells: Vec<(u32, u32)>,
    arena: String,
    /// Keys above this are never kept: the largest key of the k kept at the
    /// last compaction (`u64::MAX` before one).
    threshold: u64,
}

impl Sample {
    fn new() -> Sample {
        Sample { threshold: u64::MAX, ..Sample::default() }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Where sampled row `i`'s cells are in `cells`.
    fn cell_range(&self, i: usize) -> std::ops::Range<usize> {
        (if i == 0 { 0 } else { self.ends[i - 1] as usize })..self.ends[i] as usize
    }

    /// Where sampled row `i`'s text is in `arena`.
    fn text_range(&self, i: usize) -> std::ops::Range<usize> {
        (if i == 0 { 0 } else { self.text_ends[i - 1] as usize })..self.text_ends[i] as usize
    }

    /// The cells of sampled row `i`: (column, vector?, text).
    pub(crate) fn cells(&self, i: usize) -> impl Iterator<Item = (usize, bool, &str)> + '_ {
        let mut text_start = self.text_range(i).start;
        self.cells[self.cell_range(i)].iter().map(move |&(column, len)| {
            let text = &self.arena[text_start..text_start + len as usize];
            text_start += len as usize;
            ((column & !VECTOR_CELL) as usize, column & VECTOR_CELL != 0, text)
        })
    }

    fn push<'a>(&mut self, key: u64, row: u64, line: u64, cells: impl Iterator<Item = (usize, bool, &'a str)>) {
        for (column, vector, text) in cells {
            self.arena.push_str(text);
            let column = column as u32 | if vector { VECTOR_CELL } else { 0 };
            self.cells.push((column, text.len() as u32));
        }
        self.keys.push(key);
        self.rows.push(row);
        self.lines.push(line);
        self.ends.push(self.cells.len() as u32);
        self.text_ends.push(self.arena.len() as u64);
    }

    /// The `k` rows with the smallest (key, row) of this sample and
    /// `later`'s (the rows after these: its row ids shifted by `offset`,
    /// its columns numbered by `index`), in row order: what compacting both,
    /// appending `later`'s rows and compacting again keeps, with each kept
    /// row copied once.
    fn merged(&self, later: &Sample, k: usize, offset: u64, index: &[usize]) -> Sample {
        // (key, row, from later, position); `later`'s rows come after.
        let mut order: Vec<(u64, u64, bool, usize)> = (0..self.len())
            .map(|i| (self.keys[i], self.rows[i], false, i))
            .chain((0..later.len()).map(|i| (later.keys[i], later.rows[i] + offset, true, i)))
            .collect();
        let compacted = order.len() > k;
        if compacted {
            order.select_nth_unstable_by_key(k - 1, |&(key, row, _, _)| (key, row));
            order.truncate(k);
        }
        order.sort_unstable_by_key(|&(_, row, _, _)| row);
        let mut kept = Sample::new();
        for &(key, row, from_later, i) in &order {
            if from_later {
                let cells = later.cells(i).map(|(c, v, t)| (index[c], v, t));
                kept.push(key, row, later.lines[i], cells);
            } else {
                kept.push(key, row, self.lines[i], self.cells(i));
            }
        }
        // The threshold the two compactions would leave: the largest kept
        // key where one of them cut, else this sample's.
        let cut = self.len().min(k) + later.len().min(k) > k || self.len() > k;
        kept.threshold = match order.iter().map(|o| o.0).max() {
            Some(max) if cut => max,
            _ => self.threshold,
        };
        kept
    }

    /// Keeps the `k` rows with the smallest (key, row), in row order.
    fn compact(&mut self, k: usize) {
        if self.len() <= k {
            return;
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.select_nth_unstable_by_key(k - 1, |&i| (self.keys[i], self.rows[i]));
        order.truncate(k);
        // Rows are held in row order: keeping them in place, in order, moves
        // each one down (never up), with no new buffers to grow and fault in.
        order.sort_unstable();
        // A sample decoded from a part's bytes is checked before its texts
        // move: rows in order, every range in bounds and on character
        // boundaries (else a panic, as slicing would, never a broken string).
        let ranges_ok = self.ends.len() == self.len()
            && self.text_ends.len() == self.len()
            && order.iter().all(|&i| {
                let (cells, text) = (self.cell_range(i), self.text_range(i));
                cells.start <= cells.end
                    && cells.end <= self.cells.len()
                    && text.start <= text.end
                    && self.arena.is_char_boundary(text.start)
                    && self.arena.is_char_boundary(text.end)
            });
        assert!(ranges_ok, "a sample's row ranges are broken");
        assert!(order.windows(2).all(|w| self.rows[w[0]] < self.rows[w[1]]), "sample rows out of order");
        let (mut cells_to, mut text_to) = (0usize, 0usize);
        for (to, &i) in order.iter().enumerate() {
            let (cells, text) = (self.cell_range(i), self.text_range(i));
            self.cells.copy_within(cells.clone(), cells_to);
            // SAFETY: whole rows' texts move to the front, in order; once
            // truncated below, the arena is a concatenation of the kept rows'
            // texts, each valid UTF-8, and nothing reads it in between.
            unsafe { self.arena.as_mut_vec() }.copy_within(text.clone(), text_to);
            cells_to += cells.len();
            text_to += text.len();
            self.keys[to] = self.keys[i];
            self.rows[to] = self.rows[i];
            self.lines[to] = self.lines[i];
            self.ends[to] = cells_to as u32;
            self.text_ends[to] = text_to as u64;
        }
        for v in [&mut self.keys, &mut self.rows, &mut self.lines, &mut self.text_ends] {
            v.truncate(k);
        }
        self.ends.truncate(k);
        self.cells.truncate(cells_to);
        // SAFETY: as above; the kept texts end at `text_to`.
        unsafe { self.arena.as_mut_vec() }.truncate(text_to);
        self.threshold = self.keys.iter().copied().max().unwrap_or(u64::MAX);
    }
}

/// The cells of the row being read, for the sample.
#[derive(Debug, Clone, Default)]
struct RowBuffer {
    cells: Vec<(u32, bool, u32, u32)>,
    arena: String,
}

/// The mergeable whole-file state of one part of a file (or of several
/// merged): see the module documentation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accumulator {
    normalize: bool,
    sample_rows: usize,
    base_offset: u64,
    pub(crate) columns: Vec<ColumnAcc>,
    rows: u64,
    /// Parts merged into this one (1 for a part).
    pub(crate) parts: u64,
    /// Each row's 128-bit hash: the wrapping sum over its non-missing cells
    /// of xxh3-128 (seeded by the column name) of the cell's comparison
    /// key, so that missing cells, column order and columns a part never
    /// saw do not change it.
    pub(crate) hashes: RowHashes,
    pub(crate) pii: PiiStream,
    pub(crate) lines: LineIndex,
    pub(crate) sample: Sample,
    /// The row being read: its hash so far, its cells, how many columns set.
    #[serde(skip)]
    row_hash: u128,
    #[serde(skip)]
    row_set: usize,
    #[serde(skip)]
    row: RowBuffer,
    /// Whether the row being read may enter the sample, so that its cells
    /// are kept ([`Sink::start_row`] settles it; true when no reader said).
    #[serde(skip, default = "yes")]
    keep_row: bool,
    /// The column [`Sink::column_for_key`] tries first.
    #[serde(skip)]
    key_guess: usize,
    #[serde(skip)]
    key: Vec<u8>,
    #[serde(skip)]
    by_name: HashMap<String, usize>,
}

impl Accumulator {
    /// An empty accumulator for a reader whose first byte is at
    /// `base_offset` in the file; `head_columns` are the CSV header's
    /// names (made unique as [`crate::ingest::Table::add_column`] does),
    /// empty for JSONL and headerless CSV (the reader adds them).
    pub fn new(options: &Options, head_columns: &[String], base_offset: u64) -> Accumulator {
        let mut acc = Accumulator {
            normalize: options.normalize,
            sample_rows: options.sample_rows.max(1),
            base_offset,
            columns: Vec::new(),
            rows: 0,
            parts: 1,
            hashes: RowHashes::default(),
            pii: PiiStream::new(),
            lines: LineIndex::default(),
            sample: Sample::new(),
            row_hash: 0,
            row_set: 0,
            row: RowBuffer::default(),
            keep_row: true,
            key_guess: 0,
            key: Vec::new(),
            by_name: HashMap::new(),
        };
        for name in head_columns {
            acc.add_column(name);
        }
        acc
    }

    /// Data rows read.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Keeps no row whose sample key is at or above the bound that the
    /// file's size and its head's records set for this sample size
    /// (`plan::sample_bound`).
    pub fn bound_sample(&mut self, head: &super::Head, file_bytes: u64) {
        let bound = super::sample_bound(head, file_bytes, self.sample_rows);
        self.sample.threshold = self.sample.threshold.min(bound);
    }

    /// The rows the sample is to hold (`Options::sample_rows`, at least 1).
    pub(crate) fn sample_rows(&self) -> usize {
        self.sample_rows
    }

    /// Cuts the sample to `sample_rows` rows (it may hold up to 1.5 times that
    /// while reading): the bottom-k of every row read.
    pub(crate) fn finish_sample(&mut self) {
        self.sample.compact(self.sample_rows);
    }

    /// Whether values are normalised before rows are compared.
    pub(crate) fn normalize(&self) -> bool {
        self.normalize
    }

    /// Rows held in the sample now (at most 1.5 times `sample_rows` while
    /// reading, `sample_rows` after a merge).
    pub fn sampled_rows(&self) -> usize {
        self.sample.len()
    }

    /// Adds `lines_before` to every stored line number: the lines of the
    /// file before this part's first byte. Call it before merging.
    pub fn rebase_lines(&mut self, lines_before: u64) {
        self.lines.shift(lines_before);
        for line in &mut self.sample.lines {
            *line += lines_before;
        }
    }

    fn index_names(&mut self) {
        if self.by_name.len() != self.columns.len() {
            self.by_name = self.columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        }
    }

    fn push_column(&mut self, name: &str) -> usize {
        let index = self.columns.len();
        let mut column = ColumnAcc::new(name);
        // Rows read before the column appeared are missing in it.
        column.missing = self.rows;
        self.columns.push(column);
        self.pii.add_column(name);
        self.by_name.insert(name.to_string(), index);
        index
    }

    /// Appends the state of the rows right after this one's (`later`'s
    /// lines already rebased into the same frame): columns are matched by
    /// name, `later`'s new columns come last in its order, its row ids
    /// follow this one's.
    pub fn merge(&mut self, later: Accumulator) {
        self.index_names();
        let offset = self.rows;
        let index: Vec<usize> = later
            .columns
            .iter()
            .map(|c| match self.by_name.get(&c.name) {
                Some(&i) => i,
                None => {
                    let index = self.columns.len();
                    let mut column = ColumnAcc::new(&c.name);
                    column.missing = offset;
                    self.columns.push(column);
                    self.by_name.insert(c.name.clone(), index);
                    index
                }
            })
            .collect();
        let mut seen = vec![false; self.columns.len()];
        for (column, &i) in later.columns.iter().zip(&index) {
            self.columns[i].merge(column);
            seen[i] = true;
        }
        for (column, seen) in self.columns.iter_mut().zip(seen) {
            if !seen {
                column.missing += later.rows;
            }
        }
        self.hashes.append(later.hashes);
        self.pii.merge(later.pii);
        self.lines.append(&later.lines);
        self.sample = self.sample.merged(&later.sample, self.sample_rows, offset, &index);
        self.rows += later.rows;
        self.parts += later.parts;
        self.normalize |= later.normalize;
    }
}

fn yes() -> bool {
    true
}

impl Accumulator {
    /// The sample key of the row whose first byte is at `offset`: the same
    /// row gets the same key however the file was cut into parts.
    #[inline]
    fn sample_key(&self, offset: u64) -> u64 {
        xxh3_64_with_seed(&(self.base_offset + offset).to_le_bytes(), SAMPLE_SEED)
    }
}

impl Sink for Accumulator {
    fn add_column(&mut self, name: &str) -> usize {
        self.index_names();
        let mut unique = name.to_string();
        let mut suffix = 1;
        while self.by_name.contains_key(&unique) {
            unique = format!("{name}.{suffix}");
            suffix += 1;
        }
        self.push_column(&unique)
    }

    fn column_for_key(&mut self, name: &str) -> usize {
        // JSON lines mostly repeat the previous line's keys in order: try
        // the column after the last key's before hashing the name.
        let guess = self.key_guess;
        if guess < self.columns.len() && self.columns[guess].name == name {
            self.key_guess = guess + 1;
            return guess;
        }
        self.index_names();
        let column = match self.by_name.get(name) {
            Some(&i) => i,
            None => self.add_column(name),
        };
        self.key_guess = column + 1;
        column
    }

    #[inline]
    fn set(&mut self, column: usize, kind: CellKind, text: &str) -> bool {
        let row = self.rows + 1;
        let col = &mut self.columns[column];
        if col.set_row == row {
            return false;
        }
        col.set_row = row;
        self.row_set += 1;
        let hash = match kind {
            CellKind::Text => {
                let text_hash = xxh3_64(text.as_bytes());
                match col.memo.find(text_hash, text) {
                    Some(counted) => {
                        col.add_again(text, text_hash, &counted);
                        self.pii.count_clean(column, counted.pii);
                        counted.row_hash
                    }
                    None => {
                        // One pass over the bytes for the lengths and the PII prefilter.
                        let counts = ByteCounts::of(text.as_bytes());
                        let mut counted = Counted::default();
                        let date = col.add_text(text, text_hash, &counts, self.normalize, &mut self.key, &mut counted);
                        if let Some(clean) = self.pii.scan_counted(column, Cell::Text(text), &counts, Some(date)) {
                            counted.pii = clean;
                            col.memo.remember(text_hash, text, counted);
                        }
                        counted.row_hash
                    }
                }
            }
            CellKind::Missing => {
                col.missing += 1;
                0
            }
            CellKind::Vector => {
                self.pii.scan(column, Cell::Vector(text));
                col.add_vector(text, self.normalize, &mut self.key)
            }
        };
        self.row_hash = self.row_hash.wrapping_add(hash);
        if kind != CellKind::Missing && self.keep_row {
            let start = self.row.arena.len() as u32;
            self.row.arena.push_str(text);
            self.row.cells.push((column as u32, kind == CellKind::Vector, start, self.row.arena.len() as u32));
        }
        true
    }

    fn start_row(&mut self, offset: u64) {
        self.keep_row = self.sample_key(offset) < self.sample.threshold;
    }

    fn end_row(&mut self, line: u64, offset: u64) {
        let row = self.rows + 1;
        if self.row_set < self.columns.len() {
            for col in &mut self.columns {
                if col.set_row != row {
                    col.missing += 1;
                }
            }
        }
        self.hashes.push(self.row_hash);
        self.pii.end_row();
        self.lines.push(line);
        let key = self.sample_key(offset);
        if key < self.sample.threshold {
            debug_assert!(self.keep_row, "start_row was given another offset");
            let arena = &self.row.arena;
            let cells = self.row.cells.iter().map(|&(c, v, s, e)| (c as usize, v, &arena[s as usize..e as usize]));
            self.sample.push(key, self.rows, line, cells);
            // Compacting at 1.5k keeps a part worker's sample small and
            // still costs O(1) a row: each compaction drops k/2 rows.
            if self.sample.len() >= self.sample_rows + self.sample_rows.div_ceil(2) {
                self.sample.compact(self.sample_rows);
            }
        }
        self.row.cells.clear();
        self.row.arena.clear();
        self.keep_row = true;
        self.key_guess = 0;
        self.row_hash = 0;
        self.row_set = 0;
        self.rows += 1;
    }
}

/// Rows per segment of [`RowHashes`] (1 MiB).
const HASH_SEGMENT_ROWS: usize = 1 << 16;

/// Each row's 128-bit hash, in row order, in segments of at most
/// [`HASH_SEGMENT_ROWS`]: growing never copies (nor holds twice what a
/// doubling vector would), and a merge appends a part's segments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowHashes {
    segments: Vec<Segment>,
}

/// One part's row hashes (16 bytes a row when serialized).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Segment(#[serde(with = "u128_bytes")] Vec<u128>);

impl RowHashes {
    /// Appends the next row's hash.
    #[inline]
    pub fn push(&mut self, hash: u128) {
        match self.segments.last_mut() {
            Some(last) if last.0.len() < HASH_SEGMENT_ROWS => last.0.push(hash),
            _ => {
                let mut segment = Vec::with_capacity(HASH_SEGMENT_ROWS);
                segment.push(hash);
                self.segments.push(Segment(segment));
            }
        }
    }

    /// Appends the hashes of the rows after these.
    pub fn append(&mut self, later: RowHashes) {
        self.segments.extend(later.segments.into_iter().filter(|s| !s.0.is_empty()));
    }

    /// Rows hashed.
    pub fn len(&self) -> usize {
        self.segments.iter().map(|s| s.0.len()).sum()
    }

    /// Whether no row was hashed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hashes in row order.
    pub fn iter(&self) -> impl Iterator<Item = u128> + '_ {
        self.segments.iter().flat_map(|s| s.0.iter().copied())
    }
}

/// `Vec<u128>` as raw little-endian bytes (16 a row) through
/// `serialize_bytes`: a binary serde format stores them as they are.
mod u128_bytes {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[u128], s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(values.len() * 16);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u128>, D::Error> {
        let bytes: serde_bytes_buf::ByteBuf = Deserialize::deserialize(d)?;
        let bytes = bytes.0;
        if !bytes.len().is_multiple_of(16) {
            return Err(D::Error::custom(format!("{} bytes of row hashes, not a multiple of 16", bytes.len())));
        }
        Ok(bytes.chunks_exact(16).map(|c| u128::from_le_bytes(c.try_into().unwrap_or([0; 16]))).collect())
    }

    /// A byte buffer that deserializes from bytes or from a sequence of
    /// numbers (JSON).
    mod serde_bytes_buf {
        use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

        pub struct ByteBuf(pub Vec<u8>);

        impl<'de> Deserialize<'de> for ByteBuf {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteBuf, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = ByteBuf;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v.to_vec()))
                    }
                    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                        Ok(ByteBuf(v))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                        while let Some(b) = seq.next_element::<u8>()? {
                            out.push(b);
                        }
                        Ok(ByteBuf(out))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_merge_like_one_stream() {
        let values: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1013) as f64 * 0.37 - 50.0).collect();
        let mut whole = Moments::default();
        values.iter().for_each(|&v| whole.add(v));
        let mut a = Moments::default();
        let mut b = Moments::default();
        values[..313].iter().for_each(|&v| a.add(v));
        values[313..].iter().for_each(|&v| b.add(v));
        a.merge(&b);
        assert_eq!(a.n, whole.n);
        assert!((a.mean - whole.mean).abs() < 1e-9);
        assert!((a.m2 - whole.m2).abs() / whole.m2 < 1e-12);
        assert!((a.m3 - whole.m3).abs() / whole.m3.abs().max(1.0) < 1e-9);
        // Against the two-pass definition.
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let m2: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        let m3: f64 = values.iter().map(|v| (v - mean).powi(3)).sum();
        assert!((whole.m2 - m2).abs() / m2 < 1e-12);
        assert!((whole.m3 - m3).abs() / m3.abs().max(1.0) < 1e-9);
    }

    /// A text counted again from the memo changes the state exactly as
    /// counting it from scratch: kinds, lengths, numbers, distinct counts,
    /// row hashes, the personal-data counts (names, cards, e-mail
    /// addresses, which are not remembered), with and without
    /// normalisation, across the memo's rests.
    #[test]
    fn the_memo_of_repeated_values_changes_nothing() {
        let names = ["Alice Smith", "Bob Jones", "a b", "Zoë Müller"];
        let mails = ["", "x@example.com", "none", "y@example.org"];
        let amounts = ["1", "1.0", "-0", "0", "+2", "9007199254740993", "2.50", "1e3", "3.25"];
        let flags = ["true", "True", "false", "FALSE", "yes"];
        let dates = ["2024-01-02", "2024-01-02 10:00:00", "03/04/2020", "2023-12-31"];
        let notes = [" spaced  text ", "SPACED TEXT", "[1]", "4111 1111 1111 1111", &"long text ".repeat(8)];
        let mut csv = String::from("name,mail,amount,flag,when,note,unique\n");
        let mut next = crate::xorshift64(7);
        for i in 0..6000 {
            let mut pick = |list: &[&str]| list[(next() % list.len() as u64) as usize].to_string();
            let row = [pick(&names), pick(&mails), pick(&amounts), pick(&flags), pick(&dates), pick(&notes)];
            // A column of distinct values rests its memo.
            csv.push_str(&format!("{},u{i}\n", row.join(",")));
        }
        for normalize in [false, true] {
            let options = Options { normalize, sample_rows: 50, ..Options::default() };
            let with = fed_with(&csv, &options, true);
            let without = fed_with(&csv, &options, false);
            assert!(with.columns[0].memo.slots.iter().any(|s| s.1 == "Alice Smith"), "the memo was used");
            assert!(with.columns[6].memo.resting > 0, "the column of distinct values rests its memo");
            assert!(without.columns.iter().all(|c| c.memo.slots.is_empty()));
            let (a, b) = (postcard::to_allocvec(&with).unwrap(), postcard::to_allocvec(&without).unwrap());
            assert!(a == b, "normalize {normalize}: the states differ");
            assert!(with.pii.rows() == 6000 && with.hashes.len() == 6000);
        }
    }

    /// Merging two samples keeps what compacting both, appending the later
    /// one's rows (ids shifted, columns renumbered) and compacting again
    /// keeps, threshold included: empty sides, sides above k, ties of keys.
    #[test]
    fn merged_samples_keep_what_two_compactions_keep() {
        let mut next = crate::xorshift64(11);
        let mut sample_of = |rows: usize, first_row: u64| {
            let mut sample = Sample::new();
            for r in 0..rows {
                // Few distinct keys, so that ties are broken by row.
                let key = next() % 40;
                let cells: Vec<(usize, bool, String)> =
                    (0..(next() % 3) as usize).map(|c| (c, c == 1, format!("r{r}c{c}"))).collect();
                sample.push(key, first_row + r as u64, 2 * r as u64 + 1, cells.iter().map(|(c, v, t)| (*c, *v, t.as_str())));
            }
            sample
        };
        let index = [2usize, 0, 1];
        for (mine, theirs, k) in [(0, 0, 5), (0, 9, 5), (9, 0, 5), (3, 4, 5), (7, 8, 5), (4, 1, 5), (5, 5, 5), (12, 30, 10)] {
            let (a, b) = (sample_of(mine, 0), sample_of(theirs, 0));
            let offset = 100;
            let merged = a.merged(&b, k, offset, &index);
            let (mut old, mut later) = (a.clone(), b.clone());
            later.compact(k);
            old.compact(k);
            for i in 0..later.len() {
                let cells = later.cells(i).map(|(c, v, t)| (index[c], v, t));
                old.push(later.keys[i], later.rows[i] + offset, later.lines[i], cells);
            }
            old.compact(k);
            let bytes = |s: &Sample| postcard::to_allocvec(s).unwrap();
            assert!(bytes(&merged) == bytes(&old), "{mine} + {theirs} rows, k {k}: {merged:?} != {old:?}");
        }
    }

    /// Compacting in place keeps what pushing the bottom k into a new
    /// sample keeps, and reading on after it works.
    #[test]
    fn compacting_in_place_keeps_the_bottom_k_in_row_order() {
        let mut next = crate::xorshift64(5);
        for (rows, k) in [(1usize, 1usize), (10, 3), (40, 40), (300, 17), (300, 1)] {
            let mut sample = Sample::new();
            let mut all = Vec::new();
            for r in 0..rows {
                let key = next() % 50;
                let cells: Vec<(usize, bool, String)> =
                    (0..(next() % 4) as usize).map(|c| (c, c == 2, format!("é{r}-{c}").repeat(c + 1))).collect();
                sample.push(key, r as u64, r as u64 + 2, cells.iter().map(|(c, v, t)| (*c, *v, t.as_str())));
                all.push((key, r, cells));
            }
            sample.compact(k);
            let mut expected: Vec<_> = all.iter().collect();
            expected.sort_by_key(|(key, r, _)| (*key, *r));
            expected.truncate(k);
            expected.sort_by_key(|(_, r, _)| *r);
            let mut rebuilt = Sample::new();
            for (key, r, cells) in &expected {
                rebuilt.push(*key, *r as u64, *r as u64 + 2, cells.iter().map(|(c, v, t)| (*c, *v, t.as_str())));
            }
            rebuilt.threshold = expected.iter().map(|e| e.0).max().unwrap_or(u64::MAX);
            if rows <= k {
                rebuilt.threshold = u64::MAX;
            }
            let bytes = |s: &Sample| postcard::to_allocvec(s).unwrap();
            assert!(bytes(&sample) == bytes(&rebuilt), "{rows} rows, k {k}");
            // Reading goes on after a compaction.
            sample.push(0, rows as u64, 0, [(1, false, "after")].into_iter());
            assert_eq!(sample.cells(sample.len() - 1).collect::<Vec<_>>(), [(1, false, "after")]);
        }
    }

    /// A sample decoded from bytes whose text ranges cut a character is
    /// refused by a panic, never compacted into a broken string.
    #[test]
    #[should_panic(expected = "row ranges are broken")]
    fn compacting_a_broken_sample_panics() {
        let mut sample = Sample::new();
        for r in 0..4u64 {
            sample.push(10 - r, r, r, [(0, false, "éé")].into_iter());
        }
        sample.text_ends[2] = 5; // inside the third row's first "é"
        sample.compact(2);
    }

    #[test]
    fn canonical_forms() {
        for yes in ["0", "1", "-1", "12.5", "0.25", "-0.5", "123456789012345"] {
            assert!(canonical_number(yes), "{yes}");
        }
        for no in ["1.0", "+1", " 1", "01", "1e3", "-0", "0.50", ".5", "1.", "1234567890123456"] {
            assert!(!canonical_number(no), "{no}");
        }
        assert!(canonical_integer("9007199254740993") && !canonical_integer("+9007199254740993"));
    }

    /// A value's hash is its canonical text's: for a canonical text the
    /// text itself, for another form of the same value the same text.
    #[test]
    fn canonical_text_of_a_canonical_value_is_the_text() {
        let key_of = |text: &str| {
            let mut col = ColumnAcc::new("c");
            let (mut key, mut counted) = (Vec::new(), Counted::default());
            col.add_text(text, xxh3_64(text.as_bytes()), &ByteCounts::of(text.as_bytes()), false, &mut key, &mut counted);
            (key, counted.noncanonical)
        };
        let mut next = crate::xorshift64(11);
        let mut texts: Vec<String> = ["0", "1", "-1", "12.5", "0.25", "-0.5", "123456789012345", "0.000001", "true", "false"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        for _ in 0..20_000 {
            let r = next();
            let digits = 1 + (r % 15) as u32;
            let int = (next() % 10u64.pow(digits)) as i64 * if r & 1 == 0 { 1 } else { -1 };
            let places = (r >> 8) % 6;
            let v = int as f64 / 10f64.powi(places as i32);
            texts.push(format!("{v}"));
            texts.push(format!("{:.1$}", v, places as usize));
        }
        texts.extend(["9007199254740993".into(), "9007199254740995".into(), "-9007199254740995".into()]);
        for text in &texts {
            let (key, noncanonical) = key_of(text);
            if !noncanonical {
                assert_eq!(canonical_text(&key), *text);
            } else {
                // Another form: its canonical text has the same key, and is
                // its own canonical text (past 15 digits it is not one that
                // canonical_number accepts, so it has no text of its own).
                let canonical = canonical_text(&key);
                let (same, _) = key_of(&canonical);
                assert_eq!(same, key, "{text} -> {canonical}");
                assert_eq!(canonical_text(&same), canonical);
            }
        }
        for (other, canonical) in [("1.0", "1"), ("+1", "1"), ("-0", "0"), ("1e3", "1000"), ("2.50", "2.5"), ("True", "true"), ("FALSE", "false"), ("+9007199254740995", "9007199254740995"), ("+9007199254740993", "9007199254740993"), ("9007199254740992.0", "9007199254740992")] {
            assert_eq!(canonical_text(&key_of(other).0), canonical, "{other}");
        }
    }

    /// Distinct values by value: no sketch of their own while every value is
    /// canonical; their own from the first other form on; merged parts
    /// count as the whole does, whichever side has its own.
    #[test]
    fn distinct_values_follow_the_texts_until_a_non_canonical_one() {
        let options = Options { sample_rows: 50, ..Options::default() };
        let csv = |values: &[&str]| format!("n\n{}\n", values.join("\n"));
        let canonical = ["1", "2", "2", "2.5", "-3"];
        let other = ["1.0", "+2", "2.50", "7", "7.0"];
        let a = fed(&csv(&canonical), &options);
        assert!(matches!(a.columns[0].distinct_value, ByValue::SameAsText));
        let b = fed(&csv(&other), &options);
        let by_value = |acc: &Accumulator| acc.columns[0].distinct_value.own().map(|d| d.estimate());
        assert_eq!(by_value(&b), Some(4));
        let both: Vec<&str> = canonical.iter().chain(&other).copied().collect();
        assert_eq!(by_value(&fed(&csv(&both), &options)), Some(5));
        for (first, second) in [(&canonical[..], &other[..]), (&other[..], &canonical[..])] {
            let mut merged = fed(&csv(first), &options);
            merged.merge(fed(&csv(second), &options));
            assert_eq!(by_value(&merged), Some(5));
            assert_eq!(merged.columns[0].distinct_text.estimate(), 9);
        }
        let mut merged = fed(&csv(&canonical), &options);
        merged.merge(fed(&csv(&["4", "1"]), &options));
        assert!(matches!(merged.columns[0].distinct_value, ByValue::SameAsText));
        let mut texts = fed(&csv(&other), &options);
        texts.merge(fed(&csv(&["x"]), &options));
        assert!(matches!(texts.columns[0].distinct_value, ByValue::Dropped));
    }

    #[test]
    fn vector_lengths_match_parse_vector() {
        for text in ["[1,2.5,-3e0]", "[]", "[ ]", "[1,\"a\"]", "1,2", "[1,,2]", " [0.5] "] {
            let expected = crate::profile::value::parse_vector(text).map(|v| v.len());
            assert_eq!(vector_len(text), expected, "{text}");
        }
    }

    #[test]
    fn line_index_keeps_anchors_only_where_lines_jump() {
        let lines = [2u64, 3, 4, 7, 8, 10, 11, 12];
        let mut index = LineIndex::default();
        lines.iter().for_each(|&l| index.push(l));
        assert_eq!(index.anchors(), 3);
        assert_eq!(index.iter().collect::<Vec<_>>(), lines);
        assert_eq!((0..8).map(|r| index.line(r)).collect::<Vec<_>>(), lines);
        // Split in two parts with part-relative lines, rebased, appended.
        let mut a = LineIndex::default();
        [2u64, 3, 4].iter().for_each(|&l| a.push(l));
        let mut b = LineIndex::default();
        [1u64, 2, 4, 5, 6].iter().for_each(|&l| b.push(l));
        b.shift(6);
        a.append(&b);
        assert_eq!(a, index);
    }

    fn fed(csv: &str, options: &Options) -> Accumulator {
        fed_with(csv, options, true)
    }

    /// [`fed`], with each column's memo of repeated values used or not.
    fn fed_with(csv: &str, options: &Options, memo: bool) -> Accumulator {
        let mut acc = Accumulator::new(options, &[], 0);
        let mut memo_set = false;
        let mut offset = 0u64;
        for (line, record) in csv.lines().enumerate() {
            if line == 0 {
                record.split(',').for_each(|name| {
                    acc.add_column(name);
                });
            } else {
                if !memo && !memo_set {
                    acc.columns.iter_mut().for_each(|c| c.memo.resting = u32::MAX);
                    memo_set = true;
                }
                for (column, field) in record.split(',').enumerate() {
                    let kind = if field.is_empty() { CellKind::Missing } else { CellKind::Text };
                    acc.set(column, kind, field);
                }
                acc.end_row(line as u64 + 1, offset);
            }
            offset += record.len() as u64 + 1;
        }
        acc
    }

    #[test]
    fn postcard_round_trip_keeps_everything_merge_needs() {
        let mut csv = String::from("id,city,amount,mail\n");
        for i in 0..3000 {
            let mail = if i % 7 == 0 { format!("p{i}@example.com") } else { String::new() };
            csv.push_str(&format!("{},{},{}.{},{mail}\n", i % 2500, ["a", "b", "c"][i % 3], i % 97, i % 10));
        }
        let options = Options { sample_rows: 100, ..Options::default() };
        let acc = fed(&csv, &options);
        let bytes = postcard::to_allocvec(&acc).unwrap();
        // 16 bytes a row of hashes, not a varint per byte.
        assert!(bytes.len() > 3000 * 16 && bytes.len() < 3000 * 16 + 400_000, "{} bytes", bytes.len());
        let back: Accumulator = postcard::from_bytes(&bytes).unwrap();
        assert!(back.hashes == acc.hashes, "row hashes");
        assert_eq!(back.hashes.len(), 3000);
        // Merging what came back equals merging the original.
        let mut a = fed(&csv, &options);
        a.merge(back);
        let mut b = fed(&csv, &options);
        b.merge(acc);
        assert!(a.hashes == b.hashes && a.lines == b.lines, "hashes and lines");
        assert_eq!((a.rows(), a.sampled_rows()), (6000, 100));
        assert_eq!((&a.sample.rows, &a.sample.keys), (&b.sample.rows, &b.sample.keys));
        assert!((0..a.sample.len()).all(|i| a.sample.cells(i).eq(b.sample.cells(i))), "sampled cells");
        for (x, y) in a.columns.iter().zip(&b.columns) {
            assert_eq!((&x.name, x.missing, x.kinds, x.lengths), (&y.name, y.missing, y.kinds, y.lengths));
            assert_eq!(x.distinct_text.estimate(), y.distinct_text.estimate());
            assert_eq!(x.top.top(20), y.top.top(20));
            let bits = |k: &Kll| k.quantiles(&[0.1, 0.5, 0.9]).iter().map(|q| q.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&x.numbers), bits(&y.numbers));
            assert_eq!(x.moments, y.moments);
        }
        let (pa, pb) = (a.pii.finish(), b.pii.finish());
        assert_eq!((pa.section, pa.row_kinds), (pb.section, pb.row_kinds));
    }

    #[test]
    fn row_hashes_ignore_column_order_and_missing_columns() {
        let options = Options::default();
        let mut a = Accumulator::new(&options, &[], 0);
        let (x, y) = (a.column_for_key("x"), a.column_for_key("y"));
        a.set(x, CellKind::Text, "1");
        a.set(y, CellKind::Text, "b");
        a.end_row(1, 0);
        a.set(x, CellKind::Text, "1.0");
        a.end_row(2, 10);
        let mut b = Accumulator::new(&options, &[], 20);
        let (y, x) = (b.column_for_key("y"), b.column_for_key("x"));
        b.set(y, CellKind::Text, "b");
        assert!(!b.set(y, CellKind::Text, "c"), "a second value is refused");
        b.set(x, CellKind::Text, "1");
        b.end_row(1, 0);
        let z = b.column_for_key("z");
        b.set(x, CellKind::Text, "1");
        b.set(z, CellKind::Missing, "");
        b.end_row(2, 10);
        b.rebase_lines(2);
        a.merge(b);
        let hashes: Vec<u128> = a.hashes.iter().collect();
        assert_eq!(hashes[0], hashes[2], "same values, other key order");
        assert_eq!(hashes[1], hashes[3], "1 and 1.0 in a numeric column; y and z missing");
        assert_ne!(hashes[0], hashes[1]);
        assert_eq!(a.columns.iter().map(|c| c.missing).collect::<Vec<_>>(), [0, 2, 4]);
        assert_eq!(a.lines.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
    }
}
