// libFuzzer target for tokenizer.json loading plus encoding. The input is a tokenizer.json,
// then a NUL byte, then a text (JSON text holds no raw NUL, so the split is unambiguous; no
// NUL means no text). Seeds are the real tokenizer.json files shrunk by make_seeds.py.
// Allowed outcomes: ids, or a docquant::Error (an unsupported or malformed tokenizer.json
// is InputError). Anything else escaping — nlohmann::json's exceptions, std::out_of_range,
// std::bad_alloc — or a sanitizer report is a bug (docs/fuzzing.md).
//
// Tokenizer::from_json_file reads a path, so the JSON goes through one file per process
// in $TMPDIR (tmpfs in scripts/fuzz.sh).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "docquant/error.h"
#include "docquant/tokenizer.h"

namespace {

const std::filesystem::path& scratch_file() {
  static const std::filesystem::path file = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
           ("docquant-tokenizer-fuzz-" + std::to_string(::getpid()) + ".json");
  }();
  return file;
}

// Removes the scratch file when an input is done: libFuzzer ends with _Exit, which skips
// atexit handlers, so nothing may be left for the end of the process.
struct ScratchRemover {
  ~ScratchRemover() {
    std::error_code ec;
    std::filesystem::remove(scratch_file(), ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string_view json = input.substr(0, split);
  const std::string_view text = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  const ScratchRemover remover;
  {
    std::ofstream out(scratch_file(), std::ios::binary | std::ios::trunc);
    out.write(json.data(), static_cast<std::streamsize>(json.size()));
    if (!out) __builtin_trap();  // the scratch file must be writable, or the run means nothing
  }
  try {
    docquant::TokenizerOptions options;
    options.max_length = 64;
    const auto tokenizer = docquant::Tokenizer::from_json_file(scratch_file(), options);
    (void)tokenizer.describe();
    const docquant::Encoding e = tokenizer.encode(text);
    if (e.input_ids.size() != e.attention_mask.size() || e.input_ids.size() != e.token_type_ids.size() ||
        e.input_ids.size() > tokenizer.max_length()) {
      __builtin_trap();
    }
  } catch (const docquant::Error&) {
  }
  return 0;
}
