"""docquant.spark.classify_udf on a real local Spark against `docquant classify` on the same
20,000 rows, in 1, 3 and 8 partitions; the model shipped by SparkContext.addFile; nothing
written when a task fails.

The example folder holds docquant's default per-token recipe, whose graph proves that answers
depend only on the text (Classifier.batch_invariant), so the UDF's default batches 32 texts per
model call and every partitioning must give `docquant classify --batch_size 1`'s labels, with
probabilities within 1e-6 (bit-identical on the hosts measured so far; the count is printed).
model_batch_size=1, the default for graphs without that proof, must match it bit for bit; so
must the per-tensor folders whose quantization.json lies or is absent (issue 29 #10)."""
import csv
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from docquant.spark import classify_udf
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

import docquant
from folders import lying_folder, ort_dynamic_folder, per_tensor_folder
from paths import DATA, need, read_texts


def cli_path():
    return os.environ.get("DOCQUANT_CLI") or str(Path(sys.executable).parent / "docquant")


def read_rows(spark, rows_csv):
    pdf = pd.read_csv(rows_csv, dtype={"id": "int64", "text": "string"}, keep_default_na=False)
    return spark.createDataFrame(pdf.astype({"text": object}))


@pytest.fixture(scope="module")
def cli_predictions(int8_folder, rows_csv, tmp_path_factory):
    """`docquant classify` on the rows: (labels, probabilities) in row order."""
    out = tmp_path_factory.mktemp("cli") / "preds.csv"
    subprocess.run([cli_path(), "classify", "--model_folder", str(int8_folder), "--input", str(rows_csv), "--output",
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


@pytest.mark.parametrize("kind", ["lying", "ort_quantize_dynamic"])
def test_per_tensor_folders_batch_one_text_whatever_their_record_says(spark, sst2_fixture, kind, tmp_path):
    """Issue 29 #10: a per-tensor folder whose quantization.json says per_token, and one quantized
    by ONNX Runtime's quantize_dynamic (no quantization.json), get model batch 1 by default: the
    UDF's labels equal `docquant classify --batch_size 1`'s on all 1,821 SST-2 test texts."""
    if kind == "lying":
        folder = lying_folder(per_tensor_folder(cli_path(), sst2_fixture, tmp_path / "pt"), tmp_path / "m")
    else:
        folder = ort_dynamic_folder(sst2_fixture, tmp_path / "m")
    test_csv = need(DATA / "sst2_test.csv", "shared data sst2_test.csv")
    subprocess.run([cli_path(), "classify", "--model_folder", str(folder), "--input", str(test_csv), "--output",
                    str(tmp_path / "p.csv"), "--batch_size", "1", "--quiet"], check=True)
    with open(tmp_path / "p.csv", newline="") as f:
        want = [r[0] for r in list(csv.reader(f))[1:]]
    texts = read_texts(test_csv)
    df = spark.createDataFrame(list(enumerate(texts)), "id int, text string").repartition(3)
    got = df.withColumn("label", classify_udf(str(folder), threads_per_task=1)("text")).toPandas().sort_values("id")
    same = int((got["label"].to_numpy() == np.array(want)).sum())
    print(f"{kind}: labels identical to classify --batch_size 1: {same}/{len(want)}")
    assert same == len(want)


def test_nulls_give_null_predictions(spark, int8_folder):
    """A null text gives a null prediction: a null label, or a null struct (so pred.label and
    pred.probabilities are both null, not [null, null]; issue 29)."""
    df = spark.createDataFrame([(0, "a great movie"), (1, None), (2, "a dull mess")], "id int, text string")
    out = df.withColumn("pred", classify_udf(str(int8_folder), return_probabilities=True)("text")) \
        .select("id", "pred", "pred.label", "pred.probabilities").orderBy("id").collect()
    clf = docquant.Classifier(int8_folder)
    assert out[0].label == clf.predict("a great movie")
    assert out[0].probabilities == clf.predict_proba("a great movie").tolist()
    assert out[1].pred is None and out[1].label is None and out[1].probabilities is None
    assert out[2].probabilities == clf.predict_proba("a dull mess").tolist()
    plain = df.withColumn("label", classify_udf(str(int8_folder))("text")).orderBy("id").toPandas()
    assert plain["label"].tolist() == [clf.predict("a great movie"), None, clf.predict("a dull mess")]


@pytest.mark.parametrize("sql_type,value", [("int", 7), ("double", 1.5), ("binary", bytearray(b"a great movie"))])
def test_a_column_that_is_not_text_is_refused_before_any_task_runs(spark, int8_folder, sql_type, value):
    """Issue 29 #9: int, double and binary (Kafka's `value`) columns are refused when the query is
    analysed -- at withColumn, before an action and with no Spark job started -- naming the
    column's type; cast to string, they are classified."""
    df = spark.createDataFrame([(0, value), (1, None)], f"id int, value {sql_type}")
    classify = classify_udf(str(int8_folder))
    sc = spark.sparkContext
    group = f"refuse-{sql_type}"
    sc.setJobGroup(group, "must stay empty")
    with pytest.raises(AnalysisException, match=rf'requires the "STRING" type, however "value" has the type '
                                                rf'"{sql_type.upper()}"'):
        df.withColumn("label", classify("value"))
    with pytest.raises(AnalysisException, match='requires the "STRING" type'):
        df.select(classify(F.col("value")))
    assert list(sc.statusTracker().getJobIdsForGroup(group)) == []
    sc.setLocalProperty("spark.jobGroup.id", None)
    labels = df.withColumn("label", classify(F.col("value").cast("string"))).orderBy("id").toPandas()["label"]
    assert labels[0] in docquant.Classifier(int8_folder).classes and labels[1] is None


def test_without_collations_the_first_batch_refuses_a_column_that_is_not_text(spark, int8_folder, monkeypatch):
    """Spark 3.x has no collate(): the UDF then sees the values, and refuses the first batch
    that holds one that is not a string (simulated here by leaving the column unwrapped)."""
    import docquant.spark
    monkeypatch.setattr(docquant.spark, "_strings_only", lambda column: column)
    # One partition: the batch holds both rows, and the message names the first value.
    df = spark.createDataFrame([(0, 7), (1, 8)], "id int, value int").coalesce(1)
    with pytest.raises(Exception, match=r"classify_udf: the text column holds int values \(7\), not strings: cast "
                                        r"it first"):
        df.withColumn("label", classify_udf(str(int8_folder))("value")).collect()


def ship(spark, folder, tmp_path, name):
    """`folder` shipped with addFile as `name`; returns (the shipped folder, a driver path of the
    same name for the test to create and remove)."""
    shipped = tmp_path / "shipped" / name
    shutil.copytree(folder, shipped)
    spark.sparkContext.addFile(str(shipped), recursive=True)
    return shipped, tmp_path / "driver" / name


def test_model_shipped_with_add_file(spark, int8_folder, tmp_path):
    """A path that is a folder on the driver when classify_udf is called, but not on the
    executors: they use the copy shipped under its name, whose model.onnx is the driver's."""
    texts = ["a great movie", "a dull mess", "fine"]
    df = spark.createDataFrame(list(enumerate(texts)), "id int, text string")
    shipped, driver_copy = ship(spark, int8_folder, tmp_path, "int8-add-file")
    shutil.copytree(int8_folder, driver_copy)
    classify = classify_udf(str(driver_copy))  # fingerprinted here, on the driver
    shutil.rmtree(driver_copy)                 # ... and gone before any task runs
    got = df.withColumn("label", classify("text")).orderBy("id").toPandas()["label"].tolist()
    assert got == docquant.Classifier(shipped).predict(texts)


def test_a_shipped_copy_of_another_model_is_not_used(spark, int8_folder, sst2_fixture, tmp_path):
    """Issue 29: a missing /models/v2/int8 must not silently run a shipped folder that is merely
    named alike: the task fails naming both paths. Without a fingerprint (a path the driver
    never saw) a shipped copy is used only for a bare name."""
    df = spark.createDataFrame([(0, "a great movie")], "id int, text string")
    shipped, driver_copy = ship(spark, int8_folder, tmp_path, "int8-other")
    per_tensor_folder(cli_path(), sst2_fixture, driver_copy)  # the driver's folder: another model
    classify = classify_udf(str(driver_copy))
    shutil.rmtree(driver_copy)
    with pytest.raises(Exception, match=rf"{re.escape(str(driver_copy))}: not a folder on this executor, and the folder shipped as "
                                        rf"'int8-other' \(.*int8-other\) holds another model"):
        df.withColumn("label", classify("text")).collect()
    with pytest.raises(Exception, match="not a folder on this executor, nor on the driver"):
        df.withColumn("label", classify_udf("/nonexistent/models/int8-other")("text")).collect()
    got = df.withColumn("label", classify_udf("int8-other")("text")).toPandas()["label"].tolist()
    assert got == docquant.Classifier(shipped).predict(["a great movie"])


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


RUN_UDF = """
import sys
from pyspark.sql import SparkSession
from docquant.spark import classify_udf
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
df = spark.createDataFrame([(0, "a great movie")], "id int, text string")
print("label:", df.withColumn("label", classify_udf(sys.argv[1])("text")).collect()[0].label)
"""


def test_executors_need_the_interpreter_that_has_docquant(int8_folder, tmp_path):
    """docs/spark.md: a venv's python run without activating the venv starts its workers with
    `python3` from PATH, which has no docquant; setting PYSPARK_PYTHON to the venv's python, or
    spark.pyspark.python for spark-submit, fixes it. Both ways, and the failure, run here."""
    script = tmp_path / "run_udf.py"
    script.write_text(RUN_UDF)
    venv_bin = str(Path(sys.executable).parent)
    bare = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "VIRTUAL_ENV")}
    bare["PATH"] = os.pathsep.join(p for p in bare.get("PATH", "").split(os.pathsep) if p != venv_bin)
    run = [sys.executable, str(script), str(int8_folder)]
    failed = subprocess.run(run, env=bare, capture_output=True, text=True, timeout=300)
    assert failed.returncode != 0 and "No module named" in failed.stderr, failed.stderr[-2000:]
    fixed = subprocess.run(run, env=dict(bare, PYSPARK_PYTHON=sys.executable), capture_output=True, text=True,
                           timeout=300)
    assert fixed.returncode == 0 and "label: " in fixed.stdout, fixed.stderr[-2000:]
    # pip's spark-submit finds SPARK_HOME with `python3` from PATH unless told (a Spark install sets it).
    import pyspark
    submitted = subprocess.run([os.path.join(venv_bin, "spark-submit"), "--master", "local[1]",
                                "--conf", f"spark.pyspark.python={sys.executable}",
                                "--conf", f"spark.pyspark.driver.python={sys.executable}", str(script),
                                str(int8_folder)], env=dict(bare, SPARK_HOME=os.path.dirname(pyspark.__file__)),
                               capture_output=True, text=True, timeout=300)
    assert submitted.returncode == 0 and "label: " in submitted.stdout, submitted.stderr[-2000:]
