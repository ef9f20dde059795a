// Parity with scikit-learn: every head tools/golden_heads.py trained (in each pinned venv)
// must give predict_proba within 1e-6 and identical predict. The same with setfit for its
// differentiable head (SetFitHead, a pickled torch module; golden_heads.py --setfit-heads in
// the setfit venv): SetFitModel.predict_proba within 1e-6, SetFitModel.predict identical. The
// goldens come from the setfit_goldens ctest fixture (tools/heads/make_goldens.sh), in
// $DOCQUANT_GOLDENS or <build>/goldens.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "docquant/setfit.h"

namespace fs = std::filesystem;
using docquant::setfit::SetFitFolder;

namespace {

constexpr double kProbaTolerance = 1e-6;

fs::path golden_root() {
  if (const char* e = std::getenv("DOCQUANT_GOLDENS")) return e;
  return DOCQUANT_DEFAULT_GOLDENS;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

std::vector<float> read_f32(const fs::path& p, std::size_t count) {
  std::vector<float> v(count);
  std::ifstream in(p, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(float)));
  EXPECT_TRUE(in.good()) << p;
  return v;
}

struct Tally {
  std::size_t heads = 0, rows = 0, probas = 0;
  double max_delta = 0;
  std::map<std::string, std::size_t> kinds;  // scikit-learn class -> heads checked
};

void check_case(const fs::path& dir, Tally& t) {
  SCOPED_TRACE(dir.string());
  const auto g = read_json(dir / "golden.json");
  const std::size_t n = g["n"], dim = g["dim"];
  const auto emb = read_f32(dir / "embeddings.f32", n * dim);
  const SetFitFolder f = SetFitFolder::load(dir);
  const auto& head = f.head;
  // The class docquant read it as is the one scikit-learn loaded, e.g.
  // "MultiOutputClassifier(LogisticRegression)" for "MultiOutputClassifier".
  EXPECT_EQ(std::string(docquant::setfit::to_string(head.kind())).rfind(g["head"].get<std::string>(), 0), 0u)
      << docquant::setfit::to_string(head.kind()) << " vs scikit-learn's " << g["head"];
  EXPECT_EQ(head.multi_label(), g["multilabel"].get<bool>());
  const std::size_t C = g["classes"].size();
  ASSERT_EQ(head.num_classes(), C);
  for (std::size_t k = 0; k < C; ++k) {
    const auto& c = g["classes"][k];
    EXPECT_EQ(head.classes()[k].str(), c.is_string() ? c.get<std::string>() : std::to_string(c.get<long long>()));
  }
  if (g.contains("class_names")) {
    EXPECT_EQ(f.class_names, g["class_names"].get<std::vector<std::string>>());
  }
  const auto proba = head.predict_proba(emb.data(), n, dim);
  const auto& want = g["proba"];
  ASSERT_EQ(proba.size(), want.size());
  double worst = 0;
  for (std::size_t i = 0; i < proba.size(); ++i) {
    const double w = want[i].get<double>();
    const double d = std::abs(proba[i] - w);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(proba[i])) << "element " << i;
      continue;
    }
    worst = std::max(worst, d);
    ASSERT_LE(d, kProbaTolerance) << "element " << i << ": docquant " << proba[i] << ", sklearn " << w;
  }
  if (g["multilabel"].get<bool>()) {
    const auto ind = head.predict_multilabel(emb.data(), n, dim);
    const auto want_ind = g["predict_multilabel"].get<std::vector<int>>();
    ASSERT_EQ(ind.size(), want_ind.size());
    for (std::size_t i = 0; i < ind.size(); ++i) ASSERT_EQ(ind[i], want_ind[i]) << "element " << i;
  } else {
    const auto pred = head.predict(emb.data(), n, dim);
    const auto want_pred = g["predict"].get<std::vector<std::size_t>>();
    ASSERT_EQ(pred, want_pred);
  }
  if (worst > 1e-12) {
    std::cout << "[parity]   " << dir.parent_path().filename().string() << "/" << dir.filename().string()
              << ": max |dp| = " << worst << " (" << head.describe() << ")\n";
  }
  t.heads += 1;
  t.kinds[g["head"].get<std::string>()] += 1;
  t.rows += n;
  t.probas += proba.size();
  t.max_delta = std::max(t.max_delta, worst);
}

}  // namespace

TEST(HeadParity, MatchesScikitLearnInEveryVenv) {
  const fs::path root = golden_root();
  if (!fs::exists(root)) {
    GTEST_SKIP() << "no goldens in " << root
                 << " (run ctest, whose setfit_goldens fixture writes them, or "
                    "tools/heads/make_goldens.sh " << root << ")";
  }
  std::size_t venvs = 0;
  Tally all;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path manifest = entry.path() / "manifest.json";
    if (!fs::exists(manifest)) continue;
    const auto m = read_json(manifest);
    if (!m.contains("sklearn")) continue;  // the pooling goldens live beside the heads
    Tally t;
    for (const auto& c : m["cases"]) check_case(entry.path() / c.get<std::string>(), t);
    std::cout << "[parity] scikit-learn " << m["sklearn"].get<std::string>() << " (numpy "
              << m["numpy"].get<std::string>() << ", joblib " << m["joblib"].get<std::string>()
              << "): " << t.heads << " heads x " << t.rows << " embeddings total, " << t.probas
              << " probabilities, max |dp| = " << t.max_delta << ", predict identical\n";
    ++venvs;
    all.heads += t.heads;
    all.rows += t.rows;
    all.probas += t.probas;
    all.max_delta = std::max(all.max_delta, t.max_delta);
    // SetFit's every scikit-learn head (multi_target_strategy none, one-vs-rest, multi-output,
    // classifier-chain) is checked against every pinned release.
    for (const char* kind : {"LogisticRegression", "OneVsRestClassifier", "MultiOutputClassifier", "ClassifierChain"}) {
      EXPECT_GT(t.kinds[kind], 0u) << "no " << kind << " golden for scikit-learn " << m["sklearn"];
    }
  }
  ASSERT_GT(venvs, 0u) << "no manifest.json under " << root;
  std::cout << "[parity] all: " << venvs << " scikit-learn versions, " << all.heads << " heads, "
            << all.rows << " embedding rows, max |dp| = " << all.max_delta << "\n";
}

TEST(HeadParity, SetFitHeadMatchesSetFit) {
  const fs::path root = golden_root();
  std::size_t venvs = 0;
  for (const auto& entry : fs::exists(root) ? fs::directory_iterator(root) : fs::directory_iterator()) {
    const fs::path manifest = entry.path() / "manifest.json";
    if (!fs::exists(manifest)) continue;
    const auto m = read_json(manifest);
    if (!m.contains("setfit")) continue;
    Tally t;
    std::size_t multi_target = 0, multi_class = 0, binary = 0;
    for (const auto& c : m["cases"]) {
      check_case(entry.path() / c.get<std::string>(), t);
      const auto g = read_json(entry.path() / c.get<std::string>() / "golden.json");
      (g["multilabel"].get<bool>() ? multi_target : g["classes"].size() > 2 ? multi_class : binary) += 1;
    }
    std::cout << "[parity] setfit " << m["setfit"].get<std::string>() << " (torch " << m["torch"].get<std::string>()
              << "): " << t.heads << " SetFitHeads (" << binary << " binary, " << multi_class << " multi-class, "
              << multi_target << " multi-target) x " << t.rows << " embeddings, max |dp| = " << t.max_delta
              << ", predict identical\n";
    EXPECT_GT(binary, 0u);
    EXPECT_GT(multi_class, 0u);
    EXPECT_GT(multi_target, 0u);
    ++venvs;
  }
  if (venvs == 0) {
    GTEST_SKIP() << "no SetFitHead goldens under " << root
                 << " (tools/heads/make_goldens.sh writes them when the setfit venv and fixtures exist)";
  }
}

namespace {

// Each OUT/<venv>/refused/<case>/model_head.pkl whose manifest has `key` is refused with the
// manifest's fragment and the file in the message. Returns the number of cases.
std::size_t check_refusals(const fs::path& root, const char* key) {
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path manifest = entry.path() / "refused" / "manifest.json";
    if (!fs::exists(manifest)) continue;
    const auto m = read_json(manifest);
    if (!m.contains(key)) continue;
    for (const auto& [name, fragment] : m["cases"].items()) {
      const fs::path file = entry.path() / "refused" / name / "model_head.pkl";
      SCOPED_TRACE(file.string());
      try {
        (void)docquant::setfit::Head::load(file);
        ADD_FAILURE() << "accepted";
      } catch (const docquant::InputError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(fragment.get<std::string>()), std::string::npos) << msg;
        EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
      }
      ++checked;
    }
  }
  return checked;
}

}  // namespace

// Multi-target heads that look like SetFit's but are not what docquant computes (a chain whose
// order_ repeats, an estimator of the wrong width, an unknown chain_method_, a target with three
// classes, a non-LogisticRegression estimator): each refused, naming what is wrong.
TEST(HeadParity, MalformedMultiTargetHeadsAreRefusedByName) {
  const fs::path root = golden_root();
  if (!fs::exists(root)) GTEST_SKIP() << "no goldens in " << root;
  const std::size_t checked = check_refusals(root, "sklearn");
  EXPECT_GE(checked, 12u) << "expected the refusal cases of every pinned scikit-learn under " << root;
  std::cout << "[refused] " << checked << " malformed multi-target heads refused by name\n";
}

// SetFitHeads setfit and torch write that docquant does not compute: float16 and float64 heads,
// a user's subclass. Each refused, naming the torch global or class.
TEST(HeadParity, UnsupportedSetFitHeadsAreRefusedByName) {
  const fs::path root = golden_root();
  if (!fs::exists(root)) GTEST_SKIP() << "no goldens in " << root;
  const std::size_t checked = check_refusals(root, "setfit");
  if (checked == 0) GTEST_SKIP() << "no SetFitHead goldens under " << root;
  EXPECT_GE(checked, 3u);
  std::cout << "[refused] " << checked << " SetFitHeads refused by name\n";
}
