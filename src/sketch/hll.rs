//! HyperLogLog distinct counts, and [`Distinct`]: exact, then HyperLogLog.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Distinct value hashes a [`Distinct`] keeps exactly before it switches to
/// an [`Hll`].
pub const EXACT_DISTINCT_LIMIT: usize = 65_536;
/// Precision of the [`Hll`] a [`Distinct`] switches to (16,384 registers,
/// relative standard error 0.81 %).
pub const DISTINCT_HLL_PRECISION: u8 = 14;

/// HyperLogLog sketch of 64-bit hashes (Flajolet, Fusy, Gandouet, Meunier
/// 2007), with 2^precision one-byte registers.
///
/// Callers hash their values (xxh3) and add the hashes: the top `precision`
/// bits pick the register, the position of the first set bit of the rest
/// is the register's candidate value. The estimate is bias-corrected over
/// the whole range: linear counting below the HLL++ thresholds (Heule,
/// Nunkesser, Hall 2013), Ertl's improved estimator above them (Ertl 2017,
/// "New cardinality estimation algorithms for HyperLogLog sketches",
/// arXiv:1702.01284), which needs no empirical bias tables and stays
/// unbiased up to 2^64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hll {
    precision: u8,
    registers: Vec<u8>,
}

impl Hll {
    /// An empty sketch with 2^`precision` registers.
    ///
    /// # Panics
    /// When `precision` is outside 4..=18.
    pub fn new(precision: u8) -> Hll {
        assert!((4..=18).contains(&precision), "HyperLogLog precision must be 4..=18, not {precision}");
        Hll { precision, registers: vec![0; 1 << precision] }
    }

    /// The precision p (2^p registers).
    pub fn precision(&self) -> u8 {
        self.precision
    }

    /// Adds one 64-bit hash of a value (hash values with a good 64-bit hash
    /// such as xxh3: the sketch relies on the bits being uniform).
    #[inline]
    pub fn add_hash(&mut self, hash: u64) {
        let p = self.precision as u32;
        let index = (hash >> (64 - p)) as usize;
        // The remaining 64 - p bits, with a stop bit so that all zeros give
        // rank 64 - p + 1.
        let rest = (hash << p) | (1u64 << (p - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        // SAFETY of the index: hash >> (64 - p) < 2^p = registers.len().
        let slot = &mut self.registers[index];
        if rank > *slot {
            *slot = rank;
        }
    }

    /// Merges `other` into `self` (register-wise maximum). Sketches of
    /// different precisions merge at the lower of the two: the finer one is
    /// folded down exactly as if its hashes had been added at that
    /// precision.
    pub fn merge(&mut self, other: &Hll) {
        if other.precision < self.precision {
            *self = self.folded(other.precision);
        }
        if other.precision == self.precision {
            for (a, &b) in self.registers.iter_mut().zip(&other.registers) {
                *a = (*a).max(b);
            }
        } else {
            let folded = other.folded(self.precision);
            for (a, &b) in self.registers.iter_mut().zip(&folded.registers) {
                *a = (*a).max(b);
            }
        }
    }

    /// This sketch at a lower precision: the registers that would have
    /// resulted from adding the same hashes to `Hll::new(precision)`.
    pub fn folded(&self, precision: u8) -> Hll {
        assert!(
            precision <= self.precision && precision >= 4,
            "cannot fold precision {} to {precision}",
            self.precision
        );
        let d = (self.precision - precision) as u32;
        if d == 0 {
            return self.clone();
        }
        let mut out = Hll::new(precision);
        for (index, &rank) in self.registers.iter().enumerate() {
            if rank == 0 {
                continue;
            }
            // The d low bits of the fine index are the first d bits after
            // the coarse index.
            let dropped = (index as u64) & ((1u64 << d) - 1);
            let coarse_rank =
                if dropped != 0 { (d - (64 - dropped.leading_zeros())) as u8 + 1 } else { d as u8 + rank };
            let slot = &mut out.registers[index >> d];
            *slot = (*slot).max(coarse_rank);
        }
        out
    }

    /// Estimated number of distinct hashes added.
    pub fn estimate(&self) -> f64 {
        let p = self.precision as usize;
        let m = self.registers.len() as f64;
        let q = 64 - p; // register values are 0..=q + 1
        let mut histogram = [0u32; 66];
        for &r in &self.registers {
            histogram[r as usize] += 1;
        }
        let zeros = histogram[0];
        if zeros > 0 {
            let linear = m * (m / zeros as f64).ln();
            if linear <= LINEAR_COUNTING_THRESHOLD[p - 4] {
                return linear;
            }
        }
        // Ertl 2017, algorithm 6 ("improved raw estimator").
        let mut z = m * tau(1.0 - histogram[q + 1] as f64 / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + histogram[k] as f64);
        }
        z += m * sigma(zeros as f64 / m);
        alpha(self.registers.len()) * m * m / z
    }

    /// Relative standard error of [`Hll::estimate`]: 1.04 / sqrt(m).
    pub fn relative_standard_error(&self) -> f64 {
        1.04 / (self.registers.len() as f64).sqrt()
    }

    /// Memory the registers take, in bytes.
    pub fn register_bytes(&self) -> usize {
        self.registers.len()
    }
}

/// Linear counting is used while its estimate is at most this, per
/// precision 4..=18: the thresholds of HLL++ (Heule et al. 2013, appendix),
/// below which linear counting beats the raw estimate.
const LINEAR_COUNTING_THRESHOLD: [f64; 15] = [
    10.0, 20.0, 40.0, 80.0, 220.0, 400.0, 900.0, 1800.0, 3100.0, 6500.0, 11500.0, 20000.0, 50000.0, 120000.0, 350000.0,
];

/// The bias constant alpha_m of Flajolet et al. 2007 (figure 3): Ertl's
/// asymptotic 1 / (2 ln 2) overestimates by 7 % at m = 16 and 2 % at m = 64.
fn alpha(m: usize) -> f64 {
    match m {
        16 => 0.673,
        32 => 0.697,
        64 => 0.709,
        _ => 0.7213 / (1.0 + 1.079 / m as f64),
    }
}

/// Ertl's sigma: x + sum_k x^(2^k) 2^(k-1).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

/// Ertl's tau: (1 - x - sum_k (1 - x^(2^-k))^2 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

/// Distinct count of value hashes: exact up to [`EXACT_DISTINCT_LIMIT`]
/// distinct hashes, then a HyperLogLog of precision
/// [`DISTINCT_HLL_PRECISION`] (relative standard error 0.81 %).
///
/// "Exact" counts distinct 64-bit hashes: two different values with the
/// same xxh3 hash count once (at 65,536 values the chance of any such
/// collision is about 1 in 10^10).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Distinct {
    state: DistinctState,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum DistinctState {
    Exact(HashSet64),
    Sketch(Hll),
}

impl Default for Distinct {
    fn default() -> Distinct {
        Distinct::new()
    }
}

impl Distinct {
    /// An empty, exact counter.
    pub fn new() -> Distinct {
        Distinct { state: DistinctState::Exact(HashSet64::default()) }
    }

    /// Adds one 64-bit value hash.
    #[inline]
    pub fn add_hash(&mut self, hash: u64) {
        match &mut self.state {
            DistinctState::Exact(set) => {
                if set.insert(hash) && set.len() > EXACT_DISTINCT_LIMIT {
                    self.switch_to_sketch();
                }
            }
            DistinctState::Sketch(hll) => hll.add_hash(hash),
        }
    }

    /// Asks the CPU to start loading where [`Distinct::add_hash`] of
    /// `hash` will look (the exact set's slot, which is a cache miss once
    /// the set is large), so that work done in between hides the wait.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if let DistinctState::Exact(set) = &self.state {
            set.prefetch(hash);
        }
    }

    fn switch_to_sketch(&mut self) {
        if let DistinctState::Exact(set) = &self.state {
            let mut hll = Hll::new(DISTINCT_HLL_PRECISION);
            for h in set.iter() {
                hll.add_hash(h);
            }
            self.state = DistinctState::Sketch(hll);
        }
    }

    /// Merges `other` into `self`: exact sets unite (and switch to the
    /// sketch when the union passes the limit); otherwise both become
    /// sketches and merge register-wise.
    pub fn merge(&mut self, other: &Distinct) {
        match (&mut self.state, &other.state) {
            (DistinctState::Exact(a), DistinctState::Exact(b)) => {
                // Stop at the limit: the table does not grow past it.
                if b.iter().any(|h| a.insert(h) && a.len() > EXACT_DISTINCT_LIMIT) {
                    self.switch_to_sketch();
                    if let DistinctState::Sketch(hll) = &mut self.state {
                        b.iter().for_each(|h| hll.add_hash(h));
                    }
                }
            }
            (DistinctState::Exact(a), DistinctState::Sketch(b)) => {
                let mut hll = b.clone();
                for h in a.iter() {
                    hll.add_hash(h);
                }
                self.state = DistinctState::Sketch(hll);
            }
            (DistinctState::Sketch(a), DistinctState::Exact(b)) => {
                for h in b.iter() {
                    a.add_hash(h);
                }
            }
            (DistinctState::Sketch(a), DistinctState::Sketch(b)) => a.merge(b),
        }
    }

    /// Distinct hashes added: exact while [`Distinct::is_exact`], else the
    /// rounded HyperLogLog estimate.
    pub fn estimate(&self) -> u64 {
        match &self.state {
            DistinctState::Exact(set) => set.len() as u64,
            DistinctState::Sketch(hll) => hll.estimate().round() as u64,
        }
    }

    /// Whether [`Distinct::estimate`] is exact.
    pub fn is_exact(&self) -> bool {
        matches!(self.state, DistinctState::Exact(_))
    }

    /// Relative standard error of [`Distinct::estimate`]: 0 while exact.
    pub fn relative_standard_error(&self) -> f64 {
        match &self.state {
            DistinctState::Exact(_) => 0.0,
            DistinctState::Sketch(hll) => hll.relative_standard_error(),
        }
    }
}

/// Set of u64 hashes: open addressing with linear probing in one array of
/// words (0 marks an empty slot; the hash 0 is a flag), load at most 1/2,
/// so a lookup in a large set costs one cache miss. Grows by doubling up to
/// 2 x [`EXACT_DISTINCT_LIMIT`] slots (1 MiB).
#[derive(Clone, Debug)]
struct HashSet64 {
    slots: Vec<u64>,
    /// Non-zero hashes held.
    len: usize,
    has_zero: bool,
}

impl Default for HashSet64 {
    fn default() -> HashSet64 {
        HashSet64 { slots: vec![0; 16], len: 0, has_zero: false }
    }
}

impl HashSet64 {
    /// Distinct hashes held.
    fn len(&self) -> usize {
        self.len + usize::from(self.has_zero)
    }

    /// Slot of `hash` for a table of `slots` (a power of two) entries:
    /// Fibonacci hashing of the top bits, so that values that are not
    /// uniform hashes still spread.
    #[inline]
    fn home(hash: u64, slots: usize) -> usize {
        (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - slots.trailing_zeros())) as usize
    }

    /// Prefetches the home slot of `hash` (x86-64; elsewhere nothing).
    #[inline]
    fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let slot = &self.slots[Self::home(hash, self.slots.len())];
            // SAFETY: a prefetch is only a hint; the address is a valid element.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((slot as *const u64).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    /// Inserts `hash`; true when it was new.
    #[inline]
    fn insert(&mut self, hash: u64) -> bool {
        if hash == 0 {
            let new = !self.has_zero;
            self.has_zero = true;
            return new;
        }
        if (self.len + 1) * 2 > self.slots.len() && self.slots.len() < 2 * EXACT_DISTINCT_LIMIT {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(hash, self.slots.len());
        loop {
            let slot = self.slots[i];
            if slot == hash {
                return false;
            }
            if slot == 0 {
                self.slots[i] = hash;
                self.len += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = written_zeros(self.slots.len() * 2);
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for h in old.into_iter().filter(|&h| h != 0) {
            let mut i = Self::home(h, self.slots.len());
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = h;
        }
    }

    /// The hashes held, in table order.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.has_zero.then_some(0).into_iter().chain(self.slots.iter().copied().filter(|&h| h != 0))
    }
}

/// `n` zeros, every page of them written once. A large zeroed allocation
/// comes from the system mapped lazily: a page read first maps the shared
/// zero page, and the first write to it then faults again and flushes the
/// TLB of every core running the process. The table's probes read before
/// they write, so each page would fault twice; written here, once.
fn written_zeros(n: usize) -> Vec<u64> {
    let mut zeros = vec![0u64; n];
    const PER_PAGE: usize = 4096 / std::mem::size_of::<u64>();
    for i in (0..n).step_by(PER_PAGE) {
        // SAFETY: i < n = zeros.len(). Volatile, so that the write of the
        // zero already there is kept.
        unsafe { std::ptr::write_volatile(zeros.as_mut_ptr().add(i), 0) };
    }
    zeros
}

/// Serialized as the sorted list of hashes (see
/// [`super::compact::u64s`]), so equal sets serialize the same whatever the
/// insertion order.
impl Serialize for HashSet64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<u64> = self.iter().collect();
        v.sort_unstable();
        super::compact::u64s::serialize(&v, s)
    }
}

impl<'de> Deserialize<'de> for HashSet64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HashSet64, D::Error> {
        let v = super::compact::u64s::deserialize(d)?;
        if v.len() > EXACT_DISTINCT_LIMIT {
            return Err(serde::de::Error::custom(format!(
                "an exact distinct set holds at most {EXACT_DISTINCT_LIMIT} hashes, not {}",
                v.len()
            )));
        }
        let mut set = HashSet64::default();
        for h in v {
            set.insert(h);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::testdata::Rng;

    fn hll_of(p: u8, hashes: impl Iterator<Item = u64>) -> Hll {
        let mut h = Hll::new(p);
        hashes.for_each(|x| h.add_hash(x));
        h
    }

    #[test]
    fn hll_estimates_stay_within_three_standard_errors() {
        let cardinalities = [10u64, 50, 200, 1_000, 5_000, 20_000, 100_000, 400_000, 2_000_000];
        let (mut trials, mut within_two, mut signed_sum) = (0, 0, 0.0);
        for p in [8u8, 11, 14, 18] {
            for &n in &cardinalities {
                let seeds = if n >= 400_000 { 1 } else { 6 };
                for seed in 0..seeds {
                    let mut r = Rng(seed * 7919 + u64::from(p) * 104_729 + n);
                    let h = hll_of(p, (0..n).map(|_| r.next_u64()));
                    let est = h.estimate();
                    let sigma = h.relative_standard_error() * n as f64;
                    // Plus one: at tiny n a single register collision is a
                    // whole value (linear counting is exact up to collisions).
                    assert!((est - n as f64).abs() <= 3.0 * sigma + 1.0, "p={p} n={n} seed={seed}: estimate {est:.1}");
                    within_two += usize::from((est - n as f64).abs() <= 2.0 * sigma + 1.0);
                    signed_sum += (est - n as f64) / sigma;
                    trials += 1;
                }
            }
        }
        // About 95 % fall within two standard errors, and no systematic
        // bias: the mean signed error is inside 3 standard errors of the mean.
        assert!(within_two as f64 >= 0.9 * trials as f64, "{within_two} of {trials} within 2 standard errors");
        let mean = signed_sum / trials as f64;
        assert!(mean.abs() < 3.0 / (trials as f64).sqrt(), "mean signed error {mean:.3} standard errors over {trials}");
    }

    #[test]
    fn hll_small_precisions_are_unbiased() {
        // With 16 or 64 registers the error has heavier tails than the
        // asymptotic 1.04 / sqrt(m); check bias and spread over many seeds.
        for p in [4u8, 6] {
            for n in [100u64, 5_000] {
                let trials = 300;
                let (mut sum, mut squares) = (0.0, 0.0);
                for seed in 0..trials {
                    let mut r = Rng(seed * 31 + n + u64::from(p));
                    let h = hll_of(p, (0..n).map(|_| r.next_u64()));
                    let e = (h.estimate() - n as f64) / n as f64;
                    sum += e;
                    squares += e * e;
                }
                let rse = Hll::new(p).relative_standard_error();
                let (bias, rms) = (sum / trials as f64, (squares / trials as f64).sqrt());
                assert!(bias.abs() < 3.0 * rse / (trials as f64).sqrt(), "p={p} n={n}: bias {bias:+.4}");
                assert!(rms < 1.25 * rse, "p={p} n={n}: rms {rms:.4} vs {rse:.4}");
            }
        }
    }

    #[test]
    fn hll_counts_duplicates_once_and_starts_empty() {
        let empty = Hll::new(14);
        assert_eq!(empty.estimate(), 0.0);
        let mut r = Rng(1);
        let values: Vec<u64> = (0..1000).map(|_| r.next_u64()).collect();
        let once = hll_of(12, values.iter().copied());
        let thrice = hll_of(12, values.iter().chain(&values).chain(&values).copied());
        assert_eq!(once, thrice);
        assert!((once.estimate() - 1000.0).abs() < 30.0, "{}", once.estimate());
        assert!((Hll::new(14).relative_standard_error() - 1.04 / 128.0).abs() < 1e-15);
    }

    #[test]
    fn hll_merge_equals_single_stream_and_folds_precisions() {
        let mut r = Rng(5);
        let values: Vec<u64> = (0..300_000).map(|_| r.next_u64()).collect();
        let whole = hll_of(14, values.iter().copied());
        for parts in [2usize, 7, 64] {
            let mut merged = Hll::new(14);
            for chunk in values.chunks(values.len().div_ceil(parts)) {
                merged.merge(&hll_of(14, chunk.iter().copied()));
            }
            assert_eq!(merged, whole, "{parts} parts");
        }
        // Folding p=14 to p=10 gives exactly the p=10 sketch of the same hashes.
        let coarse = hll_of(10, values.iter().copied());
        assert_eq!(whole.folded(10), coarse);
        // Merging different precisions works at the lower one, either way round.
        let (a, b) = values.split_at(100_000);
        let mut fine_into_coarse = hll_of(10, a.iter().copied());
        fine_into_coarse.merge(&hll_of(16, b.iter().copied()));
        assert_eq!(fine_into_coarse, coarse);
        let mut coarse_into_fine = hll_of(16, a.iter().copied());
        coarse_into_fine.merge(&hll_of(10, b.iter().copied()));
        assert_eq!(coarse_into_fine, coarse);
    }

    #[test]
    #[should_panic(expected = "precision must be 4..=18")]
    fn hll_rejects_precision_outside_range() {
        Hll::new(19);
    }

    fn distinct_of(hashes: impl Iterator<Item = u64>) -> Distinct {
        let mut d = Distinct::new();
        hashes.for_each(|x| d.add_hash(x));
        d
    }

    #[test]
    fn distinct_is_exact_up_to_the_limit_then_estimates() {
        assert_eq!(Distinct::new().estimate(), 0);
        assert!(Distinct::new().is_exact());
        // Small integers as "hashes", repeated: exact.
        let d = distinct_of((0..200_000u64).map(|i| i % 65_536));
        assert!(d.is_exact());
        assert_eq!(d.estimate(), 65_536);
        assert_eq!(d.relative_standard_error(), 0.0);
        let mut r = Rng(3);
        let mut d = distinct_of((0..EXACT_DISTINCT_LIMIT as u64).map(|_| r.next_u64()));
        assert!(d.is_exact());
        assert_eq!(d.estimate(), EXACT_DISTINCT_LIMIT as u64);
        d.add_hash(r.next_u64());
        assert!(!d.is_exact());
        for n in [65_537u64, 200_000, 1_000_000] {
            let mut r = Rng(n);
            let d = distinct_of((0..n).map(|_| r.next_u64()));
            let err = (d.estimate() as f64 - n as f64).abs() / n as f64;
            assert!(err <= 3.0 * d.relative_standard_error(), "n={n}: {}", d.estimate());
        }
    }

    #[test]
    fn distinct_merges_every_combination_like_a_single_stream() {
        let mut r = Rng(11);
        let pool: Vec<u64> = (0..200_000).map(|_| r.next_u64()).collect();
        // (left range, right range): overlapping ranges of the pool.
        let cases: [((usize, usize), (usize, usize)); 7] = [
            ((0, 1_000), (500, 3_000)),         // exact + exact
            ((0, 40_000), (30_000, 70_000)),    // exact + exact, union overflows
            ((0, 60_000), (10_000, 150_000)),   // exact + sketch
            ((0, 150_000), (100_000, 160_000)), // sketch + exact
            ((0, 100_000), (50_000, 200_000)),  // sketch + sketch
            ((0, 65_536), (0, 65_536)),         // exact + identical exact
            ((0, 65_536), (65_536, 131_072)),   // two full, disjoint exact sets
        ];
        for ((a0, a1), (b0, b1)) in cases {
            let single = distinct_of(pool[a0..a1].iter().chain(&pool[b0..b1]).copied());
            let mut merged = distinct_of(pool[a0..a1].iter().copied());
            merged.merge(&distinct_of(pool[b0..b1].iter().copied()));
            assert_eq!(merged.is_exact(), single.is_exact(), "{a0}..{a1} + {b0}..{b1}");
            assert_eq!(merged.estimate(), single.estimate(), "{a0}..{a1} + {b0}..{b1}");
            let union = a1.max(b1) - a0.min(b0);
            let err = (merged.estimate() as f64 - union as f64).abs() / union as f64;
            assert!(err <= 3.0 * merged.relative_standard_error(), "{a0}..{a1} + {b0}..{b1}: {}", merged.estimate());
        }
    }

    #[test]
    fn hll_and_distinct_round_trip_through_serde() {
        let mut r = Rng(2);
        let h = hll_of(12, (0..5000).map(|_| r.next_u64()));
        let back: Hll = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
        for n in [0u64, 10, 70_000] {
            let d = distinct_of((0..n).map(|_| r.next_u64()));
            let json = serde_json::to_string(&d).unwrap();
            let back: Distinct = serde_json::from_str(&json).unwrap();
            assert_eq!(back.estimate(), d.estimate());
            assert_eq!(back.is_exact(), d.is_exact());
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }
        // Binary (postcard, as parts travel): 8 bytes a hash, exact.
        let mut with_zero = distinct_of((0..1000).map(|_| r.next_u64()));
        with_zero.add_hash(0);
        for d in [with_zero, distinct_of((0..70_000).map(|_| r.next_u64()))] {
            let bytes = postcard::to_allocvec(&d).unwrap();
            let back: Distinct = postcard::from_bytes(&bytes).unwrap();
            assert_eq!((back.estimate(), back.is_exact()), (d.estimate(), d.is_exact()));
            assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&d).unwrap());
            if d.is_exact() {
                assert_eq!(d.estimate(), 1001);
                assert!(bytes.len() <= 8 * 1001 + 8, "{} bytes", bytes.len());
            }
        }
        // A set larger than the limit is refused, not loaded.
        let too_many: Vec<u64> = (1..=EXACT_DISTINCT_LIMIT as u64 + 1).collect();
        let json = format!("{{\"state\":{{\"Exact\":{}}}}}", serde_json::to_string(&too_many).unwrap());
        let err = serde_json::from_str::<Distinct>(&json).unwrap_err().to_string();
        assert!(err.contains("at most 65536"), "{err}");
        // The exact set serializes sorted: insertion order does not show.
        let forward = distinct_of([3u64, 1, 2].into_iter());
        let backward = distinct_of([2u64, 1, 3].into_iter());
        assert_eq!(serde_json::to_string(&forward).unwrap(), serde_json::to_string(&backward).unwrap());
    }
}
