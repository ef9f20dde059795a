#pragma once
// Self-attention subgraphs -> com.microsoft Attention, which the quantize pass then turns
// into QAttention: one int8 GEMM for Q, K and V (one quantization of their shared input)
// and ONNX Runtime's fused attention kernel, instead of three DynamicQuantizeMatMul and
// nine reshaping, scaling, masking and softmax nodes per layer.
#include <onnx/onnx_pb.h>

#include <cstddef>

namespace docquant::graph {

// Rewrites every BERT-style self-attention of the form ONNX Runtime's extended
// optimisations leave an Optimum export in:
//     Q = Transpose(Reshape(Add(MatMul(x, Wq), bq), [0, 0, N, h]), perm 0 2 1 3)
//     K = Transpose(Reshape(Add(MatMul(x, Wk), bk), [0, 0, N, h]), perm 0 2 3 1)
//     V = Transpose(Reshape(Add(MatMul(x, Wv), bv), [0, 0, N, h]), perm 0 2 1 3)
//     P = Softmax(Add(FusedMatMul(Q, K, alpha) | Div(MatMul(Q, K), d), M), last axis)
//     y = Reshape(Transpose(MatMul(P, V), perm 0 2 1 3), [0, 0, N*h])
// where M = Mul(Sub(1, Cast(Unsqueeze(Unsqueeze(mask)))), c) for a 2-D graph input
// `mask` (the attention mask), into
//     y = Attention(x, [Wq | Wk | Wv], [bq | bk | bv], Cast(mask, int32))
//         num_heads N, scale alpha (or 1/d), mask_filter_value c
// with every intermediate tensor read by nothing else. MPNet adds a relative position
// bias B to the scores before the mask, Add(Add(scores, B), M), B computed once for all
// layers from a [buckets, N] table (attention_fusion.cc, relative_position_bias); B
// becomes Attention's attention_bias input:
//     y = Attention(x, [Wq | Wk | Wv], [bq | bk | bv], Cast(mask, int32), "", B)
// Returns how many were fused; other graphs are left untouched. Nodes the fusion leaves
// unread are removed (the mask chains, B's Expand to the batch).
std::size_t fuse_attention(onnx::ModelProto& model);

}  // namespace docquant::graph
