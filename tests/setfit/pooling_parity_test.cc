// Pooling parity with sentence-transformers: tools/heads/golden_pooling.py pools random token
// embeddings with sentence_transformers.models.Pooling (every mode and two combinations);
// docquant's pool() must agree to float32 rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "docquant/setfit.h"

namespace fs = std::filesystem;

namespace {

template <typename T>
std::vector<T> read_raw(const fs::path& p, std::size_t count) {
  std::vector<T> v(count);
  std::ifstream in(p, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(T)));
  EXPECT_TRUE(in.good()) << p;
  return v;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(PoolingParity, MatchesSentenceTransformers) {
  const char* env = std::getenv("DOCQUANT_GOLDENS");
  const fs::path root = fs::path(env ? env : DOCQUANT_DEFAULT_GOLDENS) / "pooling";
  if (!fs::exists(root / "manifest.json")) {
    GTEST_SKIP() << "no pooling goldens in " << root
                 << " (tools/heads/make_goldens.sh writes them when the setfit venv exists)";
  }
  const auto m = read_json(root / "manifest.json");
  double worst = 0;
  std::size_t values = 0;
  for (const auto& c : m["cases"]) {
    const fs::path d = root / c.get<std::string>();
    SCOPED_TRACE(d.string());
    const auto shape = read_json(d / "shape.json");
    const std::size_t b = shape["batch"], s = shape["seq"], h = shape["hidden"], o = shape["out"];
    const auto pooling = docquant::setfit::Pooling::from_config(d / "config.json");
    ASSERT_EQ(pooling.output_dimension(), o);
    const auto tokens = read_raw<float>(d / "tokens.f32", b * s * h);
    const auto mask = read_raw<std::int64_t>(d / "mask.i64", b * s);
    const auto want = read_raw<float>(d / "expected.f32", b * o);
    const auto got = docquant::setfit::pool(pooling, tokens.data(), mask.data(), b, s, h);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      const double delta = std::abs(static_cast<double>(got[i]) - want[i]);
      worst = std::max(worst, delta);
      ASSERT_LE(delta, 1e-5 * std::max(1.0, std::abs(static_cast<double>(want[i])))) << "element " << i;
    }
    values += got.size();
  }
  std::cout << "[pooling] sentence-transformers " << m["sentence_transformers"].get<std::string>() << ": "
            << m["cases"].size() << " configurations, " << values << " pooled values, max |d| = " << worst
            << "\n";
}
