#!/usr/bin/env python3
"""Seed corpora for docquant's fuzz targets, built at run time from real files.

Real files stay outside the repo (../shared is read-only, the fixtures live in the cache):
this script copies or cuts them into --out/<target>/, next to the small hand-made seeds
kept in tests/fuzz/seeds/<target>/. scripts/fuzz.sh runs it with the setfit venv's python
(it needs the onnx module for the ONNX seeds); a source that is absent is skipped with a
note, a target left with no real seed is an error.

  csv_fuzz               the first 40 lines of every ../shared/data/*.csv
  tokenizer_json_fuzz    every real tokenizer.json, vocabularies cut to 400 entries (merges
                         to those), then NUL and a text: real structure at a fuzzable size
  tokenizer_encode_fuzz  a selector byte and a real text (CSV rows, tests' adversarial texts)
  pickle_fuzz            every real model_head.pkl / labelencoder.pkl (a SetFitHead's among them),
                         tests' regressions, the scikit-learn and SetFitHead heads of the parity
                         tests ($DOCQUANT_GOLDENS)
  onnx_fuzz              small graphs made with onnx in the three SetFit forms, and the real
                         fixtures' graphs with every initializer cut to one element
"""
import argparse
import csv
import io
import json
import os
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
HOME = pathlib.Path.home()
CACHE = pathlib.Path(os.environ.get("DOCQUANT_CACHE", HOME / ".cache" / "docquant"))
FIXTURES = pathlib.Path(os.environ.get("DOCQUANT_FIXTURES", CACHE / "fixtures"))
SHARED = pathlib.Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
GOLDENS = pathlib.Path(os.environ.get("DOCQUANT_GOLDENS", ROOT / "build" / "goldens"))
sys.path.insert(0, str(ROOT / "tools"))
import adversarial_texts  # noqa: E402

FIXTURE_NAMES = ["minilm-sst2", "minilm-trec6", "mpnet-sst2", "minilm-trec6-setfithead", "minilm-trec-tags"]
# The same list, in the same order, as tokenizer_encode_fuzz.cc's defaults.
TOKENIZER_CACHE_NAMES = ["claude-bpe", "xlmr-unigram-en", "metaspace-first", "wordpiece-variants",
                         "roberta-style-bpe"]


def note(msg):
    print("make_seeds: " + msg, file=sys.stderr)


def write(out, name, data):
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(data)


def csv_seeds(out):
    n = 0
    for path in sorted((SHARED / "data").glob("*.csv")):
        lines = path.read_bytes().splitlines(keepends=True)[:40]
        write(out, path.stem + ".csv", b"".join(lines))
        n += 1
    return n


def real_tokenizer_jsons():
    paths = [FIXTURES / f / "setfit" / "tokenizer.json" for f in FIXTURE_NAMES]
    paths.append(SHARED / "heads" / "setfit-sst2-mpnet" / "tokenizer.json")
    paths += [CACHE / "tokenizers" / n / "tokenizer.json" for n in TOKENIZER_CACHE_NAMES]
    return [p for p in paths if p.exists()]


def shrink_tokenizer(j, keep=400):
    """Cuts the vocabulary to `keep` entries plus the special tokens, and BPE merges to
    those whose parts and result survive: a valid tokenizer.json of a few kilobytes."""
    model = j.get("model") or {}
    specials = {t.get("content") for t in j.get("added_tokens") or []}
    for key in ("unk_token",):
        if isinstance(model.get(key), str):
            specials.add(model[key])
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        kept = {tok: i for tok, i in vocab.items() if i < keep or tok in specials}
        model["vocab"] = kept
        merges = model.get("merges")
        if isinstance(merges, list):
            def parts(m):
                return m.split(" ", 1) if isinstance(m, str) else m
            model["merges"] = [m for m in merges
                               if len(parts(m)) == 2 and all(p in kept for p in parts(m))
                               and "".join(parts(m)) in kept][:keep]
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]; unk_id must stay inside
        unk = model.get("unk_id")
        cut = max(keep, (unk or 0) + 1)
        model["vocab"] = vocab[:cut]
    # A Precompiled normalizer's charsmap is ~300 KB of base64, past the target's -max_len:
    # left out here; tokenizer_encode_fuzz runs the real one (xlmr-unigram-en).
    norm = j.get("normalizer") or {}
    if norm.get("type") == "Sequence":
        norm["normalizers"] = [n for n in norm.get("normalizers") or [] if n.get("type") != "Precompiled"]
    elif norm.get("type") == "Precompiled":
        j["normalizer"] = None
    return j


def texts(limit=300):
    found = []
    for path in sorted((SHARED / "data").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.DictReader(f)):
                if i >= limit // 6:
                    break
                found.append(row["text"].encode("utf-8"))
    adversarial = ROOT / "tests" / "tokenizer" / "data" / "adversarial.jsonl"
    if adversarial.exists():
        found += adversarial_texts.read(adversarial, max_repeat=50)
    return found


def tokenizer_json_seeds(out, sample_texts):
    n = 0
    for i, path in enumerate(real_tokenizer_jsons()):
        j = shrink_tokenizer(json.loads(path.read_text(encoding="utf-8")))
        body = json.dumps(j, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        text = sample_texts[i % len(sample_texts)] if sample_texts else b"Hello world"
        name = path.parent.name if path.parent.name != "setfit" else path.parent.parent.name
        write(out, name + ".json", body + b"\0" + text)
        n += 1
    return n


def tokenizer_encode_seeds(out, sample_texts):
    for i, text in enumerate(sample_texts):
        write(out, "text-%04d" % i, bytes([i % 256]) + text)
    return len(sample_texts)


def pickle_seeds(out):
    n = 0
    heads = [SHARED / "heads" / "setfit-sst2-mpnet" / "model_head.pkl"]
    for f in FIXTURE_NAMES:
        heads += sorted((FIXTURES / f / "setfit").glob("*.pkl"))
    heads += sorted((ROOT / "tests" / "pickle" / "regressions").glob("*"))
    for path in heads:
        if path.is_file():
            name = path.name if "shared" not in str(path) else "shared-" + path.name
            if FIXTURES in path.parents:
                name = path.parent.parent.name + "-" + path.name
            write(out, name, path.read_bytes())
            n += 1
    # The heads scikit-learn and setfit wrote for the parity tests (tools/golden_heads.py, made
    # by ctest in the test build): every pickle protocol and joblib compressor, torch's storage
    # forms, under 64 KB.
    if GOLDENS.is_dir():
        for path in sorted(GOLDENS.glob("*/*/*.pkl")):
            if path.stat().st_size < 65536:
                write(out, "golden-%s-%s-%s" % (path.parent.parent.name, path.parent.name, path.name),
                      path.read_bytes())
                n += 1
    else:
        note("no scikit-learn golden heads in %s (run scripts/test.sh first); pickle seeds are the real "
             "heads only" % GOLDENS)
    return n


def onnx_seeds(out):
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        import numpy as np
    except ImportError:
        note("no onnx module in this python: ONNX seeds skipped (use the setfit venv)")
        return 0
    n = 0

    def save(name, model):
        nonlocal n
        write(out, name, model.SerializeToString())
        n += 1

    def body(outputs, nodes_tail, inits_tail, elem=TensorProto.INT64, with_tt=True, opset=14, ir=8):
        inputs = [helper.make_tensor_value_info("input_ids", elem, ["batch", "seq"]),
                  helper.make_tensor_value_info("attention_mask", elem, ["batch", "seq"])]
        if with_tt:
            inputs.append(helper.make_tensor_value_info("token_type_ids", elem, ["batch", "seq"]))
        table = numpy_helper.from_array(np.arange(32, dtype=np.float32).reshape(8, 4) / 32, "embeddings.weight")
        weight = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32) / 4, "dense.weight")
        bias = numpy_helper.from_array(np.zeros(4, dtype=np.float32), "dense.bias")
        nodes = [helper.make_node("Gather", ["embeddings.weight", "input_ids"], ["emb"], name="embed"),
                 helper.make_node("MatMul", ["emb", "dense.weight"], ["mm"], name="dense"),
                 helper.make_node("Add", ["mm", "dense.bias"], ["last_hidden_state"], name="bias")]
        graph = helper.make_graph(nodes + nodes_tail, "fuzz_seed", inputs, outputs,
                                  [table, weight, bias] + inits_tail)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_seeds")
        model.ir_version = ir
        return model

    hidden = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", 4])
    save("form_a_last_hidden_state.onnx", body([hidden], [], []))
    save("form_a_int32_no_token_types.onnx", body([hidden], [], [], elem=TensorProto.INT32, with_tt=False))
    save("form_a_ir10_opset21.onnx", body([hidden], [], [], ir=10, opset=21))
    pooled = [helper.make_node("ReduceMean", ["last_hidden_state"], ["sentence_embedding"], axes=[1], keepdims=0,
                               name="pool")]
    emb = helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 4])
    save("form_c_sentence_embedding.onnx", body([emb], pooled, [], opset=13))
    head_w = numpy_helper.from_array(np.ones((4, 2), dtype=np.float32), "head.weight")
    head = pooled + [helper.make_node("MatMul", ["sentence_embedding", "head.weight"], ["logits"], name="head"),
                     helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1, name="softmax"),
                     helper.make_node("ArgMax", ["probabilities"], ["label"], axis=-1, keepdims=0, name="argmax")]
    probs = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])
    label = helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])
    save("form_b_head_in_graph.onnx", body([label, probs], head, [head_w], opset=13))
    save("form_b_label_only.onnx", body([label], head, [head_w], opset=13))
    ext = body([hidden], [], [])
    w = ext.graph.initializer[1]
    w.ClearField("raw_data")
    w.ClearField("float_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "64")):
        entry = w.external_data.add()
        entry.key, entry.value = k, v
    save("form_a_external_data.onnx", ext)

    # The real graphs, every initializer cut to one element: real node and value structure
    # (hundreds of nodes, real names and attributes) in a few hundred kilobytes.
    # MiniLM only: the MPNet skeletons (~300 KB) slow every execution for little new structure.
    for f in FIXTURE_NAMES[:1]:
        for sub in ("onnx", "onnx-head"):
            path = FIXTURES / f / sub / "model.onnx"
            if not path.exists():
                continue
            model = onnx.load(str(path))
            for init in model.graph.initializer:
                arr = numpy_helper.to_array(init)
                small = numpy_helper.from_array(arr.reshape(-1)[:1].copy(), init.name)
                init.CopyFrom(small)
            save("%s-%s-skeleton.onnx" % (f, sub), model)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--targets", default="csv_fuzz,tokenizer_json_fuzz,tokenizer_encode_fuzz,pickle_fuzz,onnx_fuzz")
    args = ap.parse_args()
    sample = texts()
    makers = {"csv_fuzz": lambda o: csv_seeds(o),
              "tokenizer_json_fuzz": lambda o: tokenizer_json_seeds(o, sample),
              "tokenizer_encode_fuzz": lambda o: tokenizer_encode_seeds(o, sample),
              "pickle_fuzz": lambda o: pickle_seeds(o),
              "onnx_fuzz": lambda o: onnx_seeds(o)}
    failed = False
    for target in args.targets.split(","):
        out = args.out / target
        if out.exists():
            shutil.rmtree(out)
        count = makers[target](out)
        print("%s: %d real seeds in %s" % (target, count, out))
        if count == 0:
            note("%s: no real seed found (DOCQUANT_SHARED=%s, DOCQUANT_FIXTURES=%s)" % (target, SHARED, FIXTURES))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
