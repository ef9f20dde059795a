#!/usr/bin/env bash
# docquant classify with SetFit's multi-label heads, on real texts, against the original
# pipeline's Python path (tools/python_path.py: HF tokenizers + ONNX Runtime + the
# scikit-learn head as joblib loads it).
#
# Data (real rows, labels derived deterministically from each row): ../shared/data/sms_spam.csv,
# three labels per text: spam (the CSV's label), long (more than 80 characters), number (holds
# a digit) -- the labels tools/heads/fixture_embeddings.py uses for the head goldens.
# For each multi_target_strategy (one-vs-rest, multi-output, classifier-chain) the minilm-sst2
# fixture's folder gets a head fitted as SetFit fits one (its body's embeddings of rows 1-400,
# LogisticRegression() in the strategy's wrapper, joblib.dump to model_head.pkl, the label
# names in config_setfit.json), then rows 401-1400 are classified by both:
#   every 0/1 label column identical, every probability within 1e-4 (as classify_parity.sh
#   for fp32: docquant's graph fusions move the body's output by ~1e-6).
# Usage: classify_multilabel.sh DOCQUANT FIXTURE SMS.csv WORKDIR
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
python=${DOCQUANT_PARITY_PYTHON:-$cache/venvs/setfit/bin/python}
here=$(cd "$(dirname "$0")" && pwd)
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built; run: $python tools/build_fixtures.py --only $name"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"

"$python" - "$fixture/setfit" "$data" "$work" <<'PY'
import csv, json, os, shutil, sys
import joblib, numpy as np
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier

source, data, work = sys.argv[1:4]
with open(data, newline="", encoding="utf-8") as f:
    rows = [r for _, r in zip(range(1400), csv.DictReader(f))]
def labels(r):
    return [int(r["label"] == "spam"), int(len(r["text"]) > 80), int(any(c.isdigit() for c in r["text"]))]
Y = np.array([labels(r) for r in rows[:400]])
emb = SentenceTransformer(source, device="cpu").encode([r["text"] for r in rows[:400]], batch_size=32)
with open(os.path.join(work, "texts.csv"), "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["text"])
    w.writerows([[r["text"]] for r in rows[400:]])
# setfit's _from_pretrained: LogisticRegression() wrapped by the strategy's class.
for strategy, wrap in [("one-vs-rest", OneVsRestClassifier), ("multi-output", MultiOutputClassifier),
                       ("classifier-chain", ClassifierChain)]:
    folder = os.path.join(work, strategy)
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("pytorch_model.bin", "model.safetensors"))
    joblib.dump(wrap(LogisticRegression()).fit(emb, Y), os.path.join(folder, "model_head.pkl"))
    cfg = os.path.join(folder, "config_setfit.json")
    conf = json.load(open(cfg)) if os.path.exists(cfg) else {}
    conf["labels"] = ["spam", "long", "number"]
    json.dump(conf, open(cfg, "w"))
print(f"multi-label heads fitted on 400 SMS rows, label counts {Y.sum(0).tolist()}; classifying {len(rows) - 400}")
PY

cat >"$work/compare.py" <<'PY'
import csv, sys
py, cpp = sys.argv[1:3]
a, b = list(csv.reader(open(py, newline=""))), list(csv.reader(open(cpp, newline="")))
if a[0] != b[0]:
    sys.exit(f"FAIL: headers differ: Python {a[0]} vs docquant {b[0]}")
if len(a) != len(b):
    sys.exit(f"FAIL: {len(a) - 1} Python rows vs {len(b) - 1} docquant rows")
labels = sum(h.startswith("label_") for h in a[0])
same = sum(x[:labels] == y[:labels] for x, y in zip(a[1:], b[1:]))
worst = max(abs(float(p) - float(q)) for x, y in zip(a[1:], b[1:]) for p, q in zip(x[labels:], y[labels:]))
positives = [sum(int(x[k]) for x in b[1:]) for k in range(labels)]
print(f"  label sets identical {same} / {len(a) - 1}; max |dp| {worst:.3g}; docquant's positives per label {positives}")
for i, (x, y) in enumerate(zip(a[1:], b[1:])):
    if x[:labels] != y[:labels]:
        print(f"  row {i + 1}: Python {x[:labels]} vs docquant {y[:labels]}")
sys.exit(0 if same == len(a) - 1 and worst <= 1e-4 and all(positives) else 1)
PY

status=0
for strategy in one-vs-rest multi-output classifier-chain; do
  folder=$work/$strategy
  "$bin" classify --quiet --model_folder "$folder" --onnx_model "$fixture/onnx/model.onnx" --input "$work/texts.csv" \
    --output "$work/$strategy.docquant.csv" --threads 2
  "$python" "$here/../../tools/python_path.py" predict --model_folder "$folder" --onnx_model "$fixture/onnx/model.onnx" \
    --input "$work/texts.csv" --output "$work/$strategy.python.csv" --threads 2
  echo "$name $strategy:"
  "$python" "$work/compare.py" "$work/$strategy.python.csv" "$work/$strategy.docquant.csv" || status=1
  "$bin" inspect "$folder" | grep -q "multi-label" || { echo "FAIL: inspect does not say multi-label"; status=1; }
done
[[ $status == 0 ]] || { echo "FAIL: docquant classify and the Python path disagree on multi-label heads"; exit 1; }
rm -rf "$work"
