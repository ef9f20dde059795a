#!/usr/bin/env bash
# ctest fixture (models.setup): builds the coverage matrix's tiny models into $1 with
# tools/tiny_models.py in the setfit venv (~1 min on 2 cores). Rebuilt only when the generator
# changed (a stamp holds its sha256). Exits 77 (ctest: skipped) only when the shared data or
# the venvs are absent, as on a machine where scripts/setup.sh has not run.
set -euo pipefail
out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
shared=${DOCQUANT_SHARED:-$root/../shared}
setfit_python=$cache/venvs/setfit/bin/python
if [[ ! -f "$shared/data/sst2_train.csv" || ! -d "$shared/heads/setfit-sst2-mpnet" ]]; then
  echo "tiny models skipped: no shared data at $shared (set DOCQUANT_SHARED)" >&2
  exit 77
fi
if [[ ! -x "$setfit_python" ]]; then
  echo "tiny models skipped: no setfit venv ($setfit_python); scripts/setup_venvs.sh setfit" >&2
  exit 77
fi
# The XLM-R tokenizer is assembled by the tokenizers venv (a newer `tokenizers` than setfit's).
"$root/scripts/setup_venvs.sh" tokenizers >/dev/null
DOCQUANT_SHARED=$shared "$cache/venvs/tokenizers/bin/python" "$root/tools/tokenizer_sources.py" minilm xlmr-unigram-en >/dev/null
stamp=$(cat "$root/tools/tiny_models.py" "$cache/tokenizers/xlmr-unigram-en/tokenizer.json" | sha256sum | cut -d' ' -f1)
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" ]]; then
  echo "tiny models up to date in $out"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
DOCQUANT_SHARED=$shared "$setfit_python" "$root/tools/tiny_models.py" --out "$out" 2> "$out/build.log"
echo "$stamp" > "$out/stamp"
