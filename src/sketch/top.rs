//! Most frequent strings: exact counts, then a bounded frequent-items
//! summary.

use super::FastBuild;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use xxhash_rust::xxh3::xxh3_64;

/// Distinct strings a [`TopValues`] counts exactly before it switches to the
/// bounded summary.
pub const TOP_EXACT_LIMIT: usize = 10_000;
/// Counters the bounded summary keeps after each purge (the summary holds
/// at most twice this many between purges).
pub const TOP_CAPACITY: usize = 2_000;
/// Once bounded, new values keep their strings while fewer than this many
/// counters have one (so that even a column of unique values lists some).
const MIN_NAMED: usize = 100;

/// The string counts of a [`TopValues`]: each string is kept with its
/// xxh3-64 hash, which is the map's hash of it (so a value whose hash the
/// caller has is looked up without reading its bytes a second time).
type CountMap = HashMap<Named, u64, FastBuild>;

/// A counted string and its `xxh3_64` hash.
#[derive(Clone, Debug)]
struct Named {
    hash: u64,
    text: String,
}

/// What the count map is looked up by: a string and its `xxh3_64` hash,
/// owned ([`Named`]) or borrowed ([`Probe`]). Both hash as the stored hash
/// alone and are equal when hash and string are.
trait Lookup {
    fn hash(&self) -> u64;
    fn text(&self) -> &str;
}

impl Lookup for Named {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn text(&self) -> &str {
        &self.text
    }
}

/// A borrowed string and its `xxh3_64` hash, to look up without allocating.
struct Probe<'a>(u64, &'a str);

impl Lookup for Probe<'_> {
    fn hash(&self) -> u64 {
        self.0
    }
    fn text(&self) -> &str {
        self.1
    }
}

impl<'a> Borrow<dyn Lookup + 'a> for Named {
    fn borrow(&self) -> &(dyn Lookup + 'a) {
        self
    }
}

impl Hash for dyn Lookup + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(Lookup::hash(self));
    }
}

impl PartialEq for dyn Lookup + '_ {
    fn eq(&self, other: &Self) -> bool {
        Lookup::hash(self) == Lookup::hash(other) && self.text() == other.text()
    }
}

impl Eq for dyn Lookup + '_ {}

// `Named` hashes and compares exactly as its `dyn Lookup` view does, as
// `Borrow` requires.
impl Hash for Named {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Hash::hash(self as &dyn Lookup, state);
    }
}

impl PartialEq for Named {
    fn eq(&self, other: &Self) -> bool {
        (self as &dyn Lookup) == (other as &dyn Lookup)
    }
}

impl Eq for Named {}

/// The serialized form of the counts: string to count, as before the
/// hashes were kept (they are computed again on the way in).
mod named_counts {
    use super::{CountMap, Named};
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use xxhash_rust::xxh3::xxh3_64;

    pub fn serialize<S: Serializer>(counts: &CountMap, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(counts.len()))?;
        for (named, count) in counts {
            map.serialize_entry(&named.text, count)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CountMap, D::Error> {
        struct Counts;
        impl<'de> Visitor<'de> for Counts {
            type Value = CountMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of strings to counts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<CountMap, A::Error> {
                let mut counts = CountMap::default();
                counts.reserve(access.size_hint().unwrap_or(0).min(1 << 16));
                while let Some((text, count)) = access.next_entry::<String, u64>()? {
                    counts.insert(Named { hash: xxh3_64(text.as_bytes()), text }, count);
                }
                Ok(counts)
            }
        }
        d.deserialize_map(Counts)
    }
}

/// Counts of string values: exact until more than [`TOP_EXACT_LIMIT`]
/// distinct strings, then a Misra-Gries summary of [`TOP_CAPACITY`]
/// counters, reported in Space-Saving form.
///
/// The summary keeps lower bounds `c'(x)` and an offset Δ (the sum of the
/// purge thresholds). For every string x with true count c(x):
/// `c'(x) <= c(x) <= c'(x) + Δ`, and Δ <= n / (capacity + 1) for n values
/// added (Misra and Gries 1982, with the batched purge of Apache
/// DataSketches' frequent-items sketch: when the summary holds twice the
/// capacity, subtract the (capacity + 1)-th largest counter from all and
/// drop those at 0). [`TopValues::top`] reports `c'(x) + Δ`, the
/// Space-Saving count (Metwally, Agrawal, El Abbadi 2005; the two
/// summaries are isomorphic, Agarwal et al. 2012): each count overestimates
/// by at most Δ <= n / [`TOP_CAPACITY`].
///
/// Merging follows Agarwal, Cormode, Huang, Phillips, Wei, Yi 2012
/// ("Mergeable summaries"): add the counters and offsets, then purge back
/// to capacity; the same bounds hold for the merged n.
///
/// Speed: once bounded, a value not yet counted is first held by its
/// 64-bit xxh3 hash only (no string kept, no allocation); it gets its
/// string when seen again. A counter that stays at 1 is always dropped by
/// the next purge (the threshold is at least 1), so most one-off values of
/// a high-cardinality column never allocate. Hash-only counters take part
/// in purges and merges like the others but [`TopValues::top`] cannot list
/// them. Their lower bound is 1 in one stream, and at most m after merging
/// m summaries, so:
///
/// - every value whose true count exceeds Δ + m (at most
///   n / (capacity + 1) + m; m = 1 for a single stream) is listed, so the
///   true most frequent value is listed whenever its count exceeds that;
/// - two different strings with the same 64-bit hash would share a
///   hash-only counter (about 1 in 10^12 for 4,000 counters).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopValues {
    #[serde(with = "named_counts")]
    counts: CountMap,
    /// Bounded mode: counters known by the xxh3 hash of their string only.
    /// (Always serialized: postcard, the parts' binary format, needs every
    /// field.)
    unnamed: HashMap<u64, u64, FastBuild>,
    /// Values added (sum of counts), exact.
    total: u64,
    /// Whether the summary is bounded (some counts were purged).
    bounded: bool,
    /// Δ: the largest amount by which a lower bound undercounts.
    offset: u64,
    /// Strings of purged counters, reused for new ones.
    #[serde(skip)]
    spare: Vec<String>,
}

impl Default for TopValues {
    fn default() -> TopValues {
        TopValues::new()
    }
}

impl TopValues {
    /// Empty, exact counts.
    pub fn new() -> TopValues {
        TopValues {
            counts: CountMap::default(),
            unnamed: HashMap::default(),
            total: 0,
            bounded: false,
            offset: 0,
            spare: Vec::new(),
        }
    }

    /// Counts one occurrence of `value`.
    #[inline]
    pub fn add(&mut self, value: &str) {
        self.add_count(value, 1);
    }

    /// [`TopValues::add`] of a value whose `xxh3_64` hash the caller has
    /// already (`hash`; a wrong one makes the value a different one).
    #[inline]
    pub fn add_hashed(&mut self, value: &str, hash: u64) {
        self.add_count_hashed(value, 1, hash);
    }

    /// Counts `count` occurrences of `value`. Allocates only when `value`
    /// is not yet counted (and, once bounded, only when it is seen a second
    /// time).
    #[inline]
    pub fn add_count(&mut self, value: &str, count: u64) {
        self.add_count_hashed(value, count, xxh3_64(value.as_bytes()));
    }

    /// [`TopValues::add_count`] of a value whose `xxh3_64` hash is `hash`.
    #[inline]
    fn add_count_hashed(&mut self, value: &str, count: u64, hash: u64) {
        if count == 0 {
            return;
        }
        self.total += count;
        if let Some(c) = self.counts.get_mut(&Probe(hash, value) as &dyn Lookup) {
            *c += count;
            return;
        }
        if !self.bounded {
            self.insert_named(value, hash, count);
            if self.counts.len() > TOP_EXACT_LIMIT {
                self.bounded = true;
                self.purge();
            }
            return;
        }
        self.add_new_bounded(value, count, hash);
    }

    /// Bounded mode, `value` (xxh3-64 hash `hash`) has no named counter.
    fn add_new_bounded(&mut self, value: &str, count: u64, hash: u64) {
        if count > 1 || self.counts.len() < MIN_NAMED {
            let earlier = if self.unnamed.is_empty() { None } else { self.unnamed.remove(&hash) };
            self.insert_named(value, hash, earlier.unwrap_or(0) + count);
        } else {
            match self.unnamed.entry(hash) {
                Entry::Occupied(seen) => {
                    let earlier = seen.remove();
                    self.insert_named(value, hash, earlier + count);
                }
                Entry::Vacant(slot) => {
                    slot.insert(count);
                }
            }
        }
        if self.counts.len() + self.unnamed.len() > 2 * TOP_CAPACITY {
            self.purge();
        }
    }

    /// Adds a named counter for `value` (`xxh3_64` hash `hash`), reusing a
    /// purged string's buffer.
    fn insert_named(&mut self, value: &str, hash: u64, count: u64) {
        let text = match self.spare.pop() {
            Some(mut s) => {
                s.clear();
                s.push_str(value);
                s
            }
            None => value.to_owned(),
        };
        self.counts.insert(Named { hash, text }, count);
    }

    /// Subtracts the (capacity + 1)-th largest count from every counter and
    /// drops those that reach 0: at most [`TOP_CAPACITY`] remain.
    fn purge(&mut self) {
        if self.counts.len() + self.unnamed.len() <= TOP_CAPACITY {
            return;
        }
        // The (capacity + 1)-th largest count. When no more than capacity
        // counters are above 1 it is 1 (the common case of a column of
        // mostly distinct values), found without gathering the counts.
        let above_one = self.counts.values().chain(self.unnamed.values()).filter(|&&c| c > 1).count();
        let threshold = if above_one <= TOP_CAPACITY {
            1
        } else {
            let mut values: Vec<u64> = self.counts.values().chain(self.unnamed.values()).copied().collect();
            *values.select_nth_unstable_by(TOP_CAPACITY, |a, b| b.cmp(a)).1
        };
        // Survivors stay where they are; the dropped strings' buffers are
        // kept for reuse.
        self.spare.clear();
        let spare = &mut self.spare;
        let dropped = self.counts.extract_if(|_, count| {
            if *count > threshold {
                *count -= threshold;
                false
            } else {
                true
            }
        });
        for (named, _) in dropped {
            if spare.len() < TOP_CAPACITY {
                spare.push(named.text);
            }
        }
        if self.unnamed.values().all(|&c| c <= threshold) {
            self.unnamed.clear();
        } else {
            self.unnamed.retain(|_, c| {
                *c = c.saturating_sub(threshold);
                *c > 0
            });
        }
        self.offset += threshold;
    }

    /// Merges `other` into `self`: counts and offsets add, then the summary
    /// purges back to capacity when it is bounded (or when the exact union
    /// passes [`TOP_EXACT_LIMIT`] distinct strings).
    pub fn merge(&mut self, other: &TopValues) {
        self.total += other.total;
        self.offset += other.offset;
        self.bounded |= other.bounded;
        for (value, &count) in &other.counts {
            if let Some(c) = self.counts.get_mut(value as &dyn Lookup) {
                *c += count;
                continue;
            }
            // A value held by hash on this side gets its string now.
            let earlier = if self.unnamed.is_empty() { None } else { self.unnamed.remove(&value.hash) };
            self.counts.insert(value.clone(), count + earlier.unwrap_or(0));
        }
        if !other.unnamed.is_empty() {
            // The counts by hash (a hash-only counter of `other` is named
            // here when this side has a string of that hash).
            let by_hash: HashMap<u64, &str, FastBuild> = self.counts.keys().map(|v| (v.hash, v.text.as_str())).collect();
            let mut named: Vec<(u64, String, u64)> = Vec::new();
            for (&hash, &count) in &other.unnamed {
                match by_hash.get(&hash) {
                    Some(&value) => named.push((hash, value.to_owned(), count)),
                    None => *self.unnamed.entry(hash).or_insert(0) += count,
                }
            }
            drop(by_hash);
            for (hash, value, count) in named {
                if let Some(c) = self.counts.get_mut(&Probe(hash, &value) as &dyn Lookup) {
                    *c += count;
                }
            }
        }
        if !self.bounded && self.counts.len() > TOP_EXACT_LIMIT {
            self.bounded = true;
        }
        if self.bounded {
            self.purge();
        }
    }

    /// The `n` most frequent values with their counts, count descending then
    /// value ascending. Exact counts while [`TopValues::is_exact`]; else
    /// Space-Saving counts, each at most [`TopValues::max_overcount`] above
    /// the true count.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(&String, u64)> = self.counts.iter().map(|(v, &c)| (&v.text, c)).collect();
        let order = |a: &(&String, u64), b: &(&String, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if n < all.len() {
            all.select_nth_unstable_by(n, order);
            all.truncate(n);
        }
        all.sort_unstable_by(order);
        all.into_iter().map(|(v, c)| (v.clone(), c + self.offset)).collect()
    }

    /// Whether the counts are exact (no more than [`TOP_EXACT_LIMIT`]
    /// distinct strings were seen).
    pub fn is_exact(&self) -> bool {
        !self.bounded
    }

    /// The exact count of every value (in no particular order), while
    /// [`TopValues::is_exact`].
    pub fn exact_counts(&self) -> Option<impl ExactSizeIterator<Item = (&str, u64)> + '_> {
        if self.bounded {
            None
        } else {
            Some(self.counts.iter().map(|(v, &c)| (v.text.as_str(), c)))
        }
    }

    /// Values added (the sum of the counts), exact.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The most a count from [`TopValues::top`] exceeds the true count: 0
    /// while exact, else Δ <= total / [`TOP_CAPACITY`].
    pub fn max_overcount(&self) -> u64 {
        self.offset
    }

    /// Counters held, named or not (at most [`TOP_EXACT_LIMIT`] while exact,
    /// 2 x [`TOP_CAPACITY`] once bounded).
    pub fn len(&self) -> usize {
        self.counts.len() + self.unnamed.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::testdata::Rng;
    use std::collections::HashMap as StdMap;

    fn top_of(values: &[String]) -> TopValues {
        let mut t = TopValues::new();
        values.iter().for_each(|v| t.add(v));
        t
    }

    #[test]
    fn a_hash_given_counts_as_one_computed() {
        // Bounded (hash-only counters in play): the same summary either way.
        let values = zipf_strings(60_000, 11);
        let mut given = TopValues::new();
        values.iter().for_each(|v| given.add_hashed(v, xxh3_64(v.as_bytes())));
        let computed = top_of(&values);
        assert!(!computed.is_exact());
        assert_eq!(given.top(50), computed.top(50));
        assert_eq!((given.len(), given.max_overcount(), given.total()), (computed.len(), computed.max_overcount(), computed.total()));
        let unnamed = |t: &TopValues| {
            let mut u: Vec<_> = t.unnamed.iter().map(|(&h, &c)| (h, c)).collect();
            u.sort_unstable();
            u
        };
        assert_eq!(unnamed(&given), unnamed(&computed));
    }

    fn truth(values: &[String]) -> StdMap<&str, u64> {
        let mut m = StdMap::new();
        values.iter().for_each(|v| *m.entry(v.as_str()).or_insert(0) += 1);
        m
    }

    /// Zipf-like strings (exponent about 1.2: tens of thousands distinct in
    /// 200,000, the most frequent about 13 %).
    fn zipf_strings(n: usize, seed: u64) -> Vec<String> {
        let mut r = Rng(seed);
        (0..n).map(|_| format!("v{}", r.zipfish(5.0))).collect()
    }

    /// Checks the documented guarantees against the true counts.
    fn check_bounds(t: &TopValues, values: &[String], merged: usize, what: &str) {
        let truth = truth(values);
        let n = values.len() as u64;
        assert_eq!(t.total(), n, "{what}");
        let bound = n / TOP_CAPACITY as u64;
        assert!(t.max_overcount() <= n / (TOP_CAPACITY as u64 + 1), "{what}: offset {}", t.max_overcount());
        for (value, count) in t.top(usize::MAX) {
            let real = truth[value.as_str()];
            assert!(count >= real && count - real <= bound, "{what}: {value} counted {count}, truly {real}");
        }
        // Every value with a count above n / (capacity + 1) + m is listed.
        let listed: StdMap<String, u64> = t.top(usize::MAX).into_iter().collect();
        let listed_above = n / (TOP_CAPACITY as u64 + 1) + merged as u64;
        for (value, &real) in &truth {
            if real > listed_above {
                assert!(listed.contains_key(*value), "{what}: {value} ({real} > {listed_above}) missing");
            }
        }
        // The true top value comes first when it stands out.
        let mut ranked: Vec<(&str, u64)> = truth.iter().map(|(v, &c)| (*v, c)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if ranked[0].1 > ranked[1].1 + 2 * bound {
            assert_eq!(t.top(1)[0].0, ranked[0].0, "{what}");
        }
    }

    #[test]
    fn top_values_count_exactly_below_the_limit() {
        let values: Vec<String> = ["b", "a", "c", "a", "b", "a", "d", "c", "b"].iter().map(|s| s.to_string()).collect();
        let t = top_of(&values);
        assert!(t.is_exact());
        assert_eq!(t.max_overcount(), 0);
        // Count descending, then value ascending.
        let want: Vec<(String, u64)> =
            [("a", 3), ("b", 3), ("c", 2), ("d", 1)].iter().map(|(v, c)| (v.to_string(), *c)).collect();
        assert_eq!(t.top(10), want);
        assert_eq!(t.top(2), want[..2].to_vec());
        assert_eq!(t.top(0), vec![]);
        let exact: StdMap<&str, u64> = t.exact_counts().unwrap().collect();
        assert_eq!((exact.len(), exact["a"], exact["d"]), (4, 3, 1));
        // Exactly TOP_EXACT_LIMIT distinct strings stay exact.
        let mut t = TopValues::new();
        for i in 0..TOP_EXACT_LIMIT {
            t.add_count(&format!("s{i}"), (i % 7) as u64 + 1);
        }
        t.add_count("s0", 0);
        assert!(t.is_exact() && t.exact_counts().unwrap().len() == TOP_EXACT_LIMIT);
        t.add("one more");
        assert!(!t.is_exact() && t.exact_counts().is_none());
        assert!(t.len() <= TOP_CAPACITY);
    }

    #[test]
    fn empty_top_values() {
        let t = TopValues::new();
        assert!(t.is_empty() && t.is_exact());
        assert_eq!((t.total(), t.top(5)), (0, vec![]));
        let mut merged = TopValues::new();
        merged.merge(&t);
        assert!(merged.is_empty());
    }

    #[test]
    fn bounded_counts_stay_within_n_over_capacity() {
        for seed in [1u64, 2, 3] {
            let values = zipf_strings(200_000, seed);
            let t = top_of(&values);
            assert!(!t.is_exact(), "seed {seed}: {} distinct", truth(&values).len());
            assert!(t.len() <= 2 * TOP_CAPACITY);
            check_bounds(&t, &values, 1, &format!("seed {seed} single"));
        }
        // Worst case for a counter summary: all distinct but one value.
        let mut values: Vec<String> = (0..60_000).map(|i| format!("u{i}")).collect();
        values.extend(std::iter::repeat_n("hot".to_string(), 200));
        let t = top_of(&values);
        check_bounds(&t, &values, 1, "distinct tail");
        assert_eq!(t.top(1)[0].0, "hot");
    }

    #[test]
    fn hash_only_counters_get_their_string_on_second_sight() {
        // All distinct: bounded, mostly hash-only, yet some values listed.
        let unique: Vec<String> = (0..50_000).map(|i| format!("id-{i:06}")).collect();
        let t = top_of(&unique);
        assert!(!t.is_exact() && !t.unnamed.is_empty());
        assert!(t.top(10).len() == 10 && t.top(10).iter().all(|(_, c)| *c == 1 + t.max_overcount()));
        check_bounds(&t, &unique, 1, "all distinct");
        // A value seen once in each of 16 parts that are each full of
        // one-off values stays hash-only in every part; the merged count
        // keeps the bounds, and a value recurring within parts is named.
        let mut parts = Vec::new();
        let mut all = Vec::new();
        for p in 0..16 {
            let mut values: Vec<String> = (0..10_200).map(|i| format!("p{p}-{i}")).collect();
            values.push("spread".to_string());
            values.extend(std::iter::repeat_n("twice".to_string(), 2));
            all.extend(values.iter().cloned());
            parts.push(top_of(&values));
        }
        assert!(parts.iter().all(|p| p.unnamed.contains_key(&xxh3_64(b"spread"))));
        let mut merged = TopValues::new();
        parts.iter().for_each(|p| merged.merge(p));
        check_bounds(&merged, &all, parts.len(), "spread over parts");
        assert_eq!(merged.top(1)[0].0, "twice");
        let back: TopValues = postcard::from_bytes(&postcard::to_allocvec(&merged).unwrap()).unwrap();
        assert_eq!((back.unnamed.len(), back.top(5)), (merged.unnamed.len(), merged.top(5)));
    }

    #[test]
    fn merged_parts_keep_the_bound_of_the_whole() {
        let values = zipf_strings(210_000, 9);
        for parts in [2usize, 7, 64] {
            let mut merged = TopValues::new();
            for chunk in values.chunks(values.len().div_ceil(parts)) {
                merged.merge(&top_of(chunk));
            }
            check_bounds(&merged, &values, parts, &format!("{parts} parts"));
        }
        // Merging exact parts whose union stays small stays exact and equal.
        let small = zipf_strings(5_000, 4);
        let mut merged = TopValues::new();
        for chunk in small.chunks(700) {
            merged.merge(&top_of(chunk));
        }
        let single = top_of(&small);
        assert!(merged.is_exact());
        assert_eq!(merged.top(usize::MAX), single.top(usize::MAX));
        // The order of adds does not matter while exact.
        let mut reversed = small.clone();
        reversed.reverse();
        assert_eq!(top_of(&reversed).top(usize::MAX), single.top(usize::MAX));
    }

    #[test]
    fn top_values_are_deterministic_and_round_trip_through_serde() {
        let values = zipf_strings(60_000, 5);
        let a = top_of(&values);
        let b = top_of(&values);
        assert_eq!(a.top(50), b.top(50));
        for t in [a, top_of(&values[..100])] {
            let json = serde_json::to_string(&t).unwrap();
            let back: TopValues = serde_json::from_str(&json).unwrap();
            assert_eq!(back.top(usize::MAX), t.top(usize::MAX));
            assert_eq!(
                (back.total(), back.is_exact(), back.max_overcount()),
                (t.total(), t.is_exact(), t.max_overcount())
            );
            let back: TopValues = postcard::from_bytes(&postcard::to_allocvec(&t).unwrap()).unwrap();
            assert_eq!(back.top(usize::MAX), t.top(usize::MAX));
            // The strings' hashes are computed again on the way in: a value
            // added after the trip finds its counter, as it does before.
            let listed = t.top(3);
            let (mut before, mut after) = (t.clone(), back);
            for (value, _) in &listed {
                before.add(value);
                after.add_hashed(value, xxh3_64(value.as_bytes()));
            }
            assert_eq!(after.len(), t.len(), "no new counters");
            assert_eq!(after.top(usize::MAX), before.top(usize::MAX));
            assert!(after.top(3).iter().zip(&listed).all(|((v, c), (w, d))| v == w && *c == d + 1));
        }
    }
}
