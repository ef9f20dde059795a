#include "text_util.h"

#include <gtest/gtest.h>

namespace docquant {
namespace {

TEST(FindInvalidUtf8, AcceptsValidText) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii"));
  EXPECT_FALSE(find_invalid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));  // é 中 😀
  EXPECT_FALSE(find_invalid_utf8(""));
}

TEST(FindInvalidUtf8, ReportsOffsetOfFirstBadSequence) {
  EXPECT_EQ(find_invalid_utf8("ab\xFF"), 2u);            // never valid
  EXPECT_EQ(find_invalid_utf8("a\xC3"), 1u);             // truncated sequence
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);     // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xC3\x28"), 0u);          // bad continuation byte
}

TEST(Utf8Prefix, CutsOnCharacterBoundary) {
  EXPECT_EQ(utf8_prefix("caf\xC3\xA9", 4), "caf");  // does not split é
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
}

}  // namespace
}  // namespace docquant
