// Gather from a constant float [V, D] table (embeddings): the table is stored
// int8 and only the gathered rows are dequantized.
//   per tensor: Gather(int8 table) -> DequantizeLinear(scale, zero point 0)
//   per row:    Gather(int8 table) -> Cast(float) -> Mul(Gather([V, 1] row scales))
// Per-row scales cost 4 bytes a row and follow each token's own magnitude.
#include <fmt/core.h>

#include "quantizer.h"

namespace docquant::quant {

namespace {

std::int64_t gather_axis(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "axis") return a.i();
  }
  return 0;
}

class GatherQuantizer final : public Quantizer {
 public:
  std::string_view op_type() const noexcept override { return "Gather"; }
  bool enabled(const QuantPlan& plan) const noexcept override { return plan.quantize_embeddings; }

  std::optional<WeightSpec> weight_spec(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return WeightSpec{0, 0};  // the table; one channel per row
  }

  std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan& plan,
                                     const GraphView& graph) const override {
    if (auto why = opset_refusal(graph)) return why;
    if (node.input_size() != 2 || node.output_size() != 1) return "Gather without two inputs and one output";
    return weight_refusal(node, *weight_spec(node, plan, graph), graph);
  }

  Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig& config, RewriteContext& ctx) const override {
    Rewrite r;
    const std::string stem = node_stem(node);
    const std::string& out = node.output(0);
    // Row scales only make sense when rows are what is gathered.
    const bool per_row = config.granularity == WeightGranularity::per_channel && gather_axis(node) == 0;
    r.granularity = per_row ? WeightGranularity::per_channel : WeightGranularity::per_tensor;
    r.reduce_range = false;  // no integer products downstream: full range

    const WeightSpec spec = *weight_spec(node, ctx.plan, ctx.graph);
    WeightLayout layout;
    if (per_row) {
      layout.axis = spec.channel_axis;
      layout.column_scale = true;
    }
    const QuantizedWeightNames table = ctx.weights.quantize(node.input(spec.input), layout);

    onnx::NodeProto gather = node;  // keeps axis and any other attribute
    gather.set_name(ctx.names.unique(stem + "_quant"));
    gather.set_input(spec.input, table.values);
    const std::string gathered = ctx.names.unique(out + "_int8");
    gather.set_output(0, gathered);
    r.nodes.push_back(gather);

    if (!per_row) {
      r.nodes.push_back(make_node("DequantizeLinear", {gathered, table.scale, table.zero_point}, {out},
                                  ctx.names.unique(stem + "_dequantize")));
      return r;
    }
    const std::string as_float = ctx.names.unique(out + "_float");
    onnx::NodeProto cast = make_node("Cast", {gathered}, {as_float}, ctx.names.unique(stem + "_cast"));
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(onnx::TensorProto::FLOAT);
    r.nodes.push_back(cast);
    const std::string row_scales = ctx.names.unique(out + "_row_scale");
    r.nodes.push_back(
        make_node("Gather", {table.scale, node.input(1)}, {row_scales}, ctx.names.unique(stem + "_scale_gather")));
    r.nodes.push_back(make_node("Mul", {as_float, row_scales}, {out}, ctx.names.unique(stem + "_dequantize")));
    return r;
  }
};

}  // namespace

std::unique_ptr<Quantizer> make_gather_quantizer() { return std::make_unique<GatherQuantizer>(); }

}  // namespace docquant::quant
