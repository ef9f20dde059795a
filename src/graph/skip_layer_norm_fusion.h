#pragma once
// Residual Add + LayerNormalization -> com.microsoft SkipLayerNormalization, the fusion
// ONNX Runtime's own optimiser does not make on exported sentence-transformer graphs
// (its SkipLayerNormFusion needs input shapes the exporter leaves symbolic). One CPU
// kernel instead of two passes over the hidden states; on MiniLM it is the largest
// non-GEMM cost of an int8 model (docs/quantize.md, "SkipLayerNormalization").
#include <onnx/onnx_pb.h>

#include <cstddef>

namespace docquant::graph {

// Rewrites, in graph order, every
//     y = LayerNormalization(Add(x, r), gamma[, beta])      (axis -1, output 0 only)
// where r is output 0 of a LayerNormalization, SkipLayerNormalization or
// EmbedLayerNormalization (the transformer's residual stream, so r and x are both
// [batch, sequence, hidden]) and the Add feeds nothing else, into
//     y = SkipLayerNormalization(x', r, gamma, beta[, bias])   (com.microsoft, same epsilon)
// When x = Add(x', bias) with a constant 1-D bias of gamma's width feeding only this Add,
// the bias moves into the fused node too. The LayerNormalization's name is kept.
// Returns how many were fused; graphs without the pattern are left untouched.
std::size_t fuse_skip_layer_norm(onnx::ModelProto& model);

}  // namespace docquant::graph
