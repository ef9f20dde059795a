"""Model folders for the batch-invariance tests (test_batch_invariance.py, spark/test_spark.py).
Batch-dependent: docquant's per-tensor recipe, the same folder with a quantization.json that
claims the per-token recipe, and a folder whose model.onnx is ONNX Runtime's own
quantize_dynamic of the fp32 export (run in the reference venv, which has onnxruntime's Python;
it writes no quantization.json). Batch-invariant: docquant's static recipe (calibrated scales)."""
import json
import shutil
import subprocess
from pathlib import Path

from paths import REFERENCE_PYTHON, need


def per_tensor_folder(cli: str, fixture: Path, out: Path) -> Path:
    """`docquant quantize --activations per_tensor` on the fixture, default configuration."""
    subprocess.run([cli, "quantize", "--quiet", "--onnx_model_folder", str(fixture / "onnx"), "--setfit_model_folder",
                    str(fixture / "setfit"), "--output_folder", str(out), "--activations", "per_tensor"],
                   check=True, capture_output=True)
    return out


def lying_folder(per_tensor: Path, out: Path) -> Path:
    """`per_tensor` with quantization.json saying per_token: the record no longer decides."""
    shutil.copytree(per_tensor, out)
    record = json.loads((out / "quantization.json").read_text())
    assert record["recipe"]["activation_scales"] == "per_tensor"
    record["recipe"]["activation_scales"] = "per_token"
    (out / "quantization.json").write_text(json.dumps(record))
    return out


def ort_dynamic_folder(fixture: Path, out: Path) -> Path:
    """The fixture's SetFit folder with onnxruntime.quantization.quantize_dynamic's model.onnx."""
    shutil.copytree(fixture / "setfit", out, ignore=shutil.ignore_patterns("pytorch_model.bin", "*.safetensors"))
    script = ("import sys\nfrom onnxruntime.quantization import QuantType, quantize_dynamic\n"
              "quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8)\n")
    subprocess.run([str(need(REFERENCE_PYTHON, "the reference venv")), "-c", script,
                    str(fixture / "onnx" / "model.onnx"), str(out / "model.onnx")], check=True, capture_output=True)
    assert not (out / "quantization.json").exists()
    return out


def static_folder(cli: str, fixture: Path, calibration_csv: Path, out: Path) -> Path:
    """`docquant quantize --approach static` on the fixture: one trial, written whatever its accuracy."""
    subprocess.run([cli, "quantize", "--quiet", "--onnx_model_folder", str(fixture / "onnx"), "--setfit_model_folder",
                    str(fixture / "setfit"), "--calibration_data", str(calibration_csv), "--output_folder", str(out),
                    "--approach", "static", "--max_trials", "1", "--best_effort"], check=True, capture_output=True)
    assert json.loads((out / "quantization.json").read_text())["recipe"]["activation_scales"] == "static"
    return out
