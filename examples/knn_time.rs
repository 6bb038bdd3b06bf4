//! Times the CPU kNN graph alone: `cargo run --release --example knn_time -- N D [K]`
//! (random rows, cosine and squared euclidean): the symmetric search
//! `knn_cpu` runs natively beside the one-way search the page's workers
//! share (`KnnSearch::rows`), and whether their graphs are the same bits.
use preflight::gpu::{knn_cpu, KnnSearch, Metric};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (n, d, k) = (args.first().copied().unwrap_or(20_000), args.get(1).copied().unwrap_or(83), args.get(2).copied().unwrap_or(10));
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let data: Vec<f32> = (0..n * d).map(|_| next()).collect();
    for metric in [Metric::Cosine, Metric::SquaredEuclidean] {
        let start = std::time::Instant::now();
        let graph = knn_cpu(&data, n, d, k, metric);
        let seconds = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        let (indices, distances) = KnnSearch::new(&data, n, d, k, metric).rows(0..n);
        let one_way = start.elapsed().as_secs_f64();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let same = indices == graph.indices && bits(&distances) == bits(&graph.distances);
        println!(
            "{metric:?}: n={n} d={d} k={k}: symmetric {seconds:.3} s ({:.2} G pair-dims/s), one-way {one_way:.3} s, ratio {:.2}, same graph: {same}",
            (n * n * d) as f64 / seconds / 1e9,
            one_way / seconds
        );
        assert!(same, "the two searches disagree");
    }
}
