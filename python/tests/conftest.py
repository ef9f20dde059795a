"""Shared fixtures for the docquant package's tests (run by scripts/test_python.sh in a fresh
venv holding only the wheel, numpy and pytest). They use the real SetFit fixtures
(tools/build_fixtures.py), the int8 example folder and the shared data (paths.py).
`docquant classify` is $DOCQUANT_CLI (scripts/test_python.sh passes the C++ build's binary),
else the wheel's own `docquant` command."""
import os
import shutil
import sys
from pathlib import Path

import pytest

from paths import DATA, EXAMPLE_INT8, FIXTURES, need


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
