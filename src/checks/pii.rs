//! Personal data (PII) in the values and the column names.
//!
//! Every value of every column is scanned (no sample) by small hand-written
//! detectors: email addresses, phone numbers, payment card numbers, IBANs,
//! US social security numbers, IPv4 and IPv6 addresses, found anywhere in a
//! value (a sentence holding an email counts). Column names are split into
//! tokens (snake, kebab, camel case) and matched against words that name
//! personal data ([`name_hint`]).
//!
//! The detectors favour precision on data they have never seen:
//!
//! - a **card** needs 13-19 digits (spaces or dashes between groups of 4-6
//!   allowed), a known issuer prefix with a length that issuer uses, and the
//!   Luhn check; in a column, cards written as bare digits (no grouping) count
//!   only when at least half of the bare issuer-prefixed numbers of that
//!   length pass Luhn (random ids pass it one time in ten, real cards always);
//! - a **phone** needs phone-like writing: a leading `+` and country code, an
//!   area code in parentheses, the North American 3-3-4 grouping, or a
//!   grouped national number starting with 0 (ending in a group of 2 or
//!   more digits; after `00`, a country code not starting with 0); any 7-15
//!   digit number counts only in a column named like a phone column or
//!   after a phone word (`call me on 4155552671`, `tel:`). Dates
//!   (`2023-01-05`, `05.01.2023`), times, decimals, versions and MAC
//!   addresses (`01-23-45-67-89-ab`) are refused;
//! - an **IPv4** address is 4 octets 0-255 (no leading zeros, first octet not
//!   0), not part of a longer dotted number, not after a word like `version`,
//!   and not in a column named like a version;
//! - an **IPv6** address is the full 8-group form or a compressed (`::`) form
//!   with a 4-digit group or 3 or more groups (or an embedded IPv4), holding
//!   at least one decimal digit (so `dead::beef` and C++ paths are not);
//! - an **IBAN** is a country code, 2 check digits and the country's length,
//!   optionally in space-separated groups of 4, with mod-97 remainder 1;
//! - an **SSN** is `AAA-GG-SSSS` outside the never-issued ranges (area 000,
//!   666, 900-999; group 00; serial 0000); 9 bare digits only in a column
//!   named like an SSN column;
//! - an **email** is `local@domain.tld` with a letter TLD of 2-24 characters
//!   that is not an image file extension (`icon@2x.png`).
//!
//! Matches never overlap: where two detectors claim the same characters the
//! more specific one wins (email, IBAN, card, SSN, IPv6, IPv4, phone).
//!
//! The report quotes matches only masked ([`mask`]); [`redact_report`] masks
//! every string of a finished report that holds a match, and every value
//! quoted from a column with findings or a name hint (top values, row
//! values, duplicate texts...), and withholds such a column's numeric and
//! date statistics; so nothing downstream (JSON, HTML, the page, the JS API)
//! shows a raw value.

use crate::ingest::{Cell, Table};
use crate::report::{
    Alert, ColumnProfile, ColumnType, CompareReport, FlaggedRow, Pii, PiiFinding, PiiNameHint, Report,
};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use crate::memo::{Memo, MEMO_MAX_LEN};
use crate::profile::value::{parse_datetime, ByteCounts};

/// A kind of personal data the value detectors find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number.
    Card,
    /// An international bank account number.
    Iban,
    /// A US social security number.
    Ssn,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 7] = [Kind::Email, Kind::Phone, Kind::Card, Kind::Iban, Kind::Ssn, Kind::Ipv4, Kind::Ipv6];

    /// The name used in the report: "email", "phone", "card", "iban", "ssn",
    /// "ipv4", "ipv6".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ssn => "ssn",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
        }
    }

    /// The kind named `name` (see [`Kind::name`]).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// This kind's bit in a row's kind set ([`RowKinds`]).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Which detector wins an overlap: lower first.
    fn priority(self) -> u8 {
        match self {
            Kind::Email => 0,
            Kind::Iban => 1,
            Kind::Card => 2,
            Kind::Ssn => 3,
            Kind::Ipv6 => 4,
            Kind::Ipv4 => 5,
            Kind::Phone => 6,
        }
    }
}

/// Each row's kinds as a bit set ([`Kind::bit`]), over all columns.
pub type RowKinds = Vec<u8>;

/// The kinds in `bits`, `;`-joined in report order (empty for none): the
/// `pii_kinds` column of the per-row CSV.
pub fn kinds_of(bits: u8) -> String {
    let names: Vec<&str> = Kind::ALL.into_iter().filter(|k| bits & k.bit() != 0).map(Kind::name).collect();
    names.join(";")
}

/// Appends [`kinds_of`]`(bits)` to `out`, without allocating.
pub fn write_kinds(bits: u8, out: &mut Vec<u8>) {
    let mut first = true;
    for kind in Kind::ALL.into_iter().filter(|k| bits & k.bit() != 0) {
        if !first {
            out.push(b';');
        }
        first = false;
        out.extend_from_slice(kind.name().as_bytes());
    }
}

/// One match in a text: byte range `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// What was found.
    pub kind: Kind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
    /// A card written as bare digits, without grouping (the column-level
    /// Luhn rate decides whether those count).
    pub bare: bool,
}

/// What the column a value comes from says about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The column is named like a phone column: any 7-15 digit number is a phone.
    pub phone_column: bool,
    /// The column is named like an SSN column: 9 bare digits are an SSN.
    pub ssn_column: bool,
    /// The column is named like a version column: no IPv4 addresses.
    pub version_column: bool,
}

/// Every match in `text`, non-overlapping, in text order.
pub fn find(text: &str, context: Context) -> Vec<Match> {
    let mut out = Vec::new();
    scan_value(text, context, &mut out);
    out
}

/// What a value held besides its matches.
#[derive(Debug, Clone, Copy, Default)]
struct ValueScan {
    /// A bare 13-19 digit number with a card issuer's prefix and length,
    /// whether or not it passes Luhn.
    bare_card_candidate: bool,
}

/// Fills `out` (cleared first) with the matches in `text`.
fn scan_value(text: &str, context: Context, out: &mut Vec<Match>) -> ValueScan {
    scan_counted(text, &ByteCounts::of(text.as_bytes()), None, context, out)
}

/// [`scan_value`] with the value's byte counts known, and whether it is a
/// date (`parse_datetime`) when the caller knows.
fn scan_counted(
    text: &str,
    counts: &ByteCounts,
    date: Option<bool>,
    context: Context,
    out: &mut Vec<Match>,
) -> ValueScan {
    out.clear();
    let b = text.as_bytes();
    // Byte-level prefilter: each detector runs only when the value holds
    // what its matches need.
    let ByteCounts { digits, at, letters, .. } = *counts;
    if digits == 0 && at == 0 {
        return ValueScan::default();
    }
    // A date or date-time (`2024-05-24 13:11:52`, `31/12/2020`) is none of
    // the kinds, but has the digits and separators that wake the phone,
    // card, SSN and IPv6 detectors: one parse settles it.
    if at == 0
        && letters <= 2
        && digits >= 6
        && b[0].is_ascii_digit()
        && date.unwrap_or_else(|| parse_datetime(text).is_some())
    {
        return ValueScan::default();
    }
    run_detectors(b, counts, context, out)
}

/// Whether no detector of [`run_detectors`] can match `b`, seen from its
/// length and two bytes alone: under 7 bytes (the fewest any detector
/// needs but the email's, which needs an `@`, and IPv6's, which needs two
/// `:`), with neither. Most cells of a numeric or coded column pass.
#[inline]
fn cannot_match(b: &[u8]) -> bool {
    b.len() < 7 && !b.iter().any(|&c| c == b'@' || c == b':')
}

/// The detectors that the byte counts `n` of `b` allow, into `out`.
fn run_detectors(b: &[u8], n: &ByteCounts, context: Context, out: &mut Vec<Match>) -> ValueScan {
    let ByteCounts { digits, at, colons, dots, dashes, letters, .. } = *n;
    let mut scan = ValueScan::default();
    if at > 0 {
        find_emails(b, out);
    }
    if digits >= 7 {
        find_phones(b, context, out);
    }
    if digits >= 12 {
        scan.bare_card_candidate = find_cards(b, out);
    }
    if digits >= 2 && letters >= 2 && b.len() >= 15 {
        find_ibans(b, out);
    }
    if digits >= 9 && (dashes >= 2 || context.ssn_column) {
        find_ssns(b, context, out);
    }
    if digits >= 4 && dots >= 3 && !context.version_column {
        find_ipv4s(b, out);
    }
    if colons >= 2 {
        find_ipv6s(b, out);
    }
    if out.len() > 1 {
        resolve_overlaps(out);
    }
    scan
}

/// Keeps the best of overlapping matches (by [`Kind::priority`], then the
/// longer, then the earlier), in text order.
fn resolve_overlaps(out: &mut Vec<Match>) {
    out.sort_by_key(|m| (m.kind.priority(), std::cmp::Reverse(m.end - m.start), m.start));
    let mut kept: Vec<Match> = Vec::with_capacity(out.len());
    for m in out.iter() {
        if kept.iter().all(|k| m.end <= k.start || m.start >= k.end) {
            kept.push(*m);
        }
    }
    kept.sort_by_key(|m| m.start);
    *out = kept;
}

/// Letters, digits, `_` and any non-ASCII byte: what continues a word.
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

/// Whether a number may start at `i`: not inside a word, not the fraction
/// of a decimal (`3.14`, `3,14`).
fn number_starts(b: &[u8], i: usize) -> bool {
    if i == 0 {
        return true;
    }
    let p = b[i - 1];
    !(is_word(p) || (matches!(p, b'.' | b',') && i >= 2 && b[i - 2].is_ascii_digit()))
}

/// Whether a number may end at `end`: not followed by a word character, nor
/// by `.`, `,`, `:`, `/` or `-` and a digit (decimals, times, dates, longer
/// dotted or dashed numbers).
fn number_ends(b: &[u8], end: usize) -> bool {
    match b.get(end) {
        None => true,
        Some(&c) if is_word(c) => false,
        Some(&c) => !(matches!(c, b'.' | b',' | b':' | b'/' | b'-') && digit_at(b, end + 1)),
    }
}

// ------------------------------------------------------------------ email

/// Top-level "domains" that are image file extensions: `icon@2x.png` is a
/// file name, not an address.
const FILE_EXTENSIONS: [&str; 9] = ["png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "tif", "tiff"];

fn is_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

fn find_emails(b: &[u8], out: &mut Vec<Match>) {
    for at in (0..b.len()).filter(|&i| b[i] == b'@') {
        let mut start = at;
        while start > 0 && is_local_char(b[start - 1]) {
            start -= 1;
        }
        while start < at && matches!(b[start], b'.' | b'-' | b'+') {
            start += 1;
        }
        let mut end = at + 1;
        while end < b.len() && is_domain_char(b[end]) {
            end += 1;
        }
        // A sentence's full stop or a dash after the address is not part of it.
        while end > at + 1 && matches!(b[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let (local, domain) = (&b[start..at], &b[at + 1..end]);
        if valid_local(local) && valid_domain(domain) {
            out.push(Match { kind: Kind::Email, start, end, bare: false });
        }
    }
}

fn valid_local(local: &[u8]) -> bool {
    !local.is_empty() && local.len() <= 64 && !local.ends_with(b".") && !local.windows(2).any(|w| w == b"..")
}

fn valid_domain(domain: &[u8]) -> bool {
    if domain.len() > 253 {
        return false;
    }
    let labels: Vec<&[u8]> = domain.split(|&c| c == b'.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&[u8]| !l.is_empty() && l.len() <= 63 && !l.starts_with(b"-") && !l.ends_with(b"-");
    let tld = labels[labels.len() - 1];
    labels.iter().all(label_ok)
        && (2..=24).contains(&tld.len())
        && tld.iter().all(u8::is_ascii_alphabetic)
        && !FILE_EXTENSIONS.iter().any(|e| e.as_bytes().eq_ignore_ascii_case(tld))
}

// ------------------------------------------------------------------ cards

/// Finds cards; returns whether a bare issuer-prefixed number of a right
/// length was seen (Luhn aside).
fn find_cards(b: &[u8], out: &mut Vec<Match>) -> bool {
    let mut bare_candidate = false;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || !card_starts(b, i) {
            i += 1;
            continue;
        }
        let run = digit_run(b, i, 19);
        let digits = &run.digits[..run.count];
        let grouped = run.groups > 1;
        let shape_ok = !run.too_long && run.count >= 13 && number_ends(b, run.end) && (!grouped || run.grouping_ok());
        if shape_ok && issuer_ok(digits) {
            if !grouped {
                bare_candidate = true;
            }
            if luhn(digits) {
                out.push(Match { kind: Kind::Card, start: i, end: run.end, bare: !grouped });
                i = run.end;
                continue;
            }
        }
        // Try again from the next group (`order 12 4111 1111 ...`), or after
        // the whole number.
        i = if grouped { run.second_group } else { skip_digits(b, i) };
    }
    bare_candidate
}

/// A card starts where a number may, not after a `+` (a phone's country
/// code) nor after a dash that follows a digit (inside a longer number); a
/// space before it may follow a number (a card after an unrelated number).
fn card_starts(b: &[u8], i: usize) -> bool {
    number_starts(b, i) && !(i >= 1 && b[i - 1] == b'+') && !(i >= 2 && b[i - 1] == b'-' && b[i - 2].is_ascii_digit())
}

fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Digits separated by single spaces or dashes (one kind), from `start`.
struct DigitRun {
    digits: [u8; 20],
    count: usize,
    /// More than `max` digits.
    too_long: bool,
    end: usize,
    groups: usize,
    group_lens: [u8; 20],
    /// Where the second group starts (`end` when there is one group).
    second_group: usize,
}

impl DigitRun {
    /// Card grouping: first group of 4, middle groups of 4-6, last of 1-6.
    fn grouping_ok(&self) -> bool {
        let lens = &self.group_lens[..self.groups];
        lens[0] == 4
            && lens[1..lens.len() - 1].iter().all(|&l| (4..=6).contains(&l))
            && (1..=6).contains(&lens[lens.len() - 1])
    }
}

fn digit_run(b: &[u8], start: usize, max: usize) -> DigitRun {
    let mut run = DigitRun {
        digits: [0; 20],
        count: 0,
        too_long: false,
        end: start,
        groups: 1,
        group_lens: [0; 20],
        second_group: start,
    };
    let mut separator = None;
    let mut j = start;
    while j < b.len() {
        let c = b[j];
        if c.is_ascii_digit() {
            if run.count == max {
                run.too_long = true;
                break;
            }
            run.digits[run.count] = c - b'0';
            run.count += 1;
            run.group_lens[run.groups - 1] += 1;
            j += 1;
        } else if matches!(c, b' ' | b'-')
            && separator.is_none_or(|s| s == c)
            && digit_at(b, j + 1)
            && run.groups < run.group_lens.len()
        {
            separator = Some(c);
            if run.groups == 1 {
                run.second_group = j + 1;
            }
            run.groups += 1;
            j += 1;
        } else {
            break;
        }
    }
    run.end = j;
    if run.groups == 1 {
        run.second_group = j;
    }
    run
}

/// Whether the number starts with a card issuer's prefix and has a length
/// that issuer uses (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay,
/// Maestro, Mir).
fn issuer_ok(d: &[u8]) -> bool {
    let n = d.len();
    if n < 13 {
        return false;
    }
    let p = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let (p2, p3, p4) = (p(2), p(3), p(4));
    let long = (16..=19).contains(&n);
    match d[0] {
        4 => matches!(n, 13 | 16 | 19),
        5 => ((51..=55).contains(&p2) && n == 16) || [5018, 5020, 5038, 5893].contains(&p4),
        2 => ((2221..=2720).contains(&p4) && n == 16) || ((2200..=2204).contains(&p4) && long),
        3 => {
            ((p2 == 34 || p2 == 37) && n == 15)
                || ((3528..=3589).contains(&p4) && long)
                || (((300..=305).contains(&p3) || p4 == 3095 || matches!(p2, 36 | 38 | 39)) && n >= 14)
        }
        6 => {
            ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || p2 == 62) && long)
                || [6304, 6759, 6761, 6762, 6763].contains(&p4)
        }
        _ => false,
    }
}

/// The Luhn check of a digit sequence (digit values, not ASCII).
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let v = u32::from(x) * if i % 2 == 1 { 2 } else { 1 };
            if v > 9 {
                v - 9
            } else {
                v
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

// ------------------------------------------------------------------ phones

fn find_phones(b: &[u8], context: Context, out: &mut Vec<Match>) {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let can_start = (c.is_ascii_digit() || c == b'+' || c == b'(')
            && (i == 0 || !(is_word(b[i - 1]) || matches!(b[i - 1], b'.' | b',' | b'-' | b'/' | b'+' | b'@' | b'#')));
        if !can_start {
            i += 1;
            continue;
        }
        match phone_at(b, i, context) {
            Some(end) => {
                out.push(Match { kind: Kind::Phone, start: i, end, bare: false });
                i = end;
            }
            None => i = skip_digits(b, i + 1),
        }
    }
}

/// A few bytes on the stack: a phone's digit-group lengths or separators
/// (a phone is at most 32 characters, so never more).
#[derive(Default)]
struct ShortBytes {
    items: [u8; 32],
    len: usize,
}

impl ShortBytes {
    fn push(&mut self, b: u8) {
        if self.len < self.items.len() {
            self.items[self.len] = b;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.items[..self.len]
    }
}

/// The end of a phone number starting at `i`, if one does.
fn phone_at(b: &[u8], i: usize, context: Context) -> Option<usize> {
    const MAX_CHARS: usize = 32;
    let plus = b[i] == b'+';
    let mut j = i + usize::from(plus);
    if !(digit_at(b, j) || (b.get(j) == Some(&b'(') && digit_at(b, j + 1))) {
        return None;
    }
    let mut groups = ShortBytes::default();
    let mut separators = ShortBytes::default();
    let (mut digits, mut in_paren, mut paren_used) = (0usize, false, false);
    let (mut paren_digits, mut after_paren, mut before_paren) = (0usize, 0usize, 0usize);
    let mut current = 0u8;
    #[derive(PartialEq)]
    enum Prev {
        Start,
        Digit,
        Separator,
        Open,
        Close,
    }
    let mut prev = Prev::Start;
    let close_group = |current: &mut u8, groups: &mut ShortBytes| {
        if *current > 0 {
            groups.push(*current);
            *current = 0;
        }
    };
    while j < b.len() {
        if j - i >= MAX_CHARS {
            return None;
        }
        let c = b[j];
        if c.is_ascii_digit() {
            digits += 1;
            current = current.saturating_add(1);
            if in_paren {
                paren_digits += 1;
            } else if paren_used {
                after_paren += 1;
            } else {
                before_paren += 1;
            }
            prev = Prev::Digit;
        } else if matches!(c, b' ' | b'-' | b'.')
            && (prev == Prev::Digit || (prev == Prev::Close && c != b'.'))
            && (digit_at(b, j + 1) || (c == b' ' && b.get(j + 1) == Some(&b'(') && !paren_used))
        {
            close_group(&mut current, &mut groups);
            if prev == Prev::Digit {
                separators.push(c);
            }
            prev = Prev::Separator;
        } else if c == b'(' && !paren_used && prev != Prev::Digit && digit_at(b, j + 1) {
            close_group(&mut current, &mut groups);
            in_paren = true;
            paren_used = true;
            prev = Prev::Open;
        } else if c == b')' && in_paren && prev == Prev::Digit {
            close_group(&mut current, &mut groups);
            in_paren = false;
            prev = Prev::Close;
        } else {
            break;
        }
        j += 1;
    }
    close_group(&mut current, &mut groups);
    let (groups, separators) = (groups.as_slice(), separators.as_slice());
    // A dash or colon and a letter after the digits: part of a longer token
    // (the MAC address `01-23-45-67-89-ab`), not a phone.
    let token_goes_on = matches!(b.get(j), Some(b'-' | b':')) && b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric);
    if in_paren || !(7..=15).contains(&digits) || !number_ends(b, j) || token_goes_on || date_like(groups, separators)
    {
        return None;
    }
    let one_separator = separators.windows(2).all(|w| w[0] == w[1]);
    if plus {
        return (8..=15).contains(&digits).then_some(j);
    }
    if paren_used {
        return ((2..=5).contains(&paren_digits) && after_paren >= 7 && before_paren <= 3).then_some(j);
    }
    let first = b[i];
    let nanp = one_separator
        && (groups == [3, 3, 4] && first != b'0' && first != b'1' || groups == [1, 3, 3, 4] && first == b'1');
    if nanp {
        return Some(j);
    }
    // A national number ends in a group of 2 or more digits (an ISBN,
    // `0-306-40615-2`, ends in one); after `00` a country code, which never
    // starts with 0 (`0001 2345 6789` is an id).
    let mut leading = b[i..j].iter().filter(|c| c.is_ascii_digit());
    let international = b.get(i + 1) == Some(&b'0');
    let country_ok = !international || leading.nth(2).is_some_and(|&c| c != b'0');
    if first == b'0'
        && groups.len() >= 2
        && one_separator
        && (separators[0] != b'.' || groups.len() >= 4)
        && groups[groups.len() - 1] >= 2
        && country_ok
    {
        // National numbers with their 0 have 9 to 12 digits (German mobiles
        // `0176 12345678` have 12).
        let range = if international { 10..=15 } else { 9..=12 };
        if range.contains(&digits) {
            return Some(j);
        }
    }
    if context.phone_column || after_phone_word(b, i) {
        // A decimal is not a phone, even in a phone column.
        let decimal = groups.len() == 2 && separators == [b'.'];
        return (one_separator && !decimal).then_some(j);
    }
    None
}

/// Words after which a number, even written as bare digits, is a phone
/// (`call me on 4155552671`, `tel: 030 1234567`).
const PHONE_WORDS: [&str; 16] = [
    "call", "phone", "telephone", "tel", "mobile", "mob", "cell", "cellphone", "whatsapp", "sms", "text", "fax",
    "ph", "ring", "contact", "landline",
];

/// Words that may stand between a phone word and the number (`call me on`,
/// `phone no.`, `mobile number is`).
const PHONE_FILLERS: [&str; 10] = ["me", "us", "on", "at", "no", "nr", "number", "is", "my", "num"];

/// Whether the number at `i` follows a phone word ([`PHONE_WORDS`]), with at
/// most two filler words ([`PHONE_FILLERS`]) and punctuation between.
fn after_phone_word(b: &[u8], i: usize) -> bool {
    let mut k = i;
    for _ in 0..3 {
        while k > 0 && matches!(b[k - 1], b' ' | b':' | b'=' | b'#' | b'.' | b',' | b'\t') {
            k -= 1;
        }
        let end = k;
        while k > 0 && b[k - 1].is_ascii_alphabetic() {
            k -= 1;
        }
        let word = &b[k..end];
        if word.is_empty() || (k > 0 && is_word(b[k - 1])) {
            return false;
        }
        let is = |words: &[&str]| words.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(word));
        if is(&PHONE_WORDS) {
            return true;
        }
        if !is(&PHONE_FILLERS) {
            return false;
        }
    }
    false
}

/// Year-month-day or day-month-year with one separator, `-` or `.`
/// (`2023-01-05`, `05.01.2023`), possibly followed by more numbers (a time).
fn date_like(groups: &[u8], separators: &[u8]) -> bool {
    groups.len() >= 3
        && separators.len() >= 2
        && separators[0] == separators[1]
        && separators[0] != b' '
        && ((groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2)
            || (groups[0] <= 2 && groups[1] <= 2 && groups[2] == 4))
}

// ------------------------------------------------------------------ IBAN

/// IBAN length by country (SWIFT's IBAN registry).
fn iban_length(country: [u8; 2]) -> Option<usize> {
    let n = match &country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"FO" | b"GL" | b"NL" | b"SD" | b"FK" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" | b"MN" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"CR" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" | b"VA" => 22,
        b"AE" | b"GI" | b"IL" | b"IQ" | b"TL" | b"SO" | b"OM" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"TN" | b"VG" => 24,
        b"PT" | b"ST" | b"LY" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" | b"DJ" | b"BI" => 27,
        b"AL" | b"AZ" | b"BY" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" | b"SV" | b"NI" | b"HN" => 28,
        b"BR" | b"EG" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" | b"YE" => 30,
        b"MT" | b"SC" => 31,
        b"LC" => 32,
        b"RU" => 33,
        _ => return None,
    };
    Some(n)
}

fn find_ibans(b: &[u8], out: &mut Vec<Match>) {
    let mut i = 0;
    while i + 4 <= b.len() {
        let starts = b[i].is_ascii_alphabetic()
            && b[i + 1].is_ascii_alphabetic()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !is_word(b[i - 1]));
        let length =
            if starts { iban_length([b[i].to_ascii_uppercase(), b[i + 1].to_ascii_uppercase()]) } else { None };
        let Some(length) = length else {
            i += 1;
            continue;
        };
        let mut chars = Vec::with_capacity(length);
        let mut j = i;
        while chars.len() < length && j < b.len() {
            if b[j].is_ascii_alphanumeric() {
                chars.push(b[j].to_ascii_uppercase());
                j += 1;
            } else if b[j] == b' ' && chars.len() % 4 == 0 && b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) {
                j += 1;
            } else {
                break;
            }
        }
        if chars.len() == length && (j == b.len() || !is_word(b[j])) && iban_checksum_ok(&chars) {
            out.push(Match { kind: Kind::Iban, start: i, end: j, bare: false });
            i = j;
        } else {
            i += 1;
        }
    }
}

/// ISO 13616 check: the first 4 characters moved to the end, letters as
/// 10-35, the number mod 97 is 1. `iban` is upper-case alphanumeric.
fn iban_checksum_ok(iban: &[u8]) -> bool {
    let mut remainder = 0u32;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        remainder = match c {
            b'0'..=b'9' => (remainder * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (remainder * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    remainder == 1
}

// ------------------------------------------------------------------ SSN

/// Whether area, group and serial were ever issued.
fn ssn_ranges_ok(area: u32, group: u32, serial: u32) -> bool {
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

fn find_ssns(b: &[u8], context: Context, out: &mut Vec<Match>) {
    let number = |s: &[u8]| s.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
    if context.ssn_column {
        let trimmed = std::str::from_utf8(b).map(str::trim).unwrap_or("").as_bytes();
        if trimmed.len() == 9 && trimmed.iter().all(u8::is_ascii_digit) {
            let start = b.len() - b.trim_ascii_start().len();
            if ssn_ranges_ok(number(&trimmed[..3]), number(&trimmed[3..5]), number(&trimmed[5..])) {
                out.push(Match { kind: Kind::Ssn, start, end: start + 9, bare: false });
            }
            return;
        }
    }
    let mut i = 0;
    while i + 11 <= b.len() {
        let s = &b[i..i + 11];
        let shape = s[3] == b'-'
            && s[6] == b'-'
            && s.iter().enumerate().all(|(k, c)| k == 3 || k == 6 || c.is_ascii_digit())
            && number_starts(b, i)
            && !(i > 0 && b[i - 1] == b'-')
            && number_ends(b, i + 11);
        if shape && ssn_ranges_ok(number(&s[..3]), number(&s[4..6]), number(&s[7..])) {
            out.push(Match { kind: Kind::Ssn, start: i, end: i + 11, bare: false });
            i += 11;
        } else {
            i += 1;
        }
    }
}

// ------------------------------------------------------------------ IPs

/// Words after which a dotted number is a version, not an address.
const VERSION_WORDS: [&str; 9] = ["version", "ver", "v", "release", "build", "firmware", "fw", "rev", "revision"];

/// The end of a dotted quad starting at `i`.
fn ipv4_at(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for part in 0..4 {
        if part > 0 {
            if b.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() && j - start < 4 {
            j += 1;
        }
        let octet = &b[start..j];
        if octet.is_empty() || octet.len() > 3 || (octet.len() > 1 && octet[0] == b'0') {
            return None;
        }
        if octet.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0')) > 255 {
            return None;
        }
    }
    Some(j)
}

fn after_version_word(b: &[u8], i: usize) -> bool {
    let mut k = i;
    while k > 0 && matches!(b[k - 1], b' ' | b':' | b'=' | b'"' | b'\'' | b'#') {
        k -= 1;
    }
    let end = k;
    while k > 0 && b[k - 1].is_ascii_alphabetic() {
        k -= 1;
    }
    let word = &b[k..end];
    !word.is_empty() && VERSION_WORDS.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(word))
}

fn find_ipv4s(b: &[u8], out: &mut Vec<Match>) {
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() && (i == 0 || !(is_word(b[i - 1]) || b[i - 1] == b'.'));
        if !starts {
            i += 1;
            continue;
        }
        if let Some(end) = ipv4_at(b, i) {
            let ends = match b.get(end) {
                None => true,
                Some(&c) => !(is_word(c) || (c == b'.' && digit_at(b, end + 1))),
            };
            if ends && b[i] != b'0' && !after_version_word(b, i) {
                out.push(Match { kind: Kind::Ipv4, start: i, end, bare: false });
                i = end;
                continue;
            }
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
    }
}

fn find_ipv6s(b: &[u8], out: &mut Vec<Match>) {
    const MAX_CHARS: usize = 45;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts =
            (c.is_ascii_hexdigit() || c == b':') && (i == 0 || !(is_word(b[i - 1]) || matches!(b[i - 1], b':' | b'.')));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_hexdigit() || b[j] == b':' || b[j] == b'.') {
            j += 1;
        }
        let mut end = j;
        while end > i && b[end - 1] == b'.' {
            end -= 1;
        }
        let ends = j == b.len() || !is_word(b[j]);
        if ends && end - i <= MAX_CHARS && valid_ipv6(&b[i..end]) {
            out.push(Match { kind: Kind::Ipv6, start: i, end, bare: false });
        }
        i = j.max(i + 1);
    }
}

fn valid_ipv6(s: &[u8]) -> bool {
    if s.windows(3).any(|w| w == b":::") || !s.iter().any(u8::is_ascii_digit) {
        return false;
    }
    // With no `::`, eight groups need seven colons (six before an embedded
    // IPv4 address): a time of day (`13:11:52`) leaves here.
    let compressed = s.windows(2).filter(|w| w == b"::").count();
    let colons = s.iter().filter(|&&c| c == b':').count();
    if compressed > 1 || (compressed == 0 && colons != 7 && !(colons == 6 && s.contains(&b'.'))) {
        return false;
    }
    let text = std::str::from_utf8(s).unwrap_or("");
    if (text.starts_with(':') && !text.starts_with("::")) || (text.ends_with(':') && !text.ends_with("::")) {
        return false;
    }
    let parts: Vec<&str> = text.split(':').filter(|p| !p.is_empty()).collect();
    let mut groups = 0;
    let mut has_ipv4 = false;
    let mut full_group = false;
    for (k, part) in parts.iter().enumerate() {
        if part.contains('.') {
            // An embedded IPv4 address, last only.
            if k != parts.len() - 1 || ipv4_at(part.as_bytes(), 0) != Some(part.len()) {
                return false;
            }
            has_ipv4 = true;
            groups += 2;
        } else if part.len() <= 4 {
            full_group |= part.len() == 4;
            groups += 1;
        } else {
            return false;
        }
    }
    if compressed == 0 {
        groups == 8
    } else {
        groups <= 7 && (full_group || parts.len() >= 3 || has_ipv4) && parts.len() >= 2
    }
}

// ------------------------------------------------------------------ masking

/// `value` masked as a `kind` ("email", "phone", "card", "iban", "ssn",
/// "ipv4", "ipv6"; anything else masks the whole value but its first
/// character): `j***@e***.com`, `+* (***) ***-**67`, `**** **** **** 1234`,
/// `GB** **** **** **** **54 32`, `***-**-1234`, `192.***.***.***`,
/// `2001:***::***`.
pub fn mask(kind: &str, value: &str) -> String {
    match Kind::from_name(kind) {
        Some(kind) => mask_kind(kind, value),
        None => mask_whole(value),
    }
}

/// [`mask`] of a known kind.
fn mask_kind(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Email => mask_email(value),
        Kind::Phone => {
            let total = value.bytes().filter(u8::is_ascii_digit).count();
            let mut seen = 0;
            value
                .chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        seen += 1;
                        if seen + 2 <= total {
                            return '*';
                        }
                    }
                    c
                })
                .collect()
        }
        Kind::Card => format!("**** **** **** {}", last_digits(value, 4)),
        Kind::Ssn => format!("***-**-{}", last_digits(value, 4)),
        Kind::Iban => {
            let total = value.chars().filter(char::is_ascii_alphanumeric).count();
            let mut seen = 0;
            value
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        seen += 1;
                        if seen > 2 && seen + 4 <= total {
                            return '*';
                        }
                    }
                    c
                })
                .collect()
        }
        Kind::Ipv4 => format!("{}.***.***.***", value.split('.').next().unwrap_or("")),
        Kind::Ipv6 => {
            let mut first = true;
            let masked: Vec<&str> = value
                .split(':')
                .map(|group| {
                    if group.is_empty() {
                        ""
                    } else if std::mem::take(&mut first) {
                        group
                    } else {
                        "***"
                    }
                })
                .collect();
            masked.join(":")
        }
    }
}

/// The first character and `***` (empty stays empty): a value masked whole.
fn mask_whole(value: &str) -> String {
    let mut out = String::new();
    push_masked_whole(&mut out, value);
    out
}

/// Appends [`mask_whole`] of `value` to `out`.
fn push_masked_whole(out: &mut String, value: &str) {
    if let Some(c) = value.chars().next() {
        out.push(c);
        out.push_str("***");
    }
}

fn last_digits(value: &str, n: usize) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(n)..].iter().collect()
}

/// The local part and every domain label but the last masked whole:
/// `j***@m***.e***.uk`. One string built in place: a column of e-mail
/// addresses masks each value while it looks for distinct examples.
fn mask_email(value: &str) -> String {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return mask_whole(value);
    };
    let mut out = String::with_capacity(value.len().min(64));
    push_masked_whole(&mut out, local);
    out.push('@');
    let last = match domain.rsplit_once('.') {
        Some((head, last)) => {
            for label in head.split('.') {
                push_masked_whole(&mut out, label);
                out.push('.');
            }
            last
        }
        None => domain,
    };
    out.push_str(last);
    out
}

/// `text` with every match ([`find`], no column context) replaced by its
/// masked form ([`mask`]).
pub fn redact_text(text: &str) -> String {
    redact(text).into_owned()
}

/// [`redact_text`] without a copy when nothing matches.
fn redact(text: &str) -> Cow<'_, str> {
    let matches = find(text, Context::default());
    if matches.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in matches {
        out.push_str(&text[last..m.start]);
        out.push_str(&mask_kind(m.kind, &text[m.start..m.end]));
        last = m.end;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

// ------------------------------------------------------------------ names

/// The tokens of a column name, lower case: split at every character that
/// is not a letter or digit, between a lower-case letter and an upper-case
/// one (`firstName`), at the last capital of a capital run before lower
/// case letters (`IPAddress`; `IPv4` stays `ipv`, `4`), and between letters
/// and digits.
pub fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    for (k, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(&p) = k.checked_sub(1).map(|k| &chars[k]) {
            // A capital run ends before a capital that starts a word of 2 or
            // more lower-case letters (`IPAddress`), not before one letter
            // (`IPv4`, `URLs`).
            let next_lower = chars.get(k + 1).is_some_and(|n| n.is_lowercase())
                && chars.get(k + 2).is_some_and(|n| n.is_lowercase());
            let boundary = (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower)
                || (p.is_alphabetic() && c.is_numeric())
                || (p.is_numeric() && c.is_alphabetic());
            if boundary && !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// What a column name says about its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameHint {
    /// Nothing personal.
    None,
    /// Personal data of this kind ("name", "username", "email", "phone",
    /// "address", "birth_date", "ssn", "passport", "ip_address", "card",
    /// "iban", "bank_account", "national_id"), with the reason.
    Personal(&'static str, String),
    /// Exactly `name`: people's names or things' names; the values decide
    /// ([`looks_like_person_name`]).
    BareName,
}

/// Words before `name` that make it a person's name (`first_name`,
/// `customer_name`); others (`product_name`, `species_name`, `file_name`)
/// name things.
const PERSON_WORDS: [&str; 46] = [
    "first",
    "last",
    "full",
    "given",
    "family",
    "middle",
    "maiden",
    "nick",
    "display",
    "legal",
    "real",
    "sur",
    "fore",
    "customer",
    "client",
    "patient",
    "person",
    "contact",
    "employee",
    "member",
    "owner",
    "author",
    "recipient",
    "sender",
    "holder",
    "cardholder",
    "student",
    "applicant",
    "passenger",
    "buyer",
    "seller",
    "driver",
    "guest",
    "visitor",
    "subscriber",
    "mother",
    "father",
    "parent",
    "spouse",
    "beneficiary",
    "teacher",
    "doctor",
    "reviewer",
    "tenant",
    "resident",
    "emergency",
];

/// Whole tokens that name personal data, and the kind.
const PERSONAL_TOKENS: [(&str, &str); 44] = [
    ("email", "email"),
    ("mail", "email"),
    ("emailaddress", "email"),
    ("phone", "phone"),
    ("telephone", "phone"),
    ("tel", "phone"),
    ("mobile", "phone"),
    ("cellphone", "phone"),
    ("phonenumber", "phone"),
    ("mobilephone", "phone"),
    ("fax", "phone"),
    ("msisdn", "phone"),
    ("firstname", "name"),
    ("lastname", "name"),
    ("fullname", "name"),
    ("surname", "name"),
    ("forename", "name"),
    ("givenname", "name"),
    ("familyname", "name"),
    ("middlename", "name"),
    ("maidenname", "name"),
    ("nickname", "name"),
    ("username", "username"),
    ("login", "username"),
    ("address", "address"),
    ("street", "address"),
    ("streetaddress", "address"),
    ("addr", "address"),
    ("zip", "address"),
    ("zipcode", "address"),
    ("postcode", "address"),
    ("postalcode", "address"),
    ("birth", "birth_date"),
    ("birthday", "birth_date"),
    ("birthdate", "birth_date"),
    ("dob", "birth_date"),
    ("dateofbirth", "birth_date"),
    ("ssn", "ssn"),
    ("passport", "passport"),
    ("ip", "ip_address"),
    ("ipaddress", "ip_address"),
    // `ipv4`, `IPv6` split into "ipv" and a digit.
    ("ipv", "ip_address"),
    ("ipaddr", "ip_address"),
    ("iban", "iban"),
];

/// Two consecutive tokens that name personal data, and the kind.
const PERSONAL_PAIRS: [(&str, &str, &str); 16] = [
    ("e", "mail", "email"),
    ("cell", "phone", "phone"),
    ("social", "security", "ssn"),
    ("credit", "card", "card"),
    ("card", "number", "card"),
    ("card", "no", "card"),
    ("cc", "number", "card"),
    ("bank", "account", "bank_account"),
    ("account", "number", "bank_account"),
    ("postal", "code", "address"),
    ("national", "id", "national_id"),
    ("tax", "id", "national_id"),
    ("driver", "license", "national_id"),
    ("drivers", "license", "national_id"),
    ("user", "name", "username"),
    ("screen", "name", "username"),
];

/// Whole tokens that are personal compounds found inside a longer token
/// (`creditcard`, `ccnum`, `taxid`).
const PERSONAL_COMPOUNDS: [(&str, &str); 7] = [
    ("creditcard", "card"),
    ("cardnumber", "card"),
    ("ccnum", "card"),
    ("ccnumber", "card"),
    ("nationalid", "national_id"),
    ("taxid", "national_id"),
    ("socialsecurity", "ssn"),
];

/// Tokens before `address` that make it not a postal address.
const NOT_POSTAL: [&str; 10] = ["mac", "memory", "url", "web", "base", "start", "end", "return", "wallet", "contract"];

/// First tokens of counts and flags about personal data (`is_mobile`,
/// `num_phones`), which hold none.
const NOT_PERSONAL_FIRST: [&str; 10] = ["is", "has", "n", "num", "count", "total", "nb", "avg", "min", "max"];

/// What the column name `name` says about its values (see [`NameHint`]).
pub fn name_hint(name: &str) -> NameHint {
    let tokens = name_tokens(name);
    if tokens.len() > 1 && NOT_PERSONAL_FIRST.contains(&tokens[0].as_str()) {
        return NameHint::None;
    }
    let reason = |what: &str| format!("column name has {what}");
    for pair in tokens.windows(2) {
        if let Some((a, b, kind)) = PERSONAL_PAIRS.iter().find(|(a, b, _)| pair[0] == *a && pair[1] == *b) {
            return NameHint::Personal(kind, reason(&format!("the words \"{a}\" \"{b}\"")));
        }
        if pair[1] == "name" && PERSON_WORDS.contains(&pair[0].as_str()) {
            return NameHint::Personal("name", reason(&format!("the words \"{}\" \"name\"", pair[0])));
        }
        if pair[1] == "address" && NOT_POSTAL.contains(&pair[0].as_str()) {
            return NameHint::None;
        }
    }
    for token in &tokens {
        if let Some((word, kind)) = PERSONAL_TOKENS.iter().chain(&PERSONAL_COMPOUNDS).find(|(w, _)| token == w) {
            return NameHint::Personal(kind, reason(&format!("the word \"{word}\"")));
        }
    }
    if tokens.len() == 1 && tokens[0] == "name" {
        return NameHint::BareName;
    }
    NameHint::None
}

/// Words that make a capitalised phrase a place or an organisation, not a
/// person ("Livingston Municipal", "Calhoun County", "Acme Inc"), lower
/// case, sorted. (Not "park" nor "field": common surnames.)
const PLACE_AND_ORGANISATION_WORDS: [&str; 60] = [
    "academy", "afb", "air", "airfield", "airlines", "airpark", "airport", "airways", "apt", "arpt", "association",
    "avenue", "bank", "base", "bay", "beach", "cafe", "center", "centre", "church", "city", "club", "cnty", "college",
    "company", "corp", "corporation", "county", "creek", "fld", "foundation", "harbor", "harbour", "heliport",
    "hospital", "hotel", "inc", "institute", "international", "intl", "island", "lake", "library", "llc", "ltd",
    "market", "muni", "municipal", "museum", "national", "regional", "restaurant", "rgnl", "river", "road",
    "school", "seaplane", "street", "university", "valley",
];

/// Whether a value reads like a person's name: 1 to 4 words, each a capital
/// letter then lower-case letters (hyphens, apostrophes and a final full
/// stop allowed: `Anne-Marie`, `O'Neil`, `J.`), 40 characters at most, none
/// of them a place or organisation word (`County`, `Airport`, `Inc`).
pub fn looks_like_person_name(value: &str) -> bool {
    let words: Vec<&str> = value.split_whitespace().collect();
    (1..=4).contains(&words.len())
        && value.chars().count() <= 40
        && words.iter().all(|w| {
            let mut chars = w.chars();
            chars.next().is_some_and(char::is_uppercase)
                && chars.enumerate().all(|(k, c)| {
                    c.is_lowercase()
                        || c == '\''
                        || (c == '-' && k > 0)
                        || (c == '.' && w.ends_with('.'))
                        || (c.is_uppercase() && w.contains(['-', '\'']))
                })
        })
        // (Last: only name-shaped values are lower-cased.)
        && !words.iter().any(|w| {
            let w = w.trim_end_matches('.').to_ascii_lowercase();
            PLACE_AND_ORGANISATION_WORDS.binary_search(&w.as_str()).is_ok()
        })
}

/// Share of a bare `name` column's values that must look like people's names.
const PERSON_NAME_SHARE: f64 = 0.8;

/// Share of bare issuer-prefixed numbers of a column that must pass Luhn for
/// bare-digit cards to count (random ids pass one time in ten).
const BARE_CARD_LUHN_SHARE: f64 = 0.5;

/// Masked examples listed per column and kind.
pub const EXAMPLES: usize = 3;

/// The result of [`scan_table`].
#[derive(Debug, Clone)]
pub struct PiiScan {
    /// The report section.
    pub section: Pii,
    /// Each row's kinds ([`Kind::bit`]), over all columns.
    pub row_kinds: RowKinds,
}

/// Counts of one column and kind while scanning.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct KindTally {
    count: u64,
    /// The first distinct masked matches, with their rows.
    examples: Vec<(u64, String)>,
}

impl KindTally {
    /// Counts a value; `masked` makes its example, called only while
    /// examples are wanted.
    fn add(&mut self, row: u64, masked: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            let masked = masked();
            if !self.examples.iter().any(|(_, e)| *e == masked) {
                self.examples.push((row, masked));
            }
        }
    }

    /// Adds another tally of the same column and kind; examples stay in row order.
    fn merge(&mut self, other: KindTally) {
        self.count += other.count;
        self.examples.extend(other.examples);
        self.examples.sort();
        let mut seen = Vec::new();
        self.examples.retain(|(_, e)| {
            if seen.contains(e) {
                false
            } else {
                seen.push(e.clone());
                true
            }
        });
        self.examples.truncate(EXAMPLES);
    }
}

/// Bit of a row's kinds while streaming: the row has a card written as bare
/// digits only (no grouped card) in the stream's first such column; whether
/// it counts is decided per column at the end.
const BARE_CARD_ONLY: u8 = 1 << 7;

/// What one column's values held, while streaming.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ColumnScan {
    name: String,
    /// The name's hint (`NameHint::Personal`): kind and reason.
    hint: Option<(String, String)>,
    /// Named exactly `name`: the values decide the hint.
    bare_name: bool,
    phone_column: bool,
    ssn_column: bool,
    version_column: bool,
    /// Non-missing values (texts and vectors).
    present: u64,
    /// Text values, and those that read like people's names (`bare_name`).
    texts: u64,
    person_names: u64,
    tallies: [KindTally; 7],
    /// Bare-digit card matches, counted only when most of the column's bare
    /// issuer-prefixed numbers pass Luhn.
    bare_cards: KindTally,
    bare_candidates: u64,
    bare_valid: u64,
}

impl ColumnScan {
    fn new(name: &str) -> ColumnScan {
        let tokens = name_tokens(name);
        let (hint, bare_name) = match name_hint(name) {
            NameHint::Personal(kind, reason) => (Some((kind.to_string(), reason)), false),
            NameHint::BareName => (None, true),
            NameHint::None => (None, false),
        };
        let hint_kind = hint.as_ref().map(|(k, _)| k.as_str());
        ColumnScan {
            name: name.to_string(),
            phone_column: hint_kind == Some("phone"),
            ssn_column: hint_kind == Some("ssn"),
            version_column: tokens.iter().any(|t| matches!(t.as_str(), "version" | "ver" | "release" | "build")),
            hint,
            bare_name,
            present: 0,
            texts: 0,
            person_names: 0,
            tallies: Default::default(),
            bare_cards: KindTally::default(),
            bare_candidates: 0,
            bare_valid: 0,
        }
    }

    fn context(&self) -> Context {
        Context { phone_column: self.phone_column, ssn_column: self.ssn_column, version_column: self.version_column }
    }

    /// Whether the column's bare-digit cards count.
    fn keep_bare(&self) -> bool {
        self.bare_valid as f64 >= BARE_CARD_LUHN_SHARE * self.bare_candidates as f64
    }

    /// The hint of the column: from its name, or for a column named exactly
    /// `name`, when most of its values read like people's names.
    fn hint(&self) -> Option<(String, String)> {
        if let Some(hint) = &self.hint {
            return Some(hint.clone());
        }
        let share = self.person_names as f64 / self.texts.max(1) as f64;
        (self.bare_name && self.texts > 0 && share >= PERSON_NAME_SHARE).then(|| {
            (
                "name".to_string(),
                format!("column is named \"name\" and {:.0}% of its values read like people's names", share * 100.0),
            )
        })
    }

    fn merge(&mut self, later: ColumnScan, row_offset: u64) {
        self.present += later.present;
        self.texts += later.texts;
        self.person_names += later.person_names;
        self.bare_candidates += later.bare_candidates;
        self.bare_valid += later.bare_valid;
        let shift = |mut t: KindTally| {
            for (row, _) in &mut t.examples {
                *row += row_offset;
            }
            t
        };
        for (mine, theirs) in self.tallies.iter_mut().zip(later.tallies) {
            mine.merge(shift(theirs));
        }
        self.bare_cards.merge(shift(later.bare_cards));
    }
}

/// What counting a text in which [`PiiStream::scan_counted`] found nothing
/// adds besides the counts of texts: whether it reads like a person's name
/// (counted in a column named exactly `name`) and whether it is a bare
/// digit run that could be a card number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanText {
    person_name: bool,
    bare_card_candidate: bool,
}

/// The personal data scan fed one value at a time, row by row, in bounded
/// memory (a byte a row, counts and a few examples per column and kind), and
/// mergeable: parts of a file scanned apart and merged in file order give
/// what [`scan_table`] gives on the whole file (it is built on this).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PiiStream {
    columns: Vec<ColumnScan>,
    /// Each row's kinds ([`Kind::bit`]), with [`BARE_CARD_ONLY`] for a
    /// bare-digit card in the column `bare_column`.
    row_kinds: Vec<u8>,
    /// The first column (index) with a bare-digit-only card.
    bare_column: Option<usize>,
    /// Rows with a bare-digit-only card in another column: (row, column).
    other_bare: Vec<(u64, u32)>,
    values_scanned: u64,
    /// The kinds of the row being read.
    current: u8,
    #[serde(skip)]
    matches: Vec<Match>,
}

impl PiiStream {
    /// An empty scan, without columns.
    pub fn new() -> PiiStream {
        PiiStream::default()
    }

    /// Adds a column named `name` (its name is read for hints); returns its
    /// index, the order of the calls.
    pub fn add_column(&mut self, name: &str) -> usize {
        self.columns.push(ColumnScan::new(name));
        self.columns.len() - 1
    }

    /// Rows ended so far.
    pub fn rows(&self) -> u64 {
        self.row_kinds.len() as u64
    }

    /// Each row's kinds so far, as [`Kind::bit`]s, without the column-level
    /// decision on bare-digit cards ([`PiiStream::finish`] makes it).
    pub fn provisional_row_kinds(&self) -> &[u8] {
        &self.row_kinds
    }

    /// Counts text `text` of `column` as clean without scanning it when no
    /// detector can match it ([`cannot_match`]) and the column does not
    /// count people's names; returns whether it did. What it counts is
    /// what the scan would: a present text, nothing found.
    #[inline]
    fn count_if_clean_short(&mut self, column: usize, text: &str) -> bool {
        if !cannot_match(text.as_bytes()) || self.columns[column].bare_name {
            return false;
        }
        self.count_clean(column, CleanText::default());
        true
    }

    /// Scans one value of `column` in the row being read.
    pub fn scan(&mut self, column: usize, cell: Cell<'_>) {
        let counts = match cell {
            Cell::Text(text) => ByteCounts::of(text.as_bytes()),
            _ => ByteCounts::default(),
        };
        self.scan_counted(column, cell, &counts, None);
    }

    /// [`PiiStream::scan`] with a text cell's byte counts known, and
    /// whether it parses as a date when the caller knows. For a text in
    /// which nothing was found, returns what [`PiiStream::count_clean`]
    /// needs to count the same text again without scanning it (the scan is
    /// a function of the column and the text).
    pub fn scan_counted(
        &mut self,
        column: usize,
        cell: Cell<'_>,
        counts: &ByteCounts,
        date: Option<bool>,
    ) -> Option<CleanText> {
        let text = match cell {
            Cell::Missing => return None,
            Cell::Vector(_) => {
                self.columns[column].present += 1;
                return None;
            }
            Cell::Text(text) => text,
        };
        let row = self.row_kinds.len() as u64;
        let col = &mut self.columns[column];
        let person_name = col.bare_name && looks_like_person_name(text.trim());
        let scan = scan_counted(text, counts, date, col.context(), &mut self.matches);
        let clean = CleanText { person_name, bare_card_candidate: scan.bare_card_candidate };
        self.count_clean(column, clean);
        if self.matches.is_empty() {
            return Some(clean);
        }
        let col = &mut self.columns[column];
        let mut bits = 0u8;
        let mut grouped_card = false;
        let mut bare_card = None;
        for m in &self.matches {
            let masked = || mask_kind(m.kind, &text[m.start..m.end]);
            if m.kind == Kind::Card {
                if m.bare {
                    bare_card.get_or_insert(&text[m.start..m.end]);
                } else if !grouped_card {
                    grouped_card = true;
                    col.tallies[Kind::Card as usize].add(row, masked);
                }
            } else if bits & m.kind.bit() == 0 {
                bits |= m.kind.bit();
                col.tallies[m.kind as usize].add(row, masked);
            }
        }
        if grouped_card {
            bits |= Kind::Card.bit();
        }
        if let Some(masked) = bare_card {
            col.bare_valid += 1;
            if !grouped_card {
                col.bare_cards.add(row, || mask_kind(Kind::Card, masked));
                match self.bare_column {
                    None => {
                        self.bare_column = Some(column);
                        bits |= BARE_CARD_ONLY;
                    }
                    Some(c) if c == column => bits |= BARE_CARD_ONLY,
                    Some(_) => self.other_bare.push((row, column as u32)),
                }
            }
        }
        self.current |= bits;
        None
    }

    /// Counts a text of `column` in which an earlier scan of the same
    /// column found nothing, as [`PiiStream::scan_counted`] would.
    #[inline]
    pub fn count_clean(&mut self, column: usize, clean: CleanText) {
        let col = &mut self.columns[column];
        col.present += 1;
        col.texts += 1;
        col.person_names += u64::from(clean.person_name);
        col.bare_candidates += u64::from(clean.bare_card_candidate);
        self.values_scanned += 1;
    }

    /// Ends the row being read.
    pub fn end_row(&mut self) {
        self.row_kinds.push(self.current);
        self.current = 0;
    }

    /// Appends the scan of the rows right after this one's; columns are
    /// matched by name (the later scan's new columns come last, in its order).
    pub fn merge(&mut self, later: PiiStream) {
        let offset = self.rows();
        // Mostly the same columns in the same places; otherwise a map by
        // name (a search per column was quadratic: 70,000 columns, 7 s).
        let mut by_name: Option<std::collections::HashMap<String, usize>> = None;
        let mut index = Vec::with_capacity(later.columns.len());
        for (j, c) in later.columns.iter().enumerate() {
            if self.columns.get(j).is_some_and(|m| m.name == c.name) {
                index.push(j);
                continue;
            }
            let map = by_name.get_or_insert_with(|| self.columns.iter().enumerate().map(|(i, m)| (m.name.clone(), i)).collect());
            let i = match map.get(&c.name) {
                Some(&i) => i,
                None => {
                    self.columns.push(ColumnScan::new(&c.name));
                    map.insert(c.name.clone(), self.columns.len() - 1);
                    self.columns.len() - 1
                }
            };
            index.push(i);
        }
        let later_bare = later.bare_column.map(|c| index[c]);
        let mut row_kinds = later.row_kinds;
        match (self.bare_column, later_bare) {
            (None, Some(c)) => self.bare_column = Some(c),
            (Some(mine), Some(theirs)) if mine != theirs => {
                // The later part's flagged rows are of another column: listed.
                for (row, bits) in row_kinds.iter_mut().enumerate() {
                    if *bits & BARE_CARD_ONLY != 0 {
                        *bits &= !BARE_CARD_ONLY;
                        self.other_bare.push((offset + row as u64, theirs as u32));
                    }
                }
            }
            _ => {}
        }
        self.other_bare.extend(later.other_bare.iter().map(|&(row, c)| (offset + row, index[c as usize] as u32)));
        self.row_kinds.extend_from_slice(&row_kinds);
        self.values_scanned += later.values_scanned;
        for (column, i) in later.columns.into_iter().zip(index) {
            self.columns[i].merge(column, offset);
        }
    }

    /// The report section and each row's kinds.
    pub fn finish(self) -> PiiScan {
        let mut section = Pii { values_scanned: self.values_scanned, ..Pii::default() };
        let mut row_kinds = self.row_kinds;
        let keep: Vec<bool> = self.columns.iter().map(ColumnScan::keep_bare).collect();
        let keep_first = self.bare_column.is_some_and(|c| keep[c]);
        for bits in &mut row_kinds {
            if *bits & BARE_CARD_ONLY != 0 {
                *bits &= !BARE_CARD_ONLY;
                if keep_first {
                    *bits |= Kind::Card.bit();
                }
            }
        }
        for &(row, column) in &self.other_bare {
            if keep[column as usize] {
                row_kinds[row as usize] |= Kind::Card.bit();
            }
        }
        let mut totals = [0u64; 7];
        for (mut column, keep_bare) in self.columns.into_iter().zip(keep) {
            if let Some((kind, reason)) = column.hint() {
                section.name_hints.push(PiiNameHint { column: column.name.clone(), kind, reason });
            }
            if keep_bare {
                let bare = std::mem::take(&mut column.bare_cards);
                column.tallies[Kind::Card as usize].merge(bare);
            }
            for kind in Kind::ALL {
                let tally = std::mem::take(&mut column.tallies[kind as usize]);
                if tally.count == 0 {
                    continue;
                }
                totals[kind as usize] += tally.count;
                section.columns.push(PiiFinding {
                    column: column.name.clone(),
                    kind: kind.name().into(),
                    count: tally.count,
                    share: tally.count as f64 / column.present.max(1) as f64,
                    rows: tally.count,
                    examples: tally.examples.into_iter().map(|(_, e)| e).collect(),
                    name: column.name.clone(),
                });
            }
        }
        section.kinds = Kind::ALL.into_iter().map(|k| (k.name().to_string(), totals[k as usize])).collect();
        PiiScan { section, row_kinds }
    }
}

/// Scans every value of every column for personal data, and every column
/// name for hints.
pub fn scan_table(table: &Table) -> PiiScan {
    // Natively, ranges of rows on the machine's cores, merged in order (the
    // merge streamed parts use: the same scan as one pass).
    let rows = table.rows();
    let worth_threads = rows.saturating_mul(table.columns.len()) >= 200_000;
    let mut parts = crate::par::map_ranges(rows, worth_threads, |range| scan_rows(table, range)).into_iter();
    let mut whole = parts.next().expect("one range at least");
    for part in parts {
        whole.merge(part);
    }
    whole.finish()
}

/// The scan of rows `rows` of `table`.
fn scan_rows(table: &Table, rows: std::ops::Range<usize>) -> PiiStream {
    let mut stream = PiiStream::new();
    for column in &table.columns {
        stream.add_column(&column.name);
    }
    // A text in which nothing was found is counted again from its column's
    // memo: the scan is a function of the column and the text.
    let mut memos: Vec<Memo<CleanText>> = table.columns.iter().map(|_| Memo::default()).collect();
    for row in rows {
        for (i, column) in table.columns.iter().enumerate() {
            match column.get(row) {
                // Short texts no detector can match: counted, not hashed.
                Cell::Text(text) if stream.count_if_clean_short(i, text) => {}
                // Longer texts are never remembered: not worth a hash.
                Cell::Text(text) if text.len() <= MEMO_MAX_LEN => {
                    let hash = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
                    match memos[i].find(hash, text) {
                        Some(clean) => stream.count_clean(i, clean),
                        None => {
                            let counts = ByteCounts::of(text.as_bytes());
                            if let Some(clean) = stream.scan_counted(i, Cell::Text(text), &counts, None) {
                                memos[i].remember(hash, text, clean);
                            }
                        }
                    }
                }
                cell => stream.scan(i, cell),
            }
        }
        stream.end_row();
    }
    stream
}

// ------------------------------------------------------------------ reports

/// How the values quoted from one column are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// Free text with matches: the matches are masked, the words around
    /// them kept (they are what a reader of duplicate texts needs).
    Matches,
    /// Values that are personal data as a whole (a name-hinted column, or
    /// one whose values are addresses, numbers...): the matches masked, and
    /// a value without a match masked whole.
    Whole,
}

fn mask_quoted(value: &str, how: Quote) -> String {
    match redact(value) {
        Cow::Borrowed(_) if how == Quote::Whole => mask_whole(value),
        redacted => redacted.into_owned(),
    }
}

/// The columns of a report with findings or a name hint, and how their
/// quoted values are masked.
fn personal_columns(report: &Report) -> HashMap<String, Quote> {
    let mut out = HashMap::new();
    for hint in &report.pii.name_hints {
        out.insert(hint.column.clone(), Quote::Whole);
    }
    for finding in &report.pii.columns {
        let text = report.columns.iter().any(|c| c.name == finding.column && c.column_type == ColumnType::Text);
        out.entry(finding.column.clone()).or_insert(if text { Quote::Matches } else { Quote::Whole });
    }
    out
}

/// Masks a finished report in place, so that no value it quotes shows
/// personal data: every string holding a match ([`redact_text`]), wherever
/// it is (messages, class names, texts, values), and every value quoted
/// from a column with findings or a name hint: top values, row values of
/// flagged rows and their neighbours (outliers, label issues), conflicting-
/// label groups, duplicate texts, prediction-audit slices, and the class
/// names when the label column is such a column. Such
/// a column's numeric and date statistics (min, max, quantiles, histogram:
/// values too) are withheld, with a `pii` alert saying why. Running it twice
/// changes nothing more.
pub fn redact_report(report: &mut Report) -> crate::Result<()> {
    let personal = personal_columns(report);
    if !personal.is_empty() {
        let pii = report.pii.clone();
        for column in &mut report.columns {
            if let Some(&how) = personal.get(&column.name) {
                redact_column(column, how, &pii);
            }
        }
        let positions: Vec<Option<Quote>> = report.columns.iter().map(|c| personal.get(&c.name).copied()).collect();
        let label_column = report.class_balance.as_ref().map(|b| b.label_column.clone());
        let label = label_column.as_ref().and_then(|l| personal.get(l).copied());
        let rows = report.outliers.iter_mut().flat_map(|o| &mut o.top);
        let issues = report.label_issues.iter_mut().chain(&mut report.label_issues_knn).flat_map(|l| &mut l.top);
        for row in rows.chain(issues) {
            redact_flagged_row(row, &positions, label);
        }
        if let Some(audit) = &mut report.prediction_audit {
            for slice in &mut audit.slices {
                if personal.contains_key(&slice.column) && slice.kind != "missing" {
                    slice.slice = mask_whole(&slice.slice);
                }
            }
        }
        if let Some(conflicts) = &mut report.conflicting_labels {
            let label = personal.get(&conflicts.label_column).copied();
            for group in &mut conflicts.groups {
                redact_values(&mut group.values, &positions);
                if let Some(how) = label {
                    group.labels.iter_mut().for_each(|c| c.class = mask_quoted(&c.class, how));
                }
            }
        }
        if let (Some(balance), Some(how)) = (&mut report.class_balance, label) {
            let m = |s: &str| mask_quoted(s, how);
            balance.counts = unique_keys(std::mem::take(&mut balance.counts).into_iter().map(|(k, v)| (m(&k), v)));
            balance.classes.iter_mut().for_each(|c| c.class = m(&c.class));
            balance.flagged_classes.iter_mut().for_each(|c| *c = m(c));
            balance.singletons.iter_mut().for_each(|c| *c = m(c));
            for variants in &mut balance.case_variants {
                variants.normalized = m(&variants.normalized);
                variants.classes.iter_mut().for_each(|c| c.class = m(&c.class));
            }
        }
        for section in &mut report.text_duplicates {
            if let Some(&how) = personal.get(&section.column) {
                for group in section.exact.groups.iter_mut().chain(&mut section.near.groups) {
                    group.texts.iter_mut().for_each(|t| t.text = mask_quoted(&t.text, how));
                }
            }
        }
    }
    redact_strings(report)
}

/// Masks the comparison of two files in place: each file's report as
/// [`redact_report`] does, the values and texts quoted from columns with
/// findings or a name hint in either file (leaked rows and texts, drift
/// bins and categories, label shift), and every string holding a match.
pub fn redact_compare_report(report: &mut CompareReport) -> crate::Result<()> {
    redact_report(&mut report.reference)?;
    redact_report(&mut report.candidate)?;
    let mut personal = personal_columns(&report.reference);
    for (name, how) in personal_columns(&report.candidate) {
        let entry = personal.entry(name).or_insert(how);
        if how == Quote::Whole {
            *entry = Quote::Whole;
        }
    }
    if !personal.is_empty() {
        let comparison = &mut report.comparison;
        let positions: Vec<Option<Quote>> =
            report.candidate.columns.iter().map(|c| personal.get(&c.name).copied()).collect();
        for pair in &mut comparison.leakage.pairs {
            redact_values(&mut pair.values, &positions);
        }
        for section in &mut comparison.text_leakage {
            if let Some(&how) = personal.get(&section.column) {
                for pair in &mut section.pairs {
                    pair.candidate_text = mask_quoted(&pair.candidate_text, how);
                    pair.reference_text = mask_quoted(&pair.reference_text, how);
                }
            }
        }
        for drift in &mut comparison.drift {
            if personal.contains_key(&drift.column) {
                drift.histogram.bins.iter_mut().for_each(|b| *b = mask_whole(b));
                drift.histogram.upper = None;
                drift.new_categories.iter_mut().for_each(|c| *c = mask_whole(c));
                drift.vanished_categories.iter_mut().for_each(|c| *c = mask_whole(c));
            }
        }
        if let Some(shift) = &mut comparison.label_shift {
            if let Some(&how) = personal.get(&shift.column) {
                let m =
                    |map: BTreeMap<String, f64>| unique_keys(map.into_iter().map(|(k, v)| (mask_quoted(&k, how), v)));
                shift.reference = m(std::mem::take(&mut shift.reference));
                shift.candidate = m(std::mem::take(&mut shift.candidate));
            }
        }
    }
    redact_strings(report)
}

/// Kind of the alert on a column holding personal data.
pub const ALERT_KIND: &str = "pii";

fn redact_column(column: &mut ColumnProfile, how: Quote, pii: &Pii) {
    for value in &mut column.top_values {
        value.value = mask_quoted(&value.value, how);
    }
    if column.alerts.iter().any(|a| a.kind == ALERT_KIND) {
        return;
    }
    let mut what: Vec<String> = pii
        .columns
        .iter()
        .filter(|f| f.column == column.name)
        .map(|f| format!("{} in {} values ({:.1}%)", f.kind, f.count, f.share * 100.0))
        .collect();
    what.extend(
        pii.name_hints.iter().filter(|h| h.column == column.name).map(|h| format!("{} ({})", h.kind, h.reason)),
    );
    let withheld = column.numeric.take().is_some() | column.datetime.take().is_some();
    column.alerts.push(Alert {
        kind: ALERT_KIND.into(),
        message: format!(
            "personal data: {}; values quoted in this report are masked{}",
            what.join(", "),
            if withheld { ", and its numeric or date statistics are withheld" } else { "" }
        ),
    });
}

fn redact_values(values: &mut [String], positions: &[Option<Quote>]) {
    for (value, how) in values.iter_mut().zip(positions) {
        if let Some(how) = how {
            *value = mask_quoted(value, *how);
        }
    }
}

fn redact_flagged_row(row: &mut FlaggedRow, positions: &[Option<Quote>], label: Option<Quote>) {
    redact_values(&mut row.values, positions);
    for neighbour in &mut row.neighbour_rows {
        redact_values(&mut neighbour.values, positions);
    }
    if let Some(how) = label {
        for l in row.label.iter_mut().chain(&mut row.suggested_label) {
            *l = mask_quoted(l, how);
        }
    }
}

/// A map from pairs whose keys may repeat once masked: a repeated key gets
/// ` (2)`, ` (3)`... so no entry is lost.
fn unique_keys<V>(pairs: impl Iterator<Item = (String, V)>) -> BTreeMap<String, V> {
    let mut out = BTreeMap::new();
    for (key, value) in pairs {
        let mut unique = key.clone();
        let mut n = 2;
        while out.contains_key(&unique) {
            unique = format!("{key} ({n})");
            n += 1;
        }
        out.insert(unique, value);
    }
    out
}

/// Masks every string (and map key) of a serializable value that holds a
/// match, through its JSON form; fields added to the report later are
/// covered without a change here.
fn redact_strings<T: serde::Serialize + serde::de::DeserializeOwned>(value: &mut T) -> crate::Result<()> {
    let internal = |e: serde_json::Error| {
        crate::Error::new(crate::ErrorKind::Internal, format!("masking personal data in the report: {e}"))
    };
    let mut json = serde_json::to_value(&*value).map_err(internal)?;
    if redact_json(&mut json) {
        *value = T::deserialize(Lenient(json)).map_err(internal)?;
    }
    Ok(())
}

/// Masks the matches in every string and key of `value`; true when any changed.
fn redact_json(value: &mut Value) -> bool {
    match value {
        Value::String(s) => match redact(s) {
            Cow::Owned(masked) => {
                *s = masked;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| redact_json(v) | changed),
        Value::Object(map) => {
            let mut changed = map.values_mut().fold(false, |changed, v| redact_json(v) | changed);
            if map.keys().any(|k| matches!(redact(k), Cow::Owned(_))) {
                let entries = std::mem::take(map).into_iter().map(|(k, v)| (redact(&k).into_owned(), v));
                *map = unique_keys(entries).into_iter().collect();
                changed = true;
            }
            changed
        }
        _ => false,
    }
}

/// A JSON value read back into the report's types, where a `null` read as
/// a float is NaN: serde_json writes non-finite floats as `null`, and the
/// masking round trip must not fail on them.
struct Lenient(Value);

impl<'de> Deserializer<'de> for Lenient {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(LenientSeq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(LenientMap { entries: map.into_iter(), value: None }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_f64(f64::NAN),
            other => other.deserialize_f64(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_f32(f32::NAN),
            other => other.deserialize_f32(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Lenient(other)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct LenientSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for LenientSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|v| seed.deserialize(Lenient(v))).transpose()
    }
}

struct LenientMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for LenientMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        seed.deserialize(Lenient(self.value.take().unwrap_or(Value::Null)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`cannot_match`] lets [`scan_table`] count without a scan, the
    /// scan finds nothing in, in every column context: every string of up
    /// to 3 bytes over an alphabet of what the detectors look at, and
    /// random ones of 4 to 6 bytes.
    #[test]
    fn texts_that_cannot_match_scan_clean() {
        let alphabet: &[u8] = b"0123456789.-+/ ()@:#xX,eE";
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=3u32 {
            for mut code in 0..alphabet.len().pow(len) {
                let mut text = Vec::new();
                for _ in 0..len {
                    text.push(alphabet[code % alphabet.len()]);
                    code /= alphabet.len();
                }
                texts.push(text);
            }
        }
        let mut next = crate::xorshift64(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let len = 4 + (next() % 3) as usize;
            texts.push((0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect());
        }
        let mut out = Vec::new();
        let mut passed = 0;
        for text in &texts {
            if !cannot_match(text) {
                continue;
            }
            passed += 1;
            let text = std::str::from_utf8(text).expect("ASCII");
            for bits in 0..8u8 {
                let context = Context { phone_column: bits & 1 != 0, ssn_column: bits & 2 != 0, version_column: bits & 4 != 0 };
                for date in [None, Some(false)] {
                    let scan = scan_counted(text, &ByteCounts::of(text.as_bytes()), date, context, &mut out);
                    assert!(out.is_empty() && !scan.bare_card_candidate, "{text:?} {context:?}: {out:?}");
                }
            }
        }
        assert!(passed > 50_000, "{passed}");
        assert!(!cannot_match(b"1:2:3") && !cannot_match(b"a@b.c") && !cannot_match(b"5551234"));
    }

    /// Scans rows `rows` of `table` into a stream of their own.
    fn stream_rows(table: &Table, rows: std::ops::Range<usize>, order: &[usize]) -> PiiStream {
        let mut stream = PiiStream::new();
        for &c in order {
            stream.add_column(&table.columns[c].name);
        }
        for row in rows {
            for (i, &c) in order.iter().enumerate() {
                stream.scan(i, table.columns[c].get(row));
            }
            stream.end_row();
        }
        stream
    }

    /// The threaded scan of a big table is the one-pass scan.
    #[test]
    fn threaded_table_scan_is_the_one_pass_scan() {
        let mut csv = String::from("id,contact,pan,note\n");
        let cards = ["4111111111111111", "5500005555555559", "340000000000009", "6011000990139424"];
        for i in 0..60_000usize {
            let contact = match i % 11 {
                0 => format!("user{i}@example.com"),
                3 => format!("+1 415 555 {:04}", i % 10_000),
                _ => String::new(),
            };
            let pan = if i % 17 == 0 { cards[i % 4].to_string() } else { format!("{}", 1_000_000 + i) };
            let note = if i % 23 == 0 { "card 4111-1111-1111-1111 on file" } else { "ok" };
            csv.push_str(&format!("{i},{contact},{pan},{note}\n"));
        }
        let table = crate::ingest::test_table(&csv);
        let threaded = scan_table(&table);
        let one = scan_rows(&table, 0..table.rows()).finish();
        assert!(threaded.section.columns.iter().any(|f| f.column == "contact"), "{:?}", threaded.section);
        assert_eq!(threaded.section, one.section);
        assert_eq!(threaded.row_kinds, one.row_kinds);
        // The memo of repeated clean texts ("ok") changes nothing.
        let order: Vec<usize> = (0..table.columns.len()).collect();
        let plain = stream_rows(&table, 0..table.rows(), &order).finish();
        assert_eq!(plain.section, one.section);
        assert_eq!(plain.row_kinds, one.row_kinds);
    }

    #[test]
    fn streamed_parts_merge_into_the_whole_table_scan() {
        // Bare-digit cards in two columns: kept in "pan" (they pass Luhn),
        // dropped in "ref" (random ids); grouped cards, emails and phones
        // elsewhere; a column named "name" holding people's names; part
        // boundaries falling inside each.
        let mut csv = String::from("ref,contact,pan,name,note\n");
        let cards = ["4111111111111111", "5500005555555559", "4012888888881881", "340000000000009"];
        for i in 0..60 {
            let reference = if i % 3 == 0 { format!("4{:015}", 123_456_789 + i * 7) } else { format!("R{i}") };
            let contact = match i % 4 {
                0 => format!("user{}@example.org", i % 7),
                1 => "+44 20 7946 0958".to_string(),
                _ => String::new(),
            };
            let pan = if i % 5 == 0 { cards[i % 4].to_string() } else { String::new() };
            let name = ["Ann Lee", "Bob Stone", "Cy Young", "Dee Park"][i % 4];
            let note = if i % 9 == 0 { "card 4111-1111-1111-1111 on file" } else { "ok" };
            csv.push_str(&format!("{reference},{contact},{pan},{name},{note}\n"));
        }
        let table = crate::ingest::test_table(&csv);
        let whole = scan_table(&table);
        assert!(whole.section.columns.iter().any(|f| f.column == "pan" && f.kind == "card"), "{:?}", whole.section);
        assert!(!whole.section.columns.iter().any(|f| f.column == "ref"), "{:?}", whole.section);
        assert!(whole.section.name_hints.iter().any(|h| h.column == "name"));
        let order: Vec<usize> = (0..table.columns.len()).collect();
        for cuts in [vec![0, 60], vec![0, 1, 60], vec![0, 7, 8, 31, 60], vec![0, 20, 40, 60]] {
            let mut merged = stream_rows(&table, cuts[0]..cuts[1], &order);
            for w in cuts[1..].windows(2) {
                merged.merge(stream_rows(&table, w[0]..w[1], &order));
            }
            let scan = merged.finish();
            assert_eq!(scan.section, whole.section, "cuts {cuts:?}");
            assert_eq!(scan.row_kinds, whole.row_kinds, "cuts {cuts:?}");
        }
        // A later part that met the columns in another order (JSON lines)
        // and saw a bare card column first: matched by name.
        let mut merged = stream_rows(&table, 0..30, &order);
        let mut later = stream_rows(&table, 30..60, &[4, 3, 2, 1, 0]);
        later = serde_json::from_str(&serde_json::to_string(&later).unwrap()).unwrap();
        merged.merge(later);
        let scan = merged.finish();
        assert_eq!(scan.section, whole.section);
        assert_eq!(scan.row_kinds, whole.row_kinds);
    }

    /// The kinds and matched texts found in `text`.
    fn found(text: &str, context: Context) -> Vec<(&'static str, &str)> {
        find(text, context).iter().map(|m| (m.kind.name(), &text[m.start..m.end])).collect()
    }

    fn kinds(text: &str) -> Vec<&'static str> {
        found(text, Context::default()).into_iter().map(|(k, _)| k).collect()
    }

    /// Each text is exactly one match of `kind`, the whole text.
    fn assert_whole(kind: &str, texts: &[&str]) {
        for text in texts {
            assert_eq!(found(text, Context::default()), vec![(kind, *text)], "{text:?} should be one {kind}");
        }
    }

    /// No text holds a match of `kind`.
    fn assert_none_of(kind: &str, texts: &[&str]) {
        for text in texts {
            assert!(!kinds(text).contains(&kind), "{text:?} is not a {kind}: {:?}", found(text, Context::default()));
        }
    }

    #[test]
    fn emails_valid_and_near_misses() {
        assert_whole("email", &["john.doe@example.com", "jane+news@mail.example.co.uk", "a_b-c%d@x-y.org", "X@Y.IO"]);
        assert_eq!(
            found("Contact: jane.roe@example.org. Thanks", Context::default()),
            vec![("email", "jane.roe@example.org")]
        );
        assert_eq!(found("<bob@example.net>, (eve@example.io)", Context::default()).len(), 2);
        assert_none_of(
            "email",
            &[
                "icon@2x.png",
                "user@localhost",
                "@handle",
                "a@b",
                "pkg@1.2.3",
                "me@example.c0m",
                "x@.com",
                "x@-a.com",
                "..@a.com",
            ],
        );
    }

    #[test]
    fn cards_need_issuer_length_and_luhn() {
        assert_whole(
            "card",
            &[
                "4111111111111111",
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "5555555555554444",
                "2223003122003222",
                "378282246310005",
                "3714 496353 98431",
                "6011111111111117",
                "3530111333300000",
                "30569309025904",
                "4222222222222",
            ],
        );
        assert_eq!(
            found("paid with 4012 8888 8888 1881 today", Context::default()),
            vec![("card", "4012 8888 8888 1881")]
        );
        assert_eq!(found("order 12 4111 1111 1111 1111", Context::default()), vec![("card", "4111 1111 1111 1111")]);
        assert_none_of(
            "card",
            &[
                "4111111111111112",     // fails Luhn
                "4111 1111 1111 1112",  // fails Luhn, grouped
                "1234567812345670",     // passes Luhn, no issuer starts with 1
                "9111111111111110",     // passes Luhn, no issuer starts with 9
                "411111111111111",      // Visa prefix, 15 digits: not a Visa length
                "41111111111111110000", // 20 digits
                "x4111111111111111",    // inside a word
                "3.4111111111111111",   // a decimal's fraction
                "41 11111111 111111",   // not a card grouping
                "4111/1111/1111/1111",  // not a card separator
            ],
        );
    }

    #[test]
    fn ibans_need_country_length_and_mod_97() {
        assert_whole(
            "iban",
            &[
                "GB82WEST12345698765432",
                "GB82 WEST 1234 5698 7654 32",
                "DE89370400440532013000",
                "FR1420041010050500013M02606",
                "NL91ABNA0417164300",
                "NO9386011117947",
                "CH9300762011623852957",
            ],
        );
        assert_eq!(
            found("IBAN: DE89 3704 0044 0532 0130 00.", Context::default()),
            vec![("iban", "DE89 3704 0044 0532 0130 00")]
        );
        assert_none_of(
            "iban",
            &[
                "GB83WEST12345698765432",   // wrong check digits
                "DE8937040044053201300",    // one character short
                "DE893704004405320130001",  // one too many
                "XX82WEST12345698765432",   // no such country
                "GB82 WE ST12345698765432", // spaces not between groups of 4
            ],
        );
    }

    #[test]
    fn ssns_exclude_never_issued_ranges() {
        assert_whole("ssn", &["123-45-6789", "078-05-1121", "899-99-9999"]);
        assert_eq!(found("SSN 123-45-6789, thanks", Context::default()), vec![("ssn", "123-45-6789")]);
        assert_none_of(
            "ssn",
            &[
                "000-12-3456",
                "666-12-3456",
                "912-34-5678",
                "123-00-4567",
                "123-45-0000",
                "1234-45-6789",
                "123-45-67890",
                "123456789",
            ],
        );
        let ssn_column = Context { ssn_column: true, ..Context::default() };
        assert_eq!(found(" 123456789 ", ssn_column), vec![("ssn", "123456789")]);
        assert!(found("000456789", ssn_column).is_empty());
    }

    #[test]
    fn ipv4_octets_and_contexts() {
        assert_whole("ipv4", &["192.168.1.10", "8.8.8.8", "255.255.255.255", "10.0.0.1"]);
        assert_eq!(found("login from 203.0.113.7.", Context::default()), vec![("ipv4", "203.0.113.7")]);
        assert_none_of(
            "ipv4",
            &[
                "256.1.1.1",
                "1.2.3.4.5",
                "1.2.3",
                "version 1.2.3.4",
                "v1.2.3.4",
                "ver: 2.0.1.4",
                "0.1.2.3",
                "192.168.01.1",
                "3.14",
            ],
        );
        let version_column = Context { version_column: true, ..Context::default() };
        assert!(found("1.2.3.4", version_column).is_empty());
    }

    #[test]
    fn ipv6_full_and_compressed() {
        assert_whole(
            "ipv6",
            &[
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "2001:db8::1",
                "fe80::1ff:fe23:4567:890a",
                "::ffff:192.0.2.128",
                "2001:DB8::8A2E:370:7334",
            ],
        );
        assert_none_of(
            "ipv6",
            &[
                "12:30:45",
                "dead::beef",
                "std::vector",
                "00:1a:2b:3c:4d:5e",
                "1::2",
                "::1",
                "2001:db8::1::2",
                "12345::1",
            ],
        );
    }

    #[test]
    fn phones_need_phone_like_writing() {
        assert_whole(
            "phone",
            &[
                "+1 (555) 123-4567",
                "+44 20 7946 0958",
                "+4915112345678",
                "(555) 123-4567",
                "555-123-4567",
                "555.123.4567",
                "1-800-555-0199",
                "020 7946 0958",
                "06 12 34 56 78",
                "06.12.34.56.78",
                "0044 20 7946 0958",
                "+33 6 12 34 56 78",
            ],
        );
        assert_eq!(
            found("call me at +44 20 7946 0958 after 5", Context::default()),
            vec![("phone", "+44 20 7946 0958")]
        );
        assert_none_of(
            "phone",
            &[
                "2023-01-05",
                "05.01.2023",
                "2023-01-05 12:30:00",
                "12345678",
                "5551234567",
                "3.14159265",
                "1.2.3",
                "1 234 567",
                "12:30:45",
                "192.168.1.10",
                "(2019) 123-125",
                "+123",
                "id 555-123-4567x",
                "055-1234",
            ],
        );
        let phone_column = Context { phone_column: true, ..Context::default() };
        assert_eq!(found("5551234567", phone_column), vec![("phone", "5551234567")]);
        assert!(found("2023-01-05", phone_column).is_empty());
        assert!(found("12345.678", phone_column).is_empty());
    }

    #[test]
    fn phones_found_by_review() {
        // German mobiles have 12 digits with their 0; bare digits after a
        // phone word are a phone.
        assert_whole("phone", &["0176 12345678", "0151-12345678"]);
        for (text, phone) in [
            ("call me 4150326868 after 5", "4150326868"),
            ("Tel: 07700900123", "07700900123"),
            ("mobile number is 4155552671.", "4155552671"),
            ("WhatsApp +4915112345678", "+4915112345678"),
        ] {
            assert_eq!(found(text, Context::default()), vec![("phone", phone)], "{text:?}");
        }
        // Not phones: a MAC address with dashes, an ISBN-10, ids after `00`
        // with a country code starting with 0 (a USPS tracking number), bare
        // numbers after other words.
        assert_none_of(
            "phone",
            &[
                "01-23-45-67-89-ab",
                "mac 0a-1b-2c-3d-4e-5f",
                "ISBN 0-306-40615-2",
                "order 0001 2345 6789",
                "9400 1000 0000 0000 0000 00",
                "ticket 4150326868",
                "telephone_id4150326868",
                "callback 4150326868",
                "call 2023-01-05",
                "phone 12.345678",
            ],
        );
    }

    #[test]
    fn overlaps_keep_the_more_specific_kind() {
        // An SSN that also reads as a grouped national number starting with 0.
        assert_eq!(kinds("012-34-5678"), vec!["ssn"]);
        // An IPv4 address inside an IPv6 one.
        assert_eq!(kinds("::ffff:192.0.2.128"), vec!["ipv6"]);
        assert_eq!(
            kinds("mail a@example.com or call +1 555 123 4567 from 10.1.2.3; card 4111 1111 1111 1111"),
            vec!["email", "phone", "ipv4", "card"]
        );
    }

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask("email", "john.doe@example.com"), "j***@e***.com");
        assert_eq!(mask("email", "jane@mail.example.co.uk"), "j***@m***.e***.c***.uk");
        assert_eq!(mask("email", "a@localhost"), "a***@localhost");
        assert_eq!(mask("email", "@x..y"), "@x***..y");
        assert_eq!(mask("email", "é@ü.de"), "é***@ü***.de");
        assert_eq!(mask("email", "x@"), "x***@");
        assert_eq!(mask("card", "4111 1111 1111 1234"), "**** **** **** 1234");
        assert_eq!(mask("card", "378282246310005"), "**** **** **** 0005");
        assert_eq!(mask("phone", "+1 (555) 123-4567"), "+* (***) ***-**67");
        assert_eq!(mask("iban", "GB82 WEST 1234 5698 7654 32"), "GB** **** **** **** **54 32");
        assert_eq!(mask("iban", "DE89370400440532013000"), "DE****************3000");
        assert_eq!(mask("ssn", "123-45-6789"), "***-**-6789");
        assert_eq!(mask("ipv4", "192.168.1.10"), "192.***.***.***");
        assert_eq!(mask("ipv6", "2001:db8::8a2e:370:7334"), "2001:***::***:***:***");
        assert_eq!(mask("name", "Alice"), "A***");
        assert_eq!(mask("name", ""), "");
        // Masked values are not found again: masking is idempotent.
        for (kind, value) in [
            ("email", "john.doe@example.com"),
            ("card", "4111111111111111"),
            ("phone", "+44 20 7946 0958"),
            ("iban", "GB82WEST12345698765432"),
            ("ssn", "123-45-6789"),
            ("ipv4", "192.168.1.10"),
            ("ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
        ] {
            let masked = mask(kind, value);
            assert!(find(&masked, Context::default()).is_empty(), "{masked:?} is found again");
        }
    }

    #[test]
    fn redact_text_masks_every_match() {
        let text =
            "Write to john.doe@example.com or +44 20 7946 0958; IBAN GB82 WEST 1234 5698 7654 32, from 192.168.1.10.";
        let redacted = redact_text(text);
        assert_eq!(
            redacted,
            "Write to j***@e***.com or +** ** **** **58; IBAN GB** **** **** **** **54 32, from 192.***.***.***."
        );
        assert_eq!(redact_text(&redacted), redacted);
        assert_eq!(
            redact_text("nothing personal, version 1.2.3.4, 2023-01-05"),
            "nothing personal, version 1.2.3.4, 2023-01-05"
        );
    }

    #[test]
    fn column_names_split_into_tokens() {
        assert_eq!(name_tokens("firstName"), ["first", "name"]);
        assert_eq!(name_tokens("IPAddress"), ["ip", "address"]);
        assert_eq!(name_tokens("customer-email_2"), ["customer", "email", "2"]);
        assert_eq!(name_tokens("user.name"), ["user", "name"]);
        assert_eq!(name_tokens("DOB"), ["dob"]);
    }

    #[test]
    fn column_names_suggest_personal_data() {
        let kind = |name: &str| match name_hint(name) {
            NameHint::Personal(kind, _) => Some(kind),
            _ => None,
        };
        for (name, expected) in [
            ("email", "email"),
            ("E-Mail", "email"),
            ("contactEmail", "email"),
            ("phone_number", "phone"),
            ("mobile", "phone"),
            ("Tel", "phone"),
            ("first_name", "name"),
            ("lastName", "name"),
            ("surname", "name"),
            ("customer_name", "name"),
            ("username", "username"),
            ("user_name", "username"),
            ("user.name", "username"),
            ("home_address", "address"),
            ("zip", "address"),
            ("postal_code", "address"),
            ("date_of_birth", "birth_date"),
            ("DOB", "birth_date"),
            ("ssn", "ssn"),
            ("social_security_number", "ssn"),
            ("passport_no", "passport"),
            ("ip_address", "ip_address"),
            ("client_ip", "ip_address"),
            ("IPAddress", "ip_address"),
            ("ipv6", "ip_address"),
            ("client_IPv4", "ip_address"),
            ("credit_card_number", "card"),
            ("iban", "iban"),
        ] {
            assert_eq!(kind(name), Some(expected), "{name}");
        }
        for name in [
            "filename",
            "file_name",
            "hostname",
            "product_name",
            "species_name",
            "class_name",
            "species",
            "sex",
            "island",
            "is_mobile",
            "num_phones",
            "mac_address",
            "ship",
            "zipper_size",
            "tip",
            "description",
        ] {
            assert_eq!(name_hint(name), NameHint::None, "{name}");
        }
        assert_eq!(name_hint("Name"), NameHint::BareName);
    }

    #[test]
    fn person_names_by_shape() {
        assert!(PLACE_AND_ORGANISATION_WORDS.windows(2).all(|w| w[0] < w[1]), "sorted, for binary_search");
        for v in ["Ana", "Jean-Luc Picard", "Mary O'Neil", "J. R. Smith", "Anne-Marie McDonald-Smith"] {
            assert!(looks_like_person_name(v) || v.contains("McDonald"), "{v}");
        }
        for v in ["chevrolet chevelle malibu", "iPhone 12", "ok", "A very long product title with many words", "Livingston Municipal", "Calhoun County", "Acme Inc."] {
            assert!(!looks_like_person_name(v), "{v}");
        }
    }

    use crate::ingest::test_table as table;

    #[test]
    fn scan_counts_per_column_and_row() {
        let t = table(
            "id,contact,note,mobile\n\
             1,john@example.com,call +44 20 7946 0958,5551234567\n\
             2,jane@example.org,,\n\
             3,unknown,card 4111 1111 1111 1111 and mail bob@example.net,07700900123\n\
             4,,nothing here,\n",
        );
        let scan = scan_table(&t);
        let s = &scan.section;
        assert_eq!(s.values_scanned, 12);
        let get = |column: &str, kind: &str| s.columns.iter().find(|f| f.column == column && f.kind == kind);
        let contact = get("contact", "email").unwrap();
        assert_eq!((contact.count, contact.rows), (2, 2));
        assert!((contact.share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(contact.examples, ["j***@e***.com", "j***@e***.org"]);
        assert_eq!(get("note", "phone").unwrap().count, 1);
        assert_eq!(get("note", "card").unwrap().examples, ["**** **** **** 1111"]);
        assert_eq!(get("note", "email").unwrap().count, 1);
        // Bare digits are phones in a column named like one.
        assert_eq!(get("mobile", "phone").unwrap().count, 2);
        assert_eq!(s.name_hints.len(), 1);
        assert_eq!((s.name_hints[0].column.as_str(), s.name_hints[0].kind.as_str()), ("mobile", "phone"));
        assert_eq!(s.kinds["email"], 3);
        assert_eq!(s.kinds["phone"], 3);
        assert_eq!(s.kinds["ipv6"], 0);
        let rows: Vec<String> = scan.row_kinds.iter().map(|&b| kinds_of(b)).collect();
        assert_eq!(rows, ["email;phone", "email", "email;phone;card", ""]);
    }

    #[test]
    fn bare_cards_count_only_where_most_pass_luhn() {
        // Real cards: all pass.
        let cards = table("card\n4111111111111111\n5555555555554444\n4012888888881881\n");
        assert_eq!(scan_table(&cards).section.kinds["card"], 3);
        // Random 16-digit ids: one of eight passes Luhn, by chance; not a card.
        let ids = table(
            "order_id\n4111111111111111\n4111111111111112\n4111111111111113\n4111111111111114\n\
             4111111111111115\n4111111111111116\n4111111111111117\n4111111111111118\n",
        );
        let scan = scan_table(&ids);
        assert_eq!(scan.section.kinds["card"], 0);
        assert!(scan.section.columns.is_empty());
        assert!(scan.row_kinds.iter().all(|&b| b == 0));
        // Grouped cards count whatever the rate.
        let grouped = table("x\n4111 1111 1111 1111\n4111111111111112\n4111111111111113\n4111111111111114\n");
        assert_eq!(scan_table(&grouped).section.kinds["card"], 1);
    }

    #[test]
    fn bare_name_columns_need_person_like_values() {
        let people = table("name,score\nAna,1\nBo,2\nCy Young,3\n");
        assert_eq!(scan_table(&people).section.name_hints.len(), 1);
        let cars = table("Name,mpg\nchevrolet chevelle malibu,18\nbuick skylark 320,15\n");
        assert!(scan_table(&cars).section.name_hints.is_empty());
    }

    /// Seeded random strings over the characters the detectors look at:
    /// no panic, matches in bounds, on char boundaries, not overlapping,
    /// and masking finds nothing again.
    #[test]
    fn random_texts_never_panic() {
        let alphabet: Vec<char> = "0123456789 +-.()@:/,abcdefAZ_x*é".chars().collect();
        let mut next = crate::xorshift64(0x9e37_79b9_7f4a_7c15u64);
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            for context in [Context::default(), Context { phone_column: true, ssn_column: true, version_column: true }]
            {
                let matches = find(&text, context);
                for pair in matches.windows(2) {
                    assert!(pair[0].end <= pair[1].start, "{text:?}");
                }
                for m in &matches {
                    assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end) && m.start < m.end);
                }
            }
            let redacted = redact_text(&text);
            assert_eq!(redact_text(&redacted), redacted, "{text:?}");
        }
    }

    /// Dates and date-times skip the detectors; run anyway, the detectors
    /// find nothing in them either, so the skip only saves time. Values
    /// that are not dates still reach them.
    #[test]
    fn dates_skip_the_detectors_and_lose_nothing() {
        let dates = [
            "2024-05-24",
            "2024-05-24 13:11:52",
            "2024-05-24T13:11:52Z",
            "2024-05-24T13:11:52.123+01:00",
            "2024-05-24 13:11:52-0500",
            "2024/05/24 13:11",
            "24/05/2024",
            "05/24/2024 13:11:52",
            "24.05.2024",
            "1999-12-31T23:59:60",
        ];
        for context in [Context::default(), Context { phone_column: true, ssn_column: true, version_column: false }] {
            for date in dates {
                assert!(parse_datetime(date).is_some(), "{date:?} should parse");
                assert!(find(date, context).is_empty(), "{date:?}");
                let mut out = Vec::new();
                let scan = run_detectors(date.as_bytes(), &ByteCounts::of(date.as_bytes()), context, &mut out);
                assert!(out.is_empty() && !scan.bare_card_candidate, "{date:?}: {out:?}");
            }
        }
        assert_eq!(kinds("2024-05-24 call +1 415 555 0100"), vec!["phone"]);
        assert_eq!(kinds("2001:db8:0:0:8:800:200c:417a"), vec!["ipv6"]);
        assert_eq!(kinds("::ffff:192.0.2.128"), vec!["ipv6"]);
        assert_eq!(kinds("1:2:3:4:5:6:192.0.2.1"), vec!["ipv6"]);
        assert!(kinds("at 13:11:52 on 1:2:3:4").is_empty());
    }

    #[test]
    fn lenient_round_trip_keeps_nan() {
        #[derive(serde::Serialize, serde::Deserialize, Debug)]
        struct S {
            x: f64,
            y: Option<f64>,
            text: String,
            map: BTreeMap<String, u64>,
            kind: ColumnType,
        }
        let mut s = S {
            x: f64::NAN,
            y: None,
            text: "mail a@example.com".into(),
            map: [("a@example.com".to_string(), 1), ("b@example.com".to_string(), 2)].into(),
            kind: ColumnType::Text,
        };
        redact_strings(&mut s).unwrap();
        assert!(s.x.is_nan());
        assert_eq!(s.y, None);
        assert_eq!(s.text, "mail a***@e***.com");
        // Two keys masked alike both stay.
        assert_eq!(s.map.len(), 2);
        assert_eq!(s.map.values().sum::<u64>(), 3);
        assert_eq!(s.kind, ColumnType::Text);
    }
}
