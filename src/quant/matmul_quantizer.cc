// MatMul whose B is a constant float [K, N] weight: int8 symmetric weight
// (per tensor or per output column), uint8 activation quantized at run time.
// A following `Add` of a constant [N] bias is folded into DynamicQuantizeMatMul.
#include "matmul_quantizer.h"

#include <fmt/core.h>

#include <array>

#include "quantizer.h"

namespace docquant::quant {

namespace {

onnx::NodeProto cast_to_float(const std::string& in, const std::string& out, const std::string& name) {
  onnx::NodeProto n = make_node("Cast", {in}, {out}, name);
  auto* to = n.add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(onnx::TensorProto::FLOAT);
  return n;
}

// The bias Add that follows `node`, when it can be folded: `node`'s output feeds
// only that Add, is not a graph output, and the Add's other input is a constant
// float [N] vector.
std::optional<int> foldable_bias_add(const onnx::NodeProto& node, std::int64_t n_cols, const GraphView& graph) {
  const std::string& out = node.output(0);
  const auto& users = graph.consumers(out);
  if (users.size() != 1 || graph.is_graph_output(out)) return std::nullopt;
  const onnx::NodeProto& add = graph.node(users[0]);
  if (add.op_type() != "Add" || !add.domain().empty() || add.input_size() != 2) return std::nullopt;
  if (add.input(0) == add.input(1)) return std::nullopt;
  const std::string& other = add.input(0) == out ? add.input(1) : add.input(0);
  const onnx::TensorProto* bias = graph.constant(other);
  if (bias == nullptr || bias->data_type() != onnx::TensorProto::FLOAT || bias->dims_size() != 1 ||
      bias->dims(0) != n_cols) {
    return std::nullopt;
  }
  return users[0];
}

class MatMulQuantizer final : public Quantizer {
 public:
  std::string_view op_type() const noexcept override { return "MatMul"; }

  std::optional<WeightSpec> weight_spec(const onnx::NodeProto& node, const QuantPlan& plan,
                                        const GraphView& graph) const override {
    if (activation_b(node, plan, graph)) return std::nullopt;
    return WeightSpec{1, 1};  // B is [K, N]; channels are the N output columns
  }

  std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan& plan,
                                     const GraphView& graph) const override {
    if (auto why = opset_refusal(graph)) return why;
    if (node.input_size() != 2 || node.output_size() != 1) return "MatMul without exactly two inputs and one output";
    if (activation_b(node, plan, graph)) return std::nullopt;
    if (graph.constant(node.input(1)) == nullptr && !plan.activation_matmul) {
      return "B is not a constant initializer (activation x activation MatMul is off in the plan)";
    }
    return weight_refusal(node, *weight_spec(node, plan, graph), graph);
  }

  std::optional<int> activation_input(const onnx::NodeProto& node, const QuantPlan& plan,
                                      const GraphView& graph) const override {
    if (activation_b(node, plan, graph)) return std::nullopt;  // both inputs quantized dynamically
    return 0;
  }

  Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig& config, RewriteContext& ctx) const override {
    Rewrite r;
    IntegerMatMul mm;
    mm.stem = node_stem(node);
    mm.a = node.input(0);
    mm.output = node.output(0);
    bool fused = ctx.plan.fused_matmul;
    const bool per_token = config.activations == ActivationScheme::per_token;
    if (activation_b(node, ctx.plan, ctx.graph)) {
      mm.b_activation = node.input(1);
      fused = false;
    } else {
      const WeightSpec spec = *weight_spec(node, ctx.plan, ctx.graph);
      WeightLayout layout = weight_layout(spec, config);
      layout.per_token_scale = per_token;
      mm.b = ctx.weights.quantize(node.input(spec.input), layout);
      r.granularity = config.granularity;
      r.reduce_range = config.reduce_range;
      r.max_pair_magnitude = mm.b.max_pair_magnitude;
      if (per_token) {
        r.activations = ActivationScheme::per_token;
        r.nodes = emit_per_token_matmul(mm, ctx.activations, ctx.names);
        return r;
      }
      const bool static_scales = config.activations == ActivationScheme::static_per_tensor;
      if (fused || static_scales) {
        const std::int64_t n_cols = ctx.graph.constant(node.input(spec.input))->dims(spec.channel_axis);
        if (auto add = foldable_bias_add(node, n_cols, ctx.graph)) {
          const onnx::NodeProto& add_node = ctx.graph.node(*add);
          mm.bias = add_node.input(0) == mm.output ? add_node.input(1) : add_node.input(0);
          mm.output = add_node.output(0);
          r.absorbed.push_back(*add);
        }
      }
      if (static_scales) {
        r.activations = ActivationScheme::static_per_tensor;
        r.nodes = emit_static_matmul(mm, ctx.activations, ctx.plan.activation_ranges.get(), ctx.names);
        return r;
      }
    }
    r.nodes = emit_integer_matmul(mm, fused, ctx.names);
    return r;
  }

 private:
  // B is a run-time tensor and the plan asks for activation×activation MatMuls.
  static bool activation_b(const onnx::NodeProto& node, const QuantPlan& plan, const GraphView& graph) {
    return plan.activation_matmul && node.input_size() == 2 && graph.constant(node.input(1)) == nullptr;
  }
};

}  // namespace

std::vector<onnx::NodeProto> emit_integer_matmul(const IntegerMatMul& mm, bool fused, NameAllocator& names) {
  std::vector<onnx::NodeProto> nodes;
  const bool constant_b = !mm.b.values.empty();
  if (fused && constant_b) {
    std::vector<std::string> inputs{mm.a, mm.b.values, mm.b.scale, mm.b.zero_point};
    if (!mm.bias.empty()) inputs.push_back(mm.bias);
    nodes.push_back(make_node("DynamicQuantizeMatMul", inputs, {mm.output}, names.unique(mm.stem + "_quant"), kMsDomain));
    return nodes;
  }

  // DynamicQuantizeLinear gives uint8 data, its scale and zero point.
  const auto quantize_input = [&](const std::string& x) {
    const std::string q = names.unique(x + "_quantized");
    const std::string s = names.unique(x + "_scale");
    const std::string z = names.unique(x + "_zero_point");
    nodes.push_back(make_node("DynamicQuantizeLinear", {x}, {q, s, z}, names.unique(x + "_QuantizeLinear")));
    return std::array<std::string, 3>{q, s, z};
  };
  const auto a = quantize_input(mm.a);
  std::array<std::string, 3> b{mm.b.values, mm.b.scale, mm.b.zero_point};
  if (!constant_b) b = quantize_input(mm.b_activation);

  const std::string int_out = names.unique(mm.output + "_output_quantized");
  nodes.push_back(make_node("MatMulInteger", {a[0], b[0], a[2], b[2]}, {int_out}, names.unique(mm.stem + "_quant")));
  const std::string float_out = names.unique(int_out + "_cast_output");
  nodes.push_back(cast_to_float(int_out, float_out, names.unique(mm.stem + "_cast")));
  const std::string scale = names.unique(mm.stem + "_scales_mul:0");
  nodes.push_back(make_node("Mul", {a[1], b[1]}, {scale}, names.unique(mm.stem + "_scales_mul")));
  const std::string product = mm.bias.empty() ? mm.output : names.unique(mm.output + "_before_bias");
  nodes.push_back(make_node("Mul", {float_out, scale}, {product}, names.unique(mm.stem + "_output_scale_mul")));
  if (!mm.bias.empty()) {
    nodes.push_back(make_node("Add", {product, mm.bias}, {mm.output}, names.unique(mm.stem + "_bias_add")));
  }
  return nodes;
}

std::vector<onnx::NodeProto> emit_per_token_matmul(const IntegerMatMul& mm, ActivationStore& activations,
                                                   NameAllocator& names) {
  std::vector<onnx::NodeProto> nodes;
  const TokenQuantizedNames a = activations.per_token(mm.a, nodes);
  const std::string product = mm.bias.empty() ? mm.output : names.unique(mm.output + "_before_bias");
  nodes.push_back(make_node("MatMulIntegerToFloat",
                            {a.values, mm.b.values, a.scale, mm.b.scale, a.zero_point, mm.b.zero_point}, {product},
                            names.unique(mm.stem + "_quant"), kMsDomain));
  if (!mm.bias.empty()) {
    nodes.push_back(make_node("Add", {product, mm.bias}, {mm.output}, names.unique(mm.stem + "_bias_add")));
  }
  return nodes;
}

std::vector<onnx::NodeProto> emit_static_matmul(const IntegerMatMul& mm, ActivationStore& activations,
                                                const ActivationRanges* ranges, NameAllocator& names) {
  std::vector<onnx::NodeProto> nodes;
  const StaticQuantizedNames a = activations.per_tensor_static(mm.a, ranges, nodes);
  std::vector<std::string> inputs{a.values, mm.b.values, a.scale, mm.b.scale, a.zero_point, mm.b.zero_point};
  if (!mm.bias.empty()) inputs.push_back(mm.bias);
  nodes.push_back(make_node("MatMulIntegerToFloat", inputs, {mm.output}, names.unique(mm.stem + "_quant"), kMsDomain));
  return nodes;
}

std::unique_ptr<Quantizer> make_matmul_quantizer() { return std::make_unique<MatMulQuantizer>(); }

}  // namespace docquant::quant
