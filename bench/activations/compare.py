#!/usr/bin/env python3
"""Per-tensor against per-token activations on a fixture, measured (issue 14).

For each recipe, `docquant quantize` with default flags otherwise (the tuning may keep
nodes fp32 to meet the 1 % criterion), then:
  - the tuned accuracy on the calibration CSV and how many nodes stayed fp32, the size;
  - `docquant eval --compare` against fp32 on a held-out CSV: accuracy and the share of
    rows whose label agrees with fp32 (what users notice);
  - one `docquant bench --compare` run (per-token model vs per-tensor model, interleaved
    in one process): batch-1 p50 latency and batch-32 throughput, repeated --rounds times
    (medians of the ratios).
Standard library only; writes bench/results/activations-<fixture>.{json,md}.

    python3 bench/activations/compare.py --docquant build/src/cli/docquant \\
        --fixture $DOCQUANT_CACHE/fixtures/minilm-sst2 --calibration ../shared/data/sst2_dev.csv \\
        --held_out ../shared/data/sst2_test.csv
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RECIPES = ("per_tensor", "per_token")


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docquant", required=True)
    ap.add_argument("--fixture", required=True, type=Path)
    ap.add_argument("--calibration", required=True, type=Path)
    ap.add_argument("--held_out", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bench_rows", type=int, default=256)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    args = ap.parse_args()
    docquant = str(Path(args.docquant).resolve())
    fp32 = ["--compare", str(args.fixture / "setfit"), "--compare_onnx", str(args.fixture / "onnx" / "model.onnx")]
    report = {"fixture": args.fixture.name, "calibration": str(args.calibration), "held_out": str(args.held_out),
              "threads": args.threads, "recipes": {}}
    with tempfile.TemporaryDirectory(prefix="docquant-activations-") as tmp:
        folders = {}
        for recipe in RECIPES:
            out = Path(tmp) / recipe
            folders[recipe] = out
            run([docquant, "quantize", "--onnx_model_folder", str(args.fixture / "onnx"), "--setfit_model_folder",
                 str(args.fixture / "setfit"), "--calibration_data", str(args.calibration), "--output_folder", str(out),
                 "--activations", recipe, "--threads", str(args.threads), "--quiet", "--best_effort"])
            record = json.loads((out / "quantization.json").read_text())
            fp32_nodes = sum(1 for n in record["nodes"] if n["decision"].startswith("fp32 (tuning)"))
            ev = run([docquant, "eval", "--model_folder", str(out), "--data", str(args.held_out), "--threads",
                      str(args.threads)] + fp32).stdout
            agreement = float(re.search(r"same class for ([0-9.]+)%", ev).group(1))
            accs = re.findall(r"accuracy ([0-9.]+)", ev)
            report["recipes"][recipe] = {
                "baseline_accuracy": record["baseline_accuracy"], "final_accuracy": record["final_accuracy"],
                "criterion_met": record["criterion_met"], "trials": len(record["trials"]), "fp32_nodes": fp32_nodes,
                "size_percent": 100 * record["sizes"]["model_onnx_after"] / record["sizes"]["model_onnx_before"],
                "quantize_seconds": record["seconds"], "held_out_accuracy": float(accs[0]),
                "held_out_fp32_accuracy": float(accs[1]), "agreement_with_fp32_percent": agreement}
            print(recipe, report["recipes"][recipe], file=sys.stderr, flush=True)
        ratios = {"batch1_p50_speed_per_token_vs_per_tensor": [], "batch32_per_token_over_per_tensor": []}
        for _ in range(args.rounds):
            j = Path(tmp) / "bench.json"
            run([docquant, "bench", "--model_folder", str(folders["per_token"]), "--compare", str(folders["per_tensor"]),
                 "--data", str(args.held_out), "--batch_sizes", "1,32", "--max_rows", str(args.bench_rows), "--warmup",
                 "1", "--repetitions", "7", "--threads", str(args.threads), "--json", str(j)])
            for r in json.loads(j.read_text())["ratios"]:
                if r["batch_size"] == 1:
                    ratios["batch1_p50_speed_per_token_vs_per_tensor"].append(r["latency_p50_compare_over_model"])
                if r["batch_size"] == 32:
                    ratios["batch32_per_token_over_per_tensor"].append(r["throughput_model_over_compare"])
        report["speed"] = {k: {"rounds": v, "median": statistics.median(v)} for k, v in ratios.items()}
    stem = args.out / f"activations-{args.fixture.name}"
    args.out.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    r = report["recipes"]
    lines = [f"# Activations per tensor vs per token: {args.fixture.name}", "",
             f"calibration {args.calibration.name}, held-out {args.held_out.name}, {args.threads} threads; "
             "`bench/activations/compare.py`", "",
             "| | per tensor | per token |", "|---|---|---|"]
    for key, label, fmt in [("final_accuracy", "tuned accuracy (calibration)", "{:.4f}"),
                            ("trials", "full evaluations", "{}"), ("fp32_nodes", "nodes kept fp32", "{}"),
                            ("size_percent", "model.onnx, % of fp32", "{:.1f}"),
                            ("held_out_accuracy", "held-out accuracy", "{:.4f}"),
                            ("agreement_with_fp32_percent", "held-out labels equal to fp32's, %", "{:.2f}")]:
        lines.append(f"| {label} | {fmt.format(r['per_tensor'][key])} | {fmt.format(r['per_token'][key])} |")
    s = report["speed"]
    lines += ["", f"fp32: calibration {r['per_token']['baseline_accuracy']:.4f}, held-out "
              f"{r['per_token']['held_out_fp32_accuracy']:.4f}. Speed, per token relative to per tensor (medians of "
              f"{args.rounds} interleaved `docquant bench --compare` runs): batch-1 p50 latency "
              f"{s['batch1_p50_speed_per_token_vs_per_tensor']['median']:.2f}x, batch-32 throughput "
              f"{s['batch32_per_token_over_per_tensor']['median']:.2f}x (1.00x = as fast as per tensor)."]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
