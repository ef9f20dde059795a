"""docquant.Classifier on fp32 against the original pipeline's Python path (tools/python_path.py:
Hugging Face tokenizers + ONNX Runtime's Python API + mean pooling in numpy + the joblib
head), batched alike. That path runs in its own venv (it needs onnxruntime, tokenizers,
scikit-learn), never in this one."""
import csv
import subprocess

import numpy as np
import pytest

import docquant
from paths import REFERENCE_PYTHON, ROOT, need, read_texts

# docquant runs the fp32 export with quantize's graph optimisation (docs/classify.md): the
# fused attention and layer norms move probabilities by ~1e-7 at most on these fixtures.
MAX_ABS_DIFF = 1e-5


@pytest.mark.parametrize("fixture_name,data_name", [("minilm-sst2", "sst2_test.csv"), ("minilm-trec6", "trec6_test.csv")])
def test_fp32_equals_the_python_path(fixture_name, data_name, sst2_fixture, data, tmp_path):
    fixture = need(sst2_fixture.parent / fixture_name / "manifest.json", f"fixture {fixture_name}").parent
    python = need(REFERENCE_PYTHON, "the setfit venv (the reference path's Python)")
    out = tmp_path / "reference.csv"
    subprocess.run([str(python), str(ROOT / "tools" / "python_path.py"), "predict", "--model_folder",
                    str(fixture / "setfit"), "--onnx_model", str(fixture / "onnx" / "model.onnx"), "--input",
                    str(data / data_name), "--output", str(out), "--threads", "2"], check=True)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    clf = docquant.Classifier(fixture / "setfit", onnx_model=fixture / "onnx" / "model.onnx", threads=2)
    assert rows[0] == ["label"] + [f"proba_{c}" for c in clf.classes]
    texts = read_texts(data / data_name)
    labels = clf.predict(texts)
    proba = clf.predict_proba(texts)
    reference = np.array([[float(x) for x in r[1:]] for r in rows[1:]])
    assert labels == [r[0] for r in rows[1:]]
    worst = float(np.abs(proba - reference).max())
    print(f"{fixture_name} fp32 on {data_name}: {len(texts)} labels identical, max |dp| {worst:.3g}")
    assert worst <= MAX_ABS_DIFF
