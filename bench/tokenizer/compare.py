#!/usr/bin/env python3
"""docquant's tokenizer against HF `tokenizers`, same texts, same thread counts, one run.

Runs bench/tokenizer's Google Benchmark program (docquant Tokenizer::encode_batch)
and `tokenizers`' Tokenizer.encode_batch (threads set with RAYON_NUM_THREADS) on
every text of shared/data/*.csv, truncated to the model's max length, unpadded,
and prints texts/s and the ratio for 1 and 2 threads. Writes JSON and Markdown
with the commit and CPU when --out is given.

  $DOCQUANT_CACHE/venvs/tokenizers/bin/python bench/tokenizer/compare.py \\
      --bench build-rel/bench/tokenizer/tokenizer_bench [--folder SETFIT_FOLDER ...] [--out DIR]
"""
import argparse
import csv
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
THREADS = (1, 2)


def read_texts():
    texts = []
    for path in sorted((SHARED / "data").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            texts += [row["text"] for row in csv.DictReader(f)]
    return texts


def max_length(folder):
    st = folder / "sentence_bert_config.json"
    if st.exists() and json.loads(st.read_text()).get("max_seq_length"):
        return int(json.loads(st.read_text())["max_seq_length"])
    return int(json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"])


def hf_worker(folder, texts_file, repeats):
    """Runs in a child process so that RAYON_NUM_THREADS takes effect."""
    from tokenizers import Tokenizer
    texts = [bytes.fromhex(line.strip()).decode("utf-8") for line in open(texts_file)]
    tok = Tokenizer.from_file(str(pathlib.Path(folder) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length(pathlib.Path(folder)))
    result = {"texts": len(texts)}
    # encode_batch is what the brief compares with; encode_batch_fast (no offsets) is
    # the closest to docquant's work (ids only), reported beside it.
    for name in ("encode_batch", "encode_batch_fast"):
        fn = getattr(tok, name, None)
        if fn is None:
            continue
        fn(texts[:1000])  # warm-up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(texts)
            times.append(time.perf_counter() - t0)
        result[name] = statistics.median(times)
    print(json.dumps(result))


def run_hf(folder, texts_file, threads, repeats):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
    out = subprocess.run([sys.executable, __file__, "--hf-worker", str(folder), texts_file, str(repeats)],
                         env=env, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["texts"] / r["encode_batch"], (r["texts"] / r["encode_batch_fast"] if "encode_batch_fast" in r else None)


def run_docquant(bench, folder, texts_file):
    env = dict(os.environ, DOCQUANT_BENCH_TOKENIZER=str(folder), DOCQUANT_BENCH_TEXTS=texts_file)
    out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_repetitions=3",
                          "--benchmark_report_aggregates_only=true"], env=env, check=True,
                         capture_output=True, text=True).stdout
    rates = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            threads = int(b["run_name"].split("threads:")[1].split("/")[0])
            rates[threads] = b["items_per_second"]
    return rates


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--hf-worker":
        hf_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="the tokenizer_bench program (a Release build)")
    ap.add_argument("--folder", action="append", help="SetFit folder(s) with tokenizer.json (default: shared MPNet)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="folder for tokenizer_bench.json / .md")
    args = ap.parse_args()
    folders = [pathlib.Path(f) for f in (args.folder or [SHARED / "heads" / "setfit-sst2-mpnet"])]

    import tokenizers
    texts = read_texts()
    with tempfile.NamedTemporaryFile("w", suffix=".hex", delete=False) as f:
        for t in texts:
            f.write(t.encode("utf-8").hex() + "\n")
        texts_file = f.name
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    rows = []
    for folder in folders:
        dq = run_docquant(args.bench, folder, texts_file)
        for threads in THREADS:
            hf, hf_fast = run_hf(folder, texts_file, threads, args.repeats)
            rows.append({"tokenizer": folder.name, "threads": threads, "texts": len(texts),
                         "docquant_texts_per_s": dq[threads], "hf_texts_per_s": hf, "ratio": dq[threads] / hf,
                         "hf_fast_texts_per_s": hf_fast, "ratio_fast": dq[threads] / hf_fast if hf_fast else None})
    os.unlink(texts_file)

    lines = ["# Tokenizer throughput: docquant vs HF tokenizers %s" % tokenizers.__version__, "",
             "commit %s, %s, %d cores, %d texts (shared/data/*.csv), truncation to max length, no padding" %
             (commit, cpu, os.cpu_count(), len(texts)), "",
             "| tokenizer | threads | docquant texts/s | encode_batch texts/s | ratio | encode_batch_fast texts/s | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        fast = ("%.0f | %.2f" % (r["hf_fast_texts_per_s"], r["ratio_fast"])) if r["hf_fast_texts_per_s"] else "- | -"
        lines.append("| %s | %d | %.0f | %.0f | %.2f | %s |" % (r["tokenizer"], r["threads"], r["docquant_texts_per_s"],
                                                            r["hf_texts_per_s"], r["ratio"], fast))
    print("\n".join(lines))
    if args.out:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "tokenizer_bench.json").write_text(json.dumps(
            {"commit": commit, "cpu": cpu, "tokenizers_version": tokenizers.__version__, "rows": rows}, indent=1) + "\n")
        (out / "tokenizer_bench.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
