#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (issue 8):
# configures $DOCQUANT_ASAN_BUILD (default build-asan) with -DDOCQUANT_SANITIZE=address,undefined,
# builds, and runs ctest there. Any sanitizer report ends its test with a failure.
#
# RelWithDebInfo, not Debug: the suite runs real models and 21,000-text tokenizer goldens;
# at -O0 with ASan they take several times longer, and -O2 -g still gives exact stack traces.
# Extra arguments go to ctest (e.g. -R tokenizer). Run ./scripts/setup.sh first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
build=${DOCQUANT_ASAN_BUILD:-$root/build-asan}
start=$(date +%s)

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDOCQUANT_SANITIZE=address,undefined -DDOCQUANT_BUILD_BENCH=OFF \
  -DONNXRUNTIME_ROOT="$ONNXRUNTIME_ROOT" >/dev/null
cmake --build "$build" -j"$(nproc)"
built=$(date +%s)

# halt_on_error/abort: the first report fails the test; print_stacktrace: UBSan says where.
# detect_leaks: LeakSanitizer at exit of every test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# Only ONNX Runtime's own process-lifetime allocation is suppressed (the file says why).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/scripts/sanitize.lsan.supp:print_suppressions=0}
# cli.limits caps the address space (ulimit -v) to prove memory bounds; ASan reserves ~15 TB
# of shadow address space at start-up, so under it that test can only fail. It runs in the
# plain suite (scripts/test.sh).
rc=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -E '^cli\.limits$' "$@" || rc=$?
end=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s (exit $rc)"
exit $rc
