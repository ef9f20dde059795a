// Placeholder until written; see below.
#include <gtest/gtest.h>
