#pragma once
// Reading a JSON config file with one clear error for each way it can fail.
#include <filesystem>
#include <nlohmann/json.hpp>

namespace docquant {

// Parses `file`. Throws InputError "<file>: cannot open", "<file>: not valid JSON: …" or, for
// nesting deeper than any configuration needs, "<file>: line N: JSON nested more than …".
nlohmann::json read_json_file(const std::filesystem::path& file);

}  // namespace docquant
