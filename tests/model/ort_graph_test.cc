// A graph built with libonnx in C++ runs through ONNX Runtime's C++ API and gives
// the numbers a reference computed here gives: the two libraries agree on the
// model we write, including the integer ops dynamic quantization emits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfenv>
#include <cmath>

#include "graph_builder.h"
#include "onnx_io.h"
#include "ort_session.h"

namespace docquant {
namespace {

using testing::add_initializer;
using testing::add_node;
using testing::add_tensor_value;

constexpr std::int64_t kRows = 2, kInner = 3, kCols = 4;

// Reference DynamicQuantizeLinear (ONNX operator spec): uint8, asymmetric, range
// widened to include 0, round half to even, saturate.
struct QuantizedU8 {
  std::vector<std::uint8_t> values;
  float scale;
  std::uint8_t zero_point;
};
QuantizedU8 reference_dynamic_quantize(const std::vector<float>& x) {
  const float lo = std::min(0.0f, *std::min_element(x.begin(), x.end()));
  const float hi = std::max(0.0f, *std::max_element(x.begin(), x.end()));
  QuantizedU8 q;
  q.scale = (hi - lo) / 255.0f;
  const auto sat = [](float v) { return static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f)); };
  q.zero_point = sat(std::nearbyint(0.0f - lo / q.scale));
  for (float v : x) q.values.push_back(sat(std::nearbyint(v / q.scale) + static_cast<float>(q.zero_point)));
  return q;
}

TEST(OrtGraph, MatMulAddAndDynamicQuantizeMatMulIntegerMatchReference) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  // The integer path is compared exactly, so any rounding disagreement between the
  // reference and ONNX Runtime fails the test.
  const std::vector<float> x = {0.5f, -1.25f, 2.0f, 3.0f, 0.0f, -0.75f};
  const std::vector<float> w = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f, 1.0f, 0.0f, 0.25f};
  const std::vector<float> bias = {0.01f, 0.02f, -0.03f, 0.04f};
  // Weights quantized symmetric int8 with scale max|w|/127.
  const float w_scale = 1.0f / 127.0f;
  std::vector<std::int8_t> w_q;
  for (float v : w) w_q.push_back(static_cast<std::int8_t>(std::nearbyint(v / w_scale)));

  onnx::ModelProto model = testing::new_model();
  auto* g = model.mutable_graph();
  add_tensor_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {kRows, kInner});
  add_initializer<float>(g, "w", onnx::TensorProto::FLOAT, {kInner, kCols}, w);
  add_initializer<float>(g, "bias", onnx::TensorProto::FLOAT, {kCols}, bias);
  add_initializer<std::int8_t>(g, "w_int8", onnx::TensorProto::INT8, {kInner, kCols}, w_q);
  add_initializer<std::int8_t>(g, "w_zero_point", onnx::TensorProto::INT8, {}, {0});
  add_initializer<float>(g, "w_scale", onnx::TensorProto::FLOAT, {}, {w_scale});
  add_node(g, "MatMul", {"x", "w"}, {"xw"});
  add_node(g, "Add", {"xw", "bias"}, {"y_fp32"});
  add_node(g, "DynamicQuantizeLinear", {"x"}, {"x_q", "x_scale", "x_zero_point"});
  add_node(g, "MatMulInteger", {"x_q", "w_int8", "x_zero_point", "w_zero_point"}, {"acc"});
  add_node(g, "Cast", {"acc"}, {"acc_f"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("to");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(onnx::TensorProto::FLOAT);
    return a;
  }());
  add_node(g, "Mul", {"x_scale", "w_scale"}, {"scale"});
  add_node(g, "Mul", {"acc_f", "scale"}, {"y_int8"});
  add_tensor_value(g->mutable_output(), "y_fp32", onnx::TensorProto::FLOAT, {kRows, kCols});
  add_tensor_value(g->mutable_output(), "y_int8", onnx::TensorProto::FLOAT, {kRows, kCols});
  add_tensor_value(g->mutable_output(), "x_q", onnx::TensorProto::UINT8, {kRows, kInner});
  add_tensor_value(g->mutable_output(), "x_scale", onnx::TensorProto::FLOAT, {});
  add_tensor_value(g->mutable_output(), "x_zero_point", onnx::TensorProto::UINT8, {});

  Ort::Session session = runtime::make_session(model::serialize_model(model), {}, "test graph");
  auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<float> x_buf = x;
  const std::int64_t shape[] = {kRows, kInner};
  Ort::Value input = Ort::Value::CreateTensor<float>(memory, x_buf.data(), x_buf.size(), shape, 2);
  const char* in_names[] = {"x"};
  const char* out_names[] = {"y_fp32", "y_int8", "x_q", "x_scale", "x_zero_point"};
  auto out = session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 5);

  // fp32 path: plain matrix product plus bias.
  const float* y_fp32 = out[0].GetTensorData<float>();
  for (std::int64_t r = 0; r < kRows; ++r) {
    for (std::int64_t c = 0; c < kCols; ++c) {
      float ref = bias[c];
      for (std::int64_t k = 0; k < kInner; ++k) ref += x[r * kInner + k] * w[k * kCols + c];
      EXPECT_NEAR(y_fp32[r * kCols + c], ref, 1e-6f) << r << "," << c;
    }
  }
  // Integer path: ONNX Runtime's DynamicQuantizeLinear must equal the reference bit for bit.
  const QuantizedU8 q = reference_dynamic_quantize(x);
  EXPECT_FLOAT_EQ(*out[3].GetTensorData<float>(), q.scale);
  EXPECT_EQ(*out[4].GetTensorData<std::uint8_t>(), q.zero_point);
  const std::uint8_t* x_q = out[2].GetTensorData<std::uint8_t>();
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x_q[i], q.values[i]) << "element " << i;
  // MatMulInteger accumulates exactly in int32; the float result is acc * x_scale * w_scale.
  const float* y_int8 = out[1].GetTensorData<float>();
  for (std::int64_t r = 0; r < kRows; ++r) {
    for (std::int64_t c = 0; c < kCols; ++c) {
      std::int32_t acc = 0;
      for (std::int64_t k = 0; k < kInner; ++k) {
        acc += (static_cast<std::int32_t>(q.values[r * kInner + k]) - q.zero_point) * w_q[k * kCols + c];
      }
      const float ref = static_cast<float>(acc) * (q.scale * w_scale);
      EXPECT_FLOAT_EQ(y_int8[r * kCols + c], ref) << r << "," << c;
      // And the quantized product stays close to the fp32 one (without bias):
      // |error| <= K * (x_scale/2 * max|w| + w_scale/2 * max|x|) + second-order term.
      EXPECT_NEAR(y_int8[r * kCols + c] + bias[c], y_fp32[r * kCols + c], 0.05f);
    }
  }
}

}  // namespace
}  // namespace docquant
