"""Where the tests find what they need outside the repo, as the C++ suite finds it
($DOCQUANT_CACHE, $DOCQUANT_FIXTURES, $DOCQUANT_SHARED), and two small helpers. Imported by
both conftest.py files (python/tests and python/tests/spark)."""
import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("DOCQUANT_CACHE", Path.home() / ".cache" / "docquant"))
FIXTURES = Path(os.environ.get("DOCQUANT_FIXTURES", CACHE / "fixtures"))
SHARED = Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
EXAMPLE_INT8 = CACHE / "example-minilm-sst2-int8"
# The reference Python path (tools/python_path.py) runs in the venv that has HF tokenizers,
# onnxruntime, joblib and scikit-learn: never in the test venv.
REFERENCE_PYTHON = Path(os.environ.get("DOCQUANT_PARITY_PYTHON", CACHE / "venvs" / "setfit" / "bin" / "python"))


def need(path: Path, what: str) -> Path:
    """`path`, or a skip naming what is absent (CI always has it: a skip there is a defect)."""
    if not path.exists():
        pytest.skip(f"{what} is absent: {path} (scripts/setup.sh builds it)")
    return path


def read_texts(csv_path: Path, column: str = "text") -> list[str]:
    with open(csv_path, newline="", encoding="utf-8") as f:
        return [row[column] for row in csv.DictReader(f)]
