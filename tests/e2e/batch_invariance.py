#!/usr/bin/env python3
"""A text's int8 answer must not depend on how it is batched (issue 14), on a real fixture.

Each of N real texts is classified through ONNX Runtime's Python API (tools/python_path.py:
Hugging Face tokenizers, mean pooling, the joblib head), the way callers batch in practice:
  - alone (batch 1, no padding, 1 thread): the reference;
  - in batches of 7 and of 32 with random other texts, each batch padded to its longest text;
  - in batches of 7 padded to random extra lengths (1..24 more pad tokens);
  - with 1 and with 2 ONNX Runtime threads.
For MODEL (per-token activations) every run must give the reference's label and
probabilities within --tolerance (1e-5). The same runs on CONTROL (a per-tensor model)
must NOT all pass: that shows the check can fail. Prints the counts per variant.

    python batch_invariance.py --model PER_TOKEN_FOLDER --control PER_TENSOR_FOLDER --data CSV
"""
import argparse
import csv
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from python_path import PythonPath  # noqa: E402


def variants(path_1t, path_2t, encodings, rng):
    """(name, proba) for every batching variant; proba rows in input order."""
    n = len(encodings)
    yield "batch 1, 2 threads", np.vstack([path_2t.run([e]) for e in encodings])
    for size in (7, 32):
        for threads, path in (("1 thread", path_1t), ("2 threads", path_2t)):
            order = list(range(n))
            rng.shuffle(order)
            proba = np.zeros((n, len(path.classes)))
            for start in range(0, n, size):
                rows = order[start:start + size]
                proba[rows] = path.run([encodings[i] for i in rows])
            yield f"random batches of {size}, {threads}", proba
    order = list(range(n))
    rng.shuffle(order)
    proba = np.zeros((n, len(path_1t.classes)))
    for start in range(0, n, 7):
        rows = order[start:start + 7]
        longest = max(len(encodings[i].ids) for i in rows)
        proba[rows] = path_1t.run([encodings[i] for i in rows], width=longest + rng.randint(1, 24))
    yield "random batches of 7 padded 1..24 extra tokens", proba


def check(folder, texts, tolerance, seed):
    path_1t = PythonPath(folder, threads=1)
    path_2t = PythonPath(folder, threads=2)
    encodings = path_1t.encode(texts)
    reference = np.vstack([path_1t.run([e]) for e in encodings])
    labels = reference.argmax(axis=1)
    ok = True
    rng = random.Random(seed)
    for name, proba in variants(path_1t, path_2t, encodings, rng):
        diff = np.abs(proba - reference).max(axis=1)
        changed = int((proba.argmax(axis=1) != labels).sum())
        over = int((diff > tolerance).sum())
        print(f"  {name:48s} labels changed {changed:3d}, texts off by > {tolerance:g}: {over:3d}, "
              f"max |dp| {diff.max():.2g}")
        ok = ok and changed == 0 and over == 0
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a model folder quantized with --activations per_token")
    ap.add_argument("--control", required=True, help="a per-tensor model folder: must fail the same check")
    ap.add_argument("--data", required=True, help="CSV with a text column")
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--seed", type=int, default=9527)
    args = ap.parse_args()
    with open(args.data, newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    texts = random.Random(args.seed).sample(texts, min(args.texts, len(texts)))

    print(f"{args.model} ({len(texts)} texts):")
    model_ok = check(args.model, texts, args.tolerance, args.seed)
    print(f"{args.control} (control):")
    control_ok = check(args.control, texts, args.tolerance, args.seed)
    if not model_ok:
        print("FAIL: the per-token model's answers depend on the batching", file=sys.stderr)
        return 1
    if control_ok:
        print("FAIL: the per-tensor control passed too, so this check cannot tell them apart", file=sys.stderr)
        return 1
    print("PASS: per-token answers are the same in every batching; per-tensor ones are not")
    return 0


if __name__ == "__main__":
    sys.exit(main())
