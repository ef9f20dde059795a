# Sourced by the fixture-backed e2e scripts after `set -euo pipefail`, with their first four
# arguments DOCQUANT FIXTURE DATA WORKDIR: sets bin, name, data, work, cache, fixture (the
# fixture's folder under $DOCQUANT_FIXTURES) and python (the venv with setfit, HF tokenizers
# and onnxruntime), and exits 77 -- ctest's skip code -- when the fixture is not built.
bin=$1 name=$2 data=$3 work=$4
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/$name
python=${DOCQUANT_PARITY_PYTHON:-$cache/venvs/setfit/bin/python}
if [[ ! -f "$fixture/manifest.json" ]]; then
  echo "SKIPPED: fixture $name is not built; run: $python tools/build_fixtures.py --only $name"
  exit 77
fi
