#!/usr/bin/env bash
# Builds the docquant Python wheel (python/pyproject.toml: scikit-build-core + nanobind over the
# repository's CMake project), then makes it self-contained with auditwheel: the Debian shared
# libraries the core links are copied into it (docquant.libs/), ONNX Runtime sits beside the
# extension (docquant/libonnxruntime.so.1, RPATH $ORIGIN). Prints the wheel's path last.
#
# Incremental: the CMake build lives in $DOCQUANT_PYTHON_BUILD/cmake (default build-python/),
# so a second run recompiles only what changed. Uses the pybuild venv (tools/venvs/pybuild.txt).
# Run ./scripts/setup.sh first (it calls this).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
ort=$ONNXRUNTIME_ROOT
out=${DOCQUANT_PYTHON_BUILD:-$root/build-python}
venv=$DOCQUANT_CACHE/venvs/pybuild
[[ -x $venv/bin/python ]] || "$root/scripts/setup_venvs.sh" pybuild >&2

start=$(date +%s)
rm -rf "$out/dist" "$out/wheelhouse"
mkdir -p "$out/dist" "$out/wheelhouse"
# No build isolation: the pinned pybuild venv is the build environment (no resolution at build time).
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$venv/bin/pip" wheel --quiet --disable-pip-version-check \
  --no-build-isolation --no-deps "$root/python" -w "$out/dist" \
  -C build-dir="$out/cmake" -C cmake.define.ONNXRUNTIME_ROOT="$ort" -C cmake.define.DOCQUANT_WERROR=ON >&2
raw=$(ls "$out"/dist/docquant-*.whl)
# libonnxruntime.so.1 is in the wheel already (found through RPATH $ORIGIN): not grafted again.
PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair --exclude libonnxruntime.so.1 -w "$out/wheelhouse" "$raw" >&2
wheel=$(ls "$out"/wheelhouse/docquant-*.whl)
echo "build_wheel.sh: $(basename "$wheel") $(du -k "$wheel" | cut -f1) KiB in $(($(date +%s) - start)) s" >&2
echo "$wheel"
