#!/usr/bin/env bash
# docquant bench on a real fixture with tiny repetitions: it runs, prints its table, and its
# JSON has the keys bench/classify/compare.py and readers rely on; bad options are usage errors.
# Usage: bench_cli.sh DOCQUANT WORKDIR. Exits 77 when the fixture or shared data is absent.
set -euo pipefail
bin=$1 work=$2
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/minilm-sst2
here=$(cd "$(dirname "$0")" && pwd)
data=${DOCQUANT_SHARED:-$here/../../../shared}/data/sst2_test.csv
if [[ ! -f "$fixture/manifest.json" || ! -f "$data" ]]; then
  echo "SKIPPED: needs the minilm-sst2 fixture and $data"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
fp32=(--model_folder "$fixture/setfit" --onnx_model "$fixture/onnx/model.onnx")

"$bin" bench "${fp32[@]}" --compare "$fixture/setfit" --compare_onnx "$fixture/onnx/model.onnx" --data "$data" \
  --max_rows 6 --warmup 0 --repetitions 2 --batch_sizes 1,4 --threads 1 --json "$work/bench.json" | tee "$work/out.txt"
grep -q "latency p50 ms" "$work/out.txt"
python3 - "$work/bench.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
for key in ("docquant_version", "git_commit", "onnxruntime_version", "date_utc", "machine", "settings", "data",
            "classes", "models", "ratios"):
    assert key in j, f"missing key {key}"
assert j["machine"]["cpu_model"] and j["machine"]["logical_cores"] >= 1
assert j["settings"]["threads"] == 1 and j["settings"]["batch_sizes"] == [1, 4], j["settings"]
assert j["data"]["rows"] == 6 and j["classes"] == ["0", "1"]
assert [m["role"] for m in j["models"]] == ["model", "compare"]
for m in j["models"]:
    b1, b4 = m["results"]
    assert b1["batch_size"] == 1 and b4["batch_size"] == 4
    lat = b1["latency_ms"]
    assert lat["samples"] == 12 and 0 < lat["p50"] <= lat["p95"] <= lat["p99"], lat
    assert len(b4["throughput_samples"]) == 2 and b4["throughput_texts_per_s"] > 0
    assert "latency_ms" not in b4
assert [r["batch_size"] for r in j["ratios"]] == [1, 4] and j["ratios"][0]["latency_p50_compare_over_model"] > 0
print("bench JSON: keys and shapes as expected")
PY

expect_usage() {  # expect_usage DESCRIPTION ARGS...: exit 2, a message naming the problem, no JSON
  local what=$1; shift
  rm -f "$work/bad.json"
  set +e
  "$bin" bench "${fp32[@]}" --data "$data" --json "$work/bad.json" "$@" 2>"$work/err.txt" >/dev/null
  local rc=$?
  set -e
  if [[ $rc != 2 || -e "$work/bad.json" ]]; then
    echo "FAIL ($what): exit $rc (want 2), JSON written: $([[ -e $work/bad.json ]] && echo yes || echo no)"
    cat "$work/err.txt"; exit 1
  fi
  echo "ok: $what -> exit 2: $(head -1 "$work/err.txt")"
}
expect_usage "letters in --batch_sizes" --batch_sizes 1,x
expect_usage "zero batch size" --batch_sizes 0,8
expect_usage "empty item in --batch_sizes" --batch_sizes 1,,8
expect_usage "zero repetitions" --repetitions 0
expect_usage "--compare_onnx without --compare" --compare_onnx "$fixture/onnx/model.onnx"

# --json naming an input is refused before measuring, and the input is left byte-identical.
cp "$data" "$work/data.csv"
before=$(sha256sum <"$work/data.csv")
set +e
"$bin" bench "${fp32[@]}" --data "$work/data.csv" --json "$work/data.csv" 2>"$work/err.txt" >/dev/null
rc=$?
set -e
if [[ $rc != 4 || "$(sha256sum <"$work/data.csv")" != "$before" ]] || ! grep -q "would overwrite or write into the input" "$work/err.txt"; then
  echo "FAIL (--json is the data CSV): exit $rc (want 4), data unchanged: $([[ "$(sha256sum <"$work/data.csv")" == "$before" ]] && echo yes || echo no)"
  cat "$work/err.txt"; exit 1
fi
echo "ok: --json is the data CSV -> exit 4, CSV unchanged"
rm -rf "$work"
