#!/usr/bin/env bash
# Writes the oracle files the SetFit parity tests read, into OUT:
#   OUT/pooling/               sentence-transformers' Pooling on random tokens (setfit venv)
#   OUT/fixture-embeddings/    real text embedded by each SetFit fixture's body (setfit venv)
#   OUT/<sklearn venv>/        heads trained and scored by each pinned scikit-learn
#   OUT/setfit-venv/           SetFit's differentiable heads trained and scored by setfit (setfit venv)
# Builds the sklearn venvs it needs (scripts/setup_venvs.sh is idempotent); uses the setfit
# venv only if it exists.
# Usage: tools/heads/make_goldens.sh OUT [SKLEARN_VENV ...]   (default: tools/venvs/sklearn-*.txt)
# ctest runs it as the setfit_goldens fixture; tests/setfit/*parity_test.cc read OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: make_goldens.sh OUT [VENV ...]}
shift
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
shared=${DOCQUANT_SHARED:-$root/../shared}
export DOCQUANT_SHARED="$shared"
venvs=("$@")
if [[ ${#venvs[@]} -eq 0 ]]; then
  for f in "$root"/tools/venvs/sklearn-*.txt; do venvs+=("$(basename "$f" .txt)"); done
fi
mkdir -p "$out"

# sentence-transformers steps, in the setfit venv (tools/venvs/setfit.txt). That venv belongs to
# the fixture builder, which may be running in it: it is used when present, never (re)built
# here. Without it the pooling and real-embedding checks skip; the sklearn goldens still run.
st_python="$cache/venvs/setfit/bin/python"
if [[ -x "$st_python" ]] && "$st_python" -c "import sentence_transformers" 2>/dev/null; then
  rm -rf "${out:?}/pooling" "${out:?}/fixture-embeddings"
  "$st_python" "$root/tools/heads/golden_pooling.py" --out "$out/pooling" ||
    echo "warning: golden_pooling.py failed; no pooling goldens" >&2
  "$st_python" "$root/tools/heads/fixture_embeddings.py" --out "$out/fixture-embeddings" ||
    echo "warning: fixture_embeddings.py failed; fixture heads get random embeddings only" >&2
  rm -rf "${out:?}/setfit-venv"
  "$st_python" "$root/tools/golden_heads.py" --setfit-heads --out "$out/setfit-venv" ||
    echo "warning: golden_heads.py --setfit-heads failed; no SetFitHead goldens" >&2
else
  echo "warning: no setfit venv at $st_python (scripts/setup_venvs.sh setfit); no pooling goldens, no real embeddings" >&2
fi

for v in "${venvs[@]}"; do
  "$root/scripts/setup_venvs.sh" "$v"
  real=()
  [[ -f "$shared/heads/setfit-sst2-mpnet/model_head.pkl" ]] && real=(--real-head "$shared/heads/setfit-sst2-mpnet")
  rm -rf "${out:?}/$v"
  "$cache/venvs/$v/bin/python" "$root/tools/golden_heads.py" --out "$out/$v" "${real[@]}"
done
