#include "batching.h"

#include <gtest/gtest.h>

namespace docquant::runtime {
namespace {

Encoding enc(std::size_t len, std::int64_t first_id) {
  Encoding e;
  for (std::size_t i = 0; i < len; ++i) {
    e.input_ids.push_back(first_id + static_cast<std::int64_t>(i));
    e.attention_mask.push_back(1);
    e.token_type_ids.push_back(0);
  }
  return e;
}

TEST(MakeBatches, SortsByLengthPadsToLongestAndKeepsRowIndices) {
  const std::vector<Encoding> encodings = {enc(5, 100), enc(2, 200), enc(3, 300), enc(2, 400)};
  BatchPolicy policy;
  policy.batch_size = 2;
  const auto batches = make_batches(encodings, policy, /*pad_id=*/0);
  ASSERT_EQ(batches.size(), 2u);
  // Stable sort by length: rows 1 (2), 3 (2) | 2 (3), 0 (5).
  EXPECT_EQ(batches[0].rows, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(batches[0].seq_len, 2u);
  EXPECT_EQ(batches[1].rows, (std::vector<std::size_t>{2, 0}));
  EXPECT_EQ(batches[1].seq_len, 5u);
  EXPECT_EQ(batches[1].input_ids, (std::vector<std::int64_t>{300, 301, 302, 0, 0, 100, 101, 102, 103, 104}));
  EXPECT_EQ(batches[1].attention_mask, (std::vector<std::int64_t>{1, 1, 1, 0, 0, 1, 1, 1, 1, 1}));
}

TEST(MakeBatches, InputOrderWhenNotSortingAndPadIdUsed) {
  const std::vector<Encoding> encodings = {enc(3, 1), enc(1, 9), enc(2, 5)};
  BatchPolicy policy;
  policy.batch_size = 8;
  policy.sort_by_length = false;
  const auto batches = make_batches(encodings, policy, /*pad_id=*/7);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].rows, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(batches[0].input_ids, (std::vector<std::int64_t>{1, 2, 3, 9, 7, 7, 5, 6, 7}));
}

TEST(MakeBatches, EveryRowExactlyOnce) {
  std::vector<Encoding> encodings;
  for (std::size_t i = 0; i < 101; ++i) encodings.push_back(enc(1 + (i * 37) % 13, 1));
  const auto batches = make_batches(encodings, BatchPolicy{}, 0);
  std::vector<int> seen(encodings.size(), 0);
  for (const auto& b : batches) {
    EXPECT_LE(b.rows.size(), 32u);
    for (auto r : b.rows) seen[r]++;
  }
  for (int s : seen) EXPECT_EQ(s, 1);
  EXPECT_TRUE(make_batches({}, BatchPolicy{}, 0).empty());
}

}  // namespace
}  // namespace docquant::runtime
