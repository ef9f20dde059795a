#include "metrics.h"

namespace docquant::runtime {

Metrics compute_metrics(const std::vector<std::size_t>& truth, const std::vector<std::size_t>& predicted,
                        std::size_t num_classes) {
  Metrics m;
  m.confusion.assign(num_classes, std::vector<std::size_t>(num_classes, 0));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    m.confusion[truth[i]][predicted[i]]++;
    correct += truth[i] == predicted[i];
  }
  m.accuracy = truth.empty() ? 0 : static_cast<double>(correct) / static_cast<double>(truth.size());
  for (std::size_t c = 0; c < num_classes; ++c) {
    std::size_t tp = m.confusion[c][c], predicted_c = 0, actual_c = 0;
    for (std::size_t k = 0; k < num_classes; ++k) {
      predicted_c += m.confusion[k][c];
      actual_c += m.confusion[c][k];
    }
    ClassMetrics cm;
    cm.support = actual_c;
    cm.precision = predicted_c ? static_cast<double>(tp) / static_cast<double>(predicted_c) : 0;
    cm.recall = actual_c ? static_cast<double>(tp) / static_cast<double>(actual_c) : 0;
    cm.f1 = cm.precision + cm.recall > 0 ? 2 * cm.precision * cm.recall / (cm.precision + cm.recall) : 0;
    m.macro_f1 += cm.f1 / static_cast<double>(num_classes);
    m.per_class.push_back(cm);
  }
  return m;
}

double agreement(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b) {
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) same += a[i] == b[i];
  return a.empty() ? 0 : static_cast<double>(same) / static_cast<double>(a.size());
}

}  // namespace docquant::runtime
