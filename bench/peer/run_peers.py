#!/usr/bin/env python3
"""Runs the peers of docquant on one fixture and measures them in one harness.

Variants: the fp32 body; INC 1.14.2 as the original blueprint ran it (inc_quantize.py, in
the inc venv); ONNX Runtime quantize_dynamic with defaults and with per_channel=True +
reduce_range=True; and, with --docquant-bin, docquant itself. Every variant's accuracy and
throughput is then measured here, in this process, with the same ONNX Runtime, threads and
texts; throughput repetitions are interleaved across variants and reported as medians and
as ratios to fp32 from the same run.

Writes bench/results/peers-<fixture>.{json,md,png}. Run with the setfit venv's python.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))


from fixtures import onnx_eval, paths  # noqa: E402

# Calibration / eval split per training set: SST-2 has a dev split, TREC only a test split.
EVAL_DATA = {"sst2_train.csv": "sst2_dev.csv", "trec6_train.csv": "trec6_test.csv", "trec50_train.csv": "trec50_test.csv"}


def ort_quantize(src: Path, dst: Path, **options) -> float:
    from onnxruntime.quantization import quantize_dynamic

    dst.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    quantize_dynamic(str(src), str(dst), **options)
    return time.monotonic() - started


def own_rss_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


def run_measured(command, log_path: Path, time_limit=None):
    """Runs `command` with its output to `log_path`; returns (exit code, or None when stopped at
    `time_limit` seconds; wall seconds; the child's peak resident memory in bytes from wait4's
    rusage, or None when that figure cannot be told from this harness's own: Linux carries the
    exec-ing process's peak into the child's ru_maxrss, and subprocess spawns by vfork, so a
    child that stays below this process's resident size reports this process's)."""
    parent = own_rss_bytes()
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time_limit is not None and time.monotonic() - started > time_limit:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                process.returncode = -9
                peak = usage.ru_maxrss * 1024
                return None, time.monotonic() - started, peak if peak > 1.05 * parent else None
            time.sleep(0.2)
    process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss * 1024
    return process.returncode, time.monotonic() - started, peak if peak > 1.05 * parent else None


def limited_csv(data: Path, limit, work: Path) -> Path:
    """The first `limit` rows of `data` (what INC and the harness read with --limit), for docquant."""
    if not limit:
        return data
    import csv
    out = work / f"{data.stem}-first{limit}.csv"
    with open(data, newline="", encoding="utf-8") as f, open(out, "w", newline="", encoding="utf-8") as g:
        reader, writer = csv.reader(f), csv.writer(g)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i >= limit:
                break
            writer.writerow(row)
    return out


def run_inc(args, fixture: Path, data: Path, work: Path) -> dict:
    out, report = work / "inc" / "model.onnx", work / "inc" / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [args.inc_python, str(Path(__file__).with_name("inc_quantize.py")),
               "--onnx-model", str(fixture / "onnx" / "model.onnx"), "--setfit-folder", str(fixture / "setfit"),
               "--data", str(data), "--output", str(out), "--report", str(report),
               "--threads", str(args.threads)] + (["--limit", str(args.limit)] if args.limit else [])
    log_path = work / "inc" / "log.txt"
    report.unlink(missing_ok=True)
    code, wall, peak = run_measured(command, log_path, args.inc_time_limit)
    if code is None:
        trials = len(re.findall(r"Tune \d+ result is", log_path.read_text(errors="replace")))
        return {"name": "inc-1.14.2-dynamic",
                "skipped": f"stopped by --inc-time-limit after {wall:.0f} s and {trials} trials without meeting "
                           f"the accuracy criterion (peak RSS {peak / 1e6 if peak else float('nan'):.0f} MB); "
                           f"see {log_path}",
                "trials": trials, "process_seconds": wall, "peak_rss_bytes": peak}
    if code != 0 or not report.is_file():
        return {"name": "inc-1.14.2-dynamic", "skipped": f"inc_quantize.py exited {code}; see {log_path}"}
    facts = json.loads(report.read_text())
    return {"name": "inc-1.14.2-dynamic", "path": str(out), "quantize_seconds": facts["tuning_seconds"],
            "process_seconds": wall, "peak_rss_bytes": facts.get("peak_rss_bytes", peak), "trials": facts["trials"],
            "reduce_range": facts["reduce_range"],
            "inc": {k: facts[k] for k in ("inc_version", "onnxruntime_version", "onnx_version", "baseline_accuracy",
                                          "quantized_accuracy", "evaluations", "cpu_vnni", "eval_rows")}}


def run_docquant(args, fixture: Path, data: Path, work: Path, name="docquant", flags=()) -> dict:
    """docquant quantize on the same rows as INC, as a first run would (--no_cache: no
    baseline or probe scores from an earlier run)."""
    binary = Path(args.docquant_bin)
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return {"name": name, "skipped": f"{binary}: not an executable file"}
    out = work / name
    shutil.rmtree(out, ignore_errors=True)  # a previous run's output: docquant refuses a non-empty folder
    command = [str(binary), "quantize", "--onnx_model_folder", str(fixture / "onnx"),
               "--setfit_model_folder", str(fixture / "setfit"), "--calibration_data", str(data),
               "--output_folder", str(out), "--threads", str(args.threads), "--no_cache", *flags]
    code, wall, _ = run_measured(command, work / f"{name}.log")
    models = sorted(out.rglob("*.onnx"))
    if code != 0 or not models:
        tail = (work / f"{name}.log").read_text(errors="replace").strip()[-500:]
        return {"name": name, "skipped": f"exit {code}: {tail}"}
    record = json.loads((out / "quantization.json").read_text())
    return {"name": name, "path": str(models[0]), "quantize_seconds": wall, "trials": len(record["trials"]),
            "peak_rss_bytes": record.get("peak_rss_bytes"), "fp32_nodes": sum(1 for n in record["nodes"] if n.get("decision") == "fp32 (tuning)"),
            "activation_scales": record["recipe"].get("activation_scales"), "flags": list(flags),
            "reduce_range": record["recipe"]["reduce_range"], "phase_seconds": record.get("phase_seconds")}


def batches(folder, texts, size, input_names):
    return [folder.tokenize(texts[i:i + size], input_names) for i in range(0, len(texts), size)]


def predict_all(session, folder, feeds) -> None:
    for feed in feeds:
        hidden = session.run(None, feed)[0]
        folder.head.predict(onnx_eval.mean_pool(hidden, feed["attention_mask"], folder.normalize))


def measure(variants, folder, texts, labels, args) -> None:
    sessions = {v["name"]: onnx_eval.make_session(v["path"], args.threads) for v in variants}
    for v in variants:
        v["size_bytes"] = os.path.getsize(v["path"])
        v["accuracy"] = onnx_eval.body_accuracy(sessions[v["name"]], folder, texts, labels)
    bench_texts = texts[:args.bench_docs]
    settings = {1: bench_texts[:args.bench_docs_batch1], 32: bench_texts}
    for batch, subset in settings.items():
        feeds = {n: batches(folder, subset, batch, [i.name for i in s.get_inputs()]) for n, s in sessions.items()}
        for name, session in sessions.items():  # warm-up
            predict_all(session, folder, feeds[name][:2])
        samples = {n: [] for n in sessions}
        for _ in range(args.reps):  # interleaved, so load from elsewhere hits every variant alike
            for name, session in sessions.items():
                started = time.perf_counter()
                predict_all(session, folder, feeds[name])
                samples[name].append(len(subset) / (time.perf_counter() - started))
        for v in variants:
            v[f"docs_per_s_batch{batch}"] = statistics.median(samples[v["name"]])
            v[f"docs_per_s_batch{batch}_samples"] = samples[v["name"]]
    base = variants[0]
    for v in variants:
        v["accuracy_delta_vs_fp32"] = v["accuracy"] - base["accuracy"]
        v["size_ratio_vs_fp32"] = v["size_bytes"] / base["size_bytes"]
        for batch in settings:
            key = f"docs_per_s_batch{batch}"
            v[f"speedup_batch{batch}_vs_fp32"] = v[key] / base[key]


def environment(args) -> dict:
    def git(*cmd):
        return subprocess.run(["git", "-C", str(REPO), *cmd], capture_output=True, text=True).stdout.strip()

    cpu, flags = platform.processor(), set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu in ("", "x86_64"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    import importlib.metadata as md
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        # Only the harness's own files: other parts of the tree change under concurrent work.
        "git_dirty": bool(git("status", "--porcelain", "--", "bench/peer", "tools/fixtures", "tools/build_fixtures.py")),
        "cpu_model": cpu, "cpu_count": os.cpu_count(),
        "cpu_flags": sorted(f for f in flags if f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512bw")),
        "python": platform.python_version(),
        "harness_versions": {n: md.version(n) for n in ("onnxruntime", "onnx", "numpy", "transformers",
                                                         "tokenizers", "scikit-learn")},
        "threads": args.threads, "reps": args.reps,
    }


def write_markdown(result: dict, path: Path) -> None:
    env, rows = result["environment"], result["variants"]
    inc = next((v["inc"] for v in rows if "inc" in v), None)
    lines = [f"# Peers on `{result['fixture']}`", "",
             f"- eval/calibration data: `{result['eval_data']}` ({result['eval_rows']} rows); throughput on the first "
             f"{result['bench_docs_batch1']} docs at batch 1 and {result['bench_docs']} docs at batch 32",
             f"- {env['cpu_model']} ({env['cpu_count']} cores, {', '.join(env['cpu_flags'])}); ONNX Runtime "
             f"{env['harness_versions']['onnxruntime']} intra-op threads {env['threads']}; median of {env['reps']} "
             f"interleaved repetitions",
             f"- git {env['git_commit'][:12]}{' (dirty)' if env['git_dirty'] else ''}, {env['date_utc']}"]
    if inc:
        lines.append(f"- INC {inc['inc_version']} tuned with onnxruntime {inc['onnxruntime_version']}, onnx "
                     f"{inc['onnx_version']}; INC's own baseline {inc['baseline_accuracy']:.4f}, quantized "
                     f"{inc['quantized_accuracy']:.4f}; CPU VNNI seen by INC: {inc['cpu_vnni']}")
    lines += ["", "| variant | accuracy | Δ vs fp32 | quantize s | trials | peak RSS MB | size MB | reduce_range "
              "| docs/s b1 | × fp32 | docs/s b32 | × fp32 |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in rows:
        if "from_run" in v:
            v = dict(v, name=f"{v['name']} (tuned in the run of {v['from_run']})")
        if "skipped" in v:
            lines.append(f"| {v['name']} | skipped: {v['skipped'].replace('|', '/')} |" + " |" * 10)
            continue
        quantize = "—" if v.get("quantize_seconds") is None else f"{v['quantize_seconds']:.1f}"
        trials = "—" if v.get("trials") is None else str(v["trials"])
        peak = "—" if not v.get("peak_rss_bytes") else f"{v['peak_rss_bytes'] / 1e6:.0f}"
        reduce_range = "—" if v.get("reduce_range") is None else str(v["reduce_range"])
        lines.append(
            f"| {v['name']} | {v['accuracy']:.4f} | {v['accuracy_delta_vs_fp32']:+.4f} | {quantize} | {trials} | "
            f"{peak} | {v['size_bytes'] / 1e6:.1f} | {reduce_range} | "
            f"{v['docs_per_s_batch1']:.1f} | {v['speedup_batch1_vs_fp32']:.2f} | {v['docs_per_s_batch32']:.1f} | "
            f"{v['speedup_batch32_vs_fp32']:.2f} |")
    path.write_text("\n".join(lines) + "\n")


def write_chart(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [v for v in result["variants"] if "skipped" not in v]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for axis, batch in zip(axes, (1, 32)):
        for v in rows:
            x, y = v[f"docs_per_s_batch{batch}"], v["accuracy"]
            axis.scatter([x], [y], s=50)
            axis.annotate(v["name"], (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        axis.margins(x=0.3, y=0.15)  # room for the labels
        axis.set_xlabel(f"docs/s at batch {batch} (median)")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel(f"accuracy on {result['eval_data']}")
    figure.suptitle(f"{result['fixture']}: accuracy vs throughput ({result['environment']['cpu_model']}, "
                    f"{result['environment']['threads']} threads)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixture", required=True, help="name under $DOCQUANT_FIXTURES, e.g. minilm-sst2")
    parser.add_argument("--fixtures", type=Path, default=paths.fixtures_dir())
    parser.add_argument("--data", type=Path, default=None, help="eval/calibration CSV (default per dataset)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N rows of --data only")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--bench-docs", type=int, default=256, help="docs timed at batch 32")
    parser.add_argument("--bench-docs-batch1", type=int, default=64, help="docs timed at batch 1")
    parser.add_argument("--inc-python", default=str(paths.cache_dir() / "venvs" / "inc" / "bin" / "python"))
    parser.add_argument("--skip-inc", action="store_true")
    parser.add_argument("--inc-time-limit", type=float, default=None,
                        help="seconds after which INC's tuning is stopped and its row reported as not finished "
                             "(the blueprint's config has no limit: timeout 0 only ends tuning at the first success)")
    parser.add_argument("--inc-from", type=Path, default=None,
                        help="reuse the INC row of an earlier peers-<fixture>.json of this fixture instead of "
                             "tuning again (INC takes up to --inc-time-limit); the table names the run it came from")
    parser.add_argument("--docquant-bin", default=None, help="docquant executable; its row is skipped when absent")
    parser.add_argument("--work", type=Path, default=None, help="quantized models (default $DOCQUANT_CACHE/peers/<fixture>)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    fixture = args.fixtures / args.fixture
    manifest = json.loads((fixture / "manifest.json").read_text())
    data = args.data or paths.data_file(EVAL_DATA[manifest["dataset"]["train"]])
    work = args.work or paths.cache_dir() / "peers" / args.fixture
    work.mkdir(parents=True, exist_ok=True)
    fp32 = fixture / "onnx" / "model.onnx"

    variants = [{"name": "fp32", "path": str(fp32), "quantize_seconds": None, "trials": None, "reduce_range": None}]
    if args.inc_from:
        earlier = json.loads(args.inc_from.read_text())
        if earlier["fixture"] != args.fixture:
            parser.error(f"--inc-from {args.inc_from} is for {earlier['fixture']}, not {args.fixture}")
        inc = next(v for v in earlier["variants"] if v["name"].startswith("inc-"))
        inc = {k: v for k, v in inc.items() if not k.startswith(("docs_per_s", "speedup", "accuracy", "size"))}
        inc["from_run"] = earlier["environment"]["date_utc"]
        variants.append(inc)
    elif not args.skip_inc:
        print("INC tuning ...", flush=True)
        variants.append(run_inc(args, fixture, Path(data), work))
    # quantize_dynamic writes scratch files beside its input: give it a copy, not the fixture.
    source = work / "fp32" / "model.onnx"
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(fp32, source)
    for name, options in (("ort-dynamic-default", {}),
                          ("ort-dynamic-perchannel-rr", {"per_channel": True, "reduce_range": True})):
        out = work / name / "model.onnx"
        seconds = ort_quantize(source, out, **options)
        variants.append({"name": name, "path": str(out), "quantize_seconds": seconds, "trials": 1,
                         "reduce_range": bool(options.get("reduce_range", False)), "options": options})
    if args.docquant_bin:
        rows = limited_csv(Path(data), args.limit, work)
        print("docquant ...", flush=True)
        variants.append(run_docquant(args, fixture, rows, work))
        variants.append(run_docquant(args, fixture, rows, work, "docquant-per-tensor", ("--activations", "per_tensor")))

    print("measuring ...", flush=True)
    folder = onnx_eval.SetFitFolder.load(str(fixture / "setfit"))
    texts, labels = onnx_eval.load_csv(str(data), args.limit)
    measured = [v for v in variants if "skipped" not in v]
    measure(measured, folder, texts, labels, args)

    result = {"fixture": args.fixture, "body": manifest["body"], "labels": manifest["labels"],
              "eval_data": Path(data).name, "eval_rows": len(texts), "bench_docs": args.bench_docs,
              "bench_docs_batch1": args.bench_docs_batch1, "environment": environment(args),
              "fixture_fp32_test_accuracy": manifest["fp32_test_accuracy"], "variants": variants}
    args.results.mkdir(parents=True, exist_ok=True)
    stem = args.results / f"peers-{args.fixture}"
    Path(f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, Path(f"{stem}.md"))
    write_chart(result, Path(f"{stem}.png"))
    print(Path(f"{stem}.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
