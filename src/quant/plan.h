#pragma once
// What the quantize pass is asked to do: per-node settings and the plan-level switches.
// Quantizers read it (quantizer.h) and the pass applies it (quantize_pass.h).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace docquant::quant {

enum class WeightGranularity { per_tensor, per_channel };

// How a MatMul/Gemm's input is quantized at run time.
//   per_tensor: one scale and zero point over the whole tensor -- the whole batch and its
//               padding (DynamicQuantizeMatMul / DynamicQuantizeLinear), so a text's
//               result depends on the texts it is batched with;
//   per_token:  one scale per row of the last axis (each token of each text), symmetric
//               around 128 (formulas.h per_token_scale), then MatMulIntegerToFloat: a
//               row's result depends on that row alone.
//   static_per_tensor ("static"): one scale and zero point per tensor, calibrated ahead of time
//               (QuantPlan::activation_ranges) and stored as constants: nothing is computed
//               at run time, and every element's integer depends on that element alone.
enum class ActivationScheme { per_tensor, per_token, static_per_tensor };
std::string_view to_string(ActivationScheme scheme) noexcept;
std::optional<ActivationScheme> parse_activation_scheme(std::string_view name) noexcept;

// How one node is quantized.
struct NodeConfig {
  bool quantize = true;
  // per_channel: one scale per output column of a MatMul/Gemm weight, one per
  // row of a Gather table.
  WeightGranularity granularity = WeightGranularity::per_tensor;
  // 7-bit weights ([-64, 64], as ORT), so u8×s8 products cannot saturate on
  // AVX2 CPUs without VNNI. Only integer MatMul/Gemm use it; Gather ignores it.
  bool reduce_range = false;
  ActivationScheme activations = ActivationScheme::per_tensor;
};

// The range [min, max] of a float tensor's values seen on calibration data (static
// activations); formulas.h static_uint8_params turns it into a scale and zero point.
struct ActivationRange {
  float min = 0.0f;
  float max = 0.0f;
};
using ActivationRanges = std::map<std::string, ActivationRange>;  // by tensor name

struct QuantPlan {
  NodeConfig defaults;                         // applied to every quantizable node …
  std::map<std::string, NodeConfig> per_node;  // … unless overridden by node key (see Candidate::node)
  bool fused_matmul = true;         // com.microsoft DynamicQuantizeMatMul, else DynamicQuantizeLinear +
                                    // MatMulInteger + Cast + Mul (ai.onnx only)
  bool quantize_embeddings = true;  // Gather on a constant table -> int8 table + dequantize
  bool activation_matmul = false;   // also MatMul whose B is not a constant (both inputs quantized at run time)
  // Every activation a static_per_tensor node quantizes, by tensor name (shared, not copied,
  // by the plans of one job's trials). A static node whose input has no range is an error.
  std::shared_ptr<const ActivationRanges> activation_ranges;
};

}  // namespace docquant::quant
