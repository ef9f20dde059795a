#pragma once
// The accuracy criterion: how much worse than fp32 a quantized model may be.
#include <string>

namespace docquant::tune {

struct Criterion {
  enum class Kind { relative, absolute };
  Kind kind = Kind::relative;
  double value = 0.01;  // INC's default recipe: relative loss <= 1 %
  bool higher_is_better = true;

  // The worst accuracy that still passes, given the fp32 baseline.
  double threshold(double baseline) const;
  bool met(double baseline, double accuracy) const;
  std::string describe() const;  // e.g. "relative loss <= 1% (higher is better)"
};

}  // namespace docquant::tune
