#include "metrics.h"

#include <gtest/gtest.h>

namespace docquant::runtime {
namespace {

// Expected values worked by hand (and as sklearn.metrics.classification_report gives them
// for y_true = [0,0,1,1,2,2], y_pred = [0,1,1,1,2,0]).
TEST(Metrics, MatchesHandComputedReport) {
  const Metrics m = compute_metrics({0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 2, 0}, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[1].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.per_class[1].recall, 1.0);
  EXPECT_DOUBLE_EQ(m.per_class[1].f1, 0.8);
  EXPECT_DOUBLE_EQ(m.per_class[2].precision, 1.0);
  EXPECT_DOUBLE_EQ(m.per_class[2].recall, 0.5);
  EXPECT_EQ(m.confusion[2][0], 1u);
  EXPECT_EQ(m.per_class[2].support, 2u);
  EXPECT_NEAR(m.macro_f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
}

TEST(Metrics, ClassNeverPredictedHasZeroPrecision) {
  const Metrics m = compute_metrics({0, 1}, {0, 0}, 2);
  EXPECT_EQ(m.per_class[1].precision, 0.0);
  EXPECT_EQ(m.per_class[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(agreement({0, 1, 2}, {0, 2, 2}), 2.0 / 3.0);
}

}  // namespace
}  // namespace docquant::runtime
