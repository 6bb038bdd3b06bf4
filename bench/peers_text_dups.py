#!/usr/bin/env python3
"""Text near duplicates beside datasketch's MinHashLSH, on real text with
planted near duplicates.

Data: the fortune cookies of Debian's `fortunes` package (fortune-mod's data
files, /usr/share/games/fortunes; BSD licence): every fortune of every file,
in file order. When the files are not installed, the package is fetched with
`apt-get download fortunes` (Debian's registry) and unpacked with
`dpkg-deb -x` into a cache folder; nothing else is downloaded.

Planting (seed 1 by default): N fortunes of 60 to 1000 characters are copied
with 1 to 3 edits each: a word replaced by another word of the corpus, a
word deleted, a word's case changed, the whole text lower- or upper-cased,
punctuation added or removed. The copies are inserted at random places.

Both tools see the same CSV (`id,text`) and the same shingles: the text
lower-cased, white space collapsed (`" ".join(text.lower().split())`),
character 5-grams (the whole text when shorter), 128 permutations, Jaccard
threshold 0.7:

- datasketch: `MinHash.bulk` over the shingle sets, `MinHashLSH(threshold=0.7,
  num_perm=128)` (its own banding, 14 x 9), every text inserted then
  queried; groups are the connected components of the query results
  (datasketch does not verify candidates).
- preflight: `preflight profile data.csv --text text --json ... --rows ...
  --backend cpu`; groups are the rows sharing `text_dup_group` (exact and
  near duplicates joined, as datasketch's components are).

Measures, for each: recall of the planted pairs (both rows in one group),
over all planted pairs and over those whose true Jaccard is >= 0.7; false
groups: groups whose rows are not connected by pairs of true Jaccard >= 0.7
(some member joined on an unverified guess); groups and rows in groups; end
to end time (datasketch: reading the CSV to groups, in this process;
preflight: the whole CLI run, every other check included, and its
text-duplicates stage alone).

    pip install datasketch
    cargo build --profile ci          # or --release; or set PREFLIGHT_BIN
    python3 bench/peers_text_dups.py  # --planted N --seed S --threshold T --repeat R
"""

import argparse
import csv
import glob
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHINGLE = 5
PERMUTATIONS = 128


def fortunes_dir():
    """The fortune files: installed, or unpacked from Debian's package."""
    installed = "/usr/share/games/fortunes"
    if os.path.isfile(os.path.join(installed, "fortunes")) or glob.glob(os.path.join(installed, "wisdom")):
        return installed, "installed Debian package `fortunes`"
    cache = os.path.join(tempfile.gettempdir(), "preflight-bench-fortunes")
    unpacked = os.path.join(cache, "x", "usr", "share", "games", "fortunes")
    if not os.path.isdir(unpacked):
        os.makedirs(cache, exist_ok=True)
        subprocess.run(["apt-get", "download", "fortunes"], cwd=cache, check=True, capture_output=True)
        debs = sorted(glob.glob(os.path.join(cache, "fortunes_*.deb")))
        if not debs:
            sys.exit("apt-get download fortunes gave no .deb")
        subprocess.run(["dpkg-deb", "-x", debs[-1], os.path.join(cache, "x")], check=True)
    version = subprocess.run(["dpkg-deb", "-f", sorted(glob.glob(os.path.join(cache, "fortunes_*.deb")))[-1], "Version"],
                             capture_output=True, text=True).stdout.strip()
    return unpacked, f"Debian package `fortunes` {version} (apt-get download, unpacked)"


def read_fortunes(folder):
    texts = []
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        name = os.path.basename(path)
        if name.endswith((".dat", ".u8")) or os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for chunk in f.read().split("\n%\n"):
                text = chunk.strip("%\n").strip()
                if text:
                    texts.append(text)
    return texts


def normalize(text):
    return " ".join(text.lower().split())


def shingles(text):
    t = normalize(text)
    if not t:
        return set()
    if len(t) < SHINGLE:
        return {t}
    return {t[i:i + SHINGLE] for i in range(len(t) - SHINGLE + 1)}


def jaccard(a, b):
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


WORD = re.compile(r"[A-Za-z']+")


def edit(text, rng, vocabulary):
    """1 to 3 small edits: word replaced or deleted, case, punctuation."""
    for _ in range(rng.randint(1, 3)):
        words = list(WORD.finditer(text))
        kind = rng.choice(["replace", "delete", "case_word", "case_all", "punct_add", "punct_drop"])
        if kind in ("replace", "delete", "case_word") and words:
            m = rng.choice(words)
            if kind == "replace":
                new = rng.choice(vocabulary)
            elif kind == "delete":
                new = ""
            else:
                new = m.group(0).upper() if m.group(0).islower() else m.group(0).lower()
            text = text[:m.start()] + new + text[m.end():]
        elif kind == "case_all":
            text = text.lower() if rng.random() < 0.5 else text.upper()
        elif kind == "punct_add" and words:
            m = rng.choice(words)
            text = text[:m.end()] + rng.choice([",", ";", "!", "?", " -"]) + text[m.end():]
        else:
            spots = [i for i, c in enumerate(text) if c in ",.;:!?"]
            if spots:
                i = rng.choice(spots)
                text = text[:i] + text[i + 1:]
    return text


def plant(texts, count, seed):
    """Inserts `count` edited copies; returns rows and the planted (source, copy) row pairs."""
    rng = random.Random(seed)
    vocabulary = sorted({w.lower() for t in texts for w in WORD.findall(t) if len(w) > 3})
    candidates = [i for i, t in enumerate(texts) if 60 <= len(t) <= 1000]
    sources = rng.sample(candidates, count)
    rows = [(t, None) for t in texts]  # (text, index of the source text)
    for s in sources:
        rows.insert(rng.randrange(len(rows) + 1), (edit(texts[s], rng, vocabulary), s))
    # Row ids: the source's row is where its original text ended up.
    row_of_text = {}
    for r, (t, source) in enumerate(rows):
        if source is None:
            row_of_text[len(row_of_text)] = r
    pairs = [(row_of_text[source], r) for r, (t, source) in enumerate(rows) if source is not None]
    return [t for t, _ in rows], pairs


class UnionFind:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def groups_of(roots):
    groups = {}
    for row, root in enumerate(roots):
        if root is not None:
            groups.setdefault(root, []).append(row)
    return [g for g in groups.values() if len(g) >= 2]


def run_datasketch(csv_path, threshold):
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    with open(csv_path, newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    sets = [[s.encode("utf-8") for s in shingles(t)] for t in texts]
    minhashes = MinHash.bulk(sets, num_perm=PERMUTATIONS)
    lsh = MinHashLSH(threshold=threshold, num_perm=PERMUTATIONS)
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m)
    uf = UnionFind(len(texts))
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            uf.union(i, j)
    roots = [uf.find(i) for i in range(len(texts))]
    seconds = time.perf_counter() - started
    return groups_of(roots), seconds, {"bands x rows": f"{lsh.b} x {lsh.r}"}


def preflight_bin():
    if os.environ.get("PREFLIGHT_BIN"):
        return os.environ["PREFLIGHT_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    for profile in ("release", "ci"):
        path = os.path.join(target, profile, "preflight")
        if os.path.exists(path):
            return path
    sys.exit("no preflight binary: cargo build --profile ci (or --release), or set PREFLIGHT_BIN")


def run_preflight(csv_path, threshold, workdir):
    json_path = os.path.join(workdir, "report.json")
    rows_path = os.path.join(workdir, "rows.csv")
    cmd = [preflight_bin(), "profile", csv_path, "--text", "text", "--text-threshold", str(threshold),
           "--backend", "cpu", "--json", json_path, "--rows", rows_path, "--quiet"]
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"preflight failed ({result.returncode}): {result.stderr}")
    with open(json_path, encoding="utf-8") as f:
        report = json.load(f)
    with open(rows_path, newline="", encoding="utf-8") as f:
        roots = [int(r["text_dup_group"]) if r["text_dup_group"] else None for r in csv.DictReader(f)]
    section = report["text_duplicates"][0]
    extra = {
        "bands x rows": f"{section['bands']} x {section['rows_per_band']}",
        "text stage (s)": report["compute"]["timings_ms"].get("text_duplicates", 0) / 1000,
        "exact groups": section["exact"]["group_count"],
        "near groups": section["near"]["group_count"],
        "engine": section["engine"],
    }
    return groups_of(roots), seconds, extra


def score(groups, pairs, eligible, sets, threshold):
    group_of = {}
    for g, rows in enumerate(groups):
        for r in rows:
            group_of[r] = g
    found = lambda ps: sum(1 for a, b in ps if a in group_of and group_of.get(a) == group_of.get(b))
    false_groups = 0
    for rows in groups:
        uf = UnionFind(len(rows))
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                if jaccard(sets[rows[i]], sets[rows[j]]) >= threshold - 1e-12:
                    uf.union(i, j)
        if len({uf.find(i) for i in range(len(rows))}) > 1:
            false_groups += 1
    return {
        "recall (all planted)": found(pairs) / max(1, len(pairs)),
        "recall (planted, J >= t)": found(eligible) / max(1, len(eligible)),
        "false groups": false_groups,
        "groups": len(groups),
        "rows in groups": sum(len(g) for g in groups),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--planted", type=int, default=1000, help="near-duplicate copies to plant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each tool (the fastest is shown)")
    args = parser.parse_args()

    folder, origin = fortunes_dir()
    texts = read_fortunes(folder)
    rows, pairs = plant(texts, args.planted, args.seed)
    sets = [shingles(t) for t in rows]
    eligible = [(a, b) for a, b in pairs if jaccard(sets[a], sets[b]) >= args.threshold - 1e-12]
    workdir = tempfile.mkdtemp(prefix="preflight-peers-text-")
    try:
        csv_path = os.path.join(workdir, "fortunes_planted.csv")
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["id", "text"])
            for i, t in enumerate(rows):
                w.writerow([i, t])
        size = os.path.getsize(csv_path)
        print(f"data: {origin}: {len(texts)} fortunes from {folder}")
        print(f"planted: {len(pairs)} edited copies (seed {args.seed}); {len(eligible)} of them with true Jaccard >= "
              f"{args.threshold}; {len(rows)} rows, {size / 1e6:.2f} MB CSV")
        results = {}
        for name, run in (("datasketch", lambda: run_datasketch(csv_path, args.threshold)),
                          ("preflight", lambda: run_preflight(csv_path, args.threshold, workdir))):
            best = None
            for _ in range(args.repeat):
                groups, seconds, extra = run()
                if best is None or seconds < best[1]:
                    best = (groups, seconds, extra)
            groups, seconds, extra = best
            results[name] = {**score(groups, pairs, eligible, sets, args.threshold), "end to end (s)": seconds, **extra}
        keys = []
        for r in results.values():
            keys += [k for k in r if k not in keys]
        width = max(len(k) for k in keys)
        print(f"\n{'':{width}}  {'datasketch':>12}  {'preflight':>12}")
        for k in keys:
            cells = []
            for name in ("datasketch", "preflight"):
                v = results[name].get(k, "")
                cells.append(f"{v:12.3f}" if isinstance(v, float) else f"{v!s:>12}")
            print(f"{k:{width}}  {cells[0]}  {cells[1]}")
        import datasketch
        print(f"\ndatasketch {getattr(datasketch, '__version__', '?')}, preflight {preflight_bin()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
