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

namespace {
double ratio(std::size_t a, std::size_t b) { return b ? static_cast<double>(a) / static_cast<double>(b) : 0; }
double f1_of(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0; }
}  // namespace

MultiLabelMetrics compute_multilabel_metrics(const std::vector<std::uint8_t>& truth,
                                             const std::vector<std::uint8_t>& predicted, std::size_t labels) {
  MultiLabelMetrics m;
  const std::size_t rows = labels ? truth.size() / labels : 0;
  std::vector<std::size_t> tp(labels, 0), fp(labels, 0), fn(labels, 0);
  std::size_t exact = 0, wrong = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    bool same = true;
    for (std::size_t k = 0; k < labels; ++k) {
      const bool t = truth[r * labels + k] != 0, p = predicted[r * labels + k] != 0;
      tp[k] += t && p;
      fp[k] += !t && p;
      fn[k] += t && !p;
      if (t != p) {
        same = false;
        ++wrong;
      }
    }
    exact += same;
  }
  m.exact_match = ratio(exact, rows);
  m.hamming_loss = ratio(wrong, rows * labels);
  std::size_t all_tp = 0, all_fp = 0, all_fn = 0;
  for (std::size_t k = 0; k < labels; ++k) {
    ClassMetrics c;
    c.support = tp[k] + fn[k];
    c.precision = ratio(tp[k], tp[k] + fp[k]);
    c.recall = ratio(tp[k], tp[k] + fn[k]);
    c.f1 = f1_of(c.precision, c.recall);
    m.macro_f1 += labels ? c.f1 / static_cast<double>(labels) : 0;
    m.per_label.push_back(c);
    all_tp += tp[k];
    all_fp += fp[k];
    all_fn += fn[k];
  }
  m.micro_precision = ratio(all_tp, all_tp + all_fp);
  m.micro_recall = ratio(all_tp, all_tp + all_fn);
  m.micro_f1 = f1_of(m.micro_precision, m.micro_recall);
  return m;
}

double micro_f1(const Predictions& p, const LabelledDataset& d) {
  return compute_multilabel_metrics(d.label_sets, p.label_set, p.num_classes).micro_f1;
}

}  // namespace docquant::runtime
