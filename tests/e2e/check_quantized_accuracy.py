#!/usr/bin/env python3
"""Recomputes the accuracy of a docquant output folder with the reference stack.

Hugging Face `tokenizers` (from the folder's tokenizer.json), ONNX Runtime's Python
API on the folder's model.onnx, sentence-transformers' mean pooling as the folder's
1_Pooling config says, and the scikit-learn head unpickled by joblib — the Python
path of the original pipeline (tools/python_path.py) — on the CSV docquant was
calibrated with, batched as quantization.json says docquant batched it. Fails if the
accuracy differs from the one docquant reported by more than --tolerance (default
0.001 = 0.1 point).
"""
import argparse
import csv
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from python_path import PythonPath  # noqa: E402


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output_folder", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tolerance", type=float, default=0.001)
    args = ap.parse_args()
    with open(os.path.join(args.output_folder, "quantization.json"), encoding="utf-8") as f:
        report = json.load(f)
    path = PythonPath(args.output_folder)
    texts, labels = read_csv(args.data)
    predicted, _ = path.predict(texts, report["batching"]["batch_size"], report["batching"]["sort_by_length"])
    acc = sum(path.classes[p] == l for p, l in zip(predicted, labels)) / len(labels)
    reported = report["final_accuracy"]
    print(f"reference stack accuracy {acc:.4f}; docquant reported {reported:.4f}; "
          f"difference {abs(acc - reported) * 100:.2f} points (tolerance {args.tolerance * 100:.2f})")
    if abs(acc - reported) > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
