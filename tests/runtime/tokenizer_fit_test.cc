#include "tokenizer_fit.h"

#include <gtest/gtest.h>

#include "graph_builder.h"

namespace docquant::runtime {
namespace {

using docquant::testing::add_initializer;
using docquant::testing::add_node;

constexpr int kF32 = onnx::TensorProto::FLOAT;
constexpr int kI64 = onnx::TensorProto::INT64;

void add_table(onnx::GraphProto* g, const std::string& name, std::int64_t rows) {
  add_initializer<float>(g, name, kF32, {rows, 2}, std::vector<float>(static_cast<std::size_t>(rows) * 2, 0.f));
}

// BERT / MiniLM as Optimum exports them: positions are a slice of 0..511.
TEST(EmbeddingTables, BertStylePositionsStartAtZero) {
  onnx::ModelProto m = docquant::testing::new_model();
  auto* g = m.mutable_graph();
  add_table(g, "embeddings.word_embeddings.weight", 30522);
  add_table(g, "embeddings.position_embeddings.weight", 512);
  add_node(g, "Gather", {"embeddings.word_embeddings.weight", "input_ids"}, {"words"});
  add_node(g, "Slice", {"position_ids", "starts", "ends"}, {"positions"});
  add_node(g, "Gather", {"embeddings.position_embeddings.weight", "positions"}, {"pos"});
  const EmbeddingTables t = find_embedding_tables(m);
  EXPECT_EQ(t.token_table, "embeddings.word_embeddings.weight");
  EXPECT_EQ(t.token_rows, 30522);
  EXPECT_EQ(t.position_rows, 512);
  EXPECT_EQ(t.position_offset, 0);
}

// MPNet / RoBERTa: cumsum(mask) * mask + padding_idx (1), so a 514-row table holds 512
// positions (the graph torch.onnx.export makes of transformers' MPNetModel).
TEST(EmbeddingTables, CumSumPositionsStartAfterPaddingIdx) {
  onnx::ModelProto m = docquant::testing::new_model();
  auto* g = m.mutable_graph();
  add_table(g, "embeddings.word_embeddings.weight", 30527);
  add_table(g, "embeddings.position_embeddings.weight", 514);
  add_initializer<std::int64_t>(g, "padding_idx", kI64, {}, {1});
  add_node(g, "Gather", {"embeddings.word_embeddings.weight", "input_ids"}, {"words"});
  add_node(g, "Equal", {"input_ids", "padding_idx"}, {"is_pad"});
  add_node(g, "Not", {"is_pad"}, {"mask_bool"});
  add_node(g, "Cast", {"mask_bool"}, {"mask"});
  add_node(g, "CumSum", {"mask", "axis"}, {"counts"});
  add_node(g, "Mul", {"counts", "mask"}, {"incremental"});
  add_node(g, "Add", {"incremental", "padding_idx"}, {"positions"});
  add_node(g, "Gather", {"embeddings.position_embeddings.weight", "positions"}, {"pos"});
  const EmbeddingTables t = find_embedding_tables(m);
  EXPECT_EQ(t.token_rows, 30527);
  EXPECT_EQ(t.position_rows, 514);
  EXPECT_EQ(t.position_offset, 2);
}

// int32 exports cast input_ids first; fused graphs read the tables in EmbedLayerNormalization.
TEST(EmbeddingTables, CastInputsAndEmbedLayerNormalization) {
  onnx::ModelProto m = docquant::testing::new_model();
  auto* g = m.mutable_graph();
  add_table(g, "word", 100);
  add_table(g, "position", 64);
  add_table(g, "segment", 2);
  add_node(g, "Cast", {"input_ids"}, {"ids32"});
  add_node(g, "EmbedLayerNormalization", {"ids32", "token_type_ids", "word", "position", "segment", "gamma", "beta"},
           {"embedded"}, "com.microsoft");
  const EmbeddingTables t = find_embedding_tables(m);
  EXPECT_EQ(t.token_table, "word");
  EXPECT_EQ(t.token_rows, 100);
  EXPECT_EQ(t.position_table, "position");
  EXPECT_EQ(t.position_rows, 64);
}

TEST(EmbeddingTables, NoTablesFoundMeansNothingToCheck) {
  onnx::ModelProto m = docquant::testing::new_model();
  add_node(m.mutable_graph(), "Identity", {"input_ids"}, {"out"});
  const EmbeddingTables t = find_embedding_tables(m);
  EXPECT_EQ(t.token_rows, 0);
  EXPECT_EQ(t.position_rows, 0);
}

}  // namespace
}  // namespace docquant::runtime
