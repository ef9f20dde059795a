// WordPiece: greedy longest-match-first; a word with any unmatched rest, or
// longer than max_input_chars_per_word characters, becomes the unknown token.
#include <algorithm>

#include "docquant/error.h"
#include "models.h"

namespace docquant::tokenizer {
namespace {

class WordPiece final : public Model {
 public:
  WordPiece(WordPieceConfig c, const std::string& where) : c_(std::move(c)) {
    auto it = c_.vocab.find(c_.unk_token);
    if (it == c_.vocab.end())
      throw InputError(where + ": unk_token '" + c_.unk_token + "' is not in the WordPiece vocab");
    unk_id_ = it->second;
    for (const auto& entry : c_.vocab) max_id_ = std::max(max_id_, entry.second);
  }

  void tokenize(std::string_view word, std::vector<int64_t>& ids) const override {
    std::size_t chars = 0;
    for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
    if (chars > c_.max_input_chars_per_word) {
      ids.push_back(unk_id_);
      return;
    }
    const std::size_t first = ids.size();
    std::string candidate;
    std::size_t start = 0;
    while (start < word.size()) {
      std::size_t end = word.size();
      const int64_t* found = nullptr;
      while (start < end) {
        const std::string_view sub = word.substr(start, end - start);
        if (start > 0) {
          candidate.assign(c_.continuing_subword_prefix);
          candidate.append(sub);
          found = lookup(candidate);
        } else {
          found = lookup(sub);
        }
        if (found) break;
        // Drop the last character of the candidate.
        --end;
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
      }
      if (!found) {
        ids.resize(first);
        ids.push_back(unk_id_);
        return;
      }
      ids.push_back(*found);
      start = end;
    }
  }
  std::string name() const override { return "WordPiece"; }
  std::size_t vocab_size() const override { return c_.vocab.size(); }
  int64_t max_id() const override { return max_id_; }
  const int64_t* token_to_id(std::string_view token) const override { return lookup(token); }

 private:
  const int64_t* lookup(std::string_view s) const {
    auto it = c_.vocab.find(s);
    return it == c_.vocab.end() ? nullptr : &it->second;
  }
  WordPieceConfig c_;
  int64_t unk_id_ = 0;
  int64_t max_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_word_piece(WordPieceConfig config, const std::string& where) {
  return std::make_unique<WordPiece>(std::move(config), where);
}

}  // namespace docquant::tokenizer
