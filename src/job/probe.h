#pragma once
// The sensitivity strategy's probes, which rank quantizable nodes by how much quantizing
// each one alone costs:
//   local:    every node from ONE ONNX Runtime session (quant/error_probe.h builds the
//             graph): each node's own output error;
//   isolated: one session per node: how far the class probabilities move (slow).
#include <onnx/onnx_pb.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "batching.h"
#include "docquant/setfit.h"
#include "model_form.h"
#include "ort_session.h"
#include "quantize_pass.h"

namespace docquant::job {

struct LocalProbeRequest {
  const onnx::ModelProto* fp32 = nullptr;
  std::vector<std::string> nodes;  // keys as in quant::Candidate::node
  quant::NodeConfig config;        // how each node would be quantized
  quant::QuantPlan plan;           // the trial's plan-level switches (fused MatMul, embeddings)
  const runtime::ModelSignature* signature = nullptr;  // the graph's text inputs
  const std::vector<runtime::Batch>* batches = nullptr;
  runtime::SessionConfig session;
  std::string model_name;  // for errors
  // Where the probe graph is written for ONNX Runtime to read (in the staged output
  // folder); removed when the probe ends.
  std::filesystem::path scratch_file;
  // Called once the probe graph is on disk and its proto freed, before ONNX Runtime reads
  // it: the session then holds every fp32 weight itself, so the caller may free what the
  // graph was built from (*fp32) until the probe returns. May be empty.
  std::function<void()> release_inputs;
};

// Per node (same order as `nodes`): the error of its output when it alone is quantized,
// with fp32 inputs, over all the batches: the median over output channels c (the last
// axis) of ||q(y)_c - y_c|| / ||y_c||. 0 for a node the plan leaves fp32 (e.g. embeddings with
// quantize_embeddings off).
// Throws InputError when ONNX Runtime cannot load or run the probe graph.
std::vector<double> local_sensitivity(const LocalProbeRequest& request);

struct IsolatedProbeRequest {
  const std::string* fp32_bytes = nullptr;  // the serialized fp32 graph
  std::size_t nodes = 0;                    // how many nodes to rank
  // The serialized model with node i alone quantized, as a trial would quantize it.
  std::function<std::string(std::size_t i)> quantized_alone;
  const runtime::ModelSignature* signature = nullptr;  // must give probabilities (not labels only)
  const setfit::SetFitFolder* folder = nullptr;
  const std::vector<runtime::Batch>* batches = nullptr;
  std::size_t rows = 0;  // texts in `batches`
  // The evaluation's session settings; the probe lowers ONNX Runtime's graph optimisations.
  runtime::SessionConfig session;
  std::string model_name;                             // for errors
  std::function<void()> check_cancel;                 // polled before each node and batch
  std::function<void(const std::string&)> progress;   // a line every 10 nodes and at the end
};

// Per node: the mean absolute change of the class probabilities on the batches when it
// alone is quantized, against fp32 computed the same way (one session per node).
// Throws InputError when ONNX Runtime cannot load or run a model.
std::vector<double> isolated_sensitivity(const IsolatedProbeRequest& request);

}  // namespace docquant::job
