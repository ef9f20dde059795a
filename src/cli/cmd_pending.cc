// Subcommands whose issues have not landed yet: they exist so that --help lists
// them, and say plainly that they are not implemented (exit code 70).
#include <fmt/core.h>

#include "commands.h"
#include "docquant/error.h"

namespace docquant::cli {
namespace {

void add_pending(CLI::App& root, const char* name, const char* summary, const char* issue) {
  auto* cmd = root.add_subcommand(name, summary);
  cmd->allow_extras();
  cmd->callback([name, issue] {
    throw InternalError(fmt::format("'docquant {}' is not implemented yet (tracked in issue {})", name, issue));
  });
}

}  // namespace

void add_classify_command(CLI::App& root) {
  add_pending(root, "classify", "Label texts with a model folder (not implemented yet)", "7");
}
void add_bench_command(CLI::App& root) {
  add_pending(root, "bench", "Latency and throughput of a model folder (not implemented yet)", "7");
}

}  // namespace docquant::cli
