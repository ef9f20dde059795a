#!/usr/bin/env python3
"""Which quantization recipes compute the same on every x86 CPU (issue 13), measured.

For each recipe (weights per channel / per tensor, 7-bit reduce_range / 8-bit full range),
`docquant quantize --max_trials 1 --best_effort` writes one model (everything int8, the
same on any host: quantizing is pure arithmetic). Then the SAME model.onnx classifies the
data twice with `docquant classify`:
  - natively, on this machine's int8 kernel (`docquant --version` names it);
  - under `qemu-x86_64 -cpu Haswell`, an AVX2-only CPU, where MLAS sums pairs of u8×s8
    products into a saturating int16.
It reports each run's accuracy and how the two runs' probabilities differ. Standard library
only; writes bench/results/int8-paths-<fixture>.{json,md}.

    python3 bench/int8_paths/compare.py --docquant build/src/cli/docquant \
        --fixture $DOCQUANT_CACHE/fixtures/minilm-sst2 --data ../shared/data/sst2_dev.csv
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QEMU_CPU = "Haswell,-pcid,-x2apic,-tsc-deadline,-hle,-invpcid,-rtm"
RECIPES = [
    ("per-channel 7-bit weights, per-token activations (default)", []),
    ("per-channel 7-bit, per-tensor activations", ["--activations", "per_tensor"]),
    ("per-tensor 7-bit, per-tensor activations", ["--per_tensor", "--activations", "per_tensor"]),
    ("per-channel 8-bit (--full_range), per-tensor activations", ["--full_range", "--activations", "per_tensor"]),
    ("per-tensor 8-bit (--full_range), per-tensor activations",
     ["--per_tensor", "--full_range", "--activations", "per_tensor"]),
]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def int8_path(prefix, docquant):
    out = run(prefix + [docquant, "--version"]).stdout
    return out.rsplit("int8 kernel on this CPU:", 1)[1].strip().rstrip(")")


def classify(prefix, docquant, folder, data, out_csv, threads):
    t0 = time.monotonic()
    run(prefix + [docquant, "classify", "--model_folder", str(folder), "--input", str(data), "--output", str(out_csv),
                  "--threads", str(threads), "--quiet"])
    seconds = time.monotonic() - t0
    with open(out_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return header, body, seconds


def labels_of(data):
    with open(data, newline="", encoding="utf-8") as f:
        return [r["label"] for r in csv.DictReader(f)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docquant", required=True)
    ap.add_argument("--fixture", required=True, type=Path, help="a fixture folder with onnx/ and setfit/")
    ap.add_argument("--data", required=True, type=Path, help="labelled CSV (calibration and evaluation)")
    ap.add_argument("--qemu", default="qemu-x86_64")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=0,
                    help="classify only the first N rows (qemu's AVX2 emulation runs MiniLM at ~2 s per text); "
                         "quantize still calibrates on every row")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    args = ap.parse_args()

    docquant = str(Path(args.docquant).resolve())
    hosts = {"native": [], "qemu_haswell": [args.qemu, "-cpu", QEMU_CPU]}
    paths = {name: int8_path(prefix, docquant) for name, prefix in hosts.items()}
    results = []
    with tempfile.TemporaryDirectory(prefix="docquant-int8-paths-") as tmp:
        texts = args.data
        if args.rows:
            texts = Path(tmp) / "texts.csv"
            with open(args.data, encoding="utf-8", newline="") as f:
                rows = list(csv.reader(f))
            with open(texts, "w", encoding="utf-8", newline="") as f:
                csv.writer(f).writerows(rows[: args.rows + 1])
        truth = labels_of(texts)
        for name, flags in RECIPES:
            folder = Path(tmp) / f"model-{len(results)}"
            q = run([docquant, "quantize", "--onnx_model_folder", str(args.fixture / "onnx"), "--setfit_model_folder",
                     str(args.fixture / "setfit"), "--calibration_data", str(args.data), "--output_folder", str(folder),
                     "--max_trials", "1", "--best_effort", "--quiet"] + flags)
            record = json.loads((folder / "quantization.json").read_text())
            runs = {}
            for host, prefix in hosts.items():
                header, body, seconds = classify(prefix, docquant, folder, texts, Path(tmp) / f"{host}.csv",
                                                 args.threads)
                runs[host] = (header, body, seconds)
            _, native, _ = runs["native"]
            _, emulated, _ = runs["qemu_haswell"]
            per_text = [max(abs(float(a) - float(b)) for a, b in zip(ra[1:], rb[1:])) for ra, rb in zip(native, emulated)]
            max_diff = max(per_text)
            same_labels = sum(ra[0] == rb[0] for ra, rb in zip(native, emulated))
            entry = {
                "recipe": name,
                "flags": flags,
                "nodes_that_can_saturate": record["recipe"]["nodes_that_can_saturate"],
                "exact_on_every_x86_cpu": record["recipe"]["exact_on_every_x86_cpu"],
                "warnings": record["warnings"],
                "tuning_accuracy": record["final_accuracy"],
                "hosts": {},
                "max_abs_probability_difference": max_diff,
                "median_abs_probability_difference": sorted(per_text)[len(per_text) // 2],
                # Float kernels of other SIMD widths differ in the last bits; where such a
                # difference moves an activation across a rounding boundary a text differs
                # by more (measured up to ~4e-3) -- so count texts, not just the maximum.
                "texts_differing_over_1e-5": sum(d > 1e-5 for d in per_text),
                "identical_probabilities": all(ra == rb for ra, rb in zip(native, emulated)),
                "label_agreement": same_labels / len(native),
            }
            for host, (_, body, seconds) in runs.items():
                acc = sum(r[0] == t for r, t in zip(body, truth)) / len(truth)
                entry["hosts"][host] = {"int8_path": paths[host], "accuracy": acc, "classify_seconds": seconds}
            results.append(entry)
            print(f"{name}: native {entry['hosts']['native']['accuracy']:.4f}, "
                  f"avx2 {entry['hosts']['qemu_haswell']['accuracy']:.4f}, max |dp| {max_diff:.3g}", file=sys.stderr)

    commit = run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short=12", "HEAD"]).stdout.strip()
    report = {"fixture": args.fixture.name, "data": str(args.data), "rows_classified": len(truth), "commit": commit,
              "int8_paths": paths, "qemu_cpu": QEMU_CPU, "results": results}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"int8-paths-{args.fixture.name}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# The same model.onnx on two int8 kernels: {args.fixture.name}, {args.data.name} "
        f"({'first ' if args.rows else ''}{len(truth)} rows)",
        "",
        f"`bench/int8_paths/compare.py` at {commit}. Native: this machine's kernel ({paths['native']}); emulated: "
        f"`qemu-x86_64 -cpu Haswell` ({paths['qemu_haswell']}). Every node int8 (`--max_trials 1 --best_effort`, "
        f"calibrated on all of {args.data.name}; 'tuning accuracy' is that run's figure on this host).",
        "",
        f"| recipe | nodes that can saturate | tuning accuracy | accuracy, {paths['native']} | "
        f"accuracy, {paths['qemu_haswell']} | labels that agree | texts whose probabilities differ by > 1e-5 | "
        "median / max abs difference of a probability |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in results:
        lines.append(f"| {e['recipe']} | {e['nodes_that_can_saturate']} | {e['tuning_accuracy']:.4f} | "
                     f"{e['hosts']['native']['accuracy']:.4f} | {e['hosts']['qemu_haswell']['accuracy']:.4f} | "
                     f"{100 * e['label_agreement']:.2f} % | {e['texts_differing_over_1e-5']} of {len(truth)} | "
                     f"{e['median_abs_probability_difference']:.2g} / {e['max_abs_probability_difference']:.2g} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
