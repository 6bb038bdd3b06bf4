//! Parts: one byte range of a file read into an [`Accumulator`], its bytes
//! for moving between workers, the check that neighbouring parts met at a
//! record boundary, and the merge of all parts into a profiler.
//!
//! The merge contract (what a part holds, its binary layout, the
//! invariants) is written up in `docs/merge-contract.md`.

use super::accumulate::Accumulator;
use super::plan::{Head, PartSpec};
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::{CsvReader, Format, Issues, JsonlReader, Sink};
use crate::Options;
use serde::{Deserialize, Serialize};

/// First bytes of a part's binary form.
pub const PART_MAGIC: &[u8; 8] = b"PFPART\0\0";

/// Version of the binary form after the magic (a little-endian u32).
pub const PART_VERSION: u32 = 5;

#[derive(Debug)]
enum Reader {
    Csv(Box<CsvReader>),
    Jsonl(Box<JsonlReader>),
}

/// Where a part met its neighbours and how many lines it spans: what
/// [`check_bounds`] compares and the merge rebases by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartBounds {
    /// The part's position in the file.
    pub index: u32,
    /// File offset of the first record the part read (its `start` when it
    /// began at a record boundary); the end of the file when it found none.
    pub first_record_offset: u64,
    /// File offset where the part stopped: the first byte of the first
    /// record after its range, or the end of the file.
    pub end_offset: u64,
    /// Newlines from `first_record_offset` (from 0 for the first part) to
    /// `end_offset`: the lines the next part's line numbers move down by.
    pub newlines: u64,
}

/// Reads one part of a file into any [`Sink`]: the record logic of
/// [`PartBuilder`], which reads into an [`Accumulator`]. Push the file's
/// bytes from `spec.start` on, in chunks of any size, until
/// [`PartReader::push`] says it needs no more (or the file ends).
#[derive(Debug)]
pub struct PartReader<S: Sink> {
    spec: PartSpec,
    reader: Reader,
    /// Where the records go.
    pub sink: S,
    /// The part's reading accounting, lines relative to its first record.
    pub issues: Issues,
    /// Looking for the first line break (a part not at a record boundary).
    skipping: bool,
    /// The byte that ends a line (`\r` in a file of lone carriage returns).
    line_byte: u8,
    skipped: u64,
    done: bool,
    /// The part starts after its own end (a re-parse from where the part
    /// before stopped, past this part's range): it holds no record.
    empty: bool,
}

impl<S: Sink> PartReader<S> {
    /// A reader of the part `spec` of the file whose head is `head`; the
    /// sink must already hold `head.columns` (CSV).
    pub fn new(head: &Head, spec: &PartSpec, sink: S) -> PartReader<S> {
        // Only the first part reads the byte order mark and the header.
        let at_start = spec.index == 0;
        let stop_after = spec.end.checked_sub(spec.start);
        let reader = match head.format {
            Format::Csv => Reader::Csv(Box::new(CsvReader::part(
                head.delimiter,
                head.header,
                head.columns.len(),
                at_start,
                stop_after,
            )
            .with_line_ending(&head.line_ending)
            .with_sep_line(at_start && head.sep_line)
            .with_row_names(head.row_names))),
            Format::Jsonl => Reader::Jsonl(Box::new(JsonlReader::part(at_start, stop_after))),
        };
        PartReader {
            spec: *spec,
            reader,
            sink,
            issues: Issues::default(),
            skipping: !at_start && !spec.at_record_boundary,
            // (JSON lines end with `\n` whatever the sniffer saw.)
            line_byte: if head.format == Format::Csv && head.line_ending == "\r" { b'\r' } else { b'\n' },
            skipped: 0,
            done: stop_after.is_none(),
            empty: stop_after.is_none(),
        }
    }

    /// The part read.
    pub fn spec(&self) -> &PartSpec {
        &self.spec
    }

    /// Feeds the next bytes of the file; returns true once the part needs
    /// no more (it stopped after its last record). Bytes after that are
    /// ignored.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        if self.done || chunk.is_empty() {
            return self.done;
        }
        let mut data = chunk;
        if self.skipping {
            match memchr::memchr(self.line_byte, data) {
                Some(pos) => {
                    self.skipped += pos as u64 + 1;
                    data = &data[pos + 1..];
                    self.skipping = false;
                    match &mut self.reader {
                        Reader::Csv(r) => r.skip_offset(self.skipped),
                        Reader::Jsonl(r) => r.skip_offset(self.skipped),
                    }
                    if data.is_empty() {
                        return false;
                    }
                }
                None => {
                    self.skipped += data.len() as u64;
                    return false;
                }
            }
        }
        self.done = match &mut self.reader {
            Reader::Csv(r) => {
                r.push(data, &mut self.sink, &mut self.issues);
                r.is_done()
            }
            Reader::Jsonl(r) => {
                r.push(data, &mut self.sink, &mut self.issues);
                r.is_done()
            }
        };
        self.done
    }

    /// Bytes of the part's range read so far (what progress counts: the
    /// ranges of all parts add up to the file).
    pub fn bytes_read(&self) -> u64 {
        let read = if self.skipping { self.skipped } else { self.consumed() };
        read.min(self.spec.end.saturating_sub(self.spec.start))
    }

    fn consumed(&self) -> u64 {
        match &self.reader {
            Reader::Csv(r) => r.offset(),
            Reader::Jsonl(r) => r.offset(),
        }
    }

    /// Ends the part: when it did not stop by itself, the file ended.
    /// Returns the sink, the accounting and where the part met its
    /// neighbours.
    pub fn finish(mut self) -> (S, Issues, PartBounds) {
        let start = self.spec.start;
        let mut bounds =
            PartBounds { index: self.spec.index, first_record_offset: start, end_offset: start, newlines: 0 };
        if self.empty {
            return (self.sink, self.issues, bounds);
        }
        if self.skipping {
            // The file ended before a newline: no record starts in this part.
            bounds.first_record_offset = start + self.skipped;
            bounds.end_offset = start + self.skipped;
            return (self.sink, self.issues, bounds);
        }
        if !self.done {
            match &mut self.reader {
                Reader::Csv(r) => _ = r.push(&[], &mut self.sink, &mut self.issues),
                Reader::Jsonl(r) => _ = r.push(&[], &mut self.sink, &mut self.issues),
            }
        }
        let (first, stopped, newlines, consumed) = match &self.reader {
            Reader::Csv(r) => (r.first_record_offset(), r.stopped_at(), r.newlines(), r.offset()),
            Reader::Jsonl(r) => (r.first_record_offset(), r.stopped_at(), r.newlines(), r.offset()),
        };
        let end = start + stopped.unwrap_or(consumed);
        bounds.end_offset = end;
        bounds.newlines = newlines;
        bounds.first_record_offset =
            if self.spec.index == 0 || self.spec.at_record_boundary { start } else { first.map_or(end, |f| start + f) };
        (self.sink, self.issues, bounds)
    }
}

/// Reads one part of a file into an [`Accumulator`]: the unit of work of a
/// thread or a browser worker.
#[derive(Debug)]
pub struct PartBuilder {
    reader: PartReader<Accumulator>,
    at_record_boundary: bool,
    end: u64,
}

impl PartBuilder {
    /// A builder of part `spec` of the file `name` whose head is `head`,
    /// accumulating with `options` (normalisation, sample size).
    pub fn new(name: &str, options: &Options, head: &Head, spec: &PartSpec) -> Result<PartBuilder> {
        if spec.index == 0 && spec.start != 0 {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!("{name}: the first part starts at byte {}, not 0", spec.start),
            ));
        }
        let mut accumulator = Accumulator::new(options, &head.columns, spec.start);
        accumulator.bound_sample(head, spec.file_bytes);
        Ok(PartBuilder {
            reader: PartReader::new(head, spec, accumulator),
            at_record_boundary: spec.at_record_boundary || spec.index == 0,
            end: spec.end,
        })
    }

    /// Feeds the next bytes of the file (from the part's `start` on, split
    /// anywhere). Returns true once the part needs no more bytes: push until
    /// then, or until the file ends, then [`PartBuilder::finish`].
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool> {
        Ok(self.reader.push(chunk))
    }

    /// Bytes of the part's range read so far.
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.reader.sink.rows()
    }

    /// Ends the part (the file ended if it had not stopped by itself).
    pub fn finish(self) -> Result<Part> {
        let spec = *self.reader.spec();
        let (mut accumulator, issues, bounds) = self.reader.finish();
        // Only the part's bottom k can be in the file's: the rest would
        // only travel to the coordinator to be dropped there.
        accumulator.finish_sample();
        Ok(Part {
            start: spec.start,
            end: self.end,
            at_record_boundary: self.at_record_boundary,
            bounds,
            body: PartBody { issues, accumulator },
        })
    }
}

/// One part of a file, read: its records' accumulated state and reading
/// accounting, and where it met its neighbours. Moves between workers as
/// [`Part::to_bytes`].
#[derive(Debug, Clone)]
pub struct Part {
    start: u64,
    end: u64,
    at_record_boundary: bool,
    bounds: PartBounds,
    body: PartBody,
}

/// What a part's bytes hold after the fixed header, in postcard.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartBody {
    issues: Issues,
    accumulator: Accumulator,
}

/// Bytes of the fixed header of a part's binary form: magic, version,
/// index, start, end, at_record_boundary, first_record_offset,
/// end_offset, newlines.
pub const PART_HEADER_BYTES: usize = 8 + 4 + 4 + 8 + 8 + 1 + 8 + 8 + 8;

impl Part {
    /// The part's position in the file.
    pub fn index(&self) -> u32 {
        self.bounds.index
    }

    /// File offset of the part's first record (see [`PartBounds`]).
    pub fn first_record_offset(&self) -> u64 {
        self.bounds.first_record_offset
    }

    /// File offset where the part stopped (see [`PartBounds`]).
    pub fn end_offset(&self) -> u64 {
        self.bounds.end_offset
    }

    /// Where the part met its neighbours.
    pub fn bounds(&self) -> PartBounds {
        self.bounds
    }

    /// The range the part was planned for: `start`, `end`, and whether it
    /// began at a record boundary.
    pub fn range(&self) -> (u64, u64, bool) {
        (self.start, self.end, self.at_record_boundary)
    }

    /// Data rows in the part.
    pub fn rows(&self) -> u64 {
        self.body.accumulator.rows()
    }

    /// The part's reading accounting (lines relative to its first record).
    pub fn issues(&self) -> &Issues {
        &self.body.issues
    }

    /// The accumulated state of the part's rows.
    pub fn accumulator(&self) -> &Accumulator {
        &self.body.accumulator
    }

    /// The part as bytes: a fixed header of [`PART_HEADER_BYTES`]
    /// ([`PART_MAGIC`], [`PART_VERSION`], then the range and
    /// [`PartBounds`], little-endian), then the accounting and the
    /// accumulator in postcard (row hashes as raw bytes, 16 a row).
    /// `docs/merge-contract.md` lays it out.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PART_HEADER_BYTES + 64 + self.rows() as usize * 24);
        out.extend_from_slice(PART_MAGIC);
        out.extend_from_slice(&PART_VERSION.to_le_bytes());
        out.extend_from_slice(&self.bounds.index.to_le_bytes());
        out.extend_from_slice(&self.start.to_le_bytes());
        out.extend_from_slice(&self.end.to_le_bytes());
        out.push(u8::from(self.at_record_boundary));
        out.extend_from_slice(&self.bounds.first_record_offset.to_le_bytes());
        out.extend_from_slice(&self.bounds.end_offset.to_le_bytes());
        out.extend_from_slice(&self.bounds.newlines.to_le_bytes());
        // Serializing into a Vec fails only for a type postcard cannot
        // write, which the tests would have caught.
        match postcard::to_extend(&self.body, out) {
            Ok(out) => out,
            Err(e) => unreachable_part(e),
        }
    }

    /// The fixed header of a part's bytes: its range and bounds, without
    /// decoding the rest (what [`check_parts`] needs).
    pub fn header_from_bytes(bytes: &[u8]) -> Result<(PartBounds, (u64, u64, bool))> {
        let bad = |what: String| Error::new(ErrorKind::InvalidOption, format!("not a preflight part: {what}"));
        if bytes.len() < PART_HEADER_BYTES || &bytes[..8] != PART_MAGIC {
            return Err(bad(format!("{} bytes without the part header", bytes.len())));
        }
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let version = u32_at(8);
        if version != PART_VERSION {
            return Err(bad(format!("version {version}; this build reads version {PART_VERSION}")));
        }
        let bounds = PartBounds {
            index: u32_at(12),
            first_record_offset: u64_at(33),
            end_offset: u64_at(41),
            newlines: u64_at(49),
        };
        Ok((bounds, (u64_at(16), u64_at(24), bytes[32] != 0)))
    }

    /// A part back from [`Part::to_bytes`]; an error when the bytes are not
    /// a part of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Part> {
        let (bounds, (start, end, at_record_boundary)) = Part::header_from_bytes(bytes)?;
        let bad = |what: String| Error::new(ErrorKind::InvalidOption, format!("not a preflight part: {what}"));
        let (body, rest): (PartBody, &[u8]) =
            postcard::take_from_bytes(&bytes[PART_HEADER_BYTES..]).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes left after the part", rest.len())));
        }
        Ok(Part { start, end, at_record_boundary, bounds, body })
    }
}

/// A postcard error writing to memory: only a type that cannot be
/// serialized causes one, which the tests would have caught.
fn unreachable_part(e: postcard::Error) -> ! {
    panic!("a part could not be serialized: {e}")
}

/// A part to read again: from `start`, a record boundary (where the part
/// before it stopped), with `at_record_boundary` set and its `end` as
/// planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reparse {
    /// The part's index.
    pub index: u32,
    /// The offset to read it from.
    pub start: u64,
}

/// Checks that each part began at the record where the part before it
/// stopped (a part not at a record boundary guessed where records start:
/// after a newline inside a quoted field, the guess is wrong). The first
/// part whose guess was wrong comes back as a [`Reparse`]; after re-reading
/// it, check again (the next part may then be the one to re-read).
pub fn check_parts(parts: &[Part]) -> std::result::Result<(), Reparse> {
    let bounds: Vec<PartBounds> = parts.iter().map(Part::bounds).collect();
    check_bounds(&bounds)
}

/// [`check_parts`] on the parts' bounds (in any order).
pub fn check_bounds(bounds: &[PartBounds]) -> std::result::Result<(), Reparse> {
    let mut bounds = bounds.to_vec();
    bounds.sort_by_key(|b| b.index);
    for pair in bounds.windows(2) {
        if pair[1].first_record_offset != pair[0].end_offset {
            return Err(Reparse { index: pair[1].index, start: pair[0].end_offset });
        }
    }
    Ok(())
}

/// Merges the parts of the file `name` (all of them, any order) into a
/// profiler whose [`crate::Profiler::analyse`] reports on the whole file:
/// lines, row ids and accounting rebased, accumulators merged in file
/// order. Errors when the parts do not cover the file or do not meet at
/// record boundaries ([`check_parts`] first).
pub fn merge_parts(
    name: &str,
    options: &Options,
    head: &Head,
    mut parts: Vec<Part>,
    file_bytes: u64,
) -> Result<crate::Profiler> {
    parts.sort_by_key(Part::index);
    if let Err(reparse) = check_parts(&parts) {
        return Err(Error::new(
            ErrorKind::InvalidOption,
            format!(
                "{name}: part {} does not start where part {} stopped (byte {}): read it again from there",
                reparse.index,
                reparse.index.saturating_sub(1),
                reparse.start
            ),
        ));
    }
    let mut merger = PartMerger::new(name);
    for part in parts {
        merger.add(part)?;
    }
    merger.finish(options, head, file_bytes)
}

/// Merges parts one at a time, in file order, so that only the merged
/// state and the part being added are in memory (a browser decodes each
/// part's bytes just before adding it).
#[derive(Debug)]
pub struct PartMerger {
    name: String,
    /// Index the next part must have.
    next: u32,
    /// Lines of the file before the next part's first record.
    lines: u64,
    /// Where the last part stopped.
    end_offset: u64,
    issues: Issues,
    merged: Option<Accumulator>,
}

impl PartMerger {
    /// A merger of the parts of the file `name`.
    pub fn new(name: &str) -> PartMerger {
        PartMerger { name: name.to_string(), next: 0, lines: 0, end_offset: 0, issues: Issues::default(), merged: None }
    }

    /// Adds the next part: it must have the next index and start at the
    /// record where the part before stopped.
    pub fn add(&mut self, part: Part) -> Result<()> {
        let invalid = |what: String| Error::new(ErrorKind::InvalidOption, format!("{}: {what}", self.name));
        if part.index() != self.next {
            return Err(invalid(format!(
                "part {} came where part {} was expected (parts go in file order)",
                part.index(),
                self.next
            )));
        }
        if self.next == 0 && part.start != 0 {
            return Err(invalid(format!("the first part starts at byte {}, not 0", part.start)));
        }
        if self.next > 0 && part.first_record_offset() != self.end_offset {
            return Err(invalid(format!(
                "part {} does not start where part {} stopped (byte {}): read it again from there",
                self.next,
                self.next - 1,
                self.end_offset
            )));
        }
        let Part { bounds, body, .. } = part;
        let PartBody { issues, mut accumulator } = body;
        match &mut self.merged {
            None => {
                self.issues = issues;
                self.merged = Some(accumulator);
            }
            Some(merged) => {
                accumulator.rebase_lines(self.lines);
                self.issues.append(issues, self.lines, merged.rows());
                merged.merge(accumulator);
            }
        }
        self.lines += bounds.newlines;
        self.end_offset = bounds.end_offset;
        self.next += 1;
        Ok(())
    }

    /// Parts added so far.
    pub fn parts(&self) -> u32 {
        self.next
    }

    /// Ends the merge: the parts must reach the end of the file
    /// (`file_bytes`, decompressed for gzip input). Returns the profiler.
    pub fn finish(self, options: &Options, head: &Head, file_bytes: u64) -> Result<crate::Profiler> {
        let invalid = |what: String| Error::new(ErrorKind::InvalidOption, format!("{}: {what}", self.name));
        let merged = self.merged.ok_or_else(|| invalid("no parts to merge".into()))?;
        if self.end_offset != file_bytes {
            return Err(invalid(format!("the parts end at byte {}, the file at byte {file_bytes}", self.end_offset)));
        }
        super::finish::profiler_from_parts(&self.name, options.clone(), head.sniffed(), merged, self.issues, file_bytes)
    }
}
