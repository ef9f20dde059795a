#pragma once
// A trial's rows counted as its batches finish: against the criterion's reference class per
// row (the labels for accuracy, fp32's answers for agreement), which decides it, and against
// the labels and fp32's answers alike, which the report shows beside each other.
#include <cstddef>
#include <optional>
#include <vector>

#include "criterion.h"

namespace docquant::job {

// The classes a trial's answers are compared with, one per calibration row.
struct TrialReferences {
  const std::vector<std::size_t>* labels = nullptr;  // the CSV's; null on unlabelled data
  const std::vector<std::size_t>* fp32 = nullptr;    // fp32's answers
  CriterionMetric metric = CriterionMetric::accuracy;
  const std::vector<std::size_t>& criterion() const { return metric == CriterionMetric::agreement ? *fp32 : *labels; }
};

// The fewest rows of `n` matching the criterion's reference that meet the criterion (n + 1
// when none does): the criterion's own test at each count, so an early decision is the
// full evaluation's. `baseline` is fp32's score (its accuracy; 1 for agreement).
std::size_t rows_needed(const tune::Criterion& criterion, double baseline, std::size_t n);

// Scores of a trial: exact when every row ran, else the most the rows not run could give.
struct TrialScores {
  std::optional<double> accuracy;  // none on unlabelled data
  double agreement = 0;
  double criterion = 0;  // the one of the two the criterion reads
  std::size_t rows_run = 0;
};

class TrialTally {
 public:
  // `need`: rows matching the criterion's reference a trial must reach; with `early`, the
  // tally says a trial is decided once the rows left cannot bring it there.
  TrialTally(const TrialReferences& refs, std::size_t need, bool early);
  // Counts `rows` of `predicted` (one batch), `rows_done` rows run so far; true when decided.
  bool add(const std::vector<std::size_t>& rows, const std::vector<std::size_t>& predicted, std::size_t rows_done);
  TrialScores scores() const;

 private:
  const TrialReferences& refs_;
  std::size_t need_;
  bool early_;
  std::size_t n_;
  std::size_t done_ = 0, matches_ = 0, correct_ = 0, agree_ = 0;
};

}  // namespace docquant::job
