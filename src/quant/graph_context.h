#pragma once
// What quantizers read from the graph and the two services they may use while
// rewriting: a name allocator (generated names are unique) and a store of
// quantized weights (a weight shared by several nodes is quantized once).
// Quantizers never edit the graph themselves: they return a Rewrite.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace docquant::quant {

// Read-only indexes over the graph being quantized.
class GraphView {
 public:
  explicit GraphView(const onnx::ModelProto& model);

  const onnx::GraphProto& graph() const noexcept { return *graph_; }
  const onnx::NodeProto& node(int index) const { return graph_->node(index); }

  // A constant initializer: nullptr for unknown names and for initializers that
  // are also graph inputs (a caller may override those at run time).
  const onnx::TensorProto* constant(const std::string& name) const;
  // Nodes (by index) reading `name`, in graph order.
  const std::vector<int>& consumers(const std::string& name) const;
  bool is_graph_output(const std::string& name) const { return outputs_.count(name) != 0; }
  bool is_graph_input(const std::string& name) const { return inputs_.count(name) != 0; }
  // The node writing `name` (by index); -1 for graph inputs, initializers and unknown names.
  int producer(const std::string& name) const;
  // `name` is read by node `reader` alone and is no graph output (a fusion may absorb it).
  bool read_only_by(const std::string& name, int reader) const;
  // Opset version imported for `domain` ("" = ai.onnx); 0 when not imported.
  std::int64_t opset(const std::string& domain) const;

 private:
  const onnx::GraphProto* graph_;
  std::unordered_map<std::string, const onnx::TensorProto*> constants_;
  std::unordered_map<std::string, std::vector<int>> consumers_;
  std::unordered_map<std::string, int> producers_;
  std::set<std::string> inputs_;
  std::set<std::string> outputs_;
  std::map<std::string, std::int64_t> opsets_;
};

// Hands out names no node, tensor or graph in the model uses (subgraphs included).
class NameAllocator {
 public:
  explicit NameAllocator(const onnx::ModelProto& model);
  // `base` itself when free, else `base_1`, `base_2`, … (the first free one).
  std::string unique(const std::string& base);

 private:
  std::set<std::string> taken_;
};

// Float values of an initializer (raw_data or float_data). Throws InputError
// naming the tensor when it is not float32 or its size does not match its dims.
std::vector<float> float_values(const onnx::TensorProto& tensor);
std::int64_t element_count(const onnx::TensorProto& tensor);
// Bytes an initializer's values occupy (elements × element size).
std::int64_t tensor_bytes(const onnx::TensorProto& tensor);

onnx::TensorProto make_float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                    const std::vector<float>& values);
onnx::TensorProto make_int8_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                   const std::vector<std::int8_t>& values);
onnx::NodeProto make_node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name,
                          const std::string& domain = "");
void add_int_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value);
void add_float_attribute(onnx::NodeProto& node, const std::string& name, float value);
// `node` is an ai.onnx op of type `op_type` (domain "" or "ai.onnx"); false for nullptr.
bool is_onnx_op(const onnx::NodeProto* node, const char* op_type);
// The attribute `name` of `node`, or nullptr.
const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name);
// Adds the com.microsoft opset import (version 1) when a node uses that domain and the
// model does not import it yet.
void import_ms_domain_if_used(onnx::ModelProto& model);

// Names of a quantized weight's initializers.
struct QuantizedWeightNames {
  std::string values;      // int8 (uint8 from quantize_uint8_per_tensor)
  std::string scale;       // float, scalar or 1-D / [rows, 1] per channel
  std::string zero_point;  // int8 zeros, same shape as scale (absent for per-row Gather)
  // For a [K, N] GEMM weight: the largest pair sum over rows 2p, 2p+1 (int8_kernel.h),
  // which says whether an AVX2-only CPU's kernel can saturate on it. 0 otherwise.
  int max_pair_magnitude = 0;
};

// How a weight is laid out for its consumer. `transpose` turns a [N, K] weight
// (Gemm with transB=1) into the [K, N] an integer MatMul needs.
struct WeightLayout {
  std::optional<int> axis;  // per-channel axis of the (possibly transposed) weight
  bool reduce_range = false;
  bool transpose = false;
  bool column_scale = false;  // per-row scales stored as [rows, 1] (for Gather + Mul)
};

// Quantizes weights into new initializers, once per (weight, layout).
class WeightStore {
 public:
  WeightStore(const GraphView& graph, NameAllocator& names) : graph_(graph), names_(names) {}

  QuantizedWeightNames quantize(const std::string& weight, const WeightLayout& layout);
  // Any-rank float weight as uint8, asymmetric, one scale and zero point for the whole
  // tensor (ORT's tool's form for QEmbedLayerNormalization's tables, gamma and beta):
  // the range includes 0, scale = (max - min) / 255, zero point = round(-min / scale).
  QuantizedWeightNames quantize_uint8_per_tensor(const std::string& weight);
  // Initializers created so far, in creation order.
  std::vector<onnx::TensorProto> take_initializers() { return std::move(created_); }
  // fp32 weights that were quantized (candidates for removal).
  const std::set<std::string>& sources() const noexcept { return sources_; }

 private:
  const GraphView& graph_;
  NameAllocator& names_;
  std::map<std::tuple<std::string, int, bool, bool, bool>, QuantizedWeightNames> cache_;
  std::map<std::string, QuantizedWeightNames> uint8_cache_;
  std::vector<onnx::TensorProto> created_;
  std::set<std::string> sources_;
};

// A tensor quantized per token at run time (formulas.h per_token_scale): uint8 values of
// the same shape, one float scale per row of the last axis ([..., 1]), the shared
// zero point 128.
struct TokenQuantizedNames {
  std::string values;
  std::string scale;
  std::string zero_point;
};

// Emits the per-token quantization of activations, once per tensor however many nodes
// read it (Q, K and V projections share theirs). The nodes are
//   Abs -> ReduceMax(last axis) -> Max(floor) -> scale = m / 127, inverse = 127 / m
//   -> Mul(x, inverse) -> QuantizeLinear(scale 1, zero point 128)
// -- the float operations formulas.h's per_token_scale/quantize_per_token do -- with
// ai.onnx ops of opset 10 and later, so stock ONNX Runtime runs them.
class ActivationStore {
 public:
  ActivationStore(const GraphView& graph, NameAllocator& names) : graph_(graph), names_(names) {}
  // The first call for `tensor` appends the nodes that compute it to `nodes`; the rewrite
  // holding them runs before every later reader, since nodes are rewritten in graph order.
  TokenQuantizedNames per_token(const std::string& tensor, std::vector<onnx::NodeProto>& nodes);
  std::vector<onnx::TensorProto> take_initializers() { return std::move(created_); }

 private:
  const std::string& constant(const std::string& base, onnx::TensorProto tensor);

  const GraphView& graph_;
  NameAllocator& names_;
  std::map<std::string, TokenQuantizedNames> cache_;
  std::map<std::string, std::string> constants_;  // base name -> initializer name
  std::vector<onnx::TensorProto> created_;
};

}  // namespace docquant::quant
