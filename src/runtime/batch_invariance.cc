#include "batch_invariance.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph_view.h"

namespace docquant::runtime {

namespace {

// What the check knows of a tensor: whether it holds text data (then the batch is its leading
// axis) and its rank, when known.
struct Facts {
  bool texts = false;
  std::optional<std::int64_t> rank;
};

using Constants = std::unordered_map<std::string, const onnx::TensorProto*>;

// One node under check: its inputs' facts in, its outputs' facts out (set by its rule).
struct NodeCheck {
  const onnx::NodeProto& node;
  std::vector<Facts> in;
  std::vector<Facts> out;
  std::int64_t opset;  // of ai.onnx
  const Constants& constants;

  bool texts(int i) const { return i < static_cast<int>(in.size()) && in[static_cast<std::size_t>(i)].texts; }
  bool any_texts() const {
    return std::any_of(in.begin(), in.end(), [](const Facts& f) { return f.texts; });
  }
  std::optional<std::int64_t> rank(int i) const {
    return i < static_cast<int>(in.size()) ? in[static_cast<std::size_t>(i)].rank : std::nullopt;
  }
  bool has_input(int i) const { return i < node.input_size() && !node.input(i).empty(); }
  // A constant int64 input (axes, shapes); nullopt when absent or computed.
  std::optional<std::vector<std::int64_t>> ints(int i) const {
    if (!has_input(i)) return std::nullopt;
    const auto it = constants.find(node.input(i));
    if (it == constants.end()) return std::nullopt;
    return graph::int64_values(*it->second);
  }
  std::optional<std::vector<std::int64_t>> ints_attribute(const char* name) const {
    const auto* a = graph::find_attribute(node, name);
    if (!a) return std::nullopt;
    return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
  }
  std::optional<std::int64_t> int_attribute(const char* name) const {
    const auto* a = graph::find_attribute(node, name);
    return a ? std::optional<std::int64_t>(a->i()) : std::nullopt;
  }
  void set_outputs(Facts f) { out.assign(static_cast<std::size_t>(node.output_size()), f); }
};

// The empty string when the node keeps texts apart, else why not (after "node 'x' (Op) ").
using Refusal = std::string;
using Rule = std::function<Refusal(NodeCheck&)>;

// `axis` counted from the front; nullopt when it is negative and the rank unknown.
std::optional<std::int64_t> from_front(std::int64_t axis, std::optional<std::int64_t> rank) {
  if (axis >= 0) return axis;
  if (!rank) return std::nullopt;
  return axis + *rank;
}

// Every input that holds texts has rank `rank`, so that its batch axis is the output's.
Refusal texts_have_rank(const NodeCheck& c, std::int64_t rank) {
  for (int i = 0; i < static_cast<int>(c.in.size()); ++i) {
    if (!c.texts(i)) continue;
    if (!c.rank(i)) return fmt::format("reads '{}', whose rank is unknown", c.node.input(i));
    if (*c.rank(i) != rank) {
      return fmt::format("broadcasts '{}' (rank {}) to rank {}, which moves its batch axis", c.node.input(i),
                         *c.rank(i), rank);
    }
  }
  return {};
}

// Element-wise ops with broadcasting (Add, Mul, Cast, Where, Gelu, ...).
Refusal elementwise(NodeCheck& c) {
  std::int64_t rank = 0;
  for (int i = 0; i < static_cast<int>(c.in.size()); ++i) {
    if (!c.has_input(i)) continue;
    if (!c.rank(i)) return fmt::format("reads '{}', whose rank is unknown", c.node.input(i));
    rank = std::max(rank, *c.rank(i));
  }
  if (Refusal r = texts_have_rank(c, rank); !r.empty()) return r;
  c.set_outputs({c.any_texts(), rank});
  return {};
}

// (De)QuantizeLinear: a constant scale and zero point, per tensor or along an axis other than
// the batch (docquant's per-token graphs quantize with scale 1 after dividing by each row's
// own maximum, computed by a ReduceMax that this check reads separately).
Refusal quantize_linear(NodeCheck& c) {
  if (c.texts(1) || c.texts(2)) return "computes its scale or zero point from the texts";
  if (c.texts(0) && c.rank(1).value_or(1) > 0) {
    const auto axis = from_front(c.int_attribute("axis").value_or(1), c.rank(0));
    if (!axis || *axis == 0) return "quantizes along the batch axis";
  }
  c.set_outputs({c.texts(0), c.rank(0)});
  return {};
}

// MatMul, Gemm and their integer and fused forms: operands are inputs 0 and 1; scales, zero
// points and bias (inputs 2 on) broadcast against the output. A text's rows of A meet only
// constant weights, or (both operands texts, as Q·Kᵀ) the same text's rows of B.
Refusal matmul(NodeCheck& c) {
  if (!c.rank(0) || !c.rank(1)) return "reads an operand whose rank is unknown";
  const std::int64_t ra = *c.rank(0), rb = *c.rank(1);
  if (c.int_attribute("transBatchA").value_or(0) || c.int_attribute("transBatchB").value_or(0)) {
    if (c.any_texts()) return "moves batch axes (transBatchA/B)";
  }
  if (c.texts(0) && (ra < 2 || (ra == 2 && c.int_attribute("transA").value_or(0)))) {
    return "sums over the batch axis of its first operand";
  }
  if (c.texts(1) && rb < 3) return "sums over the batch axis of its second operand";
  const std::int64_t rank = ra == 1 ? rb - 1 : rb == 1 ? ra - 1 : std::max(ra, rb);
  if ((c.texts(0) && ra != rank) || (c.texts(1) && rb != rank)) return "broadcasts an operand, which moves its batch axis";
  for (int i = 2; i < static_cast<int>(c.in.size()); ++i) {
    if (c.texts(i) && c.rank(i) != rank) return fmt::format("reads '{}', which does not line up with its output", c.node.input(i));
  }
  c.set_outputs({c.any_texts(), rank});
  return {};
}

// Ops that work along one axis and keep the rank (Softmax, LayerNormalization -- over the
// axis and those after it --, Split, Concat): the axis must not be the batch.
Refusal along_axis(NodeCheck& c, std::optional<std::int64_t> axis_value) {
  const auto rank = c.rank(0);
  if (c.any_texts()) {
    const auto axis = axis_value ? from_front(*axis_value, rank) : std::nullopt;
    if (!axis) return "works along an axis that cannot be told from the graph";
    if (*axis == 0) return "works along the batch axis";
    if (!rank) return fmt::format("reads '{}', whose rank is unknown", c.node.input(0));
    if (Refusal r = texts_have_rank(c, *rank); !r.empty()) return r;
  }
  c.set_outputs({c.any_texts(), rank});
  return {};
}

Refusal along_axis_attribute(NodeCheck& c, std::optional<std::int64_t> fallback) {
  const auto axis = c.int_attribute("axis");
  return along_axis(c, axis ? axis : fallback);
}

// ReduceMax, ReduceMean, ... (axes as attribute, or as input from ReduceSum 13 / opset 18) and
// ArgMax/ArgMin (one `axis`): the reduced axes must not include the batch.
Refusal reduce(NodeCheck& c) {
  std::optional<std::vector<std::int64_t>> axes;
  if (c.node.op_type() == "ArgMax" || c.node.op_type() == "ArgMin") {
    axes = std::vector<std::int64_t>{c.int_attribute("axis").value_or(0)};
  } else {
    axes = c.ints_attribute("axes");
    if (!axes && c.has_input(1)) {
      axes = c.ints(1);
      if (!axes) return "reduces over axes computed at run time";
    }
  }
  const auto rank = c.rank(0);
  if (!axes || axes->empty()) {
    if (c.int_attribute("noop_with_empty_axes").value_or(0)) {
      c.set_outputs({c.texts(0), rank});
      return {};
    }
    if (c.texts(0)) return "reduces over every axis, the batch included";
    axes = std::vector<std::int64_t>{};
  }
  for (const auto a : *axes) {
    const auto axis = from_front(a, rank);
    if (c.texts(0) && (!axis || *axis == 0)) return axis ? "reduces over the batch axis" : "reduces over an axis of unknown position";
  }
  const bool keep = c.int_attribute("keepdims").value_or(1) != 0;
  std::optional<std::int64_t> out_rank;
  if (rank) out_rank = keep ? *rank : *rank - static_cast<std::int64_t>(axes->size());
  c.set_outputs({c.texts(0), out_rank});
  return {};
}

// Gather: rows of a constant table looked up by text data (embeddings: the indices hold the
// texts, axis 0), or entries of text data taken along an axis other than the batch.
Refusal gather(NodeCheck& c) {
  if (!c.rank(0) || !c.rank(1)) return "reads a tensor whose rank is unknown";
  const auto axis = from_front(c.int_attribute("axis").value_or(0), c.rank(0));
  if (c.texts(0) && c.texts(1)) return "gathers text data by text data";
  if (c.texts(1) && *axis != 0) return "puts the indices' batch axis behind the table's leading axes";
  if (c.texts(0) && *axis == 0) return "picks entries along the batch axis";
  c.set_outputs({c.any_texts(), *c.rank(0) - 1 + *c.rank(1)});
  return {};
}

std::optional<std::vector<std::int64_t>> axes_of(const NodeCheck& c) {
  if (auto a = c.ints_attribute("axes")) return a;
  return c.ints(1);
}

Refusal unsqueeze(NodeCheck& c) {
  const auto axes = axes_of(c);
  if (!axes || !c.rank(0)) return "inserts axes that cannot be told from the graph";
  const std::int64_t rank = *c.rank(0) + static_cast<std::int64_t>(axes->size());
  for (const auto a : *axes) {
    if (c.texts(0) && from_front(a, rank) == 0) return "inserts an axis before the batch";
  }
  c.set_outputs({c.texts(0), rank});
  return {};
}

Refusal squeeze(NodeCheck& c) {
  const auto axes = axes_of(c);
  if (!axes || !c.rank(0)) return "removes axes that cannot be told from the graph";
  for (const auto a : *axes) {
    if (c.texts(0) && from_front(a, c.rank(0)) == 0) return "removes the batch axis";
  }
  c.set_outputs({c.texts(0), *c.rank(0) - static_cast<std::int64_t>(axes->size())});
  return {};
}

Refusal transpose(NodeCheck& c) {
  const auto perm = c.ints_attribute("perm");
  if (c.texts(0) && (!perm || perm->empty() || (*perm)[0] != 0)) return "moves the batch axis";
  c.set_outputs({c.texts(0), c.rank(0)});
  return {};
}

// Reshape keeps the batch in front only when its constant target copies it (first entry 0,
// allowzero 0); a computed target may merge texts into one row.
Refusal reshape(NodeCheck& c) {
  const auto shape = c.ints(1);
  if (c.texts(0)) {
    if (!shape) return "takes a target shape computed at run time, which may merge the batch axis";
    if (shape->empty() || (*shape)[0] != 0 || c.int_attribute("allowzero").value_or(0)) {
      return "has a target shape that does not copy the batch axis";
    }
  }
  c.set_outputs({c.texts(0), shape ? std::optional<std::int64_t>(static_cast<std::int64_t>(shape->size())) : std::nullopt});
  return {};
}

// Slice with constant axes (attribute before opset 10): none may be the batch. Without axes
// the starts apply to axes 0, 1, ...: the batch first.
Refusal slice(NodeCheck& c) {
  const bool attribute_form = c.opset < 10;
  const bool axes_given = attribute_form ? graph::find_attribute(c.node, "axes") != nullptr : c.has_input(3);
  auto axes = axes_given ? (attribute_form ? c.ints_attribute("axes") : c.ints(3)) : std::vector<std::int64_t>{0};
  if (c.texts(0)) {
    if (!axes) return "slices axes computed at run time";
    for (const auto a : *axes) {
      const auto axis = from_front(a, c.rank(0));
      if (!axis || *axis == 0) return axis ? "slices the batch axis" : "slices an axis of unknown position";
    }
  }
  c.set_outputs({c.texts(0), c.rank(0)});
  return {};
}

// Flatten keeps the batch as its first axis when `axis` >= 1.
Refusal flatten(NodeCheck& c) {
  const auto axis = from_front(c.int_attribute("axis").value_or(1), c.rank(0));
  if (c.texts(0) && (!axis || *axis == 0)) return "merges the batch axis";
  c.set_outputs({c.texts(0), 2});
  return {};
}

// The graph's shape, as structure (not text data).
Refusal shape(NodeCheck& c) {
  c.set_outputs({false, c.node.op_type() == "Size" ? 0 : 1});
  return {};
}

Refusal constant(NodeCheck& c) {
  const auto* a = graph::find_attribute(c.node, "value");
  std::optional<std::int64_t> rank;
  if (a && a->has_t()) rank = a->t().dims_size();
  if (graph::find_attribute(c.node, "value_float") || graph::find_attribute(c.node, "value_int")) rank = 0;
  if (graph::find_attribute(c.node, "value_floats") || graph::find_attribute(c.node, "value_ints")) rank = 1;
  c.set_outputs({false, rank});
  return {};
}

// com.microsoft Attention / MultiHeadAttention: each text attends to its own tokens (mask and
// bias are per text). Output 0 is [batch, sequence, hidden]; MultiHeadAttention's present
// key/value are [batch, heads, ...]; Attention's `present` ([2, batch, ...]) is left of
// unknown rank, so no later check can rely on it.
Refusal attention(NodeCheck& c, bool multi_head) {
  c.out.assign(static_cast<std::size_t>(c.node.output_size()), Facts{c.any_texts(), std::nullopt});
  c.out[0].rank = 3;
  if (multi_head) {
    for (std::size_t i = 1; i < c.out.size() && i < 3; ++i) c.out[i].rank = 4;
  }
  return {};
}

// com.microsoft QAttention: Attention on an input quantized beforehand, with its input scale and
// zero point as inputs 3 and 6. Constants there (docquant's static recipe) keep texts apart;
// ONNX Runtime's quantize_dynamic computes them with a DynamicQuantizeLinear, refused upstream.
Refusal qattention(NodeCheck& c) {
  if (c.texts(3) || c.texts(6)) return "takes its input scale or zero point from the texts: one scale for the whole batch";
  return attention(c, false);
}

// com.microsoft EmbedLayerNormalization: embeddings of each text's own ids, its mask index.
Refusal embed_layer_norm(NodeCheck& c) {
  c.out.assign(static_cast<std::size_t>(c.node.output_size()), Facts{c.any_texts(), 3});
  if (c.out.size() > 1) c.out[1].rank = 1;
  return {};
}

Refusal one_scale_per_batch(NodeCheck&) {
  return "computes one quantization scale over its whole input: the largest value of every text in the batch";
}

// The ops known to keep texts apart, and how each is checked. Keyed "Op" (ai.onnx) or
// "com.microsoft:Op". Anything else that reads text data ends the proof.
const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> table = [] {
    std::map<std::string, Rule> t;
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Erf", "Abs", "Max", "Min", "Sum", "Mean",
                           "Neg", "Exp", "Log", "Tanh", "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid",
                           "Softplus", "Softsign", "Gelu", "Cast", "CastLike", "Floor", "Ceil", "Round", "Clip",
                           "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Where", "Not", "And", "Or",
                           "Xor", "Identity", "Reciprocal", "Sign", "Sin", "Cos", "Mod", "IsNaN", "IsInf", "Dropout",
                           "com.microsoft:Gelu", "com.microsoft:FastGelu", "com.microsoft:BiasGelu",
                           "com.microsoft:QuickGelu", "com.microsoft:BiasAdd"}) {
      t[op] = elementwise;
    }
    for (const char* op : {"QuantizeLinear", "DequantizeLinear"}) t[op] = quantize_linear;
    for (const char* op : {"MatMul", "MatMulInteger", "Gemm", "com.microsoft:FusedMatMul",
                           "com.microsoft:MatMulIntegerToFloat"}) {
      t[op] = matmul;
    }
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
      t[op] = [](NodeCheck& c) { return along_axis_attribute(c, c.opset < 13 ? 1 : -1); };
    }
    for (const char* op : {"LayerNormalization", "com.microsoft:LayerNormalization",
                           "com.microsoft:SimplifiedLayerNormalization"}) {
      t[op] = [](NodeCheck& c) { return along_axis_attribute(c, -1); };
    }
    for (const char* op : {"com.microsoft:SkipLayerNormalization", "com.microsoft:SkipSimplifiedLayerNormalization"}) {
      t[op] = [](NodeCheck& c) { return along_axis(c, -1); };
    }
    t["Split"] = [](NodeCheck& c) { return along_axis_attribute(c, 0); };
    t["Concat"] = [](NodeCheck& c) { return along_axis_attribute(c, std::nullopt); };
    for (const char* op : {"ReduceMax", "ReduceMin", "ReduceMean", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2",
                           "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin"}) {
      t[op] = reduce;
    }
    t["Gather"] = gather;
    t["Unsqueeze"] = unsqueeze;
    t["Squeeze"] = squeeze;
    t["Transpose"] = transpose;
    t["Reshape"] = reshape;
    t["Slice"] = slice;
    t["Flatten"] = flatten;
    t["Shape"] = shape;
    t["Size"] = shape;
    t["Constant"] = constant;
    t["com.microsoft:Attention"] = [](NodeCheck& c) { return attention(c, false); };
    t["com.microsoft:MultiHeadAttention"] = [](NodeCheck& c) { return attention(c, true); };
    t["com.microsoft:EmbedLayerNormalization"] = embed_layer_norm;
    t["com.microsoft:QAttention"] = qattention;
    for (const char* op : {"DynamicQuantizeLinear", "com.microsoft:DynamicQuantizeMatMul",
                           "com.microsoft:DynamicQuantizeLSTM"}) {
      t[op] = one_scale_per_batch;
    }
    return t;
  }();
  return table;
}

std::string op_key(const onnx::NodeProto& n) {
  if (n.domain().empty() || n.domain() == "ai.onnx") return n.op_type();
  return n.domain() + ":" + n.op_type();
}

bool has_subgraph(const onnx::NodeProto& n) {
  return std::any_of(n.attribute().begin(), n.attribute().end(),
                     [](const onnx::AttributeProto& a) { return a.has_g() || a.graphs_size() > 0; });
}

std::optional<std::int64_t> declared_rank(const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return std::nullopt;
  return v.type().tensor_type().shape().dim_size();
}

}  // namespace

BatchInvariance check_batch_invariance(const onnx::ModelProto& model) {
  const onnx::GraphProto& g = model.graph();
  std::int64_t opset = 0;
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  }
  Constants constants;
  std::unordered_map<std::string, Facts> facts;
  for (const auto& t : g.initializer()) {
    constants[t.name()] = &t;
    facts[t.name()] = {false, t.dims_size()};
  }
  // The graph's inputs hold the texts (input_ids, attention_mask, token_type_ids); an
  // initializer that is also an input may be overridden at run time, so it counts as one.
  for (const auto& in : g.input()) {
    constants.erase(in.name());
    facts[in.name()] = {true, declared_rank(in)};
  }
  for (const auto& node : g.node()) {
    NodeCheck c{node, {}, {}, opset, constants};
    std::string unknown;
    for (const auto& name : node.input()) {
      const auto it = facts.find(name);
      if (!name.empty() && it == facts.end()) unknown = name;
      c.in.push_back(it == facts.end() ? Facts{} : it->second);
    }
    const std::string key = op_key(node);
    Refusal why;
    if (!unknown.empty()) {
      why = fmt::format("reads '{}', which no earlier node writes", unknown);
    } else if (has_subgraph(node)) {
      why = "runs a subgraph, which this check does not read";
    } else if (const auto rule = rules().find(key); rule != rules().end()) {
      why = rule->second(c);
    } else {
      why = "is not an op known to keep texts apart";
    }
    const bool reads_texts = c.any_texts() || !unknown.empty() || has_subgraph(node);
    if (!why.empty() && reads_texts) {
      return {false, fmt::format("node '{}' ({}) {}", node.name(), key, why)};
    }
    // A node without text inputs computes structure (shapes, positions) or constants.
    if (!why.empty() || c.out.size() != static_cast<std::size_t>(node.output_size())) c.set_outputs({});
    for (int i = 0; i < node.output_size(); ++i) facts[node.output(i)] = c.out[static_cast<std::size_t>(i)];
    if (key == "Constant" && node.output_size() == 1) {
      if (const auto* a = graph::find_attribute(node, "value"); a && a->has_t()) constants[node.output(0)] = &a->t();
    }
  }
  return {true, fmt::format("proven on the graph's {} nodes: each reads no text data, or is an op that keeps texts "
                            "apart used along axes other than the batch",
                            g.node_size())};
}

}  // namespace docquant::runtime
