#include "unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "docquant/error.h"

namespace docquant::tokenizer {
namespace {

struct CodeRange {
  char32_t lo, hi;
};
struct LowerEntry {
  char32_t cp;
  char32_t lower[3];
};

#include "unicode_tables.inc"

template <std::size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t c) {
  const auto* end = table + N;
  const auto* it = std::upper_bound(table, end, c, [](char32_t v, const CodeRange& r) { return v < r.lo; });
  return it != table && c <= (it - 1)->hi;
}

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

}  // namespace

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Expected length and the allowed range of the second byte (Unicode Table 3-7).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (len == 0) {  // a byte that never starts a sequence
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    std::size_t k = 1;
    for (; k < len && i + k < n; ++k) {
      const unsigned char b = p[i + k];
      const bool ok = k == 1 ? (b >= lo && b <= hi) : is_continuation(b);
      if (!ok) break;
    }
    if (k == len) {
      out.append(s.substr(i, len));
    } else {
      out += "\xEF\xBF\xBD";  // the maximal subpart p[i, i+k) becomes one U+FFFD
    }
    i += k;
  }
  return out;
}

char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char c = p[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  const std::size_t len = utf8_length(c);
  char32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
  i += len;
  return cp;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) out.push_back(next_code_point(s, i));
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

bool is_whitespace(char32_t c) { return in_ranges(k_whitespace, c); }
bool is_bert_removed(char32_t c) { return in_ranges(k_bert_removed, c); }
bool is_bert_punctuation(char32_t c) { return in_ranges(k_bert_punctuation, c); }
bool is_nonspacing_mark(char32_t c) { return in_ranges(k_nonspacing_mark, c); }
bool is_combining_mark(char32_t c) { return in_ranges(k_combining_mark, c); }
bool is_numeric(char32_t c) { return in_ranges(k_numeric, c); }
bool is_regex_word(char32_t c) { return in_ranges(k_regex_word, c); }

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::array<char32_t, 3> to_lowercase(char32_t c) {
  if (c < 0x80) return {(c >= 'A' && c <= 'Z') ? c + 32 : c, 0, 0};
  const auto* begin = std::begin(k_lowercase);
  const auto* end = std::end(k_lowercase);
  const auto* it = std::lower_bound(begin, end, c, [](const LowerEntry& e, char32_t v) { return e.cp < v; });
  if (it == end || it->cp != c) return {c, 0, 0};
  return {it->lower[0], it->lower[1], it->lower[2]};
}

namespace {

std::string utf8proc_form(std::string_view s, NormalForm form) {
  if (s.empty()) return {};
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::nfc: options |= UTF8PROC_COMPOSE; break;
    case NormalForm::nfd: options |= UTF8PROC_DECOMPOSE; break;
    case NormalForm::nfkc: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalForm::nfkd: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                              static_cast<utf8proc_ssize_t>(s.size()), &out, static_cast<utf8proc_option_t>(options));
  if (n < 0) throw InternalError(std::string("utf8proc: ") + utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

// A character tokenizers' (older) Unicode tables do not decompose but utf8proc's do:
// tokenizers leaves it as it is, so docquant must too.
bool decomposes_only_in_utf8proc(char32_t c, bool compat) {
  if (compat ? in_ranges(k_decomposable_nfkd, c) : in_ranges(k_decomposable_nfd, c)) return false;
  utf8proc_int32_t buf[8];
  int boundclass = 0;
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0));
  const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 8, options, &boundclass);
  return !(n == 1 && buf[0] == static_cast<utf8proc_int32_t>(c));
}

}  // namespace

namespace {

// str.isspace(): bidirectional class WS, B or S, or category Zs.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_cased(char32_t c) {
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

bool is_case_ignorable(char32_t c) {
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
         cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK || c == U'\'' || c == U'.' || c == U':' ||
         c == 0xB7 || c == 0x2019 || c == 0x2024 || c == 0xFE52 || c == 0xFF07 || c == 0xFF0E;
}

}  // namespace

namespace {

std::size_t python_space_prefix(std::string_view s) {
  std::size_t b = 0;
  while (b < s.size()) {
    std::size_t next = b;
    if (!is_python_space(next_code_point(s, next))) break;
    b = next;
  }
  return b;
}

// Where the trailing run of spaces of s[b:] begins.
std::size_t python_space_suffix(std::string_view s, std::size_t b) {
  std::size_t e = s.size();
  while (e > b) {
    std::size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    std::size_t i = start;
    if (!is_python_space(next_code_point(s, i))) break;
    e = start;
  }
  return e;
}

}  // namespace

std::string python_strip(std::string_view s) {
  const std::size_t b = python_space_prefix(s);
  return std::string(s.substr(b, python_space_suffix(s, b) - b));
}
std::string python_lstrip(std::string_view s) { return std::string(s.substr(python_space_prefix(s))); }
std::string python_rstrip(std::string_view s) { return std::string(s.substr(0, python_space_suffix(s, 0))); }

std::string python_lower(std::string_view s) {
  const std::u32string u = decode_utf8(s);
  std::u32string out;
  out.reserve(u.size());
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (u[i] == 0x03A3) {  // Final_Sigma: a cased letter before, none after (case-ignorables skipped)
      std::size_t j = i;
      while (j > 0 && is_case_ignorable(u[j - 1])) --j;
      const bool before = j > 0 && is_cased(u[j - 1]);
      std::size_t k = i + 1;
      while (k < u.size() && is_case_ignorable(u[k])) ++k;
      const bool after = k < u.size() && is_cased(u[k]);
      out.push_back(before && !after ? 0x03C2 : 0x03C3);
      continue;
    }
    const auto l = to_lowercase(u[i]);
    out.push_back(l[0]);
    if (l[1]) out.push_back(l[1]);
    if (l[2]) out.push_back(l[2]);
  }
  return encode_utf8(out);
}

std::string normalize_form(std::string_view s, NormalForm form) {
  // Such characters are starters that combine with nothing in tokenizers' tables, so the
  // text normalizes as the segments between them, with them kept in place.
  const bool compat = form == NormalForm::nfkc || form == NormalForm::nfkd;
  std::string out;
  std::size_t segment = 0, i = 0;
  bool split = false;
  while (i < s.size()) {
    const std::size_t at = i;
    const char32_t c = next_code_point(s, i);
    if (c < 0x80 || !decomposes_only_in_utf8proc(c, compat)) continue;
    out += utf8proc_form(s.substr(segment, at - segment), form);
    out.append(s.substr(at, i - at));
    segment = i;
    split = true;
  }
  if (!split) return utf8proc_form(s, form);
  out += utf8proc_form(s.substr(segment), form);
  return out;
}

char32_t first_code_point(std::string_view s) {
  std::size_t i = 0;
  return next_code_point(s, i);
}

char32_t last_code_point(std::string_view s) {
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return next_code_point(s, i);
}

bool grapheme_break_certain(char32_t prev, char32_t next) {
  // GB9/9a/11/12/13 and the Hangul rules never join printable ASCII to what precedes it;
  // GB9b (Prepend x) does.
  if ((next < 0x20 || next > 0x7E) && !is_cjk_ideograph(next)) return false;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(prev))->boundclass != UTF8PROC_BOUNDCLASS_PREPEND;
}

bool grapheme_break(char32_t prev, char32_t next, int& state) {
  return utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev), static_cast<utf8proc_int32_t>(next),
                                          &state);
}

}  // namespace docquant::tokenizer
