#!/usr/bin/env python3
"""Would SmoothQuant help docquant's per-token recipe? A layer-level measurement (issue 14).

SmoothQuant (arXiv 2211.10438) moves per-channel activation range into the weights:
x' = x / s, W' = diag(s) W with s_j = max|x_j|^a / max|W_j,:|^(1-a). On a real fixture this
script captures the input of every MatMul with a constant weight (the exported fp32 graph,
ONNX Runtime's Python API, N calibration texts), then computes for each layer the relative
RMS error of the int8 product against fp32, with docquant's recipe emulated in numpy:
  per-token activations (absmax / 127 per row, zero point 128; formulas.h) x 7-bit
  per-channel weights (reduce_range)
without smoothing and with a in --alphas. It prints each layer's errors and the mean, and
writes bench/results/smoothquant-<fixture>.json. Standard setfit venv (onnx, onnxruntime,
tokenizers, numpy).

    python bench/activations/smoothquant_probe.py --fixture $DOCQUANT_CACHE/fixtures/minilm-sst2 \\
        --data ../shared/data/sst2_dev.csv --texts 128
"""
import argparse
import csv
import json
import os
import random
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from tokenizers import Tokenizer


def per_token_quantized(x):
    absmax = np.maximum(np.abs(x).max(axis=1, keepdims=True), np.float32(1e-30)).astype(np.float32)
    q = np.clip(np.rint(x * (np.float32(127) / absmax)), -128, 127)
    return q * (absmax / np.float32(127))


def weight_7bit_per_channel(w):
    absmax = np.abs(w).max(axis=0, keepdims=True)
    scale = np.where(absmax > 0, 2 * absmax / 128, 1).astype(np.float32)
    return np.clip(np.rint(w / scale), -64, 64) * scale


def layer_error(x, w, alpha):
    ref = x @ w
    if alpha is None:
        xs, ws = x, w
    else:
        ax = np.abs(x).max(axis=0)
        aw = np.abs(w).max(axis=1)
        s = np.where((ax > 0) & (aw > 0), ax ** alpha / np.maximum(aw, 1e-12) ** (1 - alpha), 1.0).astype(np.float32)
        xs, ws = x / s, w * s[:, None]
    y = per_token_quantized(xs) @ weight_7bit_per_channel(ws)
    return float(np.linalg.norm(y - ref) / max(np.linalg.norm(ref), 1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixture", required=True, type=Path)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--texts", type=int, default=128)
    ap.add_argument("--alphas", default="0.25,0.5,0.75")
    ap.add_argument("--seed", type=int, default=9527)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    args = ap.parse_args()
    alphas = [float(a) for a in args.alphas.split(",")]

    model = onnx.load(str(args.fixture / "onnx" / "model.onnx"))
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    layers = [(n.name, n.input[0], n.input[1]) for n in model.graph.node
              if n.op_type == "MatMul" and n.input[1] in weights and weights[n.input[1]].ndim == 2]
    existing = {o.name for o in model.graph.output}
    for _, x, _ in layers:
        if x not in existing:
            model.graph.output.append(onnx.helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None))
            existing.add(x)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    tokenizer = Tokenizer.from_file(str(args.fixture / "setfit" / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=256)
    with open(args.data, newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    texts = random.Random(args.seed).sample(texts, min(args.texts, len(texts)))
    inputs = {i.name for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    captured = {x: [] for _, x, _ in layers}
    for text in texts:  # one text per run: no padding rows in the statistics
        e = tokenizer.encode(text.strip())
        feed = {"input_ids": np.array([e.ids], np.int64), "attention_mask": np.array([e.attention_mask], np.int64),
                "token_type_ids": np.array([e.type_ids], np.int64)}
        outs = dict(zip(names, session.run(None, {k: v for k, v in feed.items() if k in inputs})))
        for x in captured:
            captured[x].append(outs[x].reshape(-1, outs[x].shape[-1]))

    rows = []
    for node, x, w in layers:
        xs = np.concatenate(captured[x]).astype(np.float32)
        entry = {"node": node, "rows": int(xs.shape[0]), "k": int(xs.shape[1]), "none": layer_error(xs, weights[w], None)}
        for a in alphas:
            entry[f"alpha_{a}"] = layer_error(xs, weights[w], a)
        rows.append(entry)
        print(f"{node:60s} none {entry['none']:.4f}  " +
              "  ".join(f"a={a} {entry[f'alpha_{a}']:.4f}" for a in alphas), flush=True)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ["none"] + [f"alpha_{a}" for a in alphas]}
    worst = {k: float(np.max([r[k] for r in rows])) for k in mean}
    print("mean  " + "  ".join(f"{k} {v:.4f}" for k, v in mean.items()))
    print("worst " + "  ".join(f"{k} {v:.4f}" for k, v in worst.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"smoothquant-{args.fixture.name}.json").write_text(json.dumps(
        {"fixture": args.fixture.name, "data": str(args.data), "texts": len(texts), "alphas": alphas,
         "recipe": "per-token activations (absmax/127, zero point 128) x 7-bit per-channel weights",
         "layers": rows, "mean": mean, "worst": worst}, indent=2) + "\n")


if __name__ == "__main__":
    main()
