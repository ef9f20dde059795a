#pragma once
// tokenizer.json models: WordPiece, BPE and Unigram, each as HF `tokenizers`
// runs them on one pre-tokenized word.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline.h"

namespace docquant::tokenizer {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

struct WordPieceConfig {
  Vocab vocab;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  std::size_t max_input_chars_per_word = 100;
};
// Throws InputError naming `where` when the unknown token is not in the vocabulary.
std::unique_ptr<Model> make_word_piece(WordPieceConfig config, const std::string& where);

struct BpeConfig {
  Vocab vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // in priority order
  std::string unk_token;                                   // empty: none
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};
std::unique_ptr<Model> make_bpe(BpeConfig config, const std::string& where);

struct UnigramConfig {
  std::vector<std::pair<std::string, double>> vocab;
  std::optional<std::size_t> unk_id;
  bool byte_fallback = false;
};
std::unique_ptr<Model> make_unigram(UnigramConfig config, const std::string& where);

}  // namespace docquant::tokenizer
