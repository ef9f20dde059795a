#include "model_options.h"

#include "docquant/error.h"

namespace docquant::cli {

const char* const kNoOptimizeGraphHelp =
    "Run a float model exactly as exported. By default an fp32 model without docquant's graph\n"
    "fusions gets them when opened, as quantize gives them to the graph it measures (faster;\n"
    "outputs within ~1e-5; about a second more to open MiniLM). Quantized models run as they are";

void ModelOptions::check() const {
  if (!compare_onnx.empty() && compare.empty()) throw UsageError("--compare_onnx needs --compare");
}

void add_model_options(CLI::App* cmd, ModelOptions& m, const std::string& compare_help) {
  cmd->add_option("--model_folder", m.model_folder, "Model folder (model.onnx + SetFit files)")->required();
  cmd->add_option("--onnx_model", m.onnx_model, "ONNX model to use instead of MODEL_FOLDER/model.onnx");
  cmd->add_option("--compare", m.compare, compare_help);
  cmd->add_option("--compare_onnx", m.compare_onnx, "ONNX model of the second folder, if not COMPARE/model.onnx");
  cmd->add_flag("!--no_optimize_graph", m.optimize_graph, kNoOptimizeGraphHelp);
}

}  // namespace docquant::cli
