// Golden tests: docquant's ids against HF `tokenizers`' ids for real
// tokenizer.json files, one family per test (tools/golden_tokenizers.py writes
// the goldens; the ctest fixture tokenizer_goldens_generate runs it).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <set>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "docquant/tokenizer.h"
#include "long_text.h"
#include "unicode.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path goldens_dir() {
  const char* env = std::getenv("DOCQUANT_TOKENIZER_GOLDENS");
  return env ? fs::path(env) : fs::path("tokenizer_goldens");
}

std::string from_hex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string show(const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << "[";
  for (std::size_t i = 0; i < v.size() && i < 40; ++i) s << (i ? "," : "") << v[i];
  if (v.size() > 40) s << ",... (" << v.size() << " ids)";
  s << "]";
  return s.str();
}

std::string quote(const std::string& text) {
  std::string q = text.substr(0, 80);
  for (auto& c : q)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return "\"" + q + (text.size() > 80 ? "...\"" : "\"");
}

// The families tools/tokenizer_sources.py defines, read by CMake when it configures (the
// goldens themselves are written later, by ctest's tokenizer_goldens_generate): one test
// each, so a family added there is a new test, never one silently left out.
std::vector<std::string> source_families() {
  std::vector<std::string> families;
  std::stringstream list(DOCQUANT_GOLDEN_FAMILIES);
  for (std::string name; std::getline(list, name, ',');) {
    if (!name.empty()) families.push_back(name);
  }
  return families;
}

constexpr const char* kHowToGenerate = " (run tools/golden_tokenizers.py, or ctest's tokenizer_goldens_generate)";

// The goldens' manifest.json, or nothing when no goldens were generated.
std::optional<json> read_manifest(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  std::ifstream in(path);
  return json::parse(in);
}

class Golden : public ::testing::TestWithParam<std::string> {};

// Every golden text of `family` encoded by docquant, compared with the reference's ids. With
// `slice` set, texts of twice that length or more are tokenized slice by slice (long_text.h)
// with slices that short: most texts then hold several cuts, each one proven or refused.
void check_family(const std::string& family, std::optional<std::size_t> slice) {
  const fs::path dir = goldens_dir();
  const fs::path manifest_path = dir / "manifest.json";
  const auto loaded = read_manifest(manifest_path);
  if (!loaded) GTEST_SKIP() << "no tokenizer goldens at " << dir << kHowToGenerate;
  const json& manifest = *loaded;
  const json* entry = nullptr;
  for (const auto& f : manifest.at("families"))
    if (f.at("name") == family) entry = &f;
  // A family the manifest lacks was not generated: a failure, not a skip (GoldenManifest says why).
  ASSERT_NE(entry, nullptr) << "family " << family << " (tools/tokenizer_sources.py) is not in " << manifest_path
                            << "; regenerate the goldens" << kHowToGenerate;
  ASSERT_TRUE(fs::exists(dir / entry->at("expected").get<std::string>()))
      << family << ": its golden file " << entry->at("expected") << " is missing from " << dir;

  std::vector<std::string> texts;
  {
    std::ifstream in(dir / manifest.at("inputs").get<std::string>());
    std::string line;
    while (std::getline(in, line)) texts.push_back(from_hex(line));
  }
  std::vector<docquant::Encoding> expected;
  {
    std::ifstream in(dir / entry->at("expected").get<std::string>());
    std::string line;
    while (std::getline(in, line)) {
      const json j = json::parse(line);
      expected.push_back({j.at("input_ids").get<std::vector<int64_t>>(), j.at("attention_mask").get<std::vector<int64_t>>(),
                          j.at("token_type_ids").get<std::vector<int64_t>>()});
    }
  }
  ASSERT_EQ(texts.size(), expected.size()) << "goldens of " << family << " do not match texts.hex";

  docquant::TokenizerOptions options;
  options.padding = docquant::Padding::none;
  const std::size_t max_length = entry->at("max_length").get<std::size_t>();
  const fs::path path = entry->at("path").get<std::string>();
  const bool folder = entry->at("load") == "folder";
  if (!folder) options.max_length = max_length;
  const auto tok = folder ? docquant::Tokenizer::from_folder(path, options) : docquant::Tokenizer::from_json_file(path, options);
  EXPECT_EQ(tok.max_length(), max_length) << tok.describe();

  const std::size_t normal_slice = docquant::tokenizer::slice_bytes();
  if (slice) docquant::tokenizer::set_slice_bytes_for_testing(*slice);
  const auto before = docquant::tokenizer::cut_counts();
  const auto got = tok.encode_batch(texts, 2);
  const auto after = docquant::tokenizer::cut_counts();
  docquant::tokenizer::set_slice_bytes_for_testing(normal_slice);
  const std::size_t proven = after.proven - before.proven, refused = after.refused - before.refused;
  ASSERT_EQ(got.size(), texts.size());
  std::size_t same = 0, shown = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto& e = expected[i];
    const auto& g = got[i];
    if (g.input_ids == e.input_ids && g.attention_mask == e.attention_mask && g.token_type_ids == e.token_type_ids) {
      ++same;
      continue;
    }
    if (shown++ < 5) {
      ADD_FAILURE() << family << " input " << i << " " << quote(texts[i]) << "\n  expected ids " << show(e.input_ids)
                    << "\n  docquant ids " << show(g.input_ids)
                    << (g.input_ids == e.input_ids ? "\n  (ids equal; attention_mask or token_type_ids differ)" : "");
    }
  }
  std::printf("[ tokenizer ] %s%s: %zu/%zu identical (tokenizers %s, max length %zu); cuts proven %zu, refused %zu\n",
              family.c_str(), slice ? (" sliced every " + std::to_string(*slice) + " bytes").c_str() : "", same,
              texts.size(), manifest.at("tokenizers_version").get<std::string>().c_str(), max_length, proven, refused);
  EXPECT_EQ(same, texts.size()) << family << ": " << texts.size() - same << " encodings differ";
  // Every family slices, except deepseek-bpe, whose Split regular expressions are not proven
  // (docs/tokenizer.md, "Long texts"): its texts are tokenized whole.
  if (slice && family != "deepseek-bpe") {
    EXPECT_GT(proven, texts.size() / 2) << family << ": the sliced path was not used";
  }
}

TEST_P(Golden, IdenticalToReferenceLibrary) { check_family(GetParam(), std::nullopt); }

// 40-byte slices: a cut in nearly every ordinary text of the corpus, between most pairs of
// words, next to added tokens, accents, digits, runs of spaces: the sliced ids must still be
// the reference's. 45 bytes puts the first cut of the repeated texts "x docquant ", "new york ",
// "going home " (adversarial.jsonl) where no stage may cut: inside an added token or next to one.
TEST_P(Golden, IdenticalWhenSlicedEvery40Bytes) { check_family(GetParam(), 40); }
TEST_P(Golden, IdenticalWhenSlicedEvery45Bytes) { check_family(GetParam(), 45); }

// The manifest and the golden files agree with tools/tokenizer_sources.py: every family
// listed there has one manifest entry and its golden file, and every golden file (*.jsonl)
// belongs to a manifest entry.
TEST(GoldenManifest, ListsEveryFamilyOnceWithItsGoldens) {
  const fs::path dir = goldens_dir();
  const fs::path manifest_path = dir / "manifest.json";
  const auto loaded = read_manifest(manifest_path);
  if (!loaded) GTEST_SKIP() << "no tokenizer goldens at " << dir << kHowToGenerate;
  const json& manifest = *loaded;
  const auto sources = source_families();
  ASSERT_FALSE(sources.empty()) << "CMake found no families in tools/tokenizer_sources.py";
  std::set<std::string> listed, files;
  for (const auto& f : manifest.at("families")) {
    const std::string name = f.at("name").get<std::string>();
    EXPECT_TRUE(listed.insert(name).second) << manifest_path << " lists family " << name << " twice";
    EXPECT_NE(std::find(sources.begin(), sources.end(), name), sources.end())
        << manifest_path << " lists family " << name
        << ", which tools/tokenizer_sources.py (as CMake last read it) does not define: re-run cmake";
    const std::string expected = f.at("expected").get<std::string>();
    EXPECT_TRUE(fs::exists(dir / expected)) << "family " << name << ": no golden file " << dir / expected;
    files.insert(expected);
  }
  for (const auto& name : sources) {
    EXPECT_TRUE(listed.count(name)) << "family " << name << " (tools/tokenizer_sources.py) has no goldens in "
                                    << manifest_path;
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".jsonl") continue;
    EXPECT_TRUE(files.count(e.path().filename().string()))
        << "golden file " << e.path() << " belongs to no family of " << manifest_path;
  }
}

// utf8proc's Unicode is newer than the tables of tokenizers' crates; normalize_form
// must still give tokenizers' result for every single code point.
TEST(UnicodeForms, MatchReferenceForEveryCodePoint) {
  const fs::path path = goldens_dir() / "unicode_forms.tsv";
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path << " (run tools/golden_tokenizers.py)";
  std::map<char32_t, std::array<std::string, 4>> reference;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string cp;
    std::array<std::string, 4> forms;
    std::getline(fields, cp, '\t');
    for (auto& f : forms) {
      std::getline(fields, f, '\t');
      f = from_hex(f);
    }
    reference[static_cast<char32_t>(std::stoul(cp, nullptr, 16))] = forms;
  }
  using docquant::tokenizer::NormalForm;
  const NormalForm order[4] = {NormalForm::nfc, NormalForm::nfd, NormalForm::nfkc, NormalForm::nfkd};
  const char* names[4] = {"NFC", "NFD", "NFKC", "NFKD"};
  std::size_t checked = 0, differ = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string ch;
    docquant::tokenizer::append_utf8(ch, cp);
    const auto it = reference.find(cp);
    for (int f = 0; f < 4; ++f) {
      const std::string& want = it == reference.end() ? ch : it->second[f];
      ++checked;
      if (docquant::tokenizer::normalize_form(ch, order[f]) != want && differ++ < 5)
        ADD_FAILURE() << names[f] << " of U+" << std::hex << static_cast<uint32_t>(cp) << " differs from tokenizers'";
    }
  }
  std::printf("[ tokenizer ] unicode forms: %zu/%zu identical\n", checked - differ, checked);
  EXPECT_EQ(differ, 0u);
}

INSTANTIATE_TEST_SUITE_P(Families, Golden, ::testing::ValuesIn(source_families()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
