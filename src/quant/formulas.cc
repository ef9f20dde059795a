#include "formulas.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "docquant/error.h"

namespace docquant::quant {

QuantRange weight_range(bool reduce_range) noexcept { return reduce_range ? kInt8Reduced : kInt8Symmetric; }

float round_half_even(float x) noexcept {
  // std::nearbyint would follow the caller's rounding mode; weights must not.
  const float lower = std::floor(x);
  const float frac = x - lower;  // exact: |x| < 2^23 here, or x is already integral
  if (frac > 0.5f) return lower + 1.0f;
  if (frac < 0.5f) return lower;
  return std::fmod(lower, 2.0f) == 0.0f ? lower : lower + 1.0f;
}

QuantParams symmetric_params(float absmax, QuantRange range) noexcept {
  // ORT: dr = float64(rmax - rmin) with rmax = -rmin = absmax (float32 arithmetic),
  // scale = dr / (qmax - qmin) in float64, then stored as float32.
  const float span = absmax - (-absmax);
  const double scale = static_cast<double>(span) / static_cast<double>(range.qmax - range.qmin);
  if (!(scale >= static_cast<double>(std::numeric_limits<float>::min()))) return {1.0f, 0};
  return {static_cast<float>(scale), 0};
}

QuantParams dynamic_uint8_params(float min, float max) noexcept {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  QuantParams p;
  p.scale = max == min ? 1.0f : (max - min) / static_cast<float>(kUint8.qmax - kUint8.qmin);
  const float initial = static_cast<float>(kUint8.qmin) - min / p.scale;
  const float clamped = std::clamp(initial, static_cast<float>(kUint8.qmin), static_cast<float>(kUint8.qmax));
  p.zero_point = static_cast<int>(round_half_even(clamped));
  return p;
}

int quantize_value(float x, QuantParams p, QuantRange storage) noexcept {
  const float q = round_half_even(x / p.scale) + static_cast<float>(p.zero_point);
  const float clamped = std::clamp(q, static_cast<float>(storage.qmin), static_cast<float>(storage.qmax));
  return static_cast<int>(clamped);
}

float dequantize_value(int q, QuantParams p) noexcept {
  return static_cast<float>(q - p.zero_point) * p.scale;
}

TokenScale per_token_scale(float absmax) noexcept {
  const float m = std::max(absmax, kTokenAbsmaxFloor);
  return {m / kTokenLevels, kTokenLevels / m};
}

float per_token_weight_scale(float weight_scale) noexcept { return weight_scale / kTokenLevels; }

int quantize_per_token(float x, TokenScale s) noexcept {
  const float q = round_half_even(x * s.inverse) + static_cast<float>(kTokenZeroPoint);
  return static_cast<int>(std::clamp(q, static_cast<float>(kUint8.qmin), static_cast<float>(kUint8.qmax)));
}

QuantizedWeight quantize_weight(std::span<const float> values, std::int64_t rows, std::int64_t cols,
                                std::optional<int> axis, bool reduce_range) {
  if (rows < 0 || cols < 0 || static_cast<std::size_t>(rows * cols) != values.size()) {
    throw InternalError("quantize_weight: shape does not match the number of values");
  }
  if (axis && *axis != 0 && *axis != 1) throw InternalError("quantize_weight: axis must be 0 or 1");
  const QuantRange range = weight_range(reduce_range);
  const auto r = static_cast<std::size_t>(rows);
  const auto c = static_cast<std::size_t>(cols);

  // Which scale each element uses: 0, its row, or its column.
  const auto channel_of = [&](std::size_t i, std::size_t j) -> std::size_t {
    if (!axis) return 0;
    return *axis == 0 ? i : j;
  };
  const std::size_t channels = !axis ? 1 : (*axis == 0 ? r : c);

  std::vector<float> absmax(channels, 0.0f);
  for (std::size_t i = 0; i < r; ++i) {
    for (std::size_t j = 0; j < c; ++j) {
      float& m = absmax[channel_of(i, j)];
      m = std::max(m, std::fabs(values[i * c + j]));
    }
  }

  QuantizedWeight out;
  out.scales.resize(channels);
  for (std::size_t k = 0; k < channels; ++k) out.scales[k] = symmetric_params(absmax[k], range).scale;
  out.values.resize(values.size());
  for (std::size_t i = 0; i < r; ++i) {
    for (std::size_t j = 0; j < c; ++j) {
      const QuantParams p{out.scales[channel_of(i, j)], 0};
      out.values[i * c + j] = static_cast<std::int8_t>(quantize_value(values[i * c + j], p, kInt8Storage));
    }
  }
  return out;
}

}  // namespace docquant::quant
