# Sourced by the scripts in this folder: the one place for the defaults of where things outside
# the repo live. Each can be overridden from the environment.
#   DOCQUANT_CACHE     downloads, venvs, ONNX Runtime, fixtures, baselines (~/.cache/docquant)
#   DOCQUANT_FIXTURES  the fixtures built from real pretrained models ($DOCQUANT_CACHE/fixtures)
#   DOCQUANT_SHARED    the read-only shared data beside the repo (../shared)
#   ONNXRUNTIME_ROOT   the ONNX Runtime release the C++ build links ($DOCQUANT_CACHE/onnxruntime-1.29.0)
export DOCQUANT_CACHE=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
export DOCQUANT_FIXTURES=${DOCQUANT_FIXTURES:-$DOCQUANT_CACHE/fixtures}
export DOCQUANT_SHARED=${DOCQUANT_SHARED:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared}
export ONNXRUNTIME_ROOT=${ONNXRUNTIME_ROOT:-$DOCQUANT_CACHE/onnxruntime-1.29.0}
