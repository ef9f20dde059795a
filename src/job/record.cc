// quantization.json: what was read, how it was quantized and tuned, what came out.
// docs/output-folder.md describes the fields.
#include "record.h"

#include <nlohmann/json.hpp>

#include "docquant/version.h"
#include "file_util.h"
#include "int8_kernel.h"
#include "json_file.h"
#include "trial_plan.h"

namespace docquant::job {

std::string calibration_sha256(const QuantizeOptions& o) {
  if (o.calibration_data) return sha256_file(*o.calibration_data);
  if (o.calibration_texts.empty()) return "";
  std::string bytes;
  for (const auto& t : o.calibration_texts) bytes += std::to_string(t.size()) + ":" + t;
  return sha256_bytes(bytes);
}

RecordedInputs hash_inputs(const QuantizeOptions& o, const std::filesystem::path& onnx_model,
                           const std::vector<std::filesystem::path>& setfit_files) {
  RecordedInputs r;
  r.onnx_model = onnx_model;
  r.onnx_model_sha256 = sha256_file(onnx_model);
  for (const auto& rel : setfit_files) r.setfit_files_sha256.emplace_back(rel.string(), sha256_file(o.setfit_folder / rel));
  r.calibration_sha256 = calibration_sha256(o);
  return r;
}

void write_record(const std::filesystem::path& file, const QuantizeOptions& o, const RecordedInputs& inputs,
                  const runtime::BatchPolicy& policy, const QuantizeReport& report,
                  const std::vector<std::pair<std::string, std::int64_t>>& peak_rss_after_phase) {
  nlohmann::ordered_json j;
  j["format_version"] = 1;
  j["docquant_version"] = kVersion;
  j["git_commit"] = kGitCommit;
  j["onnxruntime_version"] = kOnnxRuntimeVersion;
  nlohmann::ordered_json in;
  in["onnx_model"] = {{"path", inputs.onnx_model.string()}, {"sha256", inputs.onnx_model_sha256}};
  nlohmann::ordered_json sf = nlohmann::ordered_json::object();
  for (const auto& [rel, sha256] : inputs.setfit_files_sha256) sf[rel] = sha256;
  in["setfit_folder"] = {{"path", o.setfit_folder.string()}, {"files_sha256", sf}};
  if (o.calibration_data || !o.calibration_texts.empty()) {
    in["calibration_data"] = {{"path", o.calibration_data ? o.calibration_data->string() : "(texts in memory)"},
                              {"sha256", inputs.calibration_sha256},
                              {"rows", report.calibration_rows},
                              {"labelled", report.calibration_labelled}};
  }
  j["inputs"] = in;
  j["host"] = {{"cpu", quant::host_cpu_model()},
               {"int8_path", report.int8_path},
               {"int8_exact", report.int8_exact},
               {"threads", o.threads}};
  j["seed"] = o.seed;
  j["model_form"] = report.model_form;
  if (report.criterion_metric == CriterionMetric::agreement) {
    j["criterion"] = {{"metric", to_string(report.criterion_metric)}, {"min_agreement", o.min_agreement},
                      {"text", report.criterion}};
  } else {
    j["criterion"] = {{"metric", to_string(report.criterion_metric)},
                      {"kind", o.relative_criterion ? "relative" : "absolute"},
                      {"value", o.criterion},
                      {"higher_is_better", o.higher_is_better},
                      {"accuracy_metric", to_string(o.accuracy_metric)},
                      {"accuracy_measures", report.accuracy_measures},
                      {"text", report.criterion}};
  }
  const bool static_approach = o.approach == QuantizeApproach::static_;
  j["recipe"] = {{"approach", static_approach ? "post_training_static_quant" : "post_training_dynamic_quant"},
                 {"weights", "int8 symmetric"},
                 {"activations", static_approach ? "uint8 asymmetric, static per tensor (calibrated min/max)"
                                 : o.activations == ActivationScales::per_token
                                     ? "uint8 symmetric (zero point 128), dynamic per token"
                                     : "uint8 asymmetric, dynamic per tensor"},
                 {"activation_scales", quant::to_string(activation_scheme(o))},
                 {"start_granularity", o.per_channel ? "per_channel" : "per_tensor"},
                 {"reduce_range", o.reduce_range},
                 {"quantize_embeddings", o.quantize_embeddings},
                 {"fused_matmul", o.fused_matmul},
                 {"optimize_graph", o.optimize_graph},
                 {"attention_fused", report.attentions_fused},
                 {"smooth_alpha", static_approach ? nlohmann::json(o.smooth_alpha) : nlohmann::json()},
                 {"tensors_smoothed", report.tensors_smoothed},
                 {"skip_layer_normalization_fused", report.skip_layer_norms_fused},
                 {"nodes_that_can_saturate", report.nodes_that_can_saturate},
                 {"exact_on_every_x86_cpu", report.nodes_that_can_saturate == 0}};
  j["strategy"] = {{"name", report.strategy ? to_string(*report.strategy) : "none"},
                   {"max_trials", o.max_trials},
                   {"max_seconds", o.max_time.count()},
                   {"stop_reason", report.stop_reason},
                   {"probe", report.probe ? to_string(*report.probe) : ""},
                   {"probe_seconds", report.probe_seconds},
                   {"probe_from_cache", report.probe_cached}};
  j["batching"] = {{"batch_size", policy.batch_size}, {"sort_by_length", policy.sort_by_length},
                   {"text", report.batching}};
  j["accuracy_checked"] = report.accuracy_checked;
  if (report.accuracy_checked) {
    // null where the calibration rows have no labels.
    const auto maybe = [](const std::optional<double>& v) { return v ? nlohmann::ordered_json(*v) : nullptr; };
    j["baseline_accuracy"] = maybe(report.baseline_accuracy);
    j["baseline_from_cache"] = report.baseline_cached;
    j["final_accuracy"] = maybe(report.final_accuracy);
    j["final_agreement"] = maybe(report.final_agreement);
    j["criterion_met"] = report.criterion_met;
    auto flips = nlohmann::ordered_json::array();
    for (const auto& b : report.flips_by_margin) {
      flips.push_back({{"min_margin", b.min_margin}, {"max_margin", b.max_margin}, {"rows", b.rows}, {"flips", b.flips}});
    }
    j["flips_by_margin"] = flips;
  }
  auto trials = nlohmann::ordered_json::array();
  for (const auto& t : report.trials) {
    trials.push_back({{"index", t.index}, {"phase", t.phase}, {"configuration", t.summary}, {"fp32_nodes", t.fp32_nodes},
                      {"accuracy", t.accuracy ? nlohmann::ordered_json(*t.accuracy) : nullptr},
                      {"agreement", t.agreement}, {"seconds", t.seconds}, {"passed", t.passed},
                      {"rows_evaluated", t.rows_evaluated}});
  }
  j["trials"] = trials;
  auto nodes = nlohmann::ordered_json::array();
  for (const auto& n : report.nodes) {
    nlohmann::ordered_json node = {{"node", n.node}, {"op_type", n.op_type}, {"decision", n.decision}};
    if (n.sensitivity) node["sensitivity"] = *n.sensitivity;
    if (n.can_saturate) node["can_saturate"] = true;
    nodes.push_back(std::move(node));
  }
  j["nodes"] = nodes;
  j["warnings"] = report.warnings;
  j["sizes"] = {{"model_onnx_before", report.size_before}, {"model_onnx_after", report.size_after}};
  j["seconds"] = report.seconds;
  nlohmann::ordered_json phase_json = nlohmann::ordered_json::object();
  for (const auto& [phase, s] : report.phase_seconds) phase_json[phase] = s;
  j["phase_seconds"] = phase_json;
  j["peak_rss_bytes"] = report.peak_rss_bytes;
  nlohmann::ordered_json rss_json = nlohmann::ordered_json::object();
  for (const auto& [phase, bytes] : peak_rss_after_phase) rss_json[phase] = bytes;
  j["peak_rss_bytes_after_phase"] = rss_json;
  write_file_checked(file, json_text(std::move(j)));
}

}  // namespace docquant::job
