"""Shared fixtures for the docquant package's tests (run by scripts/test_python.sh in a fresh
venv holding only the wheel, numpy and pytest).

They use the real SetFit fixtures (tools/build_fixtures.py), the int8 example folder and the
shared data, found as the C++ suite finds them ($DOCQUANT_CACHE, $DOCQUANT_FIXTURES,
$DOCQUANT_SHARED); a test skips with the reason when one is absent (CI always has them).
`docquant classify` is $DOCQUANT_CLI (scripts/test_python.sh passes the C++ build's binary),
else the wheel's own `docquant` command."""
import csv
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("DOCQUANT_CACHE", Path.home() / ".cache" / "docquant"))
FIXTURES = Path(os.environ.get("DOCQUANT_FIXTURES", CACHE / "fixtures"))
SHARED = Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
EXAMPLE_INT8 = CACHE / "example-minilm-sst2-int8"
# The reference Python path (tools/python_path.py) runs in the venv that has HF tokenizers,
# onnxruntime, joblib and scikit-learn: never in this one.
REFERENCE_PYTHON = Path(os.environ.get("DOCQUANT_PARITY_PYTHON", CACHE / "venvs" / "setfit" / "bin" / "python"))


def need(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} is absent: {path} (scripts/setup.sh builds it)")
    return path


def read_texts(csv_path: Path, column: str = "text") -> list[str]:
    with open(csv_path, newline="", encoding="utf-8") as f:
        return [row[column] for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def cli() -> str:
    """The docquant CLI: $DOCQUANT_CLI, else the console script beside this Python."""
    explicit = os.environ.get("DOCQUANT_CLI")
    if explicit:
        return explicit
    script = Path(sys.executable).parent / "docquant"
    return str(script) if script.exists() else shutil.which("docquant")


@pytest.fixture(scope="session")
def sst2_fixture() -> Path:
    return need(FIXTURES / "minilm-sst2" / "manifest.json", "fixture minilm-sst2").parent


@pytest.fixture(scope="session")
def trec6_fixture() -> Path:
    return need(FIXTURES / "minilm-trec6" / "manifest.json", "fixture minilm-trec6").parent


@pytest.fixture(scope="session")
def int8_folder() -> Path:
    return need(EXAMPLE_INT8 / "quantization.json", "the int8 example folder").parent


@pytest.fixture(scope="session")
def data() -> Path:
    return need(DATA / "sst2_test.csv", "shared data").parent
