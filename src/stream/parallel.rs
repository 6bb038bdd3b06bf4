//! Native parallel reading: one thread per part, each with its own file
//! handle on its own byte range; gzip input is one sequential part.

use super::part::{check_parts, merge_parts, Part, PartBuilder};
use super::plan::{plan_parts, read_head_hinted, Head, PartSpec};
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::SNIFF_BYTES;
use crate::Options;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes read from the file at a time.
const CHUNK: usize = 1 << 20;

/// Why a part stopped early: another failed.
const STOPPED: &str = "stopped: another part failed";

/// Largest head read when the header record is long.
const MAX_HEAD: usize = 64 << 20;

/// Profiles the file at `path` in stream mode: parts read by `threads`
/// threads (a `.gz` file: one part, decompressed as it is read), merged into
/// a profiler whose [`crate::Profiler::analyse`] reports on the whole file.
/// `progress(bytes, rows)` is called from this thread about ten times a
/// second with the bytes of the file read (compressed bytes for `.gz`) and
/// the data rows read so far.
pub fn profile_path_parallel(
    path: &Path,
    options: &Options,
    threads: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<crate::Profiler> {
    let started_ms = crate::clock::now_ms();
    let display = path.display().to_string();
    let io = |what: &str, e: std::io::Error| Error::new(ErrorKind::Io, format!("{display}: {what}: {e}"));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| display.clone());
    let file = std::fs::File::open(path).map_err(|e| io("cannot open", e))?;
    let file_bytes = file.metadata().map_err(|e| io("cannot read its size", e))?.len();
    if name.to_ascii_lowercase().ends_with(".gz") {
        return gzip(file, &name[..name.len() - 3], options, progress, &display);
    }
    let head = head_of(options.format_hint(&name), &mut (&file), file_bytes).map_err(|e| named(&display, e))?;
    let specs = plan_parts(file_bytes, &head, threads.max(1));
    let read: Vec<AtomicU64> = specs.iter().map(|_| AtomicU64::new(0)).collect();
    let rows: Vec<AtomicU64> = specs.iter().map(|_| AtomicU64::new(0)).collect();
    let failed = AtomicBool::new(false);
    let name = name.as_str();
    let mut parts: Vec<Part> = std::thread::scope(|scope| -> Result<Vec<Part>> {
        // Each thread says when it is done, so that the last one's end is
        // seen at once rather than at the next progress tick.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let handles: Vec<_> = specs
            .iter()
            .map(|spec| {
                let (head, read, rows, failed) =
                    (&head, &read[spec.index as usize], &rows[spec.index as usize], &failed);
                let done = done.clone();
                scope.spawn(move || {
                    let part = read_part(path, name, options, head, spec, read, rows, failed);
                    if part.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    let _ = done.send(());
                    part
                })
            })
            .collect();
        drop(done);
        let mut running = handles.len();
        while running > 0 {
            match finished.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok(()) => running -= 1,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let sum = |v: &[AtomicU64]| v.iter().map(|a| a.load(Ordering::Relaxed)).sum::<u64>();
                    progress(sum(&read), sum(&rows));
                }
                // Every sender gone: a thread ended without saying so (a
                // panic); the joins below report it.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let results: Vec<Result<Part>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::new(ErrorKind::Internal, "a reading thread panicked"))))
            .collect();
        // The error that stopped the others, not theirs.
        let mut stopped = None;
        let mut parts = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok(part) => parts.push(part),
                Err(e) if e.message() == STOPPED => stopped = Some(e),
                Err(e) => return Err(e),
            }
        }
        match stopped {
            Some(e) => Err(e),
            None => Ok(parts),
        }
    })
    .map_err(|e| named(&display, e))?;
    // A part that guessed its first record wrong (a newline inside quotes
    // right after its start) is read again from where the part before it stopped.
    while let Err(reparse) = check_parts(&parts) {
        let planned = specs[reparse.index as usize];
        let spec = PartSpec { start: reparse.start, at_record_boundary: true, ..planned };
        let (read, rows) = (AtomicU64::new(0), AtomicU64::new(0));
        let part =
            read_part(path, name, options, &head, &spec, &read, &rows, &failed).map_err(|e| named(&display, e))?;
        parts[reparse.index as usize] = part;
    }
    let total_rows: u64 = parts.iter().map(Part::rows).sum();
    progress(file_bytes, total_rows);
    let mut profiler = merge_parts(name, options, &head, parts, file_bytes).map_err(|e| named(&display, e))?;
    // The report's "read" stage is the whole streamed pass: the parts read
    // in parallel and merged.
    profiler.started_ms = started_ms;
    Ok(profiler)
}

/// The error with the file's path in front, as the CLI shows it.
fn named(display: &str, e: Error) -> Error {
    let renamed = Error::new(e.kind().clone(), format!("{display}: {}", e.message()));
    match e.position() {
        Some(position) => renamed.at(position.clone()),
        None => renamed,
    }
}

/// Reads the head from the file's first bytes, reading more while the
/// header record is longer than them.
fn head_of(hint: Option<(crate::ingest::Format, Option<u8>)>, file: &mut impl Read, file_bytes: u64) -> Result<Head> {
    let mut first = Vec::new();
    let mut want = SNIFF_BYTES;
    loop {
        let missing = want.saturating_sub(first.len());
        file.take(missing as u64)
            .read_to_end(&mut first)
            .map_err(|e| Error::new(ErrorKind::Io, format!("read failed: {e}")))?;
        let complete = first.len() as u64 >= file_bytes;
        match read_head_hinted(hint, &first, complete) {
            Err(e) if *e.kind() == ErrorKind::Internal && !complete && want < MAX_HEAD => want *= 4,
            other => return other,
        }
    }
}

/// Reads one part with its own file handle: seek to its start, push 1 MiB
/// chunks until it needs no more or the file ends.
#[allow(clippy::too_many_arguments)]
fn read_part(
    path: &Path,
    name: &str,
    options: &Options,
    head: &Head,
    spec: &PartSpec,
    read: &AtomicU64,
    rows: &AtomicU64,
    failed: &AtomicBool,
) -> Result<Part> {
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("read failed: {e}"));
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(spec.start)).map_err(io)?;
    let mut builder = PartBuilder::new(name, options, head, spec)?;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        if failed.load(Ordering::Relaxed) {
            return Err(Error::new(ErrorKind::Internal, STOPPED));
        }
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 || builder.push(&buffer[..n])? {
            break;
        }
        read.store(builder.bytes_read(), Ordering::Relaxed);
        rows.store(builder.rows_read(), Ordering::Relaxed);
    }
    read.store(builder.bytes_read(), Ordering::Relaxed);
    rows.store(builder.rows_read(), Ordering::Relaxed);
    builder.finish()
}

/// A `.gz` file: decompressed as it is read, into one part.
#[cfg(feature = "cli")]
fn gzip(
    file: std::fs::File,
    inner_name: &str,
    options: &Options,
    progress: &mut dyn FnMut(u64, u64),
    display: &str,
) -> Result<crate::Profiler> {
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("{display}: read failed: {e}"));
    let compressed = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counting = Counting { inner: file, count: compressed.clone() };
    let mut reader = flate2::read::MultiGzDecoder::new(counting);
    // The head: the first bytes, decompressed (more while the header is long).
    let mut first = Vec::new();
    let mut want = SNIFF_BYTES;
    let head = loop {
        let missing = want.saturating_sub(first.len());
        (&mut reader).take(missing as u64).read_to_end(&mut first).map_err(io)?;
        let complete = first.len() < want;
        match read_head_hinted(options.format_hint(inner_name), &first, complete) {
            Err(e) if *e.kind() == ErrorKind::Internal && !complete && want < MAX_HEAD => want *= 4,
            other => break other.map_err(|e| named(display, e))?,
        }
    };
    let spec = PartSpec { index: 0, start: 0, end: u64::MAX, at_record_boundary: true, file_bytes: 0 };
    let mut builder = PartBuilder::new(inner_name, options, &head, &spec)?;
    let mut total = first.len() as u64;
    builder.push(&first)?;
    drop(first);
    let mut buffer = vec![0u8; CHUNK];
    let mut last = std::time::Instant::now();
    loop {
        let n = reader.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        builder.push(&buffer[..n])?;
        if last.elapsed().as_millis() >= 100 {
            last = std::time::Instant::now();
            progress(compressed.get(), builder.rows_read());
        }
    }
    progress(compressed.get(), builder.rows_read());
    let part = builder.finish()?;
    merge_parts(inner_name, options, &head, vec![part], total).map_err(|e| named(display, e))
}

/// Without the `cli` feature there is no gzip decoder.
#[cfg(not(feature = "cli"))]
fn gzip(_: std::fs::File, _: &str, _: &Options, _: &mut dyn FnMut(u64, u64), display: &str) -> Result<crate::Profiler> {
    Err(Error::new(ErrorKind::Io, format!("{display}: this build reads no gzip (feature `cli` off)")))
}

/// Counts the bytes read through it.
#[cfg(feature = "cli")]
struct Counting<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

#[cfg(feature = "cli")]
impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}
