#!/usr/bin/env python3
"""docquant's inference beside the original pipeline's Python path, in one run.

On one fixture, the same data and the same thread count, for the fp32 model (the fixture's
SetFit folder + onnx/model.onnx) and a docquant int8 output folder:
  - steady state, through each side's bench mode: `docquant bench` (C++ Classifier) and
    `tools/python_path.py bench` (tokenizers + ONNX Runtime + pooling + scikit-learn head):
    throughput at batch 32 over the first --max_rows texts, and batch-1 latency per text
    (tokenize + model + pooling + head) p50/p95/p99. The Python path's throughput is timed
    once per --python_batchings entry, alternating inside each repetition:
      input_order  as users write it: consecutive batches of 32 in input order, each
                   tokenized with truncation and padded to its own longest text;
      sorted       with docquant's batching (length-sorted batches of 32, padded per batch),
                   the best case for Python;
      max_length   (opt-in, slow) input order, every batch padded to max_seq_length.
    docquant always batches its own way (sorted). Batch-1 latency has no batching;
  - end to end, through each side's CLI: wall time of `docquant classify` and of
    `tools/python_path.py predict` (once per --python_batchings entry) over the whole CSV,
    process start and model load included.
The rounds are interleaved (docquant, Python fp32, Python int8, CLIs, then again), so load
from elsewhere on the machine hits every side alike; every figure is the median over rounds.
The results are rewritten after every round, so an interrupted run keeps the rounds it finished.
Writes bench/results/classify-<fixture>.json and .md (classify-<fixture>-<data stem>.* with --data).

  $DOCQUANT_CACHE/venvs/setfit/bin/python bench/classify/compare.py \\
      --docquant build/src/cli/docquant --fixture minilm-sst2
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

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("DOCQUANT_CACHE", Path.home() / ".cache" / "docquant"))


def run(cmd):
    started = time.monotonic()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr[-3000:]}")
    return time.monotonic() - started


def environment(args):
    def git(*cmd):
        return subprocess.run(["git", "-C", str(ROOT), *cmd], capture_output=True, text=True).stdout.strip()

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import importlib.metadata as md
    version = subprocess.run([args.docquant, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "bench/classify", "tools/python_path.py",
                              "src/cli/cmd_bench.cc", "src/cli/cmd_classify.cc", "src/runtime")),
        "docquant": version,
        "cpu_model": cpu, "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "python_path_versions": {n: md.version(n) for n in ("onnxruntime", "tokenizers", "scikit-learn", "numpy")},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docquant", required=True, help="the docquant binary")
    ap.add_argument("--fixture", default="minilm-sst2")
    ap.add_argument("--int8", help="docquant output folder (default: $DOCQUANT_CACHE/example-minilm-sst2-int8)")
    ap.add_argument("--data", help="CSV (default: the fixture's test set from ../shared/data)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--max_rows", type=int, default=256)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--python_batchings", default="input_order,sorted",
                    help="the Python path's batchings to time (tools/python_path.py --batching)")
    ap.add_argument("--results", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    args.docquant = str(Path(args.docquant).resolve())

    fixture = Path(os.environ.get("DOCQUANT_FIXTURES", CACHE / "fixtures")) / args.fixture
    manifest = json.loads((fixture / "manifest.json").read_text())
    shared = Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
    data = Path(args.data) if args.data else shared / "data" / manifest["dataset"]["test"]
    int8 = Path(args.int8) if args.int8 else CACHE / "example-minilm-sst2-int8"
    fp32 = {"folder": fixture / "setfit", "onnx": fixture / "onnx" / "model.onnx"}
    q8 = {"folder": int8, "onnx": int8 / "model.onnx"}
    py = sys.executable
    python_path = ROOT / "tools" / "python_path.py"
    common = ["--threads", args.threads, "--max_rows", args.max_rows, "--warmup", args.warmup,
              "--repetitions", args.repetitions]
    rows_total = sum(1 for _ in open(data, encoding="utf-8")) - 1  # for the CLI rate only; texts have no newlines

    batchings = args.python_batchings.split(",")
    samples = {k: [] for k in ("dq_fp32_tput", "dq_int8_tput", "dq_fp32_p50", "dq_int8_p50", "dq_fp32_p95",
                               "dq_int8_p95", "dq_fp32_p99", "dq_int8_p99",
                               "py_fp32_p50", "py_int8_p50", "py_fp32_p95", "py_int8_p95", "py_fp32_p99",
                               "py_int8_p99", "cli_dq_fp32_s", "cli_dq_int8_s")}
    for b in batchings:
        for key in ("fp32", "int8"):
            samples[f"py_{key}_tput_{b}"] = []
            samples[f"cli_py_{key}_s_{b}"] = []
    raw = []
    with tempfile.TemporaryDirectory(prefix="dq-classify-bench-") as tmp:
        tmp = Path(tmp)
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", flush=True)
            run([args.docquant, "bench", "--model_folder", q8["folder"], "--compare", fp32["folder"],
                 "--compare_onnx", fp32["onnx"], "--data", data, "--batch_sizes", "1,32",
                 "--json", tmp / "dq.json", *common])
            dq = json.loads((tmp / "dq.json").read_text())
            by_role = {m["role"]: {x["batch_size"]: x for x in m["results"]} for m in dq["models"]}
            for role, key in (("model", "int8"), ("compare", "fp32")):
                samples[f"dq_{key}_tput"].append(by_role[role][32]["throughput_texts_per_s"])
                for p in ("p50", "p95", "p99"):
                    samples[f"dq_{key}_{p}"].append(by_role[role][1]["latency_ms"][p])
            round_raw = {"docquant_bench": dq}
            for key, m in (("fp32", fp32), ("int8", q8)):
                run([py, python_path, "bench", "--model_folder", m["folder"], "--onnx_model", m["onnx"],
                     "--data", data, "--batch_size", 32, "--batching", args.python_batchings,
                     "--json", tmp / "py.json", *common])
                pj = json.loads((tmp / "py.json").read_text())
                for b in batchings:
                    samples[f"py_{key}_tput_{b}"].append(pj["batchings"][b]["throughput_texts_per_s"])
                for p in ("p50", "p95", "p99"):
                    samples[f"py_{key}_{p}"].append(pj["latency_ms"][p])
                round_raw[f"python_bench_{key}"] = pj
            for key, m in (("fp32", fp32), ("int8", q8)):
                samples[f"cli_dq_{key}_s"].append(run(
                    [args.docquant, "classify", "--model_folder", m["folder"], "--onnx_model", m["onnx"],
                     "--input", data, "--output", tmp / "dq.csv", "--threads", args.threads]))
                for b in batchings:
                    samples[f"cli_py_{key}_s_{b}"].append(run(
                        [py, python_path, "predict", "--model_folder", m["folder"], "--onnx_model", m["onnx"],
                         "--input", data, "--output", tmp / "py.csv", "--threads", args.threads,
                         "--batching", b]))
            raw.append(round_raw)
            # Written after every round: an interrupted run still leaves the rounds it finished.
            write_results(args, data, rows_total, fp32, q8, batchings, samples, raw, r + 1)
    print(markdown(json.loads((Path(args.results) / f"{result_stem(args)}.json").read_text())))
    return 0


def result_stem(args):
    """classify-<fixture>, or classify-<fixture>-<data file stem> when --data names other texts."""
    return f"classify-{args.fixture}" + (f"-{Path(args.data).stem}" if args.data else "")


def write_results(args, data, rows_total, fp32, q8, batchings, samples, raw, rounds_done):
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratios = {}
    for b in batchings:
        for key in ("fp32", "int8"):
            ratios[f"throughput_b32_docquant_over_python_{b}_{key}"] = med[f"dq_{key}_tput"] / med[f"py_{key}_tput_{b}"]
    if "sorted" in batchings:
        for b in batchings:
            for key in ("fp32", "int8"):
                ratios[f"python_throughput_sorted_over_{b}_{key}"] = (med[f"py_{key}_tput_sorted"]
                                                                      / med[f"py_{key}_tput_{b}"])
    ratios.update({
        "latency_p50_python_over_docquant_fp32": med["py_fp32_p50"] / med["dq_fp32_p50"],
        "latency_p50_python_over_docquant_int8": med["py_int8_p50"] / med["dq_int8_p50"],
        "docquant_int8_over_fp32_throughput_b32": med["dq_int8_tput"] / med["dq_fp32_tput"],
        "docquant_int8_over_fp32_latency_p50": med["dq_fp32_p50"] / med["dq_int8_p50"],
    })
    for b in batchings:
        for key in ("fp32", "int8"):
            ratios[f"cli_wall_python_{b}_over_docquant_{key}"] = med[f"cli_py_{key}_s_{b}"] / med[f"cli_dq_{key}_s"]
        ratios[f"python_{b}_int8_over_fp32_throughput_b32"] = med[f"py_int8_tput_{b}"] / med[f"py_fp32_tput_{b}"]
    result = {
        "fixture": args.fixture, "data": str(data), "cli_rows": rows_total,
        "models": {"fp32": {k: str(v) for k, v in fp32.items()}, "int8": {k: str(v) for k, v in q8.items()}},
        "settings": {"threads": args.threads, "rounds": rounds_done, "rounds_asked": args.rounds, "max_rows": args.max_rows,
                     "repetitions_per_round": args.repetitions, "warmup": args.warmup, "batch_size": 32,
                     "python_batchings": batchings, "docquant_batching": "sorted"},
        "environment": environment(args),
        "medians": med, "ratios": ratios, "samples": samples, "raw": raw,
    }
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{result_stem(args)}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{result_stem(args)}.md").write_text(markdown(result))


BATCHING_LABELS = {
    "input_order": "Python path, as users write it (input order, padded to batch longest)",
    "sorted": "Python path, docquant's batching (length-sorted)",
    "max_length": "Python path, input order, padded to max_seq_length",
}
BATCHING_SHORT = {"input_order": "as users write it (input order)", "sorted": "with docquant's batching (sorted)",
                  "max_length": "input order, padded to max_seq_length"}


def per_round(r, num, den):
    """Each round's own ratio num/den (load changes between rounds; within one it hits both)."""
    return " ".join(f"{a / b:.2f}" for a, b in zip(r["samples"][num], r["samples"][den]))


def markdown(r):
    m, q, s, env = r["medians"], r["ratios"], r["settings"], r["environment"]
    batchings = s["python_batchings"]
    lines = [
        f"### `{r['fixture']}`: docquant vs the Python path",
        "",
        f"- data: `{Path(r['data']).name}`; bench modes on the first {s['max_rows']} texts, CLIs on all "
        f"{r['cli_rows']} rows; ONNX Runtime intra-op threads {s['threads']} on both sides",
        f"- {s['rounds']} interleaved rounds"
        f"{'' if s['rounds'] == s.get('rounds_asked', s['rounds']) else ' (of ' + str(s['rounds_asked']) + ' asked)'}"
        f" × {s['repetitions_per_round']} repetitions "
        f"(warm-up {s['warmup']}); every figure is the median over rounds",
        f"- {env['cpu_model']} ({env['cpu_count']} logical cores), load average at the end "
        f"{env['load_average'][0]:.1f}; {env['docquant']}; git {env['git_commit'][:12]}"
        f"{' (dirty)' if env['git_dirty'] else ''}; {env['date_utc']}",
        f"- Python path: onnxruntime {env['python_path_versions']['onnxruntime']}, tokenizers "
        f"{env['python_path_versions']['tokenizers']}, scikit-learn {env['python_path_versions']['scikit-learn']}",
        "- batching at batch 32: docquant sorts the texts by token count and pads each batch to its longest; "
        "the Python path \"as users write it\" takes consecutive batches of 32 in input order, tokenizes each "
        "with truncation and pads it to its longest text (`tokenizer(batch, padding=True, truncation=True)`, then "
        "`session.run`, mean pooling, `predict_proba`); \"docquant's batching\" is the same pipeline with "
        "docquant's length-sorted batches (its best case). Batch-1 latency has no batching: one measurement per "
        "model for both Python rows; `python_path.py predict` batches as the row says.",
        "",
        "| model | side | texts/s at batch 32 | batch-1 p50 ms | p95 ms | p99 ms | CLI wall s (all rows) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in ("fp32", "int8"):
        lines.append(f"| {key} | docquant | {m[f'dq_{key}_tput']:.1f} | {m[f'dq_{key}_p50']:.2f} | "
                     f"{m[f'dq_{key}_p95']:.2f} | {m[f'dq_{key}_p99']:.2f} | {m[f'cli_dq_{key}_s']:.2f} |")
        for b in batchings:
            cli = f"{m[f'cli_py_{key}_s_{b}']:.2f}"
            lines.append(f"| {key} | {BATCHING_LABELS[b]} | {m[f'py_{key}_tput_{b}']:.1f} | "
                         f"{m[f'py_{key}_p50']:.2f} | {m[f'py_{key}_p95']:.2f} | {m[f'py_{key}_p99']:.2f} | {cli} |")
    lines += ["", "Ratios of the medians, and each round's own ratio (rounds 1, 2, 3, ...):", "",
              "| ratio | fp32 | int8 | fp32 per round | int8 per round | goal |", "|---|---|---|---|---|---|"]

    def row(name, key, num, den, goal):
        lines.append(f"| {name} | {q[key.format('fp32')]:.2f}× | {q[key.format('int8')]:.2f}× | "
                     f"{per_round(r, num.format('fp32'), den.format('fp32'))} | "
                     f"{per_round(r, num.format('int8'), den.format('int8'))} | {goal} |")

    for b in batchings:
        row(f"throughput at batch 32, docquant / Python {BATCHING_SHORT[b]}",
            f"throughput_b32_docquant_over_python_{b}_{{}}", "dq_{}_tput", f"py_{{}}_tput_{b}", "≥ 2×")
    row("batch-1 p50 latency, Python / docquant", "latency_p50_python_over_docquant_{}",
        "py_{}_p50", "dq_{}_p50", "> 1× (docquant lower)")
    for b in batchings:
        row(f"CLI wall time (all rows), Python {BATCHING_SHORT[b]} / docquant",
            f"cli_wall_python_{b}_over_docquant_{{}}", f"cli_py_{{}}_s_{b}", "cli_dq_{}_s", "—")
    for b in batchings:
        if b != "sorted" and "sorted" in batchings:
            row(f"Python's own throughput, sorted / {BATCHING_SHORT[b]}",
                f"python_throughput_sorted_over_{b}_{{}}", "py_{}_tput_sorted", f"py_{{}}_tput_{b}", "—")
    python_int8 = ", ".join(f"{q[f'python_{b}_int8_over_fp32_throughput_b32']:.2f}× ({BATCHING_SHORT[b]})"
                            for b in batchings)
    lines += [
        "",
        f"int8 over fp32 through docquant: {q['docquant_int8_over_fp32_throughput_b32']:.2f}× throughput at batch 32, "
        f"{q['docquant_int8_over_fp32_latency_p50']:.2f}× at batch-1 p50 (aim ≈ 1.8×); through the Python path "
        f"{python_int8}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
