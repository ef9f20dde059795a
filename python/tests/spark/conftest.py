"""A local Spark (local[2], Java 17) for docquant.spark's tests, and the 20,000-row data set:
SST-2 test and SMS texts repeated, with row ids, written to a temporary CSV (never into the repo).
Runs in the spark venv (tools/venvs/spark.txt) with the docquant wheel installed."""
import csv
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from paths import DATA, EXAMPLE_INT8, FIXTURES, need  # noqa: E402  (python/tests/paths.py)

ROWS = 20_000


@pytest.fixture(scope="session")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[2]").appName("docquant-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "8").config("spark.ui.showConsoleProgress", "false")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def int8_folder() -> Path:
    return need(EXAMPLE_INT8 / "quantization.json", "the int8 example folder").parent


@pytest.fixture(scope="session")
def sst2_fixture() -> Path:
    return need(FIXTURES / "minilm-sst2" / "manifest.json", "fixture minilm-sst2").parent


@pytest.fixture(scope="session")
def rows_csv(tmp_path_factory) -> Path:
    """id,text: SST-2 test then SMS texts, repeated up to ROWS rows."""
    texts = []
    for name in ("sst2_test.csv", "sms_spam.csv"):
        with open(need(DATA / name, f"shared data {name}"), newline="", encoding="utf-8") as f:
            texts += [row["text"] for row in csv.DictReader(f)]
    path = tmp_path_factory.mktemp("spark-data") / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text"])
        for i in range(ROWS):
            w.writerow([i, texts[i % len(texts)]])
    return path
