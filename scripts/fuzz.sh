#!/usr/bin/env bash
# Builds docquant's libFuzzer targets (tests/fuzz, clang-14, ASan + UBSan) in their own build
# folder, makes seed corpora from the real files (tests/fuzz/make_seeds.py: ../shared, the
# fixtures; nothing real is copied into the repo), and runs each target for a fixed time.
# Fails on any crash, leak, sanitizer report, timeout or out-of-memory, leaving the input
# that caused it in $build/crashes/. Prints execs and coverage (cov/ft) per target.
#
#   scripts/fuzz.sh                          every target, 60 s each
#   scripts/fuzz.sh --seconds 1800 --targets onnx_fuzz      a long run (docs/fuzzing.md)
#
# Corpora persist in $build/corpus/<target> between runs. Run ./scripts/setup.sh first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
build=${DOCQUANT_FUZZ_BUILD:-$root/build-fuzz}
seconds=60
targets="csv_fuzz tokenizer_json_fuzz tokenizer_encode_fuzz pickle_fuzz onnx_fuzz"
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --targets) targets=${2//,/ }; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

# Largest input per target: big enough for the real seeds, small enough to stay fast.
max_len() {
  case $1 in
    tokenizer_encode_fuzz) echo 4096 ;;
    onnx_fuzz) echo 160000 ;;  # the MiniLM graph skeletons are ~150 KB
    *) echo 65536 ;;
  esac
}

echo "== build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DDOCQUANT_FUZZ=ON \
  -DDOCQUANT_BUILD_TESTS=OFF -DDOCQUANT_BUILD_BENCH=OFF \
  -DONNXRUNTIME_ROOT="${ONNXRUNTIME_ROOT:-$DOCQUANT_CACHE/onnxruntime-1.29.0}" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets

echo "== seeds"
python=$DOCQUANT_CACHE/venvs/setfit/bin/python  # has the onnx module the ONNX seeds need
[[ -x $python ]] || python=python3
# shellcheck disable=SC2086
"$python" "$root/tests/fuzz/make_seeds.py" --out "$build/seeds" --targets "$(tr ' ' ',' <<<"$targets")"

# tokenizer_json_fuzz writes its scratch tokenizer.json to $TMPDIR: keep it in memory.
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
# The sanitizers' reports end the run; LeakSanitizer checks after every input
# (libFuzzer's -detect_leaks, on by default), so a leak is a failure like a crash.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

mkdir -p "$build/crashes" "$build/logs"
failed=()
summary=()
for t in $targets; do
  corpus=$build/corpus/$t
  mkdir -p "$corpus"
  extra=()
  for d in "$root/tests/fuzz/seeds/$t" "$root/tests/fuzz/regressions/$t"; do
    [[ -d $d ]] && extra+=("$d")
  done
  log=$build/logs/$t.log
  echo "== $t: ${seconds}s (log: $log)"
  rc=0
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=30 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$t-" "$corpus" "$build/seeds/$t" "${extra[@]}" >"$log" 2>&1 || rc=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$done_line")
  line=$(printf '%-22s %6ss  execs %-10s cov %-6s ft %-7s corpus %s' "$t" "$seconds" "${execs:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}")
  if [[ $rc -ne 0 || -z $done_line ]]; then
    line+="  FAILED (exit $rc)"
    failed+=("$t")
    grep -E 'ERROR:|SUMMARY:|Test unit written|==[0-9]+==' "$log" | head -20 >&2 || true
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED: ${failed[*]}; the inputs are in $build/crashes/, logs in $build/logs/" >&2
  exit 1
fi
