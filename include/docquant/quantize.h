#pragma once
// docquant's quantize job as a library call: a SetFit model in, a quantized model
// folder out, accuracy kept within a criterion on labelled data, or the answers kept in
// agreement with fp32's on labelled or unlabelled texts.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace docquant {

// How a quantized MatMul's input is quantized at run time.
//   per_tensor: one scale over the whole batch tensor (ONNX Runtime's dynamic quantization):
//               a text's answer depends slightly on the texts batched with it and their padding;
//   per_token:  one scale per token of each text: a text's answer depends on the text alone,
//               however it is batched or padded (stock ONNX Runtime ops; docs/quantize.md).
enum class ActivationScales { per_tensor, per_token };

// Where activation scales come from (INC's quantization.approach).
//   dynamic: computed from each input when the model runs (ActivationScales says how);
//   static:  one scale and zero point per tensor, calibrated on the calibration CSV's texts
//            before tuning and stored in the model: nothing is computed at run time, and a
//            text's answer depends on the text alone (docs/quantize.md, "Static activations").
enum class QuantizeApproach { dynamic, static_ };
inline constexpr QuantizeApproach kQuantizeApproaches[] = {QuantizeApproach::dynamic, QuantizeApproach::static_};

// How tuning searches for the nodes to keep fp32 (docs/quantize.md).
//   sensitivity: rank nodes once, then binary-search how many stay fp32 (few evaluations);
//   basic:       INC 1.x's order (op-type-wise, single fallbacks from the end, cumulative).
enum class QuantizeStrategy { sensitivity, basic };
inline constexpr QuantizeStrategy kQuantizeStrategies[] = {QuantizeStrategy::sensitivity, QuantizeStrategy::basic};

// How the sensitivity strategy ranks nodes.
//   local:    one ONNX Runtime session: each node's own output error when it alone is quantized;
//   isolated: one session per node: how far the class probabilities move when it alone is
//             quantized (slow).
enum class SensitivityProbe { local, isolated };
inline constexpr SensitivityProbe kSensitivityProbes[] = {SensitivityProbe::local, SensitivityProbe::isolated};

// What a trial is scored on (docs/quantize.md, "Criteria").
//   accuracy:  the share of calibration rows whose predicted class is the CSV's label,
//              within a relative or absolute loss of fp32's (INC's criterion);
//   agreement: the share of calibration rows whose predicted class is fp32's, at least
//              min_agreement; needs no labels.
enum class CriterionMetric { accuracy, agreement };
inline constexpr CriterionMetric kCriterionMetrics[] = {CriterionMetric::accuracy, CriterionMetric::agreement};

// How the accuracy criterion scores a multi-label head's label sets (docs/quantize.md).
//   exact_match: the share of rows whose whole label set is right (scikit-learn's
//                accuracy_score on indicators; for one class per text, plain accuracy);
//   micro_f1:    F1 over every (row, label) decision pooled; multi-label heads only.
enum class AccuracyMetric { exact_match, micro_f1 };
inline constexpr AccuracyMetric kAccuracyMetrics[] = {AccuracyMetric::exact_match, AccuracyMetric::micro_f1};

// The names the CLI, the INC YAML, Python and quantization.json use.
constexpr const char* to_string(CriterionMetric metric) noexcept {
  return metric == CriterionMetric::agreement ? "agreement" : "accuracy";
}
constexpr const char* to_string(QuantizeApproach approach) noexcept {
  return approach == QuantizeApproach::static_ ? "static" : "dynamic";
}
constexpr const char* to_string(AccuracyMetric metric) noexcept {
  return metric == AccuracyMetric::micro_f1 ? "micro_f1" : "accuracy";
}
constexpr const char* to_string(QuantizeStrategy strategy) noexcept {
  return strategy == QuantizeStrategy::basic ? "basic" : "sensitivity";
}
constexpr const char* to_string(SensitivityProbe probe) noexcept {
  return probe == SensitivityProbe::isolated ? "isolated" : "local";
}
// The value of `values` whose to_string is `name`.
template <typename Enum, std::size_t N>
constexpr std::optional<Enum> parse_named(const Enum (&values)[N], std::string_view name) noexcept {
  for (Enum v : values) {
    if (name == to_string(v)) return v;
  }
  return std::nullopt;
}
constexpr std::optional<CriterionMetric> parse_criterion_metric(std::string_view name) noexcept {
  return parse_named(kCriterionMetrics, name);
}
constexpr std::optional<QuantizeApproach> parse_quantize_approach(std::string_view name) noexcept {
  return parse_named(kQuantizeApproaches, name);
}
constexpr std::optional<AccuracyMetric> parse_accuracy_metric(std::string_view name) noexcept {
  return parse_named(kAccuracyMetrics, name);
}
constexpr std::optional<QuantizeStrategy> parse_quantize_strategy(std::string_view name) noexcept {
  return parse_named(kQuantizeStrategies, name);
}
constexpr std::optional<SensitivityProbe> parse_sensitivity_probe(std::string_view name) noexcept {
  return parse_named(kSensitivityProbes, name);
}

struct QuantizeOptions {
  std::filesystem::path onnx_model;     // an .onnx file or a folder holding model.onnx
  std::filesystem::path setfit_folder;  // tokenizer, head, pooling and label configs
  // Calibration data: a CSV with a text column and a label column, or a CSV whose only
  // column is the text column, or a .txt file of one text per line (blank lines skipped).
  // Without labels (no label column, label_column empty, a .txt) the run is unlabelled:
  // fp32's answers are the labels and the criterion is agreement. A label column that is
  // present must have a label on every row (InputError naming the first empty one). For a
  // multi-label head each label is the row's label set, names joined by ';' (an empty cell:
  // no label; setfit::SetFitFolder::label_set).
  std::optional<std::filesystem::path> calibration_data;
  // Unlabelled calibration texts held in memory (Python's list of strings), instead of
  // calibration_data; the job refuses both at once.
  std::vector<std::string> calibration_texts;
  std::filesystem::path output_folder;
  std::string text_column = "text";
  std::string label_column = "label";  // empty: ignore any labels, an unlabelled run

  // What a trial is scored on; none: accuracy when the calibration data has labels,
  // agreement when it has none. Accuracy on unlabelled data is a UsageError.
  std::optional<CriterionMetric> criterion_metric;
  // The accuracy criterion (INC's defaults: relative 0.01, higher is better).
  bool relative_criterion = true;
  double criterion = 0.01;
  bool higher_is_better = true;
  AccuracyMetric accuracy_metric = AccuracyMetric::exact_match;  // micro_f1: multi-label heads only
  // The agreement criterion: at least this share of calibration rows with fp32's class.
  double min_agreement = 0.99;

  QuantizeStrategy strategy = QuantizeStrategy::sensitivity;
  SensitivityProbe sensitivity_probe = SensitivityProbe::local;
  int max_trials = 100;
  std::chrono::duration<double> max_time{0};  // 0: none (INC's exit_policy.timeout 0 = stop at first pass)
  std::uint64_t seed = 9527;

  // Quantization recipe.
  bool per_channel = true;    // starting granularity for weights
  // 7-bit weights. On by default: u8×s8 products then cannot saturate on CPUs without VNNI
  // (AVX2's vpmaddubsw), so the integer results, and the accuracy tuning measured, are the
  // same on every x86 CPU the model is deployed on (docs/quantize.md has the measurements).
  bool reduce_range = true;
  // per_token by default: per-tensor scales flip 2-3.5 % of labels between batchings of one
  // model (measured, docs/quantize.md), as much as quantizing costs; per_token costs time.
  ActivationScales activations = ActivationScales::per_token;
  // static needs calibration data; `activations` then does not apply.
  QuantizeApproach approach = QuantizeApproach::dynamic;
  // Static approach: SmoothQuant's alpha (0: off, the default: measured, it did not pay on
  // minilm-sst2): outlier channels of each GEMM input are divided by
  // s = max|x|^alpha / max|W|^(1-alpha) (one Mul) and folded into the weights' rows before the
  // per-tensor scale is calibrated (docs/quantize.md, "Static activations").
  float smooth_alpha = 0.0f;
  bool quantize_embeddings = true;
  bool fused_matmul = true;   // DynamicQuantizeMatMul rather than DynamicQuantizeLinear+MatMulInteger+…
  // Before quantizing: ONNX Runtime's extended graph optimisations (LayerNormalization,
  // Gelu, … fusions), then self-attention -> Attention (quantized to QAttention) and
  // residual Add + LayerNormalization -> SkipLayerNormalization.
  // The output then needs ONNX Runtime (com.microsoft ops) and runs faster there.
  bool optimize_graph = true;

  // Evaluation.
  std::size_t batch_size = 32;
  int threads = 0;  // ONNX Runtime intra-op threads; 0: one per core
  std::size_t sensitivity_sample = 64;  // texts used to rank nodes (sensitivity strategy)

  // The fp32 baseline's predictions are kept in `baseline_cache` (default:
  // $DOCQUANT_CACHE/baselines, else ~/.cache/docquant/baselines) and reused by a later run
  // on the same fp32 graph, SetFit files, CSV, batching and threads (keyed by their sha256);
  // so are the local sensitivity probe's scores, keyed by those and the probe's settings.
  bool use_baseline_cache = true;
  std::optional<std::filesystem::path> baseline_cache;

  bool overwrite = false;    // replace a non-empty output folder
  bool best_effort = false;  // write the most accurate trial even if it misses the criterion

  // Progress lines for a human (no trailing newline); called from the calling thread.
  std::function<void(const std::string&)> progress;
  // Rows done of a long phase ("baseline", "trial 3"), after each batch, from the calling
  // thread: for a live counter with an ETA. A phase ends with a `progress` line.
  std::function<void(const std::string& phase, std::size_t done, std::size_t total)> row_progress;
  // Polled between steps; returning true aborts with an "interrupted" error and no output.
  std::function<bool()> cancelled;
};

struct QuantizeTrial {
  int index = 0;
  std::string phase;
  std::string summary;
  int fp32_nodes = 0;
  std::optional<double> accuracy;  // none on unlabelled calibration data
  double agreement = 0;            // share of calibration rows with fp32's class
  double seconds = 0;
  bool passed = false;
  // Calibration rows run before the trial's outcome was certain: all of them, or fewer when
  // the rows still to run could no longer lift it to the criterion (a fail decided early;
  // `accuracy` and `agreement` are then the most those rows could have given).
  std::size_t rows_evaluated = 0;
};

// Rows whose int8 class differs from fp32's, counted by fp32's top-two probability margin
// (how near a tie fp32's answer was), in the bins `docquant eval --compare` reports.
struct FlipsByMargin {
  double min_margin = 0;  // the bin is [min_margin, max_margin)
  double max_margin = 1;
  std::size_t rows = 0;   // calibration rows in the bin
  std::size_t flips = 0;  // of which int8's class is not fp32's
};

// What quantize did with a node whose op type has a quantizer.
enum class NodeOutcome {
  quantized,
  fp32_by_tuning,   // tuning kept it fp32 to meet the criterion
  fp32_by_plan,     // the recipe left it fp32 (e.g. --keep_embeddings_fp32)
  not_quantizable,  // its quantizer refused it
};

struct QuantizeNode {
  std::string node;
  std::string op_type;
  NodeOutcome outcome = NodeOutcome::quantized;
  // The outcome as quantization.json words it: "int8 per-channel", "int8 per-tensor
  // reduce_range, per-token activations", "uint8 per-tensor", "fp32 (tuning)",
  // "kept fp32 (plan)", "kept fp32 (not quantizable: <why>)".
  std::string decision;
  std::optional<double> sensitivity;  // the sensitivity probe's score, when it ran (higher: kept fp32 first)
  // An int8 GEMM whose weights let a CPU without VNNI saturate a pair of u8×s8 products
  // into int16 (possible only with full-range weights; docs/quantize.md).
  bool can_saturate = false;
};

struct QuantizeReport {
  std::filesystem::path output_folder;
  std::string model_form;
  std::string batching;
  std::string criterion;
  CriterionMetric criterion_metric = CriterionMetric::accuracy;  // what the trials were scored on
  std::optional<QuantizeStrategy> strategy;  // the one that ran; none without calibration data
  std::string stop_reason;
  bool accuracy_checked = false;  // calibration data was given and the output was measured on it
  std::size_t calibration_rows = 0;
  bool calibration_labelled = false;      // false: fp32's answers served as the labels
  // What the accuracy figures measure: "accuracy", or for a multi-label head "exact-match
  // accuracy (whole label set right)" or "micro-F1 over labels".
  std::string accuracy_measures = "accuracy";
  std::optional<double> baseline_accuracy;  // labelled calibration data only
  std::optional<double> final_accuracy;
  std::optional<double> final_agreement;  // the written model's agreement with fp32
  // The written model's flips on the calibration rows by fp32's margin; empty when the
  // model gives labels without probabilities or there was no calibration data.
  std::vector<FlipsByMargin> flips_by_margin;
  bool criterion_met = false;
  std::vector<QuantizeTrial> trials;
  std::vector<QuantizeNode> nodes;
  std::int64_t size_before = 0;  // bytes of the fp32 model.onnx
  std::int64_t size_after = 0;   // bytes of the written model.onnx
  double seconds = 0;            // wall time of the whole job
  // Wall seconds per phase ("load model", "trials: session", …), in the order they first
  // ran; phases nested in "tuning (all)" are also listed on their own.
  std::vector<std::pair<std::string, double>> phase_seconds;
  std::int64_t peak_rss_bytes = 0;  // the process's peak resident memory during the job
  bool baseline_cached = false;     // the fp32 baseline came from the cache (QuantizeOptions::use_baseline_cache)
  double probe_seconds = 0;      // sensitivity probes
  bool probe_cached = false;      // the local probe's scores came from the cache (use_baseline_cache)
  std::optional<SensitivityProbe> probe;  // which probe ranked the nodes, when one ran
  std::size_t attentions_fused = 0;        // by optimize_graph
  int tensors_smoothed = 0;                // static approach: activations given a SmoothQuant Mul
  std::size_t skip_layer_norms_fused = 0;  // by optimize_graph
  // The u8×s8 kernel family ONNX Runtime runs on the machine that measured accuracy
  // ("avx512_vnni", "avx_vnni", "amx", "sse": exact; "avx2", "avx512_core": pairs of
  // products saturate to int16), and whether it is exact.
  std::string int8_path;
  bool int8_exact = true;
  // Nodes of the written model whose weights can saturate on the pairwise kernels; 0 means
  // the model computes the same integers on every x86 CPU.
  std::size_t nodes_that_can_saturate = 0;
  // Things the user must know about the output (one line each), also in quantization.json.
  std::vector<std::string> warnings;
};

// Runs the job. Throws docquant::Error: InputError/OutputError for bad inputs or output,
// CriterionNotMetError (the report's numbers in the message) when no trial passes and
// best_effort is off. The output folder appears whole or not at all.
QuantizeReport quantize(const QuantizeOptions& options);

}  // namespace docquant
