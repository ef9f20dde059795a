#include "text_rows.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>

#include "csv.h"
#include "docquant/error.h"
#include "text_line_reader.h"

namespace docquant {

namespace {

constexpr const char* kUnlabelledHint =
    "for an unlabelled run, where fp32's answers are the labels and the criterion is agreement, pass "
    "--label_column '' (Python: label_column=None)";

TextRows read_lines(const std::filesystem::path& path) {
  TextRows rows;
  TextLineReader reader = TextLineReader::open(path);
  rows.source = reader.source();
  std::string line;
  for (std::size_t n = 1; reader.next(line); ++n) {
    if (line.empty()) continue;
    rows.texts.push_back(std::move(line));
    rows.lines.push_back(n);
  }
  if (rows.texts.empty()) throw InputError(fmt::format("{}: has no texts (every line is blank)", rows.source));
  return rows;
}

TextRows read_csv(const std::filesystem::path& path, const std::string& text_column, const std::string& label_column,
                  bool label_sets) {
  TextRows rows;
  CsvReader reader = CsvReader::open(path);
  rows.source = reader.source();
  const std::size_t text_index = reader.column(text_column);
  const auto& header = reader.header();
  const bool has_label = !label_column.empty() &&
                         std::find(header.begin(), header.end(), label_column) != header.end();
  if (!label_column.empty() && !has_label && header.size() > 1) {
    try {
      reader.column(label_column);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}; name the label column with --label_column, or {}", e.what(), kUnlabelledHint));
    }
  }
  const std::size_t label_index = has_label ? reader.column(label_column) : 0;
  CsvRecord record;
  while (reader.next(record)) {
    if (has_label && record.fields[label_index].empty() && !label_sets) {
      throw InputError(fmt::format("{}: line {}: the '{}' field is empty; label every row, or {}", rows.source,
                                   record.line, label_column, kUnlabelledHint));
    }
    if (has_label) rows.labels.push_back(std::move(record.fields[label_index]));
    rows.texts.push_back(std::move(record.fields[text_index]));
    rows.lines.push_back(record.line);
  }
  if (rows.texts.empty()) throw InputError(fmt::format("{}: has a header but no data rows", rows.source));
  return rows;
}

}  // namespace

bool is_text_lines_file(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".txt";
}

TextRows read_text_rows(const std::filesystem::path& path, const std::string& text_column,
                        const std::string& label_column, bool label_sets) {
  return is_text_lines_file(path) ? read_lines(path) : read_csv(path, text_column, label_column, label_sets);
}

TextRows text_rows_from_memory(std::vector<std::string> texts, std::string source) {
  if (texts.empty()) throw InputError(fmt::format("{}: no texts", source));
  TextRows rows;
  rows.source = std::move(source);
  rows.texts = std::move(texts);
  for (std::size_t i = 0; i < rows.texts.size(); ++i) rows.lines.push_back(i + 1);
  return rows;
}

}  // namespace docquant
