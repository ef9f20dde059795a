#include "ort_session.h"

#include <fmt/core.h>

#include "docquant/error.h"

namespace docquant::runtime {

Ort::Env& ort_env() {
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "docquant");
  return env;
}

Ort::Session make_session(const std::string& model_bytes, const SessionConfig& config, const std::string& name) {
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(config.intra_op_threads);
  options.SetInterOpNumThreads(1);
  options.SetGraphOptimizationLevel(config.optimization);
  if (!config.optimized_model_file.empty()) options.SetOptimizedModelFilePath(config.optimized_model_file.c_str());
  try {
    return Ort::Session(ort_env(), model_bytes.data(), model_bytes.size(), options);
  } catch (const Ort::Exception& e) {
    throw InputError(fmt::format("{}: ONNX Runtime cannot load the model: {}", name, e.what()));
  }
}

}  // namespace docquant::runtime
