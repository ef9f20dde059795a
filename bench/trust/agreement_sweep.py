#!/usr/bin/env python3
"""What held-out agreement with fp32 each --min_agreement buys, and at what size (issue 27).

For each A in --min_agreement, runs `docquant quantize --criterion agreement --min_agreement A`
on the calibration CSV, then `docquant eval --compare` of that output against the fp32 model on
the held-out CSV, and records: calibration agreement, fp32 nodes, model.onnx size (and its share of
fp32's), held-out agreement and flips, trials. Prints a markdown table, writes the rows as JSON.
Agreement and size do not depend on the machine's load; the seconds column does.

Usage: agreement_sweep.py --docquant BIN --fixture DIR --calibration CSV --heldout CSV
                          [--heldout_rows N] --min_agreement 0.99 0.995 ... --json OUT.json
(DIR holds onnx/model.onnx and setfit/, as tools/ builds the fixtures.)"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from fixtures.paths import first_rows  # noqa: E402


def run(cmd: list[str]) -> float:
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"agreement_sweep: {' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    return time.monotonic() - t0


HEADER = ("| --min_agreement | calibration agreement | fp32 nodes | model.onnx (of fp32) | held-out agreement "
          "(flips of rows) | held-out accuracy (fp32) | trials | quantize s |\n|---|---|---|---|---|---|---|---|")


def table_row(r: dict) -> str:
    flips = round(r["heldout_rows"] * (1 - r["heldout_agreement"]))
    return (f"| {r['min_agreement']} | {r['calibration_agreement']:.2%} | {r['fp32_nodes']} of {r['candidates']} | "
            f"{r['model_bytes'] / 2**20:.1f} MiB ({r['share_of_fp32']:.1%}) | {r['heldout_agreement']:.2%} "
            f"({flips} of {r['heldout_rows']}) | {r['heldout_accuracy']:.4f} ({r['fp32_heldout_accuracy']:.4f}) | "
            f"{r['trials']} | {r['quantize_seconds']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docquant", required=True)
    ap.add_argument("--fixture", required=True, type=Path)
    ap.add_argument("--calibration", required=True, type=Path)
    ap.add_argument("--heldout", required=True, type=Path)
    ap.add_argument("--heldout_rows", type=int, default=0, help="only the first N held-out rows (0: all)")
    ap.add_argument("--min_agreement", nargs="+", type=float, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", required=True, type=Path)
    a = ap.parse_args()
    onnx, setfit = a.fixture / "onnx" / "model.onnx", a.fixture / "setfit"
    fp32_bytes = onnx.stat().st_size
    rows = []
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="agreement_sweep-") as tmp:
        heldout = first_rows(a.heldout, a.heldout_rows, Path(tmp) / "heldout.csv") if a.heldout_rows else a.heldout
        for target in a.min_agreement:
            out = Path(tmp) / f"q-{target}"
            seconds = run([a.docquant, "quantize", "--quiet", "--onnx_model_folder", str(onnx.parent),
                           "--setfit_model_folder", str(setfit), "--calibration_data", str(a.calibration),
                           "--criterion", "agreement", "--min_agreement", str(target),
                           "--threads", str(a.threads), "--output_folder", str(out)])
            record = json.loads((out / "quantization.json").read_text())
            report = Path(tmp) / f"eval-{target}.json"
            run([a.docquant, "eval", "--model_folder", str(out), "--data", str(heldout), "--compare", str(setfit),
                 "--compare_onnx", str(onnx), "--threads", str(a.threads), "--json", str(report)])
            ev = json.loads(report.read_text())
            size = (out / "model.onnx").stat().st_size
            chosen = [t for t in record["trials"] if t.get("passed")]
            # the tuner's candidates: every node the record lists but those no plan can quantize
            candidates = sum(not n["decision"].startswith("kept fp32 (not quantizable") for n in record["nodes"])
            rows.append({"min_agreement": target, "criterion_met": record["criterion_met"],
                         "calibration_rows": record["inputs"]["calibration_data"]["rows"],
                         "calibration_agreement": record["final_agreement"],
                         "fp32_nodes": chosen[-1]["fp32_nodes"] if chosen else None,
                         "candidates": candidates, "trials": len(record["trials"]),
                         "model_bytes": size, "share_of_fp32": size / fp32_bytes,
                         "heldout_rows": ev["rows"], "heldout_agreement": ev["agreement"],
                         "heldout_agreement_by_margin": ev["agreement_by_margin"],
                         "heldout_accuracy": ev["model"]["accuracy"], "fp32_heldout_accuracy": ev["compare"]["accuracy"],
                         "git_commit": record["git_commit"], "int8_path": record["host"]["int8_path"],
                         "quantize_seconds": round(seconds, 1)})
            print(table_row(rows[-1]), flush=True)
    a.json.write_text(json.dumps({"fixture": str(a.fixture), "calibration": str(a.calibration),
                                  "heldout": str(a.heldout), "heldout_rows": a.heldout_rows, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
