#!/usr/bin/env bash
# ctest bench.peer_string_classes: peer_string_classes.py in the inc venv, where INC's eval
# function runs the harness (run_peers.py runs the same tools/fixtures/onnx_eval.py).
# Usage: peer_string_classes.sh DOCQUANT_BIN WORK_DIR. Exit 77 when the fixture is not built.
set -euo pipefail
python=${DOCQUANT_CACHE:-$HOME/.cache/docquant}/venvs/inc/bin/python
if [[ ! -x $python ]]; then
  echo "error: $python not found (scripts/setup_venvs.sh inc)" >&2
  exit 1
fi
exec "$python" "$(dirname "$0")/peer_string_classes.py" "$1" "$2"
