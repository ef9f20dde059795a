#!/usr/bin/env python3
"""Where an ONNX Runtime model's time goes, per op type (issue 26: "where the time goes").

Runs each given model with SessionOptions.enable_profiling on the first --docs texts of a CSV,
tokenized by the fixture's SetFit folder, in batches of --batch (after one warm-up pass that is
not profiled), then sums ONNX Runtime's own per-node kernel times ("Node" events of the trace)
by op type. Prints one table per model (ms per pass, share of kernel time, node count) and,
with --json, writes them. Run with the setfit or peers venv.

    python bench/peer/profile_ops.py --fixture minilm-sst2 --data ../shared/data/sst2_test.csv \\
        --model default=OUT/model.onnx --model static=OUT2/model.onnx
"""
import argparse
import collections
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fixtures import onnx_eval, paths  # noqa: E402


def profile(model: str, feeds, threads: int, passes: int) -> dict:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    warm = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in warm.get_inputs()]
    for feed in feeds:
        warm.run(None, {n: feed[n] for n in names})
    del warm
    with tempfile.TemporaryDirectory() as tmp:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "profile")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        for _ in range(passes):
            for feed in feeds:
                session.run(None, {n: feed[n] for n in names})
        trace = json.loads(Path(session.end_profiling()).read_text())
    by_type = collections.defaultdict(float)
    nodes = collections.defaultdict(set)
    for event in trace:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time"):
            continue
        op = event.get("args", {}).get("op_name", "?")
        by_type[op] += event["dur"] / 1e3  # µs -> ms
        nodes[op].add(event["name"])
    total = sum(by_type.values())
    return {"kernel_ms_per_pass": total / passes,
            "ops": {op: {"ms_per_pass": ms / passes, "share": ms / total, "nodes": len(nodes[op])}
                    for op, ms in sorted(by_type.items(), key=lambda kv: -kv[1])}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--data", required=True, help="CSV whose first --docs texts are run")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    folder = onnx_eval.SetFitFolder.load(str(paths.fixtures_dir() / args.fixture / "setfit"))
    texts, _ = onnx_eval.load_csv(args.data, args.docs)
    feeds = [folder.tokenize(texts[i:i + args.batch], ["input_ids", "attention_mask", "token_type_ids"])
             for i in range(0, len(texts), args.batch)]
    result = {"fixture": args.fixture, "docs": len(texts), "batch": args.batch, "threads": args.threads,
              "load_average": os.getloadavg(), "models": {}}
    for spec in args.model:
        name, _, path = spec.partition("=")
        result["models"][name] = profiled = profile(path, feeds, args.threads, args.passes)
        print(f"\n{name}: {profiled['kernel_ms_per_pass']:.1f} ms of kernels per pass over {len(texts)} texts "
              f"(batch {args.batch})")
        print("| op type | ms per pass | share | nodes |\n|---|---|---|---|")
        for op, row in profiled["ops"].items():
            print(f"| {op} | {row['ms_per_pass']:.1f} | {100 * row['share']:.1f} % | {row['nodes']} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
