#!/usr/bin/env python3
"""The original pipeline's Python inference path, as a yardstick for docquant.

Hugging Face `tokenizers` on the folder's tokenizer.json, ONNX Runtime's Python API on
the ONNX body, sentence-transformers' pooling (+ Normalize when modules.json lists it)
and the scikit-learn head unpickled by joblib -- what SetFit's `predict` does with an
ONNX body. Run it with a venv that has all four (the `setfit` venv does).

Batching (--batching):
  sorted       (default) docquant's (src/runtime/batching.h): texts tokenized without
               padding, ordered by token count (stable sort), cut into batches of
               --batch_size, each padded to its own longest text -- the best case for this
               path. Dynamic INT8 scales are computed per batch, so only the same batching
               gives the same int8 outputs (tests/e2e/classify_parity.sh relies on it).
  input_order  what the usual SetFit/Optimum ONNX inference code does: consecutive batches
               of --batch_size texts in input order, each tokenized on its own with
               truncation and padded to its own longest text (`tokenizer(batch,
               padding=True, truncation=True)`).
  max_length   as input_order, but every batch padded to max_seq_length
               (`padding="max_length"`).

Modes:
  predict  writes the CSV `docquant classify` writes: header `label,proba_<class>...`,
           probabilities in their shortest round-trip form, rows in input order.
  bench    batch-1 latency per text (tokenize + model + pooling + head) p50/p95/p99 and
           throughput in texts/s at --batch_size (median of repetitions); --json FILE.
           --batching may list several (e.g. sorted,input_order): each repetition then
           times one pass per batching in turn; batch-1 latency does not depend on it.

Examples:
  python tools/python_path.py predict --model_folder FIXTURE/setfit --onnx_model FIXTURE/onnx/model.onnx \\
      --input ../shared/data/sst2_test.csv --output preds.csv --threads 2
  python tools/python_path.py bench --model_folder OUT --data ../shared/data/sst2_test.csv --threads 2
"""
import argparse
import csv
import json
import os
import statistics
import sys
import time

import joblib
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

BATCHINGS = ("sorted", "input_order", "max_length")


def pin_threads(threads):
    """Pins every thread pool the path uses; call before the first tokenization."""
    if threads > 0:
        # tokenizers' encode_batch runs on rayon's global pool, built at its first use.
        os.environ["RAYON_RS_NUM_CPUS"] = str(threads)
        from threadpoolctl import threadpool_limits
        return threadpool_limits(limits=threads)
    return None


def _json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class PythonPath:
    """A SetFit folder (+ an ONNX body) loaded the way the original pipeline loads it."""

    def __init__(self, folder, onnx_model=None, threads=0):
        self.folder = folder
        modules = _json(os.path.join(folder, "modules.json"))
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = _json(os.path.join(folder, pooling_dir, "config.json"))
        if pooling.get("pooling_mode_mean_tokens"):
            self.pooling = "mean"
        elif pooling.get("pooling_mode_cls_token"):
            self.pooling = "cls"
        else:
            raise SystemExit(f"{folder}: this path implements mean and CLS pooling only")
        self.normalize = "Normalize" in types
        st_config = _json(os.path.join(folder, "sentence_bert_config.json"))
        self.lower = bool(st_config.get("do_lower_case"))
        self.max_length = int(st_config["max_seq_length"])

        self.tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=st_config["max_seq_length"])
        special = _json(os.path.join(folder, "special_tokens_map.json")).get("pad_token", "[PAD]")
        special = special["content"] if isinstance(special, dict) else special
        self.pad_id = self.tokenizer.token_to_id(special)

        self.head = joblib.load(os.path.join(folder, "model_head.pkl"))
        # SetFit's multi-target heads fitted on label indicators: a set of labels per text.
        binarizer = getattr(self.head, "label_binarizer_", None)
        self.multi_label = (type(self.head).__name__ in ("MultiOutputClassifier", "ClassifierChain")
                            or getattr(binarizer, "y_type_", "").startswith("multilabel"))
        self.classes = self._class_names()
        # run()'s columns: the probabilities, or for a multi-label head each label's 0/1
        # prediction followed by its probability.
        self.columns = len(self.classes) * (2 if self.multi_label else 1)

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        model = onnx_model or os.path.join(folder, "model.onnx")
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if "last_hidden_state" not in outputs:
            raise SystemExit(f"{model}: no last_hidden_state output; this path runs ONNX bodies only")

    def _class_names(self):
        """One name per predict_proba column: the label encoder's (the original pipeline's
        string labels), else config_setfit.json's labels, else the head's classes_."""
        if type(self.head).__name__ in ("MultiOutputClassifier", "ClassifierChain"):
            classes = list(range(len(self.head.estimators_)))  # one column per label
        else:
            classes = list(self.head.classes_)
        encoder_path = os.path.join(self.folder, "labelencoder.pkl")
        config_path = os.path.join(self.folder, "config_setfit.json")
        if isinstance(classes[0], str):
            return classes
        if os.path.exists(encoder_path):
            return [str(c) for c in joblib.load(encoder_path).inverse_transform(classes)]
        labels = _json(config_path).get("labels") if os.path.exists(config_path) else None
        if labels:
            return [str(labels[int(c)]) for c in classes]
        return [str(c) for c in classes]

    def prepare(self, text):
        # sentence-transformers strips each text (and lower-cases it when configured).
        return text.strip().lower() if self.lower else text.strip()

    def encode(self, texts):
        return self.tokenizer.encode_batch([self.prepare(t) for t in texts])

    def run(self, encodings, width=None):
        """Probabilities (rows × classes, float64) for encodings forming ONE batch, padded to
        width tokens (default: the batch's longest)."""
        width = width or max(len(e.ids) for e in encodings)
        n = len(encodings)
        ids = np.full((n, width), self.pad_id, dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.int64)
        types = np.zeros((n, width), dtype=np.int64)
        for k, e in enumerate(encodings):
            ids[k, :len(e.ids)] = e.ids
            mask[k, :len(e.ids)] = e.attention_mask
            types[k, :len(e.ids)] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(["last_hidden_state"], {n_: feed[n_] for n_ in self.input_names})[0]
        if self.pooling == "mean":
            m = mask[:, :, None].astype(np.float32)
            emb = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        else:
            emb = hidden[:, 0, :]
        if self.normalize:
            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        proba = self.head.predict_proba(emb)
        if not self.multi_label:
            return proba
        if isinstance(proba, list):  # MultiOutputClassifier: (n, 2) per label; keep p(1)
            proba = np.stack(proba, axis=1)[:, :, 1]
        return np.hstack([np.asarray(self.head.predict(emb), dtype=np.float64), proba])

    def predict(self, texts, batch_size=32, sort_by_length=True, chunk_size=0, batching=None):
        """Class index and probabilities per text, in input order, batched as docquant batches
        (`docquant classify` sorts and batches within chunks of chunk_size texts; 0: one chunk).
        batching "input_order" / "max_length" (see the module's doc) overrides sort_by_length
        and chunk_size; "sorted" is sort_by_length=True."""
        if batching in ("input_order", "max_length"):
            width = self.max_length if batching == "max_length" else None
            proba = np.zeros((len(texts), self.columns), dtype=np.float64)
            for start in range(0, len(texts), batch_size):
                proba[start:start + batch_size] = self.run(self.encode(texts[start:start + batch_size]), width)
            return proba.argmax(axis=1), proba
        if batching not in (None, "sorted"):
            raise ValueError(f"unknown batching {batching!r}")
        if batching == "sorted":
            sort_by_length = True
        if chunk_size and len(texts) > chunk_size:
            parts = [self.predict(texts[s:s + chunk_size], batch_size, sort_by_length)
                     for s in range(0, len(texts), chunk_size)]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        encodings = self.encode(texts)
        order = list(range(len(texts)))
        if sort_by_length:
            order.sort(key=lambda i: len(encodings[i].ids))  # stable, as docquant's
        proba = np.zeros((len(texts), self.columns), dtype=np.float64)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            proba[rows] = self.run([encodings[i] for i in rows])
        return proba.argmax(axis=1), proba

    def predict_one(self, text):
        """One text end to end: what a batch-1 caller pays."""
        proba = self.run([self.tokenizer.encode(self.prepare(text))])
        return int(proba[0].argmax()), proba[0]


def read_texts(path, text_column="text"):
    """Texts of a .csv (one column) or .txt (one per line) file, or stdin for '-'."""
    if path == "-":
        return [line.rstrip("\r\n") for line in sys.stdin]
    if path.endswith(".txt"):
        with open(path, encoding="utf-8", newline="") as f:
            return [line.rstrip("\r\n") for line in f]
    with open(path, newline="", encoding="utf-8") as f:
        return [row[text_column] for row in csv.DictReader(f)]


def write_predictions(path, classes, labels, proba, multi_label=False):
    """The CSV `docquant classify` writes; for a multi-label head proba holds each label's 0/1
    prediction then its probability (PythonPath.run)."""
    out = sys.stdout if path == "-" else open(path, "w", newline="", encoding="utf-8")
    writer = csv.writer(out, lineterminator="\n")
    n = len(classes)
    if multi_label:
        writer.writerow([f"label_{c}" for c in classes] + [f"proba_{c}" for c in classes])
        for row in proba:
            writer.writerow([str(int(v)) for v in row[:n]] + [repr(float(p)) for p in row[n:]])
    else:
        writer.writerow(["label"] + [f"proba_{c}" for c in classes])
        for label, row in zip(labels, proba):
            writer.writerow([classes[label]] + [repr(float(p)) for p in row])
    if out is not sys.stdout:
        out.close()


def percentile(samples, q):
    """Nearest-rank percentile (the sample at ceil(q/100 * n)), as docquant bench reports."""
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, int(np.ceil(q / 100 * len(s))) - 1))]


def bench(path, texts, batch_size, warmup, repetitions, batchings=("sorted",)):
    """Batch-1 latency (ms per text) and throughput (texts/s) at batch_size over texts, one
    pass per batching in each repetition. The top-level throughput is batchings[0]'s."""
    for _ in range(warmup):
        for b in batchings:
            path.predict(texts, batch_size, batching=b)
        for t in texts[:8]:
            path.predict_one(t)
    latencies, throughputs = [], {b: [] for b in batchings}
    for _ in range(repetitions):
        for b in batchings:
            start = time.perf_counter()
            path.predict(texts, batch_size, batching=b)
            throughputs[b].append(len(texts) / (time.perf_counter() - start))
        for t in texts:
            t0 = time.perf_counter()
            path.predict_one(t)
            latencies.append((time.perf_counter() - t0) * 1e3)
    return {
        "rows": len(texts),
        "batch_size": batch_size,
        "repetitions": repetitions,
        "batching": batchings[0],
        "throughput_texts_per_s": statistics.median(throughputs[batchings[0]]),
        "throughput_samples": throughputs[batchings[0]],
        "batchings": {b: {"throughput_texts_per_s": statistics.median(v), "throughput_samples": v}
                      for b, v in throughputs.items()},
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                       "p99": percentile(latencies, 99), "samples": len(latencies)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["predict", "bench"])
    ap.add_argument("--model_folder", required=True)
    ap.add_argument("--onnx_model", help="ONNX body to use instead of MODEL_FOLDER/model.onnx")
    ap.add_argument("--input", help="predict: texts (.csv, .txt or -)")
    ap.add_argument("--output", default="-", help="predict: CSV to write (default stdout)")
    ap.add_argument("--data", help="bench: texts (.csv or .txt)")
    ap.add_argument("--text_column", default="text")
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--batching", default="sorted",
                    help="sorted (default), input_order or max_length (see above); bench: a comma-separated list")
    ap.add_argument("--chunk_size", type=int, default=4096,
                    help="predict: texts sorted and batched together (docquant classify's default)")
    ap.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: one per core)")
    ap.add_argument("--max_rows", type=int, default=512, help="bench: the first N texts")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--json", help="bench: also write the numbers to this file")
    args = ap.parse_args()
    batchings = args.batching.split(",")
    unknown = [b for b in batchings if b not in BATCHINGS]
    if unknown or len(set(batchings)) != len(batchings):
        ap.error(f"--batching: {args.batching!r}; expected a list of distinct {', '.join(BATCHINGS)}")
    if args.mode == "predict" and len(batchings) != 1:
        ap.error("predict takes one --batching")

    limits = pin_threads(args.threads)  # noqa: F841 -- kept alive for the whole run
    path = PythonPath(args.model_folder, args.onnx_model, args.threads)
    if args.mode == "predict":
        if not args.input:
            ap.error("predict needs --input")
        texts = read_texts(args.input, args.text_column)
        labels, proba = path.predict(texts, args.batch_size, chunk_size=args.chunk_size, batching=batchings[0])
        write_predictions(args.output, path.classes, labels, proba, path.multi_label)
        return 0
    if not args.data:
        ap.error("bench needs --data")
    texts = read_texts(args.data, args.text_column)[:args.max_rows]
    result = bench(path, texts, args.batch_size, args.warmup, args.repetitions, batchings)
    result.update({"model": args.onnx_model or os.path.join(args.model_folder, "model.onnx"),
                   "threads": args.threads, "onnxruntime_version": ort.__version__})
    lat = result["latency_ms"]
    print(f"python path  batch 1: p50 {lat['p50']:.2f} ms  p95 {lat['p95']:.2f} ms  p99 {lat['p99']:.2f} ms   "
          f"batch {args.batch_size}: " + ", ".join(
              f"{v['throughput_texts_per_s']:.1f} texts/s ({b})" for b, v in result["batchings"].items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
