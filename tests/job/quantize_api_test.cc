// docquant::quantize (include/docquant/quantize.h) with unlabelled texts in memory, as a C++
// caller gives them: agreement is the criterion, no accuracy is reported, the flips' bins
// cover every text; and the options that cannot go together are refused before any work.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "csv.h"
#include "docquant/error.h"
#include "docquant/quantize.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

fs::path fixture_dir() {
  if (const char* f = std::getenv("DOCQUANT_FIXTURES"); f && *f) return fs::path(f) / "minilm-sst2";
  const char* c = std::getenv("DOCQUANT_CACHE");
  const char* home = std::getenv("HOME");
  const fs::path cache = c && *c ? fs::path(c) : fs::path(home ? home : "/root") / ".cache" / "docquant";
  return cache / "fixtures" / "minilm-sst2";
}
fs::path shared_data() {
  const char* s = std::getenv("DOCQUANT_SHARED");
  return fs::path(s && *s ? s : DOCQUANT_SOURCE_DIR "/../shared") / "data";
}

class QuantizeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fixture_dir() / "manifest.json")) GTEST_SKIP() << "fixture minilm-sst2 is not built: " << fixture_dir();
    if (!fs::exists(shared_data() / "sst2_dev.csv")) GTEST_SKIP() << "shared data missing: " << shared_data();
    dir_ = fs::temp_directory_path() /
           ("docquant_api_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    o_.onnx_model = fixture_dir() / "onnx";
    o_.setfit_folder = fixture_dir() / "setfit";
    o_.output_folder = dir_ / "out";
    o_.use_baseline_cache = false;
    o_.threads = 2;
    for (auto& row : read_labelled_csv(shared_data() / "sst2_dev.csv")) {
      if (o_.calibration_texts.size() < 96) o_.calibration_texts.push_back(std::move(row.text));
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  QuantizeOptions o_;
};

TEST_F(QuantizeApi, UnlabelledTextsTuneOnAgreement) {
  o_.min_agreement = 0.95;
  const QuantizeReport r = quantize(o_);
  EXPECT_EQ(r.criterion_metric, CriterionMetric::agreement);
  EXPECT_EQ(r.criterion, "agreement with fp32 >= 95%");
  EXPECT_FALSE(r.calibration_labelled);
  EXPECT_EQ(r.calibration_rows, 96u);
  EXPECT_TRUE(r.criterion_met);
  ASSERT_TRUE(r.final_agreement);
  EXPECT_GE(*r.final_agreement, 0.95);
  EXPECT_FALSE(r.baseline_accuracy);
  EXPECT_FALSE(r.final_accuracy);
  ASSERT_FALSE(r.trials.empty());
  for (const auto& t : r.trials) EXPECT_FALSE(t.accuracy);
  std::size_t rows = 0, flips = 0;
  for (const auto& b : r.flips_by_margin) rows += b.rows, flips += b.flips;
  EXPECT_EQ(rows, 96u);
  EXPECT_EQ(flips, static_cast<std::size_t>(std::lround((1 - *r.final_agreement) * 96)));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "model.onnx"));
}

TEST_F(QuantizeApi, RefusesWhatCannotGoTogether) {
  o_.calibration_data = shared_data() / "sst2_dev.csv";
  EXPECT_THROW(quantize(o_), UsageError);  // a file and texts
  o_.calibration_data.reset();
  o_.criterion_metric = CriterionMetric::accuracy;
  EXPECT_THROW(quantize(o_), UsageError);  // accuracy without labels
  o_.criterion_metric.reset();
  o_.min_agreement = 0;
  EXPECT_THROW(quantize(o_), UsageError);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace docquant
