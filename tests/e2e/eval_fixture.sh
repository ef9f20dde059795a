#!/usr/bin/env bash
# docquant eval on a real fp32 fixture must find the test accuracy that the fixture
# builder measured with the Python path (Hugging Face tokenizer + ONNX Runtime's Python
# API + sentence-transformers pooling + scikit-learn head), recorded in manifest.json.
# Usage: eval_fixture.sh DOCQUANT FIXTURE TEST.csv WORKDIR. Exits 77 when the fixture is not built.
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
"$bin" eval --model_folder "$fixture/setfit" --onnx_model "$fixture/onnx/model.onnx" --data "$data" \
  --json "$work/eval.json" >"$work/eval.txt"
head -3 "$work/eval.txt"
python3 - "$work/eval.json" "$fixture/manifest.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["model"]["accuracy"]
theirs = json.load(open(sys.argv[2]))["fp32_test_accuracy"]["onnx_body_ort"]
print(f"docquant eval {ours:.6f}; Python path (manifest) {theirs:.6f}")
sys.exit(0 if abs(ours - theirs) < 1e-9 else 1)
PY
rm -rf "$work"
