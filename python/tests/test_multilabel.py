"""docquant.Classifier and docquant.quantize on the heads docquant used to refuse (issue 28), on
real fixtures (tools/build_fixtures.py): a multi-label head gives each text the list of its
labels, exactly the label columns `docquant classify` writes; SetFit's differentiable head
(SetFitHead) classifies as `docquant classify` does; a multi-label model quantizes under
exact-match accuracy."""
import csv
import subprocess

import numpy as np
import pytest

import docquant
from paths import FIXTURES, need, read_texts


@pytest.fixture(scope="module")
def tags_fixture():
    return need(FIXTURES / "minilm-trec-tags" / "manifest.json", "fixture minilm-trec-tags").parent


@pytest.fixture(scope="module")
def setfithead_fixture():
    return need(FIXTURES / "minilm-trec6-setfithead" / "manifest.json", "fixture minilm-trec6-setfithead").parent


def cli_rows(cli, fixture, data_csv, out_csv):
    subprocess.run([cli, "classify", "--model_folder", str(fixture / "setfit"), "--onnx_model",
                    str(fixture / "onnx" / "model.onnx"), "--input", str(data_csv), "--output", str(out_csv),
                    "--quiet"], check=True)
    with open(out_csv, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_multi_label_predict_gives_each_text_its_labels(cli, tags_fixture, tmp_path):
    data = tags_fixture / "data" / "test.csv"
    clf = docquant.Classifier(tags_fixture / "setfit", onnx_model=tags_fixture / "onnx" / "model.onnx")
    assert clf.multi_label
    texts = read_texts(data)
    header, rows = cli_rows(cli, tags_fixture, data, tmp_path / "p.csv")
    n = len(clf.classes)
    assert header == [f"label_{c}" for c in clf.classes] + [f"proba_{c}" for c in clf.classes]
    want = [[c for c, v in zip(clf.classes, r[:n]) if v == "1"] for r in rows]
    got = clf.predict(texts)
    assert got == want
    assert any(len(x) == 0 for x in got) and any(len(x) >= 2 for x in got)  # empty and multi-label answers
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), n)
    assert all(repr(float(proba[i, k])) == r[n + k] for i, r in enumerate(rows) for k in range(n))
    names, proba2 = clf.classify(texts[:5])
    assert names == want[:5] and np.array_equal(proba2, proba[:5])
    assert clf.predict(texts[0]) == want[0]
    assert list(clf.predict_iter(iter(texts[:50]), chunk_size=7)) == want[:50]


def test_setfithead_predict_equals_cli(cli, setfithead_fixture, data, tmp_path):
    clf = docquant.Classifier(setfithead_fixture / "setfit", onnx_model=setfithead_fixture / "onnx" / "model.onnx")
    assert not clf.multi_label
    texts = read_texts(data / "trec6_test.csv")
    header, rows = cli_rows(cli, setfithead_fixture, data / "trec6_test.csv", tmp_path / "p.csv")
    assert header == ["label"] + [f"proba_{c}" for c in clf.classes]
    assert clf.predict(texts) == [r[0] for r in rows]


def test_multi_label_model_quantizes_under_exact_match(tags_fixture, tmp_path):
    report = docquant.quantize(tags_fixture / "onnx", tags_fixture / "setfit", tags_fixture / "data" / "calibration.csv",
                               tmp_path / "int8", progress=False, threads=2)
    assert report["criterion"]["metric"] == "accuracy" and report["criterion"]["accuracy_metric"] == "accuracy"
    assert report["criterion"]["accuracy_measures"].startswith("exact-match accuracy")
    assert report["criterion_met"]
    clf = docquant.Classifier(tmp_path / "int8")
    assert clf.multi_label and all(isinstance(x, list) for x in clf.predict(["Who wrote Hamlet ?", "What is a dog ?"]))
    with pytest.raises(docquant.UsageError, match="unknown metric 'f1'"):
        docquant.quantize(tags_fixture / "onnx", tags_fixture / "setfit", tags_fixture / "data" / "calibration.csv",
                          tmp_path / "x", progress=False, metric="f1")
