#pragma once
// Added and special tokens: found in the raw text (normalized: false) or in the
// normalized text (normalized: true) before pre-tokenization, leftmost-longest,
// honouring single_word, lstrip and rstrip, as HF AddedVocabulary does.
#include <array>
#include <string>
#include <vector>

#include "pipeline.h"

namespace docquant::tokenizer {

struct AddedToken {
  int64_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

class AddedVocabulary {
 public:
  // `normalizer` (may be null) also normalizes the contents of normalized tokens.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // The text split around added tokens, non-token pieces normalized.
  Pieces extract_and_normalize(const std::string& text, const Normalizer* normalizer) const;
  // The two halves of extract_and_normalize, for long_text.cc: `piece` split around tokens
  // matched in the raw text / in normalized text, appended to `out`.
  void split_raw(const Piece& piece, Pieces& out) const { split(piece, raw_, out); }
  void split_normalized(const Piece& piece, Pieces& out) const { split(piece, normalized_, out); }
  // True when an added token (raw patterns, or normalized ones) could match across a cut
  // between text ending with `left` and text starting with `right`, end or start at it, or
  // reach it through lstrip/rstrip: then split_raw of the whole differs from that of the halves.
  bool near_cut(std::string_view left, std::string_view right, bool normalized) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Matcher {
    // Patterns by first byte, longest first (so the first hit is the longest).
    std::array<std::vector<std::size_t>, 256> by_first_byte;
    std::vector<std::string> patterns;
    std::vector<std::size_t> token_index;
    bool empty() const { return patterns.empty(); }
  };
  void add_pattern(Matcher& m, std::string pattern, std::size_t token_index);
  static void finish(Matcher& m);
  void split(const Piece& piece, const Matcher& m, Pieces& out) const;

  std::vector<AddedToken> tokens_;
  Matcher raw_, normalized_;
};

}  // namespace docquant::tokenizer
