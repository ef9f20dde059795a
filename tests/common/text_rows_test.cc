// Calibration rows: labelled CSV, text-only CSV, .txt, labels ignored on request, and the
// refusals that keep a typo or a half-labelled file from silently becoming an unlabelled run.
#include "text_rows.h"

#include <gtest/gtest.h>

#include <fstream>

#include "docquant/error.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

class TextRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("docquant_rows_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path file(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // The InputError's message, or "" when reading succeeds.
  std::string error(const fs::path& p, const std::string& label_column = "label") {
    try {
      read_text_rows(p, "text", label_column);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(TextRowsTest, LabelledCsv) {
  const TextRows r = read_text_rows(file("a.csv", "text,label\ngood,1\n\"bad,\nfilm\",0\n"), "text", "label");
  EXPECT_TRUE(r.labelled());
  EXPECT_EQ(r.texts, (std::vector<std::string>{"good", "bad,\nfilm"}));
  EXPECT_EQ(r.labels, (std::vector<std::string>{"1", "0"}));
  EXPECT_EQ(r.lines, (std::vector<std::size_t>{2, 3}));
}

TEST_F(TextRowsTest, TextOnlyCsvIsUnlabelled) {
  const TextRows r = read_text_rows(file("a.csv", "text\ngood\nbad\n"), "text", "label");
  EXPECT_FALSE(r.labelled());
  EXPECT_EQ(r.texts, (std::vector<std::string>{"good", "bad"}));
}

TEST_F(TextRowsTest, EmptyLabelColumnNameIgnoresLabels) {
  const TextRows r = read_text_rows(file("a.csv", "text,label,id\ngood,,7\nbad,0,8\n"), "text", "");
  EXPECT_FALSE(r.labelled());
  EXPECT_EQ(r.texts.size(), 2u);
}

TEST_F(TextRowsTest, TxtIsOneTextPerLineBlankLinesSkipped) {
  const TextRows r = read_text_rows(file("a.TXT", "good film\r\n\nbad, film\n"), "text", "label");
  EXPECT_FALSE(r.labelled());
  EXPECT_EQ(r.texts, (std::vector<std::string>{"good film", "bad, film"}));
  EXPECT_EQ(r.lines, (std::vector<std::size_t>{1, 3}));  // line numbers as in the file
}

TEST_F(TextRowsTest, PartlyEmptyLabelsAreRefusedNamingTheFirstEmptyRow) {
  const std::string e = error(file("a.csv", "text,label\ngood,1\nbad,0\nmeh,\nso so,\n"));
  EXPECT_NE(e.find("a.csv: line 4: the 'label' field is empty"), std::string::npos) << e;
  EXPECT_NE(e.find("--label_column ''"), std::string::npos) << e;
}

TEST_F(TextRowsTest, MissingLabelColumnBesideOtherColumnsIsRefused) {
  const std::string e = error(file("a.csv", "text,sentiment\ngood,1\n"));
  EXPECT_NE(e.find("no column named 'label'"), std::string::npos) << e;
  EXPECT_NE(e.find("--label_column ''"), std::string::npos) << e;
}

TEST_F(TextRowsTest, NoTexts) {
  EXPECT_NE(error(file("a.txt", "\n\n")).find("has no texts (every line is blank)"), std::string::npos);
  EXPECT_NE(error(file("a.csv", "text\n")).find("has a header but no data rows"), std::string::npos);
  EXPECT_THROW(text_rows_from_memory({}, "calibration_texts"), InputError);
  const TextRows m = text_rows_from_memory({"a", "b"}, "calibration_texts");
  EXPECT_EQ(m.lines, (std::vector<std::size_t>{1, 2}));
  EXPECT_FALSE(m.labelled());
}

}  // namespace
}  // namespace docquant
