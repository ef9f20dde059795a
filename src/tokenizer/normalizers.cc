#include "normalizers.h"

#include <utility>

namespace docquant::tokenizer {
namespace {

// A normalisation boundary in every form comes before an ASCII character or a CJK ideograph
// (combining class 0, no decomposition, never the second character of a composition).
bool starts_at_boundary(std::string_view s) {
  return s.empty() || static_cast<unsigned char>(s[0]) < 0x80 || is_cjk_ideograph(first_code_point(s));
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

void lowercase_in_place(std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    const auto l = to_lowercase(c);
    out.push_back(l[0]);  // may be U+0000 itself; only the extra slots use 0 as "unused"
    if (l[1]) out.push_back(l[1]);
    if (l[2]) out.push_back(l[2]);
  }
  s.swap(out);
}

class BertNormalizer final : public Normalizer {
 public:
  explicit BertNormalizer(BertNormalizerConfig c) : c_(c) {}
  void normalize(std::string& text) const override {
    const bool strip_accents = c_.strip_accents.value_or(c_.lowercase);
    if (is_ascii(text)) {  // fast path: the same steps restricted to ASCII
      std::string out;
      out.reserve(text.size());
      for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c_.clean_text) {
          if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) continue;
          if (c == '\t' || c == '\n' || c == '\r' || (c >= 0x0B && c <= 0x0D) || c == ' ') {
            out.push_back(' ');
            continue;
          }
        }
        out.push_back(c_.lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : ch);
      }
      text.swap(out);
      return;
    }
    std::u32string s = decode_utf8(text);
    if (c_.clean_text) {
      std::u32string out;
      out.reserve(s.size());
      for (char32_t c : s) {
        // HF filters first (control and format characters, NUL, U+FFFD), then maps
        // the remaining whitespace to a space: U+000B, U+000C and U+0085 are dropped.
        if (c == 0 || c == 0xFFFD || is_bert_removed(c)) continue;
        out.push_back(is_whitespace(c) ? U' ' : c);
      }
      s.swap(out);
    }
    if (c_.handle_chinese_chars) {
      std::u32string out;
      out.reserve(s.size());
      for (char32_t c : s) {
        if (is_chinese_char(c)) {
          out.push_back(U' ');
          out.push_back(c);
          out.push_back(U' ');
        } else {
          out.push_back(c);
        }
      }
      s.swap(out);
    }
    if (strip_accents) {
      std::u32string d = decode_utf8(normalize_form(encode_utf8(s), NormalForm::nfd));
      std::u32string out;
      out.reserve(d.size());
      for (char32_t c : d)
        if (!is_nonspacing_mark(c)) out.push_back(c);
      s.swap(out);
    }
    if (c_.lowercase) lowercase_in_place(s);
    text = encode_utf8(s);
  }
  std::string name() const override { return "BertNormalizer"; }
  // Every step works character by character, except strip_accents' NFD, which cannot reorder
  // or join anything across a boundary character.
  bool splits_between(std::string_view, std::string_view right) const override {
    return !c_.strip_accents.value_or(c_.lowercase) || starts_at_boundary(right);
  }

 private:
  BertNormalizerConfig c_;
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm f) : f_(f) {}
  void normalize(std::string& text) const override {
    if (!is_ascii(text)) text = normalize_form(text, f_);
  }
  bool splits_between(std::string_view, std::string_view right) const override { return starts_at_boundary(right); }
  std::string name() const override {
    switch (f_) {
      case NormalForm::nfc: return "NFC";
      case NormalForm::nfd: return "NFD";
      case NormalForm::nfkc: return "NFKC";
      case NormalForm::nfkd: return "NFKD";
    }
    return "NF?";
  }

 private:
  NormalForm f_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::u32string s = decode_utf8(text);
    lowercase_in_place(s);
    text = encode_utf8(s);
  }
  std::string name() const override { return "Lowercase"; }
  bool splits_between(std::string_view, std::string_view) const override { return true; }  // per character
};

class StripAccents final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    if (is_ascii(text)) return;
    std::u32string out;
    for (char32_t c : decode_utf8(text))
      if (!is_combining_mark(c)) out.push_back(c);
    text = encode_utf8(out);
  }
  std::string name() const override { return "StripAccents"; }
  bool splits_between(std::string_view, std::string_view) const override { return true; }  // per character
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override { normalize_slice(text, true, true); }
  void normalize_slice(std::string& text, bool piece_start, bool piece_end) const override {
    std::u32string s = decode_utf8(text);
    std::size_t b = 0, e = s.size();
    if (left_ && piece_start)
      while (b < e && is_whitespace(s[b])) ++b;
    if (right_ && piece_end)
      while (e > b && is_whitespace(s[e - 1])) --e;
    text = encode_utf8(std::u32string_view(s).substr(b, e - b));
  }
  std::string name() const override { return "Strip"; }
  // Stripping from either end of the piece stops at the last character of `left`.
  bool splits_between(std::string_view left, std::string_view) const override {
    return !left.empty() && !is_whitespace(last_code_point(left));
  }

 private:
  bool left_, right_;
};

class Replace final : public Normalizer {
 public:
  Replace(Regex pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string& text) const override { text = pattern_.replace_all(text, content_); }
  std::string name() const override { return "Replace"; }
  bool splits_between(std::string_view left, std::string_view right) const override {
    return pattern_.cannot_cross(left, right);
  }

 private:
  Regex pattern_;
  std::string content_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(std::string& text) const override { normalize_slice(text, true, true); }
  void normalize_slice(std::string& text, bool piece_start, bool) const override {
    if (piece_start && !text.empty()) text.insert(0, prepend_);
  }
  std::string name() const override { return "Prepend"; }
  // The piece is not empty, so it gets the prefix, at its start.
  bool splits_between(std::string_view left, std::string_view) const override { return !left.empty(); }

 private:
  std::string prepend_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }
  void normalize_slice(std::string& text, bool piece_start, bool piece_end) const override {
    for (const auto& p : parts_) p->normalize_slice(text, piece_start, piece_end);
  }
  void steps(std::vector<const Normalizer*>& out) const override {
    for (const auto& p : parts_) p->steps(out);
  }
  std::string name() const override {
    std::string n = "Sequence[";
    for (std::size_t i = 0; i < parts_.size(); ++i) n += (i ? ", " : "") + parts_[i]->name();
    return n + "]";
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(BertNormalizerConfig config) {
  return std::make_unique<BertNormalizer>(config);
}
std::unique_ptr<Normalizer> make_unicode_normalizer(NormalForm form) { return std::make_unique<UnicodeNormalizer>(form); }
std::unique_ptr<Normalizer> make_lowercase_normalizer() { return std::make_unique<Lowercase>(); }
std::unique_ptr<Normalizer> make_strip_accents_normalizer() { return std::make_unique<StripAccents>(); }
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right) { return std::make_unique<Strip>(left, right); }
std::unique_ptr<Normalizer> make_replace_normalizer(Regex pattern, std::string content) {
  return std::make_unique<Replace>(std::move(pattern), std::move(content));
}
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prepend) {
  return std::make_unique<Prepend>(std::move(prepend));
}
std::unique_ptr<Normalizer> make_sequence_normalizer(std::vector<std::unique_ptr<Normalizer>> parts) {
  return std::make_unique<Sequence>(std::move(parts));
}

}  // namespace docquant::tokenizer
