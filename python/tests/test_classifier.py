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
    assert int8.predict(iter(texts)) == want                      # an iterator
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


def test_texts_that_are_not_texts_are_usage_errors(int8, int8_folder):
    """Issue 29 #15: what iterates to something other than the texts, in order, is refused
    with what was passed and what to pass instead (a pandas DataFrame: python/tests/spark)."""
    cases = [({"a great movie": 1, "a dull mess": 0}, r"texts is dict, a mapping, whose iteration gives its keys: "
                                                      r"pass list\(d.values\(\)\)"),
             ({"a great movie", "a dull mess"}, r"texts is set, a set, which has no order .* sorted\(s\)"),
             (frozenset({"a"}), "texts is frozenset, a set"),
             (b"bytes", r"texts is bytes, not str: decode it first"),
             (bytearray(b"bytes"), "texts is bytearray, not str"),
             (42, "texts is int, not a str or an iterable of str"),
             (np.array([["a", "b"]]), r"texts must be a 1-D array of str, not 2-D \(shape \(1, 2\)\)"),
             (["fine", 3], r"texts\[1\] is int 3, not str: pass every text as a str"),
             (["fine", None], r"texts\[1\] is NoneType None, not str: .* \(a missing value\? drop or fill those"),
             (["fine", b"raw"], r"texts\[1\] is bytes b'raw', not str: .* \(decode bytes first"),
             (np.array(["fine", float("nan")], dtype=object), r"texts\[1\] is float nan, not str: .* missing value")]
    for texts, message in cases:
        for call in (int8.predict, int8.predict_proba, lambda t: docquant.tokenize(int8_folder, t)):
            with pytest.raises(docquant.UsageError, match=message):
                call(texts)
    with pytest.raises(docquant.UsageError, match=r"texts\[5\] is int 5"):  # the index in the whole stream
        list(int8.predict_iter(["a", "b", "c", "d", "e", 5], chunk_size=2))
    with pytest.raises(docquant.UsageError, match="a mapping"):
        list(int8.predict_iter({"a": 1}))
    with pytest.raises(docquant.UsageError, match="for one text call predict"):
        list(int8.predict_iter("one text"))
    with pytest.raises(docquant.InputError, match=r"texts\[0\] is not valid Unicode text: .*surrogates not allowed"):
        int8.predict(["lone surrogate \ud800"])


def test_a_text_longer_than_the_clis_limit_is_an_input_error(cli, int8, int8_folder, tmp_path):
    """Issue 29 #12: the CLI refuses a line or CSV field over 32 MiB; Python refuses the same
    text, naming its index and length, before tokenizing any of it."""
    limit = 32 << 20
    long_text = "great " * (limit // 6) + "x" * (limit % 6 + 1)  # limit + 1 bytes
    assert len(long_text.encode()) == limit + 1
    (tmp_path / "long.txt").write_text("short\n" + long_text + "\n")
    p = subprocess.run([cli, "classify", "--model_folder", str(int8_folder), "--input",
                        str(tmp_path / "long.txt"), "--output", "-"], capture_output=True, text=True)
    assert p.returncode == 3 and "line 2 is longer than 32 MiB" in p.stderr
    message = r"texts\[1\] is 33554433 bytes long in UTF-8 \(32.0 MiB\); docquant reads texts of at most 32 MiB"
    with pytest.raises(docquant.InputError, match=message):
        int8.predict(["short", long_text])
    with pytest.raises(docquant.InputError, match=message):
        docquant.tokenize(int8_folder, ["short", long_text])
    with pytest.raises(docquant.InputError, match=r"texts\[3\] is 33554433 bytes"):
        list(int8.predict_iter(["a", "b", "c", long_text], chunk_size=2))
    with pytest.raises(docquant.InputError, match=r"texts\[0\] is 33554433 bytes"):
        int8.predict(long_text)


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
