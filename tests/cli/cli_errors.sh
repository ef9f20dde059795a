#!/usr/bin/env bash
# Broken input to `docquant quantize` / `eval` / `inspect`: each case must exit with its
# documented code, print one message naming what is wrong, and leave no output behind.
# Usage: cli_errors.sh DOCQUANT WORKDIR. Exits 77 when the minilm-sst2 fixture is not built.
set -uo pipefail
bin=$1 work=$2
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/minilm-sst2
[[ -f "$fixture/manifest.json" ]] || { echo "SKIPPED: fixture minilm-sst2 is not built"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
M="$fixture/onnx" S="$fixture/setfit"
printf 'text,label\ngood film,1\nbad film,0\n' >"$work/ok.csv"
printf 'text,category\ngood,1\n' >"$work/nolabel.csv"
printf 'text,label\ngood,1\nbad,7\n' >"$work/unknown_label.csv"
printf 'text,label\n"never closed,1\n' >"$work/quote.csv"
head -c 1000 "$M/model.onnx" >"$work/truncated.onnx"
mkdir -p "$work/exists" && echo x >"$work/exists/file"
failures=0 cases=0

# expect CODE PATTERN OUTPUT_THAT_MUST_NOT_EXIST -- command...
expect() {
  local code=$1 pattern=$2 out=$3
  shift 4
  cases=$((cases + 1))
  "$@" >"$work/stdout" 2>"$work/stderr"
  local got=$?
  local msg
  msg=$(cat "$work/stderr")
  if [[ $got -ne $code ]] || ! grep -q -- "$pattern" "$work/stderr" || [[ -n "$out" && -e "$out" ]] ||
     compgen -G "$work/*.docquant-tmp-*" >/dev/null; then
    echo "FAIL: $* -> exit $got (want $code), stderr: $msg"
    failures=$((failures + 1))
  else
    echo "ok: exit $got: ${msg%%$'\n'*}"
  fi
}

Q=("$bin" quantize --quiet)
expect 2 "onnx_model_folder is required" "$work/o1" -- "${Q[@]}" --setfit_model_folder "$S" --output_folder "$work/o1"
expect 3 "no such file or folder" "$work/o2" -- "${Q[@]}" --onnx_model_folder "$work/none" --setfit_model_folder "$S" --output_folder "$work/o2"
expect 3 "truncated.onnx: not a valid ONNX model" "$work/o3" -- "${Q[@]}" --onnx_model_folder "$work/truncated.onnx" --setfit_model_folder "$S" --output_folder "$work/o3"
expect 3 "no column named 'label'" "$work/o4" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$S" --calibration_data "$work/nolabel.csv" --output_folder "$work/o4"
expect 3 "unknown_label.csv: row 3: label '7' is not one of the model's classes" "$work/o5" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$S" --calibration_data "$work/unknown_label.csv" --output_folder "$work/o5"
expect 3 "opens a quote that is never closed" "$work/o6" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$S" --calibration_data "$work/quote.csv" --output_folder "$work/o6"
expect 3 "" "$work/o7" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$work" --calibration_data "$work/ok.csv" --output_folder "$work/o7"
expect 4 "exists and is not empty; pass --overwrite" "" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$S" --output_folder "$work/exists"
expect 4 "overlaps the input" "$S/out" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$S" --output_folder "$S/out"
expect 3 "unknown or unsupported key" "$work/o8" -- "${Q[@]}" --onnx_model_folder "$M" --setfit_model_folder "$S" --output_folder "$work/o8" --config <(printf 'tuning: {objective: performance}\n')
expect 2 "" "" -- "$bin" quantize --onnx_model_folder "$M" --setfit_model_folder "$S" --output_folder "$work/o9" --relative 0.01 --absolute 0.01
expect 3 "no column named 'label'" "" -- "$bin" eval --model_folder "$S" --onnx_model "$M/model.onnx" --data "$work/nolabel.csv"
expect 3 "not a valid ONNX model" "" -- "$bin" inspect "$work/truncated.onnx"
[[ "$(cat "$work/exists/file")" == x ]] || { echo "FAIL: an existing output folder was modified"; failures=$((failures + 1)); }

echo "$((cases - failures)) passed, $failures failed"
rm -rf "$work"
[[ $failures -eq 0 ]]
