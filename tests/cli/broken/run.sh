#!/usr/bin/env bash
# Broken and hostile inputs to docquant quantize / eval / inspect / tokenize: each case
# must exit with its documented code (docs/errors.md), name the file/row/field/node in
# one message, write no output and leave its inputs byte-identical (lib.sh: check).
# The broken inputs are made here from the real minilm-sst2 fixture and ../shared data.
# Usage: run.sh DOCQUANT WORKDIR. Exits 77 when the fixture or the onnx venv is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
need_onnx=1
source "$here/../fixture_env.sh"
source "$here/lib.sh"

rm -rf "$work" && mkdir -p "$work/in" "$work/out"
I=$work/in O=$work/out M=$fixture/onnx S=$fixture/setfit
dev=$shared/data/sst2_dev.csv
source "$here/inputs.sh"

Q=("$bin" quantize --quiet --onnx_model_folder "$M")
QS=("${Q[@]}" --setfit_model_folder "$S")
E=("$bin" eval --model_folder "$S" --onnx_model "$M/model.onnx")
all_inputs() { find "$fixture" "$I" -type f -print0 | sort -z | xargs -0 sha256sum; }
hashes_before=$(all_inputs)
source "$here/cases.sh"
[[ "$(all_inputs)" == "$hashes_before" ]] || { echo "FAIL: an input's sha256 changed during the suite"; failures=$((failures + 1)); }

echo "$((cases - failures)) of $cases cases passed"
[[ $failures -eq 0 ]] && rm -rf "$work"
[[ $failures -eq 0 ]]
