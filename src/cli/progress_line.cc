#include "progress_line.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "diagnostics.h"

namespace docquant::cli {

ProgressLine::ProgressLine(std::FILE* out, bool live) : out_(out), live_(live) {}

ProgressLine::~ProgressLine() { clear(); }

bool ProgressLine::stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDERR_FILENO) == 1 && (term == nullptr || std::strcmp(term, "dumb") != 0);
}

void ProgressLine::clear() {
  if (!drawn_) return;
  write_quietly(out_, "\r\x1b[K");
  drawn_ = false;
}

void ProgressLine::line(const std::string& text) {
  clear();
  write_quietly(out_, text + "\n");
}

void ProgressLine::rows(const std::string& phase, std::size_t done, std::size_t total) {
  if (!live_) return;
  const auto now = Clock::now();
  if (phase != phase_) {
    // A phase is first seen after its first batch: the clock starts there, and the ETA
    // uses the rows done since (the phase's own rate, from its second batch on).
    phase_ = phase;
    phase_start_ = now;
    first_done_ = done;
    last_draw_ = {};
  }
  if (done < total && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - phase_start_).count();
  std::string eta = "…";
  if (done > first_done_ && elapsed > 0.5) {
    eta = format_duration(elapsed * static_cast<double>(total - done) / static_cast<double>(done - first_done_));
  }
  write_quietly(out_, fmt::format("\r\x1b[K  {}: {}/{} rows ({:.0f}%)  {} elapsed, ETA {}", phase, done, total,
                                  total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0,
                                  format_duration(elapsed), eta));
  drawn_ = true;
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace docquant::cli
