#include "model_form.h"

#include <gtest/gtest.h>

#include "docquant/error.h"
#include "graph_builder.h"

namespace docquant::runtime {
namespace {

using docquant::testing::add_tensor_value;

onnx::ModelProto io_model(const std::vector<std::pair<std::string, int>>& inputs,
                          const std::vector<std::tuple<std::string, int, int>>& outputs) {
  onnx::ModelProto m = docquant::testing::new_model();
  auto* g = m.mutable_graph();
  for (const auto& [name, type] : inputs) add_tensor_value(g->mutable_input(), name, type, {1, 8});
  for (const auto& [name, type, rank] : outputs) {
    add_tensor_value(g->mutable_output(), name, type, std::vector<std::int64_t>(static_cast<std::size_t>(rank), 4));
  }
  return m;
}

constexpr int kI64 = onnx::TensorProto::INT64;
constexpr int kF32 = onnx::TensorProto::FLOAT;

TEST(DetectSignature, OptimumBodyExport) {
  const auto sig = detect_signature(
      io_model({{"input_ids", kI64}, {"attention_mask", kI64}, {"token_type_ids", kI64}}, {{"last_hidden_state", kF32, 3}}),
      "m.onnx");
  EXPECT_EQ(sig.form, ModelForm::body_last_hidden_state);
  EXPECT_EQ(sig.output, "last_hidden_state");
  EXPECT_EQ(sig.inputs.size(), 3u);
}

TEST(DetectSignature, HeadInGraphPrefersProbabilities) {
  const auto sig = detect_signature(
      io_model({{"input_ids", kI64}, {"attention_mask", kI64}}, {{"label", kI64, 1}, {"probabilities", kF32, 2}}), "m");
  EXPECT_EQ(sig.form, ModelForm::head_in_graph);
  EXPECT_EQ(sig.output, "probabilities");
  EXPECT_FALSE(sig.output_is_label);
  // SetFit's export_onnx (skl2onnx) writes probabilities as double.
  const auto doubles = detect_signature(
      io_model({{"input_ids", kI64}}, {{"label", kI64, 1}, {"probabilities", onnx::TensorProto::DOUBLE, 2}}), "m");
  EXPECT_EQ(doubles.output, "probabilities");
  EXPECT_EQ(doubles.output_elem_type, onnx::TensorProto::DOUBLE);
  const auto label_only = detect_signature(io_model({{"input_ids", kI64}}, {{"label", kI64, 1}}), "m");
  EXPECT_TRUE(label_only.output_is_label);
}

TEST(DetectSignature, SentenceEmbeddingBody) {
  const auto sig = detect_signature(io_model({{"input_ids", kI64}}, {{"sentence_embedding", kF32, 2}}), "m");
  EXPECT_EQ(sig.form, ModelForm::sentence_embedding);
}

TEST(DetectSignature, NonTextModelsAreRefused) {
  try {
    detect_signature(io_model({{"pixel_values", kF32}}, {{"logits", kF32, 2}}), "resnet.onnx");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet.onnx: input 'pixel_values' is not one docquant can feed"),
              std::string::npos);
  }
  EXPECT_THROW(detect_signature(io_model({{"attention_mask", kI64}}, {{"last_hidden_state", kF32, 3}}), "m"),
               InputError);
  EXPECT_THROW(detect_signature(io_model({{"input_ids", kI64}}, {{"x", kF32, 4}}), "m"), InputError);
}

}  // namespace
}  // namespace docquant::runtime
