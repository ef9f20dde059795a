// docquant quantize — not implemented yet (issue 6).
#include <fmt/core.h>

#include "commands.h"
#include "docquant/error.h"

namespace docquant::cli {

void add_quantize_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("quantize", "Quantize a SetFit model's ONNX body to INT8 (not implemented yet)");
  cmd->allow_extras();
  cmd->callback([] { throw InternalError("'docquant quantize' is not implemented yet (tracked in issue 6)"); });
}

}  // namespace docquant::cli
