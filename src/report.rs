//! The report: everything preflight found, as plain serde types.
//!
//! The JSON form is a promise to users (DESIGN section 4): fields are only
//! ever added. `schema_version` changes when a field changes meaning.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report's JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report for one input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Version of this shape; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that made the report.
    pub tool: Tool,
    /// What was read.
    pub source: Source,
    /// How reading went: rows kept, padded, skipped, and why.
    pub ingest: Ingest,
    /// One profile per column, in file order.
    pub columns: Vec<ColumnProfile>,
    /// Exact and near duplicate rows.
    pub duplicates: Duplicates,
    /// Exact and near duplicate texts, one section per free-text column
    /// checked (empty when there is none).
    #[serde(default)]
    pub text_duplicates: Vec<TextDuplicates>,
    /// Class balance of the label column; absent when there is no label.
    pub class_balance: Option<ClassBalance>,
    /// Identical features, different labels; absent when there is no label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicting_labels: Option<ConflictingLabels>,
    /// How rows were turned into vectors for the neighbour checks.
    pub embedding: Option<Embedding>,
    /// Rows far from their nearest neighbours.
    pub outliers: Option<Outliers>,
    /// Rows whose neighbours mostly carry another label.
    pub label_issues: Option<LabelIssues>,
    /// Pass/fail against the rules.
    pub verdict: Verdict,
    /// Which backend ran and how long each stage took.
    pub compute: Compute,
    /// Personal data found in the values and suggested by column names
    /// (`checks::pii`); examples are masked.
    #[serde(default)]
    pub pii: Pii,
    /// Agreement between annotator columns; absent when the file has fewer
    /// than two (`checks::agreement`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotator_agreement: Option<AnnotatorAgreement>,
    /// The review sample and the share of rows verified; absent without a
    /// label column or a verified column (`checks::review`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSummary>,
    /// Audit of the model's predicted probabilities against the label;
    /// absent when the file has none (`checks::predictions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_audit: Option<PredictionAudit>,
    /// The kNN label check's result when `label_issues` holds confident
    /// learning on the model's probabilities instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_issues_knn: Option<LabelIssues>,
    /// How a streamed run (a big file, read in parts with bounded memory)
    /// split the work between the whole file and a row sample; absent when
    /// every check saw every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
}

/// A streamed run: which results cover every row of the file and which
/// were computed on a uniform row sample.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sampling {
    /// "stream".
    pub mode: String,
    /// Data rows in the file.
    pub rows_total: u64,
    /// Rows in the sample the sample-based checks saw.
    pub rows_sampled: u64,
    /// Seed of the sample: a row is drawn when the xxh3-64 hash (this seed)
    /// of the byte offset where its record starts is among the
    /// `rows_sampled` smallest, so the sample does not depend on how the
    /// file was split.
    pub sample_seed: u64,
    /// Byte-range parts the file was read in.
    pub parts: u64,
    /// Report sections computed on the sample (row ids and lines in them are
    /// still the file's).
    pub checks_on_sample: Vec<String>,
    /// Report sections computed over every row of the file.
    pub whole_file: Vec<String>,
    /// Whole-file results that are estimates, and why (sketches past their
    /// exact limits; comparisons the stream could not settle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approximate: Vec<String>,
    /// Why `rows_sampled` is below the sample size asked for (and the
    /// file's rows), where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Personal data found in the file (`checks::pii`): every value of every
/// column scanned, examples masked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pii {
    /// Non-missing values scanned (every one, no sample).
    pub values_scanned: u64,
    /// One entry per column and kind found, in column order then kind order.
    pub columns: Vec<PiiFinding>,
    /// Columns whose name suggests personal data, in column order.
    pub name_hints: Vec<PiiNameHint>,
    /// Values holding each kind, over all columns, by kind.
    pub kinds: BTreeMap<String, u64>,
}

/// One kind of personal data found in one column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PiiFinding {
    /// Column name.
    pub column: String,
    /// "email", "phone", "card", "iban", "ssn", "ipv4" or "ipv6".
    pub kind: String,
    /// Values of the column holding at least one match of the kind.
    pub count: u64,
    /// `count` / non-missing values of the column.
    pub share: f64,
    /// Rows holding the kind in this column (equals `count`: one value per
    /// row and column).
    pub rows: u64,
    /// A few matches, masked (`j***@e***.com`), in row order.
    pub examples: Vec<String>,
    /// The column's name again, under the key DESIGN section 4 promises
    /// (`pii.columns[] {name, kind, count}`).
    #[serde(default)]
    pub name: String,
}

/// A column whose name suggests personal data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PiiNameHint {
    /// Column name.
    pub column: String,
    /// What the name suggests: "name", "email", "phone", "address",
    /// "birth_date", "ssn", "passport", "ip_address", ...
    pub kind: String,
    /// The name token(s) that matched.
    pub reason: String,
}

/// Name and version of the program.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    /// Always "preflight".
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// The input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// File name as given (no directories in the page).
    pub name: String,
    /// "csv" or "jsonl".
    pub format: String,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Data rows used (after the header; skipped rows excluded).
    pub rows: u64,
    /// Number of columns.
    pub columns: u64,
    /// Field delimiter for CSV, as a one-character string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Whether the first CSV record was taken as a header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Whether a UTF-8 byte order mark was found and removed.
    pub bom: bool,
    /// "\r\n" or "\n" (the first line ending seen).
    pub line_ending: String,
}

/// Accounting of every record read: nothing is dropped without a count.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ingest {
    /// Records read after the header, including unusable ones.
    pub records_read: u64,
    /// Records kept as data rows.
    pub rows_used: u64,
    /// Records that could not be used (see `issues`).
    pub rows_skipped: u64,
    /// CSV records with fewer fields than the header, kept with the missing
    /// fields treated as missing values.
    pub rows_padded: u64,
    /// Records holding bytes that are not valid UTF-8 (kept; the bad bytes
    /// are replaced by U+FFFD).
    pub rows_invalid_utf8: u64,
    /// Blank lines, ignored.
    pub blank_lines: u64,
    /// Lines of the skipped records: a record whose quote is never closed
    /// spans every line to the end of the file.
    #[serde(default)]
    pub lines_skipped: u64,
    /// Lines inside a quoted field of a kept record that look like records
    /// of their own (as many fields as the header): a stray quote joined
    /// them into one field, and they are not rows (`quoted_lines` issues).
    #[serde(default)]
    pub lines_joined: u64,
    /// The first issues found, in file order (at most `ISSUE_EXAMPLES` per kind).
    pub issues: Vec<IngestIssue>,
    /// Count of issues per kind, including those not listed.
    pub issue_counts: BTreeMap<String, u64>,
}

/// One problem met while reading.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IngestIssue {
    /// Machine-readable kind: "ragged_short", "ragged_long", "invalid_utf8",
    /// "not_json", "not_object", "unterminated_quote", "quoted_lines",
    /// "huge_field".
    pub kind: String,
    /// 1-based line where the record starts.
    pub line: u64,
    /// 0-based record index after the header, when the record was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// 1-based column (field) number, when one field is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// What happened and what preflight did about it.
    pub message: String,
}

/// Inferred type of a column.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Whole numbers.
    Integer,
    /// Real numbers.
    Float,
    /// true/false values.
    Boolean,
    /// Dates or timestamps.
    Datetime,
    /// Few distinct strings.
    Categorical,
    /// Free text.
    Text,
    /// Unique per row: keys, ids, hashes.
    Identifier,
    /// Arrays of numbers (JSONL).
    Vector,
    /// Nothing but missing values.
    Empty,
}

impl ColumnType {
    /// The report's name of the type (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::Datetime => "datetime",
            ColumnType::Categorical => "categorical",
            ColumnType::Text => "text",
            ColumnType::Identifier => "identifier",
            ColumnType::Vector => "vector",
            ColumnType::Empty => "empty",
        }
    }
}

/// The profile of one column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnProfile {
    /// Column name (dotted path for nested JSON).
    pub name: String,
    /// Inferred type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// Non-missing values.
    pub count: u64,
    /// Missing values (empty, NA, null, ... or absent key).
    pub missing: u64,
    /// missing / rows.
    pub missing_share: f64,
    /// Distinct non-missing values.
    pub distinct: u64,
    /// How many values parsed as each kind: integer, float, boolean,
    /// datetime, string, vector.
    pub value_kinds: BTreeMap<String, u64>,
    /// Numeric statistics, for integer and float columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericStats>,
    /// Earliest and latest value, for datetime columns (as written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datetime: Option<DatetimeStats>,
    /// String lengths in characters, for every non-vector column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lengths: Option<LengthStats>,
    /// Vector columns: the dimension and how many rows disagree with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<VectorStats>,
    /// Most frequent values, most first (ties by value). Exact unless
    /// `approximate` lists `top_values` (a streamed column of more than
    /// 10,000 distinct values): then Space-Saving counts, each at most
    /// n / 2,000 above the true count, except in a column whose `distinct`
    /// equals its `count`, where each is its lower bound (at least 1).
    pub top_values: Vec<ValueCount>,
    /// Where `top_values` are Space-Saving upper bounds: the most any of
    /// them exceeds its true count (the summary's offset), so that a
    /// value's true count lies between its count less this (at least 1) and
    /// its count. Absent when the counts are exact or lower bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_values_overcount: Option<u64>,
    /// Data quality alerts.
    pub alerts: Vec<Alert>,
    /// Fields estimated by a sketch in a streamed run (`sampling`), by name:
    /// "distinct", "top_values", "quantiles", "histogram". Empty (and left
    /// out of the JSON) when every field is exact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approximate: Vec<String>,
}

/// Numeric summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NumericStats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1).
    pub std: f64,
    /// Quantiles at 0.05, 0.25, 0.5, 0.75, 0.95 (linear interpolation, as numpy).
    pub quantiles: BTreeMap<String, f64>,
    /// Sample skewness (adjusted Fisher-Pearson, as pandas).
    pub skewness: f64,
    /// Number of values equal to zero.
    pub zeros: u64,
    /// Number of values below zero.
    pub negatives: u64,
    /// Equal-width histogram from min to max.
    pub histogram: Histogram,
}

/// Equal-width histogram.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Histogram {
    /// Bin edges, one more than counts.
    pub edges: Vec<f64>,
    /// Values per bin; the last bin includes its right edge.
    pub counts: Vec<u64>,
}

/// Earliest and latest dates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatetimeStats {
    /// Earliest value, as written in the file.
    pub min: String,
    /// Latest value, as written in the file.
    pub max: String,
}

/// String length summary (in Unicode scalar values).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LengthStats {
    /// Shortest.
    pub min: u64,
    /// Longest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// Vector column summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VectorStats {
    /// Most common length of the arrays.
    pub dimension: u64,
    /// Rows whose array has another length (not embedded).
    pub mismatched: u64,
}

/// A value and how often it occurs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ValueCount {
    /// The value (long values cut to 200 characters with an ellipsis).
    pub value: String,
    /// Occurrences.
    pub count: u64,
}

/// A data quality alert on a column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alert {
    /// "constant", "unique", "high_cardinality", "mostly_missing",
    /// "mixed_types", "spelling_variants", "repeated_ids", "missing_value_codes",
    /// "missing_value_markers", "numbers_as_text", "abbreviations", "date_formats",
    /// "skewed".
    pub kind: String,
    /// Human explanation with the measured value.
    pub message: String,
}

/// Duplicate findings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Duplicates {
    /// Rows identical in every column.
    pub exact: ExactDuplicates,
    /// Rows close in embedding space.
    pub near: NearDuplicates,
}

/// Exact duplicate rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExactDuplicates {
    /// How rows were compared.
    pub method: String,
    /// Rows that could be removed: rows in groups minus the number of groups.
    pub redundant_rows: u64,
    /// Rows that belong to some group (each group counts all its copies).
    pub rows_in_groups: u64,
    /// Number of groups (sets of 2 or more identical rows).
    pub group_count: u64,
    /// The largest groups first (at most `GROUP_EXAMPLES`).
    pub groups: Vec<RowGroup>,
    /// Groups counted in `group_count` but not listed in `groups`.
    #[serde(default)]
    pub groups_not_listed: u64,
    /// Whether values were normalised before comparing (`--normalize`).
    #[serde(default)]
    pub normalized: bool,
    /// What normalisation did, step by step (empty when off).
    #[serde(default)]
    pub normalization: Vec<String>,
    /// Rows identical once identifier-like columns are left out; absent
    /// when no column looks like an identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignoring_identifiers: Option<DuplicatesIgnoringIdentifiers>,
}

/// Rows identical in every column except identifier-like ones: two copies
/// of one record that were given different ids.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuplicatesIgnoringIdentifiers {
    /// The columns left out, each with the reason.
    pub columns_ignored: Vec<ExcludedColumn>,
    /// How rows were compared.
    pub method: String,
    /// Rows that could be removed: rows in groups minus the number of groups.
    pub redundant_rows: u64,
    /// Of those, rows not already redundant as identical rows: the copies
    /// only found once identifiers are ignored.
    pub additional_redundant_rows: u64,
    /// Rows that belong to some group (each group counts all its copies).
    pub rows_in_groups: u64,
    /// Number of groups.
    pub group_count: u64,
    /// The largest groups first (at most `GROUP_EXAMPLES`).
    pub groups: Vec<RowGroup>,
    /// Groups counted in `group_count` but not listed in `groups`.
    pub groups_not_listed: u64,
}

/// A set of rows that belong together.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RowGroup {
    /// Row ids, ascending (0-based, after the header).
    pub rows: Vec<u64>,
    /// Line numbers where those rows start (1-based), same order.
    pub lines: Vec<u64>,
    /// Number of rows in the group (may exceed `rows.len()` when cut).
    pub size: u64,
    /// Rows of the group not listed in `rows` (`size - rows.len()`).
    #[serde(default)]
    pub rows_not_listed: u64,
}

/// Near duplicate rows from the kNN graph.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NearDuplicates {
    /// How near duplicates were found, or why not.
    pub method: String,
    /// Distance below which two rows are near duplicates (absent if not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Rows in near-duplicate groups that are not exact duplicates of each other.
    pub rows_in_groups: u64,
    /// Number of groups.
    pub group_count: u64,
    /// Largest groups first (at most `GROUP_EXAMPLES`).
    pub groups: Vec<RowGroup>,
}

/// Exact and near duplicate texts in one free-text column
/// (`checks::text_dups`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextDuplicates {
    /// The column.
    pub column: String,
    /// Why it was checked: "profiled as text" or "chosen by the user".
    pub reason: String,
    /// How texts were compared, in words.
    pub method: String,
    /// What was done to each text before shingling.
    pub normalization: String,
    /// Characters per shingle (5).
    pub shingle_size: u64,
    /// MinHash values per text (128).
    pub permutations: u64,
    /// LSH bands.
    pub bands: u64,
    /// MinHash values per band (`bands x rows_per_band <= permutations`).
    pub rows_per_band: u64,
    /// Jaccard similarity of the shingle sets from which two texts are near duplicates.
    pub threshold: f64,
    /// Where the MinHash signatures were computed: "gpu" or "cpu".
    pub engine: String,
    /// Why the CPU computed them when the GPU was allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_note: Option<String>,
    /// Rows with a (non-missing) text.
    pub rows_with_text: u64,
    /// Rows whose text repeats an earlier row's, exactly or nearly (rows in
    /// exact groups and near groups, less one per group, each row counted
    /// once): the text duplicate share of the verdict.
    #[serde(default)]
    pub redundant_rows: u64,
    /// Distinct texts after normalisation (each hashed once).
    pub distinct_texts: u64,
    /// Rows whose normalised text is shorter than a shingle (one shingle:
    /// they only match texts equal after normalisation).
    pub short_texts: u64,
    /// Candidate pairs of distinct normalised texts from the LSH buckets.
    pub candidate_pairs: u64,
    /// Candidate pairs whose exact Jaccard was computed.
    pub verified_pairs: u64,
    /// Candidate pairs left unverified because their texts were already
    /// joined after the verification budget ran out (0 normally).
    pub unverified_pairs: u64,
    /// Rows with identical text (byte for byte).
    pub exact: TextDuplicateGroups,
    /// Rows whose texts differ but are near duplicates (groups include the
    /// exact copies of their texts).
    pub near: TextDuplicateGroups,
}

/// Groups of duplicate texts in one column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextDuplicateGroups {
    /// Rows that could be removed: rows in groups minus the number of groups.
    pub redundant_rows: u64,
    /// Rows that belong to some group.
    pub rows_in_groups: u64,
    /// Number of groups.
    pub group_count: u64,
    /// The largest groups first (at most `GROUP_EXAMPLES`).
    pub groups: Vec<TextGroup>,
}

/// A group of rows with duplicate texts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextGroup {
    /// Row ids, ascending (at most `ROWS_PER_GROUP`).
    pub rows: Vec<u64>,
    /// Line numbers where those rows start, same order.
    pub lines: Vec<u64>,
    /// Rows in the group (may exceed `rows.len()`).
    pub size: u64,
    /// Distinct texts (byte for byte) in the group.
    pub distinct_texts: u64,
    /// The group's distinct texts, the first row of each, in row order (at
    /// most `TEXTS_PER_GROUP`, each cut to `TEXT_CHARS` characters).
    pub texts: Vec<TextExample>,
    /// Highest Jaccard similarity of a pair that joined the group.
    pub max_jaccard: f64,
    /// Lowest Jaccard similarity of a pair that joined the group (members
    /// joined through others may be less similar to each other).
    pub min_jaccard: f64,
}

/// One text of a group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextExample {
    /// First row holding the text.
    pub row: u64,
    /// Its line.
    pub line: u64,
    /// The text as written (cut to `TEXT_CHARS` characters).
    pub text: String,
}

/// Label distribution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassBalance {
    /// The label column.
    pub label_column: String,
    /// Why this column: "chosen" or the detection reason.
    pub reason: String,
    /// Count per class, by class name.
    pub counts: BTreeMap<String, u64>,
    /// Classes, largest first, with shares.
    pub classes: Vec<ClassShare>,
    /// Rows with a missing label (not counted in any class).
    pub missing: u64,
    /// Largest class count / smallest class count.
    pub imbalance_ratio: f64,
    /// Shannon entropy of the shares divided by ln(K); 1 = perfectly balanced.
    pub normalized_entropy: f64,
    /// Share below which a class is flagged: 0.1 / K.
    pub flag_share_below: f64,
    /// Classes whose share is below `flag_share_below`.
    pub flagged_classes: Vec<String>,
    /// Rows with at least one label.
    #[serde(default)]
    pub labelled_rows: u64,
    /// True when the labels are JSON arrays of strings (multi-label): each
    /// label of a row is counted, and shares are of all label assignments.
    #[serde(default)]
    pub multi_label: bool,
    /// Classes that occur exactly once, largest-first order as `classes`.
    #[serde(default)]
    pub singletons: Vec<String>,
    /// Classes whose names differ only in case or whitespace ("Cat",
    /// "cat "): likely one class written several ways. Most rows first.
    #[serde(default)]
    pub case_variants: Vec<ClassVariants>,
}

/// Class names that differ only in case or whitespace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassVariants {
    /// The common form: lower case, whitespace trimmed and collapsed.
    pub normalized: String,
    /// The classes as written, most rows first.
    pub classes: Vec<ClassCount>,
    /// Rows (label assignments) of all of them together.
    pub count: u64,
}

/// A class and its count.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassCount {
    /// Class as written.
    pub class: String,
    /// Rows (label assignments) with it.
    pub count: u64,
}

/// Rows whose features are identical but whose labels differ: the cheapest
/// label-error signal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConflictingLabels {
    /// The label column.
    pub label_column: String,
    /// How rows were compared.
    pub method: String,
    /// Whether feature values (and labels) were normalised first (`--normalize`).
    pub normalized: bool,
    /// Columns compared (every column but the label and the ignored ones).
    pub feature_columns: u64,
    /// Columns left out of the comparison besides the label, with the reason.
    pub columns_ignored: Vec<ExcludedColumn>,
    /// Groups of labelled rows with identical features and 2 or more labels.
    pub group_count: u64,
    /// Rows in those groups.
    pub rows_in_groups: u64,
    /// Rows whose label is not their group's most common one (ties: one
    /// of the most common labels is kept).
    pub rows_outvoted: u64,
    /// The largest groups first (at most `GROUP_EXAMPLES`).
    pub groups: Vec<ConflictGroup>,
    /// Groups counted in `group_count` but not listed in `groups`.
    pub groups_not_listed: u64,
}

/// Rows with identical features and different labels.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConflictGroup {
    /// Row ids, ascending (at most `ROWS_PER_GROUP`).
    pub rows: Vec<u64>,
    /// Line numbers where those rows start, same order.
    pub lines: Vec<u64>,
    /// Rows in the group.
    pub size: u64,
    /// Rows of the group not listed in `rows`.
    pub rows_not_listed: u64,
    /// The labels in the group as written, with counts, most first.
    pub labels: Vec<ClassCount>,
    /// The first row's values in column order (cut to 200 characters).
    pub values: Vec<String>,
}

/// One class.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassShare {
    /// Class value.
    pub class: String,
    /// Rows with this class.
    pub count: u64,
    /// count / labelled rows.
    pub share: f64,
    /// Whether the class is flagged as a minority.
    pub flagged: bool,
}

/// How rows became vectors.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Embedding {
    /// Vector dimension.
    pub dimension: u64,
    /// Where the dimensions come from, per column.
    pub features: Vec<EmbeddingFeature>,
    /// Columns not used, with the reason.
    pub excluded: Vec<ExcludedColumn>,
    /// Rows embedded (all rows, or the sample).
    pub rows: u64,
    /// True when only a uniform sample of rows was embedded.
    pub sampled: bool,
    /// How text became vectors: "semantic" (a sentence-embedding model) or
    /// "hashed" (hashed character n-grams); absent when no text column was
    /// embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The sentence-embedding model, with the precision of its weights
    /// ("all-MiniLM-L6-v2 fp16"); semantic only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Texts longer than the model's 256 tokens, cut to that length; semantic only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated_texts: Option<u64>,
    /// Rows left out because their text is missing; semantic only, absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_without_text: Option<u64>,
    /// Where the model ran: "gpu" or "cpu"; semantic only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// GPU adapter name when the model ran on the GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Why the model ran on the CPU when the GPU was allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A column's contribution to the embedding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingFeature {
    /// Column name.
    pub column: String,
    /// "numeric_robust", "missing_indicator", "one_hot", "hashed",
    /// "hashed_char_3grams", "vector", "semantic".
    pub encoding: String,
    /// Dimensions used.
    pub dimensions: u64,
}

/// A column left out of the embedding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExcludedColumn {
    /// Column name.
    pub column: String,
    /// Why.
    pub reason: String,
}

/// kNN distance outliers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outliers {
    /// Neighbours per row.
    pub k: u64,
    /// "cosine" or "euclidean".
    pub metric: String,
    /// Rows flagged.
    pub flagged: u64,
    /// Raw mean kNN distance above which a row is flagged (Q3 + `iqr_factor` x IQR).
    pub distance_threshold: f64,
    /// The IQR multiplier of that threshold.
    pub iqr_factor: f64,
    /// Backend that built the kNN graph: "gpu" or "cpu".
    pub backend: String,
    /// Rows scored (equals `embedding.rows`).
    pub rows_scored: u64,
    /// The most outlying rows, most first (at most `TOP_ROWS`): the flagged
    /// ones first, then by distance.
    pub top: Vec<FlaggedRow>,
    /// Scored rows with a value at least `EXTREME_IQRS` IQRs from its
    /// column's median, in a column where at most 1% of the rows have one:
    /// flagged whatever their kNN distance (the cosine metric sees a value
    /// 1000 times too large as a direction, not a distance). Row order, at
    /// most `TOP_ROWS` listed; `extreme_rows` counts all.
    #[serde(default)]
    pub extreme_values: Vec<ExtremeValue>,
    /// Scored rows with such a value.
    #[serde(default)]
    pub extreme_rows: u64,
}

/// A value far outside its column's spread.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExtremeValue {
    /// Row id.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// The column.
    pub column: String,
    /// The value as written.
    pub value: String,
    /// Its distance from the column's median in IQRs (the row vector's
    /// robust-scaled value, at most 10,000).
    pub iqrs: f64,
    /// Where it was flagged for standing apart, in a column of positive
    /// numbers, from all the column's other values: how many times smaller
    /// or larger it is than the nearest of them (at least 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times_apart: Option<f64>,
}

/// A row flagged by a neighbour check, with its neighbours for context.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlaggedRow {
    /// Row id.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// Score in [0, 1], higher = worse.
    pub score: f64,
    /// Mean distance to its k nearest neighbours (0 for rows flagged by
    /// confident learning on a model's probabilities, which uses none).
    pub distance: f64,
    /// Whether it passes the flag threshold.
    pub flagged: bool,
    /// The row's values in column order (cut to 200 characters).
    pub values: Vec<String>,
    /// Its nearest neighbours' row ids, nearest first.
    pub neighbours: Vec<u64>,
    /// Its nearest neighbours (at most [`NEIGHBOURS_SHOWN`]) with their
    /// distances and values, nearest first: what a reader compares the row
    /// with to see why it was flagged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbour_rows: Vec<NeighbourRow>,
    /// The label of the row, for label issues.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The neighbours' majority label, for label issues (the model's most
    /// probable class with confident learning on its probabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_label: Option<String>,
}

/// Neighbours listed with their values for each flagged row.
pub const NEIGHBOURS_SHOWN: usize = 5;

/// One neighbour of a flagged row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NeighbourRow {
    /// Row id.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// Distance to the flagged row (the graph's metric).
    pub distance: f64,
    /// Its values in column order (cut to 200 characters).
    pub values: Vec<String>,
}

/// Suspected label errors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelIssues {
    /// The method: "knn" (confident learning on the label shares of each
    /// row's neighbours) or "confident_learning" (on a model's predicted
    /// probabilities, `prediction_audit`).
    pub method: String,
    /// Label column.
    pub label_column: String,
    /// Rows flagged.
    pub flagged: u64,
    /// The most suspicious rows, most first (at most `TOP_ROWS`).
    pub top: Vec<FlaggedRow>,
    /// How rows were scored and flagged, in words.
    #[serde(default)]
    pub description: String,
}

/// Pass/fail against rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// True when no error-level rule failed.
    pub passed: bool,
    /// Messages of the failed error-level rules.
    pub failures: Vec<String>,
    /// Messages of failed warning-level rules.
    pub warnings: Vec<String>,
    /// Every rule evaluated, with its measured value.
    pub rules: Vec<RuleOutcome>,
}

/// One rule's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleOutcome {
    /// Rule name.
    pub rule: String,
    /// "error" or "warning".
    pub severity: String,
    /// The measured value.
    pub value: f64,
    /// The limit it was compared with.
    pub limit: f64,
    /// Whether the rule held.
    pub passed: bool,
    /// Explanation.
    pub message: String,
    /// The column the rule is about; absent for rules on the whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Where the rule came from: "default" (preflight's default rules) or
    /// "rules file" (`--rules`, `options.rules`).
    #[serde(default = "default_rule_source")]
    pub source: String,
}

fn default_rule_source() -> String {
    crate::checks::rules::SOURCE_DEFAULT.to_string()
}

/// Where the work ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Compute {
    /// "gpu" or "cpu": the backend of the kNN graph.
    pub backend: String,
    /// GPU adapter name when the GPU ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Why the CPU ran when the GPU was asked for or allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the CPU built the kNN graph: the threads (natively) or the
    /// page's workers it was shared among.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_workers: Option<usize>,
    /// Milliseconds the kNN stage of `timings_ms` shared with the stages
    /// that ran beside its helper workers in a page (the text duplicates;
    /// in a whole-file run also the PII scan and the exact duplicates),
    /// counted in both: the run took the sum of the stages less this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_ms: Option<f64>,
    /// Milliseconds per stage.
    pub timings_ms: BTreeMap<String, f64>,
}

impl Compute {
    /// The CPU backend, nothing timed or noted yet: where a run starts.
    pub(crate) fn cpu() -> Compute {
        Compute { backend: "cpu".into(), adapter: None, note: None, cpu_workers: None, concurrent_ms: None, timings_ms: BTreeMap::new() }
    }
}

/// Version of the comparison report's JSON shape (`preflight compare`, the
/// page's "compare with…"); the two single-file reports inside it keep
/// [`SCHEMA_VERSION`].
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// The report of `preflight compare REFERENCE CANDIDATE`: each file's full
/// single-file report, and what differs between them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompareReport {
    /// Version of this shape; see [`COMPARE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The program that made the report.
    pub tool: Tool,
    /// The reference file's report (train set, last month).
    pub reference: Report,
    /// The candidate file's report (test set, this month).
    pub candidate: Report,
    /// Schema differences, leakage and drift.
    pub comparison: Comparison,
    /// Pass/fail of the comparison rules (and of each file's error rules).
    pub verdict: Verdict,
}

/// What differs between the reference and the candidate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    /// Reference file name.
    pub reference: String,
    /// Candidate file name.
    pub candidate: String,
    /// Rows in the reference.
    pub reference_rows: u64,
    /// Rows in the candidate.
    pub candidate_rows: u64,
    /// The thresholds the flags below used.
    pub thresholds: CompareThresholds,
    /// Columns added, removed, renamed, retyped.
    pub schema: SchemaDiff,
    /// Candidate rows that are (near) copies of reference rows.
    pub leakage: Leakage,
    /// Per-column drift, most drifted first.
    pub drift: Vec<ColumnDrift>,
    /// Shared columns drift was not computed for, with the reason.
    pub drift_not_computed: Vec<ExcludedColumn>,
    /// Shift of the label distribution, when a label column is in both.
    pub label_shift: Option<LabelShift>,
    /// How distinguishable the two sets are in one shared embedding.
    pub dataset_drift: Option<DatasetDrift>,
    /// Candidate texts that copy or nearly copy a reference text, per
    /// free-text column in both files.
    #[serde(default)]
    pub text_leakage: Vec<TextLeakage>,
}

/// Candidate rows whose text in one shared free-text column equals or
/// nearly equals a reference row's text (MinHash/LSH over both files,
/// verified by exact Jaccard).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextLeakage {
    /// Column name.
    pub column: String,
    /// Why the column was checked.
    pub reason: String,
    /// How texts were compared.
    pub method: String,
    /// Jaccard similarity (of character 5-gram sets) from which a text leaks.
    pub threshold: f64,
    /// "gpu" or "cpu": where the MinHash signatures were computed.
    pub engine: String,
    /// Why the CPU ran, when the GPU was allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_note: Option<String>,
    /// Candidate rows with a non-missing text.
    pub candidate_rows_with_text: u64,
    /// Candidate rows whose text equals a reference row's, byte for byte.
    pub exact_rows: u64,
    /// Other candidate rows whose text has Jaccard >= `threshold` with a
    /// reference row's text.
    pub near_rows: u64,
    /// (`exact_rows` + `near_rows`) / candidate rows.
    pub share: f64,
    /// Cross-file candidate pairs from the LSH.
    pub candidate_pairs: u64,
    /// Of those, pairs whose exact Jaccard was at least the threshold.
    pub kept_pairs: u64,
    /// Example pairs, exact first, in candidate row order (each kind capped).
    pub pairs: Vec<TextLeakPair>,
}

/// One candidate text and the reference text it (nearly) copies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextLeakPair {
    /// "exact" or "near".
    pub kind: String,
    /// Row id in the candidate.
    pub candidate_row: u64,
    /// 1-based line in the candidate.
    pub candidate_line: u64,
    /// Row id in the reference (the best-matching text's first row).
    pub reference_row: u64,
    /// 1-based line in the reference.
    pub reference_line: u64,
    /// Jaccard similarity of the two shingle sets (1 for exact copies).
    pub jaccard: f64,
    /// The candidate's text (clipped).
    pub candidate_text: String,
    /// The reference's text (clipped).
    pub reference_text: String,
}

/// Limits above which drift and leakage are flagged.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CompareThresholds {
    /// Kolmogorov-Smirnov statistic D above which a numeric column drifted
    /// (also needs the KS p-value below `alpha`).
    pub ks: f64,
    /// Significance level of the KS and chi-square tests: a KS or JS value
    /// beyond its limit flags a column only when the test's p-value is
    /// below it (small samples are not flagged for noise).
    pub alpha: f64,
    /// Population stability index above which a numeric column drifted.
    pub psi: f64,
    /// Quantile bins of the reference for the PSI.
    pub psi_bins: usize,
    /// Jensen-Shannon distance (base 2, in [0, 1]) above which a categorical
    /// column or the label drifted (also needs the chi-square p-value below
    /// `alpha`).
    pub js: f64,
    /// Absolute change of the missing share above which a column drifted.
    pub missing_change: f64,
    /// Whole-dataset drift score above which the sets differ.
    pub dataset_drift: f64,
    /// Largest share of candidate rows that may copy a reference row.
    pub leakage_share: f64,
}

/// Schema differences, columns matched by name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SchemaDiff {
    /// Columns in both files, in reference order.
    pub shared: Vec<String>,
    /// Columns only in the candidate.
    pub added: Vec<String>,
    /// Columns only in the reference.
    pub removed: Vec<String>,
    /// Shared columns whose inferred type differs.
    pub type_changed: Vec<TypeChange>,
    /// Suggested renames: a removed column whose values look like an added one's.
    pub renamed: Vec<RenameSuggestion>,
}

/// A shared column whose inferred type changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TypeChange {
    /// Column name.
    pub column: String,
    /// Type in the reference.
    pub reference_type: ColumnType,
    /// Type in the candidate.
    pub candidate_type: ColumnType,
}

/// A removed column that looks renamed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RenameSuggestion {
    /// Name in the reference.
    pub reference_column: String,
    /// Name in the candidate.
    pub candidate_column: String,
    /// Why: the statistic that matched.
    pub evidence: String,
}

/// Candidate rows that copy reference rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Leakage {
    /// How rows were compared.
    pub method: String,
    /// Columns compared (the shared ones).
    pub columns_compared: Vec<String>,
    /// Candidate rows equal to some reference row in every compared column.
    pub exact_rows: u64,
    /// `exact_rows` / candidate rows.
    pub exact_share: f64,
    /// Identifier-like columns left out for `exact_rows_ignoring_identifiers`.
    pub identifier_columns: Vec<String>,
    /// Candidate rows equal to some reference row once identifier-like
    /// columns are left out (includes `exact_rows`); equals `exact_rows`
    /// when there is no such column.
    pub exact_rows_ignoring_identifiers: u64,
    /// `exact_rows_ignoring_identifiers` / candidate rows.
    pub exact_share_ignoring_identifiers: f64,
    /// Candidate rows, not exact copies, whose embedding lies within the
    /// near-duplicate distance of a reference row; absent when the
    /// embedding could not be built.
    pub near_rows: Option<u64>,
    /// How near copies were found.
    pub near_method: String,
    /// Example pairs, exact first, in candidate row order.
    pub pairs: Vec<LeakPair>,
}

/// One candidate row and the reference row it copies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeakPair {
    /// "exact", "ignoring_identifiers" or "near".
    pub kind: String,
    /// Row id in the reference (0-based after the header).
    pub reference_row: u64,
    /// 1-based line in the reference.
    pub reference_line: u64,
    /// Row id in the candidate.
    pub candidate_row: u64,
    /// 1-based line in the candidate.
    pub candidate_line: u64,
    /// Embedding distance for near pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f64>,
    /// The candidate row's values (clipped).
    pub values: Vec<String>,
}

/// Drift of one shared column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnDrift {
    /// Column name.
    pub column: String,
    /// "numeric" (numbers and dates) or "categorical".
    pub kind: String,
    /// The statistic with the largest value relative to its threshold.
    pub statistic: String,
    /// Its value.
    pub value: f64,
    /// max over the statistics of value / threshold: what columns are
    /// ranked by; above 1 means beyond a threshold.
    pub score: f64,
    /// Whether any statistic is beyond its threshold.
    pub flagged: bool,
    /// Kolmogorov-Smirnov statistic D (numeric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks: Option<f64>,
    /// Asymptotic p-value of the KS test (numeric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_p_value: Option<f64>,
    /// Population stability index over the reference's quantile bins (numeric).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<f64>,
    /// Jensen-Shannon distance of the value shares (categorical).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub js_distance: Option<f64>,
    /// p-value of the chi-square test of homogeneity of the value counts
    /// (categorical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chi_square_p_value: Option<f64>,
    /// Values in the candidate only (categorical; up to 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_categories: Vec<String>,
    /// Values in the reference only (categorical; up to 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vanished_categories: Vec<String>,
    /// Missing share in the reference.
    pub missing_reference: f64,
    /// Missing share in the candidate.
    pub missing_candidate: f64,
    /// `missing_candidate - missing_reference`.
    pub missing_change: f64,
    /// Both distributions on shared bins, for an overlaid chart: numeric,
    /// 20 equal bins over both sets' range; categorical, the top values.
    pub histogram: DriftHistogram,
}

/// Two distributions on the same bins, as shares of non-missing values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DriftHistogram {
    /// Bin labels: the lower edge (numeric) or the value (categorical).
    pub bins: Vec<String>,
    /// Upper edge of the last numeric bin (absent for categorical).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper: Option<f64>,
    /// Reference shares.
    pub reference: Vec<f64>,
    /// Candidate shares.
    pub candidate: Vec<f64>,
}

/// Shift of the label distribution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelShift {
    /// The label column.
    pub column: String,
    /// Class shares in the reference.
    pub reference: BTreeMap<String, f64>,
    /// Class shares in the candidate.
    pub candidate: BTreeMap<String, f64>,
    /// Jensen-Shannon distance of the two.
    pub js_distance: f64,
    /// Beyond the JS threshold.
    pub flagged: bool,
}

/// How distinguishable the two sets are, from a kNN graph over one
/// embedding of both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatasetDrift {
    /// How the score is computed.
    pub method: String,
    /// Neighbours per row.
    pub k: u64,
    /// Rows embedded (both sets; sampled beyond the kNN cap).
    pub rows_used: u64,
    /// Mean share of a row's neighbours that come from its own set.
    pub same_set_share: f64,
    /// The share expected when the sets are indistinguishable.
    pub expected_share: f64,
    /// (same_set_share - expected) / (1 - expected): 0 = indistinguishable,
    /// 1 = fully separated.
    pub score: f64,
    /// Beyond the threshold.
    pub flagged: bool,
    /// Backend of the kNN graph.
    pub backend: String,
}

/// Agreement between annotators who labelled the same rows
/// (`checks::agreement`). Rows where any annotator's value is missing are
/// left out of every statistic and counted in `rows_missing`; Cohen's kappa
/// of a pair uses the rows both of the pair labelled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnnotatorAgreement {
    /// The annotator columns, in the order of the statistics below (the
    /// label column first when it is one of them).
    pub annotators: Vec<String>,
    /// Why these columns: chosen by the user, or how they were detected.
    pub reason: String,
    /// How the statistics are computed.
    pub method: String,
    /// Data rows in the file.
    pub rows: u64,
    /// Rows where every annotator gave a value: the rows compared.
    pub rows_compared: u64,
    /// Rows left out because at least one annotator's value is missing.
    pub rows_missing: u64,
    /// Missing values per annotator, in `annotators` order.
    pub missing_by_annotator: Vec<u64>,
    /// The classes any annotator used on the compared rows (numbers in
    /// numeric order, other values in text order); the order of `per_class`
    /// and of the confusion matrices.
    pub classes: Vec<String>,
    /// Share (in [0, 1]) of the compared rows where all annotators gave the
    /// same class; absent when no row was compared.
    pub percent_agreement: Option<f64>,
    /// Compared rows where all annotators agree.
    pub agreeing_rows: u64,
    /// Cohen's kappa, for exactly two annotators (as scikit-learn's
    /// `cohen_kappa_score`); absent for more, or when undefined (both used
    /// one and the same class only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohen_kappa: Option<f64>,
    /// Fleiss' kappa over the compared rows (as statsmodels'
    /// `fleiss_kappa(table, method="fleiss")`); absent when undefined.
    pub fleiss_kappa: Option<f64>,
    /// Mean of the pairwise Cohen's kappas (Light's kappa), for three or
    /// more annotators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_pairwise_kappa: Option<f64>,
    /// Every pair of annotators: agreement, Cohen's kappa, confusion matrix.
    pub pairs: Vec<AnnotatorPair>,
    /// Agreement on each class, in `classes` order.
    pub per_class: Vec<ClassAgreement>,
    /// Why the pairs carry no confusion matrix, when they do not (too many
    /// classes or pairs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion_note: Option<String>,
    /// Compared rows where the annotators do not all agree (every one is
    /// marked in the per-row CSV's `annotator_disagreement`).
    pub disagreement_rows: u64,
    /// The first of them in row order (at most
    /// `checks::agreement::DISAGREEMENTS_LISTED`).
    pub disagreements: Vec<AnnotatorDisagreement>,
}

/// Two annotators compared on the rows both labelled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnnotatorPair {
    /// First annotator (rows of the confusion matrix).
    pub first: String,
    /// Second annotator (columns of the confusion matrix).
    pub second: String,
    /// Rows both labelled.
    pub rows: u64,
    /// Share of those rows where the two agree; absent when `rows` is 0.
    pub agreement: Option<f64>,
    /// Cohen's kappa of the two; absent when undefined.
    pub cohen_kappa: Option<f64>,
    /// `confusion[i][j]`: rows the first annotator gave `classes[i]` and the
    /// second `classes[j]`; empty when `confusion_note` says why.
    pub confusion: Vec<Vec<u64>>,
}

/// Agreement on one class, over the compared rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassAgreement {
    /// The class.
    pub class: String,
    /// Rows where at least one annotator gave the class.
    pub rows_any: u64,
    /// Rows where every annotator gave the class.
    pub rows_all: u64,
    /// `rows_all / rows_any`: of the rows someone put in the class, the
    /// share everyone did.
    pub share_all: Option<f64>,
    /// Specific (positive) agreement: of the annotator pairs where one gave
    /// the class, the share where the other did too, i.e.
    /// sum n(n-1) / sum n(m-1) over rows (n annotators of m gave the class);
    /// for two annotators 2a / (2a + b + c), the Dice coefficient.
    pub specific_agreement: Option<f64>,
    /// How often each annotator gave the class, in `annotators` order (a 0
    /// is a class that annotator never used).
    pub uses: Vec<u64>,
}

/// A compared row where the annotators do not all agree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnnotatorDisagreement {
    /// Row id.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// Each annotator's class, in `annotators` order.
    pub values: Vec<String>,
}

/// The review sample drawn for people to check labels, and the share of
/// rows already verified (`checks::review`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewSummary {
    /// The label column the sample is stratified by; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    /// The sample (its rows are the review CSV); absent without a label column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<ReviewSampleSummary>,
    /// Rows marked as verified; absent without a verified column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<VerifiedShare>,
}

/// How the review sample was drawn and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewSampleSummary {
    /// "per_class" (up to N rows of each class) or "fraction" (that share of
    /// each class, at least one row).
    pub method: String,
    /// Rows per class asked for, with "per_class".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_class: Option<u64>,
    /// Share of each class asked for, with "fraction".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// Seed of the shuffle: the same seed, file and options give the same sample.
    pub seed: u64,
    /// Rows in the sample.
    pub size: u64,
    /// Rows drawn by class.
    pub stratified: u64,
    /// Rows added because their label looks wrong (highest label issue scores).
    pub enriched: u64,
    /// Enrichment rows asked for.
    pub enrich_requested: u64,
    /// How the enrichment rows were chosen, or why there are none.
    pub enrichment: String,
    /// Rows of each class in the sample (stratified and enriched).
    pub classes: BTreeMap<String, u64>,
    /// Rows without a label, never sampled.
    pub rows_without_label: u64,
}

/// The share of rows a verified-labels column marks as verified: the one
/// number a team can watch week by week.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VerifiedShare {
    /// The column.
    pub column: String,
    /// Chosen by the user, or why it was detected.
    pub reason: String,
    /// Data rows.
    pub rows: u64,
    /// Rows marked verified (true, or 1).
    pub verified: u64,
    /// `verified / rows`.
    pub share: f64,
    /// Rows with no value in the column (counted as not verified).
    pub missing: u64,
    /// Rows whose value is neither true/false nor 1/0 (counted as not verified).
    pub not_boolean: u64,
    /// Per class of the label column, most rows first; empty without a label.
    pub per_class: Vec<ClassVerified>,
}

/// Verified rows of one class.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassVerified {
    /// The class.
    pub class: String,
    /// Rows of the class.
    pub rows: u64,
    /// Of them, rows marked verified.
    pub verified: u64,
    /// `verified / rows`.
    pub share: f64,
}

/// Audit of a model's predicted class probabilities against the label
/// (`checks::predictions`): how often the model agrees with the label,
/// where it fails, and which labels look wrong by confident learning.
/// Rows without a label or without usable probabilities are left out of
/// every number and counted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PredictionAudit {
    /// The label column.
    pub label_column: String,
    /// The probability columns, one per class in `classes` order, or the
    /// one vector column (`kind` "vector") or the one column of a binary
    /// model (`kind` "binary").
    pub columns: Vec<String>,
    /// "columns" (one column per class), "vector" (JSON arrays, one entry
    /// per class) or "binary" (one column: the probability of one class of
    /// two; the other's is 1 minus it).
    pub kind: String,
    /// Why these columns: chosen by the user, or how they were detected.
    pub reason: String,
    /// The classes, in the order of every matrix and list below: numbers in
    /// numeric order when every class is a number, else by code point (the
    /// order of scikit-learn's `classes_`).
    pub classes: Vec<String>,
    /// How columns were matched to classes: by name (the column name after
    /// the prefix is the class) or by position.
    pub class_mapping: String,
    /// Rows with a label and usable probabilities: the rows audited.
    pub rows_scored: u64,
    /// Rows left out because the label is missing.
    pub rows_without_label: u64,
    /// Rows left out because a probability is missing or not a number in
    /// [0, 1], or all of them are 0.
    pub rows_without_probabilities: u64,
    /// Audited rows whose probabilities did not sum to 1 (within 1e-6) and
    /// were divided by their sum.
    pub rows_renormalised: u64,
    /// What was renormalised and why, when any row was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renormalisation_note: Option<String>,
    /// Share of audited rows whose most probable class (the first one on
    /// ties, in `classes` order) is the label.
    pub accuracy: f64,
    /// Mean of -ln p(label), each p clipped to [eps, 1 - eps] with eps the
    /// f64 machine epsilon (as scikit-learn's `log_loss`).
    pub log_loss: f64,
    /// Unweighted mean of the per-class F1 scores of the classes some row
    /// is labelled with or predicted as (scikit-learn's macro F1).
    pub macro_f1: f64,
    /// Counts of (label, predicted class): row = label, column = the most
    /// probable class, both in `classes` order (scikit-learn's
    /// `confusion_matrix(label, predicted)`).
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Precision, recall, F1 and support per class, in `classes` order.
    pub per_class: Vec<ClassMetrics>,
    /// How slices were formed and which were kept.
    pub slice_method: String,
    /// Slices smaller than this are not ranked: max(10, 1% of the audited rows).
    pub min_slice_rows: u64,
    /// Slices ranked (all of them, listed or not).
    pub slice_count: u64,
    /// Slices left out for being smaller than `min_slice_rows`.
    pub slices_too_small: u64,
    /// The worst slices first: lowest accuracy, then the larger slice (at
    /// most `checks::predictions::SLICES_LISTED`).
    pub slices: Vec<SliceAccuracy>,
    /// Columns not sliced, with the reason.
    pub slice_columns_skipped: Vec<ExcludedColumn>,
    /// The rows with the highest loss -ln p(label), highest first (at most
    /// the report's top rows).
    pub highest_loss: Vec<LossRow>,
    /// Suspected label errors by confident learning on these probabilities.
    pub confident_learning: ConfidentLearning,
}

/// One class's scores against the label.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassMetrics {
    /// The class.
    pub class: String,
    /// Audited rows labelled with it.
    pub support: u64,
    /// Audited rows the model predicts it for.
    pub predicted: u64,
    /// Of the rows predicted as the class, the share labelled so (0 when
    /// none is predicted, as scikit-learn's `zero_division=0`).
    pub precision: f64,
    /// Of the rows labelled with the class, the share predicted so (0 when
    /// none is labelled).
    pub recall: f64,
    /// 2 TP / (2 TP + FP + FN), 0 when that is 0 / 0.
    pub f1: f64,
}

/// Accuracy on one subgroup of rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SliceAccuracy {
    /// The column that defines the slice.
    pub column: String,
    /// "value" (rows with one value), "bin" (a quantile bin of a numeric
    /// column) or "missing" (rows where the column is missing).
    pub kind: String,
    /// The slice in words: the value, or the bin like `3.5 < x <= 4.2`.
    pub slice: String,
    /// Audited rows in the slice.
    pub rows: u64,
    /// Of them, rows where the model's class is the label.
    pub correct: u64,
    /// `correct / rows`.
    pub accuracy: f64,
    /// 95% Wilson score interval of the accuracy: lower end.
    pub accuracy_low: f64,
    /// 95% Wilson score interval of the accuracy: upper end.
    pub accuracy_high: f64,
    /// Slice accuracy minus the overall accuracy.
    pub gap: f64,
    /// Mean -ln p(label) over the slice.
    pub mean_loss: f64,
    /// Rows of the slice flagged as label errors by confident learning.
    pub label_issues: u64,
    /// Fewer than `checks::predictions::SMALL_SLICE_ROWS` rows: the
    /// accuracy is uncertain (see the interval).
    pub small: bool,
}

/// A row the model finds unlikely under its label.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LossRow {
    /// Row id.
    pub row: u64,
    /// Line where it starts.
    pub line: u64,
    /// The label.
    pub label: String,
    /// The model's most probable class.
    pub predicted: String,
    /// p(label).
    pub label_probability: f64,
    /// p(predicted class).
    pub predicted_probability: f64,
    /// -ln p(label) (p clipped as for `log_loss`).
    pub loss: f64,
    /// Whether confident learning flags the row.
    pub label_issue: bool,
    /// The row's values in column order (cut to 200 characters).
    pub values: Vec<String>,
}

/// Confident learning (Northcutt et al. 2021) as cleanlab's default
/// `find_label_issues(labels, pred_probs)` runs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfidentLearning {
    /// The steps, in words.
    pub method: String,
    /// Per-class thresholds, in `classes` order: the mean probability of
    /// the class over the rows labelled with it.
    pub thresholds: Vec<f64>,
    /// The calibrated confident joint: row = label, column = the class the
    /// row confidently belongs to; rows sum to the label counts.
    pub confident_joint: Vec<Vec<u64>>,
    /// Rows flagged as label errors.
    pub flagged: u64,
    /// Rows flagged per label, in `classes` order.
    pub flagged_by_class: Vec<u64>,
    /// How each row's label quality is scored.
    pub quality_score: String,
}
