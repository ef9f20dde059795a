#pragma once
// Whether a graph gives every text the answer it gets alone, whatever texts share its batch,
// read off the graph itself: a record beside the model (quantization.json) can be wrong or
// absent, the graph is what runs. Dynamic INT8 with one activation scale per tensor computed at
// run time (DynamicQuantizeLinear, DynamicQuantizeMatMul) is the case that matters: the scale
// of a batch is the largest value of all its texts, so a text's answer moves with its
// neighbours (2.7 % of SST-2 labels between two batchings, docs/spark.md). Calibrated constant
// scales (docquant's --approach static) and per-token ones keep texts apart.
//
// The proof is an allow-list, not a deny-list: a node that reads text data must be an op known
// to keep texts apart (batch_invariance.cc lists them), used so that the batch stays the leading
// axis of every tensor holding text data and no reduction, normalisation, softmax, split,
// concatenation or gather runs along it. Any other op -- an unknown contrib op, a subgraph, a
// Reshape that may merge the batch axis -- ends the proof, so "not proven" is the answer for
// graphs this does not understand, never a wrong "invariant". Values computed from shapes
// (Shape, Gather of a dimension, Slice of position ids) are structure, not text data.
// Padding is not counted as a neighbour: masked positions change results by float rounding
// only, as any fp32 model batched with padding does.
#include <onnx/onnx_pb.h>

#include "docquant/classifier.h"

namespace docquant::runtime {

// Checks every node of `model`'s main graph; `reason` names the first node that ends the proof.
BatchInvariance check_batch_invariance(const onnx::ModelProto& model);

}  // namespace docquant::runtime
