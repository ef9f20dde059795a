#!/usr/bin/env bash
# Progress a user can plan with (issue 19): on a terminal quantize draws a live
# "rows done/total, elapsed, ETA" line for the baseline and each trial; when stderr is not a
# terminal only one line per phase is printed (no carriage returns in a log); --quiet prints
# nothing. The terminal is a pseudo-terminal from util-linux's `script`.
# Usage: progress.sh DOCQUANT WORKDIR
set -uo pipefail
source "$(dirname "$0")/fixture_env.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v script >/dev/null || fail "util-linux 'script' is missing (Debian package bsdutils)"
rm -rf "$work"/*
export DOCQUANT_CACHE="$work/cache"  # empty: the baseline is evaluated every run
head -257 "$shared/data/sst2_dev.csv" >"$work/cal.csv"  # 256 rows, 8 batches
q=("$bin" quantize --threads 1 --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit"
  --calibration_data "$work/cal.csv")
printf -v tty_cmd '%q ' "${q[@]}" --output_folder "$work/tty"
TERM=xterm script -qec "$tty_cmd" /dev/null >"$work/tty.log" 2>&1 || fail "quantize on a terminal: $(tail -3 "$work/tty.log")"
grep -qE 'baseline: 256/256 rows \(100%\)  [0-9]+s elapsed, ETA' "$work/tty.log" || fail "no live baseline counter: $(head -c 600 "$work/tty.log")"
grep -qE 'trial 1: [0-9]+/256 rows' "$work/tty.log" || fail "no live trial counter"
grep -q $'\x1b\[K' "$work/tty.log" || fail "the live line is never cleared"

"${q[@]}" --output_folder "$work/log" >/dev/null 2>"$work/log.err" || fail "quantize with stderr to a file"
grep -q 'fp32 baseline accuracy' "$work/log.err" || fail "no phase line in the log"
! grep -q $'\r' "$work/log.err" || fail "carriage returns in a log (stderr is not a terminal)"
! grep -q 'rows (' "$work/log.err" || fail "a live counter in a log"

printf -v quiet_cmd '%q ' "${q[@]}" --quiet --output_folder "$work/quiet"
TERM=xterm script -qec "$quiet_cmd" /dev/null >"$work/quiet.log" 2>&1 || fail "quantize --quiet on a terminal"
! grep -q 'rows (' "$work/quiet.log" || fail "--quiet drew a counter"
cmp "$work/tty/model.onnx" "$work/log/model.onnx" || fail "progress changed the model"
rm -rf "$work" && echo "progress: live counter on a terminal, one line per phase in a log, nothing under --quiet"
