#pragma once
// A batch's text inputs as ONNX Runtime values, for the job's own sessions on graphs that
// are not a Predictor's (the sensitivity probe graph, the calibration graph).
#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <vector>

#include "batching.h"
#include "model_form.h"

namespace docquant::job {

// The values point into `batch` (int64 inputs) or into `narrow` (int32 copies, when the
// graph asks for int32): `batch` must outlive the feed.
struct Feed {
  std::vector<const char*> names;
  std::vector<Ort::Value> values;
  std::vector<std::vector<std::int32_t>> narrow;
};

Feed feed_batch(const runtime::ModelSignature& signature, const runtime::Batch& batch);

}  // namespace docquant::job
