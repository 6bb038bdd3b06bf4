//! Rows to vectors for the neighbour checks.
//!
//! A vector column, when the data has one, is used as it is. Otherwise each
//! row is featurised: numeric (and date) columns robustly scaled by median
//! and IQR, a missing-value indicator for columns with gaps, booleans as
//! 0/1, categoricals one-hot up to [`ONE_HOT_MAX`] values and hashed beyond,
//! free text as hashed character 3-gram counts. Identifier-like columns, the
//! label column and the columns that carry labels in other forms (other
//! annotators, a model's probabilities, a verified flag) are left out: the
//! label must not vote for itself.
//!
//! With [`EmbedMode::Semantic`] one text column is embedded by a sentence
//! model instead ([`embed_semantic`], `crate::semantic`): its vector alone is
//! the row's, since a text column that drives a dataset (reviews, support
//! messages, instructions) carries its meaning, and mixing in scaled numbers
//! would let them outvote it; the other columns are listed as left out, with
//! that reason. Rows whose text is missing are not embedded.

use crate::gpu::Metric;
use crate::ingest::{Cell, Column, Table};
use crate::profile::value::{parse_bool, parse_datetime, parse_number, parse_vector};
use crate::profile::{quantile_sorted, ColumnSummary};
use crate::report::{ColumnType, Embedding, EmbeddingFeature, ExcludedColumn, NumericStats};
use crate::semantic::{self, SemanticModel, TextEmbeddings};
use crate::{Backend, Error, ErrorKind, Options};
use std::collections::HashMap;

/// How a text column becomes a row's vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbedMode {
    /// Hashed character 3-gram counts, beside the other columns' features:
    /// built in, fast; finds copies with small edits, not paraphrases.
    #[default]
    Hashed,
    /// A sentence-embedding model (all-MiniLM-L6-v2, `crate::semantic`) on
    /// one text column: the neighbour checks work on meaning. Needs
    /// `Options::semantic_model`.
    Semantic,
}

impl EmbedMode {
    /// "hashed" or "semantic", as the options and the report spell it.
    pub fn name(self) -> &'static str {
        match self {
            EmbedMode::Hashed => "hashed",
            EmbedMode::Semantic => "semantic",
        }
    }
}

impl std::str::FromStr for EmbedMode {
    type Err = Error;
    fn from_str(s: &str) -> crate::Result<EmbedMode> {
        match s {
            "hashed" => Ok(EmbedMode::Hashed),
            "semantic" => Ok(EmbedMode::Semantic),
            _ => Err(Error::new(ErrorKind::InvalidOption, format!("embed must be hashed or semantic, not {s:?}"))),
        }
    }
}

/// How an identifier column's exclusion from the embedding starts.
pub const IDENTIFIER_REASON: &str = "identifier-like";

/// Categoricals with at most this many values are one-hot encoded.
pub const ONE_HOT_MAX: u64 = 32;
/// Buckets for hashed categoricals.
pub const HASHED_CATEGORY_DIMS: usize = 16;
/// Buckets for hashed text 3-grams.
pub const TEXT_DIMS: usize = 32;
/// Robust-scaled values are clipped to +-this many IQRs: far enough that a
/// clipped row is still the farthest, near enough that squared distances
/// stay finite in f32 (a value of 1e20 would otherwise make every distance
/// to it infinite and every outlier score undefined).
pub const SCALED_LIMIT: f64 = 1e4;
/// Seed of the row sample, fixed so that every run and backend agree.
pub const SAMPLE_SEED: u64 = 0x5eed_0f9e_1f11_7e00;

/// A categorical value's key in the row vectors: lower case, spaces
/// trimmed and collapsed (`checks::duplicates::normalize_text`).
fn category_key(text: &str) -> String {
    crate::checks::duplicates::normalize_text(text)
}

/// The embedded rows.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// `rows.len() * dimension` values, row-major.
    pub data: Vec<f32>,
    /// Vector dimension.
    pub dimension: usize,
    /// Row id of each embedded row, ascending.
    pub rows: Vec<u32>,
    /// Metric for the kNN graph: cosine when dimension > 3.
    pub metric: Metric,
    /// The report section.
    pub section: Embedding,
    /// The dimensions of each number (not date) robust-scaled into one
    /// dimension, where a difference is in IQRs of its column.
    pub numbers: Vec<usize>,
}

enum Encoder {
    Numeric { column: usize, median: f64, scale: f64, indicator: bool, date: bool },
    Boolean { column: usize, indicator: bool },
    OneHot { column: usize, values: HashMap<String, usize>, indicator: bool },
    Hashed { column: usize, dims: usize, indicator: bool, ngrams: bool },
}

fn numeric_value(cell: Cell<'_>, date: bool) -> Option<f64> {
    match cell {
        Cell::Text(t) if date => {
            parse_datetime(t).map(|(y, m, d, s)| y as f64 * 372.0 + m as f64 * 31.0 + d as f64 + s / 86400.0)
        }
        Cell::Text(t) => parse_number(t),
        _ => None,
    }
}

/// The numbers (or date day numbers) of a column's cells, in no order:
/// each distinct text is parsed once.
fn numeric_values(column: &Column, date: bool) -> Vec<f64> {
    let mut texts: HashMap<&str, usize, crate::sketch::FastBuild> = HashMap::default();
    for cell in column.cells() {
        if let Cell::Text(text) = cell {
            *texts.entry(text).or_default() += 1;
        }
    }
    let mut values = Vec::with_capacity(column.len());
    for (text, count) in texts {
        if let Some(v) = numeric_value(Cell::Text(text), date) {
            values.extend(std::iter::repeat_n(v, count));
        }
    }
    values
}

/// A uniform sample of `k` of `n` row ids (all when `k >= n`), ascending,
/// from a fixed seed.
pub fn sample_rows(n: usize, k: usize, seed: u64) -> Vec<u32> {
    if k >= n {
        return (0..n as u32).collect();
    }
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut ids: Vec<u32> = (0..n as u32).collect();
    for i in 0..k {
        let j = i + (next() % (n - i) as u64) as usize;
        ids.swap(i, j);
    }
    ids.truncate(k);
    ids.sort_unstable();
    ids
}

/// A numeric column's centre and scale: its median, and its IQR, or its
/// range where the IQR is 0 (0 for a constant column). `range` is the
/// smallest and largest value (`None` without values).
fn robust_scale(median: f64, q1: f64, q3: f64, range: (Option<f64>, Option<f64>)) -> (f64, f64) {
    let iqr = q3 - q1;
    let scale = if iqr > 0.0 {
        iqr
    } else {
        let range = range.1.unwrap_or(0.0) - range.0.unwrap_or(0.0);
        if range > 0.0 { range } else { 0.0 }
    };
    (median, scale)
}

/// [`robust_scale`] from a column's exact profile: `numeric_stats` sorted
/// the same numbers (those `parse_number` reads, in an integer or float
/// column) and took the quantiles with the same interpolation, so parsing
/// and sorting the column again would give the same bits.
fn robust_scale_of_profile(n: &NumericStats) -> Option<(f64, f64)> {
    let q = |key: &str| n.quantiles.get(key).copied();
    Some(robust_scale(q("0.5")?, q("0.25")?, q("0.75")?, (Some(n.min), Some(n.max))))
}

fn hash_into(bytes: &[u8], dims: usize) -> usize {
    (xxhash_rust::xxh3::xxh3_64(bytes) % dims as u64) as usize
}

/// Embeds up to `max_rows` rows (a uniform sample beyond). The columns in
/// `left_out` (the label and label-derived columns, each with the reason
/// the report gives) are not features. `profiled_here` says that
/// `summaries` were profiled from every value of `table` (not the whole
/// file's sketches, with `table` a streamed run's sample): a numeric
/// column's median and IQR are then its profile's, which are those of the
/// same sorted values. Returns `None` with the reason when no column can
/// be embedded.
pub fn embed(
    table: &Table,
    summaries: &[ColumnSummary],
    left_out: &[(usize, String)],
    max_rows: usize,
    profiled_here: bool,
) -> Result<Embedded, String> {
    let rows = sample_rows(table.rows(), max_rows, SAMPLE_SEED);
    let sampled = rows.len() < table.rows();
    let mut excluded = Vec::new();
    let mut exclude = |column: &str, reason: &str| {
        excluded.push(ExcludedColumn { column: column.to_string(), reason: reason.to_string() })
    };

    // A vector column is the embedding.
    if let Some(vi) = summaries.iter().position(|s| s.column_type() == ColumnType::Vector) {
        let dimension = summaries[vi].profile.vector.as_ref().map_or(0, |v| v.dimension as usize);
        if dimension > 0 {
            let mut data = vec![0f32; rows.len() * dimension];
            for (pos, &row) in rows.iter().enumerate() {
                if let Cell::Vector(text) = table.columns[vi].get(row as usize) {
                    let usable = |v: &Vec<f32>| v.len() == dimension && v.iter().all(|x| x.is_finite());
                    if let Some(v) = parse_vector(text).filter(usable) {
                        data[pos * dimension..(pos + 1) * dimension].copy_from_slice(&v);
                    }
                }
            }
            for (i, s) in summaries.iter().enumerate() {
                if i != vi {
                    exclude(&s.profile.name, "a vector column is present; it alone is the embedding");
                }
            }
            let section = Embedding {
                dimension: dimension as u64,
                features: vec![EmbeddingFeature {
                    column: summaries[vi].profile.name.clone(),
                    encoding: "vector".into(),
                    dimensions: dimension as u64,
                }],
                excluded,
                rows: rows.len() as u64,
                sampled,
                ..Embedding::default()
            };
            return Ok(Embedded { data, dimension, rows, metric: Metric::Cosine, section, numbers: Vec::new() });
        }
    }

    let mut encoders = Vec::new();
    let mut features = Vec::new();
    for (i, s) in summaries.iter().enumerate() {
        let p = &s.profile;
        let indicator = p.missing > 0;
        let column = &table.columns[i];
        if let Some((_, reason)) = left_out.iter().find(|(c, _)| *c == i) {
            exclude(&p.name, reason);
            continue;
        }
        match p.column_type {
            ColumnType::Integer | ColumnType::Float | ColumnType::Datetime => {
                let date = p.column_type == ColumnType::Datetime;
                let profiled = p.numeric.as_ref().filter(|_| profiled_here && !date);
                let (median, scale) = match profiled.and_then(robust_scale_of_profile) {
                    Some(known) => known,
                    None => {
                        let mut values = numeric_values(column, date);
                        values.sort_unstable_by(f64::total_cmp);
                        let quantile = |q| quantile_sorted(&values, q);
                        let range = (values.first().copied(), values.last().copied());
                        robust_scale(quantile(0.5), quantile(0.25), quantile(0.75), range)
                    }
                };
                if scale == 0.0 {
                    exclude(&p.name, "constant");
                    continue;
                }
                features.push(EmbeddingFeature {
                    column: p.name.clone(),
                    encoding: "numeric_robust".into(),
                    dimensions: 1,
                });
                encoders.push(Encoder::Numeric { column: i, median, scale, indicator, date });
            }
            ColumnType::Boolean => {
                features.push(EmbeddingFeature { column: p.name.clone(), encoding: "boolean".into(), dimensions: 1 });
                encoders.push(Encoder::Boolean { column: i, indicator });
            }
            ColumnType::Categorical if p.distinct <= 1 => exclude(&p.name, "constant"),
            ColumnType::Categorical if p.distinct <= ONE_HOT_MAX => {
                // Values written several ways ("Male", "male ", "MALE": the
                // spelling_variants alert) are one category here: a row is
                // not an outlier for its spelling, and rows that differ only
                // in it are near duplicates.
                let distinct: std::collections::HashSet<String, crate::sketch::FastBuild> =
                    column.cells().filter(|c| !c.is_missing()).map(|c| category_key(c.text())).collect();
                let mut distinct: Vec<String> = distinct.into_iter().collect();
                distinct.sort_unstable();
                let values: HashMap<String, usize> = distinct.into_iter().enumerate().map(|(k, v)| (v, k)).collect();
                features.push(EmbeddingFeature {
                    column: p.name.clone(),
                    encoding: "one_hot".into(),
                    dimensions: values.len() as u64,
                });
                encoders.push(Encoder::OneHot { column: i, values, indicator });
            }
            ColumnType::Categorical => {
                features.push(EmbeddingFeature {
                    column: p.name.clone(),
                    encoding: "hashed".into(),
                    dimensions: HASHED_CATEGORY_DIMS as u64,
                });
                encoders.push(Encoder::Hashed { column: i, dims: HASHED_CATEGORY_DIMS, indicator, ngrams: false });
            }
            ColumnType::Text => {
                features.push(EmbeddingFeature {
                    column: p.name.clone(),
                    encoding: "hashed_char_3grams".into(),
                    dimensions: TEXT_DIMS as u64,
                });
                encoders.push(Encoder::Hashed { column: i, dims: TEXT_DIMS, indicator, ngrams: true });
            }
            ColumnType::Identifier => exclude(&p.name, &format!("{IDENTIFIER_REASON} (distinct per row, or nearly)")),
            ColumnType::Empty => exclude(&p.name, "no values"),
            ColumnType::Vector => exclude(&p.name, "vector column without a usable dimension"),
        }
        if indicator && matches!(encoders.last(), Some(e) if encoder_column(e) == i) {
            features.push(EmbeddingFeature {
                column: p.name.clone(),
                encoding: "missing_indicator".into(),
                dimensions: 1,
            });
        }
    }
    if encoders.is_empty() {
        return Err("no column can be embedded (identifiers, constants or the label only)".into());
    }
    let dimension: usize = features.iter().map(|f| f.dimensions as usize).sum();
    let mut data = vec![0f32; rows.len() * dimension];
    let mut buf = String::new();
    for (pos, &row) in rows.iter().enumerate() {
        let out = &mut data[pos * dimension..(pos + 1) * dimension];
        let mut at = 0;
        for enc in &encoders {
            let cell = table.columns[encoder_column(enc)].get(row as usize);
            let (width, indicator) = match enc {
                Encoder::Numeric { median, scale, indicator, date, .. } => {
                    if let Some(v) = numeric_value(cell, *date) {
                        out[at] = ((v - median) / scale).clamp(-SCALED_LIMIT, SCALED_LIMIT) as f32;
                    }
                    (1, *indicator)
                }
                Encoder::Boolean { indicator, .. } => {
                    if let Some(true) = parse_bool(cell.text()) {
                        out[at] = 1.0;
                    }
                    (1, *indicator)
                }
                Encoder::OneHot { values, indicator, .. } => {
                    if let Some(&k) = values.get(&category_key(cell.text())).filter(|_| !cell.is_missing()) {
                        out[at + k] = 1.0;
                    }
                    (values.len(), *indicator)
                }
                Encoder::Hashed { dims, indicator, ngrams, .. } => {
                    if !cell.is_missing() {
                        let slot = &mut out[at..at + dims];
                        if *ngrams {
                            text_ngrams(cell.text(), slot, &mut buf);
                        } else {
                            slot[hash_into(category_key(cell.text()).as_bytes(), *dims)] = 1.0;
                        }
                    }
                    (*dims, *indicator)
                }
            };
            at += width;
            if indicator {
                if cell.is_missing() {
                    out[at] = 1.0;
                }
                at += 1;
            }
        }
        debug_assert_eq!(at, dimension);
    }
    let metric = if dimension > 3 { Metric::Cosine } else { Metric::SquaredEuclidean };
    // The numeric encoders are the "numeric_robust" features, in order
    // (a missing indicator is a feature of its own).
    let mut dates = encoders.iter().filter_map(|e| match e {
        Encoder::Numeric { date, .. } => Some(*date),
        _ => None,
    });
    let mut at = 0;
    let mut numbers = Vec::new();
    for feature in &features {
        if feature.encoding == "numeric_robust" && dates.next() == Some(false) {
            numbers.push(at);
        }
        at += feature.dimensions as usize;
    }
    // Say how text became vectors when a text column did.
    let method =
        encoders.iter().any(|e| matches!(e, Encoder::Hashed { ngrams: true, .. })).then(|| "hashed".to_string());
    let section = Embedding {
        dimension: dimension as u64,
        features,
        excluded,
        rows: rows.len() as u64,
        sampled,
        method,
        ..Embedding::default()
    };
    Ok(Embedded { data, dimension, rows, metric, section, numbers })
}

/// What semantic vectors depend on besides the table: the text column, the
/// rows embedded, the backend allowed and the model.
type SemanticKey = (usize, Vec<u32>, Backend, SemanticModel);

/// The semantic vectors of the last run of a profiler, reused by the next
/// when nothing they depend on changed (the page re-runs the checks with
/// another label column: the texts need not go through the model again).
#[derive(Debug, Clone, Default)]
pub struct SemanticCache(Option<(SemanticKey, TextEmbeddings)>);

/// The text column of a semantic embedding: the first chosen text column
/// (`Options::text_columns`), else the first column profiled as text that
/// is not left out. An error names the chosen column when it is missing or
/// left out, and lists the columns when none is text.
pub fn semantic_text_column(
    table: &Table,
    summaries: &[ColumnSummary],
    left_out: &[(usize, String)],
    options: &Options,
) -> crate::Result<(usize, String)> {
    if let Some(name) = options.text_columns.first() {
        let index = table.require_column(name, "text")?;
        if let Some((_, reason)) = left_out.iter().find(|(c, _)| *c == index) {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!(
                    "text column {name:?} is the {reason}: it cannot be embedded (the label must not vote for itself)"
                ),
            ));
        }
        return Ok((index, "chosen by the user".into()));
    }
    let found = summaries
        .iter()
        .enumerate()
        .find(|(i, s)| s.column_type() == ColumnType::Text && !left_out.iter().any(|(c, _)| c == i));
    match found {
        Some((index, _)) => Ok((index, "the first column profiled as text".into())),
        None => {
            let columns: Vec<String> =
                summaries.iter().map(|s| format!("{} ({})", s.profile.name, type_name(s.column_type()))).collect();
            Err(Error::new(
                ErrorKind::InvalidOption,
                format!(
                    "semantic embeddings need a text column, and no column is profiled as text (columns: {}); \
                     choose one with --text COL (option textColumns)",
                    columns.join(", ")
                ),
            ))
        }
    }
}

fn type_name(t: ColumnType) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_else(|| format!("{t:?}"))
}

/// Embeds one text column with the sentence model of
/// `options.semantic_model` (see [`semantic_text_column`] for which), up to
/// `options.max_knn_rows` rows with a text (a uniform sample beyond), on the
/// backend `options.backend` allows. `progress` receives the fraction done.
/// The vectors are L2-normalised; the metric is cosine.
pub async fn embed_semantic(
    table: &Table,
    summaries: &[ColumnSummary],
    left_out: &[(usize, String)],
    options: &Options,
    cache: &mut SemanticCache,
    progress: &mut dyn FnMut(f64),
) -> crate::Result<Embedded> {
    let model = options.semantic_model.as_ref().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOption,
            format!("semantic embeddings need the model file {}, and none was loaded", semantic::MODEL_FILE),
        )
    })?;
    let (column, _) = semantic_text_column(table, summaries, left_out, options)?;
    let cells = &table.columns[column];
    let with_text: Vec<u32> = (0..table.rows() as u32).filter(|&r| !cells.get(r as usize).is_missing()).collect();
    let rows: Vec<u32> = sample_rows(with_text.len(), options.max_knn_rows, SAMPLE_SEED)
        .into_iter()
        .map(|p| with_text[p as usize])
        .collect();
    let sampled = rows.len() < with_text.len();
    let key: SemanticKey = (column, rows.clone(), options.backend, model.clone());
    let embedded = match &cache.0 {
        Some((cached, found)) if *cached == key => {
            progress(1.0);
            found.clone()
        }
        _ => {
            let texts: Vec<&str> = rows.iter().map(|&r| cells.get(r as usize).text()).collect();
            let found = semantic::embed_texts(model, &texts, options.backend, progress).await?;
            cache.0 = Some((key, found.clone()));
            found
        }
    };
    let name = &table.columns[column].name;
    let excluded = summaries
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != column)
        .map(|(i, s)| ExcludedColumn {
            column: s.profile.name.clone(),
            reason: match left_out.iter().find(|(c, _)| *c == i) {
                Some((_, reason)) => reason.clone(),
                None => format!("semantic embedding: the text column {name:?} alone is the row's vector"),
            },
        })
        .collect();
    let without_text = (table.rows() - with_text.len()) as u64;
    let section = Embedding {
        dimension: semantic::DIMENSION as u64,
        features: vec![EmbeddingFeature {
            column: name.clone(),
            encoding: "semantic".into(),
            dimensions: semantic::DIMENSION as u64,
        }],
        excluded,
        rows: rows.len() as u64,
        sampled,
        method: Some("semantic".into()),
        model: Some(semantic::MODEL_LABEL.into()),
        truncated_texts: Some(embedded.truncated),
        rows_without_text: (without_text > 0).then_some(without_text),
        backend: Some(embedded.backend.clone()),
        adapter: embedded.adapter.clone(),
        note: embedded.note.clone(),
    };
    Ok(Embedded { data: embedded.vectors, dimension: semantic::DIMENSION, rows, metric: Metric::Cosine, section, numbers: Vec::new() })
}

fn encoder_column(e: &Encoder) -> usize {
    match e {
        Encoder::Numeric { column, .. }
        | Encoder::Boolean { column, .. }
        | Encoder::OneHot { column, .. }
        | Encoder::Hashed { column, .. } => *column,
    }
}

/// Hashed, L2-normalised counts of lower-cased character 3-grams.
fn text_ngrams(text: &str, out: &mut [f32], buf: &mut String) {
    buf.clear();
    buf.push(' ');
    buf.extend(text.chars().flat_map(char::to_lowercase));
    buf.push(' ');
    let chars: Vec<(usize, char)> = buf.char_indices().collect();
    if chars.len() < 3 {
        return;
    }
    for w in 0..chars.len() - 2 {
        let start = chars[w].0;
        let end = if w + 3 < chars.len() { chars[w + 3].0 } else { buf.len() };
        out[hash_into(&buf.as_bytes()[start..end], out.len())] += 1.0;
    }
    let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        out.iter_mut().for_each(|v| *v /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Ingestor;
    use crate::profile::profile_column;

    use crate::profile::test_profiled as table;

    #[test]
    fn sample_is_uniform_sorted_and_seeded() {
        let a = sample_rows(1000, 100, 7);
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, sample_rows(1000, 100, 7));
        assert_eq!(sample_rows(5, 10, 7), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn features_are_scaled_encoded_and_ids_left_out() {
        let mut csv = String::from("id,x,color,label\n");
        for i in 0..30 {
            let x = if i == 5 { "NA".to_string() } else { (i * 2).to_string() };
            csv.push_str(&format!("r{i},{x},{},{}\n", ["red", "blue"][i % 2], i % 3));
        }
        let (t, s) = table(&csv);
        let e = embed(&t, &s, &[(3, "label column".into())], 1000, true).unwrap();
        // x (1) + its missing indicator (1) + color one-hot (2).
        assert_eq!(e.dimension, 4);
        assert_eq!(e.metric, Metric::Cosine);
        let names: Vec<_> = e.section.excluded.iter().map(|x| x.column.as_str()).collect();
        assert_eq!(names, ["id", "label"]);
        // Row 5: x missing -> 0 and indicator 1; color blue (index 0 of sorted [blue, red]).
        assert_eq!(&e.data[5 * 4..6 * 4], &[0.0, 1.0, 1.0, 0.0]);
        // Row 0: x = 0; the 29 values have median 30, Q1 16, Q3 44.
        assert!((e.data[0] - (0.0 - 30.0) / 28.0).abs() < 1e-6);
        assert_eq!(e.numbers, [0]);
        // A date is scaled as a number but is not one of `numbers`.
        let mut csv = String::from("day,flag,x\n");
        for i in 0..30 {
            csv.push_str(&format!("2021-01-{:02},{},{}\n", i % 28 + 1, i % 2 == 0, i * 3 % 7));
        }
        let (t, s) = table(&csv);
        let e = embed(&t, &s, &[], 1000, true).unwrap();
        assert_eq!((e.dimension, e.numbers.as_slice()), (3, &[2][..]));
    }

    /// Categories written several ways are one category in the vectors,
    /// one-hot and hashed alike.
    #[test]
    fn spelling_variants_embed_as_one_category() {
        let mut csv = String::from("x,sex,code\n");
        let sexes = ["male", "female", "Male", "male ", "FEMALE", " female"];
        for i in 0..60 {
            csv.push_str(&format!("{},{},c{}\n", i % 7, sexes[i % 6], i % 40));
        }
        csv.push_str("1,MALE,C1\n1,male,c1\n");
        let (t, s) = table(&csv);
        let e = embed(&t, &s, &[], 1000, true).unwrap();
        let sex = e.section.features.iter().find(|f| f.column == "sex").unwrap();
        assert_eq!((sex.encoding.as_str(), sex.dimensions), ("one_hot", 2));
        assert_eq!(e.section.features.iter().find(|f| f.column == "code").unwrap().encoding, "hashed");
        let row = |r: usize| &e.data[r * e.dimension..(r + 1) * e.dimension];
        assert_eq!(row(60), row(61), "MALE,C1 and male,c1 are the same vector");
    }

    /// Taking the median and IQR from an exact profile changes no bit of
    /// the vectors: integers, floats written several ways (spaces, signs,
    /// exponents, -0), gaps, stray text, a column whose IQR is 0, dates.
    #[test]
    fn profiled_scales_give_the_recomputed_vectors() {
        let mut csv = String::from("a,b,c,d,e\n");
        let mut next = crate::xorshift64(0x9e37_79b9_7f4a_7c15);
        for i in 0..400u64 {
            let r = next() % 1000;
            let b = match r % 7 {
                0 => format!(" {}.5 ", r),
                1 => "-0".to_string(),
                2 => format!("{}e-3", r),
                3 => String::new(),
                4 if i == 17 => "abc".to_string(),
                _ => format!("+{}", r as f64 / 7.0),
            };
            let c = if i % 50 == 0 { r.to_string() } else { "5".to_string() };
            let e = format!("2024-{:02}-{:02}", 1 + r % 12, 1 + r % 28);
            csv.push_str(&format!("{},{b},{c},{},{e}\n", r as i64 - 500, ["x", "y", "z"][(r % 3) as usize]));
        }
        let (t, s) = table(&csv);
        let profiled_scale = |c: &ColumnSummary| c.profile.numeric.as_ref().and_then(robust_scale_of_profile);
        assert!(s[..3].iter().all(|c| profiled_scale(c).is_some()), "three numeric columns, scaled from their profiles");
        let profiled = embed(&t, &s, &[], 1000, true).unwrap();
        let recomputed = embed(&t, &s, &[], 1000, false).unwrap();
        assert_eq!(profiled.dimension, recomputed.dimension);
        let bits = |e: &Embedded| e.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&profiled), bits(&recomputed));
        assert!(profiled.data.iter().any(|&x| x != 0.0 && x.fract() != 0.0));
        // The date column's scaling, computed cell by cell.
        let at: usize = profiled.section.features.iter().take_while(|f| f.column != "e").map(|f| f.dimensions as usize).sum();
        let mut days: Vec<f64> = t.columns[4].cells().filter_map(|c| numeric_value(c, true)).collect();
        days.sort_unstable_by(f64::total_cmp);
        let median = quantile_sorted(&days, 0.5);
        let iqr = quantile_sorted(&days, 0.75) - quantile_sorted(&days, 0.25);
        assert!(iqr > 0.0);
        for (pos, &row) in profiled.rows.iter().enumerate() {
            let day = numeric_value(t.columns[4].get(row as usize), true).unwrap();
            let expected = ((day - median) / iqr).clamp(-SCALED_LIMIT, SCALED_LIMIT) as f32;
            assert_eq!(profiled.data[pos * profiled.dimension + at].to_bits(), expected.to_bits(), "row {row}");
        }
    }

    #[test]
    fn vector_column_is_used_as_is() {
        let mut ing = Ingestor::new("t.jsonl");
        ing.push(b"{\"v\": [1, 0], \"t\": \"a\"}\n{\"v\": [0, 1], \"t\": \"b\"}\n").unwrap();
        ing.finish().unwrap();
        let s: Vec<_> = ing.table.columns.iter().map(profile_column).collect();
        let e = embed(&ing.table, &s, &[], 10, true).unwrap();
        assert_eq!(e.dimension, 2);
        assert_eq!(e.data, vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(e.metric, Metric::Cosine);
    }
}
