#!/usr/bin/env python3
"""Label audits beside their peers: the same numbers from preflight and from
scikit-learn, statsmodels and cleanlab, on public data with planted label
errors.

Data: scikit-learn's bundled handwritten digits (`load_digits`, 1797 rows,
64 pixel features, classes 0-9; shipped inside scikit-learn, so it runs
offline). With a fixed seed it

  * plants label errors: `--noise` (default 10%) of the rows get another
    class, drawn uniformly (the planted truth);
  * trains a model on the noisy labels and takes out-of-fold predicted
    probabilities: `cross_val_predict(LogisticRegression, method="predict_proba",
    cv=5)`, written as columns p_0 ... p_9 at full precision;
  * simulates three annotators: copies of the true class, each with its own
    independent noise (8%, 12%, 16% by default);

writes one CSV (pixels, label, annotator_1..3, p_0..p_9), runs
`preflight profile FILE --label label --annotator ... --json --rows`
(the probability columns are detected, not named), and computes:

  * scikit-learn: accuracy_score, confusion_matrix,
    precision_recall_fscore_support(zero_division=0), f1_score(average="macro"),
    log_loss of the model against the label; cohen_kappa_score and
    confusion_matrix of every annotator pair; percent agreement with numpy;
  * statsmodels: fleiss_kappa(aggregate_raters(...)[0], method="fleiss");
  * cleanlab: find_label_issues(labels, pred_probs) and
    get_label_quality_scores(labels, pred_probs) with defaults, and
    compute_confident_joint;

and prints each statistic beside preflight's with |diff| (agreement and
model scores must match to 1e-6; label-issue sets compared row by row),
then label-error precision / recall / F1 / AUROC against the planted truth,
preflight beside cleanlab. Statistics preflight's report lacks are printed
as "missing". Exit status 1 when a number that must match does not.

usage: python3 bench/label_audit_peers.py [--bin target/release/preflight] [--seed N] [--noise F]
needs: pip install scikit-learn statsmodels cleanlab
"""
import argparse
import contextlib
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-6
ANNOTATOR_NOISE = [0.08, 0.12, 0.16]


def make_data(seed, noise):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    x, truth = digits.data, digits.target
    n, k = len(truth), 10
    rng = np.random.default_rng(seed)
    planted = np.zeros(n, dtype=bool)
    planted[rng.choice(n, int(round(noise * n)), replace=False)] = True
    label = truth.copy()
    label[planted] = (truth[planted] + rng.integers(1, k, planted.sum())) % k
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    t0 = time.perf_counter()
    proba = cross_val_predict(model, x, label, cv=folds, method="predict_proba")
    model_s = time.perf_counter() - t0
    annotators = []
    for rate in ANNOTATOR_NOISE:
        a = truth.copy()
        wrong = rng.random(n) < rate
        a[wrong] = (truth[wrong] + rng.integers(1, k, wrong.sum())) % k
        annotators.append(a)
    return x.astype(int), label, truth, planted, proba, annotators, model_s


def write_csv(path, x, label, annotators, proba):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"px_{i}" for i in range(x.shape[1])] + ["label"]
                   + [f"annotator_{i + 1}" for i in range(len(annotators))]
                   + [f"p_{c}" for c in range(proba.shape[1])])
        for i in range(len(label)):
            w.writerow(list(x[i]) + [label[i]] + [a[i] for a in annotators] + [repr(float(p)) for p in proba[i]])


@contextlib.contextmanager
def stable_argsort():
    """numpy.argsort with kind="stable" for the duration (cleanlab looks it up at each call)."""
    original = np.argsort

    def stable(a, axis=-1, kind=None, order=None, **kwargs):
        return original(a, axis=axis, kind="stable", order=order, **kwargs)

    np.argsort = stable
    try:
        yield
    finally:
        np.argsort = original


def run_preflight(binary, path, out_dir, annotator_names):
    json_out, rows_out = os.path.join(out_dir, "report.json"), os.path.join(out_dir, "rows.csv")
    cmd = [binary, "profile", path, "--label", "label", "--json", json_out, "--rows", rows_out, "--backend", "cpu", "--quiet"]
    for name in annotator_names:
        cmd += ["--annotator", name]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        sys.exit(f"preflight failed ({done.returncode}): {done.stderr}")
    with open(json_out) as f:
        report = json.load(f)
    with open(rows_out) as f:
        rows = list(csv.DictReader(f))
    return report, rows, seconds, done.stdout


class Table:
    def __init__(self):
        self.lines = []
        self.failed = []

    def add(self, name, ours, theirs, must_match=True):
        if ours is None:
            self.lines.append((name, "missing", fmt(theirs), "", ""))
            if must_match:
                self.failed.append(f"{name}: missing")
            return
        ours_a, theirs_a = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
        if ours_a.shape != theirs_a.shape:
            self.lines.append((name, fmt(ours), fmt(theirs), "shape differs", "FAIL"))
            self.failed.append(f"{name}: shape {ours_a.shape} vs {theirs_a.shape}")
            return
        diff = float(np.max(np.abs(ours_a - theirs_a))) if ours_a.size else 0.0
        ok = diff <= TOLERANCE or not must_match
        mark = "ok" if diff <= TOLERANCE else "info" if not must_match else "FAIL"
        self.lines.append((name, fmt(ours), fmt(theirs), f"{diff:.2e}", mark))
        if not ok:
            self.failed.append(f"{name}: |diff| {diff:.3g}")

    def show(self, title, head=("statistic", "preflight", "peer", "max |diff|", "")):
        print(f"\n{title}\n")
        widths = [max(len(str(r[i])) for r in [head] + self.lines) for i in range(len(head))]
        print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
        print("| " + " | ".join("-" * w for w in widths) + " |")
        for r in self.lines:
            print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")


def fmt(v):
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.6f}"
    return f"{a.ndim}-d array ({a.size} values)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "preflight"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noise", type=float, default=0.10)
    parser.add_argument("--keep", help="write the CSV here and keep it")
    args = parser.parse_args()

    import cleanlab
    import sklearn
    import statsmodels
    from cleanlab.count import compute_confident_joint
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.metrics import (accuracy_score, cohen_kappa_score, confusion_matrix, f1_score, log_loss,
                                 precision_recall_fscore_support, roc_auc_score)
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    x, label, truth, planted, proba, annotators, model_s = make_data(args.seed, args.noise)
    n, k = proba.shape
    names = [f"annotator_{i + 1}" for i in range(len(annotators))]
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "digits_audit.csv")
        write_csv(path, x, label, annotators, proba)
        report, rows, preflight_s, stdout = run_preflight(args.bin, path, tmp, names)

    print(f"digits (scikit-learn {sklearn.__version__} load_digits): {n} rows, {k} classes, seed {args.seed}, "
          f"{planted.sum()} labels flipped ({args.noise:.0%}); model: LogisticRegression, 5-fold "
          f"cross_val_predict ({model_s:.1f} s); annotators with noise {ANNOTATOR_NOISE}")
    print(f"peers: scikit-learn {sklearn.__version__}, statsmodels {statsmodels.__version__}, cleanlab {cleanlab.__version__}")
    print(f"preflight profile: {preflight_s:.2f} s (whole CLI run, --backend cpu)")

    # ---- model audit
    audit = report.get("prediction_audit")
    model = Table()
    predicted = proba.argmax(axis=1)
    classes = list(range(k))
    get = (lambda key: audit.get(key)) if audit else (lambda key: None)
    if audit:
        print(f"preflight found the probabilities: {audit['reason']}")
        assert audit["classes"] == [str(c) for c in classes], audit["classes"]
    model.add("accuracy", get("accuracy"), accuracy_score(label, predicted))
    model.add("confusion matrix (label x predicted)", get("confusion_matrix"),
              confusion_matrix(label, predicted, labels=classes))
    p, r, f, support = precision_recall_fscore_support(label, predicted, labels=classes, zero_division=0)
    per_class = get("per_class")
    model.add("precision per class", [c["precision"] for c in per_class] if per_class else None, p)
    model.add("recall per class", [c["recall"] for c in per_class] if per_class else None, r)
    model.add("F1 per class", [c["f1"] for c in per_class] if per_class else None, f)
    model.add("support per class", [c["support"] for c in per_class] if per_class else None, support)
    # scikit-learn's default: the classes in the labels or the predictions.
    model.add("macro F1", get("macro_f1"), f1_score(label, predicted, average="macro", zero_division=0))
    model.add("log loss", get("log_loss"), log_loss(label, proba, labels=classes))

    # cleanlab sorts with numpy's default argsort, which is not stable (with
    # AVX-512 numpy sorts with a SIMD sort whose order of equal values
    # depends on the CPU): where rounding the calibrated confident joint
    # meets ties, which cell gets the extra row is the sort's choice.
    # preflight breaks such ties as a stable sort does; cleanlab run with a
    # stable argsort must then agree row for row. Both runs are shown.
    cl_mask_shipped = find_label_issues(label, proba)
    cl_joint_shipped = compute_confident_joint(label, proba)
    with stable_argsort():
        cl_mask = find_label_issues(label, proba)
        cl_joint = compute_confident_joint(label, proba)
    cl_quality = get_label_quality_scores(label, proba)
    ours_flag = np.array([r["is_label_issue"] == "true" for r in rows]) if rows and "is_label_issue" in rows[0] else None
    ours_quality = (np.array([float(r["label_quality"]) if r["label_quality"] else np.nan for r in rows])
                    if rows and "label_quality" in rows[0] else None)
    cl = (audit or {}).get("confident_learning")
    model.add("confident joint (calibrated; cleanlab, stable argsort)", cl["confident_joint"] if cl else None, cl_joint)
    model.add("label issues flagged (cleanlab, stable argsort)", (report.get("label_issues") or {}).get("flagged"),
              cl_mask.sum())
    model.add("rows flagged differently (cleanlab, stable argsort)",
              None if ours_flag is None else int((ours_flag != cl_mask).sum()), 0)
    model.add("confident joint (calibrated; cleanlab as shipped)", cl["confident_joint"] if cl else None,
              cl_joint_shipped, must_match=False)
    model.add("rows flagged differently (cleanlab as shipped)",
              None if ours_flag is None else int((ours_flag != cl_mask_shipped).sum()), 0, must_match=False)
    # The rows CSV carries 6 decimals.
    model.add("label quality (self-confidence), per row", ours_quality, cl_quality, must_match=False)
    if ours_quality is not None:
        q_diff = float(np.max(np.abs(ours_quality - cl_quality)))
        if q_diff > 5e-7 + 1e-12:
            model.failed.append(f"label quality: |diff| {q_diff:.3g} beyond the CSV's 6 decimals")
    model.show("Model audit: preflight's prediction_audit beside scikit-learn and cleanlab")
    print(f"\nlabel_issues.method in preflight's report: {(report.get('label_issues') or {}).get('method')}")

    # ---- annotator agreement
    agreement = report.get("annotator_agreement")
    agree = Table()
    if agreement:
        used = agreement["annotators"]
        columns = {"label": label, **dict(zip(names, annotators))}
        matrix = np.stack([columns[a] for a in used], axis=1)
        print(f"\npreflight's annotators: {', '.join(used)} ({agreement.get('reason', '')})")
        agree.add("percent agreement (all annotators)", agreement.get("percent_agreement"),
                  np.mean(np.all(matrix == matrix[:, :1], axis=1)))
        counts, _ = aggregate_raters(matrix)
        agree.add("Fleiss' kappa (statsmodels)", agreement.get("fleiss_kappa"), fleiss_kappa(counts, method="fleiss"))
        if len(used) == 2:
            agree.add("Cohen's kappa", agreement.get("cohen_kappa"), cohen_kappa_score(matrix[:, 0], matrix[:, 1]))
        agreement_classes = [int(c) for c in agreement.get("classes", [])]
        for pair in agreement.get("pairs", []):
            a, b = columns[pair["first"]], columns[pair["second"]]
            agree.add(f"Cohen's kappa {pair['first']} / {pair['second']}", pair.get("cohen_kappa"), cohen_kappa_score(a, b))
            agree.add(f"agreement {pair['first']} / {pair['second']}", pair.get("agreement"), np.mean(a == b))
            if pair.get("confusion"):
                agree.add(f"confusion {pair['first']} x {pair['second']}", pair["confusion"],
                          confusion_matrix(a, b, labels=agreement_classes))
    else:
        agree.add("annotator_agreement section", None, 0)
    agree.show("Annotator agreement: preflight's annotator_agreement beside scikit-learn and statsmodels")

    # ---- label-error detection against the planted truth
    print("\nLabel-error detection against the planted flips\n")
    print("| tool | precision | recall | F1 | flagged | AUROC of the score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    quality_rows = []
    tools = [("preflight", ours_flag, ours_quality), ("cleanlab, stable argsort", cl_mask, cl_quality),
             ("cleanlab as shipped", cl_mask_shipped, cl_quality)]
    for tool, flags, quality in tools:
        if flags is None:
            print(f"| {tool} | missing | | | | |")
            continue
        tp = int((flags & planted).sum())
        precision = tp / max(flags.sum(), 1)
        recall = tp / planted.sum()
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        auroc = roc_auc_score(planted, 1 - quality)
        quality_rows.append((tool, f1, auroc))
        print(f"| {tool} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {int(flags.sum())} | {auroc:.4f} |")
    if len(quality_rows) == 3 and (quality_rows[0][1] < quality_rows[1][1] - 1e-12
                                   or quality_rows[0][2] < quality_rows[1][2] - 1e-4):
        model.failed.append("preflight's label-error detection is worse than cleanlab's")

    if audit and audit.get("slices"):
        s = audit["slices"][0]
        print(f"\npreflight's worst slice: {s['column']} = {s['slice']}: accuracy {s['accuracy']:.3f} on {s['rows']} rows "
              f"(overall {audit['accuracy']:.3f})")
    failed = model.failed + agree.failed
    if failed:
        print("\nMISMATCH:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print("\nevery statistic matches its peer within 1e-6")


if __name__ == "__main__":
    main()
