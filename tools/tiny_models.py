#!/usr/bin/env python3
"""Tiny random-weight SetFit models of every architecture docs/models.md covers, each exported
every way SetFit users export them: the coverage matrix's inputs (ctest `models.*`).

For each architecture: a transformers model built from its config class (2 layers, hidden 64,
4 heads, seed 0), wrapped as a sentence-transformers folder with a real tokenizer (from
tools/tokenizer_sources.py or the fixtures' data, vocab_size set to match), Pooling (+ Normalize)
and a scikit-learn LogisticRegression head fitted on its embeddings of real SST-2 rows. Then:

  optimum/model.onnx   Optimum's ORTModelForFeatureExtraction export, default opset
  torch14/model.onnx   torch.onnx.export of the transformer, opset 14 (last_hidden_state)
  torch17/model.onnx   the same at opset 17 (LayerNormalization as one op)
  setfit/model.onnx    setfit.exporters.onnx.export_onnx: pooling + head in the graph
  ortopt/model.onnx    the Optimum export through onnxruntime.transformers.optimizer (bert)

A cell whose exporter fails writes `<exporter>/FAILED` with the exception instead; the test
checks that the failure is the one docs/models.md states. calib.csv holds 64 real SST-2 texts
labelled with the fp32 head's own predictions (synthetic labels); texts.csv 64 other real texts.

  python tools/tiny_models.py --out DIR [--only ARCH ...]     # setfit venv
"""
import argparse
import csv
import json
import os
import pathlib
import shutil
import sys
import time
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
CACHE = pathlib.Path(os.environ.get("DOCQUANT_CACHE", pathlib.Path.home() / ".cache" / "docquant"))
EXPORTERS = ("optimum", "torch14", "torch17", "setfit", "ortopt")
HIDDEN, HEADS, LAYERS, FFN, MAX_SEQ = 64, 4, 2, 128, 128
# transformers' default initializer_range (0.02) leaves a 64-wide layer's output ~0.16 of the
# residual it is added to: the layers would barely move the embeddings and an int8 error in them
# could not fail a cosine bound. At 0.125 a projection's output is about as large as its input
# (0.125 * sqrt(64) = 1), as in trained models, and attention scores spread (Q·K/sqrt(d) ~ 1).
INIT_RANGE = 0.125

# arch -> (transformers config class, model class, tokenizer source, pooling, extra config)
ARCHS = {
    "bert-mean": ("BertConfig", "BertModel", "minilm", "mean", {}),
    "bert-cls": ("BertConfig", "BertModel", "minilm", "cls", {}),
    "mpnet": ("MPNetConfig", "MPNetModel", "mpnet", "mean", {}),
    "xlmr": ("XLMRobertaConfig", "XLMRobertaModel", "xlmr", "mean", {}),
    "roberta": ("RobertaConfig", "RobertaModel", "mpnet", "mean", {}),
    "distilbert": ("DistilBertConfig", "DistilBertModel", "minilm", "mean", {}),
    "deberta-v2": ("DebertaV2Config", "DebertaV2Model", "xlmr", "mean",
                   {"relative_attention": True, "position_buckets": 32, "max_relative_positions": -1,
                    "pos_att_type": ["p2c", "c2p"], "position_biased_input": False, "type_vocab_size": 0,
                    "norm_rel_ebd": "layer_norm", "share_att_key": True}),
}


def tokenizer_folder(source, dest):
    """Writes tokenizer files for `source` into dest; returns (vocab size, pad id, special tokens)."""
    from tokenizers import Tokenizer
    dest.mkdir(parents=True, exist_ok=True)
    if source == "minilm":
        sys.path.insert(0, str(ROOT / "tools"))
        import tokenizer_sources
        src = tokenizer_sources.fetch("minilm")
        for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(src / name, dest / name)
        special = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
                   "mask_token": "[MASK]"}
    elif source == "mpnet":
        src = SHARED / "heads" / "setfit-sst2-mpnet"
        for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(src / name, dest / name)
        special = {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                   "pad_token": "<pad>", "unk_token": "[UNK]", "mask_token": "<mask>"}
    elif source == "xlmr":
        # tools/tokenizer_sources.py builds it with a newer `tokenizers` (the tokenizers venv);
        # this venv's 0.13.3 reads the same pipeline in its older spelling.
        path = CACHE / "tokenizers" / "xlmr-unigram-en" / "tokenizer.json"
        if not path.exists():
            raise SystemExit(f"{path} missing: run the tokenizers venv's python tools/tokenizer_sources.py xlmr-unigram-en")
        j = json.loads(path.read_text(encoding="utf-8"))
        for part in (j["pre_tokenizer"], j.get("decoder") or {}):
            if part.get("type") == "Metaspace":
                scheme = part.pop("prepend_scheme", "always")
                part.pop("split", None)
                part["add_prefix_space"] = scheme != "never"
        j["model"].pop("byte_fallback", None)
        (dest / "tokenizer.json").write_text(json.dumps(j, ensure_ascii=False), encoding="utf-8")
        special = {"bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
                   "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>"}
        (dest / "special_tokens_map.json").write_text(json.dumps(special))
        (dest / "tokenizer_config.json").write_text(json.dumps(dict(special, model_max_length=512)))
    else:
        raise SystemExit("unknown tokenizer source " + source)
    tok = Tokenizer.from_file(str(dest / "tokenizer.json"))
    return tok.get_vocab_size(), tok.token_to_id(special["pad_token"]), special


def read_rows(name, start, count):
    with open(SHARED / "data" / name, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows[start:start + count]


def build_arch(arch, out):
    import joblib
    import numpy as np
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer, models
    from sklearn.linear_model import LogisticRegression
    from transformers import PreTrainedTokenizerFast

    config_name, model_name, tok_source, pooling, extra = ARCHS[arch]
    folder = out / arch / "st"
    if (out / arch).exists():
        shutil.rmtree(out / arch)
    tok_dir = out / arch / "tok"
    vocab, pad_id, special = tokenizer_folder(tok_source, tok_dir)
    torch.manual_seed(0)
    np.random.seed(0)
    common = dict(vocab_size=vocab, pad_token_id=pad_id, max_position_embeddings=MAX_SEQ + 2,
                  initializer_range=INIT_RANGE)
    if config_name == "DistilBertConfig":
        cfg = transformers.DistilBertConfig(dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=FFN, **common)
    else:
        cfg = getattr(transformers, config_name)(hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                                                 num_attention_heads=HEADS, intermediate_size=FFN,
                                                 **dict(common, **extra))
    model = getattr(transformers, model_name)(cfg).eval()
    names = ["input_ids", "attention_mask"]
    if model_name not in ("DistilBertModel", "MPNetModel") and cfg.to_dict().get("type_vocab_size", 1) > 0:
        names.append("token_type_ids")
    hf_tok = PreTrainedTokenizerFast(tokenizer_file=str(tok_dir / "tokenizer.json"), model_max_length=MAX_SEQ,
                                     model_input_names=names, **special)
    raw = out / arch / "hf"
    model.save_pretrained(raw)
    hf_tok.save_pretrained(raw)
    word = models.Transformer(str(raw), max_seq_length=MAX_SEQ)
    pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode=pooling)
    body = SentenceTransformer(modules=[word, pool, models.Normalize()], device="cpu")
    body.save(str(folder))
    shutil.rmtree(raw)
    shutil.rmtree(tok_dir)

    # The head: LogisticRegression on the body's embeddings of real rows and their real labels;
    # the calibration CSV is labelled with its own fp32 predictions.
    train = read_rows("sst2_train.csv", 0, 256)
    emb = body.encode([r["text"] for r in train], batch_size=32)
    head = LogisticRegression(max_iter=1000, C=10.0, random_state=0).fit(emb, [int(r["label"]) for r in train])
    joblib.dump(head, folder / "model_head.pkl")
    (folder / "config_setfit.json").write_text(json.dumps({"normalize_embeddings": False, "labels": ["0", "1"]}))
    calib = read_rows("sst2_dev.csv", 0, 64)
    pred = head.predict(body.encode([r["text"] for r in calib], batch_size=32))
    with open(out / arch / "calib.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows([r["text"], int(p)] for r, p in zip(calib, pred))
    with open(out / arch / "texts.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows([r["text"], r["label"]] for r in read_rows("sst2_test.csv", 0, 64))

    facts = {"arch": arch, "config": config_name, "tokenizer": tok_source, "vocab_size": vocab, "pad_id": pad_id,
             "pooling": pooling, "hidden": HIDDEN, "layers": LAYERS, "heads": HEADS, "exports": {}}
    for exporter in EXPORTERS:
        dest = out / arch / exporter
        dest.mkdir(parents=True)
        start = time.time()
        try:
            export(exporter, folder, model, hf_tok, body, head, dest, cfg)
            facts["exports"][exporter] = {"ok": True, "seconds": round(time.time() - start, 2)}
        except Exception as error:  # the cell records the exporter's own failure
            (dest / "FAILED").write_text(f"{type(error).__name__}: {error}\n")
            facts["exports"][exporter] = {"ok": False, "error": f"{type(error).__name__}: {str(error)[:300]}"}
            traceback.print_exc(limit=3)
    (out / arch / "facts.json").write_text(json.dumps(facts, indent=1) + "\n")
    return facts


def export(exporter, folder, model, hf_tok, body, head, dest, cfg):
    import torch
    if exporter == "optimum":
        from optimum.exporters.onnx import main_export
        main_export(str(folder), dest, task="feature-extraction", do_validation=False)
        for extra in dest.iterdir():
            if extra.name != "model.onnx":
                shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
    elif exporter in ("torch14", "torch17"):
        names = list(hf_tok.model_input_names)
        sample = hf_tok(["a tiny test", "and a longer second sentence"], padding=True, return_tensors="pt")
        args = tuple(sample[n] for n in names)
        axes = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
        axes["last_hidden_state"] = {0: "batch_size", 1: "sequence_length"}

        class Body(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, *xs):
                return self.m(**dict(zip(names, xs)))[0]

        with torch.no_grad():
            torch.onnx.export(Body(model), args, str(dest / "model.onnx"), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=int(exporter[5:]), do_constant_folding=True)
    elif exporter == "setfit":
        from setfit.exporters.onnx import export_onnx
        export_onnx(body, head, opset=12, output_path=str(dest / "model.onnx"))
    elif exporter == "ortopt":
        from onnxruntime.transformers.optimizer import optimize_model
        src = dest.parent / "optimum" / "model.onnx"
        if not src.exists():
            raise RuntimeError("no Optimum export to optimise")
        opt = optimize_model(str(src), model_type="bert", num_heads=HEADS, hidden_size=HIDDEN, opt_level=0)
        opt.save_model_to_file(str(dest / "model.onnx"))
        (dest / "fused_ops.json").write_text(json.dumps(opt.get_fused_operator_statistics()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--only", nargs="*", choices=list(ARCHS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    for arch in args.only or list(ARCHS):
        t = time.time()
        facts = build_arch(arch, args.out)
        print(f"{arch}: {time.time() - t:.1f} s; " +
              ", ".join(f"{k} {'ok' if v['ok'] else 'FAILED'}" for k, v in facts["exports"].items()), flush=True)
    print(f"all: {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
