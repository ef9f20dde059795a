// encode_sliced: slices, the proof at each cut, and the early stop.
//
// A candidate cut sits before an ASCII space that has an ASCII letter or digit on each side
// ("word| word"), or before a CJK ideograph. The raw text decodes the same on both sides of
// it (neither a space nor a lead byte continues a sequence, and the character before is
// complete), str.lower()'s Final_Sigma rule cannot look across it (a space or an ideograph is
// neither cased nor case-ignorable) and str.strip() only acts at the text's ends. Every later stage is asked
// about the cut with the actual text on both sides: added tokens (none near the cut), each
// normalizer step (Normalizer::splits_between, with what reaches that step), and the
// pre-tokenizer, which must make the cut a boundary between pieces. The model then sees the
// same pieces as for the whole text, one by one, so its ids are the whole text's.
#include "long_text.h"

#include <algorithm>
#include <atomic>

#include "unicode.h"

namespace docquant::tokenizer {
namespace {

std::atomic<std::size_t> g_slice_bytes{16 << 10};
std::atomic<std::size_t> g_cuts_proven{0}, g_cuts_refused{0};

bool is_ascii_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A candidate cut: before an ASCII space between two ASCII letters or digits ("word| word"),
// or before a CJK ideograph (well-formed UTF-8) that follows a complete character.
bool is_candidate(std::string_view text, std::size_t c) {
  if (text[c] == ' ') return c + 1 < text.size() && is_ascii_alnum(text[c - 1]) && is_ascii_alnum(text[c + 1]);
  const auto b = static_cast<unsigned char>(text[c]);
  if (b < 0xE3 || b > 0xE9 || c + 2 >= text.size()) return false;
  const auto b1 = static_cast<unsigned char>(text[c + 1]), b2 = static_cast<unsigned char>(text[c + 2]);
  if ((b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return false;
  const char32_t cp = (char32_t(b & 0x0F) << 12) | (char32_t(b1 & 0x3F) << 6) | char32_t(b2 & 0x3F);
  // The byte before must end a character: ASCII, or the last byte of a complete sequence.
  const auto prev = static_cast<unsigned char>(text[c - 1]);
  if (prev >= 0x80) {
    std::size_t lead = c - 1;
    while (lead > 0 && c - lead < 4 && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
    if (utf8_length(static_cast<unsigned char>(text[lead])) != c - lead) return false;
  }
  return is_cjk_ideograph(cp);
}

// The first candidate cut at or after `from`, or `text.size()`.
std::size_t next_cut(std::string_view text, std::size_t from) {
  for (std::size_t c = std::max<std::size_t>(from, 1); c + 1 < text.size(); ++c) {
    if (is_candidate(text, c)) return c;
  }
  return text.size();
}

// One slice [begin, end) of the raw text, prepared, split around added tokens and normalized:
// the pieces the pre-tokenizer gets. The text piece at each edge is also kept as every
// normalizer step receives it (and the final result), for the proof at the cut.
struct Slice {
  std::size_t begin = 0, end = 0;
  std::string prepared;
  Pieces pieces;
  bool head_is_text = false, tail_is_text = false;
  std::vector<std::string> head_steps, tail_steps;
};

std::string prepare(const TextPreparation& prep, std::string_view raw, bool first, bool last) {
  std::string s = sanitize_utf8(raw);
  if (first && prep.prompt) s.insert(0, *prep.prompt);
  if (prep.strip) {
    if (first && last) s = python_strip(s);
    else if (first) s = python_lstrip(s);
    else if (last) s = python_rstrip(s);
  }
  if (prep.lower) s = python_lower(s);
  return s;
}

Slice make_slice(const Pipeline& p, const std::vector<const Normalizer*>& steps, const TextPreparation& prep,
                 std::string_view text, std::size_t begin, std::size_t end) {
  Slice s;
  s.begin = begin;
  s.end = end;
  const bool first = begin == 0, last = end == text.size();
  s.prepared = prepare(prep, text.substr(begin, end - begin), first, last);
  Piece whole;
  whole.text = s.prepared;
  whole.at_start = first;
  Pieces raw;
  p.added->split_raw(whole, raw);
  s.head_is_text = !raw.empty() && raw.front().id < 0;
  s.tail_is_text = !raw.empty() && raw.back().id < 0;
  for (std::size_t k = 0; k < raw.size(); ++k) {
    Piece& piece = raw[k];
    if (piece.id >= 0) {
      s.pieces.push_back(std::move(piece));
      continue;
    }
    // A text piece at a slice edge continues in the neighbouring slice.
    const bool head = k == 0, tail = k + 1 == raw.size();
    const bool piece_start = !(head && !first), piece_end = !(tail && !last);
    if (head || tail) {
      std::vector<std::string> trail{piece.text};
      for (const Normalizer* step : steps) {
        step->normalize_slice(piece.text, piece_start, piece_end);
        trail.push_back(piece.text);
      }
      if (head) s.head_steps = trail;
      if (tail) s.tail_steps = std::move(trail);
    } else if (p.normalizer) {
      p.normalizer->normalize_slice(piece.text, piece_start, piece_end);
    }
    p.added->split_normalized(piece, s.pieces);
  }
  return s;
}

// True when tokenizing l and r one after the other gives the ids of tokenizing them as one.
bool cut_proven(const Pipeline& p, const std::vector<const Normalizer*>& steps, const Slice& l, const Slice& r) {
  if (!l.tail_is_text || !r.head_is_text || !p.pre_tokenizer) return false;
  if (p.added->near_cut(l.prepared, r.prepared, false)) return false;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (!steps[k]->splits_between(l.tail_steps[k], r.head_steps[k])) return false;
  }
  const std::string& left = l.tail_steps.back();
  const std::string& right = r.head_steps.back();
  if (left.empty() || right.empty() || p.added->near_cut(left, right, true)) return false;
  return p.pre_tokenizer->cut(left, right) == Cut::boundary;
}

// Pre-tokenizes and tokenizes the slice, appending ids until there are `room`.
void emit(const Pipeline& p, Slice& s, std::vector<int64_t>& ids, std::size_t room) {
  if (p.pre_tokenizer) p.pre_tokenizer->pre_tokenize(s.pieces);
  for (const auto& piece : s.pieces) {
    if (ids.size() >= room) return;
    if (piece.id >= 0)
      ids.push_back(piece.id);
    else
      p.model->tokenize(piece.text, ids);
  }
}

}  // namespace

std::size_t slice_bytes() { return g_slice_bytes.load(std::memory_order_relaxed); }
void set_slice_bytes_for_testing(std::size_t bytes) { g_slice_bytes.store(bytes, std::memory_order_relaxed); }
CutCounts cut_counts() { return {g_cuts_proven.load(), g_cuts_refused.load()}; }

std::optional<std::vector<int64_t>> encode_sliced(const Pipeline& p, const TextPreparation& prep,
                                                  std::string_view text, std::size_t room) {
  const std::size_t slice = slice_bytes();
  const std::size_t first_cut = next_cut(text, slice);
  if (first_cut == text.size()) return std::nullopt;
  std::vector<const Normalizer*> steps;
  if (p.normalizer) p.normalizer->steps(steps);
  std::vector<int64_t> ids;
  Slice l = make_slice(p, steps, prep, text, 0, first_cut);
  // After a cut that could not be proven, the next one is looked for as far again as the
  // slice is long: each byte is then prepared a bounded number of times.
  std::size_t gap = slice;
  while (l.end < text.size()) {
    const std::size_t end = next_cut(text, l.end + gap);
    Slice r = make_slice(p, steps, prep, text, l.end, end);
    if (cut_proven(p, steps, l, r)) {
      g_cuts_proven.fetch_add(1, std::memory_order_relaxed);
      emit(p, l, ids, room);
      if (ids.size() >= room) return ids;
      l = std::move(r);
      gap = slice;
    } else {
      g_cuts_refused.fetch_add(1, std::memory_order_relaxed);
      l = make_slice(p, steps, prep, text, l.begin, end);
      gap = std::max(gap, l.end - l.begin);
    }
  }
  emit(p, l, ids, room);
  return ids;
}

}  // namespace docquant::tokenizer
