#include "process_memory.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace docquant {

std::int64_t peak_rss_bytes() {
  // VmHWM belongs to this address space, which exec creates anew. getrusage's ru_maxrss does
  // not: Linux carries the exec-ing process's peak over, so docquant started from a 1.6 GB
  // Python process (subprocess.run uses vfork) reported 1.6 GB whatever it used itself.
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long long kib = -1;
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::strncmp(line, "VmHWM:", 6) == 0) {
        if (std::sscanf(line + 6, "%lld", &kib) != 1) kib = -1;
        break;
      }
    }
    std::fclose(f);
    if (kib >= 0) return static_cast<std::int64_t>(kib) * 1024;
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace docquant
