#!/usr/bin/env bash
# End to end on a real fixture: docquant quantize, then the claims issue 6 makes of it.
#   1. the criterion is met (exit 0, quantization.json says so)
#   2. the reference Python stack (tokenizers + onnxruntime + scikit-learn) finds the
#      accuracy docquant reported, within 0.1 point, and the agreement with fp32 (overall and
#      by fp32's margin) that `docquant eval --compare` reports
#   3. a second run gives a byte-identical model.onnx
#   4. model.onnx is at most 30 % of the fp32 model's size
#   5. the input folders are byte-for-byte unchanged
# Usage: quantize_fixture.sh DOCQUANT FIXTURE DATA.csv WORKDIR [extra quantize flags]
# KEEP_OUTPUT=1 leaves WORKDIR/out for a caller's further checks (batch_invariance.sh).
# Exits 77 (ctest: skipped) only when the fixture has not been built.
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4
shift 4
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
python=$cache/venvs/setfit/bin/python
here=$(cd "$(dirname "$0")" && pwd)
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built; run: $python tools/build_fixtures.py --only $name"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
hash_inputs() { (cd "$fixture" && find onnx setfit -type f -print0 | sort -z | xargs -0 sha256sum) ; sha256sum "$data"; }
hash_inputs >"$work/inputs.before"

"$bin" quantize --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
  --calibration_data "$data" --output_folder "$work/out" "$@"
"$python" - "$work/out/quantization.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["criterion_met"] is True, "criterion not met"
print(f"baseline {r['baseline_accuracy']:.4f}  final {r['final_accuracy']:.4f}  trials {len(r['trials'])}")
PY

"$bin" eval --model_folder "$work/out" --data "$data" --compare "$fixture/setfit" \
  --compare_onnx "$fixture/onnx/model.onnx" --json "$work/eval_compare.json" | grep -A4 "^agreement:"
"$python" "$here/check_quantized_accuracy.py" --output_folder "$work/out" --data "$data" \
  --eval_compare_json "$work/eval_compare.json" --fp32_folder "$fixture/setfit" --fp32_onnx "$fixture/onnx/model.onnx"

"$bin" quantize --quiet --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
  --calibration_data "$data" --output_folder "$work/again" "$@" >/dev/null
cmp "$work/out/model.onnx" "$work/again/model.onnx"
echo "second run: model.onnx byte-identical ($(sha256sum <"$work/out/model.onnx" | cut -c1-16))"

before=$(stat -c %s "$fixture/onnx/model.onnx")
after=$(stat -c %s "$work/out/model.onnx")
echo "size: $after / $before bytes = $(( 1000 * after / before / 10 )).$(( 1000 * after / before % 10 ))%"
(( 10 * after <= 3 * before )) || { echo "FAIL: model.onnx is over 30% of fp32"; exit 1; }

hash_inputs >"$work/inputs.after"
cmp "$work/inputs.before" "$work/inputs.after"
echo "inputs unchanged"
if [[ ${KEEP_OUTPUT:-0} == 1 ]]; then
  rm -rf "$work/again"
else
  rm -rf "$work"
fi
