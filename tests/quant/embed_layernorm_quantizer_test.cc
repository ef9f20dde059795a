// The EmbedLayerNormalization quantizer: QEmbedLayerNormalization against the fp32 op within
// a derived tolerance, and the forms it cannot take.
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

// QEmbedLayerNormalization vs EmbedLayerNormalization, tables uniform in [-1, 1],
// gamma in [0.5, 1.5], beta in [-0.5, 0.5], hidden 8. Each uint8 table value is within
// half a step (2/255/2 = 0.004) of fp32, so the sum of three rows is within 0.012; the
// normalisation divides by the row's standard deviation (>= 0.4 for these rows: 0.03);
// gamma's error (1.5/255/2 = 0.003) times a normalised value (<= sqrt(7) for 8 channels:
// 0.008) and beta's (0.002) add up to 0.04 at most; a wrong scale, zero point or input
// order is off by whole units.
constexpr float kEmbedLayerNormAbs = 0.05f;

// ids, segments, mask (int64 inputs, cast to the int32 the op takes) -> EmbedLayerNormalization.
GraphBuilder embed_layernorm_model(bool position_ids = false, bool sum_output = false) {
  GraphBuilder b;
  b.input("ids", onnx::TensorProto::INT64, {-1, -1}).input("segments", onnx::TensorProto::INT64, {-1, -1});
  b.input("mask", onnx::TensorProto::INT64, {-1, -1}).output("y");
  b.initializer("word", {10, 8}, testing::uniform(80, -1.0f, 1.0f, 64u));
  b.initializer("pos", {6, 8}, testing::uniform(48, -1.0f, 1.0f, 65u));
  b.initializer("seg", {2, 8}, testing::uniform(16, -1.0f, 1.0f, 66u));
  b.initializer("gamma", {8}, testing::uniform(8, 0.5f, 1.5f, 67u));
  b.initializer("beta", {8}, testing::uniform(8, -0.5f, 0.5f, 68u));
  for (const char* in : {"ids", "segments", "mask"}) {
    add_int_attribute(b.node("Cast", {in}, {std::string(in) + "32"}, std::string(in) + "_cast"), "to",
                               onnx::TensorProto::INT32);
  }
  std::vector<std::string> inputs{"ids32", "segments32", "word", "pos", "seg", "gamma", "beta", "mask32"};
  if (position_ids) inputs.push_back("ids32");
  std::vector<std::string> outputs{"y", "mask_index"};
  if (sum_output) outputs.push_back("embedding_sum");
  add_float_attribute(b.node("EmbedLayerNormalization", inputs, outputs, "emb", "com.microsoft"), "epsilon",
                               1e-12f);
  return b;
}

TEST(QuantizePass, EmbedLayerNormalizationBecomesQEmbedLayerNormalization) {
  const onnx::ModelProto fp32 = with_ms_domain(embed_layernorm_model().model());
  ASSERT_EQ(find_candidates(fp32).size(), 1u);
  const QuantizeResult r = quantize(fp32, QuantPlan{});
  EXPECT_EQ(decision_for(r, "emb").action, NodeAction::quantized);
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.count("EmbedLayerNormalization"), 0u);
  EXPECT_EQ(ops.at("QEmbedLayerNormalization"), 1);
  for (const char* w : {"word", "pos", "seg", "gamma", "beta"}) EXPECT_FALSE(has_initializer(r.model, w)) << w;
  const onnx::NodeProto* q = find_node(r.model, "emb_quant");
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->input_size(), 18);
  EXPECT_EQ(q->input(7), "mask32");
  EXPECT_EQ(q->output(1), "mask_index");

  // Two texts of 6 tokens, the second padded after 4.
  const std::vector<std::int64_t> ids{1, 5, 9, 3, 2, 7, 4, 4, 0, 8, 0, 0};
  const std::vector<std::int64_t> segments{0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0};
  const std::vector<std::int64_t> mask{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  const std::map<std::string, Feed> feeds{{"ids", Feed{{2, 6}, {}, ids}},
                                          {"segments", Feed{{2, 6}, {}, segments}},
                                          {"mask", Feed{{2, 6}, {}, mask}}};
  const auto y32 = testing::run_model(fp32, feeds);
  const auto y8 = testing::run_model(r.model, feeds);
  ASSERT_EQ(y8.size(), y32.size());
  ASSERT_EQ(y32.size(), 2u * 6u * 8u);
  float worst = 0;
  for (std::size_t i = 0; i < y32.size(); ++i) worst = std::max(worst, std::fabs(y8[i] - y32[i]));
  RecordProperty("max_abs_error", std::to_string(worst));
  EXPECT_LE(worst, kEmbedLayerNormAbs);
  EXPECT_GT(worst, 0.0f);  // the tables really are quantized
}

TEST(QuantizePass, EmbedLayerNormalizationFormsQEmbedLayerNormalizationCannotTake) {
  const QuantizeResult with_positions = quantize(with_ms_domain(embed_layernorm_model(true).model()), QuantPlan{});
  EXPECT_EQ(describe(decision_for(with_positions, "emb")),
            "kept fp32 (not quantizable: position_ids input is not supported by QEmbedLayerNormalization)");
  const QuantizeResult with_sum = quantize(with_ms_domain(embed_layernorm_model(false, true).model()), QuantPlan{});
  EXPECT_EQ(describe(decision_for(with_sum, "emb")),
            "kept fp32 (not quantizable: the embedding-sum output is not supported by QEmbedLayerNormalization)");
  QuantPlan no_embeddings;
  no_embeddings.quantize_embeddings = false;
  EXPECT_EQ(describe(decision_for(quantize(with_ms_domain(embed_layernorm_model().model()), no_embeddings), "emb")),
            "kept fp32 (plan)");
}

}  // namespace
}  // namespace docquant::quant
