// The registry: one quantizer per (domain, op type), keyed on what each quantizer
// says it handles. Adding an op type is one file, one line in kFactories and one test file
// (docs/conventions.md).
#include <fmt/core.h>

#include <cmath>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "docquant/error.h"
#include "quantizer.h"

namespace docquant::quant {

namespace {

using Factory = std::unique_ptr<Quantizer> (*)();
constexpr Factory kFactories[] = {
    make_matmul_quantizer,
    make_gemm_quantizer,
    make_gather_quantizer,
    make_attention_quantizer,
    make_embed_layernorm_quantizer,
};

using Key = std::pair<std::string_view, std::string_view>;  // (domain, op type); "" = ai.onnx

struct Registry {
  std::vector<std::unique_ptr<Quantizer>> owned;
  std::vector<const Quantizer*> in_order;
  std::map<Key, const Quantizer*> by_op;
};

const Registry& registry() {
  static const Registry r = [] {
    Registry built;
    for (Factory make : kFactories) {
      const Quantizer* q = built.owned.emplace_back(make()).get();
      built.in_order.push_back(q);
      if (!built.by_op.emplace(Key{q->domain(), q->op_type()}, q).second) {
        throw InternalError(fmt::format("two quantizers registered for op type '{}'", q->op_type()));
      }
    }
    return built;
  }();
  return r;
}

}  // namespace

const Quantizer* find_quantizer(const onnx::NodeProto& node) {
  const std::string_view domain = node.domain() == "ai.onnx" ? std::string_view() : std::string_view(node.domain());
  const auto& by_op = registry().by_op;
  auto it = by_op.find(Key{domain, node.op_type()});
  return it == by_op.end() ? nullptr : it->second;
}

const std::vector<const Quantizer*>& all_quantizers() { return registry().in_order; }

WeightLayout weight_layout(const WeightSpec& spec, const NodeConfig& config, bool transpose) {
  WeightLayout layout;
  if (config.granularity == WeightGranularity::per_channel) {
    layout.axis = transpose ? 1 - spec.channel_axis : spec.channel_axis;
  }
  layout.reduce_range = config.reduce_range;
  layout.transpose = transpose;
  return layout;
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
