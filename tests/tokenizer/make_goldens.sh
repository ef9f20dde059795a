#!/usr/bin/env bash
# ctest fixture: (re)creates the golden venv if needed and writes the tokenizer
# goldens into $1 with the reference library. Exits 77 (ctest: skipped) when the
# venv cannot be created here, e.g. without access to PyPI.
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
shared=${DOCQUANT_SHARED:-$root/../shared}
if [[ ! -d "$shared/data" || ! -d "$shared/heads/setfit-sst2-mpnet" ]]; then
  echo "tokenizer goldens skipped: no shared data at $shared (set DOCQUANT_SHARED)" >&2
  exit 77
fi
if ! "$root/scripts/setup_venvs.sh" tokenizers; then
  echo "tokenizer goldens skipped: could not create the tokenizers venv (scripts/setup_venvs.sh tokenizers)" >&2
  exit 77
fi
exec "$cache/venvs/tokenizers/bin/python" "$root/tools/golden_tokenizers.py" --out "$out"
