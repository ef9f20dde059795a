#!/usr/bin/env python3
"""Pool random token embeddings with sentence_transformers.models.Pooling and write the answers.

Run with a python that has sentence-transformers (the `setfit` venv from tools/venvs/setfit.txt):

    ~/.cache/docquant/venvs/setfit/bin/python tools/heads/golden_pooling.py --out build/goldens/pooling

Writes OUT/<case>/{config.json, tokens.f32, mask.i64, expected.f32, shape.json} and
OUT/manifest.json. tests/setfit/pooling_parity_test.cc compares docquant's pool() with them.
Masks are right-padded (what docquant's runtime feeds), with every row holding >= 1 token.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import sentence_transformers
import torch
from sentence_transformers.models import Pooling

MODES = {
    "cls": dict(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False),
    "mean": dict(pooling_mode_mean_tokens=True),
    "max": dict(pooling_mode_max_tokens=True, pooling_mode_mean_tokens=False),
    "mean_sqrt_len": dict(pooling_mode_mean_sqrt_len_tokens=True, pooling_mode_mean_tokens=False),
    "weightedmean": dict(pooling_mode_weightedmean_tokens=True, pooling_mode_mean_tokens=False),
    "lasttoken": dict(pooling_mode_lasttoken=True, pooling_mode_mean_tokens=False),
    "cls+max+mean": dict(pooling_mode_cls_token=True, pooling_mode_max_tokens=True, pooling_mode_mean_tokens=True),
    "all": dict(pooling_mode_cls_token=True, pooling_mode_max_tokens=True, pooling_mode_mean_tokens=True,
                pooling_mode_mean_sqrt_len_tokens=True, pooling_mode_weightedmean_tokens=True,
                pooling_mode_lasttoken=True),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    batch, seq, hidden = 9, 17, 32
    cases = []
    for name, kw in MODES.items():
        d = args.out / name.replace("+", "_")
        d.mkdir(parents=True, exist_ok=True)
        tokens = rng.standard_normal((batch, seq, hidden)).astype(np.float32)
        lengths = rng.integers(1, seq + 1, size=batch)
        lengths[0] = seq
        mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
        pool = Pooling(hidden, **kw)
        feats = {"token_embeddings": torch.from_numpy(tokens.copy()),
                 "attention_mask": torch.from_numpy(mask)}
        out = pool(feats)["sentence_embedding"].detach().numpy().astype(np.float32)
        (d / "config.json").write_text(json.dumps(pool.get_config_dict()))
        tokens.astype("<f4").tofile(d / "tokens.f32")
        mask.astype("<i8").tofile(d / "mask.i64")
        out.astype("<f4").tofile(d / "expected.f32")
        (d / "shape.json").write_text(json.dumps({"batch": batch, "seq": seq, "hidden": hidden,
                                                  "out": int(out.shape[1])}))
        cases.append(d.name)
    (args.out / "manifest.json").write_text(json.dumps(
        {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__,
         "cases": cases}, indent=1))
    print(f"golden_pooling: {len(cases)} cases with sentence-transformers {sentence_transformers.__version__}")


if __name__ == "__main__":
    main()
