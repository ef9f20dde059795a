#pragma once
// The --json reports of eval and bench: checked before the (long) measurement so that a
// typo fails at once, never written over or into an input, and written whole or not at all.
#include <initializer_list>
#include <string>

namespace docquant::cli {

// Throws OutputError when `target` is one of `inputs` (also through a link), lies inside an
// input folder, is a folder, or its folder does not exist. Empty inputs are ignored.
void check_report_target(const std::string& target, std::initializer_list<std::string> inputs);

// Writes `text` to a temporary sibling and renames it into place; a FIFO or a device such
// as /dev/stdout is written directly (src/common/output_file.h). Throws OutputError naming
// `path`.
void write_json_report(const std::string& path, const std::string& text);

}  // namespace docquant::cli
