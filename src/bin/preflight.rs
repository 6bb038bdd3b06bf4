//! The `preflight` command line tool: the same checks as the page, for
//! pipelines and for files too big for a browser tab.

use preflight::report::CompareThresholds;
use preflight::{Analysis, CompareAnalysis, Options, Profiler};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
preflight: dataset quality checks (profile, duplicates, class balance, kNN outliers, label issues)

usage:
  preflight profile FILE [--label COL] [--text COL]... [--text-threshold F]
                         [--json OUT.json] [--rows OUT.csv] [--html OUT.html [--include-rows]]
                         [--backend auto|gpu|cpu] [--k N] [--max-knn-rows N]
                         [--outlier-iqr F] [--near-factor F] [--normalize] [--quiet]
                         [--rules RULES.json]
                         [--annotator COL]... [--verified COL]
                         [--review-sample OUT.csv] [--review-per-class N | --review-fraction F]
                         [--review-seed N] [--review-enrich N]
                         [--proba COL]...
                         [--embed hashed|semantic] [--model PATH]
                         [--stream auto|on|off] [--threads N] [--sample-rows N]
                         [--format csv|tsv|jsonl] [--delimiter C]
  preflight compare REFERENCE CANDIDATE [--label COL] [--json OUT.json] [--rows OUT.csv]
                         [--html OUT.html [--include-rows]]
                         [--backend auto|gpu|cpu] [--ks F] [--alpha F] [--psi F]
                         [--psi-bins N] [--js F] [--missing-change F]
                         [--dataset-drift F] [--max-leakage F] [same options as profile] [--quiet]
  preflight --version | --help

FILE is .csv .tsv .txt .jsonl .ndjson, optionally .gz; other names are sniffed.
--format and --delimiter (one character, or tab) say what the name does not, or overrule it.
Progress goes to stderr, a short summary to stdout.
RULES.json: a rules file (README \"Rules\", schema www/rules.schema.json);
without one the default rules apply.
--embed semantic: the neighbour checks (outliers, near duplicates, label issues) use a sentence
model (all-MiniLM-L6-v2) on the text column (--text COL, else the first column profiled as text);
--model PATH: its weights file (default: $PREFLIGHT_MODEL, else www/models/all-MiniLM-L6-v2.pfm
in this checkout; scripts/fetch-model writes it).
--stream: read the file in parts, in parallel, with bounded memory (on), or whole (off); auto
streams files over 64 MiB. A streamed run profiles every row (columns, exact duplicates,
classes, personal data) and runs the row-level checks on a uniform sample (the report's
\"sampling\" says which; --sample-rows N, default 100000). --threads N: parts read at once
(default: the machine's cores).
exit status: 0 report made and verdict passed, 1 verdict failed (an error-level rule failed),
             2 usage error, unreadable input or invalid rules file";

/// Options accepted by DESIGN section 4 that this build does not implement
/// yet; they are refused rather than silently ignored.
const NOT_YET: &[(&str, &str)] = &[];

struct Args {
    /// `profile` or `compare`.
    compare: bool,
    /// FILE, or REFERENCE and CANDIDATE.
    files: Vec<PathBuf>,
    file: PathBuf,
    thresholds: CompareThresholds,
    json: Option<PathBuf>,
    rows: Option<PathBuf>,
    quiet: bool,
    options: Options,
    /// `--rules FILE`: read (and refused when invalid) before any input.
    rules: Option<PathBuf>,
    /// `--review-sample OUT.csv`: where the review sample goes.
    review_sample: Option<PathBuf>,
    /// `--html OUT.html`: the shareable report.
    html: Option<PathBuf>,
    /// `--include-rows`: the HTML report quotes row values.
    include_rows: bool,
    /// `--model PATH`: the weights file of `--embed semantic`.
    model: Option<PathBuf>,
    /// `--threads N`: parts read at once in stream mode.
    threads: usize,
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("preflight: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = args.next().ok_or("no command given")?;
    let compare = match command.as_str() {
        "profile" => false,
        "compare" => true,
        other => return Err(format!("unknown command {other:?}")),
    };
    let mut files = Vec::new();
    let (mut format, mut delimiter): (Option<String>, Option<String>) = (None, None);
    let mut out = Args {
        compare,
        files: Vec::new(),
        file: PathBuf::new(),
        thresholds: CompareThresholds::default(),
        json: None,
        rows: None,
        quiet: false,
        options: Options::default(),
        rules: None,
        review_sample: None,
        html: None,
        include_rows: false,
        model: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--label" => out.options.label = Some(value("--label")?),
            "--normalize" => out.options.normalize = true,
            "--json" => out.json = Some(value("--json")?.into()),
            "--rows" => out.rows = Some(value("--rows")?.into()),
            "--html" => out.html = Some(value("--html")?.into()),
            "--include-rows" => out.include_rows = true,
            "--backend" => out.options.backend = value("--backend")?.parse().map_err(|e: preflight::Error| e.to_string())?,
            "--k" => {
                let k: usize = value("--k")?.parse().map_err(|_| "--k needs a whole number")?;
                if k == 0 {
                    return Err("--k must be at least 1".into());
                }
                out.options.k = k;
            }
            "--max-knn-rows" => {
                out.options.max_knn_rows =
                    value("--max-knn-rows")?.parse().map_err(|_| "--max-knn-rows needs a whole number")?
            }
            "--outlier-iqr" => out.options.outlier_iqr_factor = positive(&value("--outlier-iqr")?, "--outlier-iqr")?,
            "--near-factor" => out.options.near_duplicate_factor = positive(&value("--near-factor")?, "--near-factor")?,
            "--text" => out.options.text_columns.push(value("--text")?),
            "--text-threshold" => {
                let text = value("--text-threshold")?;
                out.options.text_threshold = match text.parse::<f64>() {
                    Ok(v) if v > 0.0 && v <= 1.0 => v,
                    _ => return Err(format!("--text-threshold needs a number above 0 and at most 1, not {text:?}")),
                };
            }
            "--quiet" | "-q" => out.quiet = true,
            "--embed" => out.options.embed = value("--embed")?.parse().map_err(|e: preflight::Error| e.to_string())?,
            "--model" => out.model = Some(value("--model")?.into()),
            "--stream" => out.options.stream = value("--stream")?.parse().map_err(|e: preflight::Error| e.to_string())?,
            "--format" => format = Some(value("--format")?),
            "--delimiter" => delimiter = Some(value("--delimiter")?),
            "--sample-rows" => {
                out.options.sample_rows = match value("--sample-rows")?.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err("--sample-rows needs a whole number of at least 1".into()),
                }
            }
            "--threads" => {
                out.threads = match value("--threads")?.parse::<usize>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err("--threads needs a whole number of at least 1".into()),
                }
            }
            "--rules" => out.rules = Some(value("--rules")?.into()),
            "--annotator" => out.options.annotators.push(value("--annotator")?),
            "--proba" => out.options.proba_columns.push(value("--proba")?),
            "--verified" => out.options.verified_column = Some(value("--verified")?),
            "--review-sample" if !compare => out.review_sample = Some(value("--review-sample")?.into()),
            "--review-per-class" if !compare => {
                out.options.review.per_class = match value("--review-per-class")?.parse::<usize>() {
                    Ok(n) if n >= 1 => Some(n),
                    _ => return Err("--review-per-class needs a whole number of at least 1".into()),
                }
            }
            "--review-fraction" if !compare => {
                let text = value("--review-fraction")?;
                out.options.review.fraction = match text.parse::<f64>() {
                    Ok(v) if v > 0.0 && v <= 1.0 => Some(v),
                    _ => return Err(format!("--review-fraction needs a number above 0 and at most 1, not {text:?}")),
                };
            }
            "--review-seed" if !compare => {
                let max = preflight::checks::review::MAX_SEED;
                out.options.review.seed = match value("--review-seed")?.parse::<u64>() {
                    Ok(n) if n <= max => n,
                    _ => return Err(format!("--review-seed needs a whole number from 0 to {max}")),
                }
            }
            "--review-enrich" if !compare => {
                out.options.review.enrich =
                    value("--review-enrich")?.parse().map_err(|_| "--review-enrich needs a whole number")?
            }
            "--ks" if compare => out.thresholds.ks = above_zero(&value("--ks")?, "--ks")?,
            "--alpha" if compare => out.thresholds.alpha = above_zero(&value("--alpha")?, "--alpha")?,
            "--psi" if compare => out.thresholds.psi = above_zero(&value("--psi")?, "--psi")?,
            "--psi-bins" if compare => {
                out.thresholds.psi_bins = match value("--psi-bins")?.parse::<usize>() {
                    Ok(n) if n >= 2 => n,
                    _ => return Err("--psi-bins needs a whole number of at least 2".into()),
                }
            }
            "--js" if compare => out.thresholds.js = above_zero(&value("--js")?, "--js")?,
            "--missing-change" if compare => {
                out.thresholds.missing_change = above_zero(&value("--missing-change")?, "--missing-change")?
            }
            "--dataset-drift" if compare => {
                out.thresholds.dataset_drift = above_zero(&value("--dataset-drift")?, "--dataset-drift")?
            }
            "--max-leakage" if compare => out.thresholds.leakage_share = positive(&value("--max-leakage")?, "--max-leakage")?,
            flag if NOT_YET.iter().any(|(f, _)| *f == flag) => {
                let what = NOT_YET.iter().find(|(f, _)| *f == flag).map(|(_, w)| *w).unwrap_or("");
                return Err(format!("{flag} ({what}) is not available in this version yet"));
            }
            flag if flag.starts_with('-') && flag.len() > 1 => return Err(format!("unknown option {flag}")),
            path => files.push(PathBuf::from(path)),
        }
    }
    out.options.input_format = preflight::ingest::sniff::format_override(format.as_deref(), delimiter.as_deref())
        .map_err(|e| format!("--{e}").replace("with format", "with --format"))?;
    match (compare, files.len()) {
        (false, 0) => return Err("no FILE given".into()),
        (false, 1) => out.file = files[0].clone(),
        (false, _) => return Err("give one FILE".into()),
        (true, 2) => {}
        (true, _) => return Err("compare needs two files: REFERENCE CANDIDATE".into()),
    }
    if out.model.is_some() && out.options.embed != preflight::EmbedMode::Semantic {
        return Err("--model is the weights file of semantic embeddings: give --embed semantic too".into());
    }
    if out.include_rows && out.html.is_none() {
        return Err("--include-rows is an option of the HTML report: give --html OUT.html too".into());
    }
    if out.options.review.per_class.is_some() && out.options.review.fraction.is_some() {
        return Err("give --review-per-class or --review-fraction, not both".into());
    }
    out.files = files;
    Ok(out)
}

fn above_zero(text: &str, flag: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{flag} needs a number above 0, not {text:?}")),
    }
}

fn positive(text: &str, flag: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{flag} needs a number of at least 0, not {text:?}")),
    }
}

/// Counts bytes read from the (possibly compressed) file, for progress.
struct Counting<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

struct Progress {
    enabled: bool,
    tty: bool,
    total: u64,
    started: std::time::Instant,
    last_draw: std::time::Instant,
    /// The stage last shown, so that a stage reporting progress is shown once.
    last_stage: String,
}

impl Progress {
    /// Reading progress by bytes: a bar redrawn ten times a second on a
    /// terminal, a line at most once a second otherwise (a log).
    fn bytes(&mut self, read: u64, rows: u64) {
        let every_ms = if self.tty { 100 } else { 1000 };
        if !self.enabled || self.last_draw.elapsed().as_millis() < every_ms {
            return;
        }
        self.last_draw = std::time::Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let fraction = if self.total > 0 { (read as f64 / self.total as f64).min(1.0) } else { 0.0 };
        let left = if fraction > 0.0 { format!("{:.0}s left", secs / fraction - secs) } else { "time left unknown".into() };
        let rates = format!(
            "{:5.1}%  {:.1} MB/s  {} rows  {:.0} rows/s  {left}",
            fraction * 100.0,
            read as f64 / 1e6 / secs,
            rows,
            rows as f64 / secs
        );
        if self.tty {
            let width = 30;
            let filled = ((fraction * width as f64) as usize).min(width);
            eprint!("\rreading [{}{}] {rates}   ", "#".repeat(filled), " ".repeat(width - filled));
        } else {
            eprintln!("preflight: reading {rates}");
        }
    }

    /// A stage's progress: a line when the stage starts; on a terminal, the
    /// run's share done while a long stage (the semantic embedding) goes on.
    fn update(&mut self, stage: &str, fraction: f64) {
        if stage != self.last_stage {
            self.last_stage = stage.to_string();
            self.stage(stage);
        } else if self.enabled && self.tty && self.last_draw.elapsed().as_millis() >= 100 {
            self.last_draw = std::time::Instant::now();
            eprint!("\rpreflight: {stage} ({:.0}% of the run, {:.1}s)   ", fraction * 100.0, self.started.elapsed().as_secs_f64());
        }
    }

    fn stage(&mut self, stage: &str) {
        if !self.enabled {
            return;
        }
        if self.tty {
            eprint!("\r\x1b[2K");
        }
        if stage != "done" {
            eprintln!("preflight: {stage} ({:.1}s)", self.started.elapsed().as_secs_f64());
        }
    }
}

fn run(args: &Args) -> Result<Analysis, String> {
    let (mut profiler, display, mut progress) = read(args, &args.file)?;
    let analysis = pollster::block_on(profiler.analyse(&mut |stage, fraction| progress.update(stage, fraction)))
        .map_err(|e| format!("{display}: {e}"))?;
    Ok(analysis)
}

fn run_compare(args: &Args) -> Result<CompareAnalysis, String> {
    let (mut reference, ref_display, mut progress) = read(args, &args.files[0])?;
    let (mut candidate, cand_display, _) = read(args, &args.files[1])?;
    pollster::block_on(preflight::compare(&mut reference, &mut candidate, &args.thresholds, &mut |stage, fraction| {
        progress.update(stage, fraction)
    }))
    // The core's message names the file (reference or candidate) an error came from.
    .map_err(|e| format!("compare {ref_display} {cand_display}: {e}"))
}

/// The uncompressed size a gzip file's trailer states (ISIZE, the last
/// member's size modulo 2^32); `None` when it cannot be read.
fn gzip_size(path: &Path) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() < 18 {
        return None;
    }
    file.seek(SeekFrom::End(-4)).ok()?;
    let mut trailer = [0u8; 4];
    file.read_exact(&mut trailer).ok()?;
    Some(u64::from(u32::from_le_bytes(trailer)))
}

/// Reads one file into a profiler (the checks have not run yet).
fn read(args: &Args, path: &Path) -> Result<(Profiler, String, Progress), String> {
    let display = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{display}: cannot open: {e}"))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let count = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = Counting { inner: file, count: count.clone() };
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| display.clone());
    let gz = name.to_ascii_lowercase().ends_with(".gz");
    let inner_name = if gz { name[..name.len() - 3].to_string() } else { name.clone() };
    let mut reader: Box<dyn Read> =
        if gz { Box::new(flate2::read::MultiGzDecoder::new(counted)) } else { Box::new(counted) };

    let mut progress = Progress {
        enabled: !args.quiet,
        tty: std::io::stderr().is_terminal(),
        total,
        started: std::time::Instant::now(),
        last_draw: std::time::Instant::now(),
        last_stage: String::new(),
    };
    // A .gz is decided by what it holds: its trailer's size (of the last
    // member, modulo 4 GiB) where that is larger than the compressed size.
    // A 1.4 MB file expanding to 400 MB was read whole (7 GB of memory).
    let size = if gz { total.max(gzip_size(path).unwrap_or(0)) } else { total };
    if args.options.stream.streams(size, args.options.stream_above_bytes) {
        // Stream mode: parts in parallel, each thread with its own handle.
        drop(reader);
        progress.stage("reading (streamed in parts)");
        let profiler = preflight::stream::profile_path_parallel(path, &args.options, args.threads, &mut |read, rows| {
            progress.bytes(read, rows)
        })
        .map_err(|e| e.to_string())?;
        return Ok((profiler, display, progress));
    }
    let mut profiler = Profiler::new(&inner_name, args.options.clone());
    let mut buf = vec![0u8; 1 << 20];
    progress.stage("reading");
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("{display}: read failed: {e}"))?;
        if n == 0 {
            break;
        }
        profiler.push(&buf[..n]).map_err(|e| format!("{display}: {e}"))?;
        progress.bytes(count.get(), profiler.rows_read());
    }
    Ok((profiler, display, progress))
}

/// A report that `--html` can write: the single-file one or the comparison.
trait HtmlReport {
    fn html(&self, options: &preflight::html::HtmlOptions) -> String;
}

impl HtmlReport for preflight::report::Report {
    fn html(&self, options: &preflight::html::HtmlOptions) -> String {
        preflight::html::report_html(self, options)
    }
}

impl HtmlReport for preflight::report::CompareReport {
    fn html(&self, options: &preflight::html::HtmlOptions) -> String {
        preflight::html::compare_html(self, options)
    }
}

/// Writes `--json` (the report), `--html` (the shareable report) and
/// `--rows` (the CSV `rows_csv` makes), prints the summary and gives the
/// exit status: 0 passed, 1 failed, 2 when an output cannot be written.
fn deliver(
    args: &Args,
    report: &(impl serde::Serialize + HtmlReport),
    passed: bool,
    rows_csv: impl FnOnce() -> preflight::error::Result<String>,
    summary: String,
) -> ExitCode {
    let written = (|| -> Result<(), String> {
        if let Some(path) = &args.json {
            let json = serde_json::to_string_pretty(report).map_err(|e| format!("cannot encode the report: {e}"))?;
            write_file(path, json.as_bytes())?;
        }
        if let Some(path) = &args.html {
            let options = preflight::html::HtmlOptions { include_rows: args.include_rows };
            write_file(path, report.html(&options).as_bytes())?;
        }
        if let Some(path) = &args.rows {
            let csv = rows_csv().map_err(|e| e.to_string())?;
            write_file(path, csv.as_bytes())?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        eprintln!("preflight: {e}");
        return ExitCode::from(2);
    }
    print!("{summary}");
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The verdict's lines of a summary.
fn verdict_lines(verdict: &preflight::report::Verdict, line: &mut impl FnMut(String)) {
    line(format!("verdict: {}", if verdict.passed { "passed" } else { "FAILED" }));
    for f in &verdict.failures {
        line(format!("  error: {f}"));
    }
    for w in &verdict.warnings {
        line(format!("  warning: {w}"));
    }
}

/// Reads and checks a rules file (`--rules`); the error names the file and,
/// for a bad rule, its index and field.
fn load_rules(path: &Path) -> Result<preflight::checks::rules::RuleSet, String> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{display}: cannot read the rules file: {e}"))?;
    preflight::checks::rules::RuleSet::from_json(&text, &display).map_err(|e| e.to_string())
}

/// The weights file of `--embed semantic`: `--model PATH`, else
/// `$PREFLIGHT_MODEL`, else `www/models/all-MiniLM-L6-v2.pfm` in the
/// checkout around this executable (target/release/preflight) or around the
/// current directory.
fn model_path(chosen: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = chosen {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("PREFLIGHT_MODEL").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let relative = Path::new("www").join("models").join(preflight::semantic::MODEL_FILE);
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    let roots = exe.iter().flat_map(|e| e.ancestors().skip(1)).chain(cwd.iter().flat_map(|c| c.ancestors()));
    for root in roots {
        if root.join(&relative).is_file() {
            return Ok(root.join(&relative));
        }
    }
    Err(format!(
        "semantic embeddings need the model file {}, and there is none in {} under the folders around {} or {}: \
         run scripts/fetch-model, or give --model PATH (or set PREFLIGHT_MODEL)",
        preflight::semantic::MODEL_FILE,
        Path::new("www").join("models").display(),
        exe.as_deref().map_or("this executable".into(), |e| e.display().to_string()),
        cwd.as_deref().map_or("the current directory".into(), |c| c.display().to_string()),
    ))
}

/// Reads and loads the weights file of `--embed semantic`.
fn load_model(chosen: Option<&Path>) -> Result<preflight::semantic::SemanticModel, String> {
    let path = model_path(chosen)?;
    let display = path.display();
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("{display}: cannot read the model file: {e} (scripts/fetch-model writes it)"))?;
    preflight::semantic::SemanticModel::from_bytes(&bytes).map_err(|e| format!("{display}: {e}"))
}

/// Writes `--review-sample`: an error when there is no label column to
/// sample by.
fn write_review_sample(args: &Args, analysis: &Analysis) -> Result<(), String> {
    let Some(path) = &args.review_sample else { return Ok(()) };
    let sample = analysis.review_sample.as_ref().ok_or_else(|| {
        format!(
            "{}: no review sample: the file has no label column to sample by (choose one with --label)",
            args.file.display()
        )
    })?;
    write_file(path, sample.to_csv().map_err(|e| e.to_string())?.as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

fn summary(analysis: &Analysis) -> String {
    let r = &analysis.report;
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "{}: {} rows x {} columns ({}, {} bytes)",
        r.source.name, r.source.rows, r.source.columns, r.source.format, r.source.bytes
    ));
    // (Every skipped, padded, invalid or joined count comes with an issue.)
    if !r.ingest.issues.is_empty() {
        line(format!(
            "  ingest: {} records, {} skipped, {} padded, {} with invalid UTF-8{}{}",
            r.ingest.records_read,
            r.ingest.rows_skipped,
            r.ingest.rows_padded,
            r.ingest.rows_invalid_utf8,
            if r.ingest.lines_joined > 0 { format!(", {} lines joined into quoted values", r.ingest.lines_joined) } else { String::new() },
            r.ingest.issues.first().map(|i| format!(" (first: line {}: {})", i.line, i.message)).unwrap_or_default()
        ));
    }
    let e = &r.duplicates.exact;
    line(format!(
        "  exact duplicates: {} redundant rows in {} groups ({} rows in groups){}",
        e.redundant_rows,
        e.group_count,
        e.rows_in_groups,
        if e.normalized { ", values normalised" } else { "" }
    ));
    if let Some(i) = &e.ignoring_identifiers {
        let names: Vec<&str> = i.columns_ignored.iter().map(|c| c.column.as_str()).collect();
        line(format!(
            "  duplicates ignoring {}: {} redundant rows in {} groups ({} more than identical rows)",
            names.join(", "),
            i.redundant_rows,
            i.group_count,
            i.additional_redundant_rows
        ));
    }
    if let Some(e) = r.embedding.as_ref().filter(|e| e.method.as_deref() == Some("semantic")) {
        line(format!(
            "  embedding: semantic, {} of {:?} on the {}{}: {} rows{}{}",
            e.model.as_deref().unwrap_or("model"),
            e.features.first().map_or("", |f| f.column.as_str()),
            if e.backend.as_deref() == Some("gpu") { "GPU" } else { "CPU" },
            e.adapter.as_ref().map(|a| format!(" ({a})")).unwrap_or_default(),
            e.rows,
            match e.truncated_texts {
                Some(n) if n > 0 => format!(", {n} texts cut at {} tokens", preflight::semantic::MAX_TOKENS),
                _ => String::new(),
            },
            e.rows_without_text.map(|n| format!(", {n} rows without text left out")).unwrap_or_default(),
        ));
        if let Some(note) = &e.note {
            line(format!("    note: {note}"));
        }
    }
    line(format!("  near duplicates: {} groups ({} rows)", r.duplicates.near.group_count, r.duplicates.near.rows_in_groups));
    for t in &r.text_duplicates {
        line(format!(
            "  texts of {:?}: {} exact groups ({} redundant rows), {} near groups ({} rows; Jaccard >= {}, MinHash on the {})",
            t.column,
            t.exact.group_count,
            t.exact.redundant_rows,
            t.near.group_count,
            t.near.rows_in_groups,
            t.threshold,
            if t.engine == "gpu" { "GPU" } else { "CPU" },
        ));
    }
    if let Some(b) = &r.class_balance {
        line(format!(
            "  classes of {:?}: {} classes, imbalance ratio {:.2}, flagged: {}",
            b.label_column,
            b.classes.len(),
            b.imbalance_ratio,
            if b.flagged_classes.is_empty() { "none".to_string() } else { b.flagged_classes.join(", ") }
        ));
        if b.multi_label {
            let assignments: u64 = b.counts.values().sum();
            line(format!("    multi-label: {assignments} labels on {} rows", b.labelled_rows));
        }
        if !b.singletons.is_empty() {
            line(format!("    classes seen once: {}", b.singletons.join(", ")));
        }
        for v in &b.case_variants {
            let names: Vec<String> = v.classes.iter().map(|c| format!("{:?} ({})", c.class, c.count)).collect();
            line(format!("    likely one class written {} ways: {}", names.len(), names.join(", ")));
        }
    }
    if let Some(c) = r.conflicting_labels.as_ref().filter(|c| c.feature_columns > 0) {
        line(format!(
            "  conflicting labels: {} group{} of identical rows with different labels ({} rows, {} outvoted)",
            c.group_count,
            if c.group_count == 1 { "" } else { "s" },
            c.rows_in_groups,
            c.rows_outvoted
        ));
    }
    if let Some(o) = &r.outliers {
        line(format!(
            "  outliers: {} of {} rows (k={}, {}, {} backend)",
            o.flagged, o.rows_scored, o.k, o.metric, o.backend
        ));
    }
    if let Some(l) = &r.label_issues {
        let how = match l.method.as_str() {
            "confident_learning" => " (confident learning on the model's probabilities)",
            "knn" => " (confident learning on kNN label shares)",
            _ => "",
        };
        line(format!("  suspected label errors: {}{how}", l.flagged));
    }
    if let Some(a) = &r.prediction_audit {
        line(format!(
            "  model predictions ({}): accuracy {:.4} on {} rows, log loss {:.4}, macro F1 {:.4}",
            a.columns.join(", "),
            a.accuracy,
            a.rows_scored,
            a.log_loss,
            a.macro_f1
        ));
        if let Some(s) = a.slices.first() {
            line(format!(
                "    worst slice: {} = {} (accuracy {:.4}, {} rows{})",
                s.column,
                s.slice,
                s.accuracy,
                s.rows,
                if s.small { ", few rows" } else { "" }
            ));
        }
        if let Some(note) = &a.renormalisation_note {
            line(format!("    note: {note}"));
        }
    }
    if let Some(a) = &r.annotator_agreement {
        let kappa = match (a.cohen_kappa, a.fleiss_kappa) {
            (Some(k), _) => format!(", Cohen's kappa {k:.3}"),
            (None, Some(k)) => format!(", Fleiss' kappa {k:.3}"),
            _ => String::new(),
        };
        line(format!(
            "  annotator agreement ({}): {} on {} rows{kappa}; {} rows disagree{}",
            a.annotators.join(", "),
            a.percent_agreement.map_or("-".to_string(), |p| format!("{:.1}%", p * 100.0)),
            a.rows_compared,
            a.disagreement_rows,
            match a.rows_missing {
                0 => String::new(),
                1 => ", 1 row left out (a value missing)".to_string(),
                n => format!(", {n} rows left out (a value missing)"),
            }
        ));
    }
    if let Some(v) = r.review.as_ref().and_then(|r| r.verified.as_ref()) {
        line(format!(
            "  verified labels ({:?}): {} of {} rows ({:.1}%){}",
            v.column,
            v.verified,
            v.rows,
            v.share * 100.0,
            if v.not_boolean > 0 { format!("; {} values not a flag, counted unverified", v.not_boolean) } else { String::new() }
        ));
    }
    if let Some(s) = r.review.as_ref().and_then(|r| r.sample.as_ref()) {
        let how = match (s.per_class, s.fraction) {
            (Some(n), _) => format!("up to {n} per class"),
            (_, Some(f)) => format!("{:.1}% of each class", f * 100.0),
            _ => String::new(),
        };
        line(format!(
            "  review sample: {} rows ({how}, seed {}{})",
            s.size,
            s.seed,
            if s.enriched > 0 { format!(", {} likely mislabelled", s.enriched) } else { String::new() }
        ));
    }
    pii_lines(&r.pii, &mut line);
    if let Some(note) = &r.compute.note {
        line(format!("  note: {note}"));
    }
    verdict_lines(&r.verdict, &mut line);
    out
}

/// The PII scan: one line per column and kind found (examples masked), one
/// per column named like personal data.
fn pii_lines(pii: &preflight::report::Pii, line: &mut impl FnMut(String)) {
    if pii.columns.is_empty() && pii.name_hints.is_empty() {
        line(format!("  personal data: none found ({} values scanned)", pii.values_scanned));
        return;
    }
    line(format!(
        "  personal data: {} finding{} in values, {} column name{} ({} values scanned)",
        pii.columns.len(),
        if pii.columns.len() == 1 { "" } else { "s" },
        pii.name_hints.len(),
        if pii.name_hints.len() == 1 { "" } else { "s" },
        pii.values_scanned
    ));
    for f in &pii.columns {
        line(format!(
            "    {} in {:?}: {} values ({:.1}%), e.g. {}",
            f.kind,
            f.column,
            f.count,
            f.share * 100.0,
            f.examples.join(", ")
        ));
    }
    for h in &pii.name_hints {
        line(format!("    column {:?} is named like {} data ({})", h.column, h.kind, h.reason));
    }
}

fn compare_summary(analysis: &CompareAnalysis) -> String {
    let r = &analysis.report;
    let c = &r.comparison;
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "compare {} ({} rows) with {} ({} rows)",
        c.reference, c.reference_rows, c.candidate, c.candidate_rows
    ));
    let s = &c.schema;
    line(format!(
        "  schema: {} shared columns, {} added, {} removed, {} changed type",
        s.shared.len(),
        s.added.len(),
        s.removed.len(),
        s.type_changed.len()
    ));
    if !s.added.is_empty() {
        line(format!("    added: {}", s.added.join(", ")));
    }
    if !s.removed.is_empty() {
        line(format!("    removed: {}", s.removed.join(", ")));
    }
    for t in &s.type_changed {
        line(format!("    {:?}: {:?} -> {:?}", t.column, t.reference_type, t.candidate_type));
    }
    for n in &s.renamed {
        line(format!("    renamed? {:?} -> {:?} ({})", n.reference_column, n.candidate_column, n.evidence));
    }
    let l = &c.leakage;
    line(format!(
        "  leakage: {} candidate rows ({:.1}%) copy a reference row exactly",
        l.exact_rows,
        l.exact_share * 100.0
    ));
    if !l.identifier_columns.is_empty() {
        line(format!(
            "    ignoring {}: {} rows ({:.1}%)",
            l.identifier_columns.join(", "),
            l.exact_rows_ignoring_identifiers,
            l.exact_share_ignoring_identifiers * 100.0
        ));
    }
    if let Some(near) = l.near_rows {
        line(format!("    near copies (embedding): {near} more rows"));
    }
    for t in &c.text_leakage {
        line(format!(
            "    texts of {:?}: {} candidate rows copy a reference text exactly, {} nearly (Jaccard >= {})",
            t.column, t.exact_rows, t.near_rows, t.threshold
        ));
    }
    for p in l.pairs.iter().take(3) {
        line(format!(
            "    e.g. candidate row {} (line {}) = reference row {} (line {}) [{}]",
            p.candidate_row, p.candidate_line, p.reference_row, p.reference_line, p.kind
        ));
    }
    let flagged = c.drift.iter().filter(|d| d.flagged).count();
    line(format!("  drift: {} of {} columns flagged; most drifted first:", flagged, c.drift.len()));
    for d in c.drift.iter().take(5) {
        let mut stats = Vec::new();
        if let Some(v) = d.ks {
            stats.push(format!("KS {v:.3}"));
        }
        if let Some(v) = d.psi {
            stats.push(format!("PSI {v:.3}"));
        }
        if let Some(v) = d.js_distance {
            stats.push(format!("JS {v:.3}"));
        }
        if d.missing_change != 0.0 {
            stats.push(format!("missing {:+.1}%", d.missing_change * 100.0));
        }
        line(format!("    {}{:?}: {}", if d.flagged { "! " } else { "  " }, d.column, stats.join(", ")));
    }
    if let Some(shift) = &c.label_shift {
        line(format!(
            "  label {:?}: Jensen-Shannon distance {:.3}{}",
            shift.column,
            shift.js_distance,
            if shift.flagged { " (shifted)" } else { "" }
        ));
    }
    if let Some(d) = &c.dataset_drift {
        line(format!(
            "  dataset drift: score {:.3} (own-set neighbours {:.3}, expected {:.3}; k={}, {} backend)",
            d.score, d.same_set_share, d.expected_share, d.k, d.backend
        ));
    }
    verdict_lines(&r.verdict, &mut line);
    out
}

/// Keeps Mesa's Vulkan device-select layer from asking Wayland for the
/// default GPU where no Wayland session can be: without `XDG_RUNTIME_DIR`
/// (a headless server, a CI job) libwayland prints `error: XDG_RUNTIME_DIR
/// is invalid or not set in the environment.` twice to stderr on every run,
/// which a pipeline reads as an error of ours. The layer only orders the
/// adapters; wgpu picks among them by power preference all the same. Left
/// alone when the user chose a device (`MESA_VK_DEVICE_SELECT`) or set
/// `NODEVICE_SELECT` either way. Runs first in `main`, before any thread.
fn quiet_headless_vulkan() {
    // libwayland wants an absolute path to a folder.
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| {
        let dir = std::path::Path::new(dir);
        dir.is_absolute() && dir.is_dir()
    });
    if runtime_dir.is_none() && std::env::var_os("NODEVICE_SELECT").is_none() && std::env::var_os("MESA_VK_DEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

fn main() -> ExitCode {
    quiet_headless_vulkan();
    let mut raw = std::env::args().skip(1).peekable();
    match raw.peek().map(String::as_str) {
        None | Some("--help") | Some("-h") | Some("help") => {
            println!("{USAGE}");
            return if raw.peek().is_none() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
        Some("--version") | Some("-V") => {
            println!("preflight {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let mut args = match parse_args(raw) {
        Ok(a) => a,
        Err(e) => return usage_error(e),
    };
    if let Some(path) = &args.rules {
        match load_rules(path) {
            Ok(rules) => args.options.rules = Some(rules),
            Err(e) => {
                eprintln!("preflight: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.options.embed == preflight::EmbedMode::Semantic {
        match load_model(args.model.as_deref()) {
            Ok(model) => args.options.semantic_model = Some(model),
            Err(e) => {
                eprintln!("preflight: {e}");
                return ExitCode::from(2);
            }
        }
    }
    // Loading the GPU drivers overlaps reading the file.
    #[cfg(feature = "gpu")]
    if args.options.backend == preflight::Backend::Auto {
        preflight::probe_gpu_in_background();
    }
    let delivered = if args.compare {
        run_compare(&args).map(|a| {
            let summary = compare_summary(&a);
            deliver(&args, &a.report, a.report.verdict.passed, || a.candidate_leaks.to_csv(), summary)
        })
    } else {
        run(&args).and_then(|a| write_review_sample(&args, &a).map(|()| a)).map(|a| {
            let summary = summary(&a);
            deliver(&args, &a.report, a.report.verdict.passed, || a.rows.to_csv(), summary)
        })
    };
    let status = delivered.unwrap_or_else(|e| {
        eprintln!("preflight: {e}");
        ExitCode::from(2)
    });
    // Before the thread's storage goes: the GPU's objects cannot be dropped then.
    preflight::release_gpu();
    status
}
