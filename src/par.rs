//! Work split over the machine's cores natively, one after the other in the
//! browser (where the page's own workers share the work instead).

use std::ops::Range;

/// Cores to use natively (at least 1); 1 in wasm.
pub fn cores() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::available_parallelism().map_or(1, |t| t.get())
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// Splits `0..n` into one contiguous range a core (a single range when
/// `worth_threads` is false, or in wasm), runs `work` on each range on its
/// own thread, and returns the results in range order. The answer is the
/// same however many ranges there are when `work`'s results concatenate.
pub fn map_ranges<T: Send>(n: usize, worth_threads: bool, work: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = if worth_threads { cores().min(n) } else { 1 };
    if threads <= 1 {
        return vec![work(0..n)];
    }
    let per = n.div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..threads).map(|t| scope.spawn(move || work((t * per).min(n)..((t + 1) * per).min(n)))).collect();
        handles.into_iter().map(|h| h.join().expect("a worker thread panicked")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_once_in_order() {
        for n in [0usize, 1, 2, 7, 1000, 1001] {
            let parts = map_ranges(n, true, |r| r.collect::<Vec<_>>());
            assert_eq!(parts.concat(), (0..n).collect::<Vec<_>>(), "n = {n}");
            assert!(parts.len() <= cores().max(1));
        }
        // Not worth threads: one range.
        assert_eq!(map_ranges(10, false, |r| r).len(), 1);
    }
}
