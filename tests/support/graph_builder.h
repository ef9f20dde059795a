#pragma once
// The one graph builder of the tests: small ONNX models written in code. The free functions
// edit a graph directly; GraphBuilder chains them for a whole model.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace docquant::testing {

// A tensor value (graph input or output) with its element type and shape; a negative
// dimension is symbolic (dim_param "d<position>").
inline onnx::ValueInfoProto* add_tensor_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* values,
                                               const std::string& name, int elem_type,
                                               const std::vector<std::int64_t>& dims) {
  auto* v = values->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (auto d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) {
      dim->set_dim_param("d" + std::to_string(shape->dim_size()));
    } else {
      dim->set_dim_value(d);
    }
  }
  return v;
}

// An initializer holding `values` as raw data of type T (elem_type its ONNX type).
template <typename T>
void add_initializer(onnx::GraphProto* g, const std::string& name, int elem_type, const std::vector<std::int64_t>& dims,
                     const std::vector<T>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (auto d : dims) t->add_dims(d);
  std::string raw(values.size() * sizeof(T), '\0');
  if (!raw.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t->set_raw_data(raw);
}

// A node named "<op>_<position>".
inline onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& inputs,
                                 const std::vector<std::string>& outputs, const std::string& domain = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(g->node_size()));
  if (!domain.empty()) n->set_domain(domain);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

inline onnx::ModelProto new_model(std::int64_t opset = 17, std::int64_t ir_version = 8) {
  onnx::ModelProto m;
  m.set_ir_version(ir_version);
  m.set_producer_name("docquant-tests");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("test");
  return m;
}

// A small ONNX model under construction (IR 8, ai.onnx opset 14 by default).
class GraphBuilder {
 public:
  explicit GraphBuilder(std::int64_t opset = 14) : model_(new_model(opset)) {}
  // Symbolic dimensions are given as -1.
  GraphBuilder& input(const std::string& name, std::int32_t elem_type, const std::vector<std::int64_t>& dims) {
    add_tensor_value(graph()->mutable_input(), name, elem_type, dims);
    return *this;
  }
  // An output whose shape is left for ONNX Runtime to infer.
  GraphBuilder& output(const std::string& name, std::int32_t elem_type = onnx::TensorProto::FLOAT) {
    auto* v = graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
    return *this;
  }
  GraphBuilder& initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                            const std::vector<float>& values) {
    add_initializer(graph(), name, onnx::TensorProto::FLOAT, dims, values);
    return *this;
  }
  // A 1-D int64 constant (shapes, axes).
  GraphBuilder& int64_initializer(const std::string& name, const std::vector<std::int64_t>& values) {
    add_initializer(graph(), name, onnx::TensorProto::INT64, {static_cast<std::int64_t>(values.size())}, values);
    return *this;
  }
  // A node named `name` exactly (an empty name stays empty).
  onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name,
                        const std::string& domain = "") {
    onnx::NodeProto* n = add_node(graph(), op_type, inputs, outputs, domain);
    n->set_name(name);
    return *n;
  }
  const onnx::ModelProto& model() const { return model_; }

 private:
  onnx::GraphProto* graph() { return model_.mutable_graph(); }
  onnx::ModelProto model_;
};

}  // namespace docquant::testing
