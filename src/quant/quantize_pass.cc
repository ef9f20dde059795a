// The pass: asks each node's quantizer whether it can be quantized, applies the
// plan, collects the rewrites and assembles the new graph. The policy (which
// nodes stay fp32 and why) is this file's only decision; the quantizers own
// the rewrites.
#include "quantize_pass.h"

#include <fmt/core.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/util/field_mask_util.h>

#include <set>

#include "docquant/error.h"
#include "graph_context.h"
#include "quantizer.h"

namespace docquant::quant {

std::string node_key(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? fmt::format("{}#{}", node.op_type(), index) : node.name();
}

namespace {

std::int64_t initializer_bytes(const onnx::GraphProto& g) {
  std::int64_t total = 0;
  for (const auto& t : g.initializer()) total += tensor_bytes(t);
  return total;
}

// Every tensor name a node or a graph output refers to (subgraphs included).
void collect_uses(const onnx::GraphProto& g, std::set<std::string>& used) {
  for (const auto& n : g.node()) {
    for (const auto& s : n.input()) used.insert(s);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_uses(a.g(), used);
      for (const auto& sub : a.graphs()) collect_uses(sub, used);
    }
  }
  for (const auto& o : g.output()) used.insert(o.name());
}

// `model` without its graph's nodes and initializers; every other field is copied, known
// to this libonnx or not. The pass adds only the initializers its graph still uses:
// copying the whole model and then dropping the quantized weights held every fp32
// weight twice for a moment (issue 19: +436 MB at the peak on MPNet).
onnx::ModelProto copy_without_nodes_and_initializers(const onnx::ModelProto& model) {
  google::protobuf::FieldMask mask;
  const auto* model_fields = onnx::ModelProto::descriptor();
  for (int i = 0; i < model_fields->field_count(); ++i) {
    if (model_fields->field(i)->number() != onnx::ModelProto::kGraphFieldNumber) {
      mask.add_paths(model_fields->field(i)->name());
    }
  }
  const auto* graph_fields = onnx::GraphProto::descriptor();
  for (int i = 0; i < graph_fields->field_count(); ++i) {
    const int number = graph_fields->field(i)->number();
    if (number != onnx::GraphProto::kNodeFieldNumber && number != onnx::GraphProto::kInitializerFieldNumber) {
      mask.add_paths("graph." + graph_fields->field(i)->name());
    }
  }
  onnx::ModelProto out;
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(model, mask, {}, &out);
  // Fields newer than this libonnx: the mask names known fields only.
  out.mutable_unknown_fields()->MergeFrom(model.unknown_fields());
  out.mutable_graph()->mutable_unknown_fields()->MergeFrom(model.graph().unknown_fields());
  return out;
}

// value_info for tensors that no longer exist (a folded MatMul's output).
void drop_stale_value_info(onnx::GraphProto& g) {
  std::set<std::string> live;
  for (const auto& n : g.node()) {
    for (const auto& s : n.input()) live.insert(s);
    for (const auto& s : n.output()) live.insert(s);
  }
  auto* infos = g.mutable_value_info();
  for (int i = infos->size() - 1; i >= 0; --i) {
    if (!live.count(infos->Get(i).name())) infos->DeleteSubrange(i, 1);
  }
}

}  // namespace

std::string_view to_string(NodeAction action) noexcept {
  switch (action) {
    case NodeAction::quantized: return "quantized";
    case NodeAction::kept_by_plan: return "kept fp32 (plan)";
    case NodeAction::not_quantizable: return "kept fp32 (not quantizable)";
  }
  return "quantized";
}

std::string describe(const NodeDecision& decision) {
  if (decision.action == NodeAction::not_quantizable) return fmt::format("kept fp32 (not quantizable: {})", decision.refusal);
  return std::string(to_string(decision.action));
}

std::vector<Candidate> find_candidates(const onnx::ModelProto& model) {
  const GraphView graph(model);
  const QuantPlan plan;
  std::vector<Candidate> out;
  for (int i = 0; i < graph.graph().node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const Quantizer* q = find_quantizer(node);
    if (q == nullptr || q->refusal(node, plan, graph)) continue;
    Candidate c{node_key(node, i), node.op_type(), "", 0, ""};
    if (auto spec = q->weight_spec(node, plan, graph)) {
      c.weight = node.input(spec->input);
      c.weight_bytes = tensor_bytes(*graph.constant(c.weight));
    }
    if (auto a = q->activation_input(node, plan, graph)) c.activation = node.input(*a);
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

// The pass; `consumed`, when set, is `fp32` itself, whose initializers are moved into the
// result instead of copied (nothing reads them after the rewrites are planned).
QuantizeResult run_pass(const onnx::ModelProto& fp32, const QuantPlan& plan, onnx::ModelProto* consumed) {
  const GraphView graph(fp32);
  const int n_nodes = graph.graph().node_size();

  std::set<std::string> keys;
  for (int i = 0; i < n_nodes; ++i) keys.insert(node_key(graph.node(i), i));
  for (const auto& [name, config] : plan.per_node) {
    if (!keys.count(name)) {
      throw UsageError(fmt::format("the quantization plan configures node '{}', which the model does not have", name));
    }
  }

  NameAllocator names(fp32);
  WeightStore weights(graph, names);
  ActivationStore activations(graph, names);
  RewriteContext ctx{graph, names, weights, activations, plan};

  QuantizeResult result;
  std::vector<std::optional<Rewrite>> rewrites(static_cast<std::size_t>(n_nodes));
  std::vector<bool> absorbed(static_cast<std::size_t>(n_nodes), false);
  for (int i = 0; i < n_nodes; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const Quantizer* q = find_quantizer(node);
    if (q == nullptr || absorbed[static_cast<std::size_t>(i)]) continue;

    NodeDecision d;
    d.node = node_key(node, i);
    d.op_type = node.op_type();
    auto config_it = plan.per_node.find(d.node);
    const NodeConfig& config = config_it == plan.per_node.end() ? plan.defaults : config_it->second;
    d.granularity = config.granularity;
    d.reduce_range = config.reduce_range;

    if (!q->enabled(plan)) {
      d.action = NodeAction::kept_by_plan;
    } else if (auto why = q->refusal(node, plan, graph)) {
      d.action = NodeAction::not_quantizable;
      d.refusal = std::move(*why);
    } else if (!config.quantize) {
      d.action = NodeAction::kept_by_plan;
    } else {
      Rewrite r = q->rewrite(node, config, ctx);
      d.action = NodeAction::quantized;
      d.granularity = r.granularity;
      d.weight_type = r.weight_type;
      d.reduce_range = r.reduce_range;
      d.max_pair_magnitude = r.max_pair_magnitude;
      d.activations = r.activations;
      for (const auto& n : r.nodes) d.new_nodes.push_back(n.name());
      for (int a : r.absorbed) {
        absorbed[static_cast<std::size_t>(a)] = true;
        d.folded.push_back(node_key(graph.node(a), a));
      }
      rewrites[static_cast<std::size_t>(i)] = std::move(r);
    }
    result.decisions.push_back(std::move(d));
  }

  result.model = copy_without_nodes_and_initializers(fp32);
  onnx::GraphProto& g = *result.model.mutable_graph();
  for (int i = 0; i < n_nodes; ++i) {
    const auto idx = static_cast<std::size_t>(i);
    if (absorbed[idx]) continue;
    if (rewrites[idx]) {
      for (auto& n : rewrites[idx]->nodes) *g.add_node() = std::move(n);
    } else {
      *g.add_node() = graph.node(i);
    }
  }
  // The fp32 initializers in their order, but for the quantized weights no node reads
  // any more (a weight another node still reads in fp32 stays).
  std::set<std::string> used;
  collect_uses(g, used);
  result.weight_bytes_before = initializer_bytes(fp32.graph());
  for (int i = 0; i < fp32.graph().initializer_size(); ++i) {
    const onnx::TensorProto& t = fp32.graph().initializer(i);
    if (weights.sources().count(t.name()) && !used.count(t.name())) continue;
    if (consumed != nullptr) {
      *g.add_initializer() = std::move(*consumed->mutable_graph()->mutable_initializer(i));
    } else {
      *g.add_initializer() = t;
    }
  }
  for (auto& t : weights.take_initializers()) *g.add_initializer() = std::move(t);
  for (auto& t : activations.take_initializers()) *g.add_initializer() = std::move(t);
  drop_stale_value_info(g);
  import_ms_domain_if_used(result.model);

  result.weight_bytes_after = initializer_bytes(g);
  return result;
}

}  // namespace

QuantizeResult quantize(const onnx::ModelProto& fp32, const QuantPlan& plan) { return run_pass(fp32, plan, nullptr); }

QuantizeResult quantize(onnx::ModelProto&& fp32, const QuantPlan& plan) {
  QuantizeResult result = run_pass(fp32, plan, &fp32);
  fp32.Clear();  // its initializers were moved out: what is left is not a usable model
  return result;
}

}  // namespace docquant::quant
