#!/usr/bin/env bash
# Broken input to `docquant classify`: each case must exit with its documented code, print
# one message naming what is wrong, and leave no output file (nor a temporary one) behind.
# Also the accepted edge cases: a 1 MB line (the tokenizer truncates it), blank lines, CRLF.
# Usage: classify_errors.sh DOCQUANT WORKDIR. Exits 77 when the minilm-sst2 fixture is not built.
set -uo pipefail
bin=$1 work=$2
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/minilm-sst2
[[ -f "$fixture/manifest.json" ]] || { echo "SKIPPED: fixture minilm-sst2 is not built"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
S="$fixture/setfit" M="$fixture/onnx/model.onnx"

# SetFit folders with one part missing (symlinks to the fixture's files).
mkdir -p "$work/no_tokenizer" "$work/no_head"
for f in "$S"/*; do
  case $(basename "$f") in
    tokenizer.json | vocab.txt) ;;
    *) ln -s "$f" "$work/no_tokenizer/" ;;
  esac
  [[ $(basename "$f") == model_head.pkl ]] || ln -s "$f" "$work/no_head/"
done
printf 'good film\nbad film\n' >"$work/ok.txt"
printf 'sentence,label\ngood,1\n' >"$work/no_text_column.csv"
: >"$work/empty.csv"
: >"$work/empty.txt"
printf 'text\n' >"$work/header_only.csv"
printf 'text\n"good \xff film"\n' >"$work/bad_utf8.csv"
printf 'good film\nbad \xc3\x28 film\n' >"$work/bad_utf8.txt"
# Invalid UTF-8 after the first chunk (4096 texts): the first chunk's rows must not survive.
{ for _ in $(seq 5000); do echo "a fine film"; done; printf 'bad \xff\n'; } >"$work/late_bad.txt"
head -c $((33 << 20)) /dev/zero | tr '\0' a >"$work/huge_line.txt"
failures=0 cases=0

# expect CODE PATTERN OUTPUT_THAT_MUST_NOT_EXIST -- command...
expect() {
  local code=$1 pattern=$2 out=$3
  shift 4
  cases=$((cases + 1))
  "$@" >"$work/stdout" 2>"$work/stderr"
  local got=$?
  local msg
  msg=$(cat "$work/stderr")
  if [[ $got -ne $code ]] || ! grep -q -- "$pattern" "$work/stderr" || [[ -n "$out" && -e "$out" ]] ||
     [[ $code -ne 2 && $(wc -l <"$work/stderr") -ne 1 ]] || compgen -G "$work/*.docquant-tmp-*" >/dev/null; then
    echo "FAIL: $* -> exit $got (want $code), stderr: $msg"
    failures=$((failures + 1))
  else
    echo "ok: exit $got: $msg"
  fi
}

C=("$bin" classify --quiet --model_folder "$S" --onnx_model "$M")
o="$work/preds.csv"
expect 2 "input is required" "$o" -- "${C[@]}" --output "$o"
expect 2 "format must be auto, csv or txt" "$o" -- "${C[@]}" --input "$work/ok.txt" --output "$o" --format xml
expect 2 "applies to CSV input only" "$o" -- "${C[@]}" --input "$work/ok.txt" --output "$o" --text_column body
expect 3 "no column named 'text'" "$o" -- "${C[@]}" --input "$work/no_text_column.csv" --output "$o"
expect 3 "empty.csv: the file is empty" "$o" -- "${C[@]}" --input "$work/empty.csv" --output "$o"
expect 3 "empty.txt: no texts to classify" "$o" -- "${C[@]}" --input "$work/empty.txt" --output "$o"
expect 3 "header_only.csv: no texts to classify" "$o" -- "${C[@]}" --input "$work/header_only.csv" --output "$o"
expect 3 "<stdin>: no texts to classify" "$o" -- "${C[@]}" --input - --output "$o" </dev/null
expect 3 "bad_utf8.csv: line 2: field 1 is not valid UTF-8" "$o" -- "${C[@]}" --input "$work/bad_utf8.csv" --output "$o"
expect 3 "bad_utf8.txt: line 2: invalid UTF-8 at byte 4" "$o" -- "${C[@]}" --input "$work/bad_utf8.txt" --output "$o"
expect 3 "late_bad.txt: line 5001: invalid UTF-8" "$o" -- "${C[@]}" --input "$work/late_bad.txt" --output "$o"
expect 3 "huge_line.txt: line 1 is longer than 32 MiB" "$o" -- "${C[@]}" --input "$work/huge_line.txt" --output "$o"
expect 3 "missing.txt: cannot open" "$o" -- "${C[@]}" --input "$work/missing.txt" --output "$o"
expect 3 "no_tokenizer: no tokenizer.json or vocab.txt" "$o" -- "$bin" classify --model_folder "$work/no_tokenizer" --onnx_model "$M" --input "$work/ok.txt" --output "$o"
expect 3 "no_head/model_head.pkl: missing" "$o" -- "$bin" classify --model_folder "$work/no_head" --onnx_model "$M" --input "$work/ok.txt" --output "$o"
expect 3 "folder has no model.onnx" "$o" -- "$bin" classify --model_folder "$S" --input "$work/ok.txt" --output "$o"
expect 4 "ok.txt/preds.csv: --output: folder '$work/ok.txt' does not exist" "" -- "${C[@]}" --input "$work/ok.txt" --output "$work/ok.txt/preds.csv"
expect 4 "no_such_dir/preds.csv: --output: folder '$work/no_such_dir' does not exist" "" -- "${C[@]}" --input "$work/ok.txt" --output "$work/no_such_dir/preds.csv"
expect 4 "no_head: --output names a folder, not a file" "" -- "${C[@]}" --input "$work/ok.txt" --output "$work/no_head"
expect 4 "ok.txt: --output would overwrite or write into the input '$work/ok.txt'" "" -- "${C[@]}" --input "$work/ok.txt" --output "$work/ok.txt"
[[ "$(cat "$work/ok.txt")" == $'good film\nbad film' ]] || { echo "FAIL: the input file was modified"; failures=$((failures + 1)); }
# The full-disk case: /dev/full accepts the open and fails the write.
if [[ -w /dev/full ]]; then
  cases=$((cases + 1))
  "${C[@]}" --input "$work/ok.txt" --output - >/dev/full 2>"$work/stderr"
  got=$?
  if [[ $got -eq 4 ]] && grep -q "<stdout>: cannot write: No space left on device" "$work/stderr"; then
    echo "ok: exit 4: $(cat "$work/stderr")"
  else
    echo "FAIL: --output - to /dev/full -> exit $got, stderr: $(cat "$work/stderr")"
    failures=$((failures + 1))
  fi
fi

# Accepted: a 1 MB line is one text (truncated to the model's max length by the tokenizer),
# a blank line is an empty text, CRLF line ends are stripped; one output row per input line.
{ head -c $((1 << 20)) /dev/zero | tr '\0' a; printf '\n\r\ngood film\r\n'; } >"$work/edge.txt"
cases=$((cases + 1))
if "${C[@]}" --input "$work/edge.txt" --output "$o" 2>"$work/stderr" && [[ $(wc -l <"$o") -eq 4 ]] &&
   [[ $(head -1 "$o") == "label,proba_0,proba_1" ]]; then
  echo "ok: 1 MB line, blank line and CRLF accepted: $(tr '\n' ' ' <"$o")"
else
  echo "FAIL: edge.txt -> $(cat "$work/stderr"), output: $(head -c 300 "$o" 2>/dev/null)"
  failures=$((failures + 1))
fi
rm -f "$o"

# SIGINT and SIGTERM mid-run (two runs at once): exit 130 / 143, no output, no temporary file.
{ for _ in $(seq 40); do head -n 5000 "$work/late_bad.txt"; done; } >"$work/long.txt"
"${C[@]}" --input "$work/long.txt" --output "$work/int.csv" 2>"$work/int.err" &
int_pid=$!
"${C[@]}" --input "$work/long.txt" --output "$work/term.csv" 2>"$work/term.err" &
term_pid=$!
sleep 4
kill -INT "$int_pid"
kill -TERM "$term_pid"
for sig in int:130 term:143; do
  name=${sig%%:*} want=${sig##*:}
  cases=$((cases + 1))
  if [[ $name == int ]]; then wait "$int_pid"; else wait "$term_pid"; fi
  got=$?
  if [[ $got -eq $want && ! -e "$work/$name.csv" ]] && grep -q "interrupted" "$work/$name.err" &&
     ! compgen -G "$work/$name.csv.docquant-tmp-*" >/dev/null; then
    echo "ok: exit $got on SIG${name^^}: $(cat "$work/$name.err")"
  else
    echo "FAIL: SIG${name^^} -> exit $got (want $want), stderr: $(cat "$work/$name.err"), output exists: $([[ -e "$work/$name.csv" ]] && echo yes || echo no)"
    failures=$((failures + 1))
  fi
done

echo "$((cases - failures)) passed, $failures failed"
rm -rf "$work"
[[ $failures -eq 0 ]]
