// docquant tokenize — not implemented yet (issue 4).
#include "commands.h"
#include "docquant/error.h"

namespace docquant::cli {

void add_tokenize_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("tokenize", "Print input_ids/attention_mask/token_type_ids as JSON lines (not implemented yet)");
  cmd->allow_extras();
  cmd->callback([] { throw InternalError("'docquant tokenize' is not implemented yet (tracked in issue 4)"); });
}

}  // namespace docquant::cli
