#include "trial_tally.h"

namespace docquant::job {

std::size_t rows_needed(const tune::Criterion& criterion, double baseline, std::size_t n) {
  for (std::size_t c = 0; c <= n; ++c) {
    if (criterion.met(baseline, static_cast<double>(c) / static_cast<double>(n))) return c;
  }
  return n + 1;
}

TrialTally::TrialTally(const TrialReferences& refs, std::size_t need, bool early)
    : refs_(refs), need_(need), early_(early), n_(refs.fp32->size()) {}

bool TrialTally::add(const std::vector<std::size_t>& rows, const std::vector<std::size_t>& predicted,
                     std::size_t rows_done) {
  const auto& reference = refs_.criterion();
  for (std::size_t r : rows) {
    matches_ += predicted[r] == reference[r];
    agree_ += predicted[r] == (*refs_.fp32)[r];
    if (refs_.labels != nullptr) correct_ += predicted[r] == (*refs_.labels)[r];
  }
  done_ = rows_done;
  return early_ && matches_ + (n_ - rows_done) < need_;
}

TrialScores TrialTally::scores() const {
  // Stopped early: the best each score the remaining rows could have given.
  const std::size_t left = n_ - done_;
  const auto share = [&](std::size_t count) { return static_cast<double>(count + left) / static_cast<double>(n_); };
  TrialScores s;
  if (refs_.labels != nullptr) s.accuracy = share(correct_);
  s.agreement = share(agree_);
  s.criterion = share(matches_);
  s.rows_run = done_;
  return s;
}

}  // namespace docquant::job
