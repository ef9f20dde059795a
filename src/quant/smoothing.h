#pragma once
// SmoothQuant (arXiv 2211.10438) for static activations, an fp32 rewrite applied before the
// quantize pass: a tensor x read by integer GEMMs gets one Mul(x, 1/s) (shared by its GEMM
// readers, which are re-pointed to it) and each reader's weight its rows scaled by s, so the
// fp32 product is unchanged while x's outlier channels shrink before its one per-tensor scale
// is fixed. s_c = max|x_c|^alpha / max|W_c|^(1 - alpha), from the calibration's per-channel
// ranges and the readers' weights (the largest row magnitude over all readers). Readers that
// are not integer GEMMs (a residual Add, a LayerNorm) keep reading x.
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "plan.h"

namespace docquant::quant {

// One tensor's calibrated values per channel of its last axis.
struct ChannelRanges {
  std::vector<float> min;
  std::vector<float> max;
};

// s is clipped to [its kSmoothScaleLowQuantile quantile over the channels, kSmoothScaleMax], as
// NNCF 3.4's SmoothQuant does: channels of small activations are not blown up by 1/s (their
// steps would then set the tensor's range), and no weight row grows more than 100-fold.
inline constexpr float kSmoothScaleLowQuantile = 0.1f;
inline constexpr float kSmoothScaleMax = 100.0f;

struct SmoothingResult {
  int tensors_smoothed = 0;
  // The range of every smoothed tensor x / s (keyed by its new name) and of every tensor left
  // as it was: what the static quantizers read.
  ActivationRanges ranges;
};

// Rewrites `model` in place. `channels` holds every tensor the quantizers read (by name); a
// tensor is smoothed when all of its integer-GEMM readers take it as input 0 with a constant
// 2-D weight whose rows are its channels, no weight is shared with another node, and its
// channel count matches. alpha in (0, 1]; 0 leaves the model alone and returns the plain ranges.
SmoothingResult smooth_activations(onnx::ModelProto& model, const std::map<std::string, ChannelRanges>& channels,
                                   float alpha);

}  // namespace docquant::quant
