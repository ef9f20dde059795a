#pragma once
// Pattern matching for Split pre-tokenizers, the Replace normalizer and
// ByteLevel's GPT-2 pattern. HF `tokenizers` compiles these with Oniguruma
// (its SysRegex), so docquant does too: same engine, same syntax, same classes.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline.h"

namespace docquant::tokenizer {

class Regex {
 public:
  // Throws InputError naming `where` when `pattern` does not compile.
  Regex(const std::string& pattern, const std::string& where);
  // A literal string pattern (tokenizer.json {"String": ...}).
  static Regex literal(const std::string& text, const std::string& where);
  Regex(Regex&&) noexcept;
  ~Regex();

  // Non-overlapping matches as spans covering `text` (HF Pattern::find_matches).
  std::vector<Span> find_spans(std::string_view text) const;
  // Every non-overlapping match replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;
  // The pattern as written: the literal text of literal(), else the regular expression.
  const std::string& source() const;
  bool is_literal() const { return is_literal_; }
  // True only when no match can contain both the last code point of `left` and the first of
  // `right`, and matching on either side of the cut between them cannot see the other side:
  // then the matches in l + r are those in l and those in r (l ending with `left`, r starting
  // with `right`). Literal patterns: no occurrence across the cut (with `or_touch`, none
  // ending or starting at it either). Regular expressions: proven for one atom repeated at
  // least once, greedy (" {2,}", "\\d+"), and only without `or_touch`; false otherwise.
  bool cannot_cross(std::string_view left, std::string_view right, bool or_touch = false) const;

 private:
  Regex() = default;
  // [begin, end) of each match, as Rust's onig find_iter yields them.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;
  struct Onig;
  std::unique_ptr<Onig> onig_;
  std::string literal_;
  bool is_literal_ = false;
};

}  // namespace docquant::tokenizer
