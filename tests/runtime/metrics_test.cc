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

// Label sets: the values scikit-learn 1.6.1 gives for these indicator matrices
// (accuracy_score, hamming_loss, precision_recall_fscore_support(average=None / "micro"),
// f1_score(average="macro")).
TEST(Metrics, LabelSetsMatchScikitLearn) {
  const std::vector<std::uint8_t> truth = {1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0};
  const std::vector<std::uint8_t> predicted = {1, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0};
  const MultiLabelMetrics m = compute_multilabel_metrics(truth, predicted, 3);
  EXPECT_DOUBLE_EQ(m.exact_match, 0.4);
  EXPECT_DOUBLE_EQ(m.hamming_loss, 0.26666666666666666);
  EXPECT_DOUBLE_EQ(m.per_label[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(m.per_label[0].recall, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m.per_label[0].f1, 0.8);
  EXPECT_DOUBLE_EQ(m.per_label[1].precision, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m.per_label[1].recall, 1.0);
  EXPECT_EQ(m.per_label[2].f1, 0.0);  // predicted once, wrongly
  EXPECT_EQ(m.per_label[0].support, 3u);
  EXPECT_EQ(m.per_label[2].support, 1u);
  EXPECT_DOUBLE_EQ(m.micro_precision, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m.micro_recall, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m.micro_f1, 0.6666666666666666);
  EXPECT_DOUBLE_EQ(m.macro_f1, 0.5333333333333333);
}

// Label sets become one id per row (bit k: label k), so the accuracy quantize and eval count
// row by row is exact-match accuracy; micro-F1 pools the labels.
TEST(Metrics, LabelSetIdsScoreWholeSets) {
  const std::vector<std::uint8_t> truth = {1, 0, 0, 1, 1, 1}, predicted = {1, 0, 0, 0, 1, 1};
  EXPECT_EQ(label_set_id(truth.data() + 4, 2), 3u);
  EXPECT_EQ(label_set_id(predicted.data() + 2, 2), 0u);  // the empty set
  const std::vector<std::uint8_t> wide(kMaxScoredLabels + 1, 1);
  EXPECT_EQ(label_set_id(wide.data(), wide.size()), 0u);  // no id: make_dataset refuses to score it
  LabelledDataset d;
  d.label_sets = truth;
  Predictions p;
  p.num_classes = 2;
  p.label_set = predicted;
  for (std::size_t r = 0; r < 3; ++r) {
    d.labels.push_back(label_set_id(truth.data() + 2 * r, 2));
    p.predicted.push_back(label_set_id(predicted.data() + 2 * r, 2));
  }
  EXPECT_DOUBLE_EQ(accuracy(p, d.labels), 2.0 / 3.0);  // row 1: the empty set predicted, one label true
  EXPECT_DOUBLE_EQ(micro_f1(p, d), 2 * 0.75 / (1 + 0.75));  // precision 1, recall 3/4
}

}  // namespace
}  // namespace docquant::runtime
