#!/usr/bin/env python3
"""Texts longer than max_seq_length on a real model (issue 18, item 4).

The minilm-sst2 fixture with sentence_bert_config.json's max_seq_length lowered from 256 to 24
(every other file linked unchanged): about half of SST-2's sentences run past 24 tokens (dev 51 %,
test 49 %), so truncation decides half of the calibration rows. Checked against the reference
libraries:
  1. `docquant tokenize` equals sentence-transformers' own SentenceTransformer.tokenize (the
     truncation a SetFit model applies) on every sst2_test text, and more than a third are cut;
  2. `docquant quantize` calibrates on sst2_dev (> 1/3 truncated) and meets its criterion;
  3. `docquant eval` finds the accuracy the Python path (tools/python_path.py) finds, fp32 and int8;
  4. `docquant classify` equals the Python path: fp32 identical labels and |dp| <= 1e-4;
     int8 >= 99.9 % identical labels (per-token activations make a text's result its own).

  long_texts.py DOCQUANT FIXTURE_DIR SHARED_DATA_DIR WORKDIR      (setfit venv)
"""
import json
import os
import pathlib
import sys

from e2e_util import read_csv, run

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import python_path  # noqa: E402

MAX_SEQ = 24
MIN_TRUNCATED = 1 / 3




def truncated_share(tokenizer_json, texts):
    from tokenizers import Tokenizer
    t = Tokenizer.from_file(str(tokenizer_json))
    return float(np.mean([len(t.encode(x.strip()).ids) > MAX_SEQ for x in texts]))


def classify_parity(docquant, folder, onnx_model, data, work, what, min_share, max_delta, ref):
    out = work / f"{what}.docquant.csv"
    run([docquant, "classify", "--model_folder", folder, "--onnx_model", onnx_model, "--input", data,
         "--output", out, "--threads", "2"])
    rows = read_csv(out)
    classes = [c[len("proba_"):] for c in rows[0] if c.startswith("proba_")]
    if classes != ref.classes:
        raise SystemExit(f"FAIL: classes {classes} vs the Python path's {ref.classes}")
    texts = python_path.read_texts(str(data))
    idx, proba = ref.predict(texts)
    got = np.array([[float(r["proba_" + c]) for c in classes] for r in rows])
    same = sum(r["label"] == ref.classes[i] for r, i in zip(rows, idx))
    delta = float(np.abs(got - proba).max())
    print(f"  classify {what}: labels identical {same}/{len(texts)}, max |dp| {delta:.3g}")
    if same < min_share * len(texts) or (max_delta >= 0 and delta > max_delta):
        raise SystemExit(f"FAIL: classify {what} differs from the Python path beyond the bounds")
    labels = [r["label"] for r in read_csv(data)]
    return float(np.mean([ref.classes[i] == lab for i, lab in zip(idx, labels)]))


def eval_accuracy(docquant, folder, onnx_model, data, work, what):
    report = work / f"eval.{what}.json"
    args = [docquant, "eval", "--model_folder", folder, "--data", data, "--json", report, "--threads", "2"]
    if onnx_model:
        args += ["--onnx_model", onnx_model]
    run(args)
    return json.loads(report.read_text())["model"]["accuracy"]


def main():
    docquant, fixture, data_dir, work = sys.argv[1:5]
    fixture, data_dir, work = pathlib.Path(fixture), pathlib.Path(data_dir), pathlib.Path(work)
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "setfit"
    folder.mkdir()
    for item in (fixture / "setfit").iterdir():
        if item.name != "sentence_bert_config.json":
            (folder / item.name).symlink_to(item)
    config = json.loads((fixture / "setfit" / "sentence_bert_config.json").read_text())
    config["max_seq_length"] = MAX_SEQ
    (folder / "sentence_bert_config.json").write_text(json.dumps(config, indent=2) + "\n")
    calib, test = data_dir / "sst2_dev.csv", data_dir / "sst2_test.csv"
    onnx_model = fixture / "onnx" / "model.onnx"

    # 1. Truncation equals sentence-transformers'.
    texts = [r["text"] for r in read_csv(test)]
    share_test = truncated_share(folder / "tokenizer.json", texts)
    share_calib = truncated_share(folder / "tokenizer.json", [r["text"] for r in read_csv(calib)])
    print(f"max_seq_length {MAX_SEQ}: truncated {100 * share_calib:.1f} % of {calib.name}, "
          f"{100 * share_test:.1f} % of {test.name}")
    if share_calib <= MIN_TRUNCATED or share_test <= MIN_TRUNCATED:
        raise SystemExit("FAIL: a third or fewer of the texts are truncated; the run would not test truncation")
    (work / "texts.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    ours = [json.loads(line)["input_ids"] for line in
            run([docquant, "tokenize", "--setfit_model_folder", folder, "--input", work / "texts.txt"]).splitlines()]
    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(str(folder), device="cpu")
    if st.max_seq_length != MAX_SEQ:
        raise SystemExit(f"FAIL: sentence-transformers reads max_seq_length {st.max_seq_length}")
    theirs = []
    for start in range(0, len(texts), 256):
        f = st.tokenize(texts[start:start + 256])
        theirs += [ids[:int(m.sum())].tolist() for ids, m in zip(f["input_ids"], f["attention_mask"])]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    at_max = sum(len(t) == MAX_SEQ for t in theirs)
    print(f"  tokenize: {len(texts) - len(differ)}/{len(texts)} identical to SentenceTransformer.tokenize; "
          f"{at_max} at max_seq_length")
    if len(ours) != len(theirs) or differ:
        raise SystemExit(f"FAIL: docquant tokenize differs from sentence-transformers on {len(differ)} texts, "
                         f"first row {differ[0] + 1 if differ else None}")

    # 2. Quantize on the truncated calibration set.
    out = work / "int8"
    run([docquant, "quantize", "--quiet", "--onnx_model_folder", fixture / "onnx", "--setfit_model_folder", folder,
         "--calibration_data", calib, "--output_folder", out, "--threads", "2", "--no_cache"])
    record = json.loads((out / "quantization.json").read_text())
    print(f"  quantize on {calib.name}: fp32 {record['baseline_accuracy']:.4f}, int8 {record['final_accuracy']:.4f}, "
          f"criterion met {record['criterion_met']}, {len(record['trials'])} trial(s)")
    if not record["criterion_met"]:
        raise SystemExit("FAIL: quantize missed its criterion on the truncated calibration set")
    cfg = json.loads((out / "sentence_bert_config.json").read_text())
    if cfg["max_seq_length"] != MAX_SEQ:
        raise SystemExit(f"FAIL: the output folder's max_seq_length is {cfg['max_seq_length']}, not {MAX_SEQ}")

    # 3 + 4. eval and classify against the Python path, fp32 and int8.
    ref32 = python_path.PythonPath(str(folder), str(onnx_model), threads=2)
    acc_py32 = classify_parity(docquant, folder, onnx_model, test, work, "fp32", 1.0, 1e-4, ref32)
    ref8 = python_path.PythonPath(str(out), str(out / "model.onnx"), threads=2)
    acc_py8 = classify_parity(docquant, out, out / "model.onnx", test, work, "int8", 0.999, -1, ref8)
    acc32 = eval_accuracy(docquant, folder, onnx_model, test, work, "fp32")
    acc8 = eval_accuracy(docquant, out, None, test, work, "int8")
    print(f"  eval fp32: docquant {acc32:.6f}, Python path {acc_py32:.6f}")
    print(f"  eval int8: docquant {acc8:.6f}, Python path {acc_py8:.6f}")
    if abs(acc32 - acc_py32) > 1e-9 or abs(acc8 - acc_py8) > 1e-3:
        raise SystemExit("FAIL: docquant eval and the Python path disagree")
    print("ok")


if __name__ == "__main__":
    main()
