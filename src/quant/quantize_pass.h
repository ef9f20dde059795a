#pragma once
// Dynamic INT8 quantization of an fp32 ONNX model (weights int8 ahead of time,
// activations uint8 at run time), the docquant replacement for Intel Neural
// Compressor's `onnxrt_integerops`. docs/quantization.md describes what each
// quantizer emits and the formulas.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plan.h"

namespace docquant::quant {

// A node some quantizer accepts.
struct Candidate {
  std::string node;     // the node's name; "<op_type>#<index>" for an unnamed node
  std::string op_type;  // "MatMul", "Gemm", "Gather", "Attention"
  std::string weight;   // the constant input quantized ("" for activation×activation MatMul)
  std::int64_t weight_bytes = 0;  // fp32 bytes of that weight
  std::string activation;  // the float input quantized when it runs ("" for none: Gather, …)
};

// What the pass did with a node whose op type has a quantizer.
enum class NodeAction {
  quantized,
  kept_by_plan,     // the plan left it fp32 (per node, or its op type switched off)
  not_quantizable,  // its quantizer refused it (NodeDecision::refusal says why)
};
// "quantized", "kept fp32 (plan)", "kept fp32 (not quantizable)".
std::string_view to_string(NodeAction action) noexcept;

// What the pass did with one node whose op type has a quantizer.
struct NodeDecision {
  std::string node;     // key as in Candidate::node
  std::string op_type;
  NodeAction action = NodeAction::quantized;
  std::string refusal;  // why the quantizer refused it (NodeAction::not_quantizable only)
  std::vector<std::string> new_nodes;  // names of the nodes that replace it (empty when kept)
  std::vector<std::string> folded;     // other nodes absorbed into them (a bias Add)
  WeightGranularity granularity = WeightGranularity::per_tensor;  // as applied
  bool reduce_range = false;                                       // as applied
  std::string weight_type = "int8";                                // "int8", or "uint8" (QEmbedLayerNormalization)
  // The largest |b0| + |b1| of two neighbouring K rows of the int8 GEMM weight
  // (int8_kernel.h max_pair_magnitude); above 128 an AVX2-only CPU can saturate. 0: no GEMM.
  int max_pair_magnitude = 0;
  ActivationScheme activations = ActivationScheme::per_tensor;     // as applied
};

// The decision as quantization.json words it: "quantized", "kept fp32 (plan)" or
// "kept fp32 (not quantizable: <why>)".
std::string describe(const NodeDecision& decision);

struct QuantizeResult {
  onnx::ModelProto model;
  std::vector<NodeDecision> decisions;  // graph order
  std::int64_t weight_bytes_before = 0;  // bytes of all initializers
  std::int64_t weight_bytes_after = 0;
};

// The key plans and decisions use for the node at `index`: its name, or
// "<op_type>#<index>" when it has none.
std::string node_key(const onnx::NodeProto& node, int index);

// Nodes a quantizer accepts, in graph order. Nodes whose op type has a
// quantizer that refuses them (and nodes of other types) are not listed.
std::vector<Candidate> find_candidates(const onnx::ModelProto& model);

// Quantizes a copy of `fp32` as `plan` says; never modifies `fp32`.
// Deterministic: the same model and plan give byte-identical serialised output.
// Throws UsageError when plan.per_node names a node the model does not have,
// InputError when the model is malformed (e.g. a weight's data does not match its shape).
QuantizeResult quantize(const onnx::ModelProto& fp32, const QuantPlan& plan);
// The same result, consuming `fp32`: the initializers the result keeps are moved, not
// copied (a graph that keeps most of its fp32 weights, as the error probe's does, is not
// held twice). `fp32` is left empty.
QuantizeResult quantize(onnx::ModelProto&& fp32, const QuantPlan& plan);

}  // namespace docquant::quant
