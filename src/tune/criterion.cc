#include "criterion.h"

#include <fmt/core.h>

namespace docquant::tune {

// INC 1.x: relative -> (baseline - acc) / baseline <= value; absolute -> baseline - acc <= value
// (signs flipped when lower is better). Written as a threshold so reports can show it.
double Criterion::threshold(double baseline) const {
  if (metric == CriterionMetric::agreement) return min_agreement;
  const double margin = kind == Kind::relative ? baseline * value : value;
  return higher_is_better ? baseline - margin : baseline + margin;
}

bool Criterion::met(double baseline, double score) const {
  // A tiny epsilon absorbs the rounding of baseline * value so that a loss of exactly
  // the allowed amount passes, as it does in INC's comparison.
  constexpr double kEps = 1e-12;
  if (metric == CriterionMetric::agreement) return score >= min_agreement - kEps;
  return higher_is_better ? score >= threshold(baseline) - kEps : score <= threshold(baseline) + kEps;
}

std::string Criterion::describe() const {
  if (metric == CriterionMetric::agreement) return fmt::format("agreement with fp32 >= {:g}%", min_agreement * 100);
  const char* direction = higher_is_better ? "higher is better" : "lower is better";
  if (kind == Kind::relative) return fmt::format("relative loss <= {:g}% ({})", value * 100, direction);
  return fmt::format("absolute loss <= {:g} ({})", value, direction);
}

}  // namespace docquant::tune
