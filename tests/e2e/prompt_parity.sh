#!/usr/bin/env bash
# A default prompt in config_sentence_transformers.json against sentence-transformers 3.0.1's
# encode (prompt_parity.py, `tok` venv from tools/venvs/tok.txt).
# Usage: prompt_parity.sh DOCQUANT FIXTURE SHARED_DATA/sst2_test.csv WORKDIR
# Exits 77 (ctest: skipped) only when the fixture is not built or the venv cannot be made.
set -euo pipefail
bin=$1 name=$2 data=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built; run tools/build_fixtures.py --only $name"
  exit 77
fi
if ! "$here/../../scripts/setup_venvs.sh" tok >/dev/null; then
  echo "SKIPPED: could not create the tok venv (scripts/setup_venvs.sh tok)"
  exit 77
fi
rm -rf "$work"
"$cache/venvs/tok/bin/python" "$here/prompt_parity.py" "$bin" "$fixture" "$data" "$work"
rm -rf "$work"
