// MatMul (+ bias Add) over a sweep of shapes and plans: the pass's output runs
// in ONNX Runtime, carries the same numbers as the integer arithmetic of
// formulas.h accumulated the way this CPU's u8×s8 kernel does (int8_kernel.h:
// exact on VNNI, pairs saturating to int16 on AVX2-only CPUs), and stays within a
// bound derived from the quantization steps of the fp32 result wherever that
// kernel did not saturate. Full-range weights saturate on AVX2-only CPUs; 7-bit
// (reduce_range) weights never do, which the last test checks on any CPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;

// ORT vs the emulated integer arithmetic: float rounding (relative) plus, per
// output, up to this many activation steps times max|w|, for elements that ORT's
// vectorised quantization might round the other way at an exact tie.
constexpr float kEmulationRelTolerance = 1e-5f;
constexpr float kEmulationActivationSteps = 2.0f;
// Quantized vs fp32, per element: each of the K products is off by at most
// max|x|*s_w/2 + max|w|*s_x (weight rounding; activation rounding and zero-point
// shift); independent errors grow as sqrt(K); 3 of those is > 5 sigma.
constexpr double kFp32BoundFactor = 3.0;

struct SweepCase {
  std::int64_t rows;  // per batch item
  std::int64_t k;
  std::int64_t n;
  bool per_channel;
  bool reduce_range;
  bool fused;
  bool bias;
};

std::string case_name(const ::testing::TestParamInfo<SweepCase>& info) {
  const SweepCase& c = info.param;
  return "m" + std::to_string(c.rows) + "k" + std::to_string(c.k) + "n" + std::to_string(c.n) +
         (c.per_channel ? "_channel" : "_tensor") + (c.reduce_range ? "_reduced" : "_full") +
         (c.fused ? "_fused" : "_unfused") + (c.bias ? "_bias" : "");
}

class MatMulSweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(MatMulSweep, RunsAndMatchesIntegerArithmeticAndFp32) {
  const SweepCase c = GetParam();
  constexpr std::int64_t kBatch = 2;
  const auto seed = static_cast<std::uint32_t>(c.rows * 1000003 + c.k * 1009 + c.n);
  const auto w = testing::uniform(static_cast<std::size_t>(c.k * c.n), -0.5f, 0.4f, seed);
  const auto x = testing::uniform(static_cast<std::size_t>(kBatch * c.rows * c.k), -2.0f, 3.0f, seed + 1);
  const auto bias = c.bias ? testing::uniform(static_cast<std::size_t>(c.n), -0.3f, 0.3f, seed + 2)
                           : std::vector<float>{};

  testing::GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, c.k}).output("y");
  b.initializer("W", {c.k, c.n}, w);
  if (c.bias) {
    b.initializer("bias", {c.n}, bias);
    b.node("MatMul", {"x", "W"}, {"mm"}, "dense/MatMul");
    b.node("Add", {"mm", "bias"}, {"y"}, "dense/Add");
  } else {
    b.node("MatMul", {"x", "W"}, {"y"}, "dense/MatMul");
  }

  QuantPlan plan;
  plan.defaults.granularity = c.per_channel ? WeightGranularity::per_channel : WeightGranularity::per_tensor;
  plan.defaults.reduce_range = c.reduce_range;
  plan.fused_matmul = c.fused;
  const QuantizeResult result = quantize(b.model(), plan);

  const auto ops = testing::count_ops(result.model);
  EXPECT_EQ(ops.count("MatMul"), 0u);
  if (c.fused) {
    EXPECT_EQ(ops.at("DynamicQuantizeMatMul"), 1);
    EXPECT_EQ(ops.count("Add"), 0u) << "the bias Add is folded into DynamicQuantizeMatMul";
  } else {
    EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 1);
    EXPECT_EQ(ops.at("MatMulInteger"), 1);
    EXPECT_EQ(ops.at("Cast"), 1);
    EXPECT_EQ(ops.at("Mul"), 2);
    EXPECT_EQ(ops.count("Add"), c.bias ? 1u : 0u);
  }

  std::map<std::string, Feed> feeds{{"x", Feed{{kBatch, c.rows, c.k}, x, {}}}};
  const auto y32 = testing::run_model(b.model(), feeds);
  const auto yq = testing::run_model(result.model, feeds);
  // Unoptimised too: the nodes as emitted, without ORT fusing them.
  const auto yq_plain = testing::run_model(result.model, feeds, {.optimize = false});
  ASSERT_EQ(yq.size(), y32.size());

  const auto emu = testing::emulate_integer_matmul(x, kBatch * c.rows, c.k, w, c.n, bias, c.per_channel,
                                                   c.reduce_range);
  const auto ref = testing::reference_matmul(x, kBatch * c.rows, c.k, w, c.n, bias);
  const float emu_tol = kEmulationRelTolerance * testing::max_abs(emu.y) +
                        kEmulationActivationSteps * emu.x_scale * testing::max_abs(w);
  const double fp32_tol = kFp32BoundFactor * std::sqrt(static_cast<double>(c.k)) *
                          (testing::max_abs(x) * emu.max_w_scale / 2.0 + testing::max_abs(w) * emu.x_scale);
  const std::string kernel(to_string(testing::emulated_int8_path()));
  for (std::size_t i = 0; i < yq.size(); ++i) {
    ASSERT_NEAR(yq[i], emu.y[i], emu_tol) << "element " << i << " vs integer emulation (" << kernel << ")";
    ASSERT_NEAR(yq_plain[i], emu.y[i], emu_tol)
        << "element " << i << " (unoptimised session) vs integer emulation (" << kernel << ")";
    // A saturated sum is the kernel's arithmetic, checked above, not a rounding error.
    if (emu.saturated[i] == 0) {
      ASSERT_NEAR(yq[i], y32[i], fp32_tol) << "element " << i << " vs fp32";
    }
    ASSERT_NEAR(y32[i], ref[i], 1e-4 * (1.0 + std::fabs(ref[i]))) << "element " << i << " fp32 ORT vs reference";
  }
  if (c.reduce_range || !int8_path_saturates(testing::emulated_int8_path())) {
    EXPECT_EQ(emu.saturated_outputs, 0) << "only full-range weights on a pairwise kernel may saturate";
  }
}

// The claim reduce_range rests on, on any CPU: with 7-bit weights no pair of u8×s8
// products leaves int16, so the AVX2 arithmetic equals the exact one; with 8-bit
// weights it does not (which is why the sweep above follows the host's kernel).
TEST(Int8Kernel, ReduceRangeNeverSaturatesFullRangeDoes) {
  constexpr std::int64_t kRows = 8, kK = 64, kN = 16;
  const auto w = testing::uniform(static_cast<std::size_t>(kK * kN), -0.5f, 0.5f, 71u);
  const auto x = testing::uniform(static_cast<std::size_t>(kRows * kK), -2.0f, 3.0f, 72u);
  for (bool per_channel : {false, true}) {
    const auto exact = testing::emulate_integer_matmul(x, kRows, kK, w, kN, {}, per_channel, true, Int8Path::avx512_vnni);
    const auto pairwise = testing::emulate_integer_matmul(x, kRows, kK, w, kN, {}, per_channel, true, Int8Path::avx2);
    EXPECT_EQ(pairwise.saturated_outputs, 0);
    EXPECT_EQ(pairwise.y, exact.y);
    const auto full_exact = testing::emulate_integer_matmul(x, kRows, kK, w, kN, {}, per_channel, false, Int8Path::avx512_vnni);
    const auto full_pairwise = testing::emulate_integer_matmul(x, kRows, kK, w, kN, {}, per_channel, false, Int8Path::avx2);
    EXPECT_GT(full_pairwise.saturated_outputs, 0);
    EXPECT_NE(full_pairwise.y, full_exact.y);
  }
}

// max_pair_magnitude is the bound the report's "can saturate" rests on: 255 times it
// is the largest pair sum any activation can reach, and some activation reaches it.
TEST(Int8Kernel, MaxPairMagnitudeIsTheWorstPairSum) {
  const std::vector<std::int8_t> w{100, -127,  //
                                   29, 120,    //
                                   64, 5};     // k = 3 (last row unpaired), n = 2
  EXPECT_EQ(max_pair_magnitude(w, 3, 2), 129);  // column 0: 100 + 29 (same sign); column 1: opposite signs -> 127
  EXPECT_TRUE(pairwise_can_saturate(129));
  EXPECT_FALSE(pairwise_can_saturate(128));  // 255 · 128 = 32640: the reduce_range bound
  const std::vector<std::uint8_t> worst{255, 255, 0};
  int saturated = 0;
  EXPECT_EQ(dot_u8s8(worst, w.data(), 2, Int8Path::avx2, &saturated), kInt16Max);
  EXPECT_EQ(saturated, 1);
  EXPECT_EQ(dot_u8s8(worst, w.data(), 2, Int8Path::avx512_vnni), 255 * 129);
}

std::vector<SweepCase> cases(bool long_tier) {
  const std::vector<std::array<std::int64_t, 3>> quick{{1, 1, 1}, {3, 16, 8}, {5, 64, 33}, {4, 384, 384}};
  const std::vector<std::array<std::int64_t, 3>> slow{{16, 384, 1536}, {16, 1536, 384}, {32, 768, 768}};
  std::vector<SweepCase> out;
  for (const auto& s : long_tier ? slow : quick) {
    for (bool per_channel : {false, true}) {
      for (bool reduce_range : {false, true}) {
        for (bool fused : {true, false}) {
          out.push_back({s[0], s[1], s[2], per_channel, reduce_range, fused, true});
        }
      }
    }
  }
  if (!long_tier) out.push_back({3, 16, 8, false, false, true, false});  // no bias to fold
  return out;
}

bool long_tier_enabled() {
  const char* v = std::getenv("DOCQUANT_LONG_TESTS");
  return v != nullptr && std::string(v) == "1";
}

INSTANTIATE_TEST_SUITE_P(Quick, MatMulSweep, ::testing::ValuesIn(cases(false)), case_name);
// The long tier is registered when DOCQUANT_LONG_TESTS=1 (at build/discovery time).
INSTANTIATE_TEST_SUITE_P(Long, MatMulSweep,
                         ::testing::ValuesIn(long_tier_enabled() ? cases(true) : std::vector<SweepCase>{}),
                         case_name);

}  // namespace
}  // namespace docquant::quant
