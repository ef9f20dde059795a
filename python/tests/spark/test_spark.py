"""docquant.spark.classify_udf on a real local Spark against `docquant classify` on the same
20,000 rows, in 1, 3 and 8 partitions; the model shipped by SparkContext.addFile; nothing
written when a task fails.

The example folder holds docquant's default per-token recipe, whose answers depend only on the
text, so the UDF's default batches 32 texts per model call (auto_model_batch_size) and every
partitioning must give `docquant classify --batch_size 1`'s labels, with probabilities within
1e-6 (bit-identical on the hosts measured so far; the count is printed). model_batch_size=1,
the choice for per-tensor folders, must match it bit for bit. (What batch 32 changes for a
per-tensor folder is measured by bench/python/spark_bench.py and reported in docs/spark.md.)"""
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from docquant.spark import auto_model_batch_size, classify_udf
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

import docquant


def read_rows(spark, rows_csv):
    pdf = pd.read_csv(rows_csv, dtype={"id": "int64", "text": "string"}, keep_default_na=False)
    return spark.createDataFrame(pdf.astype({"text": object}))


@pytest.fixture(scope="module")
def cli_predictions(int8_folder, rows_csv, tmp_path_factory):
    """`docquant classify` on the rows: (labels, probabilities) in row order."""
    out = tmp_path_factory.mktemp("cli") / "preds.csv"
    cli = os.environ.get("DOCQUANT_CLI") or str(Path(sys.executable).parent / "docquant")
    subprocess.run([cli, "classify", "--model_folder", str(int8_folder), "--input", str(rows_csv), "--output",
                    str(out), "--batch_size", "1", "--quiet"], check=True)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [r[0] for r in rows], np.array([[float(x) for x in r[1:]] for r in rows])


@pytest.mark.parametrize("partitions,model_batch_size", [(1, None), (3, None), (8, None), (3, 1)])
def test_results_equal_cli_in_every_partitioning(spark, int8_folder, rows_csv, cli_predictions, partitions,
                                                 model_batch_size, tmp_path):
    labels, proba = cli_predictions
    df = read_rows(spark, rows_csv).repartition(partitions)
    classify = classify_udf(str(int8_folder), return_probabilities=True, threads_per_task=1,
                            model_batch_size=model_batch_size)
    out = tmp_path / "out.parquet"
    start = time.monotonic()
    (df.withColumn("pred", classify("text")).select("id", "pred.label", "pred.probabilities")
     .write.parquet(str(out)))
    seconds = time.monotonic() - start
    got = pd.read_parquet(out).sort_values("id")
    assert got["id"].tolist() == list(range(len(labels)))
    got_proba = np.stack(got["probabilities"].to_numpy())
    same = int((got["label"].to_numpy() == np.array(labels)).sum())
    delta = np.abs(got_proba - proba).max(axis=1)
    print(f"{partitions} partition(s), model_batch_size {model_batch_size or 'auto'}: {len(labels)} rows in "
          f"{seconds:.1f}s ({len(labels) / seconds:.0f} docs/s); labels identical {same}/{len(labels)}; "
          f"probabilities: {int((delta == 0).sum())} rows bit-identical, max |dp| {delta.max():.3g}, "
          f"99th percentile {np.percentile(delta, 99):.3g}")
    assert same == len(labels)
    if model_batch_size == 1:
        assert (delta == 0).all()
    else:
        assert delta.max() <= 1e-6


def test_auto_model_batch_size_follows_the_recipe(int8_folder, tmp_path):
    """32 texts per call only where the answer cannot depend on the batch; 1 otherwise."""
    assert auto_model_batch_size(str(int8_folder)) == 32  # the example folder: per-token recipe
    for name, content, want in [("per_tensor", '{"recipe": {"activation_scales": "per_tensor"}}', 1),
                                ("per_token", '{"recipe": {"activation_scales": "per_token"}}', 32),
                                ("broken", '{"recipe": ', 1), ("no_recipe", '{"format_version": 1}', 1)]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "quantization.json").write_text(content)
        assert auto_model_batch_size(str(folder)) == want, name
    assert auto_model_batch_size(str(tmp_path)) == 32  # no quantization.json: an fp32 folder


def test_nulls_give_null_labels(spark, int8_folder):
    df = spark.createDataFrame([(0, "a great movie"), (1, None), (2, "a dull mess")], "id int, text string")
    out = df.withColumn("pred", classify_udf(str(int8_folder), return_probabilities=True)("text")) \
        .select("id", "pred.label", "pred.probabilities").orderBy("id").collect()
    clf = docquant.Classifier(int8_folder)
    assert out[0].label == clf.predict("a great movie")
    assert out[0].probabilities == clf.predict_proba("a great movie").tolist()
    assert out[1].label is None and out[1].probabilities == [None, None]
    plain = df.withColumn("label", classify_udf(str(int8_folder))("text")).orderBy("id").toPandas()
    assert plain["label"].tolist() == [clf.predict("a great movie"), None, clf.predict("a dull mess")]


def test_model_shipped_with_add_file(spark, int8_folder, tmp_path):
    shipped = tmp_path / "shipped-int8"
    shutil.copytree(int8_folder, shipped)
    spark.sparkContext.addFile(str(shipped), recursive=True)
    # A path no executor has, with the shipped folder's name: executors use their SparkFiles copy.
    elsewhere = "/nonexistent/models/shipped-int8"
    df = spark.createDataFrame([(i, t) for i, t in enumerate(["a great movie", "a dull mess", "fine"])],
                               "id int, text string")
    got = df.withColumn("label", classify_udf(elsewhere)("text")).orderBy("id").toPandas()["label"].tolist()
    assert got == docquant.Classifier(shipped).predict(["a great movie", "a dull mess", "fine"])


def test_failed_task_writes_nothing(spark, int8_folder, rows_csv, tmp_path):
    """A task that fails after others have finished: Spark's commit protocol leaves no rows."""
    @F.udf(StringType())
    def fail_on_row(i, text):
        if i == 1500:
            raise ValueError("row 1500 is bad")
        return text

    df = read_rows(spark, rows_csv).limit(2000).repartitionByRange(4, "id")
    out = tmp_path / "out.parquet"
    with pytest.raises(Exception, match="row 1500 is bad"):
        (df.withColumn("text", fail_on_row("id", "text")).withColumn("label", classify_udf(str(int8_folder))("text"))
         .write.parquet(str(out)))
    written = [p for p in out.rglob("*.parquet")] if out.exists() else []
    assert written == [] and not (out / "_SUCCESS").exists()


def test_missing_model_folder_fails_with_docquants_message(spark, tmp_path):
    df = spark.createDataFrame([(0, "text")], "id int, text string")
    with pytest.raises(Exception, match="not a folder on this executor"):
        df.withColumn("label", classify_udf(str(tmp_path / "nope"))("text")).collect()


def test_example_script_with_python_and_spark_submit(int8_folder, rows_csv, tmp_path):
    """examples/spark_classify.py runs both ways: `python` on CSV, `spark-submit` on Parquet."""
    example = Path(__file__).resolve().parents[3] / "examples" / "spark_classify.py"
    small = pd.read_csv(rows_csv, keep_default_na=False).head(300)
    small.to_csv(tmp_path / "in.csv", index=False)
    small.to_parquet(tmp_path / "in.parquet")
    bin_dir = Path(sys.executable).parent
    runs = [[sys.executable, str(example), "--master", "local[2]", "--input", str(tmp_path / "in.csv")],
            [str(bin_dir / "spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false", str(example),
             "--input", str(tmp_path / "in.parquet"), "--probabilities"]]
    want = docquant.Classifier(int8_folder, batch_size=1).predict(small["text"].tolist())
    for k, cmd in enumerate(runs):
        out = tmp_path / f"out{k}.parquet"
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
        p = subprocess.run(cmd + ["--model_folder", str(int8_folder), "--output", str(out)], env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "spark_classify: 300 rows in" in p.stdout
        got = pd.read_parquet(out)
        got = got.assign(id=got["id"].astype(int)).sort_values("id")
        assert got["label"].tolist() == want
        assert ("probabilities" in got.columns) == (k == 1)
