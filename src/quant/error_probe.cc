#include "error_probe.h"

#include <fmt/core.h>

#include <algorithm>
#include <limits>
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

onnx::TensorProto int64_vector(const std::string& name, const std::vector<std::int64_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(static_cast<std::int64_t>(values.size()));
  for (auto v : values) t.add_int64_data(v);
  return t;
}

// Nodes that turn a tensor [..., C] into per-channel sums of squares [C]. The rank is
// not known ahead, so the tensor is reshaped to [-1, C] with C read off its shape.
class ChannelSums {
 public:
  ChannelSums(onnx::GraphProto& g, NameAllocator& names, std::int64_t opset) : g_(g), names_(names), opset_(opset) {
    minus_one_ = names_.unique("probe_minus_one");
    last_start_ = names_.unique("probe_last_start");
    last_end_ = names_.unique("probe_last_end");
    axis0_ = names_.unique("probe_axis0");
    *g_.add_initializer() = int64_vector(minus_one_, {-1});
    *g_.add_initializer() = int64_vector(last_start_, {-1});
    *g_.add_initializer() = int64_vector(last_end_, {std::numeric_limits<std::int64_t>::max()});
    *g_.add_initializer() = int64_vector(axis0_, {0});
  }

  // The [-1, C] shape of `x` (one per tensor whose shape the sums follow).
  std::string rows_by_channel(const std::string& x) {
    const std::string shape = names_.unique(x + "_probe_shape");
    const std::string last = names_.unique(x + "_probe_channels");
    const std::string target = names_.unique(x + "_probe_rows_by_channels");
    *g_.add_node() = make_node("Shape", {x}, {shape}, names_.unique(x + "_probe_shape"));
    *g_.add_node() = make_node("Slice", {shape, last_start_, last_end_, axis0_}, {last}, names_.unique(x + "_probe_slice"));
    onnx::NodeProto concat = make_node("Concat", {minus_one_, last}, {target}, names_.unique(x + "_probe_concat"));
    add_int_attribute(concat, "axis", 0);
    *g_.add_node() = std::move(concat);
    return target;
  }

  // sum over rows of x^2, per channel, as graph output `out` (float [C]).
  void add(const std::string& x, const std::string& rows_by_channel, const std::string& out) {
    const std::string flat = names_.unique(x + "_probe_flat");
    *g_.add_node() = make_node("Reshape", {x, rows_by_channel}, {flat}, names_.unique(x + "_probe_reshape"));
    onnx::NodeProto sum = make_node("ReduceSumSquare", {flat}, {out}, names_.unique(out + "_reduce"));
    if (opset_ >= 18) {
      sum.add_input(axis0_);  // axes became an input in opset 18
    } else {
      auto* axes = sum.add_attribute();
      axes->set_name("axes");
      axes->set_type(onnx::AttributeProto::INTS);
      axes->add_ints(0);
    }
    add_int_attribute(sum, "keepdims", 0);
    *g_.add_node() = std::move(sum);
    auto* o = g_.add_output();
    o->set_name(out);
    o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }

 private:
  onnx::GraphProto& g_;
  NameAllocator& names_;
  std::int64_t opset_;
  std::string minus_one_, last_start_, last_end_, axis0_;
};

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
  probe.model = quantize(std::move(with_twins), twin_plan).model;  // the fp32 weights move, not copied a second time
  onnx::GraphProto& g = *probe.model.mutable_graph();
  NameAllocator probe_names(probe.model);
  ChannelSums sums(g, probe_names, GraphView(probe.model).opset(""));
  // The sums go in last node first. ONNX Runtime (1.29) orders execution by a depth-first
  // walk back from the graph's leaves, taking the leaf of highest index first: so the
  // first node's sums, added last, run first, right after that node and its twin, and
  // each original output is freed as the walk moves on. In graph order, every original
  // ran before any twin, and all their outputs stayed alive together (MPNet: ~900 MiB).
  for (auto t = twins.rbegin(); t != twins.rend(); ++t) {
    const std::string diff = probe_names.unique(t->twin + "_error");
    ProbeOutput out{t->node, probe_names.unique(t->twin + "_squared_error"),
                    probe_names.unique(t->twin + "_squared_norm")};
    *g.add_node() = make_node("Sub", {t->twin, t->original}, {diff}, probe_names.unique(t->twin + "_sub"));
    const std::string shape = sums.rows_by_channel(t->original);
    sums.add(diff, shape, out.squared_error);
    sums.add(t->original, shape, out.squared_norm);
    probe.outputs.push_back(std::move(out));
  }
  std::reverse(probe.outputs.begin(), probe.outputs.end());  // in the order asked
  return probe;
}

}  // namespace docquant::quant
