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
    /// 1 - exp(-ln 2 * distance / median distance): 0.5 at the median, towards 1 far out.
    pub score: Vec<f64>,
    /// distance > Q3 + `iqr_factor` x IQR (quartiles of the rows at a
    /// distance above 0 where a quarter or more are at 0).
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
    // Rows whose k neighbours are all their copies have distance 0. Where
    // they are a quarter of the rows or more, the quartiles would be 0 and
    // every row with a neighbour of its own kind past that would be
    // flagged (15% of a table of aircraft): the fence is then taken over
    // the other rows.
    let zero = sorted.last().map_or(0.0, |&max| max * 1e-6);
    let copies = sorted.partition_point(|&d| d <= zero);
    let fenced = if copies * 4 >= sorted.len() && copies < sorted.len() { &sorted[copies..] } else { &sorted[..] };
    let q1 = quantile_sorted(fenced, 0.25);
    let q3 = quantile_sorted(fenced, 0.75);
    let threshold = if sorted.is_empty() { 0.0 } else { q3 + iqr_factor * (q3 - q1) };
    let median = quantile_sorted(&sorted, 0.5);
    let mean = if n > 0 { sorted.iter().sum::<f64>() / n as f64 } else { 0.0 };
    let scale = if median > 0.0 && median.is_finite() {
        median
    } else if mean > 0.0 && mean.is_finite() {
        mean
    } else {
        1.0
    };
    let score = distance.iter().map(|&d| 1.0 - (-std::f64::consts::LN_2 * d / scale).exp()).collect();
    let flagged = distance.iter().map(|&d| graph.k > 0 && d > threshold).collect();
    OutlierScores { distance, score, flagged, threshold }
}

/// A value at least this many IQRs from its column's median is extreme
/// (about 19.5 IQRs past the quartile: a normal column never has one; a
/// log-normal one of sigma 1 has 3 in 10,000).
pub const EXTREME_IQRS: f64 = 20.0;
/// A column where more than this share of the rows hold an extreme value is
/// heavy-tailed (follower counts, incomes): its far values are not flagged.
pub const EXTREME_MAX_SHARE: f64 = 0.01;

/// Per embedded row, its most extreme robust-scaled value, as (index into
/// `dims`, value): in the columns at `dims` (offsets of robust-scaled
/// numeric features in rows of `dimension` values) where at least
/// [`EXTREME_IQRS`] from the median, and only in columns where at most
/// [`EXTREME_MAX_SHARE`] of the rows have such a value.
pub fn extreme_values(data: &[f32], dimension: usize, dims: &[usize]) -> Vec<Option<(usize, f64)>> {
    let n = if dimension == 0 { 0 } else { data.len() / dimension };
    let mut out: Vec<Option<(usize, f64)>> = vec![None; n];
    let allowed = (n as f64 * EXTREME_MAX_SHARE).floor() as usize;
    for (j, &dim) in dims.iter().enumerate() {
        let far: Vec<usize> = (0..n).filter(|&r| f64::from(data[r * dimension + dim]).abs() >= EXTREME_IQRS).collect();
        if far.len() > allowed {
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

/// Near-duplicate groups (as sample positions) and the distance threshold
/// (`factor` x the median nearest-neighbour distance).
/// Pairs that are exact duplicates of each other (same `exact_key`) do not
/// join groups: exact duplicates are reported on their own.
pub fn near_duplicate_groups(
    graph: &KnnGraph,
    metric: Metric,
    exact_key: &[Option<u32>],
    factor: f64,
) -> (Vec<Vec<u32>>, f64) {
    let n = graph.n;
    if graph.k == 0 {
        return (Vec::new(), 0.0);
    }
    // Each row's nearest positive distance among its neighbours: where many
    // rows have an identical twin in embedding space (copies that differ
    // only in an id), the plain median 1-NN distance is 0 and the check
    // would switch itself off. Zero-distance pairs always join.
    let mut first: Vec<f64> = (0..n)
        .filter_map(|i| {
            graph.neighbour_distances(i).iter().map(|&d| true_distance(d, metric)).find(|&d| d > 0.0)
        })
        .collect();
    first.sort_unstable_by(f64::total_cmp);
    let threshold = if first.is_empty() { 0.0 } else { factor * quantile_sorted(&first, 0.5) };
    let mut uf = UnionFind((0..n as u32).collect());
    let mut joined = vec![false; n];
    for i in 0..n {
        for (&j, &d) in graph.neighbours(i).iter().zip(graph.neighbour_distances(i)) {
            let distance = true_distance(d, metric);
            if distance >= threshold && distance > 0.0 {
                break;
            }
            let same_exact = exact_key[i].is_some() && exact_key[i] == exact_key[j as usize];
            if !same_exact {
                uf.union(i as u32, j);
                joined[i] = true;
                joined[j as usize] = true;
            }
        }
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
    /// 1 - the share of neighbours agreeing with the row's label, in [0, 1]
    /// (one minus cleanlab's self-confidence); `None` for unlabelled rows.
    pub score: Vec<Option<f64>>,
    /// Most common neighbour label (ties: the smaller class id).
    pub suggested: Vec<Option<u32>>,
    /// Suspected label error.
    pub flagged: Vec<bool>,
}

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
    let mut own: Vec<Option<usize>> = vec![None; n];
    for i in 0..n {
        let Some(label) = labels[i] else { continue };
        let p = &mut probabilities[i * classes..(i + 1) * classes];
        let mut labelled = 0u32;
        for &j in graph.neighbours(i) {
            if let Some(l) = labels[j as usize] {
                labelled += 1;
                p[l as usize] += 1.0;
            }
        }
        if labelled > 0 {
            p.iter_mut().for_each(|v| *v /= labelled as f64);
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
        out.score[i] = Some(1.0 - p[c]);
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
        let p = &probabilities[i * classes..(i + 1) * classes];
        for j in (0..classes).filter(|&j| j != c && joint.contains_key(&(c, j))) {
            cells.entry((c, j)).or_default().push((p[j] - p[c], i));
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
        assert!(o.score[50] > 0.99);
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
    fn extreme_values_only_where_they_are_rare() {
        // Two columns of 300 rows: the first with one value 50 IQRs out,
        // the second with 6 (2%, a heavy tail): only the first is flagged.
        let mut data = Vec::new();
        for r in 0..300 {
            let a = if r == 7 { 50.0 } else { (r % 5) as f32 * 0.3 - 0.6 };
            let b = if r % 50 == 3 { -40.0 } else { 0.1 };
            data.extend([a, 1.0, b]);
        }
        let found = extreme_values(&data, 3, &[0, 2]);
        let flagged: Vec<(usize, (usize, f64))> = found.iter().enumerate().filter_map(|(r, f)| f.map(|f| (r, f))).collect();
        assert_eq!(flagged, [(7, (0, 50.0))]);
        assert!(extreme_values(&[], 0, &[]).is_empty());
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
        let (groups, threshold) = near_duplicate_groups(&g, Metric::SquaredEuclidean, &exact, NEAR_DUPLICATE_FACTOR);
        assert!(threshold > 0.01 && threshold < 1.0, "{threshold}");
        assert_eq!(groups, vec![vec![10, 40]]);
    }

    #[test]
    fn near_duplicates_survive_many_identical_twins() {
        // 30 pairs of identical points (ids differ, so not exact duplicates)
        // plus one near pair: the median 1-NN distance is 0.
        let mut pts: Vec<f32> = (0..30).flat_map(|i| [i as f32 * 10.0, i as f32 * 10.0]).collect();
        pts.extend([1000.0, 1000.001]);
        let g = line_graph(&pts, 3);
        let (groups, threshold) = near_duplicate_groups(&g, Metric::SquaredEuclidean, &vec![None; 62], NEAR_DUPLICATE_FACTOR);
        assert!(threshold > 0.0);
        assert_eq!(groups.len(), 31, "{groups:?}");
    }

    #[test]
    fn infinite_distances_do_not_make_scores_undefined() {
        let g = KnnGraph { n: 3, k: 2, indices: vec![1, 2, 0, 2, 0, 1], distances: vec![1.0, f32::INFINITY, 1.0, f32::INFINITY, f32::INFINITY, f32::INFINITY] };
        let o = outlier_scores(&g, Metric::Cosine, OUTLIER_IQR_FACTOR);
        assert!(o.score.iter().all(|s| (0.0..=1.0).contains(s)), "{:?}", o.score);
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
