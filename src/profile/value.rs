//! What a single value looks like: number, boolean, date, or plain text.

/// Kind of one non-missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// Optional sign and digits.
    Integer,
    /// Any other finite number Rust parses (1.5, 1e3, .5).
    Float,
    /// true/false in the spellings pandas reads.
    Boolean,
    /// ISO dates and timestamps, and d/m/y or m/d/y dates.
    Datetime,
    /// A JSON numeric array.
    Vector,
    /// Anything else.
    String,
}

impl ValueKind {
    /// Every kind, in `Ord` order: [`ValueKind::index`] is the position here.
    pub const ALL: [ValueKind; 6] = [
        ValueKind::Integer,
        ValueKind::Float,
        ValueKind::Boolean,
        ValueKind::Datetime,
        ValueKind::Vector,
        ValueKind::String,
    ];

    /// Position in [`ValueKind::ALL`], for per-kind count arrays.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The kinds seen in a per-kind count array (indexed as [`ValueKind::ALL`]).
    pub fn count_map(counts: &[u64; 6]) -> std::collections::BTreeMap<ValueKind, u64> {
        ValueKind::ALL.into_iter().zip(*counts).filter(|(_, n)| *n > 0).collect()
    }

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::Integer => "integer",
            ValueKind::Float => "float",
            ValueKind::Boolean => "boolean",
            ValueKind::Datetime => "datetime",
            ValueKind::Vector => "vector",
            ValueKind::String => "string",
        }
    }
}

/// What classifying a value parsed on the way, so callers need not parse twice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Parsed {
    /// Nothing (booleans, strings).
    Nothing,
    /// The number of an integer or float.
    Number(f64),
    /// The sort key of a date (see [`parse_datetime`]).
    Date((i32, u32, u32, f64)),
}

/// Classifies a text value.
pub fn classify(text: &str) -> ValueKind {
    classify_parsed(text).0
}

/// Classifies a text value and returns what it parsed.
pub fn classify_parsed(text: &str) -> (ValueKind, Parsed) {
    if parse_bool(text).is_some() {
        return (ValueKind::Boolean, Parsed::Nothing);
    }
    let t = trim(text);
    if let Some(v) = parse_number(t) {
        let kind = if is_integer(t) { ValueKind::Integer } else { ValueKind::Float };
        return (kind, Parsed::Number(v));
    }
    if let Some(key) = parse_datetime(t) {
        return (ValueKind::Datetime, Parsed::Date(key));
    }
    (ValueKind::String, Parsed::Nothing)
}

/// `text.trim()`, without its search when the ends are plain ASCII (no
/// whitespace is, Unicode's included: those start with a byte of 0x80 up).
#[inline]
pub fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(&first), Some(&last)) if first > b' ' && first < 0x80 && last > b' ' && last < 0x80 => text,
        _ => text.trim(),
    }
}

fn is_integer(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a finite number (surrounding spaces allowed, as pandas allows).
pub fn parse_number(text: &str) -> Option<f64> {
    let t = trim(text);
    // Rust accepts "inf"/"nan"/"infinity"; data tools treat those as text.
    let first = *t.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if !t.bytes().any(|b| b.is_ascii_digit()) || t.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Parses the boolean spellings pandas reads by default.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A date or timestamp as a sortable key (year, month, day, seconds of day).
pub fn parse_datetime(text: &str) -> Option<(i32, u32, u32, f64)> {
    let t = trim(text);
    if t.len() < 8 || t.len() > 40 || !t.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Some(parsed) = parse_iso_datetime(t.as_bytes()) {
        return Some(parsed);
    }
    parse_datetime_general(t)
}

/// [`parse_datetime`] of a trimmed text of a plausible length, any shape.
fn parse_datetime_general(t: &str) -> Option<(i32, u32, u32, f64)> {
    let (date, time) = match t.bytes().position(|c| c == b'T' || c == b' ') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (y, m, d) = parse_date(date)?;
    let seconds = match time {
        None => 0.0,
        Some(time) => parse_time(time)?,
    };
    Some((y, m, d, seconds))
}

/// Layouts a date is written in ([`date_layout`]; 0 is none): the order
/// of year, month and day and the separator. Year-last dates whose first
/// number is over 12 are day-first, whose second is over 12 month-first;
/// others could be either.
pub const DATE_LAYOUTS: [&str; 10] = [
    "",
    "yyyy-mm-dd",
    "yyyy/mm/dd",
    "yyyy.mm.dd",
    "dd/mm/yyyy",
    "mm/dd/yyyy",
    "dd/mm/yyyy or mm/dd/yyyy",
    "dd.mm.yyyy",
    "mm.dd.yyyy",
    "dd.mm.yyyy or mm.dd.yyyy",
];

/// The layout (index into [`DATE_LAYOUTS`]) of a text [`parse_datetime`]
/// reads, its time of day aside; 0 for any other text.
pub fn date_layout(text: &str) -> u8 {
    let t = trim(text);
    let date = t.split(['T', ' ']).next().unwrap_or(t);
    let Some(sep) = date.bytes().find(|b| matches!(b, b'-' | b'/' | b'.')) else { return 0 };
    // (Called for every new date text of a stream: no allocation.)
    let mut split = date.split(sep as char);
    let (Some(first), Some(second), Some(third), None) = (split.next(), split.next(), split.next(), split.next()) else {
        return 0;
    };
    let parts = [first, second, third];
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    match (parts[0].len() == 4, parts[2].len() == 4, sep) {
        (true, _, b'-') => 1,
        (true, _, b'/') => 2,
        (true, _, _) => 3,
        (false, true, b'-') => 0,
        (false, true, sep) => {
            let base = if sep == b'/' { 4 } else { 7 };
            if number(parts[0]) > 12 {
                base
            } else if number(parts[1]) > 12 {
                base + 1
            } else {
                base + 2
            }
        }
        _ => 0,
    }
}

/// Counts `rows` rows of form `id` (0: none, not counted) in `rows`, and
/// keeps `text` as the form's first text where it is new (the date layouts'
/// and number shapes' bookkeeping).
fn count_form(rows_of: &mut [u64], first: &mut Vec<(u8, String)>, id: u8, rows: u64, text: &str) {
    if id == 0 {
        return;
    }
    rows_of[id as usize] += rows;
    if !first.iter().any(|f| f.0 == id) {
        first.push((id, text.to_string()));
    }
}

/// Adds a later part's rows of each form and its new forms' first texts.
fn merge_forms(rows_of: &mut [u64], first: &mut Vec<(u8, String)>, later_rows: &[u64], later_first: &[(u8, String)]) {
    for (mine, theirs) in rows_of.iter_mut().zip(later_rows) {
        *mine += theirs;
    }
    for (id, text) in later_first {
        if !first.iter().any(|f| f.0 == *id) {
            first.push((*id, text.clone()));
        }
    }
}

/// How many rows of a column write their dates in each layout, and the
/// first text of each layout in row order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DateLayouts {
    /// Rows per layout (indexed as [`DATE_LAYOUTS`]).
    pub rows: [u64; 10],
    /// (layout, its first text), in the order first seen.
    pub first: Vec<(u8, String)>,
}

impl DateLayouts {
    /// Notes `text`'s layout (if it is new, with `text` as its example)
    /// and counts `rows` rows of it.
    pub fn add(&mut self, layout: u8, rows: u64, text: &str) {
        count_form(&mut self.rows, &mut self.first, layout, rows, text);
    }

    /// Adds a later part's layouts.
    pub fn merge(&mut self, later: &DateLayouts) {
        merge_forms(&mut self.rows, &mut self.first, &later.rows, &later.first);
    }

    /// "dates are written 2 ways: 486 rows yyyy-mm-dd (e.g. "2021-01-05"),
    /// ..." where more than one layout is used (one that could be either
    /// order does not count beside one of the two it could be).
    pub fn message(&self) -> Option<String> {
        let used = |l: usize| self.rows[l] > 0;
        let counts = |l: usize| match l {
            6 => used(6) && !used(4) && !used(5),
            9 => used(9) && !used(7) && !used(8),
            _ => used(l),
        };
        let distinct = (1..DATE_LAYOUTS.len()).filter(|&l| counts(l)).count();
        if distinct < 2 {
            return None;
        }
        let mut shown: Vec<&(u8, String)> = self.first.iter().filter(|f| used(f.0 as usize)).collect();
        shown.sort_by_key(|f| std::cmp::Reverse(self.rows[f.0 as usize]));
        let parts: Vec<String> = shown
            .iter()
            .map(|(l, text)| {
                let rows = self.rows[*l as usize];
                format!(
                    "{rows} row{} {} (e.g. {:?})",
                    if rows == 1 { "" } else { "s" },
                    DATE_LAYOUTS[*l as usize],
                    crate::ingest::table::clip(text, 40)
                )
            })
            .collect();
        Some(format!("dates are written {distinct} ways: {}", parts.join(", ")))
    }
}

/// What a text value says of itself as a possible stand-in for a missing
/// value ([`missing_marker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Marker {
    /// An ordinary value.
    #[default]
    No,
    /// Written for "no value" in data entry: `?`, `-`, `.`, `unknown`,
    /// `n.a.`, `#VALUE!`, `0000-00-00`, ... (not pandas' own missing
    /// tokens, which are read as missing already).
    Missing,
    /// Punctuation only, but not such a marker (`+`, `=`, `+/-`): a column
    /// holding one uses symbols as codes, so its `-` may be a code too.
    Symbol,
}

/// Words (compared without case, spaces trimmed) that data entry writes
/// for a value nobody knew or gave. `none` is left out: it is an answer in
/// many columns (`extras: none`).
const MISSING_WORDS: &[&str] = &[
    "unknown", "na", "n/a", "#n/a", "n.a", "n.a.", "n/k", "n.k.", "not known", "not available", "not applicable",
    "not specified", "not recorded", "no data", "missing", "tbd", "tba", "undefined", "nil", "null", "nan",
    "(null)", "(none)", "(blank)", "<null>", "[null]", "#value!", "#ref!", "#div/0!", "#name?", "#num!", "#null!",
    "0000-00-00", "0000-00-00 00:00:00", "00/00/0000",
];

/// Characters that, written one to three times alone (`?`, `--`, `...`,
/// `*`), stand for a missing value.
const MISSING_PUNCTUATION: &[char] = &['?', '-', '.', '*', '_', '/', '\\', '~', '\u{2013}', '\u{2014}'];

/// Whether `text` (a value that is not missing by pandas' rules) is a
/// marker for a missing value, a symbol, or neither. Numbers, dates and
/// booleans are never markers; callers pass the texts classified as
/// strings.
pub fn missing_marker(text: &str) -> Marker {
    let t = trim(text);
    if t.is_empty() {
        // Spaces only: blank to a reader, a value to pandas.
        return if text.is_empty() { Marker::No } else { Marker::Missing };
    }
    if t.len() > 20 {
        return Marker::No;
    }
    if !t.chars().any(|c| c.is_alphanumeric()) {
        let chars = t.chars().count();
        let marker = chars <= 3 && t.chars().all(|c| MISSING_PUNCTUATION.contains(&c)) && t.chars().all(|c| c == t.chars().next().unwrap_or(c));
        return if marker { Marker::Missing } else { Marker::Symbol };
    }
    let first = t.as_bytes()[0].to_ascii_lowercase();
    if !matches!(first, b'u' | b'n' | b'm' | b't' | b'(' | b'<' | b'[' | b'#' | b'0') {
        return Marker::No;
    }
    if MISSING_WORDS.iter().any(|w| w.eq_ignore_ascii_case(t)) {
        Marker::Missing
    } else {
        Marker::No
    }
}

/// The markers for a missing value a column holds ([`missing_marker`]):
/// rows of each text, and whether the column also holds a symbol.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MissingMarkers {
    /// (text, rows), in the order first seen; at most [`MARKER_TEXTS`].
    pub texts: Vec<(String, u64)>,
    /// Rows of marker texts past the first [`MARKER_TEXTS`].
    pub other_rows: u64,
    /// A value of punctuation only that is not a marker was seen.
    pub symbols: bool,
}

/// Marker texts a column keeps by name.
pub const MARKER_TEXTS: usize = 16;

impl MissingMarkers {
    /// Counts `rows` rows of `text`, whose [`missing_marker`] is `marker`.
    pub fn add(&mut self, marker: Marker, rows: u64, text: &str) {
        match marker {
            Marker::No => {}
            Marker::Symbol => self.symbols = true,
            Marker::Missing => self.count(text, rows),
        }
    }

    /// Counts `rows` more rows of the marker `text`.
    pub fn count(&mut self, text: &str, rows: u64) {
        if let Some(t) = self.texts.iter_mut().find(|t| t.0 == text) {
            t.1 += rows;
        } else if self.texts.len() < MARKER_TEXTS {
            self.texts.push((text.to_string(), rows));
        } else {
            self.other_rows += rows;
        }
    }

    /// Adds a later part's markers.
    pub fn merge(&mut self, later: &MissingMarkers) {
        for (text, rows) in &later.texts {
            self.count(text, *rows);
        }
        self.other_rows += later.other_rows;
        self.symbols |= later.symbols;
    }

    /// "5 values look like markers for a missing value: "?" (3 rows), "-"
    /// (2 rows); ..." when the column holds any. Punctuation markers are
    /// left out of a column that writes other symbols (`+`, `-` as codes).
    pub fn message(&self) -> Option<String> {
        let punctuation = |t: &str| !t.chars().any(|c| c.is_alphanumeric());
        let mut kept: Vec<&(String, u64)> = self.texts.iter().filter(|(t, _)| !(self.symbols && punctuation(t))).collect();
        let rows = kept.iter().map(|t| t.1).sum::<u64>() + self.other_rows;
        if rows == 0 {
            return None;
        }
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        const SHOWN: usize = 5;
        let mut shown: Vec<String> = kept
            .iter()
            .take(SHOWN)
            .map(|(t, n)| format!("{:?} ({n} row{})", crate::ingest::table::clip(t, 40), if *n == 1 { "" } else { "s" }))
            .collect();
        if kept.len() > SHOWN || self.other_rows > 0 {
            shown.push("and others".into());
        }
        Some(format!(
            "{rows} value{} like a marker for a missing value: {}; counted as {}, not as missing",
            if rows == 1 { " reads" } else { "s read" },
            shown.join(", "),
            if rows == 1 { "a value" } else { "values" },
        ))
    }
}

/// Numbers written in a form that pandas and preflight read as text, by
/// [`number_shape`] id (0: none of them).
pub const NUMBER_SHAPES: [&str; 5] = ["", "a decimal comma", "thousands separators", "a currency sign", "a percent sign"];

/// Which of [`NUMBER_SHAPES`] a text is: `1,5` and `1.234,5` (a decimal
/// comma: digits after the comma other than three, or point-grouped
/// thousands before it), `1,500` and `12,000.50` (comma-grouped
/// thousands), `$1,200`, `€12`, `12,50 €` (a currency sign, before or
/// after), `45%` and `4,5 %` (a percent sign); 0 for anything else, plain
/// numbers included.
pub fn number_shape(text: &str) -> u8 {
    let t = trim(text);
    let Some(&first) = t.as_bytes().first() else { return 0 };
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'$' | 0xC2 | 0xE2)) {
        return 0; // (£ starts with 0xC2, € with 0xE2)
    }
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    for sign in ["$", "\u{20ac}", "\u{a3}", "\u{a5}"] {
        if let Some(rest) = unsigned.strip_prefix(sign).or_else(|| unsigned.strip_suffix(sign)) {
            return if grouped(rest.trim()).is_some() { 3 } else { 0 };
        }
    }
    if let Some(rest) = unsigned.strip_suffix('%') {
        return if grouped(rest.trim_end()).is_some() { 4 } else { 0 };
    }
    grouped(unsigned).unwrap_or(0)
}

/// An unsigned number written plainly (0), with a decimal comma (1) or
/// with comma-grouped thousands (2); `None` for anything else.
fn grouped(t: &str) -> Option<u8> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Groups of three after a first group of one to three.
    let groups = |s: &str, separator: char| {
        let mut parts = s.split(separator);
        let head = parts.next().unwrap_or("");
        let mut n = 0;
        (1..=3).contains(&head.len())
            && digits(head)
            && !head.starts_with('0')
            && parts.all(|g| {
                n += 1;
                g.len() == 3 && digits(g)
            })
            && n > 0
    };
    if digits(t) || (t.bytes().filter(|&b| b == b'.').count() == 1 && t.split('.').all(|p| p.is_empty() || digits(p)) && t.len() > 1) {
        return Some(0);
    }
    let comma_last = matches!((t.rfind(','), t.rfind('.')), (Some(c), Some(p)) if c > p) || !t.contains('.');
    if !comma_last {
        // 12,000.50
        let (int, frac) = t.split_once('.')?;
        return (groups(int, ',') && digits(frac)).then_some(2);
    }
    if let Some((int, frac)) = t.rsplit_once(',') {
        if !digits(frac) {
            return None;
        }
        if int.contains('.') {
            // 1.234,5
            return groups(int, '.').then_some(1);
        }
        if frac.len() == 3 && groups(t, ',') {
            return Some(2); // 1,500 and 1,500,000
        }
        return (digits(int) && !int.contains(',')).then_some(1);
    }
    None
}

/// How many rows of a column write numbers in each of [`NUMBER_SHAPES`],
/// and the first text of each shape in row order.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NumberShapes {
    /// Rows per shape (indexed as [`NUMBER_SHAPES`]).
    pub rows: [u64; 5],
    /// (shape, its first text), in the order first seen.
    pub first: Vec<(u8, String)>,
}

impl NumberShapes {
    /// Notes `text`'s shape (if new, with `text` as its example) and counts
    /// `rows` rows of it.
    pub fn add(&mut self, shape: u8, rows: u64, text: &str) {
        count_form(&mut self.rows, &mut self.first, shape, rows, text);
    }

    /// Adds a later part's shapes.
    pub fn merge(&mut self, later: &NumberShapes) {
        merge_forms(&mut self.rows, &mut self.first, &later.rows, &later.first);
    }

    /// "numbers written as text: 95 rows with a decimal comma (e.g.
    /// "1,5"), ..." where they are at least half of the column's `count`
    /// values, or any where the column is numeric (`numeric`): there they
    /// are the values that did not read as numbers.
    pub fn message(&self, count: u64, numeric: bool) -> Option<String> {
        let total: u64 = self.rows.iter().sum();
        if total == 0 || !(numeric || total * 2 >= count) {
            return None;
        }
        let mut shown: Vec<&(u8, String)> = self.first.iter().filter(|f| self.rows[f.0 as usize] > 0).collect();
        shown.sort_by_key(|f| std::cmp::Reverse(self.rows[f.0 as usize]));
        let parts: Vec<String> = shown
            .iter()
            .map(|(shape, text)| {
                let rows = self.rows[*shape as usize];
                format!(
                    "{rows} value{} with {} (e.g. {:?})",
                    if rows == 1 { "" } else { "s" },
                    NUMBER_SHAPES[*shape as usize],
                    crate::ingest::table::clip(text, 40)
                )
            })
            .collect();
        Some(format!(
            "numbers written in a form read as text (as pandas reads them): {}; they are not in the numeric statistics",
            parts.join(", ")
        ))
    }
}

/// The common shapes `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS` (or with a
/// `T`) read digit by digit: the same result as the general path below,
/// which `None` leaves the text to (any other shape, or a value out of
/// range, which the general path then rejects in the same way).
#[inline]
fn parse_iso_datetime(t: &[u8]) -> Option<(i32, u32, u32, f64)> {
    if t.len() != 10 && t.len() != 19 {
        return None;
    }
    let digits = |at: usize, n: usize| -> Option<u32> {
        t[at..at + n].iter().try_fold(0u32, |v, &b| b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0')))
    };
    if t[4] != b'-' || t[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1000..=9999).contains(&y) {
        return None;
    }
    if t.len() == 10 {
        return Some((y as i32, m, d, 0.0));
    }
    if !matches!(t[10], b'T' | b' ') || t[13] != b':' || t[16] != b':' {
        return None;
    }
    let (h, min, sec) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if h > 23 || min > 59 || sec >= 61 {
        return None;
    }
    Some((y as i32, m, d, f64::from(h * 3600 + min * 60 + sec)))
}

fn parse_date(date: &str) -> Option<(i32, u32, u32)> {
    // Every date form starts with a digit: most text leaves here.
    if !date.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    let sep = date.bytes().find(|b| matches!(b, b'-' | b'/' | b'.'))?;
    let mut parts = [""; 3];
    let mut count = 0;
    for part in date.split(sep as char) {
        if count == 3 || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[count] = part;
        count += 1;
    }
    if count != 3 {
        return None;
    }
    let mut nums = [0u32; 3];
    for (num, part) in nums.iter_mut().zip(parts) {
        *num = part.parse().ok()?;
    }
    let (y, m, d) = if parts[0].len() == 4 {
        (nums[0], nums[1], nums[2])
    } else if parts[2].len() == 4 && sep != b'-' {
        // d/m/y when the first part cannot be a month, else m/d/y.
        if nums[0] > 12 {
            (nums[2], nums[1], nums[0])
        } else {
            (nums[2], nums[0], nums[1])
        }
    } else {
        return None;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1000..=9999).contains(&y) {
        return None;
    }
    Some((y as i32, m, d))
}

fn parse_time(time: &str) -> Option<f64> {
    // Strip a zone suffix: Z, +hh:mm, -hhmm.
    let core = time.trim_end_matches('Z');
    let core = match core.rfind(['+', '-']) {
        Some(i) if i >= 5 => &core[..i],
        _ => core,
    };
    let mut parts = core.split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let s: f64 = match parts.next() {
        Some(seconds) => seconds.parse().ok()?,
        None => 0.0,
    };
    if parts.next().is_some() {
        return None;
    }
    if h > 23 || m > 59 || !(0.0..61.0).contains(&s) {
        return None;
    }
    Some(h as f64 * 3600.0 + m as f64 * 60.0 + s)
}

/// Parses a JSON numeric array's text (`[1,2.5]`) into f32s.
pub fn parse_vector(text: &str) -> Option<Vec<f32>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    inner.split(',').map(|p| p.trim().parse::<f32>().ok()).collect()
}

/// Counts of some bytes of a value, in one pass: what the column lengths
/// and the personal-data prefilter need, so that a value is read once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteCounts {
    /// ASCII digits.
    pub digits: usize,
    /// `@`.
    pub at: usize,
    /// `:`.
    pub colons: usize,
    /// `.`.
    pub dots: usize,
    /// `-`.
    pub dashes: usize,
    /// ASCII letters.
    pub letters: usize,
    /// ASCII spaces.
    pub spaces: usize,
    /// Bytes outside ASCII (0 for an ASCII text).
    pub non_ascii: usize,
}

impl ByteCounts {
    /// One pass over `b`: 16 bytes at a time with SIMD (SSE2 on x86_64,
    /// simd128 on wasm32 when built with it), else [`ByteCounts::scalar`].
    /// Most values are short: the last (or only) block is put together from
    /// overlapping reads, zero past the end (a zero byte is in no class).
    #[inline]
    pub fn of(b: &[u8]) -> ByteCounts {
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            simd_counts::of(b)
        }
        #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
        {
            ByteCounts::scalar(b)
        }
    }

    /// [`ByteCounts::of`] a byte at a time, in chunks whose one-byte
    /// counters cannot overflow (the reference of the SIMD pass).
    pub fn scalar(b: &[u8]) -> ByteCounts {
        let mut total = ByteCounts::default();
        for chunk in b.chunks(255) {
            let mut n = [0u8; 8];
            for &c in chunk {
                n[0] += u8::from(c.wrapping_sub(b'0') < 10);
                n[1] += u8::from(c == b'@');
                n[2] += u8::from(c == b':');
                n[3] += u8::from(c == b'.');
                n[4] += u8::from(c == b'-');
                n[5] += u8::from((c | 0x20).wrapping_sub(b'a') < 26);
                n[6] += u8::from(c == b' ');
                n[7] += u8::from(c >= 0x80);
            }
            total.add_lanes(n.map(usize::from));
        }
        total
    }

    /// Adds counts in field order (digits, at, colons, dots, dashes,
    /// letters, spaces, non-ASCII).
    #[inline]
    fn add_lanes(&mut self, n: [usize; 8]) {
        self.digits += n[0];
        self.at += n[1];
        self.colons += n[2];
        self.dots += n[3];
        self.dashes += n[4];
        self.letters += n[5];
        self.spaces += n[6];
        self.non_ascii += n[7];
    }
}

/// [`ByteCounts::of`] with 16-byte vectors: each class is a compare that
/// gives a mask of the matching bytes, counted with a population count of
/// its bit mask. A last block of fewer than 16 bytes is put together from
/// overlapping 8- or 4-byte reads (a copy into a zeroed block costs a call
/// in V8's wasm), zero in the lanes past the end: a zero byte is in none
/// of the classes.
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod simd_counts {
    use super::ByteCounts;
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::*;
    #[cfg(target_arch = "wasm32")]
    use std::arch::wasm32::*;

    #[cfg(target_arch = "x86_64")]
    type V = __m128i;
    #[cfg(target_arch = "wasm32")]
    type V = v128;

    /// The vector of bytes `lo` then `hi` (little-endian).
    #[inline(always)]
    fn from_words(lo: u64, hi: u64) -> V {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of x86_64.
        unsafe {
            _mm_set_epi64x(hi as i64, lo as i64)
        }
        #[cfg(target_arch = "wasm32")]
        u64x2(lo, hi)
    }

    #[inline(always)]
    fn word8(b: &[u8]) -> u64 {
        u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
    }

    #[inline(always)]
    fn word4(b: &[u8]) -> u64 {
        u64::from(u32::from_le_bytes(b[..4].try_into().expect("4 bytes")))
    }

    /// `block` (16 bytes) as a vector.
    #[inline(always)]
    fn load(block: &[u8]) -> V {
        from_words(word8(block), word8(&block[8..]))
    }

    /// `rest` (1 to 15 bytes) as a vector, zero past its end.
    #[inline(always)]
    fn load_partial(rest: &[u8]) -> V {
        let n = rest.len();
        debug_assert!((1..16).contains(&n));
        if n >= 8 {
            // The last 8 bytes, shifted so that only bytes 8.. are left (none
            // when n is 8: a shift by 64 would be no shift).
            from_words(word8(rest), word8(&rest[n - 8..]).checked_shr(8 * (16 - n) as u32).unwrap_or(0))
        } else if n >= 4 {
            from_words(word4(rest) | (word4(&rest[n - 4..]) >> (8 * (8 - n))) << 32, 0)
        } else {
            let mut lo = 0u64;
            for (i, &c) in rest.iter().enumerate() {
                lo |= u64::from(c) << (8 * i);
            }
            from_words(lo, 0)
        }
    }

    /// How many bytes of `v` are in each class, in
    /// [`ByteCounts::add_lanes`]' order.
    #[inline(always)]
    fn counts(v: V) -> [usize; 8] {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: SSE2 is part of x86_64.
        let masks = unsafe {
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            // Unsigned x < n  <=>  min(x, n - 1) == x.
            let below = |x: __m128i, n: u8| _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8((n - 1) as i8)), x);
            [
                below(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), 10),
                eq(b'@'),
                eq(b':'),
                eq(b'.'),
                eq(b'-'),
                below(_mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8(b'a' as i8)), 26),
                eq(b' '),
                _mm_cmplt_epi8(v, _mm_setzero_si128()),
            ]
            .map(|m| _mm_movemask_epi8(m) as u32)
        };
        #[cfg(target_arch = "wasm32")]
        let masks = {
            let eq = |c: u8| u8x16_eq(v, u8x16_splat(c));
            [
                u8x16_lt(u8x16_sub(v, u8x16_splat(b'0')), u8x16_splat(10)),
                eq(b'@'),
                eq(b':'),
                eq(b'.'),
                eq(b'-'),
                u8x16_lt(u8x16_sub(v128_or(v, u8x16_splat(0x20)), u8x16_splat(b'a')), u8x16_splat(26)),
                eq(b' '),
                i8x16_lt(v, i8x16_splat(0)),
            ]
            .map(|m| u32::from(u8x16_bitmask(m)))
        };
        masks.map(|m| m.count_ones() as usize)
    }

    #[inline(always)]
    pub(super) fn of(b: &[u8]) -> ByteCounts {
        let mut total = ByteCounts::default();
        let mut blocks = b.chunks_exact(16);
        for block in &mut blocks {
            total.add_lanes(counts(load(block)));
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            total.add_lanes(counts(load_partial(rest)));
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_written_as_text_are_told_apart() {
        for (text, shape) in [
            ("1,5", 1),
            ("-12,25", 1),
            ("1.234,5", 1),
            ("0,001", 1),
            ("1,500", 2),
            ("12,000,000", 2),
            ("12,000.50", 2),
            ("$1,200", 3),
            ("-$5", 3),
            ("\u{20ac}12", 3),
            ("12,50 \u{20ac}", 3),
            ("\u{a3}3.50", 3),
            ("45%", 4),
            ("4,5 %", 4),
            ("12", 0),
            ("1.5", 0),
            ("1,2,3", 0),
            ("12,0000", 1),
            ("1234,567", 1),
            ("abc", 0),
            ("$", 0),
            ("%", 0),
            ("1,50,000", 0),
            ("2021-01-05", 0),
            (",5", 0),
        ] {
            assert_eq!(number_shape(text), shape, "{text:?}");
        }
        let mut shapes = NumberShapes::default();
        shapes.add(1, 3, "1,5");
        shapes.add(2, 1, "1,500");
        shapes.add(1, 2, "2,25");
        assert_eq!(shapes.message(13, false), None, "a minority of a text column");
        assert_eq!(
            shapes.message(10, false).as_deref(),
            Some("numbers written in a form read as text (as pandas reads them): 5 values with a decimal comma (e.g. \"1,5\"), 1 value with thousands separators (e.g. \"1,500\"); they are not in the numeric statistics")
        );
        assert!(shapes.message(1000, true).is_some(), "the odd ones of a numeric column");
    }

    #[test]
    fn markers_for_missing_values() {
        for text in ["?", " ? ", "-", "--", "...", "*", "\u{2014}", "unknown", "UNKNOWN", "n.a.", " N/A", "N/a", "N/K", "na", "Not Available", "#VALUE!", "#DIV/0!", "0000-00-00", "(null)", "Null", "NAN", "tbd", " ", "\t  "] {
            assert_eq!(missing_marker(text), Marker::Missing, "{text:?}");
        }
        for text in ["+", "=", "+/-", "-?", "????", "<>", "()"] {
            assert_eq!(missing_marker(text), Marker::Symbol, "{text:?}");
        }
        for text in ["", "none", "None at all", "unknowns", "nan bread", "x", "A-", "n", "0", "not", "tbd later", "-1"] {
            assert_eq!(missing_marker(text), Marker::No, "{text:?}");
        }
        // Each text's rows; the rest past the cap counted together.
        let mut m = MissingMarkers::default();
        for i in 0..MARKER_TEXTS + 2 {
            m.count(&"?".repeat(i % 3 + 1), 1);
            m.count(&format!("x{i}"), 2);
        }
        assert_eq!(m.texts.len(), MARKER_TEXTS);
        assert_eq!(m.texts.iter().map(|t| t.1).sum::<u64>() + m.other_rows, 3 * (MARKER_TEXTS as u64 + 2));
        let mut merged = MissingMarkers::default();
        merged.count("?", 4);
        merged.merge(&MissingMarkers { texts: vec![("?".into(), 1), ("-".into(), 2)], other_rows: 0, symbols: true });
        assert_eq!(merged.texts, vec![("?".to_string(), 5), ("-".to_string(), 2)]);
        assert!(merged.symbols);
        assert_eq!(merged.message(), None, "punctuation beside other symbols");
    }

    #[test]
    fn date_layouts_are_told_apart() {
        let cases = [
            ("2021-01-05", 1),
            ("2021-1-5 10:00", 1),
            ("2021-01-05T10:00:00Z", 1),
            ("2021/01/05", 2),
            ("2021.01.05", 3),
            ("25/01/2021", 4),
            ("01/25/2021", 5),
            ("01/05/2021", 6),
            ("25.01.2021", 7),
            ("01.25.2021", 8),
            ("05.01.2021 08:00", 9),
            ("hello", 0),
        ];
        for (text, want) in cases {
            assert_eq!(date_layout(text), want, "{text}");
            if want != 0 {
                assert!(parse_datetime(text).is_some(), "{text} is a date");
            }
        }
        let mut l = DateLayouts::default();
        l.add(1, 480, "2021-01-05");
        assert_eq!(l.message(), None, "one layout");
        // Ambiguous day/month dates beside day-first ones are one layout.
        l.add(4, 3, "25/01/2021");
        assert!(l.message().is_some());
        let mut only_slashes = DateLayouts::default();
        only_slashes.add(6, 10, "01/05/2021");
        only_slashes.add(4, 2, "25/01/2021");
        assert_eq!(only_slashes.message(), None);
        only_slashes.add(5, 1, "01/25/2021");
        assert_eq!(
            only_slashes.message().as_deref(),
            Some("dates are written 2 ways: 10 rows dd/mm/yyyy or mm/dd/yyyy (e.g. \"01/05/2021\"), 2 rows dd/mm/yyyy (e.g. \"25/01/2021\"), 1 row mm/dd/yyyy (e.g. \"01/25/2021\")")
        );
        let mut later = DateLayouts::default();
        later.add(2, 5, "2020/12/31");
        l.merge(&later);
        assert_eq!((l.rows[1], l.rows[2], l.first.len()), (480, 5, 3));
    }

    #[test]
    fn byte_counts_match_the_scalar_pass() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: &[u8] = b"09@:.-aAzZ `{/[ \x80\xff\x00\x7f";
        for len in (0..70).chain([255, 256, 4079, 4080, 4081, 4096, 9000]) {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = next();
                        if r % 4 == 0 { (r >> 8) as u8 } else { alphabet[(r >> 8) as usize % alphabet.len()] }
                    })
                    .collect();
                assert_eq!(ByteCounts::of(&bytes), ByteCounts::scalar(&bytes), "{bytes:?}");
            }
        }
        let digits = vec![b'7'; 5000];
        assert_eq!(ByteCounts::of(&digits).digits, 5000);
    }

    #[test]
    fn the_iso_fast_path_reads_dates_as_the_general_path_does() {
        let mut texts: Vec<String> = [
            "2024-05-24", "2024-05-24 13:11:52", "2024-05-24T00:00:00", "1000-01-01", "9999-12-31T23:59:60",
            "2024-13-01", "2024-00-10", "2024-02-32", "0999-01-01", "2024-05-24 24:00:00", "2024-05-24 23:60:00",
            "2024-05-24 23:59:61", "2024-05-24X13:11:52", "2024/05/24", "2024-5-24", "24-05-2024", "2024-05-24 13:11",
            "2024-05-24 13:11:5Z", "2024-05-24 13-11-52", "2024-05-24  3:11:52", "2024-05-24 +3:11:52", "abcd-ef-gh",
            "2024-05-2a",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every digit position through a few values, and a separator swapped.
        let base = *b"2024-05-24 13:11:52";
        for at in 0..base.len() {
            for b in [b'0', b'1', b'2', b'3', b'5', b'6', b'9', b'-', b':', b' ', b'T', b'+'] {
                let mut t = base;
                t[at] = b;
                texts.push(String::from_utf8(t.to_vec()).unwrap());
                texts.push(String::from_utf8(t[..10].to_vec()).unwrap());
            }
        }
        let mut fast = 0;
        for text in &texts {
            let general = parse_datetime_general(text);
            if let Some(parsed) = parse_iso_datetime(text.as_bytes()) {
                fast += 1;
                assert_eq!(Some(parsed), general, "{text}");
                assert_eq!(parsed.3.to_bits(), general.unwrap().3.to_bits(), "{text}");
            }
            if !text.starts_with(' ') && !text.ends_with(' ') {
                assert_eq!(parse_datetime(text), general, "{text}");
            }
        }
        assert!(fast > 100, "the fast path read only {fast} texts");
    }

    /// The byte counts equal a plain count, across the 255-byte chunks.
    #[test]
    fn byte_counts_match_a_plain_count() {
        let alphabet = b"0123456789@:.-aZz`{/ \xc3\xa9";
        let mut next = crate::xorshift64(0x2545_f491_4f6c_dd1du64);
        for len in [0usize, 1, 15, 16, 254, 255, 256, 600, 1000] {
            let text: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let count = |f: fn(&u8) -> bool| text.iter().filter(|c| f(c)).count();
            let expected = ByteCounts {
                digits: count(|c| c.is_ascii_digit()),
                at: count(|&c| c == b'@'),
                colons: count(|&c| c == b':'),
                dots: count(|&c| c == b'.'),
                dashes: count(|&c| c == b'-'),
                letters: count(|c| c.is_ascii_alphabetic()),
                spaces: count(|&c| c == b' '),
                non_ascii: count(|&c| c >= 0x80),
            };
            assert_eq!(ByteCounts::of(&text), expected, "length {len}");
        }
    }

    #[test]
    fn trim_is_str_trim() {
        for text in ["", " ", "a", " a ", "\ta\n", "a\u{a0}", "\u{3000}b", "\u{85}", "x\u{2029}", "é", " é ", "\u{7f}"] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
    }

    #[test]
    fn kinds() {
        assert_eq!(classify("42"), ValueKind::Integer);
        assert_eq!(classify("-7"), ValueKind::Integer);
        assert_eq!(classify("3.5"), ValueKind::Float);
        assert_eq!(classify("1e-3"), ValueKind::Float);
        assert_eq!(classify("True"), ValueKind::Boolean);
        assert_eq!(classify("2024-02-29"), ValueKind::Datetime);
        assert_eq!(classify("2024-02-29T10:11:12Z"), ValueKind::Datetime);
        assert_eq!(classify("2024-02-29 10:11:12.5+01:00"), ValueKind::Datetime);
        assert_eq!(classify("31/12/2020"), ValueKind::Datetime);
        assert_eq!(classify("inf"), ValueKind::String);
        assert_eq!(classify("NaNa"), ValueKind::String);
        assert_eq!(classify("12abc"), ValueKind::String);
        assert_eq!(classify("2024-13-01"), ValueKind::String);
        assert_eq!(classify("hello world"), ValueKind::String);
    }

    #[test]
    fn vectors() {
        assert_eq!(parse_vector("[1,2.5,-3e0]"), Some(vec![1.0, 2.5, -3.0]));
        assert_eq!(parse_vector("[1,\"a\"]"), None);
    }
}
