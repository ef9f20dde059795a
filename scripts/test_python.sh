#!/usr/bin/env bash
# The Python package's tests (after ./scripts/setup.sh; scripts/test.sh runs this):
#   1. builds the wheel (scripts/build_wheel.sh; incremental, so cheap when nothing changed)
#   2. makes a FRESH venv holding only that wheel, numpy and pytest (python/tests/requirements.txt)
#      and runs python/tests there: parity with `docquant classify` and the Python reference
#      path, quantize end to end, errors, Ctrl-C, threads;
#   3. installs the same wheel into the spark venv (tools/venvs/spark.txt: pyspark, pandas,
#      pyarrow) and runs python/tests/spark on a local Spark (local[2], Java 17).
# Writes JUnit files to $DOCQUANT_PYTHON_BUILD/junit/ for scripts/test_summary.py.
# Extra arguments go to both pytest runs (e.g. -k threads).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
build=${DOCQUANT_BUILD:-$root/build}
out=${DOCQUANT_PYTHON_BUILD:-$root/build-python}
# `docquant classify` for the parity tests: the C++ suite's binary (the wheel's own CLI is
# tested through its console script in test_packaging.py).
export DOCQUANT_CLI=${DOCQUANT_CLI:-$build/src/cli/docquant}
start=$(date +%s)

wheel=$("$root/scripts/build_wheel.sh")
built=$(date +%s)

venv=$out/venv-test
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" -r "$root/python/tests/requirements.txt"
mkdir -p "$out/junit"
rc=0
# From the tests folder, so that `import docquant` finds the installed wheel, not python/docquant.
(cd "$root/python/tests" && "$venv/bin/python" -m pytest -q -p no:cacheprovider --ignore=spark \
  --junitxml="$out/junit/pytest-python.xml" "$@") || rc=$?
tested=$(date +%s)

spark=$DOCQUANT_CACHE/venvs/spark
if [[ -d "$root/python/tests/spark" ]]; then
  [[ -x $spark/bin/python ]] || "$root/scripts/setup_venvs.sh" spark
  "$spark/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
  (cd "$root/python/tests/spark" && "$spark/bin/python" -m pytest -q -p no:cacheprovider \
    --junitxml="$out/junit/pytest-spark.xml" "$@") || rc=$?
fi
end=$(date +%s)
echo "test_python.sh: wheel $((built - start)) s, python tests $((tested - built)) s, spark tests $((end - tested)) s (exit $rc)"
exit $rc
