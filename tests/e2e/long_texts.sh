#!/usr/bin/env bash
# Texts longer than max_seq_length on the real minilm-sst2 fixture (long_texts.py).
# Usage: long_texts.sh DOCQUANT FIXTURE SHARED_DATA/sst2_dev.csv WORKDIR
# Exits 77 (ctest: skipped) only when the fixture is not built.
set -euo pipefail
source "$(dirname "$0")/fixture_env.sh"
rm -rf "$work"
"$python" "$(dirname "$0")/long_texts.py" "$bin" "$fixture" "$(dirname "$data")" "$work"
rm -rf "$work"
