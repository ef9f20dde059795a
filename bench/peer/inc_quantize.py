#!/usr/bin/env python3
"""The original blueprint's quantization step: Intel Neural Compressor 1.x, YAML config
inc_config.yaml (onnxrt_integerops, post_training_dynamic_quant, relative 1 % accuracy
criterion, timeout 0 = stop at the first config that meets it, seed 9527), tuned with an
eval function that scores the candidate as the SetFit model would: tokenizer of the SetFit
folder, chunks of 100, ONNX Runtime, mean pooling, model_head.predict, accuracy.

Runs in the inc venv ($DOCQUANT_CACHE/venvs/inc). Writes the quantized model and a JSON
report (baseline and quantized accuracy as INC measured them, trials, wall time, reduce_range).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import onnx  # noqa: E402

from fixtures import onnx_eval  # noqa: E402
from peak_memory import peak_rss_bytes  # noqa: E402

CONFIG = Path(__file__).resolve().parent / "inc_config.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx-model", required=True, help="fp32 body, form (a)")
    parser.add_argument("--setfit-folder", required=True)
    parser.add_argument("--data", required=True, help="CSV text,label used as INC's eval set")
    parser.add_argument("--limit", type=int, default=None, help="first N rows only")
    parser.add_argument("--output", required=True, help="quantized model path (.onnx)")
    parser.add_argument("--report", required=True, help="JSON report path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workspace", default=None, help="INC workspace (default beside --output)")
    args = parser.parse_args()

    from neural_compressor import __version__ as inc_version
    from neural_compressor.experimental import Quantization, common
    from neural_compressor.utils.utility import CpuInfo
    import onnxruntime as ort

    folder = onnx_eval.SetFitFolder.load(args.setfit_folder)
    texts, labels = onnx_eval.load_csv(args.data, args.limit)
    evaluations = []

    def eval_func(model) -> float:
        proto = model if isinstance(model, onnx.ModelProto) else model.model
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
        accuracy = onnx_eval.body_accuracy(session, folder, texts, labels)
        evaluations.append(accuracy)
        return accuracy

    workspace = args.workspace or str(Path(args.output).parent / "inc_workspace")
    os.makedirs(workspace, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(workspace)  # INC writes its history and logs into the current directory
    try:
        started = time.monotonic()
        quantizer = Quantization(str(CONFIG))
        quantizer.model = common.Model(onnx.load(args.onnx_model))
        quantizer.eval_func = eval_func
        q_model = quantizer.fit()
        wall = time.monotonic() - started
    finally:
        os.chdir(cwd)
    if q_model is None:
        report = {"ok": False, "error": "INC found no quantized model meeting the accuracy criterion",
                  "evaluations": evaluations, "tuning_seconds": wall}
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        q_model.save(args.output)
        strategy = quantizer.strategy
        vnni = bool(CpuInfo().vnni)
        report = {
            "ok": True,
            "inc_version": inc_version,
            "onnxruntime_version": ort.__version__,
            "onnx_version": onnx.__version__,
            "config": CONFIG.read_text(),
            "baseline_accuracy": evaluations[0],
            "quantized_accuracy": evaluations[-1],
            "evaluations": evaluations,
            "trials": len(evaluations) - 1,
            "strategy_tuning_times": getattr(strategy, "tuning_times", None),
            "tuning_seconds": wall,
            "cpu_vnni": vnni,
            # The YAML leaves reduce_range unset; INC's ONNX quantizer then uses 7-bit
            # weights exactly when the CPU lacks VNNI (ox_utils/quantizer.py).
            "reduce_range": not vnni,
            "eval_rows": len(texts),
        }
    report["peak_rss_bytes"] = peak_rss_bytes()  # this process's own
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("config", "evaluations")}))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
