// Pooling, normalisation, folder reading, label mapping and the inspect summary.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "docquant/pickle.h"
#include "docquant/setfit.h"
#include "inspect_setfit.h"

namespace fs = std::filesystem;
using namespace docquant::setfit;

namespace {

fs::path shared_dir() {
  if (const char* e = std::getenv("DOCQUANT_SHARED")) return e;
  return DOCQUANT_DEFAULT_SHARED;
}

fs::path real_folder() { return shared_dir() / "heads" / "setfit-sst2-mpnet"; }

Pooling make_pooling(std::vector<PoolingMode> modes, std::size_t dim) {
  Pooling p;
  p.modes = std::move(modes);
  p.word_embedding_dimension = dim;
  return p;
}

// batch 2, seq 3, hidden 2; second row has one padding token at the end.
const float kTokens[] = {1, 2, 3, 4, 5, 6,   // row 0: tokens (1,2) (3,4) (5,6)
                         -1, 0, 2, 8, 100, 100};  // row 1: (-1,0) (2,8) pad(100,100)
const std::int64_t kMask[] = {1, 1, 1, 1, 1, 0};

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("docquant_setfit_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static inline int counter = 0;
};

template <std::size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

void write_minimal_folder(const fs::path& d, const std::string& modules_extra = "") {
  write(d / "modules.json",
        R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},)"
        R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"})" +
            modules_extra + "]");
  write(d / "1_Pooling" / "config.json",
        R"({"word_embedding_dimension": 768, "pooling_mode_mean_tokens": true})");
}

}  // namespace

TEST(Pooling, MeanMaxClsLastTokenByHand) {
  const auto mean = pool(make_pooling({PoolingMode::mean}, 2), kTokens, kMask, 2, 3, 2);
  EXPECT_EQ(mean, (std::vector<float>{3, 4, 0.5f, 4}));
  const auto mx = pool(make_pooling({PoolingMode::max}, 2), kTokens, kMask, 2, 3, 2);
  EXPECT_EQ(mx, (std::vector<float>{5, 6, 2, 8}));  // padding (100, 100) ignored
  const auto cls = pool(make_pooling({PoolingMode::cls}, 2), kTokens, kMask, 2, 3, 2);
  EXPECT_EQ(cls, (std::vector<float>{1, 2, -1, 0}));
  const auto last = pool(make_pooling({PoolingMode::last_token}, 2), kTokens, kMask, 2, 3, 2);
  EXPECT_EQ(last, (std::vector<float>{5, 6, 2, 8}));
  const auto sq = pool(make_pooling({PoolingMode::mean_sqrt_len}, 2), kTokens, kMask, 2, 3, 2);
  EXPECT_FLOAT_EQ(sq[0], 9 / std::sqrt(3.0f));
  EXPECT_FLOAT_EQ(sq[3], 8 / std::sqrt(2.0f));
  // weights 1, 2, 3 by position: row 0 = (1*1+2*3+3*5)/6 = 22/6
  const auto wm = pool(make_pooling({PoolingMode::weighted_mean}, 2), kTokens, kMask, 2, 3, 2);
  EXPECT_FLOAT_EQ(wm[0], 22.0f / 6);
  EXPECT_FLOAT_EQ(wm[2], (-1 * 1 + 2 * 2) / 3.0f);
}

TEST(Pooling, ModesConcatenateInSentenceTransformersOrder) {
  const auto both = pool(make_pooling({PoolingMode::cls, PoolingMode::max, PoolingMode::mean}, 2),
                         kTokens, kMask, 2, 3, 2);
  EXPECT_EQ(both, (std::vector<float>{1, 2, 5, 6, 3, 4, -1, 0, 2, 8, 0.5f, 4}));
}

TEST(Pooling, AllPaddingRows) {
  const std::int64_t zeros[] = {0, 0, 0};
  EXPECT_EQ(pool(make_pooling({PoolingMode::mean}, 2), kTokens, zeros, 1, 3, 2), (std::vector<float>{0, 0}));
  EXPECT_EQ(pool(make_pooling({PoolingMode::max}, 2), kTokens, zeros, 1, 3, 2), (std::vector<float>{-1e9f, -1e9f}));
  EXPECT_EQ(pool(make_pooling({PoolingMode::last_token}, 2), kTokens, zeros, 1, 3, 2), (std::vector<float>{1, 2}));
}

TEST(Pooling, WrongWidthIsAnInputError) {
  EXPECT_THROW(pool(make_pooling({PoolingMode::mean}, 4), kTokens, kMask, 2, 3, 2), docquant::InputError);
}

TEST(Pooling, ConfigWithoutModeNamesTheFile) {
  TempDir t;
  write(t.path / "config.json", R"({"word_embedding_dimension": 8})");
  try {
    Pooling::from_config(t.path / "config.json");
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

TEST(Normalize, UnitRowsAndZeroRowsAsTorch) {
  std::vector<float> x{3, 4, 0, 0};
  normalize_rows(x.data(), 2, 2);
  EXPECT_FLOAT_EQ(x[0], 0.6f);
  EXPECT_FLOAT_EQ(x[1], 0.8f);
  EXPECT_EQ(x[2], 0.0f);  // eps keeps zero rows zero
}

TEST(RealFolder, SetFitSst2Mpnet) {
  if (!fs::exists(real_folder())) GTEST_SKIP() << real_folder() << " is absent (../shared)";
  const auto f = SetFitFolder::load(real_folder());
  EXPECT_EQ(f.pooling.modes, std::vector<PoolingMode>{PoolingMode::mean});
  EXPECT_EQ(f.embedding_width, 768u);
  EXPECT_FALSE(f.normalize);
  EXPECT_EQ(f.max_seq_length, 512u);
  EXPECT_EQ(f.head.kind(), HeadKind::logistic_regression);
  EXPECT_EQ(f.head.proba_rule(), ProbaRule::binary_logistic);
  EXPECT_EQ(f.head.multi_class(), "auto");
  EXPECT_EQ(f.head.sklearn_version(), "1.3.2");
  EXPECT_EQ(f.class_names, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(f.label_source, LabelSource::config_labels);
  EXPECT_EQ(f.label_index("positive", 2), 1u);
  EXPECT_EQ(f.label_index("0", 3), 0u);  // SST-2's CSV writes the integers
  try {
    f.label_index("neutral", 17);
    FAIL();
  } catch (const docquant::InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("row 17"), std::string::npos) << m;
    EXPECT_NE(m.find("'neutral'"), std::string::npos) << m;
    EXPECT_NE(m.find("'negative' (0)"), std::string::npos) << m;
  }
  // Zero embedding: probability of "positive" is expit(intercept).
  std::vector<float> zero(768, 0.0f);
  const auto p = f.head.predict_proba(zero.data(), 1, 768);
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-15);
  EXPECT_THROW(f.head.predict_proba(zero.data(), 1, 767), docquant::InputError);
}

TEST(RealFolder, InspectSummary) {
  if (!fs::exists(real_folder())) GTEST_SKIP() << real_folder() << " is absent (../shared)";
  std::ostringstream out;
  docquant::cli::print_setfit_summary(real_folder(), out);
  const std::string s = out.str();
  for (const char* want : {"pooling:           mean over 768", "normalisation:     none",
                           "embedding width:   768", "max_seq_length:    512",
                           "head:              LogisticRegression", "multi_class:       auto",
                           "config_setfit.json labels", "1: positive  [classes_ value 1]"}) {
    EXPECT_NE(s.find(want), std::string::npos) << "missing '" << want << "' in:\n" << s;
  }
}

TEST(Folder, DenseModuleIsRefusedWithItsName) {
  TempDir t;
  write_minimal_folder(t.path, R"(,{"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"})");
  try {
    SetFitFolder::load(t.path);
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sentence_transformers.models.Dense"), std::string::npos) << e.what();
  }
}

// SetFit's torch head is read as data (issue 28); one whose pickle lacks the fields a
// SetFitHead carries is refused naming the missing field, never half-read.
TEST(Folder, DifferentiableHeadWithoutItsModulesNamesTheMissingField) {
  TempDir t;
  write_minimal_folder(t.path);
  // SetFitHead's class, rebuilt with an empty state: no _modules, no Linear to read.
  write(t.path / "model_head.pkl",
        bytes("\x80\x02" "csetfit.modeling\nSetFitHead\nq\x00)\x81q\x01}q\x02" "b."));
  try {
    SetFitFolder::load(t.path);
    FAIL();
  } catch (const docquant::InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model_head.pkl"), std::string::npos) << m;
    EXPECT_NE(m.find("SetFitHead"), std::string::npos) << m;
    EXPECT_NE(m.find("_modules"), std::string::npos) << m;
  }
  // A bare tensor is not a head.
  write(t.path / "model_head.pkl", bytes("\x80\x02" "ctorch._utils\n_rebuild_tensor_v2\nq\x00."));
  EXPECT_THROW(SetFitFolder::load(t.path), docquant::InputError);
  // A torch.save zip that is cut short is refused as a zip, not read as a pickle.
  write(t.path / "model_head.pkl", bytes("PK\x03\x04" "rest-of-a-zip"));
  try {
    SetFitFolder::load(t.path);
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("zip"), std::string::npos) << e.what();
  }
}

TEST(Folder, MissingHeadNamesTheFile) {
  TempDir t;
  write_minimal_folder(t.path);
  try {
    SetFitFolder::load(t.path);
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model_head.pkl"), std::string::npos) << e.what();
  }
}
