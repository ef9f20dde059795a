# Builds the broken inputs under $I (sourced by run.sh).
ok_rows=$(sed -n 2,9p "$dev")  # 8 real SST-2 rows, both classes
printf 'text,label\n%s\n' "$ok_rows" >"$I/ok.csv"

# CSV
: >"$I/empty.csv"
printf 'text,label\n' >"$I/header_only.csv"
printf 'text,category\n%s\n' "$ok_rows" >"$I/no_label_column.csv"
printf 'sentence,label\n%s\n' "$ok_rows" >"$I/no_text_column.csv"
printf 'text,label\ngood film,1\nbad, film,0\n' >"$I/ragged_long.csv"
printf 'text,label\ngood film,1\nbad film\n' >"$I/ragged_short.csv"
printf 'text,label\ngood film,1\n"never closed,0\nbad film,0\n' >"$I/unbalanced_quote.csv"
printf 'text,label\n"good" film,1\n' >"$I/junk_after_quote.csv"
printf 'text,label\ngood film,1\nbad \xff\xfe film,0\n' >"$I/invalid_utf8.csv"
printf '\xef\xbbtext,label\ngood,1\n' >"$I/broken_bom.csv"
printf 'text,label\ngood film,1\nfine film,1\n' >"$I/single_class.csv"
printf 'text,label\ngood film,1\nbad film,7\n' >"$I/unknown_label.csv"
printf 'text,label\ngood film,1\nbad film,\n' >"$I/empty_label.csv"
printf 'text,label\ngood film,1\nbad film,0\nso so,\nmeh,\n' >"$I/partly_labelled.csv"
printf 'text\ngood film\nbad film\n' >"$I/text_only.csv"
printf '\n\n' >"$I/blank.txt"
printf 'text,label,text\ngood,1,x\n' >"$I/duplicate_column.csv"
{ printf 'text,label\n'; head -c $((100 << 20)) /dev/zero | tr '\0' a; printf ',1\nbad film,0\n'; } >"$I/field_100mb.csv"
mkdir -p "$I/csv_folder"
cp "$S/model_head.pkl" "$I/binary.csv"  # a pickle where a CSV should be

# ONNX
head -c 1000 "$M/model.onnx" >"$I/truncated.onnx"
head -c $(($(stat -c %s "$M/model.onnx") / 2)) "$M/model.onnx" >"$I/truncated_half.onnx"
cp "$S/tokenizer.json" "$I/not_onnx.onnx"
: >"$I/empty.onnx"
"$python" "$here/make_onnx.py" "$M/model.onnx" "$I/onnx" || { echo "FAIL: make_onnx.py"; exit 1; }

# SetFit folders: the fixture's files without its torch weights, one thing broken each.
setfit_copy() {
  mkdir -p "$I/$1"
  (cd "$S" && tar cf - --exclude=pytorch_model.bin .) | (cd "$I/$1" && tar xf -)
}
setfit_copy sf_no_tokenizer && rm "$I/sf_no_tokenizer/tokenizer.json" "$I/sf_no_tokenizer/vocab.txt"
setfit_copy sf_no_head && rm "$I/sf_no_head/model_head.pkl"
setfit_copy sf_no_modules && rm "$I/sf_no_modules/modules.json"
setfit_copy sf_modules_json && printf '[{"idx": 0,' >"$I/sf_modules_json/modules.json"
setfit_copy sf_pooling_json && printf '{"word_embedding_dimension": "wide"}' >"$I/sf_pooling_json/1_Pooling/config.json"
setfit_copy sf_tokenizer_json && head -c 5000 "$S/tokenizer.json" >"$I/sf_tokenizer_json/tokenizer.json"
setfit_copy sf_setfit_config && printf '{"labels": 5}' >"$I/sf_setfit_config/config_setfit.json"
setfit_copy sf_sbert_config && printf '{"max_seq_length": -1}' >"$I/sf_sbert_config/sentence_bert_config.json"
# Issue 29 item 13: configs that changed nothing silently. A pooling mode docquant does not
# implement; a default prompt whose tokens pooling would leave out; a default prompt name
# missing from prompts.
setfit_copy sf_pooling_unknown_mode && printf '{"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true, "pooling_mode_median_tokens": true}' >"$I/sf_pooling_unknown_mode/1_Pooling/config.json"
setfit_copy sf_prompt_excluded && printf '{"prompts": {"query": "query: "}, "default_prompt_name": "query"}' >"$I/sf_prompt_excluded/config_sentence_transformers.json" \
  && printf '{"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true, "include_prompt": false}' >"$I/sf_prompt_excluded/1_Pooling/config.json"
setfit_copy sf_prompt_unknown && printf '{"prompts": {"query": "query: "}, "default_prompt_name": "passage"}' >"$I/sf_prompt_unknown/config_sentence_transformers.json"
setfit_copy sf_head_truncated && head -c 100 "$S/model_head.pkl" >"$I/sf_head_truncated/model_head.pkl"
setfit_copy sf_head_exec
python3 -c '
import os, pickle, sys
class Exec:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
open(sys.argv[1], "wb").write(pickle.dumps(Exec()))' "$I/sf_head_exec/model_head.pkl" "$work/PWNED"
# SetFit's differentiable head (use_differentiable_head=True), as the setfit venv's setfit +
# torch save it (joblib.dump, SetFitModel._save_pretrained's call), each changed in one place
# (make_torch_heads.py says how): a torch global outside the allow-list, a float16 head, a
# storage count, a zip entry size, storage bytes nested in storage bytes, a tensor shape past
# its storage, a field that disagrees with the weight.
torch_heads=(global half storage_count zip_size nested_bytes shape fields)
for c in "${torch_heads[@]}"; do setfit_copy "sf_torch_$c"; done
"$python" "$here/make_torch_heads.py" "$I/sf_torch_" || { echo "FAIL: make_torch_heads.py"; exit 1; }
# A multi-label head (SetFit's multi_target_strategy="multi-output"; random 384-wide fit, three
# labels a, b, c): its CSVs hold label sets, names joined by ';'.
setfit_copy sf_multilabel
"$python" - "$I/sf_multilabel/model_head.pkl" <<'PY' || { echo "FAIL: could not fit a multi-label head"; exit 1; }
import sys, joblib, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
rng = np.random.default_rng(0)
X, Y = rng.standard_normal((60, 384)).astype(np.float32), (rng.random((60, 3)) < 0.5).astype(int)
joblib.dump(MultiOutputClassifier(LogisticRegression()).fit(X, Y), sys.argv[1])
PY
printf '{"labels": ["a", "b", "c"], "normalize_embeddings": false}' >"$I/sf_multilabel/config_setfit.json"
printf 'text,label\ngood film,a;c\nbad film,\ndull film,b;x\n' >"$I/multilabel_unknown.csv"
printf 'text,label\ngood film,a;c\nbad film,a;;b\n' >"$I/multilabel_empty_name.csv"
# A 768-wide head (the shared MPNet SST-2 head) beside MiniLM's 384-wide pooling...
setfit_copy sf_head_width && cp "$shared/heads/setfit-sst2-mpnet/model_head.pkl" "$I/sf_head_width/"
# ...and with pooling set to 768 too, so only the ONNX body (384) disagrees.
setfit_copy sf_body_width && cp "$shared/heads/setfit-sst2-mpnet/model_head.pkl" "$I/sf_body_width/" &&
  sed -i 's/"word_embedding_dimension": *384/"word_embedding_dimension": 768/' "$I/sf_body_width/1_Pooling/config.json"
# Hostile round 3 (issue 29): configs that are not regular files, a modules.json path with a NUL.
setfit_copy sf_fifo_tokenizer && rm "$I/sf_fifo_tokenizer/tokenizer.json" && mkfifo "$I/sf_fifo_tokenizer/tokenizer.json"
setfit_copy sf_dev_zero_modules && ln -sf /dev/zero "$I/sf_dev_zero_modules/modules.json"
setfit_copy sf_pooling_folder && rm "$I/sf_pooling_folder/1_Pooling/config.json" && mkdir "$I/sf_pooling_folder/1_Pooling/config.json"
setfit_copy sf_fifo_head && rm "$I/sf_fifo_head/model_head.pkl" && mkfifo "$I/sf_fifo_head/model_head.pkl"
setfit_copy sf_modules_nul && "$python" -c '
import json, sys
path = sys.argv[1]
modules = json.load(open(path))
for m in modules:
    if m["type"].endswith("Pooling"): m["path"] = m["path"] + "\u0000x"
json.dump(modules, open(path, "w"))' "$I/sf_modules_nul/modules.json"
mkdir -p "$I/onnx/fifo_model" && mkfifo "$I/onnx/fifo_model/model.onnx"
cp "$I/ok.csv" "$I/stdin_texts.csv"

chmod -R u+w "$I"

# Outputs
mkdir -p "$O/existing" && echo keep >"$O/existing/file"
echo 'not a folder' >"$O/a_file"
printf 'tuning:\n  objective: performance\n' >"$I/conf.yaml"
ln -s "$S" "$O/link_to_setfit"  # an output path that reaches an input through a symlink

# Hostile inputs, round 2 (issue 20; cases.sh's last section, same item numbers).
# 1. bias.bin of onnx/external_symlink links to a secret outside in/ and out/.
head -c 1536 /dev/urandom >"$work/secret.bin"
ln -s "$work/secret.bin" "$I/onnx/external_symlink/bias.bin"
# 1b. The same through the SetFit folder, whose files quantize copies: a README.md that links
# to the secret, and a 1_Pooling/ that links to a folder outside holding a copy of the config.
setfit_copy sf_file_link && rm "$I/sf_file_link/README.md" && ln -s "$work/secret.bin" "$I/sf_file_link/README.md"
setfit_copy sf_folder_link && mkdir -p "$work/elsewhere" && mv "$I/sf_folder_link/1_Pooling" "$work/elsewhere/" &&
  ln -s "$work/elsewhere/1_Pooling" "$I/sf_folder_link/1_Pooling"

# 4. A normalizer Sequence nested 50,000 deep (2.3 MB, made here, not stored).
setfit_copy sf_deep_json && "$python" - "$I/sf_deep_json/tokenizer.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["normalizer"] = {"type": "Sequence", "normalizers": [j["normalizer"]]}
text = json.dumps(j).replace('"normalizer": {"type": "Sequence", "normalizers": [',
                             '"normalizer": ' + '{"type": "Sequence", "normalizers": [' * 50000, 1)
text = text.replace(']}, "pre_tokenizer"', ']}' * 50000 + ', "pre_tokenizer"', 1)
open(sys.argv[1], "w").write(text)
PY

# 6. NaN in the head's coef_ (onnx/nan_output has a NaN in the model).
setfit_copy sf_head_nan && "$python" -c '
import sys, joblib, numpy as np
h = joblib.load(sys.argv[1]); h.coef_[0, 5] = np.nan; joblib.dump(h, sys.argv[1])' "$I/sf_head_nan/model_head.pkl"

# 7. A Split pattern that backtracks exponentially: Oniguruma's retry limit on 30 a's.
setfit_copy sf_regex && "$python" - "$I/sf_regex/tokenizer.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": "(a|a)*b"}, "behavior": "Isolated", "invert": False}
json.dump(j, open(sys.argv[1], "w"))
PY
printf '%s c b\n' aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa >"$I/a30.txt"

# 8. A tokenizer.json that is a link to itself; a CSV whose name is not UTF-8.
setfit_copy sf_link_loop && rm "$I/sf_link_loop/tokenizer.json" && ln -s tokenizer.json "$I/sf_link_loop/tokenizer.json"
cp "$I/ok.csv" "$I/not_utf8_"$'\xff'".csv"

# 9. MPNet's tokenizer (30,527 ids) in MiniLM's folder (30,522 embedding rows).
setfit_copy sf_mpnet_tokenizer &&
  cp "$shared/heads/setfit-sst2-mpnet/"{tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt} "$I/sf_mpnet_tokenizer/"

# 10. A head that is a folder.
setfit_copy sf_head_folder && rm "$I/sf_head_folder/model_head.pkl" && mkdir "$I/sf_head_folder/model_head.pkl"

# 11. Two classes with one name (config_setfit.json, labelencoder.pkl).
setfit_copy sf_labels_twice && printf '{"labels": ["pos", "pos"]}' >"$I/sf_labels_twice/config_setfit.json"
setfit_copy sf_encoder_twice && printf '{"labels": null}' >"$I/sf_encoder_twice/config_setfit.json" && "$python" -c '
import sys, joblib, numpy as np
from sklearn.preprocessing import LabelEncoder
e = LabelEncoder(); e.classes_ = np.array(["pos", "pos"]); joblib.dump(e, sys.argv[1])' "$I/sf_encoder_twice/labelencoder.pkl"

# classify --output -: an invalid line after the first chunk of 4096 texts.
{ for _ in $(seq 5000); do echo "a fine film"; done; printf 'bad \xff\n'; } >"$I/late_bad.txt"
