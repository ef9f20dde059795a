// Progress on stderr for long phases: a live "rows done / total, elapsed, ETA" counter that
// rewrites one line on a terminal, and plain lines otherwise.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace docquant::cli {

class ProgressLine {
 public:
  // `live`: draw the counter (stderr is a terminal). Without it only line() prints.
  explicit ProgressLine(std::FILE* out, bool live);
  ~ProgressLine();  // clears a counter still drawn (an error message follows on a clean line)
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // stderr when it is a terminal and TERM is not "dumb".
  static bool stderr_is_terminal();

  // One finished line (clears a counter drawn before it).
  void line(const std::string& text);
  // The counter of `phase`; redrawn at most every 0.25 s, and at done == total.
  void rows(const std::string& phase, std::size_t done, std::size_t total);

 private:
  using Clock = std::chrono::steady_clock;
  void clear();
  std::FILE* out_;
  bool live_;
  bool drawn_ = false;
  std::string phase_;
  std::size_t first_done_ = 0;
  Clock::time_point phase_start_{};
  Clock::time_point last_draw_{};
};

// "12s", "3m05s", "1h02m": an ETA a user can plan with.
std::string format_duration(double seconds);

}  // namespace docquant::cli
