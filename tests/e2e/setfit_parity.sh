#!/usr/bin/env bash
# A SetFit fixture end to end against setfit itself (issue 28): the differentiable head
# (SetFitHead) and multi-label heads, which docquant used to refuse.
#   1. fp32: `docquant classify` (the fixture's ONNX body in ONNX Runtime, docquant's pooling and
#      head) gives the labels of setfit's SetFitModel.predict (torch body, the head as joblib
#      loads it) on every held-out row, and probabilities within 1e-4 of SetFitModel.predict_proba
#      (torch vs ONNX Runtime on the body).
#   2. `docquant quantize` calibrated on the fixture's data/calibration.csv meets its criterion
#      (accuracy; for a multi-label head exact-match accuracy, the whole label set right).
#   3. int8 on the held-out rows: `docquant eval --compare` the fp32 model; its accuracy (exact
#      match) is within the same criterion of fp32's (relative loss <= 1 %).
# Usage: setfit_parity.sh DOCQUANT FIXTURE HELD_OUT.csv WORKDIR
#   HELD_OUT.csv relative to the fixture folder when it does not exist as given (the multi-label
#   fixture's data/test.csv). Exits 77 (ctest: skipped) only when the fixture is not built.
set -euo pipefail
source "$(dirname "$0")/fixture_env.sh"
[[ -f "$data" ]] || data=$fixture/$data
rm -rf "$work" && mkdir -p "$work"

# setfit's own answers, written as `docquant classify` writes its CSV.
"$python" - "$fixture/setfit" "$data" "$work/setfit.csv" <<'PY'
import csv, json, os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np, torch
from setfit import SetFitModel
folder, data, out = sys.argv[1:4]
torch.set_num_threads(2)
with open(data, newline="", encoding="utf-8") as f:
    texts = [r["text"] for r in csv.DictReader(f)]
model = SetFitModel.from_pretrained(folder)
with torch.no_grad():
    if model.has_differentiable_head:
        pred, proba = model.predict(texts).numpy(), model.predict_proba(texts).numpy()
    else:  # SetFitModel.predict's two steps; predict_proba cannot turn MultiOutput's list into a tensor
        emb = model.model_body.encode(texts, normalize_embeddings=model.normalize_embeddings)
        pred, proba = np.asarray(model.model_head.predict(emb)), model.model_head.predict_proba(emb)
        if isinstance(proba, list):  # MultiOutputClassifier: (n, 2) per label; keep p(1)
            proba = np.stack(proba, axis=1)[:, :, 1]
names = json.load(open(os.path.join(folder, "config_setfit.json")))["labels"]
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    if pred.ndim == 2:
        w.writerow([f"label_{n}" for n in names] + [f"proba_{n}" for n in names])
        w.writerows([[str(int(v)) for v in p] + [repr(float(x)) for x in q] for p, q in zip(pred, proba)])
    else:
        w.writerow(["label"] + [f"proba_{n}" for n in names])
        w.writerows([[names[int(p)]] + [repr(float(x)) for x in q] for p, q in zip(pred, proba)])
print(f"setfit {type(model.model_head).__name__}: {len(texts)} texts")
PY
"$bin" classify --quiet --model_folder "$fixture/setfit" --onnx_model "$fixture/onnx/model.onnx" --input "$data" \
  --output "$work/docquant.csv" --threads 2
"$python" - "$work/setfit.csv" "$work/docquant.csv" <<'PY'
import csv, sys
a, b = (list(csv.reader(open(p, newline=""))) for p in sys.argv[1:3])
if a[0] != b[0]:
    sys.exit(f"FAIL: headers differ: setfit {a[0]} vs docquant {b[0]}")
labels = sum(h.startswith("label") for h in a[0])
same = sum(x[:labels] == y[:labels] for x, y in zip(a[1:], b[1:]))
worst = max(abs(float(p) - float(q)) for x, y in zip(a[1:], b[1:]) for p, q in zip(x[labels:], y[labels:]))
print(f"fp32: labels identical on {same} / {len(a) - 1} held-out rows; max |dp| vs SetFitModel.predict_proba {worst:.3g}")
for i, (x, y) in enumerate(zip(a[1:], b[1:])):
    if x[:labels] != y[:labels]:
        print(f"  row {i + 1}: setfit {x[:labels]} vs docquant {y[:labels]}")
sys.exit(0 if same == len(a) - 1 and len(a) == len(b) and worst <= 1e-4 else 1)
PY

"$bin" quantize --quiet --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
  --calibration_data "$fixture/data/calibration.csv" --output_folder "$work/int8" --threads 2 >/dev/null
"$bin" eval --model_folder "$work/int8" --data "$data" --compare "$fixture/setfit" \
  --compare_onnx "$fixture/onnx/model.onnx" --json "$work/eval.json" --threads 2 | grep -E "^(agreement|accuracy|exact)"
"$python" - "$work/int8/quantization.json" "$work/eval.json" <<'PY'
import json, sys
q, e = (json.load(open(p)) for p in sys.argv[1:3])
key = "exact_match_accuracy" if e["model"].get("multi_label") else "accuracy"
int8, fp32 = e["model"][key], e["compare"][key]
print(f"quantize: criterion met {q['criterion_met']} ({q['criterion']['accuracy_measures']}: fp32 {q['baseline_accuracy']:.4f}, "
      f"int8 {q['final_accuracy']:.4f} on {q['inputs']['calibration_data']['rows']} calibration rows); "
      f"held-out {key}: int8 {int8:.4f} vs fp32 {fp32:.4f}")
ok = q["criterion_met"] and int8 >= fp32 * (1 - q["criterion"]["value"]) - 1e-12
sys.exit(0 if ok else "FAIL: int8 misses the criterion on the held-out rows")
PY
rm -rf "$work"
