// Margins, agreement by margin and the flips' bins: one definition for eval and quantize.
#include "agreement.h"

#include <gtest/gtest.h>

namespace docquant::runtime {
namespace {

TEST(Agreement, TopTwoMargins) {
  // Three rows of three classes: a near tie, a sure row, an exact tie.
  const std::vector<double> proba = {0.40, 0.395, 0.205, 0.9, 0.05, 0.05, 0.5, 0.5, 0.0};
  const auto m = top2_margins(proba, 3);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_NEAR(m[0], 0.005, 1e-12);
  EXPECT_NEAR(m[1], 0.85, 1e-12);
  EXPECT_EQ(m[2], 0.0);
  EXPECT_TRUE(top2_margins({}, 3).empty());  // labels only
}

TEST(Agreement, FlipsFallInEvalsBins) {
  const std::vector<double> margin = {0.0, 0.009, 0.01, 0.049, 0.05, 0.2, 1.0};
  const std::vector<std::size_t> reference = {0, 0, 0, 0, 0, 0, 0};
  const std::vector<std::size_t> predicted = {1, 0, 1, 1, 0, 1, 0};
  const auto bins = flips_by_margin(predicted, reference, margin);
  ASSERT_EQ(bins.size(), std::size(kMarginFloors) + 1);
  EXPECT_EQ(bins[0].min_margin, 0.0);
  EXPECT_EQ(bins[0].max_margin, 0.01);
  EXPECT_EQ(bins[0].rows, 2u);
  EXPECT_EQ(bins[0].flips, 1u);
  EXPECT_EQ(bins[1].rows, 2u);  // 0.01 and 0.049: a bin includes its lower edge
  EXPECT_EQ(bins[1].flips, 2u);
  EXPECT_EQ(bins[2].rows, 1u);
  EXPECT_EQ(bins[2].flips, 0u);
  EXPECT_EQ(bins[3].rows, 2u);  // 0.2 and 1.0
  EXPECT_EQ(bins[3].flips, 1u);
  // eval's view of the same rows: agreement where fp32's margin is at least each floor.
  const auto at = agreement_by_margin(predicted, reference, margin);
  ASSERT_EQ(at.size(), std::size(kMarginFloors));
  EXPECT_EQ(at[0].rows, 5u);
  EXPECT_DOUBLE_EQ(at[0].agreement, 2.0 / 5.0);
  EXPECT_EQ(at[2].rows, 2u);
  EXPECT_DOUBLE_EQ(at[2].agreement, 0.5);
  EXPECT_TRUE(flips_by_margin(predicted, reference, {}).empty());
}

}  // namespace
}  // namespace docquant::runtime
