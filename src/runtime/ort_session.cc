#include "ort_session.h"

#include <fmt/core.h>

#include "docquant/error.h"

namespace docquant::runtime {

Ort::Env& ort_env() {
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "docquant");
  return env;
}

namespace {

Ort::SessionOptions session_options(const SessionConfig& config) {
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(config.intra_op_threads);
  options.SetInterOpNumThreads(1);
  options.SetGraphOptimizationLevel(config.optimization);
  if (!config.optimized_model_file.empty()) options.SetOptimizedModelFilePath(config.optimized_model_file.c_str());
  return options;
}

template <class Create>
Ort::Session checked(Create create, const std::string& name) {
  try {
    return create();
  } catch (const Ort::Exception& e) {
    throw InputError(fmt::format("{}: ONNX Runtime cannot load the model: {}", name, e.what()));
  }
}

}  // namespace

Ort::Session make_session(const std::string& model_bytes, const SessionConfig& config, const std::string& name) {
  const Ort::SessionOptions options = session_options(config);
  return checked([&] { return Ort::Session(ort_env(), model_bytes.data(), model_bytes.size(), options); }, name);
}

Ort::Session make_session_from_file(const std::filesystem::path& model_file, const SessionConfig& config,
                                    const std::string& name) {
  const Ort::SessionOptions options = session_options(config);
  return checked([&] { return Ort::Session(ort_env(), model_file.c_str(), options); }, name);
}

}  // namespace docquant::runtime
