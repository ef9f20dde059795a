#pragma once
// Classification metrics as scikit-learn's classification_report and confusion_matrix
// define them (precision/recall/F1 = 0 when their denominator is 0), for one class per text
// and for label sets (multi-label heads).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dataset.h"
#include "predictor.h"

namespace docquant::runtime {

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  std::size_t support = 0;
};

struct Metrics {
  double accuracy = 0;
  double macro_f1 = 0;
  std::vector<ClassMetrics> per_class;               // one per class
  std::vector<std::vector<std::size_t>> confusion;   // [true][predicted]
};

Metrics compute_metrics(const std::vector<std::size_t>& truth, const std::vector<std::size_t>& predicted,
                        std::size_t num_classes);

// Fraction of rows where two prediction vectors agree.
double agreement(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b);

// Label sets (rows × labels, 0/1), as scikit-learn scores indicator matrices:
// exact_match = accuracy_score (the whole set right), per-label precision/recall/F1 =
// precision_recall_fscore_support(average=None), micro = over every (row, label) pooled,
// macro_f1 = the mean of the per-label F1, hamming_loss = wrong cells / all cells.
struct MultiLabelMetrics {
  double exact_match = 0;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
  double macro_f1 = 0;
  double hamming_loss = 0;
  std::vector<ClassMetrics> per_label;  // support: rows having the label
};
MultiLabelMetrics compute_multilabel_metrics(const std::vector<std::uint8_t>& truth,
                                             const std::vector<std::uint8_t>& predicted, std::size_t labels);

// Micro-F1 of `p`'s label sets against a multi-label dataset's (quantize's --metric micro_f1).
double micro_f1(const Predictions& p, const LabelledDataset& d);

}  // namespace docquant::runtime
