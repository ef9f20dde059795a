"""docquant.Classifier against `docquant classify` on the real fixtures: identical labels,
probabilities equal to the last printed digit; the argument forms; streams; threads."""
import csv
import subprocess
import threading
import time

import numpy as np
import pytest

import docquant
from paths import read_texts


def cli_classify(cli, folder, data_csv, out_csv, onnx_model=None):
    cmd = [cli, "classify", "--model_folder", str(folder), "--input", str(data_csv), "--output", str(out_csv),
           "--quiet"]
    if onnx_model:
        cmd += ["--onnx_model", str(onnx_model)]
    subprocess.run(cmd, check=True)
    with open(out_csv, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def assert_same_as_cli(clf, texts, header, rows):
    """Labels identical; each probability printed as the CLI prints it (shortest round-trip
    repr of the double) is the CLI's field, character for character."""
    assert header == ["label"] + [f"proba_{c}" for c in clf.classes]
    labels = clf.predict(texts)
    proba = clf.predict_proba(texts)
    assert proba.dtype == np.float64 and proba.shape == (len(texts), len(clf.classes))
    assert labels == [r[0] for r in rows]
    mismatched = [(i, k) for i, r in enumerate(rows) for k, field in enumerate(r[1:]) if repr(float(proba[i, k])) != field]
    assert not mismatched, f"{len(mismatched)} probabilities differ from the CLI's, first {mismatched[:3]}"


@pytest.fixture(scope="module")
def int8(int8_folder):
    return docquant.Classifier(int8_folder)


def test_int8_equals_cli_on_sst2_test(cli, int8, int8_folder, data, tmp_path):
    texts = read_texts(data / "sst2_test.csv")
    header, rows = cli_classify(cli, int8_folder, data / "sst2_test.csv", tmp_path / "p.csv")
    assert_same_as_cli(int8, texts, header, rows)


def test_fp32_equals_cli_on_trec6_test(cli, trec6_fixture, data, tmp_path):
    clf = docquant.Classifier(trec6_fixture / "setfit", onnx_model=trec6_fixture / "onnx" / "model.onnx")
    assert len(clf.classes) == 6
    texts = read_texts(data / "trec6_test.csv")
    header, rows = cli_classify(cli, trec6_fixture / "setfit", data / "trec6_test.csv", tmp_path / "p.csv",
                                onnx_model=trec6_fixture / "onnx" / "model.onnx")
    assert_same_as_cli(clf, texts, header, rows)


def test_more_than_one_chunk_equals_cli(cli, int8, int8_folder, data, tmp_path):
    # 5000 texts: two chunks of the core's batching, as the CLI streams them.
    texts = (read_texts(data / "sst2_test.csv") * 3)[:5000]
    (tmp_path / "t.txt").write_text("".join(t.replace("\n", " ") + "\n" for t in texts), encoding="utf-8")
    texts = [t.replace("\n", " ") for t in texts]
    header, rows = cli_classify(cli, int8_folder, tmp_path / "t.txt", tmp_path / "p.csv")
    assert_same_as_cli(int8, texts, header, rows)
    assert list(int8.predict_iter(texts)) == [r[0] for r in rows]


def test_argument_forms_agree(int8, data):
    texts = read_texts(data / "sst2_test.csv")[:40]
    want = int8.predict(texts)
    assert int8.predict(tuple(texts)) == want
    assert int8.predict(np.array(texts)) == want                  # dtype <U
    assert int8.predict(np.array(texts, dtype=object)) == want    # as pandas and Spark hand them over
    assert int8.predict(t for t in texts) == want                 # any iterable
    assert int8(texts) == want                                    # __call__, as SetFitModel's
    assert isinstance(int8.predict(texts[0]), str)                # one str in, one label out
    assert int8.predict(texts[0]) == int8.predict(texts[:1])[0]
    one = int8.predict_proba(texts[0])
    assert one.shape == (2,) and np.array_equal(one, int8.predict_proba(texts[:1])[0])


def test_empty_inputs(int8):
    assert int8.predict([]) == []
    assert int8.predict_proba([]).shape == (0, 2)
    assert list(int8.predict_iter([])) == []
    assert int8.predict([""]) in (["0"], ["1"])  # an empty text is still a text


def test_predict_iter_streams_in_chunks(int8, data):
    texts = read_texts(data / "sst2_test.csv")[:300]
    pulled = []

    def source():
        for t in texts:
            pulled.append(t)
            yield t

    it = int8.predict_iter(source(), chunk_size=100)
    first = next(it)
    assert len(pulled) == 100  # one chunk read, not the whole stream
    rest = list(it)
    batch = [int8.predict(texts[i:i + 100]) for i in range(0, 300, 100)]
    assert [first, *rest] == sum(batch, [])
    pairs = list(int8.predict_iter(texts[:10], with_proba=True))
    assert [p[0] for p in pairs] == int8.predict(texts[:10])
    assert np.array_equal(np.stack([p[1] for p in pairs]), int8.predict_proba(texts[:10]))


def test_bad_texts_raise_type_error(int8):
    with pytest.raises(TypeError, match=r"texts\[1\] is int, not str"):
        int8.predict(["fine", 3])
    with pytest.raises(TypeError, match="not bytes"):
        int8.predict(b"bytes")
    with pytest.raises(TypeError, match="1-D"):
        int8.predict(np.array([["a", "b"]]))
    with pytest.raises(UnicodeEncodeError):
        int8.predict(["lone surrogate \ud800"])


def test_threads_share_one_classifier(int8_folder, data):
    """Four Python threads on one Classifier get the single-thread results exactly, and the
    GIL is released while C++ runs (a pure-Python counter keeps counting meanwhile)."""
    clf = docquant.Classifier(int8_folder, threads=1)
    texts = read_texts(data / "sst2_test.csv")[:256]
    want = clf.predict_proba(texts)
    results, errors = [None] * 4, []

    def work(k):
        try:
            results[k] = clf.predict_proba(texts)
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    ticks = 0
    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    while any(w.is_alive() for w in workers):
        ticks += 1
        time.sleep(0.001)
    assert not errors
    for r in results:
        assert np.array_equal(r, want)
    assert ticks > 50, f"the main thread ran only {ticks} times while 4 threads classified: GIL held?"
