#!/usr/bin/env bash
# docquant classify against the original pipeline's Python path (tools/python_path.py:
# Hugging Face tokenizers + ONNX Runtime's Python API + sentence-transformers pooling +
# the scikit-learn head), every row of a fixture's test set, both batched the same way.
#   fp32 (the fixture's SetFit folder + onnx/model.onnx): 100 % identical labels and
#        every probability within 1e-4 (absolute)
#   int8 (a docquant output folder): >= 99.9 % identical labels; the rest may differ only
#        through batch-dependent dynamic scales
# Usage: classify_parity.sh DOCQUANT FIXTURE TEST.csv WORKDIR INT8
#   INT8 is a docquant output folder (a relative name is taken under $DOCQUANT_CACHE, e.g.
#   example-minilm-sst2-int8, which scripts/setup.sh builds), or a CSV: then
#   `docquant quantize` calibrates on it into WORKDIR first. Exits 77 (ctest: skipped) only when the fixture or INT8 folder is absent.
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4 int8=$5
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
python=${DOCQUANT_PARITY_PYTHON:-$cache/venvs/setfit/bin/python}
here=$(cd "$(dirname "$0")" && pwd)
threads=2
[[ "$int8" == /* || "$int8" == *.csv ]] || int8=$cache/$int8
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built; run: $python tools/build_fixtures.py --only $name"
  exit 77
fi
if [[ "$int8" != *.csv && ! -f "$int8/model.onnx" ]]; then
  echo "SKIPPED: $int8 is not a docquant output folder; scripts/setup.sh builds it"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
if [[ "$int8" == *.csv ]]; then
  "$bin" quantize --quiet --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
    --calibration_data "$int8" --output_folder "$work/int8" >/dev/null
  int8=$work/int8
fi

# compare.py EXPECTED.csv ACTUAL.csv MIN_LABEL_SHARE MAX_ABS_DELTA (negative: not checked)
cat >"$work/compare.py" <<'PY'
import csv, sys
py, cpp, min_share, max_delta = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
with open(py, newline="") as f:
    a = list(csv.reader(f))
with open(cpp, newline="") as f:
    b = list(csv.reader(f))
if a[0] != b[0]:
    sys.exit(f"FAIL: headers differ: Python {a[0]} vs docquant {b[0]}")
if len(a) != len(b):
    sys.exit(f"FAIL: {len(a) - 1} Python rows vs {len(b) - 1} docquant rows")
rows = len(a) - 1
same = sum(x[0] == y[0] for x, y in zip(a[1:], b[1:]))
deltas = [max(abs(float(p) - float(q)) for p, q in zip(x[1:], y[1:])) for x, y in zip(a[1:], b[1:])]
worst = max(range(rows), key=lambda i: deltas[i])
print(f"  labels identical {same} / {rows} ({100 * same / rows:.2f} %, need >= {100 * min_share:.1f} %); "
      f"max |dp| {deltas[worst]:.3g} (row {worst + 1})" + (f", need <= {max_delta:g}" if max_delta >= 0 else ""))
for i, (x, y) in enumerate(zip(a[1:], b[1:])):
    if x[0] != y[0]:
        print(f"  row {i + 1}: Python {x} vs docquant {y}")
ok = same >= min_share * rows and (max_delta < 0 or deltas[worst] <= max_delta)
sys.exit(0 if ok else 1)
PY

status=0
check() {  # check WHAT FOLDER ONNX MIN_SHARE MAX_DELTA
  local what=$1 folder=$2 onnx=$3
  "$bin" classify --model_folder "$folder" --onnx_model "$onnx" --input "$data" \
    --output "$work/$what.docquant.csv" --threads "$threads"
  "$python" "$here/../../tools/python_path.py" predict --model_folder "$folder" --onnx_model "$onnx" \
    --input "$data" --output "$work/$what.python.csv" --threads "$threads"
  echo "$name $what ($(basename "$data")):"
  "$python" "$work/compare.py" "$work/$what.python.csv" "$work/$what.docquant.csv" "$4" "$5" || status=1
}
check fp32 "$fixture/setfit" "$fixture/onnx/model.onnx" 1.0 1e-4
check int8 "$int8" "$int8/model.onnx" 0.999 -1
[[ $status == 0 ]] || { echo "FAIL: docquant classify and the Python path disagree beyond the bounds above"; exit 1; }
rm -rf "$work"
