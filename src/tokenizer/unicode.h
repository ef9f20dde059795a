#pragma once
// UTF-8 helpers and the character classes HF `tokenizers` uses. The classes come
// from unicode_tables.inc, measured on the reference library (see
// tools/gen_tokenizer_unicode_tables.py), so they match it whatever Unicode
// version each of its crates was built with.
#include <array>
#include <string>
#include <string_view>

namespace docquant::tokenizer {

// `s` with every ill-formed UTF-8 subsequence replaced by U+FFFD, exactly as
// Python's bytes.decode('utf-8', 'replace') does (one U+FFFD per maximal subpart).
std::string sanitize_utf8(std::string_view s);
// Decodes valid UTF-8 (as produced by sanitize_utf8) to code points.
std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);
// Length in bytes of the UTF-8 sequence starting with `lead`.
inline std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}
// Decodes the code point at s[i] (valid UTF-8) and advances i.
char32_t next_code_point(std::string_view s, std::size_t& i);
// CJK Unified Ideographs and Extension A: no decomposition, combining class 0, never part of
// a composition, neither cased nor case-ignorable, grapheme class Other. A normalisation and
// grapheme boundary comes before each, as before every ASCII character.
inline bool is_cjk_ideograph(char32_t c) { return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF); }
// The first / last code point of non-empty valid UTF-8.
char32_t first_code_point(std::string_view s);
char32_t last_code_point(std::string_view s);

bool is_whitespace(char32_t c);        // Rust char::is_whitespace
bool is_bert_removed(char32_t c);      // BertNormalizer clean_text drops it (NUL, U+FFFD, "other")
bool is_bert_punctuation(char32_t c);  // ASCII punctuation or Unicode P*
bool is_nonspacing_mark(char32_t c);   // Mn, as BertNormalizer strip_accents sees it
bool is_combining_mark(char32_t c);    // as StripAccents sees it
bool is_numeric(char32_t c);           // Rust char::is_numeric
bool is_regex_word(char32_t c);        // Rust regex \w
bool is_chinese_char(char32_t c);      // BertNormalizer handle_chinese_chars ranges
// Rust char::to_lowercase: 1 to 3 code points, unused slots 0.
std::array<char32_t, 3> to_lowercase(char32_t c);

// Python's str.strip() and str.lower(), which sentence-transformers applies to
// every text before tokenizing.
std::string python_strip(std::string_view s);
std::string python_lstrip(std::string_view s);  // str.lstrip()
std::string python_rstrip(std::string_view s);  // str.rstrip()
std::string python_lower(std::string_view s);

// Unicode normalisation forms (utf8proc).
enum class NormalForm { nfc, nfd, nfkc, nfkd };
std::string normalize_form(std::string_view s, NormalForm form);

// Extended grapheme clusters of `s` as byte lengths (utf8proc).
template <class F>
void for_each_grapheme(std::string_view s, F&& f);
bool grapheme_break(char32_t prev, char32_t next, int& state);
// True when every extended grapheme cluster ends before `next` whatever came before `prev`:
// `next` is printable ASCII or a CJK ideograph (no rule joins it to what precedes, except
// after Prepend).
bool grapheme_break_certain(char32_t prev, char32_t next);

template <class F>
void for_each_grapheme(std::string_view s, F&& f) {
  std::size_t start = 0, i = 0;
  int state = 0;
  char32_t prev = 0;
  bool first = true;
  while (i < s.size()) {
    const std::size_t at = i;
    const char32_t c = next_code_point(s, i);
    if (!first && grapheme_break(prev, c, state)) {
      f(s.substr(start, at - start));
      start = at;
    }
    first = false;
    prev = c;
  }
  if (start < s.size()) f(s.substr(start));
}

}  // namespace docquant::tokenizer
