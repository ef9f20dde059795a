#!/usr/bin/env bash
# Texts longer than max_seq_length on the real minilm-sst2 fixture (long_texts.py).
# Usage: long_texts.sh DOCQUANT FIXTURE SHARED_DATA/sst2_dev.csv WORKDIR
# Exits 77 (ctest: skipped) only when the fixture is not built.
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
python=${DOCQUANT_PARITY_PYTHON:-$cache/venvs/setfit/bin/python}
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built; run: $python tools/build_fixtures.py --only $name"
  exit 77
fi
rm -rf "$work"
"$python" "$(dirname "$0")/long_texts.py" "$bin" "$fixture" "$(dirname "$data")" "$work"
rm -rf "$work"
