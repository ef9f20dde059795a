#include "json_file.h"

#include <fmt/core.h>

#include <string_view>

#include "docquant/error.h"
#include "file_util.h"
#include "text_util.h"

namespace docquant {

namespace {

// No config docquant reads nests deeper than ~10 (tokenizer.json: a Sequence of Sequences
// of normalizers); 128 leaves room for any real file and bounds the recursive parsers that
// walk the tree (normalizer and pre-tokenizer Sequences, field paths in messages).
constexpr int kMaxJsonDepth = 128;

// Throws InputError when `text` nests arrays/objects deeper than kMaxJsonDepth: checked in
// one linear pass before parsing, so a hostile file can neither exhaust the stack nor make
// the parsers behind nlohmann::json spend time quadratic in its depth.
void check_json_depth(std::string_view text, const std::filesystem::path& file) {
  int depth = 0;
  std::size_t line = 1;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character (a quote or a backslash) cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        throw InputError(fmt::format("{}: line {}: JSON nested more than {} levels deep; no model configuration "
                                     "nests like this (a corrupt or hostile file)",
                                     file.string(), line, kMaxJsonDepth));
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// `s` with every byte of an invalid UTF-8 sequence written as \xNN.
std::string escape_invalid_utf8(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    const auto bad = find_invalid_utf8(s);
    if (!bad) break;
    out.append(s.substr(0, *bad));
    out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[*bad]));
    s.remove_prefix(*bad + 1);
  }
  out.append(s);
  return out;
}

void escape_strings(nlohmann::ordered_json& j) {
  if (j.is_string()) {
    if (find_invalid_utf8(j.get_ref<const std::string&>())) j = escape_invalid_utf8(j.get_ref<const std::string&>());
  } else if (j.is_array()) {
    for (auto& e : j) escape_strings(e);
  } else if (j.is_object()) {
    nlohmann::ordered_json copy = nlohmann::ordered_json::object();
    for (auto& [key, value] : j.items()) {
      escape_strings(value);
      copy[find_invalid_utf8(key) ? escape_invalid_utf8(key) : key] = std::move(value);
    }
    j = std::move(copy);
  }
}

}  // namespace

std::string json_text(nlohmann::ordered_json j) {
  escape_strings(j);
  return j.dump(2) + "\n";
}

nlohmann::json read_json_file(const std::filesystem::path& file) {
  const std::string text = read_regular_file(file, kMaxConfigBytes, "a JSON configuration");
  check_json_depth(text, file);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file.string() + ": not valid JSON: " + e.what());
  }
}

}  // namespace docquant
