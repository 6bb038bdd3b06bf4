//! Heap used by the coordinator of a streamed profile, as in the page:
//! parts are read one at a time (their memory is a part worker's, dropped
//! before the coordinator starts), then the coordinator decodes and merges
//! them one at a time and finishes the profile. Prints the heap's peak and
//! live bytes after each stage, per data row.
//!
//!     cargo run --release --example stream_memory -- FILE [PARTS]

use preflight::stream::{plan_parts, read_head, Part, PartBuilder, PartMerger};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new) };
        if !q.is_null() {
            // A moving realloc holds both blocks for a moment: count the new
            // one before the old one goes, as wasm's allocator must.
            let live = LIVE.fetch_add(new, Relaxed) + new;
            PEAK.fetch_max(live, Relaxed);
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mb(b: usize) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().expect("usage: stream_memory FILE [PARTS]");
    let parts: usize = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(8);
    let bytes = std::fs::read(path).expect("readable file");
    let name = std::path::Path::new(path).file_name().unwrap().to_string_lossy().to_string();
    // The neighbour checks on the CPU, as in a page without WebGPU.
    let options = preflight::Options { backend: preflight::Backend::Cpu, ..preflight::Options::default() };
    let head = read_head(&name, &bytes[..bytes.len().min(1 << 20)], bytes.len() <= 1 << 20).expect("head");
    let specs = plan_parts(bytes.len() as u64, &head, parts);
    let mut encoded = Vec::new();
    let mut worker_peak = 0usize;
    for spec in &specs {
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        let mut builder = PartBuilder::new(&name, &options, &head, spec).expect("builder");
        for chunk in bytes[spec.start as usize..].chunks(1 << 20) {
            if builder.push(chunk).expect("push") {
                break;
            }
        }
        let part = builder.finish().expect("part");
        let b = part.to_bytes();
        drop(part);
        worker_peak = worker_peak.max(PEAK.load(Relaxed) - base);
        encoded.push(b);
    }
    let encoded_bytes: usize = encoded.iter().map(Vec::len).sum();
    // The coordinator: what it holds beyond the file and the encoded parts
    // (which a page keeps in JS, outside wasm memory).
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut merger = PartMerger::new(&name);
    let mut rows = 0u64;
    let merge_started = std::time::Instant::now();
    for b in &encoded {
        let copy = b.clone(); // wasm copies each part in from JS
        let part = Part::from_bytes(&copy).expect("decode");
        drop(copy);
        rows += part.rows();
        merger.add(part).expect("merge");
    }
    let merge_s = merge_started.elapsed().as_secs_f64();
    let merged_live = LIVE.load(Relaxed) - base;
    let merged_peak = PEAK.load(Relaxed) - base;
    drop(encoded);
    let base2 = LIVE.load(Relaxed) - merged_live;
    PEAK.store(LIVE.load(Relaxed), Relaxed);
    let finish_started = std::time::Instant::now();
    let profiler = merger.finish(&options, &head, bytes.len() as u64).expect("finish");
    let finish_s = finish_started.elapsed().as_secs_f64();
    let finish_live = LIVE.load(Relaxed) - base2;
    let t = std::time::Instant::now();
    let report = pollster_block(profiler);
    let checks_peak = PEAK.load(Relaxed).saturating_sub(base2);
    let r = rows.max(1) as f64;
    println!("{name}: {:.1} MB, {rows} rows, {} parts ({:.1} MB encoded, {:.1} B/row)", mb(bytes.len()), specs.len(), mb(encoded_bytes), encoded_bytes as f64 / r);
    println!("part worker peak (largest part): {:.1} MB", mb(worker_peak));
    println!("decode and merge: {merge_s:.3} s; finish (profile from the parts): {finish_s:.3} s");
    println!("coordinator after merge: live {:.1} MB ({:.1} B/row), peak {:.1} MB ({:.1} B/row)", mb(merged_live), merged_live as f64 / r, mb(merged_peak), merged_peak as f64 / r);
    println!("after profiler_from_parts: live {:.1} MB ({:.1} B/row)", mb(finish_live), finish_live as f64 / r);
    println!("checks: peak {:.1} MB ({:.1} B/row) over the merge's base, {:.1} s; report {} bytes", mb(checks_peak), checks_peak as f64 / r, t.elapsed().as_secs_f64(), report);
}

fn pollster_block(profiler: preflight::Profiler) -> usize {
    let analysis = pollster::block_on(profiler.finish(&mut |_, _| {})).expect("report");
    serde_json::to_string(&analysis.report).map(|s| s.len()).unwrap_or(0)
}
