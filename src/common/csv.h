#pragma once
// A streaming RFC 4180 CSV reader for docquant's `text,label` files.
//
// Accepts: quoted fields with commas, doubled quotes and embedded newlines; LF,
// CRLF or lone CR line ends; a UTF-8 byte-order mark; blank lines (skipped).
// Like Python's csv module, a quote inside an unquoted field is kept literally.
// Refuses, with the file name and the line number where the record starts:
// a ragged row, an unterminated quoted field, characters after a closing quote,
// invalid UTF-8, a field over the size limit, an empty file, duplicate or
// missing columns. Reads in constant memory (one record at a time).
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text_util.h"

namespace docquant {

struct CsvOptions {
  std::size_t max_field_bytes = kMaxTextBytes;  // 32 MiB (text_util.h)
  // read_labelled_csv: keep an empty label (a multi-label head's empty label set) instead of
  // refusing it.
  bool empty_labels = false;
};

struct CsvRecord {
  std::vector<std::string> fields;
  std::size_t line = 0;  // 1-based line on which the record starts
};

class CsvReader {
 public:
  // Reads from `in`; `source` names it in error messages (a path, or "<stdin>").
  CsvReader(std::istream& in, std::string source, CsvOptions options = {});
  // Opens `path`; throws InputError when it cannot be opened.
  static CsvReader open(const std::filesystem::path& path, CsvOptions options = {});

  CsvReader(CsvReader&&) noexcept;
  CsvReader& operator=(CsvReader&&) noexcept;
  ~CsvReader();

  const std::vector<std::string>& header() const { return header_; }
  const std::string& source() const { return source_; }
  // Index of the column named `name`; throws InputError naming the columns present.
  std::size_t column(std::string_view name) const;
  // Reads the next data record into `out`; false at end of input.
  bool next(CsvRecord& out);

 private:
  bool read_record(CsvRecord& out);
  int get();
  int peek();

  std::unique_ptr<std::ifstream> owned_;
  std::istream* in_;
  std::string source_;
  CsvOptions options_;
  std::vector<std::string> header_;
  std::size_t line_ = 1;
  bool at_start_ = true;
};

// One labelled example and where it came from.
struct LabelledText {
  std::string text;
  std::string label;
  std::size_t line = 0;
};

// Reads every row of a CSV with a text and a label column found by header name.
// Throws InputError for a missing column, no data rows, or an empty label (unless
// options.empty_labels).
std::vector<LabelledText> read_labelled_csv(const std::filesystem::path& path,
                                            std::string_view text_column = "text",
                                            std::string_view label_column = "label",
                                            CsvOptions options = {});

// Throws InputError when `path` exists but is neither a regular file nor a folder (a
// pipe, /dev/stdin, a device): for readers that read a CSV more than once (quantize reads
// its calibration data for the class check, the tokens and the input's sha256).
void require_rereadable_csv(const std::filesystem::path& path);

}  // namespace docquant
