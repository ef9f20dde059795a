#include "graph_context.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "docquant/error.h"
#include "formulas.h"
#include "int8_kernel.h"
#include "graph_summary.h"

namespace docquant::quant {

GraphView::GraphView(const onnx::ModelProto& model) : graph_(&model.graph()) {
  for (const auto& in : graph_->input()) inputs_.insert(in.name());
  for (const auto& init : graph_->initializer()) {
    if (!inputs_.count(init.name())) constants_.emplace(init.name(), &init);
  }
  for (int i = 0; i < graph_->node_size(); ++i) {
    for (const auto& in : graph_->node(i).input()) {
      if (!in.empty()) consumers_[in].push_back(i);
    }
    for (const auto& out : graph_->node(i).output()) {
      if (!out.empty()) producers_[out] = i;
    }
  }
  for (const auto& out : graph_->output()) outputs_.insert(out.name());
  for (const auto& op : model.opset_import()) opsets_[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
}

const onnx::TensorProto* GraphView::constant(const std::string& name) const {
  auto it = constants_.find(name);
  return it == constants_.end() ? nullptr : it->second;
}

int GraphView::producer(const std::string& name) const {
  auto it = producers_.find(name);
  return it == producers_.end() ? -1 : it->second;
}

bool GraphView::read_only_by(const std::string& name, int reader) const {
  const auto& c = consumers(name);
  return c.size() == 1 && c[0] == reader && !is_graph_output(name);
}

const std::vector<int>& GraphView::consumers(const std::string& name) const {
  static const std::vector<int> none;
  auto it = consumers_.find(name);
  return it == consumers_.end() ? none : it->second;
}

std::int64_t GraphView::opset(const std::string& domain) const {
  auto it = opsets_.find(domain);
  return it == opsets_.end() ? 0 : it->second;
}

namespace {

void collect_names(const onnx::GraphProto& g, std::set<std::string>& names) {
  names.insert(g.name());
  for (const auto& v : g.input()) names.insert(v.name());
  for (const auto& v : g.output()) names.insert(v.name());
  for (const auto& v : g.value_info()) names.insert(v.name());
  for (const auto& t : g.initializer()) names.insert(t.name());
  for (const auto& t : g.sparse_initializer()) names.insert(t.values().name());
  for (const auto& n : g.node()) {
    names.insert(n.name());
    for (const auto& s : n.input()) names.insert(s);
    for (const auto& s : n.output()) names.insert(s);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_names(a.g(), names);
      for (const auto& sub : a.graphs()) collect_names(sub, names);
    }
  }
}

}  // namespace

NameAllocator::NameAllocator(const onnx::ModelProto& model) {
  collect_names(model.graph(), taken_);
  for (const auto& f : model.functions()) {
    for (const auto& n : f.node()) {
      for (const auto& s : n.output()) taken_.insert(s);
    }
  }
  taken_.erase("");
}

std::string NameAllocator::unique(const std::string& base) {
  std::string name = base;
  for (int i = 1; name.empty() || taken_.count(name); ++i) name = fmt::format("{}_{}", base, i);
  taken_.insert(name);
  return name;
}

std::int64_t element_count(const onnx::TensorProto& tensor) {
  std::int64_t n = 1;
  for (auto d : tensor.dims()) n *= d;
  return n;
}

std::int64_t tensor_bytes(const onnx::TensorProto& tensor) {
  return element_count(tensor) * model::dtype_size(tensor.data_type());
}

std::vector<float> float_values(const onnx::TensorProto& tensor) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT) {
    throw InputError(fmt::format("initializer '{}' is {}, not float32", tensor.name(),
                                 model::dtype_name(tensor.data_type())));
  }
  const auto n = static_cast<std::size_t>(element_count(tensor));
  std::vector<float> values(n);
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != n * sizeof(float)) {
      throw InputError(fmt::format("initializer '{}' holds {} bytes of raw data, its shape needs {}", tensor.name(),
                                   tensor.raw_data().size(), n * sizeof(float)));
    }
    std::memcpy(values.data(), tensor.raw_data().data(), n * sizeof(float));  // ONNX raw data is little-endian
  } else {
    if (static_cast<std::size_t>(tensor.float_data_size()) != n) {
      throw InputError(fmt::format("initializer '{}' holds {} floats, its shape needs {}", tensor.name(),
                                   tensor.float_data_size(), n));
    }
    std::copy(tensor.float_data().begin(), tensor.float_data().end(), values.begin());
  }
  return values;
}

onnx::TensorProto make_float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                    const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

onnx::TensorProto make_int8_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                   const std::vector<std::int8_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT8);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));
  return t;
}

namespace {

onnx::TensorProto make_uint8_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                    const std::vector<std::uint8_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::UINT8);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));
  return t;
}

}  // namespace

onnx::NodeProto make_node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name, const std::string& domain) {
  onnx::NodeProto n;
  n.set_op_type(op_type);
  n.set_name(name);
  if (!domain.empty()) n.set_domain(domain);
  for (const auto& s : inputs) n.add_input(s);
  for (const auto& s : outputs) n.add_output(s);
  return n;
}

void add_int_attribute(onnx::NodeProto& node, const std::string& name, std::int64_t value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void add_float_attribute(onnx::NodeProto& node, const std::string& name, float value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

bool is_onnx_op(const onnx::NodeProto* node, const char* op_type) {
  return node && node->op_type() == op_type && (node->domain().empty() || node->domain() == "ai.onnx");
}

const onnx::AttributeProto* find_attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

void import_ms_domain_if_used(onnx::ModelProto& model) {
  constexpr const char* ms = "com.microsoft";
  bool used = false;
  for (const auto& n : model.graph().node()) used = used || n.domain() == ms;
  if (!used) return;
  for (const auto& op : model.opset_import()) {
    if (op.domain() == ms) return;
  }
  auto* op = model.add_opset_import();
  op->set_domain(ms);
  op->set_version(1);
}

QuantizedWeightNames WeightStore::quantize(const std::string& weight, const WeightLayout& layout) {
  const auto key = std::make_tuple(weight, layout.axis.value_or(-1), layout.reduce_range, layout.transpose,
                                   layout.column_scale);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;

  const onnx::TensorProto* tensor = graph_.constant(weight);
  if (tensor == nullptr || tensor->dims_size() != 2) {
    throw InternalError(fmt::format("weight '{}' is not a constant 2-D initializer", weight));
  }
  std::int64_t rows = tensor->dims(0);
  std::int64_t cols = tensor->dims(1);
  std::vector<float> values = float_values(*tensor);
  if (layout.transpose) {
    std::vector<float> t(values.size());
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) t[static_cast<std::size_t>(j * rows + i)] = values[static_cast<std::size_t>(i * cols + j)];
    }
    values.swap(t);
    std::swap(rows, cols);
  }
  const QuantizedWeight q = quantize_weight(values, rows, cols, layout.axis, layout.reduce_range);

  // Traceable names: <weight>_int8 / _scale / _zero_point (suffixed when taken).
  QuantizedWeightNames names;
  const std::string base = layout.transpose ? weight + "_transposed" : weight;
  names.values = names_.unique(base + "_int8");
  names.scale = names_.unique(base + "_scale");
  std::vector<std::int64_t> scale_dims;
  if (layout.axis) {
    scale_dims = {static_cast<std::int64_t>(q.scales.size())};
    if (layout.column_scale) scale_dims.push_back(1);
  }
  if (!layout.column_scale) names.max_pair_magnitude = max_pair_magnitude(q.values, rows, cols);
  created_.push_back(make_int8_tensor(names.values, {rows, cols}, q.values));
  created_.push_back(make_float_tensor(names.scale, scale_dims, q.scales));
  if (!layout.column_scale) {
    names.zero_point = names_.unique(base + "_zero_point");
    created_.push_back(make_int8_tensor(names.zero_point, scale_dims, std::vector<std::int8_t>(q.scales.size(), 0)));
  }
  sources_.insert(weight);
  cache_.emplace(key, names);
  return names;
}

const std::string& ActivationStore::constant(const std::string& base, onnx::TensorProto tensor) {
  auto it = constants_.find(base);
  if (it != constants_.end()) return it->second;
  tensor.set_name(names_.unique(base));
  created_.push_back(tensor);
  return constants_.emplace(base, tensor.name()).first->second;
}

TokenQuantizedNames ActivationStore::per_token(const std::string& tensor, std::vector<onnx::NodeProto>& nodes) {
  if (auto it = cache_.find(tensor); it != cache_.end()) return it->second;
  const std::string levels = constant("per_token_levels", make_float_tensor("", {}, {kTokenLevels}));
  const std::string floor = constant("per_token_absmax_floor", make_float_tensor("", {}, {kTokenAbsmaxFloor}));
  const std::string unit = constant("per_token_unit_scale", make_float_tensor("", {}, {1.0f}));
  const std::string zero = constant(
      "per_token_zero_point", make_uint8_tensor("", {}, {static_cast<std::uint8_t>(kTokenZeroPoint)}));

  const auto name = [&](const char* suffix) { return names_.unique(tensor + suffix); };
  const std::string abs = name("_abs");
  nodes.push_back(make_node("Abs", {tensor}, {abs}, abs));
  const std::string absmax = name("_token_absmax");
  // ReduceMax takes its axes as an attribute before opset 18, as an input from 18 on.
  if (graph_.opset("") >= 18) {
    onnx::TensorProto axes;
    axes.set_data_type(onnx::TensorProto::INT64);
    axes.add_dims(1);
    axes.add_int64_data(-1);
    nodes.push_back(make_node("ReduceMax", {abs, constant("per_token_axes", axes)}, {absmax}, absmax));
  } else {
    onnx::NodeProto& reduce = nodes.emplace_back(make_node("ReduceMax", {abs}, {absmax}, absmax));
    auto* a = reduce.add_attribute();
    a->set_name("axes");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(-1);
  }
  add_int_attribute(nodes.back(), "keepdims", 1);
  const std::string floored = name("_token_absmax_floored");
  nodes.push_back(make_node("Max", {absmax, floor}, {floored}, floored));
  TokenQuantizedNames out;
  out.scale = name("_token_scale");
  nodes.push_back(make_node("Div", {floored, levels}, {out.scale}, out.scale));
  const std::string inverse = name("_token_inverse_scale");
  nodes.push_back(make_node("Div", {levels, floored}, {inverse}, inverse));
  const std::string scaled = name("_token_scaled");
  nodes.push_back(make_node("Mul", {tensor, inverse}, {scaled}, scaled));
  out.values = name("_token_quantized");
  nodes.push_back(make_node("QuantizeLinear", {scaled, unit, zero}, {out.values}, out.values));
  out.zero_point = zero;
  cache_.emplace(tensor, out);
  return out;
}

QuantizedWeightNames WeightStore::quantize_uint8_per_tensor(const std::string& weight) {
  if (auto it = uint8_cache_.find(weight); it != uint8_cache_.end()) return it->second;
  const onnx::TensorProto* tensor = graph_.constant(weight);
  if (tensor == nullptr) throw InternalError(fmt::format("weight '{}' is not a constant initializer", weight));
  const std::vector<float> values = float_values(*tensor);
  float lo = 0.0f, hi = 0.0f;
  for (float v : values) lo = std::min(lo, v), hi = std::max(hi, v);
  const QuantParams p = dynamic_uint8_params(lo, hi);
  std::vector<std::uint8_t> q(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) q[i] = static_cast<std::uint8_t>(quantize_value(values[i], p, kUint8));

  QuantizedWeightNames names;
  names.values = names_.unique(weight + "_quantized");
  names.scale = names_.unique(weight + "_scale");
  names.zero_point = names_.unique(weight + "_zero_point");
  created_.push_back(make_uint8_tensor(names.values, {tensor->dims().begin(), tensor->dims().end()}, q));
  created_.push_back(make_float_tensor(names.scale, {}, {p.scale}));
  created_.push_back(make_uint8_tensor(names.zero_point, {}, {static_cast<std::uint8_t>(p.zero_point)}));
  sources_.insert(weight);
  uint8_cache_.emplace(weight, names);
  return names;
}

}  // namespace docquant::quant
