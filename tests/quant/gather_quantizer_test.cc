// The Gather (embedding table) quantizer: per-tensor and per-row tables, dequantized rows
// checked value by value against formulas.h.
#include <gtest/gtest.h>

#include <cmath>

#include "docquant/error.h"
#include "formulas.h"
#include "graph_context.h"
#include "pass_test_graphs.h"
#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

// Embedding rows: a dequantized value is within half a step of the fp32 value.
constexpr float kEmbeddingSteps = 0.5f;

// Embeddings: ids [2, 5] into a [50, 16] table.
GraphBuilder embedding_model(const std::vector<float>& table) {
  GraphBuilder b;
  b.input("ids", onnx::TensorProto::INT64, {-1, -1}).output("emb");
  b.initializer("embeddings.word", {50, 16}, table);
  b.node("Gather", {"embeddings.word", "ids"}, {"emb"}, "embeddings/Gather");
  return b;
}

std::vector<float> embedding_table() {
  auto t = testing::uniform(50 * 16, -0.2f, 0.2f, 31u);
  for (int j = 0; j < 16; ++j) t[static_cast<std::size_t>(7 * 16 + j)] *= 10.0f;  // one row with a larger norm
  return t;
}

std::map<std::string, Feed> embedding_feeds() {
  return {{"ids", Feed{{2, 5}, {}, {0, 7, 13, 49, 7, 3, 3, 21, 0, 42}}}};
}

TEST(QuantizePass, EmbeddingPerTensorDequantizesGatheredRows) {
  const auto table = embedding_table();
  const GraphBuilder b = embedding_model(table);
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("Gather"), 1);
  EXPECT_EQ(ops.at("DequantizeLinear"), 1);
  EXPECT_FALSE(has_initializer(r.model, "embeddings.word"));
  EXPECT_EQ(decision_for(r, "embeddings/Gather").new_nodes,
            (std::vector<std::string>{"embeddings/Gather_quant", "embeddings/Gather_dequantize"}));

  const auto feeds = embedding_feeds();
  const auto y32 = testing::run_model(b.model(), feeds);
  const auto yq = testing::run_model(r.model, feeds);
  const QuantizedWeight q = quantize_weight(table, 50, 16, std::nullopt, false);
  ASSERT_EQ(yq.size(), y32.size());
  for (std::size_t i = 0; i < yq.size(); ++i) {
    const auto row = static_cast<std::size_t>(feeds.at("ids").ints[i / 16]);
    EXPECT_EQ(yq[i], dequantize_value(q.values[row * 16 + i % 16], {q.scales[0], 0})) << i;
    EXPECT_LE(std::fabs(yq[i] - y32[i]), kEmbeddingSteps * q.scales[0] * 1.0001f) << i;
  }
}

TEST(QuantizePass, EmbeddingPerRowKeepsSmallRowsPrecise) {
  const auto table = embedding_table();
  const GraphBuilder b = embedding_model(table);
  QuantPlan plan;
  plan.defaults.granularity = WeightGranularity::per_channel;
  plan.defaults.reduce_range = true;  // ignored for Gather
  const QuantizeResult r = quantize(b.model(), plan);
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("Gather"), 2);
  EXPECT_EQ(ops.at("Cast"), 1);
  EXPECT_EQ(ops.at("Mul"), 1);
  EXPECT_FALSE(decision_for(r, "embeddings/Gather").reduce_range);
  EXPECT_EQ(decision_for(r, "embeddings/Gather").granularity, WeightGranularity::per_channel);

  const auto feeds = embedding_feeds();
  const auto y32 = testing::run_model(b.model(), feeds);
  const auto yq = testing::run_model(r.model, feeds);
  const QuantizedWeight q = quantize_weight(table, 50, 16, 0, false);
  for (std::size_t i = 0; i < yq.size(); ++i) {
    const auto row = static_cast<std::size_t>(feeds.at("ids").ints[i / 16]);
    EXPECT_EQ(yq[i], dequantize_value(q.values[row * 16 + i % 16], {q.scales[row], 0})) << i;
    EXPECT_LE(std::fabs(yq[i] - y32[i]), kEmbeddingSteps * q.scales[row] * 1.0001f) << i;
  }
  // The big row's step is 10× the others': per-row scales keep the others finer.
  EXPECT_GT(q.scales[7], 5.0f * q.scales[0]);
}

TEST(QuantizePass, EmbeddingsOffInThePlan) {
  QuantPlan plan;
  plan.quantize_embeddings = false;
  const QuantizeResult r = quantize(embedding_model(embedding_table()).model(), plan);
  EXPECT_EQ(describe(decision_for(r, "embeddings/Gather")), "kept fp32 (plan)");
  EXPECT_TRUE(has_initializer(r.model, "embeddings.word"));
}

}  // namespace
}  // namespace docquant::quant
