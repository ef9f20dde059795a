#pragma once
// Classification metrics as scikit-learn's classification_report and confusion_matrix
// define them (precision/recall/F1 = 0 when their denominator is 0).
#include <cstddef>
#include <vector>

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

}  // namespace docquant::runtime
