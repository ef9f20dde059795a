#!/usr/bin/env bash
# SIGINT / SIGTERM / SIGKILL during `docquant quantize` once it is evaluating:
# - INT -> exit 130, TERM -> exit 143 (128 + signal), a message, no OUT, no temporary folder;
# - KILL -> no OUT, at worst OUT.docquant-tmp-<pid>-<run>, which the next run on OUT removes
#   (a temporary folder a live run holds locked stops it instead);
# - a killed commit's OUT.docquant-tmp-<pid>.old (the previous OUT moved aside) is moved back.
# Usage: interrupt.sh DOCQUANT WORKDIR. Exits 77 when the fixture or shared data is missing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/fixture_env.sh"
rm -rf "$work" && mkdir -p "$work"
head -201 "$shared/data/sst2_dev.csv" >"$work/cal.csv"  # 200 rows: evaluation takes seconds
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
Q=("$bin" quantize --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit")

# Starts quantize into $work/$1 and waits until it has measured the fp32 baseline
# (it is then evaluating quantized trials); sets pid.
start_evaluating() {
  "${Q[@]}" --calibration_data "$work/cal.csv" --output_folder "$work/$1" >"$work/$1.stdout" 2>"$work/$1.stderr" &
  pid=$!
  for _ in $(seq 1 600); do
    grep -q "fp32 baseline accuracy" "$work/$1.stderr" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  fail "$1: quantize never reached evaluation: $(tail -3 "$work/$1.stderr")"
  return 1
}

no_output() {  # $1: output name
  [[ ! -e "$work/$1" ]] || fail "$1: the output folder exists"
  local tmp
  tmp=$(compgen -G "$work/$1.docquant-tmp-*")
  [[ -z $tmp ]] || fail "$1: temporary folder left: $tmp"
}

for sig in INT TERM; do
  out=out_$sig
  if start_evaluating "$out"; then
    t0=$(date +%s.%N)
    kill -s "$sig" "$pid"
    wait "$pid"
    rc=$?
    latency=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    want=$([[ $sig == INT ]] && echo 130 || echo 143)
    [[ $rc -eq $want ]] || fail "SIG$sig: exit $rc, want $want"
    grep -q "interrupted: stopped by a signal" "$work/$out.stderr" || fail "SIG$sig: no message: $(tail -2 "$work/$out.stderr")"
    no_output "$out"
    echo "SIG$sig: exit $rc ${latency}s after the signal; $(grep interrupted "$work/$out.stderr")"
  fi
done

# SIGKILL: no OUT; the temporary folder is clearly named with the pid.
if start_evaluating out_KILL; then
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  [[ ! -e "$work/out_KILL" ]] || fail "SIGKILL: OUT exists"
  compgen -G "$work/out_KILL.docquant-tmp-$pid-*" >/dev/null || echo "note: SIGKILL left no temporary folder"
  echo "SIGKILL: left $(cd "$work" && echo out_KILL*)"
  # The next run on the same OUT removes the dead run's folder (no longer locked). A folder
  # that a live run holds locked (flock(1) stands in for one) stops it: another run is writing.
  live="$work/out_KILL.docquant-tmp-$$-0"
  mkdir "$live"
  # The holder execs into sleep, so killing $holder releases the lock (flock(1)'s child
  # would outlive flock and keep both the lock and this script's stdout).
  (exec 9<"$live" && flock 9 && exec sleep 600) >/dev/null 2>&1 & holder=$!
  for _ in $(seq 100); do flock -n "$live" true || break; sleep 0.05; done
  "${Q[@]}" --quiet --output_folder "$work/out_KILL" >/dev/null 2>"$work/next.stderr"
  rc=$?
  [[ $rc -eq 4 ]] && grep -q "another run is writing this output folder (docquant, pid $$)" "$work/next.stderr" ||
    fail "a locked temporary folder: exit $rc: $(cat "$work/next.stderr")"
  [[ -d "$live" ]] || fail "the next run removed a live run's temporary folder"
  kill "$holder"; wait "$holder" 2>/dev/null
  "${Q[@]}" --quiet --output_folder "$work/out_KILL" >/dev/null 2>"$work/next.stderr" || fail "next run: $(cat "$work/next.stderr")"
  [[ -f "$work/out_KILL/model.onnx" && -f "$work/out_KILL/quantization.json" ]] || fail "next run wrote no OUT"
  [[ -z $(compgen -G "$work/out_KILL.docquant-tmp-*") ]] || fail "the next run left a temporary folder: $(cd "$work" && echo out_KILL.*)"
  echo "next run: refused while a temporary folder was locked; then OUT written, the stale folders removed"
fi

# A run killed inside commit(), after moving the old OUT aside: the next run puts it back
# (and, OUT being non-empty without --overwrite, stops there with exit 4).
sh -c 'exit 0' & dead=$!
wait "$dead"
mkdir -p "$work/out_old.docquant-tmp-$dead.old" && echo previous >"$work/out_old.docquant-tmp-$dead.old/file"
"${Q[@]}" --quiet --output_folder "$work/out_old" >/dev/null 2>"$work/old.stderr"
rc=$?
[[ $rc -eq 4 ]] && grep -q "exists and is not empty" "$work/old.stderr" || fail "moved-aside OUT: exit $rc: $(cat "$work/old.stderr")"
[[ "$(cat "$work/out_old/file" 2>/dev/null)" == previous ]] || fail "the previous OUT was not moved back"
[[ -z $(compgen -G "$work/out_old.docquant-tmp-*") ]] || fail "the .old folder is still there"
echo "moved-aside OUT restored: exit $rc"

[[ $failures -eq 0 ]] && rm -rf "$work" && echo "interrupt: all checks passed"
[[ $failures -eq 0 ]]
