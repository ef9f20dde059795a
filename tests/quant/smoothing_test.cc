// SmoothQuant for static activations (smoothing.h): the fp32 rewrite keeps the model's
// outputs, inserts one Mul per smoothed tensor shared by its GEMM readers, leaves other readers
// on the original tensor, and gives the ranges the static quantizers need.
#include "smoothing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

// The smoothed fp32 model computes x/s · diag(s)W: the same product up to float rounding.
constexpr double kFp32RelTolerance = 1e-5;

// x [-1, -1, 8] (channel 3 an outlier) read by two MatMuls and by a residual Add.
GraphBuilder shared_input_model() {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, 8}).output("y");
  b.initializer("Wq", {8, 8}, testing::uniform(64, -1.0f, 1.0f, 1u));
  b.initializer("Wk", {8, 8}, testing::uniform(64, -0.5f, 0.5f, 2u));
  b.node("MatMul", {"x", "Wq"}, {"q"}, "query");
  b.node("MatMul", {"x", "Wk"}, {"k"}, "key");
  b.node("Add", {"q", "k"}, {"qk"}, "sum");
  b.node("Add", {"qk", "x"}, {"y"}, "residual");
  return b;
}

std::vector<float> outlier_input(std::int64_t rows) {
  auto x = testing::uniform(static_cast<std::size_t>(rows * 8), -1.0f, 1.0f, 7u);
  for (std::int64_t r = 0; r < rows; ++r) x[static_cast<std::size_t>(r * 8 + 3)] *= 30.0f;
  return x;
}

std::map<std::string, ChannelRanges> ranges_of(const std::vector<float>& x, std::int64_t rows) {
  ChannelRanges c{std::vector<float>(8, 0.0f), std::vector<float>(8, 0.0f)};
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::size_t ch = 0; ch < 8; ++ch) {
      const float v = x[static_cast<std::size_t>(r) * 8 + ch];
      c.min[ch] = r == 0 ? v : std::min(c.min[ch], v);
      c.max[ch] = r == 0 ? v : std::max(c.max[ch], v);
    }
  }
  return {{"x", c}};
}

TEST(Smoothing, KeepsTheFp32OutputsAndSharesOneMul) {
  const GraphBuilder b = shared_input_model();
  const auto x = outlier_input(6);
  onnx::ModelProto smoothed = b.model();
  const SmoothingResult r = smooth_activations(smoothed, ranges_of(x, 6), 0.5f);
  EXPECT_EQ(r.tensors_smoothed, 1);
  const auto ops = testing::count_ops(smoothed);
  EXPECT_EQ(ops.at("Mul"), 1) << "one Mul for both readers";
  for (const auto& n : smoothed.graph().node()) {
    if (n.op_type() == "MatMul") {
      EXPECT_EQ(n.input(0), "x_smoothed") << n.name();
    }
    if (n.name() == "residual") {
      EXPECT_EQ(n.input(1), "x") << "a reader that is no integer GEMM keeps x";
    }
  }
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, 3, 8}, x, {}}}};
  const auto y = testing::run_model(b.model(), feeds);
  const auto ys = testing::run_model(smoothed, feeds);
  EXPECT_LT(testing::relative_rms_error(ys, y), kFp32RelTolerance);
  // The smoothed tensor's range is x / s's: the outlier channel no longer sets it alone.
  ASSERT_EQ(r.ranges.count("x_smoothed"), 1u);
  EXPECT_EQ(r.ranges.count("x"), 0u);
  const auto all = ranges_of(x, 6);
  const ChannelRanges& c = all.at("x");
  const float plain = std::max(std::fabs(*std::min_element(c.min.begin(), c.min.end())),
                               *std::max_element(c.max.begin(), c.max.end()));
  const ActivationRange s = r.ranges.at("x_smoothed");
  EXPECT_LT(std::max(std::fabs(s.min), s.max), 0.5f * plain);
}

// Static quantization of the smoothed model is closer to fp32 than of the plain one on an
// input with an outlier channel: what smoothing is for.
TEST(Smoothing, LowersTheStaticQuantizationError) {
  const GraphBuilder b = shared_input_model();
  const auto x = outlier_input(6);
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, 3, 8}, x, {}}}};
  const auto y = testing::run_model(b.model(), feeds);
  const auto error = [&](float alpha) {
    onnx::ModelProto m = b.model();
    const SmoothingResult r = smooth_activations(m, ranges_of(x, 6), alpha);
    QuantPlan plan;
    plan.defaults.activations = ActivationScheme::static_per_tensor;
    plan.defaults.granularity = WeightGranularity::per_channel;
    plan.defaults.reduce_range = true;
    plan.activation_ranges = std::make_shared<const ActivationRanges>(r.ranges);
    return testing::relative_rms_error(testing::run_model(quantize(m, plan).model, feeds), y);
  };
  const double plain = error(0.0f);
  const double smoothed = error(0.5f);
  EXPECT_LT(smoothed, 0.7 * plain) << "plain " << plain << ", smoothed " << smoothed;
}

TEST(Smoothing, AlphaZeroLeavesTheModelAlone) {
  const GraphBuilder b = shared_input_model();
  onnx::ModelProto m = b.model();
  const SmoothingResult r = smooth_activations(m, ranges_of(outlier_input(6), 6), 0.0f);
  EXPECT_EQ(r.tensors_smoothed, 0);
  EXPECT_EQ(m.SerializeAsString(), b.model().SerializeAsString());
  EXPECT_EQ(r.ranges.count("x"), 1u);
}

}  // namespace
}  // namespace docquant::quant
