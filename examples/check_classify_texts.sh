#!/usr/bin/env bash
# The example program on the minilm-sst2 fixture: one line per text, and the same labels
# and probabilities (to 6 digits) as `docquant classify` gives for the same texts.
# Usage: check_classify_texts.sh CLASSIFY_TEXTS DOCQUANT WORKDIR. Exits 77 without the fixture.
set -euo pipefail
example=$1 bin=$2 work=$3
cache=${DOCQUANT_CACHE:-$HOME/.cache/docquant}
fixture=${DOCQUANT_FIXTURES:-$cache/fixtures}/minilm-sst2
[[ -f "$fixture/manifest.json" ]] || { echo "SKIPPED: fixture minilm-sst2 is not built"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
cat >"$work/texts.txt" <<'TEXTS'
a gripping , beautifully acted film that stays with you .
a dull , lifeless mess with nothing to say .
the plot is thin but the performances are wonderful .
i wanted my two hours back .
TEXTS
"$example" "$fixture/setfit" "$fixture/onnx/model.onnx" <"$work/texts.txt" >"$work/example.tsv"
cat "$work/example.tsv"
"$bin" classify --quiet --model_folder "$fixture/setfit" --onnx_model "$fixture/onnx/model.onnx" \
  --input "$work/texts.txt" --output "$work/classify.csv"
python3 - "$work/example.tsv" "$work/classify.csv" <<'PY'
import csv, sys
example = [line.rstrip("\n").split("\t") for line in open(sys.argv[1], encoding="utf-8")]
cli = list(csv.DictReader(open(sys.argv[2], encoding="utf-8")))
assert len(example) == len(cli) == 4, (len(example), len(cli))
for (label, p, text), row in zip(example, cli):
    assert label == row["label"], (text, label, row)
    assert abs(float(p) - float(row["proba_" + label])) < 1e-5, (text, p, row)
print("example program agrees with docquant classify on", len(cli), "texts")
PY
rm -rf "$work"
