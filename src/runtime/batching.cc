#include "batching.h"

#include <fmt/core.h>

#include <algorithm>
#include <numeric>

namespace docquant::runtime {

std::string BatchPolicy::describe() const {
  return fmt::format("batches of {} texts{}, each padded to its longest text", batch_size,
                     sort_by_length ? " grouped by token count (stable sort)" : " in input order");
}

std::vector<Batch> make_batches(const std::vector<Encoding>& encodings, const BatchPolicy& policy,
                                std::int64_t pad_id) {
  std::vector<std::size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), 0);
  if (policy.sort_by_length) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return encodings[a].input_ids.size() < encodings[b].input_ids.size();
    });
  }
  const std::size_t size = std::max<std::size_t>(1, policy.batch_size);
  std::vector<Batch> batches;
  for (std::size_t start = 0; start < order.size(); start += size) {
    Batch b;
    b.rows.assign(order.begin() + static_cast<std::ptrdiff_t>(start),
                  order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + size)));
    for (auto r : b.rows) b.seq_len = std::max(b.seq_len, encodings[r].input_ids.size());
    const std::size_t cells = b.rows.size() * b.seq_len;
    b.input_ids.assign(cells, pad_id);
    b.attention_mask.assign(cells, 0);
    b.token_type_ids.assign(cells, 0);
    for (std::size_t i = 0; i < b.rows.size(); ++i) {
      const Encoding& e = encodings[b.rows[i]];
      std::copy(e.input_ids.begin(), e.input_ids.end(), b.input_ids.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len));
      std::copy(e.attention_mask.begin(), e.attention_mask.end(),
                b.attention_mask.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len));
      std::copy(e.token_type_ids.begin(), e.token_type_ids.end(),
                b.token_type_ids.begin() + static_cast<std::ptrdiff_t>(i * b.seq_len));
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

}  // namespace docquant::runtime
