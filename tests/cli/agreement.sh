#!/usr/bin/env bash
# The agreement criterion and unlabelled calibration (issue 27), on minilm-sst2 and sst2_dev:
#   1. a CSV with only a text column quantizes: criterion agreement, no accuracy, every trial's
#      agreement recorded, final agreement >= A, and it is what `eval --compare` measures;
#   2. the same texts as a .txt give the byte-identical model;
#   3. a labelled CSV with --criterion agreement records accuracy beside agreement;
#   4. a run whose best trial misses A exits 5 with the figure it reached, writing nothing.
# A = 0.97 so that the all-int8 first trial (~98 %) passes and the test stays short.
# Usage: agreement.sh DOCQUANT WORKDIR
set -uo pipefail
source "$(dirname "$0")/fixture_env.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "${work:?}"/*
export DOCQUANT_CACHE="$work/cache"
csv="$shared/data/sst2_dev.csv"
python3 - "$csv" "$work" <<'PY' || fail "making the unlabelled inputs"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
with open(f"{sys.argv[2]}/texts.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f); w.writerow(["text"]); [w.writerow([r["text"]]) for r in rows]
with open(f"{sys.argv[2]}/texts.txt", "w", encoding="utf-8") as f:
    f.writelines(r["text"].replace("\n", " ") + "\n" for r in rows)
PY
q=(quantize --onnx_model_folder "$fixture/onnx" --setfit_model_folder "$fixture/setfit" --threads 2 --quiet)

"$bin" "${q[@]}" --calibration_data "$work/texts.csv" --min_agreement 0.97 --output_folder "$work/csv" >"$work/csv.out" \
  || fail "a text-only CSV did not quantize"
grep -q "unlabelled: fp32's answers are the labels" "$work/csv.out" || fail "the summary does not say the run was unlabelled"
"$bin" "${q[@]}" --calibration_data "$work/texts.txt" --min_agreement 0.97 --output_folder "$work/txt" >/dev/null \
  || fail "a .txt did not quantize"
cmp -s "$work/csv/model.onnx" "$work/txt/model.onnx" || fail "the .txt and the text-only CSV gave different models"
"$bin" "${q[@]}" --calibration_data "$csv" --criterion agreement --min_agreement 0.97 --output_folder "$work/lab" \
  >/dev/null || fail "labelled --criterion agreement"
"$bin" eval --model_folder "$work/csv" --data "$csv" --compare "$fixture/setfit" --compare_onnx "$fixture/onnx/model.onnx" \
  --threads 2 --json "$work/eval.json" >/dev/null || fail "eval --compare"

"$bin" "${q[@]}" --calibration_data "$work/texts.csv" --min_agreement 1.0 --max_trials 2 --output_folder "$work/miss" \
  >/dev/null 2>"$work/miss.err"
rc=$?
[[ $rc == 5 ]] || { cat "$work/miss.err" >&2; fail "a missed agreement criterion exited $rc, not 5"; }
[[ ! -e "$work/miss" ]] || fail "a run that missed the criterion left an output folder"
grep -qE "agreement with fp32 >= 100%: need >= 1.0000\) in 2 trials .*reached agreement (at most \(decided after [0-9]+ of 872 rows\) )?0\.9[0-9]{3}" "$work/miss.err" \
  || { cat "$work/miss.err" >&2; fail "the message does not give the figure the best trial reached"; }

python3 - "$work" <<'PY' || fail "see above"
import json, sys
w = sys.argv[1]
r = json.load(open(f"{w}/csv/quantization.json")); lab = json.load(open(f"{w}/lab/quantization.json"))
e = json.load(open(f"{w}/eval.json"))
ok = True
def check(cond, what):
    global ok
    if not cond: print("FAIL:", what); ok = False
check(r["criterion"] == {"metric": "agreement", "min_agreement": 0.97, "text": "agreement with fp32 >= 97%"}, r["criterion"])
check(r["inputs"]["calibration_data"]["labelled"] is False, "the record does not say the rows were unlabelled")
check(r["criterion_met"] and r["final_agreement"] >= 0.97, f"final agreement {r['final_agreement']}")
check(r["baseline_accuracy"] is None and r["final_accuracy"] is None, "an unlabelled run reported an accuracy")
check(all(t["accuracy"] is None and 0 < t["agreement"] <= 1 for t in r["trials"]), r["trials"])
check(abs(e["agreement"] - r["final_agreement"]) < 1e-12, f"eval --compare measures {e['agreement']}, quantize {r['final_agreement']}")
bins = r["flips_by_margin"]
check([b["min_margin"] for b in bins] == [0, 0.01, 0.05, 0.1] and sum(b["rows"] for b in bins) == e["rows"], bins)
flips = sum(b["flips"] for b in bins)
check(flips == round((1 - e["agreement"]) * e["rows"]), f"{flips} flips in the histogram, eval counts {(1 - e['agreement']) * e['rows']:.1f}")
check(lab["criterion"]["metric"] == "agreement" and lab["inputs"]["calibration_data"]["labelled"] is True, lab["criterion"])
check(lab["final_accuracy"] is not None and all(t["accuracy"] is not None for t in lab["trials"]), "labelled run lost its accuracy")
check(lab["final_agreement"] == r["final_agreement"], "labels changed the agreement of the same texts")
print(f"unlabelled: agreement {r['final_agreement']:.4f} = eval's; flips by margin {[b['flips'] for b in bins]}; "
      f"labelled: accuracy {lab['final_accuracy']:.4f}, agreement {lab['final_agreement']:.4f}")
sys.exit(0 if ok else 1)
PY
echo PASS
