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
