#!/usr/bin/env python3
"""Exact duplicates, conflicting labels and class balance beside pandas and
cleanlab, on real public tables, as they are and with planted defects.

Data (all offline: files in this repository or inside PyPI packages):

  penguins         tests/fixtures/penguins.csv (palmerpenguins 0.1.6, CC0)      label species
  cars             tests/fixtures/cars.jsonl (vega-datasets 0.9.0)               label Origin
  iris-vega        tests/fixtures/iris.jsonl (vega-datasets 0.9.0)               label species
  iris-sklearn     sklearn.datasets.load_iris, written as CSV                     label target (names)
  wine             sklearn.datasets.load_wine, written as CSV                     label target (names)
  breast-cancer    sklearn.datasets.load_breast_cancer, written as CSV            label target (names)
  digits           sklearn.datasets.load_digits (1797 x 64 pixels), as CSV        label target (0-9)
  seattle-weather  vega_datasets/_data/seattle-weather.csv, bytes as shipped      label weather
  airports         vega_datasets/_data/airports.csv, bytes as shipped             label country

(the last two need `pip install vega_datasets`; without it they are skipped
with a note). The sklearn tables are written with pandas `to_csv` (floats
as Python writes them, so they read back to the same values).

Each table is run as it is and with planted defects (seeded per table):

  an `id` column     added first: 1..N for the rows, new numbers for copies
  exact copies       max(3, 2% of N) rows copied whole, their id included
                     (one of them copied twice: a group of 3)
  id-only copies     as many rows copied with a new id: duplicates only once
                     identifier-like columns are left out
  flipped copies     max(2, 1% of N) rows copied with a new id and another
                     existing class (drawn uniformly): conflicting labels
  variant copies     where the table has a text column besides the label:
                     max(2, 1% of N) rows copied with a new id and that text
                     upper-cased or padded with spaces (duplicates only with
                     --normalize, once ids are left out)
  a rare class       rows relabelled to a new class, as many as keep it at
                     half the 0.1/K share below which a class is flagged

Copies are inserted at random places; sources are distinct rows with a
label and features that occur once. Then, per table and variant:

  1. preflight `profile FILE --json R.json --rows ROWS.csv --label COL
     --backend cpu --quiet` (and the same with `--normalize`), against
     pandas `read_csv` (`read_json(lines=True)` for .jsonl) +
     `duplicated(keep=False)` (rows in groups) and `duplicated(keep="first")`
     (redundant rows): `duplicates.exact` must equal pandas exactly, counts
     and each row's group (the rows CSV's `exact_group`, the smallest row
     id of the group, against pandas' groupby over all columns). Then
     pandas on the frame without the columns that preflight's
     `ignoring_identifiers.columns_ignored` names, against that section
     (the planted `id` must be among them). With --normalize, pandas runs
     on a frame of normalised keys (read as text; whitespace trimmed and
     collapsed, lower-cased, an empty value missing, numbers by value,
     true/false by truth): preflight's normalisation, written again in
     Python.
  2. Conflicting labels: rows with a label, grouped by every column but the
     label and those in `conflicting_labels.columns_ignored`
     (`groupby(dropna=False)`), groups with `nunique(label) > 1`, against
     `conflicting_labels` (groups, rows in groups, rows outvoted = group
     size minus its most common label's count, and each row's group).
  3. Class balance: cleanlab `Datalab(data, label_name=COL).find_issues(
     features=X, issue_types={"class_imbalance": {}})` (X: the numeric
     columns, missing values filled with the column median; rows without a
     label left out) against `class_balance`. The rules differ: both use
     the share 0.1/K, but cleanlab flags only the single rarest class (ties
     to the first in sorted order) and marks its rows, preflight flags
     every class below it. Consistent when cleanlab's class is one of
     preflight's and cleanlab flags one exactly when preflight flags any.
  4. Times, median of --repeat runs: preflight's whole CLI run (process
     start, reading, every check, writing both outputs) and, of it, the
     exact-duplicates stage (`compute.timings_ms.duplicates`: identical
     rows and rows ignoring identifiers); pandas read +
     both duplicated() calls; pandas' conflict groupby alone; cleanlab
     Datalab + find_issues.

Prints markdown tables; exits 1 on any mismatch with pandas, a planted id
column not ignored, or cleanlab and preflight inconsistent.

    pip install pandas scikit-learn "cleanlab[datalab]" vega_datasets
    cargo build --release             # or --bin PATH / PREFLIGHT_BIN
    python3 bench/peers_tabular.py    # --seed N --repeat R --only NAME,... --no-normalize
"""

import argparse
import csv
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# pandas read_csv's default missing-value tokens (as preflight's ingest has them).
NA_TOKENS = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
             "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}


# ---------------------------------------------------------------- data sets

class Table:
    """Rows of a table: `header` + lists of strings (CSV) or dicts (JSONL)."""

    def __init__(self, name, fmt, label, text_column, origin, header=None, rows=None):
        self.name, self.fmt, self.label, self.text_column, self.origin = name, fmt, label, text_column, origin
        self.header, self.rows = header, rows

    def value(self, row, column):
        return row[self.header.index(column)] if self.fmt == "csv" else row.get(column)

    def set_value(self, row, column, value):
        row = list(row) if self.fmt == "csv" else dict(row)
        if self.fmt == "csv":
            row[self.header.index(column)] = value
        else:
            row[column] = value
        return row

    def missing(self, value):
        return value is None or (self.fmt == "csv" and value in NA_TOKENS)

    def feature_key(self, row):
        if self.fmt == "csv":
            i = self.header.index(self.label)
            return tuple(v for j, v in enumerate(row) if j != i)
        return json.dumps({k: v for k, v in row.items() if k != self.label}, sort_keys=True)

    def write(self, path):
        if self.fmt == "csv":
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(self.header)
                w.writerows(self.rows)
        else:
            with open(path, "w", encoding="utf-8") as f:
                for r in self.rows:
                    f.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")


def read_csv_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def read_jsonl_rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sklearn_table(name, loader, numeric_target=False):
    import sklearn
    bunch = loader(as_frame=True)
    frame = bunch.frame.copy()
    if not numeric_target:
        frame["target"] = [str(bunch.target_names[t]) for t in bunch.target]
    header, rows = read_csv_rows_from_text(frame.to_csv(index=False))
    return Table(name, "csv", "target", None, f"scikit-learn {sklearn.__version__} {loader.__name__}()",
                 header, rows)


def read_csv_rows_from_text(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def load_tables(only):
    from sklearn import datasets as skd
    specs = [
        ("penguins", lambda: Table("penguins", "csv", "species", "island", "tests/fixtures/penguins.csv",
                                   *read_csv_rows(os.path.join(FIXTURES, "penguins.csv")))),
        ("cars", lambda: Table("cars", "jsonl", "Origin", "Name", "tests/fixtures/cars.jsonl", None,
                               read_jsonl_rows(os.path.join(FIXTURES, "cars.jsonl")))),
        ("iris-vega", lambda: Table("iris-vega", "jsonl", "species", None, "tests/fixtures/iris.jsonl", None,
                                    read_jsonl_rows(os.path.join(FIXTURES, "iris.jsonl")))),
        ("iris-sklearn", lambda: sklearn_table("iris-sklearn", skd.load_iris)),
        ("wine", lambda: sklearn_table("wine", skd.load_wine)),
        ("breast-cancer", lambda: sklearn_table("breast-cancer", skd.load_breast_cancer)),
        ("digits", lambda: sklearn_table("digits", skd.load_digits, numeric_target=True)),
        ("seattle-weather", lambda: vega_table("seattle-weather", "weather", None)),
        ("airports", lambda: vega_table("airports", "country", "city")),
    ]
    unknown = only - {name for name, _ in specs}
    if unknown:
        sys.exit(f"unknown table(s) {', '.join(sorted(unknown))}; known: {', '.join(n for n, _ in specs)}")
    tables, notes = [], []
    for name, make in specs:
        if only and name not in only:
            continue
        try:
            tables.append(make())
        except ImportError as e:
            notes.append(f"{name}: skipped ({e})")
    return tables, notes


def vega_table(name, label, text_column):
    import vega_datasets
    path = os.path.join(os.path.dirname(vega_datasets.__file__), "_data", f"{name}.csv")
    version = getattr(vega_datasets, "__version__", "?")
    return Table(name, "csv", label, text_column, f"vega_datasets {version} _data/{name}.csv", *read_csv_rows(path))


# ---------------------------------------------------------------- planting

def plant(table, seed):
    """A copy of `table` with an id column and the defects above; returns
    (table, facts about what was planted)."""
    rng = random.Random(f"{seed}:{table.name}")
    n = len(table.rows)
    existing = table.header if table.fmt == "csv" else {k for r in table.rows for k in r}
    id_name = "record_id" if "id" in existing else "id"
    if table.fmt == "csv":
        header = [id_name] + table.header
        rows = [[str(i + 1)] + r for i, r in enumerate(table.rows)]
    else:
        header = None
        rows = [{id_name: i + 1, **r} for i, r in enumerate(table.rows)]
    t = Table(table.name, table.fmt, table.label, table.text_column, table.origin, header, rows)

    labels = [t.value(r, t.label) for r in rows]
    classes = sorted({str(v) for v in labels if not t.missing(v)})
    numeric_label = all(isinstance(v, (int, float)) or (isinstance(v, str) and v.lstrip("-").isdigit())
                        for v in labels if not t.missing(v))
    keys = {}
    for r in table.rows:
        k = table.feature_key(r)
        keys[k] = keys.get(k, 0) + 1
    candidates = [i for i, r in enumerate(table.rows)
                  if not t.missing(table.value(r, t.label)) and keys[table.feature_key(r)] == 1
                  and (t.text_column is None or not t.missing(table.value(r, t.text_column)))]
    rng.shuffle(candidates)

    k_dup = max(3, round(0.02 * n))
    k_flip = max(2, round(0.01 * n))
    k_var = max(2, round(0.01 * n)) if t.text_column else 0
    total = n + (k_dup + 1) + k_dup + k_flip + k_var
    k_classes = len(classes) + 1
    k_rare = max(1, int(0.5 * 0.1 / k_classes * total))
    take = iter(candidates)
    exact_src = [next(take) for _ in range(k_dup)]
    id_src = [next(take) for _ in range(k_dup)]
    flip_src = [next(take) for _ in range(k_flip)]
    var_src = [next(take) for _ in range(k_var)]
    rare_src = [next(take) for _ in range(k_rare)]

    if numeric_label:
        rare = max(int(float(c)) for c in classes) + 1
        rare = rare if table.fmt == "jsonl" else str(rare)
    else:
        rare = "planted_rare"
    for i in rare_src:
        rows[i] = t.set_value(rows[i], t.label, rare)

    next_id = n + 1
    copies = [rows[i] for i in exact_src + [exact_src[0]]]

    def with_id(row):
        nonlocal next_id
        row = t.set_value(row, id_name, str(next_id) if t.fmt == "csv" else next_id)
        next_id += 1
        return row

    copies += [with_id(rows[i]) for i in id_src]
    for i in flip_src:
        current = str(t.value(rows[i], t.label))
        other = rng.choice([c for c in classes if c != current])
        if t.fmt == "jsonl" and numeric_label:
            other = int(other)
        copies.append(t.set_value(with_id(rows[i]), t.label, other))
    for j, i in enumerate(var_src):
        text = t.value(rows[i], t.text_column)
        changed = text.upper() if j % 2 == 0 and text.upper() != text else f"  {text} "
        copies.append(t.set_value(with_id(rows[i]), t.text_column, changed))
    for c in copies:
        rows.insert(rng.randrange(len(rows) + 1), c)
    facts = {"id column": id_name, "exact copies": k_dup + 1, "id-only copies": k_dup, "flipped copies": k_flip,
             "variant copies": k_var, "rare class": f"{rare} ({k_rare} rows)", "rows": len(rows)}
    return t, facts


# ---------------------------------------------------------------- preflight

def preflight_bin(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit(f"no preflight binary at {path}: cargo build --release, or pass --bin")
    return path


def run_preflight(binary, data, label, normalize, workdir, repeat):
    report, rows_csv = os.path.join(workdir, "report.json"), os.path.join(workdir, "rows.csv")
    cmd = [binary, "profile", data, "--json", report, "--rows", rows_csv, "--label", label, "--backend", "cpu",
           "--quiet"] + (["--normalize"] if normalize else [])
    times, stage = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            sys.exit(f"preflight failed ({proc.returncode}) on {data}: {proc.stderr.strip()}")
        with open(report) as f:
            rep = json.load(f)
        stage.append(rep["compute"]["timings_ms"].get("duplicates", float("nan")) / 1000)
    per_row = pd.read_csv(rows_csv, keep_default_na=False, dtype=str)
    return rep, per_row, statistics.median(times), statistics.median(stage)


def group_column(per_row, column):
    return [int(v) if v != "" else None for v in per_row[column]]


# ---------------------------------------------------------------- pandas side

def read_pandas(path, fmt):
    return pd.read_csv(path) if fmt == "csv" else pd.read_json(path, lines=True)


def normalize_text(s):
    return " ".join(s.split()).lower()


def parse_number(t):
    """preflight's parse_number: digits, sign or point first; no letters
    but e/E; finite. (Python's float also takes '1_0', which Rust does not.)"""
    if not t or not (t[0].isdigit() or t[0] in "-+."):
        return None
    if not any(c.isdigit() for c in t) or any(c.isalpha() and c not in "eE" for c in t) or "_" in t:
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def normalized_key(value):
    """A normalised cell as a hashable key: what preflight's --normalize compares."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "m"
    if isinstance(value, bool):
        return f"b{int(value)}"
    if isinstance(value, (int, float)):
        return f"n{float(value) + 0.0!r}"
    text = normalize_text(str(value))
    if not text:
        return "m"
    v = parse_number(text)
    if v is not None:
        return f"n{v + 0.0!r}"
    if text in ("true", "false"):
        return f"b{int(text == 'true')}"
    return f"t{text}"


def normalized_frame(path, fmt):
    """Every cell as its normalised key (read as text, missing tokens as pandas reads them)."""
    if fmt == "csv":
        raw = pd.read_csv(path, dtype=str, keep_default_na=True)
        return raw.apply(lambda col: col.map(normalized_key, na_action=None)).astype(object)
    records = read_jsonl_rows(path)
    columns = list(dict.fromkeys(k for r in records for k in r))
    return pd.DataFrame([[normalized_key(r.get(c)) for c in columns] for r in records], columns=columns)


def pandas_duplicates(frame):
    """(redundant rows, rows in groups, groups, each row's group as its smallest row id)."""
    in_groups = frame.duplicated(keep=False)
    redundant = int(frame.duplicated(keep="first").sum())
    rows_in = int(in_groups.sum())
    if frame.shape[1] == 0:
        return redundant, rows_in, rows_in - redundant, [None] * len(frame)
    gid = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup()
    leader = pd.Series(np.arange(len(frame)), index=frame.index).groupby(gid.to_numpy()).transform("min")
    groups = [int(l) if d else None for l, d in zip(leader.to_numpy(), in_groups.to_numpy())]
    return redundant, rows_in, rows_in - redundant, groups


def pandas_conflicts(frame, label, features, normalize):
    """(groups, rows in groups, rows outvoted, each row's group) over rows with a label.
    With `normalize`, `frame` holds normalised keys already ("m" = missing)."""
    y = frame[label]
    keep = (y != "m") if normalize else y.notna()
    sub = frame.loc[keep, features].copy()
    sub["__label"] = y[keep]
    sub["__row"] = np.flatnonzero(keep.to_numpy())
    grouped = sub.groupby(features, dropna=False, sort=False)
    gid = grouped.ngroup()
    conflict = grouped["__label"].transform("nunique") > 1
    cg, cl, rows = gid[conflict], sub.loc[conflict, "__label"], sub.loc[conflict, "__row"]
    groups, rows_in = int(cg.nunique()), int(conflict.sum())
    top = int(pd.DataFrame({"g": cg, "l": cl}).groupby(["g", "l"]).size().groupby(level=0).max().sum()) if rows_in else 0
    outvoted = rows_in - top
    group_of = [None] * len(frame)
    for r, first in zip(rows.to_numpy(), rows.groupby(cg).transform("min").to_numpy()):
        group_of[int(r)] = int(first)
    return groups, rows_in, outvoted, group_of


# ---------------------------------------------------------------- cleanlab side

def run_cleanlab(path, fmt, label, repeat):
    from cleanlab import Datalab
    frame = read_pandas(path, fmt)
    frame = frame[frame[label].notna()].reset_index(drop=True)
    numeric = frame.drop(columns=[label]).select_dtypes(include=["number", "bool"]).astype(float)
    features = numeric.fillna(numeric.median()).fillna(0.0).to_numpy()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        lab = Datalab(data=frame, label_name=label, verbosity=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lab.find_issues(features=features, issue_types={"class_imbalance": {}})
        times.append(time.perf_counter() - t0)
    issues = lab.get_issues("class_imbalance")
    summary = lab.get_issue_summary("class_imbalance")
    flag = issues["is_class_imbalance_issue"].to_numpy()
    flagged_rows = int(flag.sum())
    share = float(summary["score"].iloc[0])  # the rarest class's share
    # Rows of the rarest class score its share, the others 1.
    rarest_rows = issues["class_imbalance_score"].to_numpy() == issues["class_imbalance_score"].min()
    rarest = canonical_class(frame.loc[rarest_rows, label].iloc[0])
    flagged_class = canonical_class(frame.loc[flag, label].iloc[0]) if flagged_rows else None
    return {"rarest": str(rarest), "share": share, "flagged_rows": flagged_rows, "flagged_class": flagged_class,
            "classes": len(lab.class_names), "rows": len(frame), "seconds": statistics.median(times)}


def canonical_class(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------- one run

def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def triple(a, b, c):
    return f"{a} / {b} / {c}"


def compare(binary, table, variant, path, normalize, workdir, repeat, out):
    rep, per_row, cli_s, stage_s = run_preflight(binary, path, table.label, normalize, workdir, repeat)
    problems = []
    exact = rep["duplicates"]["exact"]

    def read_and_duplicated():
        f = normalized_frame(path, table.fmt) if normalize else read_pandas(path, table.fmt)
        f.duplicated(keep=False)
        f.duplicated(keep="first")

    pandas_s = timed(read_and_duplicated, repeat)
    frame = read_pandas(path, table.fmt)
    keyed = normalized_frame(path, table.fmt) if normalize else frame
    p_red, p_in, p_groups, p_group_of = pandas_duplicates(keyed)
    ours = (exact["redundant_rows"], exact["rows_in_groups"], exact["group_count"])
    if ours != (p_red, p_in, p_groups):
        problems.append(f"exact counts {ours} vs pandas {(p_red, p_in, p_groups)}")
    if group_column(per_row, "exact_group") != p_group_of:
        problems.append("exact: rows' groups differ from pandas'")
    if len(frame) != rep["source"]["rows"]:
        problems.append(f"rows: preflight {rep['source']['rows']}, pandas {len(frame)}")

    ids = exact.get("ignoring_identifiers")
    ignored = [c["column"] for c in ids["columns_ignored"]] if ids else []
    unique_cols = [c for c in frame.columns if frame[c].notna().all() and frame[c].is_unique
                   and not pd.api.types.is_float_dtype(frame[c])]
    if variant == "planted" and "id" not in ignored and "record_id" not in ignored:
        problems.append(f"planted id column not ignored (ignored: {ignored})")
    if ids:
        i_red, i_in, i_groups, i_group_of = pandas_duplicates(keyed.drop(columns=ignored))
        i_ours = (ids["redundant_rows"], ids["rows_in_groups"], ids["group_count"])
        if i_ours != (i_red, i_in, i_groups):
            problems.append(f"ignoring ids {i_ours} vs pandas {(i_red, i_in, i_groups)}")
        if group_column(per_row, "exact_group_ignoring_ids") != i_group_of:
            problems.append("ignoring ids: rows' groups differ from pandas'")
        ids_cells = (triple(*i_ours), triple(i_red, i_in, i_groups))
    else:
        ids_cells = ("-", "-")

    conf = rep.get("conflicting_labels")
    c_ignored = [c["column"] for c in conf["columns_ignored"]] if conf else []
    features = [c for c in keyed.columns if c != table.label and c not in c_ignored]
    c_groups, c_rows, c_out, c_group_of = pandas_conflicts(keyed, table.label, features, normalize)
    groupby_s = timed(lambda: pandas_conflicts(keyed, table.label, features, normalize), repeat)
    if conf is None:
        problems.append("no conflicting_labels section")
        c_ours = ("-", "-", "-")
    else:
        c_ours = (conf["group_count"], conf["rows_in_groups"], conf["rows_outvoted"])
        if c_ours != (c_groups, c_rows, c_out):
            problems.append(f"conflicts {c_ours} vs pandas {(c_groups, c_rows, c_out)}")
        if group_column(per_row, "conflict_group") != c_group_of:
            problems.append("conflicts: rows' groups differ from pandas'")

    mode = "normalize" if normalize else "plain"
    out["dups"].append([table.name, variant, mode, len(frame), triple(*ours), triple(p_red, p_in, p_groups),
                        ", ".join(ignored) or "-", *ids_cells, ", ".join(map(str, unique_cols)) or "-",
                        "match" if not any(p.startswith(("exact", "ignoring", "planted", "rows")) for p in problems)
                        else "MISMATCH"])
    out["conflicts"].append([table.name, variant, mode, conf["feature_columns"] if conf else "-",
                             triple(*c_ours), triple(c_groups, c_rows, c_out),
                             "MISMATCH" if any(p.startswith(("conflicts", "no conflicting")) for p in problems)
                             else "match"])

    if not normalize:
        bal = rep.get("class_balance")
        cl = run_cleanlab(path, table.fmt, table.label, repeat)
        ours_flagged = bal["flagged_classes"] if bal else []
        consistent = (cl["flagged_class"] is None) == (not ours_flagged) and \
            (cl["flagged_class"] is None or cl["flagged_class"] in ours_flagged)
        pandas_counts = {canonical_class(k): int(v) for k, v in frame[table.label].value_counts().items()}
        if bal and pandas_counts != bal["counts"]:
            problems.append(f"class counts differ from pandas value_counts: {bal['counts']} vs {pandas_counts}")
        if not consistent:
            problems.append(f"class balance: cleanlab flags {cl['flagged_class']}, preflight {ours_flagged}")
        k = len(bal["classes"])
        out["balance"].append([
            table.name, variant, k, f"{bal['flag_share_below']:.4f}",
            ", ".join(f"{c} ({bal['counts'][c]})" for c in ours_flagged) or "none",
            f"{bal['imbalance_ratio']:.2f}", ", ".join(bal.get("singletons", [])) or "-",
            f"{cl['rarest']} ({cl['share']:.4f})", f"{cl['flagged_class']} ({cl['flagged_rows']} rows)"
            if cl["flagged_class"] is not None else "none",
            "yes" if consistent else "NO"])
        out["times"].append([table.name, variant, f"{len(frame)} x {frame.shape[1]}", f"{cli_s:.3f}", f"{stage_s:.4f}",
                             f"{pandas_s:.3f}", f"{groupby_s:.3f}", f"{cl['seconds']:.3f}"])
    for p in problems:
        out["problems"].append(f"{table.name} {variant} {mode}: {p}")


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("PREFLIGHT_BIN", os.path.join(ROOT, "target/release/preflight")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each tool (the median is shown)")
    ap.add_argument("--only", default="", help="comma-separated table names")
    ap.add_argument("--no-normalize", action="store_true", help="skip the --normalize runs")
    ap.add_argument("--keep", metavar="DIR", help="write the planted files to DIR")
    args = ap.parse_args()
    binary = preflight_bin(args.bin)
    only = {s for s in args.only.split(",") if s}
    tables, notes = load_tables(only)
    out = {"dups": [], "conflicts": [], "balance": [], "times": [], "problems": []}
    planted_rows = []
    workdir = tempfile.mkdtemp(prefix="preflight-peers-tab-")
    try:
        for table in tables:
            planted, facts = plant(table, args.seed)
            planted_rows.append([table.name, table.origin, len(table.rows), facts["rows"], facts["exact copies"],
                                 facts["id-only copies"], facts["flipped copies"], facts["variant copies"] or "-",
                                 facts["rare class"]])
            for variant, t in (("as is", table), ("planted", planted)):
                ext = "csv" if t.fmt == "csv" else "jsonl"
                path = os.path.join(workdir, f"{t.name}-{variant.replace(' ', '_')}.{ext}")
                t.write(path)
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    shutil.copy(path, args.keep)
                for normalize in (False,) if args.no_normalize else (False, True):
                    compare(binary, t, variant, path, normalize, workdir, args.repeat, out)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    import cleanlab
    import sklearn
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}; pandas {pd.__version__}; cleanlab {cleanlab.__version__}; scikit-learn {sklearn.__version__}; "
          f"seed {args.seed}; median of {args.repeat} runs")
    for n in notes:
        print(n)
    print("\nPlanted (per table):\n")
    print(markdown(["table", "source", "rows", "rows after planting", "exact copies", "id-only copies", "flipped copies",
                    "variant copies", "rare class"], planted_rows))
    print("\n1. Exact duplicates: redundant rows / rows in groups / groups\n")
    print(markdown(["table", "variant", "mode", "rows", "preflight exact", "pandas duplicated()",
                    "identifier-like (preflight)", "preflight ignoring ids", "pandas without them",
                    "unique per row (pandas)", "result"], out["dups"]))
    print("\n2. Conflicting labels: groups / rows in groups / rows outvoted\n")
    print(markdown(["table", "variant", "mode", "feature columns", "preflight", "pandas groupby", "result"],
                   out["conflicts"]))
    print("\n3. Class balance: preflight flags every class below 0.1/K; cleanlab only the rarest class\n")
    print(markdown(["table", "variant", "K", "0.1/K", "preflight flagged (rows)", "imbalance ratio", "singletons",
                    "cleanlab rarest (share)", "cleanlab flagged", "consistent"], out["balance"]))
    print("\n4. Seconds, end to end (median)\n")
    print(markdown(["table", "variant", "rows x columns", "preflight CLI (all checks)",
                    "of which its exact-duplicates stage", "pandas read + duplicated x2",
                    "pandas conflict groupby", "cleanlab Datalab + find_issues"], out["times"]))
    if out["problems"]:
        print("\nMISMATCHES:")
        for p in out["problems"]:
            print("  " + p)
        sys.exit(1)
    print("\nall counts equal pandas'; cleanlab's class-imbalance flag consistent with preflight's")


if __name__ == "__main__":
    main()
