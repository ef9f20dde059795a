#!/usr/bin/env bash
# Runs docquant's test suite (after ./scripts/setup.sh): GoogleTest suites through
# ctest, including the parity tests whose golden files the reference Python
# libraries produce in ctest's set-up steps; then the Python package's tests
# (scripts/test_python.sh: the wheel in a fresh venv, pytest, and the Spark tests).
# Ends with one line per runner and the total (scripts/test_summary.py).
# Extra arguments go to ctest (e.g. -R tokenizer); DOCQUANT_SKIP_PYTHON=1 runs ctest only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
build=${DOCQUANT_BUILD:-$root/build}
python_build=${DOCQUANT_PYTHON_BUILD:-$root/build-python}
[[ -f "$build/CMakeCache.txt" ]] || { echo "error: no build in $build; run ./scripts/setup.sh first" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)"
mkdir -p "$build/junit"
rm -f "$build/junit/ctest.xml" "$python_build"/junit/*.xml
rc=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --output-junit "$build/junit/ctest.xml" "$@" || rc=$?
results=("$build/junit/ctest.xml")
if [[ -z ${DOCQUANT_SKIP_PYTHON:-} ]]; then
  "$root/scripts/test_python.sh" || rc=$?
  results+=("$python_build/junit/pytest-python.xml" "$python_build/junit/pytest-spark.xml")
fi
echo
"$root/scripts/test_summary.py" "${results[@]}" || rc=1
exit $rc
