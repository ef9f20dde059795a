#!/usr/bin/env python3
"""OpenVINO + NNCF int8, as SetFit and sentence-transformers users are told to run it on CPUs.

The fixture's fp32 ONNX body is read by OpenVINO (`openvino.convert_model`) and quantized by
NNCF, calibrated on the calibration CSV's texts, each tokenized alone by the SetFit folder's
tokenizer (NNCF counts calibration items, one text each):
  --mode quantize          nncf.quantize(model_type=TRANSFORMER), every calibration text;
  --mode accuracy-control  nncf.quantize_with_accuracy_control at max_drop 1 % relative
                           (docquant's and INC's criterion), validated on the same CSV with the
                           pipeline every peer is scored by (mean pooling, model_head.predict).
Writes the model as OpenVINO IR (model.xml + model.bin) and a JSON report (versions, seconds,
this process's peak RSS). Runs in the peers venv ($DOCQUANT_CACHE/venvs/peers).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import numpy as np  # noqa: E402

from fixtures import onnx_eval  # noqa: E402
from peak_memory import peak_rss_bytes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx-model", required=True, help="fp32 body, form (a)")
    parser.add_argument("--setfit-folder", required=True)
    parser.add_argument("--data", required=True, help="calibration (and, for accuracy control, validation) CSV")
    parser.add_argument("--limit", type=int, default=None, help="first N rows only")
    parser.add_argument("--mode", choices=("quantize", "accuracy-control"), required=True)
    parser.add_argument("--max-drop", type=float, default=0.01, help="relative, for accuracy control")
    parser.add_argument("--output", required=True, help="quantized model path (.xml)")
    parser.add_argument("--report", required=True, help="JSON report path")
    args = parser.parse_args()

    started = time.monotonic()
    import nncf
    import openvino as ov

    folder = onnx_eval.SetFitFolder.load(args.setfit_folder)
    texts, labels = onnx_eval.load_csv(args.data, args.limit)
    expected = folder.encode_labels(labels)
    model = ov.convert_model(args.onnx_model)
    input_names = [port.get_any_name() for port in model.inputs]
    items = [(folder.tokenize([text], input_names), expected[i]) for i, text in enumerate(texts)]
    calibration = nncf.Dataset(items, lambda item: item[0])

    def validate(compiled, data):
        """Accuracy and, per item, 1 when the head's label is right: NNCF's metric mode."""
        output = compiled.output(0)
        correct = []
        for feed, label in data:
            hidden = compiled(feed)[output]
            pooled = onnx_eval.mean_pool(hidden, feed["attention_mask"], folder.normalize)
            correct.append(float(folder.head.predict(pooled)[0] == label))
        return float(np.mean(correct)), correct

    if args.mode == "quantize":
        quantized = nncf.quantize(model, calibration, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items))
    else:
        quantized = nncf.quantize_with_accuracy_control(
            model, calibration, nncf.Dataset(items), validation_fn=validate, max_drop=args.max_drop,
            drop_type=nncf.DropType.RELATIVE, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, args.output, compress_to_fp16=False)
    wall = time.monotonic() - started
    report = {"ok": True, "mode": args.mode, "openvino_version": ov.__version__, "nncf_version": nncf.__version__,
              "calibration_rows": len(items), "max_drop_relative": args.max_drop if args.mode != "quantize" else None,
              "seconds": wall,
              "fake_quantize_nodes": sum(1 for op in quantized.get_ops() if op.get_type_name() == "FakeQuantize"),
              "peak_rss_bytes": peak_rss_bytes()}
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
