#!/usr/bin/env bash
# Creates one Python venv per requirements file in tools/venvs/NAME.txt, at
# $DOCQUANT_CACHE/venvs/NAME, with Debian's /usr/bin/python3 (3.11; Debian's
# CPU-only python3-torch lives there). A first line "# venv-options: ..." passes
# options to `python3 -m venv` (e.g. --system-site-packages to see python3-torch).
# Idempotent: a venv is rebuilt only when its requirements file changed.
# A line "# venv-default: no" keeps a venv out of the default set (nothing in setup.sh or the
# tests needs it; e.g. bench/peer's OpenVINO/NNCF/CTranslate2 peers): name it to create it.
# Usage: scripts/setup_venvs.sh [NAME ...]   (default: every tools/venvs/*.txt but those)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/env.sh"
cache=$DOCQUANT_CACHE
python=/usr/bin/python3

shopt -s nullglob
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for f in "$root"/tools/venvs/*.txt; do
    grep -q '^# venv-default: no' "$f" || names+=("$(basename "$f" .txt)")
  done
fi

for name in "${names[@]}"; do
  req="$root/tools/venvs/$name.txt"
  [[ -f "$req" ]] || { echo "error: no requirements file $req" >&2; exit 1; }
  venv="$cache/venvs/$name"
  stamp=$(sha256sum "$req" | cut -d' ' -f1)
  if [[ -f "$venv/.requirements.sha256" && "$(cat "$venv/.requirements.sha256")" == "$stamp" ]]; then
    echo "venv $name is up to date ($venv)"
    continue
  fi
  opts=$(sed -n '1s/^# venv-options: *//p' "$req")
  echo "creating venv $name in $venv"
  rm -rf "$venv"
  # shellcheck disable=SC2086
  "$python" -m venv $opts "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip==24.3.1
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$stamp" >"$venv/.requirements.sha256"
done
