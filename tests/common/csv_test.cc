// The CSV reader against RFC 4180's cases and the broken files users send.
#include "csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "docquant/error.h"

namespace docquant {
namespace {

std::vector<std::vector<std::string>> parse_all(const std::string& text, CsvOptions options = {}) {
  std::istringstream in(text);
  CsvReader reader(in, "test.csv", options);
  std::vector<std::vector<std::string>> rows{reader.header()};
  CsvRecord record;
  while (reader.next(record)) rows.push_back(record.fields);
  return rows;
}

// The InputError message parse_all throws, or "" when it does not throw.
std::string error_of(const std::string& text, CsvOptions options = {}) {
  try {
    parse_all(text, options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReader, PlainRows) {
  EXPECT_EQ(parse_all("text,label\nhello,1\nworld,0\n"), (Rows{{"text", "label"}, {"hello", "1"}, {"world", "0"}}));
}

TEST(CsvReader, QuotedCommasAndDoubledQuotes) {
  EXPECT_EQ(parse_all("text,label\n\"a, b\",1\n\"she said \"\"hi\"\"\",0\n"),
            (Rows{{"text", "label"}, {"a, b", "1"}, {"she said \"hi\"", "0"}}));
}

TEST(CsvReader, EmbeddedNewlinesKeepLineNumbers) {
  std::istringstream in("text,label\n\"line one\nline two\",1\nnext,0\n");
  CsvReader reader(in, "t.csv");
  CsvRecord r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.fields[0], "line one\nline two");
  EXPECT_EQ(r.line, 2u);
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.fields[0], "next");
  EXPECT_EQ(r.line, 4u);
  EXPECT_FALSE(reader.next(r));
}

TEST(CsvReader, CrlfAndLoneCrLineEnds) {
  EXPECT_EQ(parse_all("text,label\r\na,1\r\nb,0\r\n"), (Rows{{"text", "label"}, {"a", "1"}, {"b", "0"}}));
  EXPECT_EQ(parse_all("text,label\ra,1\rb,0"), (Rows{{"text", "label"}, {"a", "1"}, {"b", "0"}}));
  // CRLF inside a quoted field is kept as written.
  EXPECT_EQ(parse_all("text,label\r\n\"x\r\ny\",1\r\n"), (Rows{{"text", "label"}, {"x\r\ny", "1"}}));
}

TEST(CsvReader, Utf8ByteOrderMarkIsNotPartOfTheHeader) {
  EXPECT_EQ(parse_all("\xEF\xBB\xBFtext,label\na,1\n"), (Rows{{"text", "label"}, {"a", "1"}}));
}

TEST(CsvReader, NoTrailingNewlineAndBlankLines) {
  EXPECT_EQ(parse_all("text,label\n\na,1\n\n\nb,0"), (Rows{{"text", "label"}, {"a", "1"}, {"b", "0"}}));
}

TEST(CsvReader, EmptyFieldsAndQuotedEmptyField) {
  EXPECT_EQ(parse_all("text,label\n,1\n\"\",0\n"), (Rows{{"text", "label"}, {"", "1"}, {"", "0"}}));
}

TEST(CsvReader, QuoteInsideUnquotedFieldIsLiteralLikePythonCsv) {
  EXPECT_EQ(parse_all("text,label\n5\" screen,1\n"), (Rows{{"text", "label"}, {"5\" screen", "1"}}));
}

TEST(CsvReader, EmptyFileIsAnError) {
  EXPECT_NE(error_of("").find("test.csv: the file is empty"), std::string::npos);
  EXPECT_NE(error_of("\n\n").find("the file is empty"), std::string::npos);
}

TEST(CsvReader, RaggedRowNamesItsLine) {
  const std::string msg = error_of("text,label\na,1\nb,0,extra\n");
  EXPECT_NE(msg.find("test.csv: line 3: row has 3 fields but the header has 2"), std::string::npos) << msg;
  EXPECT_NE(error_of("text,label\nonly\n").find("line 2: row has 1 field but"), std::string::npos);
}

TEST(CsvReader, UnbalancedQuoteNamesTheLineWhereTheRecordStarts) {
  const std::string msg = error_of("text,label\na,1\n\"never closed,1\nmore,0\n");
  EXPECT_NE(msg.find("line 3: field 1 opens a quote that is never closed"), std::string::npos) << msg;
}

TEST(CsvReader, TextAfterClosingQuoteIsAnError) {
  const std::string msg = error_of("text,label\n\"abc\"def,1\n");
  EXPECT_NE(msg.find("line 2: unexpected character after the closing quote of field 1"), std::string::npos) << msg;
}

TEST(CsvReader, InvalidUtf8NamesLineAndField) {
  const std::string msg = error_of("text,label\ngood,1\nbad \xFF byte,0\n");
  EXPECT_NE(msg.find("line 3: field 1 is not valid UTF-8 (byte 5 of the field)"), std::string::npos) << msg;
}

TEST(CsvReader, DuplicateHeaderColumn) {
  EXPECT_NE(error_of("text,text\na,b\n").find("column 'text' appears twice"), std::string::npos);
}

TEST(CsvReader, TenMegabyteFieldParses) {
  const std::string big(10u << 20, 'x');
  const auto rows = parse_all("text,label\n\"" + big + "\",1\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0].size(), big.size());
}

TEST(CsvReader, FieldOverTheLimitIsAnError) {
  CsvOptions small;
  small.max_field_bytes = 1000;
  const std::string msg = error_of("text,label\n" + std::string(1001, 'y') + ",1\n", small);
  EXPECT_NE(msg.find("line 2: field 1 is longer than the limit of 1000 bytes"), std::string::npos) << msg;
}

TEST(CsvReader, ColumnsAreFoundByHeaderName) {
  std::istringstream in("label,id,text\n1,7,hello\n");
  CsvReader reader(in, "t.csv");
  EXPECT_EQ(reader.column("text"), 2u);
  EXPECT_EQ(reader.column("label"), 0u);
  try {
    reader.column("sentence");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no column named 'sentence' in the header (columns: 'label', 'id', 'text')"),
              std::string::npos)
        << e.what();
  }
}

class LabelledCsvFile : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& content) {
    path_ = std::filesystem::temp_directory_path() /
            ("docquant_csv_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv");
    std::ofstream(path_, std::ios::binary) << content;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(LabelledCsvFile, ReadsTextAndLabelInAnyColumnOrder) {
  const auto rows = read_labelled_csv(write("label,text\npos,\"good, very\"\nneg,bad\n"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text, "good, very");
  EXPECT_EQ(rows[0].label, "pos");
  EXPECT_EQ(rows[1].line, 3u);
}

TEST_F(LabelledCsvFile, MissingLabelColumn) {
  EXPECT_THROW(
      {
        try {
          read_labelled_csv(write("text,category\na,1\n"));
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("no column named 'label'"), std::string::npos);
          throw;
        }
      },
      InputError);
}

TEST_F(LabelledCsvFile, MissingTextColumn) {
  EXPECT_THROW(read_labelled_csv(write("sentence,label\na,1\n")), InputError);
}

TEST_F(LabelledCsvFile, HeaderOnlyIsAnError) {
  try {
    read_labelled_csv(write("text,label\n"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("has a header but no data rows"), std::string::npos) << e.what();
  }
}

TEST_F(LabelledCsvFile, EmptyLabelNamesTheLine) {
  try {
    read_labelled_csv(write("text,label\na,1\nb,\n"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("line 3: the 'label' field is empty"), std::string::npos) << e.what();
  }
}

TEST(ReadLabelledCsv, MissingFileNamesThePath) {
  try {
    read_labelled_csv("/nonexistent/dir/data.csv");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/data.csv: cannot open"), std::string::npos);
  }
}

// Every row of the real data in ../shared parses (skips only when shared/ is absent).
TEST(ReadLabelledCsv, RealSharedData) {
  const char* env = std::getenv("DOCQUANT_SHARED");
  const std::filesystem::path shared = env ? env : DOCQUANT_SOURCE_DIR "/../shared";
  if (!std::filesystem::exists(shared / "data")) GTEST_SKIP() << "no " << shared << "/data";
  const std::pair<const char*, std::size_t> files[] = {{"sst2_train.csv", 6920}, {"sst2_dev.csv", 872},
                                                       {"sst2_test.csv", 1821},  {"trec6_train.csv", 5452},
                                                       {"trec6_test.csv", 500},  {"sms_spam.csv", 5574}};
  for (const auto& [name, expected_rows] : files) {
    EXPECT_EQ(read_labelled_csv(shared / "data" / name).size(), expected_rows) << name;
  }
}

}  // namespace
}  // namespace docquant
