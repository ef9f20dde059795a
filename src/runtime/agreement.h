#pragma once
// How far two models' answers agree, measured against the reference model's confidence:
// a flip on a row whose top two classes were a near tie reads differently from one on a
// row the reference was sure of. One definition for `docquant eval --compare` and the
// flips quantize records, so their margins and bins are the same.
#include <cstddef>
#include <vector>

#include "docquant/quantize.h"
#include "predictor.h"

namespace docquant::runtime {

// The margins that split rows: eval reports agreement on rows at or above each, quantize
// counts flips between consecutive ones.
inline constexpr double kMarginFloors[] = {0.01, 0.05, 0.1};

// Each row's top-two probability margin (the best class's probability minus the second's)
// from row-major `proba` of `num_classes` columns; empty without probabilities.
std::vector<double> top2_margins(const std::vector<double>& proba, std::size_t num_classes);

// Each row's margin as agreement_by_margin and flips_by_margin read it: top2_margins, or for
// a multi-label head (label sets) twice its nearest label's distance from 0.5, also 0 to 1.
std::vector<double> answer_margins(const Predictions& p);

// Agreement on the rows whose reference margin is at least `min_margin`.
struct AgreementAtMargin {
  double min_margin = 0;
  std::size_t rows = 0;
  double agreement = 1;  // 1 when no row is that sure
};

// One entry per kMarginFloors value; `margin` is the reference model's (top2_margins).
// Empty when the three do not have one entry per row.
std::vector<AgreementAtMargin> agreement_by_margin(const std::vector<std::size_t>& predicted,
                                                   const std::vector<std::size_t>& reference,
                                                   const std::vector<double>& margin);

// The bins [0, 0.01), [0.01, 0.05), [0.05, 0.1), [0.1, 1]: rows and flips in each.
// Empty without margins (a model that gives labels only) or when the sizes differ.
std::vector<FlipsByMargin> flips_by_margin(const std::vector<std::size_t>& predicted,
                                           const std::vector<std::size_t>& reference,
                                           const std::vector<double>& margin);

}  // namespace docquant::runtime
