#pragma once
// The graph docquant runs: ONNX Runtime's extended optimisations, then docquant's Attention
// and SkipLayerNormalization fusions (src/graph/*_fusion.h), which ONNX Runtime does not
// make itself on exported sentence-transformer graphs. `docquant quantize` applies it to
// the fp32 graph before quantizing (so its output carries it); classify, eval and bench
// apply it when they open a float model that does not carry it yet (an fp32 SetFit export),
// so an fp32 folder runs the way quantize measured its baseline.
#include <onnx/onnx_pb.h>

#include <cstddef>
#include <filesystem>
#include <string>

#include "ort_session.h"

namespace docquant::runtime {

struct GraphFusions {
  std::size_t attentions = 0;
  std::size_t skip_layer_norms = 0;
};

// Replaces `model` by the optimised graph of `model_file` (which holds `model`). ONNX
// Runtime hands its optimisations over only as a file: `scratch` is written, read back and
// removed. `model` is released before ONNX Runtime reads the file, so on a throw it is
// empty. Throws OutputError naming `scratch` when it cannot be written, InputError when
// ONNX Runtime refuses the model.
GraphFusions optimize_graph(onnx::ModelProto& model, const std::filesystem::path& model_file,
                            const std::filesystem::path& scratch, const SessionConfig& config,
                            const std::string& name);

// True for a float graph without the fusions: no quantized ops (a quantized model runs as
// its quantization measured it), no Attention, QAttention or SkipLayerNormalization.
bool wants_graph_optimization(const onnx::ModelProto& model);

// The serialized model classify, eval and bench run: `model` (loaded from `model_file`)
// optimised when `optimize` and wants_graph_optimization(), else as it is. The scratch file
// goes to the system's temporary folder; when it cannot be written the model runs as it is.
std::string model_to_run(onnx::ModelProto& model, const std::filesystem::path& model_file, bool optimize,
                         const SessionConfig& config, const std::string& name);

}  // namespace docquant::runtime
