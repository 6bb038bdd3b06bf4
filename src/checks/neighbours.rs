//! Checks built on the kNN graph: outliers, vector near duplicates and
//! suspected label errors. They take the graph over the embedded rows and
//! map sample positions back to row ids.

use crate::gpu::{KnnGraph, Metric};
use crate::profile::quantile_sorted;

/// Default IQR multiplier of the outlier threshold (Q3 + 1.7 IQR).
pub const OUTLIER_IQR_FACTOR: f64 = 1.7;
/// Default near-duplicate factor: 1-NN distance below this share of the
/// median 1-NN distance.
pub const NEAR_DUPLICATE_FACTOR: f64 = 0.13;

/// The distance a check reasons with: 1 - cosine for cosine, the euclidean
/// distance (not squared) otherwise.
pub(crate) fn true_distance(d: f32, metric: Metric) -> f64 {
    match metric {
        Metric::Cosine => d as f64,
        Metric::SquaredEuclidean => (d.max(0.0) as f64).sqrt(),
    }
}

/// Mean distance (as checks reason with it) from row `i` to its neighbours.
pub fn mean_distance(graph: &KnnGraph, i: usize, metric: Metric) -> f64 {
    let d = graph.neighbour_distances(i);
    if d.is_empty() {
        return 0.0;
    }
    d.iter().map(|&x| true_distance(x, metric)).sum::<f64>() / d.len() as f64
}

/// Per embedded row: mean kNN distance, score in [0, 1] and flag.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierScores {
    /// Mean distance to the k nearest neighbours.
    pub distance: Vec<f64>,
    /// distance / (distance + threshold): above 0.5 exactly where flagged,
    /// towards 1 far out, and never equal for two different distances (a
    /// score that saturated at 1 ranked every far row the same).
    pub score: Vec<f64>,
    /// distance > Q3 + `iqr_factor` x IQR. Where a quarter or more of the
    /// rows are at distance 0, the quartiles (and the median of the score)
    /// are those of the other rows, and the fence is Hubert and
    /// Vandervieren's adjusted boxplot: Q3 + `iqr_factor` x e^(3 MC) x IQR,
    /// MC their medcouple (the skew of a heavy tail, 0 when symmetric).
    pub flagged: Vec<bool>,
    /// That threshold.
    pub threshold: f64,
}

/// Outlier scores from the graph; flagged above Q3 + `iqr_factor` x IQR.
pub fn outlier_scores(graph: &KnnGraph, metric: Metric, iqr_factor: f64) -> OutlierScores {
    let n = graph.n;
    let distance: Vec<f64> = (0..n).map(|i| mean_distance(graph, i, metric)).collect();
    let mut sorted = distance.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let (threshold, scale) = distance_fence(&sorted, iqr_factor);
    // A fence of 0 (every row among copies) or past every finite value
    // scores against the typical distance instead.
    let unit = if threshold > 0.0 && threshold.is_finite() { threshold } else { scale };
    let score = distance.iter().map(|&d| if d.is_finite() { d / (d + unit) } else { 1.0 }).collect();
    let flagged = distance.iter().map(|&d| graph.k > 0 && d > threshold).collect();
    OutlierScores { distance, score, flagged, threshold }
}

/// The outlier threshold over sorted mean distances, and the typical
/// distance (the median of the rows the quartiles are taken over, else
/// their mean, else 1).
fn distance_fence(sorted: &[f64], iqr_factor: f64) -> (f64, f64) {
    // Rows whose k neighbours are all their copies have distance 0. Where
    // they are a quarter of the rows or more, the quartiles would be 0 and
    // every row with a neighbour of its own kind past that would be
    // flagged (15% of a table of aircraft): the fence is then taken over
    // the other rows.
    let zero = sorted.last().map_or(0.0, |&max| max * 1e-6);
    let copies = sorted.partition_point(|&d| d <= zero);
    // The rest of such a table is a mix of rows with one odd neighbour
    // among copies and rows of their own: so heavy a tail that the plain
    // fence flagged 8% of a table of aircraft (its rare types), planted
    // outliers lost among them. The adjusted boxplot widens the fence by
    // the tail's skew.
    let degenerate = copies * 4 >= sorted.len() && copies < sorted.len();
    let fenced = if degenerate { &sorted[copies..] } else { sorted };
    let q1 = quantile_sorted(fenced, 0.25);
    let q3 = quantile_sorted(fenced, 0.75);
    let widen = if degenerate { (3.0 * medcouple_sorted(fenced).max(0.0)).exp() } else { 1.0 };
    let threshold = if sorted.is_empty() { 0.0 } else { q3 + iqr_factor * widen * (q3 - q1) };
    let median = quantile_sorted(fenced, 0.5);
    let mean = if fenced.is_empty() { 0.0 } else { fenced.iter().sum::<f64>() / fenced.len() as f64 };
    let scale = if median > 0.0 && median.is_finite() {
        median
    } else if mean > 0.0 && mean.is_finite() {
        mean
    } else {
        1.0
    };
    (threshold, scale)
}

/// Values of a sorted sample kept for the medcouple: its quantiles at even
/// steps, so that the pairwise kernel stays 500 x 500 on any table.
const MEDCOUPLE_POINTS: usize = 1001;

/// The medcouple of sorted values (Brys, Hubert and Struyf 2004): the
/// median, over pairs a value at or above the median and one at or below,
/// of ((a - m) - (m - b)) / (a - b); in [-1, 1], 0 for a symmetric sample,
/// towards 1 for a long right tail. Above [`MEDCOUPLE_POINTS`] values it is
/// taken over that many evenly spaced quantiles.
pub fn medcouple_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n < 3 {
        return 0.0;
    }
    if n > MEDCOUPLE_POINTS {
        let x: Vec<f64> = (0..MEDCOUPLE_POINTS)
            .map(|i| sorted[(i * (n - 1) + (MEDCOUPLE_POINTS - 1) / 2) / (MEDCOUPLE_POINTS - 1)])
            .collect();
        medcouple_exact(&x)
    } else {
        medcouple_exact(sorted)
    }
}

/// The medcouple over every pair of `x` (sorted).
fn medcouple_exact(x: &[f64]) -> f64 {
    let m = quantile_sorted(x, 0.5);
    if !m.is_finite() {
        return 0.0;
    }
    let below: Vec<f64> = x.iter().copied().filter(|&v| v <= m).collect();
    let above: Vec<f64> = x.iter().copied().filter(|&v| v >= m).collect();
    // Values equal to the median are in both halves; a pair of them counts
    // -1, 0 or +1 by its place (the definition's tie rule).
    let ties = x.iter().filter(|&&v| v == m).count();
    let mut h = Vec::with_capacity(below.len() * above.len());
    for (i, &a) in above.iter().rev().enumerate() {
        for (j, &b) in below.iter().enumerate() {
            let v = if a == m && b == m {
                // i and j count the ties from the median outwards.
                let (ti, tj) = (i as i64 - (above.len() - ties) as i64, (below.len() - 1 - j) as i64);
                (ties as i64 - 1 - ti - tj).signum() as f64
            } else if a == b {
                0.0
            } else {
                ((a - m) - (m - b)) / (a - b)
            };
            if v.is_finite() {
                h.push(v);
            }
        }
    }
    if h.is_empty() {
        return 0.0;
    }
    h.sort_unstable_by(f64::total_cmp);
    quantile_sorted(&h, 0.5)
}

/// A value at least this many IQRs from its column's median is extreme
/// (about 19.5 IQRs past the quartile: a normal column never has one; a
/// log-normal one of sigma 1 has 3 in 10,000).
pub const EXTREME_IQRS: f64 = 20.0;
/// A column where more than this share of the rows hold an extreme value is
/// heavy-tailed (follower counts, incomes): its far values are not flagged.
pub const EXTREME_MAX_SHARE: f64 = 0.01;
/// On a small table 1% is 3 or 4 rows, and 4 mistyped values in one
/// column of 356 penguins made it "heavy-tailed": up to this many may be
/// flagged, while they are at most 2% of the rows.
pub const EXTREME_MIN_ALLOWED: usize = 5;

/// A column with more extreme values than [`extreme_allowed`] still has them
/// flagged when they stand apart: each at least this many times as far from
/// the median as any other value of the column. A heavy tail fills the
/// range below its far values; values written in other units (a height
/// in cm among heights in m, 172 beside 1.72) leave it empty.
pub const FAR_CLUSTER_GAP: f64 = 4.0;
/// ... and when they are at most this share of the rows: past it a column
/// is two populations, not a few mistyped values.
pub const FAR_CLUSTER_MAX_SHARE: f64 = 0.05;

/// How many rows of `n` may hold an extreme value in one column for them to
/// be flagged: 1%, or on small tables up to [`EXTREME_MIN_ALLOWED`] within 2%.
pub fn extreme_allowed(n: usize) -> usize {
    let share = (n as f64 * EXTREME_MAX_SHARE).floor() as usize;
    share.max(EXTREME_MIN_ALLOWED.min((n as f64 * 2.0 * EXTREME_MAX_SHARE).floor() as usize))
}

/// The outlier score of a value `iqrs` IQRs from its column's median: 0.5
/// at [`EXTREME_IQRS`], where such a value is flagged, towards 1 far out (on
/// the kNN score's scale, so that a row's score is the larger of the two).
pub fn extreme_score(iqrs: f64) -> f64 {
    let a = iqrs.abs();
    if a.is_finite() { a / (a + EXTREME_IQRS) } else { 1.0 }
}

/// Per embedded row, its most extreme robust-scaled value, as (index into
/// `dims`, value): in the columns at `dims` (offsets of robust-scaled
/// numeric features in rows of `dimension` values) where at least
/// [`EXTREME_IQRS`] from the median, and only in columns where at most
/// [`extreme_allowed`] rows have such a value, or where they stand apart
/// from the rest ([`FAR_CLUSTER_GAP`], [`FAR_CLUSTER_MAX_SHARE`]).
pub fn extreme_values(data: &[f32], dimension: usize, dims: &[usize]) -> Vec<Option<(usize, f64)>> {
    let n = if dimension == 0 { 0 } else { data.len() / dimension };
    let mut out: Vec<Option<(usize, f64)>> = vec![None; n];
    let allowed = extreme_allowed(n);
    for (j, &dim) in dims.iter().enumerate() {
        let far: Vec<usize> = (0..n).filter(|&r| f64::from(data[r * dimension + dim]).abs() >= EXTREME_IQRS).collect();
        if far.len() > allowed && !stands_apart(data, dimension, dim, &far) {
            continue;
        }
        for r in far {
            let z = f64::from(data[r * dimension + dim]);
            if out[r].is_none_or(|(_, best)| z.abs() > best.abs()) {
                out[r] = Some((j, z));
            }
        }
    }
    out
}

/// Values a column of positive numbers holds at least this many times
/// smaller or larger than all its other values are flagged
/// ([`apart_by_factor`]).
pub const APART_FACTOR: f64 = 4.0;

/// Per value of a column of positive numbers (`None`: missing or not a
/// number), how many times smaller or larger it is than the nearest of the
/// column's other values, where it is one of a few (at most
/// [`FAR_CLUSTER_MAX_SHARE`] of the numbers, at least 1 in 20) at an end
/// of the column that a factor of [`APART_FACTOR`] or more, and more than
/// the rest spans (its largest value over its smallest), separates from
/// the rest:
/// flipper lengths written in cm among lengths in mm (18.1 beside
/// 172-231), a mass in kg among masses in g. Shrunk values lie a few IQRs
/// from the median at most, where [`extreme_values`] cannot see them; on a
/// log scale they stand as far apart as grown ones. A column holding 0 or a
/// negative number has no log scale: nothing is flagged there.
pub fn apart_by_factor(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut out = vec![None; values.len()];
    let mut present: Vec<(f64, usize)> = values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (v, i))).collect();
    if present.iter().any(|&(v, _)| !(v > 0.0 && v.is_finite())) {
        return out;
    }
    let group_max = (present.len() as f64 * FAR_CLUSTER_MAX_SHARE).floor() as usize;
    if group_max == 0 {
        return out;
    }
    present.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let m = present.len();
    // The largest low group: the first g values, APART_FACTOR below the rest;
    // and the largest high group.
    let mut low = (1..=group_max).rev().find(|&g| present[g].0 >= present[g - 1].0 * APART_FACTOR).unwrap_or(0);
    let mut high = (1..=group_max).rev().find(|&g| present[m - g].0 >= present[m - g - 1].0 * APART_FACTOR).unwrap_or(0);
    if low + high >= m {
        return out;
    }
    // Each group's gap must also pass the span of the rest (its largest
    // value over its smallest): probabilities and p-values spread over
    // decades, and their values near 0 are a tail, not a slip. A group
    // turned down joins the rest, whose span then grows.
    for _ in 0..2 {
        let span = present[m - high - 1].0 / present[low].0;
        if low > 0 && present[low].0 / present[low - 1].0 < span {
            low = 0;
        }
        if high > 0 && present[m - high].0 / present[m - high - 1].0 < span {
            high = 0;
        }
    }
    for &(v, i) in &present[..low] {
        out[i] = Some(present[low].0 / v);
    }
    for &(v, i) in &present[m - high..] {
        out[i] = Some(v / present[m - high - 1].0);
    }
    out
}

/// The outlier score of a value [`apart_by_factor`] `times` from the rest
/// of its column: above 0.5 from [`APART_FACTOR`] on, towards 1 far out.
pub fn apart_score(times: f64) -> f64 {
    if times.is_finite() { times / (times + 1.0) } else { 1.0 }
}

/// Whether the rows `far` (sorted) of a column (dimension `dim`) are few
/// and each [`FAR_CLUSTER_GAP`] times as far out as any other row's value.
fn stands_apart(data: &[f32], dimension: usize, dim: usize, far: &[usize]) -> bool {
    let n = data.len() / dimension;
    if far.len() as f64 > n as f64 * FAR_CLUSTER_MAX_SHARE {
        return false;
    }
    let value = |r: usize| f64::from(data[r * dimension + dim]).abs();
    let nearest_far = far.iter().map(|&r| value(r)).fold(f64::INFINITY, f64::min);
    let mut others = (0..n).filter(|r| far.binary_search(r).is_err()).map(value).peekable();
    // A column of nothing but far values has no gap to show.
    others.peek().is_some() && others.fold(0.0, f64::max).max(1.0) * FAR_CLUSTER_GAP <= nearest_far
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut i: u32) -> u32 {
        while self.0[i as usize] != i {
            let parent = self.0[self.0[i as usize] as usize];
            self.0[i as usize] = parent;
            i = parent;
        }
        i
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Distances at most this far apart are float rounding of 0: a millionth
/// of the graph's largest finite distance, and for cosine at least 1e-6
/// (1 - a dot product of unit vectors in f32 is off by a few 1e-8).
fn zero_distance(graph: &KnnGraph, metric: Metric) -> f64 {
    let max = graph
        .distances
        .iter()
        .map(|&d| true_distance(d, metric))
        .filter(|d| d.is_finite())
        .fold(0.0, f64::max);
    let floor = if metric == Metric::Cosine { 1e-6 } else { 0.0 };
    (max * 1e-6).max(floor)
}

/// Share of a table's rows equal to another row but for their identifiers
/// from which such twins are the table's nature, not copies, and are left
/// out of near-duplicate groups.
pub const COMMON_TWINS_SHARE: f64 = 0.1;

/// How far apart (in IQRs of its column) the one number two rows differ in
/// may be for [`one_number_apart`] to call them near copies.
pub const ONE_NUMBER_IQRS: f32 = 0.1;

/// Most rows expected to share by chance what a pair of [`one_number_apart`]
/// rows share: their values in every feature but the one number.
pub const ONE_NUMBER_CHANCE: f64 = 0.01;

/// Pairs of neighbours (sample positions, the smaller first) whose vectors
/// `data` (`dimension` values a row, in `features`: each feature's
/// dimensions, and whether it is a robust-scaled number, where a
/// difference is in IQRs) are equal in every dimension but one number's,
/// where they differ by at most [`ONE_NUMBER_IQRS`]: a record entered twice
/// with one number retyped (wind 4.0 and 4.1 on the same day), where the
/// table's rows lie too close together for the distance threshold to tell
/// it. What they share must be rare: no other neighbour of either differs
/// from it at most in that number (not planes of one model a year apart),
/// and fewer than [`ONE_NUMBER_CHANCE`] rows are expected to share it by
/// chance (the sample's rows times the product over the other features of
/// the share of rows with the pair's value, as if features were
/// independent).
pub fn one_number_apart(
    graph: &KnnGraph,
    data: &[f32],
    dimension: usize,
    features: &[(std::ops::Range<usize>, bool)],
    exact_key: &[Option<u32>],
) -> Vec<(u32, u32)> {
    if graph.k == 0 || dimension == 0 || !features.iter().any(|f| f.1) {
        return Vec::new();
    }
    let row = |i: usize| &data[i * dimension..(i + 1) * dimension];
    // The one dimension two rows differ in: None when equal, Err for 2 or more.
    let differs = |a: usize, b: usize| -> Result<Option<usize>, ()> {
        let mut one = None;
        for (d, (x, y)) in row(a).iter().zip(row(b)).enumerate() {
            if x != y {
                if one.is_some() {
                    return Err(());
                }
                one = Some(d);
            }
        }
        Ok(one)
    };
    let numeric = |d: usize| features.iter().any(|(dims, number)| *number && dims.contains(&d));
    // How many of `i`'s neighbours differ from it at most in dimension `d`.
    let alike = |i: usize, d: usize| {
        graph
            .neighbours(i)
            .iter()
            .filter(|&&j| match differs(i, j as usize) {
                Ok(None) => true,
                Ok(Some(x)) => x == d,
                Err(()) => false,
            })
            .count()
    };
    let mut candidates = Vec::new();
    for i in 0..graph.n {
        for &j in graph.neighbours(i) {
            let j = j as usize;
            let Ok(Some(d)) = differs(i, j) else { continue };
            if !numeric(d) || (row(i)[d] - row(j)[d]).abs() > ONE_NUMBER_IQRS * (1.0 + 1e-5) {
                continue;
            }
            if exact_key[i].is_some() && exact_key[i] == exact_key[j] {
                continue;
            }
            if alike(i, d) == 1 && alike(j, d) <= 1 {
                candidates.push((i.min(j) as u32, i.max(j) as u32, d));
            }
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    if candidates.is_empty() {
        return Vec::new();
    }
    // Rows with each value of each feature (its dimensions' bits).
    let key = |i: usize, dims: &std::ops::Range<usize>| -> Vec<u32> { row(i)[dims.clone()].iter().map(|x| x.to_bits()).collect() };
    let counts: Vec<std::collections::HashMap<Vec<u32>, u32>> = features
        .iter()
        .map(|(dims, _)| {
            let mut map = std::collections::HashMap::new();
            for i in 0..graph.n {
                *map.entry(key(i, dims)).or_insert(0) += 1;
            }
            map
        })
        .collect();
    let n = graph.n as f64;
    candidates
        .into_iter()
        .filter(|&(i, _, d)| {
            let expected = features.iter().zip(&counts).filter(|((dims, _), _)| !dims.contains(&d)).fold(n, |e, ((dims, _), map)| {
                e * map[&key(i as usize, dims)] as f64 / n
            });
            expected < ONE_NUMBER_CHANCE
        })
        .map(|(i, j, _)| (i, j))
        .collect()
}

/// The embedded rows behind a graph, for [`near_duplicate_groups`] to look
/// again at pairs that hold far values.
pub struct RowVectors<'a> {
    /// `dimension` values a row, in sample order.
    pub data: &'a [f32],
    /// Values a row.
    pub dimension: usize,
    /// Offsets of the robust-scaled numbers in a row (values in IQRs).
    pub numbers: &'a [usize],
}

impl RowVectors<'_> {
    /// Row `i`'s values.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dimension..(i + 1) * self.dimension]
    }

    /// The offsets where row `i` holds a value [`EXTREME_IQRS`] or more
    /// from its column's median.
    fn far_dims(&self, i: usize) -> Vec<usize> {
        let row = self.row(i);
        self.numbers.iter().copied().filter(|&d| f64::from(row[d]).abs() >= EXTREME_IQRS).collect()
    }

    /// The distance of rows `a` and `b` leaving out the dimensions `skip`,
    /// as checks reason with it ([`true_distance`]: Euclidean, not squared).
    fn distance_without(&self, a: usize, b: usize, skip: &[usize], metric: Metric) -> f64 {
        let (x, y) = (self.row(a), self.row(b));
        let (mut dot, mut xx, mut yy, mut squares) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for d in (0..self.dimension).filter(|d| !skip.contains(d)) {
            let (p, q) = (f64::from(x[d]), f64::from(y[d]));
            dot += p * q;
            xx += p * p;
            yy += q * q;
            squares += (p - q) * (p - q);
        }
        match metric {
            Metric::SquaredEuclidean => squares.sqrt(),
            Metric::Cosine if xx > 0.0 && yy > 0.0 => 1.0 - dot / (xx.sqrt() * yy.sqrt()),
            // A row of zeros but for its far values: alike only if both are.
            Metric::Cosine => if xx == yy { 0.0 } else { 1.0 },
        }
    }
}

/// Near-duplicate groups (as sample positions) and the distance threshold
/// (`factor` x the median nearest-neighbour distance), joined also by the
/// pairs `also` ([`one_number_apart`]).
/// Pairs that are exact duplicates of each other (same `exact_key`) do not
/// join groups: exact duplicates are reported on their own.
/// Where `vectors` are given, a pair in which a row holds a value
/// [`EXTREME_IQRS`] or more from its column's median joins only if it is
/// also within the threshold without those values: a few heights written in
/// cm among heights in m point every such row the same way, and the cosine
/// distance between them is near 0 whatever else they hold.
pub fn near_duplicate_groups(
    graph: &KnnGraph,
    metric: Metric,
    exact_key: &[Option<u32>],
    factor: f64,
    also: &[(u32, u32)],
    vectors: Option<&RowVectors<'_>>,
) -> (Vec<Vec<u32>>, f64) {
    let n = graph.n;
    if graph.k == 0 {
        return (Vec::new(), 0.0);
    }
    // Each row's nearest positive distance among its neighbours: where many
    // rows have an identical twin in embedding space (copies that differ
    // only in an id), the plain median 1-NN distance is 0 and the check
    // would switch itself off. Zero-distance pairs always join.
    // "Positive" is past float rounding: identical rows come out of the
    // kernels at 1e-7 apart (1 - a dot product in f32), and where most
    // rows had such a twin (a table of aircraft) their noise was the
    // median and the threshold 1.5e-8, so no near copy joined.
    let zero = zero_distance(graph, metric);
    let mut first: Vec<f64> = (0..n)
        .filter_map(|i| {
            graph.neighbour_distances(i).iter().map(|&d| true_distance(d, metric)).find(|&d| d > zero)
        })
        .collect();
    first.sort_unstable_by(f64::total_cmp);
    let threshold = if first.is_empty() { 0.0 } else { factor * quantile_sorted(&first, 0.5) };
    let mut uf = UnionFind((0..n as u32).collect());
    let mut joined = vec![false; n];
    let far: Vec<Vec<usize>> = match vectors {
        Some(v) => (0..n).map(|i| v.far_dims(i)).collect(),
        None => vec![Vec::new(); n],
    };
    for i in 0..n {
        for (&j, &d) in graph.neighbours(i).iter().zip(graph.neighbour_distances(i)) {
            let distance = true_distance(d, metric);
            if distance >= threshold && distance > zero {
                break;
            }
            if let Some(v) = vectors.filter(|_| !far[i].is_empty() || !far[j as usize].is_empty()) {
                let skip: Vec<usize> = far[i].iter().chain(&far[j as usize]).copied().collect();
                let rest = v.distance_without(i, j as usize, &skip, metric);
                if rest >= threshold && rest > zero {
                    continue;
                }
            }
            let same_exact = exact_key[i].is_some() && exact_key[i] == exact_key[j as usize];
            if !same_exact {
                uf.union(i as u32, j);
                joined[i] = true;
                joined[j as usize] = true;
            }
        }
    }
    for &(a, b) in also {
        uf.union(a, b);
        joined[a as usize] = true;
        joined[b as usize] = true;
    }
    let mut by_root: std::collections::BTreeMap<u32, Vec<u32>> = std::collections::BTreeMap::new();
    for i in 0..n as u32 {
        if joined[i as usize] {
            by_root.entry(uf.find(i)).or_default().push(i);
        }
    }
    (by_root.into_values().filter(|g| g.len() >= 2).collect(), threshold)
}

/// Per embedded row: share of labelled neighbours with another label, the
/// neighbours' most common label, and the flag.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScores {
    /// 1 - the share of neighbours agreeing with the row's label, each
    /// neighbour weighted by 1 / (its distance + the row's mean neighbour
    /// distance), with 0.001 of the largest other class's weighted share
    /// mixed in; in [0, 1] (about one minus cleanlab's self-confidence);
    /// `None` for unlabelled rows.
    pub score: Vec<Option<f64>>,
    /// Most common neighbour label (ties: the smaller class id).
    pub suggested: Vec<Option<u32>>,
    /// Suspected label error.
    pub flagged: Vec<bool>,
}

/// The share of the label score given to the largest other class's
/// weighted share: a tie-break, too small to reorder rows whose own
/// weighted shares differ by more than a thousandth.
const LABEL_MARGIN_WEIGHT: f64 = 0.001;

/// Suspected label errors from the kNN graph, by confident learning.
///
/// Each row's class probabilities are the shares of its labelled
/// neighbours in each class (out of sample: the graph never holds the row
/// itself). Then, as in confident learning (Northcutt et al. 2021): a class
/// threshold is the mean probability of that class over the rows labelled
/// with it; a row is confidently in the likeliest class whose probability
/// reaches its threshold; the confident joint counts (given, confident)
/// pairs; for each off-diagonal pair (i, j) the `count[i][j]` rows labelled
/// `i` with the largest margin `p_j - p_i` are flagged ("prune by noise
/// rate"), except rows whose likeliest class is their own label.
pub fn label_scores(graph: &KnnGraph, labels: &[Option<u32>]) -> LabelScores {
    let n = graph.n;
    let classes = labels.iter().flatten().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut out = LabelScores { score: vec![None; n], suggested: vec![None; n], flagged: vec![false; n] };
    // probabilities[i * classes + c]; `own[i]` is the row's class when it is
    // labelled and has labelled neighbours (the rows the method can judge).
    let mut probabilities = vec![0f64; n * classes];
    // The same shares weighted by closeness, 1 / (d + the row's mean
    // neighbour distance): they order the rows (score, and which rows of a
    // cell are flagged), where the plain shares, multiples of 1/k, tied
    // (cars: 73 rows at 0.1, every planted flip among dozens at 1.0).
    let mut weighted = vec![0f64; n * classes];
    let mut own: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let Some(label) = labels[i] else { continue };
        let p = &mut probabilities[i * classes..(i + 1) * classes];
        let w = &mut weighted[i * classes..(i + 1) * classes];
        let mut labelled = 0u32;
        let d = graph.neighbour_distances(i);
        let (mut sum, mut finite) = (0.0, 0u32);
        for &x in d.iter().filter(|x| x.is_finite()) {
            sum += f64::from(x.max(0.0));
            finite += 1;
        }
        let mean = if finite > 0 { (sum / f64::from(finite)).max(1e-12) } else { 1.0 };
        let mut total = 0.0;
        for (&j, &dj) in graph.neighbours(i).iter().zip(d) {
            if let Some(l) = labels[j as usize] {
                labelled += 1;
                p[l as usize] += 1.0;
                let weight = if dj.is_finite() { 1.0 / (f64::from(dj.max(0.0)) + mean) } else { 0.0 };
                w[l as usize] += weight;
                total += weight;
            }
        }
        if labelled > 0 {
            p.iter_mut().for_each(|v| *v /= labelled as f64);
            if total > 0.0 {
                w.iter_mut().for_each(|v| *v /= total);
            } else {
                w.copy_from_slice(p);
            }
            own[i] = Some(label as usize);
        }
    }
    let judged = || own.iter().enumerate().filter_map(|(i, c)| c.map(|c| (i, c)));
    let likeliest = |p: &[f64]| {
        p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))).map(|(c, _)| c as u32)
    };
    // Per-class thresholds: mean self-probability of the rows labelled c.
    let mut sum = vec![0f64; classes];
    let mut count = vec![0u64; classes];
    for (i, c) in judged() {
        sum[c] += probabilities[i * classes + c];
        count[c] += 1;
    }
    let threshold: Vec<f64> =
        (0..classes).map(|c| if count[c] > 0 { sum[c] / count[c] as f64 } else { f64::INFINITY }).collect();
    // Confident joint, then the candidates of each off-diagonal cell.
    let mut joint: std::collections::BTreeMap<(usize, usize), usize> = Default::default();
    for (i, c) in judged() {
        let p = &probabilities[i * classes..(i + 1) * classes];
        // Rows whose neighbours all disagree rank by how far those agree
        // on one other class (a flip inside a clean cluster first).
        let w = &weighted[i * classes..(i + 1) * classes];
        let other = (0..classes).filter(|&j| j != c).map(|j| w[j]).fold(0.0, f64::max);
        out.score[i] = Some((1.0 - w[c]) * (1.0 - LABEL_MARGIN_WEIGHT) + LABEL_MARGIN_WEIGHT * other);
        out.suggested[i] = likeliest(p);
        let confident = (0..classes)
            .filter(|&j| p[j] >= threshold[j] && p[j] > 0.0)
            .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)));
        if let Some(j) = confident {
            *joint.entry((c, j)).or_default() += 1;
        }
    }
    let mut cells: std::collections::BTreeMap<(usize, usize), Vec<(f64, usize)>> = Default::default();
    for (i, c) in judged() {
        let w = &weighted[i * classes..(i + 1) * classes];
        for j in (0..classes).filter(|&j| j != c && joint.contains_key(&(c, j))) {
            cells.entry((c, j)).or_default().push((w[j] - w[c], i));
        }
    }
    for (cell, mut candidates) in cells {
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in candidates.iter().take(joint[&cell]) {
            out.flagged[i] = true;
        }
    }
    for ((flagged, suggested), label) in out.flagged.iter_mut().zip(&out.suggested).zip(labels) {
        if *flagged && suggested == label {
            *flagged = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::knn_cpu;

    fn line_graph(points: &[f32], k: usize) -> KnnGraph {
        knn_cpu(points, points.len(), 1, k, Metric::SquaredEuclidean)
    }

    #[test]
    fn far_point_is_the_outlier() {
        let mut pts: Vec<f32> = (0..50).map(|i| (i % 10) as f32 * 0.1).collect();
        pts.push(100.0);
        let g = line_graph(&pts, 5);
        let o = outlier_scores(&g, Metric::SquaredEuclidean, OUTLIER_IQR_FACTOR);
        assert!(o.flagged[50]);
        assert_eq!(o.flagged.iter().filter(|&&f| f).count(), 1);
        assert!(o.score[50] > 0.99 && o.score[50] < 1.0);
        assert!(o.score.iter().all(|s| (0.0..=1.0).contains(s)));
    }

    #[test]
    fn rows_with_identical_neighbours_do_not_collapse_the_fence() {
        // 42 rows in 7 sets of 6 copies (their 5 neighbours at distance 0),
        // 20 spread rows, one far row: the far one is an outlier, and at
        // most the spread line's two ends beside it (the fence of 0 flagged
        // all 21 rows not among copies).
        let mut pts: Vec<f32> = (0..7).flat_map(|g| [g as f32 * 100.0; 6]).collect();
        pts.extend((0..20).map(|i| 5000.0 + i as f32));
        pts.push(20000.0);
        let g = line_graph(&pts, 5);
        let o = outlier_scores(&g, Metric::SquaredEuclidean, OUTLIER_IQR_FACTOR);
        let flagged: Vec<usize> = (0..pts.len()).filter(|&i| o.flagged[i]).collect();
        assert!(flagged.contains(&62) && flagged.iter().all(|&i| [42, 61, 62].contains(&i)), "{flagged:?}, threshold {}", o.threshold);
    }

    #[test]
    fn medcouple_matches_statsmodels() {
        // statsmodels 0.15 `medcouple(x, use_fast=False)` on the same values.
        let cases: [(&[f64], f64); 6] = [
            (&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 100.0], 0.0),
            (&[1.0, 1.0, 1.0, 2.0, 3.0, 10.0, 20.0, 50.0], 0.8421052631578947),
            (&[0.1, 0.2, 0.25, 0.3, 0.5, 0.9, 2.0, 4.0], 0.675438596491228),
            (&[1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 9.0], 0.375),
            (&[5.0, 5.0, 5.0, 5.0], 0.0),
            (&[1.0, 2.0, 3.0, 4.0, 5.0], 0.0),
        ];
        for (x, want) in cases {
            assert!((medcouple_sorted(x) - want).abs() < 1e-12, "{x:?}: {} against {want}", medcouple_sorted(x));
        }
        assert_eq!(medcouple_sorted(&[]), 0.0);
        // A long sample is taken over 1001 of its quantiles: close to the
        // exact value, and of its sign (mirrored, the skew turns negative).
        let mut x = log_normal(3000, 0x2545_f491_4f6c_dd1d);
        x.sort_unstable_by(f64::total_cmp);
        let (approx, exact) = (medcouple_sorted(&x), medcouple_exact(&x));
        assert!(exact > 0.4 && exact < 0.7, "log-normal medcouple {exact}");
        assert!((approx - exact).abs() < 0.02, "{approx} against {exact}");
        let mut mirrored: Vec<f64> = x.iter().map(|v| -v).collect();
        mirrored.sort_unstable_by(f64::total_cmp);
        assert!((medcouple_exact(&mirrored) + exact).abs() < 1e-9);
    }

    /// `n` log-normal values (sigma 1.5) from a fixed xorshift stream.
    fn log_normal(n: usize, mut state: u64) -> Vec<f64> {
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let (u, v) = (uniform().max(1e-12), uniform());
                (1.5 * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()).exp()
            })
            .collect()
    }

    #[test]
    fn mostly_identical_rows_get_a_fence_for_their_heavy_tail() {
        // 3,000 rows at distance 0 (all neighbours copies), 2,000 with a
        // log-normal tail: the plain fence over the tail flags about 10% of
        // it; the skew-adjusted one under 3%.
        let tail = log_normal(2000, 0x9e37_79b9_7f4a_7c15);
        let mut sorted = vec![0.0; 3000];
        sorted.extend(&tail);
        sorted.sort_unstable_by(f64::total_cmp);
        let (threshold, scale) = distance_fence(&sorted, OUTLIER_IQR_FACTOR);
        let mut plain_sorted = tail.clone();
        plain_sorted.sort_unstable_by(f64::total_cmp);
        let (plain, _) = distance_fence(&plain_sorted, OUTLIER_IQR_FACTOR);
        let above = |t: f64| tail.iter().filter(|&&d| d > t).count();
        assert!(above(plain) > 150, "plain fence {plain}: {}", above(plain));
        assert!(above(threshold) < 60 && above(threshold) > 0, "adjusted fence {threshold}: {}", above(threshold));
        // The score's scale is the tail's median, not 0.
        assert!((scale - quantile_sorted(&plain_sorted, 0.5)).abs() < 1e-12);
        // Without the rows at 0 the fence is the plain one (Datalab's rule).
        assert!(plain < threshold);
    }

    #[test]
    fn far_rows_keep_their_order_in_the_score() {
        let mut pts: Vec<f32> = (0..50).map(|i| (i % 10) as f32 * 0.1).collect();
        pts.extend([100.0, 1000.0, 10000.0]);
        let g = line_graph(&pts, 5);
        let o = outlier_scores(&g, Metric::SquaredEuclidean, OUTLIER_IQR_FACTOR);
        assert!(o.score[50] < o.score[51] && o.score[51] < o.score[52] && o.score[52] < 1.0, "{:?}", &o.score[50..]);
        // Flagged exactly where the score passes 0.5.
        assert!((0..pts.len()).all(|i| o.flagged[i] == (o.score[i] > 0.5)));
        assert_eq!(extreme_score(EXTREME_IQRS), 0.5);
        assert!(extreme_score(-100.0) > extreme_score(40.0) && extreme_score(f64::INFINITY) == 1.0);
    }

    #[test]
    fn extreme_values_only_where_they_are_rare() {
        // Two columns of 300 rows: the first with one value 50 IQRs out,
        // the second with 6 (2%) in a heavy tail, which also fills the
        // range below them: only the first is flagged.
        let mut data = Vec::new();
        for r in 0..300 {
            let a = if r == 7 { 50.0 } else { (r % 5) as f32 * 0.3 - 0.6 };
            let b = if r % 50 == 3 {
                -40.0
            } else if r % 10 == 1 {
                -((r / 10) as f32) * 0.65
            } else {
                0.1
            };
            data.extend([a, 1.0, b]);
        }
        assert_eq!([extreme_allowed(50), extreme_allowed(100), extreme_allowed(356), extreme_allowed(2000)], [1, 2, 5, 20]);
        let found = extreme_values(&data, 3, &[0, 2]);
        let flagged: Vec<(usize, (usize, f64))> = found.iter().enumerate().filter_map(|(r, f)| f.map(|f| (r, f))).collect();
        assert_eq!(flagged, [(7, (0, 50.0))]);
        assert!(extreme_values(&[], 0, &[]).is_empty());
    }

    /// More far values than a column may have flagged, but alone out there
    /// (heights in cm among heights in m): flagged, up to 5% of the rows.
    #[test]
    fn far_values_that_stand_apart_are_flagged() {
        let column = |far_every: usize, far: f32, bulk: f32| -> Vec<f32> {
            (0..300).map(|r| if r % far_every == 0 { far } else { (r % 7) as f32 * bulk - 3.0 * bulk }).collect()
        };
        let flagged = |data: &[f32]| extreme_values(data, 1, &[0]).iter().filter(|x| x.is_some()).count();
        // 10 rows (3.3%) 1,200 IQRs out, the rest within 1.5: all 10.
        assert_eq!(flagged(&column(30, 1200.0, 0.5)), 10);
        // The rest reaching 7.5 IQRs: 25 is not 4 times as far.
        assert_eq!(flagged(&column(30, 25.0, 2.5)), 0);
        // 20 rows (6.7%): two populations, not flagged.
        assert_eq!(flagged(&column(15, 1200.0, 0.5)), 0);
    }

    /// Values a few times too small or too large, alone at an end of a
    /// positive column: flagged with how far apart; a smooth spread, a
    /// column with 0, a group past 5% and a group with company are not.
    #[test]
    fn values_apart_by_a_factor() {
        let column = |n: usize| -> Vec<Option<f64>> { (0..n).map(|i| Some(172.0 + (i % 60) as f64)).collect() };
        let mut c = column(100);
        c[3] = Some(18.1);
        c[50] = Some(17.5);
        c[7] = None;
        c[9] = Some(2310.0);
        let found = apart_by_factor(&c);
        let flagged: Vec<(usize, f64)> = found.iter().enumerate().filter_map(|(i, f)| f.map(|f| (i, f))).collect();
        assert_eq!(flagged.len(), 3, "{flagged:?}");
        assert!((flagged[0].1 - 172.0 / 18.1).abs() < 1e-9 && flagged[0].0 == 3);
        assert!((flagged[1].1 - 2310.0 / 231.0).abs() < 1e-9 && flagged[1].0 == 9);
        assert!((flagged[2].1 - 172.0 / 17.5).abs() < 1e-9 && flagged[2].0 == 50);
        assert!(apart_score(APART_FACTOR) > 0.5 && apart_score(10.0) < apart_score(100.0) && apart_score(f64::INFINITY) == 1.0);
        // A value with another 3.5 times from it is not apart.
        let mut near = column(100);
        near[3] = Some(50.0);
        assert!(apart_by_factor(&near).iter().all(|f| f.is_none()));
        // A log-normal spread over many decades has no gap.
        let smooth: Vec<Option<f64>> = (0..200).map(|i| Some(10f64.powf(i as f64 / 40.0))).collect();
        assert!(apart_by_factor(&smooth).iter().all(|f| f.is_none()));
        // 0 in the column: no log scale.
        let mut zero = column(100);
        zero[3] = Some(18.1);
        zero[4] = Some(0.0);
        assert!(apart_by_factor(&zero).iter().all(|f| f.is_none()));
        // 6 of 100 shrunk: past 5%, two populations.
        let mut many = column(100);
        for i in 0..6 {
            many[i * 10] = Some(17.0 + i as f64 * 0.1);
        }
        assert!(apart_by_factor(&many).iter().all(|f| f.is_none()));
        // Values near 0 in a column spread over decades (probabilities): a
        // tail, not a slip.
        let mut decades: Vec<Option<f64>> = (0..100).map(|i| Some(10f64.powf(-(i % 50) as f64 / 10.0))).collect();
        decades[3] = Some(1e-7);
        assert!(apart_by_factor(&decades).iter().all(|f| f.is_none()));
        // Fewer than 20 numbers: none.
        let mut short = column(19);
        short[3] = Some(1.0);
        assert!(apart_by_factor(&short).iter().all(|f| f.is_none()));
    }

    #[test]
    fn near_duplicates_join_and_exact_pairs_do_not() {
        // Spread points 1 apart, plus a near copy of 10 and an exact copy of 20.
        let mut pts: Vec<f32> = (0..40).map(|i| i as f32).collect();
        pts.push(10.01);
        pts.push(20.0);
        let g = line_graph(&pts, 3);
        let mut exact = vec![None; 42];
        exact[20] = Some(20);
        exact[41] = Some(20);
        let (groups, threshold) = near_duplicate_groups(&g, Metric::SquaredEuclidean, &exact, NEAR_DUPLICATE_FACTOR, &[], None);
        assert!(threshold > 0.01 && threshold < 1.0, "{threshold}");
        assert_eq!(groups, vec![vec![10, 40]]);
    }

    /// A row copied with one number retyped a step off joins its original
    /// though the table's rows lie closer together than the distance
    /// threshold allows; rows that share all but that number with several
    /// others (one model of plane, a year apart) do not.
    #[test]
    fn rows_one_number_apart_are_near_copies() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        // 300 rows of 4 numbers on a grid of 0.002 (dense), dimension 4 a
        // flag; then 100 rows whose numbers 0-2 take 3 values each, so that
        // rows share them by chance.
        let d = 5;
        let mut data: Vec<f32> = Vec::new();
        for _ in 0..300 {
            for _ in 0..4 {
                data.push((next() * 500.0).round() * 0.002);
            }
            data.push(0.0);
        }
        // Row 300: row 7 with its number 2 moved by 0.05 IQR.
        let mut copy = data[7 * d..8 * d].to_vec();
        copy[2] += 0.05;
        data.extend(&copy);
        // Rows 301..305: one row and four copies with number 0 apart by 0.05 each.
        for step in 0..5 {
            data.extend([3.0 + step as f32 * 0.05, 3.0, 3.0, 3.0, 1.0]);
        }
        for _ in 0..100 {
            for _ in 0..3 {
                data.push(5.0 + (next() * 3.0).floor());
            }
            data.extend([5.0 + (next() * 500.0).round() * 0.002, 1.0]);
        }
        let n = data.len() / d;
        let g = knn_cpu(&data, n, d, 10, Metric::SquaredEuclidean);
        let exact = vec![None; n];
        let features = |numbers: &[usize]| -> Vec<(std::ops::Range<usize>, bool)> { (0..d).map(|i| (i..i + 1, numbers.contains(&i))).collect() };
        let pairs = one_number_apart(&g, &data, d, &features(&[0, 1, 2, 3]), &exact);
        assert_eq!(pairs, vec![(7, 300)]);
        // Not where the dimension that differs is not a number, nor past
        // the bound, nor between exact duplicates.
        assert!(one_number_apart(&g, &data, d, &features(&[0, 1, 3]), &exact).is_empty());
        let mut exact = exact;
        exact[7] = Some(1);
        exact[300] = Some(1);
        assert!(one_number_apart(&g, &data, d, &features(&[0, 1, 2, 3]), &exact).is_empty());
        data[300 * d + 2] += 0.2;
        let g = knn_cpu(&data, n, d, 10, Metric::SquaredEuclidean);
        assert!(one_number_apart(&g, &data, d, &features(&[0, 1, 2, 3]), &vec![None; n]).is_empty());
        // The pairs join the groups.
        let (groups, _) = near_duplicate_groups(&g, Metric::SquaredEuclidean, &vec![None; n], 0.0, &[(7, 300)], None);
        assert!(groups.contains(&vec![7, 300]), "{groups:?}");
    }

    #[test]
    fn near_duplicates_survive_many_identical_twins() {
        // 30 pairs of identical points (ids differ, so not exact duplicates)
        // plus one near pair: the median 1-NN distance is 0.
        let mut pts: Vec<f32> = (0..30).flat_map(|i| [i as f32 * 10.0, i as f32 * 10.0]).collect();
        pts.extend([1000.0, 1000.001]);
        let g = line_graph(&pts, 3);
        let (groups, threshold) = near_duplicate_groups(&g, Metric::SquaredEuclidean, &vec![None; 62], NEAR_DUPLICATE_FACTOR, &[], None);
        assert!(threshold > 0.0);
        assert_eq!(groups.len(), 31, "{groups:?}");
    }

    #[test]
    fn float_rounding_is_not_a_distance() {
        // Cosine graph of 30 rows, k = 2: 10 pairs of identical rows that
        // the kernel puts 1.2e-7 apart, one near pair 1e-4 apart, 8 rows on
        // their own. The noise must neither be the median 1-NN distance
        // (a threshold of 1.5e-8 that no near copy passes) nor split a pair.
        let (mut indices, mut distances) = (Vec::new(), Vec::new());
        for i in 0..30u32 {
            let (twin, d) = match i {
                0..20 => (i ^ 1, 1.2e-7),
                20 => (21, 1e-4),
                21 => (20, 1e-4),
                _ => ((i + 1) % 30, 0.02),
            };
            indices.extend([twin, (i + 5) % 30]);
            distances.extend([d, 0.05]);
        }
        let g = KnnGraph { n: 30, k: 2, indices, distances };
        let (groups, threshold) = near_duplicate_groups(&g, Metric::Cosine, &vec![None; 30], NEAR_DUPLICATE_FACTOR, &[], None);
        assert!(threshold > 1e-4 && threshold < 0.02, "{threshold}");
        assert_eq!(groups.len(), 11, "{groups:?}");
        assert!(groups.contains(&vec![20, 21]));
    }

    #[test]
    fn infinite_distances_do_not_make_scores_undefined() {
        let g = KnnGraph { n: 3, k: 2, indices: vec![1, 2, 0, 2, 0, 1], distances: vec![1.0, f32::INFINITY, 1.0, f32::INFINITY, f32::INFINITY, f32::INFINITY] };
        let o = outlier_scores(&g, Metric::Cosine, OUTLIER_IQR_FACTOR);
        assert!(o.score.iter().all(|s| (0.0..=1.0).contains(s)), "{:?}", o.score);
    }

    #[test]
    fn a_flip_among_agreeing_neighbours_ranks_first() {
        // Class 2 once inside a cluster of class 0 (row 5), and once among
        // rows of classes 0 and 1 in turn (row 25): no neighbour of either
        // agrees, but row 5's all agree with each other.
        let pts: Vec<f32> = (0..31).map(|i| if i < 11 { i as f32 } else { 100.0 + i as f32 }).collect();
        let labels: Vec<Option<u32>> = (0..31)
            .map(|i| Some(match i {
                5 | 25 => 2,
                0..11 => 0,
                _ => (i % 2) as u32,
            }))
            .collect();
        let s = label_scores(&line_graph(&pts, 4), &labels);
        let (flip, mixed) = (s.score[5].unwrap(), s.score[25].unwrap());
        assert!(flip > mixed && mixed > 0.99, "{flip} against {mixed}");
        assert!(s.score.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn flipped_label_is_flagged() {
        let pts: Vec<f32> = (0..20).map(|i| if i < 10 { i as f32 } else { 100.0 + i as f32 }).collect();
        let mut labels: Vec<Option<u32>> = (0..20).map(|i| Some(if i < 10 { 0 } else { 1 })).collect();
        labels[3] = Some(1);
        labels[15] = None;
        let g = line_graph(&pts, 4);
        let s = label_scores(&g, &labels);
        assert!(s.flagged[3]);
        assert_eq!(s.suggested[3], Some(0));
        assert_eq!(s.flagged.iter().filter(|&&f| f).count(), 1);
        assert_eq!(s.score[15], None);
    }
}
