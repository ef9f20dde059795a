#!/usr/bin/env bash
# Issue 14 on a real fixture: quantize with --activations per_token (every claim
# quantize_fixture.sh checks, incl. the Python stack's accuracy), then
# batch_invariance.py: 200 real texts give the same answer alone, in random batches of 7
# and 32, padded to random extra lengths, with 1 and 2 threads -- and the per-tensor
# CONTROL folder does not (the check can fail).
# Usage: batch_invariance.sh DOCQUANT FIXTURE CALIBRATION.csv WORKDIR CONTROL TEXTS.csv
#   CONTROL: a per-tensor model folder, absolute or under $DOCQUANT_CACHE (setup.sh's example)
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4 control=$5 texts=$6
here=$(cd "$(dirname "$0")" && pwd)
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
[[ $control == /* ]] || control=$cache/$control
rc=0
KEEP_OUTPUT=1 "$here/quantize_fixture.sh" "$bin" "$name" "$data" "$work" --activations per_token || rc=$?
[[ $rc == 0 ]] || exit $rc
if [[ ! -f "$control/model.onnx" ]]; then
  echo "SKIPPED: the per-tensor control $control is missing; run ./scripts/setup.sh"
  exit 77
fi
"$cache/venvs/setfit/bin/python" "$here/batch_invariance.py" --model "$work/out" --control "$control" --data "$texts"
rm -rf "$work"
