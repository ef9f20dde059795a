#include "criterion.h"

#include <gtest/gtest.h>

namespace docquant::tune {
namespace {

TEST(Criterion, RelativeOnePercentAsInc) {
  Criterion c;  // defaults: relative 0.01, higher is better
  EXPECT_DOUBLE_EQ(c.threshold(0.9), 0.891);
  EXPECT_TRUE(c.met(0.9, 0.891));  // exactly the allowed loss passes
  EXPECT_TRUE(c.met(0.9, 0.95));
  EXPECT_FALSE(c.met(0.9, 0.8909));
  EXPECT_EQ(c.describe(), "relative loss <= 1% (higher is better)");
}

TEST(Criterion, AbsoluteAndLowerIsBetter) {
  Criterion abs{Criterion::Kind::absolute, 0.02, true};
  EXPECT_DOUBLE_EQ(abs.threshold(0.85), 0.83);
  EXPECT_FALSE(abs.met(0.85, 0.8299));
  Criterion loss{Criterion::Kind::relative, 0.1, false};
  EXPECT_DOUBLE_EQ(loss.threshold(2.0), 2.2);
  EXPECT_TRUE(loss.met(2.0, 2.2));
  EXPECT_FALSE(loss.met(2.0, 2.21));
}

// Agreement ignores fp32's accuracy: the threshold is the share of rows with fp32's class.
TEST(Criterion, AgreementIsAShareOfFp32sAnswers) {
  Criterion c;
  c.metric = CriterionMetric::agreement;
  c.min_agreement = 0.99;
  EXPECT_DOUBLE_EQ(c.threshold(0.5), 0.99);
  EXPECT_TRUE(c.met(1.0, 0.99));
  EXPECT_TRUE(c.met(0.2, 864.0 / 872.0));   // 8 flips of sst2_dev's 872 rows pass
  EXPECT_FALSE(c.met(1.0, 863.0 / 872.0));  // 9 do not
  EXPECT_FALSE(c.met(1.0, 0.9899));
  EXPECT_EQ(c.describe(), "agreement with fp32 >= 99%");
}

}  // namespace
}  // namespace docquant::tune
