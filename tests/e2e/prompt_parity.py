#!/usr/bin/env python3
"""A default prompt (issue 29, item 13) on the real minilm-sst2 fixture, against
sentence-transformers >= 2.4's own encode (the `tok` venv: sentence-transformers 3.0.1).

A copy of the fixture's SetFit folder (files linked) whose config_sentence_transformers.json
gets `prompts` and `default_prompt_name`. sentence-transformers' encode (what SetFit's predict
calls) then puts the prompt before every text, strips, tokenizes, pools every token (the
fixture's 1_Pooling has include_prompt true by default). Checked:
  1. `docquant tokenize` equals SentenceTransformer.tokenize([prompt + text]) on every text;
  2. `docquant classify` (the fixture's fp32 ONNX body) equals encode + the joblib head:
     identical labels and |dp| <= 2e-4 (torch against ONNX Runtime), and the prompt moves the
     probabilities (so the comparison can tell a prompt applied from one ignored);
  3. include_prompt: false in the copy's pooling config is refused (exit 3) naming the field.

  prompt_parity.py DOCQUANT FIXTURE_DIR DATA.csv WORKDIR      (tok venv)
"""
import csv
import json
import pathlib
import subprocess
import sys

import joblib
import numpy as np
from sentence_transformers import SentenceTransformer

from e2e_util import read_csv, run

PROMPTS = {"query": "query: ", "sentiment": "  Is this review positive? Review:"}
DEFAULT = "sentiment"  # leading spaces and no trailing space: strip and joining both matter
ROWS = 300
MAX_DELTA = 2e-4


def copy_folder(fixture, dest, prompts, default, include_prompt=None):
    dest.mkdir(parents=True)
    for item in (fixture / "setfit").iterdir():
        if item.name not in ("config_sentence_transformers.json", "1_Pooling"):
            (dest / item.name).symlink_to(item)
    config = json.loads((fixture / "setfit" / "config_sentence_transformers.json").read_text())
    config.update({"prompts": prompts, "default_prompt_name": default})
    (dest / "config_sentence_transformers.json").write_text(json.dumps(config, indent=2))
    (dest / "1_Pooling").mkdir()
    pooling = json.loads((fixture / "setfit" / "1_Pooling" / "config.json").read_text())
    if include_prompt is not None:
        pooling["include_prompt"] = include_prompt
    (dest / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))


def classify(docquant, folder, onnx_model, data, out):
    run([docquant, "classify", "--model_folder", folder, "--onnx_model", onnx_model, "--input", data,
         "--output", out, "--threads", "2"])
    rows = read_csv(out)
    classes = [c[len("proba_"):] for c in rows[0] if c.startswith("proba_")]
    return [r["label"] for r in rows], np.array([[float(r["proba_" + c]) for c in classes] for r in rows]), classes


def main():
    docquant, fixture, data, work = sys.argv[1:5]
    fixture, data, work = pathlib.Path(fixture), pathlib.Path(data), pathlib.Path(work)
    work.mkdir(parents=True, exist_ok=True)
    with open(data, newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)][:ROWS]
    subset = work / "texts.csv"
    with open(subset, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        w.writerows([t] for t in texts)
    folder = work / "setfit"
    copy_folder(fixture, folder, PROMPTS, DEFAULT)
    model = SentenceTransformer(str(folder), device="cpu")
    assert model.default_prompt_name == DEFAULT, model.default_prompt_name
    prompt = PROMPTS[DEFAULT]
    failures = 0

    # 1. tokenization
    lines = work / "texts.txt"
    lines.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    got = [json.loads(x)["input_ids"] for x in run([docquant, "tokenize", "--setfit_model_folder", folder,
                                                    "--input", lines]).splitlines()]
    want = [model.tokenize([prompt + t])["input_ids"][0].tolist() for t in texts]
    same = sum(g == w for g, w in zip(got, want))
    print(f"  tokenize: {same}/{len(texts)} identical to SentenceTransformer.tokenize([prompt + text])")
    failures += same != len(texts)

    # 2. classification
    labels, proba, classes = classify(docquant, folder, fixture / "onnx" / "model.onnx", subset, work / "prompt.csv")
    head = joblib.load(folder / "model_head.pkl")
    emb = model.encode(texts, batch_size=32)  # the default prompt applies, as in SetFit's predict
    ref = head.predict_proba(emb)
    ref_labels = [str(c) for c in head.classes_[ref.argmax(axis=1)]]
    names = [str(c) for c in head.classes_]
    if classes != names:
        print(f"  (class names {classes} vs head classes {names}: comparing by column)")
        ref_labels = [classes[i] for i in ref.argmax(axis=1)]
    delta = float(np.abs(proba - ref).max())
    same = sum(a == b for a, b in zip(labels, ref_labels))
    print(f"  classify with prompt '{DEFAULT}': labels identical {same}/{len(texts)}, max |dp| {delta:.3g} "
          f"(need {len(texts)}, <= {MAX_DELTA})")
    failures += same != len(texts) or delta > MAX_DELTA
    _, plain, _ = classify(docquant, fixture / "setfit", fixture / "onnx" / "model.onnx", subset, work / "plain.csv")
    moved = float(np.abs(plain - proba).max())
    print(f"  the prompt moves docquant's probabilities by up to {moved:.3g} (must be > {10 * MAX_DELTA})")
    failures += moved <= 10 * MAX_DELTA

    # 3. include_prompt: false is refused, naming the field
    refused = work / "setfit-exclude"
    copy_folder(fixture, refused, PROMPTS, DEFAULT, include_prompt=False)
    p = subprocess.run([str(docquant), "classify", "--model_folder", str(refused), "--onnx_model",
                        str(fixture / "onnx" / "model.onnx"), "--input", str(subset), "--output", str(work / "x.csv")],
                       capture_output=True, text=True)
    ok = p.returncode == 3 and "include_prompt" in p.stderr and not (work / "x.csv").exists()
    print(f"  include_prompt false: exit {p.returncode}: {p.stderr.strip()}")
    failures += not ok

    if failures:
        raise SystemExit("FAIL: docquant and sentence-transformers disagree on the default prompt")
    print("prompt parity: OK")


if __name__ == "__main__":
    main()
