# The case table (sourced by run.sh): check ID CODE OUT FACT... -- COMMAND...
# Exit codes: 2 usage, 3 input, 4 output (docs/errors.md).

# --- CSV ---------------------------------------------------------------------------
check csv.empty 3 "$O/q" "$I/empty.csv" "the file is empty" -- "${QS[@]}" --calibration_data "$I/empty.csv" --output_folder "$O/q"
check csv.header_only 3 - "$I/header_only.csv" "has a header but no data rows" -- "${E[@]}" --data "$I/header_only.csv"
check csv.no_label_column 3 "$O/q" "$I/no_label_column.csv" "no column named 'label'" "columns: 'text', 'category'" "--label_column ''" -- "${QS[@]}" --calibration_data "$I/no_label_column.csv" --output_folder "$O/q"
check csv.no_text_column 3 - "$I/no_text_column.csv" "no column named 'text'" -- "${E[@]}" --data "$I/no_text_column.csv"
check csv.label_column_option 3 "$O/q" "$I/ok.csv" "no column named 'sentiment'" -- "${QS[@]}" --calibration_data "$I/ok.csv" --label_column sentiment --output_folder "$O/q"
check csv.ragged_long 3 "$O/q" "$I/ragged_long.csv" "line 3" "row has 3 fields but the header has 2" -- "${QS[@]}" --calibration_data "$I/ragged_long.csv" --output_folder "$O/q"
check csv.ragged_short 3 - "$I/ragged_short.csv" "line 3" "row has 1 field but the header has 2" -- "${E[@]}" --data "$I/ragged_short.csv"
check csv.unbalanced_quote 3 "$O/q" "$I/unbalanced_quote.csv" "line 3: field 1 opens a quote that is never closed" -- "${QS[@]}" --calibration_data "$I/unbalanced_quote.csv" --output_folder "$O/q"
check csv.junk_after_quote 3 - "$I/junk_after_quote.csv" "line 2" "unexpected character after the closing quote of field 1" -- "${E[@]}" --data "$I/junk_after_quote.csv"
check csv.invalid_utf8 3 "$O/q" "$I/invalid_utf8.csv" "line 3: field 1 is not valid UTF-8 (byte 5 of the field)" -- "${QS[@]}" --calibration_data "$I/invalid_utf8.csv" --output_folder "$O/q"
check csv.broken_bom 3 - "$I/broken_bom.csv" "line 1: invalid UTF-8" -- "${E[@]}" --data "$I/broken_bom.csv"
check csv.binary 3 - "$I/binary.csv" "not valid UTF-8" -- "${E[@]}" --data "$I/binary.csv"
check csv.single_class 3 "$O/q" "$I/single_class.csv" "all 2 rows have the label '1'" -- "${QS[@]}" --calibration_data "$I/single_class.csv" --output_folder "$O/q"
check csv.unknown_label 3 "$O/q" "$I/unknown_label.csv" "row 3: label '7' is not one of the model's classes: '0', '1'" -- "${QS[@]}" --calibration_data "$I/unknown_label.csv" --output_folder "$O/q"
check csv.unknown_label_eval 3 - "$I/unknown_label.csv" "row 3: label '7'" -- "${E[@]}" --data "$I/unknown_label.csv"
check csv.empty_label 3 - "$I/empty_label.csv" "line 3: the 'label' field is empty" -- "${E[@]}" --data "$I/empty_label.csv"
check csv.partly_labelled 3 "$O/q" "$I/partly_labelled.csv" "partly_labelled.csv: line 4: the 'label' field is empty" "pass --label_column ''" -- "${QS[@]}" --calibration_data "$I/partly_labelled.csv" --output_folder "$O/q"
check csv.accuracy_unlabelled 2 "$O/q" "$I/text_only.csv" "text_only.csv: the calibration texts have no labels" "--criterion agreement" -- "${QS[@]}" --calibration_data "$I/text_only.csv" --criterion accuracy --output_folder "$O/q"
check csv.min_agreement_range 2 "$O/q" "--min_agreement 1.5 is out of range (0, 1]" -- "${QS[@]}" --calibration_data "$I/text_only.csv" --min_agreement 1.5 --output_folder "$O/q"
check csv.min_agreement_relative 2 "$O/q" "excludes --relative" -- "${QS[@]}" --calibration_data "$I/text_only.csv" --min_agreement 0.9 --relative 0.01 --output_folder "$O/q"
check txt.blank_calibration 3 "$O/q" "$I/blank.txt" "blank.txt: has no texts (every line is blank)" -- "${QS[@]}" --calibration_data "$I/blank.txt" --output_folder "$O/q"
check csv.duplicate_column 3 - "$I/duplicate_column.csv" "line 1: column 'text' appears twice" -- "${E[@]}" --data "$I/duplicate_column.csv"
check csv.field_100mb 3 "$O/q" "$I/field_100mb.csv" "line 2: field 1 is longer than the limit" -- "${QS[@]}" --calibration_data "$I/field_100mb.csv" --output_folder "$O/q"
check csv.folder 3 - "$I/csv_folder" "is a folder, expected a CSV file" -- "${E[@]}" --data "$I/csv_folder"
check csv.missing 3 "$O/q" "$I/none.csv" "cannot open the CSV file" -- "${QS[@]}" --calibration_data "$I/none.csv" --output_folder "$O/q"

# --- ONNX --------------------------------------------------------------------------
EO=("$bin" eval --model_folder "$S" --onnx_model)
QO=("$bin" quantize --quiet --setfit_model_folder "$S" --calibration_data "$I/ok.csv")
check onnx.missing 3 "$O/q" "$I/none.onnx" "no such file or folder" -- "${QO[@]}" --onnx_model_folder "$I/none.onnx" --output_folder "$O/q"
check onnx.folder_without_model 3 "$O/q" "$I/csv_folder: folder has no model.onnx" -- "${QO[@]}" --onnx_model_folder "$I/csv_folder" --output_folder "$O/q"
check onnx.empty 3 - "$I/empty.onnx" "the file is empty, not an ONNX model" -- "$bin" inspect "$I/empty.onnx"
check onnx.truncated 3 "$O/q" "$I/truncated.onnx: not a valid ONNX model" -- "${QO[@]}" --onnx_model_folder "$I/truncated.onnx" --output_folder "$O/q"
check onnx.truncated_half 3 - "$I/truncated_half.onnx: not a valid ONNX model" -- "${EO[@]}" "$I/truncated_half.onnx" --data "$I/ok.csv"
check onnx.not_onnx 3 "$O/q" "$I/not_onnx.onnx: not" "ONNX model" -- "${QO[@]}" --onnx_model_folder "$I/not_onnx.onnx" --output_folder "$O/q"
check onnx.image_model 3 "$O/q" "input 'pixel_values' is not one docquant can feed" -- "${QO[@]}" --onnx_model_folder "$I/onnx/image_model" --output_folder "$O/q"
read -r mi_node mi_weight <<<"$(tr '\n' ' ' <"$I/onnx/missing_initializer/names")"
check onnx.missing_initializer 3 "$O/q" "node '$mi_node' (MatMul) reads '$mi_weight'" -- "${QO[@]}" --onnx_model_folder "$I/onnx/missing_initializer" --output_folder "$O/q"
check onnx.external_missing 3 "$O/q" "initializer 'embeddings.word_embeddings.weight' stores its data in '$I/onnx/external_missing/weights.bin', which is missing" -- "${QO[@]}" --onnx_model_folder "$I/onnx/external_missing" --output_folder "$O/q"
check onnx.external_escape 3 - "has external data at '../../outside.bin', which is not a file beside the model" -- "$bin" inspect "$I/onnx/external_escape"
check onnx.external_huge 3 - "asks for 1125899906842624 bytes at offset 0" -- "${EO[@]}" "$I/onnx/external_huge/model.onnx" --data "$I/ok.csv"
check onnx.ir_too_new 3 "$O/q" "IR version 99 is newer than ONNX Runtime 1.29.0 reads (<= 13)" -- "${QO[@]}" --onnx_model_folder "$I/onnx/ir_too_new" --output_folder "$O/q"
check onnx.ir_too_new_inspect 3 - "IR version 99" -- "$bin" inspect "$I/onnx/ir_too_new"
check onnx.opset_too_new 3 "$O/q" "opset 99 of domain ai.onnx is newer than ONNX Runtime 1.29.0 supports (<= 26)" -- "${QO[@]}" --onnx_model_folder "$I/onnx/opset_too_new" --output_folder "$O/q"
check onnx.absurd_initializer_dims 3 "$O/q" "initializer 'embeddings.word_embeddings.weight' declares the shape [1099511627776, 384]" -- "${QO[@]}" --onnx_model_folder "$I/onnx/absurd_initializer_dims" --output_folder "$O/q"
check onnx.absurd_input_dims 3 - "graph input 'input_ids' has the dimension 4611686018427387904" -- "${EO[@]}" "$I/onnx/absurd_input_dims/model.onnx" --data "$I/ok.csv"
check onnx.negative_dims 3 - "initializer 'embeddings.word_embeddings.weight' has a negative dimension in its shape [30522, -384]" -- "$bin" inspect "$I/onnx/negative_dims"

# --- SetFit folder -------------------------------------------------------------------
check setfit.not_a_folder 3 "$O/q" "$I/ok.csv: not a folder" -- "${Q[@]}" --setfit_model_folder "$I/ok.csv" --output_folder "$O/q"
check setfit.no_tokenizer 3 "$O/q" "$I/sf_no_tokenizer: no tokenizer.json or vocab.txt" -- "${Q[@]}" --setfit_model_folder "$I/sf_no_tokenizer" --calibration_data "$I/ok.csv" --output_folder "$O/q"
check setfit.no_tokenizer_tokenize 3 - "no tokenizer.json or vocab.txt" -- "$bin" tokenize --setfit_model_folder "$I/sf_no_tokenizer" --input "$I/ok.csv"
check setfit.no_head 3 "$O/q" "$I/sf_no_head/model_head.pkl: missing" -- "${Q[@]}" --setfit_model_folder "$I/sf_no_head" --output_folder "$O/q"
check setfit.no_modules 3 - "$I/sf_no_modules/modules.json: missing" -- "$bin" eval --model_folder "$I/sf_no_modules" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check setfit.modules_json 3 - "$I/sf_modules_json/modules.json: not valid JSON" -- "$bin" eval --model_folder "$I/sf_modules_json" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check setfit.pooling_json 3 "$O/q" "$I/sf_pooling_json/1_Pooling/config.json: field 'word_embedding_dimension'" -- "${Q[@]}" --setfit_model_folder "$I/sf_pooling_json" --output_folder "$O/q"
check setfit.tokenizer_json 3 - "$I/sf_tokenizer_json/tokenizer.json: not valid JSON" -- "$bin" tokenize --setfit_model_folder "$I/sf_tokenizer_json" --input "$I/ok.csv"
check setfit.setfit_config 3 "$O/q" "config_setfit.json: field 'labels' is not a list" -- "${Q[@]}" --setfit_model_folder "$I/sf_setfit_config" --output_folder "$O/q"
check setfit.sbert_config 3 - "$I/sf_sbert_config/sentence_bert_config.json" "max_seq_length" -- "$bin" inspect "$I/sf_sbert_config"
check setfit.head_truncated 3 "$O/q" "$I/sf_head_truncated/model_head.pkl: offset" "past the end of the file" -- "${Q[@]}" --setfit_model_folder "$I/sf_head_truncated" --output_folder "$O/q"
check setfit.head_executes_code 3 "$O/q" "model_head.pkl" "'posix.system'" "which docquant does not load" -- "${Q[@]}" --setfit_model_folder "$I/sf_head_exec" --output_folder "$O/q"
[[ ! -e "$work/PWNED" ]] || { echo "FAIL setfit.head_executes_code: the pickle ran code"; failures=$((failures + 1)); }
T=("$bin" eval --onnx_model "$M/model.onnx" --data "$I/ok.csv" --model_folder)
check setfit.torch_head_global 3 - "$I/sf_torch_global/model_head.pkl: offset" "'torch._utils._rebuild_from_type'" -- "${T[@]}" "$I/sf_torch_global"
check setfit.torch_head_half 3 "$O/q" "$I/sf_torch_half/model_head.pkl: the torch storage read at offset" "'torch.HalfStorage'" -- "${Q[@]}" --setfit_model_folder "$I/sf_torch_half" --output_folder "$O/q"
check setfit.torch_head_storage_count 3 - "$I/sf_torch_storage_count/model_head.pkl" "holds 769 elements but its persistent ID says 768" -- "${T[@]}" "$I/sf_torch_storage_count"
check setfit.torch_head_zip_size 3 - "$I/sf_torch_zip_size/model_head.pkl" "entry 'archive/data/0' claims 7168 bytes" "past the data" -- "${T[@]}" "$I/sf_torch_zip_size"
check setfit.torch_head_nested_bytes 3 - "$I/sf_torch_nested_bytes/model_head.pkl" "torch storage bytes nested inside another pickle's data" -- "${T[@]}" "$I/sf_torch_nested_bytes"
check setfit.torch_head_shape 3 "$O/q" "$I/sf_torch_shape/model_head.pkl: offset" "torch tensor of shape [3, 384] (stride [384, 1], storage_offset 0) reads element 1151 but its storage holds 768 elements" -- "${Q[@]}" --setfit_model_folder "$I/sf_torch_shape" --calibration_data "$I/ok.csv" --output_folder "$O/q"
check setfit.torch_head_fields 3 - "$I/sf_torch_fields/model_head.pkl: SetFitHead field 'out_features' (3)" "disagree with linear.weight of shape [2, 384]" -- "${T[@]}" "$I/sf_torch_fields"
check setfit.multilabel_unknown_label 3 "$O/q" "$I/multilabel_unknown.csv: row 4: label 'x' is not one of the model's classes: 'a' (0), 'b' (1), 'c' (2)" -- "${Q[@]}" --setfit_model_folder "$I/sf_multilabel" --calibration_data "$I/multilabel_unknown.csv" --output_folder "$O/q"
check setfit.multilabel_empty_name 3 - "$I/multilabel_empty_name.csv: row 3: label set 'a;;b' has an empty name" -- "$bin" eval --model_folder "$I/sf_multilabel" --onnx_model "$M/model.onnx" --data "$I/multilabel_empty_name.csv"
check setfit.head_width 3 "$O/q" "$I/sf_head_width/model_head.pkl: the head expects 768 features but" "1_Pooling/config.json pools to 384" -- "${Q[@]}" --setfit_model_folder "$I/sf_head_width" --calibration_data "$I/ok.csv" --output_folder "$O/q"
check setfit.body_width 3 "$O/q" "token embeddings have width 384" "word_embedding_dimension is 768" -- "${Q[@]}" --setfit_model_folder "$I/sf_body_width" --calibration_data "$I/ok.csv" --output_folder "$O/q"

# --- output ------------------------------------------------------------------------
check out.inside_setfit_input 4 "$S/out" "the output folder overlaps the input '$S'" -- "${QS[@]}" --output_folder "$S/out"
check out.inside_onnx_input 4 "$M/q" "overlaps the input '$M'" -- "${QS[@]}" --output_folder "$M/q"
check out.is_the_csv 4 - "overlaps the input '$I/ok.csv'" -- "${QS[@]}" --calibration_data "$I/ok.csv" --output_folder "$I/ok.csv"
check out.contains_input 4 - "overlaps the input" -- "${QS[@]}" --calibration_data "$I/ok.csv" --output_folder "$I"
check out.through_symlink 4 "$S/q" "overlaps the input '$S'" -- "${QS[@]}" --output_folder "$O/link_to_setfit/q"
check out.existing 4 - "$O/existing: exists and is not empty; pass --overwrite to replace it" -- "${QS[@]}" --output_folder "$O/existing"
check out.a_file 4 - "$O/a_file: exists and is not a folder" -- "${QS[@]}" --output_folder "$O/a_file"
check out.parent_is_file 4 "$O/a_file/q" "cannot write in folder '$O/a_file'" -- "${QS[@]}" --output_folder "$O/a_file/q"
check out.eval_json_is_input 4 - "--json would overwrite or write into the input '$I/ok.csv'" -- "${E[@]}" --data "$I/ok.csv" --json "$I/ok.csv"
check out.eval_json_in_setfit 4 "$S/report.json" "--json would overwrite or write into the input '$S'" -- "${E[@]}" --data "$I/ok.csv" --json "$S/report.json"
check out.eval_json_no_folder 4 "$O/none/r.json" "folder '$O/none' does not exist" -- "${E[@]}" --data "$I/ok.csv" --json "$O/none/r.json"
check out.eval_json_dev_full 4 - "/dev/full: cannot write: No space left on device" -- "${E[@]}" --data "$I/ok.csv" --json /dev/full
check out.tokenize_dev_full 4 - "cannot write to standard output" -- sh -c 'exec "$0" tokenize --setfit_model_folder "$1" --input "$2" >/dev/full' "$bin" "$S" "$I/ok.csv"
check out.tokenize_input_folder 3 - "$I/csv_folder: is a folder, expected a text file" -- "$bin" tokenize --setfit_model_folder "$S" --input "$I/csv_folder"

# Not writable: permissions (root ignores them, so a read-only tmpfs when root can mount one).
ro=$O/readonly
mkdir -p "$ro"
if [[ $(id -u) -ne 0 ]]; then
  chmod 555 "$ro" && ro_ok=1
else
  mount -t tmpfs -o ro,size=1m docquant-ro "$ro" 2>/dev/null && ro_ok=1
fi
if [[ ${ro_ok:-0} -eq 1 ]]; then
  check out.not_writable 4 "$ro/q" "$ro/q: cannot" -- "${QS[@]}" --output_folder "$ro/q"
  [[ $(id -u) -ne 0 ]] && chmod 755 "$ro" || umount "$ro"
else
  echo "note out.not_writable: not root and cannot mount a read-only tmpfs; case not run"
fi

# Disk full while writing model.onnx (a real quantize, default configuration): a 1 MiB
# file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so write() fails with EFBIG) and, when
# root can mount one, a 4 MiB tmpfs (ENOSPC).
# The first large write is ONNX Runtime's optimised graph (--optimize_graph, the default);
# without it, model.onnx itself.
check out.disk_full_fsize 4 "$O/q" "fp32_ort_optimized.onnx: write failed (disk full?)" -- sh -c 'trap "" XFSZ; ulimit -f 1024; exec "$@"' sh "${QS[@]}" --output_folder "$O/q"
check out.disk_full_fsize_model 4 "$O/q" "model.onnx: write failed (disk full?)" -- sh -c 'trap "" XFSZ; ulimit -f 1024; exec "$@"' sh "${QS[@]}" --no_optimize_graph --output_folder "$O/q"
full=$O/small_fs
mkdir -p "$full"
if [[ $(id -u) -eq 0 ]] && mount -t tmpfs -o size=4m docquant-full "$full" 2>/dev/null; then
  check out.disk_full_tmpfs 4 "$full/q" "write failed (disk full?)" -- "${QS[@]}" --output_folder "$full/q"
  [[ -z $(ls -A "$full") ]] || { echo "FAIL out.disk_full_tmpfs: left $(ls -A "$full")"; failures=$((failures + 1)); }
  umount "$full"
else
  echo "note out.disk_full_tmpfs: cannot mount a tmpfs (not root); the RLIMIT_FSIZE case covers disk full"
fi
rmdir "$full" "$ro" 2>/dev/null

# --- usage ---------------------------------------------------------------------------
check usage.missing_option 2 "$O/q" "--onnx_model_folder is required" -- "$bin" quantize --setfit_model_folder "$S" --output_folder "$O/q"
check usage.exclusive_criteria 2 "$O/q" "excludes" -- "${QS[@]}" --output_folder "$O/q" --relative 0.01 --absolute 0.01
check usage.eval_compare_onnx_alone 2 - "--compare_onnx needs --compare" -- "${E[@]}" --data "$I/ok.csv" --compare_onnx "$M/model.onnx"
check usage.unknown_strategy 2 "$O/q" "--strategy" -- "${QS[@]}" --output_folder "$O/q" --strategy exhaustive
check usage.static_without_data 2 "$O/q" "--approach static needs --calibration_data" -- "${QS[@]}" --output_folder "$O/q" --approach static
check usage.static_with_activations 2 "$O/q" "--activations applies to --approach dynamic" -- "${QS[@]}" --output_folder "$O/q" --approach static --activations per_token --calibration_data "$dev"
check usage.micro_f1_single_label 2 "$O/q" "--metric micro_f1 scores label sets, but the head of $S gives one class per text" -- "${QS[@]}" --calibration_data "$I/ok.csv" --output_folder "$O/q" --metric micro_f1
check usage.yaml_unknown_key 3 "$O/q" "unknown or unsupported key" -- "${QS[@]}" --output_folder "$O/q" --config "$I/conf.yaml"

# --- configs that changed nothing silently (issue 29, item 13) ------------------------------
check setfit.pooling_unknown_mode 3 - "$I/sf_pooling_unknown_mode/1_Pooling/config.json: field 'pooling_mode_median_tokens' is not a pooling mode docquant implements" "pooling_mode_lasttoken" -- "$bin" eval --model_folder "$I/sf_pooling_unknown_mode" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check setfit.prompt_excluded 3 "$O/q" "$I/sf_prompt_excluded/1_Pooling/config.json: field 'include_prompt' is false" "default_prompt_name" -- "${Q[@]}" --setfit_model_folder "$I/sf_prompt_excluded" --calibration_data "$I/ok.csv" --output_folder "$O/q"
check setfit.prompt_unknown 3 - "$I/sf_prompt_unknown/config_sentence_transformers.json: field 'default_prompt_name' names 'passage', which is not a key of field 'prompts'" -- "$bin" tokenize --setfit_model_folder "$I/sf_prompt_unknown" --input "$I/ok.csv"

# --- hostile inputs, round 2 (issue 20) ---------------------------------------------------
# Item numbers are the issue's. Successful runs write under $ok, beside $work: outside in/
# and out/, and outside check's search for left temporary files (item 3 plants links there).
# C skips the graph optimisation on opening (a second saved per run); CO keeps it where the
# case is about $TMPDIR, where that optimisation writes its scratch graph.
CO=("$bin" classify --quiet --model_folder "$S" --onnx_model "$M/model.onnx")
C=("${CO[@]}" --no_optimize_graph)
ok=${work}_ok
rm -rf "$ok" && mkdir -p "$ok"

# 1. External data must resolve inside the model's folder: bias.bin links to a secret.
check onnx.external_symlink 3 "$O/q" "initializer 'embeddings.LayerNorm.bias' stores its data in '$I/onnx/external_symlink/bias.bin', which resolves to '$work/secret.bin' outside the model's folder" -- "$bin" quantize --quiet --onnx_model_folder "$I/onnx/external_symlink" --setfit_model_folder "$S" --no_optimize_graph --output_folder "$O/q"

# 1b. Files of the SetFit folder that link outside it are refused, not copied into the output;
# a Hugging Face cache snapshot (every file a relative link into ../../blobs) is copied.
check setfit.file_link_outside 3 "$O/q" "$I/sf_file_link/README.md: links to '$work/secret.bin', outside the SetFit folder" -- "${Q[@]}" --setfit_model_folder "$I/sf_file_link" --calibration_data "$I/ok.csv" --no_optimize_graph --output_folder "$O/q"
check setfit.folder_link_outside 3 "$O/q" "$I/sf_folder_link/1_Pooling/config.json: links to '$work/elsewhere/1_Pooling/config.json', outside the SetFit folder" -- "${Q[@]}" --setfit_model_folder "$I/sf_folder_link" --calibration_data "$I/ok.csv" --no_optimize_graph --output_folder "$O/q"
hub=$ok/hub/models--org--minilm-sst2
mkdir -p "$hub/blobs" "$hub/snapshots/0123abc/1_Pooling"
while IFS= read -r -d '' f; do
  rel=${f#"$S"/} blob=$(sha256sum "$f" | cut -c1-40)
  cp "$f" "$hub/blobs/$blob"
  ln -s "$(realpath -s --relative-to="$(dirname "$hub/snapshots/0123abc/$rel")" "$hub/blobs/$blob")" "$hub/snapshots/0123abc/$rel"
done < <(find "$S" -type f ! -name pytorch_model.bin -print0)
check setfit.hub_cache_links 0 - -- "${Q[@]}" --setfit_model_folder "$hub/snapshots/0123abc" --calibration_data "$I/ok.csv" --no_optimize_graph --max_trials 1 --output_folder "$ok/q_hub"
hub_files_copied() {  # every non-weight SetFit file is in the output as a regular file with the fixture's bytes
  local f n=0
  [[ -z $(find "$ok/q_hub" -type l) ]] || return 1
  while IFS= read -r -d '' f; do
    cmp -s "$f" "$ok/q_hub/${f#"$S"/}" || return 1
    n=$((n + 1))
  done < <(find "$S" -type f ! -name pytorch_model.bin ! -name '*.safetensors' -print0)
  [[ $n -ge 8 ]]
}
pass_if setfit.hub_cache_copied "every SetFit file of the snapshot is in the output, a regular file with the fixture's bytes" hub_files_copied

# 2. classify --output that is not a regular file is written as a stream, never renamed over
# (10: also a shell's >(cmd), which used to say "No such file or directory").
if [[ $(id -u) -eq 0 ]] && mknod "$ok/null_device" c 1 3; then
  check out.classify_char_device 0 - -- "${C[@]}" --input "$I/ok.csv" --output "$ok/null_device"
  pass_if out.classify_char_device_kept "the device is still a character device" test -c "$ok/null_device"
else
  echo "note out.classify_char_device: not root; mknod skipped (the FIFO case covers non-regular outputs)"
fi
mkfifo "$ok/fifo"
cat "$ok/fifo" >"$ok/fifo.out" &
reader=$!
check out.classify_fifo 0 - -- timeout 120 "${C[@]}" --input "$I/ok.csv" --output "$ok/fifo"
wait "$reader"
pass_if out.classify_fifo_kept "the FIFO is still a FIFO and its reader got 9 lines" \
  eval '[[ -p $ok/fifo && $(wc -l <"$ok/fifo.out") -eq 9 ]]'
ln -s /proc/self/fd/1 "$ok/stdout_link"
check out.classify_stdout_link 0 - -- "${C[@]}" --input "$I/ok.csv" --output "$ok/stdout_link"
pass_if out.classify_stdout_link_kept "the link is still a link; its 9 lines went to stdout" \
  eval '[[ -L $ok/stdout_link && $(wc -l <"$work/stdout.last") -eq 9 ]]'
check out.classify_process_substitution 0 - -- "${C[@]}" --input "$I/ok.csv" --output >(wc -l >"$ok/procsub.tmp" && mv "$ok/procsub.tmp" "$ok/procsub.out")
# The reader finishes after docquant exits.
wait_until 30 test -e "$ok/procsub.out"
pass_if out.classify_process_substitution_read "the pipe's reader got 9 lines" eval '[[ $(cat "$ok/procsub.out") -eq 9 ]]'

# 3. Temporary files are created exclusively under random names: links planted at the old
# predictable names (OUT.docquant-tmp-<pid>, $TMPDIR/docquant-<pid>-0-optimized.onnx) are
# never followed, and their target is untouched.
echo "do not overwrite" >"$ok/victim"
mkdir -p "$ok/tmp" "$ok/victim_folder"
plant='for f in "$OUT_FILE.docquant-tmp-$$" "$TMPDIR/docquant-$$-0-optimized.onnx"; do ln -s "$VICTIM" "$f"; done; exec "$@"'
OUT_FILE=$ok/report.json VICTIM=$ok/victim TMPDIR=$ok/tmp check out.planted_links_eval 0 - -- sh -c "$plant" sh "${E[@]}" --data "$I/ok.csv" --json "$ok/report.json"
OUT_FILE=$ok/preds.csv VICTIM=$ok/victim TMPDIR=$ok/tmp check out.planted_links_classify 0 - -- sh -c "$plant" sh "${CO[@]}" --input "$I/ok.csv" --output "$ok/preds.csv"
OUT_FILE=$ok/q VICTIM=$ok/victim_folder TMPDIR=$ok/tmp check out.planted_links_quantize 0 - -- sh -c "$plant" sh "${QS[@]}" --no_optimize_graph --output_folder "$ok/q"
pass_if out.planted_links_untouched "the victim file and folder are untouched, the outputs written, no other temporary left" \
  eval '[[ $(cat "$ok/victim") == "do not overwrite" && -z $(ls -A "$ok/victim_folder") && -s $ok/report.json &&
          $(wc -l <"$ok/preds.csv") -eq 9 && -f $ok/q/model.onnx &&
          -z $(find "$ok" -maxdepth 2 -name "*docquant-*" ! -type l) ]]'
find "$ok" -maxdepth 2 -name '*docquant-*' -type l -delete

# 4. (also tests/fuzz/regressions) A tokenizer.json nested 50,000 deep: refused at once.
check setfit.tokenizer_json_deep 3 - "$I/sf_deep_json/tokenizer.json: line 1: JSON nested more than 128 levels deep" -- "$bin" tokenize --setfit_model_folder "$I/sf_deep_json" --input "$I/ok.csv"

# 5. Two quantize runs into one OUT: the second to start fails at once while the first works;
# the first, finding OUT made meanwhile, fails instead of replacing it.
# The first run is held (SIGSTOP) once its staging folder exists: without a CSV it takes 0.3 s,
# so on a fast machine it could finish before the second run started (CI stop 31). It
# calibrates on the dev CSV (~3 s) so that the 0.1 s poll sees it working.
"${QS[@]}" --no_optimize_graph --calibration_data "$dev" --no_cache --output_folder "$ok/twice" >/dev/null 2>"$ok/first.err" &
first=$!
wait_until 60 compgen -G "$ok/twice.docquant-tmp-*" >/dev/null && kill -STOP "$first" ||
  echo "note out.second_run_same_output: the first run's staging folder was not seen"
check out.second_run_same_output 4 - "$ok/twice: another run is writing this output folder (docquant, pid $first)" -- "${QS[@]}" --no_optimize_graph --output_folder "$ok/twice"
mkdir "$ok/twice" && echo "the other run's result" >"$ok/twice/file"
kill -CONT "$first"
wait "$first"
first_rc=$?
pass_if out.output_appeared_meanwhile "first run: exit 4, '$ok/twice: appeared while this run was working', OUT and no temporary left" \
  eval '[[ $first_rc -eq 4 ]] && grep -qF "$ok/twice: appeared while this run was working" "$ok/first.err" && [[ $(ls -A "$ok/twice") == file ]] && ! compgen -G "$ok/twice.docquant-tmp-*" >/dev/null'

# 6. Non-finite head parameters and model outputs.
check setfit.head_nan 3 - "$I/sf_head_nan/model_head.pkl: coef_[0, 5] is NaN" -- "$bin" classify --model_folder "$I/sf_head_nan" --onnx_model "$M/model.onnx" --input "$I/ok.csv" --output "$O/preds.csv"
check setfit.head_nan_eval 3 - "$I/sf_head_nan/model_head.pkl: coef_[0, 5] is NaN" -- "$bin" eval --model_folder "$I/sf_head_nan" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check onnx.nan_output_eval 3 - "$I/ok.csv: line " "output 'last_hidden_state' of $I/onnx/nan_output/model.onnx is NaN or infinite for this row's text" -- "${EO[@]}" "$I/onnx/nan_output/model.onnx" --data "$I/ok.csv"
check onnx.nan_output_quantize 3 "$O/q" "output 'last_hidden_state' of $I/onnx/nan_output/model.onnx is NaN or infinite" -- "${QO[@]}" --onnx_model_folder "$I/onnx/nan_output" --no_optimize_graph --output_folder "$O/q"

# 7. (also tests/fuzz/regressions) An engine error is not "no match".
check setfit.regex_retry_limit 3 - "$I/sf_regex/tokenizer.json: pre_tokenizer.pattern: regular expression '(a|a)*b' fails on a text of 34 bytes: retry-limit-in-match over" -- "$bin" tokenize --setfit_model_folder "$I/sf_regex" --input "$I/a30.txt"

# 8. Paths that cannot be resolved are input errors naming them; names that are not UTF-8
# are written escaped (\\xff) in JSON reports.
check setfit.tokenizer_link_loop 3 - "$I/sf_link_loop/tokenizer.json: Too many levels of symbolic links" -- "$bin" tokenize --setfit_model_folder "$I/sf_link_loop" --input "$I/ok.csv"
check setfit.tokenizer_link_loop_classify 3 - "$I/sf_link_loop/tokenizer.json: Too many levels of symbolic links" -- "$bin" classify --model_folder "$I/sf_link_loop" --onnx_model "$M/model.onnx" --input "$I/ok.csv" --output "$O/preds.csv"
long=$I/$(printf 'd/%.0s' $(seq 2100))texts.txt
check input.path_too_long 3 - ": File name too long" -- "${C[@]}" --input "$long" --output "$O/preds.csv"
bad_name=$I/not_utf8_$'\xff'.csv
check input.not_utf8_name_eval 0 - -- "${E[@]}" --data "$bad_name" --json "$ok/not_utf8.json"
check input.not_utf8_name_quantize 0 - -- "${QS[@]}" --no_optimize_graph --calibration_data "$bad_name" --max_trials 1 --output_folder "$ok/q_not_utf8"
pass_if input.not_utf8_name_json "both JSON files parse and name the CSV as not_utf8_\\xff.csv" \
  "$python" -c 'import json, sys
assert json.load(open(sys.argv[1]))["data"].endswith("not_utf8_\\xff.csv")
assert json.load(open(sys.argv[2]))["inputs"]["calibration_data"]["path"].endswith("not_utf8_\\xff.csv")' \
  "$ok/not_utf8.json" "$ok/q_not_utf8/quantization.json"

# 9. A tokenizer that does not fit the model: one line, when the folder and model are opened.
max_lines=1 check setfit.tokenizer_model_mismatch 3 - "$M/model.onnx: the tokenizer of '$I/sf_mpnet_tokenizer' gives ids up to 30526, but the model's token embedding table 'embeddings.word_embeddings.weight' has 30522 rows" -- "$bin" classify --model_folder "$I/sf_mpnet_tokenizer" --onnx_model "$M/model.onnx" --input "$I/ok.csv" --output "$O/preds.csv"
max_lines=1 check setfit.max_length_beyond_positions 3 - "$M/model.onnx: max length 1000 (the max length option) is more than the model's 512 positions" -- "${C[@]}" --input "$I/ok.csv" --output "$O/preds.csv" --max_length 1000

# 10. Messages that said something else.
check setfit.head_is_folder 3 "$O/q" "$I/sf_head_folder/model_head.pkl: is a folder, not a file" -- "${Q[@]}" --setfit_model_folder "$I/sf_head_folder" --output_folder "$O/q"
check csv.calibration_pipe 3 "$O/q" "/dev/stdin: is a pipe or a device, not a regular file" -- sh -c 'cat "$0" | exec "$@"' "$I/ok.csv" "${QS[@]}" --calibration_data /dev/stdin --output_folder "$O/q"

# 10. A working folder 45 x 100 bytes deep (past PATH_MAX), which used to give "cannot write
# in folder": a relative OUT is written.
quantize_in_deep_folder() (
  cd "$ok" || exit 1
  local d
  d=$(printf 'd%.0s' $(seq 99))
  for _ in $(seq 45); do mkdir "$d" && cd "$d" || exit 1; done
  "${QS[@]}" --no_optimize_graph --output_folder q >/dev/null 2>"$ok/deep.err" && test -f q/model.onnx
)
pass_if out.deep_working_folder "quantize --output_folder q in a working folder deeper than 4096 bytes" quantize_in_deep_folder

# 11. Two classes with one name.
check setfit.duplicate_labels 3 - "$I/sf_labels_twice/config_setfit.json field 'labels': classes 0 and 1 are both named 'pos'; class names must be unique" -- "$bin" classify --model_folder "$I/sf_labels_twice" --onnx_model "$M/model.onnx" --input "$I/ok.csv" --output "$O/preds.csv"
check setfit.duplicate_labelencoder 3 - "$I/sf_encoder_twice/labelencoder.pkl classes_: classes 0 and 1 are both named 'pos'" -- "$bin" eval --model_folder "$I/sf_encoder_twice" --onnx_model "$M/model.onnx" --data "$I/ok.csv"

# ONNX Runtime's telemetry is off: classify, eval and quantize leave an empty TMPDIR empty.
mkdir -p "$ok/empty_tmp"
TMPDIR=$ok/empty_tmp check out.tmpdir_classify 0 - -- "${CO[@]}" --input "$I/ok.csv" --output "$ok/tmp_preds.csv"
TMPDIR=$ok/empty_tmp check out.tmpdir_eval 0 - -- "${E[@]}" --data "$I/ok.csv"
TMPDIR=$ok/empty_tmp check out.tmpdir_quantize 0 - -- "${QS[@]}" --calibration_data "$I/ok.csv" --max_trials 1 --output_folder "$ok/q_tmp"
pass_if out.tmpdir_stays_empty "TMPDIR is empty after classify, eval and quantize (no .ses, no mat-debug-<pid>.log)" \
  eval '[[ -z $(ls -A "$ok/empty_tmp") ]]'

# classify --output -: a regular input file is read through before the first byte goes out.
check out.classify_stdout_late_error 3 - "$I/late_bad.txt: line 5001: invalid UTF-8 at byte 4 of the line" -- "${C[@]}" --input "$I/late_bad.txt" --output -
pass_if out.classify_stdout_nothing_written "nothing on stdout before the late input error" test ! -s "$work/stdout.last"
# --- hostile inputs, round 3 (issue 29) ---------------------------------------------------
# 1, 11. Limits, checked before any work: threads (<= 4 x the logical cores), batch size
# (1..4096), timeout (finite, >= 0).
max_threads=$((4 * $(nproc)))
check usage.threads_huge_classify 2 - "--threads must be 0 (one per core) to $max_threads" "not 50000" -- "${C[@]}" --input "$I/ok.csv" --output - --threads 50000
check usage.threads_huge_eval 2 - "--threads must be 0 (one per core) to $max_threads" -- "${E[@]}" --data "$I/ok.csv" --threads 1000
check usage.threads_negative_quantize 2 "$O/q" "--threads must be 0 (one per core) to $max_threads" "not -1" -- "${QS[@]}" --output_folder "$O/q" --threads -1
check usage.batch_size_zero_quantize 2 "$O/q" "--batch_size must be 1 to 4096, not 0" -- "${QS[@]}" --output_folder "$O/q" --batch_size 0
check usage.batch_size_huge_eval 2 - "--batch_size must be 1 to 4096, not 100000" -- "${E[@]}" --data "$I/ok.csv" --batch_size 100000
check usage.timeout_negative 2 "$O/q" "--timeout must be 0 (no limit) or a positive number of seconds, not -5" -- "${QS[@]}" --output_folder "$O/q" --timeout -5
check usage.timeout_nan 2 "$O/q" "--timeout must be 0 (no limit) or a positive number of seconds, not nan" -- "${QS[@]}" --output_folder "$O/q" --timeout nan
# More threads than cores is allowed, with a note.
check usage.threads_above_cores_note 0 - "docquant: note: --threads $((max_threads)) is more than this machine's $(nproc) logical core" -- "${C[@]}" --input "$I/ok.csv" --output - --threads "$max_threads"

# 2. stderr closed or full: the error is still exit 3 (not an abort), and a quantize run whose
# progress lines cannot be written still finishes.
check out.stderr_closed 3 - -- sh -c 'exec "$@" 2>&-' sh "${C[@]}" --input "$I/missing.txt" --output "$O/preds.csv"
check out.stderr_full 3 - -- sh -c 'exec "$@" 2>/dev/full' sh "${C[@]}" --input "$I/missing.txt" --output "$O/preds.csv"
check out.stderr_full_quantize 0 - -- sh -c 'exec "$@" 2>/dev/full' sh "$bin" quantize --onnx_model_folder "$M" --setfit_model_folder "$S" --calibration_data "$I/ok.csv" --no_optimize_graph --max_trials 1 --output_folder "$ok/q_stderr_full"
pass_if out.stderr_full_quantize_wrote "quantize with stderr on /dev/full wrote its output" test -f "$ok/q_stderr_full/model.onnx"
check out.stdout_closed 4 - "--output -: standard output is closed" -- sh -c 'exec "$@" >&-' sh "${C[@]}" --input "$I/ok.csv" --output -

# 3, 4. Configs that are not regular files: a FIFO (used to block forever), /dev/zero (read
# until memory ran out), a folder (an internal error), a modules.json path holding a NUL.
check setfit.tokenizer_fifo 3 - "$I/sf_fifo_tokenizer/tokenizer.json: is a FIFO (named pipe), not a regular file" -- timeout 60 "$bin" classify --model_folder "$I/sf_fifo_tokenizer" --onnx_model "$M/model.onnx" --input "$I/ok.csv" --output "$O/preds.csv"
check setfit.head_fifo 3 "$O/q" "$I/sf_fifo_head/model_head.pkl: is a FIFO (named pipe), not a regular file" -- timeout 60 "${Q[@]}" --setfit_model_folder "$I/sf_fifo_head" --output_folder "$O/q"
check setfit.modules_dev_zero 3 - "$I/sf_dev_zero_modules/modules.json: is a character device, not a regular file" -- timeout 60 "$bin" eval --model_folder "$I/sf_dev_zero_modules" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check setfit.pooling_config_folder 3 - "$I/sf_pooling_folder/1_Pooling/config.json: is a folder, not a file" -- "$bin" eval --model_folder "$I/sf_pooling_folder" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check setfit.modules_path_nul 3 - "$I/sf_modules_nul/modules.json: entry 1: field 'path' holds a NUL character" -- "$bin" eval --model_folder "$I/sf_modules_nul" --onnx_model "$M/model.onnx" --data "$I/ok.csv"
check onnx.fifo_model 3 "$O/q" "$I/onnx/fifo_model/model.onnx: is a FIFO (named pipe), not a regular file" -- timeout 60 "${QO[@]}" --onnx_model_folder "$I/onnx/fifo_model/model.onnx" --output_folder "$O/q"

# 5. classify --input - reading the very file --output names (also through stdout): refused,
# the texts untouched. (--input FILE --output FILE was refused already.)
check out.stdin_is_output 4 - "$I/stdin_texts.csv: --output is the file standard input reads (--input -)" -- sh -c 'exec "$@" <"$0"' "$I/stdin_texts.csv" "${C[@]}" --input - --format csv --output "$I/stdin_texts.csv"
check out.stdout_is_input 4 - "<stdout>: standard output is the file --input reads ($I/stdin_texts.csv)" -- sh -c 'exec "$@" >>"$0"' "$I/stdin_texts.csv" "${C[@]}" --input "$I/stdin_texts.csv" --output -

[[ $failures -eq 0 ]] && rm -rf "$ok"
