#!/usr/bin/env python3
"""docquant on local Spark against single-process `docquant classify`, on the same 20,000 rows
(SST-2 test and SMS texts repeated, as python/tests/spark uses), on this machine:

  - `docquant classify` (one process) at batch 32 with its default threads (one per core) and
    with one thread, and at batch 1 with one thread;
  - examples/spark_classify.py's pipeline (CSV in, Parquet out) in local[1] and local[2], one
    ONNX Runtime thread per task (spark.task.cpus = 1), --partitions partitions, batch 1 (what
    the UDF picks for a per-tensor folder);
  - the same in local[2] at model batch 32, compared row by row with `docquant classify`
    (batch 32): how much a partitioning changes a dynamic INT8 model's answers;
  - the peak RSS of every Spark Python worker and of the JVM (sampled from /proc every 0.2 s),
    and the model's load time in one process.
Run in the spark venv with the wheel installed (tools/venvs/spark.txt). Writes
bench/results/spark-<model folder name>.json and .md.

  ~/.cache/docquant/venvs/spark/bin/python bench/python/spark_bench.py
"""
import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

import docquant

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("DOCQUANT_CACHE", Path.home() / ".cache" / "docquant"))
DATA = Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared")) / "data"


class PeakRss:
    """Samples /proc for the JVM and pyspark's Python workers; keeps each process's peak."""

    def __init__(self):
        self.peaks = {}  # pid -> (kind, peak kB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    kind = "python worker" if "pyspark.daemon" in cmd or "pyspark.worker" in cmd else \
                        "jvm" if "org.apache.spark.deploy.SparkSubmit" in cmd else None
                    if not kind:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            kb = int(line.split()[1])
                            self.peaks[pid] = (kind, max(kb, self.peaks.get(pid, (kind, 0))[1]))
                except (FileNotFoundError, ProcessLookupError, PermissionError):
                    continue
            time.sleep(0.2)

    def summary(self):
        out = {}
        for kind, kb in self.peaks.values():
            out.setdefault(kind, []).append(kb / 1024)
        return {k: {"processes": len(v), "peak_rss_mib_max": max(v)} for k, v in out.items()}


def make_rows(path, rows):
    texts = []
    for name in ("sst2_test.csv", "sms_spam.csv"):
        with open(DATA / name, newline="", encoding="utf-8") as f:
            texts += [r["text"] for r in csv.DictReader(f)]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text"])
        for i in range(rows):
            w.writerow([i, texts[i % len(texts)]])


def cli_classify(docquant_bin, folder, rows_csv, out_csv, batch_size, threads):
    start = time.monotonic()
    subprocess.run([docquant_bin, "classify", "--model_folder", folder, "--input", rows_csv, "--output", out_csv,
                    "--batch_size", str(batch_size), "--threads", str(threads), "--quiet"], check=True)
    seconds = time.monotonic() - start
    with open(out_csv, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return seconds, [r[0] for r in rows], np.array([[float(x) for x in r[1:]] for r in rows])


def spark_run(master, folder, rows_csv, out_dir, partitions, model_batch_size):
    from pyspark.sql import SparkSession
    from docquant.spark import classify_udf
    spark = (SparkSession.builder.master(master).appName("docquant-bench").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = spark.read.csv(rows_csv, header=True, multiLine=True, escape='"').repartition(partitions)
        classify = classify_udf(folder, return_probabilities=True, model_batch_size=model_batch_size)
        start = time.monotonic()
        with PeakRss() as rss:
            (df.withColumn("p", classify("text")).select("id", "p.label", "p.probabilities")
             .write.mode("overwrite").parquet(out_dir))
        seconds = time.monotonic() - start
    finally:
        spark.stop()
    got = pd.read_parquet(out_dir)
    got["id"] = got["id"].astype(int)
    got = got.sort_values("id")
    return seconds, got["label"].tolist(), np.stack(got["probabilities"].to_numpy()), rss.summary()


def compare(labels_a, proba_a, labels_b, proba_b):
    delta = np.abs(proba_a - proba_b).max(axis=1)
    return {"labels_identical": int(sum(a == b for a, b in zip(labels_a, labels_b))), "rows": len(labels_a),
            "rows_bit_identical": int((delta == 0).sum()), "max_abs_dp": float(delta.max()),
            "p99_abs_dp": float(np.percentile(delta, 99))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docquant", default=str(Path(sys.executable).parent / "docquant"))
    ap.add_argument("--model_folder", default=str(CACHE / "example-minilm-sst2-int8"))
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    result = {"date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "git_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                           text=True).stdout.strip(),
              "cpu_count": os.cpu_count(), "model_folder": args.model_folder, "rows": args.rows,
              "partitions": args.partitions, "runs": {}}
    loads = []
    for _ in range(3):
        start = time.monotonic()
        docquant.Classifier(args.model_folder, threads=1)
        loads.append(time.monotonic() - start)
    result["model_load_seconds"] = sorted(loads)[1]
    with tempfile.TemporaryDirectory() as tmp:
        rows_csv = os.path.join(tmp, "rows.csv")
        make_rows(rows_csv, args.rows)
        ref = {}
        for bs, threads in ((32, 0), (32, 1), (1, 1)):
            s, labels, proba = cli_classify(args.docquant, args.model_folder, rows_csv, os.path.join(tmp, f"c{bs}.csv"),
                                            bs, threads)
            ref[bs] = (labels, proba)
            key = f"docquant classify, batch {bs}, threads {threads or f'0 ({os.cpu_count()})'}"
            result["runs"][key] = {"seconds": s, "docs_per_s": args.rows / s}
            print(f"{key}: {args.rows / s:.0f} docs/s", flush=True)
        for master, bs in (("local[1]", 1), ("local[2]", 1), ("local[2]", 32)):
            s, labels, proba, rss = spark_run(master, args.model_folder, rows_csv, os.path.join(tmp, "out"),
                                              args.partitions, bs)
            key = f"spark {master}, model batch {bs}"
            result["runs"][key] = {"seconds": s, "docs_per_s": args.rows / s, "rss": rss,
                                   "vs_docquant_classify_same_batch": compare(labels, proba, *ref[bs])}
            print(f"{key}: {args.rows / s:.0f} docs/s; {result['runs'][key]}", flush=True)
    result["load_average_end"] = os.getloadavg()
    stem = ROOT / "bench" / "results" / f"spark-{Path(args.model_folder).name}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# docquant on local Spark vs `docquant classify` ({Path(args.model_folder).name})", "",
          f"{args.rows} rows, {args.partitions} partitions, {os.cpu_count()} cores, commit {result['git_commit'][:12]}, "
          f"load average at the end {result['load_average_end'][0]:.1f}; model load {result['model_load_seconds']:.2f} s.",
          "", "| run | docs/s | labels identical to classify (same batch) | max abs dp | peak RSS per Python worker / JVM (MiB) |",
          "|---|---|---|---|---|"]
    for key, r in result["runs"].items():
        c = r.get("vs_docquant_classify_same_batch")
        rss = r.get("rss", {})
        md.append(f"| {key} | {r['docs_per_s']:.0f} | "
                  + (f"{c['labels_identical']}/{c['rows']} | {c['max_abs_dp']:.3g} | " if c else "— | — | ")
                  + (f"{rss.get('python worker', {}).get('peak_rss_mib_max', 0):.0f} "
                     f"({rss.get('python worker', {}).get('processes', 0)} workers) / "
                     f"{rss.get('jvm', {}).get('peak_rss_mib_max', 0):.0f} |" if rss else "— |"))
    stem.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
