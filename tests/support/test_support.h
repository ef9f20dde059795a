#pragma once
// Helpers for the graph-level tests: run models built with graph_builder.h in ONNX Runtime
// from memory, count op types, make deterministic data, and emulate the integer kernels
// the quantized graphs run on.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "graph_builder.h"
#include "int8_kernel.h"

namespace docquant::testing {

using quant::Int8Path;

// A named input tensor: float or int64 data.
struct Feed {
  std::vector<std::int64_t> shape;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
};

struct RunOptions {
  bool optimize = true;  // ORT graph optimizations (false: run the nodes exactly as written)
};

// Runs the serialized model with ONNX Runtime (CPU) and returns its first output.
std::vector<float> run_model(const onnx::ModelProto& model, const std::map<std::string, Feed>& feeds,
                             RunOptions options = {});

// One session, several runs (first output of each).
std::vector<std::vector<float>> run_model_many(const onnx::ModelProto& model,
                                               const std::vector<std::map<std::string, Feed>>& runs,
                                               RunOptions options = {});

// One run; the named tensors (graph outputs, or float tensors inside the graph,
// which are added as outputs first). Double outputs are converted to float.
// Graph optimizations are off so every inner tensor exists.
std::map<std::string, std::vector<float>> run_model_tensors(const onnx::ModelProto& model,
                                                            const std::map<std::string, Feed>& feeds,
                                                            const std::vector<std::string>& names);

// The model as ONNX Runtime's extended graph optimizations leave it (its
// transformer fusions: Attention, EmbedLayerNormalization, SkipLayerNormalization…).
onnx::ModelProto ort_optimized(const onnx::ModelProto& model);

std::map<std::string, int> count_ops(const onnx::ModelProto& model);

// Deterministic uniform values in [lo, hi).
std::vector<float> uniform(std::size_t n, float lo, float hi, std::uint32_t seed);

float max_abs(const std::vector<float>& v);

// The u8×s8 kernel the emulation below models: the one MLAS runs on this CPU
// (int8_kernel.h), unless DOCQUANT_EMULATE_INT8_PATH names another (sse, avx2,
// avx_vnni, avx512_core, avx512_vnni, amx) -- e.g. `avx512_vnni` under
// `qemu-x86_64 -cpu Haswell` shows the full-range checks fail against the wrong arithmetic.
Int8Path emulated_int8_path();

// What an integer MatMul computes, emulated with formulas.h and int8_kernel.h: x
// [rows, K] is quantized as DynamicQuantizeLinear does (one scale for all of x), w
// [K, N] symmetric int8; the integer products are accumulated as `path`'s kernel
// does (pairs saturating to int16 on AVX2 without VNNI), scaled back, bias added.
struct EmulatedMatMul {
  std::vector<float> y;         // [rows, N]
  float x_scale = 0.0f;         // the activation step
  float max_w_scale = 0.0f;     // the largest weight step
  std::vector<int> saturated;   // [rows, N]: pairs that saturated in that output's sum
  int saturated_outputs = 0;    // outputs with at least one saturated pair
};
EmulatedMatMul emulate_integer_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                      const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                                      bool per_channel, bool reduce_range, Int8Path path = emulated_int8_path());
// The same with per-token activations (formulas.h per_token_scale): each row of x gets
// its own scale, zero point 128; what MatMulIntegerToFloat computes after the
// per-token quantization nodes. x_scale is the largest row scale.
EmulatedMatMul emulate_per_token_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                        const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                                        bool per_channel, bool reduce_range, Int8Path path = emulated_int8_path());
// The same with static activations (formulas.h static_uint8_params): one scale and zero point
// for the calibrated range [range_min, range_max], whatever x holds (values outside saturate);
// what MatMulIntegerToFloat computes after the constant QuantizeLinear.
EmulatedMatMul emulate_static_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                     const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                                     bool per_channel, bool reduce_range, float range_min, float range_max,
                                     Int8Path path = emulated_int8_path());
// The fp32 product x·w + bias.
std::vector<float> reference_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                    const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias);
// ||a - b|| / ||b||
double relative_rms_error(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace docquant::testing
