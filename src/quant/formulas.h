#pragma once
// The quantization arithmetic, written once. Every quantizer and every test
// uses these functions; tests/quant/formulas_test.cc checks them against a
// scalar reference.
//
// Conventions follow ONNX (DynamicQuantizeLinear, QuantizeLinear) and ONNX
// Runtime's Python quantization tool (quant_utils.py) so that a model quantized
// here carries the same numbers as one from `quantize_dynamic`:
//   weights      int8, symmetric (zero point 0), range [-127, 127], or
//                [-64, 64] with reduce_range; scale = 2*absmax / (qmax - qmin)
//                computed in double and rounded to float.
//   activations  uint8, asymmetric, dynamic per tensor (DynamicQuantizeLinear); or
//                uint8, symmetric around 128, dynamic per token (one scale per row
//                of the last axis; per_token_scale below); or
//                uint8, asymmetric, static per tensor (static_uint8_params below).
// Rounding is half to even; results saturate to the storage type.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace docquant::quant {

// The integer interval a scale maps the real range onto.
struct QuantRange {
  int qmin;
  int qmax;
};
inline constexpr QuantRange kInt8Symmetric{-127, 127};  // int8 weights
inline constexpr QuantRange kInt8Reduced{-64, 64};      // int8 weights, reduce_range (7 bits of magnitude)
inline constexpr QuantRange kInt8Storage{-128, 127};    // what an int8 can hold (saturation)
inline constexpr QuantRange kUint8{0, 255};             // uint8 activations

// real = scale * (q - zero_point)
struct QuantParams {
  float scale = 1.0f;
  int zero_point = 0;
};

// The weight range ORT uses for int8 weights with and without reduce_range.
QuantRange weight_range(bool reduce_range) noexcept;

// Symmetric parameters for values whose largest magnitude is `absmax`.
// A zero (or denormal-small) range gets scale 1 so dequantization stays finite.
QuantParams symmetric_params(float absmax, QuantRange range) noexcept;

// DynamicQuantizeLinear's parameters for data spanning [min, max] (uint8):
// the range is widened to include 0; scale = (max - min) / 255;
// zero_point = round_half_even(saturate(0 - min / scale)). An all-zero
// range gets scale 1, as ORT's kernel does.
QuantParams dynamic_uint8_params(float min, float max) noexcept;

// Static activations: DynamicQuantizeLinear's formula applied once, ahead of time, to the
// range [min, max] a tensor spanned on calibration data; the graph stores the result as
// QuantizeLinear's constant scale and zero point, and ONNX Runtime stores x as
// quantize_value(x, p, kUint8) (values outside the range saturate).
QuantParams static_uint8_params(float min, float max) noexcept;

// Round half to even, independent of the current floating-point environment.
float round_half_even(float x) noexcept;

// saturate(round_half_even(x / scale) + zero_point) into `storage`.
int quantize_value(float x, QuantParams p, QuantRange storage) noexcept;
float dequantize_value(int q, QuantParams p) noexcept;

// Per-token activations: a row (one token of one text) whose largest magnitude is
// `absmax` is stored as q = saturate(round_half_even(x · inverse) + 128) in uint8 and
// read back as (q − 128) · scale. The graph computes exactly these float operations
// (Max with kTokenAbsmaxFloor, Div, Mul, QuantizeLinear with scale 1), so a row's
// integers depend on that row alone. It never forms `scale` itself: MatMulIntegerToFloat
// gets the floored absmax as the row's a_scale and per_token_weight_scale(w) as b_scale,
// the same product (absmax / 127) · w with one node less per quantized tensor.
inline constexpr float kTokenLevels = 127.0f;            // |q − 128| <= 127
inline constexpr int kTokenZeroPoint = 128;
inline constexpr float kTokenAbsmaxFloor = 1e-30f;       // an all-zero row: finite scale, all q = 128
struct TokenScale {
  float scale;    // absmax / 127
  float inverse;  // 127 / absmax
};
TokenScale per_token_scale(float absmax) noexcept;
int quantize_per_token(float x, TokenScale s) noexcept;
// The weight scale stored beside a per-token activation: w / 127 (the 127 of scale).
float per_token_weight_scale(float weight_scale) noexcept;

// A 2-D float weight [rows, cols] quantized to int8, symmetric.
struct QuantizedWeight {
  std::vector<std::int8_t> values;  // row-major, same shape as the input
  std::vector<float> scales;        // 1 (per tensor) or one per index of `axis`
};

// Quantizes a row-major [rows, cols] weight. `axis` empty = one scale for the
// whole tensor; 0 = one scale per row; 1 = one scale per column.
QuantizedWeight quantize_weight(std::span<const float> values, std::int64_t rows, std::int64_t cols,
                                std::optional<int> axis, bool reduce_range);

}  // namespace docquant::quant
