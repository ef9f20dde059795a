// formulas.{h,cc} against a scalar reference written independently here
// (std::nearbyint under FE_TONEAREST, scale computed in double as ORT does).
#include "formulas.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <limits>
#include <utility>

#include "test_support.h"

namespace docquant::quant {
namespace {

// Quantized weight values must equal the reference exactly (0 steps apart) and
// scales bit for bit: these are the numbers stored in the model.
constexpr int kWeightValueTolerance = 0;
// Dequantize(quantize(x)) is within half a step of x for x inside the range.
constexpr float kRoundTripTolerance = 0.5f;  // in units of the scale

struct ReferenceWeight {
  std::vector<int> values;
  std::vector<float> scales;
};

// ORT quant_utils: absmax over the channel, scale = 2*absmax / (qmax - qmin) in
// float64 stored as float32 (1.0 when below FLT_MIN), q = clip(round(w / scale), -128, 127).
ReferenceWeight reference_quantize(const std::vector<float>& w, int rows, int cols, int axis, bool reduce_range) {
  const int qrange = reduce_range ? 128 : 254;
  const int channels = axis < 0 ? 1 : (axis == 0 ? rows : cols);
  ReferenceWeight ref;
  ref.scales.assign(static_cast<std::size_t>(channels), 0.0f);
  std::vector<float> absmax(static_cast<std::size_t>(channels), 0.0f);
  const auto ch = [&](int i, int j) { return static_cast<std::size_t>(axis < 0 ? 0 : (axis == 0 ? i : j)); };
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      absmax[ch(i, j)] = std::max(absmax[ch(i, j)], std::fabs(w[static_cast<std::size_t>(i * cols + j)]));
    }
  }
  for (int c = 0; c < channels; ++c) {
    const double s = 2.0 * static_cast<double>(absmax[static_cast<std::size_t>(c)]) / qrange;
    ref.scales[static_cast<std::size_t>(c)] = s < std::numeric_limits<float>::min() ? 1.0f : static_cast<float>(s);
  }
  std::fesetround(FE_TONEAREST);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const float q = std::nearbyint(w[static_cast<std::size_t>(i * cols + j)] / ref.scales[ch(i, j)]);
      ref.values.push_back(static_cast<int>(std::min(127.0f, std::max(-128.0f, q))));
    }
  }
  return ref;
}

TEST(RoundHalfEven, TiesGoToEven) {
  EXPECT_EQ(round_half_even(0.5f), 0.0f);
  EXPECT_EQ(round_half_even(1.5f), 2.0f);
  EXPECT_EQ(round_half_even(2.5f), 2.0f);
  EXPECT_EQ(round_half_even(3.5f), 4.0f);
  EXPECT_EQ(round_half_even(-0.5f), 0.0f);
  EXPECT_EQ(round_half_even(-1.5f), -2.0f);
  EXPECT_EQ(round_half_even(-2.5f), -2.0f);
  EXPECT_EQ(round_half_even(126.5f), 126.0f);
  EXPECT_EQ(round_half_even(127.5f), 128.0f);
}

TEST(RoundHalfEven, NonTiesRoundToNearest) {
  EXPECT_EQ(round_half_even(0.49999997f), 0.0f);
  EXPECT_EQ(round_half_even(0.50000006f), 1.0f);
  EXPECT_EQ(round_half_even(-2.4f), -2.0f);
  EXPECT_EQ(round_half_even(-2.6f), -3.0f);
  EXPECT_EQ(round_half_even(16777216.0f), 16777216.0f);
}

TEST(RoundHalfEven, IgnoresTheRoundingMode) {
  std::fesetround(FE_UPWARD);
  const float r = round_half_even(2.5f);
  std::fesetround(FE_TONEAREST);
  EXPECT_EQ(r, 2.0f);
}

TEST(SymmetricParams, ScaleIsAbsmaxOverHalfTheRange) {
  EXPECT_EQ(symmetric_params(1.27f, kInt8Symmetric).scale, static_cast<float>(2.0 * 1.27f / 254.0));
  EXPECT_EQ(symmetric_params(1.27f, kInt8Symmetric).zero_point, 0);
  EXPECT_EQ(symmetric_params(0.64f, kInt8Reduced).scale, static_cast<float>(2.0 * 0.64f / 128.0));
}

TEST(SymmetricParams, ZeroRangeGetsUnitScale) {
  EXPECT_EQ(symmetric_params(0.0f, kInt8Symmetric).scale, 1.0f);
  EXPECT_EQ(symmetric_params(1e-40f, kInt8Symmetric).scale, 1.0f);  // scale would be denormal
}

TEST(WeightRange, ReduceRangeIsSevenBits) {
  EXPECT_EQ(weight_range(false).qmin, -127);
  EXPECT_EQ(weight_range(false).qmax, 127);
  EXPECT_EQ(weight_range(true).qmin, -64);  // ORT's ONNX_INT_TYPE_REDUCED_RANGE for int8
  EXPECT_EQ(weight_range(true).qmax, 64);
}

TEST(DynamicUint8Params, MatchesDynamicQuantizeLinear) {
  // [-1, 3]: scale 4/255, zero point round(1 / (4/255)) = round(63.75) = 64
  const QuantParams p = dynamic_uint8_params(-1.0f, 3.0f);
  EXPECT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point, 64);
  EXPECT_EQ(quantize_value(3.0f, p, kUint8), 255);
  EXPECT_EQ(quantize_value(-1.0f, p, kUint8), 0);
  EXPECT_EQ(quantize_value(0.0f, p, kUint8), 64);
}

TEST(DynamicUint8Params, RangeAlwaysIncludesZero) {
  EXPECT_EQ(dynamic_uint8_params(2.0f, 5.0f).zero_point, 0);
  EXPECT_EQ(dynamic_uint8_params(2.0f, 5.0f).scale, 5.0f / 255.0f);
  EXPECT_EQ(dynamic_uint8_params(-5.0f, -2.0f).zero_point, 255);
  const QuantParams zeros = dynamic_uint8_params(0.0f, 0.0f);
  EXPECT_EQ(zeros.scale, 1.0f);
  EXPECT_EQ(zeros.zero_point, 0);
}

// Static activations store DynamicQuantizeLinear's parameters for the calibrated range; a
// value outside it saturates instead of widening the range.
TEST(StaticUint8Params, AreTheDynamicFormulaOnTheCalibratedRange) {
  for (const auto& [lo, hi] : {std::pair{-1.0f, 3.0f}, std::pair{2.0f, 5.0f}, std::pair{-12.54f, 13.07f},
                               std::pair{-0.17f, 9.73f}, std::pair{0.0f, 0.0f}}) {
    const QuantParams s = static_uint8_params(lo, hi);
    const QuantParams d = dynamic_uint8_params(lo, hi);
    EXPECT_EQ(s.scale, d.scale) << lo << " " << hi;
    EXPECT_EQ(s.zero_point, d.zero_point) << lo << " " << hi;
  }
  const QuantParams p = static_uint8_params(-1.0f, 3.0f);
  EXPECT_EQ(quantize_value(30.0f, p, kUint8), 255);
  EXPECT_EQ(quantize_value(-30.0f, p, kUint8), 0);
}

TEST(QuantizeValue, Saturates) {
  const QuantParams p{0.1f, 0};
  EXPECT_EQ(quantize_value(100.0f, p, kInt8Storage), 127);
  EXPECT_EQ(quantize_value(-100.0f, p, kInt8Storage), -128);
  EXPECT_EQ(quantize_value(0.25f, p, kInt8Storage), 2);   // 2.5 -> 2 (half to even)
}

struct WeightCase {
  int rows;
  int cols;
  int axis;  // -1 per tensor
  bool reduce_range;
};

class QuantizeWeightVsReference : public ::testing::TestWithParam<WeightCase> {};

TEST_P(QuantizeWeightVsReference, ValuesAndScalesMatch) {
  const WeightCase c = GetParam();
  auto w = testing::uniform(static_cast<std::size_t>(c.rows * c.cols), -0.7f, 0.9f, 1234u + static_cast<unsigned>(c.cols));
  // Exact ties: put k.5 * scale values into the tensor on purpose.
  const float s = symmetric_params(testing::max_abs(w), weight_range(c.reduce_range)).scale;
  if (c.axis < 0 && w.size() > 4) {
    w[1] = 2.5f * s;
    w[2] = -3.5f * s;
  }
  const std::optional<int> axis = c.axis < 0 ? std::nullopt : std::optional<int>(c.axis);
  const QuantizedWeight got = quantize_weight(w, c.rows, c.cols, axis, c.reduce_range);
  const ReferenceWeight ref = reference_quantize(w, c.rows, c.cols, c.axis, c.reduce_range);
  ASSERT_EQ(got.scales.size(), ref.scales.size());
  for (std::size_t k = 0; k < ref.scales.size(); ++k) EXPECT_EQ(got.scales[k], ref.scales[k]) << "channel " << k;
  ASSERT_EQ(got.values.size(), ref.values.size());
  const int limit = c.reduce_range ? 64 : 127;
  for (std::size_t i = 0; i < ref.values.size(); ++i) {
    EXPECT_LE(std::abs(got.values[i] - ref.values[i]), kWeightValueTolerance) << "element " << i;
    EXPECT_LE(std::abs(static_cast<int>(got.values[i])), limit);
  }
  // Round trip within half a step.
  for (int i = 0; i < c.rows; ++i) {
    for (int j = 0; j < c.cols; ++j) {
      const std::size_t k = static_cast<std::size_t>(i * c.cols + j);
      const float scale = got.scales[c.axis < 0 ? 0 : static_cast<std::size_t>(c.axis == 0 ? i : j)];
      EXPECT_LE(std::fabs(dequantize_value(got.values[k], {scale, 0}) - w[k]), kRoundTripTolerance * scale * 1.0001f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Quick, QuantizeWeightVsReference,
                         ::testing::Values(WeightCase{1, 1, -1, false}, WeightCase{7, 5, -1, false},
                                           WeightCase{7, 5, -1, true}, WeightCase{16, 9, 1, false},
                                           WeightCase{16, 9, 1, true}, WeightCase{9, 16, 0, false},
                                           WeightCase{64, 48, -1, false}, WeightCase{64, 48, 1, true}));

TEST(QuantizeWeight, TieValuesRoundHalfToEven) {
  // absmax 127 -> scale 1; 2.5 -> 2, -3.5 -> -4, 0.5 -> 0
  const std::vector<float> w{127.0f, 2.5f, -3.5f, 0.5f};
  const QuantizedWeight q = quantize_weight(w, 2, 2, std::nullopt, false);
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.values, (std::vector<std::int8_t>{127, 2, -4, 0}));
}

// quantize_weight's loops use their own branch-free rounding (so that they run fast); every
// element must still be quantize_value's, on every half step of the range (each a tie) and
// beside it, in each layout.
TEST(QuantizeWeight, EveryElementIsQuantizeValues) {
  for (const bool reduce : {false, true}) {
    for (const int axis : {-1, 0, 1}) {
      SCOPED_TRACE(::testing::Message() << "axis " << axis << (reduce ? ", reduce_range" : ""));
      const int levels = reduce ? 64 : 127;
      std::vector<float> w;
      const float step = 0.0137f;
      for (int k = -2 * levels; k <= 2 * levels; ++k) {
        const float y = 0.5f * static_cast<float>(k) * step;  // a tie when k is odd
        for (const float v : {y, std::nextafter(y, 1.0f), std::nextafter(y, -1.0f), -y}) w.push_back(v);
      }
      const auto extra = testing::uniform(16 - w.size() % 16 + 64, -1.0f, 1.0f, 99u);
      w.insert(w.end(), extra.begin(), extra.end());
      const int cols = 16;
      const int rows = static_cast<int>(w.size()) / cols;
      const std::optional<int> ax = axis < 0 ? std::nullopt : std::optional<int>(axis);
      const QuantizedWeight q = quantize_weight(w, rows, cols, ax, reduce);
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < cols; ++j) {
          const std::size_t k = static_cast<std::size_t>(i * cols + j);
          const float scale = q.scales[axis < 0 ? 0 : static_cast<std::size_t>(axis == 0 ? i : j)];
          ASSERT_EQ(q.values[k], quantize_value(w[k], {scale, 0}, kInt8Storage)) << "element " << k << " = " << w[k];
        }
      }
    }
  }
}

TEST(QuantizeWeight, ReduceRangeMapsAbsmaxTo64) {
  const std::vector<float> w{-1.0f, 0.5f, 0.25f, 1.0f};
  const QuantizedWeight q = quantize_weight(w, 2, 2, std::nullopt, true);
  EXPECT_EQ(q.scales[0], 1.0f / 64.0f);
  EXPECT_EQ(q.values, (std::vector<std::int8_t>{-64, 32, 16, 64}));
}

TEST(QuantizeWeight, AllZeroWeightsKeepAFiniteScale) {
  const std::vector<float> w(6, 0.0f);
  const QuantizedWeight q = quantize_weight(w, 2, 3, 1, false);
  for (float s : q.scales) EXPECT_EQ(s, 1.0f);
  for (auto v : q.values) EXPECT_EQ(v, 0);
}

TEST(QuantizeWeight, ZeroColumnAmongOthersPerChannel) {
  const std::vector<float> w{1.0f, 0.0f, -0.25f, 0.0f};  // [2, 2], column 1 is all zero
  const QuantizedWeight q = quantize_weight(w, 2, 2, 1, false);
  EXPECT_EQ(q.scales[0], static_cast<float>(2.0 / 254.0));
  EXPECT_EQ(q.scales[1], 1.0f);
  EXPECT_EQ(q.values, (std::vector<std::int8_t>{127, 0, -32, 0}));  // -31.75 -> -32
}

}  // namespace
}  // namespace docquant::quant
