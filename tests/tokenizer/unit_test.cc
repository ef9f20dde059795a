// Unit tests of the tokenizer's pieces that the goldens do not pin down on their
// own: UTF-8 repair, refusals, padding, and small hand-made tokenizer.json files.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "docquant/error.h"
#include "docquant/tokenizer.h"
#include "unicode.h"

namespace {

namespace fs = std::filesystem;
using docquant::InputError;
using docquant::Tokenizer;
using docquant::TokenizerOptions;

fs::path write_temp(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / ("docquant_tok_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

TokenizerOptions with_max(std::size_t n) {
  TokenizerOptions o;
  o.max_length = n;
  return o;
}

const char* kWordPiece = R"({
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
    {"id": 1, "content": "[UNK]", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
    {"id": 2, "content": "[CLS]", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
    {"id": 3, "content": "[SEP]", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "un": 6,
                      "##aff": 7, "##able": 8, "!": 9, "cafe": 10}}
})";

TEST(Utf8, ReplacesInvalidSequencesLikePython) {
  using docquant::tokenizer::sanitize_utf8;
  EXPECT_EQ(sanitize_utf8("abc"), "abc");
  EXPECT_EQ(sanitize_utf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  // b'\xe2\x82'.decode('utf-8','replace') == '\ufffd' (one maximal subpart)
  EXPECT_EQ(sanitize_utf8("\xe2\x82"), "\xEF\xBF\xBD");
  // b'\xed\xa0\x80' (a surrogate) gives three U+FFFD
  EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  // b'\xf0\x9f\x98x' gives one U+FFFD then 'x'
  EXPECT_EQ(sanitize_utf8("\xf0\x9f\x98x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(sanitize_utf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(WordPiece, EncodesWithSpecialTokensAndUnknowns) {
  const auto tok = Tokenizer::from_json_file(write_temp("wp.json", kWordPiece), with_max(16));
  const auto e = tok.encode("Hello, unaffable CAFÉ world!");
  // "," is not in the vocab: [UNK]; café loses its accent (strip_accents follows lowercase).
  EXPECT_EQ(e.input_ids, (std::vector<int64_t>{2, 4, 1, 6, 7, 8, 10, 5, 9, 3}));
  EXPECT_EQ(e.attention_mask, std::vector<int64_t>(10, 1));
  EXPECT_EQ(e.token_type_ids, std::vector<int64_t>(10, 0));
}

TEST(WordPiece, TruncatesLeavingRoomForSpecialTokens) {
  const auto tok = Tokenizer::from_json_file(write_temp("wp.json", kWordPiece), with_max(4));
  EXPECT_EQ(tok.encode("hello world hello world").input_ids, (std::vector<int64_t>{2, 4, 5, 3}));
  EXPECT_EQ(tok.encode("").input_ids, (std::vector<int64_t>{2, 3}));
}

TEST(Batch, PadsToLongestOrMaxLength) {
  TokenizerOptions o = with_max(8);
  const std::vector<std::string> texts = {"hello", "hello world hello", ""};
  const auto longest = Tokenizer::from_json_file(write_temp("wp.json", kWordPiece), o).encode_batch(texts, 2);
  ASSERT_EQ(longest.size(), 3u);
  for (const auto& e : longest) EXPECT_EQ(e.input_ids.size(), 5u);
  EXPECT_EQ(longest[0].input_ids, (std::vector<int64_t>{2, 4, 3, 0, 0}));
  EXPECT_EQ(longest[0].attention_mask, (std::vector<int64_t>{1, 1, 1, 0, 0}));
  o.padding = docquant::Padding::max_length;
  const auto fixed = Tokenizer::from_json_file(write_temp("wp.json", kWordPiece), o).encode_batch(texts, 1);
  for (const auto& e : fixed) EXPECT_EQ(e.input_ids.size(), 8u);
}

TEST(Batch, ManyThreadsGiveTheSameResultAsOne) {
  const auto tok = Tokenizer::from_json_file(write_temp("wp.json", kWordPiece), with_max(32));
  std::vector<std::string> texts;
  for (int i = 0; i < 500; ++i) texts.push_back(std::string(static_cast<std::size_t>(i % 7), ' ') + "hello unaffable world " + std::to_string(i));
  EXPECT_EQ(tok.encode_batch(texts, 1).size(), tok.encode_batch(texts, 4).size());
  const auto a = tok.encode_batch(texts, 1), b = tok.encode_batch(texts, 4);
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(a[i].input_ids, b[i].input_ids);
}

void expect_input_error(const std::string& json, const std::string& needle) {
  try {
    Tokenizer::from_json_file(write_temp("bad.json", json), with_max(8));
    ADD_FAILURE() << "no error for " << json;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

TEST(Refusals, NameTheFileAndTheField) {
  expect_input_error("{not json", "not valid JSON");
  expect_input_error("{}", "model: missing");
  expect_input_error(R"({"model": {"type": "WordLevel", "vocab": {}}})", "model type 'WordLevel' is not supported");
  std::string s = kWordPiece;
  expect_input_error(std::string(s).replace(s.find("BertNormalizer"), 14, "Nmt"), "normalizer type 'Nmt' is not supported");
  expect_input_error(std::string(s).replace(s.find("BertPreTokenizer"), 16, "UnicodeScripts"),
                     "pre_tokenizer.type: pre-tokenizer type 'UnicodeScripts' is not supported");
  expect_input_error(std::string(s).replace(s.find("\"unk_token\": \"[UNK]\""), 20, "\"unk_token\": \"<unk>\""),
                     "unk_token '<unk>' is not in the WordPiece vocab");
  expect_input_error(std::string(s).replace(s.find("\"single_word\": false, "), 22, ""),
                     "added_tokens[0].single_word: missing");
  expect_input_error(std::string(s).replace(s.find("\"model\": {\"type\": \"WordPiece\""), 8, "\"modelx\":"),
                     "model: missing");
  expect_input_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
                     "merges[0] 'a b' uses a token missing from the vocab");
  expect_input_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                         "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": false}})",
                     "pre_tokenizer.pattern: regular expression '(unclosed' does not compile");
}

// Issue 20 item 4: a normalizer Sequence nested 50,000 deep used to crash (SIGSEGV, after
// half a minute of quadratic work). The depth is refused before parsing, in linear time.
TEST(Refusals, DeeplyNestedJsonIsRefusedQuickly) {
  std::string s = kWordPiece;
  const std::string normalizer = R"({"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true})";
  std::string deep;
  for (int i = 0; i < 50000; ++i) deep += R"({"type": "Sequence", "normalizers": [)";
  deep += normalizer;
  for (int i = 0; i < 50000; ++i) deep += "]}";
  s.replace(s.find(normalizer), normalizer.size(), deep);
  const auto start = std::chrono::steady_clock::now();
  expect_input_error(s, "bad.json: line 7: JSON nested more than 128 levels deep");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// Issue 20 item 7: Oniguruma giving up (its retry limit on an exponentially backtracking
// pattern) is an error naming the pattern, never "no match" with other ids than HF's.
TEST(Refusals, RegexEngineErrorIsNotNoMatch) {
  std::string s = kWordPiece;
  const std::string pre = R"({"type": "BertPreTokenizer"})";
  s.replace(s.find(pre), pre.size(), R"({"type": "Split", "pattern": {"Regex": "(a|a)*b"}, "behavior": "Isolated", "invert": false})");
  const auto tok = Tokenizer::from_json_file(write_temp("regex.json", s), with_max(64));
  EXPECT_NO_THROW(tok.encode("aaab"));
  try {
    tok.encode("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaac b");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("regex.json: pre_tokenizer.pattern: regular expression '(a|a)*b' fails on a "
                                         "text of 33 bytes: retry-limit-in-match over"),
              std::string::npos)
        << e.what();
  }
}

TEST(Refusals, FolderWithoutTokenizer) {
  const fs::path dir = fs::temp_directory_path() / ("docquant_tok_empty_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  EXPECT_THROW(Tokenizer::from_folder(dir), InputError);
  std::ofstream(dir / "spiece.model") << "x";
  try {
    Tokenizer::from_folder(dir);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("SentencePiece"), std::string::npos) << e.what();
  }
}

TEST(Folder, MaxLengthFromSentenceBertConfig) {
  const fs::path dir = fs::temp_directory_path() / ("docquant_tok_folder_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << kWordPiece;
  std::ofstream(dir / "tokenizer_config.json") << R"({"model_max_length": 512, "pad_token": "[PAD]"})";
  EXPECT_EQ(Tokenizer::from_folder(dir).max_length(), 512u);
  std::ofstream(dir / "sentence_bert_config.json") << R"({"max_seq_length": 128, "do_lower_case": false})";
  const auto tok = Tokenizer::from_folder(dir);
  EXPECT_EQ(tok.max_length(), 128u);
  EXPECT_NE(tok.describe().find("WordPiece"), std::string::npos);
}

}  // namespace
