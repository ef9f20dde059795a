// The one-session sensitivity probe graph: built on a tiny graph, run in ONNX Runtime,
// its per-channel sums checked against the same sums computed here from the fp32 output
// and formulas.h's emulation of the integer MatMul.
#include "error_probe.h"

#include <gtest/gtest.h>

#include "docquant/error.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

constexpr std::int64_t kRows = 6, kK = 16, kN = 8;
// Sums of squares over 6 rows, in float inside ORT against double here.
constexpr double kSumRelTol = 1e-4;
// The twin's error against the emulation: both round the same values, but ORT's
// kernel and the emulation may differ in the last float bit of a product's scale, so
// the squared error sums agree to a few percent (an error in the recipe, e.g. a wrong
// scale or a twin left in fp32, is off by orders of magnitude).
constexpr double kErrorRelTol = 0.05;

// x [rows, 16] -> MatMul(w1) -> h [rows, 8] -> MatMul(w2) -> y [rows, 8]
GraphBuilder two_matmuls() {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, kK}).output("y");
  b.initializer("w1", {kK, kN}, testing::uniform(static_cast<std::size_t>(kK * kN), -0.5f, 0.5f, 3u));
  b.initializer("w2", {kN, kN}, testing::uniform(static_cast<std::size_t>(kN * kN), -0.5f, 0.5f, 4u));
  b.node("MatMul", {"x", "w1"}, {"h"}, "first");
  b.node("MatMul", {"h", "w2"}, {"y"}, "second");
  return b;
}

TEST(ErrorProbe, PerChannelSumsMatchTheEmulatedIntegerMatMul) {
  const auto model = two_matmuls().model();
  NodeConfig config;
  config.granularity = WeightGranularity::per_channel;
  const ProbeModel probe = build_error_probe(model, {"first", "second"}, config, QuantPlan{});
  ASSERT_EQ(probe.outputs.size(), 2u);
  EXPECT_EQ(probe.outputs[0].node, "first");

  // The original nodes stay fp32; each has one quantized twin.
  const auto ops = testing::count_ops(probe.model);
  EXPECT_EQ(ops.at("MatMul"), 2);
  EXPECT_EQ(ops.at("DynamicQuantizeMatMul"), 2);

  const std::vector<float> x = testing::uniform(static_cast<std::size_t>(kRows * kK), -2.0f, 2.0f, 5u);
  const std::map<std::string, Feed> feeds{{"x", Feed{{kRows, kK}, x, {}}}};
  const auto out = testing::run_model_tensors(
      probe.model, feeds, {probe.outputs[0].squared_error, probe.outputs[0].squared_norm, "h"});

  const std::vector<float> w = testing::uniform(static_cast<std::size_t>(kK * kN), -0.5f, 0.5f, 3u);  // w1
  const auto reference = testing::reference_matmul(x, kRows, kK, w, kN, {});
  const auto emulated = testing::emulate_integer_matmul(x, kRows, kK, w, kN, {}, /*per_channel=*/true, false);
  const auto& error = out.at(probe.outputs[0].squared_error);
  const auto& norm = out.at(probe.outputs[0].squared_norm);
  ASSERT_EQ(error.size(), static_cast<std::size_t>(kN));
  ASSERT_EQ(norm.size(), static_cast<std::size_t>(kN));
  double total_error = 0, expected_error = 0;
  for (std::int64_t c = 0; c < kN; ++c) {
    double n = 0, e = 0;
    for (std::int64_t r = 0; r < kRows; ++r) {
      const double y = reference[static_cast<std::size_t>(r * kN + c)];
      const double d = emulated.y[static_cast<std::size_t>(r * kN + c)] - y;
      n += y * y;
      e += d * d;
    }
    EXPECT_NEAR(norm[static_cast<std::size_t>(c)], n, kSumRelTol * n) << "channel " << c;
    total_error += error[static_cast<std::size_t>(c)];
    expected_error += e;
  }
  EXPECT_GT(expected_error, 0.0);
  EXPECT_NEAR(total_error, expected_error, kErrorRelTol * expected_error);
}

// ONNX Runtime walks back from the graph's leaves, highest index first: the first node's
// sums must come last, so that they run right after that node and its twin (and each
// original output can be freed) instead of after every original node (error_probe.cc).
TEST(ErrorProbe, TheFirstNodesSumsComeLastInTheGraph) {
  const ProbeModel probe = build_error_probe(two_matmuls().model(), {"first", "second"}, NodeConfig{}, QuantPlan{});
  ASSERT_EQ(probe.outputs.size(), 2u);
  EXPECT_EQ(probe.outputs[0].node, "first");  // outputs stay in the order asked
  EXPECT_EQ(probe.outputs[1].node, "second");
  const auto producer = [&](const std::string& tensor) {
    const auto& nodes = probe.model.graph().node();
    for (int i = 0; i < nodes.size(); ++i) {
      for (const auto& o : nodes[i].output()) {
        if (o == tensor) return i;
      }
    }
    return -1;
  };
  EXPECT_GT(producer(probe.outputs[0].squared_error), producer(probe.outputs[1].squared_norm));
  EXPECT_GT(producer(probe.outputs[0].squared_norm), producer(probe.outputs[1].squared_norm));
}

TEST(ErrorProbe, SkipsNodesThePlanLeavesFp32AndRejectsUnknownNodes) {
  GraphBuilder b;
  b.input("ids", onnx::TensorProto::INT64, {-1}).output("e");
  b.initializer("table", {10, 4}, testing::uniform(40, -1.0f, 1.0f, 7u));
  b.node("Gather", {"table", "ids"}, {"e"}, "embed");
  QuantPlan plan;
  plan.quantize_embeddings = false;
  EXPECT_TRUE(build_error_probe(b.model(), {"embed"}, NodeConfig{}, plan).outputs.empty());
  plan.quantize_embeddings = true;
  EXPECT_EQ(build_error_probe(b.model(), {"embed"}, NodeConfig{}, plan).outputs.size(), 1u);
  EXPECT_THROW(build_error_probe(b.model(), {"missing"}, NodeConfig{}, plan), UsageError);
}

}  // namespace
}  // namespace docquant::quant
