// Unigram: the best-scoring segmentation by Viterbi over vocabulary pieces, with
// unknown characters scored min_score - 10 and runs of unknowns fused, as HF
// `tokenizers` Unigram::encode_optimized does (ties keep the earlier candidate).
#include <algorithm>
#include <cstdio>
#include <limits>

#include "docquant/error.h"
#include "models.h"

namespace docquant::tokenizer {
namespace {

constexpr double kUnkPenalty = 10.0;

class Unigram final : public Model {
 public:
  Unigram(UnigramConfig c, const std::string& where) : c_(std::move(c)) {
    if (c_.unk_id && (c_.vocab.empty() || *c_.unk_id >= c_.vocab.size()))
      throw InputError(where + ": model.unk_id is outside the Unigram vocab");
    min_score_ = std::numeric_limits<double>::infinity();
    for (std::size_t id = 0; id < c_.vocab.size(); ++id) {
      ids_[c_.vocab[id].first] = static_cast<int64_t>(id);  // a repeated piece keeps its last id, as HF does
      min_score_ = std::min(min_score_, c_.vocab[id].second);
    }
    sorted_.resize(c_.vocab.size());
    for (std::size_t k = 0; k < sorted_.size(); ++k) sorted_[k] = static_cast<uint32_t>(k);
    std::sort(sorted_.begin(), sorted_.end(),
              [this](uint32_t a, uint32_t b) { return c_.vocab[a].first < c_.vocab[b].first; });
    canonical_id_.resize(c_.vocab.size());
    for (std::size_t k = 0; k < c_.vocab.size(); ++k) canonical_id_[k] = ids_.at(c_.vocab[k].first);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      auto it = ids_.find(std::string_view(name));
      byte_ids_[b] = it == ids_.end() ? -1 : it->second;
    }
    where_ = where;
  }

  void tokenize(std::string_view s, std::vector<int64_t>& ids) const override {
    if (s.empty()) return;
    struct Node {
      int64_t id = 0;
      double score = 0;
      long starts_at = -1;
    };
    const double unk_score = min_score_ - kUnkPenalty;
    std::vector<Node> best(s.size() + 1);
    std::size_t start = 0;
    while (start < s.size()) {
      const double base = best[start].score;
      const std::size_t mblen = utf8_length(static_cast<unsigned char>(s[start]));
      bool has_single = false;
      // Walk the sorted vocabulary: [lo, hi) holds the pieces that start with s[start, start+d).
      std::size_t lo = 0, hi = sorted_.size();
      for (std::size_t d = 0; start + d < s.size(); ++d) {
        const auto b = static_cast<unsigned char>(s[start + d]);
        auto byte_at = [this, d](uint32_t k) -> int {
          const std::string& t = c_.vocab[k].first;
          return t.size() > d ? static_cast<unsigned char>(t[d]) : -1;
        };
        const auto first = std::lower_bound(sorted_.begin() + static_cast<long>(lo), sorted_.begin() + static_cast<long>(hi),
                                            static_cast<int>(b), [&](uint32_t k, int v) { return byte_at(k) < v; });
        const auto last = std::upper_bound(first, sorted_.begin() + static_cast<long>(hi), static_cast<int>(b),
                                           [&](int v, uint32_t k) { return v < byte_at(k); });
        if (first == last) break;
        lo = static_cast<std::size_t>(first - sorted_.begin());
        hi = static_cast<std::size_t>(last - sorted_.begin());
        if (c_.vocab[sorted_[lo]].first.size() != d + 1) continue;  // no piece ends here
        const int64_t id = canonical_id_[sorted_[lo]];
        const std::size_t end = start + d + 1;
        const double candidate = c_.vocab[static_cast<std::size_t>(id)].second + base;
        Node& target = best[end];
        if (target.starts_at < 0 || candidate > target.score) {
          target.score = candidate;
          target.starts_at = static_cast<long>(start);
          target.id = id;
        }
        if (d + 1 == mblen) has_single = true;
      }
      if (!has_single) {
        if (!c_.unk_id) throw InputError(where_ + ": the Unigram model has no unk_id for an unknown character");
        Node& target = best[start + mblen];
        const double candidate = unk_score + base;
        if (target.starts_at < 0 || candidate > target.score) {
          target.score = candidate;
          target.starts_at = static_cast<long>(start);
          target.id = static_cast<int64_t>(*c_.unk_id);
        }
      }
      start += mblen;
    }
    // Backtrack, fusing consecutive unknowns into one piece.
    std::vector<std::pair<std::size_t, std::size_t>> pieces;
    std::size_t end = s.size();
    std::size_t unk_begin = 0, unk_end = 0;
    bool in_unk = false;
    const int64_t unk = c_.unk_id ? static_cast<int64_t>(*c_.unk_id) : -1;
    while (end > 0) {
      const Node& n = best[end];
      const auto b = static_cast<std::size_t>(n.starts_at);
      if (n.id == unk) {
        if (!in_unk) unk_end = end;
        in_unk = true;
        unk_begin = b;
      } else {
        if (in_unk) pieces.emplace_back(unk_begin, unk_end);
        in_unk = false;
        pieces.emplace_back(b, end);
      }
      end = b;
    }
    if (in_unk) pieces.emplace_back(unk_begin, unk_end);
    std::reverse(pieces.begin(), pieces.end());
    for (const auto& [b, e] : pieces) {
      const std::string_view piece = s.substr(b, e - b);
      auto it = ids_.find(piece);
      if (it != ids_.end()) {
        ids.push_back(it->second);
        continue;
      }
      if (c_.byte_fallback) {
        bool all = true;
        for (unsigned char ch : piece) all = all && byte_ids_[ch] >= 0;
        if (all) {
          for (unsigned char ch : piece) ids.push_back(byte_ids_[ch]);
          continue;
        }
      }
      if (!c_.unk_id) throw InputError(where_ + ": the Unigram model has no unk_id for an unknown piece");
      ids.push_back(unk);
    }
  }
  std::string name() const override { return "Unigram"; }
  std::size_t vocab_size() const override { return c_.vocab.size(); }
  int64_t max_id() const override { return static_cast<int64_t>(c_.vocab.size()) - 1; }
  const int64_t* token_to_id(std::string_view token) const override {
    auto it = ids_.find(token);
    return it == ids_.end() ? nullptr : &it->second;
  }

 private:
  UnigramConfig c_;
  Vocab ids_;
  std::vector<uint32_t> sorted_;
  std::vector<int64_t> canonical_id_;  // id a piece's text resolves to (the last one for repeats)
  double min_score_ = 0;
  int64_t byte_ids_[256];
  std::string where_;
};

}  // namespace

std::unique_ptr<Model> make_unigram(UnigramConfig config, const std::string& where) {
  return std::make_unique<Unigram>(std::move(config), where);
}

}  // namespace docquant::tokenizer
