#!/usr/bin/env python3
"""Embed real text with each SetFit fixture's own body, for head parity on real embeddings.

Run with the setfit venv (sentence-transformers):

    ~/.cache/docquant/venvs/setfit/bin/python tools/heads/fixture_embeddings.py --out build/goldens/fixture-embeddings

For each $DOCQUANT_FIXTURES/<name>/setfit/ (tools/build_fixtures.py) it encodes the first
--rows texts of the fixture's test CSV (../shared/data/<manifest dataset.test>) exactly as
SetFit's predict does (model_body.encode with the folder's normalize_embeddings) and writes
OUT/fixture_<name>.npy (float32, rows x width). tools/golden_heads.py then scores the fixture's
head on them with each pinned scikit-learn.
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


if __name__ == "__main__":
    main()
