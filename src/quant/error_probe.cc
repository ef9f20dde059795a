#include "error_probe.h"

#include <fmt/core.h>

#include <map>

#include "docquant/error.h"
#include "graph_context.h"
#include "quantizer.h"

namespace docquant::quant {

namespace {

struct Twin {
  std::string node;      // the probed node's key
  std::string original;  // its first output
  std::string twin;      // the twin's first output
};

onnx::NodeProto reduce_sum_square(const std::string& in, const std::string& out, const std::string& name) {
  onnx::NodeProto n = make_node("ReduceSumSquare", {in}, {out}, name);
  auto* keepdims = n.add_attribute();
  keepdims->set_name("keepdims");
  keepdims->set_type(onnx::AttributeProto::INT);
  keepdims->set_i(0);
  return n;  // no axes: every axis, in every opset
}

void add_scalar_output(onnx::GraphProto& g, const std::string& name) {
  auto* out = g.add_output();
  out->set_name(name);
  auto* type = out->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  type->mutable_shape();  // rank 0
}

}  // namespace

ProbeModel build_error_probe(const onnx::ModelProto& fp32, const std::vector<std::string>& nodes,
                             const NodeConfig& config, const QuantPlan& plan) {
  const GraphView view(fp32);
  std::map<std::string, int> index_of;
  for (int i = 0; i < view.graph().node_size(); ++i) index_of.emplace(node_key(view.node(i), i), i);

  // Twins go at the end of the graph: they read tensors produced earlier, so the
  // order stays topological, and the original nodes keep their indices (and keys).
  onnx::ModelProto with_twins = fp32;
  NameAllocator names(fp32);
  QuantPlan twin_plan = plan;
  twin_plan.defaults.quantize = false;
  twin_plan.per_node.clear();
  NodeConfig twin_config = config;
  twin_config.quantize = true;
  std::vector<Twin> twins;
  for (const auto& key : nodes) {
    auto it = index_of.find(key);
    if (it == index_of.end()) {
      throw UsageError(fmt::format("the sensitivity probe names node '{}', which the model does not have", key));
    }
    const onnx::NodeProto& node = view.node(it->second);
    const Quantizer* q = find_quantizer(node);
    if (q == nullptr || !q->enabled(plan) || q->refusal(node, plan, view) || node.output_size() == 0) continue;
    onnx::NodeProto twin = node;
    twin.set_name(names.unique("probe_" + key));
    for (int o = 0; o < twin.output_size(); ++o) {
      if (!twin.output(o).empty()) twin.set_output(o, names.unique(node.output(o) + "_probe"));
    }
    twins.push_back({key, node.output(0), twin.output(0)});
    twin_plan.per_node[twin.name()] = twin_config;
    *with_twins.mutable_graph()->add_node() = std::move(twin);
  }

  ProbeModel probe;
  probe.model = quantize(with_twins, twin_plan).model;
  onnx::GraphProto& g = *probe.model.mutable_graph();
  NameAllocator probe_names(probe.model);
  for (const auto& t : twins) {
    const std::string diff = probe_names.unique(t.twin + "_error");
    ProbeOutput out{t.node, probe_names.unique(t.twin + "_squared_error"), probe_names.unique(t.twin + "_squared_norm")};
    *g.add_node() = make_node("Sub", {t.twin, t.original}, {diff}, probe_names.unique(t.twin + "_sub"));
    *g.add_node() = reduce_sum_square(diff, out.squared_error, probe_names.unique(t.twin + "_error_norm"));
    *g.add_node() = reduce_sum_square(t.original, out.squared_norm, probe_names.unique(t.twin + "_norm"));
    add_scalar_output(g, out.squared_error);
    add_scalar_output(g, out.squared_norm);
    probe.outputs.push_back(std::move(out));
  }
  return probe;
}

}  // namespace docquant::quant
