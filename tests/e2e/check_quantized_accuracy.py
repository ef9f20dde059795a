#!/usr/bin/env python3
"""Recomputes the accuracy of a docquant output folder with the reference stack.

Hugging Face `tokenizers` (from the folder's tokenizer.json), ONNX Runtime's Python
API on the folder's model.onnx, sentence-transformers' mean pooling as the folder's
1_Pooling config says, and the scikit-learn head unpickled by joblib — the Python
path of the original pipeline (tools/python_path.py) — on the CSV docquant was
calibrated with, batched as quantization.json says docquant batched it. Fails if the
accuracy differs from the one docquant reported by more than --tolerance (default
0.001 = 0.1 point).

With --eval_compare_json (the --json of `docquant eval --model_folder OUT --compare FP32`) and
--fp32_folder/--fp32_onnx, also recomputes with the reference stack how often the int8 and
fp32 models agree, overall and on the rows where fp32's top two probabilities are at least
0.01 / 0.05 / 0.1 apart, and fails if eval's figures differ by more than --tolerance (row
counts: by more than 0.2 % of the rows, as a margin at a floor moves with float rounding).
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
    ap.add_argument("--eval_compare_json")
    ap.add_argument("--fp32_folder")
    ap.add_argument("--fp32_onnx")
    args = ap.parse_args()
    with open(os.path.join(args.output_folder, "quantization.json"), encoding="utf-8") as f:
        report = json.load(f)
    path = PythonPath(args.output_folder)
    texts, labels = read_csv(args.data)
    batch, by_length = report["batching"]["batch_size"], report["batching"]["sort_by_length"]
    predicted, _ = path.predict(texts, batch, by_length)
    acc = sum(path.classes[p] == l for p, l in zip(predicted, labels)) / len(labels)
    reported = report["final_accuracy"]
    print(f"reference stack accuracy {acc:.4f}; docquant reported {reported:.4f}; "
          f"difference {abs(acc - reported) * 100:.2f} points (tolerance {args.tolerance * 100:.2f})")
    if abs(acc - reported) > args.tolerance:
        sys.exit(1)
    if args.eval_compare_json:
        check_agreement(args, predicted, texts, batch, by_length)


def check_agreement(args, int8_predicted, texts, batch, by_length):
    with open(args.eval_compare_json, encoding="utf-8") as f:
        ours = json.load(f)
    fp32_predicted, fp32_proba = PythonPath(args.fp32_folder, args.fp32_onnx).predict(texts, batch, by_length)
    top2 = [sorted(p, reverse=True)[:2] for p in fp32_proba]
    margin = [a - b for a, b in top2]
    same = [a == b for a, b in zip(int8_predicted, fp32_predicted)]
    theirs = {"all": (len(same), sum(same) / len(same))}
    for floor in (0.01, 0.05, 0.1):
        kept = [s for s, m in zip(same, margin) if m >= floor]
        theirs[floor] = (len(kept), sum(kept) / len(kept) if kept else 1.0)
    got = {"all": (len(same), ours["agreement"])}
    got.update({b["min_margin"]: (b["rows"], b["agreement"]) for b in ours["agreement_by_margin"]})
    bad = []
    for key, (rows, agree) in theirs.items():
        g_rows, g_agree = got[key]
        print(f"agreement with fp32 ({key if key == 'all' else f'fp32 margin >= {key}'}): reference stack "
              f"{100 * agree:.2f}% of {rows} rows; docquant eval {100 * g_agree:.2f}% of {g_rows}")
        if abs(agree - g_agree) > args.tolerance or abs(rows - g_rows) > 0.002 * len(same):
            bad.append(key)
    if bad:
        sys.exit(f"FAIL: docquant eval --compare's agreement differs from the reference stack's at {bad}")


if __name__ == "__main__":
    main()
