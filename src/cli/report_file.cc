#include "report_file.h"

#include <fmt/core.h>

#include <filesystem>

#include "docquant/error.h"
#include "output_file.h"

namespace docquant::cli {

namespace fs = std::filesystem;

void check_report_target(const std::string& json, std::initializer_list<std::string> inputs) {
  const fs::path target = fs::absolute(json).lexically_normal();
  std::error_code ec;
  for (const std::string& in : inputs) {
    if (in.empty()) continue;
    const fs::path input = fs::absolute(in).lexically_normal();
    const auto rel = target.lexically_relative(input);
    const bool inside = fs::is_directory(input, ec) && !rel.empty() && *rel.begin() != "..";
    if (target == input || inside || (fs::exists(target, ec) && fs::equivalent(target, input, ec))) {
      throw OutputError(fmt::format("{}: --json would overwrite or write into the input '{}'; choose another file",
                                    json, in));
    }
  }
  if (fs::is_directory(target, ec)) throw OutputError(fmt::format("{}: --json names a folder, not a file", json));
  if (!fs::is_directory(target.parent_path(), ec)) {
    throw OutputError(fmt::format("{}: --json: folder '{}' does not exist", json, target.parent_path().string()));
  }
}

void write_json_report(const std::string& path, const std::string& text) {
  OutputFile out(path, path);
  out.write(text);
  out.commit();
}

}  // namespace docquant::cli
