//! Column profiles: type inference, statistics, histograms, top values, alerts.

pub mod value;

use crate::ingest::{Cell, Column};
use crate::report::{
    Alert, ColumnProfile, ColumnType, DatetimeStats, Histogram, LengthStats, NumericStats, ValueCount, VectorStats,
};
use std::collections::{BTreeMap, HashMap};
use value::{classify_parsed, date_layout, missing_marker, number_shape, parse_number, parse_vector, DateLayouts, Marker, MissingMarkers, NumberShapes, Parsed, ValueKind};

/// Top values listed per column.
pub const TOP_VALUES: usize = 10;
/// Bins of the numeric histogram.
pub const HISTOGRAM_BINS: usize = 20;
/// A value kind must cover this share of non-missing values to set the type.
const TYPE_SHARE: f64 = 0.95;
/// A string column of short key-like values (or an integer column named
/// like an id) is an identifier when all its values are distinct, or, from
/// [`NEARLY_UNIQUE_MIN`] values on, at least this share of them: a few
/// copied rows repeat a few keys.
pub const NEARLY_UNIQUE_SHARE: f64 = 0.99;
/// Values a column needs before [`NEARLY_UNIQUE_SHARE`] allows a repeat.
pub const NEARLY_UNIQUE_MIN: u64 = 100;
/// Categorical columns with more distinct values than this are flagged.
pub const HIGH_CARDINALITY: u64 = 50;
/// Missing share from which a column is flagged as mostly missing.
pub const MOSTLY_MISSING: f64 = 0.5;
/// |skewness| above which a numeric column is flagged.
pub const SKEWED: f64 = 2.0;

/// Whether a column name says "identifier": id, uuid, guid, key, or a
/// name ending in _id / Id / -id.
pub fn name_suggests_identifier(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let last = lower.rsplit(['.', '_', '-', ' ']).next().unwrap_or(&lower);
    matches!(last, "id" | "uuid" | "guid" | "key" | "pk" | "index" | "idx")
        || camel_case_id(name)
        || matches!(lower.as_str(), "unnamed: 0" | "row_names" | "rownames" | "rowname" | "row.names")
}

/// `userId`, `userID`, `user_ID`: "Id"/"ID" after a lower-case letter or a
/// separator (so `COVID`, `PAID` and `ANDROID` are not identifiers).
fn camel_case_id(name: &str) -> bool {
    let Some(stem) = name.strip_suffix("Id").or_else(|| name.strip_suffix("ID")) else { return false };
    stem.chars().last().is_some_and(|c| c.is_lowercase() || c == '_' || c == '-' || c == ' ' || c == '.')
}

/// How values of a column compare for duplicates and distinct counts:
/// numeric columns by value ("1.0" = "1"), boolean columns by truth, others
/// by their exact text (pandas semantics after `read_csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Compare parsed 64-bit integers (a column of integers only, none
    /// missing: pandas' int64).
    Integer,
    /// Compare parsed numbers as f64 (pandas' float64).
    Numeric,
    /// Compare parsed booleans.
    Boolean,
    /// Compare the text.
    Text,
}

/// A column's profile plus what later stages need to know about it.
#[derive(Debug, Clone)]
pub struct ColumnSummary {
    /// The report section.
    pub profile: ColumnProfile,
    /// How values compare.
    pub comparison: Comparison,
}

impl ColumnSummary {
    /// The inferred type.
    pub fn column_type(&self) -> ColumnType {
        self.profile.column_type
    }
}

/// Feeds the normalised bytes of a cell into a hasher-like sink, so that
/// cells equal under `comparison` give equal bytes.
pub fn normalized_cell(cell: Cell<'_>, comparison: Comparison, out: &mut Vec<u8>) {
    match cell {
        Cell::Missing => out.push(0),
        Cell::Text(text) | Cell::Vector(text) => {
            if comparison == Comparison::Integer {
                if let Ok(v) = text.trim().parse::<i64>() {
                    out.push(5);
                    out.extend_from_slice(&v.to_le_bytes());
                    return;
                }
            }
            if comparison == Comparison::Numeric {
                if let Some(v) = parse_number(text) {
                    out.push(1);
                    let v = if v == 0.0 { 0.0 } else { v }; // -0 equals 0
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                    return;
                }
            }
            if comparison == Comparison::Boolean {
                if let Some(b) = value::parse_bool(text) {
                    out.extend_from_slice(&[2, b as u8]);
                    return;
                }
            }
            out.push(3);
            out.extend_from_slice(&(text.len() as u64).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// Profiles every column: natively on the machine's cores (a column a
/// thread at a time), in the browser one after the other.
pub fn profile_columns(columns: &[Column]) -> Vec<ColumnSummary> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let threads = crate::par::cores().min(columns.len());
        if threads > 1 && columns.iter().map(Column::len).sum::<usize>() >= 100_000 {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let mut done: Vec<(usize, ColumnSummary)> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut mine = Vec::new();
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some(column) = columns.get(i) else { break mine };
                                mine.push((i, profile_column(column)));
                            }
                        })
                    })
                    .collect();
                workers.into_iter().flat_map(|w| w.join().expect("a column profile thread panicked")).collect()
            });
            done.sort_by_key(|(i, _)| *i);
            return done.into_iter().map(|(_, summary)| summary).collect();
        }
    }
    columns.iter().map(profile_column).collect()
}

/// Profiles one column of `rows` rows.
pub fn profile_column(column: &Column) -> ColumnSummary {
    let rows = column.len() as u64;
    let mut kind_counts = [0u64; ValueKind::ALL.len()];
    let mut numbers: Vec<f64> = Vec::new();
    let mut missing = 0u64;
    let mut lengths = Lengths::default();
    let mut vector_dims: HashMap<u64, u64> = HashMap::new();
    // Earliest and latest date: (sort key, text as written) each.
    let mut datetimes: Dates<&str> = Dates::default();

    // Each text's count and first row: what a value adds is a function of
    // its text, so each distinct text is classified once, below.
    let mut texts: HashMap<&str, (u64, u32), crate::sketch::FastBuild> = HashMap::default();
    let mut vectors: Vec<&str> = Vec::new();
    for (row, cell) in column.cells().enumerate() {
        match cell {
            Cell::Missing => missing += 1,
            Cell::Vector(text) => vectors.push(text),
            Cell::Text(text) => texts.entry(text).or_insert((0, row as u32)).0 += 1,
        }
    }
    // Dates keep the first seen on ties: they are added in row order.
    let mut dates: Vec<(u32, DateKey, &str, u64)> = Vec::new();
    let mut markers: Vec<(u32, &str, u64, Marker)> = Vec::new();
    let mut shapes: Vec<(u32, &str, u64, u8)> = Vec::new();
    let mut distinct_numbers: Vec<(f64, u64)> = Vec::new();
    // The first KIND_EXAMPLES texts of each kind by first row, kept sorted.
    let mut firsts: [Vec<(u32, &str)>; 6] = Default::default();
    for (&text, &(count, first)) in &texts {
        let (kind, parsed) = classify_parsed(text);
        kind_counts[kind.index()] += count;
        let kept = &mut firsts[kind.index()];
        if kept.len() < KIND_EXAMPLES || kept.last().is_some_and(|&(last, _)| first < last) {
            let at = kept.partition_point(|&(f, _)| f < first);
            kept.insert(at, (first, text));
            kept.truncate(KIND_EXAMPLES);
        }
        let bytes = value::ByteCounts::of(text.as_bytes());
        let (chars, letters) = Lengths::chars_and_letters(text, &bytes);
        lengths.add_known_times(chars, letters, bytes.spaces > 0, count);
        match parsed {
            Parsed::Number(v) => distinct_numbers.push((v, count)),
            Parsed::Date(key) => dates.push((first, key, text, count)),
            Parsed::Nothing if kind == ValueKind::String => {
                match missing_marker(text) {
                    Marker::No => {}
                    marker => markers.push((first, text, count, marker)),
                }
                match number_shape(text) {
                    0 => {}
                    shape => shapes.push((first, text, count, shape)),
                }
            }
            Parsed::Nothing => {}
        }
    }
    // In row order, as a stream meets them.
    markers.sort_unstable_by_key(|m| m.0);
    let mut missing_markers = MissingMarkers::default();
    for (_, text, count, marker) in markers {
        missing_markers.add(marker, count, text);
    }
    shapes.sort_unstable_by_key(|m| m.0);
    let mut number_shapes = NumberShapes::default();
    for (_, text, count, shape) in shapes {
        number_shapes.add(shape, count, text);
    }
    // The numbers in sorted order (what `numeric_stats` wants, and then
    // sorts in one pass): the distinct ones sorted, then repeated.
    distinct_numbers.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    numbers.reserve_exact(distinct_numbers.iter().map(|&(_, count)| count as usize).sum());
    for (v, count) in distinct_numbers {
        numbers.extend(std::iter::repeat_n(v, count as usize));
    }
    dates.sort_unstable_by_key(|d| d.0);
    let mut date_layouts = DateLayouts::default();
    for (_, key, text, count) in dates {
        datetimes.add(key, text);
        date_layouts.add(date_layout(text), count, text);
    }
    // Vectors count among the values; a text written as a vector and as a
    // string is one value.
    for text in vectors {
        kind_counts[ValueKind::Vector.index()] += 1;
        let dim = parse_vector(text).map(|v| v.len()).unwrap_or(0);
        *vector_dims.entry(dim as u64).or_default() += 1;
        texts.entry(text).or_insert((0, 0)).0 += 1;
    }

    let kind_examples = firsts.map(|f| f.into_iter().map(|(_, text)| text.to_string()).collect());
    let kinds = ValueKind::count_map(&kind_counts);
    // Only the first TOP_VALUES in this order are kept: they are picked out
    // before they are sorted (the values are distinct, so the order is total
    // and the pick is the same as a full sort's head).
    let mut top: Vec<(&str, u64)> = texts.iter().map(|(k, v)| (*k, v.0)).collect();
    let most_first = |a: &(&str, u64), b: &(&str, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
    if top.len() > TOP_VALUES {
        top.select_nth_unstable_by(TOP_VALUES - 1, most_first);
        top.truncate(TOP_VALUES);
    }
    top.sort_unstable_by(most_first);
    let forms = if texts.len() <= VARIANTS_MAX_DISTINCT {
        written_forms(texts.iter().map(|(text, &(count, _))| (*text, count)))
    } else {
        WrittenForms::default()
    };
    let facts = ColumnFacts {
        name: &column.name,
        rows,
        missing,
        kinds,
        lengths,
        vector_dims: vector_dims.into_iter().collect(),
        datetimes: datetimes.texts(),
        top_values: top.iter().map(|(v, c)| ((*v).to_string(), *c)).collect(),
        kind_examples,
        date_layouts,
        markers: missing_markers,
        number_shapes,
        forms,
    };
    facts.summarize(
        |comparison| match comparison {
            Comparison::Text => texts.len() as u64,
            _ => {
                let mut buf = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for text in texts.keys() {
                    buf.clear();
                    normalized_cell(Cell::Text(text), comparison, &mut buf);
                    seen.insert(xxhash_rust::xxh3::xxh3_128(&buf));
                }
                seen.len() as u64
            }
        },
        || numeric_stats(&mut numbers),
    )
}

/// String length statistics of a column's text values, in characters, and
/// what free text looks like: values with a space, letters among characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lengths {
    /// Shortest value (`u64::MAX` while none).
    pub min: u64,
    /// Longest value.
    pub max: u64,
    /// Characters over all values.
    pub sum: u64,
    /// Values holding a space.
    pub with_space: u64,
    /// Alphabetic characters over all values: free text is mostly letters;
    /// phone numbers, codes and numbers with spaces are not.
    pub letters: u64,
}

impl Default for Lengths {
    fn default() -> Lengths {
        Lengths { min: u64::MAX, max: 0, sum: 0, with_space: 0, letters: 0 }
    }
}

impl Lengths {
    /// Counts one text value.
    #[inline]
    pub fn add(&mut self, text: &str) {
        self.add_counted(text, &value::ByteCounts::of(text.as_bytes()));
    }

    /// [`Lengths::add`] with the text's byte counts known.
    #[inline]
    pub fn add_counted(&mut self, text: &str, counts: &value::ByteCounts) {
        let (chars, letters) = Lengths::chars_and_letters(text, counts);
        self.add_known(chars, letters, counts.spaces > 0);
    }

    /// Characters and alphabetic characters of `text`, whose byte counts
    /// are `counts` (read from them for an ASCII text).
    #[inline]
    pub fn chars_and_letters(text: &str, counts: &value::ByteCounts) -> (u64, u64) {
        if counts.non_ascii == 0 {
            return (text.len() as u64, counts.letters as u64);
        }
        let (mut chars, mut alphabetic) = (0u64, 0u64);
        for c in text.chars() {
            chars += 1;
            alphabetic += u64::from(c.is_alphabetic());
        }
        (chars, alphabetic)
    }

    /// Counts a text of `chars` characters, `letters` of them alphabetic,
    /// with or without an ASCII space.
    #[inline]
    pub fn add_known(&mut self, chars: u64, letters: u64, spaced: bool) {
        self.add_known_times(chars, letters, spaced, 1);
    }

    /// [`Lengths::add_known`] of `times` texts alike.
    #[inline]
    pub fn add_known_times(&mut self, chars: u64, letters: u64, spaced: bool, times: u64) {
        if times > 0 {
            self.letters += letters * times;
            self.min = self.min.min(chars);
            self.max = self.max.max(chars);
            self.sum += chars * times;
            self.with_space += u64::from(spaced) * times;
        }
    }

    /// Adds the counts of another part of the column.
    pub fn merge(&mut self, other: &Lengths) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.with_space += other.with_space;
        self.letters += other.letters;
    }
}

/// Earliest and latest date of a column: (sort key, text as written) each;
/// on ties the first one seen stays.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dates<T = String> {
    /// Earliest (key, text), then latest.
    pub range: Option<((DateKey, T), (DateKey, T))>,
}

/// The sort key of a date ([`value::parse_datetime`]).
pub type DateKey = (i32, u32, u32, f64);

impl<T: Clone> Dates<T> {
    /// Counts a date with sort key `key`, written `text`.
    pub fn add<S: Into<T>>(&mut self, key: DateKey, text: S) {
        match &mut self.range {
            None => {
                let text: T = text.into();
                self.range = Some(((key, text.clone()), (key, text)));
            }
            Some((lo, hi)) => {
                if key < lo.0 {
                    *lo = (key, text.into());
                } else if key > hi.0 {
                    *hi = (key, text.into());
                }
            }
        }
    }

    /// Adds the dates of a later part of the column (ties keep `self`'s).
    pub fn merge(&mut self, later: &Dates<T>) {
        let Some((lo, hi)) = &later.range else { return };
        match &mut self.range {
            None => self.range = later.range.clone(),
            Some((my_lo, my_hi)) => {
                if lo.0 < my_lo.0 {
                    *my_lo = lo.clone();
                }
                if hi.0 > my_hi.0 {
                    *my_hi = hi.clone();
                }
            }
        }
    }
}

impl<T: AsRef<str>> Dates<T> {
    /// The earliest and latest text.
    pub fn texts(&self) -> Option<(&str, &str)> {
        self.range.as_ref().map(|(lo, hi)| (lo.1.as_ref(), hi.1.as_ref()))
    }
}

/// What type inference and the column profile need to know about a column:
/// gathered from its cells by [`profile_column`], or from mergeable sketches
/// by a streamed run (`crate::stream`), so that both infer types by the same
/// rules.
#[derive(Debug, Clone)]
pub struct ColumnFacts<'a> {
    /// Column name.
    pub name: &'a str,
    /// Rows (cells) of the column.
    pub rows: u64,
    /// Missing cells.
    pub missing: u64,
    /// Non-missing values of each kind.
    pub kinds: BTreeMap<ValueKind, u64>,
    /// Lengths of the text values (not vectors).
    pub lengths: Lengths,
    /// Vector values of each length (0: not a numeric array).
    pub vector_dims: Vec<(u64, u64)>,
    /// Earliest and latest date as written.
    pub datetimes: Option<(&'a str, &'a str)>,
    /// The most frequent values (at most [`TOP_VALUES`]), most first, ties
    /// by value.
    pub top_values: Vec<(String, u64)>,
    /// The first [`KIND_EXAMPLES`] distinct texts of each kind, in row
    /// order (indexed as [`ValueKind::ALL`]; none for vectors).
    pub kind_examples: [Vec<String>; 6],
    /// The layouts the column's dates are written in.
    pub date_layouts: DateLayouts,
    /// Texts that stand for a missing value (`?`, `unknown`).
    pub markers: MissingMarkers,
    /// Numbers written in forms read as text (`1,5`, `$1,200`).
    pub number_shapes: NumberShapes,
    /// Values written several ways ([`written_forms`]); empty where the
    /// column has more than [`VARIANTS_MAX_DISTINCT`] distinct values or
    /// they are not all known.
    pub forms: WrittenForms,
}

/// Distinct texts of each kind of value kept as examples for the
/// `mixed_types` alert.
pub const KIND_EXAMPLES: usize = 3;

/// Columns with more distinct values than this are not searched for
/// values written several ways (categories have fewer).
pub const VARIANTS_MAX_DISTINCT: usize = 1000;

/// Groups of values that are the same once lower-cased and their
/// whitespace trimmed and collapsed ("Male", "male ", "MALE"), each with
/// that common form: each group most rows first (ties by value), groups by
/// rows, most first (ties by common form). `values`: each distinct value
/// and its count. (The label column's `case_variants` are these too.)
pub fn spelling_variants<'a>(values: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<(String, Vec<(String, u64)>)> {
    variants_of(&by_form(values))
}

/// [`spelling_variants`], [`abbreviations`] and [`misspellings`] of the
/// same values, their forms grouped once.
pub fn written_forms<'a>(values: impl IntoIterator<Item = (&'a str, u64)>) -> WrittenForms {
    let forms = by_form(values);
    WrittenForms { variants: variants_of(&forms), abbreviations: abbreviations_of(&forms), misspellings: misspellings_of(&forms) }
}

/// How one column's values are written: the same value several ways.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WrittenForms {
    /// Values written in other case or spacing ([`spelling_variants`]).
    pub variants: Vec<(String, Vec<(String, u64)>)>,
    /// Values written short and in full ([`abbreviations`]).
    pub abbreviations: Vec<FormPair>,
    /// Values written a letter off ([`misspellings`]).
    pub misspellings: Vec<FormPair>,
}

/// Each value's common form (lower-cased, whitespace trimmed and
/// collapsed) and the values written so, most rows first (ties by value).
fn by_form<'a>(values: impl IntoIterator<Item = (&'a str, u64)>) -> HashMap<String, Vec<(String, u64)>> {
    let mut by_form: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    for (value, count) in values {
        by_form.entry(crate::checks::duplicates::normalize_text(value)).or_default().push((value.to_string(), count));
    }
    for group in by_form.values_mut() {
        group.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    by_form
}

/// The rows of a group of spellings.
fn group_rows(group: &[(String, u64)]) -> u64 {
    group.iter().map(|v| v.1).sum()
}

/// Pairs with the most rows first (ties by the rarer form).
fn most_rows_first(mut found: Vec<FormPair>) -> Vec<FormPair> {
    found.sort_by(|a, b| (b.common.1 + b.rare.1).cmp(&(a.common.1 + a.rare.1)).then_with(|| a.rare.0.cmp(&b.rare.0)));
    found
}

fn variants_of(by_form: &HashMap<String, Vec<(String, u64)>>) -> Vec<(String, Vec<(String, u64)>)> {
    let mut groups: Vec<(String, Vec<(String, u64)>)> =
        by_form.iter().filter(|(_, g)| g.len() >= 2).map(|(form, g)| (form.clone(), g.clone())).collect();
    groups.sort_by(|a, b| group_rows(&b.1).cmp(&group_rows(&a.1)).then_with(|| a.0.cmp(&b.0)));
    groups
}

/// One value written two ways, in a rarer form beside a commoner one:
/// short and in full (`M` beside `male`, [`abbreviations`]) or a letter off
/// (`Torgerson` beside `Torgersen`, [`misspellings`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FormPair {
    /// The rarer form as written most often, and its rows.
    pub rare: (String, u64),
    /// The commoner form as written most often, and its rows.
    pub common: (String, u64),
}

/// Words left out of a value's initials (`USA`, `United States of America`).
const INITIALS_SKIPPED: [&str; 4] = ["of", "and", "the", "&"];

/// Longest abbreviation looked for, in characters.
pub const ABBREVIATION_MAX_CHARS: usize = 3;

/// How many times more rows the common form has than the rare one, at least.
pub const ABBREVIATION_RATIO: u64 = 10;

/// Values of a category column that may be one value written short and in
/// full ([`FormPair`]): compared lower-cased with spaces trimmed (as
/// [`spelling_variants`] compares), a form of one to
/// [`ABBREVIATION_MAX_CHARS`] letters that starts exactly one other form of
/// letters and spaces, two characters longer or more, held by at least
/// [`ABBREVIATION_RATIO`] times fewer or more rows; or that is the
/// initials of exactly one such form of two or more words, whatever the
/// rows (`NY` and `New York`, `USA` and `United States of America`; "of",
/// "and", "the" have none). Most rows first.
pub fn abbreviations<'a>(values: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<FormPair> {
    abbreviations_of(&by_form(values))
}

fn abbreviations_of(by_form: &HashMap<String, Vec<(String, u64)>>) -> Vec<FormPair> {
    let letters = |f: &str| !f.is_empty() && f.chars().all(char::is_alphabetic);
    let words = |f: &str| f.chars().all(|c| c.is_alphabetic() || c == ' ') && f.chars().any(char::is_alphabetic);
    let mut found = Vec::new();
    for (short, short_group) in by_form {
        let chars = short.chars().count();
        if chars > ABBREVIATION_MAX_CHARS || !letters(short) {
            continue;
        }
        // The longer forms it may stand for: those it starts, and those of
        // two words or more whose initials it is (`NY`, `New York`).
        let initials = |long: &str| {
            let words: Vec<&str> = long.split(' ').filter(|w| !INITIALS_SKIPPED.contains(w)).collect();
            words.len() >= 2 && words.len() == chars && words.iter().zip(short.chars()).all(|(w, c)| w.starts_with(c))
        };
        let mut longer = by_form.iter().filter(|(long, _)| {
            long.chars().count() >= chars + 2 && (long.starts_with(short.as_str()) || initials(long))
        });
        let (Some((long, long_group)), None) = (longer.next(), longer.next()) else { continue };
        if !words(long) {
            continue;
        }
        // Each form's rows, and its most written spelling (the group's first).
        let short_form = (short_group[0].0.as_str(), group_rows(short_group));
        let long_form = (long_group[0].0.as_str(), group_rows(long_group));
        let (rare, common) = if short_form.1 <= long_form.1 { (short_form, long_form) } else { (long_form, short_form) };
        // Initials of several words are no chance likeness: any counts.
        if initials(long) || rare.1 * ABBREVIATION_RATIO <= common.1 {
            found.push(FormPair { rare: (rare.0.to_string(), rare.1), common: (common.0.to_string(), common.1) });
        }
    }
    most_rows_first(found)
}

/// Shortest form, in characters, compared for [`misspellings`] one edit
/// apart; forms this long or shorter differ by a letter as real values do
/// (Iran, Iraq).
pub const MISSPELLING_MIN_CHARS: usize = 5;
/// Longest form, in characters, compared for [`misspellings`]: category
/// names, not sentences.
pub const MISSPELLING_MAX_CHARS: usize = 30;
/// Shortest form, in characters, compared two edits apart (Austria and
/// Australia are 2 apart, but one of them is 7 letters).
pub const MISSPELLING_TWO_EDITS_CHARS: usize = 10;

/// Values of a category column that may be another value misspelled: a
/// form (lower-cased, spaces trimmed, as [`spelling_variants`] compares)
/// one letter added, dropped, changed or two swapped away from exactly one
/// other form (or two such edits where both have
/// [`MISSPELLING_TWO_EDITS_CHARS`] characters or more), held by at least
/// [`ABBREVIATION_RATIO`] times more rows: `Torgerson` (2 rows) beside
/// `Torgersen` (50). Both forms have [`MISSPELLING_MIN_CHARS`] to
/// [`MISSPELLING_MAX_CHARS`] characters and no digit (`Type 1`, `Type 2`
/// are codes). As the rarer form as written and the commoner one, most
/// rows first.
pub fn misspellings<'a>(values: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<FormPair> {
    misspellings_of(&by_form(values))
}

fn misspellings_of(by_form: &HashMap<String, Vec<(String, u64)>>) -> Vec<FormPair> {
    // Each comparable form: its characters and rows, most rows first.
    let mut forms: Vec<(Vec<char>, &Vec<(String, u64)>, u64)> = by_form
        .iter()
        .filter(|(form, _)| !form.chars().any(|c| c.is_numeric()))
        .map(|(form, group)| (form.chars().collect::<Vec<char>>(), group, group_rows(group)))
        .filter(|(chars, _, _)| (MISSPELLING_MIN_CHARS..=MISSPELLING_MAX_CHARS).contains(&chars.len()))
        .collect();
    forms.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let most = forms.first().map_or(0, |f| f.2);
    // Forms a few edits apart share a form with as many letters deleted
    // (a letter changed: that letter deleted from both; two swapped: one of
    // them): each form is filed under its deletions, and only forms filed
    // together are compared (1,000 forms each against all took 90 ms).
    let mut filed: HashMap<Vec<char>, Vec<usize>> = HashMap::new();
    for (i, (chars, _, _)) in forms.iter().enumerate() {
        let edits = if chars.len() >= MISSPELLING_TWO_EDITS_CHARS { 2 } else { 1 };
        for deleted in deletions(chars, edits) {
            filed.entry(deleted).or_default().push(i);
        }
    }
    let mut found = Vec::new();
    for (i, (rare, rare_group, rare_rows)) in forms.iter().enumerate() {
        if rare_rows * ABBREVIATION_RATIO > most {
            continue;
        }
        let edits = if rare.len() >= MISSPELLING_TWO_EDITS_CHARS { 2 } else { 1 };
        let mut candidates: Vec<usize> = deletions(rare, edits).iter().filter_map(|d| filed.get(d)).flatten().copied().collect();
        candidates.sort_unstable();
        candidates.dedup();
        // The forms within reach; a second one makes it ambiguous.
        let near = |other: &Vec<char>| {
            let edits = if rare.len().min(other.len()) >= MISSPELLING_TWO_EDITS_CHARS { 2 } else { 1 };
            edit_distance_within(rare, other, edits)
        };
        let mut reach = candidates.into_iter().filter(|&j| j != i && near(&forms[j].0));
        let (Some(j), None) = (reach.next(), reach.next()) else { continue };
        let (_, common_group, common_rows) = &forms[j];
        if rare_rows * ABBREVIATION_RATIO <= *common_rows {
            found.push(FormPair {
                rare: (rare_group[0].0.clone(), *rare_rows),
                common: (common_group[0].0.clone(), *common_rows),
            });
        }
    }
    most_rows_first(found)
}

/// `chars` with up to `edits` of its characters deleted, itself included.
fn deletions(chars: &[char], edits: usize) -> Vec<Vec<char>> {
    let mut all = vec![chars.to_vec()];
    let mut last = vec![chars.to_vec()];
    for _ in 0..edits {
        let mut next = Vec::new();
        for word in &last {
            for at in 0..word.len() {
                let mut shorter = word.clone();
                shorter.remove(at);
                next.push(shorter);
            }
        }
        next.sort_unstable();
        next.dedup();
        all.extend(next.iter().cloned());
        last = next;
    }
    all.sort_unstable();
    all.dedup();
    all
}

/// Whether `a` and `b` are at most `edits` apart, counting a character
/// added, dropped or changed, or two neighbours swapped, as one edit
/// (optimal string alignment distance), and not equal.
fn edit_distance_within(a: &[char], b: &[char], edits: usize) -> bool {
    if a == b || a.len().abs_diff(b.len()) > edits {
        return false;
    }
    // Rows of the dynamic programme: two back, one back, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let change = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + change);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        if row.iter().all(|&d| d > edits) {
            return false;
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    last[b.len()] <= edits
}

/// "1 value may be misspelled: "Torgerson" (2 rows) beside "Torgersen" (50
/// rows)"; up to 3.
fn misspellings_message(found: &[FormPair]) -> String {
    let n = found.len();
    format!("{n} value{} be misspelled: {}", if n == 1 { " may" } else { "s may each" }, pairs_shown(found))
}

/// The first 3 pairs, rarer form beside commoner, and how many more.
fn pairs_shown(found: &[FormPair]) -> String {
    const SHOWN: usize = 3;
    let quoted = |(v, n): &(String, u64)| format!("{:?} ({n} row{})", crate::ingest::table::clip(v, 40), if *n == 1 { "" } else { "s" });
    let mut shown: Vec<String> = found.iter().take(SHOWN).map(|a| format!("{} beside {}", quoted(&a.rare), quoted(&a.common))).collect();
    if found.len() > SHOWN {
        shown.push(format!("{} more", found.len() - SHOWN));
    }
    shown.join("; ")
}

/// "1 value may be written short where most rows write it in full, or the
/// other way round: "M" (2 rows) beside "male" (164 rows)"; up to 3.
fn abbreviations_message(found: &[FormPair]) -> String {
    let n = found.len();
    format!(
        "{n} value{} be written short where most rows write {} in full, or the other way round: {}",
        if n == 1 { " may" } else { "s may each" },
        if n == 1 { "it" } else { "them" },
        pairs_shown(found)
    )
}

impl ColumnFacts<'_> {
    fn kind_count(&self, kind: ValueKind) -> u64 {
        self.kinds.get(&kind).copied().unwrap_or(0)
    }

    /// How values compare (for distinct counts, duplicates, classes): as
    /// pandas' read_csv would type the column. Numbers only when every value
    /// is one (one stray text value makes pandas keep the text, so "1" and
    /// "1.0" differ); integers exactly (int64) when every value is an
    /// integer and none is missing (pandas turns a column with NaN into
    /// float64, where 2^53 + 1 equals 2^53; an integer value has at most 18
    /// digits, so it is in range); booleans when every value is one.
    pub fn comparison(&self) -> Comparison {
        let count = self.rows - self.missing;
        let (int, float) = (self.kind_count(ValueKind::Integer), self.kind_count(ValueKind::Float));
        if count > 0 && int + float == count {
            if float == 0 && self.missing == 0 {
                Comparison::Integer
            } else {
                Comparison::Numeric
            }
        } else if count > 0 && self.kind_count(ValueKind::Boolean) == count {
            Comparison::Boolean
        } else {
            Comparison::Text
        }
    }

    /// The column's profile: type, statistics, alerts. `distinct` counts the
    /// distinct values under a comparison; `numeric` makes the numeric
    /// statistics, asked only for integer and float columns.
    pub fn summarize(
        self,
        distinct: impl FnOnce(Comparison) -> u64,
        numeric: impl FnOnce() -> Option<NumericStats>,
    ) -> ColumnSummary {
        let rows = self.rows;
        let missing = self.missing;
        let count = rows - missing;
        let share = |k: &[ValueKind]| k.iter().map(|k| self.kind_count(*k)).sum::<u64>() as f64 / count.max(1) as f64;
        let numeric_share = share(&[ValueKind::Integer, ValueKind::Float]);
        let mut column_type = if count == 0 {
            ColumnType::Empty
        } else if share(&[ValueKind::Vector]) >= 0.5 {
            ColumnType::Vector
        } else if numeric_share >= TYPE_SHARE {
            if self.kind_count(ValueKind::Float) > 0 {
                ColumnType::Float
            } else {
                ColumnType::Integer
            }
        } else if share(&[ValueKind::Boolean]) >= TYPE_SHARE {
            ColumnType::Boolean
        } else if share(&[ValueKind::Datetime]) >= TYPE_SHARE {
            ColumnType::Datetime
        } else {
            ColumnType::Categorical
        };

        let comparison = self.comparison();
        let distinct = distinct(comparison);
        let lengths = self.lengths;
        let mean_len = if count > 0 { lengths.sum as f64 / count as f64 } else { 0.0 };
        // A key column stays one when a few rows are copied: one exact
        // duplicate row must not turn it into a category (hashed into the
        // row vectors, and no longer left out of the duplicates ignoring
        // identifiers).
        let nearly_unique = count >= 2
            && (distinct == count || (count >= NEARLY_UNIQUE_MIN && distinct as f64 >= count as f64 * NEARLY_UNIQUE_SHARE));
        if column_type == ColumnType::Categorical {
            let space_share = lengths.with_space as f64 / count.max(1) as f64;
            let distinct_share = distinct as f64 / count.max(1) as f64;
            if nearly_unique
                && (name_suggests_identifier(self.name) || (space_share < 0.05 && mean_len <= 64.0 && count >= 20))
            {
                column_type = ColumnType::Identifier;
            } else if lengths.letters as f64 >= 0.3 * lengths.sum as f64
                && (mean_len >= 25.0 && distinct_share > 0.5
                    || (space_share >= 0.5 && mean_len >= 12.0 && distinct_share > 0.5))
            {
                column_type = ColumnType::Text;
            }
        } else if column_type == ColumnType::Integer && nearly_unique && name_suggests_identifier(self.name) {
            column_type = ColumnType::Identifier;
        }

        let numeric = match column_type {
            ColumnType::Integer | ColumnType::Float => numeric(),
            _ => None,
        };
        let vector = (column_type == ColumnType::Vector).then(|| {
            let (dimension, n) = self.vector_dims.iter().copied().max_by_key(|&(d, n)| (n, d)).unwrap_or((0, 0));
            VectorStats { dimension, mismatched: count - n }
        });
        let datetime = match (column_type, self.datetimes) {
            (ColumnType::Datetime, Some((lo, hi))) => Some(DatetimeStats { min: lo.to_string(), max: hi.to_string() }),
            _ => None,
        };
        let lengths = (column_type != ColumnType::Vector && count > 0 && lengths.min != u64::MAX)
            .then_some(LengthStats { min: lengths.min, max: lengths.max, mean: mean_len });
        let top_values = self
            .top_values
            .iter()
            .take(TOP_VALUES)
            .map(|(v, c)| ValueCount { value: crate::ingest::table::clip(v, 200), count: *c })
            .collect();

        let value_kinds = self.kinds.iter().map(|(k, v)| (k.name().to_string(), *v)).collect();
        let mut profile = ColumnProfile {
            name: self.name.to_string(),
            column_type,
            count,
            missing,
            missing_share: if rows > 0 { missing as f64 / rows as f64 } else { 0.0 },
            distinct,
            value_kinds,
            numeric,
            datetime,
            lengths,
            vector,
            top_values,
            top_values_overcount: None,
            alerts: Vec::new(),
            approximate: Vec::new(),
        };
        profile.alerts = alerts(&profile, &self);
        ColumnSummary { profile, comparison }
    }
}

fn alerts(p: &ColumnProfile, facts: &ColumnFacts<'_>) -> Vec<Alert> {
    let ColumnFacts { kinds, kind_examples, forms: WrittenForms { variants, .. }, .. } = facts;
    let mut out = Vec::new();
    let mut alert = |kind: &str, message: String| out.push(Alert { kind: kind.to_string(), message });
    let rows = p.count + p.missing;
    if p.count == 0 {
        alert("mostly_missing", format!("all {rows} values are missing"));
        return out;
    }
    if p.distinct == 1 {
        alert("constant", format!("every non-missing value is {:?}", p.top_values[0].value));
    }
    if p.count >= 2 && p.distinct == p.count && p.column_type != ColumnType::Float {
        alert("unique", format!("all {} non-missing values are distinct", p.count));
    }
    if p.column_type == ColumnType::Categorical && p.distinct > HIGH_CARDINALITY {
        alert("high_cardinality", format!("{} distinct values in a categorical column", p.distinct));
    }
    if p.missing_share >= MOSTLY_MISSING {
        alert("mostly_missing", format!("{:.1}% of values are missing ({} of {rows})", p.missing_share * 100.0, p.missing));
    }
    // Mixed types: a second kind of value beside the dominant one. Numbers
    // inside free text or categories are normal, so only typed columns and
    // columns where the minority is itself typed data are flagged.
    let mut sorted: Vec<(ValueKind, u64)> = kinds.iter().map(|(k, v)| (*k, *v)).collect();
    // Integers and floats are one family.
    let int = kinds.get(&ValueKind::Integer).copied().unwrap_or(0);
    let float = kinds.get(&ValueKind::Float).copied().unwrap_or(0);
    sorted.retain(|(k, _)| !matches!(k, ValueKind::Integer | ValueKind::Float));
    if int + float > 0 {
        sorted.push((ValueKind::Float, int + float));
    }
    sorted.sort_by_key(|k| std::cmp::Reverse(k.1));
    if sorted.len() >= 2 {
        let typed = !matches!(p.column_type, ColumnType::Text | ColumnType::Categorical | ColumnType::Identifier);
        let minority_share = (p.count - sorted[0].1) as f64 / p.count as f64;
        if typed || minority_share >= 0.2 {
            // The minority kinds name their first values, so that they
            // can be found ("?", "-", "12,5").
            let examples = |k: ValueKind| -> Vec<String> {
                let of = |k: ValueKind| kind_examples[k.index()].iter();
                let texts: Vec<&String> = if k == ValueKind::Float {
                    of(ValueKind::Integer).chain(of(ValueKind::Float)).take(KIND_EXAMPLES).collect()
                } else {
                    of(k).collect()
                };
                texts.iter().map(|t| format!("{:?}", crate::ingest::table::clip(t, 40))).collect()
            };
            let parts: Vec<String> = sorted
                .iter()
                .enumerate()
                .map(|(i, (k, n))| {
                    let name = if *k == ValueKind::Float { "numeric" } else { k.name() };
                    let shown = if i > 0 { examples(*k) } else { Vec::new() };
                    if shown.is_empty() {
                        format!("{n} {name}")
                    } else {
                        format!("{n} {name} (e.g. {})", shown.join(", "))
                    }
                })
                .collect();
            alert("mixed_types", format!("values of several kinds: {}", parts.join(", ")));
        }
    }
    if let Some(message) = missing_code_message(p) {
        alert("missing_value_codes", message);
    }
    if let Some(message) = facts.markers.message() {
        alert("missing_value_markers", message);
    }
    let numeric = matches!(p.column_type, ColumnType::Integer | ColumnType::Float);
    if let Some(message) = facts.number_shapes.message(p.count, numeric) {
        alert("numbers_as_text", message);
    }
    if let Some(message) = repeated_ids_message(p) {
        alert("repeated_ids", message);
    }
    if p.column_type == ColumnType::Categorical && !variants.is_empty() {
        alert("spelling_variants", variants_message(variants));
    }
    if p.column_type == ColumnType::Categorical && !facts.forms.abbreviations.is_empty() {
        alert("abbreviations", abbreviations_message(&facts.forms.abbreviations));
    }
    if p.column_type == ColumnType::Categorical && !facts.forms.misspellings.is_empty() {
        alert("misspellings", misspellings_message(&facts.forms.misspellings));
    }
    if let Some(n) = &p.numeric {
        if n.skewness.abs() > SKEWED {
            alert("skewed", format!("skewness {:.2}", n.skewness));
        }
    }
    if p.column_type == ColumnType::Datetime {
        if let Some(message) = facts.date_layouts.message() {
            alert("date_formats", message);
        }
    }
    out
}

/// A numeric value written with nines only (-999, 9999, 99.0) far outside
/// the others (past the quartiles by 3 IQRs): a code for "missing" that the
/// statistics take for a number. The column's least and greatest values
/// are looked at, and the top values, which give the counts.
fn missing_code_message(p: &ColumnProfile) -> Option<String> {
    let n = p.numeric.as_ref()?;
    let (q1, q3) = (*n.quantiles.get("0.25")?, *n.quantiles.get("0.75")?);
    let iqr = q3 - q1;
    let nines = |v: f64| {
        let a = v.abs();
        (99.0..=1e15).contains(&a) && a.fract() == 0.0 && {
            let mut x = a as u64;
            while x % 10 == 9 {
                x /= 10;
            }
            x == 0
        }
    };
    let far = |x: f64| nines(x) && (x > q3 + 3.0 * iqr || x < q1 - 3.0 * iqr);
    // The column's least and greatest values, and any other among the top
    // values, with their counts where the top values list them.
    let mut found: Vec<(f64, Option<u64>)> = Vec::new();
    for x in [n.min, n.max] {
        if far(x) && !found.iter().any(|f| f.0 == x) {
            found.push((x, None));
        }
    }
    for v in &p.top_values {
        let Some(x) = parse_number(&v.value) else { continue };
        match found.iter_mut().find(|f| f.0 == x) {
            Some(f) => f.1 = Some(f.1.unwrap_or(0) + v.count),
            None if far(x) => found.push((x, Some(v.count))),
            None => {}
        }
    }
    if found.is_empty() {
        return None;
    }
    let values: Vec<String> = found
        .iter()
        .map(|&(x, count)| match count {
            Some(c) => format!("{} ({c} row{})", crate::checks::predictions::edge(x), if c == 1 { "" } else { "s" }),
            None => crate::checks::predictions::edge(x),
        })
        .collect();
    Some(format!(
        "{} far outside the other values (quartiles {} and {}): a code for a missing value? The statistics count {} as numbers",
        values.join(", "),
        crate::checks::predictions::edge(q1),
        crate::checks::predictions::edge(q3),
        if found.len() == 1 { "it" } else { "them" },
    ))
}

/// In a column of identifiers, values that more than one row holds: "20
/// rows repeat another row's value (an identifier names one row):
/// "N117UW" (2 rows), ...". A key seen twice is a record entered twice or
/// two records under one key, whether or not the rest of the rows agree.
fn repeated_ids_message(p: &ColumnProfile) -> Option<String> {
    const SHOWN: usize = 3;
    if p.column_type != ColumnType::Identifier || p.distinct >= p.count {
        return None;
    }
    let repeated: Vec<&ValueCount> = p.top_values.iter().filter(|v| v.count >= 2).collect();
    if repeated.is_empty() {
        return None;
    }
    let extra = p.count - p.distinct;
    let mut shown: Vec<String> =
        repeated.iter().take(SHOWN).map(|v| format!("{:?} ({} rows)", crate::ingest::table::clip(&v.value, 40), v.count)).collect();
    if extra as usize > repeated.iter().take(SHOWN).map(|v| v.count as usize - 1).sum::<usize>() {
        shown.push("and others".into());
    }
    Some(format!(
        "{extra} row{} repeat{} another row's value, in a column of identifiers (one value names one row): {}",
        if extra == 1 { "" } else { "s" },
        if extra == 1 { "s" } else { "" },
        shown.join(", ")
    ))
}

/// "3 values are written several ways: "Male" (40), "male " (3), "MALE"
/// (2); ..." (the first 3 groups, 5 forms each).
fn variants_message(variants: &[(String, Vec<(String, u64)>)]) -> String {
    const GROUPS: usize = 3;
    const FORMS: usize = 5;
    let shown: Vec<String> = variants
        .iter()
        .take(GROUPS)
        .map(|(_, group)| {
            let mut forms: Vec<String> = group.iter().take(FORMS).map(|(v, c)| format!("{:?} ({c})", crate::ingest::table::clip(v, 40))).collect();
            if group.len() > FORMS {
                forms.push(format!("{} more", group.len() - FORMS));
            }
            forms.join(", ")
        })
        .collect();
    let more = if variants.len() > GROUPS { format!("; {} more", variants.len() - GROUPS) } else { String::new() };
    let n = variants.len();
    format!(
        "{n} value{} written several ways (case or spaces): {}{more}",
        if n == 1 { " is" } else { "s are" },
        shown.join("; ")
    )
}

/// Quantile with linear interpolation between closest ranks (numpy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    let value = sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
    if value.is_finite() {
        value
    } else {
        sorted[lo] * (1.0 - frac) + sorted[hi] * frac // the difference overflowed
    }
}

/// The edges of the equal-width histogram from `min` to `max`
/// ([`HISTOGRAM_BINS`] bins, one when `min == max`) and the bin width.
pub fn histogram_edges(min: f64, max: f64) -> (Vec<f64>, f64) {
    let bins = if max > min { HISTOGRAM_BINS } else { 1 };
    // max/bins - min/bins rather than (max - min)/bins: finite for any finite data.
    let width = max / bins as f64 - min / bins as f64;
    let edges = (0..=bins)
        .map(|i| {
            let t = i as f64 / bins as f64;
            let edge = min + width * i as f64;
            match i {
                _ if i == bins => max,
                _ if edge.is_finite() => edge,
                _ => min * (1.0 - t) + max * t, // near f64::MAX
            }
        })
        .collect();
    (edges, width)
}

/// Numeric statistics of a column's numbers (sorted in place): min, max,
/// mean, std, skewness, quantiles, zeros, negatives, histogram; `None`
/// when there are none.
pub fn numeric_stats(values: &mut [f64]) -> Option<NumericStats> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len() as f64;
    let min = values[0];
    let max = values[values.len() - 1];
    // Moments of the values divided by their largest magnitude, so that sums
    // and squares of values near f64::MAX stay finite.
    let magnitude = min.abs().max(max.abs());
    let unit = if magnitude > 0.0 { magnitude } else { 1.0 };
    let mean_unit = values.iter().map(|v| v / unit).sum::<f64>() / n;
    let (mut m2, mut m3) = (0.0, 0.0);
    for &v in values.iter() {
        let d = v / unit - mean_unit;
        m2 += d * d;
        m3 += d * d * d;
    }
    let mean = (mean_unit * unit).clamp(min, max);
    let constant = min == max;
    let std = if values.len() > 1 && !constant { (m2 / (n - 1.0)).sqrt() * unit } else { 0.0 };
    // Adjusted Fisher-Pearson skewness, as pandas computes it; 0 for a
    // constant column (rounding would otherwise invent a skew).
    let skewness = if values.len() > 2 && m2 > 0.0 && !constant {
        let (m2n, m3n) = (m2 / n, m3 / n);
        (n * (n - 1.0)).sqrt() / (n - 2.0) * m3n / m2n.powf(1.5)
    } else {
        0.0
    };
    let quantiles = [0.05, 0.25, 0.5, 0.75, 0.95]
        .iter()
        .map(|&q| (q.to_string(), quantile_sorted(values, q)))
        .collect();
    let (edges, width) = histogram_edges(min, max);
    let bins = edges.len() - 1;
    let mut counts = vec![0u64; bins];
    for &v in values.iter() {
        let bin = if width > 0.0 { ((v / width - min / width) as usize).min(bins - 1) } else { 0 };
        counts[bin] += 1;
    }
    Some(NumericStats {
        min,
        max,
        mean,
        std,
        quantiles,
        skewness,
        zeros: values.iter().filter(|&&v| v == 0.0).count() as u64,
        negatives: values.iter().filter(|&&v| v < 0.0).count() as u64,
        histogram: Histogram { edges, counts },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The threaded profile of many columns is each column's own profile,
    /// in column order.
    #[test]
    fn profile_columns_equal_one_at_a_time() {
        let mut csv = String::from("a,b,c,d,e\n");
        for i in 0..30_000u64 {
            let date = format!("2024-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
            csv.push_str(&format!("{},{}.5,{date},w{},{}\n", i % 97, i % 13, i % 7, if i % 5 == 0 { "" } else { "true" }));
        }
        let table = crate::ingest::test_table(&csv);
        let together = profile_columns(&table.columns);
        assert_eq!(together.len(), 5);
        for (column, summary) in table.columns.iter().zip(&together) {
            assert_eq!(format!("{summary:?}"), format!("{:?}", profile_column(column)), "{}", column.name);
        }
    }

    /// The top values picked out of many distinct ones, with ties in count
    /// across the cut, are a full sort's head: most first, then by text.
    #[test]
    fn top_values_are_a_full_sorts_head() {
        let mut csv = String::from("v\n");
        let mut expected: Vec<(String, u64)> = Vec::new();
        for i in 0..400u64 {
            // Counts 1..=6, many values sharing each; texts not in count order.
            let (text, count) = (format!("t{}", (i * 7919) % 1000), 1 + (i * 31) % 6);
            for _ in 0..count {
                csv.push_str(&text);
                csv.push('\n');
            }
            expected.push((text, count));
        }
        expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        expected.truncate(TOP_VALUES);
        let table = crate::ingest::test_table(&csv);
        let got = profile_column(&table.columns[0]).profile.top_values;
        let got: Vec<(String, u64)> = got.into_iter().map(|t| (t.value, t.count)).collect();
        assert_eq!(got, expected);
    }

    use crate::ingest::Ingestor;

    fn profiles(csv: &str) -> Vec<ColumnProfile> {
        let mut ing = Ingestor::new("t.csv");
        ing.push(csv.as_bytes()).unwrap();
        ing.finish().unwrap();
        ing.table.columns.iter().map(|c| profile_column(c).profile).collect()
    }

    #[test]
    fn types_are_inferred() {
        let mut csv = String::from("user_id,n,x,flag,day,color,comment,const\n");
        for i in 0..40 {
            csv.push_str(&format!(
                "u{i:03},{},{}.5,{},2024-01-{:02},{},this is a longer free text comment number {i},k\n",
                i % 7,
                i,
                if i % 2 == 0 { "true" } else { "false" },
                i % 28 + 1,
                ["red", "green", "blue"][i % 3]
            ));
        }
        let p = profiles(&csv);
        let types: Vec<_> = p.iter().map(|c| c.column_type).collect();
        assert_eq!(
            types,
            [
                ColumnType::Identifier,
                ColumnType::Integer,
                ColumnType::Float,
                ColumnType::Boolean,
                ColumnType::Datetime,
                ColumnType::Categorical,
                ColumnType::Text,
                ColumnType::Categorical
            ]
        );
        assert!(p[7].alerts.iter().any(|a| a.kind == "constant"));
        assert!(p[0].alerts.iter().any(|a| a.kind == "unique"));
        assert_eq!(p[5].distinct, 3);
        assert_eq!(p[4].datetime.as_ref().unwrap().min, "2024-01-01");
    }

    /// A key column with a few values repeated (copied rows) stays an
    /// identifier from 100 values on; with fewer, or more repeats, it is a
    /// category.
    #[test]
    fn a_key_column_with_a_few_copied_rows_stays_an_identifier() {
        let column = |n: usize, repeats: usize, name: &str| {
            let mut csv = format!("{name},v\n");
            for i in 0..n {
                let key = if i < repeats { 0 } else { i };
                csv.push_str(&format!("N{key:05}X,{}\n", i % 3));
            }
            profiles(&csv).remove(0)
        };
        assert_eq!(column(300, 0, "tailnum").column_type, ColumnType::Identifier);
        let p = column(300, 3, "tailnum");
        assert_eq!((p.column_type, p.distinct), (ColumnType::Identifier, 298));
        assert!(!p.alerts.iter().any(|a| a.kind == "unique"), "not all distinct");
        // The repeated key is named, with how many rows hold it.
        let repeated: Vec<&str> = p.alerts.iter().filter(|a| a.kind == "repeated_ids").map(|a| a.message.as_str()).collect();
        assert_eq!(repeated.len(), 1, "{:?}", p.alerts);
        assert!(repeated[0].starts_with("2 rows repeat another row's value") && repeated[0].ends_with(": \"N00000X\" (3 rows)"), "{}", repeated[0]);
        assert!(!column(300, 0, "tailnum").alerts.iter().any(|a| a.kind == "repeated_ids"));
        assert_eq!(column(300, 5, "tailnum").column_type, ColumnType::Categorical, "98.7% distinct");
        assert_eq!(column(60, 2, "tailnum").column_type, ColumnType::Categorical, "under 100 values");
        assert_eq!(column(60, 0, "tailnum").column_type, ColumnType::Identifier);
    }

    /// -999 in 7 rows of a 0-100 score is named as a likely missing-value
    /// code; 99 inside the range and -998 are not.
    #[test]
    fn nines_far_outside_the_values_are_named_as_missing_value_codes() {
        let column = |sentinel: &str, times: usize| {
            let mut csv = String::from("score\n");
            for i in 0..400 {
                let v = if i % 50 == 3 && i / 50 < times { sentinel.to_string() } else { format!("{}", (i * 37) % 101) };
                csv.push_str(&format!("{v}\n"));
            }
            profiles(&csv).remove(0)
        };
        let p = column("-999", 7);
        let alert = p.alerts.iter().find(|a| a.kind == "missing_value_codes").expect("an alert");
        assert!(alert.message.starts_with("-999 (7 rows) far outside the other values (quartiles 2"), "{}", alert.message);
        // Not among the top values, it is named without a count.
        let p = column("9999.0", 2);
        let alert = p.alerts.iter().find(|a| a.kind == "missing_value_codes").expect("an alert");
        assert!(alert.message.starts_with("9999 far outside"), "{}", alert.message);
        assert!(!column("99", 7).alerts.iter().any(|a| a.kind == "missing_value_codes"));
        assert!(!column("-998", 7).alerts.iter().any(|a| a.kind == "missing_value_codes"));
    }

    /// A letter added, dropped, changed or two swapped in a few rows of a
    /// value most rows write right; short words, codes with digits,
    /// ambiguous and equally common forms are no finding.
    #[test]
    fn misspellings_of_other_values_are_named() {
        let pairs = |found: Vec<FormPair>| -> Vec<(String, u64, String, u64)> {
            found.into_iter().map(|a| (a.rare.0, a.rare.1, a.common.0, a.common.1)).collect()
        };
        let found = misspellings([("Torgersen", 50), ("Torgerson", 2), ("Biscoe", 160), ("Bisoce ", 1), ("Dream", 120), ("Dram", 3)]);
        assert_eq!(
            pairs(found),
            [("Bisoce ".into(), 1, "Biscoe".into(), 160), ("Torgerson".into(), 2, "Torgersen".into(), 50)]
        );
        // Two edits in long words; not in words under 10 letters.
        let found = misspellings([("Engineering", 80), ("Enginering ", 2), ("Enjineerin", 1)]);
        assert_eq!(pairs(found).len(), 2);
        assert!(misspellings([("Austria", 80), ("Australia", 2)]).is_empty());
        // Under 5 letters (Iran, Iraq); digits; equally common; ambiguous.
        assert!(misspellings([("Iran", 80), ("Iraq", 2)]).is_empty());
        assert!(misspellings([("Type 1", 80), ("Type 2", 2)]).is_empty());
        assert!(misspellings([("Marie", 80), ("Maria", 60)]).is_empty());
        assert!(misspellings([("Brown", 80), ("Browne", 2), ("Browns", 70)]).is_empty());
        // The alert, in a profiled column.
        let mut csv = String::from("island\n");
        for i in 0..120 {
            csv.push_str(if i == 33 { "Torgerson\n" } else { ["Torgersen\n", "Biscoe\n"][i % 2] });
        }
        let p = profiles(&csv);
        let alert = p[0].alerts.iter().find(|a| a.kind == "misspellings").expect("alert");
        assert_eq!(alert.message, "1 value may be misspelled: \"Torgerson\" (1 row) beside \"Torgersen\" (60 rows)");
    }

    /// The forms filed under their deletions are those comparing every
    /// form with every other finds.
    #[test]
    fn misspellings_found_by_deletions_are_those_of_all_pairs() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        // Words over 3 letters, so that many lie an edit or two apart.
        let mut values: Vec<(String, u64)> = Vec::new();
        for _ in 0..400 {
            let len = 5 + next(8) as usize;
            let word: String = (0..len).map(|_| (b'a' + next(3) as u8) as char).collect();
            let rows = if next(4) == 0 { 40 + next(60) } else { 1 + next(3) };
            values.push((word, rows));
        }
        values.sort();
        values.dedup_by(|a, b| a.0 == b.0);
        let found = misspellings(values.iter().map(|(v, c)| (v.as_str(), *c)));
        let chars: Vec<Vec<char>> = values.iter().map(|(v, _)| v.chars().collect()).collect();
        let mut expected = Vec::new();
        for (i, (rare, rows)) in values.iter().enumerate() {
            let near: Vec<usize> = (0..values.len())
                .filter(|&j| {
                    let edits = if chars[i].len().min(chars[j].len()) >= MISSPELLING_TWO_EDITS_CHARS { 2 } else { 1 };
                    j != i && edit_distance_within(&chars[i], &chars[j], edits)
                })
                .collect();
            if let [j] = near[..] {
                if rows * ABBREVIATION_RATIO <= values[j].1 {
                    expected.push((rare.clone(), values[j].0.clone()));
                }
            }
        }
        let mut got: Vec<(String, String)> = found.into_iter().map(|a| (a.rare.0, a.common.0)).collect();
        got.sort();
        expected.sort();
        assert!(expected.len() >= 5, "{expected:?}");
        assert_eq!(got, expected);
    }

    /// `M` beside `male`, `Large` beside `L`: a form written short in a few
    /// rows; ambiguous, equal or equally common forms are no finding.
    #[test]
    fn abbreviations_of_other_values_are_named() {
        let found = abbreviations([("male", 160), ("MALE", 4), ("female", 150), ("M", 2), ("F ", 1), ("x", 3)]);
        let pairs: Vec<(&str, u64, &str, u64)> = found.iter().map(|a| (a.rare.0.as_str(), a.rare.1, a.common.0.as_str(), a.common.1)).collect();
        assert_eq!(pairs, [("M", 2, "male", 164), ("F ", 1, "female", 150)]);
        let found = abbreviations([("S", 90), ("M", 120), ("L", 80), ("Large", 3)]);
        assert_eq!((found[0].rare.0.as_str(), found[0].common.0.as_str()), ("Large", "L"));
        // "m" starts two values; "a" and "ab" differ by one letter; as
        // common as each other; a code with digits.
        assert!(abbreviations([("married", 50), ("male", 50), ("m", 1)]).is_empty());
        assert!(abbreviations([("A", 50), ("AB", 2)]).is_empty());
        assert!(abbreviations([("N", 50), ("North", 20)]).is_empty());
        assert!(abbreviations([("A", 50), ("A123", 2)]).is_empty());
        // Initials of two or more words, however common each form.
        let found = abbreviations([("New York", 43), ("NY", 12), ("UK", 11), ("United Kingdom", 16), ("USA", 3), ("United States of America", 5), ("Texas", 30)]);
        let pairs: Vec<(&str, &str)> = found.iter().map(|a| (a.rare.0.as_str(), a.common.0.as_str())).collect();
        assert_eq!(pairs, [("NY", "New York"), ("UK", "United Kingdom"), ("USA", "United States of America")]);
        // Two values with the same initials: ambiguous.
        assert!(abbreviations([("South Africa", 20), ("South America", 20), ("SA", 5)]).is_empty());
        let mut csv = String::from("sex,n\n");
        for i in 0..200 {
            let sex = match i {
                13 | 77 => "M",
                _ => ["male", "female"][i % 2],
            };
            csv.push_str(&format!("{sex},{i}\n"));
        }
        let p = profiles(&csv);
        let alert = p[0].alerts.iter().find(|a| a.kind == "abbreviations").expect("an alert");
        assert_eq!(alert.message, "1 value may be written short where most rows write it in full, or the other way round: \"M\" (2 rows) beside \"male\" (100 rows)");
    }

    /// `?`, `-`, `unknown` in a category or a number column are named with
    /// their rows; a column that writes other symbols (`+`) keeps its `-`.
    #[test]
    fn markers_for_missing_values_are_named() {
        let mut csv = String::from("workclass,answer,hours\n");
        for i in 0..300 {
            let workclass = match i % 50 {
                7 => " ?",
                9 => "Unknown",
                _ => ["Private", "State-gov", "Self-emp"][i % 3],
            };
            let answer = ["+", "-", "="][i % 3];
            let hours = if i == 40 { "--".to_string() } else { format!("{}", 20 + i % 30) };
            csv.push_str(&format!("{workclass},{answer},{hours}\n"));
        }
        let p = profiles(&csv);
        let alert = |p: &ColumnProfile| p.alerts.iter().find(|a| a.kind == "missing_value_markers").map(|a| a.message.clone());
        assert_eq!(
            alert(&p[0]).as_deref(),
            Some("12 values read like a marker for a missing value: \" ?\" (6 rows), \"Unknown\" (6 rows); counted as values, not as missing")
        );
        assert_eq!(alert(&p[1]), None, "symbols as codes");
        assert_eq!(
            alert(&p[2]).as_deref(),
            Some("1 value reads like a marker for a missing value: \"--\" (1 row); counted as a value, not as missing")
        );
        // Nothing in ordinary columns.
        let (_, plain) = test_profiled("a,b\nx-ray,1\nnone,2\nunknowns,3\n");
        assert!(plain.iter().all(|s| !s.profile.alerts.iter().any(|a| a.kind == "missing_value_markers")));
    }

    /// Equal dates written differently: the earliest and the latest as
    /// written are the first seen, whatever order the distinct texts are
    /// classified in.
    #[test]
    fn dates_written_two_ways_keep_the_first_seen() {
        for (first, second) in [("2024-01-01", "2024-01-01T00:00:00"), ("2024-01-01T00:00:00", "2024-01-01")] {
            let mut csv = String::from("day\n");
            for i in 0..60 {
                let day = if i < 30 { format!("2024-02-{:02}", i % 28 + 1) } else { "2024-03-31".to_string() };
                csv.push_str(&format!("{day}\n"));
                if i == 3 {
                    csv.push_str(&format!("{first}\n{second}\n2024-03-31 00:00:00\n"));
                }
            }
            let p = profiles(&csv);
            let range = p[0].datetime.as_ref().expect("a date column");
            assert_eq!((range.min.as_str(), range.max.as_str()), (first, "2024-03-31 00:00:00"));
            assert_eq!(p[0].lengths.as_ref().map(|l| l.min), Some(10));
        }
    }

    #[test]
    fn formatted_numbers_with_spaces_are_not_free_text() {
        // Phone numbers and card numbers have spaces and length, but no
        // words: near-duplicate text checks on them would only be noise.
        let mut csv = String::from("phone,card,note\n");
        for i in 0..40 {
            csv.push_str(&format!(
                "+44 20 7946 {:04},4111 1111 1111 {:04},called back about order {i} today\n",
                i * 7,
                i * 13
            ));
        }
        let types: Vec<_> = profiles(&csv).iter().map(|c| c.column_type).collect();
        assert_eq!(types, [ColumnType::Categorical, ColumnType::Categorical, ColumnType::Text]);
    }

    #[test]
    fn numeric_statistics_match_numpy() {
        let p = profiles("v\n1\n2\n3\n4\n10\nNA\n");
        let n = p[0].numeric.as_ref().unwrap();
        assert_eq!((n.min, n.max, n.mean), (1.0, 10.0, 4.0));
        assert!((n.std - 3.5355339059327378).abs() < 1e-12);
        assert_eq!(n.quantiles["0.25"], 2.0);
        assert_eq!(n.quantiles["0.5"], 3.0);
        // pandas Series([1,2,3,4,10]).skew() = 1.6970562748477143
        assert!((n.skewness - 1.697_056_274_847_714).abs() < 1e-12, "{}", n.skewness);
        assert_eq!(p[0].missing, 1);
        assert_eq!(n.histogram.counts.iter().sum::<u64>(), 5);
    }

    #[test]
    fn numeric_distinct_compares_values() {
        let p = profiles("v\n1\n1.0\n1e0\n2\n");
        assert_eq!(p[0].distinct, 2);
    }

    #[test]
    fn extreme_and_constant_values_give_finite_statistics() {
        let p = profiles("v,w,c\n1e308,-1e308,0.1\n1e308,1e308,0.1\n1.5e308,0,0.1\n1e308,5,0.1\n");
        for col in &p {
            let n = col.numeric.as_ref().unwrap();
            let all = [n.min, n.max, n.mean, n.std, n.skewness];
            assert!(all.iter().chain(&n.histogram.edges).all(|v| v.is_finite()), "{}: {n:?}", col.name);
            assert_eq!(n.histogram.counts.iter().sum::<u64>(), 4);
        }
        assert!((p[0].numeric.as_ref().unwrap().mean - 1.125e308).abs() < 1e294);
        let c = p[2].numeric.as_ref().unwrap();
        assert_eq!((c.std, c.skewness), (0.0, 0.0));
        assert!(!p[2].alerts.iter().any(|a| a.kind == "skewed"));
    }

    #[test]
    fn identifier_names() {
        for yes in ["id", "user_id", "userId", "userID", "row.key", "uuid"] {
            assert!(name_suggests_identifier(yes), "{yes}");
        }
        for no in ["COVID", "PAID", "ANDROID", "idea", "valid"] {
            assert!(!name_suggests_identifier(no), "{no}");
        }
    }

    #[test]
    fn mixed_types_are_flagged() {
        let p = profiles("v\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n21\nabc\n");
        assert_eq!(p[0].column_type, ColumnType::Integer);
        assert!(p[0].alerts.iter().any(|a| a.kind == "mixed_types"), "{:?}", p[0].alerts);
    }
}

/// Test helper shared by the modules' unit tests: the table of a whole CSV
/// text and its column summaries.
#[cfg(test)]
pub(crate) fn test_profiled(csv: &str) -> (crate::ingest::Table, Vec<ColumnSummary>) {
    let table = crate::ingest::test_table(csv);
    let summaries = table.columns.iter().map(profile_column).collect();
    (table, summaries)
}
