#include "skip_layer_norm_fusion.h"

#include <set>
#include <string>
#include <unordered_map>

#include "graph_view.h"

namespace docquant::graph {

namespace {

// A constant float vector, and its length.
std::int64_t vector_width(const GraphView& view, const std::string& name) {
  const onnx::TensorProto* t = view.constant(name);
  if (!t || t->data_type() != onnx::TensorProto::FLOAT || t->dims_size() != 1) return -1;
  return t->dims(0);
}

// Output 0 of a normalisation: the residual stream of a transformer block.
bool is_residual_stream(const onnx::NodeProto* producer, const std::string& tensor) {
  if (!producer || producer->output_size() == 0 || producer->output(0) != tensor) return false;
  const std::string& op = producer->op_type();
  if (op == "LayerNormalization") return is_onnx_op(producer, "LayerNormalization");
  return (op == "SkipLayerNormalization" || op == "EmbedLayerNormalization") && producer->domain() == kMsDomain;
}

}  // namespace

std::size_t fuse_skip_layer_norm(onnx::ModelProto& model) {
  const GraphView view(model);
  const onnx::GraphProto& graph = model.graph();
  const auto produced_by = [&](const std::string& tensor) -> const onnx::NodeProto* {
    const int index = view.producer(tensor);
    return index < 0 ? nullptr : &graph.node(index);
  };

  std::set<int> removed;
  std::unordered_map<int, onnx::NodeProto> replaced;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& ln = graph.node(i);
    if (!is_onnx_op(&ln, "LayerNormalization") || ln.input_size() < 2) continue;
    const auto* axis = find_attribute(ln, "axis");
    if (axis && axis->i() != -1) continue;
    const auto* stash = find_attribute(ln, "stash_type");
    if (stash && stash->i() != 1) continue;
    bool extra_outputs = false;
    for (int k = 1; k < ln.output_size(); ++k)
      extra_outputs |= !ln.output(k).empty() && (!view.consumers(ln.output(k)).empty() || view.is_graph_output(ln.output(k)));
    if (extra_outputs) continue;
    const std::int64_t width = vector_width(view, ln.input(1));
    if (width <= 0) continue;
    const bool has_beta = ln.input_size() > 2 && !ln.input(2).empty();
    if (has_beta && vector_width(view, ln.input(2)) != width) continue;

    const int add_index = view.producer(ln.input(0));
    if (add_index < 0 || removed.count(add_index)) continue;
    const onnx::NodeProto& add = graph.node(add_index);
    if (!is_onnx_op(&add, "Add") || add.input_size() != 2 || !view.read_only_by(add.output(0), i)) continue;
    std::string x = add.input(0), residual = add.input(1);
    if (!is_residual_stream(produced_by(residual), residual)) std::swap(x, residual);
    if (!is_residual_stream(produced_by(residual), residual) || view.constant(x) || x == residual) continue;

    std::string bias;
    const onnx::NodeProto* bias_add = produced_by(x);
    const int bias_index = view.producer(x);
    if (is_onnx_op(bias_add, "Add") && bias_add->input_size() == 2 && !removed.count(bias_index) &&
        view.read_only_by(x, add_index)) {
      for (int side = 0; side < 2; ++side) {
        const std::string& b = bias_add->input(side);
        const std::string& other = bias_add->input(1 - side);
        if (vector_width(view, b) == width && !view.constant(other)) {
          bias = b;
          x = other;
          removed.insert(bias_index);
          break;
        }
      }
    }

    std::vector<std::string> inputs = {x, residual, ln.input(1), has_beta ? ln.input(2) : std::string()};
    if (!bias.empty()) inputs.push_back(bias);
    while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
    onnx::NodeProto fused = make_node("SkipLayerNormalization", inputs, {ln.output(0)}, ln.name(), kMsDomain);
    const auto* ln_eps = find_attribute(ln, "epsilon");
    add_float_attribute(fused, "epsilon", ln_eps ? ln_eps->f() : 1e-5f);
    removed.insert(add_index);
    replaced.emplace(i, std::move(fused));
  }
  if (replaced.empty()) return 0;

  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (removed.count(i)) continue;
    auto it = replaced.find(i);
    *nodes.Add() = it == replaced.end() ? graph.node(i) : std::move(it->second);
  }
  model.mutable_graph()->mutable_node()->Swap(&nodes);
  import_ms_domain_if_used(model);
  return replaced.size();
}

}  // namespace docquant::graph
