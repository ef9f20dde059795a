#include "added_vocabulary.h"

#include <algorithm>

namespace docquant::tokenizer {
namespace {

// Rust regex \w at the end / start of a string.
bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  std::size_t j = i;
  return is_regex_word(next_code_point(s, j));
}
bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  return is_regex_word(next_code_point(s, i));
}
// Start of the whitespace run that ends `s` (s.size() when none).
std::size_t whitespace_run_at_end(std::string_view s) {
  std::size_t begin = s.size();
  while (begin > 0) {
    std::size_t i = begin - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    std::size_t j = i;
    if (!is_whitespace(next_code_point(s, j))) break;
    begin = i;
  }
  return begin;
}
// Length of the whitespace run that starts `s`.
std::size_t whitespace_run_at_start(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    if (!is_whitespace(next_code_point(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  for (std::size_t k = 0; k < tokens_.size(); ++k) {
    const auto& t = tokens_[k];
    if (t.content.empty()) continue;
    if (t.normalized) {
      std::string pattern = t.content;
      if (normalizer) normalizer->normalize(pattern);
      add_pattern(normalized_, std::move(pattern), k);
    } else {
      add_pattern(raw_, t.content, k);
    }
  }
  finish(raw_);
  finish(normalized_);
}

void AddedVocabulary::add_pattern(Matcher& m, std::string pattern, std::size_t token_index) {
  if (pattern.empty()) return;
  // The same content twice: the automaton keeps one value per pattern; keep the last.
  for (std::size_t p = 0; p < m.patterns.size(); ++p) {
    if (m.patterns[p] == pattern) {
      m.token_index[p] = token_index;
      return;
    }
  }
  m.patterns.push_back(std::move(pattern));
  m.token_index.push_back(token_index);
}

void AddedVocabulary::finish(Matcher& m) {
  for (std::size_t p = 0; p < m.patterns.size(); ++p)
    m.by_first_byte[static_cast<unsigned char>(m.patterns[p][0])].push_back(p);
  for (auto& list : m.by_first_byte)
    std::stable_sort(list.begin(), list.end(),
                     [&m](std::size_t a, std::size_t b) { return m.patterns[a].size() > m.patterns[b].size(); });
}

void AddedVocabulary::split(const Piece& piece, const Matcher& m, Pieces& out) const {
  const std::string& s = piece.text;
  auto emit = [&](std::size_t b, std::size_t e, int64_t id) {
    if (e <= b) return;
    Piece p;
    p.text = s.substr(b, e - b);
    p.id = id;
    p.at_start = piece.at_start && b == 0;
    out.push_back(std::move(p));
  };
  if (m.empty()) {
    emit(0, s.size(), -1);
    return;
  }
  std::size_t start_offset = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    // Leftmost-longest: the first position where any pattern matches, longest there.
    std::size_t found = SIZE_MAX, at = 0;
    for (std::size_t i = pos; i < s.size() && found == SIZE_MAX; ++i) {
      for (std::size_t p : m.by_first_byte[static_cast<unsigned char>(s[i])]) {
        if (s.compare(i, m.patterns[p].size(), m.patterns[p]) == 0) {
          found = p;
          at = i;
          break;
        }
      }
    }
    if (found == SIZE_MAX) break;
    std::size_t start = at, stop = at + m.patterns[found].size();
    pos = stop;  // the automaton resumes after the raw match, whatever lstrip/rstrip do
    const AddedToken& t = tokens_[m.token_index[found]];
    if (t.single_word) {
      const bool start_space = start == 0 || !ends_with_word(std::string_view(s).substr(0, start));
      const bool stop_space = stop == s.size() || !starts_with_word(std::string_view(s).substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) start = std::max(whitespace_run_at_end(std::string_view(s).substr(0, start)), start_offset);
    if (t.rstrip) stop += whitespace_run_at_start(std::string_view(s).substr(stop));
    if (start_offset < start) emit(start_offset, start, -1);
    emit(start, stop, t.id);
    start_offset = stop;
  }
  if (start_offset < s.size()) emit(start_offset, s.size(), -1);
}

bool AddedVocabulary::near_cut(std::string_view left, std::string_view right, bool normalized) const {
  const Matcher& m = normalized ? normalized_ : raw_;
  if (m.empty()) return false;
  // lstrip/rstrip extend a match over whitespace: they stop at a non-space before the cut.
  if (left.empty() || is_whitespace(last_code_point(left))) return true;
  std::size_t longest = 0;
  for (const auto& p : m.patterns) longest = std::max(longest, p.size());
  const std::size_t tail = std::min(left.size(), longest);
  std::string window(left.substr(left.size() - tail));
  window.append(right.substr(0, std::min(right.size(), longest)));
  for (const auto& p : m.patterns)
    for (std::size_t pos = window.find(p); pos != std::string::npos; pos = window.find(p, pos + 1))
      if (pos <= tail && pos + p.size() >= tail) return true;
  return false;
}

Pieces AddedVocabulary::extract_and_normalize(const std::string& text, const Normalizer* normalizer) const {
  Piece whole;
  whole.text = text;
  whole.at_start = true;
  Pieces first;
  split(whole, raw_, first);
  Pieces out;
  out.reserve(first.size());
  for (auto& p : first) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    if (normalizer) normalizer->normalize(p.text);
    split(p, normalized_, out);
  }
  return out;
}

}  // namespace docquant::tokenizer
