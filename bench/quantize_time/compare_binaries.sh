#!/usr/bin/env bash
# Quantize wall time of two docquant binaries on one fixture, runs interleaved (old, new,
# old, new, ...), each pair's model.onnx compared with cmp (issue 19: "the same chosen
# model"). The new binary runs NEW_FLAGS (default: --activations per_tensor, the recipe the
# binary before issue 19 used by default); run it once beforehand to measure a rerun (its
# baseline and probe scores are then cached), or add --no_cache to NEW_FLAGS for a first run.
# Usage: compare_binaries.sh OLD_BIN NEW_BIN FIXTURE CSV [REPS]
#   e.g. compare_binaries.sh /tmp/old/docquant build/src/cli/docquant mpnet-sst2 ../shared/data/sst2_dev.csv 3
# Prints one line per run (seconds, 1-minute load) and the ratio new/old per pair.
set -uo pipefail
old=$1 new=$2 fixture=${DOCQUANT_FIXTURES:-${DOCQUANT_CACHE:-$HOME/.cache/docquant}/fixtures}/$3 csv=$4 reps=${5:-3}
read -r -a new_flags <<<"${NEW_FLAGS:---activations per_tensor}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {  # NAME BIN [flags] -> seconds
  local start end
  start=$(date +%s.%N)
  "$2" quantize --quiet --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
    --calibration_data "$csv" --output_folder "$work/$1" "${@:3}" >/dev/null 2>"$work/$1.err" ||
    { echo "FAIL: $1: $(tail -3 "$work/$1.err")" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
for r in $(seq "$reps"); do
  rm -rf "$work/old" "$work/new"
  o=$(run old "$old")
  echo "run $r old $o s load $(cut -d' ' -f1 /proc/loadavg)"
  n=$(run new "$new" "${new_flags[@]}")
  echo "run $r new $n s load $(cut -d' ' -f1 /proc/loadavg)"
  same=$(cmp -s "$work/old/model.onnx" "$work/new/model.onnx" && echo "model.onnx identical" || echo "model.onnx DIFFERS")
  echo "run $r ratio $(echo "scale=3; $n / $o" | bc)  $same"
done
