#pragma once
// One quantizer per op type. A quantizer answers two separate questions:
// can this node be quantized (refusal), and what replaces it (rewrite). It
// declares the op it handles, which input is its weight and which axis is
// per-channel; it never looks at tensor names. The registry (registry.cc) finds
// it by its op_type() and domain(); the pass (quantize_pass.cc) applies the rewrites.
#include <onnx/onnx_pb.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "graph_context.h"
#include "plan.h"

namespace docquant::quant {

// Which input of a node is its constant weight and which of the weight's axes
// holds output channels (the axis per-channel scales run along).
struct WeightSpec {
  int input = 1;
  int channel_axis = 1;
};

// What replaces a node.
struct Rewrite {
  std::vector<onnx::NodeProto> nodes;  // in execution order, placed where the node was
  std::vector<int> absorbed;           // indices of other nodes folded in (removed)
  WeightGranularity granularity = WeightGranularity::per_tensor;
  bool reduce_range = false;
  const char* weight_type = "int8";  // storage type of the quantized weights, for the record
  int max_pair_magnitude = 0;        // of the int8 GEMM weight (QuantizedWeightNames), 0 when none
  ActivationScheme activations = ActivationScheme::per_tensor;  // as emitted
};

// The services a rewrite may use.
struct RewriteContext {
  const GraphView& graph;
  NameAllocator& names;
  WeightStore& weights;
  ActivationStore& activations;
  const QuantPlan& plan;
};

class Quantizer {
 public:
  virtual ~Quantizer() = default;
  virtual std::string_view op_type() const noexcept = 0;
  // The op's domain: "" for ai.onnx, kMsDomain for ONNX Runtime's contrib ops.
  virtual std::string_view domain() const noexcept { return ""; }
  // Whether the plan asks for this op type at all (a plan-level switch).
  virtual bool enabled(const QuantPlan&) const noexcept { return true; }
  // The weight input (nullopt when the node has none to quantize ahead of time).
  virtual std::optional<WeightSpec> weight_spec(const onnx::NodeProto& node, const QuantPlan& plan,
                                                const GraphView& graph) const = 0;
  // The float input quantized when the node runs (nullopt when none is): the tensor whose
  // range static activations calibrate.
  virtual std::optional<int> activation_input(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const {
    return std::nullopt;
  }
  // Why `node` cannot be quantized, or nullopt when it can.
  virtual std::optional<std::string> refusal(const onnx::NodeProto& node, const QuantPlan& plan,
                                             const GraphView& graph) const = 0;
  // The replacement for an accepted node (refusal returned nullopt). The weight is
  // quantized as weight_spec() declares it (weight_layout below).
  virtual Rewrite rewrite(const onnx::NodeProto& node, const NodeConfig& config, RewriteContext& ctx) const = 0;
};

// The quantizer for `node`'s op type and domain ("ai.onnx" is ""), or nullptr.
const Quantizer* find_quantizer(const onnx::NodeProto& node);
// Every registered quantizer, in registration order.
const std::vector<const Quantizer*>& all_quantizers();

// How `spec`'s weight is stored for `config`: per-channel scales along
// spec.channel_axis (on the transposed weight when `transpose`), reduce_range as configured.
WeightLayout weight_layout(const WeightSpec& spec, const NodeConfig& config, bool transpose = false);

// Shared refusal: the declared weight input must be a constant, finite, float32
// 2-D initializer; the model must import ai.onnx opset >= 10 (integer ops).
std::optional<std::string> weight_refusal(const onnx::NodeProto& node, const WeightSpec& spec, const GraphView& graph);
std::optional<std::string> opset_refusal(const GraphView& graph);

// Name stem for nodes generated from `node` (its name, else its first output).
std::string node_stem(const onnx::NodeProto& node);

// Factories, one per file; registry.cc lists them.
std::unique_ptr<Quantizer> make_matmul_quantizer();
std::unique_ptr<Quantizer> make_gemm_quantizer();
std::unique_ptr<Quantizer> make_gather_quantizer();
std::unique_ptr<Quantizer> make_attention_quantizer();
std::unique_ptr<Quantizer> make_embed_layernorm_quantizer();

}  // namespace docquant::quant
