#pragma once
// Counts the bytes this test binary has allocated through operator new, so hostile-input
// tests can check how much a parse asked for.
#include <cstddef>

namespace alloc_counter {
void reset_peak();             // peak := current
std::size_t peak_above_start();  // peak - current at the last reset
}  // namespace alloc_counter
