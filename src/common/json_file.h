#pragma once
// Reading a JSON config file with one clear error for each way it can fail.
#include <filesystem>
#include <nlohmann/json.hpp>

namespace docquant {

// Parses `file`, which must be a regular file of at most kMaxConfigBytes (file_util.h, whose
// errors it throws: a folder, a FIFO, a device, too large). Throws InputError "<file>: not
// valid JSON: …" or, for nesting deeper than any configuration needs, "<file>: line N: JSON
// nested more than …".
nlohmann::json read_json_file(const std::filesystem::path& file);

// `j` as indented text with a final newline. Strings and keys that are not valid UTF-8
// (file names are bytes on Linux) have each invalid byte written as the four characters
// \xNN, so a report naming such a file is written rather than failing at its end.
std::string json_text(nlohmann::ordered_json j);

}  // namespace docquant
