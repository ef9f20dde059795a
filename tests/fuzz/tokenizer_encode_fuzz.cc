// libFuzzer target for encoding with real tokenizers: the first input byte picks one of the
// tokenizers loaded at start-up, the rest is the text (any bytes; invalid UTF-8 must become
// U+FFFD, never a crash). Allowed outcomes: ids, or a docquant::Error; anything else is a
// bug (docs/fuzzing.md). Checks the Encoding's promises: three vectors of one length, at
// most max_length() tokens, encode_batch agreeing with encode.
//
// Tokenizers: $DOCQUANT_FUZZ_TOKENIZERS (':'-separated SetFit folders or tokenizer.json
// files) if set, else every one of these that exists: the minilm-sst2 fixture's SetFit
// folder, ../shared's setfit-sst2-mpnet folder, and the tokenizer.json files the tokenizer
// goldens fetched into $DOCQUANT_CACHE/tokenizers (BPE, Unigram, Metaspace, WordPiece
// variants). None found: exit 77 (ctest: skipped; scripts/fuzz.sh: a failure).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "docquant/error.h"
#include "docquant/tokenizer.h"

namespace fs = std::filesystem;

namespace {

std::vector<docquant::Tokenizer>& tokenizers() {
  static std::vector<docquant::Tokenizer> all;
  return all;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::vector<fs::path> candidate_paths() {
  std::vector<fs::path> paths;
  if (const char* list = std::getenv("DOCQUANT_FUZZ_TOKENIZERS"); list != nullptr && *list != '\0') {
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ':');) {
      if (!item.empty()) paths.emplace_back(item);
    }
    return paths;
  }
  const std::string home = env_or("HOME", "/root");
  const fs::path cache = env_or("DOCQUANT_CACHE", home + "/.cache/docquant");
  const fs::path fixtures = env_or("DOCQUANT_FIXTURES", (cache / "fixtures").string());
  const fs::path shared = env_or("DOCQUANT_SHARED", DOCQUANT_DEFAULT_SHARED);
  paths = {fixtures / "minilm-sst2" / "setfit", shared / "heads" / "setfit-sst2-mpnet"};
  for (const char* name : {"claude-bpe", "xlmr-unigram-en", "metaspace-first", "wordpiece-variants",
                           "roberta-style-bpe"}) {
    paths.push_back(cache / "tokenizers" / name / "tokenizer.json");
  }
  return paths;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  for (const fs::path& path : candidate_paths()) {
    if (!fs::exists(path)) continue;
    try {
      if (fs::is_directory(path)) {
        tokenizers().push_back(docquant::Tokenizer::from_folder(path));
      } else {
        docquant::TokenizerOptions options;
        options.max_length = 128;
        tokenizers().push_back(docquant::Tokenizer::from_json_file(path, options));
      }
      std::fprintf(stderr, "tokenizer_encode_fuzz: %zu = %s\n", tokenizers().size() - 1, path.string().c_str());
    } catch (const docquant::Error& e) {
      // A real tokenizer that does not load is a finding in itself.
      std::fprintf(stderr, "tokenizer_encode_fuzz: %s does not load: %s\n", path.string().c_str(), e.what());
      std::abort();
    }
  }
  if (tokenizers().empty()) {
    std::fprintf(stderr, "tokenizer_encode_fuzz: no tokenizer found (set DOCQUANT_FIXTURES / DOCQUANT_SHARED)\n");
    std::exit(77);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& all = tokenizers();
  const docquant::Tokenizer& tokenizer = all[data[0] % all.size()];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const docquant::Encoding e = tokenizer.encode(text);
    const std::size_t n = e.input_ids.size();
    if (e.attention_mask.size() != n || e.token_type_ids.size() != n || n > tokenizer.max_length()) __builtin_trap();
    for (const int64_t m : e.attention_mask) {
      if (m != 1) __builtin_trap();  // encode never pads
    }
    if ((data[0] & 0x80) != 0) {
      // A batch of the text and its first half, padded to the longest: the unpadded
      // prefix of each must equal encode()'s ids.
      const std::vector<std::string> texts{text, text.substr(0, text.size() / 2)};
      const auto batch = tokenizer.encode_batch(std::span<const std::string>(texts), 1);
      if (batch.size() != 2) __builtin_trap();
      const auto& b = batch[0].input_ids;
      if (b.size() < n || !std::equal(e.input_ids.begin(), e.input_ids.end(), b.begin())) __builtin_trap();
    }
  } catch (const docquant::Error&) {
  }
  return 0;
}
