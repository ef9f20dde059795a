// com.microsoft Attention (after ONNX Runtime's attention fusion) with a
// constant [H, 3H] QKV weight -> QAttention, as ORT's quantization tool emits it:
// the input is quantized at run time by DynamicQuantizeLinear (uint8), the
// weight ahead of time (int8, per tensor or per column); bias, mask and past
// stay float/int as they were; attributes are copied.
#include <fmt/core.h>

#include "quantizer.h"

namespace docquant::quant {

namespace {

class AttentionQuantizer final : public Quantizer {
 public:
  std::string_view op_type() const noexcept override { return "Attention"; }

  std::optional<WeightSpec> weight_spec(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return WeightSpec{1, 1};  // [hidden, 3 * hidden]; channels are the Q, K and V columns
  }

  std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan& plan,
                                     const GraphView& graph) const override {
    if (auto why = opset_refusal(graph)) return why;
    if (node.input_size() < 3 || node.input(2).empty()) return "Attention without a bias input";
    for (const auto& a : node.attribute()) {
      // QAttention has no separate Q/K/V sizes (ORT's tool refuses these too).
      if (a.name() == "qkv_hidden_sizes") return "qkv_hidden_sizes is not supported by QAttention";
    }
    if (node.input_size() > 5) return "Attention with inputs beyond 'past' is not supported by QAttention";
    return weight_refusal(node, *weight_spec(node, plan, graph), graph);
  }

  Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig& config, RewriteContext& ctx) const override {
    Rewrite r;
    r.granularity = config.granularity;
    r.reduce_range = config.reduce_range;
    WeightLayout layout;
    if (config.granularity == WeightGranularity::per_channel) layout.axis = 1;
    layout.reduce_range = config.reduce_range;
    const QuantizedWeightNames w = ctx.weights.quantize(node.input(1), layout);
    r.max_pair_magnitude = w.max_pair_magnitude;

    const std::string stem = node_stem(node);
    const std::string& x = node.input(0);
    const std::string xq = ctx.names.unique(x + "_quantized");
    const std::string xs = ctx.names.unique(x + "_scale");
    const std::string xz = ctx.names.unique(x + "_zero_point");
    r.nodes.push_back(make_node("DynamicQuantizeLinear", {x}, {xq, xs, xz}, ctx.names.unique(x + "_QuantizeLinear")));

    const auto input_or_empty = [&](int i) { return i < node.input_size() ? node.input(i) : std::string(); };
    // QAttention: input, weight, bias, input_scale, weight_scale, mask_index,
    // input_zero_point, weight_zero_point, past
    onnx::NodeProto q = make_node("QAttention",
                                  {xq, w.values, node.input(2), xs, w.scale, input_or_empty(3), xz, w.zero_point,
                                   input_or_empty(4)},
                                  {}, ctx.names.unique(stem + "_quant"), kMsDomain);
    while (q.input_size() > 0 && q.input(q.input_size() - 1).empty()) q.mutable_input()->RemoveLast();
    for (const auto& out : node.output()) q.add_output(out);
    for (const auto& a : node.attribute()) *q.add_attribute() = a;
    r.nodes.push_back(std::move(q));
    return r;
  }
};

}  // namespace

std::unique_ptr<Quantizer> make_attention_quantizer() { return std::make_unique<AttentionQuantizer>(); }

}  // namespace docquant::quant
