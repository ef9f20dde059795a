// BPE: a word starts as characters (with byte fallback or the unknown token for
// characters outside the vocabulary), then pairs merge lowest rank first, ties
// to the leftmost, exactly as HF `tokenizers` Word::merge_all does.
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <queue>
#include <shared_mutex>

#include "docquant/error.h"
#include "models.h"

namespace docquant::tokenizer {
namespace {

struct MergeInfo {
  uint32_t rank;
  int64_t new_id;
};

struct Symbol {
  int64_t id;
  long prev, next;
  std::size_t len;
};

struct Candidate {
  uint32_t rank;
  std::size_t pos;
  int64_t new_id;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

uint64_t pair_key(int64_t a, int64_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b); }

class Bpe final : public Model {
 public:
  Bpe(BpeConfig c, const std::string& where) : c_(std::move(c)) {
    for (const auto& [id_str, id] : c_.vocab) {
      if (id < 0 || id > 0xFFFFFFFFll) throw InputError(where + ": vocab id " + std::to_string(id) + " out of range");
      max_id_ = std::max(max_id_, id);
    }
    merges_.reserve(c_.merges.size());
    for (std::size_t rank = 0; rank < c_.merges.size(); ++rank) {
      const auto& [a, b] = c_.merges[rank];
      const int64_t* ia = lookup(a);
      const int64_t* ib = lookup(b);
      const int64_t* inew = lookup(a + b);
      if (!ia || !ib || !inew)
        throw InputError(where + ": merges[" + std::to_string(rank) + "] '" + a + " " + b +
                         "' uses a token missing from the vocab");
      merges_.emplace(pair_key(*ia, *ib), MergeInfo{static_cast<uint32_t>(rank), *inew});
    }
    if (!c_.unk_token.empty()) {
      const int64_t* u = lookup(c_.unk_token);
      if (u) unk_id_ = *u;
      unk_declared_ = true;
    }
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      const int64_t* id = lookup(name);
      byte_ids_[b] = id ? *id : -1;
    }
    where_ = where;
  }

  void tokenize(std::string_view word, std::vector<int64_t>& ids) const override {
    if (word.empty()) return;
    if (c_.ignore_merges) {
      if (const int64_t* id = lookup(word)) {
        ids.push_back(*id);
        return;
      }
    }
    if (word.size() < kCacheMaxWordBytes) {
      std::shared_lock lock(cache_mutex_);
      auto it = cache_.find(word);
      if (it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::size_t first = ids.size();
    merge_word(word, ids);
    if (word.size() < kCacheMaxWordBytes) {
      std::unique_lock lock(cache_mutex_);
      if (cache_.size() < kCacheCapacity)
        cache_.emplace(std::string(word), std::vector<int64_t>(ids.begin() + static_cast<long>(first), ids.end()));
    }
  }

  void merge_word(std::string_view word, std::vector<int64_t>& ids) const {
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    auto add = [&symbols](int64_t id, std::size_t len) {
      const long n = static_cast<long>(symbols.size());
      if (n > 0) symbols.back().next = n;
      symbols.push_back({id, n - 1, -1, len});
    };
    bool have_unk = false;
    int64_t unk_id = 0;
    std::size_t unk_len = 0;
    std::string s;
    std::size_t i = 0;
    while (i < word.size()) {
      const std::size_t len = utf8_length(static_cast<unsigned char>(word[i]));
      const bool is_first = i == 0, is_last = i + len >= word.size();
      s.clear();
      if (!is_first) s += c_.continuing_subword_prefix;
      s.append(word.substr(i, len));
      if (is_last) s += c_.end_of_word_suffix;
      i += len;
      if (const int64_t* id = lookup(s)) {
        if (have_unk) {
          add(unk_id, unk_len);
          have_unk = false;
        }
        add(*id, len);
        continue;
      }
      if (c_.byte_fallback) {
        bool all = true;
        for (unsigned char b : s) all = all && byte_ids_[b] >= 0;
        if (all) {
          for (unsigned char b : s) add(byte_ids_[b], 1);
          continue;
        }
      }
      if (unk_declared_) {
        if (unk_id_ < 0) throw InputError(where_ + ": unk_token '" + c_.unk_token + "' is not in the BPE vocab");
        if (have_unk && c_.fuse_unk) {
          unk_len += len;
        } else {
          if (have_unk) add(unk_id, unk_len);
          have_unk = true;
          unk_id = unk_id_;
          unk_len = len;
        }
      }
    }
    if (have_unk) add(unk_id, unk_len);
    merge_all(symbols);
    for (const auto& sym : symbols)
      if (sym.len != 0) ids.push_back(sym.id);
  }
  std::string name() const override { return "BPE"; }
  std::size_t vocab_size() const override { return c_.vocab.size(); }
  int64_t max_id() const override { return max_id_; }
  const int64_t* token_to_id(std::string_view token) const override { return lookup(token); }

 private:
  const int64_t* lookup(std::string_view s) const {
    auto it = c_.vocab.find(s);
    return it == c_.vocab.end() ? nullptr : &it->second;
  }
  const MergeInfo* merge_of(int64_t a, int64_t b) const {
    auto it = merges_.find(pair_key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }

  void merge_all(std::vector<Symbol>& symbols) const {
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    for (std::size_t k = 0; k + 1 < symbols.size(); ++k)
      if (const MergeInfo* m = merge_of(symbols[k].id, symbols[k + 1].id)) queue.push({m->rank, k, m->new_id});
    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& cur = symbols[top.pos];
      if (cur.len == 0 || cur.next == -1) continue;
      const auto next_pos = static_cast<std::size_t>(cur.next);
      const Symbol right = symbols[next_pos];
      const MergeInfo* m = merge_of(cur.id, right.id);
      if (!m || m->new_id != top.new_id) continue;
      cur.id = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      symbols[next_pos].len = 0;
      if (right.next > -1 && static_cast<std::size_t>(right.next) < symbols.size())
        symbols[static_cast<std::size_t>(right.next)].prev = static_cast<long>(top.pos);
      if (cur.prev >= 0) {
        const auto prev = static_cast<std::size_t>(cur.prev);
        if (const MergeInfo* pm = merge_of(symbols[prev].id, cur.id)) queue.push({pm->rank, prev, pm->new_id});
      }
      if (cur.next >= 0 && static_cast<std::size_t>(cur.next) < symbols.size()) {
        if (const MergeInfo* nm = merge_of(cur.id, symbols[static_cast<std::size_t>(cur.next)].id))
          queue.push({nm->rank, top.pos, nm->new_id});
      }
    }
  }

  // Words already merged, shared by all threads (what HF's BPE cache does: same
  // sizes). The result of a word never changes, so the cache only saves time.
  static constexpr std::size_t kCacheCapacity = 10000;
  static constexpr std::size_t kCacheMaxWordBytes = 256;
  mutable std::shared_mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>, StringHash, std::equal_to<>> cache_;

  BpeConfig c_;
  std::unordered_map<uint64_t, MergeInfo> merges_;
  int64_t byte_ids_[256];
  int64_t unk_id_ = -1;
  int64_t max_id_ = -1;
  bool unk_declared_ = false;
  std::string where_;
};

}  // namespace

std::unique_ptr<Model> make_bpe(BpeConfig config, const std::string& where) {
  return std::make_unique<Bpe>(std::move(config), where);
}

}  // namespace docquant::tokenizer
