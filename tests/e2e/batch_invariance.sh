#!/usr/bin/env bash
# Issue 14 on a real fixture: quantize with the default per-token activations (every claim
# quantize_fixture.sh checks, incl. the Python stack's accuracy), then
# batch_invariance.py: 200 real texts give the same answer alone, in random batches of 7
# and 32, padded to random extra lengths, with 1 and 2 threads -- and a control quantized
# with --activations per_tensor does not (the check can fail). Extra flags go to the quantize
# under test (e.g. --approach static: calibrated scales, batch-invariant by construction).
# Usage: batch_invariance.sh DOCQUANT FIXTURE CALIBRATION.csv WORKDIR TEXTS.csv [quantize flags]
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4 texts=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
rc=0
KEEP_OUTPUT=1 "$here/quantize_fixture.sh" "$bin" "$name" "$data" "$work" "$@" || rc=$?
[[ $rc == 0 ]] || exit $rc
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
"$bin" quantize --quiet --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
  --calibration_data "$data" --output_folder "$work/control" --activations per_tensor --max_trials 1 \
  --best_effort >/dev/null
"$cache/venvs/setfit/bin/python" "$here/batch_invariance.py" --model "$work/out" --control "$work/control" --data "$texts"
rm -rf "$work"
