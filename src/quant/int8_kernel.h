#pragma once
// Which integer kernel ONNX Runtime's MLAS runs for a u8 (activation) × s8 (weight)
// GEMM on this CPU, and the arithmetic that kernel performs. Every integer op a
// docquant model uses on x86 (DynamicQuantizeMatMul, MatMulInteger, QAttention)
// ends in that GEMM.
//
// The kernels differ in one way that matters: without VNNI, MLAS multiplies with
// AVX2's `vpmaddubsw` (or its AVX-512BW twin), which adds the products of two
// neighbouring k (2p, 2p+1) into a *saturating* int16 before widening to int32.
// With 8-bit weights 255·127 + 255·127 = 64770 overflows 32767; with 7-bit weights
// (reduce_range, |w| <= 64) 255·64·2 = 32640 cannot. VNNI (`vpdpbusd`), AMX and the
// SSE fallback (int16 × int16 `pmaddwd`) accumulate exactly in int32.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace docquant::quant {

// MLAS's u8×s8 GEMM kernel families on x86-64 (onnxruntime/core/mlas/lib/platform.cpp).
enum class Int8Path {
  sse,          // no AVX2: SSE2 kernels, int16 × int16 products (exact)
  avx2,         // AVX2 + FMA3, no VNNI: vpmaddubsw, pairs saturate to int16
  avx_vnni,     // AVX-VNNI (VEX vpdpbusd), exact
  avx512_core,  // AVX-512 BW/DQ/VL without VNNI: vpmaddubsw on zmm, pairs saturate to int16
  avx512_vnni,  // AVX-512 VNNI, exact
  amx,          // AMX-INT8 tiles, exact
  not_x86,      // another architecture: not modelled here
};

std::string_view to_string(Int8Path path) noexcept;
std::optional<Int8Path> parse_int8_path(std::string_view name) noexcept;

// The path MLAS picks on this CPU, decided as MLAS decides it: CPUID leaves 1 and 7
// (AVX, OSXSAVE, FMA3, AVX2, AVX-512F/BW/DQ/VL, AVX512-VNNI, AMX) and XCR0 (the OS
// saves the AVX / AVX-512 / tile state). Computed once.
Int8Path host_int8_path();

// The CPU's name as /proc/cpuinfo gives it ("model name"), or "unknown".
std::string host_cpu_model();

// True where a pair of u8×s8 products is summed into a saturating int16.
bool int8_path_saturates(Int8Path path) noexcept;

// The largest |a0·b0 + a1·b1| a pairwise kernel holds exactly; beyond it, int16 saturates.
inline constexpr std::int32_t kInt16Max = 32767;
inline constexpr std::int32_t kInt16Min = -32768;
inline constexpr int kUint8Max = 255;

// One output of the u8×s8 GEMM as `path` computes it, before the zero-point
// correction: sum over k of a[k]·b[k·b_stride] (a raw uint8, b int8), with the
// products of k = 2p and 2p+1 added into a saturating int16 first on a pairwise
// path (k runs from 0 within the row, as MLAS packs K in groups of 4 from 0).
// `saturated`, when given, is incremented once per pair that saturated.
std::int64_t dot_u8s8(std::span<const std::uint8_t> a, const std::int8_t* b, std::size_t b_stride, Int8Path path,
                      int* saturated = nullptr) noexcept;

// The largest |a0·b0 + a1·b1| / 255 over a row-major [k, n] int8 weight's pairs of rows
// (2p, 2p+1) and every uint8 a: |b0| + |b1| where the signs agree, else max(|b0|, |b1|).
// A pairwise kernel can saturate on some activation iff 255 · this > 32767.
int max_pair_magnitude(std::span<const std::int8_t> values, std::int64_t k, std::int64_t n) noexcept;
bool pairwise_can_saturate(int max_pair_magnitude) noexcept;

}  // namespace docquant::quant
