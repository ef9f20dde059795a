#!/usr/bin/env bash
# Runs docquant's test suite (after ./scripts/setup.sh): GoogleTest suites through
# ctest, including the parity tests whose golden files the reference Python
# libraries produce in ctest's set-up steps.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DOCQUANT_CACHE=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
export DOCQUANT_FIXTURES=${DOCQUANT_FIXTURES:-$DOCQUANT_CACHE/fixtures}
export DOCQUANT_SHARED=${DOCQUANT_SHARED:-$root/../shared}
build=${DOCQUANT_BUILD:-$root/build}
[[ -f "$build/CMakeCache.txt" ]] || { echo "error: no build in $build; run ./scripts/setup.sh first" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
