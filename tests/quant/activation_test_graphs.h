#pragma once
// What the activation-scheme tests share (per_token_test.cc, static_activations_test.cc): the
// one-MatMul and self-attention graphs they quantize, and the runs that show whether a text's
// result depends on its batch.
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graph_context.h"
#include "test_support.h"

namespace docquant::quant {

inline std::vector<float> activation_test_weight(std::int64_t k, std::int64_t n) {
  return testing::uniform(static_cast<std::size_t>(k * n), -0.5f, 0.4f, 81u);
}
inline std::vector<float> activation_test_bias(std::int64_t n) {
  return testing::uniform(static_cast<std::size_t>(n), -0.3f, 0.3f, 82u);
}

// x [-1, -1, k] -> MatMul(W) [+ Add(bias)] -> y
inline testing::GraphBuilder matmul_model(std::int64_t k, std::int64_t n, bool bias, std::int64_t opset = 14) {
  testing::GraphBuilder b(opset);
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, k}).output("y");
  b.initializer("W", {k, n}, activation_test_weight(k, n));
  if (bias) {
    b.initializer("bias", {n}, activation_test_bias(n));
    b.node("MatMul", {"x", "W"}, {"mm"}, "dense/MatMul");
    b.node("Add", {"mm", "bias"}, {"y"}, "dense/Add");
  } else {
    b.node("MatMul", {"x", "W"}, {"y"}, "dense/MatMul");
  }
  return b;
}

// x [-1, -1, 16] read by two MatMuls, "query" (Wq, seed 1) and "key" (Wk, seed 2): outputs q, k.
inline testing::GraphBuilder two_readers_model() {
  testing::GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, 16}).output("q").output("k");
  b.initializer("Wq", {16, 8}, testing::uniform(128, -1.0f, 1.0f, 1u));
  b.initializer("Wk", {16, 8}, testing::uniform(128, -1.0f, 1.0f, 2u));
  b.node("MatMul", {"x", "Wq"}, {"q"}, "query");
  b.node("MatMul", {"x", "Wk"}, {"k"}, "key");
  return b;
}

// One text's [seq, n] output alone, second in a batch of four beside `others` (three louder
// texts), and padded with two rows of large values, from matmul_model(k, n, ...) quantized.
struct BatchedRuns {
  std::vector<float> alone, in_batch, with_padding;
};
inline BatchedRuns run_alone_batched_padded(const onnx::ModelProto& m, const std::vector<float>& text,
                                            const std::vector<float>& others, std::int64_t seq, std::int64_t k,
                                            std::int64_t n) {
  std::vector<float> batch(others.begin(), others.begin() + seq * k);
  batch.insert(batch.end(), text.begin(), text.end());
  batch.insert(batch.end(), others.begin() + seq * k, others.end());
  std::vector<float> padded = text;
  for (std::int64_t i = 0; i < 2 * k; ++i) padded.push_back(100.0f * (static_cast<float>(i % 3) - 1.0f));
  const auto runs = testing::run_model_many(m, {{{"x", testing::Feed{{1, seq, k}, text, {}}}},
                                                {{"x", testing::Feed{{4, seq, k}, batch, {}}}},
                                                {{"x", testing::Feed{{1, seq + 2, k}, padded, {}}}}});
  return {runs[0], std::vector<float>(runs[1].begin() + seq * n, runs[1].begin() + 2 * seq * n),
          std::vector<float>(runs[2].begin(), runs[2].begin() + seq * n)};
}

// The property the batch-invariant schemes exist for, checked on `invariant`, with `control`
// (dynamic per-tensor scales: batch-dependent) showing that the check can fail.
inline void expect_batch_invariant(const onnx::ModelProto& invariant, const onnx::ModelProto& control,
                                   const std::vector<float>& text, const std::vector<float>& others, std::int64_t seq,
                                   std::int64_t k, std::int64_t n) {
  const BatchedRuns runs = run_alone_batched_padded(invariant, text, others, seq, k, n);
  EXPECT_EQ(runs.in_batch, runs.alone) << "batched with other texts";
  EXPECT_EQ(runs.with_padding, runs.alone) << "padded";
  const BatchedRuns dynamic = run_alone_batched_padded(control, text, others, seq, k, n);
  EXPECT_NE(dynamic.in_batch, dynamic.alone) << "per tensor is batch-dependent; the check above can fail";
  EXPECT_NE(dynamic.with_padding, dynamic.alone);
}

// com.microsoft Attention (2 heads) on x [-1, -1, hidden] with an int32 key mask "mask".
inline onnx::ModelProto attention_with_mask_model(std::int64_t hidden) {
  testing::GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, hidden}).input("mask", onnx::TensorProto::INT32, {-1, -1}).output("y");
  b.initializer("qkv_w", {hidden, 3 * hidden}, testing::uniform(static_cast<std::size_t>(hidden * 3 * hidden), -0.5f, 0.5f, 61u));
  b.initializer("qkv_b", {3 * hidden}, testing::uniform(static_cast<std::size_t>(3 * hidden), -0.1f, 0.1f, 62u));
  add_int_attribute(b.node("Attention", {"x", "qkv_w", "qkv_b", "mask"}, {"y"}, "attn", "com.microsoft"), "num_heads", 2);
  onnx::ModelProto m = b.model();
  auto* ms = m.add_opset_import();
  ms->set_domain("com.microsoft");
  ms->set_version(1);
  return m;
}

// Runs attention_with_mask_model's graph (or its quantized form) on `texts` texts of `seq`
// tokens. run_model feeds float and int64 only: the mask goes in as an int32 initializer.
inline std::vector<float> run_attention(const onnx::ModelProto& m, const std::vector<float>& x, std::int64_t texts,
                                        std::int64_t seq, std::int64_t hidden, const std::vector<std::int32_t>& mask) {
  onnx::ModelProto with_mask = m;
  auto* g = with_mask.mutable_graph();
  for (int i = 0; i < g->input_size(); ++i) {
    if (g->input(i).name() == "mask") g->mutable_input()->DeleteSubrange(i, 1);
  }
  auto* t = g->add_initializer();
  t->set_name("mask");
  t->set_data_type(onnx::TensorProto::INT32);
  t->add_dims(texts);
  t->add_dims(seq);
  for (auto v : mask) t->add_int32_data(v);
  return testing::run_model(with_mask, {{"x", testing::Feed{{texts, seq, hidden}, x, {}}}});
}

// x [4, 12] -> Gemm(W [5, 12], C, transB = 1) -> y "classifier"; W as the [K, N] = [12, 5] the
// emulation takes, and C.
inline std::vector<float> gemm_test_bias() { return {0.5f, -0.5f, 0.25f, 0.0f, 1.0f}; }
inline testing::GraphBuilder gemm_model() {
  testing::GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 12}).output("y");
  b.initializer("W", {5, 12}, testing::uniform(60, -1.0f, 1.0f, 41u));
  b.initializer("C", {5}, gemm_test_bias());
  add_int_attribute(b.node("Gemm", {"x", "W", "C"}, {"y"}, "classifier"), "transB", 1);
  return b;
}
inline std::vector<float> gemm_test_weight_kn() {
  const auto wt = testing::uniform(60, -1.0f, 1.0f, 41u);
  std::vector<float> w(60);
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 12; ++j) w[static_cast<std::size_t>(j * 5 + i)] = wt[static_cast<std::size_t>(i * 12 + j)];
  }
  return w;
}

// The plans the arithmetic tests run on matmul_model: per channel or tensor, 7- or 8-bit
// weights, with or without the bias Add.
struct PlanCase {
  bool per_channel;
  bool reduce_range;
  bool bias;
};
inline const auto kPlanCases =
    ::testing::Values(PlanCase{true, true, true}, PlanCase{true, true, false}, PlanCase{false, true, true},
                      PlanCase{true, false, true}, PlanCase{false, false, false});
inline std::string plan_case_name(const ::testing::TestParamInfo<PlanCase>& p) {
  return std::string(p.param.per_channel ? "channel" : "tensor") + (p.param.reduce_range ? "_reduced" : "_full") +
         (p.param.bias ? "_bias" : "");
}

}  // namespace docquant::quant
