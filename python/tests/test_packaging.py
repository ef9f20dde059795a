"""What the wheel promises: ONNX Runtime inside the package, found through the extension's
RPATH ($ORIGIN) with no LD_LIBRARY_PATH; the CLI as a console script; typing files."""
import os
import subprocess
import sys
from pathlib import Path

import docquant

PACKAGE = Path(docquant.__file__).parent


def test_onnxruntime_comes_from_the_package():
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    code = "import docquant; print(open('/proc/self/maps').read())"
    maps = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    loaded = {line.split()[-1] for line in maps.splitlines() if "libonnxruntime" in line}
    assert loaded == {str(PACKAGE / "libonnxruntime.so.1")}
    assert docquant.onnxruntime_version == "1.29.0"


def test_console_script_runs_the_cli():
    script = Path(sys.executable).parent / "docquant"
    out = subprocess.run([str(script), "--version"], check=True, capture_output=True, text=True).stdout
    assert out.strip().startswith(f"docquant {docquant.__version__} (commit {docquant.git_commit}, ONNX Runtime 1.29.0, "
                                  "int8 kernel on this CPU: ")
    bad = subprocess.run([str(script), "classify"], capture_output=True, text=True)
    assert bad.returncode == 2 and "docquant: usage error" in bad.stderr


def test_typing_files_ship():
    assert (PACKAGE / "py.typed").exists()
    assert (PACKAGE / "_core.pyi").exists()


def test_the_core_package_does_not_need_pyspark():
    code = ("import sys, docquant\n"
            "assert 'pyspark' not in sys.modules and 'pandas' not in sys.modules\n"
            "try:\n    import docquant.spark\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "docquant.spark needs pyspark" in out
