#!/usr/bin/env bash
# Runs one coverage-matrix cell (model_cell.py) with the setfit venv's Python.
# Usage: model_cell.sh DOCQUANT MODELS_DIR ARCH EXPORTER WORKDIR
set -euo pipefail
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
python=${DOCQUANT_PARITY_PYTHON:-$cache/venvs/setfit/bin/python}
if [[ ! -f "$2/$3/facts.json" ]]; then
  echo "FAIL: $2/$3 was not built (ctest models.setup writes it)"
  exit 1
fi
rm -rf "$5"
exec "$python" "$(dirname "$0")/model_cell.py" "$@"
