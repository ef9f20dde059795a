#pragma once
// Static activations' calibration: the range of every activation a quantizer reads at run
// time (quant::Candidate::activation), over the real tokens of the calibration texts, from
// one run of the fp32 graph.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "batching.h"
#include "model_form.h"
#include "ort_session.h"
#include "plan.h"
#include "smoothing.h"

namespace docquant::job {

struct CalibrationRequest {
  // The fp32 graph; the tensors are added to its outputs while it is written to
  // `scratch_file`, and removed again before this returns (no second copy of its weights).
  onnx::ModelProto* fp32 = nullptr;
  std::vector<std::string> tensors;                    // float tensors of the graph, each once
  const runtime::ModelSignature* signature = nullptr;  // the graph's text inputs
  const std::vector<runtime::Batch>* batches = nullptr;
  runtime::SessionConfig session;
  std::string model_name;               // for errors
  std::filesystem::path scratch_file;   // in the staged output folder; removed when done
  std::function<void()> check_cancel;   // polled before each batch
};

// Per tensor and channel of its last axis, the smallest and largest value over the batches'
// real tokens (positions whose attention mask is 0 are padding, which no text's answer reads,
// and are left out; a tensor whose leading axes are not [batch, tokens] counts every row).
// Throws InputError when ONNX Runtime cannot run the graph or a tensor is not float.
std::map<std::string, quant::ChannelRanges> calibrate_activation_ranges(const CalibrationRequest& request);

}  // namespace docquant::job
