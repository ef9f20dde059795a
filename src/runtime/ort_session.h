#pragma once
// ONNX Runtime sessions, created the same way everywhere in docquant so that the
// accuracy measured while tuning is the accuracy `docquant classify` delivers.
#include <onnxruntime_cxx_api.h>

#include <filesystem>
#include <string>

#include "docquant/error.h"

namespace docquant::runtime {

// ONNX Runtime refused to create a session: an InputError naming the model, with ONNX
// Runtime's own words kept apart for callers that report them in another message.
struct ModelLoadError : InputError {
  ModelLoadError(const std::string& message, std::string ort) : InputError(message), ort_message(std::move(ort)) {}
  std::string ort_message;
};

struct SessionConfig {
  int intra_op_threads = 0;  // 0: ONNX Runtime's default (one per physical core)
  GraphOptimizationLevel optimization = GraphOptimizationLevel::ORT_ENABLE_ALL;
  // When set, ONNX Runtime writes the graph after its optimisations to this file.
  std::filesystem::path optimized_model_file;
  // false for a session that only optimises and saves the graph and never runs: ONNX Runtime
  // then keeps no repacked copy of the weights (as much memory again as the fp32 model).
  bool prepack_weights = true;
};

// The process-wide ONNX Runtime environment (created on first use; it logs nothing: its
// errors reach the caller as exceptions; its telemetry is off).
Ort::Env& ort_env();

// A session on an in-memory serialized model. `name` (a path or node) names the
// model in errors. Throws ModelLoadError (an InputError) when ONNX Runtime rejects the model,
// InternalError ("out of memory") when its allocation failed while loading it.
Ort::Session make_session(const std::string& model_bytes, const SessionConfig& config, const std::string& name);
// The same from a model file (ONNX Runtime reads it, and any external data beside it).
Ort::Session make_session_from_file(const std::filesystem::path& model_file, const SessionConfig& config,
                                    const std::string& name);

}  // namespace docquant::runtime
