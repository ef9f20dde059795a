#include "ort_session.h"

#include <fmt/core.h>

#include <cstdlib>

#include "docquant/error.h"

namespace docquant::runtime {

namespace {

// ONNX Runtime 1.29's Linux build carries Microsoft's 1DS telemetry SDK. Creating an Env
// starts it unless ORT_DISABLE_TELEMETRY is set: it writes $TMPDIR/.ses and an empty
// $TMPDIR/mat-debug-<pid>.log, and queues events in
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db (seen with strace). The
// variable is read when the Env is created, so it is set first (a user's own value is kept);
// DisableTelemetryEvents() alone, called on an existing Env, comes too late to stop the files.
Ort::Env make_env() {
  ::setenv("ORT_DISABLE_TELEMETRY", "1", /*overwrite=*/0);
  // FATAL: an error ONNX Runtime would log (in colour, on stderr) it also returns, and docquant
  // reports it once in its own message; at ERROR it showed twice.
  Ort::Env env(ORT_LOGGING_LEVEL_FATAL, "docquant");
  env.DisableTelemetryEvents();
  return env;
}

}  // namespace

Ort::Env& ort_env() {
  static Ort::Env env = make_env();
  return env;
}

namespace {

Ort::SessionOptions session_options(const SessionConfig& config) {
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(config.intra_op_threads);
  options.SetInterOpNumThreads(1);
  options.SetGraphOptimizationLevel(config.optimization);
  if (!config.optimized_model_file.empty()) options.SetOptimizedModelFilePath(config.optimized_model_file.c_str());
  if (!config.prepack_weights) options.AddConfigEntry("session.disable_prepacking", "1");
  return options;
}

template <class Create>
Ort::Session checked(Create create, const std::string& name) {
  try {
    return create();
  } catch (const Ort::Exception& e) {
    // ONNX Runtime turns an allocation failure into a load failure: said as what it is (out of
    // memory, exit 70, as docquant's own), not as a model it cannot read (exit 3) or a full disk.
    const std::string what = e.what();
    if (what.find("bad_alloc") != std::string::npos || what.find("Failed to allocate") != std::string::npos) {
      throw InternalError(
          fmt::format("{}: out of memory while ONNX Runtime loaded the model; ONNX Runtime said: {}", name, what));
    }
    throw ModelLoadError(fmt::format("{}: ONNX Runtime cannot load the model: {}", name, what), what);
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
