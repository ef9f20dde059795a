// Static activations (ActivationScheme::static_per_tensor): the nodes each quantizer emits
// with a calibrated range, their numbers against the integer arithmetic of formulas.h on this
// CPU's kernel, and the property they exist for: nothing is computed from the batch, so a
// row's result depends on that row alone.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "docquant/error.h"
#include "activation_test_graphs.h"
#include "formulas.h"
#include "graph_context.h"
#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

// ORT against the emulation: QuantizeLinear divides by the constant scale (IEEE-exact, as the
// emulation's quantize_value), the integers are the same, so only the final float scaling may
// differ in the last bits.
constexpr float kEmulationRelTolerance = 1e-5f;
// The calibrated range the plans below carry for "x": narrower than some of the inputs fed,
// so that saturation at both ends is exercised.
constexpr ActivationRange kRange{-2.5f, 3.0f};

QuantPlan static_plan(bool per_channel, bool reduce_range, ActivationRanges ranges = {{"x", kRange}}) {
  QuantPlan plan;
  plan.defaults.activations = ActivationScheme::static_per_tensor;
  plan.defaults.granularity = per_channel ? WeightGranularity::per_channel : WeightGranularity::per_tensor;
  plan.defaults.reduce_range = reduce_range;
  plan.activation_ranges = std::make_shared<const ActivationRanges>(std::move(ranges));
  return plan;
}

const onnx::TensorProto* find_initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

TEST(StaticActivations, OneConstantQuantizeLinearPerInputThenMatMulIntegerToFloat) {
  const GraphBuilder b = two_readers_model();
  const QuantizeResult r = quantize(b.model(), static_plan(true, true));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("MatMulIntegerToFloat"), 2);
  EXPECT_EQ(ops.at("QuantizeLinear"), 1) << "Q and K read the same input: one quantization";
  EXPECT_EQ(r.model.graph().node_size(), 3) << "nothing else: no scale is computed at run time";
  for (const auto& d : r.decisions) {
    EXPECT_EQ(d.action, NodeAction::quantized) << d.node;
    EXPECT_EQ(d.activations, ActivationScheme::static_per_tensor) << d.node;
  }
  // The constants are formulas.h's parameters for the calibrated range.
  const QuantParams p = static_uint8_params(kRange.min, kRange.max);
  const auto* scale = find_initializer(r.model, "x_static_scale");
  const auto* zero = find_initializer(r.model, "x_static_zero_point");
  ASSERT_TRUE(scale && zero);
  EXPECT_EQ(float_values(*scale), std::vector<float>{p.scale});
  ASSERT_EQ(zero->data_type(), onnx::TensorProto::UINT8);
  EXPECT_EQ(static_cast<int>(static_cast<std::uint8_t>(zero->raw_data().at(0))), p.zero_point);
}

class StaticArithmetic : public ::testing::TestWithParam<PlanCase> {};

// Every plan, full-range weights included: ORT's numbers are the host kernel's (int8_kernel.h;
// 8-bit weights saturate on AVX2-only CPUs, 7-bit ones never do), inputs beyond the calibrated
// range included (they saturate to 0 or 255).
TEST_P(StaticArithmetic, MatchesTheHostKernelsIntegers) {
  const PlanCase c = GetParam();
  constexpr std::int64_t kRows = 10, kK = 64, kN = 24;
  const GraphBuilder b = matmul_model(kK, kN, c.bias);
  const QuantizeResult r = quantize(b.model(), static_plan(c.per_channel, c.reduce_range));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("MatMulIntegerToFloat"), 1);
  EXPECT_EQ(ops.count("Add"), 0u) << "the bias is folded: with a scalar a_scale ORT adds it after scaling";
  auto x = testing::uniform(static_cast<std::size_t>(kRows * kK), -3.0f, 3.5f, 4u);
  x[5] = -40.0f;  // far outside the range: saturates to 0
  x[70] = 55.0f;  // and to 255
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, kRows / 2, kK}, x, {}}}};
  const auto bias = c.bias ? activation_test_bias(kN) : std::vector<float>{};
  const auto emu = testing::emulate_static_matmul(x, kRows, kK, activation_test_weight(kK, kN), kN, bias, c.per_channel,
                                                  c.reduce_range, kRange.min, kRange.max);
  for (bool optimize : {true, false}) {
    const auto yq = testing::run_model(r.model, feeds, {.optimize = optimize});
    ASSERT_EQ(yq.size(), emu.y.size());
    for (std::size_t i = 0; i < yq.size(); ++i) {
      ASSERT_NEAR(yq[i], emu.y[i], kEmulationRelTolerance * testing::max_abs(emu.y))
          << "element " << i << " on " << to_string(testing::emulated_int8_path())
          << (optimize ? "" : " (unoptimised session)");
    }
  }
  if (c.reduce_range) {
    EXPECT_EQ(emu.saturated_outputs, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Plans, StaticArithmetic, kPlanCases, plan_case_name);

// The property: one text's rows give bit-identical results alone, in a batch with louder
// texts, and padded with rows of any magnitude -- where dynamic per-tensor scales do not (the
// control that shows this test can fail).
TEST(StaticActivations, ARowsResultDependsOnTheRowAlone) {
  constexpr std::int64_t kK = 32, kN = 16, kSeq = 4;
  const GraphBuilder b = matmul_model(kK, kN, true);
  const auto text = testing::uniform(static_cast<std::size_t>(kSeq * kK), -2.0f, 2.0f, 5u);
  auto others = testing::uniform(static_cast<std::size_t>(3 * kSeq * kK), -2.0f, 2.0f, 6u);
  for (auto& v : others) v *= 7.0f;

  QuantPlan control = static_plan(true, true);
  control.defaults.activations = ActivationScheme::per_tensor;
  expect_batch_invariant(quantize(b.model(), static_plan(true, true)).model, quantize(b.model(), control).model, text, others, kSeq,
                         kK, kN);
}

TEST(StaticActivations, GemmWithBias) {
  const QuantizeResult r = quantize(gemm_model().model(), static_plan(true, true));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("MatMulIntegerToFloat"), 1);
  EXPECT_EQ(ops.at("QuantizeLinear"), 1);
  const auto x = testing::uniform(48, -2.0f, 2.0f, 8u);
  const auto yq = testing::run_model(r.model, {{"x", Feed{{4, 12}, x, {}}}});
  const auto emu = testing::emulate_static_matmul(x, 4, 12, gemm_test_weight_kn(), 5, gemm_test_bias(), true, true,
                                                  kRange.min, kRange.max);
  ASSERT_EQ(yq.size(), emu.y.size());
  for (std::size_t i = 0; i < yq.size(); ++i) EXPECT_NEAR(yq[i], emu.y[i], kEmulationRelTolerance * testing::max_abs(emu.y));
}

// Fused self-attention: QAttention with the constant input scale and zero point, one node for
// the whole attention; a text's output is the same alone and beside a louder, padded text;
// close to fp32.
TEST(StaticActivations, AttentionBecomesQAttentionWithTheCalibratedScale) {
  constexpr std::int64_t kHidden = 16, kSeq = 5;
  const onnx::ModelProto fp32 = attention_with_mask_model(kHidden);

  const QuantizeResult r = quantize(fp32, static_plan(true, true));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("QAttention"), 1);
  EXPECT_EQ(ops.at("QuantizeLinear"), 1);
  EXPECT_EQ(r.model.graph().node_size(), 2);
  const onnx::NodeProto& q = r.model.graph().node(1);
  ASSERT_EQ(q.op_type(), "QAttention");
  EXPECT_EQ(q.input(3), "x_static_scale");
  EXPECT_EQ(q.input(6), "x_static_zero_point");
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].activations, ActivationScheme::static_per_tensor);

  const auto text = testing::uniform(static_cast<std::size_t>(kSeq * kHidden), -2.0f, 2.0f, 63u);
  std::vector<float> batch = text;  // beside a louder text whose last two tokens are padding
  for (float v : testing::uniform(static_cast<std::size_t>(kSeq * kHidden), -9.0f, 9.0f, 64u)) batch.push_back(v);
  const auto run = [&](const onnx::ModelProto& m, const std::vector<float>& x, std::int64_t texts,
                       const std::vector<std::int32_t>& mask) { return run_attention(m, x, texts, kSeq, kHidden, mask); };
  const std::vector<std::int32_t> full(kSeq, 1);
  std::vector<std::int32_t> two = full;
  for (std::int64_t i = 0; i < kSeq; ++i) two.push_back(i < 3 ? 1 : 0);
  const auto alone = run(r.model, text, 1, full);
  const auto batched = run(r.model, batch, 2, two);
  EXPECT_EQ(std::vector<float>(batched.begin(), batched.begin() + kSeq * kHidden), alone);
  const auto y32 = run(fp32, text, 1, full);
  // 7-bit per-channel weights and a uint8 step of 5.5 / 255 over inputs within the range: the
  // attention output stays within 5 % relative RMS of fp32 (the pass tests' chain tolerance).
  EXPECT_LT(testing::relative_rms_error(alone, y32), 0.05);
}

TEST(StaticActivations, AnActivationWithoutARangeIsAnInternalError) {
  const QuantPlan plan = static_plan(true, true, {{"not_x", kRange}});
  EXPECT_THROW(quantize(matmul_model(16, 8, false).model(), plan), InternalError);
  QuantPlan no_ranges = static_plan(true, true);
  no_ranges.activation_ranges.reset();
  EXPECT_THROW(quantize(matmul_model(16, 8, false).model(), no_ranges), InternalError);
}

// find_candidates names the input each quantizer quantizes at run time: the tensors the job
// calibrates (MatMul, Gemm and Attention read input 0; a Gather reads none).
TEST(StaticActivations, CandidatesNameTheActivationToCalibrate) {
  GraphBuilder b;
  b.input("ids", onnx::TensorProto::INT64, {-1}).output("y");
  b.initializer("table", {10, 16}, testing::uniform(160, -1.0f, 1.0f, 3u));
  b.initializer("W", {16, 8}, testing::uniform(128, -1.0f, 1.0f, 4u));
  b.node("Gather", {"table", "ids"}, {"emb"}, "embed");
  b.node("MatMul", {"emb", "W"}, {"y"}, "dense");
  const auto candidates = find_candidates(b.model());
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(candidates[0].activation, "");
  EXPECT_EQ(candidates[1].activation, "emb");
}

}  // namespace
}  // namespace docquant::quant
