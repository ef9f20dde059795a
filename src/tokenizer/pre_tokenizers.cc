#include "pre_tokenizers.h"

#include <algorithm>
#include <array>
#include <utility>

namespace docquant::tokenizer {

void split_piece(const Piece& piece, const std::vector<Span>& spans, SplitBehavior behavior, Pieces& out) {
  // (span, remove) pairs, merged according to the behaviour (HF NormalizedString::split).
  std::vector<std::pair<Span, bool>> parts;
  parts.reserve(spans.size());
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const auto& s : spans) parts.push_back({s, false});
      break;
    case SplitBehavior::removed:
      for (const auto& s : spans) parts.push_back({s, s.is_match});
      break;
    case SplitBehavior::contiguous: {
      bool prev = false;
      for (const auto& s : spans) {
        if (s.is_match == prev && !parts.empty()) {
          parts.back().first.end = s.end;
        } else {
          parts.push_back({s, false});
        }
        prev = s.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_previous: {
      bool prev = false;
      for (const auto& s : spans) {
        if (s.is_match && !prev && !parts.empty()) {
          parts.back().first.end = s.end;
        } else {
          parts.push_back({s, false});
        }
        prev = s.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool prev = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !prev && !parts.empty()) {
          parts.back().first.begin = it->begin;
        } else {
          parts.push_back({*it, false});
        }
        prev = it->is_match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
    }
  }
  for (const auto& [span, remove] : parts) {
    if (remove || span.end == span.begin) continue;
    Piece p;
    p.text = piece.text.substr(span.begin, span.end - span.begin);
    p.at_start = piece.at_start && span.begin == 0;
    out.push_back(std::move(p));
  }
}

namespace {

// A split by a character predicate with `behavior` (char_spans then split_piece), at a cut
// between characters a and b: boundary where split_piece always starts a new piece, inside
// where the two spans at the cut are merged either way (docs/tokenizer.md, "Long texts").
Cut char_split_cut(bool match_a, bool match_b, SplitBehavior behavior) {
  bool boundary = false;
  switch (behavior) {
    case SplitBehavior::isolated:
    case SplitBehavior::removed: boundary = match_a || match_b; break;
    case SplitBehavior::contiguous: boundary = match_a != match_b; break;
    case SplitBehavior::merged_with_previous: boundary = match_a; break;  // a match joins the piece before it
    case SplitBehavior::merged_with_next: boundary = match_b; break;      // a match joins the piece after it
  }
  return boundary ? Cut::boundary : Cut::inside;
}

Cut char_split_cut(std::string_view left, std::string_view right, bool (*pred)(char32_t), SplitBehavior behavior) {
  if (left.empty() || right.empty()) return Cut::unsafe;
  return char_split_cut(pred(last_code_point(left)), pred(first_code_point(right)), behavior);
}

// Applies `split_one(piece, out)` to every piece without an id.
template <class F>
void split_pieces(Pieces& pieces, F&& split_one) {
  Pieces out;
  out.reserve(pieces.size() * 2);
  for (auto& p : pieces) {
    if (p.id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    split_one(p, out);
  }
  pieces.swap(out);
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [](const Piece& p, Pieces& out) {
      Pieces words;
      split_piece(p, char_spans(p.text, is_whitespace), SplitBehavior::removed, words);
      for (const auto& w : words) split_piece(w, char_spans(w.text, is_bert_punctuation), SplitBehavior::isolated, out);
    });
  }
  std::string name() const override { return "BertPreTokenizer"; }
  Cut cut(std::string_view left, std::string_view right) const override {
    if (left.empty() || right.empty()) return Cut::unsafe;
    const char32_t a = last_code_point(left), b = first_code_point(right);
    return is_whitespace(a) || is_whitespace(b) || is_bert_punctuation(a) || is_bert_punctuation(b) ? Cut::boundary
                                                                                                     : Cut::inside;
  }
};

// \w+|[^\w\s]+ with whitespace removed: runs of word characters and runs of
// other non-space characters.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [](const Piece& p, Pieces& out) {
      std::vector<Span> spans;
      std::size_t i = 0;
      int run = -1;  // -1 none, 0 space, 1 word, 2 other
      while (i < p.text.size()) {
        const std::size_t at = i;
        const char32_t c = next_code_point(p.text, i);
        const int kind = is_regex_word(c) ? 1 : is_whitespace(c) ? 0 : 2;
        if (kind == run && kind != 0) {
          spans.back().end = i;
        } else if (kind == 0 && run == 0) {
          spans.back().end = i;
        } else {
          spans.push_back({at, i, kind == 0});  // whitespace is what gets removed
        }
        run = kind;
      }
      split_piece(p, spans, SplitBehavior::removed, out);
    });
  }
  std::string name() const override { return "Whitespace"; }
  // Runs of one kind (word, space, other); a cut between two characters of one kind other
  // than space stays inside a run.
  Cut cut(std::string_view left, std::string_view right) const override {
    if (left.empty() || right.empty()) return Cut::unsafe;
    auto kind = [](char32_t c) { return is_regex_word(c) ? 1 : is_whitespace(c) ? 0 : 2; };
    const int a = kind(last_code_point(left)), b = kind(first_code_point(right));
    return a != b || a == 0 ? Cut::boundary : Cut::inside;
  }
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [](const Piece& p, Pieces& out) {
      split_piece(p, char_spans(p.text, is_whitespace), SplitBehavior::removed, out);
    });
  }
  std::string name() const override { return "WhitespaceSplit"; }
  Cut cut(std::string_view left, std::string_view right) const override {
    return char_split_cut(left, right, is_whitespace, SplitBehavior::removed);
  }
};

class Punctuation final : public PreTokenizer {
 public:
  explicit Punctuation(SplitBehavior b) : b_(b) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces,
                 [this](const Piece& p, Pieces& out) { split_piece(p, char_spans(p.text, is_bert_punctuation), b_, out); });
  }
  std::string name() const override { return "Punctuation"; }
  Cut cut(std::string_view left, std::string_view right) const override {
    return char_split_cut(left, right, is_bert_punctuation, b_);
  }

 private:
  SplitBehavior b_;
};

class Digits final : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(Pieces& pieces) const override {
    const auto b = individual_ ? SplitBehavior::isolated : SplitBehavior::contiguous;
    split_pieces(pieces, [b](const Piece& p, Pieces& out) { split_piece(p, char_spans(p.text, is_numeric), b, out); });
  }
  std::string name() const override { return "Digits"; }
  Cut cut(std::string_view left, std::string_view right) const override {
    return char_split_cut(left, right, is_numeric, individual_ ? SplitBehavior::isolated : SplitBehavior::contiguous);
  }

 private:
  bool individual_;
};

class Metaspace final : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : rep_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [this](const Piece& p, Pieces& out) {
      Piece q;
      q.at_start = p.at_start;
      q.text.reserve(p.text.size() + rep_.size());
      // The replacement is prepended unless the text already starts with it
      // (after spaces became replacements).
      const bool starts = p.text.compare(0, rep_.size(), rep_) == 0 || (!p.text.empty() && p.text[0] == ' ');
      if (!starts && (scheme_ == PrependScheme::always || (scheme_ == PrependScheme::first && p.at_start)))
        q.text = rep_;
      for (char c : p.text) {
        if (c == ' ')
          q.text += rep_;
        else
          q.text.push_back(c);
      }
      if (!split_) {
        out.push_back(std::move(q));
        return;
      }
      std::vector<Span> spans;
      std::size_t last = 0, pos = 0;
      while ((pos = q.text.find(rep_, pos)) != std::string::npos) {
        if (last < pos) spans.push_back({last, pos, false});
        spans.push_back({pos, pos + rep_.size(), true});
        pos += rep_.size();
        last = pos;
      }
      if (last < q.text.size()) spans.push_back({last, q.text.size(), false});
      split_piece(q, spans, SplitBehavior::merged_with_next, out);
    });
  }
  std::string name() const override { return "Metaspace"; }
  // A piece starting with a space or the replacement gets no prefix, and with split its
  // replacement starts a new piece (merged with what follows it).
  Cut cut(std::string_view left, std::string_view right) const override {
    if (left.empty() || right.empty() || !split_) return Cut::unsafe;
    return right[0] == ' ' || right.compare(0, rep_.size(), rep_) == 0 ? Cut::boundary : Cut::unsafe;
  }

 private:
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
};

std::array<std::string, 256> make_byte_level_table() {
  std::array<std::string, 256> table;
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = direct[b] ? static_cast<char32_t>(b) : next++;
    append_utf8(table[b], cp);
  }
  return table;
}

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        use_regex_(use_regex),
        gpt2_(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "ByteLevel") {}
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [this](const Piece& p, Pieces& out) {
      Piece q;
      q.at_start = p.at_start;
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) q.text = " ";
      q.text += p.text;
      if (use_regex_)
        split_piece(q, gpt2_.find_spans(q.text), SplitBehavior::isolated, out);
      else if (!q.text.empty())
        out.push_back(std::move(q));
    });
    for (auto& p : pieces) {
      if (p.id >= 0) continue;
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (unsigned char b : p.text) mapped += byte_level_char(b);
      p.text.swap(mapped);
    }
  }
  std::string name() const override { return "ByteLevel"; }
  // With the GPT-2 pattern, a space can only be the first character of a match unless the
  // match is all whitespace: no match holds a non-space `a` and the space after it, and the
  // pattern covers every character, so the cut ends one match and starts the next. The
  // piece on the right starts with a space: no prefix space is added to it.
  Cut cut(std::string_view left, std::string_view right) const override {
    if (left.empty() || right.empty() || !use_regex_ || right[0] != ' ') return Cut::unsafe;
    const char32_t a = last_code_point(left);
    return (a > 0x20 && a < 0x7F) || is_regex_word(a) ? Cut::boundary : Cut::unsafe;
  }

 private:
  bool add_prefix_space_, use_regex_;
  Regex gpt2_;
};

class Split final : public PreTokenizer {
 public:
  Split(Regex pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [this](const Piece& p, Pieces& out) {
      auto spans = pattern_.find_spans(p.text);
      if (invert_)
        for (auto& s : spans) s.is_match = !s.is_match;
      split_piece(p, spans, behavior_, out);
    });
  }
  std::string name() const override { return "Split"; }
  // A literal pattern with no occurrence at the cut leaves both characters in unmatched spans,
  // which merge (or, inverted, are one match) whatever the behaviour. Regular expressions: unproven.
  Cut cut(std::string_view left, std::string_view right) const override {
    if (left.empty() || right.empty() || !pattern_.is_literal()) return Cut::unsafe;
    return pattern_.cannot_cross(left, right, true) ? Cut::inside : Cut::unsafe;
  }

 private:
  Regex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(Pieces& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }
  // The first step that makes the cut a boundary decides; steps before it must leave the cut
  // inside one piece with its characters unchanged.
  Cut cut(std::string_view left, std::string_view right) const override {
    for (const auto& p : parts_) {
      const Cut c = p->cut(left, right);
      if (c != Cut::inside) return c;
    }
    return Cut::inside;
  }
  std::string name() const override {
    std::string n = "Sequence[";
    for (std::size_t i = 0; i < parts_.size(); ++i) n += (i ? ", " : "") + parts_[i]->name();
    return n + "]";
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

const std::string& byte_level_char(unsigned char byte) {
  static const std::array<std::string, 256> table = make_byte_level_table();
  return table[byte];
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer() { return std::make_unique<Whitespace>(); }
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer() { return std::make_unique<WhitespaceSplit>(); }
std::unique_ptr<PreTokenizer> make_punctuation_pre_tokenizer(SplitBehavior behavior) {
  return std::make_unique<Punctuation>(behavior);
}
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits) {
  return std::make_unique<Digits>(individual_digits);
}
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement, PrependScheme scheme, bool split) {
  return std::make_unique<Metaspace>(std::move(replacement), scheme, split);
}
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevel>(add_prefix_space, use_regex);
}
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(Regex pattern, SplitBehavior behavior, bool invert) {
  return std::make_unique<Split>(std::move(pattern), behavior, invert);
}
std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) {
  return std::make_unique<Sequence>(std::move(parts));
}

}  // namespace docquant::tokenizer
