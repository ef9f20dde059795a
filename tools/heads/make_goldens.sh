#!/usr/bin/env bash
# Builds the scikit-learn venvs (if needed) and writes golden heads for each into OUT/<venv>.
# Usage: tools/heads/make_goldens.sh OUT [VENV ...]   (default: every tools/venvs/sklearn-*.txt)
# ctest runs it as the setfit_goldens fixture; tests/setfit/head_parity_test.cc reads OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: make_goldens.sh OUT [VENV ...]}
shift
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
shared=${DOCQUANT_SHARED:-$root/../shared}
venvs=("$@")
if [[ ${#venvs[@]} -eq 0 ]]; then
  for f in "$root"/tools/venvs/sklearn-*.txt; do venvs+=("$(basename "$f" .txt)"); done
fi
for v in "${venvs[@]}"; do
  "$root/scripts/setup_venvs.sh" "$v"
  real=()
  [[ -f "$shared/heads/setfit-sst2-mpnet/model_head.pkl" ]] && real=(--real-head "$shared/heads/setfit-sst2-mpnet")
  rm -rf "${out:?}/$v"
  "$cache/venvs/$v/bin/python" "$root/tools/golden_heads.py" --out "$out/$v" "${real[@]}"
done

# Pooling goldens from sentence-transformers, in the setfit venv (tools/venvs/setfit.txt,
# also used by the fixture builder). Built here if missing; a failure leaves the pooling
# parity test skipped rather than failing the head goldens.
if [[ -f "$root/tools/venvs/setfit.txt" ]]; then
  if "$root/scripts/setup_venvs.sh" setfit; then
    rm -rf "${out:?}/pooling"
    "$cache/venvs/setfit/bin/python" "$root/tools/heads/golden_pooling.py" --out "$out/pooling"
  else
    echo "warning: could not build the setfit venv; no pooling goldens" >&2
  fi
fi
