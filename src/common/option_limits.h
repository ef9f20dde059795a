#pragma once
// Limits on what a caller may ask for: the same for the CLI, the C++ API and Python, chosen
// and documented (docs/errors.md, "Limits") rather than left to whatever breaks first.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace docquant {

// Threads per logical core a caller may ask for. Beyond the cores, threads only wait for one
// another (--threads 1000 on 2 cores took > 200 s for 2 texts); far beyond, ONNX Runtime
// fails to create its thread pool and crashes the process (--threads 50000, issue 29).
constexpr int kMaxThreadsPerCore = 4;

// Logical cores this process may run on (at least 1).
int logical_cores();

// Throws UsageError "<what> must be 0 (one per core) to <max> (4 × this machine's N logical
// cores), not X" unless 0 <= threads <= kMaxThreadsPerCore × logical_cores().
void check_threads(int threads, std::string_view what);

// For a thread count above the cores (allowed, rarely useful): what to tell the user.
std::optional<std::string> threads_note(int threads, std::string_view what);

// Texts per model call. A batch is cut from one chunk of texts (classify's 4096), so a larger
// one could never be formed; ONNX Runtime's activations grow with it.
constexpr std::size_t kMaxBatchSize = 4096;

// Throws UsageError "<what> must be 1 to 4096, not X".
void check_batch_size(std::size_t batch_size, std::string_view what);

}  // namespace docquant
