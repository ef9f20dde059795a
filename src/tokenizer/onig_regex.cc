#include "onig_regex.h"

#include <oniguruma.h>

#include <mutex>

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
