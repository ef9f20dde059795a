// Same numbers as ONNX Runtime's Python `quantize_dynamic`: the int8 weights,
// scales and zero points docquant writes equal, bit for bit, the ones ORT's
// tool writes for the same fp32 weights (tolerance: none). Needs the setfit
// venv (scripts/setup_venvs.sh, onnxruntime 1.29.0); skips with a message when
// it is absent.
#include <gtest/gtest.h>
#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "onnx_io.h"
#include "quantize_pass.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

namespace fs = std::filesystem;
using testing::Feed;

fs::path ort_python() {
  if (const char* p = std::getenv("DOCQUANT_ORT_PYTHON")) return p;
  fs::path cache;
  if (const char* c = std::getenv("DOCQUANT_CACHE")) {
    cache = c;
  } else if (const char* home = std::getenv("HOME")) {
    cache = fs::path(home) / ".cache" / "docquant";
  }
  return cache / "venvs" / "setfit" / "bin" / "python";
}

const onnx::TensorProto* initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// Raw bytes of an initializer whatever field holds them (ORT's tool writes int8
// data as raw bytes, scales sometimes as float_data).
std::string bytes_of(const onnx::TensorProto& t) {
  if (t.has_raw_data()) return t.raw_data();
  std::string out;
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    for (float f : t.float_data()) out.append(reinterpret_cast<const char*>(&f), sizeof f);
  } else {  // int8/uint8 in int32_data
    for (auto v : t.int32_data()) out.push_back(static_cast<char>(v));
  }
  return out;
}

struct ParityCase {
  bool per_channel;
  bool reduce_range;
};

class OrtParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(OrtParity, WeightsScalesAndZeroPointsMatchQuantizeDynamic) {
  const fs::path python = ort_python();
  if (!fs::exists(python)) {
    GTEST_SKIP() << python.string() << " not found: run scripts/setup_venvs.sh setfit (or set DOCQUANT_ORT_PYTHON to a "
                 << "python with onnxruntime 1.29.0)";
  }
  const std::string probe = fmt::format("'{}' -c 'import onnxruntime.quantization' > /dev/null 2>&1", python.string());
  if (std::system(probe.c_str()) != 0) {
    GTEST_SKIP() << python.string() << " cannot import onnxruntime.quantization (onnxruntime 1.29's tool also needs "
                 << "ml_dtypes); add it to that venv or set DOCQUANT_ORT_PYTHON";
  }
  const ParityCase c = GetParam();
  testing::GraphBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, 24}).output("y");
  auto w1 = testing::uniform(24 * 40, -0.3f, 0.5f, 71u);
  w1[5] = 0.0f;
  b.initializer("W1", {24, 40}, w1);
  b.initializer("b1", {40}, testing::uniform(40, -0.1f, 0.1f, 72u));
  auto w2 = testing::uniform(40 * 16, -1.0f, 1.0f, 73u);
  for (int k = 0; k < 40; ++k) w2[static_cast<std::size_t>(k * 16 + 3)] = 0.0f;  // an all-zero column
  b.initializer("W2", {40, 16}, w2);
  b.node("MatMul", {"x", "W1"}, {"h"}, "fc1");
  b.node("Add", {"h", "b1"}, {"h_b"}, "fc1_add");
  b.node("Relu", {"h_b"}, {"r"}, "relu");
  b.node("MatMul", {"r", "W2"}, {"y"}, "fc2");

  const fs::path dir = fs::temp_directory_path() /
                       fmt::format("docquant-ort-parity-{}-{}{}", ::getpid(), c.per_channel, c.reduce_range);
  fs::create_directories(dir);
  model::save_model(b.model(), dir / "fp32.onnx");
  const std::string script = (fs::path(DOCQUANT_QUANT_TEST_DIR) / "ort_quantize_dynamic.py").string();
  const std::string cmd = fmt::format("'{}' '{}' '{}' '{}'{}{} > '{}' 2>&1", python.string(), script,
                                      (dir / "fp32.onnx").string(), (dir / "ort.onnx").string(),
                                      c.per_channel ? " --per-channel" : "", c.reduce_range ? " --reduce-range" : "",
                                      (dir / "log.txt").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "quantize_dynamic failed; see " << (dir / "log.txt").string();
  const onnx::ModelProto ort = model::load_model(dir / "ort.onnx").model;

  QuantPlan plan;
  plan.defaults.granularity = c.per_channel ? WeightGranularity::per_channel : WeightGranularity::per_tensor;
  plan.defaults.reduce_range = c.reduce_range;
  plan.fused_matmul = false;  // the form ORT's tool writes
  const QuantizeResult ours = quantize(b.model(), plan);

  for (const std::string w : {"W1", "W2"}) {
    SCOPED_TRACE(w);
    const auto* ort_q = initializer(ort, w + "_quantized");
    const auto* ort_s = initializer(ort, w + "_scale");
    const auto* ort_z = initializer(ort, w + "_zero_point");
    const auto* our_q = initializer(ours.model, w + "_int8");
    const auto* our_s = initializer(ours.model, w + "_scale");
    const auto* our_z = initializer(ours.model, w + "_zero_point");
    ASSERT_TRUE(ort_q && ort_s && ort_z) << "ORT's tool did not write the expected initializers";
    ASSERT_TRUE(our_q && our_s && our_z);
    EXPECT_EQ(ort_q->data_type(), our_q->data_type());
    EXPECT_EQ(bytes_of(*our_q), bytes_of(*ort_q)) << "int8 weights differ";
    EXPECT_EQ(bytes_of(*our_s), bytes_of(*ort_s)) << "scales differ";
    EXPECT_EQ(bytes_of(*our_z), bytes_of(*ort_z)) << "zero points differ";
    EXPECT_EQ(std::vector<std::int64_t>(our_s->dims().begin(), our_s->dims().end()),
              std::vector<std::int64_t>(ort_s->dims().begin(), ort_s->dims().end()));
  }
  const auto ops = testing::count_ops(ort);
  EXPECT_EQ(ops.at("MatMulInteger"), testing::count_ops(ours.model).at("MatMulInteger"));

  // And the two models compute the same thing.
  const std::map<std::string, Feed> feeds{{"x", Feed{{5, 24}, testing::uniform(120, -2.0f, 2.0f, 74u), {}}}};
  const auto y_ort = testing::run_model(ort, feeds);
  const auto y_ours = testing::run_model(ours.model, feeds);
  ASSERT_EQ(y_ort.size(), y_ours.size());
  for (std::size_t i = 0; i < y_ours.size(); ++i) EXPECT_FLOAT_EQ(y_ours[i], y_ort[i]) << i;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Quick, OrtParity,
                         ::testing::Values(ParityCase{false, false}, ParityCase{true, false}, ParityCase{false, true},
                                           ParityCase{true, true}),
                         [](const auto& p) {
                           return std::string(p.param.per_channel ? "per_channel" : "per_tensor") +
                                  (p.param.reduce_range ? "_reduce_range" : "_full_range");
                         });

// The same on a real body: every MatMul weight of the first fixture.
TEST(OrtParityRealModel, EveryMatMulWeightMatchesQuantizeDynamic) {
  const fs::path python = ort_python();
  const std::string probe = fmt::format("'{}' -c 'import onnxruntime.quantization' > /dev/null 2>&1", python.string());
  if (!fs::exists(python) || std::system(probe.c_str()) != 0) {
    GTEST_SKIP() << python.string() << " missing or cannot import onnxruntime.quantization (see OrtParity)";
  }
  fs::path fixture;
  if (const char* one = std::getenv("DOCQUANT_QUANT_MODEL")) {
    fixture = one;
  } else {
    fs::path root;
    if (const char* f = std::getenv("DOCQUANT_FIXTURES")) {
      root = f;
    } else if (const char* home = std::getenv("HOME")) {
      root = fs::path(home) / ".cache" / "docquant" / "fixtures";
    }
    std::error_code ec;
    std::vector<fs::path> found;
    if (fs::is_directory(root, ec)) {
      for (const auto& e : fs::directory_iterator(root, ec)) {
        if (fs::is_regular_file(e.path() / "onnx" / "model.onnx", ec)) found.push_back(e.path() / "onnx" / "model.onnx");
      }
    }
    std::sort(found.begin(), found.end());
    if (found.empty()) GTEST_SKIP() << "no fixture model under " << root.string() << " (tools/build_fixtures.py)";
    fixture = found.front();
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("docquant-ort-parity-real-{}", ::getpid());
  fs::create_directories(dir);
  const std::string script = (fs::path(DOCQUANT_QUANT_TEST_DIR) / "ort_quantize_dynamic.py").string();
  const std::string cmd = fmt::format("'{}' '{}' '{}' '{}' > '{}' 2>&1", python.string(), script, fixture.string(),
                                      (dir / "ort.onnx").string(), (dir / "log.txt").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "quantize_dynamic failed; see " << (dir / "log.txt").string();
  const onnx::ModelProto ort = model::load_model(dir / "ort.onnx").model;
  const onnx::ModelProto fp32 = model::load_model(fixture).model;

  QuantPlan plan;
  plan.fused_matmul = false;
  const QuantizeResult ours = quantize(fp32, plan);
  int compared = 0;
  for (const auto& c : find_candidates(fp32)) {
    if (c.op_type != "MatMul") continue;
    SCOPED_TRACE(c.weight);
    const auto* ort_q = initializer(ort, c.weight + "_quantized");
    const auto* ort_s = initializer(ort, c.weight + "_scale");
    const auto* our_q = initializer(ours.model, c.weight + "_int8");
    const auto* our_s = initializer(ours.model, c.weight + "_scale");
    ASSERT_TRUE(ort_q && ort_s && our_q && our_s);
    EXPECT_EQ(bytes_of(*our_q), bytes_of(*ort_q)) << "int8 weights differ";
    EXPECT_EQ(bytes_of(*our_s), bytes_of(*ort_s)) << "scales differ";
    ++compared;
  }
  EXPECT_GE(compared, 36);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace docquant::quant
