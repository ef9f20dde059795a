// The public Classifier on the real minilm-sst2 fixture (tools/build_fixtures.py) and
// the quantized example folder (scripts/setup.sh). Skips only when they are not built.
#include "docquant/classifier.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "csv.h"
#include "dataset.h"
#include "docquant/error.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"
#include "file_util.h"
#include "graph_optimizer.h"
#include "model_form.h"
#include "onnx_io.h"
#include "predictor.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

fs::path cache_dir() {
  if (const char* c = std::getenv("DOCQUANT_CACHE"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache" / "docquant";
}
fs::path fixture_dir() {
  if (const char* f = std::getenv("DOCQUANT_FIXTURES"); f && *f) return fs::path(f) / "minilm-sst2";
  return cache_dir() / "fixtures" / "minilm-sst2";
}
fs::path shared_data() {
  const char* s = std::getenv("DOCQUANT_SHARED");
  return fs::path(s && *s ? s : DOCQUANT_SOURCE_DIR "/../shared") / "data";
}

struct Data {
  std::vector<std::string> texts;
  std::vector<std::string> labels;
};
Data read_data(const fs::path& csv) {
  Data d;
  for (auto& row : read_labelled_csv(csv)) {
    d.texts.push_back(std::move(row.text));
    d.labels.push_back(std::move(row.label));
  }
  return d;
}

double accuracy(const Classifier& c, const Classification& r, const std::vector<std::string>& labels) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += c.classes()[r.label[i]] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

double manifest_accuracy(const char* key) {
  std::ifstream in(fixture_dir() / "manifest.json");
  return nlohmann::json::parse(in)["fp32_test_accuracy"][key].get<double>();
}

class ClassifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(fixture_dir() / "manifest.json") || !fs::exists(shared_data() / "sst2_test.csv")) return;
    ClassifierOptions o;
    o.onnx_model = fixture_dir() / "onnx" / "model.onnx";
    fp32_ = new Classifier(fixture_dir() / "setfit", o);
    test_ = new Data(read_data(shared_data() / "sst2_test.csv"));
  }
  static void TearDownTestSuite() {
    delete fp32_;
    delete test_;
    fp32_ = nullptr;
    test_ = nullptr;
  }
  void SetUp() override {
    if (!fp32_) GTEST_SKIP() << "fixture minilm-sst2 or " << shared_data() << "/sst2_test.csv is absent";
  }
  static std::span<const std::string> first(std::size_t n) {
    return std::span<const std::string>(test_->texts).first(std::min(n, test_->texts.size()));
  }

  static Classifier* fp32_;
  static Data* test_;
};
Classifier* ClassifierTest::fp32_ = nullptr;
Data* ClassifierTest::test_ = nullptr;

// The whole test set (1821 texts, one chunk) gives exactly the eval path's predictions,
// and the accuracy the Python path measured when the fixture was built.
TEST_F(ClassifierTest, EqualsEvalPathOnTheTestSet) {
  const Classification got = fp32_->classify(test_->texts);
  ASSERT_EQ(got.label.size(), test_->texts.size());
  ASSERT_EQ(got.num_classes, 2u);
  ASSERT_EQ(got.proba.size(), 2 * test_->texts.size());

  const auto folder = setfit::SetFitFolder::load(fixture_dir() / "setfit");
  TokenizerOptions topts;
  topts.padding = Padding::none;
  const auto tokenizer = Tokenizer::from_folder(fixture_dir() / "setfit", topts);
  auto loaded = model::load_model(fixture_dir() / "onnx" / "model.onnx");
  const auto signature = runtime::detect_signature(loaded.model, "model.onnx");
  runtime::BatchPolicy policy;
  const auto data = runtime::load_labelled_dataset(shared_data() / "sst2_test.csv", "text", "label", folder, tokenizer,
                                                   policy, 0);
  // The eval path runs the graph optimised on opening, as the Classifier does.
  const std::string bytes = runtime::model_to_run(loaded.model, loaded.file, true, {}, "model.onnx");
  const runtime::Predictor predictor(bytes, signature, folder, {}, "model.onnx");
  const auto want = predictor.predict(data.batches, data.labels.size());
  EXPECT_EQ(got.label, want.predicted);
  EXPECT_EQ(got.proba, want.proba);  // bit for bit: same batches, same session settings
  EXPECT_DOUBLE_EQ(accuracy(*fp32_, got, test_->labels), manifest_accuracy("onnx_body_ort"));
}

// Opening an fp32 export applies quantize's graph optimisation (Attention and
// SkipLayerNormalization fused, no scratch file left); --no_optimize_graph runs it as
// exported; both give the same labels on the whole test set and probabilities within 1e-5.
// A quantized graph is never re-optimised.
TEST_F(ClassifierTest, FloatGraphIsOptimisedOnOpening) {
  auto loaded = model::load_model(fixture_dir() / "onnx" / "model.onnx");
  const std::string plain = model::serialize_model(loaded.model);
  onnx::ModelProto copy = loaded.model;
  EXPECT_EQ(runtime::model_to_run(copy, loaded.file, false, {}, "model.onnx"), plain);
  const std::string optimised = runtime::model_to_run(copy, loaded.file, true, {}, "model.onnx");
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(optimised));
  std::map<std::string, int> ops;
  for (const auto& n : parsed.graph().node()) ++ops[n.op_type()];
  EXPECT_EQ(ops["Attention"], 6);
  EXPECT_EQ(ops["SkipLayerNormalization"], 12);
  EXPECT_FALSE(runtime::wants_graph_optimization(parsed));
  EXPECT_TRUE(runtime::wants_graph_optimization(loaded.model));
  onnx::ModelProto quantized = loaded.model;
  quantized.mutable_graph()->add_node()->set_op_type("DynamicQuantizeLinear");
  EXPECT_FALSE(runtime::wants_graph_optimization(quantized));
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path())) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(fmt::format("docquant-{}-", ::getpid())))
        << "scratch file left: " << entry.path();
  }

  ClassifierOptions o;
  o.onnx_model = fixture_dir() / "onnx" / "model.onnx";
  o.optimize_graph = false;
  const Classifier as_exported(fixture_dir() / "setfit", o);
  const Classification a = as_exported.classify(test_->texts);
  const Classification b = fp32_->classify(test_->texts);
  EXPECT_EQ(a.label, b.label);
  double worst = 0;
  for (std::size_t i = 0; i < a.proba.size(); ++i) worst = std::max(worst, std::fabs(a.proba[i] - b.proba[i]));
  EXPECT_LE(worst, 1e-5);
  std::cout << "[ measure  ] fp32 optimised vs as exported on sst2_test: max |dp| " << worst << "\n";
}

TEST_F(ClassifierTest, PredictAndPredictProbaAgreeWithClassify) {
  const auto texts = first(64);
  const Classification c = fp32_->classify(texts);
  const auto names = fp32_->predict(texts);
  const auto proba = fp32_->predict_proba(texts);
  ASSERT_EQ(names.size(), texts.size());
  ASSERT_EQ(proba.size(), texts.size());
  EXPECT_TRUE(fp32_->has_probabilities());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(names[i], fp32_->classes()[c.label[i]]);
    ASSERT_EQ(proba[i].size(), 2u);
    EXPECT_EQ(proba[i][0], c.proba[2 * i]);
    EXPECT_EQ(proba[i][1], c.proba[2 * i + 1]);
    EXPECT_NEAR(proba[i][0] + proba[i][1], 1.0, 1e-12);
    EXPECT_EQ(c.label[i], proba[i][1] > proba[i][0] ? 1u : 0u);
  }
}

// Chunks are batched independently and concatenated in input order.
TEST_F(ClassifierTest, ChunksComeBackInInputOrder) {
  ClassifierOptions o;
  o.onnx_model = fixture_dir() / "onnx" / "model.onnx";
  o.chunk_size = 100;
  const Classifier chunked(fixture_dir() / "setfit", o);
  const auto texts = first(250);
  const Classification got = chunked.classify(texts);
  ASSERT_EQ(got.label.size(), 250u);
  for (std::size_t start = 0; start < 250; start += 100) {
    const auto part = texts.subspan(start, std::min<std::size_t>(100, 250 - start));
    const Classification want = fp32_->classify(part);
    for (std::size_t i = 0; i < part.size(); ++i) {
      EXPECT_EQ(got.label[start + i], want.label[i]) << "row " << start + i;
      EXPECT_EQ(got.proba[2 * (start + i)], want.proba[2 * i]) << "row " << start + i;
    }
  }
  // The same rows through the streaming call, fed in uneven reads.
  std::size_t next = 0;
  Classification streamed;
  chunked.classify_stream(
      [&](std::vector<std::string>& out, std::size_t max) {
        EXPECT_EQ(max, 100u);
        for (; next < texts.size() && out.size() < max; ++next) out.push_back(texts[next]);
      },
      [&](const Classification& part) {
        streamed.label.insert(streamed.label.end(), part.label.begin(), part.label.end());
        streamed.proba.insert(streamed.proba.end(), part.proba.begin(), part.proba.end());
      });
  EXPECT_EQ(streamed.label, got.label);
  EXPECT_EQ(streamed.proba, got.proba);
}

// Reversing the input reverses the output: results are tied to their text, not to the
// position the length sort gave it (fp32 differs only by padding-dependent rounding).
TEST_F(ClassifierTest, ResultsFollowTheirText) {
  const auto texts = first(200);
  std::vector<std::string> reversed(texts.rbegin(), texts.rend());
  const Classification a = fp32_->classify(texts);
  const Classification b = fp32_->classify(reversed);
  for (std::size_t i = 0; i < 200; ++i) {
    EXPECT_NEAR(a.proba[2 * i + 1], b.proba[2 * (199 - i) + 1], 1e-5) << "row " << i;
  }
}

// Concurrent callers on one Classifier get what a single caller gets, bit for bit.
TEST_F(ClassifierTest, ConcurrentCallersMatchOneCaller) {
  const auto texts = first(96);
  const Classification want = fp32_->classify(texts);
  constexpr int kThreads = 4;
  std::vector<Classification> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { got[static_cast<std::size_t>(t)] = fp32_->classify(texts); });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    EXPECT_EQ(g.label, want.label);
    EXPECT_EQ(g.proba, want.proba);
  }
}

// options.cancelled is polled before every batch: a call stops within one batch with an
// interrupted Error (the Python package's Ctrl-C check relies on this).
TEST(ClassifierCancel, StopsBeforeTheNextBatch) {
  if (!fs::exists(fixture_dir() / "manifest.json")) GTEST_SKIP() << "fixture minilm-sst2 is absent";
  int polls = 0;
  ClassifierOptions o;
  o.onnx_model = fixture_dir() / "onnx" / "model.onnx";
  o.batch_size = 4;
  o.cancelled = [&] { return ++polls == 3; };
  const Classifier c(fixture_dir() / "setfit", o);
  const std::vector<std::string> texts(40, "a good film");
  try {
    c.classify(texts);
    FAIL() << "classify ran to the end";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::interrupted);
  }
  EXPECT_EQ(polls, 3);  // batches 1 and 2 ran; the third poll stopped the call
}

TEST_F(ClassifierTest, EmptyInput) {
  const Classification c = fp32_->classify({});
  EXPECT_EQ(c.num_classes, 2u);
  EXPECT_TRUE(c.label.empty());
  EXPECT_TRUE(c.proba.empty());
  EXPECT_TRUE(fp32_->predict({}).empty());
  EXPECT_TRUE(fp32_->predict_proba({}).empty());
  int writes = 0;
  fp32_->classify_stream([](std::vector<std::string>&, std::size_t) {}, [&](const Classification&) { ++writes; });
  EXPECT_EQ(writes, 0);
}

// An empty text and a very long one: the tokenizer gives [CLS] [SEP] and truncates.
TEST_F(ClassifierTest, EmptyAndLongTexts) {
  const std::vector<std::string> texts = {"", std::string(1 << 20, 'a') + " good"};
  const Classification c = fp32_->classify(texts);
  ASSERT_EQ(c.label.size(), 2u);
  for (double p : c.proba) EXPECT_TRUE(p >= 0 && p <= 1);
}

// Form (b): SetFit's export_onnx with the head in the graph gives the accuracy the
// Python path measured on it (probabilities come out of the graph as doubles).
TEST_F(ClassifierTest, HeadInGraphExport) {
  ClassifierOptions o;
  o.onnx_model = fixture_dir() / "onnx-head" / "model.onnx";
  const Classifier head(fixture_dir() / "setfit", o);
  EXPECT_TRUE(head.has_probabilities());
  const Classification c = head.classify(test_->texts);
  EXPECT_DOUBLE_EQ(accuracy(head, c, test_->labels), manifest_accuracy("onnx_head_ort"));
}

// The quantized example folder delivers the accuracy its quantization.json reports.
TEST_F(ClassifierTest, QuantizedFolderDeliversItsReportedAccuracy) {
  const fs::path folder = cache_dir() / "example-minilm-sst2-int8";
  if (!fs::exists(folder / "quantization.json")) GTEST_SKIP() << folder << " is absent (scripts/setup.sh)";
  std::ifstream in(folder / "quantization.json");
  const auto report = nlohmann::json::parse(in);
  const fs::path dev = shared_data() / "sst2_dev.csv";
  ASSERT_EQ(report["inputs"]["calibration_data"]["sha256"].get<std::string>(), sha256_file(dev))
      << folder << " was not quantized on " << dev;
  ClassifierOptions o;
  o.batch_size = report["batching"]["batch_size"].get<std::size_t>();
  const Classifier int8(folder, o);
  const Data d = read_data(dev);
  EXPECT_DOUBLE_EQ(accuracy(int8, int8.classify(d.texts), d.labels), report["final_accuracy"].get<double>());
}

TEST(ClassifierErrors, MissingFolderAndBadOptions) {
  EXPECT_THROW(Classifier("/nonexistent/model"), InputError);
  if (!fs::exists(fixture_dir() / "manifest.json")) GTEST_SKIP() << "fixture minilm-sst2 is absent";
  ClassifierOptions o;
  o.onnx_model = fixture_dir() / "onnx" / "model.onnx";
  o.batch_size = 0;
  EXPECT_THROW(Classifier(fixture_dir() / "setfit", o), UsageError);
  o.batch_size = 32;
  o.onnx_model = fixture_dir() / "setfit" / "missing.onnx";
  try {
    Classifier c(fixture_dir() / "setfit", o);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.onnx"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace docquant
