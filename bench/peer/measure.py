"""What the peer harness measures for every variant, in one process, on the same tokenized texts.

- accuracy on the eval CSV and agreement with the first variant (fp32 on ONNX Runtime): the
  share of rows whose label equals fp32's. Texts go in chunks of 100 padded per chunk (INC's
  eval function's batching), tokenized once and fed to every engine alike;
- batch 1: each of the first `bench_docs_batch1` texts alone, every call timed (model, pooling,
  head); per round the p50 in ms and the docs/s of the whole pass;
- batch 32: the first `bench_docs` texts in batches of 32 in input order, docs/s per round.
Rounds are interleaved across variants (load from elsewhere on the machine hits each alike);
the figures are medians over rounds, every sample kept in the JSON.
"""
import statistics
import time

import numpy as np

from fixtures import onnx_eval

from engines import engine_of

TOKEN_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def tokenized(folder, texts, size):
    return [folder.tokenize(texts[i:i + size], TOKEN_INPUTS) for i in range(0, len(texts), size)]


def predict(runner, folder, feed):
    hidden = runner.hidden({name: feed[name] for name in runner.input_names})
    return folder.head.predict(onnx_eval.mean_pool(hidden, feed["attention_mask"], folder.normalize))


def measure(variants, folder, texts, labels, args) -> None:
    runners = {v["name"]: engine_of(v).open(args.threads) for v in variants}
    expected = folder.encode_labels(labels)
    chunks = tokenized(folder, texts, onnx_eval.CHUNK)
    for v in variants:
        runner = runners[v["name"]]
        v["predictions"] = np.concatenate([predict(runner, folder, feed) for feed in chunks])
        v["accuracy"] = float(np.mean(v["predictions"] == expected))
    reference = variants[0]["predictions"]
    for v in variants:
        v["agreement_with_fp32"] = float(np.mean(v["predictions"] == reference))
        v["label_changes_vs_fp32"] = int(np.sum(v["predictions"] != reference))
        del v["predictions"]

    bench_texts = texts[:args.bench_docs]
    settings = {1: bench_texts[:args.bench_docs_batch1], 32: bench_texts}
    for batch, subset in settings.items():
        feeds = tokenized(folder, subset, batch)
        for name, runner in runners.items():  # warm-up (OpenVINO compiles per new shape)
            for feed in feeds[:2]:
                predict(runner, folder, feed)
        rates = {n: [] for n in runners}
        p50s = {n: [] for n in runners}
        for _ in range(args.reps):
            for name, runner in runners.items():
                calls = []
                for feed in feeds:
                    started = time.perf_counter()
                    predict(runner, folder, feed)
                    calls.append(time.perf_counter() - started)
                rates[name].append(len(subset) / sum(calls))
                p50s[name].append(1e3 * statistics.median(calls))
        for v in variants:
            v[f"docs_per_s_batch{batch}"] = statistics.median(rates[v["name"]])
            v[f"docs_per_s_batch{batch}_samples"] = rates[v["name"]]
            if batch == 1:
                v["batch1_p50_ms"] = statistics.median(p50s[v["name"]])
                v["batch1_p50_ms_samples"] = p50s[v["name"]]
    base = variants[0]
    for v in variants:
        v["accuracy_delta_vs_fp32"] = v["accuracy"] - base["accuracy"]
        v["size_ratio_vs_fp32"] = v["size_bytes"] / base["size_bytes"]
        for batch in settings:
            key = f"docs_per_s_batch{batch}"
            v[f"speedup_batch{batch}_vs_fp32"] = v[key] / base[key]
