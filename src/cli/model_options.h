#pragma once
// The model options eval and bench share: the model to measure and, optionally, a second
// one measured beside it.
#include <CLI/CLI.hpp>

#include <string>

namespace docquant::cli {

// Help of --no_optimize_graph, shared with classify.
extern const char* const kNoOptimizeGraphHelp;

struct ModelOptions {
  std::string model_folder, onnx_model, compare, compare_onnx;
  bool optimize_graph = true;  // float models without docquant's fusions get them when opened

  // Throws UsageError for --compare_onnx without --compare (it would be ignored).
  void check() const;
};

// Registers --model_folder (required), --onnx_model, --compare (`compare_help` says what the
// command does with it), --compare_onnx and --no_optimize_graph on `cmd`.
void add_model_options(CLI::App* cmd, ModelOptions& m, const std::string& compare_help);

}  // namespace docquant::cli
