// The MatMul quantizer: tiny graphs built in code, quantized, op types counted, and run in
// ONNX Runtime next to the fp32 graph (fused and standard-op forms, bias folding, activation
// x activation products).
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

TEST(QuantizePass, ChainFusedFoldsBiasesAndStaysCloseToFp32) {
  const GraphBuilder b = chain_model();
  const QuantizeResult r = quantize(b.model(), saturation_free_plan());
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("DynamicQuantizeMatMul"), 3);
  EXPECT_EQ(ops.count("MatMul"), 0u);
  EXPECT_EQ(ops.count("Add"), 0u);
  EXPECT_EQ(ops.at("Relu"), 2);
  for (const auto& d : r.decisions) {
    EXPECT_EQ(d.action, NodeAction::quantized) << d.node;
    EXPECT_EQ(d.folded.size(), 1u) << d.node;
  }
  EXPECT_EQ(decision_for(r, "layer2/MatMul").folded[0], "layer2/Add");
  EXPECT_EQ(decision_for(r, "layer2/MatMul").new_nodes, std::vector<std::string>{"layer2/MatMul_quant"});
  // fp32 weights are gone, int8 ones are there; biases stay fp32.
  EXPECT_FALSE(has_initializer(r.model, "layer1.weight"));
  EXPECT_TRUE(has_initializer(r.model, "layer1.weight_int8"));
  EXPECT_TRUE(has_initializer(r.model, "layer1.bias"));

  const auto feeds = chain_feeds();
  const auto y32 = testing::run_model(b.model(), feeds);
  const auto yq = testing::run_model(r.model, feeds);
  EXPECT_LT(testing::relative_rms_error(yq, y32), kChainRelRms);
}

TEST(QuantizePass, ChainUnfusedUsesOnlyStandardOps) {
  const GraphBuilder b = chain_model();
  QuantPlan plan = saturation_free_plan();
  plan.fused_matmul = false;
  const QuantizeResult r = quantize(b.model(), plan);
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 3);
  EXPECT_EQ(ops.at("MatMulInteger"), 3);
  EXPECT_EQ(ops.at("Cast"), 3);
  EXPECT_EQ(ops.at("Mul"), 6);
  EXPECT_EQ(ops.at("Add"), 3);  // biases stay as Adds
  for (const auto& n : r.model.graph().node()) EXPECT_TRUE(n.domain().empty()) << n.name();
  for (const auto& op : r.model.opset_import()) EXPECT_NE(op.domain(), "com.microsoft");

  const auto feeds = chain_feeds();
  const auto y32 = testing::run_model(b.model(), feeds);
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds, {.optimize = false}), y32), kChainRelRms);
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), y32), kChainRelRms);
}

TEST(QuantizePass, BiasAddIsNotFoldedWhenTheProductIsAlsoUsedElsewhere) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y").output("mm");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.initializer("bias", {3}, {0.1f, 0.2f, 0.3f});
  b.node("MatMul", {"x", "W"}, {"mm"}, "mm");
  b.node("Add", {"mm", "bias"}, {"y"}, "add");
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(testing::count_ops(r.model).at("Add"), 1);
  EXPECT_TRUE(decision_for(r, "mm").folded.empty());
}

TEST(QuantizePass, BiasOnTheLeftOfTheAddIsFolded) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.initializer("bias", {3}, {0.1f, 0.2f, 0.3f});
  b.node("MatMul", {"x", "W"}, {"mm"}, "mm");
  b.node("Add", {"bias", "mm"}, {"y"}, "add");
  const QuantizeResult r = quantize(b.model(), saturation_free_plan());
  EXPECT_EQ(testing::count_ops(r.model).count("Add"), 0u);
  const auto feeds = std::map<std::string, Feed>{{"x", Feed{{2, 4}, testing::uniform(8, -1.0f, 1.0f, 9u), {}}}};
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), testing::run_model(b.model(), feeds)),
            kChainRelRms);
}

TEST(QuantizePass, ActivationMatMulOnlyWhenThePlanAsks) {
  GraphBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {2, 3, 8}).input("b", onnx::TensorProto::FLOAT, {2, 8, 4}).output("y");
  b.node("MatMul", {"a", "b"}, {"y"}, "scores");
  const QuantizeResult off = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(describe(decision_for(off, "scores")),
            "kept fp32 (not quantizable: B is not a constant initializer (activation x activation MatMul is off in "
            "the plan))");
  EXPECT_TRUE(find_candidates(b.model()).empty());

  QuantPlan plan;
  plan.activation_matmul = true;
  const QuantizeResult on = quantize(b.model(), plan);
  const auto ops = testing::count_ops(on.model);
  EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 2);
  EXPECT_EQ(ops.at("MatMulInteger"), 1);
  const std::map<std::string, Feed> feeds{{"a", Feed{{2, 3, 8}, testing::uniform(48, -1.0f, 1.0f, 51u), {}}},
                                          {"b", Feed{{2, 8, 4}, testing::uniform(64, -1.0f, 2.0f, 52u), {}}}};
  EXPECT_LT(testing::relative_rms_error(testing::run_model(on.model, feeds), testing::run_model(b.model(), feeds)),
            kChainRelRms);
}

}  // namespace
}  // namespace docquant::quant
