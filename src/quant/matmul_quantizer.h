#pragma once
// The integer MatMul both the MatMul and the Gemm quantizers emit.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "graph_context.h"

namespace docquant::quant {

struct IntegerMatMul {
  std::string stem;          // name stem of the node being replaced
  std::string a;             // float activation [..., K]
  QuantizedWeightNames b;    // constant int8 weight [K, N]; empty values = B is an activation …
  std::string b_activation;  // … this float tensor, quantized at run time
  std::string bias;          // optional float [N] added to the result
  std::string output;        // the replaced node's output
};

// Fused: com.microsoft DynamicQuantizeMatMul(A, B, b_scale, b_zero_point, bias).
// Unfused: DynamicQuantizeLinear(A) -> MatMulInteger -> Cast(float) -> Mul(a_scale * b_scale)
// [-> Add(bias)], ai.onnx only. An activation B is always unfused.
std::vector<onnx::NodeProto> emit_integer_matmul(const IntegerMatMul& mm, bool fused, NameAllocator& names);

// Per-token activations (ActivationScheme::per_token; constant B only): A's per-token
// quantization from `activations` (shared with other readers of A), then
// com.microsoft MatMulIntegerToFloat(A_q, B, a_scale [..., 1], b_scale, 128, b_zero_point)
// [-> Add(bias)], where a_scale is the row's absmax and B's scale was quantized with
// WeightLayout::per_token_scale (w / 127). The bias is never passed to MatMulIntegerToFloat: ONNX Runtime 1.29
// multiplies it by a per-row a_scale (measured: a bias b comes out as b · a_scale[row]).
std::vector<onnx::NodeProto> emit_per_token_matmul(const IntegerMatMul& mm, ActivationStore& activations,
                                                   NameAllocator& names);

// Static activations (ActivationScheme::static_per_tensor; constant B only): A's QuantizeLinear
// with its calibrated constant scale and zero point (shared with other readers of A), then
// com.microsoft MatMulIntegerToFloat(A_q, B, a_scale, b_scale, a_zero_point, b_zero_point[, bias]).
// With a scalar a_scale ONNX Runtime adds the bias after scaling, so it is folded in.
std::vector<onnx::NodeProto> emit_static_matmul(const IntegerMatMul& mm, ActivationStore& activations,
                                                const ActivationRanges* ranges, NameAllocator& names);

}  // namespace docquant::quant
