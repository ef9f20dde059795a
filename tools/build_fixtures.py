#!/usr/bin/env python3
"""Builds the real SetFit fixtures that docquant's tests and benchmarks run on.

Each fixture is $DOCQUANT_FIXTURES/<name>/ with setfit/ (the SetFit folder), onnx/model.onnx
(Optimum export, last_hidden_state), onnx-head/model.onnx (setfit's export_onnx, head in the
graph) and manifest.json. See docs/fixtures.md.

Idempotent: a fixture whose manifest exists and whose files all match their sha256 is left
alone. A build happens in a temporary folder beside the target, renamed into place at the end.

Run with the setfit venv:  $DOCQUANT_CACHE/venvs/setfit/bin/python tools/build_fixtures.py
"""
import argparse
import os
import sys

# Nothing may come from the Hugging Face hub; set before transformers is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import manifest, paths  # noqa: E402
from fixtures.specs import SPECS, FixtureSpec  # noqa: E402

HEAD_EXPORT_OPSET = 12  # setfit 0.6.0's default; it raises it to what skl2onnx needs


def build(spec: FixtureSpec, target: Path, threads: int) -> None:
    import torch

    from fixtures import bodies, export, onnx_eval, train

    torch.set_num_threads(threads)
    started, cpu_started = time.monotonic(), time.process_time()
    body_dir = bodies.resolve(spec.body)
    setfit_dir, onnx_path, head_path = target / "setfit", target / "onnx" / "model.onnx", target / "onnx-head" / "model.onnx"

    trained = train.train(spec, body_dir, setfit_dir)
    export.export_body(setfit_dir, onnx_path.parent)
    head_export = {"ok": True}
    if spec.head != "logistic" or spec.multi_label:
        # form (b) is setfit's scikit-learn export (skl2onnx): not made for these heads
        head_export = {"ok": False, "error": "not exported: form (b) is made for single-label scikit-learn heads only"}
    else:
        try:
            export.export_with_head(trained["model"], head_path, HEAD_EXPORT_OPSET)
        except Exception as error:  # recorded in the manifest, the fixture is still usable in form (a)
            head_export = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            shutil.rmtree(head_path.parent, ignore_errors=True)

    folder = onnx_eval.SetFitFolder.load(str(setfit_dir))
    test_csv = target / "data" / "test.csv" if spec.multi_label else paths.data_file(spec.test_csv)
    texts, labels = onnx_eval.load_csv(str(test_csv))
    accuracy = {"torch_setfit_predict": trained["fp32_test_accuracy_torch"],
                "onnx_body_ort": onnx_eval.body_accuracy(onnx_eval.make_session(str(onnx_path), threads),
                                                         folder, texts, labels)}
    exports = {"onnx/model.onnx": dict(export.describe(onnx_path), exporter="optimum ORTModelForFeatureExtraction")}
    if head_export["ok"]:
        accuracy["onnx_head_ort"] = onnx_eval.head_graph_accuracy(
            onnx_eval.make_session(str(head_path), threads), folder, texts, labels)
        exports["onnx-head/model.onnx"] = dict(export.describe(head_path), exporter="setfit.exporters.onnx.export_onnx",
                                               requested_opset=HEAD_EXPORT_OPSET)
    else:
        exports["onnx-head/model.onnx"] = dict(head_export, exporter="setfit.exporters.onnx.export_onnx")

    facts = _facts(spec, trained, len(texts), accuracy, exports, threads)
    facts["build_seconds"] = round(time.monotonic() - started, 1)
    facts["build_cpu_seconds"] = round(time.process_time() - cpu_started, 1)
    manifest.write(target, facts)


def _facts(spec: FixtureSpec, trained: dict, test_rows: int, accuracy: dict, exports: dict, threads: int) -> dict:
    """Everything manifest.json says about a build, but the timings and file hashes."""
    from fixtures import bodies

    head = {"setfithead": "SetFitHead"}.get(spec.head, "LogisticRegression")
    if spec.class_weight:
        head = f"{head}(class_weight={spec.class_weight!r})"
    if spec.multi_target:
        head = f"{spec.multi_target} {head}"
    data = {}
    if spec.multi_label:
        data["test.csv"] = f"{spec.test_csv} with {spec.multi_label} label sets (tools/fixtures/multilabel.py)"
    if spec.calibration_rows:
        data["calibration.csv"] = (f"{spec.calibration_rows} rows of {spec.train_csv} not trained on"
                                   + (f", with {spec.multi_label} label sets" if spec.multi_label else ""))
    return {
        "name": spec.name,
        "body": dict(bodies.provenance(spec.body), key=spec.body, weights_in_setfit_folder=True),
        "dataset": {"train": spec.train_csv, "test": spec.test_csv,
                    "train_sha256": manifest.sha256(paths.data_file(spec.train_csv)),
                    "test_sha256": manifest.sha256(paths.data_file(spec.test_csv)),
                    "test_rows": test_rows, "derived": data},
        "labels": trained["labels"],
        "string_labels": spec.string_labels,
        "training": {"train_examples": trained["train_examples"], "samples_per_class": spec.samples_per_class,
                     "num_iterations": spec.num_iterations, "num_epochs": spec.num_epochs,
                     "batch_size": spec.batch_size, "seed": spec.seed,
                     "loss": "CosineSimilarityLoss", "head": head, "head_epochs": spec.head_epochs},
        "seed": spec.seed,
        "fp32_test_accuracy": accuracy,
        "exports": exports,
        "versions": dict(manifest.library_versions(), python=sys.version.split()[0]),
        "torch_threads": threads,
    }


def build_into_place(spec: FixtureSpec, root: Path, threads: int) -> None:
    # Work one level down (root/.building/<name>-<pid>) so that readers scanning
    # root/*/onnx/model.onnx never see a half-built fixture; same filesystem, so rename is atomic.
    final = root / spec.name
    tmp = root / ".building" / f"{spec.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        build(spec, tmp, threads)
        old = root / ".building" / f"old-{spec.name}-{os.getpid()}"
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(SPECS), help="build only this fixture (repeatable)")
    parser.add_argument("--check", action="store_true", help="verify manifests and sha256s, build nothing")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads (default 2)")
    parser.add_argument("--fixtures", type=Path, default=paths.fixtures_dir(), help="default $DOCQUANT_FIXTURES")
    args = parser.parse_args()
    # Debian's python3-torch calls libblas.so.3 (OpenBLAS when libopenblas0-pthread is installed).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    names = args.only or [n for n in SPECS if SPECS[n].body == "all-MiniLM-L6-v2"]
    args.fixtures.mkdir(parents=True, exist_ok=True)
    status = 0
    for name in names:
        target = args.fixtures / name
        found = manifest.problems(target)
        if args.check:
            print(f"{name}: {'ok' if not found else 'BAD'}")
            for problem in found:
                print(f"  {problem}")
            status |= bool(found)
            continue
        if not found and not args.force:
            print(f"{name}: up to date ({target})")
            continue
        print(f"{name}: building into {target}", flush=True)
        started = time.monotonic()
        build_into_place(SPECS[name], args.fixtures, args.threads)
        print(f"{name}: built in {time.monotonic() - started:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
