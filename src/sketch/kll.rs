//! KLL quantile sketch over `f64` (Karnin, Lang, Liberty 2016, "Optimal
//! Quantile Approximation in Streams", arXiv:1603.05346), in the lazy
//! compaction form of Apache DataSketches' `KllDoublesSketch`.

use serde::{Deserialize, Serialize};

/// Default accuracy parameter k: normalized rank error about 1.33 %
/// (single-sided, see [`Kll::normalized_rank_error`]).
pub const DEFAULT_K: u16 = 200;
/// While at most this many values were added (and merged), a [`Kll`] keeps
/// every raw value and answers exactly.
pub const EXACT_VALUES: u64 = 4096;
/// Smallest compactor capacity (DataSketches' `m`).
const MIN_WIDTH: usize = 8;
/// Seed of the compaction coins' xorshift generator.
const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Mergeable quantile sketch of `f64` values (KLL).
///
/// Level h holds items of weight 2^h. A level's capacity is
/// `max(8, ceil(k (2/3)^(H-1-h)))` for H levels: the top level holds k,
/// each level below two thirds of the one above. When the items held reach
/// the total capacity, the lowest full level is sorted and compacted: every
/// other item (odd or even positions by a coin flip) moves up a level with
/// double weight, the rest are dropped; an odd item stays behind.
///
/// - Deterministic: the coins come from an internal xorshift generator with
///   a fixed seed, stored in the sketch, so the same values in the same order
///   (and the same merges) give the same sketch.
/// - NaN and infinite values are ignored (the column profiles count only
///   finite numbers); [`Kll::count`], [`Kll::min`] and [`Kll::max`] are exact.
/// - Exact mode: while [`Kll::count`] <= [`EXACT_VALUES`] nothing is
///   compacted and [`Kll::quantile`] equals
///   [`crate::profile::quantile_sorted`] on the sorted values (linear
///   interpolation), whatever the order of adds and merges.
/// - Empty: [`Kll::quantile`], [`Kll::min`], [`Kll::max`] and [`Kll::rank`]
///   return NaN.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kll {
    k: u16,
    count: u64,
    /// Exact minimum and maximum; meaningless while `count` is 0.
    #[serde(with = "super::compact::f64_exact")]
    min: f64,
    #[serde(with = "super::compact::f64_exact")]
    max: f64,
    /// `levels[h]`: items of weight 2^h. One level while exact.
    #[serde(with = "super::compact::levels_exact")]
    levels: Vec<Vec<f64>>,
    /// Whether any compaction happened (then answers are approximate).
    compacted: bool,
    /// xorshift64 state for the compaction coins.
    rng: u64,
    /// Level 0 length at which [`Kll::add`] compresses: the exact limit
    /// while exact, else the total capacity less the items above level 0.
    #[serde(skip, default)]
    trigger: usize,
    /// Capacity of each level for the current number of levels (a cache).
    #[serde(skip, default)]
    capacities: Vec<usize>,
}

impl Default for Kll {
    fn default() -> Kll {
        Kll::new(DEFAULT_K)
    }
}

impl Kll {
    /// An empty sketch with accuracy parameter `k` (clamped to 8..=65535;
    /// [`DEFAULT_K`] is 200).
    pub fn new(k: u16) -> Kll {
        Kll {
            k: k.max(MIN_WIDTH as u16),
            count: 0,
            min: 0.0,
            max: 0.0,
            levels: vec![Vec::new()],
            compacted: false,
            rng: SEED,
            trigger: 0,
            capacities: Vec::new(),
        }
    }

    /// The accuracy parameter k.
    pub fn k(&self) -> u16 {
        self.k
    }

    /// Adds a value; NaN and infinities are ignored.
    #[inline]
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        // `total_cmp`, as the exact path sorts: -0.0 is below 0.0.
        if self.count == 0 || value.total_cmp(&self.min).is_lt() {
            self.min = value;
        }
        if self.count == 0 || value.total_cmp(&self.max).is_gt() {
            self.max = value;
        }
        self.count += 1;
        let level0 = &mut self.levels[0];
        level0.push(value);
        // `trigger` is 0 after deserializing: the slow path recomputes it.
        if level0.len() >= self.trigger {
            self.compress();
        }
    }

    /// Merges `other` into `self`: levels are concatenated, then compacted
    /// until the items fit. Exact while the total count stays at most
    /// [`EXACT_VALUES`].
    pub fn merge(&mut self, other: &Kll) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = if other.min.total_cmp(&self.min).is_lt() { other.min } else { self.min };
            self.max = if other.max.total_cmp(&self.max).is_gt() { other.max } else { self.max };
        }
        self.count += other.count;
        self.compacted |= other.compacted;
        self.k = self.k.min(other.k);
        self.capacities.clear();
        if self.levels.len() < other.levels.len() {
            self.levels.resize_with(other.levels.len(), Vec::new);
        }
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            mine.extend_from_slice(theirs);
        }
        self.compress();
    }

    /// Values added (finite ones), exact.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest value added, exact; NaN when empty.
    pub fn min(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.min
        }
    }

    /// Largest value added, exact; NaN when empty.
    pub fn max(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.max
        }
    }

    /// Whether every value is still held, so that answers are exact.
    pub fn is_exact(&self) -> bool {
        !self.compacted
    }

    /// Every value added, in no particular order, while the sketch is exact
    /// (`None` once it compacted): for callers that compute exact statistics
    /// of small inputs from the values themselves.
    pub fn exact_values(&self) -> Option<&[f64]> {
        self.is_exact().then(|| &self.levels[0][..])
    }

    /// Items held (memory is about 8 bytes each).
    pub fn retained(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    /// Normalized rank error of [`Kll::rank`] and [`Kll::quantile`] for this
    /// k: the bound that the largest rank error over all queries stays
    /// within with 99 % confidence, `2.296 / k^0.9723` (single-sided), the
    /// fit Apache DataSketches publishes for its KLL sketch
    /// (`KllSketch.getNormalizedRankError(k, false)`: "constants were
    /// derived as the best fit to 99 percentile empirically measured max
    /// error in thousands of trials"). k = 200 gives 0.0133. 0 while exact.
    pub fn normalized_rank_error(&self) -> f64 {
        if self.is_exact() {
            0.0
        } else {
            Kll::rank_error_bound(self.k)
        }
    }

    /// The single-sided normalized rank error bound for `k` (see
    /// [`Kll::normalized_rank_error`]).
    pub fn rank_error_bound(k: u16) -> f64 {
        2.296 / f64::from(k).powf(0.9723)
    }

    /// The double-sided bound for `k`, for the mass between two values (a
    /// histogram bin): `2.446 / k^0.9433` (DataSketches, pmf = true), 0.0165
    /// for k = 200.
    pub fn pmf_error_bound(k: u16) -> f64 {
        2.446 / f64::from(k).powf(0.9433)
    }

    /// The value at normalized rank `q` (clamped to 0..=1); NaN when empty.
    ///
    /// Exact mode: `quantile_sorted` of the sorted values (linear
    /// interpolation between neighbours). Approximate: the smallest held
    /// item whose cumulative weight reaches `q` times the count; `q = 0`
    /// gives the exact minimum and `q = 1` the exact maximum.
    pub fn quantile(&self, q: f64) -> f64 {
        self.quantiles(&[q])[0]
    }

    /// [`Kll::quantile`] of several ranks, sorting the held items once.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<f64> {
        if self.count == 0 {
            return vec![f64::NAN; qs.len()];
        }
        let clamp = |q: f64| if q.is_nan() { q } else { q.clamp(0.0, 1.0) };
        if self.is_exact() {
            let mut sorted = self.levels[0].clone();
            sorted.sort_unstable_by(f64::total_cmp);
            return qs.iter().map(|&q| crate::profile::quantile_sorted(&sorted, clamp(q))).collect();
        }
        let view = self.sorted_view();
        let n = self.count as f64;
        qs.iter()
            .map(|&q| {
                let q = clamp(q);
                if q.is_nan() {
                    return f64::NAN;
                }
                if q <= 0.0 {
                    return self.min;
                }
                if q >= 1.0 {
                    return self.max;
                }
                let target = q * n;
                // First item whose cumulative weight >= target.
                let i = view.cumulative.partition_point(|&c| (c as f64) < target);
                view.values.get(i).copied().unwrap_or(self.max).clamp(self.min, self.max)
            })
            .collect()
    }

    /// Fraction of the values that are <= `x`: exact in exact mode, else
    /// within [`Kll::normalized_rank_error`]; NaN when empty or `x` is NaN.
    pub fn rank(&self, x: f64) -> f64 {
        self.ranks(&[x])[0]
    }

    /// [`Kll::rank`] of several values, sorting the held items once.
    pub fn ranks(&self, xs: &[f64]) -> Vec<f64> {
        if self.count == 0 {
            return vec![f64::NAN; xs.len()];
        }
        let view = self.sorted_view();
        let n = self.count as f64;
        xs.iter()
            .map(|&x| {
                if x.is_nan() {
                    return f64::NAN;
                }
                if x >= self.max {
                    return 1.0;
                }
                if x < self.min {
                    return 0.0;
                }
                let i = view.values.partition_point(|&v| v <= x);
                if i == 0 {
                    0.0
                } else {
                    view.cumulative[i - 1] as f64 / n
                }
            })
            .collect()
    }

    /// Held items sorted by value with their cumulative weights.
    fn sorted_view(&self) -> SortedView {
        let mut items: Vec<(f64, u64)> = Vec::with_capacity(self.retained());
        for (h, level) in self.levels.iter().enumerate() {
            let w = 1u64 << h;
            items.extend(level.iter().map(|&v| (v, w)));
        }
        items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut values = Vec::with_capacity(items.len());
        let mut cumulative = Vec::with_capacity(items.len());
        let mut total = 0u64;
        for (v, w) in items {
            total += w;
            values.push(v);
            cumulative.push(total);
        }
        SortedView { values, cumulative }
    }

    /// Fills the capacity cache for the current number of levels:
    /// `max(8, ceil(k (2/3)^(H-1-h)))`.
    fn refresh_capacities(&mut self) {
        let levels = self.levels.len();
        if self.capacities.len() == levels {
            return;
        }
        self.capacities.clear();
        for h in 0..levels {
            let depth = (levels - 1 - h) as i32;
            let cap = (f64::from(self.k) * (2.0f64 / 3.0).powi(depth)).ceil() as usize;
            self.capacities.push(cap.max(MIN_WIDTH));
        }
    }

    /// Compacts until the held items fit in the total capacity (only once
    /// more than [`EXACT_VALUES`] values were seen), then sets the trigger
    /// for the next compression.
    fn compress(&mut self) {
        if !self.compacted && self.count <= EXACT_VALUES {
            self.trigger = EXACT_VALUES as usize + 1;
            return;
        }
        loop {
            self.refresh_capacities();
            let total_capacity: usize = self.capacities.iter().sum();
            let retained = self.retained();
            if retained < total_capacity {
                let above: usize = retained - self.levels[0].len();
                self.trigger = total_capacity - above;
                return;
            }
            // retained >= total capacity, so some level is at capacity.
            let h = (0..self.levels.len()).find(|&h| self.levels[h].len() >= self.capacities[h]).unwrap_or(0);
            self.compact(h);
        }
    }

    /// Halves level `h` into level `h + 1`.
    fn compact(&mut self, h: usize) {
        self.compacted = true;
        if h + 1 == self.levels.len() {
            self.levels.push(Vec::new());
        }
        let coin = self.coin();
        let (below, above) = self.levels.split_at_mut(h + 1);
        let level = &mut below[h];
        let leftover = if level.len() % 2 == 1 { level.pop() } else { None };
        // Held values are finite, so `partial_cmp` orders them (twice as
        // fast as `total_cmp`; -0.0 and 0.0 tie, which no answer can see).
        level.sort_unstable_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let up = &mut above[0];
        up.extend(level.iter().skip(coin).step_by(2));
        level.clear();
        level.extend(leftover);
    }

    /// A fair coin from the xorshift64 generator: 0 or 1.
    fn coin(&mut self) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 63) as usize
    }
}

struct SortedView {
    values: Vec<f64>,
    cumulative: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::quantile_sorted;
    use crate::sketch::testdata::{distributions, Rng};

    fn kll_of(values: &[f64]) -> Kll {
        let mut k = Kll::default();
        values.iter().for_each(|&v| k.add(v));
        k
    }

    /// Sequential merge of `parts` consecutive chunks, as parts of a file
    /// merge in file order.
    fn merged_of(values: &[f64], parts: usize) -> Kll {
        let mut merged = Kll::default();
        for chunk in values.chunks(values.len().div_ceil(parts)) {
            merged.merge(&kll_of(chunk));
        }
        merged
    }

    /// Largest rank error of `sketch` over a grid of rank and quantile
    /// queries, against the sorted data.
    fn max_rank_error(sketch: &Kll, sorted: &[f64]) -> f64 {
        let n = sorted.len() as f64;
        let below = |x: f64| sorted.partition_point(|&v| v < x) as f64 / n;
        let at_most = |x: f64| sorted.partition_point(|&v| v <= x) as f64 / n;
        let mut worst: f64 = 0.0;
        let grid: Vec<f64> = (0..=1000).map(|i| i as f64 / 1000.0).collect();
        // rank(x) at the data's own values (every distinct value of a
        // duplicate-heavy column, and the true quantiles of the others).
        let xs: Vec<f64> = grid.iter().map(|&q| quantile_sorted(sorted, q)).collect();
        for (&x, r) in xs.iter().zip(sketch.ranks(&xs)) {
            worst = worst.max((r - at_most(x)).abs());
        }
        // quantile(q): q must lie within the true rank range of the answer.
        for (&q, x) in grid.iter().zip(sketch.quantiles(&grid)) {
            let (lo, hi) = (below(x), at_most(x));
            worst = worst.max(lo - q).max(q - hi);
        }
        worst
    }

    #[test]
    fn kll_rank_error_stays_within_the_published_bound() {
        let bound = Kll::rank_error_bound(DEFAULT_K);
        assert!((bound - 0.0133).abs() < 0.0001, "{bound}");
        // 100,000 values: the 2 and 7 parts are approximate when merged, the
        // 64 parts exact (1,563 values each) until merging compacts them.
        for (name, values) in distributions(100_000, 42) {
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let sketches = [
                ("single", kll_of(&values)),
                ("2 parts", merged_of(&values, 2)),
                ("7 parts", merged_of(&values, 7)),
                ("64 parts", merged_of(&values, 64)),
            ];
            for (how, sketch) in sketches {
                assert!(!sketch.is_exact(), "{name} {how}");
                assert_eq!(sketch.count(), values.len() as u64, "{name} {how}");
                assert_eq!(sketch.min(), sorted[0], "{name} {how}");
                assert_eq!(sketch.max(), sorted[sorted.len() - 1], "{name} {how}");
                assert_eq!(sketch.normalized_rank_error(), bound);
                let error = max_rank_error(&sketch, &sorted);
                assert!(error <= bound, "{name} {how}: max rank error {error:.5} > {bound:.5}");
                // Bounded memory: about 3k items plus the short levels.
                assert!(sketch.retained() <= 3 * DEFAULT_K as usize + 8 * 20, "{name} {how}: {}", sketch.retained());
                let weight: u64 = sketch.levels.iter().enumerate().map(|(h, l)| (l.len() as u64) << h).sum();
                assert_eq!(weight, sketch.count(), "{name} {how}: weights");
            }
        }
    }

    #[test]
    fn kll_merges_of_many_approximate_parts_stay_within_the_bound() {
        let bound = Kll::rank_error_bound(DEFAULT_K);
        for (name, values) in distributions(64 * 5_000, 8) {
            if !matches!(name, "zipf" | "sorted" | "duplicates") {
                continue;
            }
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            // Parts of 5,000 values: each compacted before the merge.
            let parts: Vec<Kll> = values.chunks(5_000).map(kll_of).collect();
            assert!(parts.iter().all(|p| !p.is_exact()));
            let mut in_order = Kll::default();
            parts.iter().for_each(|p| in_order.merge(p));
            // A balanced tree of merges, as a parallel reduction would do.
            let mut level = parts.clone();
            while level.len() > 1 {
                level = level
                    .chunks(2)
                    .map(|pair| {
                        let mut a = pair[0].clone();
                        pair[1..].iter().for_each(|b| a.merge(b));
                        a
                    })
                    .collect();
            }
            for (how, sketch) in [("in order", in_order), ("tree", level.remove(0))] {
                assert_eq!(sketch.count(), values.len() as u64);
                let error = max_rank_error(&sketch, &sorted);
                assert!(error <= bound, "{name} {how}: max rank error {error:.5} > {bound:.5}");
            }
        }
    }

    #[test]
    fn kll_is_exact_up_to_the_limit_whatever_the_order() {
        for (name, values) in distributions(EXACT_VALUES as usize, 7) {
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let mut shuffled = values.clone();
            let mut r = Rng(9);
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, (r.next_u64() % (i as u64 + 1)) as usize);
            }
            let mut tree = merged_of(&shuffled[..1000], 3);
            tree.merge(&merged_of(&shuffled[1000..], 5));
            let qs: Vec<f64> = (0..=200).map(|i| i as f64 / 200.0).chain([0.123_456, 0.999_9]).collect();
            let want: Vec<f64> = qs.iter().map(|&q| quantile_sorted(&sorted, q)).collect();
            for sketch in [kll_of(&values), kll_of(&shuffled), merged_of(&values, 7), tree] {
                assert!(sketch.is_exact(), "{name}");
                assert_eq!(sketch.normalized_rank_error(), 0.0);
                let got = sketch.quantiles(&qs);
                assert_eq!(got, want, "{name}");
                assert_eq!(sketch.quantile(0.5), quantile_sorted(&sorted, 0.5));
                let xs: Vec<f64> = sorted.iter().step_by(97).copied().collect();
                for (&x, got) in xs.iter().zip(sketch.ranks(&xs)) {
                    let exact = sorted.partition_point(|&v| v <= x) as f64 / sorted.len() as f64;
                    assert_eq!(got, exact, "{name} rank({x})");
                }
            }
            // One more value and it compacts.
            let mut more = kll_of(&values);
            more.add(1.0);
            assert!(!more.is_exact());
        }
    }

    #[test]
    fn kll_ignores_nan_and_infinities_and_empty_answers_nan() {
        let empty = Kll::default();
        assert_eq!(empty.count(), 0);
        assert!(
            empty.quantile(0.5).is_nan() && empty.min().is_nan() && empty.max().is_nan() && empty.rank(1.0).is_nan()
        );
        let mut k = Kll::default();
        for v in [f64::NAN, 3.0, f64::INFINITY, 1.0, f64::NEG_INFINITY, 2.0, f64::NAN] {
            k.add(v);
        }
        assert_eq!(k.count(), 3);
        assert_eq!((k.min(), k.max(), k.quantile(0.5)), (1.0, 3.0, 2.0));
        assert_eq!((k.rank(0.0), k.rank(1.0), k.rank(2.5), k.rank(3.0)), (0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0));
        assert!(k.quantile(f64::NAN).is_nan());
        assert_eq!((k.quantile(-1.0), k.quantile(2.0)), (1.0, 3.0));
        let mut merged = Kll::default();
        merged.merge(&empty);
        merged.merge(&k);
        merged.merge(&empty);
        assert_eq!((merged.count(), merged.min(), merged.max()), (3, 1.0, 3.0));
    }

    #[test]
    fn kll_is_deterministic_and_round_trips_through_serde() {
        let values = &distributions(50_000, 3)[1].1;
        let a = kll_of(values);
        let b = kll_of(values);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, serde_json::to_string(&b).unwrap());
        let mut back: Kll = serde_json::from_str(&json).unwrap();
        let qs = [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0];
        assert_eq!(back.quantiles(&qs), a.quantiles(&qs));
        assert_eq!((back.count(), back.min(), back.max(), back.is_exact()), (a.count(), a.min(), a.max(), false));
        // The deserialized sketch keeps going exactly like the original.
        let mut a = a;
        for v in values.iter().take(20_000) {
            a.add(*v);
            back.add(*v);
        }
        assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&a).unwrap());
        // Exact sketches round-trip too, and the binary form (postcard, as
        // streamed parts travel) is exact as well.
        let small = kll_of(&values[..100]);
        let back: Kll = serde_json::from_str(&serde_json::to_string(&small).unwrap()).unwrap();
        assert!(back.is_exact());
        assert_eq!(back.quantiles(&qs), small.quantiles(&qs));
        for sketch in [&small, &a] {
            let bytes = postcard::to_allocvec(sketch).unwrap();
            let back: Kll = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(sketch).unwrap());
            assert!(bytes.len() <= 8 * sketch.retained() + 64, "{} bytes for {} items", bytes.len(), sketch.retained());
        }
    }
}
