#include "graph_summary.h"

#include <fmt/core.h>

#include <unordered_map>

namespace docquant::model {

const char* dtype_name(std::int32_t t) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return "float32";
    case onnx::TensorProto::UINT8: return "uint8";
    case onnx::TensorProto::INT8: return "int8";
    case onnx::TensorProto::UINT16: return "uint16";
    case onnx::TensorProto::INT16: return "int16";
    case onnx::TensorProto::INT32: return "int32";
    case onnx::TensorProto::INT64: return "int64";
    case onnx::TensorProto::STRING: return "string";
    case onnx::TensorProto::BOOL: return "bool";
    case onnx::TensorProto::FLOAT16: return "float16";
    case onnx::TensorProto::DOUBLE: return "float64";
    case onnx::TensorProto::UINT32: return "uint32";
    case onnx::TensorProto::UINT64: return "uint64";
    case onnx::TensorProto::BFLOAT16: return "bfloat16";
    default: return "other";
  }
}

std::int64_t dtype_size(std::int32_t t) {
  switch (t) {
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::BOOL: return 1;
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16: return 2;
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32: return 4;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::UINT64: return 8;
    default: return 0;
  }
}

namespace {

ValueSummary summarize_value(const onnx::ValueInfoProto& v) {
  ValueSummary s{v.name(), "?", "?"};
  if (!v.type().has_tensor_type()) return s;
  const auto& tt = v.type().tensor_type();
  s.dtype = dtype_name(tt.elem_type());
  if (!tt.has_shape()) return s;
  std::string shape = "[";
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto& d = tt.shape().dim(i);
    if (i) shape += ", ";
    if (d.has_dim_value()) {
      shape += std::to_string(d.dim_value());
    } else if (d.has_dim_param()) {
      shape += d.dim_param();
    } else {
      shape += "?";
    }
  }
  s.shape = shape + "]";
  return s;
}

std::int64_t element_count(const onnx::TensorProto& t) {
  std::int64_t n = 1;
  for (auto d : t.dims()) n *= d;
  return n;
}

}  // namespace

GraphSummary summarize(const onnx::ModelProto& model) {
  GraphSummary s;
  const auto& g = model.graph();
  s.ir_version = model.ir_version();
  s.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& op : model.opset_import()) s.opsets[op.domain()] = op.version();

  std::unordered_map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& t : g.initializer()) initializers.emplace(t.name(), &t);
  for (const auto& in : g.input()) {
    if (!initializers.count(in.name())) s.inputs.push_back(summarize_value(in));
  }
  for (const auto& out : g.output()) s.outputs.push_back(summarize_value(out));

  for (const auto& t : g.initializer()) {
    const std::int64_t n = element_count(t);
    auto& totals = s.parameters[dtype_name(t.data_type())];
    totals.elements += n;
    totals.bytes += n * dtype_size(t.data_type());
    s.parameter_count += n;
    s.parameter_bytes += n * dtype_size(t.data_type());
  }

  for (const auto& node : g.node()) s.op_histogram[node.op_type()]++;
  return s;
}

}  // namespace docquant::model
