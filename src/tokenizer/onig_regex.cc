#include "onig_regex.h"

#include <oniguruma.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "docquant/error.h"

namespace docquant::tokenizer {

struct Regex::Onig {
  regex_t* re = nullptr;
  std::string pattern, where;  // for errors while matching
  ~Onig() {
    if (re) onig_free(re);
  }
};

namespace {
void init_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}
}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : onig_(std::make_unique<Onig>()) {
  init_oniguruma();
  onig_->pattern = pattern;
  onig_->where = where;
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int rc = onig_new(&onig_->re, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                          ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    throw InputError(where + ": regular expression '" + pattern +
                     "' does not compile: " + reinterpret_cast<const char*>(message));
  }
}

Regex Regex::literal(const std::string& text, const std::string&) {
  Regex r;
  r.literal_ = text;
  r.is_literal_ = true;
  return r;
}

Regex::Regex(Regex&&) noexcept = default;
Regex::~Regex() = default;

std::vector<std::pair<std::size_t, std::size_t>> Regex::find_all(std::string_view text) const {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  if (is_literal_) {
    if (literal_.empty()) return out;
    std::size_t pos = 0;
    while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
      out.emplace_back(pos, pos + literal_.size());
      pos += literal_.size();
    }
    return out;
  }
  const auto* start = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = start + text.size();
  OnigRegion* region = onig_region_new();
  std::size_t pos = 0;
  bool have_last = false;
  std::size_t last_end = 0;
  while (pos <= text.size()) {
    onig_region_clear(region);
    const int r = onig_search(onig_->re, start, end, start + pos, end, region, ONIG_OPTION_NONE);
    if (r == ONIG_MISMATCH) break;
    if (r < 0) {
      // An engine error (e.g. its retry limit on a catastrophically backtracking pattern) is
      // not "no match": treating it so would silently give other ids than HF tokenizers,
      // which panics on it. Refused with the pattern and Oniguruma's reason.
      OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(message, r);
      onig_region_free(region, 1);
      throw InputError(onig_->where + ": regular expression '" + onig_->pattern +
                       "' fails on a text of " + std::to_string(text.size()) +
                       " bytes: " + reinterpret_cast<const char*>(message) +
                       " (HF tokenizers fails on it too); simplify the pattern");
    }
    const auto b = static_cast<std::size_t>(region->beg[0]);
    const auto e = static_cast<std::size_t>(region->end[0]);
    if (b == e && have_last && last_end == e) {
      // An empty match right after the previous match: step one character, as
      // Rust's onig FindMatches does, so the search always advances.
      if (pos >= text.size()) break;
      pos += utf8_length(static_cast<unsigned char>(text[pos]));
      continue;
    }
    out.emplace_back(b, e);
    have_last = true;
    last_end = e;
    pos = e;
    if (b == e) {
      if (pos >= text.size()) break;
    }
  }
  onig_region_free(region, 1);
  return out;
}

const std::string& Regex::source() const { return is_literal_ ? literal_ : onig_->pattern; }

namespace {

// A pattern that is one atom repeated at least once, greedy: X+, X{n,} or X{n,m} with n >= 1.
// The atom is a plain ASCII character, an escaped ASCII punctuation character, or \d \s \w;
// `in_atom` says whether a code point can be matched by it (for \d \s \w every non-ASCII
// code point counts as a possible match: Oniguruma's Unicode classes are not consulted).
struct RepeatedAtom {
  char literal = 0;
  char escape_class = 0;  // 'd', 's' or 'w'
  bool in_atom(char32_t c) const {
    if (literal) return c == static_cast<unsigned char>(literal);
    if (c >= 0x80) return true;
    const char ch = static_cast<char>(c);
    switch (escape_class) {
      case 'd': return ch >= '0' && ch <= '9';
      case 's': return ch == ' ' || (ch >= '\t' && ch <= '\r');
      case 'w': return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    }
    return true;
  }
};

std::optional<RepeatedAtom> parse_repeated_atom(const std::string& p) {
  static const std::string meta = "\\^$.|?*+()[]{}";
  RepeatedAtom atom;
  std::size_t i = 0;
  if (p.size() >= 2 && p[0] == '\\') {
    const char e = p[1];
    if (e == 'd' || e == 's' || e == 'w') atom.escape_class = e;
    else if (meta.find(e) != std::string::npos || e == '-' || e == ' ') atom.literal = e;
    else return std::nullopt;
    i = 2;
  } else if (!p.empty() && static_cast<unsigned char>(p[0]) >= 0x20 && static_cast<unsigned char>(p[0]) < 0x7F &&
             meta.find(p[0]) == std::string::npos) {
    atom.literal = p[0];
    i = 1;
  } else {
    return std::nullopt;
  }
  const std::string q = p.substr(i);
  if (q == "+") return atom;
  // {n,} or {n,m} with n >= 1
  if (q.size() < 4 || q.front() != '{' || q.back() != '}') return std::nullopt;
  const std::string body = q.substr(1, q.size() - 2);
  const auto comma = body.find(',');
  if (comma == std::string::npos || comma == 0) return std::nullopt;
  for (std::size_t k = 0; k < body.size(); ++k)
    if (k != comma && (body[k] < '0' || body[k] > '9')) return std::nullopt;
  if (std::stoul(body.substr(0, comma)) < 1) return std::nullopt;
  return atom;
}

}  // namespace

bool Regex::cannot_cross(std::string_view left, std::string_view right, bool or_touch) const {
  if (left.empty() || right.empty()) return true;
  if (is_literal_) {
    if (literal_.empty()) return true;
    // An occurrence touching the cut starts at most literal_.size() bytes before it.
    const std::size_t tail = std::min(left.size(), literal_.size());
    const std::size_t head = std::min(right.size(), literal_.size());
    std::string window(left.substr(left.size() - tail));
    window.append(right.substr(0, head));
    for (std::size_t pos = window.find(literal_); pos != std::string::npos; pos = window.find(literal_, pos + 1))
      if (or_touch ? pos <= tail && pos + literal_.size() >= tail : pos < tail && pos + literal_.size() > tail)
        return false;
    return true;
  }
  const auto atom = parse_repeated_atom(onig_->pattern);
  if (!atom || or_touch) return false;
  return !(atom->in_atom(last_code_point(left)) && atom->in_atom(first_code_point(right)));
}

std::vector<Span> Regex::find_spans(std::string_view text) const {
  std::vector<Span> spans;
  if (text.empty()) {
    spans.push_back({0, 0, false});
    return spans;
  }
  std::size_t prev = 0;
  for (const auto& [b, e] : find_all(text)) {
    if (prev != b) spans.push_back({prev, b, false});
    spans.push_back({b, e, true});
    prev = e;
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), false});
  return spans;
}

std::string Regex::replace_all(std::string_view text, std::string_view content) const {
  std::string out;
  std::size_t prev = 0;
  for (const auto& [b, e] : find_all(text)) {
    out.append(text.substr(prev, b - prev));
    out.append(content);
    prev = e;
  }
  out.append(text.substr(prev));
  return out;
}

}  // namespace docquant::tokenizer
