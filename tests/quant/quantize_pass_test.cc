// Graph-level tests of the pass: tiny graphs built in code, quantized, op types
// counted, and run in ONNX Runtime next to the fp32 graph.
#include "quantize_pass.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "docquant/error.h"
#include "formulas.h"
#include "graph_context.h"
#include "onnx_io.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

// Three quantized layers: relative RMS error vs fp32. One 8-bit layer with
// uniform data sits near 0.5%; errors add up over layers; 5% leaves room while
// any wrong scale or zero point gives errors of order 100%.
constexpr double kChainRelRms = 0.05;
// Embedding rows: a dequantized value is within half a step of the fp32 value.
constexpr float kEmbeddingSteps = 0.5f;

// The plan of the tests below that check structure (names, plans, folding, op types)
// and closeness to fp32: 7-bit weights, so their numbers are the same on every x86 CPU.
// With 8-bit weights an AVX2-only CPU saturates pairs of u8×s8 products (int8_kernel.h)
// and the closeness bound would test the CPU, not the pass; matmul_sweep_test.cc checks
// full-range arithmetic against the host's kernel instead.
QuantPlan saturation_free_plan() {
  QuantPlan plan;
  plan.defaults.reduce_range = true;
  return plan;
}

const NodeDecision& decision_for(const QuantizeResult& r, const std::string& node) {
  for (const auto& d : r.decisions) {
    if (d.node == node) return d;
  }
  throw std::runtime_error("no decision for " + node);
}

const onnx::NodeProto* find_node(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& n : m.graph().node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

bool has_initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return true;
  }
  return false;
}

// x [batch, rows, 32] -> 3 × (MatMul + Add [+ Relu]) -> y [batch, rows, 8]
GraphBuilder chain_model() {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, 32}).output("y");
  const std::vector<std::array<std::int64_t, 2>> dims{{32, 48}, {48, 24}, {24, 8}};
  std::string prev = "x";
  for (int l = 0; l < 3; ++l) {
    const std::string p = "layer" + std::to_string(l + 1);
    const auto [k, n] = dims[static_cast<std::size_t>(l)];
    b.initializer(p + ".weight", {k, n}, testing::uniform(static_cast<std::size_t>(k * n), -0.4f, 0.4f, 10u + l));
    b.initializer(p + ".bias", {n}, testing::uniform(static_cast<std::size_t>(n), -0.1f, 0.1f, 20u + l));
    b.node("MatMul", {prev, p + ".weight"}, {p + "_mm"}, p + "/MatMul");
    const std::string out = l == 2 ? "y" : p + "_add";
    b.node("Add", {p + "_mm", p + ".bias"}, {out}, p + "/Add");
    if (l < 2) {
      b.node("Relu", {out}, {p + "_relu"}, p + "/Relu");
      prev = p + "_relu";
    }
  }
  return b;
}

std::map<std::string, Feed> chain_feeds() {
  return {{"x", Feed{{2, 7, 32}, testing::uniform(2 * 7 * 32, -1.5f, 1.5f, 99u), {}}}};
}

TEST(QuantizePass, ChainFusedFoldsBiasesAndStaysCloseToFp32) {
  const GraphBuilder b = chain_model();
  const QuantizeResult r = quantize(b.model(), saturation_free_plan());
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("DynamicQuantizeMatMul"), 3);
  EXPECT_EQ(ops.count("MatMul"), 0u);
  EXPECT_EQ(ops.count("Add"), 0u);
  EXPECT_EQ(ops.at("Relu"), 2);
  for (const auto& d : r.decisions) {
    EXPECT_EQ(d.action, NodeAction::quantized) << d.node;
    EXPECT_EQ(d.folded.size(), 1u) << d.node;
  }
  EXPECT_EQ(decision_for(r, "layer2/MatMul").folded[0], "layer2/Add");
  EXPECT_EQ(decision_for(r, "layer2/MatMul").new_nodes, std::vector<std::string>{"layer2/MatMul_quant"});
  // fp32 weights are gone, int8 ones are there; biases stay fp32.
  EXPECT_FALSE(has_initializer(r.model, "layer1.weight"));
  EXPECT_TRUE(has_initializer(r.model, "layer1.weight_int8"));
  EXPECT_TRUE(has_initializer(r.model, "layer1.bias"));

  const auto feeds = chain_feeds();
  const auto y32 = testing::run_model(b.model(), feeds);
  const auto yq = testing::run_model(r.model, feeds);
  EXPECT_LT(testing::relative_rms_error(yq, y32), kChainRelRms);
}

TEST(QuantizePass, ChainUnfusedUsesOnlyStandardOps) {
  const GraphBuilder b = chain_model();
  QuantPlan plan = saturation_free_plan();
  plan.fused_matmul = false;
  const QuantizeResult r = quantize(b.model(), plan);
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 3);
  EXPECT_EQ(ops.at("MatMulInteger"), 3);
  EXPECT_EQ(ops.at("Cast"), 3);
  EXPECT_EQ(ops.at("Mul"), 6);
  EXPECT_EQ(ops.at("Add"), 3);  // biases stay as Adds
  for (const auto& n : r.model.graph().node()) EXPECT_TRUE(n.domain().empty()) << n.name();
  for (const auto& op : r.model.opset_import()) EXPECT_NE(op.domain(), "com.microsoft");

  const auto feeds = chain_feeds();
  const auto y32 = testing::run_model(b.model(), feeds);
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds, {.optimize = false}), y32), kChainRelRms);
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), y32), kChainRelRms);
}

TEST(QuantizePass, FusedImportsTheMicrosoftDomain) {
  const QuantizeResult r = quantize(chain_model().model(), QuantPlan{});
  int ms = 0;
  for (const auto& op : r.model.opset_import()) {
    if (op.domain() == "com.microsoft") {
      ++ms;
      EXPECT_EQ(op.version(), 1);
    }
  }
  EXPECT_EQ(ms, 1);
}

TEST(QuantizePass, PlanKeepsANodeUntouched) {
  const GraphBuilder b = chain_model();
  QuantPlan plan = saturation_free_plan();
  plan.per_node["layer2/MatMul"].quantize = false;
  plan.per_node["layer3/MatMul"] = NodeConfig{true, WeightGranularity::per_channel, true};
  const QuantizeResult r = quantize(b.model(), plan);

  const NodeDecision& kept = decision_for(r, "layer2/MatMul");
  EXPECT_EQ(describe(kept), "kept fp32 (plan)");
  EXPECT_TRUE(kept.new_nodes.empty());
  const onnx::NodeProto* original = &b.model().graph().node(3);
  ASSERT_EQ(original->name(), "layer2/MatMul");
  const onnx::NodeProto* after = find_node(r.model, "layer2/MatMul");
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->SerializeAsString(), original->SerializeAsString());
  EXPECT_NE(find_node(r.model, "layer2/Add"), nullptr);
  EXPECT_TRUE(has_initializer(r.model, "layer2.weight"));

  const NodeDecision& l3 = decision_for(r, "layer3/MatMul");
  EXPECT_EQ(l3.granularity, WeightGranularity::per_channel);
  EXPECT_TRUE(l3.reduce_range);
  const auto ops = testing::count_ops(r.model);
  EXPECT_EQ(ops.at("DynamicQuantizeMatMul"), 2);
  EXPECT_EQ(ops.at("MatMul"), 1);

  const auto feeds = chain_feeds();
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), testing::run_model(b.model(), feeds)),
            kChainRelRms);
}

TEST(QuantizePass, UnknownNodeInPlanIsAUsageError) {
  QuantPlan plan;
  plan.per_node["layer9/MatMul"].quantize = false;
  EXPECT_THROW(quantize(chain_model().model(), plan), UsageError);
}

TEST(QuantizePass, PureAndDeterministic) {
  const GraphBuilder b = chain_model();
  const std::string before = model::serialize_model(b.model());
  QuantPlan plan;
  plan.defaults.granularity = WeightGranularity::per_channel;
  const std::string first = model::serialize_model(quantize(b.model(), plan).model);
  const std::string second = model::serialize_model(quantize(b.model(), plan).model);
  EXPECT_EQ(first, second);
  EXPECT_EQ(model::serialize_model(b.model()), before) << "the input model was modified";
}

TEST(QuantizePass, GeneratedNamesAreUnique) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {3, 8}).output("y").output("W_int8");
  b.initializer("W", {8, 4}, testing::uniform(32, -1.0f, 1.0f, 5u));
  b.initializer("W_scale", {1}, {2.0f});
  // Names the pass would like to use are already taken.
  b.node("Identity", {"x"}, {"W_int8"}, "mm_quant");
  b.node("MatMul", {"x", "W"}, {"mm_out"}, "mm");
  b.node("Mul", {"mm_out", "W_scale"}, {"y"}, "scale");
  const QuantizeResult r = quantize(b.model(), saturation_free_plan());

  std::set<std::string> node_names;
  std::set<std::string> produced;
  for (const auto& t : r.model.graph().initializer()) EXPECT_TRUE(produced.insert(t.name()).second) << t.name();
  for (const auto& in : r.model.graph().input()) EXPECT_TRUE(produced.insert(in.name()).second) << in.name();
  for (const auto& n : r.model.graph().node()) {
    EXPECT_TRUE(node_names.insert(n.name()).second) << "node name " << n.name();
    for (const auto& o : n.output()) EXPECT_TRUE(produced.insert(o).second) << "tensor " << o;
  }
  EXPECT_TRUE(has_initializer(r.model, "W_int8_1"));
  EXPECT_TRUE(has_initializer(r.model, "W_scale_1"));
  EXPECT_NE(find_node(r.model, "mm_quant_1"), nullptr);
  const auto feeds = std::map<std::string, Feed>{{"x", Feed{{3, 8}, testing::uniform(24, -1.0f, 1.0f, 6u), {}}}};
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), testing::run_model(b.model(), feeds)),
            kChainRelRms);
}

TEST(QuantizePass, SharedWeightIsQuantizedOnce) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 6}).output("y");
  b.initializer("W", {6, 6}, testing::uniform(36, -1.0f, 1.0f, 7u));
  b.node("MatMul", {"x", "W"}, {"h"}, "first");
  b.node("MatMul", {"h", "W"}, {"y"}, "second");
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(testing::count_ops(r.model).at("DynamicQuantizeMatMul"), 2);
  EXPECT_EQ(r.model.graph().initializer_size(), 3);  // W_int8, W_scale, W_zero_point
  EXPECT_FALSE(has_initializer(r.model, "W"));
}

TEST(QuantizePass, WeightStillReadByAKeptNodeStays) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 6}).output("y");
  b.initializer("W", {6, 6}, testing::uniform(36, -1.0f, 1.0f, 7u));
  b.node("MatMul", {"x", "W"}, {"h"}, "first");
  b.node("MatMul", {"h", "W"}, {"y"}, "second");
  QuantPlan plan;
  plan.per_node["second"].quantize = false;
  const QuantizeResult r = quantize(b.model(), plan);
  EXPECT_TRUE(has_initializer(r.model, "W"));
  EXPECT_TRUE(has_initializer(r.model, "W_int8"));
}

TEST(QuantizePass, BiasAddIsNotFoldedWhenTheProductIsAlsoUsedElsewhere) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y").output("mm");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.initializer("bias", {3}, {0.1f, 0.2f, 0.3f});
  b.node("MatMul", {"x", "W"}, {"mm"}, "mm");
  b.node("Add", {"mm", "bias"}, {"y"}, "add");
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(testing::count_ops(r.model).at("Add"), 1);
  EXPECT_TRUE(decision_for(r, "mm").folded.empty());
}

TEST(QuantizePass, BiasOnTheLeftOfTheAddIsFolded) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.initializer("bias", {3}, {0.1f, 0.2f, 0.3f});
  b.node("MatMul", {"x", "W"}, {"mm"}, "mm");
  b.node("Add", {"bias", "mm"}, {"y"}, "add");
  const QuantizeResult r = quantize(b.model(), saturation_free_plan());
  EXPECT_EQ(testing::count_ops(r.model).count("Add"), 0u);
  const auto feeds = std::map<std::string, Feed>{{"x", Feed{{2, 4}, testing::uniform(8, -1.0f, 1.0f, 9u), {}}}};
  EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), testing::run_model(b.model(), feeds)),
            kChainRelRms);
}

TEST(QuantizePass, WeightBytesShrink) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 64}).output("y");
  b.initializer("W", {64, 32}, testing::uniform(64 * 32, -1.0f, 1.0f, 3u));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  const QuantizeResult per_tensor = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(per_tensor.weight_bytes_before, 64 * 32 * 4);
  EXPECT_EQ(per_tensor.weight_bytes_after, 64 * 32 + 4 + 1);
  QuantPlan plan;
  plan.defaults.granularity = WeightGranularity::per_channel;
  EXPECT_EQ(quantize(b.model(), plan).weight_bytes_after, 64 * 32 + 32 * 4 + 32);
}

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

TEST(QuantizePass, GemmWithTransposedWeightAndBias) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {5, 12}, testing::uniform(60, -1.0f, 1.0f, 41u));  // [N, K], transB = 1
  b.initializer("C", {5}, {0.5f, -0.5f, 0.25f, 0.0f, 1.0f});
  add_int_attribute(b.node("Gemm", {"x", "W", "C"}, {"y"}, "classifier"), "transB", 1);
  const auto feeds = std::map<std::string, Feed>{{"x", Feed{{4, 12}, testing::uniform(48, -1.0f, 1.0f, 42u), {}}}};
  const auto y32 = testing::run_model(b.model(), feeds);
  for (bool fused : {true, false}) {
    for (auto g : {WeightGranularity::per_tensor, WeightGranularity::per_channel}) {
      QuantPlan plan = saturation_free_plan();
      plan.fused_matmul = fused;
      plan.defaults.granularity = g;
      const QuantizeResult r = quantize(b.model(), plan);
      EXPECT_EQ(testing::count_ops(r.model).count("Gemm"), 0u);
      EXPECT_EQ(decision_for(r, "classifier").action, NodeAction::quantized);
      EXPECT_LT(testing::relative_rms_error(testing::run_model(r.model, feeds), y32), kChainRelRms);
    }
  }
}

TEST(QuantizePass, GemmWithAlphaIsRefused) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {12, 5}, testing::uniform(60, -1.0f, 1.0f, 41u));
  add_float_attribute(b.node("Gemm", {"x", "W"}, {"y"}, "g"), "alpha", 2.0f);
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(describe(decision_for(r, "g")), "kept fp32 (not quantizable: alpha != 1 is not implemented)");
}

TEST(QuantizePass, ActivationMatMulOnlyWhenThePlanAsks) {
  GraphBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {2, 3, 8}).input("b", onnx::TensorProto::FLOAT, {2, 8, 4}).output("y");
  b.node("MatMul", {"a", "b"}, {"y"}, "scores");
  const QuantizeResult off = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(describe(decision_for(off, "scores")),
            "kept fp32 (not quantizable: B is not a constant initializer (activation x activation MatMul is off in "
            "the plan))");
  EXPECT_TRUE(find_candidates(b.model()).empty());

  QuantPlan plan;
  plan.activation_matmul = true;
  const QuantizeResult on = quantize(b.model(), plan);
  const auto ops = testing::count_ops(on.model);
  EXPECT_EQ(ops.at("DynamicQuantizeLinear"), 2);
  EXPECT_EQ(ops.at("MatMulInteger"), 1);
  const std::map<std::string, Feed> feeds{{"a", Feed{{2, 3, 8}, testing::uniform(48, -1.0f, 1.0f, 51u), {}}},
                                          {"b", Feed{{2, 8, 4}, testing::uniform(64, -1.0f, 2.0f, 52u), {}}}};
  EXPECT_LT(testing::relative_rms_error(testing::run_model(on.model, feeds), testing::run_model(b.model(), feeds)),
            kChainRelRms);
}

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

onnx::ModelProto with_ms_domain(onnx::ModelProto m) {
  auto* op = m.add_opset_import();
  op->set_domain("com.microsoft");
  op->set_version(1);
  return m;
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

TEST(QuantizePass, OldOpsetIsRefused) {
  GraphBuilder b(9);
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(describe(decision_for(r, "mm")),
            "kept fp32 (not quantizable: the model imports ai.onnx opset 9; integer ops need opset >= 10)");
}

TEST(QuantizePass, WeightThatIsAlsoAGraphInputIsRefused) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).input("W", onnx::TensorProto::FLOAT, {4, 3}).output("y");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  const QuantizeResult r = quantize(b.model(), QuantPlan{});
  EXPECT_EQ(describe(decision_for(r, "mm")),
            "kept fp32 (not quantizable: B is not a constant initializer (activation x activation MatMul is off in the "
            "plan))");
}

TEST(QuantizePass, UnnamedNodesAreKeyedByTypeAndIndex) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 4}).output("y");
  b.initializer("W", {4, 3}, testing::uniform(12, -1.0f, 1.0f, 8u));
  b.node("Relu", {"x"}, {"r"}, "");
  b.node("MatMul", {"r", "W"}, {"y"}, "");
  const auto candidates = find_candidates(b.model());
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].node, "MatMul#1");
  QuantPlan plan;
  plan.per_node["MatMul#1"].quantize = false;
  EXPECT_EQ(describe(quantize(b.model(), plan).decisions.at(0)), "kept fp32 (plan)");
}

TEST(FindCandidates, ListsAcceptedNodesInGraphOrder) {
  GraphBuilder b = chain_model();
  b.input("ids", onnx::TensorProto::INT64, {-1});
  b.initializer("table", {10, 4}, testing::uniform(40, -1.0f, 1.0f, 1u));
  b.node("Gather", {"table", "ids"}, {"emb"}, "emb/Gather");
  const auto c = find_candidates(b.model());
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].node, "layer1/MatMul");
  EXPECT_EQ(c[0].op_type, "MatMul");
  EXPECT_EQ(c[0].weight, "layer1.weight");
  EXPECT_EQ(c[0].weight_bytes, 32 * 48 * 4);
  EXPECT_EQ(c[3].node, "emb/Gather");
  EXPECT_EQ(c[3].weight_bytes, 40 * 4);
}

}  // namespace
}  // namespace docquant::quant
