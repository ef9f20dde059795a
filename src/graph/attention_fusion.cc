#include "attention_fusion.h"

#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph_view.h"

namespace docquant::graph {

namespace {

std::int64_t int_attribute(const onnx::NodeProto& node, const std::string& name, std::int64_t fallback) {
  const auto* a = find_attribute(node, name);
  return a ? a->i() : fallback;
}

// The values of a constant int64 initializer.
std::optional<std::vector<std::int64_t>> int64_values(const GraphView& view, const std::string& name) {
  const onnx::TensorProto* t = view.constant(name);
  if (!t) return std::nullopt;
  return graph::int64_values(*t);
}

// A constant float holding one value (scalar or [1]).
std::optional<float> float_scalar(const GraphView& view, const std::string& name) {
  const onnx::TensorProto* t = view.constant(name);
  if (!t || t->data_type() != onnx::TensorProto::FLOAT || element_count(*t) != 1) return std::nullopt;
  return float_values(*t).at(0);
}

// Unsqueeze's axes, from the attribute (opset < 13) or the constant second input.
std::optional<std::vector<std::int64_t>> unsqueeze_axes(const GraphView& view, const onnx::NodeProto& node) {
  if (const auto* a = find_attribute(node, "axes")) return std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
  if (node.input_size() == 2) return int64_values(view, node.input(1));
  return std::nullopt;
}

// The node at `index`, or nullptr for -1 (GraphView::producer of a graph input or constant).
const onnx::NodeProto* node_at(const GraphView& g, int index) { return index < 0 ? nullptr : &g.node(index); }

// A Reshape's target shape as constants, where 0 stands for "the input's dimension". Besides a
// constant, takes the form DistilBERT exports (x.view(bs, -1, ...)): Concat(Unsqueeze(Gather(
// Shape(t), 0)), c1, c2, ...), where the batch entry becomes 0 (t and the reshaped tensor share
// their batch dimension in the attention blocks matched here) and -1 is kept.
std::optional<std::vector<std::int64_t>> reshape_target(const GraphView& m, const std::string& shape) {
  if (auto v = int64_values(m, shape)) return v;
  const onnx::NodeProto* concat = node_at(m, m.producer(shape));
  if (!is_onnx_op(concat, "Concat") || int_attribute(*concat, "axis", -1) != 0 || concat->input_size() < 2)
    return std::nullopt;
  const onnx::NodeProto* unsqueeze = node_at(m, m.producer(concat->input(0)));
  if (!is_onnx_op(unsqueeze, "Unsqueeze") || unsqueeze_axes(m, *unsqueeze) != std::vector<std::int64_t>{0})
    return std::nullopt;
  const onnx::NodeProto* gather = node_at(m, m.producer(unsqueeze->input(0)));
  if (!is_onnx_op(gather, "Gather") || int_attribute(*gather, "axis", 0) != 0 ||
      int64_values(m, gather->input(1)) != std::vector<std::int64_t>{0} ||
      !is_onnx_op(node_at(m, m.producer(gather->input(0))), "Shape"))
    return std::nullopt;
  std::vector<std::int64_t> out = {0};
  for (int i = 1; i < concat->input_size(); ++i) {
    const auto part = int64_values(m, concat->input(i));
    if (!part || part->size() != 1) return std::nullopt;
    out.push_back(part->front());
  }
  return out;
}

// One of the Q, K, V branches: Transpose(Reshape(Add(MatMul(x, W), b), [0, 0, N, h]), perm).
struct Projection {
  std::string x, weight, bias;
  std::int64_t heads = 0, head_size = 0;
  std::vector<int> nodes;
};

std::optional<Projection> projection(const GraphView& m, const std::string& transposed, int reader,
                                     const std::vector<std::int64_t>& perm) {
  if (!m.read_only_by(transposed, reader)) return std::nullopt;
  const int t = m.producer(transposed);
  const onnx::NodeProto* transpose = node_at(m, t);
  if (!is_onnx_op(transpose, "Transpose")) return std::nullopt;
  const auto* p = find_attribute(*transpose, "perm");
  if (!p || std::vector<std::int64_t>(p->ints().begin(), p->ints().end()) != perm) return std::nullopt;
  const int r = m.producer(transpose->input(0));
  const onnx::NodeProto* reshape = node_at(m, r);
  if (!is_onnx_op(reshape, "Reshape") || !m.read_only_by(transpose->input(0), t) || reshape->input_size() < 2 ||
      int_attribute(*reshape, "allowzero", 0) != 0)
    return std::nullopt;
  const auto shape = reshape_target(m, reshape->input(1));
  if (!shape || shape->size() != 4 || (*shape)[0] != 0 || ((*shape)[1] != 0 && (*shape)[1] != -1) || (*shape)[2] <= 0 ||
      (*shape)[3] <= 0)
    return std::nullopt;
  const int a = m.producer(reshape->input(0));
  const onnx::NodeProto* add = node_at(m, a);
  if (!is_onnx_op(add, "Add") || !m.read_only_by(reshape->input(0), r) || add->input_size() != 2) return std::nullopt;
  Projection out;
  out.heads = (*shape)[2];
  out.head_size = (*shape)[3];
  const std::int64_t width = out.heads * out.head_size;
  for (int side = 0; side < 2; ++side) {
    const onnx::TensorProto* b = m.constant(add->input(side));
    if (!b || b->data_type() != onnx::TensorProto::FLOAT || b->dims_size() != 1 || b->dims(0) != width) continue;
    const int mm = m.producer(add->input(1 - side));
    const onnx::NodeProto* matmul = node_at(m, mm);
    if (!is_onnx_op(matmul, "MatMul") || !m.read_only_by(add->input(1 - side), a)) return std::nullopt;
    const onnx::TensorProto* w = m.constant(matmul->input(1));
    if (!w || w->data_type() != onnx::TensorProto::FLOAT || w->dims_size() != 2 || w->dims(1) != width ||
        m.constant(matmul->input(0)))
      return std::nullopt;
    out.x = matmul->input(0);
    out.weight = matmul->input(1);
    out.bias = add->input(side);
    out.nodes = {mm, a, r, t};
    return out;
  }
  return std::nullopt;
}

// M = Mul(Sub(1, Cast(Unsqueeze(Unsqueeze(mask, 1), 2), float)), c): the mask's graph input and c.
// The chain, shared by all layers, is removed once no layer reads it.
struct Mask {
  std::string input;
  float filter = 0.0f;
};

std::optional<Mask> attention_mask(const GraphView& m, const std::string& tensor) {
  const onnx::NodeProto* mul = node_at(m, m.producer(tensor));
  if (!is_onnx_op(mul, "Mul") || mul->input_size() != 2) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    const auto c = float_scalar(m, mul->input(side));
    if (!c || !(*c < 0.0f) || !std::isfinite(*c)) continue;
    const onnx::NodeProto* sub = node_at(m, m.producer(mul->input(1 - side)));
    if (!is_onnx_op(sub, "Sub") || sub->input_size() != 2) return std::nullopt;
    const auto one = float_scalar(m, sub->input(0));
    if (!one || *one != 1.0f) return std::nullopt;
    const onnx::NodeProto* cast = node_at(m, m.producer(sub->input(1)));
    if (!is_onnx_op(cast, "Cast") || int_attribute(*cast, "to", 0) != onnx::TensorProto::FLOAT) return std::nullopt;
    const onnx::NodeProto* u2 = node_at(m, m.producer(cast->input(0)));
    if (!is_onnx_op(u2, "Unsqueeze") || unsqueeze_axes(m, *u2) != std::vector<std::int64_t>{2}) return std::nullopt;
    const onnx::NodeProto* u1 = node_at(m, m.producer(u2->input(0)));
    if (!is_onnx_op(u1, "Unsqueeze") || unsqueeze_axes(m, *u1) != std::vector<std::int64_t>{1}) return std::nullopt;
    if (!m.is_graph_input(u1->input(0))) return std::nullopt;
    return Mask{u1->input(0), *c};
  }
  return std::nullopt;
}

// DistilBERT's masked_fill: Where(Expand(Reshape(Equal(mask, 0), s1), s2), c, scores); c < 0
// replaces masked scores, which Attention's additive (1 - mask) * c matches after Softmax.
std::optional<Mask> where_mask(const GraphView& m, const onnx::NodeProto& where) {
  const auto c = float_scalar(m, where.input(1));
  if (!c || !(*c < 0.0f) || !std::isfinite(*c)) return std::nullopt;
  const onnx::NodeProto* expand = node_at(m, m.producer(where.input(0)));
  if (!is_onnx_op(expand, "Expand")) return std::nullopt;
  const onnx::NodeProto* reshape = node_at(m, m.producer(expand->input(0)));
  if (!is_onnx_op(reshape, "Reshape")) return std::nullopt;
  // mask.view(bs, 1, 1, k_length): a Concat of four, the middle two constant 1.
  const onnx::NodeProto* target = node_at(m, m.producer(reshape->input(1)));
  if (!is_onnx_op(target, "Concat") || target->input_size() != 4 ||
      int64_values(m, target->input(1)) != std::vector<std::int64_t>{1} ||
      int64_values(m, target->input(2)) != std::vector<std::int64_t>{1})
    return std::nullopt;
  const onnx::NodeProto* equal = node_at(m, m.producer(reshape->input(0)));
  if (!is_onnx_op(equal, "Equal") || !m.is_graph_input(equal->input(0))) return std::nullopt;
  const onnx::TensorProto* zero = m.constant(equal->input(1));
  if (!zero || element_count(*zero) != 1 || int64_values(m, equal->input(1)) != std::vector<std::int64_t>{0})
    return std::nullopt;
  return Mask{equal->input(0), *c};
}

// MPNet's relative position bias: computed once from bucketed token distances and added to
// every layer's scores, as
//     Expand(Unsqueeze(Transpose(Gather(table, buckets), perm 2 0 1), axes 0), shape)
// with `table` a constant float [buckets, heads]. The Transpose makes the gathered
// [S, S, heads] a [heads, S, S] (its perm has three entries, so the buckets are 2-D), the
// Unsqueeze a [1, heads, S, S]. That tensor, before the Expand to [batch, heads, S, S], is what
// the fused node reads: Attention's and MultiHeadAttention's attention_bias broadcast a batch
// of 1 (measured on ONNX Runtime 1.29's CPU kernels), so the batch copy is not made. The Expand
// is optional (an export without it adds the [1, heads, S, S] tensor itself).
struct PositionBias {
  std::string tensor;
  std::int64_t heads = 0;
};

std::optional<PositionBias> relative_position_bias(const GraphView& m, const std::string& added) {
  std::string tensor = added;
  if (const onnx::NodeProto* expand = node_at(m, m.producer(tensor)); is_onnx_op(expand, "Expand"))
    tensor = expand->input(0);
  const onnx::NodeProto* unsqueeze = node_at(m, m.producer(tensor));
  if (!is_onnx_op(unsqueeze, "Unsqueeze") || unsqueeze_axes(m, *unsqueeze) != std::vector<std::int64_t>{0})
    return std::nullopt;
  const onnx::NodeProto* transpose = node_at(m, m.producer(unsqueeze->input(0)));
  const auto* perm = is_onnx_op(transpose, "Transpose") ? find_attribute(*transpose, "perm") : nullptr;
  if (!perm || std::vector<std::int64_t>(perm->ints().begin(), perm->ints().end()) != std::vector<std::int64_t>{2, 0, 1})
    return std::nullopt;
  const onnx::NodeProto* gather = node_at(m, m.producer(transpose->input(0)));
  if (!is_onnx_op(gather, "Gather") || int_attribute(*gather, "axis", 0) != 0) return std::nullopt;
  const onnx::TensorProto* table = m.constant(gather->input(0));
  if (!table || table->data_type() != onnx::TensorProto::FLOAT || table->dims_size() != 2) return std::nullopt;
  return PositionBias{tensor, table->dims(1)};
}

struct Match {
  Projection q, k, v;
  Mask mask;
  std::optional<PositionBias> position_bias;
  float scale = 0.0f;
  std::string output;
  int anchor = -1;  // the final Reshape: the fused node takes its place
  std::vector<int> nodes;
  std::string name;
};

std::optional<Match> match_at_softmax(const GraphView& m, int s) {
  const onnx::NodeProto& softmax = m.graph().node(s);
  const std::int64_t axis = int_attribute(softmax, "axis", m.opset("") >= 13 ? -1 : 1);
  if (axis != -1 && axis != 3) return std::nullopt;
  const int add_index = m.producer(softmax.input(0));
  const onnx::NodeProto* add = node_at(m, add_index);
  if (!add || !m.read_only_by(softmax.input(0), s)) return std::nullopt;
  const bool where = is_onnx_op(add, "Where") && add->input_size() == 3;
  if (!where && (!is_onnx_op(add, "Add") || add->input_size() != 2)) return std::nullopt;

  Match out;
  for (int side = where ? 2 : 0; side < (where ? 3 : 2); ++side) {
    auto mask = where ? where_mask(m, *add) : attention_mask(m, add->input(1 - side));
    if (!mask) continue;
    int scores_index = m.producer(add->input(side));
    const onnx::NodeProto* scores = node_at(m, scores_index);
    if (!scores) return std::nullopt;
    if (where) {
      // expand_as(scores) also reads the scores' Shape; that Shape goes with the mask chain.
      for (int reader : m.consumers(add->input(side))) {
        if (reader == add_index) continue;
        const onnx::NodeProto* shape = node_at(m, reader);
        const int expand_index = m.producer(add->input(0));
        if (!is_onnx_op(shape, "Shape") || !m.read_only_by(shape->output(0), expand_index)) return std::nullopt;
      }
      if (m.is_graph_output(add->input(side))) return std::nullopt;
    } else if (!m.read_only_by(add->input(side), add_index)) {
      return std::nullopt;
    }
    std::vector<int> scores_nodes;
    if (!where && is_onnx_op(scores, "Add") && scores->input_size() == 2) {
      // MPNet: Add(Add(scores, position bias), mask); the inner Add goes with the scores.
      const int inner = scores_index;
      for (int j = 0; j < 2 && !out.position_bias; ++j) {
        out.position_bias = relative_position_bias(m, scores->input(1 - j));
        if (!out.position_bias) continue;
        if (!m.read_only_by(scores->input(j), inner)) return std::nullopt;
        scores_index = m.producer(scores->input(j));
        scores_nodes.push_back(inner);
      }
      scores = node_at(m, scores_index);
      if (!out.position_bias || !scores) return std::nullopt;
    }
    int qk_reader = scores_index;
    scores_nodes.push_back(scores_index);
    const onnx::NodeProto* qk = scores;
    if (scores->op_type() == "FusedMatMul" && scores->domain() == kMsDomain) {
      for (const char* a : {"transA", "transB", "transBatchA", "transBatchB"})
        if (int_attribute(*scores, a, 0) != 0) return std::nullopt;
      const auto* alpha = find_attribute(*scores, "alpha");
      out.scale = alpha ? alpha->f() : 1.0f;
    } else if (is_onnx_op(scores, "Div")) {
      const auto d = float_scalar(m, scores->input(1));
      const int mm = m.producer(scores->input(0));
      if (!d || *d == 0.0f || !is_onnx_op(node_at(m, mm), "MatMul") || !m.read_only_by(scores->input(0), scores_index))
        return std::nullopt;
      out.scale = 1.0f / *d;
      qk = node_at(m, mm);
      qk_reader = mm;
      scores_nodes.push_back(mm);
    } else if (is_onnx_op(scores, "MatMul")) {
      out.scale = 1.0f;
    } else {
      return std::nullopt;
    }
    if (qk->input_size() != 2) return std::nullopt;
    // DistilBERT scales Q before the product: MatMul(Div(Q, d), Kᵀ).
    std::string q_tensor = qk->input(0);
    int q_reader = qk_reader;
    if (const int div_index = m.producer(q_tensor); is_onnx_op(node_at(m, div_index), "Div") && out.scale == 1.0f &&
                                                     m.read_only_by(q_tensor, qk_reader)) {
      const onnx::NodeProto* div = node_at(m, div_index);
      const auto d = float_scalar(m, div->input(1));
      if (!d || *d == 0.0f) return std::nullopt;
      out.scale = 1.0f / *d;
      q_tensor = div->input(0);
      q_reader = div_index;
      scores_nodes.push_back(div_index);
    } else if (out.scale == 1.0f && scores == qk) {
      return std::nullopt;  // an unscaled product: not an attention this fusion knows
    }
    auto q = projection(m, q_tensor, q_reader, {0, 2, 1, 3});
    auto k = projection(m, qk->input(1), qk_reader, {0, 2, 3, 1});
    if (!q || !k) return std::nullopt;

    // Context: Reshape(Transpose(MatMul(P, V), 0 2 1 3), [0, 0, N*h]).
    const auto& readers = m.consumers(softmax.output(0));
    if (readers.size() != 1 || m.is_graph_output(softmax.output(0))) return std::nullopt;
    const int ctx_index = readers[0];
    const onnx::NodeProto* ctx = node_at(m, ctx_index);
    if (!is_onnx_op(ctx, "MatMul") || ctx->input(0) != softmax.output(0)) return std::nullopt;
    auto v = projection(m, ctx->input(1), ctx_index, {0, 2, 1, 3});
    if (!v) return std::nullopt;
    const auto& t_readers = m.consumers(ctx->output(0));
    if (t_readers.size() != 1 || m.is_graph_output(ctx->output(0))) return std::nullopt;
    const onnx::NodeProto* transpose = node_at(m, t_readers[0]);
    const auto* perm = transpose && is_onnx_op(transpose, "Transpose") ? find_attribute(*transpose, "perm") : nullptr;
    if (!perm || std::vector<std::int64_t>(perm->ints().begin(), perm->ints().end()) != std::vector<std::int64_t>{0, 2, 1, 3})
      return std::nullopt;
    const auto& r_readers = m.consumers(transpose->output(0));
    if (r_readers.size() != 1 || m.is_graph_output(transpose->output(0))) return std::nullopt;
    const onnx::NodeProto* reshape = node_at(m, r_readers[0]);
    if (!is_onnx_op(reshape, "Reshape") || reshape->input_size() < 2) return std::nullopt;
    const auto shape = reshape_target(m, reshape->input(1));
    const std::int64_t width = q->heads * q->head_size;
    if (!shape || (*shape != std::vector<std::int64_t>{0, 0, width} && *shape != std::vector<std::int64_t>{0, -1, width}))
      return std::nullopt;

    // One input, one head layout, one width for all three.
    if (q->x != k->x || q->x != v->x || k->heads != q->heads || v->heads != q->heads ||
        k->head_size != q->head_size || v->head_size != q->head_size)
      return std::nullopt;
    if (out.position_bias && out.position_bias->heads != q->heads) return std::nullopt;
    const std::int64_t rows = m.constant(q->weight)->dims(0);
    if (m.constant(k->weight)->dims(0) != rows || m.constant(v->weight)->dims(0) != rows) return std::nullopt;

    out.q = std::move(*q);
    out.k = std::move(*k);
    out.v = std::move(*v);
    out.mask = std::move(*mask);
    out.output = reshape->output(0);
    out.anchor = r_readers[0];
    out.nodes = scores_nodes;
    for (const auto* p : {&out.q, &out.k, &out.v}) out.nodes.insert(out.nodes.end(), p->nodes.begin(), p->nodes.end());
    out.nodes.insert(out.nodes.end(), {add_index, s, ctx_index, t_readers[0], r_readers[0]});
    const std::string& base = softmax.name();
    const auto slash = base.rfind('/');
    out.name = slash == std::string::npos ? "Attention" : base.substr(0, slash) + "/Attention";
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::size_t fuse_attention(onnx::ModelProto& model) {
  std::vector<Match> matches;
  std::set<int> taken;
  {
    const GraphView m(model);
    for (int i = 0; i < m.graph().node_size(); ++i) {
      if (!is_onnx_op(&m.graph().node(i), "Softmax")) continue;
      auto match = match_at_softmax(m, i);
      if (!match) continue;
      bool overlaps = false;
      for (int n : match->nodes) overlaps |= taken.count(n) != 0;
      if (overlaps) continue;
      taken.insert(match->nodes.begin(), match->nodes.end());
      matches.push_back(std::move(*match));
    }
  }
  if (matches.empty()) return 0;

  NameAllocator names(model);
  onnx::GraphProto& graph = *model.mutable_graph();
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : graph.initializer()) inits[t.name()] = &t;

  // One int32 copy of each attention mask input, first in the graph.
  std::map<std::string, std::string> mask_int32;
  std::vector<onnx::NodeProto> casts;
  std::unordered_map<int, onnx::NodeProto> fused;
  std::vector<onnx::TensorProto> new_inits;
  for (const Match& match : matches) {
    auto [it, added] = mask_int32.emplace(match.mask.input, std::string());
    if (added) {
      it->second = names.unique(match.mask.input + "_int32");
      onnx::NodeProto cast = make_node("Cast", {match.mask.input}, {it->second}, names.unique(it->second + "_Cast"));
      add_int_attribute(cast, "to", onnx::TensorProto::INT32);
      casts.push_back(std::move(cast));
    }
    // [Wq | Wk | Wv] row by row, [bq | bk | bv].
    const std::vector<float> wq = float_values(*inits.at(match.q.weight)), wk = float_values(*inits.at(match.k.weight)),
                             wv = float_values(*inits.at(match.v.weight));
    const std::int64_t rows = inits.at(match.q.weight)->dims(0);
    const std::int64_t width = match.q.heads * match.q.head_size;
    std::vector<float> w;
    w.reserve(static_cast<std::size_t>(rows * 3 * width));
    for (std::int64_t r = 0; r < rows; ++r)
      for (const auto* part : {&wq, &wk, &wv})
        w.insert(w.end(), part->begin() + r * width, part->begin() + (r + 1) * width);
    std::vector<float> b;
    for (const auto* name : {&match.q.bias, &match.k.bias, &match.v.bias}) {
      const auto part = float_values(*inits.at(*name));
      b.insert(b.end(), part.begin(), part.end());
    }
    const std::string w_name = names.unique(match.name + "_qkv_weight");
    const std::string b_name = names.unique(match.name + "_qkv_bias");
    new_inits.push_back(make_float_tensor(w_name, {rows, 3 * width}, w));
    new_inits.push_back(make_float_tensor(b_name, {3 * width}, b));
    std::vector<std::string> inputs{match.q.x, w_name, b_name, it->second};
    if (match.position_bias) inputs.insert(inputs.end(), {"", match.position_bias->tensor});  // no past; attention_bias
    onnx::NodeProto node = make_node("Attention", inputs, {match.output}, names.unique(match.name), kMsDomain);
    add_int_attribute(node, "num_heads", match.q.heads);
    // Attention's default scale is 1/sqrt(head size); written only when the graph's differs
    // (QAttention, which the quantize pass makes of it, copies the attributes).
    const double default_scale = 1.0 / std::sqrt(static_cast<double>(match.q.head_size));
    if (std::fabs(match.scale - default_scale) > 1e-6 * default_scale) {
      add_float_attribute(node, "scale", match.scale);
    }
    add_float_attribute(node, "mask_filter_value", match.mask.filter);
    fused.emplace(match.anchor, std::move(node));
  }

  // The new node list: casts first, each fused node in its final Reshape's place.
  std::set<std::string> dropped_inputs;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& c : casts) *nodes.Add() = std::move(c);
  for (int i = 0; i < graph.node_size(); ++i) {
    auto it = fused.find(i);
    if (it != fused.end()) {
      *nodes.Add() = std::move(it->second);
    } else if (!taken.count(i)) {
      *nodes.Add() = graph.node(i);
    }
    if (taken.count(i))
      for (const auto& in : graph.node(i).input()) dropped_inputs.insert(in);
  }
  // What fed removed nodes and is read by nothing any more (the mask chains and the position
  // bias's Expand, shared by all layers), then initializers only removed nodes read.
  std::set<std::string> read;
  const auto collect_reads = [&] {
    read.clear();
    for (const auto& n : nodes)
      for (const auto& in : n.input()) read.insert(in);
    for (const auto& out : graph.output()) read.insert(out.name());
  };
  for (bool changed = true; changed;) {
    changed = false;
    collect_reads();
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (auto& n : nodes) {
      bool fed_removed = false, unread = n.output_size() > 0;
      for (const auto& out : n.output()) {
        fed_removed = fed_removed || dropped_inputs.count(out);
        unread = unread && !read.count(out);
      }
      if (fed_removed && unread) {
        for (const auto& in : n.input()) dropped_inputs.insert(in);
        changed = true;
        continue;
      }
      *kept.Add() = std::move(n);
    }
    nodes.Swap(&kept);
  }
  collect_reads();
  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  for (auto& t : *graph.mutable_initializer())
    if (read.count(t.name()) || !dropped_inputs.count(t.name())) *initializers.Add() = std::move(t);
  for (auto& t : new_inits) *initializers.Add() = std::move(t);
  graph.mutable_initializer()->Swap(&initializers);
  graph.mutable_node()->Swap(&nodes);

  import_ms_domain_if_used(model);
  return matches.size();
}

}  // namespace docquant::graph
