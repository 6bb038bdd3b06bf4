//! all-MiniLM-L6-v2: sentences per second on the GPU (`semantic::gpu`,
//! WGSL through wgpu) and on the CPU (`semantic::cpu`), on the same
//! sentences.
//!
//! `cargo bench --bench semantic` embeds 2,048 sentences of 30 to 60 tokens
//! ([CLS] and [SEP] included; seeded random word-piece ids: the speed does
//! not depend on which ids) on the GPU, and the first 256 of them on the
//! CPU, then checks that both paths agree (the smallest cosine). Needs the
//! model file (`scripts/fetch-model`, or `PREFLIGHT_MODEL`); the GPU is
//! chosen as in the library (`WGPU_BACKEND`, e.g. `vulkan`).
//!
//! Options (after `--`):
//! - `N`: sentences on the GPU (default 2048);
//! - `--cpu N`: sentences on the CPU (default 256; 0 skips the CPU);
//! - `--lengths MIN MAX`: token counts, uniform (default 30 60);
//! - `--ids FILE`: the sentences instead, JSON lines with an `ids` array
//!   each (the reference fixture's format; `.gz` read too), cycled to N;
//! - `--save-ids FILE`: write the sentences as such JSON lines, for another
//!   implementation (PyTorch, transformers.js) to embed the same input;
//! - `--batch-tokens T`: tokens per GPU batch (default 8192);
//! - `--repeat R`: timed GPU runs after a warm-up run, the fastest reported
//!   (default 3);
//! - `--threads T`: CPU threads (default: all cores).

use std::io::{Read, Write};
use std::time::Instant;

use preflight::gpu::GpuContext;
use preflight::semantic::cpu::{embed_cpu, embed_cpu_threads};
use preflight::semantic::gpu::MiniLmGpu;
use preflight::semantic::weights::{find_model, MiniLm};

struct Args {
    sentences: usize,
    cpu: usize,
    lengths: (usize, usize),
    ids: Option<String>,
    save_ids: Option<String>,
    batch_tokens: Option<usize>,
    repeat: usize,
    threads: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        sentences: 2048,
        cpu: 256,
        lengths: (30, 60),
        ids: None,
        save_ids: None,
        batch_tokens: None,
        repeat: 3,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut it = std::env::args().skip(1);
    let number = |value: Option<String>, what: &str| -> usize {
        value
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what} needs a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--cpu" => args.cpu = number(it.next(), "--cpu"),
            "--lengths" => {
                args.lengths = (
                    number(it.next(), "--lengths"),
                    number(it.next(), "--lengths"),
                )
            }
            "--ids" => args.ids = it.next(),
            "--save-ids" => args.save_ids = it.next(),
            "--batch-tokens" => args.batch_tokens = Some(number(it.next(), "--batch-tokens")),
            "--repeat" => args.repeat = number(it.next(), "--repeat").max(1),
            "--threads" => args.threads = number(it.next(), "--threads").max(1),
            // `cargo bench` passes `--bench`.
            other => {
                if let Ok(n) = other.parse() {
                    args.sentences = n;
                }
            }
        }
    }
    args
}

/// Seeded random sentences: [CLS], word pieces, [SEP].
fn random_sentences(n: usize, (min, max): (usize, usize)) -> Vec<Vec<u32>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let len = min.max(2) + (next() % (max.max(min) - min + 1) as u64) as usize;
            let mut ids = vec![101u32];
            // Ids 1996..29612: whole words and pieces of the vocabulary.
            ids.extend((2..len).map(|_| 1996 + (next() % 27_616) as u32));
            ids.push(102);
            ids
        })
        .collect()
}

fn read_sentences(path: &str, n: usize) -> Vec<Vec<u32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut text = String::new();
    if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    } else {
        text = String::from_utf8(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let all: Vec<Vec<u32>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}: {e}"));
            value["ids"]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: a line without \"ids\""))
                .iter()
                .map(|v| v.as_u64().unwrap_or(100) as u32)
                .collect()
        })
        .collect();
    assert!(!all.is_empty(), "{path}: no sentences");
    all.iter().cycle().take(n).cloned().collect()
}

/// Multiply-adds x 2 of one sentence of `len` tokens: the linear layers and
/// the attention's two products, 6 layers.
fn flops(len: usize) -> f64 {
    let (h, f) = (384.0, 1536.0);
    let l = len as f64;
    6.0 * (2.0 * l * (h * 3.0 * h + h * h + 2.0 * h * f) + 2.0 * 2.0 * l * l * h)
}

fn report(label: &str, sentences: &[Vec<u32>], seconds: f64) {
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    let work: f64 = sentences.iter().map(|s| flops(s.len())).sum();
    println!(
        "{label:<5} {:>7} {:>9} {:>10.1} {:>12.1} {:>12.0} {:>9.1}",
        sentences.len(),
        tokens,
        seconds * 1e3,
        sentences.len() as f64 / seconds,
        tokens as f64 / seconds,
        work / seconds / 1e9
    );
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb).max(1e-30)
}

fn main() {
    let args = parse_args();
    let path = find_model().unwrap_or_else(|e| panic!("{e}"));
    let model = MiniLm::from_bytes(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sentences = match &args.ids {
        Some(file) => read_sentences(file, args.sentences),
        None => random_sentences(args.sentences, args.lengths),
    };
    if let Some(file) = &args.save_ids {
        let mut out = std::fs::File::create(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        for ids in &sentences {
            writeln!(out, "{}", serde_json::json!({ "ids": ids }))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    println!(
        "{} sentences, {:.1} tokens on average ({} to {})",
        sentences.len(),
        tokens as f64 / sentences.len().max(1) as f64,
        sentences.iter().map(Vec::len).min().unwrap_or(0),
        sentences.iter().map(Vec::len).max().unwrap_or(0)
    );
    println!(
        "{:<5} {:>7} {:>9} {:>10} {:>12} {:>12} {:>9}",
        "path", "texts", "tokens", "ms", "texts/s", "tokens/s", "GFLOP/s"
    );

    let mut gpu_vectors = None;
    let started = Instant::now();
    match pollster::block_on(GpuContext::new()) {
        Ok(context) => {
            let info = context.adapter_info();
            eprintln!(
                "GPU: {} ({:?}, {:?}, driver {} {}), opened in {:.0} ms",
                info.name,
                info.backend,
                info.device_type,
                info.driver,
                info.driver_info,
                started.elapsed().as_secs_f64() * 1e3
            );
            let uploaded = Instant::now();
            let mut gpu =
                MiniLmGpu::new(&context, &model).unwrap_or_else(|e| panic!("GPU model: {e}"));
            if let Some(tokens) = args.batch_tokens {
                gpu.set_max_batch_tokens(tokens);
            }
            // The warm-up run includes the drivers' shader compilation and
            // the activations' allocation.
            let warm = pollster::block_on(gpu.embed(&context, &sentences))
                .unwrap_or_else(|e| panic!("GPU: {e}"));
            eprintln!(
                "GPU model ready and warm-up run in {:.0} ms (batches of at most {} tokens)",
                uploaded.elapsed().as_secs_f64() * 1e3,
                gpu.max_batch_tokens()
            );
            let mut best = f64::INFINITY;
            for _ in 0..args.repeat {
                let t = Instant::now();
                let vectors = pollster::block_on(gpu.embed(&context, &sentences))
                    .unwrap_or_else(|e| panic!("GPU: {e}"));
                best = best.min(t.elapsed().as_secs_f64());
                assert_eq!(vectors.len(), warm.len());
            }
            report("gpu", &sentences, best);
            gpu_vectors = Some(warm);
        }
        Err(e) => println!("GPU: none ({e})"),
    }

    let cpu_n = args.cpu.min(sentences.len());
    if cpu_n > 0 {
        let subset = &sentences[..cpu_n];
        let t = Instant::now();
        let cpu = if args.threads > 1 {
            embed_cpu_threads(&model, subset, args.threads)
        } else {
            embed_cpu(&model, subset)
        };
        let seconds = t.elapsed().as_secs_f64();
        report(&format!("cpu{}", args.threads), subset, seconds);
        if let Some(gpu) = &gpu_vectors {
            let worst = (0..cpu_n)
                .map(|i| cosine(&gpu[i * 384..(i + 1) * 384], &cpu[i * 384..(i + 1) * 384]))
                .fold(f64::INFINITY, f64::min);
            println!("smallest cos(GPU, CPU) over {cpu_n} sentences: {worst:.7}");
            assert!(worst >= 0.9999, "the GPU and CPU paths disagree");
        }
    }
}
