# Sourced by the CLI test scripts (broken/run.sh, interrupt.sh, limits.sh) after
# `set -uo pipefail`, with their arguments: DOCQUANT WORKDIR. Sets bin, work (absolute),
# fixture (minilm-sst2), shared, python (a venv with the onnx module), and exits 77 —
# ctest's skip code — when the fixture, the shared data or (with need_onnx=1 set before
# sourcing) the onnx module is missing, naming what is missing.
bin=$1
mkdir -p "$2" && work=$(cd "$2" && pwd)
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/minilm-sst2
shared=${DOCQUANT_SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared}
python=${DOCQUANT_ONNX_PYTHON:-$cache/venvs/setfit/bin/python}
[[ -f "$fixture/manifest.json" ]] || { echo "SKIPPED: fixture minilm-sst2 is not built ($fixture)"; exit 77; }
[[ -f "$shared/data/sst2_dev.csv" ]] || { echo "SKIPPED: shared data missing ($shared)"; exit 77; }
if [[ ${need_onnx:-0} == 1 ]]; then
  "$python" -c 'import onnx' 2>/dev/null || { echo "SKIPPED: $python has no onnx module"; exit 77; }
fi
