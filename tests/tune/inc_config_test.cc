#include "inc_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "docquant/error.h"

namespace docquant::tune {
namespace {

namespace fs = std::filesystem;

class IncConfig : public ::testing::Test {
 protected:
  QuantizeOptions parse(const std::string& yaml) {
    path_ = fs::temp_directory_path() /
            ("docquant_inc_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".yaml");
    std::ofstream(path_) << yaml;
    QuantizeOptions o;
    apply_inc_yaml(path_, o);
    return o;
  }
  std::string error_of(const std::string& yaml) {
    try {
      parse(yaml);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
  void TearDown() override { fs::remove(path_); }
  fs::path path_;
};

// The original blueprint's file, verbatim in meaning.
constexpr const char* kOriginal = R"(
model:
  name: speedup
  framework: onnxrt_integerops
device: cpu
quantization:
  approach: post_training_dynamic_quant
tuning:
  accuracy_criterion:
    relative: 0.01
  exit_policy:
    timeout: 0
  random_seed: 9527
)";

TEST_F(IncConfig, OriginalConfigGivesTheDefaults) {
  const QuantizeOptions o = parse(kOriginal);
  const QuantizeOptions defaults;
  EXPECT_TRUE(o.relative_criterion);
  EXPECT_DOUBLE_EQ(o.criterion, 0.01);
  EXPECT_TRUE(o.higher_is_better);
  EXPECT_EQ(o.seed, 9527u);
  EXPECT_EQ(o.max_time.count(), 0);
  EXPECT_EQ(o.max_trials, defaults.max_trials);
}

TEST_F(IncConfig, AbsoluteCriterionTrialsAndStrategy) {
  const QuantizeOptions o = parse(
      "tuning: {accuracy_criterion: {absolute: 0.02, higher_is_better: true}, exit_policy: {timeout: 600, "
      "max_trials: 7}, random_seed: 1, strategy: {name: basic}}\n");
  EXPECT_FALSE(o.relative_criterion);
  EXPECT_DOUBLE_EQ(o.criterion, 0.02);
  EXPECT_EQ(o.max_trials, 7);
  EXPECT_DOUBLE_EQ(o.max_time.count(), 600);
  EXPECT_EQ(o.seed, 1u);
  EXPECT_EQ(o.strategy, QuantizeStrategy::basic);
}

TEST_F(IncConfig, UnknownKeyIsAnErrorNamingIt) {
  const std::string msg = error_of("tuning: {accuracy_criterion: {relative: 0.01}, objective: performance}\n");
  EXPECT_NE(msg.find("key 'tuning.objective': unknown or unsupported key"), std::string::npos) << msg;
  EXPECT_NE(error_of("evaluation: {accuracy: {metric: {topk: 1}}}\n").find("key 'evaluation'"), std::string::npos);
}

// INC 1.x's static recipe (its onnxrt_qlinearops / onnxrt_qdq frameworks) is --approach static.
TEST_F(IncConfig, StaticApproachIsReadAsStatic) {
  EXPECT_EQ(parse(kOriginal).approach, QuantizeApproach::dynamic);
  for (const char* framework : {"onnxrt_qlinearops", "onnxrt_qdq", "onnxrt_integerops"}) {
    const QuantizeOptions o = parse(std::string("model: {name: x, framework: ") + framework +
                                    "}\nquantization: {approach: post_training_static_quant}\n");
    EXPECT_EQ(o.approach, QuantizeApproach::static_) << framework;
  }
}

TEST_F(IncConfig, UnsupportedValuesAreErrors) {
  EXPECT_NE(error_of("model: {name: x, framework: pytorch}\n").find("'pytorch' is not supported"), std::string::npos);
  EXPECT_NE(error_of("quantization: {approach: quant_aware_training}\n").find("quantization.approach"),
            std::string::npos);
  EXPECT_NE(error_of("device: gpu\n").find("key 'device'"), std::string::npos);
  EXPECT_NE(error_of("tuning: {accuracy_criterion: {relative: 0.01, absolute: 0.01}}\n").find("not both"),
            std::string::npos);
  EXPECT_NE(error_of("tuning: {accuracy_criterion: {relative: lots}}\n").find("'lots' is not a valid value"),
            std::string::npos);
  EXPECT_NE(error_of("tuning: {strategy: {name: bayesian}}\n").find("'bayesian' is not supported"), std::string::npos);
}

TEST_F(IncConfig, MalformedYamlNamesTheLine) {
  const std::string msg = error_of("model:\n  name: [unclosed\n");
  EXPECT_NE(msg.find("not valid YAML"), std::string::npos) << msg;
  EXPECT_NE(error_of("").find("the YAML config is empty"), std::string::npos);
}

}  // namespace
}  // namespace docquant::tune
