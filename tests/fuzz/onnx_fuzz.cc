// libFuzzer target for the ONNX loader: protobuf parse, external-data checks and libonnx's
// checker (src/model/onnx_io.h parse_model), then what every command does next with a
// loaded graph: the SetFit signature detection (src/runtime/model_form.h) and inspect's
// graph summary (src/model/graph_summary.h). Allowed outcomes: a summary, or a
// docquant::Error; anything else escaping or a sanitizer report is a bug (docs/fuzzing.md).
//
// The model "sits" in a folder that does not exist, so external-data references are
// checked and refused without reading any file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "docquant/error.h"
#include "graph_summary.h"
#include "model_form.h"
#include "onnx_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    // The checker runs as load_model runs it for user models; without it the later
    // stages see graphs the checker would have refused, which they must survive too
    // (ONNX Runtime-written graphs are loaded that way).
    const bool run_checker = size % 2 == 0;
    const auto loaded = docquant::model::parse_model(bytes, "/nonexistent-docquant-fuzz/model.onnx", run_checker);
    (void)docquant::model::summarize(loaded.model);
    const auto signature = docquant::runtime::detect_signature(loaded.model, "model.onnx");
    (void)signature.describe();
  } catch (const docquant::Error&) {
  }
  return 0;
}
