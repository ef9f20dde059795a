#pragma once
// The sensitivity strategy's cheap probe: every quantizable node ranked from ONE
// ONNX Runtime session (quant/error_probe.h builds the graph), instead of one
// session per node.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "batching.h"
#include "model_form.h"
#include "ort_session.h"
#include "quantize_pass.h"

namespace docquant::tune {

struct LocalProbeRequest {
  const onnx::ModelProto* fp32 = nullptr;
  std::vector<std::string> nodes;  // keys as in quant::Candidate::node
  quant::NodeConfig config;        // how each node would be quantized
  quant::QuantPlan plan;           // the trial's plan-level switches (fused MatMul, embeddings)
  const runtime::ModelSignature* signature = nullptr;  // the graph's text inputs
  const std::vector<runtime::Batch>* batches = nullptr;
  runtime::SessionConfig session;
  std::string model_name;  // for errors
};

// Per node (same order as `nodes`): the error of its output when it alone is quantized,
// with fp32 inputs, over all the batches: the median over output channels c (the last
// axis) of ||q(y)_c - y_c|| / ||y_c||. 0 for a node the plan leaves fp32 (e.g. embeddings with
// quantize_embeddings off).
// Throws InputError when ONNX Runtime cannot load or run the probe graph.
std::vector<double> local_sensitivity(const LocalProbeRequest& request);

}  // namespace docquant::tune
