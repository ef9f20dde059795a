#include "graph_view.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "docquant/error.h"
#include "graph_summary.h"

namespace docquant::graph {

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

std::optional<std::vector<std::int64_t>> int64_values(const onnx::TensorProto& t) {
  if (t.data_type() != onnx::TensorProto::INT64 || t.has_data_location()) return std::nullopt;
  std::vector<std::int64_t> v;
  if (!t.raw_data().empty()) {
    if (t.raw_data().size() % sizeof(std::int64_t)) return std::nullopt;
    v.resize(t.raw_data().size() / sizeof(std::int64_t));
    std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());  // ONNX raw data is little-endian
  } else {
    v.assign(t.int64_data().begin(), t.int64_data().end());
  }
  if (static_cast<std::int64_t>(v.size()) != element_count(t)) return std::nullopt;
  return v;
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
  bool used = false;
  for (const auto& n : model.graph().node()) used = used || n.domain() == kMsDomain;
  if (!used) return;
  for (const auto& op : model.opset_import()) {
    if (op.domain() == kMsDomain) return;
  }
  auto* op = model.add_opset_import();
  op->set_domain(kMsDomain);
  op->set_version(1);
}

}  // namespace docquant::graph
