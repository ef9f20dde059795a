// Long texts (issue 29, item 12): the memory of tokenizing one text is bounded by its
// truncation length, not by its size, and the ids are those of the whole text. Uses the
// real tokenizers of the goldens' manifest (tools/golden_tokenizers.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "docquant/tokenizer.h"
#include "long_text.h"
#include "process_memory.h"

namespace {

namespace fs = std::filesystem;

std::optional<docquant::Tokenizer> family_tokenizer(const std::string& family) {
  const char* env = std::getenv("DOCQUANT_TOKENIZER_GOLDENS");
  const fs::path manifest = fs::path(env ? env : "tokenizer_goldens") / "manifest.json";
  if (!fs::exists(manifest)) return std::nullopt;
  std::ifstream in(manifest);
  const nlohmann::json parsed = nlohmann::json::parse(in);
  for (const auto& f : parsed.at("families")) {
    if (f.at("name") != family) continue;
    docquant::TokenizerOptions o;
    o.padding = docquant::Padding::none;
    const fs::path path = f.at("path").get<std::string>();
    if (f.at("load") == "folder") return docquant::Tokenizer::from_folder(path, o);
    o.max_length = f.at("max_length").get<std::size_t>();
    return docquant::Tokenizer::from_json_file(path, o);
  }
  return std::nullopt;
}

// Encodes `text` and returns its ids and how far the peak resident memory (VmHWM) rose above
// what was resident before: writing 5 to clear_refs resets the peak to the current resident
// size (Linux >= 4.0), so earlier tests in the process do not hide the rise.
std::pair<std::vector<int64_t>, std::int64_t> encode_measured(const docquant::Tokenizer& tok, const std::string& text,
                                                              const char* what) {
  std::ofstream("/proc/self/clear_refs") << "5";
  const std::int64_t before = docquant::peak_rss_bytes();
  auto ids = tok.encode(text).input_ids;
  const std::int64_t grown = docquant::peak_rss_bytes() - before;
  std::printf("[ tokenizer ] %s: %zu ids, peak resident memory grew by %.1f MiB\n", what, ids.size(),
              static_cast<double>(grown) / (1 << 20));
  return {std::move(ids), grown};
}

// issue 29's reproduction: a 30 MB cell of short words. The whole-text path held a piece and
// an id for each of its 5 million words (1.2 GB resident); slices stop after the first
// max_length ids. Checked through the peak resident memory of this process, with a margin far
// below what holding the text's tokens costs and far above a slice's working set.
TEST(LongText, MemoryOfA30MBTextIsBoundedByTheTruncationLength) {
  auto tok = family_tokenizer("minilm");
  if (!tok) GTEST_SKIP() << "no tokenizer goldens (run ctest's tokenizer_goldens_generate)";
  std::string text;
  for (std::size_t i = 0; text.size() < (30u << 20); ++i) text += "great movie ";
  const auto short_ids = tok->encode(text.substr(0, 20000)).input_ids;  // below the sliced path
  const auto [ids, grown] = encode_measured(*tok, text, "30 MiB text");
  EXPECT_EQ(ids, short_ids) << "the first max_length ids of a long text are those of its beginning";
  EXPECT_LT(grown, 16 << 20) << "tokenizing one text must not hold more than a few slices";
}

// The same for 30 MB of Japanese without a space: BertNormalizer puts spaces around each
// ideograph, so a cut before an ideograph is a boundary for BERT tokenizers.
TEST(LongText, MemoryOfA30MBTextWithoutSpacesIsBoundedForBert) {
  auto tok = family_tokenizer("minilm");
  if (!tok) GTEST_SKIP() << "no tokenizer goldens (run ctest's tokenizer_goldens_generate)";
  std::string text;
  while (text.size() < (30u << 20)) text += "東京タワーは高いです。";
  const auto short_ids = tok->encode(text.substr(0, 3300)).input_ids;  // 1,100 characters, below the sliced path
  const auto [ids, grown] = encode_measured(*tok, text, "30 MiB of CJK");
  EXPECT_EQ(ids, short_ids);
  EXPECT_LT(grown, 16 << 20);
}

// Under Metaspace a run of CJK without spaces is one pre-token: every cut before an ideograph
// is refused and the text is tokenized whole, with the reference's ids (the goldens hold such
// texts); the result must not depend on the slice length.
TEST(LongText, RefusedCutsGiveTheSameIdsWhateverTheSliceLength) {
  auto tok = family_tokenizer("xlmr-unigram-ja");
  if (!tok) GTEST_SKIP() << "no tokenizer goldens (run ctest's tokenizer_goldens_generate)";
  std::string cjk;
  while (cjk.size() < (1u << 20)) cjk += "東京タワーは高いです。";
  const auto normal = tok->encode(cjk).input_ids;
  const std::size_t saved = docquant::tokenizer::slice_bytes();
  docquant::tokenizer::set_slice_bytes_for_testing(64);
  const auto sliced = tok->encode(cjk).input_ids;
  docquant::tokenizer::set_slice_bytes_for_testing(saved);
  EXPECT_EQ(normal, sliced);
  EXPECT_EQ(normal.size(), tok->max_length());
}

}  // namespace
