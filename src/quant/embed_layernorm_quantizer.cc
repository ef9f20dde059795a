// com.microsoft EmbedLayerNormalization (ORT's transformer optimizer fuses the word,
// position and segment Gathers, their sum and the LayerNormalization into it) ->
// QEmbedLayerNormalization, as ORT's quantization tool emits it: the tables, gamma and
// beta stored uint8, asymmetric, one scale and zero point each (the kernel takes scalar
// parameters only, so there is no per-channel form); ids, segment ids and mask stay as
// they were. The kernel dequantizes the gathered rows, sums them and normalises in
// float, so no activation is quantized and reduce_range does not apply.
//
// Inputs of QEmbedLayerNormalization: input_ids, segment_ids, word_embedding,
// position_embedding, segment_embedding, gamma, beta, mask, then the five scales and the
// five zero points in that order (word, position, segment, gamma, beta).
#include <fmt/core.h>

#include <cmath>

#include "quantizer.h"

namespace docquant::quant {

namespace {

enum Input { kIds = 0, kSegmentIds, kWord, kPosition, kSegment, kGamma, kBeta, kMask, kPositionIds };

std::optional<std::string> constant_refusal(const onnx::NodeProto& node, int input, int rank, const GraphView& graph) {
  static const char* kNames[] = {"input_ids", "segment_ids", "word_embedding", "position_embedding",
                                 "segment_embedding", "gamma", "beta"};
  const std::string& name = node.input(input);
  const onnx::TensorProto* t = graph.constant(name);
  if (t == nullptr) return fmt::format("{} '{}' is not a constant initializer", kNames[input], name);
  if (t->data_type() != onnx::TensorProto::FLOAT) return fmt::format("{} '{}' is not float32", kNames[input], name);
  if (t->dims_size() != rank) return fmt::format("{} '{}' has rank {}, not {}", kNames[input], name, t->dims_size(), rank);
  for (float v : float_values(*t)) {
    if (!std::isfinite(v)) return fmt::format("{} '{}' holds NaN or infinite values", kNames[input], name);
  }
  return std::nullopt;
}

bool has_input(const onnx::NodeProto& node, int i) { return i < node.input_size() && !node.input(i).empty(); }

class EmbedLayerNormQuantizer final : public Quantizer {
 public:
  std::string_view op_type() const noexcept override { return "EmbedLayerNormalization"; }
  std::string_view domain() const noexcept override { return kMsDomain; }
  bool enabled(const QuantPlan& plan) const noexcept override { return plan.quantize_embeddings; }

  std::optional<WeightSpec> weight_spec(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return WeightSpec{kWord, 0};  // the word table is the node's bulk; its rows are tokens
  }

  std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan&,
                                     const GraphView& graph) const override {
    if (auto why = opset_refusal(graph)) return why;
    if (node.input_size() < kBeta + 1) return "EmbedLayerNormalization with fewer than 7 inputs";
    // QEmbedLayerNormalization derives positions from the token index and has no
    // embedding-sum output (ORT's tool refuses the 3-output form too).
    if (has_input(node, kPositionIds)) return "position_ids input is not supported by QEmbedLayerNormalization";
    if (node.output_size() > 2) return "the embedding-sum output is not supported by QEmbedLayerNormalization";
    if (has_input(node, kSegmentIds) != has_input(node, kSegment)) {
      return "segment_ids and segment_embedding must be both present or both absent";
    }
    for (int i : {kWord, kPosition}) {
      if (auto why = constant_refusal(node, i, 2, graph)) return why;
    }
    if (has_input(node, kSegment)) {
      if (auto why = constant_refusal(node, kSegment, 2, graph)) return why;
    }
    for (int i : {kGamma, kBeta}) {
      if (auto why = constant_refusal(node, i, 1, graph)) return why;
    }
    return std::nullopt;
  }

  Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig&, RewriteContext& ctx) const override {
    Rewrite r;
    r.granularity = WeightGranularity::per_tensor;  // the only form the kernel takes
    r.reduce_range = false;
    r.weight_type = "uint8";
    std::vector<QuantizedWeightNames> q;  // word, position, segment (or empty), gamma, beta
    for (int i : {kWord, kPosition, kSegment, kGamma, kBeta}) {
      q.push_back(has_input(node, i) ? ctx.weights.quantize_uint8_per_tensor(node.input(i)) : QuantizedWeightNames{});
    }
    std::vector<std::string> inputs{node.input(kIds), has_input(node, kSegmentIds) ? node.input(kSegmentIds) : ""};
    for (const auto& w : q) inputs.push_back(w.values);
    inputs.push_back(has_input(node, kMask) ? node.input(kMask) : "");
    for (const auto& w : q) inputs.push_back(w.scale);
    for (const auto& w : q) inputs.push_back(w.zero_point);
    onnx::NodeProto quantized =
        make_node("QEmbedLayerNormalization", inputs, {}, ctx.names.unique(node_stem(node) + "_quant"), kMsDomain);
    for (const auto& out : node.output()) quantized.add_output(out);
    for (const auto& a : node.attribute()) *quantized.add_attribute() = a;  // epsilon
    r.nodes.push_back(std::move(quantized));
    return r;
  }
};

}  // namespace

std::unique_ptr<Quantizer> make_embed_layernorm_quantizer() { return std::make_unique<EmbedLayerNormQuantizer>(); }

}  // namespace docquant::quant
