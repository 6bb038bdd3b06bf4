#!/usr/bin/env python3
"""Neighbour-check quality: preflight beside cleanlab Datalab, same data, same features.

Takes the Palmer penguins table (tests/fixtures/penguins.csv, public, CC0),
keeps the four numeric measurements and the species label, plants defects
with a fixed seed, then runs

  * preflight's CLI (`profile --rows`): outliers, near duplicates, label issues;
  * cleanlab Datalab `find_issues(features=X)` with default settings, where X
    is exactly the matrix preflight builds (each column minus its median,
    divided by its IQR; so both tools see the same vectors and both pick
    cosine distance, dimension 4 > 3),

and prints precision / recall / F1 of each against the planted rows.

Planted (disjoint sets of rows):
  outliers         12 rows pushed 6-10 IQRs away from the data, in a random direction
  label flips      15 rows given another species
  near duplicates  10 rows copied with noise of 0.5% of an IQR (the copies are
                   appended at the end; a pair counts as found when the copy is
                   in a near-duplicate group with its original)

usage: python3 bench/quality_vs_cleanlab.py [--bin target/release/preflight] [--seed N]
needs: pip install "cleanlab[datalab]" pandas scikit-learn
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def load_penguins():
    with open(os.path.join(ROOT, "tests/fixtures/penguins.csv")) as f:
        rows = [r for r in csv.DictReader(f) if all(r[c] != "NA" for c in FEATURES)]
    x = np.array([[float(r[c]) for c in FEATURES] for r in rows])
    y = np.array([r["species"] for r in rows])
    return x, y


def plant(x, y, seed):
    rng = np.random.default_rng(seed)
    x, y = x.copy(), y.copy()
    n = len(x)
    med = np.median(x, axis=0)
    iqr = np.percentile(x, 75, axis=0) - np.percentile(x, 25, axis=0)
    order = rng.permutation(n)
    outliers, flips, originals = order[:12], order[12:27], order[27:37]
    for i in outliers:
        direction = rng.normal(size=x.shape[1])
        direction /= np.linalg.norm(direction)
        x[i] = med + direction * rng.uniform(6, 10) * iqr
    classes = sorted(set(y))
    for i in flips:
        y[i] = rng.choice([c for c in classes if c != y[i]])
    copies = x[originals] + rng.normal(scale=0.005, size=(len(originals), x.shape[1])) * iqr
    x = np.vstack([x, copies])
    y = np.concatenate([y, y[originals]])
    pairs = [(int(o), n + j) for j, o in enumerate(originals)]
    return x, y, set(map(int, outliers)), set(map(int, flips)), pairs


def robust_features(x):
    med = np.median(x, axis=0)
    iqr = np.percentile(x, 75, axis=0) - np.percentile(x, 25, axis=0)
    return (x - med) / iqr


def scores(found, truth):
    found, truth = set(found), set(truth)
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1, len(found)


def pair_recall(groups_of, pairs):
    """Share of planted (original, copy) pairs that share a near-duplicate group."""
    hit = sum(1 for a, b in pairs if groups_of.get(a) is not None and groups_of.get(a) == groups_of.get(b))
    return hit / len(pairs)


def run_preflight(binary, x, y):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "planted.csv")
        with open(data, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(FEATURES + ["species"])
            for row, label in zip(x, y):
                w.writerow([repr(float(v)) for v in row] + [label])
        rows_csv, report = os.path.join(tmp, "rows.csv"), os.path.join(tmp, "report.json")
        t = time.perf_counter()
        proc = subprocess.run([binary, "profile", data, "--backend", "cpu", "--quiet", "--rows", rows_csv,
                               "--json", report], capture_output=True, text=True)
        elapsed = time.perf_counter() - t
        if proc.returncode not in (0, 1):
            sys.exit(f"preflight failed: {proc.stderr}")
        with open(rows_csv) as f:
            rows = list(csv.DictReader(f))
        with open(report) as f:
            rep = json.load(f)
    outliers = [int(r["row"]) for r in rows if r["is_outlier"] == "true"]
    labels = [int(r["row"]) for r in rows if r["is_label_issue"] == "true"]
    near = {int(r["row"]): int(r["near_group"]) for r in rows if r["near_group"]}
    exact = {int(r["row"]): int(r["exact_group"]) for r in rows if r["exact_group"]}
    near.update({k: ("x", v) for k, v in exact.items() if k not in near})
    return outliers, labels, near, elapsed, rep


def run_cleanlab(x, y):
    import pandas as pd
    from cleanlab import Datalab
    t = time.perf_counter()
    lab = Datalab(data=pd.DataFrame({"species": y}), label_name="species", verbosity=0)
    lab.find_issues(features=robust_features(x))
    elapsed = time.perf_counter() - t
    issues = lab.get_issues()
    outliers = list(np.flatnonzero(issues["is_outlier_issue"].to_numpy()))
    labels = list(np.flatnonzero(issues["is_label_issue"].to_numpy())) if "is_label_issue" in issues else []
    near = {}
    if "is_near_duplicate_issue" in issues:
        info = lab.get_info("near_duplicate")
        sets = info.get("near_duplicate_sets")
        for i in np.flatnonzero(issues["is_near_duplicate_issue"].to_numpy()):
            # Group = the smallest id among the row and its near-duplicate set.
            members = [int(i)] + [int(j) for j in (sets[i] if sets is not None else [])]
            near[int(i)] = min(members)
        # Make membership symmetric: a row and its set share the set's smallest id.
        if sets is not None:
            for i in list(near):
                for j in sets[i]:
                    near.setdefault(int(j), near[i])
    return outliers, labels, near, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("PREFLIGHT_BIN", os.path.join(ROOT, "target/release/preflight")))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    x, y = load_penguins()
    x, y, outliers, flips, pairs = plant(x, y, args.seed)
    print(f"penguins, {len(x)} rows after planting: {len(outliers)} outliers, {len(flips)} label flips, "
          f"{len(pairs)} near-duplicate copies (seed {args.seed})")
    p_out, p_lab, p_near, p_t, rep = run_preflight(args.bin, x, y)
    c_out, c_lab, c_near, c_t = run_cleanlab(x, y)
    print(f"preflight embedding: dim {rep['embedding']['dimension']}, metric {rep['outliers']['metric']}")
    print()
    print(f"{'check':<18}{'tool':<11}{'precision':>10}{'recall':>8}{'F1':>7}{'flagged':>9}")
    for check, truth, ours, theirs in [("outliers", outliers, p_out, c_out), ("label issues", flips, p_lab, c_lab)]:
        for tool, found in [("preflight", ours), ("cleanlab", theirs)]:
            p, r, f1, n = scores(found, truth)
            print(f"{check:<18}{tool:<11}{p:>10.3f}{r:>8.3f}{f1:>7.3f}{n:>9}")
    for tool, groups in [("preflight", p_near), ("cleanlab", c_near)]:
        print(f"{'near dup pairs':<18}{tool:<11}{'':>10}{pair_recall(groups, pairs):>8.3f}{'':>7}{len(groups):>9}")
    print()
    print(f"time: preflight CLI (whole profile, CPU) {p_t:.2f} s; cleanlab Datalab find_issues {c_t:.2f} s")


if __name__ == "__main__":
    main()
