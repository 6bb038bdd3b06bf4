#!/usr/bin/env python3
"""Semantic against hashed text embeddings, on real text with planted
paraphrases and planted off-topic rows.

Data: the fortune cookies of three files of Debian's `fortunes` package
(fortune-mod's data, BSD licence): `computers`, `linux` and `science`, each
fortune with its white space collapsed, 20 to 400 characters, duplicates
dropped, in file order. As bench/peers_text_dups.py does, the package is
taken from /usr/share/games/fortunes when installed, else fetched with
`apt-get download fortunes` (Debian's registry) and unpacked; nothing else
is downloaded.

Planted (positions drawn with --seed, default 1):
- PARAPHRASES: hand-written rewordings of 36 of these fortunes that keep
  the meaning and share few words or character n-grams with the original
  ("In every non-trivial program there is at least one bug." -> "Any
  program that isn't trivial contains one or more defects.");
- OFF_TOPIC: 30 rows that do not belong in a corpus of computing and
  science jokes: recipes, spam, five other languages, sports results,
  gardening and household tips, weather and travel notes (five of each).

Runs (the CLI, `--backend cpu` unless --backend says otherwise), once with
`--embed hashed` (hashed character 3-grams, the default) and once with
`--embed semantic` (all-MiniLM-L6-v2):
- `preflight profile all.csv --text text`: the corpus with both plants.
  Paraphrase pairs found as near duplicates (kNN near-duplicate groups;
  and, the same in both runs, MinHash text near duplicates, Jaccard >=
  0.7); off-topic rows among the flagged outliers (recall and precision),
  among the 30 highest outlier scores, and the ROC AUC of the outlier
  score (off-topic rows against the rest).
- `preflight compare corpus.csv paraphrases.csv --near-factor 1000`: the
  corpus (originals included, no plants) as the reference and the
  paraphrases as the candidate; with the near-leakage threshold that high,
  each candidate row's near match is its nearest reference row among its
  k = 10 neighbours: recall@1 = the share whose nearest corpus row is the
  original.

    cargo build --profile ci          # or --release; or set PREFLIGHT_BIN
    scripts/fetch-model               # the model file (or set PREFLIGHT_MODEL)
    python3 bench/semantic_demo.py    # --seed S --backend cpu|gpu|auto --json OUT.json
"""

import argparse
import csv
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers_text_dups import fortunes_dir, jaccard, preflight_bin, shingles  # noqa: E402

FILES = ("computers", "linux", "science")
# Outlier fences shown besides the default (--outlier-iqr 1.7).
FENCES = (1.0, 0.5)

# original fortune (white space collapsed) -> a paraphrase written by hand.
PARAPHRASES = {
    "In every non-trivial program there is at least one bug.":
        "Any program that isn't trivial contains one or more defects.",
    "Any given program will expand to fill available memory.":
        "Software always grows until it has used up all the RAM you own.",
    "A complex system that works is invariably found to have evolved from a simple system that works.":
        "Every working complicated design grew out of a simpler design that already worked.",
    "One good reason why computers can do more work than people is that they never have to stop and answer the phone.":
        "Machines outproduce humans partly because no telephone call ever interrupts them.",
    "Evolution is a million line computer program falling into place by accident.":
        "Natural selection: software with millions of lines that assembled itself by chance.",
    "Real Users never know what they want, but they always know when your program doesn't deliver it.":
        "Customers can't tell you their requirements, yet they notice at once when the software fails to meet them.",
    "Computer programmers never die, they just get lost in the processing.":
        "Coders don't pass away; they simply vanish somewhere inside the computation.",
    "To understand a program you must become both the machine and the program.":
        "Grasping how code works requires thinking like the hardware and the code at once.",
    "The system will be down for 10 days for preventive maintenance.":
        "Scheduled upkeep will keep the servers offline for a week and a half.",
    "A year spent in artificial intelligence is enough to make one believe in God.":
        "Twelve months of AI research will turn anyone into a religious believer.",
    "If a listener nods his head when you're explaining your program, wake him up.":
        "When someone keeps nodding during your code walkthrough, they have probably dozed off.",
    "A hacker does for love what others would not do for money.":
        "Hackers happily do, out of passion, work nobody else would accept a salary for.",
    "Heuristics are bug ridden by definition. If they didn't have bugs, then they'd be algorithms.":
        "Rules of thumb are flawed by nature; a flawless one would simply be called an algorithm.",
    "Some people claim that the UNIX learning curve is steep, but at least you only have to climb it once.":
        "Learning Unix may be hard, but the effort is a one-time cost.",
    "No man is an island if he's on at least one mailing list.":
        "Subscribe to a single email list and you will never be alone again.",
    "In English, every word can be verbed. Would that it were so in our programming languages.":
        "English lets you turn any noun into a verb; sadly our coding languages are not that flexible.",
    "A programming language is low level when its programs require attention to the irrelevant.":
        "A coding language counts as primitive if writing in it forces you to care about details that do not matter.",
    "To the systems programmer, users and applications serve only to provide a test load.":
        "For kernel developers, people and their apps exist merely to stress the machine.",
    "Recursion is the root of computation since it trades description for time.":
        "Self-reference underlies all computing because it exchanges a short specification for running time.",
    "Somebody's terminal is dropping bits. I found a pile of them over in the corner.":
        "A console somewhere is losing data; there is a heap of lost ones and zeros lying on the floor.",
    "Computer Science is merely the post-Turing decline in formal systems theory.":
        "Since Turing, the study of computing has just been formal logic going downhill.",
    "They are called computers simply because computation is the only significant job that has so far been given to them.":
        "We name these machines after calculating only because that is the sole important task we have assigned them so far.",
    "Real Users find the one combination of bizarre input values that shuts down the system for days.":
        "Actual customers always discover the single weird set of inputs that crashes the server for days.",
    "Remember the good old days, when CPU was singular?":
        "Do you recall the past, when a machine had just one processor?",
    "Would you people stop playing these stupid games?!?!?!!!!":
        "Everyone, please quit wasting time on those silly video games!",
    "The Wright Bothers weren't the first to fly. They were just the first not to crash.":
        "Other people flew before the Wright brothers; they were merely the earliest to land without a wreck.",
    "After a number of decimal places, nobody gives a damn.":
        "Past a certain precision, no one cares about the extra digits.",
    "Parallel lines never meet, unless you bend one or both of them.":
        "Two lines that run side by side will only cross if you curve at least one.",
    "If it smells it's chemistry, if it crawls it's biology, if it doesn't work it's physics.":
        "Stinks: chemistry. Moves around: biology. Fails: physics.",
    "Factorials were someone's attempt to make math LOOK exciting.":
        "The exclamation mark in n! exists to make arithmetic seem thrilling.",
    "A failure will not appear until a unit has passed final inspection.":
        "Defects only show up after the product has cleared its last quality check.",
    "Win95 is not a virus; a virus does something. -- unknown source":
        "Windows 95 can't be a computer virus, since viruses at least accomplish something.",
    "Never trust an operating system you don't have sources for. ;-) -- Unknown source":
        "Don't rely on an OS whose code you cannot read.",
    "Those who don't understand Linux are doomed to reinvent it, poorly. -- unidentified source":
        "People who fail to grasp Linux end up rebuilding a worse copy of it.",
    "For every complex problem, there is a solution that is simple, neat, and wrong. -- H. L. Mencken":
        "Every hard question has an answer that is easy, tidy and incorrect.",
    "Everything should be made as simple as possible, but not simpler. -- Albert Einstein":
        "Keep things as plain as you can, and no plainer.",
}

OFF_TOPIC = [
    # recipes
    "Whisk two eggs with a cup of milk, pour over the bread cubes and bake for 35 minutes at 175 degrees.",
    "Simmer the lentils with garlic, cumin and a bay leaf until soft, then stir in lemon juice.",
    "Marinate the chicken thighs overnight in yoghurt, paprika and crushed garlic before grilling.",
    "Rub the butter into the flour until it looks like breadcrumbs, then add cold water to form a dough.",
    "Serve the risotto with grated parmesan and a handful of chopped parsley.",
    # spam
    "CONGRATULATIONS! You have been selected to receive a $1000 gift card. Click here to claim your prize now!",
    "Lose 10 kg in two weeks with this one weird trick doctors don't want you to know.",
    "Cheap replica watches and designer handbags, free shipping worldwide, order today!",
    "Your parcel is waiting for delivery. Pay the 1.99 customs fee at the link below to release it.",
    "Hot singles in your area are waiting to chat with you tonight.",
    # other languages
    "Der Zug nach München fährt heute wegen Bauarbeiten eine halbe Stunde später ab.",
    "Je voudrais réserver une table pour quatre personnes samedi soir, s'il vous plaît.",
    "El mercado abre todos los domingos por la mañana junto a la iglesia del pueblo.",
    "Domani pioverà su tutta la costa, quindi porta un ombrello quando esci.",
    "Wij gaan deze zomer met de fiets langs de kust van Zeeland.",
    # sports
    "Liverpool came from two goals down to beat Everton 3-2 in a thrilling derby at Anfield.",
    "The marathon winner crossed the line in two hours and four minutes, a new course record.",
    "She served seven aces in the final set to claim her first Wimbledon title.",
    "The quarterback threw for 320 yards and three touchdowns in the season opener.",
    "Cyclists face a brutal mountain stage tomorrow with three category-one climbs.",
    # gardening and household
    "Plant the tulip bulbs in autumn, about fifteen centimetres deep, with the pointed end up.",
    "Water tomato plants at the base in the morning and pinch out the side shoots every week.",
    "To remove a red wine stain, blot it and cover it with salt before washing in cold water.",
    "Prune the roses in late winter, cutting just above an outward-facing bud.",
    "Mix one part vinegar with three parts water to clean the windows without streaks.",
    # weather and travel
    "Expect sunny spells this afternoon with a light westerly breeze and highs of 22 degrees.",
    "Flights to Lisbon are delayed by two hours because of fog at the airport.",
    "The hotel is a five-minute walk from the beach and breakfast is served until ten.",
    "Pack sunscreen, a hat and plenty of water for the desert hike tomorrow.",
    "The ferry to the island leaves every hour from the harbour, tickets at the kiosk.",
]


def read_corpus(folder):
    texts, seen = [], set()
    for name in FILES:
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            for chunk in f.read().split("\n%\n"):
                text = " ".join(chunk.strip("%\n").split())
                if 20 <= len(text) <= 400 and text not in seen:
                    seen.add(text)
                    texts.append(text)
    return texts


def write_csv(path, texts):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        for t in texts:
            w.writerow([t])


def run(args, cmd, label):
    started = time.perf_counter()
    result = subprocess.run([preflight_bin()] + cmd + ["--backend", args.backend, "--quiet"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"{label}: preflight exited {result.returncode}: {result.stderr}")
    return seconds


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def quantile(sorted_values, q):
    """Linear interpolation, as numpy's default (and preflight's quantile_sorted)."""
    if not sorted_values:
        return 0.0
    pos = q * (len(sorted_values) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def auc(scores, positives):
    """ROC AUC of `scores` for the rows in `positives` (ties count half)."""
    pos = [s for i, s in enumerate(scores) if i in positives]
    neg = [s for i, s in enumerate(scores) if i not in positives]
    ranked = sorted((s, i in positives) for i, s in enumerate(scores))
    # Mann-Whitney U from average ranks.
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average = (i + j + 1) / 2
        rank_sum += average * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", default="cpu", choices=["cpu", "gpu", "auto"])
    parser.add_argument("--json", help="write the numbers here too")
    parser.add_argument("--keep", help="keep the CSV and CLI outputs in this folder")
    args = parser.parse_args()

    folder, source = fortunes_dir()
    corpus = read_corpus(folder)
    missing = [o for o in PARAPHRASES if o not in corpus]
    if missing:
        sys.exit("originals not in the corpus (another fortunes version?):\n  " + "\n  ".join(missing))

    rng = random.Random(args.seed)
    rows = list(corpus)  # the corpus, then the plants at seeded places
    planted = [("paraphrase", p, o) for o, p in PARAPHRASES.items()] + [("off_topic", t, None) for t in OFF_TOPIC]
    rng.shuffle(planted)
    for kind, text, original in planted:
        rows.insert(rng.randrange(len(rows) + 1), (kind, text, original))
    texts = [r if isinstance(r, str) else r[1] for r in rows]
    index = {t: i for i, t in enumerate(texts)}
    pairs = [(index[o], index[p]) for o, p in PARAPHRASES.items()]
    off_topic = {index[t] for t in OFF_TOPIC}

    work = args.keep or tempfile.mkdtemp(prefix="preflight-semantic-demo-")
    os.makedirs(work, exist_ok=True)
    all_csv, corpus_csv, para_csv = (os.path.join(work, n) for n in ("all.csv", "corpus.csv", "paraphrases.csv"))
    write_csv(all_csv, texts)
    write_csv(corpus_csv, corpus)
    write_csv(para_csv, list(PARAPHRASES.values()))
    corpus_index = {t: i for i, t in enumerate(corpus)}
    originals = [corpus_index[o] for o in PARAPHRASES]
    jaccards = [jaccard(shingles(o), shingles(p)) for o, p in PARAPHRASES.items()]

    print(f"data: {len(corpus)} fortunes ({', '.join(FILES)}; {source}), {len(PARAPHRASES)} planted paraphrases "
          f"(character 5-gram Jaccard with the original: median {sorted(jaccards)[len(jaccards) // 2]:.2f}, "
          f"max {max(jaccards):.2f}), {len(OFF_TOPIC)} planted off-topic rows; {len(texts)} rows; seed {args.seed}")

    results = {}
    for mode in ("hashed", "semantic"):
        out = {}
        rows_csv, json_path = os.path.join(work, f"{mode}.rows.csv"), os.path.join(work, f"{mode}.json")
        out["profile_seconds"] = run(args, ["profile", all_csv, "--text", "text", "--embed", mode,
                                            "--rows", rows_csv, "--json", json_path], f"profile {mode}")
        found = read_rows(rows_csv)
        with open(json_path, encoding="utf-8") as f:
            report = json.load(f)
        near = [r["near_group"] for r in found]
        text_group = [r.get("text_dup_group", "") for r in found]
        out["pairs_near_duplicates"] = sum(1 for a, b in pairs if near[a] and near[a] == near[b])
        out["pairs_text_near_duplicates"] = sum(1 for a, b in pairs if text_group[a] and text_group[a] == text_group[b])
        flagged = {i for i, r in enumerate(found) if r["is_outlier"] == "true"}
        scores = [float(r["outlier_score"] or 0) for r in found]
        top = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:len(OFF_TOPIC)]
        out["outliers_flagged"] = len(flagged)
        out["off_topic_flagged"] = len(flagged & off_topic)
        out["off_topic_in_top"] = len(set(top) & off_topic)
        out["outlier_auc"] = auc(scores, off_topic)
        # Other fences of the same rule (flag above Q3 + f x IQR of the mean kNN distance), as
        # `--outlier-iqr f` would draw them: the score is 1 - exp(-ln2 d / median d), so
        # -ln(1 - score) is the distance times a positive constant and the fence falls on the
        # same rows.
        scaled = sorted(-math.log(max(1.0 - x, 1e-300)) for x in scores)
        q1, q3 = quantile(scaled, 0.25), quantile(scaled, 0.75)
        for factor in FENCES:
            fence = q3 + factor * (q3 - q1)
            hits = {i for i, x in enumerate(scores) if -math.log(max(1.0 - x, 1e-300)) > fence}
            out[f"fence_{factor}"] = {"flagged": len(hits), "off_topic": len(hits & off_topic)}
        out["near_groups"] = report["duplicates"]["near"]["group_count"]
        out["embedding"] = {k: report["embedding"].get(k) for k in ("method", "model", "backend", "truncated_texts")}

        leaks_csv = os.path.join(work, f"{mode}.leaks.csv")
        out["compare_seconds"] = run(args, ["compare", corpus_csv, para_csv, "--embed", mode, "--near-factor", "1000",
                                            "--rows", leaks_csv], f"compare {mode}")
        nearest = [r["near_leak_reference_row"] for r in read_rows(leaks_csv)]
        out["paraphrase_recall_at_1"] = sum(1 for c, o in enumerate(originals) if nearest[c] == str(o))
        results[mode] = out

    n, m = len(PARAPHRASES), len(OFF_TOPIC)
    h, s = results["hashed"], results["semantic"]
    table = [
        ("paraphrases whose nearest corpus row is the original (recall@1)", f"{h['paraphrase_recall_at_1']}/{n}", f"{s['paraphrase_recall_at_1']}/{n}"),
        ("paraphrase pairs in one kNN near-duplicate group", f"{h['pairs_near_duplicates']}/{n}", f"{s['pairs_near_duplicates']}/{n}"),
        ("paraphrase pairs in one text near-duplicate group (MinHash)", f"{h['pairs_text_near_duplicates']}/{n}", f"{s['pairs_text_near_duplicates']}/{n}"),
        ("off-topic rows flagged as outliers (recall)", f"{h['off_topic_flagged']}/{m}", f"{s['off_topic_flagged']}/{m}"),
        ("flagged outliers that are off-topic (precision)",
         f"{h['off_topic_flagged']}/{h['outliers_flagged']}", f"{s['off_topic_flagged']}/{s['outliers_flagged']}"),
    ]
    for factor in FENCES:
        hf, sf = h[f"fence_{factor}"], s[f"fence_{factor}"]
        table.append((f"off-topic rows flagged with --outlier-iqr {factor} (of all flagged)",
                      f"{hf['off_topic']}/{m} ({hf['flagged']})", f"{sf['off_topic']}/{m} ({sf['flagged']})"))
    table += [
        (f"off-topic rows among the {m} highest outlier scores", f"{h['off_topic_in_top']}/{m}", f"{s['off_topic_in_top']}/{m}"),
        ("ROC AUC of the outlier score, off-topic vs the rest", f"{h['outlier_auc']:.3f}", f"{s['outlier_auc']:.3f}"),
        ("profile run, seconds (whole CLI run)", f"{h['profile_seconds']:.1f}", f"{s['profile_seconds']:.1f}"),
    ]
    print()
    print("| measure | hashed n-grams | semantic (all-MiniLM-L6-v2) |")
    print("| --- | --- | --- |")
    for row in table:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    print(f"\nsemantic embedding ran on: {s['embedding']['backend']} ({args.backend} asked)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"seed": args.seed, "rows": len(texts), "paraphrases": n, "off_topic": m, "results": results}, f, indent=2)
    if not args.keep:
        for name in os.listdir(work):
            os.remove(os.path.join(work, name))
        os.rmdir(work)


if __name__ == "__main__":
    main()
