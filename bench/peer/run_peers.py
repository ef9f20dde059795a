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
from measure import measure  # noqa: E402

# Calibration split per training set: SST-2 has a dev split, TREC only a test split.
EVAL_DATA = {"sst2_train.csv": "sst2_dev.csv", "trec6_train.csv": "trec6_test.csv", "trec50_train.csv": "trec50_test.csv"}
# Held-out rows to score every variant on (docs/quantize.md's held-out sets): SST-2's test split;
# for TREC the train split (the fixtures saw 8 or 2 examples per class of it, the rest unseen).
HELD_OUT = {"sst2_train.csv": "sst2_test.csv", "trec6_train.csv": "trec6_train.csv",
            "trec50_train.csv": "trec50_train.csv"}


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
    return paths.first_rows(data, limit, work / f"{data.stem}-first{limit}.csv") if limit else data


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


def run_openvino(args, fixture: Path, data: Path, work: Path, mode: str) -> list:
    """nncf.quantize or quantize_with_accuracy_control (openvino_quantize.py, its own process, so
    its time and peak RSS are its own), then one row per OpenVINO precision hint."""
    name = "openvino-nncf" if mode == "quantize" else "openvino-nncf-accuracy-control"
    out, report = work / name / "model.xml", work / name / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    command = [args.peers_python, str(Path(__file__).with_name("openvino_quantize.py")), "--mode", mode,
               "--onnx-model", str(fixture / "onnx" / "model.onnx"), "--setfit-folder", str(fixture / "setfit"),
               "--data", str(data), "--output", str(out), "--report", str(report)]
    command += ["--limit", str(args.limit)] if args.limit else []
    code, wall, _ = run_measured(command, work / f"{name}.log")
    if code != 0 or not report.is_file():
        return [{"name": name, "skipped": f"openvino_quantize.py exited {code}; see {work / f'{name}.log'}"}]
    facts = json.loads(report.read_text())
    rows = []
    for precision in args.openvino_precisions:
        rows.append({"name": f"{name} ({precision})", "engine": "openvino", "precision": precision, "path": str(out),
                     "quantize_seconds": wall, "peak_rss_bytes": facts["peak_rss_bytes"], "trials": None,
                     "reduce_range": None, "openvino": facts})
    return rows


def run_ctranslate2(args, fixture: Path, work: Path) -> dict:
    """The body converted by ct2_convert.py (CTranslate2's loader, int8 weights), when
    CTranslate2 has a loader for the architecture."""
    out, report = work / "ctranslate2", work / "ctranslate2.json"
    report.unlink(missing_ok=True)
    command = [args.peers_python, str(Path(__file__).with_name("ct2_convert.py")), "--setfit-folder",
               str(fixture / "setfit"), "--output", str(out), "--report", str(report)]
    code, wall, _ = run_measured(command, work / "ctranslate2.log")
    facts = json.loads(report.read_text()) if report.is_file() else {}
    if code != 0:
        return {"name": "ctranslate2-int8", "skipped": facts.get("error", f"ct2_convert.py exited {code}")}
    return {"name": "ctranslate2-int8", "engine": "ctranslate2", "path": str(out), "quantize_seconds": wall,
            "peak_rss_bytes": facts["peak_rss_bytes"], "trials": None, "reduce_range": None, "ctranslate2": facts}


def size_bytes(variant: dict) -> int:
    path = Path(variant["path"])
    if variant.get("engine") == "openvino":
        return path.stat().st_size + path.with_suffix(".bin").stat().st_size
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return path.stat().st_size


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

    def version(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git("rev-parse", "HEAD"),
        # Only the harness's own files: other parts of the tree change under concurrent work.
        "git_dirty": bool(git("status", "--porcelain", "--", "bench/peer", "tools/fixtures", "tools/build_fixtures.py")),
        "cpu_model": cpu, "cpu_count": os.cpu_count(),
        "cpu_flags": sorted(f for f in flags if f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512bw",
                                                      "avx512_bf16", "amx_int8")),
        "python": platform.python_version(),
        "harness_versions": {n: md.version(n) for n in ("onnxruntime", "onnx", "numpy", "transformers",
                                                         "tokenizers", "scikit-learn")},
        "threads": args.threads, "reps": args.reps, "load_average": os.getloadavg(),
        "peer_versions": {n: version(n) for n in ("openvino", "nncf", "ctranslate2")},
    }


def write_markdown(result: dict, path: Path) -> None:
    env, rows = result["environment"], result["variants"]
    inc = next((v["inc"] for v in rows if "inc" in v), None)
    lines = [f"# Peers on `{result['fixture']}`", "",
             f"- calibration data (every quantizer's): `{result['calibration_data']}` ({result['calibration_rows']} rows); "
             f"accuracy and agreement with fp32 on `{result['eval_data']}` ({result['eval_rows']} rows); throughput "
             f"on its first {result['bench_docs_batch1']} docs at batch 1 (p50 of the calls) and "
             f"{result['bench_docs']} docs at batch 32",
             f"- {env['cpu_model']} ({env['cpu_count']} cores, {', '.join(env['cpu_flags'])}); ONNX Runtime "
             f"{env['harness_versions']['onnxruntime']} intra-op threads {env['threads']}; median of {env['reps']} "
             f"interleaved repetitions; load average {', '.join(f'{x:.1f}' for x in env.get('load_average', ()))} at the end",
             f"- git {env['git_commit'][:12]}{' (dirty)' if env['git_dirty'] else ''}, {env['date_utc']}"]
    peers = {k: v for k, v in env.get("peer_versions", {}).items() if v}
    if peers:
        lines.append("- " + ", ".join(f"{k} {v}" for k, v in peers.items()) + f" ({env['threads']} threads, one stream)")
    if inc:
        lines.append(f"- INC {inc['inc_version']} tuned with onnxruntime {inc['onnxruntime_version']}, onnx "
                     f"{inc['onnx_version']}; INC's own baseline {inc['baseline_accuracy']:.4f}, quantized "
                     f"{inc['quantized_accuracy']:.4f}; CPU VNNI seen by INC: {inc['cpu_vnni']}")
    lines += ["", "| variant | accuracy | agreement with fp32 | quantize s | trials | peak RSS MB | size MB "
              "| b1 p50 ms | docs/s b1 | × fp32 | docs/s b32 | × fp32 |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in rows:
        if "from_run" in v:
            v = dict(v, name=f"{v['name']} (tuned in the run of {v['from_run']})")
        if "skipped" in v:
            lines.append(f"| {v['name']} | skipped: {v['skipped'].replace('|', '/')} |" + " |" * 10)
            continue
        quantize = "—" if v.get("quantize_seconds") is None else f"{v['quantize_seconds']:.1f}"
        trials = "—" if v.get("trials") is None else str(v["trials"])
        peak = "—" if not v.get("peak_rss_bytes") else f"{v['peak_rss_bytes'] / 1e6:.0f}"
        agreement = "—" if v is rows[0] else f"{100 * v['agreement_with_fp32']:.2f} %"
        lines.append(
            f"| {v['name']} | {v['accuracy']:.4f} | {agreement} | {quantize} | {trials} | "
            f"{peak} | {v['size_bytes'] / 1e6:.1f} | {v['batch1_p50_ms']:.2f} | "
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
    parser.add_argument("--data", type=Path, default=None, help="calibration CSV (default per dataset)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N rows of --data only")
    parser.add_argument("--eval-data", type=Path, default=None,
                        help="held-out CSV every variant is scored on (default per dataset: sst2_test, trec*_train)")
    parser.add_argument("--eval-limit", type=int, default=None, help="use the first N rows of --eval-data only")
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
    parser.add_argument("--docquant-variant", action="append", default=[], metavar="NAME=FLAGS",
                        help="one more docquant row, quantized with these extra flags (e.g. "
                             "'docquant-static=--approach static'); repeatable")
    parser.add_argument("--skip-docquant-per-tensor", action="store_true")
    parser.add_argument("--skip-ort-dynamic", action="store_true")
    parser.add_argument("--openvino", action="store_true",
                        help="OpenVINO + NNCF rows: nncf.quantize and quantize_with_accuracy_control (needs the "
                             "peers venv: run this script with its python)")
    parser.add_argument("--openvino-precisions", default=None,
                        help="INFERENCE_PRECISION_HINT values, comma-separated (default f32, and bf16 where the CPU "
                             "has AVX-512 BF16 or AMX)")
    parser.add_argument("--ctranslate2", action="store_true", help="a CTranslate2 int8 row (peers venv)")
    parser.add_argument("--peers-python", default=sys.executable,
                        help="python of the peers venv for the quantizing processes (default: this one)")
    parser.add_argument("--work", type=Path, default=None, help="quantized models (default $DOCQUANT_CACHE/peers/<fixture>)")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    fixture = args.fixtures / args.fixture
    manifest = json.loads((fixture / "manifest.json").read_text())
    data = args.data or paths.data_file(EVAL_DATA[manifest["dataset"]["train"]])
    eval_data = args.eval_data or paths.data_file(HELD_OUT[manifest["dataset"]["train"]])
    if args.openvino or args.ctranslate2:
        try:
            import ctranslate2  # noqa: F401
            import openvino  # noqa: F401
        except ImportError as e:
            parser.error(f"--openvino/--ctranslate2 measure in this process: run with the peers venv's python "
                         f"($DOCQUANT_CACHE/venvs/peers/bin/python; scripts/setup_venvs.sh peers) ({e})")
    if args.openvino_precisions is None:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
        args.openvino_precisions = ["f32"] + (["bf16"] if {"avx512_bf16", "amx_bf16"} & set(flags) else [])
    else:
        args.openvino_precisions = args.openvino_precisions.split(",")
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
    ort_dynamic = (("ort-dynamic-default", {}), ("ort-dynamic-perchannel-rr", {"per_channel": True, "reduce_range": True}))
    for name, options in () if args.skip_ort_dynamic else ort_dynamic:
        out = work / name / "model.onnx"
        seconds = ort_quantize(source, out, **options)
        variants.append({"name": name, "path": str(out), "quantize_seconds": seconds, "trials": 1,
                         "reduce_range": bool(options.get("reduce_range", False)), "options": options})
    if args.docquant_bin:
        rows = limited_csv(Path(data), args.limit, work)
        print("docquant ...", flush=True)
        variants.append(run_docquant(args, fixture, rows, work))
        if not args.skip_docquant_per_tensor:
            variants.append(run_docquant(args, fixture, rows, work, "docquant-per-tensor",
                                         ("--activations", "per_tensor")))
        for spec in args.docquant_variant:
            name, _, flags = spec.partition("=")
            variants.append(run_docquant(args, fixture, rows, work, name, tuple(flags.split())))
    if args.openvino:
        for mode in ("quantize", "accuracy-control"):
            print(f"OpenVINO + NNCF {mode} ...", flush=True)
            variants += run_openvino(args, fixture, Path(data), work, mode)
    if args.ctranslate2:
        print("CTranslate2 ...", flush=True)
        variants.append(run_ctranslate2(args, fixture, work))

    print("measuring ...", flush=True)
    folder = onnx_eval.SetFitFolder.load(str(fixture / "setfit"))
    texts, labels = onnx_eval.load_csv(str(eval_data), args.eval_limit)
    measured = [v for v in variants if "skipped" not in v]
    for v in measured:
        v["size_bytes"] = size_bytes(v)
    measure(measured, folder, texts, labels, args)

    calibration_texts, _ = onnx_eval.load_csv(str(data), args.limit)
    result = {"fixture": args.fixture, "body": manifest["body"], "labels": manifest["labels"],
              "calibration_data": Path(data).name, "calibration_rows": len(calibration_texts),
              "eval_data": Path(eval_data).name, "eval_rows": len(texts), "bench_docs": args.bench_docs,
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
