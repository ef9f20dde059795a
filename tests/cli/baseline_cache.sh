#!/usr/bin/env bash
# The fp32 baseline cache (issue 19, include/docquant/quantize.h use_baseline_cache):
#   1. a first run evaluates the baseline and leaves one entry in $DOCQUANT_CACHE/baselines;
#   2. a second run on the same inputs reads it and writes a byte-identical model.onnx with
#      the same accuracies;
#   3. a corrupt entry is a miss (evaluated again, same model), never an error;
#   4. --no_cache evaluates; another CSV (other rows) misses;
#   5. the local sensitivity probe's scores are cached too: a per-tensor run whose first trial
#      fails (--relative 0) ranks its nodes from the cache the second time, with the same
#      ranking (sensitivity per node) and the same model.onnx; another --seed (another sample) misses.
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

probe() {  # OUT [flags] -> prints probe_from_cache
  run "$1" --activations per_tensor --relative 0 --max_trials 2 --best_effort "${@:2}" >/dev/null
  grep -o '"probe_from_cache": [a-z]*' "$work/$1/quantization.json" | cut -d' ' -f2
}
scores() { grep -o '"sensitivity": [-0-9.e]*' "$work/$1/quantization.json"; }
[[ $(probe probe1) == false ]] || fail "the first probing run read scores from the cache"
[[ -n $(scores probe1) ]] || fail "the probing run recorded no sensitivity: the case no longer runs the probe"
[[ $(probe probe2) == true ]] || fail "the second probing run did not read its scores from the cache"
[[ $(scores probe1) == "$(scores probe2)" ]] || fail "the cached scores differ from the measured ones"
cmp "$work/probe1/model.onnx" "$work/probe2/model.onnx" || fail "model.onnx differs with cached probe scores"
[[ $(probe probe_seed --seed 1) == false ]] || fail "another sample (--seed 1) read the first sample's scores"
echo "probe scores: cached, the same $(scores probe1 | wc -l) scores and model.onnx; another --seed: a miss"
echo PASS
