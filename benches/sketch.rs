//! Add throughput of the streaming sketches (`preflight::sketch`): each runs
//! for every value of a multi-GB file, so nanoseconds per add matter.
//!
//! `cargo bench --bench sketch` prints ns/op for each case (the best of
//! three runs); `cargo bench --bench sketch -- N` adds N values per case
//! (default 10,000,000).

use preflight::sketch::{Distinct, Hll, Kll, TopValues, EXACT_DISTINCT_LIMIT};
use std::hint::black_box;
use std::time::Instant;

/// splitmix64: test hashes and values.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// This thread's time on a CPU in ns (Linux `schedstat`), so that the
/// numbers hold on a shared machine; None elsewhere.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs `f` (which performs `ops` operations) three times and prints the
/// fastest as ns/op: thread CPU time where the system reports it (wall time
/// also shown), else wall time.
fn time(name: &str, ops: usize, mut f: impl FnMut()) {
    let (mut best_wall, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        let (start, cpu) = (Instant::now(), cpu_ns());
        f();
        best_wall = best_wall.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu, cpu_ns()) {
            best_cpu = best_cpu.min((b - a) as f64 * 1e-9);
        }
    }
    let ns = |s: f64| s * 1e9 / ops as f64;
    if best_cpu.is_finite() {
        println!("{name:<60} {:>8.2} ns/op cpu {:>8.2} ns/op wall", ns(best_cpu), ns(best_wall));
    } else {
        println!("{name:<60} {:>8.2} ns/op wall", ns(best_wall));
    }
}

fn main() {
    let n: usize =
        std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let mut state = 1;
    let hashes: Vec<u64> = (0..n).map(|_| splitmix(&mut state)).collect();
    println!("sketch adds, {n} values per case");

    time("Hll::add_hash (p=14)", n, || {
        let mut h = Hll::new(14);
        hashes.iter().for_each(|&x| h.add_hash(x));
        black_box(h.estimate());
    });
    time("Distinct::add_hash, 100 distinct repeating (exact set)", n, || {
        let mut d = Distinct::new();
        hashes.iter().for_each(|&x| d.add_hash(hashes[(x % 100) as usize]));
        black_box(d.estimate());
    });
    time("Distinct::add_hash, 50,000 distinct repeating (exact set)", n, || {
        let mut d = Distinct::new();
        hashes.iter().for_each(|&x| d.add_hash(hashes[(x % 50_000) as usize]));
        black_box(d.estimate());
    });
    let fresh = EXACT_DISTINCT_LIMIT.min(n);
    time("Distinct::add_hash, 65,536 new values (exact set grows)", fresh * 20, || {
        for _ in 0..20 {
            let mut d = Distinct::new();
            hashes[..fresh].iter().for_each(|&x| d.add_hash(x));
            black_box(d.estimate());
        }
    });
    time("Distinct::add_hash, all distinct (HLL after 65,536)", n, || {
        let mut d = Distinct::new();
        hashes.iter().for_each(|&x| d.add_hash(x));
        black_box(d.estimate());
    });

    let values: Vec<f64> = hashes.iter().map(|&h| (h >> 11) as f64 / (1u64 << 53) as f64).collect();
    time("Kll::add (k=200), uniform values", n, || {
        let mut k = Kll::default();
        values.iter().for_each(|&v| k.add(v));
        black_box(k.quantile(0.5));
    });
    let sorted: Vec<f64> = (0..n).map(|i| i as f64).collect();
    time("Kll::add (k=200), sorted values", n, || {
        let mut k = Kll::default();
        sorted.iter().for_each(|&v| k.add(v));
        black_box(k.quantile(0.5));
    });
    let exact_n = 4096;
    time("Kll::add, 4,096 values (exact mode) + quantiles", exact_n * 100, || {
        for i in 0..100 {
            let mut k = Kll::default();
            values[i..i + exact_n].iter().for_each(|&v| k.add(v));
            black_box(k.quantiles(&[0.25, 0.5, 0.75]));
        }
    });
    let parts: Vec<Kll> = values
        .chunks(n.div_ceil(64))
        .map(|c| {
            let mut k = Kll::default();
            c.iter().for_each(|&v| k.add(v));
            k
        })
        .collect();
    time("Kll::merge, 64 parts (per merge)", 64 * 20, || {
        for _ in 0..20 {
            let mut m = Kll::default();
            parts.iter().for_each(|p| m.merge(p));
            black_box(m.count());
        }
    });

    // Strings as a CSV reader hands them over: slices of one buffer.
    let texts: Vec<String> = (0..1_000).map(|i| format!("category_{i:04}")).collect();
    let picks: Vec<&str> = hashes.iter().map(|&h| texts[(h % 1_000) as usize].as_str()).collect();
    time("TopValues::add, 1,000 existing values (exact)", n, || {
        let mut t = TopValues::new();
        picks.iter().for_each(|s| t.add(s));
        black_box(t.total());
    });
    let uniques: Vec<String> = hashes.iter().take(n.min(2_000_000)).map(|h| format!("{h:016x}")).collect();
    let u = uniques.len();
    time("TopValues::add, 10,000 new values (exact map grows)", 10_000 * 50, || {
        for _ in 0..50 {
            let mut t = TopValues::new();
            uniques[..10_000].iter().for_each(|s| t.add(s));
            black_box(t.total());
        }
    });
    time("TopValues::add, all distinct (bounded summary)", u, || {
        let mut t = TopValues::new();
        uniques.iter().for_each(|s| t.add(s));
        black_box(t.total());
    });
    let zipf: Vec<&str> = hashes
        .iter()
        .take(u)
        .map(|&h| {
            let x = (1.0 / (1.0 - (h >> 11) as f64 / (1u64 << 53) as f64).powf(5.0)).min(1e9) as usize;
            uniques[x % u].as_str()
        })
        .collect();
    time("TopValues::add, zipf 1.2 (bounded, mostly existing)", u, || {
        let mut t = TopValues::new();
        zipf.iter().for_each(|s| t.add(s));
        black_box(t.total());
    });
}
