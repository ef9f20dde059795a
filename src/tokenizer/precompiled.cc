// SentencePiece's precompiled charsmap, applied the way HF `tokenizers` applies
// it (spm_precompiled): per extended grapheme cluster shorter than 6 bytes, the
// shortest prefix found in the double-array trie replaces the whole cluster;
// otherwise each code point is looked up on its own.
#include <cstdint>
#include <cstring>

#include "docquant/error.h"
#include "normalizers.h"

namespace docquant::tokenizer {
namespace {

class Precompiled final : public Normalizer {
 public:
  Precompiled(std::string charsmap, const std::string& where) {
    if (charsmap.size() < 4) throw InputError(where + ": precompiled_charsmap is too short");
    uint32_t trie_size = 0;
    std::memcpy(&trie_size, charsmap.data(), 4);  // little-endian on every platform docquant builds for
    if (trie_size % 4 != 0 || 4 + static_cast<std::size_t>(trie_size) > charsmap.size())
      throw InputError(where + ": precompiled_charsmap has a trie size beyond its length");
    units_.resize(trie_size / 4);
    std::memcpy(units_.data(), charsmap.data() + 4, trie_size);
    normalized_ = charsmap.substr(4 + trie_size);
    if (units_.empty()) throw InputError(where + ": precompiled_charsmap has an empty trie");
  }

  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    bool modified = false;
    for_each_grapheme(text, [&](std::string_view g) {
      std::string_view norm;
      if (g.size() < 6 && transform(g, norm)) {
        out.append(norm);
        modified = true;
        return;
      }
      std::size_t i = 0;
      while (i < g.size()) {
        const std::size_t len = utf8_length(static_cast<unsigned char>(g[i]));
        const std::string_view part = g.substr(i, len);
        if (transform(part, norm)) {
          out.append(norm);
          modified = true;
        } else {
          out.append(part);
        }
        i += len;
      }
    });
    if (modified) text.swap(out);
  }
  std::string name() const override { return "Precompiled"; }
  // Clusters are mapped one by one: a cut where a cluster certainly ends splits the result.
  bool splits_between(std::string_view left, std::string_view right) const override {
    return left.empty() || right.empty() || grapheme_break_certain(last_code_point(left), first_code_point(right));
  }

 private:
  static bool has_leaf(uint32_t u) { return (u >> 8) & 1; }
  static uint32_t value(uint32_t u) { return u & ((1u << 31) - 1); }
  static uint32_t label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static uint32_t offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

  // The first (shortest) entry of the common-prefix search, as spm_precompiled uses it.
  bool transform(std::string_view chunk, std::string_view& norm) const {
    std::size_t pos = 0;
    uint32_t unit = units_[pos];
    pos ^= offset(unit);
    for (unsigned char c : chunk) {
      if (c == 0) break;
      pos ^= c;
      if (pos >= units_.size()) return false;
      unit = units_[pos];
      if (label(unit) != c) return false;
      pos ^= offset(unit);
      if (pos >= units_.size()) return false;
      if (has_leaf(unit)) {
        const std::size_t index = value(units_[pos]);
        if (index > normalized_.size()) return false;
        std::size_t end = normalized_.find('\0', index);
        if (end == std::string::npos) end = normalized_.size();
        norm = std::string_view(normalized_).substr(index, end - index);
        return true;
      }
    }
    return false;
  }

  std::vector<uint32_t> units_;
  std::string normalized_;
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled_normalizer(std::string charsmap, const std::string& where) {
  return std::make_unique<Precompiled>(std::move(charsmap), where);
}

}  // namespace docquant::tokenizer
