#pragma once
// The process's own memory: its peak, and handing freed memory back to the system.
#include <cstdint>

namespace docquant {

// The peak resident set size of this process image so far, in bytes: /proc/self/status VmHWM,
// else getrusage (which on Linux includes the peak of whatever process exec-ed docquant);
// 0 when neither is available.
std::int64_t peak_rss_bytes();

// Hands memory freed inside the heap back to the system. glibc keeps freed chunks that
// lie below the top of its heaps (and of its per-thread arenas) for reuse, so after a
// session or a proto of hundreds of MB is freed its pages would still be resident at the
// next phase's peak (MPNet, quantize's trials: 1304 MiB resident without it, 818 MiB with).
// A few tens of milliseconds at most; nothing on other C libraries.
void release_free_memory();

}  // namespace docquant
