"""Goldens for SetFit's differentiable head (use_differentiable_head=True): setfit.modeling.SetFitHead,
which SetFitModel._save_pretrained writes with joblib.dump like every head.

Run through `tools/golden_heads.py --setfit-heads --out OUT` with the setfit venv (setfit, torch,
sentence-transformers); needs the minilm-sst2 and minilm-trec6 fixtures' bodies
($DOCQUANT_FIXTURES) and ../shared/data. Every case is OUT/<case>/ as tools/golden_heads.py
writes them (model_head.pkl, embeddings.f32, golden.json, a minimal SetFit folder), and
OUT/manifest.json names setfit's and torch's versions.

Heads, each trained by setfit's own SetFitModel.fit (the body frozen, so the fixture's body
embeds the texts exactly as at scoring time) on real texts, and scored on held-out real texts
by SetFitModel.predict_proba and SetFitModel.predict:
    setfit_binary        SST-2, minilm-sst2's body, 2 classes
    setfit_multiclass    TREC-6, minilm-trec6's body, 6 classes, temperature 0.7
    setfit_multitarget   TREC questions with tag sets (tools/fixtures/multilabel.py), multitarget
    setfit_no_bias       SST-2 with bias=False
The same trained binary head in the other forms torch and joblib give it, scored by the head as
joblib.load returns it (model_head.predict_proba on the embeddings SetFitModel.predict_proba
computes): storages as zip archives (torch.save's zip format, what a storage reduced to while
torch's storage __reduce__ followed save's zip default), pickle protocols 0 and 2, joblib's zlib,
and _device holding a torch.device (what a head created on a GPU machine keeps). The heads of the
fixtures whose head is a SetFitHead, scored with SetFitModel.from_pretrained on their test texts.

OUT/refused/<case>/model_head.pkl + OUT/refused/manifest.json: SetFitHeads docquant refuses, with a
fragment of each message -- float16 and float64 heads (setfit's predict feeds float32 embeddings,
which neither takes), a subclass of SetFitHead.
"""
import copy
import io
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import setfit  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from setfit import SetFitModel  # noqa: E402
from setfit.modeling import SetFitHead  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import golden_heads  # noqa: E402  (its folder writer, dumpers and refusal list)
from fixtures import multilabel  # noqa: E402

FIXTURES = Path(os.environ.get("DOCQUANT_FIXTURES", Path.home() / ".cache/docquant/fixtures"))
SHARED = Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))
N_EVAL = 300
PER_CLASS = 40      # training texts per class (per tag, and as many without a tag)
EPOCHS = 6
MAX_LENGTH = 64     # training only: tokens past it are cut (the texts are shorter)


def read_csv(name):
    import csv
    with open(SHARED / "data" / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def per_class(rows, key, n):
    """The first n rows of every class, in file order."""
    seen, out = {}, []
    for r in rows:
        k = key(r)
        if seen.get(k, 0) < n:
            seen[k] = seen.get(k, 0) + 1
            out.append(r)
    return out


def train_head(body, texts, y, out_features, multitarget=False, **head_kw):
    """SetFitModel.fit with the body frozen: setfit's training loop for its differentiable head."""
    torch.manual_seed(0)
    head = SetFitHead(in_features=body.get_sentence_embedding_dimension(), out_features=out_features,
                      multitarget=multitarget, device="cpu", **head_kw)
    model = SetFitModel(model_body=body, model_head=head)
    model.freeze("body")
    model.fit(texts, y, num_epochs=EPOCHS, batch_size=16, learning_rate=1e-2, l2_weight=0.0,
              max_length=MAX_LENGTH, show_progress_bar=False)
    model.unfreeze("body")
    return model.model_head


def zip_storage_dump(head, path):
    """joblib.dump with each storage reduced to torch.save's zip format instead of its legacy
    stream: the bytes torch.storage._load_from_bytes takes either way."""
    cls = torch.storage.TypedStorage
    legacy = cls.__reduce__

    def zip_reduce(self):
        b = io.BytesIO()
        torch.save(self, b, _use_new_zipfile_serialization=True)
        return (torch.storage._load_from_bytes, (b.getvalue(),))

    cls.__reduce__ = zip_reduce
    try:
        joblib.dump(head, path)
    finally:
        cls.__reduce__ = legacy


class Writer:
    def __init__(self, out):
        self.out, self.cases = out, []

    def case(self, name, head_file_writer, embeddings, proba, pred, multilabel_head, labels, extra=None):
        d = self.out / name
        d.mkdir(parents=True, exist_ok=True)
        head_file_writer(d / "model_head.pkl")
        C = proba.shape[1]
        g = {"setfit": setfit.__version__, "torch": torch.__version__, "head": "SetFitHead",
             "n": int(embeddings.shape[0]), "dim": int(embeddings.shape[1]), "classes": list(range(C)),
             "proba": proba.astype(np.float64).ravel().tolist(), "multilabel": multilabel_head,
             "config_labels": labels, "class_names": labels}
        if multilabel_head:
            g["predict_multilabel"] = pred.astype(int).ravel().tolist()
        else:
            g["predict"] = pred.astype(int).tolist()
        g.update(extra or {})
        golden_heads.write_folder(d, embeddings.shape[1], labels=labels)
        embeddings.astype("<f4").tofile(d / "embeddings.f32")
        (d / "golden.json").write_text(json.dumps(g))
        self.cases.append(name)


def score(model, texts):
    """What SetFitModel.predict_proba / predict give, and the embeddings they computed."""
    with torch.no_grad():
        proba = model.predict_proba(texts).cpu().numpy()
        pred = model.predict(texts).cpu().numpy()
        emb = model.model_body.encode(texts, normalize_embeddings=model.normalize_embeddings,
                                      convert_to_tensor=True).cpu().numpy()
    return emb, proba, pred


def head_scores(head, emb):
    """model_head.predict_proba / predict on SetFitModel's embeddings (its predict's second step)."""
    with torch.no_grad():
        t = torch.from_numpy(emb)
        return head.predict_proba(t).numpy(), head.predict(t).numpy()


def refused_cases(refusals, body):
    dim = body.get_sentence_embedding_dimension()
    refusals.add("float16", SetFitHead(in_features=dim, out_features=2, device="cpu").half(), "'torch.HalfStorage'")
    refusals.add("float64", SetFitHead(in_features=dim, out_features=2, device="cpu").double(), "'torch.DoubleStorage'")
    refusals.add("subclass", Bottleneck(in_features=8, out_features=2, device="cpu"), "Bottleneck'")
    return refusals.write(setfit=setfit.__version__)


class Bottleneck(SetFitHead):
    """A user's subclass of SetFitHead with its own forward (as setfit's docs suggest): refused."""


def main(out):
    torch.set_num_threads(2)
    w = Writer(out)
    sst2_body = SentenceTransformer(str(FIXTURES / "minilm-sst2" / "setfit"), device="cpu")
    trec6_body = SentenceTransformer(str(FIXTURES / "minilm-trec6" / "setfit"), device="cpu")

    # Binary: SST-2.
    train = per_class(read_csv("sst2_train.csv"), lambda r: r["label"], PER_CLASS)
    test = [r["text"] for r in read_csv("sst2_test.csv")[:N_EVAL]]
    binary = train_head(sst2_body, [r["text"] for r in train], [int(r["label"]) for r in train], 2)
    sst2_labels = ["negative", "positive"]
    model = SetFitModel(model_body=sst2_body, model_head=binary)
    emb, proba, pred = score(model, test)
    w.case("setfit_binary", lambda p: joblib.dump(binary, p), emb, proba, pred, False, sst2_labels,
           {"real_embeddings": len(test)})
    # The same head through joblib.load, in every other form it can take.
    forms = {
        "setfit_zip_storages": lambda p: zip_storage_dump(binary, p),
        "setfit_pickle_protocol0": lambda p: golden_heads.pdump(0)(binary, p),
        "setfit_pickle_protocol2": lambda p: golden_heads.pdump(2)(binary, p),
        "setfit_joblib_zlib": lambda p: joblib.dump(binary, p, compress=("zlib", 3)),
    }
    with_device = copy.deepcopy(binary)
    with_device._device = torch.device("cpu")
    forms["setfit_device_object"] = lambda p: joblib.dump(with_device, p)
    for name, dump in forms.items():
        tmp = out / f".{name}.pkl"
        dump(tmp)
        loaded = joblib.load(tmp)
        p, y = head_scores(loaded, emb)
        assert np.array_equal(p, proba), f"{name}: joblib.load gave another head"
        w.case(name, lambda dst, tmp=tmp: shutil.move(tmp, dst), emb, p, y, False, sst2_labels)
    no_bias = train_head(sst2_body, [r["text"] for r in train], [int(r["label"]) for r in train], 2, bias=False)
    assert no_bias.linear.bias is None
    emb_nb, proba_nb, pred_nb = score(SetFitModel(model_body=sst2_body, model_head=no_bias), test)
    w.case("setfit_no_bias", lambda p: joblib.dump(no_bias, p), emb_nb, proba_nb, pred_nb, False, sst2_labels)

    # Multi-class: TREC-6, with a temperature.
    train = per_class(read_csv("trec6_train.csv"), lambda r: r["label"], PER_CLASS)
    names = sorted({r["label"] for r in train})
    multi = train_head(trec6_body, [r["text"] for r in train], [names.index(r["label"]) for r in train], len(names),
                       temperature=0.7)
    test = [r["text"] for r in read_csv("trec6_test.csv")[:N_EVAL]]
    emb, proba, pred = score(SetFitModel(model_body=trec6_body, model_head=multi), test)
    w.case("setfit_multiclass", lambda p: joblib.dump(multi, p), emb, proba, pred, False, names,
           {"real_embeddings": len(test)})

    # Multi-target: TREC questions and their tag sets.
    rows = read_csv("trec50_train.csv")
    picked = per_class(rows, lambda r: "+".join(multilabel.tags(r["label"])), PER_CLASS)
    y = [multilabel.indicators(multilabel.tags(r["label"])) for r in picked]
    target = train_head(sst2_body, [r["text"] for r in picked], y, len(multilabel.TAGS), multitarget=True)
    test_rows = read_csv("trec50_test.csv")[:N_EVAL]
    emb, proba, pred = score(SetFitModel(model_body=sst2_body, model_head=target), [r["text"] for r in test_rows])
    assert pred.ndim == 2 and pred.sum() > 0
    w.case("setfit_multitarget", lambda p: joblib.dump(target, p), emb, proba, pred, True, list(multilabel.TAGS),
           {"real_embeddings": len(test_rows)})

    # Fixtures whose head is a SetFitHead, as SetFitModel.from_pretrained loads them.
    for manifest in sorted(FIXTURES.glob("*/manifest.json")):
        m = json.loads(manifest.read_text())
        if not str(m.get("training", {}).get("head", "")).endswith("SetFitHead"):
            continue
        folder = manifest.parent / "setfit"
        model = SetFitModel.from_pretrained(str(folder))
        test = [r["text"] for r in read_csv(m["dataset"]["test"])[:N_EVAL]]
        emb, proba, pred = score(model, test)
        multitarget = bool(getattr(model.model_head, "multitarget", False))
        labels = json.loads((folder / "config_setfit.json").read_text())["labels"]
        w.case(f"fixture_{manifest.parent.name}", lambda p, f=folder: shutil.copyfile(f / "model_head.pkl", p),
               emb, proba, pred, multitarget, labels, {"real_embeddings": len(test)})

    refused = refused_cases(golden_heads.Refusals(out), sst2_body)
    (out / "manifest.json").write_text(json.dumps(
        {"setfit": setfit.__version__, "torch": torch.__version__, "numpy": np.__version__,
         "joblib": joblib.__version__, "python": sys.version.split()[0], "cases": w.cases}, indent=1))
    print(f"setfit_heads: {len(w.cases)} SetFitHead cases and {refused} refused ones with setfit "
          f"{setfit.__version__}, torch {torch.__version__} in {out}")
