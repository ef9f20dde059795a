// check_batch_invariance on small graphs: a body shaped as docquant's per-token graphs is
// proven; each way of mixing texts (a per-batch scale, a reduction, softmax or gather along
// the batch, a moved batch axis, an unknown op, a subgraph) ends the proof, naming the node.
// The real folders (per-token, per-tensor, ONNX Runtime's quantize_dynamic) are checked by
// python/tests/spark/test_spark.py and classifier_test.cc.
#include "batch_invariance.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "graph_builder.h"

namespace docquant::runtime {
namespace {

using docquant::testing::GraphBuilder;

constexpr int kI64 = onnx::TensorProto::INT64;

void add_ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& values) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto v : values) a->add_ints(v);
}

void add_int(onnx::NodeProto& n, const std::string& name, std::int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// input_ids [batch, sequence] -> token + position embeddings (positions sliced from constant
// ids up to the sequence length: structure) -> per-token quantization as
// docquant writes it (Abs, ReduceMax over the last axis, Div, Mul, QuantizeLinear) ->
// MatMul -> Softmax over the last axis = "h" [batch, sequence, 4]; then `tail` adds nodes
// reading "h" and writing "y", the output.
BatchInvariance check(const std::function<void(GraphBuilder&)>& tail, std::int64_t opset = 14) {
  GraphBuilder b(opset);
  b.input("input_ids", kI64, {-1, -1}).output("y");
  b.initializer("table", {10, 4}, std::vector<float>(40, 0.5f));
  b.initializer("positions_table", {16, 4}, std::vector<float>(64, 0.25f));
  b.initializer("w", {4, 4}, std::vector<float>(16, 0.1f));
  b.initializer("levels", {}, {127.0f});
  b.initializer("unit", {}, {1.0f});
  b.int64_initializer("last_axis", {-1});
  b.int64_initializer("zero", {0});
  b.int64_initializer("one", {1});
  b.int64_initializer("position_ids", std::vector<std::int64_t>(16, 0));
  b.node("Gather", {"table", "input_ids"}, {"tokens"}, "token_embeddings");
  b.node("Shape", {"input_ids"}, {"shape"}, "shape");
  add_int(b.node("Gather", {"shape", "one"}, {"length"}, "length"), "axis", 0);
  b.node("Unsqueeze", {"length", "zero"}, {"end"}, "end");
  b.node("Slice", {"position_ids", "zero", "end", "zero"}, {"position_slice"}, "position_slice");
  b.node("Gather", {"positions_table", "position_slice"}, {"positions"}, "position_embeddings");
  b.node("Add", {"tokens", "positions"}, {"x"}, "embeddings");
  b.node("Abs", {"x"}, {"abs"}, "abs");
  b.node("ReduceMax", {"abs", "last_axis"}, {"absmax"}, "absmax");
  b.node("Div", {"levels", "absmax"}, {"inverse"}, "inverse");
  b.node("Mul", {"x", "inverse"}, {"scaled"}, "scaled");
  b.node("QuantizeLinear", {"scaled", "unit"}, {"q"}, "quantize");
  add_int(b.node("Cast", {"q"}, {"qf"}, "cast"), "to", onnx::TensorProto::FLOAT);
  b.node("MatMul", {"qf", "w"}, {"mm"}, "matmul");
  b.node("Softmax", {"mm"}, {"h"}, "softmax");
  tail(b);
  return check_batch_invariance(b.model());
}

void identity(GraphBuilder& b) { b.node("Identity", {"h"}, {"y"}, "identity"); }

TEST(BatchInvariance, PerTokenBodyIsProven) {
  const BatchInvariance r = check(identity, 18);  // ReduceMax's axes as an input: opset 18
  EXPECT_TRUE(r.proven) << r.reason;
  EXPECT_NE(r.reason.find("proven on the graph's 16 nodes"), std::string::npos) << r.reason;
}

TEST(BatchInvariance, ConstantFoldableNodesAreStructure) {
  // A DynamicQuantizeLinear of a constant reads no text: it cannot mix texts.
  const BatchInvariance r = check(
      [](GraphBuilder& b) {
        b.node("DynamicQuantizeLinear", {"w"}, {"wq", "ws", "wz"}, "constant_quant");
        b.node("Identity", {"h"}, {"y"}, "identity");
      },
      18);
  EXPECT_TRUE(r.proven) << r.reason;
}

TEST(BatchInvariance, ReshapeThatCopiesTheBatchIsProven) {
  const BatchInvariance r = check([](GraphBuilder& b) {
    b.int64_initializer("target", {0, -1});
    b.node("Reshape", {"h", "target"}, {"y"}, "flatten_tokens");
  }, 18);
  EXPECT_TRUE(r.proven) << r.reason;
}

TEST(BatchInvariance, StaticScalesAreProven) {
  // docquant's --approach static: QuantizeLinear with a calibrated constant scale, then
  // MatMulIntegerToFloat and QAttention reading that constant.
  const BatchInvariance r = check(
      [](GraphBuilder& b) {
        // (The check reads shapes and where values come from, not element types: float constants do.)
        b.initializer("static_scale", {}, {0.05f});
        b.initializer("static_zero", {}, {128.0f});
        b.initializer("w_int8", {4, 4}, std::vector<float>(16, 1.0f));
        b.node("QuantizeLinear", {"h", "static_scale", "static_zero"}, {"hq"}, "static_quantize");
        b.node("MatMulIntegerToFloat", {"hq", "w_int8", "static_scale", "unit", "static_zero"}, {"mm2"}, "mm2",
               "com.microsoft");
        b.node("QAttention", {"hq", "w_int8", "", "static_scale", "unit", "", "static_zero"}, {"att"}, "qattention",
               "com.microsoft");
        b.node("Add", {"mm2", "att"}, {"y"}, "sum");
      },
      18);
  EXPECT_TRUE(r.proven) << r.reason;
}

struct Refused {
  const char* what;
  std::function<void(GraphBuilder&)> tail;
  const char* reason;  // a part of BatchInvariance::reason
};

class BatchInvarianceRefuses : public ::testing::TestWithParam<Refused> {};

TEST_P(BatchInvarianceRefuses, NamingTheNode) {
  const BatchInvariance r = check(GetParam().tail, 18);
  EXPECT_FALSE(r.proven);
  EXPECT_NE(r.reason.find("node 'culprit'"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find(GetParam().reason), std::string::npos) << r.reason;
}

INSTANTIATE_TEST_SUITE_P(
    Mixing, BatchInvarianceRefuses,
    ::testing::Values(
        Refused{"per_tensor_scale",
                [](GraphBuilder& b) { b.node("DynamicQuantizeLinear", {"h"}, {"y", "s", "z"}, "culprit"); },
                "(DynamicQuantizeLinear) computes one quantization scale over its whole input"},
        Refused{"qattention_scale_from_texts",
                [](GraphBuilder& b) {
                  b.node("QAttention", {"q", "w", "", "absmax"}, {"y"}, "culprit", "com.microsoft");
                },
                "(com.microsoft:QAttention) takes its input scale or zero point from the texts"},
        Refused{"dynamic_quantize_matmul",
                [](GraphBuilder& b) { b.node("DynamicQuantizeMatMul", {"h", "w"}, {"y"}, "culprit", "com.microsoft"); },
                "one quantization scale"},
        Refused{"reduce_all", [](GraphBuilder& b) { b.node("ReduceMax", {"h"}, {"y"}, "culprit"); },
                "reduces over every axis, the batch included"},
        Refused{"reduce_batch",
                [](GraphBuilder& b) { b.node("ReduceMean", {"h", "zero"}, {"y"}, "culprit"); },
                "reduces over the batch axis"},
        Refused{"softmax_batch",
                [](GraphBuilder& b) { add_int(b.node("Softmax", {"h"}, {"y"}, "culprit"), "axis", -3); },
                "works along the batch axis"},
        Refused{"transpose",
                [](GraphBuilder& b) { add_ints(b.node("Transpose", {"h"}, {"y"}, "culprit"), "perm", {1, 0, 2}); },
                "moves the batch axis"},
        Refused{"reshape_merge",
                [](GraphBuilder& b) {
                  b.int64_initializer("target", {-1, 4});
                  b.node("Reshape", {"h", "target"}, {"y"}, "culprit");
                },
                "does not copy the batch axis"},
        Refused{"broadcast_up",
                [](GraphBuilder& b) {
                  b.initializer("big", {2, 1, 1, 1}, {1.0f, 2.0f});
                  b.node("Mul", {"h", "big"}, {"y"}, "culprit");
                },
                "moves its batch axis"},
        Refused{"gather_batch",
                [](GraphBuilder& b) { b.node("Gather", {"h", "zero"}, {"y"}, "culprit"); },
                "picks entries along the batch axis"},
        Refused{"unknown_op", [](GraphBuilder& b) { b.node("TopK", {"h", "one"}, {"y", "i"}, "culprit"); },
                "(TopK) is not an op known to keep texts apart"},
        Refused{"subgraph",
                [](GraphBuilder& b) {
                  auto& n = b.node("Loop", {"", ""}, {"y"}, "culprit");
                  auto* a = n.add_attribute();
                  a->set_name("body");
                  a->set_type(onnx::AttributeProto::GRAPH);
                  a->mutable_g()->set_name("body");
                },
                "runs a subgraph"}),
    [](const ::testing::TestParamInfo<Refused>& p) { return std::string(p.param.what); });

}  // namespace
}  // namespace docquant::runtime
