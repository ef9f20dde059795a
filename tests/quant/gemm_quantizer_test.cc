// The Gemm quantizer: transposed weights and a bias, every plan, against fp32; the forms it
// refuses.
#include <gtest/gtest.h>

#include "docquant/error.h"
#include "formulas.h"
#include "graph_context.h"
#include "pass_test_graphs.h"
#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

TEST(QuantizePass, GemmWithTransposedWeightAndBias) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {5, 12}, testing::uniform(60, -1.0f, 1.0f, 41u));  // [N, K], transB = 1
  b.initializer("C", {5}, {0.5f, -0.5f, 0.25f, 0.0f, 1.0f});
  add_int_attribute(b.node("Gemm", {"x", "W", "C"}, {"y"}, "classifier"), "transB", 1);
  const auto feeds = std::map<std::string, Feed>{{"x", Feed{{4, 12}, testing::uniform(48, -1.0f, 1.0f, 42u), {}}}};
  const auto y32 = testing::run_model(b.model(), feeds);
  for (bool fused : {true, false}) {
    for (auto g : {WeightGranularity::per_tensor, WeightGranularity::per_channel}) {
      QuantPlan plan = saturation_free_plan();
      plan.fused_matmul = fused;
      plan.defaults.granularity = g;
      const QuantizeResult r = quantize(b.model(), plan);
      EXPECT_EQ(testing::count_ops(r.model).count("Gemm"), 0u);
      EXPECT_EQ(decision_for(r, "classifier").action, NodeAction::quantized);
      EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), y32), kChainRelRms);
    }
  }
}

TEST(QuantizePass, GemmWithAlphaIsRefused) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {12, 5}, testing::uniform(60, -1.0f, 1.0f, 41u));
  add_float_attribute(b.node("Gemm", {"x", "W"}, {"y"}, "g"), "alpha", 2.0f);
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(describe(decision_for(r, "g")), "kept fp32 (not quantizable: alpha != 1 is not implemented)");
}

}  // namespace
}  // namespace docquant::quant
