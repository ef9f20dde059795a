// The registry: one quantizer per (domain, op type). Adding an op type is one
// line here and one file.
#include <fmt/core.h>

#include <cmath>
#include <map>
#include <utility>

#include "quantizer.h"

namespace docquant::quant {

namespace {

using Key = std::pair<std::string, std::string>;  // (domain, op type); "" = ai.onnx

std::map<Key, std::unique_ptr<Quantizer>> build_registry() {
  std::map<Key, std::unique_ptr<Quantizer>> r;
  r.emplace(Key{"", "MatMul"}, make_matmul_quantizer());
  r.emplace(Key{"", "Gemm"}, make_gemm_quantizer());
  r.emplace(Key{"", "Gather"}, make_gather_quantizer());
  r.emplace(Key{kMsDomain, "Attention"}, make_attention_quantizer());
  r.emplace(Key{kMsDomain, "EmbedLayerNormalization"}, make_embed_layernorm_quantizer());
  return r;
}

}  // namespace

const Quantizer* find_quantizer(const onnx::NodeProto& node) {
  static const auto registry = build_registry();
  const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  auto it = registry.find(Key{domain, node.op_type()});
  return it == registry.end() ? nullptr : it->second.get();
}

std::optional<std::string> opset_refusal(const GraphView& graph) {
  const std::int64_t v = graph.opset("");
  if (v < 10) return fmt::format("the model imports ai.onnx opset {}; integer ops need opset >= 10", v);
  return std::nullopt;
}

std::optional<std::string> weight_refusal(const onnx::NodeProto& node, const WeightSpec& spec, const GraphView& graph) {
  if (spec.input >= node.input_size() || node.input(spec.input).empty()) return "the weight input is missing";
  const std::string& name = node.input(spec.input);
  const onnx::TensorProto* w = graph.constant(name);
  if (w == nullptr) return fmt::format("weight '{}' is not a constant initializer", name);
  if (w->data_type() != onnx::TensorProto::FLOAT) return fmt::format("weight '{}' is not float32", name);
  if (w->dims_size() != 2) return fmt::format("weight '{}' has rank {}, not 2", name, w->dims_size());
  if (w->dims(0) <= 0 || w->dims(1) <= 0) return fmt::format("weight '{}' is empty", name);
  for (float v : float_values(*w)) {
    if (!std::isfinite(v)) return fmt::format("weight '{}' holds NaN or infinite values", name);
  }
  return std::nullopt;
}

std::string node_stem(const onnx::NodeProto& node) {
  if (!node.name().empty()) return node.name();
  return node.output_size() > 0 && !node.output(0).empty() ? node.output(0) : node.op_type();
}

}  // namespace docquant::quant
