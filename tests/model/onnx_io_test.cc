// Loading models: real files pass; broken ones give one InputError naming the file.
#include "onnx_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "docquant/error.h"
#include "graph_builder.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

class OnnxIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("docquant_onnx_io_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static onnx::ModelProto tiny_model(std::int64_t ir_version = 8) {
    onnx::ModelProto m = testing::new_model(17, ir_version);
    auto* g = m.mutable_graph();
    testing::add_tensor_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {1, 2});
    testing::add_initializer<float>(g, "w", onnx::TensorProto::FLOAT, {2, 2}, {1, 2, 3, 4});
    testing::add_node(g, "MatMul", {"x", "w"}, {"y"});
    testing::add_tensor_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {1, 2});
    return m;
  }

  std::string load_error(const fs::path& path) {
    try {
      model::load_model(path);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(OnnxIo, SaveThenLoadRoundTripsAndFolderFindsModelOnnx) {
  model::save_model(tiny_model(), dir_ / "model.onnx");
  auto loaded = model::load_model(dir_);
  EXPECT_EQ(loaded.file, dir_ / "model.onnx");
  EXPECT_EQ(loaded.model.graph().node_size(), 1);
  EXPECT_TRUE(loaded.notes.empty());
}

TEST_F(OnnxIo, SerializationIsDeterministic) {
  const auto m = tiny_model();
  EXPECT_EQ(model::serialize_model(m), model::serialize_model(m));
}

TEST_F(OnnxIo, NewerIrVersionIsAcceptedWithANote) {
  model::save_model(tiny_model(10), dir_ / "m.onnx");
  auto loaded = model::load_model(dir_ / "m.onnx");
  ASSERT_EQ(loaded.notes.size(), 1u);
  EXPECT_NE(loaded.notes[0].find("IR version 10"), std::string::npos);
}

TEST_F(OnnxIo, TruncatedFile) {
  const std::string bytes = model::serialize_model(tiny_model());
  std::ofstream(dir_ / "cut.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_NE(load_error(dir_ / "cut.onnx").find("cut.onnx: not a valid ONNX model"), std::string::npos);
}

TEST_F(OnnxIo, NotOnnx) {
  std::ofstream(dir_ / "data.csv") << "text,label\nhello,1\n";
  EXPECT_NE(load_error(dir_ / "data.csv").find("data.csv: not"), std::string::npos);
  std::ofstream(dir_ / "empty.onnx");
  EXPECT_NE(load_error(dir_ / "empty.onnx").find("the file is empty"), std::string::npos);
}

TEST_F(OnnxIo, FolderWithoutModelOnnxAndMissingPath) {
  EXPECT_NE(load_error(dir_).find("folder has no model.onnx"), std::string::npos);
  EXPECT_NE(load_error(dir_ / "nope.onnx").find("no such file or folder"), std::string::npos);
}

TEST_F(OnnxIo, ExternalDataIsReadAndAMissingFileIsNamed) {
  onnx::ModelProto m = tiny_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  const std::string raw = w->raw_data();
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("weights.bin");
  model::save_model(m, dir_ / "model.onnx");
  EXPECT_NE(load_error(dir_).find("initializer 'w' stores its data in"), std::string::npos);
  std::ofstream(dir_ / "weights.bin", std::ios::binary) << raw;
  auto loaded = model::load_model(dir_);
  EXPECT_EQ(loaded.model.graph().initializer(0).raw_data(), raw);
}

TEST_F(OnnxIo, CheckerRejectionNamesTheFile) {
  onnx::ModelProto m = tiny_model();
  m.mutable_graph()->mutable_node(0)->add_input("w");  // MatMul takes two inputs
  model::save_model(m, dir_ / "bad.onnx");
  EXPECT_NE(load_error(dir_ / "bad.onnx").find("bad.onnx: the ONNX checker rejects the model"), std::string::npos);
}

TEST_F(OnnxIo, OpUnknownToTheOldCheckerIsLeftToOnnxRuntime) {
  // ONNX Runtime's optimiser writes LayerNormalization under opset 11 (quantize --optimize_graph).
  onnx::ModelProto m = testing::new_model(11, 8);
  auto* g = m.mutable_graph();
  testing::add_tensor_value(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {1, 2});
  testing::add_initializer<float>(g, "scale", onnx::TensorProto::FLOAT, {2}, {1, 1});
  testing::add_node(g, "LayerNormalization", {"x", "scale"}, {"y"});
  testing::add_tensor_value(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {1, 2});
  model::save_model(m, dir_ / "model.onnx");
  const auto loaded = model::load_model(dir_ / "model.onnx");
  ASSERT_EQ(loaded.notes.size(), 1u);
  EXPECT_NE(loaded.notes[0].find("LayerNormalization"), std::string::npos);
}

TEST_F(OnnxIo, UndefinedInputNamesTheNode) {
  onnx::ModelProto m = tiny_model(10);  // above the checker's IR: docquant's own check names it
  m.mutable_graph()->mutable_node(0)->set_name("mm");
  m.mutable_graph()->mutable_node(0)->set_input(1, "dropped_weight");
  model::save_model(m, dir_ / "bad.onnx");
  EXPECT_NE(load_error(dir_ / "bad.onnx").find("node 'mm' (MatMul) reads 'dropped_weight'"), std::string::npos);
}

TEST_F(OnnxIo, ShapeThatItsDataDoesNotBackIsRefused) {
  onnx::ModelProto m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, std::int64_t{1} << 40);
  model::save_model(m, dir_ / "bad.onnx");
  EXPECT_NE(load_error(dir_ / "bad.onnx").find("initializer 'w' declares the shape [1099511627776, 2]"),
            std::string::npos);
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, 3);
  model::save_model(m, dir_ / "bad.onnx");
  EXPECT_NE(load_error(dir_ / "bad.onnx").find("initializer 'w' declares the shape [3, 2] (24 bytes) but holds 16 bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace docquant
