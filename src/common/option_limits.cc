#include "option_limits.h"

#include <fmt/core.h>
#include <sched.h>

#include <algorithm>
#include <thread>

#include "docquant/error.h"

namespace docquant {

int logical_cores() {
  // The affinity mask, not the machine: taskset or a container's cpuset leaves fewer.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void check_threads(int threads, std::string_view what) {
  const int cores = logical_cores();
  const int most = kMaxThreadsPerCore * cores;
  if (threads < 0 || threads > most) {
    throw UsageError(fmt::format("{} must be 0 (one per core) to {} ({} x this machine's {} logical core{}), not {}",
                                 what, most, kMaxThreadsPerCore, cores, cores == 1 ? "" : "s", threads));
  }
}

std::optional<std::string> threads_note(int threads, std::string_view what) {
  const int cores = logical_cores();
  if (threads <= cores) return std::nullopt;
  return fmt::format("{} {} is more than this machine's {} logical core{}: the extra threads wait for one another, "
                     "which is slower, not faster",
                     what, threads, cores, cores == 1 ? "" : "s");
}

void check_batch_size(std::size_t batch_size, std::string_view what) {
  if (batch_size < 1 || batch_size > kMaxBatchSize) {
    throw UsageError(fmt::format("{} must be 1 to {}, not {}", what, kMaxBatchSize, batch_size));
  }
}

}  // namespace docquant
