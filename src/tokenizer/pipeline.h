#pragma once
// The stages of a tokenizer.json pipeline, in the order HF `tokenizers` runs them:
// added-token extraction and normalizer, pre-tokenizer, model, truncation,
// post-processor. Each stage is immutable after loading, so one pipeline serves
// many threads.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace docquant::tokenizer {

// A piece of the text on its way to the model. `id` >= 0 marks an added token
// already resolved; such pieces skip the pre-tokenizer and the model.
struct Piece {
  std::string text;
  int64_t id = -1;
  bool at_start = false;  // begins at offset 0 of the original text (Metaspace "first")
};
using Pieces = std::vector<Piece>;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;  // valid UTF-8 in and out
  virtual std::string name() const = 0;

  // Long texts are tokenized in slices (long_text.h). A slice of a piece starts the piece
  // or not (`piece_start`) and ends it or not (`piece_end`); only normalizers that act at a
  // piece's ends (Strip, Prepend) look at these.
  virtual void normalize_slice(std::string& text, bool piece_start, bool piece_end) const {
    (void)piece_start;
    (void)piece_end;
    normalize(text);
  }
  // True only when normalize(l + r) == normalize(l) + normalize(r) for every l that equals
  // `left` and r that equals `right`, neither end of a piece at the cut between them. A
  // Sequence answers for no step: long_text.cc asks each of steps() with what reaches it.
  virtual bool splits_between(std::string_view left, std::string_view right) const {
    (void)left;
    (void)right;
    return false;
  }
  // The normalizers applied one after the other: a Sequence's parts (flattened), else itself.
  virtual void steps(std::vector<const Normalizer*>& out) const { out.push_back(this); }
};

// What a pre-tokenizer does at a cut inside a piece, between text ending with `left` and text
// starting with `right` (the latter not at the start of the text).
enum class Cut {
  boundary,  // pre_tokenize(l + r) == pre_tokenize(l) ++ pre_tokenize(r)
  inside,    // the cut stays inside one piece, the characters around it unchanged, and the
             // pieces are those of l and r with the two at the cut joined
  unsafe,    // anything else, or not proven
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece without an id; never leaves empty pieces.
  virtual void pre_tokenize(Pieces& pieces) const = 0;
  virtual std::string name() const = 0;
  // Decided from the characters at the cut (long_text.cc); conservative: unsafe when unsure.
  virtual Cut cut(std::string_view left, std::string_view right) const {
    (void)left;
    (void)right;
    return Cut::unsafe;
  }
};

class Model {
 public:
  virtual ~Model() = default;
  virtual void tokenize(std::string_view word, std::vector<int64_t>& ids) const = 0;
  virtual std::string name() const = 0;
  virtual const int64_t* token_to_id(std::string_view token) const = 0;
  virtual std::size_t vocab_size() const = 0;
  // The largest id tokenize() can give (-1 for an empty vocabulary).
  virtual int64_t max_id() const = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Number of special tokens process() adds to a single sequence.
  virtual std::size_t added_tokens() const = 0;
  virtual void process(std::vector<int64_t>& ids, std::vector<int64_t>& type_ids) const = 0;
  virtual std::string name() const = 0;
  // The largest id process() adds (-1 when it adds none).
  virtual int64_t max_special_id() const = 0;
};

// How a split pattern's matches become pieces (HF SplitDelimiterBehavior).
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// A span of a piece and whether the pattern matched it; spans cover the piece.
struct Span {
  std::size_t begin, end;
  bool is_match;
};

// Replaces `piece` by the pieces `spans` and `behavior` give, appending to `out`
// (empty pieces dropped).
void split_piece(const Piece& piece, const std::vector<Span>& spans, SplitBehavior behavior, Pieces& out);

// Spans of `text` split on every code point for which `pred` holds.
template <class Pred>
std::vector<Span> char_spans(std::string_view text, Pred pred);

}  // namespace docquant::tokenizer

#include "unicode.h"

namespace docquant::tokenizer {

template <class Pred>
std::vector<Span> char_spans(std::string_view text, Pred pred) {
  std::vector<Span> spans;
  std::size_t last = 0, i = 0;
  while (i < text.size()) {
    const std::size_t at = i;
    const char32_t c = next_code_point(text, i);
    if (pred(c)) {
      if (last < at) spans.push_back({last, at, false});
      spans.push_back({at, i, true});
      last = i;
    }
  }
  if (last < text.size()) spans.push_back({last, text.size(), false});
  return spans;
}

}  // namespace docquant::tokenizer
