"""classify_udf on a multi-label head (issue 28): each text's labels as array<string> (class
order, empty when none applies), or with return_probabilities the struct {labels,
probabilities}; a null text gives null. The model is the minilm-trec-tags fixture (its fp32
SetFit folder with its ONNX body beside it as model.onnx)."""
import shutil

import pytest
from pyspark.sql.types import ArrayType, StringType

import docquant
from docquant.spark import classify_udf
from paths import FIXTURES, need, read_texts


@pytest.fixture(scope="module")
def tags_folder(tmp_path_factory):
    fixture = need(FIXTURES / "minilm-trec-tags" / "manifest.json", "fixture minilm-trec-tags").parent
    folder = tmp_path_factory.mktemp("tags") / "model"
    shutil.copytree(fixture / "setfit", folder, ignore=shutil.ignore_patterns("pytorch_model.bin"))
    shutil.copyfile(fixture / "onnx" / "model.onnx", folder / "model.onnx")
    return folder


def test_multi_label_head_gives_label_arrays(spark, tags_folder):
    fixture = FIXTURES / "minilm-trec-tags"
    texts = read_texts(fixture / "data" / "test.csv")[:300]
    rows = [(i, t) for i, t in enumerate(texts)] + [(len(texts), None)]
    df = spark.createDataFrame(rows, "id int, text string").repartition(3)
    clf = docquant.Classifier(tags_folder)
    want = clf.predict(texts)
    labels = df.withColumn("labels", classify_udf(str(tags_folder), threads_per_task=1)("text"))
    assert labels.schema["labels"].dataType == ArrayType(StringType())
    got = labels.orderBy("id").toPandas()["labels"].tolist()
    assert [list(x) if x is not None else None for x in got] == want + [None]
    assert any(len(x) == 0 for x in want) and any(len(x) >= 2 for x in want)
    both = df.withColumn("pred", classify_udf(str(tags_folder), return_probabilities=True)("text")) \
        .select("id", "pred.labels", "pred.probabilities").orderBy("id").collect()
    proba = clf.predict_proba(texts)
    assert [r.labels for r in both[:-1]] == want
    assert max(abs(p - q) for r, row in zip(both, proba) for p, q in zip(r.probabilities, row)) <= 1e-6
    assert both[-1].labels is None and both[-1].probabilities is None
