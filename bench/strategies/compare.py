#!/usr/bin/env python3
"""Compares docquant's tuning strategies on one fixture, in one run.

Runs `docquant quantize` once per strategy on the same model, SetFit folder and CSV (with
the same extra flags), then measures the throughput of fp32 and of every output model in
one ONNX Runtime harness (batch 32, length-sorted, interleaved repetitions, medians).
Writes bench/results/strategies-<fixture><tag>.json and .md.

  $DOCQUANT_CACHE/venvs/setfit/bin/python bench/strategies/compare.py \
      --docquant build/src/cli/docquant --fixture minilm-sst2 --data ../shared/data/sst2_dev.csv \
      --tag -full-range -- --full_range

By default three runs: sensitivity (its default one-session probe), sensitivity with the
per-node probe (sensitivity:isolated) and basic; --runs picks others.
"""
import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]


def run_quantize(binary, fixture, data, out, run, extra):
    """`run` is a strategy name, or sensitivity:<probe> (local, isolated)."""
    shutil.rmtree(out, ignore_errors=True)
    strategy, _, probe = run.partition(":")
    cmd = [binary, "quantize", "--quiet", "--onnx_model_folder", str(fixture / "onnx"),
           "--setfit_model_folder", str(fixture / "setfit"), "--calibration_data", str(data),
           "--output_folder", str(out), "--strategy", strategy] + (["--sensitivity_probe", probe] if probe else []) + extra
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 5):
        sys.exit(f"docquant failed ({proc.returncode}): {proc.stderr}")
    report = json.load(open(out / "quantization.json")) if proc.returncode == 0 else None
    return {"strategy": run, "exit_code": proc.returncode, "wall_seconds": wall, "report": report,
            "stderr_tail": proc.stderr[-2000:]}


def batches_for(tokenizer_json, data, docs, batch):
    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.enable_truncation(256)
    with open(data, newline="", encoding="utf-8") as f:
        texts = [r["text"].strip() for r in csv.DictReader(f)][:docs]
    enc = tok.encode_batch(texts)
    order = sorted(range(len(texts)), key=lambda i: len(enc[i].ids))
    out = []
    for s in range(0, len(order), batch):
        rows = order[s:s + batch]
        width = max(len(enc[i].ids) for i in rows)
        ids = np.zeros((len(rows), width), np.int64)
        mask = np.zeros_like(ids)
        for k, i in enumerate(rows):
            ids[k, :len(enc[i].ids)] = enc[i].ids
            mask[k, :len(enc[i].ids)] = 1
        out.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    return out, len(texts)


def throughput(models, batches, docs, threads, reps):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sessions = {name: ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"]) for name, p in models.items()}
    for s in sessions.values():
        for b in batches[:2]:
            s.run(None, b)
    samples = {name: [] for name in models}
    for _ in range(reps):
        for name, s in sessions.items():  # interleaved: load elsewhere hits every model alike
            t = time.perf_counter()
            for b in batches:
                s.run(None, b)
            samples[name].append(docs / (time.perf_counter() - t))
    return {name: {"docs_per_s_median": statistics.median(v), "samples": v} for name, v in samples.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docquant", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--docs", type=int, default=256)
    ap.add_argument("--runs", default="sensitivity,sensitivity:isolated,basic",
                    help="comma-separated: strategy names, or sensitivity:<probe>")
    ap.add_argument("extra", nargs="*", help="flags passed to docquant quantize (after --)")
    args = ap.parse_args()
    cache = Path(os.environ.get("DOCQUANT_CACHE", Path.home() / ".cache/docquant"))
    fixture = Path(os.environ.get("DOCQUANT_FIXTURES", cache / "fixtures")) / args.fixture
    work = cache / "strategies" / args.fixture
    runs = [run_quantize(args.docquant, fixture, args.data, work / r.replace(":", "-"), r, args.extra)
            for r in args.runs.split(",")]

    models = {"fp32": fixture / "onnx" / "model.onnx"}
    for r in runs:
        if r["report"]:
            models[r["strategy"]] = work / r["strategy"].replace(":", "-") / "model.onnx"
    batches, docs = batches_for(fixture / "setfit" / "tokenizer.json", args.data, args.docs, 32)
    speed = throughput(models, batches, docs, args.threads, args.reps)
    fp32_speed = speed["fp32"]["docs_per_s_median"]

    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    result = {"fixture": args.fixture, "data": str(args.data), "extra_flags": args.extra, "commit": commit, "cpu": cpu,
              "onnxruntime": ort.__version__, "threads": args.threads, "reps": args.reps, "docs": docs,
              "runs": runs, "throughput": speed}
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stem = results / f"strategies-{args.fixture}{args.tag}"
    json.dump(result, open(f"{stem}.json", "w"), indent=2, default=str)

    lines = [f"### `{args.fixture}` — strategies, flags `{' '.join(args.extra) or '(defaults)'}`", "",
             f"- data `{Path(args.data).name}`; git {commit}; {cpu}; ONNX Runtime {ort.__version__}, {args.threads} threads",
             f"- throughput: batch 32 on the first {docs} texts, median of {args.reps} interleaved repetitions, ratio to fp32 of the same run",
             "", "| strategy | exit | full evaluations | probe | probe s | wall s | baseline | final accuracy | fp32 nodes | size MB | docs/s | × fp32 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        rep = r["report"]
        if rep is None:
            lines.append(f"| {r['strategy']} | {r['exit_code']} (criterion not met) | | | | {r['wall_seconds']:.0f} | | | | | | |")
            continue
        fp32_nodes = sum(1 for n in rep["nodes"] if n["decision"] == "fp32 (tuning)")
        s = speed[r["strategy"]]["docs_per_s_median"]
        lines.append(f"| {r['strategy']} | 0 | {len(rep['trials'])} | {rep['strategy'].get('probe') or '-'} | "
                     f"{rep['strategy']['probe_seconds']:.1f} | {r['wall_seconds']:.0f} | "
                     f"{rep['baseline_accuracy']:.4f} | {rep['final_accuracy']:.4f} | {fp32_nodes} | "
                     f"{rep['sizes']['model_onnx_after'] / 1e6:.1f} | {s:.1f} | {s / fp32_speed:.2f} |")
    lines.append(f"| fp32 | | | | | | | | | {models['fp32'].stat().st_size / 1e6:.1f} | {fp32_speed:.1f} | 1.00 |")
    Path(f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
