// com.microsoft Attention (after ONNX Runtime's attention fusion) with a
// constant [H, 3H] QKV weight -> QAttention, as ORT's quantization tool emits it:
// the input is quantized at run time by DynamicQuantizeLinear (uint8), the
// weight ahead of time (int8, per tensor or per column); bias, mask and past
// stay float/int as they were; attributes are copied.
//
// With per-token activations QAttention cannot be used (it takes one input scale), so the
// node becomes: the input's per-token quantization -> MatMulIntegerToFloat with the same
// [H, 3H] int8 weight -> Split into Q, K, V -> com.microsoft MultiHeadAttention (float),
// which adds the [3H] bias and applies the mask as Attention does (bit-identical outputs
// measured on a padded batch). Attentions with inputs or attributes beyond input, weight,
// bias, mask, attention_bias, num_heads, scale and mask_filter_value keep per-tensor QAttention.
//
// An attention_bias (MPNet's relative position bias, graph/attention_fusion.h) has no
// QAttention input, so with per-tensor activations such a node becomes the per-tensor
// integer GEMM (DynamicQuantizeMatMul, or its unfused form) -> Split -> MultiHeadAttention,
// which takes the bias as Attention does; with static activations, the static integer GEMM
// (QuantizeLinear with the calibrated scale -> MatMulIntegerToFloat) in its place.
//
// With static activations the input's QuantizeLinear has a calibrated constant scale and zero
// point, and QAttention takes them as its input_scale and input_zero_point: one node for the
// whole attention, and nothing computed at run time to quantize (bench/activations/static_forms.py
// measured it against MatMulIntegerToFloat + Split + MultiHeadAttention with the same scales).
#include <fmt/core.h>

#include <set>

#include "matmul_quantizer.h"
#include "quantizer.h"

namespace docquant::quant {

namespace {

// Attention's inputs from 3 on (ContribOperators.md): mask_index, past, attention_bias.
constexpr int kMaskInput = 3, kPastInput = 4, kAttentionBiasInput = 5;

// Attention's input `i`, or "" when absent.
std::string optional_input(const onnx::NodeProto& node, int i) { return i < node.input_size() ? node.input(i) : ""; }

// Whether MultiHeadAttention can stand in for this Attention node.
bool multi_head_attention_fits(const onnx::NodeProto& node) {
  if (node.input_size() > kAttentionBiasInput + 1 || !optional_input(node, kPastInput).empty()) return false;
  static const std::set<std::string> kAttributes{"num_heads", "scale", "mask_filter_value"};
  for (const auto& a : node.attribute()) {
    if (!kAttributes.count(a.name())) return false;
  }
  return true;
}

// Split's outputs in three equal parts along the last axis, in the graph's opset.
onnx::NodeProto split_in_three(const std::string& in, const std::vector<std::string>& outs, const std::string& name,
                               std::int64_t opset) {
  onnx::NodeProto split = make_node("Split", {in}, outs, name);
  add_int_attribute(split, "axis", -1);
  if (opset >= 18) add_int_attribute(split, "num_outputs", 3);  // required from 18 on without a split input
  return split;
}

// Split(qkv) -> MultiHeadAttention(Q, K, V, bias, mask, attention_bias), `node`'s output and
// attributes: the attention `node` computes after its QKV GEMM.
void append_multi_head_attention(const onnx::NodeProto& node, const std::string& qkv, RewriteContext& ctx,
                                 std::vector<onnx::NodeProto>& nodes) {
  const std::string stem = node_stem(node);
  const std::vector<std::string> parts{ctx.names.unique(stem + "_q"), ctx.names.unique(stem + "_k"),
                                       ctx.names.unique(stem + "_v")};
  nodes.push_back(split_in_three(qkv, parts, ctx.names.unique(stem + "_split"), ctx.graph.opset("")));
  // MultiHeadAttention: query, key, value, bias, key_padding_mask, attention_bias.
  std::vector<std::string> inputs{parts[0], parts[1], parts[2], node.input(2), optional_input(node, kMaskInput),
                                  optional_input(node, kAttentionBiasInput)};
  while (inputs.back().empty()) inputs.pop_back();
  onnx::NodeProto mha = make_node("MultiHeadAttention", inputs, {node.output(0)}, ctx.names.unique(stem + "_mha"),
                                  kMsDomain);
  for (const auto& attr : node.attribute()) *mha.add_attribute() = attr;
  nodes.push_back(std::move(mha));
}

class AttentionQuantizer final : public Quantizer {
 public:
  std::string_view op_type() const noexcept override { return "Attention"; }
  std::string_view domain() const noexcept override { return kMsDomain; }

  std::optional<WeightSpec> weight_spec(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return WeightSpec{1, 1};  // [hidden, 3 * hidden]; channels are the Q, K and V columns
  }

  std::optional<int> activation_input(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return 0;
  }

  std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan& plan,
                                     const GraphView& graph) const override {
    if (auto why = opset_refusal(graph)) return why;
    if (node.input_size() < 3 || node.input(2).empty()) return "Attention without a bias input";
    for (const auto& a : node.attribute()) {
      // QAttention has no separate Q/K/V sizes (ORT's tool refuses these too).
      if (a.name() == "qkv_hidden_sizes") return "qkv_hidden_sizes is not supported by QAttention";
    }
    if (!optional_input(node, kAttentionBiasInput).empty()) {
      if (!multi_head_attention_fits(node))
        return "Attention with an attention_bias and past, past_sequence_length or other attributes is not supported";
    } else if (node.input_size() > kAttentionBiasInput) {
      return "Attention with inputs beyond 'past' is not supported by QAttention";
    }
    return weight_refusal(node, *weight_spec(node, plan, graph), graph);
  }

  Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig& config, RewriteContext& ctx) const override {
    Rewrite r;
    r.granularity = config.granularity;
    r.reduce_range = config.reduce_range;
    const WeightSpec spec = *weight_spec(node, ctx.plan, ctx.graph);
    const bool per_token = config.activations == ActivationScheme::per_token && multi_head_attention_fits(node);
    WeightLayout layout = weight_layout(spec, config);
    layout.per_token_scale = per_token;
    const QuantizedWeightNames w = ctx.weights.quantize(node.input(spec.input), layout);
    r.max_pair_magnitude = w.max_pair_magnitude;
    const std::string stem = node_stem(node);
    if (per_token) {
      r.activations = ActivationScheme::per_token;
      const TokenQuantizedNames a = ctx.activations.per_token(node.input(0), r.nodes);
      const std::string qkv = ctx.names.unique(stem + "_qkv");
      r.nodes.push_back(make_node("MatMulIntegerToFloat", {a.values, w.values, a.scale, w.scale, a.zero_point, w.zero_point},
                                  {qkv}, ctx.names.unique(stem + "_qkv_quant"), kMsDomain));
      append_multi_head_attention(node, qkv, ctx, r.nodes);
      return r;
    }
    if (!optional_input(node, kAttentionBiasInput).empty()) {  // refusal() checked that MultiHeadAttention fits
      IntegerMatMul mm;
      mm.stem = stem + "_qkv";
      mm.a = node.input(0);
      mm.b = w;
      mm.output = ctx.names.unique(stem + "_qkv");
      if (config.activations == ActivationScheme::static_per_tensor) {
        r.activations = ActivationScheme::static_per_tensor;
        for (auto& n : emit_static_matmul(mm, ctx.activations, ctx.plan.activation_ranges.get(), ctx.names))
          r.nodes.push_back(std::move(n));
      } else {
        for (auto& n : emit_integer_matmul(mm, ctx.plan.fused_matmul, ctx.names)) r.nodes.push_back(std::move(n));
      }
      append_multi_head_attention(node, mm.output, ctx, r.nodes);
      return r;
    }

    const std::string& x = node.input(0);
    std::string xq, xs, xz;
    if (config.activations == ActivationScheme::static_per_tensor) {
      r.activations = ActivationScheme::static_per_tensor;
      const StaticQuantizedNames a = ctx.activations.per_tensor_static(x, ctx.plan.activation_ranges.get(), r.nodes);
      xq = a.values, xs = a.scale, xz = a.zero_point;
    } else {
      xq = ctx.names.unique(x + "_quantized");
      xs = ctx.names.unique(x + "_scale");
      xz = ctx.names.unique(x + "_zero_point");
      r.nodes.push_back(make_node("DynamicQuantizeLinear", {x}, {xq, xs, xz}, ctx.names.unique(x + "_QuantizeLinear")));
    }

    // QAttention: input, weight, bias, input_scale, weight_scale, mask_index,
    // input_zero_point, weight_zero_point, past
    onnx::NodeProto q = make_node("QAttention",
                                  {xq, w.values, node.input(2), xs, w.scale, optional_input(node, kMaskInput), xz,
                                   w.zero_point, optional_input(node, kPastInput)},
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
