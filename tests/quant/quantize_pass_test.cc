// The pass itself, whatever the op: plans, naming, purity, shared weights, refusals and
// candidates. Each quantizer's own rewrite is tested in <op>_quantizer_test.cc.
#include <gtest/gtest.h>

#include <set>

#include "docquant/error.h"
#include "formulas.h"
#include "graph_context.h"
#include "onnx_io.h"
#include "pass_test_graphs.h"
#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

using testing::Feed;
using testing::GraphBuilder;

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

// The pass builds its result from a copy without nodes and initializers (so that the fp32
// weights it drops are never copied): every other field must still travel, including one
// from an ONNX newer than libonnx (kept as an unknown field).
TEST(QuantizePass, FieldsOutsideNodesAndInitializersAreKept) {
  onnx::ModelProto m = chain_model().model();
  m.set_producer_name("exporter");
  m.set_doc_string("model doc");
  auto* meta = m.add_metadata_props();
  meta->set_key("k");
  meta->set_value("v");
  onnx::GraphProto& g = *m.mutable_graph();
  g.set_doc_string("graph doc");
  auto* info = g.add_value_info();
  info->set_name("layer1_add");
  info->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  m.mutable_unknown_fields()->AddVarint(9999, 7);
  g.mutable_unknown_fields()->AddLengthDelimited(9998, "graph field from a newer ONNX");

  const QuantizeResult r = quantize(m, saturation_free_plan());
  // What the pass changes, put back: nodes, initializers and the com.microsoft opset.
  onnx::ModelProto expected = with_ms_domain(m);
  *expected.mutable_graph()->mutable_node() = r.model.graph().node();
  *expected.mutable_graph()->mutable_initializer() = r.model.graph().initializer();
  EXPECT_TRUE(model::serialize_model(r.model) == model::serialize_model(expected))
      << "a field outside the nodes and initializers changed";
  EXPECT_EQ(r.model.unknown_fields().field_count(), 1);
  EXPECT_EQ(r.model.graph().unknown_fields().field_count(), 1);
  // The quantized weights' fp32 sources are gone; the biases, read in fp32, stay first.
  EXPECT_FALSE(has_initializer(r.model, "layer1.weight"));
  EXPECT_EQ(r.model.graph().initializer(0).name(), "layer1.bias");
}

// The consuming overload (the error probe's) moves the initializers it keeps: the same
// bytes as the copying one, here with one weight kept fp32 and one quantized.
TEST(QuantizePass, ConsumingTheModelGivesTheSameBytes) {
  QuantPlan plan = saturation_free_plan();
  plan.per_node["layer2/MatMul"].quantize = false;
  const onnx::ModelProto fp32 = chain_model().model();
  const std::string copied = model::serialize_model(quantize(fp32, plan).model);
  onnx::ModelProto consumed = fp32;
  const QuantizeResult r = quantize(std::move(consumed), plan);
  EXPECT_TRUE(model::serialize_model(r.model) == copied);
  EXPECT_TRUE(has_initializer(r.model, "layer2.weight"));
  EXPECT_EQ(r.weight_bytes_before, quantize(fp32, plan).weight_bytes_before);
  EXPECT_EQ(consumed.graph().initializer_size(), 0);  // NOLINT(bugprone-use-after-move): documented as left empty
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
