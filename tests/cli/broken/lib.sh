# Helpers for the broken-input suite (sourced by run.sh).
#
#   check ID CODE OUT FACT... -- COMMAND...
# runs COMMAND and passes when: it exits with CODE; every FACT (a fixed string) is in
# its stderr; OUT (or '-' for none) does not exist afterwards unless it existed before;
# no file appeared or vanished under $work/out or $work/in; no *.docquant-tmp-* exists
# under $work or the fixture; and every existing path on the command line (inputs,
# and a pre-existing OUT) is unchanged (tree_hash) before and after. At most 3 lines on
# stderr, or $max_lines when set. The command's stdout is kept in $work/stdout.last.
#
#   pass_if ID WHAT TEST... : a case decided by a test (e.g. [[ -p $fifo ]]) after a command.

failures=0 cases=0

# Every file under the given paths, with its name: the sha256 of files under 8 MiB; for
# bigger ones (model.onnx, pytorch_model.bin) inode, size, mtime and ctime in ns, which
# any write changes, and run.sh hashes those fully before and after the whole suite.
tree_hash() {
  local p
  for p in "$@"; do
    find "$p" -type f -size -8M -print0 | sort -z | xargs -0 -r sha256sum
    find "$p" -type f -size +8M -print0 | sort -z | xargs -0 -r stat -c '%i %s %.9Y %.9Z %n'
  done
}

listing() { find "$work/in" "$work/out" -mindepth 1 2>/dev/null | sort; }

check() {
  local id=$1 code=$2 out=$3
  shift 3
  local facts=()
  while [[ $# -gt 0 && $1 != -- ]]; do facts+=("$1"); shift; done
  shift
  cases=$((cases + 1))
  local paths=() arg
  for arg in "$@"; do [[ $arg == /* && -e $arg && $arg != /dev/* ]] && paths+=("$arg"); done
  local out_existed=0
  [[ $out != - && -e $out ]] && out_existed=1
  local before listed
  before=$(tree_hash "${paths[@]}")
  listed=$(listing)
  "$@" >"$work/stdout" 2>"$work/stderr" </dev/null
  local got=$? why=()
  [[ $got -eq $code ]] || why+=("exit $got, want $code")
  local f
  for f in "${facts[@]}"; do grep -qF -- "$f" "$work/stderr" || why+=("stderr lacks '$f'"); done
  [[ $(grep -c . "$work/stderr") -le ${max_lines:-3} ]] || why+=("more than ${max_lines:-3} lines on stderr")
  if [[ $out != - && $out_existed -eq 0 && -e $out ]]; then why+=("output $out appeared"); fi
  [[ "$(listing)" == "$listed" ]] || why+=("files appeared or vanished: $(diff <(echo "$listed") <(listing) | grep '^[<>]' | head -3 | tr '\n' ' ')")
  local tmp
  tmp=$(find "$work" "$fixture" -name '*.docquant-tmp-*' 2>/dev/null | head -1)
  [[ -z $tmp ]] || why+=("temporary $tmp left")
  local after
  after=$(tree_hash "${paths[@]}")
  [[ "$after" == "$before" ]] || why+=("an input changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -4 | tr '\n' ' ')")
  if [[ ${#why[@]} -eq 0 ]]; then
    echo "ok   $id: exit $got: $(head -c 220 "$work/stderr" | head -1)"
  else
    failures=$((failures + 1))
    echo "FAIL $id: $(IFS=';'; echo "${why[*]}")"
    echo "     command: $*"
    sed 's/^/     stderr: /' "$work/stderr" | head -5
  fi
  mv "$work/stdout" "$work/stdout.last"
  rm -f "$work/stderr"
}

pass_if() {
  local id=$1 what=$2
  shift 2
  cases=$((cases + 1))
  if "$@"; then
    echo "ok   $id: $what"
  else
    failures=$((failures + 1))
    echo "FAIL $id: $what"
  fi
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or SECONDS pass
# (for what another process finishes in the background; a loaded machine can be slow).
wait_until() {
  local tries=$(($1 * 10))
  shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}
