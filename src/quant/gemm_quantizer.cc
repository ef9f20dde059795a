// Gemm with a constant B, alpha = beta = 1, transA = 0 and an optional
// constant [N] bias C: the same integer MatMul as MatMul's, with B transposed
// ahead of time when transB = 1.
#include <fmt/core.h>

#include "matmul_quantizer.h"
#include "quantizer.h"

namespace docquant::quant {

namespace {

struct GemmAttributes {
  float alpha = 1.0f;
  float beta = 1.0f;
  std::int64_t trans_a = 0;
  std::int64_t trans_b = 0;
};

GemmAttributes attributes_of(const onnx::NodeProto& node) {
  GemmAttributes g;
  for (const auto& a : node.attribute()) {
    if (a.name() == "alpha") g.alpha = a.f();
    if (a.name() == "beta") g.beta = a.f();
    if (a.name() == "transA") g.trans_a = a.i();
    if (a.name() == "transB") g.trans_b = a.i();
  }
  return g;
}

class GemmQuantizer final : public Quantizer {
 public:
  std::string_view op_type() const noexcept override { return "Gemm"; }

  std::optional<WeightSpec> weight_spec(const onnx::NodeProto& node, const QuantPlan&,
                                        const GraphView&) const override {
    // Output channels are B's columns, or its rows when transB = 1.
    return WeightSpec{1, attributes_of(node).trans_b != 0 ? 0 : 1};
  }

  std::optional<int> activation_input(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return 0;
  }

  std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan& plan,
                                     const GraphView& graph) const override {
    if (auto why = opset_refusal(graph)) return why;
    const GemmAttributes g = attributes_of(node);
    if (node.input_size() < 2 || node.output_size() != 1) return "Gemm without two inputs and one output";
    if (g.trans_a != 0) return "transA = 1 is not implemented";
    if (g.alpha != 1.0f) return "alpha != 1 is not implemented";
    if (auto why = weight_refusal(node, *weight_spec(node, plan, graph), graph)) return why;
    if (node.input_size() >= 3 && !node.input(2).empty()) {
      const onnx::TensorProto* c = graph.constant(node.input(2));
      const onnx::TensorProto* b = graph.constant(node.input(1));
      const std::int64_t n_cols = g.trans_b != 0 ? b->dims(0) : b->dims(1);
      if (g.beta != 1.0f) return "beta != 1 is not implemented";
      if (c == nullptr || c->data_type() != onnx::TensorProto::FLOAT || c->dims_size() != 1 || c->dims(0) != n_cols) {
        return "C is not a constant float [N] bias";
      }
    }
    return std::nullopt;
  }

  Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig& config, RewriteContext& ctx) const override {
    // With transB = 1 the weight is stored transposed, as the [K, N] an integer MatMul takes.
    const WeightSpec spec = *weight_spec(node, ctx.plan, ctx.graph);
    WeightLayout layout = weight_layout(spec, config, /*transpose=*/attributes_of(node).trans_b != 0);
    layout.per_token_scale = config.activations == ActivationScheme::per_token;

    IntegerMatMul mm;
    mm.stem = node_stem(node);
    mm.a = node.input(0);
    mm.b = ctx.weights.quantize(node.input(spec.input), layout);
    if (node.input_size() >= 3) mm.bias = node.input(2);
    mm.output = node.output(0);

    Rewrite r;
    if (config.activations == ActivationScheme::per_token) {
      r.activations = ActivationScheme::per_token;
      r.nodes = emit_per_token_matmul(mm, ctx.activations, ctx.names);
    } else if (config.activations == ActivationScheme::static_per_tensor) {
      r.activations = ActivationScheme::static_per_tensor;
      r.nodes = emit_static_matmul(mm, ctx.activations, ctx.plan.activation_ranges.get(), ctx.names);
    } else {
      r.nodes = emit_integer_matmul(mm, ctx.plan.fused_matmul, ctx.names);
    }
    r.granularity = config.granularity;
    r.reduce_range = config.reduce_range;
    r.max_pair_magnitude = mm.b.max_pair_magnitude;
    return r;
  }
};

}  // namespace

std::unique_ptr<Quantizer> make_gemm_quantizer() { return std::make_unique<GemmQuantizer>(); }

}  // namespace docquant::quant
