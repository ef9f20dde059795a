#!/usr/bin/env python3
"""Recomputes the accuracy of a docquant output folder with the reference stack.

Hugging Face `tokenizers` (from the folder's tokenizer.json), ONNX Runtime's Python
API on the folder's model.onnx, sentence-transformers' mean pooling as the folder's
1_Pooling config says, and the scikit-learn head unpickled by joblib — the Python
path of the original pipeline — on the CSV docquant was calibrated with, batched as
quantization.json says docquant batched it. Fails if the accuracy differs from the
one docquant reported by more than --tolerance (default 0.001 = 0.1 point).
"""
import argparse
import csv
import json
import os
import sys

import joblib
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


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
    out = args.output_folder
    report = json.load(open(os.path.join(out, "quantization.json")))

    pooling = json.load(open(os.path.join(out, "1_Pooling", "config.json")))
    if not pooling.get("pooling_mode_mean_tokens"):
        sys.exit("this check implements mean pooling only; the folder uses another mode")
    max_len = json.load(open(os.path.join(out, "sentence_bert_config.json")))["max_seq_length"]
    normalize = os.path.isdir(os.path.join(out, "2_Normalize"))

    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    head = joblib.load(os.path.join(out, "model_head.pkl"))
    texts, labels = read_csv(args.data)
    le_path = os.path.join(out, "labelencoder.pkl")
    encoder = joblib.load(le_path) if os.path.exists(le_path) else None

    sess = ort.InferenceSession(os.path.join(out, "model.onnx"), providers=["CPUExecutionProvider"])
    input_names = [i.name for i in sess.get_inputs()]
    # sentence-transformers strips each text (and lower-cases it when sentence_bert_config.json
    # says do_lower_case) before tokenizing; SetFit inherits that.
    st_config = json.load(open(os.path.join(out, "sentence_bert_config.json")))
    prepared = [t.strip().lower() if st_config.get("do_lower_case") else t.strip() for t in texts]
    encodings = tok.encode_batch(prepared)
    batch = report["batching"]["batch_size"]
    order = list(range(len(texts)))
    if report["batching"]["sort_by_length"]:
        order.sort(key=lambda i: len(encodings[i].ids))  # Python's sort is stable, as docquant's
    pad_id = tok.token_to_id("[PAD]") if tok.token_to_id("[PAD]") is not None else tok.token_to_id("<pad>")
    pred = [None] * len(texts)
    for start in range(0, len(order), batch):
        rows = order[start:start + batch]
        width = max(len(encodings[i].ids) for i in rows)
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        types = np.zeros((len(rows), width), dtype=np.int64)
        for k, i in enumerate(rows):
            e = encodings[i]
            ids[k, :len(e.ids)] = e.ids
            mask[k, :len(e.ids)] = e.attention_mask
            types[k, :len(e.ids)] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = sess.run(["last_hidden_state"], {n: feed[n] for n in input_names})[0]
        m = mask[:, :, None].astype(np.float32)
        emb = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        if normalize:
            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        p = head.predict(emb)
        if encoder is not None:  # the original pipeline's string labels: head predicts encoded ints
            p = encoder.inverse_transform(p)
        for k, i in enumerate(rows):
            pred[i] = str(p[k])
    acc = sum(p == l for p, l in zip(pred, labels)) / len(labels)
    reported = report["final_accuracy"]
    print(f"reference stack accuracy {acc:.4f}; docquant reported {reported:.4f}; "
          f"difference {abs(acc - reported) * 100:.2f} points (tolerance {args.tolerance * 100:.2f})")
    if abs(acc - reported) > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
