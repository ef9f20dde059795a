#pragma once
// What graph rewrites read from an ONNX graph and the small builders they share: the
// fp32 fusions in this part and the quantizers in src/quant both edit graphs with these.
// A rewrite asks the GraphView, takes fresh names from a NameAllocator, and builds
// nodes and tensors with the helpers below.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace docquant::graph {

// The domain of ONNX Runtime's contrib ops (Attention, SkipLayerNormalization, QAttention, …).
inline constexpr const char* kMsDomain = "com.microsoft";

// Read-only indexes over a graph.
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
// The values of an int64 tensor (raw or typed storage); nullopt for another type, external
// data, or a value count that does not match its dims.
std::optional<std::vector<std::int64_t>> int64_values(const onnx::TensorProto& tensor);
// Bytes an initializer's values occupy (elements × element size).
std::int64_t tensor_bytes(const onnx::TensorProto& tensor);

onnx::TensorProto make_float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                    const std::vector<float>& values);
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

}  // namespace docquant::graph
