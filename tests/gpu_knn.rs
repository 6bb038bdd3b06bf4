//! kNN graph: the CPU reference against a naive f64 implementation, the GPU
//! path against the CPU reference, and every shader through naga.
//!
//! The GPU tests need an adapter (natively: `WGPU_BACKEND=vulkan` finds
//! lavapipe's "llvmpipe" where Mesa is installed). Without one they print
//! "SKIPPED: no GPU adapter" and pass, unless `PREFLIGHT_REQUIRE_GPU=1`.
//!
//! Tolerances. Distances: `1e-4 * (1 + |distance|)` against the exact f64
//! value of the same pair. Neighbour sets may differ only among ties: every
//! returned neighbour's exact distance must be within the tie tolerance of
//! the exact k-th smallest distance. The tie tolerance is `1e-5` scaled by
//! the size of the terms that cancel in the distance formula: 1 for cosine,
//! `1 + 2 max |row|^2` for squared euclidean (which is computed as
//! `|a|^2 + |b|^2 - 2 a.b`; see `src/gpu/reference.rs`).

use std::collections::HashSet;
use std::io::Write;

use preflight::gpu::{knn_cpu, KnnGraph, Metric};

const METRICS: [Metric; 2] = [Metric::Cosine, Metric::SquaredEuclidean];

mod common;
use common::XorShift;

/// In `0..bound`, through a uniform float (how this file's data was made).
fn below(rng: &mut XorShift, bound: usize) -> usize {
    ((rng.next_f32() * 0.5 + 0.5) * bound as f32) as usize % bound.max(1)
}

fn random_rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = XorShift::new(seed);
    (0..n * d).map(|_| rng.next_f32()).collect()
}

/// Random rows where some rows repeat earlier ones and some are all zeros.
fn rows_with_duplicates_and_zeros(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut data = random_rows(n, d, seed);
    let mut rng = XorShift::new(seed ^ 0xd0b1e);
    for i in 1..n {
        if i % 11 == 0 {
            data[i * d..(i + 1) * d].fill(0.0);
        } else if i % 3 == 0 {
            let source = below(&mut rng, i);
            data.copy_within(source * d..(source + 1) * d, i * d);
        }
    }
    data
}

/// The contract's distance of rows `a` and `b`, in f64.
fn exact_distance(data: &[f32], d: usize, a: usize, b: usize, metric: Metric) -> f64 {
    let x = &data[a * d..(a + 1) * d];
    let y = &data[b * d..(b + 1) * d];
    match metric {
        Metric::Cosine => {
            let norm = |v: &[f32]| {
                v.iter()
                    .map(|&t| f64::from(t) * f64::from(t))
                    .sum::<f64>()
                    .sqrt()
            };
            let (nx, ny) = (norm(x), norm(y));
            let dot: f64 = x
                .iter()
                .zip(y)
                .map(|(&s, &t)| f64::from(s) * f64::from(t))
                .sum();
            let cosine = if nx > 0.0 && ny > 0.0 {
                dot / (nx * ny)
            } else {
                0.0
            };
            (1.0 - cosine).max(0.0)
        }
        Metric::SquaredEuclidean => x
            .iter()
            .zip(y)
            .map(|(&s, &t)| (f64::from(s) - f64::from(t)).powi(2))
            .sum(),
    }
}

/// Naive kNN in f64: row `i`'s `k` nearest as (distance, index), sorted.
fn naive_row(
    data: &[f32],
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
    i: usize,
) -> Vec<(f64, u32)> {
    let mut all: Vec<(f64, u32)> = (0..n)
        .filter(|&j| j != i)
        .map(|j| (exact_distance(data, d, i, j, metric), j as u32))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    all
}

/// Tie tolerance (see the file's docs).
fn tie_tolerance(data: &[f32], d: usize, metric: Metric) -> f64 {
    match metric {
        Metric::Cosine => 1e-5,
        Metric::SquaredEuclidean => {
            let max_norm = data
                .chunks(d.max(1))
                .map(|row| {
                    row.iter()
                        .map(|&t| f64::from(t) * f64::from(t))
                        .sum::<f64>()
                })
                .fold(0.0, f64::max);
            1e-5 * (1.0 + 2.0 * max_norm)
        }
    }
}

/// Checks `graph` against the naive f64 kNN; returns the number of rows
/// whose neighbour set differs from the naive one (only through ties).
fn check_against_exact(
    label: &str,
    data: &[f32],
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
    graph: &KnnGraph,
) -> usize {
    check_rows_against_exact(label, data, n, d, k, metric, graph, 0..n)
}

/// [`check_against_exact`] on some rows only (the naive kNN is slow).
#[allow(clippy::too_many_arguments)]
fn check_rows_against_exact(
    label: &str,
    data: &[f32],
    n: usize,
    d: usize,
    k: usize,
    metric: Metric,
    graph: &KnnGraph,
    rows: impl IntoIterator<Item = usize>,
) -> usize {
    let k = k.min(n.saturating_sub(1));
    assert_eq!((graph.n, graph.k), (n, k), "{label}: shape");
    assert_eq!(graph.indices.len(), n * k, "{label}: indices length");
    assert_eq!(graph.distances.len(), n * k, "{label}: distances length");
    if k == 0 {
        return 0;
    }
    let tie = tie_tolerance(data, d, metric);
    let mut rows_differing = 0;
    for i in rows {
        let expected = naive_row(data, n, d, k, metric, i);
        let kth = expected[k - 1].0;
        let mut seen = HashSet::new();
        for (j, (&index, &distance)) in graph
            .neighbours(i)
            .iter()
            .zip(graph.neighbour_distances(i))
            .enumerate()
        {
            let index_usize = index as usize;
            assert!(
                index_usize < n,
                "{label}: row {i} slot {j}: index {index} out of range"
            );
            assert_ne!(index_usize, i, "{label}: row {i} is its own neighbour");
            assert!(
                seen.insert(index),
                "{label}: row {i}: neighbour {index} twice"
            );
            let exact = exact_distance(data, d, i, index_usize, metric);
            let distance = f64::from(distance);
            assert!(
                (distance - exact).abs() <= 1e-4 * (1.0 + exact.abs()),
                "{label}: row {i} slot {j} (neighbour {index}): distance {distance} but exact {exact}"
            );
            assert!(
                exact <= kth + tie,
                "{label}: row {i}: neighbour {index} at exact distance {exact} is beyond the k-th nearest ({kth}, tie tolerance {tie})"
            );
            if j > 0 {
                let previous = graph.neighbour_distances(i)[j - 1];
                assert!(
                    previous < distance as f32
                        || (previous == distance as f32 && graph.neighbours(i)[j - 1] < index),
                    "{label}: row {i}: not sorted by (distance, index) at slot {j}"
                );
            }
        }
        let expected_set: HashSet<u32> = expected.iter().map(|&(_, index)| index).collect();
        if expected_set != seen {
            rows_differing += 1;
        }
    }
    rows_differing
}

/// The output is not degenerate: finite, not all zero, not all one index.
fn assert_not_degenerate(label: &str, graph: &KnnGraph) {
    if graph.k == 0 {
        return;
    }
    assert!(
        graph.distances.iter().all(|v| v.is_finite()),
        "{label}: non-finite distances"
    );
    assert!(
        graph.distances.iter().any(|&v| v != 0.0),
        "{label}: all distances are zero"
    );
    if graph.n > 2 {
        let first = graph.indices[0];
        assert!(
            graph.indices.iter().any(|&i| i != first),
            "{label}: every neighbour is row {first}"
        );
    }
}

#[test]
fn knn_cpu_matches_naive_f64() {
    let mut checked = 0;
    for &(n, d) in &[
        (0, 3),
        (1, 4),
        (2, 1),
        (5, 3),
        (9, 8),
        (40, 1),
        (63, 17),
        (130, 9),
        (200, 64),
        (150, 130),
    ] {
        for metric in METRICS {
            for k in [1, 10] {
                let data = random_rows(n, d, (n * 1000 + d) as u64);
                let label = format!("cpu n={n} d={d} k={k} {}", metric.name());
                let graph = knn_cpu(&data, n, d, k, metric);
                check_against_exact(&label, &data, n, d, k, metric, &graph);
                if n > 2 {
                    assert_not_degenerate(&label, &graph);
                }
                checked += 1;
            }
        }
    }
    for metric in METRICS {
        let (n, d) = (300, 17);
        let data = rows_with_duplicates_and_zeros(n, d, 7);
        let label = format!("cpu duplicates+zeros {}", metric.name());
        check_against_exact(
            &label,
            &data,
            n,
            d,
            10,
            metric,
            &knn_cpu(&data, n, d, 10, metric),
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn knn_cpu_exact_ties_break_by_index() {
    // Points on a line at 0, 1, 2, ..: row 5's neighbours at distance 1 are
    // rows 4 and 6, at distance 4 rows 3 and 7; the lower index comes first.
    let data: Vec<f32> = (0..10).map(|i| i as f32).collect();
    let graph = knn_cpu(&data, 10, 1, 4, Metric::SquaredEuclidean);
    assert_eq!(graph.neighbours(5), &[4, 6, 3, 7]);
    assert_eq!(graph.neighbour_distances(5), &[1.0, 1.0, 4.0, 4.0]);
    // Every row the same: all distances 0, neighbours in index order.
    let same = vec![0.5f32; 6 * 3];
    let graph = knn_cpu(&same, 6, 3, 3, Metric::SquaredEuclidean);
    assert_eq!(graph.neighbours(0), &[1, 2, 3]);
    assert_eq!(graph.neighbours(4), &[0, 1, 2]);
    assert!(graph.distances.iter().all(|&v| v == 0.0));
}

/// Every `shaders/*.wgsl` parses and validates with naga.
#[test]
fn shaders_validate_with_naga() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no shaders in {}", dir.display());
    for path in paths {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
            panic!(
                "{name} does not parse:\n{}",
                e.emit_to_string_with_path(&source, &name)
            )
        });
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| {
            panic!(
                "{name} does not validate:\n{}",
                e.emit_to_string_with_path(&source, &name)
            )
        });
    }
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::*;
    use preflight::error::ErrorKind;
    use preflight::gpu::GpuContext;

    fn context() -> Option<GpuContext> {
        common::gpu_context()
    }

    /// Compares the GPU graph with the CPU graph: distances slot by slot,
    /// neighbour sets up to ties (through the exact check); returns the rows
    /// whose set differs from the CPU's.
    fn check_gpu(
        label: &str,
        context: &GpuContext,
        data: &[f32],
        n: usize,
        d: usize,
        k: usize,
        metric: Metric,
    ) -> usize {
        check_gpu_rows(label, context, data, n, d, k, metric, false)
    }

    /// [`check_gpu`]; with `only_differing`, the slow exact check runs only
    /// on rows whose neighbour set differs from the CPU's.
    #[allow(clippy::too_many_arguments)]
    fn check_gpu_rows(
        label: &str,
        context: &GpuContext,
        data: &[f32],
        n: usize,
        d: usize,
        k: usize,
        metric: Metric,
        only_differing: bool,
    ) -> usize {
        let cpu = knn_cpu(data, n, d, k, metric);
        let gpu = pollster::block_on(context.knn(data, n, d, k, metric))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!((gpu.n, gpu.k), (cpu.n, cpu.k), "{label}: shape");
        for (slot, (g, c)) in gpu.distances.iter().zip(&cpu.distances).enumerate() {
            assert!(
                (g - c).abs() <= 1e-4 * (1.0 + c.abs()),
                "{label}: slot {slot} (row {}): GPU distance {g}, CPU {c}",
                slot / cpu.k.max(1)
            );
        }
        let differing: Vec<usize> = (0..n)
            .filter(|&i| {
                let a: HashSet<_> = gpu.neighbours(i).iter().collect();
                let b: HashSet<_> = cpu.neighbours(i).iter().collect();
                a != b
            })
            .collect();
        if only_differing {
            check_rows_against_exact(
                label,
                data,
                n,
                d,
                k,
                metric,
                &gpu,
                differing.iter().copied(),
            );
        } else {
            check_against_exact(label, data, n, d, k, metric, &gpu);
        }
        differing.len()
    }

    /// Work per invocation beyond lavapipe's 65535 loop iterations (which
    /// silently stops the invocation: the first version of the kernel
    /// returned all zeros here), and more candidates than one dispatch
    /// takes, with the default dispatch budget.
    #[test]
    fn knn_gpu_long_rows_and_many_candidates() {
        let Some(context) = context() else { return };
        for (n, d) in [(500, 1536), (3000, 16)] {
            let data = random_rows(n, d, (n + d) as u64);
            for metric in METRICS {
                let label = format!("gpu long n={n} d={d} {}", metric.name());
                check_gpu_rows(&label, &context, &data, n, d, 10, metric, true);
                let graph = pollster::block_on(context.knn(&data, n, d, 10, metric)).unwrap();
                assert_not_degenerate(&label, &graph);
            }
        }
    }

    #[test]
    fn knn_gpu_matches_reference() {
        let Some(context) = context() else { return };
        let mut runs = 0;
        let mut rows_differing_by_ties = 0;
        for n in [1, 2, 5, 63, 64, 65, 257, 1000] {
            for d in [1, 3, 17, 64, 130] {
                for metric in METRICS {
                    let data = random_rows(n, d, (n * 7919 + d) as u64);
                    let label = format!("gpu n={n} d={d} k=10 {}", metric.name());
                    rows_differing_by_ties += check_gpu(&label, &context, &data, n, d, 10, metric);
                    if n > 2 {
                        let graph =
                            pollster::block_on(context.knn(&data, n, d, 10, metric)).unwrap();
                        assert_not_degenerate(&label, &graph);
                    }
                    runs += 1;
                }
            }
        }
        for metric in METRICS {
            for (n, d) in [(300, 17), (130, 3), (97, 64)] {
                let data = rows_with_duplicates_and_zeros(n, d, (n + d) as u64);
                let label = format!("gpu duplicates+zeros n={n} d={d} {}", metric.name());
                rows_differing_by_ties += check_gpu(&label, &context, &data, n, d, 10, metric);
                runs += 1;
            }
            // Every row identical: all distances tie.
            let same = vec![0.25f32; 70 * 5];
            rows_differing_by_ties += check_gpu(
                &format!("gpu all equal {}", metric.name()),
                &context,
                &same,
                70,
                5,
                10,
                metric,
            );
            // k = 1 and the largest k the kernel keeps.
            for k in [1, GpuContext::MAX_K] {
                let data = random_rows(200, 33, k as u64);
                rows_differing_by_ties += check_gpu(
                    &format!("gpu k={k} {}", metric.name()),
                    &context,
                    &data,
                    200,
                    33,
                    k,
                    metric,
                );
            }
            runs += 3;
        }
        let _ = writeln!(
            std::io::stderr(),
            "knn_gpu_matches_reference: {runs} runs on {}, {rows_differing_by_ties} rows differ from the CPU only through ties",
            context.adapter_name()
        );
    }

    /// Many small dispatches (one tile of candidates each) give the same
    /// graph as one big one.
    #[test]
    fn knn_gpu_split_into_many_dispatches() {
        let Some(mut context) = context() else { return };
        context.set_work_per_dispatch(1);
        for metric in METRICS {
            for (n, d) in [(257, 5), (200, 70)] {
                let data = random_rows(n, d, 99 + n as u64);
                check_gpu(
                    &format!(
                        "gpu one workgroup per dispatch n={n} d={d} {}",
                        metric.name()
                    ),
                    &context,
                    &data,
                    n,
                    d,
                    7,
                    metric,
                );
            }
        }
    }

    /// Data larger than one binding: rows split into several buffers
    /// (blocks) and queries into several ranges give the same graph.
    #[test]
    fn knn_gpu_split_into_blocks_and_ranges() {
        let Some(mut context) = context() else { return };
        // 130 values (136 padded) a row: 896 rows per 512 KiB block, so
        // 2000 rows make 3 blocks; lists of k = 10 take 768-row ranges.
        context.set_binding_limit(512 << 10);
        let (n, d) = (2000, 130);
        let data = rows_with_duplicates_and_zeros(n, d, 4242);
        for metric in METRICS {
            check_gpu_rows(
                &format!("gpu blocks n={n} d={d} {}", metric.name()),
                &context,
                &data,
                n,
                d,
                10,
                metric,
                true,
            );
        }
    }

    /// The context of a software adapter (lavapipe, CI's driver) that says
    /// it is a discrete GPU: the kernel then splits each query tile's
    /// candidates between several workgroup columns, merged at the end,
    /// which it never does on a CPU adapter.
    fn context_posing_as_discrete() -> Option<GpuContext> {
        let real = context()?;
        let mut info = real.adapter_info().clone();
        info.device_type = wgpu::DeviceType::DiscreteGpu;
        let context = pollster::block_on(GpuContext::from_device(
            info,
            real.device().clone(),
            real.queue().clone(),
        ))
        .unwrap();
        assert!(!context.is_cpu_adapter());
        Some(context)
    }

    #[test]
    fn knn_gpu_several_workgroup_columns() {
        let Some(mut context) = context_posing_as_discrete() else { return };
        for metric in METRICS {
            for (n, d, k) in [(129, 3, 10), (1000, 17, 10), (700, 9, 32), (3000, 16, 12)] {
                let data = rows_with_duplicates_and_zeros(n, d, (n * d + k) as u64);
                let label = format!("gpu columns n={n} d={d} k={k} {}", metric.name());
                check_gpu_rows(&label, &context, &data, n, d, k, metric, true);
            }
        }
        // With blocks, ranges and one tile of candidates per dispatch.
        context.set_binding_limit(512 << 10);
        context.set_work_per_dispatch(1);
        let data = random_rows(2000, 130, 77);
        for metric in METRICS {
            let label = format!("gpu columns+blocks {}", metric.name());
            check_gpu_rows(&label, &context, &data, 2000, 130, 10, metric, true);
        }
    }

    /// A destroyed (lost) device gives errors, not panics or garbage.
    #[test]
    fn knn_gpu_after_device_loss_is_an_error() {
        let Some(context) = context() else { return };
        let data = random_rows(50, 8, 5);
        pollster::block_on(context.knn(&data, 50, 8, 4, Metric::Cosine)).unwrap();
        context.device().destroy();
        let _ = context.device().poll(wgpu::PollType::Poll);
        let result = pollster::block_on(context.knn(&data, 50, 8, 4, Metric::Cosine));
        assert_eq!(result.unwrap_err().kind(), &ErrorKind::Gpu);
        assert!(context.is_lost());
    }

    #[test]
    fn knn_gpu_refuses_what_it_cannot_do() {
        let Some(context) = context() else { return };
        let data = random_rows(100, 4, 1);
        let too_big_k =
            pollster::block_on(context.knn(&data, 100, 4, GpuContext::MAX_K + 1, Metric::Cosine));
        assert_eq!(too_big_k.unwrap_err().kind(), &ErrorKind::Gpu);
        let wrong_length = pollster::block_on(context.knn(&data, 100, 5, 3, Metric::Cosine));
        assert_eq!(wrong_length.unwrap_err().kind(), &ErrorKind::InvalidOption);
        // k is clamped to n - 1 before the check, so 40 is fine for 20 rows.
        let small =
            pollster::block_on(context.knn(&data[..80], 20, 4, 40, Metric::Cosine)).unwrap();
        assert_eq!(small.k, 19);
        // The context is still usable after refusing.
        let graph =
            pollster::block_on(context.knn(&data, 100, 4, 3, Metric::SquaredEuclidean)).unwrap();
        let cpu = knn_cpu(&data, 100, 4, 3, Metric::SquaredEuclidean);
        assert_eq!(graph.indices, cpu.indices);
        assert!(graph
            .distances
            .iter()
            .zip(&cpu.distances)
            .all(|(g, c)| (g - c).abs() <= 1e-4 * (1.0 + c.abs())));
    }
}
