#include "agreement.h"

#include <algorithm>
#include <cmath>

namespace docquant::runtime {

std::vector<double> top2_margins(const std::vector<double>& proba, std::size_t num_classes) {
  std::vector<double> m;
  if (proba.empty() || num_classes < 2) return m;
  m.reserve(proba.size() / num_classes);
  for (std::size_t r = 0; (r + 1) * num_classes <= proba.size(); ++r) {
    double first = -1, second = -1;
    for (std::size_t c = 0; c < num_classes; ++c) {
      const double p = proba[r * num_classes + c];
      if (p > first) {
        second = first;
        first = p;
      } else if (p > second) {
        second = p;
      }
    }
    m.push_back(first - second);
  }
  return m;
}

std::vector<double> answer_margins(const Predictions& p) {
  if (p.label_set.empty()) return top2_margins(p.proba, p.num_classes);
  std::vector<double> m;
  const std::size_t C = p.num_classes;
  for (std::size_t r = 0; C > 0 && (r + 1) * C <= p.proba.size(); ++r) {
    double nearest = 1;
    for (std::size_t k = 0; k < C; ++k) nearest = std::min(nearest, 2 * std::abs(p.proba[r * C + k] - 0.5));
    m.push_back(nearest);
  }
  return m;
}

std::vector<AgreementAtMargin> agreement_by_margin(const std::vector<std::size_t>& predicted,
                                                   const std::vector<std::size_t>& reference,
                                                   const std::vector<double>& margin) {
  std::vector<AgreementAtMargin> out;
  if (margin.size() != predicted.size() || margin.size() != reference.size()) return out;
  for (const double floor : kMarginFloors) {
    std::size_t rows = 0, same = 0;
    for (std::size_t r = 0; r < margin.size(); ++r) {
      if (margin[r] < floor) continue;
      ++rows;
      same += predicted[r] == reference[r];
    }
    out.push_back({floor, rows, rows ? static_cast<double>(same) / static_cast<double>(rows) : 1.0});
  }
  return out;
}

std::vector<FlipsByMargin> flips_by_margin(const std::vector<std::size_t>& predicted,
                                           const std::vector<std::size_t>& reference,
                                           const std::vector<double>& margin) {
  std::vector<FlipsByMargin> bins;
  if (margin.empty() || margin.size() != predicted.size() || margin.size() != reference.size()) return bins;
  double low = 0;
  for (const double floor : kMarginFloors) {
    bins.push_back({low, floor, 0, 0});
    low = floor;
  }
  bins.push_back({low, 1.0, 0, 0});
  for (std::size_t r = 0; r < margin.size(); ++r) {
    std::size_t b = 0;
    while (b + 1 < bins.size() && margin[r] >= bins[b].max_margin) ++b;
    ++bins[b].rows;
    bins[b].flips += predicted[r] != reference[r];
  }
  return bins;
}

}  // namespace docquant::runtime
