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

}  // namespace
}  // namespace docquant::tune
