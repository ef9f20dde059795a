#pragma once
// How texts become model batches. The same policy serves tuning and `docquant
// classify`, because dynamic INT8 activation scales are computed per batch: the
// padding a text shares a batch with changes its quantized result slightly, so the
// accuracy measured while tuning is the accuracy delivered only if batching matches.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "docquant/tokenizer.h"

namespace docquant::runtime {

struct BatchPolicy {
  std::size_t batch_size = 32;
  bool sort_by_length = true;  // group texts of similar length: less padding, faster
  std::string describe() const;
};

// One model call: rows (indices into the input texts), padded to the longest row.
struct Batch {
  std::vector<std::size_t> rows;
  std::size_t seq_len = 0;
  std::vector<std::int64_t> input_ids;       // rows.size() × seq_len
  std::vector<std::int64_t> attention_mask;  // rows.size() × seq_len
  std::vector<std::int64_t> token_type_ids;  // rows.size() × seq_len
};

// Deterministic: the same encodings and policy give the same batches. With
// sort_by_length, rows are ordered by token count (stable), then cut into batches.
std::vector<Batch> make_batches(const std::vector<Encoding>& encodings, const BatchPolicy& policy,
                                std::int64_t pad_id);

}  // namespace docquant::runtime
