#!/usr/bin/env python3
"""Train small SetFit-style heads with the installed scikit-learn and write the oracle's answers.

Run it with the python of one venv built from tools/venvs/sklearn-*.txt, e.g.

    ~/.cache/docquant/venvs/sklearn-1.9/bin/python tools/golden_heads.py --out build/goldens/sklearn-1.9

For each case it writes into OUT/<case>/:
    model_head.pkl        the head, as SetFit saves it (joblib.dump) or as a variant (compressed,
                          plain pickle protocol 0-5, big-endian / Fortran-ordered arrays)
    labelencoder.pkl      for the LabelEncoder case
    modules.json, 1_Pooling/config.json, config_setfit.json   a minimal SetFit folder around it
    embeddings.f32        N x D little-endian float32 embeddings the golden was computed on
    golden.json           predict_proba (N x C), predict (class indices), class names, versions
and OUT/manifest.json listing the cases. tests/setfit/head_parity_test.cc reads them.

Embeddings are random (seeded), plus real SetFit embeddings when a fixture under
$DOCQUANT_FIXTURES/<name>/setfit/ holds an embeddings.npy whose width fits the real head.

With --setfit-heads (run with the setfit venv, which has setfit and torch) it writes instead
SetFit's differentiable heads (SetFitHead, a pickled torch module): trained by setfit's own
SetFitModel.fit on real texts with a fixture's body, scored on held-out real texts by
SetFitModel.predict_proba / predict, plus the file forms torch and joblib can give the same
head (zip storages, pickle protocols 0 and 2, zlib, a torch.device field, no bias, a
temperature) and the SetFitHead fixtures' own heads. OUT/refused/ holds SetFitHeads docquant
must refuse, each with a fragment of its message (see setfit_head_cases).
"""
import argparse
import json
import os
import pickle
import shutil
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.preprocessing import LabelEncoder

warnings.filterwarnings("ignore")

SK = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
HAS_MULTI_CLASS = SK < (1, 8)
DIM = 24
N_EVAL = 300


def embeddings(rng, n, dim, scale=1.0):
    return (rng.standard_normal((n, dim)) * scale).astype(np.float32)


def train_data(rng, n_classes, n=240, dim=DIM):
    centers = rng.standard_normal((n_classes, dim)) * 1.5
    y = rng.integers(0, n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)
    X = (centers[y] + rng.standard_normal((n, dim))).astype(np.float32)
    return X, y


def lr(**kw):
    if not HAS_MULTI_CLASS:
        kw.pop("multi_class", None)
    return LogisticRegression(max_iter=500, **kw)


def write_folder(d, dim, labels=None, pooling="mean"):
    (d / "1_Pooling").mkdir(parents=True, exist_ok=True)
    (d / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    (d / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }))
    (d / "config_setfit.json").write_text(json.dumps({"labels": labels, "normalize_embeddings": False}))


def class_index(classes, values):
    pos = {c.item() if hasattr(c, "item") else c: i for i, c in enumerate(classes)}
    return [pos[v.item() if hasattr(v, "item") else v] for v in values]


def golden(out, name, head, X, dump, extra=None):
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    dump(head, d / "model_head.pkl")
    # The oracle answers with the head as loaded back, exactly as SetFit would use it.
    loaded = joblib.load(d / "model_head.pkl")
    proba = loaded.predict_proba(X)
    pred = loaded.predict(X)
    if isinstance(proba, list):
        # MultiOutputClassifier: one (n, 2) array per label; SetFit stacks them to (n, labels, 2).
        # docquant's column k is label k's p(1), like OneVsRest's and ClassifierChain's.
        stacked = np.stack(proba, axis=1)
        assert np.abs(stacked[:, :, 0] - (1 - stacked[:, :, 1])).max() < 1e-12
        proba = stacked[:, :, 1]
    if isinstance(loaded, (MultiOutputClassifier, ClassifierChain)):
        classes = list(range(proba.shape[1]))  # one column per label; names come from config labels
    else:
        classes = [c.item() if hasattr(c, "item") else c for c in loaded.classes_]
    g = {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "head": type(loaded).__name__,
        "n": int(X.shape[0]),
        "dim": int(X.shape[1]),
        "classes": classes,
        "proba": proba.astype(np.float64).ravel().tolist(),
    }
    if hasattr(pred, "toarray"):
        pred = pred.toarray()
    if getattr(pred, "ndim", 1) == 2:
        g["multilabel"] = True
        g["predict_multilabel"] = np.asarray(pred).astype(int).ravel().tolist()
    else:
        g["multilabel"] = False
        g["predict"] = class_index(loaded.classes_, pred)
    if extra:
        extra = {k: v for k, v in extra.items() if k != "config_labels" or v is not None}
        g.update(extra)
    write_folder(d, X.shape[1], labels=(extra or {}).get("config_labels"))
    X.astype("<f4").tofile(d / "embeddings.f32")
    (d / "golden.json").write_text(json.dumps(g))
    return name


def jdump(**kw):
    return lambda obj, path: joblib.dump(obj, path, **kw)


def pdump(protocol):
    def dump(obj, path):
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
    return dump


class Refusals:
    """Heads docquant must refuse, each with a fragment of its message: OUT/refused/<case>/
    model_head.pkl + OUT/refused/manifest.json (head_parity_test reads them)."""

    def __init__(self, out):
        self.root = out / "refused"
        self.root.mkdir(parents=True, exist_ok=True)
        self.cases = {}

    def add(self, name, head, fragment):
        (self.root / name).mkdir(exist_ok=True)
        joblib.dump(head, self.root / name / "model_head.pkl")
        self.cases[name] = fragment

    def write(self, **versions):
        (self.root / "manifest.json").write_text(json.dumps(dict(versions, cases=self.cases), indent=1))
        return len(self.cases)


def refused_cases(out, Xm, Y):
    """Multi-target heads docquant must refuse (Refusals)."""
    from sklearn.svm import SVC
    refusals = Refusals(out)
    add = refusals.add

    bad_order = ClassifierChain(lr()).fit(Xm, Y)
    bad_order.order_ = np.array([0, 0, 2, 3])
    add("chain_order_repeats", bad_order, "ClassifierChain.order_ is not a permutation of 0..3")
    narrow = ClassifierChain(lr()).fit(Xm, Y)
    narrow.estimators_[2].coef_ = narrow.estimators_[2].coef_[:, :-1].copy()
    add("chain_estimator_width", narrow, f"estimators_[2]: reads {DIM + 1} features where {DIM + 2} were expected")
    if SK >= (1, 5):
        odd = ClassifierChain(lr()).fit(Xm, Y)
        odd.chain_method_ = "transform"
        add("chain_unknown_method", odd, "ClassifierChain.chain_method_ 'transform' is not one docquant knows")
    Y3 = Y.copy()
    Y3[:40, 1] = 2  # one target with three classes: multiclass-multioutput, not multi-label
    add("multioutput_multiclass_target", MultiOutputClassifier(lr()).fit(Xm, Y3),
        "estimators_[1]: has classes [0, 1, 2]; docquant reads multi-label heads whose targets are 0/1 indicators")
    add("multioutput_svc", MultiOutputClassifier(SVC()).fit(Xm, Y),
        "'sklearn.svm._classes.SVC'")
    refusals.write(sklearn=sklearn.__version__)


def real_multilabel_cases(out):
    """Multi-target heads trained on real SMS texts embedded by a real body
    (tools/heads/fixture_embeddings.py): fitted on the first 400 rows, scored on the rest."""
    emb_file = out.parent / "fixture-embeddings" / "multilabel_sms.npy"
    if not emb_file.exists():
        print(f"golden_heads: no {emb_file}; no real multi-label heads")
        return []
    X = np.load(emb_file).astype(np.float32)
    Y = np.load(out.parent / "fixture-embeddings" / "multilabel_sms_labels.npy")
    fit, score = slice(0, 400), slice(400, None)
    labels = {"config_labels": ["spam", "long", "number"], "class_names": ["spam", "long", "number"],
              "real_embeddings": int(X[score].shape[0])}
    heads = {"real_sms_ovr": OneVsRestClassifier(lr()), "real_sms_multioutput": MultiOutputClassifier(lr()),
             "real_sms_chain": ClassifierChain(lr())}
    return [golden(out, name, h.fit(X[fit], Y[fit]), X[score], jdump(), labels) for name, h in heads.items()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--real-head", type=Path, default=None,
                    help="a real SetFit folder whose model_head.pkl is also scored")
    ap.add_argument("--setfit-heads", action="store_true",
                    help="write SetFit's differentiable heads instead (setfit venv; see the module doc)")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.setfit_heads:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from heads import setfit_heads
        setfit_heads.main(out)
        return
    rng = np.random.default_rng(20261126)
    cases = []
    Xe = embeddings(rng, N_EVAL, DIM, 1.5)

    # Binary LogisticRegression, integer classes.
    X, y = train_data(rng, 2)
    binary = lr().fit(X, y)
    cases.append(golden(out, "binary", binary, Xe, jdump()))
    # Six classes, default solver: multinomial (softmax).
    X6, y6 = train_data(rng, 6)
    multi = lr().fit(X6, y6)
    cases.append(golden(out, "multinomial6", multi, Xe, jdump()))
    # liblinear: one-vs-rest normalisation before 1.8, softmax from 1.8.
    if HAS_MULTI_CLASS:  # 1.8+ refuses liblinear with more than two classes
        ovr_liblinear = lr(solver="liblinear").fit(X6, y6)
        cases.append(golden(out, "liblinear6", ovr_liblinear, Xe, jdump()))
        cases.append(golden(out, "ovr6", lr(multi_class="ovr").fit(X6, y6), Xe, jdump()))
        cases.append(golden(out, "binary_multinomial", lr(multi_class="multinomial").fit(X, y), Xe, jdump()))
    if SK < (1, 6):
        cases.append(golden(out, "newton_cholesky6", lr(solver="newton-cholesky").fit(X6, y6), Xe, jdump()))
    # String labels in classes_ (numpy <U) and as an object array (joblib pickles it inline).
    names = np.array(["anger", "joy", "neutral", "sadness", "surprise", "fear"])
    cases.append(golden(out, "string_classes", lr().fit(X6, names[y6]), Xe, jdump()))
    cases.append(golden(out, "object_classes", lr().fit(X6, names[y6].astype(object)), Xe, jdump()))
    # Integer classes with names in a LabelEncoder written beside the head.
    enc = LabelEncoder().fit(names[y6])
    le_head = lr().fit(X6, enc.transform(names[y6]))
    name = golden(out, "label_encoder", le_head, Xe, jdump(),
                  {"class_names": [str(c) for c in enc.classes_]})
    joblib.dump(enc, out / name / "labelencoder.pkl")
    cases.append(name)
    # Integer classes with names in config_setfit.json (what SetFit >= 1.0 writes).
    cases.append(golden(out, "config_labels", lr().fit(X, y), Xe, jdump(),
                        {"config_labels": ["negative", "positive"],
                         "class_names": ["negative", "positive"]}))
    # OneVsRestClassifier: multi-label (SetFit's multi_target_strategy="one-vs-rest").
    Y = (rng.random((240, 4)) < 0.35).astype(int)
    Xm = (Y @ rng.standard_normal((4, DIM)) + rng.standard_normal((240, DIM))).astype(np.float32)
    cases.append(golden(out, "ovr_multilabel", OneVsRestClassifier(lr()).fit(Xm, Y), Xe, jdump()))
    cases.append(golden(out, "ovr_multiclass", OneVsRestClassifier(lr()).fit(X6, y6), Xe, jdump()))
    # SetFit's multi_target_strategy="multi-output" and "classifier-chain".
    cases.append(golden(out, "multioutput", MultiOutputClassifier(lr()).fit(Xm, Y), Xe, jdump()))
    cases.append(golden(out, "chain", ClassifierChain(lr()).fit(Xm, Y), Xe, jdump()))
    cases.append(golden(out, "chain_random_order",
                        ClassifierChain(lr(), order="random", random_state=3).fit(Xm, Y), Xe, jdump()))
    if HAS_MULTI_CLASS:  # binary multinomial estimators: softmax([-d, d]) per label
        cases.append(golden(out, "multioutput_multinomial",
                            MultiOutputClassifier(lr(multi_class="multinomial")).fit(Xm, Y), Xe, jdump()))
    if SK >= (1, 5):  # chain_method: what each estimator passes on to the next
        for method in ["predict_proba", "predict_log_proba", "decision_function"]:
            cases.append(golden(out, f"chain_{method}", ClassifierChain(lr(), chain_method=method).fit(Xm, Y),
                                Xe, jdump()))
    cases += real_multilabel_cases(out)
    refused_cases(out, Xm, Y)
    cases.append(golden(out, "ovr_binary", OneVsRestClassifier(lr()).fit(X, y), Xe, jdump()))
    # Compressed joblib files.
    for comp in ["zlib", "gzip", "bz2", "lzma", "xz", "lz4"]:
        cases.append(golden(out, f"compressed_{comp}", multi, Xe, jdump(compress=(comp, 3))))
    # Plain pickle, every protocol (no joblib array records).
    for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
        cases.append(golden(out, f"pickle_protocol{proto}", multi, Xe, pdump(proto)))
    # Big-endian and Fortran-ordered arrays.
    be = lr().fit(X6, y6)
    be.coef_ = be.coef_.astype(">f8")
    be.intercept_ = be.intercept_.astype(">f8")
    be.classes_ = be.classes_.astype(">i8")
    cases.append(golden(out, "big_endian", be, Xe, jdump()))
    fo = lr().fit(X6, y6)
    fo.coef_ = np.asfortranarray(fo.coef_)
    cases.append(golden(out, "fortran_order", fo, Xe, jdump()))

    # Real SetFit heads, scored from their original bytes: the one beside the project and
    # those of the SetFit fixtures (tools/build_fixtures.py), on random embeddings of their
    # width plus real ones when OUT/../fixture-embeddings/<name>.npy exists.
    fixtures = Path(os.environ.get("DOCQUANT_FIXTURES", Path.home() / ".cache/docquant/fixtures"))
    real_heads = []
    if args.real_head and (args.real_head / "model_head.pkl").exists():
        real_heads.append(("real_sst2_mpnet", args.real_head))
    for f in sorted(fixtures.glob("*/setfit/model_head.pkl")):
        real_heads.append((f"fixture_{f.parent.parent.name}", f.parent))
    for name, folder in real_heads:
        try:
            real = joblib.load(folder / "model_head.pkl")
        except Exception as error:  # e.g. a torch head: docquant refuses those, tested elsewhere
            print(f"golden_heads: skipping {folder}: {type(error).__name__}: {error}")
            continue
        dim = (real.coef_ if hasattr(real, "coef_") else real.estimators_[0].coef_).shape[1]
        Xr = embeddings(rng, 500, dim, 0.3)
        emb_file = out.parent / "fixture-embeddings" / f"{name}.npy"
        n_real = 0
        if emb_file.exists():
            e = np.load(emb_file).astype(np.float32)
            if e.ndim == 2 and e.shape[1] == dim:
                Xr, n_real = np.concatenate([Xr, e]), int(e.shape[0])
        src = folder / "model_head.pkl"
        cases.append(golden(out, name, real, Xr, lambda o, p, src=src: shutil.copyfile(src, p),
                            {"real_embeddings": n_real}))

    (out / "manifest.json").write_text(json.dumps(
        {"sklearn": sklearn.__version__, "numpy": np.__version__, "joblib": joblib.__version__,
         "python": sys.version.split()[0], "cases": cases}, indent=1))
    print(f"golden_heads: {len(cases)} cases with scikit-learn {sklearn.__version__} in {out}")


if __name__ == "__main__":
    main()
