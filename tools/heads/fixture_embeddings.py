#!/usr/bin/env python3
"""Embed real text with each SetFit fixture's own body, for head parity on real embeddings.

Run with the setfit venv (sentence-transformers):

    ~/.cache/docquant/venvs/setfit/bin/python tools/heads/fixture_embeddings.py --out build/goldens/fixture-embeddings

For each $DOCQUANT_FIXTURES/<name>/setfit/ (tools/build_fixtures.py) it encodes the first
--rows texts of the fixture's test CSV (../shared/data/<manifest dataset.test>) exactly as
SetFit's predict does (model_body.encode with the folder's normalize_embeddings) and writes
OUT/fixture_<name>.npy (float32, rows x width). tools/golden_heads.py then scores the fixture's
head on them with each pinned scikit-learn.

It also writes real multi-label data for SetFit's multi-target heads: the first --sms-rows texts
of ../shared/data/sms_spam.csv embedded by the minilm-sst2 fixture's body
(OUT/multilabel_sms.npy) and three 0/1 labels per text (OUT/multilabel_sms_labels.npy):
spam (the CSV's label), long (more than 80 characters), number (holds a digit).
"""
import argparse
import csv
import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--sms-rows", type=int, default=600)
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[2]
    fixtures = Path(os.environ.get("DOCQUANT_FIXTURES", Path.home() / ".cache/docquant/fixtures"))
    shared = Path(os.environ.get("DOCQUANT_SHARED", root.parent / "shared"))
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    for manifest in sorted(fixtures.glob("*/manifest.json")):
        folder = manifest.parent / "setfit"
        if not (folder / "model_head.pkl").exists():
            continue
        m = json.loads(manifest.read_text())
        csv_file = shared / "data" / m["dataset"]["test"]
        with open(csv_file, newline="", encoding="utf-8") as f:
            texts = [row["text"] for _, row in zip(range(args.rows), csv.DictReader(f))]
        cfg = folder / "config_setfit.json"
        normalize = json.loads(cfg.read_text()).get("normalize_embeddings", False) if cfg.exists() else False
        body = SentenceTransformer(str(folder), device="cpu")
        emb = body.encode(texts, normalize_embeddings=bool(normalize), convert_to_numpy=True,
                          batch_size=32, show_progress_bar=False).astype(np.float32)
        np.save(args.out / f"fixture_{manifest.parent.name}.npy", emb)
        print(f"fixture_embeddings: {manifest.parent.name}: {emb.shape[0]} x {emb.shape[1]} from {csv_file.name}")
    write_multilabel_sms(fixtures / "minilm-sst2" / "setfit", shared / "data" / "sms_spam.csv", args)


def multilabel_sms_labels(text, label):
    return [int(label == "spam"), int(len(text) > 80), int(any(c.isdigit() for c in text))]


def write_multilabel_sms(folder, csv_file, args):
    if not (folder / "modules.json").exists() or not csv_file.exists():
        print(f"fixture_embeddings: no {folder} or {csv_file}; no multi-label SMS data")
        return
    with open(csv_file, newline="", encoding="utf-8") as f:
        rows = [row for _, row in zip(range(args.sms_rows), csv.DictReader(f))]
    texts = [r["text"] for r in rows]
    Y = np.array([multilabel_sms_labels(r["text"], r["label"]) for r in rows], dtype=np.int64)
    body = SentenceTransformer(str(folder), device="cpu")
    emb = body.encode(texts, convert_to_numpy=True, batch_size=32, show_progress_bar=False).astype(np.float32)
    np.save(args.out / "multilabel_sms.npy", emb)
    np.save(args.out / "multilabel_sms_labels.npy", Y)
    print(f"fixture_embeddings: multi-label SMS: {emb.shape[0]} x {emb.shape[1]}, label counts {Y.sum(0).tolist()}")


if __name__ == "__main__":
    main()
