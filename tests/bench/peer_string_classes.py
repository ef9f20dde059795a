#!/usr/bin/env python3
"""The bench harness on a SetFit head fitted on string labels (issue 17 item 7).

SetFit fits its scikit-learn head on the labels as given, so with string labels the head's
classes_ are the class names (['ABBR', 'DESC', ...]) and it predicts them; no labelencoder.pkl.
The harness (tools/fixtures/onnx_eval.py, which INC's eval function and run_peers.py's
accuracy use) assumed int classes and crashed on it with "invalid literal for int()".

The fixture is built from the real minilm-trec6 one in a few seconds: its head, with
classes_ set to the names its labelencoder.pkl maps the ints to. scikit-learn fits string
labels by encoding them in that same sorted order, so this is the head a fit on the string
labels gives, coefficient for coefficient. Checks, on the first ROWS test rows:
  - the harness runs on it, predicts strings, and gives the accuracy it gives on the original
    head + labelencoder.pkl (the same predictions, so exactly the same);
  - docquant eval runs on it and agrees with itself on the original folder, and with the
    harness (within one row: two tokenize-and-batch paths).
Usage: peer_string_classes.py DOCQUANT_BIN WORK_DIR   (exit 77 when the fixture is absent)
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fixtures import onnx_eval, paths  # noqa: E402

ROWS = 60


def string_class_folder(fixture: Path, out: Path) -> Path:
    """fixture/setfit without labelencoder.pkl (and the torch weights no eval reads), its head's
    classes_ the label names."""
    folder = out / "setfit"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(fixture / "setfit", folder, ignore=shutil.ignore_patterns("labelencoder.pkl", "pytorch_model.bin"))
    head = joblib.load(fixture / "setfit" / "model_head.pkl")
    encoder = joblib.load(fixture / "setfit" / "labelencoder.pkl")
    head.classes_ = np.asarray([str(c) for c in encoder.classes_])  # as a fit on a list of str sets it
    joblib.dump(head, folder / "model_head.pkl")
    return folder


def docquant_accuracy(binary: str, folder: Path, onnx_model: Path, data: Path, report: Path) -> float:
    subprocess.run([binary, "eval", "--model_folder", str(folder), "--onnx_model", str(onnx_model), "--data",
                    str(data), "--json", str(report), "--threads", "2"], check=True, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text())["model"]["accuracy"]


def main() -> int:
    binary, work = sys.argv[1], Path(sys.argv[2])
    fixture = paths.fixtures_dir() / "minilm-trec6"
    if not (fixture / "onnx" / "model.onnx").is_file():
        print(f"skipped: no fixture at {fixture} (tools/build_fixtures.py --only minilm-trec6)")
        return 77
    work.mkdir(parents=True, exist_ok=True)
    folder = string_class_folder(fixture, work / "string-classes")
    data = work / "trec6_head.csv"
    pd.read_csv(paths.data_file("trec6_test.csv"), keep_default_na=False).iloc[:ROWS].to_csv(data, index=False)
    texts, labels = onnx_eval.load_csv(str(data))
    session = onnx_eval.make_session(str(fixture / "onnx" / "model.onnx"), 2)

    strings = onnx_eval.SetFitFolder.load(str(folder))
    original = onnx_eval.SetFitFolder.load(str(fixture / "setfit"))
    assert strings.label_encoder is None and np.asarray(strings.head.classes_).dtype.kind in "OUS", \
        "the fixture's head must predict class names"
    predicted = strings.head.predict(onnx_eval.embed(session, strings, texts))
    assert predicted.dtype.kind in "OUS", f"predictions are {predicted.dtype}, not class names"
    assert set(predicted) <= set(labels.astype(str)) | set(strings.head.classes_)
    ours = onnx_eval.body_accuracy(session, strings, texts, labels)
    theirs = onnx_eval.body_accuracy(session, original, texts, labels)
    assert ours == theirs, f"harness: {ours} on the string head, {theirs} on head + labelencoder.pkl"
    assert ours > 1.0 / 6, f"harness accuracy {ours} is at chance: labels and predictions do not line up"

    dq_strings = docquant_accuracy(binary, folder, fixture / "onnx" / "model.onnx", data, work / "strings.json")
    dq_original = docquant_accuracy(binary, fixture / "setfit", fixture / "onnx" / "model.onnx", data,
                                    work / "original.json")
    assert dq_strings == dq_original, f"docquant: {dq_strings} on the string head, {dq_original} on the original"
    assert abs(dq_strings - ours) <= 1.0 / ROWS + 1e-9, f"docquant {dq_strings} vs harness {ours}"
    print(f"string-class head: harness accuracy {ours:.4f} (= {theirs:.4f} with labelencoder.pkl), "
          f"docquant eval {dq_strings:.4f}, on {ROWS} rows of trec6_test.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
