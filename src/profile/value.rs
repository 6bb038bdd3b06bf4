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
    let t = text.trim();
    if let Some(v) = parse_number(t) {
        let kind = if is_integer(t) { ValueKind::Integer } else { ValueKind::Float };
        return (kind, Parsed::Number(v));
    }
    if let Some(key) = parse_datetime(t) {
        return (ValueKind::Datetime, Parsed::Date(key));
    }
    (ValueKind::String, Parsed::Nothing)
}

fn is_integer(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a finite number (surrounding spaces allowed, as pandas allows).
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
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
    let t = text.trim();
    if t.len() < 8 || t.len() > 40 {
        return None;
    }
    let (date, time) = match t.find(['T', ' ']) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
