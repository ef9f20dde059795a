#pragma once
// The one-session sensitivity probe: a graph that computes, in a single fp32 run,
// how far each quantizable node's output moves when that node alone is quantized.
//
// Each probed node gets a twin that reads the same inputs and is rewritten by its
// quantizer exactly as a trial would rewrite it (same plan switches, same kernels in
// ONNX Runtime); the fp32 node stays, so everything downstream sees fp32 values and
// every twin sees the fp32 activations it would see if it alone were quantized. Two
// outputs per node give, per output channel (the last axis), the squared error of the
// twin's first output against the original's and the original's squared norm, summed
// over the batch's other axes.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "quantize_pass.h"

namespace docquant::quant {

struct ProbeOutput {
  std::string node;             // key as in Candidate::node
  std::string squared_error;    // graph output: sum((twin - original)^2) per channel, float [C]
  std::string squared_norm;     // graph output: sum(original^2) per channel, float [C]
};

struct ProbeModel {
  onnx::ModelProto model;
  std::vector<ProbeOutput> outputs;  // one per probed node, in the order asked
};

// The probe graph for `nodes` (keys as in Candidate::node), each twin quantized with
// `config`; `plan`'s switches (fused MatMul, embeddings) apply as in a trial. A node
// whose op type `plan` disables gets no twin and is absent from `outputs`.
// Throws UsageError for a key the model does not have.
ProbeModel build_error_probe(const onnx::ModelProto& fp32, const std::vector<std::string>& nodes,
                             const NodeConfig& config, const QuantPlan& plan);

}  // namespace docquant::quant
