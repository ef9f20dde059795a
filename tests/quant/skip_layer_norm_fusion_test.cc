// graph::fuse_skip_layer_norm on small graphs: what is fused, what is left alone, and
// that ONNX Runtime computes the same numbers from the fused graph.
#include <gtest/gtest.h>

#include <cmath>

#include "graph_context.h"
#include "skip_layer_norm_fusion.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;
using graph::fuse_skip_layer_norm;

constexpr std::int64_t kHidden = 16;

// x [2, 3, 16] -> LN0 -> h;  y = LN1(Add(MatMul(h, W) + b, h))  (a post-LN residual block).
// `bias_first` writes the bias Add as Add(b, MatMul) instead of Add(MatMul, b).
GraphBuilder residual_block(bool bias_first = false, bool extra_consumer = false) {
  GraphBuilder g(17);
  g.input("x", onnx::TensorProto::FLOAT, {-1, -1, kHidden});
  g.initializer("g0", {kHidden}, testing::uniform(kHidden, 0.5f, 1.5f, 1));
  g.initializer("b0", {kHidden}, testing::uniform(kHidden, -0.1f, 0.1f, 2));
  g.initializer("W", {kHidden, kHidden}, testing::uniform(kHidden * kHidden, -0.3f, 0.3f, 3));
  g.initializer("b", {kHidden}, testing::uniform(kHidden, -0.2f, 0.2f, 4));
  g.initializer("g1", {kHidden}, testing::uniform(kHidden, 0.5f, 1.5f, 5));
  g.initializer("b1", {kHidden}, testing::uniform(kHidden, -0.1f, 0.1f, 6));
  add_float_attribute(g.node("LayerNormalization", {"x", "g0", "b0"}, {"h"}, "ln0"), "epsilon", 1e-12f);
  g.node("MatMul", {"h", "W"}, {"m"}, "dense");
  g.node("Add", bias_first ? std::vector<std::string>{"b", "m"} : std::vector<std::string>{"m", "b"}, {"mb"},
         "dense_bias");
  g.node("Add", {"mb", "h"}, {"r"}, "residual");
  add_float_attribute(g.node("LayerNormalization", {"r", "g1", "b1"}, {"y"}, "ln1"), "epsilon", 1e-12f);
  g.output("y");
  if (extra_consumer) {
    g.node("Relu", {"r"}, {"r_relu"}, "also_reads_r");
    g.output("r_relu");
  }
  return g;
}

std::map<std::string, Feed> feeds() {
  Feed x;
  x.shape = {2, 3, kHidden};
  x.floats = testing::uniform(2 * 3 * kHidden, -2.0f, 2.0f, 7);
  return {{"x", x}};
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

TEST(SkipLayerNormFusion, FusesResidualAddAndBias) {
  for (bool bias_first : {false, true}) {
    const onnx::ModelProto original = residual_block(bias_first).model();
    onnx::ModelProto fused = original;
    ASSERT_EQ(fuse_skip_layer_norm(fused), 1u);
    const auto ops = testing::count_ops(fused);
    EXPECT_EQ(ops.at("SkipLayerNormalization"), 1);
    EXPECT_EQ(ops.count("Add"), 0u) << "the residual Add and the bias Add are both inside the fused node";
    EXPECT_EQ(ops.at("LayerNormalization"), 1) << "ln0 reads a graph input, not a residual sum";
    for (const auto& n : fused.graph().node()) {
      if (n.op_type() != "SkipLayerNormalization") continue;
      EXPECT_EQ(n.name(), "ln1");
      EXPECT_EQ(n.domain(), "com.microsoft");
      ASSERT_EQ(n.input_size(), 5);
      EXPECT_EQ(n.input(0), "m");
      EXPECT_EQ(n.input(1), "h");
      EXPECT_EQ(n.input(4), "b");
      ASSERT_EQ(n.attribute_size(), 1);
      EXPECT_FLOAT_EQ(n.attribute(0).f(), 1e-12f);
    }
    testing::RunOptions exact;
    exact.optimize = false;
    EXPECT_LE(max_diff(testing::run_model(original, feeds(), exact), testing::run_model(fused, feeds(), exact)), 1e-5f);
    EXPECT_EQ(fuse_skip_layer_norm(fused), 0u) << "a second pass finds nothing left";
  }
}

TEST(SkipLayerNormFusion, LeavesASumThatIsReadElsewhere) {
  onnx::ModelProto m = residual_block(false, /*extra_consumer=*/true).model();
  EXPECT_EQ(fuse_skip_layer_norm(m), 0u);
  EXPECT_EQ(testing::count_ops(m).count("SkipLayerNormalization"), 0u);
}

TEST(SkipLayerNormFusion, LeavesAnAddWithoutAResidualStream) {
  // LN(Add(x, x2)) with both operands graph inputs: their shapes are unknown, so no fusion.
  GraphBuilder g(17);
  g.input("x", onnx::TensorProto::FLOAT, {-1, -1, kHidden});
  g.input("x2", onnx::TensorProto::FLOAT, {-1, -1, kHidden});
  g.initializer("g1", {kHidden}, testing::uniform(kHidden, 0.5f, 1.5f, 5));
  g.node("Add", {"x", "x2"}, {"r"}, "sum");
  g.node("LayerNormalization", {"r", "g1"}, {"y"}, "ln");
  g.output("y");
  onnx::ModelProto m = g.model();
  EXPECT_EQ(fuse_skip_layer_norm(m), 0u);
}

TEST(SkipLayerNormFusion, LeavesANormalisationOverAnotherAxis) {
  onnx::ModelProto m = residual_block().model();
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == "ln1") add_int_attribute(n, "axis", 1);
  EXPECT_EQ(fuse_skip_layer_norm(m), 0u);
}

}  // namespace
}  // namespace docquant::quant
