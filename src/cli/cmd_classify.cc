// docquant classify: labels for texts from a model folder.
// Placeholder until issue 7 lands: listed in --help, exits 70 saying it is not implemented.
#include <fmt/core.h>

#include "commands.h"
#include "docquant/error.h"

namespace docquant::cli {

void add_classify_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("classify", "Label texts with a model folder (not implemented yet)");
  cmd->allow_extras();
  cmd->callback([] {
    throw InternalError("'docquant classify' is not implemented yet (tracked in issue 7)");
  });
}

}  // namespace docquant::cli
