#!/usr/bin/env bash
# The fp32 baseline cache (issue 19, include/docquant/quantize.h use_baseline_cache):
#   1. a first run evaluates the baseline and leaves one entry in $DOCQUANT_CACHE/baselines;
#   2. a second run on the same inputs reads it and writes a byte-identical model.onnx with
#      the same accuracies;
#   3. a corrupt entry is a miss (evaluated again, same model), never an error;
#   4. --no_cache evaluates; another CSV (other rows) misses.
# Usage: baseline_cache.sh DOCQUANT WORKDIR
set -uo pipefail
source "$(dirname "$0")/fixture_env.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"/*
export DOCQUANT_CACHE="$work/cache"  # the fixture was found above, through the real cache
head -401 "$shared/data/sst2_dev.csv" >"$work/other.csv"
run() {  # OUT [flags] -> prints baseline_from_cache
  "$bin" quantize --quiet --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" \
    --calibration_data "${csv:-$shared/data/sst2_dev.csv}" --output_folder "$work/$1" "${@:2}" >/dev/null ||
    fail "quantize $1"
  grep -o '"baseline_from_cache": [a-z]*' "$work/$1/quantization.json" | cut -d' ' -f2
}
field() { grep -o "\"$2\": [0-9.]*" "$work/$1/quantization.json" | head -1; }

[[ $(run first) == false ]] || fail "the first run read a baseline from an empty cache"
entries=("$DOCQUANT_CACHE"/baselines/*.json)
[[ ${#entries[@]} == 1 && -s ${entries[0]} ]] || fail "expected one cache entry, found: ${entries[*]}"
[[ $(run second) == true ]] || fail "the second run on the same inputs did not use the cache"
cmp "$work/first/model.onnx" "$work/second/model.onnx" || fail "model.onnx differs with the cached baseline"
for f in baseline_accuracy final_accuracy; do
  [[ $(field first $f) == $(field second $f) ]] || fail "$f differs: $(field first $f) vs $(field second $f)"
done
echo "second run: baseline from the cache, model.onnx byte-identical, $(field second baseline_accuracy)"

printf '{"key_material": "trunc' >"${entries[0]}"
[[ $(run corrupt) == false ]] || fail "a corrupt entry was used"
cmp "$work/first/model.onnx" "$work/corrupt/model.onnx" || fail "model.onnx differs after a corrupt entry"
[[ $(run forced --no_cache) == false ]] || fail "--no_cache read the cache"
[[ $(csv="$work/other.csv" run other) == false ]] || fail "another CSV hit the cache"
echo "corrupt entry: a miss; --no_cache: evaluated; another CSV: a miss"
echo PASS
