// The Attention quantizer: ONNX Runtime's fused Attention becomes QAttention; structure for
// every plan, and the integer GEMM against the host kernel's arithmetic. An Attention with an
// attention_bias (MPNet's relative position bias) becomes an integer GEMM + MultiHeadAttention.
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

// ORT's fused Attention: x [2, seq, 16], QKV weight [16, 48], 2 heads.
std::vector<float> attention_weight() {
  // Columns of very different magnitudes, so per-column scales matter.
  auto w = testing::uniform(16 * 48, -0.5f, 0.5f, 61u);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] *= 0.5f + 0.05f * static_cast<float>(i % 48);
  return w;
}
std::vector<float> attention_bias() { return testing::uniform(48, -0.1f, 0.1f, 62u); }

GraphBuilder attention_model(std::int64_t seq = 5) {
  GraphBuilder b;
  b.model();  // ai.onnx 14; com.microsoft is imported below
  b.input("x", onnx::TensorProto::FLOAT, {2, seq, 16}).output("y");
  b.initializer("qkv_w", {16, 48}, attention_weight());
  b.initializer("qkv_b", {48}, attention_bias());
  add_int_attribute(b.node("Attention", {"x", "qkv_w", "qkv_b"}, {"y"}, "attn", "com.microsoft"),
                             "num_heads", 2);
  return b;
}

// Structure for every plan; closeness to fp32 for the saturation-free plans (7-bit
// weights: the same numbers on every x86 CPU). Full-range QAttention arithmetic is
// checked against the host's kernel in AttentionGemmIsTheHostKernelsArithmetic.
TEST(QuantizePass, AttentionBecomesQAttention) {
  const onnx::ModelProto fp32 = with_ms_domain(attention_model().model());
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, 5, 16}, testing::uniform(160, -2.0f, 2.0f, 63u), {}}}};
  const auto y32 = testing::run_model(fp32, feeds);
  std::map<bool, double> errors;  // per channel -> relative RMS error (reduce_range)
  for (auto g : {WeightGranularity::per_tensor, WeightGranularity::per_channel}) {
    for (bool reduce_range : {false, true}) {
      QuantPlan plan;
      plan.defaults.granularity = g;
      plan.defaults.reduce_range = reduce_range;
      const QuantizeResult r = quantize(fp32, plan);
      const auto ops = testing::count_ops(r.model);
      EXPECT_EQ(ops.at("QAttention"), 1);
      EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 1);
      EXPECT_EQ(ops.count("Attention"), 0u);
      EXPECT_EQ(decision_for(r, "attn").new_nodes, (std::vector<std::string>{"x_QuantizeLinear", "attn_quant"}));
      const onnx::NodeProto* q = find_node(r.model, "attn_quant");
      ASSERT_NE(q, nullptr);
      ASSERT_EQ(q->attribute_size(), 1);
      EXPECT_EQ(q->attribute(0).name(), "num_heads");
      EXPECT_FALSE(has_initializer(r.model, "qkv_w"));
      const auto yq = testing::run_model(r.model, feeds);
      ASSERT_EQ(yq.size(), y32.size());
      if (!reduce_range) continue;
      const double err = testing::relative_rms_error(yq, y32);
      EXPECT_LT(err, kChainRelRms) << (g == WeightGranularity::per_channel ? "per channel" : "per tensor");
      errors[g == WeightGranularity::per_channel] = err;
    }
  }
  // ORT's QAttention honours per-column weight scales: finer steps, smaller error.
  EXPECT_LT(errors[true], errors[false]);
}

// With one token per text the softmax is exactly 1, so QAttention's output is its V
// projection: x·W[:, 32:48] + b through the integer GEMM. That isolates the GEMM,
// whose numbers must be the host kernel's (int8_kernel.h), for all four plans --
// full-range weights included, which saturate on AVX2-only CPUs.
TEST(QuantizePass, AttentionGemmIsTheHostKernelsArithmetic) {
  constexpr std::int64_t kBatch = 2, kHidden = 16, kQkv = 48, kV = 32;
  const onnx::ModelProto fp32 = with_ms_domain(attention_model(1).model());
  const auto x = testing::uniform(kBatch * kHidden, -2.0f, 2.0f, 64u);
  const std::map<std::string, Feed> feeds{{"x", Feed{{kBatch, 1, kHidden}, x, {}}}};
  const auto w = attention_weight();
  const auto bias = attention_bias();
  for (auto g : {WeightGranularity::per_tensor, WeightGranularity::per_channel}) {
    for (bool reduce_range : {false, true}) {
      QuantPlan plan;
      plan.defaults.granularity = g;
      plan.defaults.reduce_range = reduce_range;
      const auto yq = testing::run_model(quantize(fp32, plan).model, feeds);
      const auto emu = testing::emulate_integer_matmul(x, kBatch, kHidden, w, kQkv, bias,
                                                       g == WeightGranularity::per_channel, reduce_range);
      // As in matmul_sweep_test.cc: float rounding plus a possible tie rounded the other way.
      const float tol = 1e-5f * testing::max_abs(emu.y) + 2.0f * emu.x_scale * testing::max_abs(w);
      ASSERT_EQ(yq.size(), static_cast<std::size_t>(kBatch * (kQkv - kV)));
      for (std::int64_t r = 0; r < kBatch; ++r) {
        for (std::int64_t j = 0; j < kQkv - kV; ++j) {
          EXPECT_NEAR(yq[static_cast<std::size_t>(r * (kQkv - kV) + j)],
                      emu.y[static_cast<std::size_t>(r * kQkv + kV + j)], tol)
              << "text " << r << " channel " << j << (reduce_range ? " reduce_range" : " full range")
              << (g == WeightGranularity::per_channel ? " per channel" : " per tensor") << " on "
              << to_string(testing::emulated_int8_path());
        }
      }
    }
  }
}

TEST(QuantizePass, AttentionWithSeparateQkvSizesIsRefused) {
  GraphBuilder b = attention_model();
  auto* node = const_cast<onnx::ModelProto&>(b.model()).mutable_graph()->mutable_node(0);
  auto* a = node->add_attribute();
  a->set_name("qkv_hidden_sizes");
  a->set_type(onnx::AttributeProto::INTS);
  for (int v : {16, 16, 16}) a->add_ints(v);
  const QuantizeResult r = quantize(with_ms_domain(b.model()), QuantPlan{});
  EXPECT_EQ(describe(decision_for(r, "attn")),
            "kept fp32 (not quantizable: qkv_hidden_sizes is not supported by QAttention)");
}


// MPNet's fused attention (graph/attention_fusion.h): Attention(x, W, b, "", "", bias) with a
// [1, heads, S, S] attention_bias. QAttention has no input for it; every recipe becomes one
// integer QKV GEMM (its per-tensor, unfused or per-token form), Split, and MultiHeadAttention
// reading the bias.
GraphBuilder attention_with_bias_model() {
  GraphBuilder b = attention_model();
  b.initializer("pos_bias", {1, 2, 5, 5}, testing::uniform(50, -3.0f, 3.0f, 65u));
  auto* node = const_cast<onnx::ModelProto&>(b.model()).mutable_graph()->mutable_node(0);
  node->add_input("");  // mask_index
  node->add_input("");  // past
  node->add_input("pos_bias");
  return b;
}

TEST(QuantizePass, AttentionWithAnAttentionBiasBecomesAGemmAndMultiHeadAttention) {
  const onnx::ModelProto fp32 = with_ms_domain(attention_with_bias_model().model());
  const std::map<std::string, Feed> feeds{{"x", Feed{{2, 5, 16}, testing::uniform(160, -2.0f, 2.0f, 63u), {}}}};
  const auto y32 = testing::run_model(fp32, feeds);
  // The bias moves fp32's output by far more than quantizing does (kChainRelRms).
  const auto y32_unbiased = testing::run_model(with_ms_domain(attention_model().model()), feeds);
  ASSERT_GT(testing::relative_rms_error(y32_unbiased, y32), 10 * kChainRelRms);
  struct Recipe {
    const char* name;
    ActivationScheme activations;
    bool fused_matmul;
    const char* gemm;  // the op of the QKV GEMM
  };
  for (const Recipe& recipe : {Recipe{"per tensor", ActivationScheme::per_tensor, true, "DynamicQuantizeMatMul"},
                               Recipe{"per tensor, unfused", ActivationScheme::per_tensor, false, "MatMulInteger"},
                               Recipe{"per token", ActivationScheme::per_token, true, "MatMulIntegerToFloat"}}) {
    QuantPlan plan = saturation_free_plan();
    plan.defaults.activations = recipe.activations;
    plan.fused_matmul = recipe.fused_matmul;
    const QuantizeResult r = quantize(fp32, plan);
    const auto ops = testing::count_ops(r.model);
    EXPECT_EQ(ops.at(recipe.gemm), 1) << recipe.name;
    EXPECT_EQ(ops.at("Split"), 1) << recipe.name;
    EXPECT_EQ(ops.at("MultiHeadAttention"), 1) << recipe.name;
    for (const char* gone : {"Attention", "QAttention"}) EXPECT_EQ(ops.count(gone), 0u) << recipe.name << ": " << gone;
    EXPECT_EQ(decision_for(r, "attn").activations, recipe.activations) << recipe.name;
    const onnx::NodeProto* mha = find_node(r.model, "attn_mha");
    ASSERT_NE(mha, nullptr) << recipe.name;
    ASSERT_EQ(mha->input_size(), 6) << recipe.name;
    EXPECT_EQ(mha->input(3), "qkv_b") << recipe.name;
    EXPECT_EQ(mha->input(4), "") << recipe.name << ": no mask";
    EXPECT_EQ(mha->input(5), "pos_bias") << recipe.name;
    EXPECT_FALSE(has_initializer(r.model, "qkv_w")) << recipe.name;
    EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), y32), kChainRelRms) << recipe.name;
  }
}

TEST(QuantizePass, AttentionWithAnAttentionBiasAndPastIsRefused) {
  GraphBuilder b = attention_with_bias_model();
  auto* node = const_cast<onnx::ModelProto&>(b.model()).mutable_graph()->mutable_node(0);
  node->set_input(4, "past");
  const QuantizeResult r = quantize(with_ms_domain(b.model()), QuantPlan{});
  EXPECT_EQ(describe(decision_for(r, "attn")),
            "kept fp32 (not quantizable: Attention with an attention_bias and past, past_sequence_length or other "
            "attributes is not supported)");
}

}  // namespace
}  // namespace docquant::quant
