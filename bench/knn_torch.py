#!/usr/bin/env python3
"""PyTorch's fp32 kNN graph beside preflight's, on the same data.

Run after `knn --gpu-only --save DIR` (benches/knn.rs), which writes each
data set and preflight's neighbours and timings to DIR. For each run in
DIR/preflight.jsonl this times PyTorch on the same rows and the same metric:

  cosine:    rows L2-normalised, then per chunk of queries  Q @ X.T  and
             topk(k + 1, largest=True)
  euclidean: squared norms |x|^2 once, then per chunk  addmm(|x|^2, Q, X.T,
             alpha=-2)  (the squared distance less |q|^2, which does not
             change a row's order) and  topk(k + 1, largest=False); the
             --cdist flag times torch.cdist + topk instead

(the +1 drops the row itself), fp32 throughout: TF32 is switched off for
matmul and cuDNN, as is PyTorch's default for matmul. The data starts on
the GPU (PyTorch's best case: no upload in the time); the neighbours end on
the GPU. The time is the fastest of --repeat runs after a warm-up run, with
torch.cuda.synchronize() around each.

It prints both times, the ratio torch_ms / preflight_ms (above 1: preflight
is faster), the effective TFLOP/s (2 N^2 d / time) and its share of the
GPU's fp32 peak (--peak-tflops; default by GPU name), and how many rows have
the same neighbour set in both graphs (different sets come from ties and
last-bit rounding; the distance check is in the Rust bench).
"""

import argparse
import json
import os
import time

import numpy as np
import torch

# Dense fp32 (non-tensor) peaks, TFLOP/s, from NVIDIA's data sheets.
PEAKS = {
    "H100 80GB HBM3": 66.9,  # SXM5
    "H100 PCIe": 51.2,
    "H100 NVL": 60.0,
    "H200": 66.9,
}


def peak_for(name):
    for key, value in PEAKS.items():
        if key in name:
            return value
    return None


def torch_knn(x, k, metric, chunk, cdist=False):
    n = x.shape[0]
    if metric == "cosine":
        x = torch.nn.functional.normalize(x, dim=1)
    else:
        norms = (x * x).sum(dim=1)
    out = torch.empty((n, k + 1), dtype=torch.int64, device=x.device)
    for start in range(0, n, chunk):
        q = x[start : start + chunk]
        if metric == "cosine":
            scores = q @ x.T
            out[start : start + q.shape[0]] = torch.topk(scores, k + 1, dim=1, largest=True).indices
        elif cdist:
            dist = torch.cdist(q, x)
            out[start : start + q.shape[0]] = torch.topk(dist, k + 1, dim=1, largest=False).indices
        else:
            # Squared distance up to the query's own norm, which does not
            # change the order within a row: |x|^2 - 2 q.x, one addmm.
            dist = torch.addmm(norms[None, :], q, x.T, beta=1.0, alpha=-2.0)
            out[start : start + q.shape[0]] = torch.topk(dist, k + 1, dim=1, largest=False).indices
        del q
    return out


def time_torch(x, k, metric, chunk, repeat, cdist=False):
    torch_knn(x, k, metric, chunk, cdist)
    torch.cuda.synchronize()
    best = None
    result = None
    for _ in range(repeat):
        torch.cuda.synchronize()
        started = time.perf_counter()
        result = torch_knn(x, k, metric, chunk, cdist)
        torch.cuda.synchronize()
        ms = (time.perf_counter() - started) * 1e3
        best = ms if best is None else min(best, ms)
    return best, result


def without_self(indices):
    """Drops each row's own index (or, where a duplicate row took its place, the last)."""
    n, width = indices.shape
    rows = np.arange(n)[:, None]
    is_self = indices == rows
    keep = np.ones_like(indices, dtype=bool)
    has_self = is_self.any(axis=1)
    keep[is_self] = False
    keep[~has_self, width - 1] = False
    return indices[keep].reshape(n, width - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", help="the --save directory of the Rust bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=0, help="queries per chunk (default: by size)")
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--cdist", action="store_true", help="euclidean through torch.cdist (slower)")
    args = parser.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    peak = args.peak_tflops or peak_for(name)
    print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, {name}, fp32 peak {peak} TFLOP/s")

    runs = [json.loads(line) for line in open(os.path.join(args.dir, "preflight.jsonl"))]
    header = (
        f"{'N':>7} {'d':>4} {'k':>2} {'metric':>9} {'preflight_ms':>12} {'(device)':>9} "
        f"{'torch_ms':>9} {'torch/pf':>8} {'pf_TF/s':>8} {'pf_peak':>7} {'torch_TF/s':>10} "
        f"{'torch_peak':>10} {'same_sets':>9}"
    )
    print(header)
    loaded = {}
    for run in runs:
        n, d, k, metric = run["n"], run["d"], run["k"], run["metric"]
        if (n, d) not in loaded:
            raw = np.fromfile(os.path.join(args.dir, f"rows_{n}_{d}.f32"), dtype="<f4")
            loaded.clear()
            loaded[(n, d)] = torch.from_numpy(raw.reshape(n, d)).to(device)
        x = loaded[(n, d)]
        # Chunks of about 2 GiB of scores.
        chunk = args.chunk or max(256, min(n, (1 << 29) // max(n, 1)))
        torch_ms, result = time_torch(x, k, metric, chunk, args.repeat, args.cdist)
        ours = np.fromfile(os.path.join(args.dir, f"gpu_{n}_{d}_{metric}.u32"), dtype="<u4")
        ours = ours.reshape(n, k).astype(np.int64)
        theirs = without_self(result.cpu().numpy())
        same = np.mean([set(a) == set(b) for a, b in zip(ours, theirs)])
        flops = 2.0 * n * n * d
        pf_tf = flops / run["ms"] / 1e9
        torch_tf = flops / torch_ms / 1e9
        share = lambda tf: f"{tf / peak:.0%}" if peak else "-"
        print(
            f"{n:>7} {d:>4} {k:>2} {metric:>9} {run['ms']:>12.1f} {run['device_ms']:>9.1f} "
            f"{torch_ms:>9.1f} {torch_ms / run['ms']:>8.2f} {pf_tf:>8.2f} {share(pf_tf):>7} "
            f"{torch_tf:>10.2f} {share(torch_tf):>10} {same:>9.3f}",
            flush=True,
        )
        del result
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
