// graph::fuse_attention on a small BERT-style self-attention built in code: the fused
// graph computes what the unfused one does (ONNX Runtime, padded rows masked), and
// graphs that differ from the pattern are left alone.
#include <gtest/gtest.h>

#include <cmath>

#include "attention_fusion.h"
#include "graph_context.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;
using graph::fuse_attention;

constexpr std::int64_t kHeads = 2, kHeadSize = 4, kHidden = kHeads * kHeadSize;

// x [B, S, 8], attention_mask [B, S] int64 -> y [B, S, 8]: Q, K, V projections, scaled
// scores (Div by sqrt(4)), additive mask (1 - mask) * -10000, softmax, context.
// `q_read_twice` gives the Q projection a second reader (no fusion then).
GraphBuilder attention_graph(bool q_read_twice = false) {
  GraphBuilder g(13);
  g.input("x", onnx::TensorProto::FLOAT, {-1, -1, kHidden});
  g.input("attention_mask", onnx::TensorProto::INT64, {-1, -1});
  std::uint32_t seed = 10;
  for (const char* p : {"q", "k", "v"}) {
    g.initializer(std::string("W") + p, {kHidden, kHidden}, testing::uniform(kHidden * kHidden, -0.5f, 0.5f, seed++));
    g.initializer(std::string("b") + p, {kHidden}, testing::uniform(kHidden, -0.2f, 0.2f, seed++));
  }
  g.int64_initializer("heads_shape", {0, 0, kHeads, kHeadSize});
  g.int64_initializer("merged_shape", {0, 0, kHidden});
  g.int64_initializer("axis1", {1});
  g.int64_initializer("axis2", {2});
  g.initializer("one", {}, {1.0f});
  g.initializer("filter", {}, {-10000.0f});
  g.initializer("sqrt_d", {}, {2.0f});
  for (const char* p : {"q", "k", "v"}) {
    const std::string s(p);
    g.node("MatMul", {"x", "W" + s}, {s + "_mm"}, s + "/MatMul");
    g.node("Add", {"b" + s, s + "_mm"}, {s + "_add"}, s + "/Add");
    g.node("Reshape", {s + "_add", "heads_shape"}, {s + "_heads"}, s + "/Reshape");
    auto& t = g.node("Transpose", {s + "_heads"}, {s + "_t"}, s + "/Transpose");
    auto* perm = t.add_attribute();
    perm->set_name("perm");
    perm->set_type(onnx::AttributeProto::INTS);
    for (std::int64_t v : s == "k" ? std::vector<std::int64_t>{0, 2, 3, 1} : std::vector<std::int64_t>{0, 2, 1, 3})
      perm->add_ints(v);
  }
  g.node("Unsqueeze", {"attention_mask", "axis1"}, {"m1"}, "/Unsqueeze");
  g.node("Unsqueeze", {"m1", "axis2"}, {"m2"}, "/Unsqueeze_1");
  add_int_attribute(g.node("Cast", {"m2"}, {"m3"}, "/Cast"), "to", onnx::TensorProto::FLOAT);
  g.node("Sub", {"one", "m3"}, {"m4"}, "/Sub");
  g.node("Mul", {"m4", "filter"}, {"mask_add"}, "/Mul");
  g.node("MatMul", {"q_t", "k_t"}, {"qk"}, "/layer/self/MatMul");
  g.node("Div", {"qk", "sqrt_d"}, {"scores"}, "/layer/self/Div");
  g.node("Add", {"scores", "mask_add"}, {"masked"}, "/layer/self/Add");
  add_int_attribute(g.node("Softmax", {"masked"}, {"probs"}, "/layer/self/Softmax"), "axis", -1);
  g.node("MatMul", {"probs", "v_t"}, {"ctx"}, "/layer/self/MatMul_1");
  auto& t = g.node("Transpose", {"ctx"}, {"ctx_t"}, "/layer/self/Transpose_3");
  auto* perm = t.add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  for (std::int64_t v : {0, 2, 1, 3}) perm->add_ints(v);
  g.node("Reshape", {"ctx_t", "merged_shape"}, {"y"}, "/layer/self/Reshape_3");
  g.output("y");
  if (q_read_twice) {
    g.node("Relu", {"q_mm"}, {"q_relu"}, "reads_q");
    g.output("q_relu");
  }
  return g;
}

std::map<std::string, Feed> feeds() {
  Feed x, mask;
  x.shape = {2, 5, kHidden};
  x.floats = testing::uniform(2 * 5 * kHidden, -1.5f, 1.5f, 3);
  mask.shape = {2, 5};
  mask.ints = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};  // the second row has two padded positions
  return {{"x", x}, {"attention_mask", mask}};
}

TEST(AttentionFusion, FusedGraphComputesTheSame) {
  const onnx::ModelProto original = attention_graph().model();
  onnx::ModelProto fused = original;
  ASSERT_EQ(fuse_attention(fused), 1u);
  const auto ops = testing::count_ops(fused);
  EXPECT_EQ(ops.at("Attention"), 1);
  EXPECT_EQ(ops.at("Cast"), 1) << "one int32 mask; the float mask chain is gone";
  for (const char* gone : {"MatMul", "Softmax", "Transpose", "Reshape", "Unsqueeze", "Sub", "Mul", "Div", "Add"})
    EXPECT_EQ(ops.count(gone), 0u) << gone;
  std::set<std::string> inits;
  for (const auto& t : fused.graph().initializer()) inits.insert(t.name());
  for (const char* gone : {"Wq", "Wk", "Wv", "bq", "bk", "bv", "heads_shape", "filter"})
    EXPECT_EQ(inits.count(gone), 0u) << gone << " is read by nothing any more";
  for (const auto& n : fused.graph().node()) {
    if (n.op_type() != "Attention") continue;
    EXPECT_EQ(n.name(), "/layer/self/Attention");
    EXPECT_EQ(n.output(0), "y");
    for (const auto& a : n.attribute()) {
      if (a.name() == "num_heads") {
        EXPECT_EQ(a.i(), kHeads);
      } else if (a.name() == "mask_filter_value") {
        EXPECT_FLOAT_EQ(a.f(), -10000.0f);
      }
      EXPECT_NE(a.name(), "scale") << "1/sqrt(head size) is Attention's default";
    }
  }
  testing::RunOptions exact;
  exact.optimize = false;
  const auto before = testing::run_model(original, feeds(), exact);
  const auto after = testing::run_model(fused, feeds(), exact);
  ASSERT_EQ(after.size(), before.size());
  float worst = 0.0f;
  for (std::size_t i = 0; i < before.size(); ++i) worst = std::max(worst, std::fabs(after[i] - before[i]));
  EXPECT_LE(worst, 1e-5f);
  EXPECT_EQ(fuse_attention(fused), 0u);
}

TEST(AttentionFusion, LeavesAProjectionWithAnotherReader) {
  onnx::ModelProto m = attention_graph(/*q_read_twice=*/true).model();
  EXPECT_EQ(fuse_attention(m), 0u);
  EXPECT_EQ(testing::count_ops(m).count("Attention"), 0u);
}

TEST(AttentionFusion, LeavesAGraphWithoutAMaskInput) {
  // The mask chain must start at a graph input: here it starts at a computed tensor.
  onnx::ModelProto m = attention_graph().model();
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == "/Unsqueeze") n.set_input(0, "x_mask");
  auto* relu = m.mutable_graph()->add_node();
  relu->set_op_type("Identity");
  relu->set_name("computed_mask");
  relu->add_input("attention_mask");
  relu->add_output("x_mask");
  EXPECT_EQ(fuse_attention(m), 0u);
}

}  // namespace
}  // namespace docquant::quant
