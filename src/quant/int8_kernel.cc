#include "int8_kernel.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace docquant::quant {

namespace {

constexpr std::array<std::pair<Int8Path, std::string_view>, 7> kNames{{
    {Int8Path::sse, "sse"},
    {Int8Path::avx2, "avx2"},
    {Int8Path::avx_vnni, "avx_vnni"},
    {Int8Path::avx512_core, "avx512_core"},
    {Int8Path::avx512_vnni, "avx512_vnni"},
    {Int8Path::amx, "amx"},
    {Int8Path::not_x86, "not_x86"},
}};

#if defined(__x86_64__)
std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

// MlasInitAMX: Linux hands out AMX tile state only on request (arch_prctl).
bool request_amx() {
  constexpr long kArchGetXcompPerm = 0x1022;
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr unsigned long kXfeatureXtiledata = 18;
  constexpr unsigned long kXfeatureMaskXtile = (1ul << 17) | (1ul << 18);
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) return false;
  unsigned long bitmask = 0;
  if (syscall(SYS_arch_prctl, kArchGetXcompPerm, &bitmask) != 0) return false;
  return (bitmask & kXfeatureMaskXtile) != 0;
}

// The same tests, in the same order, as MLAS_PLATFORM's constructor; a later match
// overrides an earlier one there, so it does here.
Int8Path detect() {
  unsigned c1[4] = {};
  if (!__get_cpuid(1, &c1[0], &c1[1], &c1[2], &c1[3])) return Int8Path::sse;
  if ((c1[2] & 0x18000000u) != 0x18000000u) return Int8Path::sse;  // AVX and OSXSAVE
  const std::uint64_t xcr0 = read_xcr0();
  if ((xcr0 & 0x6u) != 0x6u) return Int8Path::sse;  // the OS saves SSE and AVX state
  unsigned c7[4] = {};
  unsigned c71[4] = {};
  __cpuid_count(7, 0, c7[0], c7[1], c7[2], c7[3]);
  __cpuid_count(7, 1, c71[0], c71[1], c71[2], c71[3]);
  if ((c1[2] & 0x1000u) == 0 || (c7[1] & 0x20u) == 0) return Int8Path::sse;  // FMA3 and AVX2

  Int8Path path = Int8Path::avx2;
  if ((c71[0] & 0x10u) != 0) path = Int8Path::avx_vnni;
  if ((c7[1] & 0x10000u) != 0 && (xcr0 & 0xE0u) == 0xE0u) {  // AVX-512F, OS saves its state
    if ((c7[1] & 0xC0020000u) == 0xC0020000u) {                // BW, DQ, VL
      path = Int8Path::avx512_core;
      if ((c7[2] & 0x800u) != 0) path = Int8Path::avx512_vnni;
    }
  }
  constexpr std::uint64_t kXtile = (1ull << 17) | (1ull << 18);
  if ((c7[3] & (1u << 24)) != 0 && (c7[3] & (1u << 25)) != 0 && (xcr0 & kXtile) == kXtile && request_amx()) {
    path = Int8Path::amx;
  }
  return path;
}
#else
Int8Path detect() { return Int8Path::not_x86; }
#endif

}  // namespace

std::string_view to_string(Int8Path path) noexcept {
  for (const auto& [p, name] : kNames) {
    if (p == path) return name;
  }
  return "unknown";
}

std::optional<Int8Path> parse_int8_path(std::string_view name) noexcept {
  for (const auto& [p, n] : kNames) {
    if (n == name) return p;
  }
  return std::nullopt;
}

Int8Path host_int8_path() {
  static const Int8Path path = detect();
  return path;
}

std::string host_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown" : line.substr(start);
  }
  return "unknown";
}

bool int8_path_saturates(Int8Path path) noexcept { return path == Int8Path::avx2 || path == Int8Path::avx512_core; }

std::int64_t dot_u8s8(std::span<const std::uint8_t> a, const std::int8_t* b, std::size_t b_stride, Int8Path path,
                      int* saturated) noexcept {
  const bool pairwise = int8_path_saturates(path);
  std::int64_t acc = 0;
  for (std::size_t k = 0; k < a.size(); k += 2) {
    std::int32_t pair = static_cast<std::int32_t>(a[k]) * b[k * b_stride];
    if (k + 1 < a.size()) pair += static_cast<std::int32_t>(a[k + 1]) * b[(k + 1) * b_stride];
    if (pairwise && (pair > kInt16Max || pair < kInt16Min)) {
      pair = std::clamp(pair, kInt16Min, kInt16Max);
      if (saturated != nullptr) ++*saturated;
    }
    acc += pair;
  }
  return acc;
}

int max_pair_magnitude(std::span<const std::int8_t> values, std::int64_t k, std::int64_t n) noexcept {
  int best = 0;
  for (std::int64_t row = 0; row < k; row += 2) {
    for (std::int64_t col = 0; col < n; ++col) {
      const int b0 = values[static_cast<std::size_t>(row * n + col)];
      const int b1 = row + 1 < k ? values[static_cast<std::size_t>((row + 1) * n + col)] : 0;
      // With a in [0, 255], |a0·b0 + a1·b1| peaks at 255·(|b0| + |b1|) when the signs
      // agree, and at 255·max(|b0|, |b1|) when they differ (one a at 0).
      const bool same_sign = (b0 >= 0) == (b1 >= 0);
      best = std::max(best, same_sign ? std::abs(b0) + std::abs(b1) : std::max(std::abs(b0), std::abs(b1)));
    }
  }
  return best;
}

bool pairwise_can_saturate(int max_pair_magnitude) noexcept {
  return static_cast<std::int64_t>(kUint8Max) * max_pair_magnitude > kInt16Max;
}

}  // namespace docquant::quant
