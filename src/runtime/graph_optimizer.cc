#include "graph_optimizer.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdlib>

#include "attention_fusion.h"
#include "docquant/error.h"
#include "onnx_io.h"
#include "skip_layer_norm_fusion.h"

namespace docquant::runtime {

namespace fs = std::filesystem;

GraphFusions optimize_graph(onnx::ModelProto& model, const fs::path& model_file, const fs::path& scratch,
                            const SessionConfig& config, const std::string& name) {
  SessionConfig extended = config;
  extended.optimization = GraphOptimizationLevel::ORT_ENABLE_EXTENDED;
  extended.optimized_model_file = scratch;
  extended.prepack_weights = false;  // the session only writes `scratch`; it never runs
  // `model` is read again from ONNX Runtime's output below: freed now, the fp32 weights are
  // not held three times (this proto, ONNX Runtime's, the re-read) at the phase's peak.
  model::free_model(model);
  try {
    make_session_from_file(model_file, extended, name);
  } catch (const ModelLoadError& e) {
    // Either ONNX Runtime refuses the model, or it could not write `scratch`: when it loads
    // without the file, the write failed. ONNX Runtime's own words end the message: under
    // a memory limit it fails there too, and "disk full?" alone would mislead.
    std::error_code ec;
    fs::remove(scratch, ec);
    extended.optimized_model_file.clear();
    make_session_from_file(model_file, extended, name);
    throw OutputError(fmt::format("{}: write failed (disk full?) while ONNX Runtime saved its optimised graph "
                                  "(--no_optimize_graph skips that step); ONNX Runtime said: {}",
                                  scratch.string(), e.ort_message));
  }
  model = model::load_model(scratch, /*run_checker=*/false).model;
  std::error_code ec;
  fs::remove(scratch, ec);
  GraphFusions f;
  f.attentions = graph::fuse_attention(model);
  f.skip_layer_norms = graph::fuse_skip_layer_norm(model);
  return f;
}

bool wants_graph_optimization(const onnx::ModelProto& model) {
  for (const auto& n : model.graph().node()) {
    const std::string& op = n.op_type();
    if (op == "Attention" || op == "QAttention" || op == "SkipLayerNormalization" || op == "DynamicQuantizeLinear" ||
        op == "DynamicQuantizeMatMul" || op == "MatMulInteger" || op == "MatMulIntegerToFloat" ||
        op == "QuantizeLinear" || op == "DequantizeLinear" || op == "QEmbedLayerNormalization" ||
        op == "QLinearMatMul" || op == "ConvInteger")
      return false;
  }
  return true;
}

std::string model_to_run(onnx::ModelProto& model, const fs::path& model_file, bool optimize,
                         const SessionConfig& config, const std::string& name) {
  if (optimize && wants_graph_optimization(model)) {
    // ONNX Runtime opens the scratch path with O_CREAT|O_TRUNC, following links: it goes in
    // a fresh folder only this process can enter (mkdtemp: random name, mode 0700), never
    // at a predictable name in the shared temporary folder.
    std::error_code ec;
    std::string dir_template = (fs::temp_directory_path(ec) / "docquant-XXXXXX").string();
    if (!ec && ::mkdtemp(dir_template.data()) != nullptr) {
      const fs::path dir = dir_template;
      try {
        optimize_graph(model, model_file, dir / "optimized.onnx", config, name);
      } catch (const OutputError&) {
        // Only a speed-up: without a writable temporary folder the model runs as exported
        // (read again: optimize_graph released it).
        model = model::load_model(model_file, /*run_checker=*/false).model;
      } catch (...) {
        fs::remove_all(dir, ec);
        throw;
      }
      fs::remove_all(dir, ec);
    }
  }
  return model::serialize_model(model);
}

}  // namespace docquant::runtime
