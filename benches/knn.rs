//! kNN graph: CPU reference against the GPU path.
//!
//! `cargo bench --bench knn` runs N in {2000, 10000} x d in {64, 384}, k = 10;
//! `cargo bench --bench knn -- 10000 384` runs one size. Prints milliseconds,
//! the CPU/GPU ratio and the effective GFLOP/s (2 N^2 d / time). The GPU is
//! chosen as in the library (`WGPU_BACKEND`, e.g. `vulkan`).

use std::time::Instant;

use preflight::gpu::{knn_cpu, GpuContext, KnnGraph, Metric};

const K: usize = 10;

fn main() {
    // `cargo bench` passes `--bench`; keep only the numbers.
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes: Vec<(usize, usize)> = match numbers.as_slice() {
        [n, d, ..] => vec![(*n, *d)],
        [n] => vec![(*n, 64), (*n, 384)],
        _ => vec![(2_000, 64), (2_000, 384), (10_000, 64), (10_000, 384)],
    };

    let started = Instant::now();
    let gpu = match pollster::block_on(GpuContext::new()) {
        Ok(gpu) => {
            let info = gpu.adapter_info();
            println!(
                "GPU: {} ({:?}, {:?}), opened in {:.0} ms",
                info.name,
                info.backend,
                info.device_type,
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
        "{:>7} {:>5} {:>2} {:>9} {:>10} {:>10} {:>8} {:>9} {:>9}",
        "N", "d", "k", "metric", "cpu_ms", "gpu_ms", "cpu/gpu", "cpu_GF/s", "gpu_GF/s"
    );
    for (n, d) in sizes {
        let data = random_rows(n, d, 0x5eed ^ (n as u64) ^ ((d as u64) << 32));
        let flops = 2.0 * (n as f64) * (n as f64) * (d as f64);
        for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
            let (cpu_ms, cpu_graph) = time(|| knn_cpu(&data, n, d, K, metric));
            let gpu_result = gpu.as_ref().map(|gpu| {
                // The first call includes shader compilation by the driver.
                let _ = pollster::block_on(gpu.knn(&data, n, d, K, metric));
                time(|| pollster::block_on(gpu.knn(&data, n, d, K, metric)))
            });
            let (gpu_ms, ratio, gpu_gflops) = match gpu_result {
                Some((ms, Ok(graph))) => {
                    check_close(&cpu_graph, &graph);
                    (
                        format!("{ms:.1}"),
                        format!("{:.2}", cpu_ms / ms),
                        format!("{:.1}", flops / ms / 1e6),
                    )
                }
                Some((_, Err(e))) => {
                    eprintln!("GPU failed: {e}");
                    ("error".into(), "-".into(), "-".into())
                }
                None => ("-".into(), "-".into(), "-".into()),
            };
            println!(
                "{n:>7} {d:>5} {K:>2} {:>9} {cpu_ms:>10.1} {gpu_ms:>10} {ratio:>8} {:>9.1} {gpu_gflops:>9}",
                metric.name(),
                flops / cpu_ms / 1e6,
            );
        }
    }
}

/// Runs `f` once; milliseconds and its result.
fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let started = Instant::now();
    let value = f();
    (started.elapsed().as_secs_f64() * 1e3, value)
}

/// Warns when the GPU's first-neighbour distances differ from the CPU's.
fn check_close(cpu: &KnnGraph, gpu: &KnnGraph) {
    let worst = cpu
        .distances
        .iter()
        .zip(&gpu.distances)
        .map(|(a, b)| (a - b).abs() / (1.0 + a.abs()))
        .fold(0.0f32, f32::max);
    if worst > 1e-3 {
        eprintln!("warning: GPU distances differ from the CPU's by up to {worst:e} (relative)");
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
