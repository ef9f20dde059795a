// A trial's tally: the criterion's reference decides it (labels for accuracy, fp32's answers
// for agreement), both scores are counted, and an early decision is the full evaluation's.
#include "trial_tally.h"

#include <gtest/gtest.h>

namespace docquant::job {
namespace {

tune::Criterion agreement(double a) {
  tune::Criterion c;
  c.metric = CriterionMetric::agreement;
  c.min_agreement = a;
  return c;
}

TEST(TrialTally, AgreementCountsFp32sAnswersAndAccuracyTheLabels) {
  const std::vector<std::size_t> labels = {0, 1, 1, 0};
  const std::vector<std::size_t> fp32 = {0, 1, 0, 0};
  const TrialReferences refs{&labels, &fp32, CriterionMetric::agreement};
  TrialTally tally(refs, rows_needed(agreement(0.75), 1.0, 4), /*early=*/false);
  EXPECT_FALSE(tally.add({0, 1, 2, 3}, {0, 1, 1, 1}, 4));
  const TrialScores s = tally.scores();
  EXPECT_DOUBLE_EQ(s.agreement, 0.5);   // rows 2 and 3 differ from fp32
  EXPECT_DOUBLE_EQ(*s.accuracy, 0.75);  // row 3 is wrong
  EXPECT_DOUBLE_EQ(s.criterion, s.agreement);
  EXPECT_EQ(s.rows_run, 4u);
}

TEST(TrialTally, UnlabelledRowsHaveNoAccuracy) {
  const std::vector<std::size_t> fp32 = {2, 2};
  const TrialReferences refs{nullptr, &fp32, CriterionMetric::agreement};
  TrialTally tally(refs, 2, false);
  tally.add({0, 1}, {2, 2}, 2);
  EXPECT_FALSE(tally.scores().accuracy);
  EXPECT_DOUBLE_EQ(tally.scores().agreement, 1.0);
}

// 99 % of 200 rows: 198 must keep fp32's class, so the third flip decides the trial, and
// the bound then reported (the most the rows left could give) misses the criterion.
TEST(TrialTally, EarlyDecisionOnAgreementIsTheFullEvaluations) {
  const tune::Criterion c = agreement(0.99);
  const std::size_t need = rows_needed(c, 1.0, 200);
  EXPECT_EQ(need, 198u);
  std::vector<std::size_t> fp32(200, 0), labels(200, 0);
  const TrialReferences refs{&labels, &fp32, CriterionMetric::agreement};
  TrialTally tally(refs, need, /*early=*/true);
  EXPECT_FALSE(tally.add({0, 1}, std::vector<std::size_t>(200, 1), 2));  // two flips: 198 still possible
  std::vector<std::size_t> third(200, 0);
  third[2] = 1;
  EXPECT_TRUE(tally.add({2, 3}, third, 4));  // a third: at most 197
  const TrialScores s = tally.scores();
  EXPECT_EQ(s.rows_run, 4u);
  EXPECT_DOUBLE_EQ(s.agreement, 197.0 / 200.0);
  EXPECT_FALSE(c.met(1.0, s.criterion));
}

}  // namespace
}  // namespace docquant::job
