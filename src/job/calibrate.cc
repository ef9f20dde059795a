#include "calibrate.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "batch_feed.h"
#include "docquant/error.h"
#include "onnx_io.h"
#include "scratch_file.h"

namespace docquant::job {

namespace {

// Folds one output of one batch into `range`: its real tokens when it is [rows, seq_len, ...].
void accumulate(quant::ActivationRange& range, bool& seen, const Ort::Value& value, const runtime::Batch& batch,
                const std::string& tensor, const std::string& model_name) {
  const auto info = value.GetTensorTypeAndShapeInfo();
  if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    throw InputError(fmt::format("{}: tensor '{}' read by a quantized node is not float32", model_name, tensor));
  }
  const std::vector<std::int64_t> shape = info.GetShape();
  const float* data = value.GetTensorData<float>();
  const std::size_t n = info.GetElementCount();
  const std::size_t rows = batch.rows.size();
  const bool per_token = shape.size() >= 2 && shape[0] == static_cast<std::int64_t>(rows) &&
                         shape[1] == static_cast<std::int64_t>(batch.seq_len) && rows * batch.seq_len > 0;
  const std::size_t width = per_token ? n / (rows * batch.seq_len) : n;
  for (std::size_t token = 0; token < (per_token ? rows * batch.seq_len : 1); ++token) {
    if (per_token && batch.attention_mask[token] == 0) continue;
    const auto [lo, hi] = std::minmax_element(data + token * width, data + (token + 1) * width);
    if (lo == data + (token + 1) * width) continue;
    range.min = seen ? std::min(range.min, *lo) : *lo;
    range.max = seen ? std::max(range.max, *hi) : *hi;
    seen = true;
  }
}

}  // namespace

quant::ActivationRanges calibrate_activation_ranges(const CalibrationRequest& r) {
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
  std::vector<quant::ActivationRange> ranges(r.tensors.size());
  std::vector<bool> seen(r.tensors.size(), false);
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
    for (std::size_t i = 0; i < r.tensors.size(); ++i) {
      bool s = seen[i];
      accumulate(ranges[i], s, out[i], batch, r.tensors[i], r.model_name);
      seen[i] = s;
    }
  }
  quant::ActivationRanges result;
  for (std::size_t i = 0; i < r.tensors.size(); ++i) result[r.tensors[i]] = ranges[i];
  return result;
}

}  // namespace docquant::job
