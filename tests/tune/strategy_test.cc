// The strategies' search logic on synthetic objectives whose answer is known: each
// node costs a fixed amount of accuracy when quantized, so which configurations pass,
// and in which order each strategy must try them, follows from the costs.
#include "strategy.h"

#include <gtest/gtest.h>

#include <cmath>

namespace docquant::tune {
namespace {

struct Synthetic {
  Objective objective;
  std::vector<double> cost;  // accuracy lost when node i is quantized
  double per_tensor_extra = 0;
  int evaluations = 0;
};

// Builds an objective over nodes n0..n{k-1}; accuracy = 0.9 - sum of costs of quantized nodes.
Synthetic make(std::vector<double> cost, bool with_probe = true) {
  Synthetic s;
  s.cost = std::move(cost);
  for (std::size_t i = 0; i < s.cost.size(); ++i) {
    s.objective.nodes.push_back("n" + std::to_string(i));
    s.objective.op_types.push_back("MatMul");
  }
  s.objective.score = [&s](const Config& c) {
    ++s.evaluations;
    double acc = 0.9;
    for (std::size_t i = 0; i < s.cost.size(); ++i) {
      const NodeMode m = c.nodes.at("n" + std::to_string(i));
      if (m != NodeMode::fp32) acc -= s.cost[i] + (m == NodeMode::int8_per_tensor ? s.per_tensor_extra : 0);
    }
    return acc;
  };
  if (with_probe) {
    s.objective.sensitivity = [&s](NodeMode) { return s.cost; };
  }
  return s;
}

TuneRequest request_for(const Synthetic& s, int max_trials = 100) {
  TuneRequest r;
  r.objective = &s.objective;
  r.baseline = 0.9;
  r.budget.max_trials = max_trials;
  return r;
}

TEST(TuneBasic, StopsAtFirstPassingOpTypeWiseConfig) {
  Synthetic s = make({0.001, 0.002, 0.001});  // total 0.004 < allowed 0.009
  const TuneResult r = tune_basic(request_for(s));
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(*r.chosen, 0);
  EXPECT_EQ(r.trials.size(), 1u);
  EXPECT_EQ(r.trials[0].phase, "op-type-wise");
  EXPECT_EQ(r.stop_reason, "criterion met");
}

TEST(TuneBasic, SingleFallbackFromTheEndOfTheGraph) {
  // Node 1 alone is too costly; per-tensor is worse than per-channel.
  Synthetic s = make({0.001, 0.02, 0.001, 0.001});
  s.per_tensor_extra = 0.001;
  const TuneResult r = tune_basic(request_for(s));
  ASSERT_TRUE(r.chosen);
  // 2 op-type-wise trials, then fallback of n3, n2, n1 (passes).
  ASSERT_EQ(r.trials.size(), 5u);
  EXPECT_EQ(r.trials[2].summary, "n3 (MatMul) in fp32, rest int8 per-channel");
  EXPECT_EQ(r.trials[3].summary, "n2 (MatMul) in fp32, rest int8 per-channel");
  EXPECT_EQ(r.trials[4].config.nodes.at("n1"), NodeMode::fp32);
  EXPECT_EQ(r.trials[4].config.nodes.at("n0"), NodeMode::int8_per_channel);
  EXPECT_EQ(*r.chosen, 4);
}

TEST(TuneBasic, CumulativeFallbackInOrderOfMeasuredAccuracy) {
  // Needs two nodes in fp32: n0 and n2 are the costly ones; no single fallback passes
  // (0.018 - 0.006 > 0.009) but both together do (0.006).
  Synthetic s = make({0.006, 0.003, 0.006, 0.003});
  const TuneResult r = tune_basic(request_for(s));
  ASSERT_TRUE(r.chosen);
  // 2 op-type-wise + 4 single fallbacks + cumulative {n0, n2} (the two best single fallbacks).
  EXPECT_EQ(r.trials.size(), 7u);
  const Trial& chosen = r.trials[*r.chosen];
  EXPECT_EQ(chosen.phase, "cumulative fallback");
  EXPECT_EQ(chosen.config.fp32_count(), 2);
  EXPECT_EQ(chosen.config.nodes.at("n0"), NodeMode::fp32);
  EXPECT_EQ(chosen.config.nodes.at("n2"), NodeMode::fp32);
}

TEST(TuneBasic, TrialBudgetStopsWithBestTrialKnown) {
  Synthetic s = make({0.05, 0.05, 0.05});
  const TuneResult r = tune_basic(request_for(s, 3));
  EXPECT_FALSE(r.chosen);
  EXPECT_EQ(r.trials.size(), 3u);
  EXPECT_EQ(r.stop_reason, "trial budget exhausted");
  ASSERT_TRUE(r.best);
  EXPECT_EQ(r.trials[*r.best].config.fp32_count(), 1);
}

TEST(TuneBasic, SearchExhaustedWhenNothingPasses) {
  // Every node alone costs more than allowed: only all-fp32 would pass, which is not a quantization.
  Synthetic s = make({0.05, 0.05});
  const TuneResult r = tune_basic(request_for(s));
  EXPECT_FALSE(r.chosen);
  EXPECT_EQ(r.stop_reason, "search exhausted");
  EXPECT_EQ(r.trials.size(), 2u + 2u);  // op-type-wise, singles; cumulative {both} would be all fp32
}

TEST(TuneSensitivity, AllQuantizedPassesInOneTrial) {
  Synthetic s = make({0.001, 0.001});
  const TuneResult r = tune_sensitivity(request_for(s));
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(r.trials.size(), 1u);
  EXPECT_EQ(s.evaluations, 1);
}

TEST(TuneSensitivity, BinarySearchFindsFewestFp32NodesInLogTrials) {
  // 40 nodes; the 5 costly ones must stay fp32 (each costs 0.004, allowed loss 0.009,
  // the 35 cheap ones cost 0.0002 each = 0.007 in total).
  std::vector<double> cost(40, 0.0002);
  for (int i : {3, 11, 17, 29, 38}) cost[i] = 0.004;
  Synthetic s = make(cost);
  const TuneResult r = tune_sensitivity(request_for(s));
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(r.trials[*r.chosen].config.fp32_count(), 5);
  for (int i : {3, 11, 17, 29, 38}) EXPECT_EQ(r.trials[*r.chosen].config.nodes.at("n" + std::to_string(i)), NodeMode::fp32);
  // 1 (all quantized) + gallop k = 1, 2, 4, 8 + binary search 6, 5.
  EXPECT_EQ(r.trials.size(), 1u + 4u + 2u);
  // basic needs 2 + 40 single fallbacks + cumulative steps on the same problem.
  Synthetic s2 = make(cost);
  const TuneResult b = tune_basic(request_for(s2));
  ASSERT_TRUE(b.chosen);
  EXPECT_GT(b.trials.size(), 40u);
}

TEST(TuneSensitivity, OneSensitiveNodeTakesTwoEvaluations) {
  // The usual case: one node must stay fp32. All quantized fails, k = 1 passes.
  std::vector<double> cost(39, 0.0001);
  cost[7] = 0.02;
  Synthetic s = make(cost);
  const TuneResult r = tune_sensitivity(request_for(s));
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(s.evaluations, 2);
  EXPECT_EQ(r.sensitivity, cost);  // the probe's scores are returned for the record
  EXPECT_EQ(r.trials[*r.chosen].config.fp32_count(), 1);
  EXPECT_EQ(r.trials[*r.chosen].config.nodes.at("n7"), NodeMode::fp32);
}

TEST(TuneSensitivity, GallopOvershootsThenBinarySearchFindsFewest) {
  // 12 costly nodes of 20: k = 1, 2, 4, 8 fail, 16 passes, then 12 is found between.
  std::vector<double> cost(20, 0.0001);
  for (int i = 0; i < 12; ++i) cost[static_cast<std::size_t>(i)] = 0.01 + 0.0001 * i;  // any one alone fails
  Synthetic s = make(cost);
  const TuneResult r = tune_sensitivity(request_for(s));
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(r.trials[*r.chosen].config.fp32_count(), 12);
  for (const auto& t : r.trials) EXPECT_EQ(t.passed, t.config.fp32_count() >= 12) << t.summary;
}

TEST(TuneSensitivity, WithoutProbeFallsBackToBasic) {
  Synthetic s = make({0.001, 0.02}, /*with_probe=*/false);
  const TuneResult r = tune_sensitivity(request_for(s));
  EXPECT_EQ(r.strategy, QuantizeStrategy::basic);
  ASSERT_TRUE(r.chosen);
}

TEST(TuneSensitivity, TimeBudgetStops) {
  Synthetic s = make({0.05, 0.05, 0.05});
  TuneRequest req = request_for(s);
  req.budget.max_time = std::chrono::duration<double>(1e-9);
  s.objective.score = [](const Config&) {
    volatile double x = 0;
    for (int i = 0; i < 100000; ++i) x = x + std::sqrt(static_cast<double>(i));
    return 0.5;
  };
  const TuneResult r = tune_sensitivity(req);
  EXPECT_FALSE(r.chosen);
  EXPECT_EQ(r.stop_reason, "time budget exhausted");
  EXPECT_LE(r.trials.size(), 1u);
}

}  // namespace
}  // namespace docquant::tune
