#!/usr/bin/env python3
"""docquant from Python beside `docquant bench` (C++) and the original pipeline's Python path,
in one run, on the same model, data and thread count: throughput at batch 32.

Each round runs, in turn (the order alternating between rounds, so load from elsewhere on the
machine hits every side alike):
  cpp        `docquant bench --batch_sizes 32` (the C++ Classifier; its median over --repetitions
             passes, model load excluded)
  python     docquant.Classifier(...).predict_proba(texts) in this process (loaded once),
             median over --repetitions passes
  reference  tools/python_path.py bench (Hugging Face tokenizers + ONNX Runtime's Python API +
             numpy pooling + the joblib head), in the setfit venv, timed with two batchings:
             input_order (consecutive batches of 32 padded to their longest: as users write it)
             and sorted (docquant's length-sorted batches: the reference's best case)
Every figure is the median over rounds; the ratios are python/cpp and python/reference (each batching).
Run with a Python that has the docquant wheel (e.g. build-python/venv-test/bin/python).
Writes bench/results/python-<fixture or folder name>.json and .md.

  build-python/venv-test/bin/python bench/python/classify_bench.py \\
      --docquant build/src/cli/docquant --model_folder ~/.cache/docquant/example-minilm-sst2-int8
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docquant

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("DOCQUANT_CACHE", Path.home() / ".cache" / "docquant"))


def read_texts(path, column, max_rows):
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        return [row[column] for row in csv.DictReader(f)][:max_rows]


def run_cpp(args, tmp):
    out = Path(tmp) / "cpp.json"
    subprocess.run([args.docquant, "bench", "--model_folder", args.model_folder, "--data", args.data,
                    "--batch_sizes", "32", "--max_rows", str(args.max_rows), "--warmup", "1",
                    "--repetitions", str(args.repetitions), "--threads", str(args.threads), "--json", str(out)],
                   check=True, capture_output=True)
    return json.loads(out.read_text())["models"][0]["results"][0]["throughput_texts_per_s"]


def run_reference(args, tmp):
    out = Path(tmp) / "reference.json"
    subprocess.run([args.reference_python, str(ROOT / "tools" / "python_path.py"), "bench", "--model_folder",
                    args.model_folder, "--data", args.data, "--max_rows", str(args.max_rows), "--warmup", "1",
                    "--repetitions", str(args.repetitions), "--threads", str(args.threads), "--batching",
                    "input_order,sorted", "--json", str(out)], check=True, capture_output=True)
    b = json.loads(out.read_text())["batchings"]
    return {k: v["throughput_texts_per_s"] for k, v in b.items()}


def run_python(clf, texts, repetitions):
    clf.predict_proba(texts)  # warm-up
    rates = []
    for _ in range(repetitions):
        start = time.perf_counter()
        clf.predict_proba(texts)
        rates.append(len(texts) / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docquant", default=str(ROOT / "build" / "src" / "cli" / "docquant"))
    ap.add_argument("--model_folder", default=str(CACHE / "example-minilm-sst2-int8"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "sst2_test.csv"))
    ap.add_argument("--reference_python", default=str(CACHE / "venvs" / "setfit" / "bin" / "python"))
    ap.add_argument("--max_rows", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--out", default=None, help="results stem (default bench/results/python-<model folder name>)")
    args = ap.parse_args()

    texts = read_texts(args.data, "text", args.max_rows)
    clf = docquant.Classifier(args.model_folder, threads=args.threads, batch_size=32)
    sides = {"cpp": lambda tmp: run_cpp(args, tmp), "python": lambda tmp: run_python(clf, texts, args.repetitions),
             "reference": lambda tmp: run_reference(args, tmp)}
    names = ["cpp", "python", "reference input_order", "reference sorted"]
    rounds = {k: [] for k in names}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for k in order:
                got = sides[k](tmp)
                if k == "reference":
                    rounds["reference input_order"].append(got["input_order"])
                    rounds["reference sorted"].append(got["sorted"])
                else:
                    rounds[k].append(got)
            print(f"round {r + 1}: " + ", ".join(f"{k} {rounds[k][-1]:.1f}" for k in names) + " texts/s", flush=True)
    med = {k: statistics.median(v) for k, v in rounds.items()}
    ratios = {"python_over_cpp": med["python"] / med["cpp"],
              "python_over_reference_input_order": med["python"] / med["reference input_order"],
              "python_over_reference_sorted": med["python"] / med["reference sorted"]}
    per_round = [rounds["python"][i] / rounds["cpp"][i] for i in range(args.rounds)]
    result = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                     text=True).stdout.strip(),
        "docquant": docquant.__version__, "docquant_commit": docquant.git_commit, "python": platform.python_version(),
        "cpu_count": os.cpu_count(), "load_average_end": os.getloadavg(),
        "model_folder": args.model_folder, "data": args.data, "rows": len(texts), "batch_size": 32,
        "threads": args.threads, "rounds": args.rounds, "repetitions": args.repetitions,
        "throughput_texts_per_s": {k: {"median": med[k], "rounds": v} for k, v in rounds.items()},
        "ratios": ratios, "python_over_cpp_per_round": per_round,
    }
    stem = Path(args.out) if args.out else ROOT / "bench" / "results" / f"python-{Path(args.model_folder).name}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# docquant from Python vs C++ vs the Python path ({Path(args.model_folder).name})", "",
          f"{len(texts)} texts of {Path(args.data).name}, batch 32, {args.threads} threads, {args.rounds} interleaved "
          f"rounds × {args.repetitions} passes, commit {result['git_commit'][:12]}, load average at the end "
          f"{result['load_average_end'][0]:.1f}.", "",
          "| side | texts/s (median of rounds) | rounds |", "|---|---|---|"]
    for k in names:
        md.append(f"| {k} | {med[k]:.1f} | {', '.join(f'{x:.1f}' for x in rounds[k])} |")
    md += ["", f"python / cpp = **{ratios['python_over_cpp']:.3f}** (per round: "
           f"{', '.join(f'{x:.3f}' for x in per_round)}); python / reference: "
           f"**{ratios['python_over_reference_input_order']:.2f}** (input order, as users write it), "
           f"**{ratios['python_over_reference_sorted']:.2f}** (sorted, its best case)", ""]
    stem.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
