#pragma once
// The tuning criterion: what a trial is scored on and the score that passes.
//   accuracy:  the share of rows whose class is the label; passes within a relative or
//              absolute loss of fp32's accuracy (INC's criterion);
//   agreement: the share of rows whose class is fp32's (fp32 scores 1 against itself);
//              passes at min_agreement or above.
// Both count rows that match a reference class per row (the labels, or fp32's answers), so
// the trial loop and its exact early decisions treat them alike.
#include <string>

#include "docquant/quantize.h"

namespace docquant::tune {

struct Criterion {
  enum class Kind { relative, absolute };
  Kind kind = Kind::relative;
  double value = 0.01;  // INC's default recipe: relative loss <= 1 %
  bool higher_is_better = true;
  CriterionMetric metric = CriterionMetric::accuracy;
  double min_agreement = 0.99;  // the agreement criterion's

  // The worst score that still passes, given fp32's score (its accuracy; 1 for agreement).
  double threshold(double baseline) const;
  bool met(double baseline, double score) const;
  std::string describe() const;  // e.g. "relative loss <= 1% (higher is better)", "agreement with fp32 >= 99%"
};

}  // namespace docquant::tune
