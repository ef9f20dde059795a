#include "text_line_reader.h"

#include <gtest/gtest.h>

#include <fstream>

#include "docquant/error.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

class TextLineReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("docquant_lines_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file(const std::string& bytes) {
    const fs::path p = dir_ / "texts.txt";
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::vector<std::string> all(const std::string& bytes) {
    auto reader = TextLineReader::open(file(bytes));
    std::vector<std::string> out;
    reader.read(out, 100);
    return out;
  }
  // The InputError's message, or "" when reading succeeds.
  std::string error(const std::string& bytes) {
    try {
      all(bytes);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(TextLineReaderTest, LinesEndWithLfOrCrlfAndBlankLinesAreEmptyTexts) {
  EXPECT_EQ(all("a\r\n\nb\n"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(all("a\nlast"), (std::vector<std::string>{"a", "last"}));
  EXPECT_TRUE(all("").empty());
}

TEST_F(TextLineReaderTest, AByteOrderMarkIsSkippedOnTheFirstLineOnly) {
  EXPECT_EQ(all("\xEF\xBB\xBF" "a\n\xEF\xBB\xBF" "b\n"), (std::vector<std::string>{"a", "\xEF\xBB\xBF" "b"}));
}

TEST_F(TextLineReaderTest, ReadStopsAtMaxAndContinues) {
  auto reader = TextLineReader::open(file("1\n2\n3\n"));
  std::vector<std::string> out;
  reader.read(out, 2);
  EXPECT_EQ(out, (std::vector<std::string>{"1", "2"}));
  out.clear();
  reader.read(out, 2);
  EXPECT_EQ(out, (std::vector<std::string>{"3"}));
  out.clear();
  reader.read(out, 2);
  EXPECT_TRUE(out.empty());
}

TEST_F(TextLineReaderTest, ErrorsNameTheFileAndTheLine) {
  const std::string name = (dir_ / "texts.txt").string();
  EXPECT_EQ(error("good\nbad \xc3\x28 text\n"), name + ": line 2: invalid UTF-8 at byte 4 of the line");
  EXPECT_EQ(error("ok\n" + std::string(TextLineReader::kMaxLineBytes + 1, 'a')),
            name + ": line 2 is longer than 32 MiB; split it or pass a CSV");
  try {
    TextLineReader::open(dir_);
    ADD_FAILURE() << "a folder was opened";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": is a folder, expected a text file with one text per line");
  }
  try {
    TextLineReader::open(dir_ / "missing.txt");
    ADD_FAILURE() << "a missing file was opened";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), (dir_ / "missing.txt").string() + ": cannot open: No such file or directory");
  }
}

}  // namespace
}  // namespace docquant
