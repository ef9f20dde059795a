#include "calibrate.h"

#include <fmt/core.h>

#include <algorithm>
#include <limits>
#include <set>

#include "batch_feed.h"
#include "docquant/error.h"
#include "onnx_io.h"
#include "scratch_file.h"

namespace docquant::job {

namespace {

// Folds one output of one batch into `ranges`, channel by channel of its last axis: only the
// real tokens when it is [rows, seq_len, ...].
void accumulate(quant::ChannelRanges& ranges, const Ort::Value& value, const runtime::Batch& batch,
                const std::string& tensor, const std::string& model_name) {
  const auto info = value.GetTensorTypeAndShapeInfo();
  if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    throw InputError(fmt::format("{}: tensor '{}' read by a quantized node is not float32", model_name, tensor));
  }
  const std::vector<std::int64_t> shape = info.GetShape();
  const std::size_t n = info.GetElementCount();
  if (shape.empty() || n == 0) return;
  const auto width = static_cast<std::size_t>(shape.back());
  if (ranges.min.empty()) {
    ranges.min.assign(width, std::numeric_limits<float>::infinity());
    ranges.max.assign(width, -std::numeric_limits<float>::infinity());
  }
  if (ranges.min.size() != width) {
    throw InternalError(fmt::format("{}: tensor '{}' changed its last axis between batches", model_name, tensor));
  }
  const std::size_t rows = batch.rows.size();
  const bool per_token = shape.size() >= 3 && shape[0] == static_cast<std::int64_t>(rows) &&
                         shape[1] == static_cast<std::int64_t>(batch.seq_len) && n == rows * batch.seq_len * width;
  const float* data = value.GetTensorData<float>();
  for (std::size_t row = 0; row < n / width; ++row) {
    if (per_token && batch.attention_mask[row] == 0) continue;
    const float* x = data + row * width;
    for (std::size_t c = 0; c < width; ++c) {
      ranges.min[c] = std::min(ranges.min[c], x[c]);
      ranges.max[c] = std::max(ranges.max[c], x[c]);
    }
  }
}

}  // namespace

std::map<std::string, quant::ChannelRanges> calibrate_activation_ranges(const CalibrationRequest& r) {
  onnx::GraphProto& graph = *r.fp32->mutable_graph();
  std::set<std::string> outputs;
  for (const auto& o : graph.output()) outputs.insert(o.name());
  const int original_outputs = graph.output_size();
  for (const auto& t : r.tensors) {  // added as graph outputs where they are not already
    if (!outputs.insert(t).second) continue;
    auto* added = graph.add_output();
    added->set_name(t);
    added->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  const ScratchFile file(r.scratch_file);
  try {
    model::save_model(*r.fp32, r.scratch_file);
  } catch (...) {
    graph.mutable_output()->DeleteSubrange(original_outputs, graph.output_size() - original_outputs);
    throw;
  }
  graph.mutable_output()->DeleteSubrange(original_outputs, graph.output_size() - original_outputs);

  Ort::Session session = runtime::make_session_from_file(r.scratch_file, r.session,
                                                         r.model_name + " (activation calibration graph)");
  std::vector<const char*> names;
  for (const auto& t : r.tensors) names.push_back(t.c_str());
  std::vector<quant::ChannelRanges> ranges(r.tensors.size());
  for (const auto& batch : *r.batches) {
    if (r.check_cancel) r.check_cancel();
    Feed f = feed_batch(*r.signature, batch);
    std::vector<Ort::Value> out;
    try {
      out = session.Run(Ort::RunOptions{nullptr}, f.names.data(), f.values.data(), f.values.size(), names.data(),
                        names.size());
    } catch (const Ort::Exception& e) {
      throw InputError(fmt::format("{}: ONNX Runtime failed to run the activation calibration graph: {}",
                                   r.model_name, e.what()));
    }
    for (std::size_t i = 0; i < r.tensors.size(); ++i) accumulate(ranges[i], out[i], batch, r.tensors[i], r.model_name);
  }
  std::map<std::string, quant::ChannelRanges> result;
  for (std::size_t i = 0; i < r.tensors.size(); ++i) {
    // A channel no real token reached (no batches): an empty range, quantized with scale 1.
    for (std::size_t c = 0; c < ranges[i].min.size(); ++c) {
      if (ranges[i].min[c] > ranges[i].max[c]) ranges[i].min[c] = ranges[i].max[c] = 0.0f;
    }
    result[r.tensors[i]] = std::move(ranges[i]);
  }
  return result;
}

}  // namespace docquant::job
