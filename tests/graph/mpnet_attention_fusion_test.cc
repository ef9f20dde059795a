// graph::fuse_attention on MPNet's self-attention: a tiny two-layer MPNet encoder built in code
// the way tools/tiny_models.py sizes its models (hidden 64, 4 heads, weights at a standard
// deviation of 0.125), with the relative position bias computed once from bucketed token
// distances and added to both layers' scores. The fused graph holds one Attention per layer,
// each reading the one shared bias as its attention_bias, and computes what the unfused graph
// does (ONNX Runtime, padded rows masked); graphs that differ from the pattern are left alone.
// The BERT and DistilBERT forms are tested in tests/quant/attention_fusion_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "attention_fusion.h"
#include "graph_view.h"
#include "test_support.h"

namespace docquant::graph {
namespace {

using testing::Feed;
using testing::GraphBuilder;

constexpr std::int64_t kHeads = 4, kHeadSize = 16, kHidden = kHeads * kHeadSize, kLayers = 2;
// Relative distances clipped to [-kMaxDistance, kMaxDistance] index 2 * kMaxDistance + 1 buckets (a
// simpler bucketing than MPNet's logarithmic one; the fusion only sees the Gather of the table).
constexpr std::int64_t kMaxDistance = 3, kBuckets = 2 * kMaxDistance + 1;
// Uniform on ±a has standard deviation a / sqrt(3): 0.2165 gives tools/tiny_models.py's 0.125.
constexpr float kWeightRange = 0.2165f;
// Position biases of a few units, as trained MPNet's table holds: large enough that leaving them
// out moves the outputs by far more than the tolerance (checked in BiasMattersToTheOutputs).
constexpr float kBiasRange = 3.0f;
// Outputs of magnitude up to ~2. ONNX Runtime 1.29's Attention kernel computes them bit for bit
// as the unfused nodes do (measured: max |difference| 0); the tolerance leaves room for a kernel
// that sums scores, bias and mask in another order (a few float ulps per layer).
constexpr float kOutputTolerance = 1e-5f;

struct MpnetOptions {
  std::int64_t table_heads = kHeads;  // columns of the bias table (≠ kHeads: not MPNet's bias)
  bool inner_sum_read_twice = false;  // the scores + bias sum has a second reader
  bool zero_table = false;            // a bias of zeros (the control)
};

void set_perm(onnx::NodeProto& node, const std::vector<std::int64_t>& perm) {
  auto* a = node.add_attribute();
  a->set_name("perm");
  a->set_type(onnx::AttributeProto::INTS);
  for (auto v : perm) a->add_ints(v);
}

// x [B, S, 64], attention_mask [B, S] int64 -> y [B, S, 64]: two attention layers (layer l reads
// layer l-1's output). The position bias, shared by both layers:
//   r = Range(0, S, 1); buckets = Clip(Sub(Unsqueeze(r, 0), Unsqueeze(r, 1)), -3, 3) + 3
//   bias = Expand(Unsqueeze(Transpose(Gather(table [7, 4], buckets), perm 2 0 1), 0), [B, 1, 1, 1])
// Each layer as MPNet's export writes it: Q, K, V projections, Div(MatMul(Q, Kᵀ), sqrt(16)),
// Add(Add(scores, bias), (1 - mask) * min float), Softmax, context.
GraphBuilder mpnet_graph(const MpnetOptions& o = {}) {
  GraphBuilder g(14);
  g.input("x", onnx::TensorProto::FLOAT, {-1, -1, kHidden});
  g.input("attention_mask", onnx::TensorProto::INT64, {-1, -1});
  g.int64_initializer("zero", {0});
  g.int64_initializer("one_i", {1});
  g.int64_initializer("max_distance", {kMaxDistance});
  g.int64_initializer("min_distance", {-kMaxDistance});
  g.int64_initializer("ones3", {1, 1, 1});
  g.int64_initializer("heads_shape", {0, 0, kHeads, kHeadSize});
  g.int64_initializer("merged_shape", {0, 0, kHidden});
  g.int64_initializer("axis1", {1});
  g.int64_initializer("axis2", {2});
  g.initializer("one", {}, {1.0f});
  g.initializer("filter", {}, {-3.4028234663852886e38f});
  g.initializer("sqrt_d", {}, {4.0f});
  std::vector<float> table = testing::uniform(kBuckets * o.table_heads, -kBiasRange, kBiasRange, 7);
  if (o.zero_table) std::fill(table.begin(), table.end(), 0.0f);
  g.initializer("relative_attention_bias", {kBuckets, o.table_heads}, table);

  // The bias, once.
  g.node("Shape", {"x"}, {"x_shape"}, "/encoder/Shape");
  add_int_attribute(g.node("Gather", {"x_shape", "zero"}, {"batch"}, "/encoder/Gather"), "axis", 0);
  add_int_attribute(g.node("Gather", {"x_shape", "one_i"}, {"seq"}, "/encoder/Gather_1"), "axis", 0);
  g.node("Squeeze", {"zero"}, {"start"}, "/encoder/Squeeze");  // Range takes scalars
  g.node("Squeeze", {"one_i"}, {"step"}, "/encoder/Squeeze_1");
  g.node("Squeeze", {"seq"}, {"seq_scalar"}, "/encoder/Squeeze_2");
  g.node("Range", {"start", "seq_scalar", "step"}, {"positions"}, "/encoder/Range");
  g.node("Unsqueeze", {"positions", "zero"}, {"memory"}, "/encoder/Unsqueeze");
  g.node("Unsqueeze", {"positions", "one_i"}, {"context"}, "/encoder/Unsqueeze_1");
  g.node("Sub", {"memory", "context"}, {"distance"}, "/encoder/Sub");
  g.node("Max", {"distance", "min_distance"}, {"distance_low"}, "/encoder/Max");
  g.node("Min", {"distance_low", "max_distance"}, {"distance_clipped"}, "/encoder/Min");
  g.node("Add", {"distance_clipped", "max_distance"}, {"buckets"}, "/encoder/Add");
  add_int_attribute(g.node("Gather", {"relative_attention_bias", "buckets"}, {"bias_ssh"},
                           "/encoder/relative_attention_bias/Gather"),
                    "axis", 0);
  set_perm(g.node("Transpose", {"bias_ssh"}, {"bias_hss"}, "/encoder/Transpose"), {2, 0, 1});
  g.node("Unsqueeze", {"bias_hss", "zero"}, {"bias_1hss"}, "/encoder/Unsqueeze_2");
  add_int_attribute(g.node("Concat", {"batch", "ones3"}, {"expand_shape"}, "/encoder/Concat"), "axis", 0);
  g.node("Expand", {"bias_1hss", "expand_shape"}, {"position_bias"}, "/encoder/Expand");

  // The additive mask, once.
  g.node("Unsqueeze", {"attention_mask", "axis1"}, {"m1"}, "/Unsqueeze");
  g.node("Unsqueeze", {"m1", "axis2"}, {"m2"}, "/Unsqueeze_1");
  add_int_attribute(g.node("Cast", {"m2"}, {"m3"}, "/Cast"), "to", onnx::TensorProto::FLOAT);
  g.node("Sub", {"one", "m3"}, {"m4"}, "/Sub");
  g.node("Mul", {"m4", "filter"}, {"mask_add"}, "/Mul");

  std::string x = "x";
  std::uint32_t seed = 10;
  for (std::int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "/encoder/layer." + std::to_string(l) + "/attention/attn/";
    for (const char* part : {"q", "k", "v"}) {
      const std::string s = p + part;
      g.initializer(s + ".weight", {kHidden, kHidden},
                    testing::uniform(kHidden * kHidden, -kWeightRange, kWeightRange, seed++));
      g.initializer(s + ".bias", {kHidden}, testing::uniform(kHidden, -kWeightRange, kWeightRange, seed++));
      g.node("MatMul", {x, s + ".weight"}, {s + "_mm"}, s + "/MatMul");
      g.node("Add", {s + ".bias", s + "_mm"}, {s + "_add"}, s + "/Add");
      g.node("Reshape", {s + "_add", "heads_shape"}, {s + "_heads"}, s + "/Reshape");
      set_perm(g.node("Transpose", {s + "_heads"}, {s + "_t"}, s + "/Transpose"),
               std::string(part) == "k" ? std::vector<std::int64_t>{0, 2, 3, 1} : std::vector<std::int64_t>{0, 2, 1, 3});
    }
    g.node("MatMul", {p + "q_t", p + "k_t"}, {p + "qk"}, p + "MatMul");
    g.node("Div", {p + "qk", "sqrt_d"}, {p + "scores"}, p + "Div");
    g.node("Add", {p + "scores", "position_bias"}, {p + "biased"}, p + "Add");
    g.node("Add", {p + "biased", "mask_add"}, {p + "masked"}, p + "Add_1");
    add_int_attribute(g.node("Softmax", {p + "masked"}, {p + "probs"}, p + "Softmax"), "axis", -1);
    g.node("MatMul", {p + "probs", p + "v_t"}, {p + "ctx"}, p + "MatMul_1");
    set_perm(g.node("Transpose", {p + "ctx"}, {p + "ctx_t"}, p + "Transpose_3"), {0, 2, 1, 3});
    x = l + 1 == kLayers ? "y" : p + "out";
    g.node("Reshape", {p + "ctx_t", "merged_shape"}, {x}, p + "Reshape_3");
    if (o.inner_sum_read_twice && l == 0) {
      g.node("Relu", {p + "biased"}, {"biased_relu"}, "reads_the_biased_scores");
    }
  }
  g.output("y");
  if (o.inner_sum_read_twice) g.output("biased_relu");
  return g;
}


std::map<std::string, Feed> feeds() {
  Feed x, mask;
  x.shape = {2, 6, kHidden};
  x.floats = testing::uniform(2 * 6 * kHidden, -1.7f, 1.7f, 3);  // a LayerNorm's output: std ~1
  mask.shape = {2, 6};
  mask.ints = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};  // the second row has two padded positions
  return {{"x", x}, {"attention_mask", mask}};
}

float max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0.0f;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

std::vector<float> run_exactly(const onnx::ModelProto& m) {
  testing::RunOptions exact;
  exact.optimize = false;
  return testing::run_model(m, feeds(), exact);
}

TEST(MpnetAttentionFusion, FusesEveryLayerWithTheSharedPositionBias) {
  const onnx::ModelProto original = mpnet_graph().model();
  onnx::ModelProto fused = original;
  ASSERT_EQ(fuse_attention(fused), static_cast<std::size_t>(kLayers));
  const auto ops = testing::count_ops(fused);
  EXPECT_EQ(ops.at("Attention"), kLayers);
  EXPECT_EQ(ops.at("Cast"), 1) << "one int32 mask; the float mask chain is gone";
  for (const char* gone : {"MatMul", "Softmax", "Div", "Expand", "Concat", "Mul"}) EXPECT_EQ(ops.count(gone), 0u) << gone;
  EXPECT_EQ(ops.at("Transpose"), 1) << "the bias table's, computed once";
  std::set<std::string> biases;
  for (const auto& n : fused.graph().node()) {
    if (n.op_type() != "Attention") continue;
    ASSERT_EQ(n.input_size(), 6) << n.name();
    EXPECT_EQ(n.input(4), "") << "no past";
    biases.insert(n.input(5));
    for (const auto& a : n.attribute()) {
      if (a.name() == "num_heads") {
        EXPECT_EQ(a.i(), kHeads);
      } else if (a.name() == "mask_filter_value") {
        EXPECT_FLOAT_EQ(a.f(), -3.4028234663852886e38f);
      }
      EXPECT_NE(a.name(), "scale") << "1/sqrt(16) is Attention's default";
    }
  }
  EXPECT_EQ(biases, std::set<std::string>{"bias_1hss"}) << "every layer reads the [1, heads, S, S] bias before its Expand";
  EXPECT_LE(max_difference(run_exactly(fused), run_exactly(original)), kOutputTolerance);
  EXPECT_EQ(fuse_attention(fused), 0u);
}

// What docquant's optimize_graph fuses: the graph after ONNX Runtime's extended optimisations
// (FusedMatMul with alpha for Div(MatMul(Q, Kᵀ), sqrt(d))).
TEST(MpnetAttentionFusion, FusesTheGraphOnnxRuntimeOptimised) {
  const onnx::ModelProto original = mpnet_graph().model();
  onnx::ModelProto fused = testing::ort_optimized(original);
  ASSERT_EQ(testing::count_ops(fused)["FusedMatMul"], kLayers) << "the form optimize_graph sees";
  ASSERT_EQ(fuse_attention(fused), static_cast<std::size_t>(kLayers));
  EXPECT_EQ(testing::count_ops(fused).count("Softmax"), 0u);
  EXPECT_LE(max_difference(run_exactly(fused), run_exactly(original)), kOutputTolerance);
}

// The comparisons above can fail: without the position bias the outputs move by far more than
// the tolerance.
TEST(MpnetAttentionFusion, TheBiasMattersToTheOutputs) {
  onnx::ModelProto without = mpnet_graph({.zero_table = true}).model();
  ASSERT_EQ(fuse_attention(without), static_cast<std::size_t>(kLayers));
  EXPECT_GT(max_difference(run_exactly(without), run_exactly(mpnet_graph().model())), 1000 * kOutputTolerance);
}

TEST(MpnetAttentionFusion, LeavesABiasTableWithOtherThanOneColumnPerHead) {
  onnx::ModelProto m = mpnet_graph({.table_heads = 2}).model();
  EXPECT_EQ(fuse_attention(m), 0u);
}

TEST(MpnetAttentionFusion, LeavesALayerWhoseBiasedScoresHaveAnotherReader) {
  const onnx::ModelProto original = mpnet_graph({.inner_sum_read_twice = true}).model();
  onnx::ModelProto fused = original;
  EXPECT_EQ(fuse_attention(fused), 1u) << "layer 1 only";
  const auto ops = testing::count_ops(fused);
  EXPECT_EQ(ops.at("Softmax"), 1);
  EXPECT_EQ(ops.at("Expand"), 1) << "layer 0 still adds the expanded bias";
  EXPECT_LE(max_difference(run_exactly(fused), run_exactly(original)), kOutputTolerance);
}

}  // namespace
}  // namespace docquant::graph
