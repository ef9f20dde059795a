#pragma once
// What the quantize pass tests share (one file per quantizer, plus quantize_pass_test.cc
// for the pass itself): the chain of MatMul layers most of them run on, the plan whose
// numbers are the same on every x86 CPU, and lookups into a QuantizeResult.
#include <onnx/onnx_pb.h>

#include <array>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {

// Three quantized layers: relative RMS error vs fp32. One 8-bit layer with
// uniform data sits near 0.5%; errors add up over layers; 5% leaves room while
// any wrong scale or zero point gives errors of order 100%.
constexpr double kChainRelRms = 0.05;

// The plan of the tests that check structure (names, plans, folding, op types)
// and closeness to fp32: 7-bit weights, so their numbers are the same on every x86 CPU.
// With 8-bit weights an AVX2-only CPU saturates pairs of u8×s8 products (int8_kernel.h)
// and the closeness bound would test the CPU, not the pass; matmul_sweep_test.cc checks
// full-range arithmetic against the host's kernel instead.
inline QuantPlan saturation_free_plan() {
  QuantPlan plan;
  plan.defaults.reduce_range = true;
  return plan;
}

inline const NodeDecision& decision_for(const QuantizeResult& r, const std::string& node) {
  for (const auto& d : r.decisions) {
    if (d.node == node) return d;
  }
  throw std::runtime_error("no decision for " + node);
}

inline const onnx::NodeProto* find_node(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& n : m.graph().node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

inline bool has_initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return true;
  }
  return false;
}

// x [batch, rows, 32] -> 3 × (MatMul + Add [+ Relu]) -> y [batch, rows, 8]
inline testing::GraphBuilder chain_model() {
  testing::GraphBuilder b;
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

inline std::map<std::string, testing::Feed> chain_feeds() {
  return {{"x", testing::Feed{{2, 7, 32}, testing::uniform(2 * 7 * 32, -1.5f, 1.5f, 99u), {}}}};
}

inline onnx::ModelProto with_ms_domain(onnx::ModelProto m) {
  auto* op = m.add_opset_import();
  op->set_domain("com.microsoft");
  op->set_version(1);
  return m;
}

}  // namespace docquant::quant
