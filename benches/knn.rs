//! kNN graph: CPU reference against the GPU path.
//!
//! `cargo bench --bench knn` runs N in {2000, 10000} x d in {64, 384}, k = 10;
//! `cargo bench --bench knn -- 10000 384` runs one size (several pairs may
//! follow: `-- 10000 64 100000 384`). Prints milliseconds, the CPU/GPU ratio
//! and the effective GFLOP/s (2 N^2 d / time). The GPU is chosen as in the
//! library (`WGPU_BACKEND`, e.g. `vulkan`).
//!
//! Options:
//! - `--gpu-only`: skip the CPU reference (minutes at N = 100k); the GPU
//!   graph is then checked on a sample of rows against exact distances.
//! - `--save DIR`: write each data set (`rows_N_D.f32`, raw little-endian
//!   f32), the GPU's neighbours (`gpu_N_D_METRIC.u32`) and one JSON line of
//!   timings per run (`preflight.jsonl`), for `bench/knn_torch.py` to run
//!   PyTorch on the same data.
//! - `--repeat R`: GPU runs per size after a warm-up run, the fastest
//!   reported (default 3).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use preflight::gpu::reference::{normalise_rows, squared_norms};
use preflight::gpu::{knn_cpu, GpuContext, KnnGraph, Metric};

const K: usize = 10;

/// Rows checked against exact distances with `--gpu-only`.
const SAMPLE_ROWS: usize = 64;

struct Args {
    sizes: Vec<(usize, usize)>,
    gpu_only: bool,
    save: Option<PathBuf>,
    repeat: usize,
}

fn parse_args() -> Args {
    let mut numbers = Vec::new();
    let mut gpu_only = false;
    let mut save = None;
    let mut repeat = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--gpu-only" => gpu_only = true,
            "--save" => save = args.next().map(PathBuf::from),
            "--repeat" => repeat = args.next().and_then(|r| r.parse().ok()).unwrap_or(3),
            // `cargo bench` passes `--bench`.
            _ => numbers.extend(arg.parse::<usize>().ok()),
        }
    }
    let sizes = match numbers.as_slice() {
        [] => vec![(2_000, 64), (2_000, 384), (10_000, 64), (10_000, 384)],
        [n] => vec![(*n, 64), (*n, 384)],
        pairs => pairs.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
    };
    Args {
        sizes,
        gpu_only,
        save,
        repeat: repeat.max(1),
    }
}

fn main() {
    let args = parse_args();
    if let Some(dir) = &args.save {
        std::fs::create_dir_all(dir).expect("creating the --save directory");
        // One file per run of the bench: a second run replaces the first.
        std::fs::write(dir.join("preflight.jsonl"), "").expect("creating preflight.jsonl");
    }

    let started = Instant::now();
    let gpu = match pollster::block_on(GpuContext::new()) {
        Ok(gpu) => {
            let info = gpu.adapter_info();
            println!(
                "GPU: {} ({:?}, {:?}, driver {} {}), opened in {:.0} ms",
                info.name,
                info.backend,
                info.device_type,
                info.driver,
                info.driver_info,
                started.elapsed().as_secs_f64() * 1e3
            );
            Some(gpu)
        }
        Err(e) => {
            println!("GPU: none ({e}); timing the CPU only");
            None
        }
    };

    println!(
        "{:>7} {:>4} {:>2} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7} {:>8} {:>9} {:>9} {:>6} {:>6}",
        "N",
        "d",
        "k",
        "metric",
        "cpu_ms",
        "gpu_ms",
        "host_ms",
        "device_ms",
        "cpu/gpu",
        "cpu_GF/s",
        "gpu_GF/s",
        "dev_GF/s",
        "disp",
        "check"
    );
    for &(n, d) in &args.sizes {
        let data = random_rows(n, d, 0x5eed ^ (n as u64) ^ ((d as u64) << 32));
        if let Some(dir) = &args.save {
            let path = dir.join(format!("rows_{n}_{d}.f32"));
            std::fs::write(&path, bytemuck_bytes(&data)).expect("writing the rows");
        }
        let flops = 2.0 * (n as f64) * (n as f64) * (d as f64);
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let cpu = (!args.gpu_only).then(|| time(|| knn_cpu(&data, n, d, K, metric)));
            let mut line = Line {
                cpu_ms: cpu.as_ref().map(|(ms, _)| *ms),
                ..Line::default()
            };
            if let Some(gpu) = &gpu {
                // The first call includes shader compilation by the driver.
                let _ = pollster::block_on(gpu.knn(&data, n, d, K, metric));
                let mut best: Option<(f64, KnnGraph, preflight::gpu::KnnTiming)> = None;
                for _ in 0..args.repeat {
                    let (ms, result) = time(|| pollster::block_on(gpu.knn(&data, n, d, K, metric)));
                    match result {
                        Ok(graph) => {
                            let timing = gpu.last_timing().expect("timing of a finished call");
                            if best.as_ref().is_none_or(|(b, _, _)| ms < *b) {
                                best = Some((ms, graph, timing));
                            }
                        }
                        Err(e) => {
                            eprintln!("GPU failed: {e}");
                            break;
                        }
                    }
                }
                if let Some((ms, graph, timing)) = best {
                    line.gpu_ms = Some(ms);
                    line.host_ms = Some(timing.host_ms);
                    line.device_ms = Some(timing.device_ms);
                    line.dispatches = timing.dispatches;
                    line.check = match &cpu {
                        Some((_, cpu_graph)) => compare_full(cpu_graph, &graph),
                        None => compare_sample(&data, n, d, metric, &graph),
                    };
                    if let Some(dir) = &args.save {
                        let path = dir.join(format!("gpu_{n}_{d}_{}.u32", metric.name()));
                        std::fs::write(&path, bytemuck_bytes(&graph.indices))
                            .expect("writing the neighbours");
                        let adapter = gpu.adapter_info();
                        let json = format!(
                            "{{\"n\":{n},\"d\":{d},\"k\":{K},\"metric\":\"{}\",\"ms\":{ms:.3},\"host_ms\":{:.3},\"device_ms\":{:.3},\"dispatches\":{},\"blocks\":{},\"splits\":{},\"check\":\"{}\",\"adapter\":\"{}\"}}\n",
                            metric.name(),
                            timing.host_ms,
                            timing.device_ms,
                            timing.dispatches,
                            timing.blocks,
                            timing.splits,
                            line.check,
                            adapter.name.replace('"', "'"),
                        );
                        let mut file = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(dir.join("preflight.jsonl"))
                            .expect("opening preflight.jsonl");
                        file.write_all(json.as_bytes()).expect("writing preflight.jsonl");
                    }
                }
            }
            let gflops = |ms: Option<f64>| {
                ms.map_or("-".to_string(), |ms| format!("{:.1}", flops / ms / 1e6))
            };
            let ms = |ms: Option<f64>| ms.map_or("-".to_string(), |ms| format!("{ms:.1}"));
            let ratio = match (line.cpu_ms, line.gpu_ms) {
                (Some(c), Some(g)) => format!("{:.2}", c / g),
                _ => "-".into(),
            };
            println!(
                "{n:>7} {d:>4} {K:>2} {:>9} {:>9} {:>9} {:>8} {:>9} {ratio:>7} {:>8} {:>9} {:>9} {:>6} {:>6}",
                metric.name(),
                ms(line.cpu_ms),
                ms(line.gpu_ms),
                ms(line.host_ms),
                ms(line.device_ms),
                gflops(line.cpu_ms),
                gflops(line.gpu_ms),
                gflops(line.device_ms),
                line.dispatches,
                line.check,
            );
        }
    }
}

#[derive(Default)]
struct Line {
    cpu_ms: Option<f64>,
    gpu_ms: Option<f64>,
    host_ms: Option<f64>,
    device_ms: Option<f64>,
    dispatches: usize,
    check: String,
}

/// Runs `f` once; milliseconds and its result.
fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let started = Instant::now();
    let value = f();
    (started.elapsed().as_secs_f64() * 1e3, value)
}

fn bytemuck_bytes<T: bytemuck::Pod>(values: &[T]) -> &[u8] {
    bytemuck::cast_slice(values)
}

/// "ok" when every distance matches the CPU's within 1e-4 (relative);
/// otherwise the worst difference.
fn compare_full(cpu: &KnnGraph, gpu: &KnnGraph) -> String {
    let worst = cpu
        .distances
        .iter()
        .zip(&gpu.distances)
        .map(|(a, b)| (a - b).abs() / (1.0 + a.abs()))
        .fold(0.0f32, f32::max);
    if worst <= 1e-4 {
        "ok".into()
    } else {
        format!("{worst:.0e}")
    }
}

/// Checks [`SAMPLE_ROWS`] rows of the GPU graph against their exact k
/// nearest distances (f32 dot products with f64 sums): "ok" when every
/// distance is within 1e-4 (relative) and every returned neighbour is
/// really at its distance.
fn compare_sample(data: &[f32], n: usize, d: usize, metric: Metric, gpu: &KnnGraph) -> String {
    let rows = match metric {
        Metric::Cosine => normalise_rows(data, n, d),
        Metric::SquaredEuclidean => data.to_vec(),
    };
    let norms = squared_norms(&rows, n, d);
    let distance = |a: usize, b: usize| -> f64 {
        let dot: f64 = rows[a * d..(a + 1) * d]
            .iter()
            .zip(&rows[b * d..(b + 1) * d])
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        match metric {
            Metric::Cosine => (1.0 - dot).max(0.0),
            Metric::SquaredEuclidean => {
                (f64::from(norms[a]) + f64::from(norms[b]) - 2.0 * dot).max(0.0)
            }
        }
    };
    let mut worst = 0.0f64;
    for s in 0..SAMPLE_ROWS.min(n) {
        let row = s * n / SAMPLE_ROWS.min(n);
        let mut exact: Vec<f64> = (0..n).filter(|&j| j != row).map(|j| distance(row, j)).collect();
        exact.sort_by(f64::total_cmp);
        for (slot, (&neighbour, &got)) in gpu
            .neighbours(row)
            .iter()
            .zip(gpu.neighbour_distances(row))
            .enumerate()
        {
            let want = exact[slot];
            worst = worst.max((f64::from(got) - want).abs() / (1.0 + want.abs()));
            let actual = distance(row, neighbour as usize);
            worst = worst.max((actual - want).abs() / (1.0 + want.abs()));
        }
    }
    if worst <= 1e-4 {
        "ok".into()
    } else {
        format!("{worst:.0e}")
    }
}

/// `n * d` values in [-1, 1) from a seeded xorshift64*.
fn random_rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n * d)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
            (bits as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
