// Per-token activations (ActivationScheme::per_token): the nodes the pass emits, their
// numbers against the integer arithmetic of formulas.h on this CPU's kernel, and the
// property they exist for: a row's result depends on that row alone.
#include <gtest/gtest.h>

#include <cmath>

#include "formulas.h"
#include "activation_test_graphs.h"
#include "graph_context.h"
#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

// ORT against the emulation: the integers are the same (the chain's float operations are
// the emulation's, IEEE-exact), so only the final float scaling may differ in the last bits.
constexpr float kEmulationRelTolerance = 1e-5f;

QuantPlan per_token_plan(bool per_channel, bool reduce_range) {
  QuantPlan plan;
  plan.defaults.activations = ActivationScheme::per_token;
  plan.defaults.granularity = per_channel ? WeightGranularity::per_channel : WeightGranularity::per_tensor;
  plan.defaults.reduce_range = reduce_range;
  return plan;
}

// Rows of very different ranges, one with an outlier channel: what per-tensor scales lose.
std::vector<float> token_rows(std::int64_t rows, std::int64_t k, std::uint32_t seed) {
  auto x = testing::uniform(static_cast<std::size_t>(rows * k), -1.0f, 1.0f, seed);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float range = 0.05f + static_cast<float>(r % 5);
    for (std::int64_t t = 0; t < k; ++t) x[static_cast<std::size_t>(r * k + t)] *= range;
  }
  if (rows > 1) x[static_cast<std::size_t>(k + 3)] = 40.0f;  // row 1, channel 3
  return x;
}

TEST(PerToken, EmitsOneQuantizationPerInputAndMatMulIntegerToFloat) {
  const GraphBuilder b = two_readers_model();
  const QuantizeResult r = quantize(b.model(), per_token_plan(true, true));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("MatMulIntegerToFloat"), 2);
  EXPECT_EQ(ops.at("QuantizeLinear"), 1) << "Q and K read the same input: one per-token quantization";
  EXPECT_EQ(ops.at("ReduceMax"), 1);
  EXPECT_EQ(ops.at("Div"), 1) << "only the inverse 127 / m: the step m / 127 is not formed (its 127 is in W's scale)";
  EXPECT_EQ(ops.count("DynamicQuantizeLinear"), 0u);
  EXPECT_EQ(ops.count("DynamicQuantizeMatMul"), 0u);
  EXPECT_EQ(ops.count("MatMul"), 0u);
  for (const auto& d : r.decisions) {
    EXPECT_EQ(d.action, NodeAction::quantized) << d.node;
    EXPECT_EQ(d.activations, ActivationScheme::per_token) << d.node;
  }
  // The two outputs as the emulation computes them, on this CPU's kernel.
  const auto x = token_rows(6, 16, 3u);
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, 3, 16}, x, {}}}};
  const auto out = testing::run_model_tensors(r.model, feeds, {"q", "k"});
  const auto eq = testing::emulate_per_token_matmul(x, 6, 16, testing::uniform(128, -1.0f, 1.0f, 1u), 8, {}, true, true);
  for (std::size_t i = 0; i < eq.y.size(); ++i) {
    ASSERT_NEAR(out.at("q")[i], eq.y[i], kEmulationRelTolerance * testing::max_abs(eq.y)) << i;
  }
}

const onnx::TensorProto* find_initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// MatMulIntegerToFloat's a_scale is the row's absmax m, so the 127 of the step m / 127 moves
// into the weight's scale: per_token_weight_scale of the scale the per-tensor recipe stores.
// The int8 values are the same.
TEST(PerToken, TheWeightScaleCarriesTheLevels) {
  for (const bool per_channel : {false, true}) {
    SCOPED_TRACE(per_channel ? "per channel" : "per tensor");
    QuantPlan tensor_plan = per_token_plan(per_channel, true);
    tensor_plan.defaults.activations = ActivationScheme::per_tensor;
    const QuantizeResult token = quantize(matmul_model(16, 8, false).model(), per_token_plan(per_channel, true));
    const QuantizeResult tensor = quantize(matmul_model(16, 8, false).model(), tensor_plan);
    const auto* token_scale = find_initializer(token.model, "W_token_scale");
    const auto* plain_scale = find_initializer(tensor.model, "W_scale");
    ASSERT_TRUE(token_scale && plain_scale);
    EXPECT_EQ(find_initializer(token.model, "W_scale"), nullptr) << "no unused plain scale is left beside it";
    const auto ts = float_values(*token_scale);
    const auto ps = float_values(*plain_scale);
    ASSERT_EQ(ts.size(), per_channel ? 8u : 1u);
    ASSERT_EQ(ts.size(), ps.size());
    for (std::size_t i = 0; i < ts.size(); ++i) EXPECT_EQ(ts[i], per_token_weight_scale(ps[i])) << i;
    EXPECT_EQ(find_initializer(token.model, "W_int8")->raw_data(), find_initializer(tensor.model, "W_int8")->raw_data());
  }
}

// A quantized weight's initializers come as values, scale, zero point in either recipe: the
// order model.onnx had before the two recipes shared the values, so a per-tensor output keeps
// its bytes across versions (fe62197 put the scale last and changed every per-tensor model.onnx).
TEST(PerToken, WeightInitializersKeepTheirOrder) {
  for (const ActivationScheme scheme : {ActivationScheme::per_tensor, ActivationScheme::per_token}) {
    SCOPED_TRACE(scheme == ActivationScheme::per_token ? "per token" : "per tensor");
    QuantPlan plan = per_token_plan(true, true);
    plan.defaults.activations = scheme;
    const QuantizeResult r = quantize(matmul_model(16, 8, false).model(), plan);
    std::vector<std::string> names;
    for (const auto& t : r.model.graph().initializer()) {
      if (t.name().rfind("W_", 0) == 0) names.push_back(t.name());
    }
    const std::string scale = scheme == ActivationScheme::per_token ? "W_token_scale" : "W_scale";
    EXPECT_EQ(names, (std::vector<std::string>{"W_int8", scale, "W_zero_point"}));
  }
}

class PerTokenArithmetic : public ::testing::TestWithParam<PlanCase> {};

// Every plan, full-range weights included: ORT's numbers are the host kernel's
// (int8_kernel.h; 8-bit weights saturate on AVX2-only CPUs, 7-bit ones never do).
TEST_P(PerTokenArithmetic, MatchesTheHostKernelsIntegers) {
  const PlanCase c = GetParam();
  constexpr std::int64_t kRows = 10, kK = 64, kN = 24;
  const GraphBuilder b = matmul_model(kK, kN, c.bias);
  const QuantizeResult r = quantize(b.model(), per_token_plan(c.per_channel, c.reduce_range));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("MatMulIntegerToFloat"), 1);
  EXPECT_EQ(ops.count("Add"), c.bias ? 1u : 0u) << "the bias stays an Add: MatMulIntegerToFloat would scale it";
  const auto x = token_rows(kRows, kK, 4u);
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, kRows / 2, kK}, x, {}}}};
  const auto bias = c.bias ? testing::uniform(kN, -0.3f, 0.3f, 82u) : std::vector<float>{};
  const auto w = testing::uniform(static_cast<std::size_t>(kK * kN), -0.5f, 0.4f, 81u);
  const auto emu = testing::emulate_per_token_matmul(x, kRows, kK, w, kN, bias, c.per_channel, c.reduce_range);
  const auto ref = testing::reference_matmul(x, kRows, kK, w, kN, bias);
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
  // Against fp32, row by row (a row is a token of a text): per-token beats per-tensor on
  // rows of different ranges; a whole-tensor error would be dominated by the loudest row.
  if (c.reduce_range) {
    QuantPlan tensor_plan = per_token_plan(c.per_channel, true);
    tensor_plan.defaults.activations = ActivationScheme::per_tensor;
    const auto yt = testing::run_model(quantize(b.model(), tensor_plan).model, feeds);
    const auto yq = testing::run_model(r.model, feeds);
    const auto mean_row_error = [&](const std::vector<float>& y) {
      double sum = 0.0;
      for (std::int64_t row = 0; row < kRows; ++row) {
        const auto at = [&](const std::vector<float>& v) {
          return std::vector<float>(v.begin() + row * kN, v.begin() + (row + 1) * kN);
        };
        sum += testing::relative_rms_error(at(y), at(ref));
      }
      return sum / kRows;
    };
    EXPECT_LT(mean_row_error(yq), 0.5 * mean_row_error(yt));
  }
}

INSTANTIATE_TEST_SUITE_P(Plans, PerTokenArithmetic, kPlanCases, plan_case_name);

// The property: one text's rows give bit-identical results alone, in a batch with other
// texts, and padded with rows of any magnitude -- and per-tensor scales do not (the control
// that shows this test can fail).
TEST(PerToken, ARowsResultDependsOnTheRowAlone) {
  constexpr std::int64_t kK = 32, kN = 16, kSeq = 4;
  const GraphBuilder b = matmul_model(kK, kN, true);
  const auto text = token_rows(kSeq, kK, 5u);
  auto others = token_rows(3 * kSeq, kK, 6u);
  for (auto& v : others) v *= 7.0f;  // louder texts in the same batch

  QuantPlan control = per_token_plan(true, true);
  control.defaults.activations = ActivationScheme::per_tensor;
  expect_batch_invariant(quantize(b.model(), per_token_plan(true, true)).model, quantize(b.model(), control).model, text, others, kSeq,
                         kK, kN);
}

// Opset 18 moved ReduceMax's axes from an attribute to an input; both forms run.
TEST(PerToken, RunsAtOpset18) {
  const GraphBuilder b = matmul_model(16, 8, false, 18);
  const QuantizeResult r = quantize(b.model(), per_token_plan(true, true));
  const auto x = token_rows(4, 16, 7u);
  const auto yq = testing::run_model(r.model, {{"x", Feed{{1, 4, 16}, x, {}}}});
  const auto emu = testing::emulate_per_token_matmul(x, 4, 16, testing::uniform(128, -0.5f, 0.4f, 81u), 8, {}, true, true);
  ASSERT_EQ(yq.size(), emu.y.size());
  for (std::size_t i = 0; i < yq.size(); ++i) EXPECT_NEAR(yq[i], emu.y[i], kEmulationRelTolerance * testing::max_abs(emu.y));
}

// A row of zeros (the floor keeps its scale finite) quantizes to 128s and gives the bias.
TEST(PerToken, AllZeroRowGivesTheBias) {
  const GraphBuilder b = matmul_model(16, 8, true);
  const QuantizeResult r = quantize(b.model(), per_token_plan(true, true));
  const auto yq = testing::run_model(r.model, {{"x", Feed{{1, 1, 16}, std::vector<float>(16, 0.0f), {}}}});
  const auto bias = testing::uniform(8, -0.3f, 0.3f, 82u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(yq[i], bias[i]);
}

TEST(PerToken, GemmWithBias) {
  const QuantizeResult r = quantize(gemm_model().model(), per_token_plan(true, true));
  EXPECT_EQ(testing::count_ops(r.model).at("MatMulIntegerToFloat"), 1);
  const auto x = token_rows(4, 12, 8u);
  const auto yq = testing::run_model(r.model, {{"x", Feed{{4, 12}, x, {}}}});
  const auto emu = testing::emulate_per_token_matmul(x, 4, 12, gemm_test_weight_kn(), 5, gemm_test_bias(), true, true);
  for (std::size_t i = 0; i < yq.size(); ++i) EXPECT_NEAR(yq[i], emu.y[i], kEmulationRelTolerance * testing::max_abs(emu.y));
}

// Fused self-attention with per-token activations: MultiHeadAttention behind one integer
// QKV GEMM (QAttention takes a single input scale); a text's output is the same alone and
// beside a louder, padded text.
TEST(PerToken, AttentionBecomesMatMulIntegerToFloatAndMultiHeadAttention) {
  constexpr std::int64_t kHidden = 16, kSeq = 5;
  const onnx::ModelProto fp32 = attention_with_mask_model(kHidden);

  const QuantizeResult r = quantize(fp32, per_token_plan(true, true));
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("MultiHeadAttention"), 1);
  EXPECT_EQ(ops.at("MatMulIntegerToFloat"), 1);
  EXPECT_EQ(ops.count("QAttention"), 0u);
  EXPECT_EQ(ops.count("Attention"), 0u);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].activations, ActivationScheme::per_token);

  const auto text = token_rows(kSeq, kHidden, 9u);
  std::vector<float> batch = text;
  for (float v : token_rows(kSeq, kHidden, 10u)) batch.push_back(8.0f * v);
  const auto run = [&](const onnx::ModelProto& m, const std::vector<float>& x, std::int64_t texts,
                       const std::vector<std::int32_t>& mask) { return run_attention(m, x, texts, kSeq, kHidden, mask); };
  const std::vector<std::int32_t> full(kSeq, 1);
  std::vector<std::int32_t> two = full;
  for (std::int64_t i = 0; i < kSeq; ++i) two.push_back(i < 3 ? 1 : 0);  // the second text is padded
  const auto alone = run(r.model, text, 1, full);
  const auto batched = run(r.model, batch, 2, two);
  EXPECT_EQ(std::vector<float>(batched.begin(), batched.begin() + kSeq * kHidden), alone);
  const auto y32 = run(fp32, text, 1, full);
  EXPECT_LT(testing::relative_rms_error(alone, y32), 0.05);
}

}  // namespace
}  // namespace docquant::quant
