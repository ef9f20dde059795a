#pragma once
// Texts from a file with one text per line (classify, bench and tokenize read them alike):
// LF or CRLF line ends, a UTF-8 byte-order mark skipped, blank lines kept as empty texts
// (so text N is line N), a last line without '\n' kept. Each line must be valid UTF-8 and at
// most kMaxLineBytes long. Read in blocks: memory stays bounded on any input size.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "text_util.h"

namespace docquant {

class TextLineReader {
 public:
  static constexpr std::size_t kMaxLineBytes = kMaxTextBytes;  // 32 MiB, as a CSV field (text_util.h)

  // Opens `path`. Throws InputError "<path>: is a folder, expected a text file with one text
  // per line", "<path>: cannot open: <reason>", or (input_path_type) "<path>: <reason>".
  static TextLineReader open(const std::filesystem::path& path);
  // Standard input, named "<stdin>" in errors.
  static TextLineReader standard_input();

  TextLineReader(TextLineReader&& other) noexcept;
  TextLineReader& operator=(TextLineReader&&) = delete;
  TextLineReader(const TextLineReader&) = delete;
  TextLineReader& operator=(const TextLineReader&) = delete;
  ~TextLineReader();

  // The next line into `line`; false at the end of the input. Throws InputError
  // "<source>: line N is longer than 32 MiB; split it or pass a CSV", "<source>: line N:
  // invalid UTF-8 at byte B of the line" or "<source>: read error: <reason>".
  bool next(std::string& line);
  // Appends up to `max` lines to `out` (none at the end of the input).
  void read(std::vector<std::string>& out, std::size_t max);
  // The file as named in errors ("<stdin>" for standard input).
  const std::string& source() const { return source_; }

 private:
  TextLineReader(std::FILE* file, std::string source, bool owned);
  bool fill();
  bool finish(std::string& line);

  std::FILE* file_;
  std::string source_;
  bool owned_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, end_ = 0, line_no_ = 0;
};

}  // namespace docquant
