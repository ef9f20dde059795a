// `docquant inspect` lists the nodes quant::find_candidates returns; `docquant quantize`
// quantizes what the pass accepts. The two must name the same nodes on every graph: this
// test holds them together on small graphs (every quantizer, accepted and refused,
// including a Gemm with alpha != 1, which inspect once counted and quantize refuses) and
// on a real fixture graph, as exported and as optimised before quantizing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "attention_fusion.h"
#include "graph_context.h"
#include "onnx_io.h"
#include "quantize_pass.h"
#include "skip_layer_norm_fusion.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

namespace fs = std::filesystem;
using testing::GraphBuilder;

std::set<std::string> candidate_nodes(const onnx::ModelProto& model) {
  std::set<std::string> nodes;
  for (const auto& c : find_candidates(model)) nodes.insert(c.node);
  return nodes;
}

// The nodes quantize rewrites when the plan asks for every node (the default plan).
std::set<std::string> quantized_nodes(const onnx::ModelProto& model) {
  std::set<std::string> nodes;
  for (const auto& d : quantize(model, QuantPlan{}).decisions) {
    if (d.action == NodeAction::quantized) nodes.insert(d.node);
  }
  return nodes;
}

// One graph holding an accepted and a refused node of every quantizer's op type.
onnx::ModelProto every_op_type() {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3, 8}).input("ids", onnx::TensorProto::INT64, {2, 3});
  b.input("rhs", onnx::TensorProto::FLOAT, {2, 8, 4});
  b.initializer("W", {8, 4}, testing::uniform(32, -1.0f, 1.0f, 1u));
  b.initializer("Wt", {4, 8}, testing::uniform(32, -1.0f, 1.0f, 2u));
  b.initializer("bias", {4}, {0.1f, -0.2f, 0.3f, 0.0f});
  b.initializer("table", {10, 8}, testing::uniform(80, -1.0f, 1.0f, 3u));
  b.initializer("qkv", {8, 24}, testing::uniform(192, -1.0f, 1.0f, 4u));
  b.initializer("qkv_bias", {24}, testing::uniform(24, -0.1f, 0.1f, 5u));
  b.initializer("positions", {16, 8}, testing::uniform(128, -1.0f, 1.0f, 6u));
  b.initializer("gamma", {8}, testing::uniform(8, 0.5f, 1.5f, 7u));
  b.initializer("beta", {8}, testing::uniform(8, -0.1f, 0.1f, 8u));

  b.node("MatMul", {"x", "W"}, {"mm"}, "matmul_constant");
  b.node("MatMul", {"x", "rhs"}, {"mm_act"}, "matmul_activation");  // refused: B is no constant
  b.node("Flatten", {"x"}, {"x2"}, "flatten");
  add_int_attribute(b.node("Gemm", {"x2", "Wt", "bias"}, {"gemm"}, "gemm_trans_b"), "transB", 1);
  // Refused: alpha != 1, transA = 1.
  add_float_attribute(b.node("Gemm", {"x2", "W"}, {"gemm_alpha"}, "gemm_alpha"), "alpha", 2.0f);
  add_int_attribute(b.node("Gemm", {"x2", "W"}, {"gemm_trans_a"}, "gemm_trans_a"), "transA", 1);
  b.node("Gather", {"table", "ids"}, {"emb"}, "gather_table");
  b.node("Gather", {"x", "ids"}, {"gathered_activation"}, "gather_activation");  // refused: no constant table
  add_int_attribute(b.node("Attention", {"x", "qkv", "qkv_bias"}, {"att"}, "attention", graph::kMsDomain),
                    "num_heads", 2);
  onnx::NodeProto& sizes = b.node("Attention", {"x", "qkv", "qkv_bias"}, {"att_sizes"}, "attention_qkv_sizes",
                                  graph::kMsDomain);  // refused: qkv_hidden_sizes
  add_int_attribute(sizes, "num_heads", 2);
  auto* a = sizes.add_attribute();
  a->set_name("qkv_hidden_sizes");
  a->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 3; ++i) a->add_ints(8);
  b.node("EmbedLayerNormalization", {"ids", "", "table", "positions", "", "gamma", "beta"}, {"eln", "eln_mask"},
         "embed_layer_norm", graph::kMsDomain);
  b.node("EmbedLayerNormalization", {"ids", "", "x", "positions", "", "gamma", "beta"}, {"eln2", "eln2_mask"},
         "embed_layer_norm_activation", graph::kMsDomain);  // refused: word table is no constant
  for (const char* out : {"mm", "mm_act", "gemm", "gemm_alpha", "gemm_trans_a", "emb", "gathered_activation", "att",
                          "att_sizes", "eln", "eln2"}) {
    b.output(out);
  }
  return b.model();
}

TEST(Candidates, InspectAndQuantizeNameTheSameNodesOnEveryOpType) {
  const onnx::ModelProto model = every_op_type();
  const std::set<std::string> expected{"matmul_constant", "gemm_trans_b", "gather_table", "attention",
                                       "embed_layer_norm"};
  EXPECT_EQ(candidate_nodes(model), expected);
  EXPECT_EQ(quantized_nodes(model), expected);
}

TEST(Candidates, GemmWithAlphaIsNeitherListedNorQuantized) {
  GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {12, 5}, testing::uniform(60, -1.0f, 1.0f, 41u));
  add_float_attribute(b.node("Gemm", {"x", "W"}, {"y"}, "g"), "alpha", 2.0f);
  EXPECT_TRUE(candidate_nodes(b.model()).empty());
  EXPECT_TRUE(quantized_nodes(b.model()).empty());
}

TEST(Candidates, OldOpsetIsNeitherListedNorQuantized) {
  GraphBuilder b(9);
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {12, 5}, testing::uniform(60, -1.0f, 1.0f, 41u));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  EXPECT_TRUE(candidate_nodes(b.model()).empty());
  EXPECT_TRUE(quantized_nodes(b.model()).empty());
}

TEST(Candidates, InspectAndQuantizeAgreeOnARealGraph) {
  // scripts/test.sh (and so CI) always sets DOCQUANT_FIXTURES.
  const char* fixtures = std::getenv("DOCQUANT_FIXTURES");
  const fs::path path = fs::path(fixtures ? fixtures : "") / "minilm-sst2" / "onnx" / "model.onnx";
  std::error_code ec;
  if (fixtures == nullptr || !fs::exists(path, ec)) {
    GTEST_SKIP() << "no fixture " << path << " (DOCQUANT_FIXTURES): build it with tools/build_fixtures.py --only minilm-sst2";
  }
  const onnx::ModelProto exported = model::load_model(path).model;
  const std::set<std::string> exported_nodes = candidate_nodes(exported);
  EXPECT_FALSE(exported_nodes.empty());
  EXPECT_EQ(exported_nodes, quantized_nodes(exported));

  // As quantize sees it by default: ONNX Runtime's fusions, then docquant's (Attention,
  // EmbedLayerNormalization and SkipLayerNormalization appear).
  onnx::ModelProto optimized = testing::ort_optimized(exported);
  EXPECT_GT(graph::fuse_attention(optimized), 0u);
  graph::fuse_skip_layer_norm(optimized);
  const std::set<std::string> optimized_nodes = candidate_nodes(optimized);
  EXPECT_FALSE(optimized_nodes.empty());
  EXPECT_EQ(optimized_nodes, quantized_nodes(optimized));
}

}  // namespace
}  // namespace docquant::quant
