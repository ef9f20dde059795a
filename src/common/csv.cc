#include "csv.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <unordered_set>

#include "docquant/error.h"
#include "file_util.h"
#include "text_util.h"

namespace docquant {

namespace {
constexpr int kEof = std::char_traits<char>::eof();
}

CsvReader::CsvReader(std::istream& in, std::string source, CsvOptions options)
    : in_(&in), source_(std::move(source)), options_(options) {
  CsvRecord header;
  if (!read_record(header)) {
    throw InputError(fmt::format("{}: the file is empty; expected a header line such as 'text,label'", source_));
  }
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    if (!seen.insert(header.fields[i]).second) {
      throw InputError(fmt::format("{}: line {}: column '{}' appears twice in the header", source_, header.line,
                                   header.fields[i]));
    }
  }
  header_ = std::move(header.fields);
}

CsvReader CsvReader::open(const std::filesystem::path& path, CsvOptions options) {
  if (input_path_type(path) == std::filesystem::file_type::directory) {
    throw InputError(fmt::format("{}: is a folder, expected a CSV file", path.string()));
  }
  auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*file) {
    throw InputError(fmt::format("{}: cannot open the CSV file (does it exist and is it readable?)", path.string()));
  }
  CsvReader reader(*file, path.string(), options);
  reader.owned_ = std::move(file);
  return reader;
}

void require_rereadable_csv(const std::filesystem::path& path) {
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::regular || type == std::filesystem::file_type::directory ||
      type == std::filesystem::file_type::not_found || type == std::filesystem::file_type::none) {
    return;  // a folder or a missing file is reported when the file is opened
  }
  throw InputError(fmt::format("{}: is a pipe or a device, not a regular file; quantize reads the calibration data "
                               "more than once, so save the rows to a file and pass that",
                               path.string()));
}

CsvReader::CsvReader(CsvReader&&) noexcept = default;
CsvReader& CsvReader::operator=(CsvReader&&) noexcept = default;
CsvReader::~CsvReader() = default;

std::size_t CsvReader::column(std::string_view name) const {
  auto it = std::find(header_.begin(), header_.end(), name);
  if (it == header_.end()) {
    std::string present;
    for (const auto& h : header_) present += (present.empty() ? "'" : ", '") + h + "'";
    throw InputError(fmt::format("{}: no column named '{}' in the header (columns: {})", source_, name, present));
  }
  return static_cast<std::size_t>(it - header_.begin());
}

int CsvReader::get() { return in_->rdbuf()->sbumpc(); }
int CsvReader::peek() { return in_->rdbuf()->sgetc(); }

bool CsvReader::next(CsvRecord& out) {
  if (!read_record(out)) return false;
  if (out.fields.size() != header_.size()) {
    throw InputError(fmt::format("{}: line {}: row has {} field{} but the header has {} ({}); quote fields that "
                                 "contain commas",
                                 source_, out.line, out.fields.size(), out.fields.size() == 1 ? "" : "s",
                                 header_.size(), fmt::format("{}", fmt::join(header_, ","))));
  }
  return true;
}

// Reads one record; skips blank lines; false at end of input.
bool CsvReader::read_record(CsvRecord& out) {
  out.fields.clear();
  if (at_start_) {
    at_start_ = false;
    // A UTF-8 byte-order mark (EF BB BF) at the very start is not part of the header.
    if (peek() == 0xEF) {
      std::string bom;
      for (int i = 0; i < 3 && peek() != kEof; ++i) bom.push_back(static_cast<char>(get()));
      if (bom != "\xEF\xBB\xBF") {
        throw InputError(fmt::format("{}: line 1: invalid UTF-8 at the start of the file", source_));
      }
    }
  }
  // Skip blank lines between records.
  for (;;) {
    int c = peek();
    if (c == kEof) return false;
    if (c == '\n') {
      get();
      ++line_;
    } else if (c == '\r') {
      get();
      if (peek() == '\n') get();
      ++line_;
    } else {
      break;
    }
  }
  out.line = line_;
  std::string field;
  const auto finish_field = [&] {
    if (auto bad = find_invalid_utf8(field)) {
      throw InputError(fmt::format("{}: line {}: field {} is not valid UTF-8 (byte {} of the field); save the file as "
                                   "UTF-8",
                                   source_, out.line, out.fields.size() + 1, *bad + 1));
    }
    out.fields.push_back(std::move(field));
    field.clear();
  };
  const auto append = [&](int c) {
    if (field.size() >= options_.max_field_bytes) {
      throw InputError(fmt::format("{}: line {}: field {} is longer than the limit of {} bytes", source_, out.line,
                                   out.fields.size() + 1, options_.max_field_bytes));
    }
    field.push_back(static_cast<char>(c));
  };

  for (;;) {
    int c = get();
    if (c == '"' && field.empty()) {
      // Quoted field: runs to the next lone quote; "" is a literal quote.
      for (;;) {
        c = get();
        if (c == kEof) {
          throw InputError(fmt::format("{}: line {}: field {} opens a quote that is never closed", source_, out.line,
                                       out.fields.size() + 1));
        }
        if (c == '"') {
          if (peek() == '"') {
            get();
            append('"');
            continue;
          }
          break;
        }
        if (c == '\n' || (c == '\r' && peek() != '\n')) ++line_;
        append(c);
      }
      c = get();
      if (c != ',' && c != '\n' && c != '\r' && c != kEof) {
        throw InputError(fmt::format("{}: line {}: unexpected character after the closing quote of field {}; double "
                                     "quotes inside a quoted field must be written twice (\"\")",
                                     source_, line_, out.fields.size() + 1));
      }
    } else if (c != ',' && c != '\n' && c != '\r' && c != kEof) {
      append(c);
      continue;
    }
    // c ends the field: ',', a line end or end of input.
    finish_field();
    if (c == ',') continue;
    if (c == '\r' && peek() == '\n') get();
    if (c != kEof) ++line_;
    return true;
  }
}

std::vector<LabelledText> read_labelled_csv(const std::filesystem::path& path, std::string_view text_column,
                                            std::string_view label_column, CsvOptions options) {
  CsvReader reader = CsvReader::open(path, options);
  const std::size_t text_index = reader.column(text_column);
  const std::size_t label_index = reader.column(label_column);
  std::vector<LabelledText> rows;
  CsvRecord record;
  while (reader.next(record)) {
    if (record.fields[label_index].empty() && !options.empty_labels) {
      throw InputError(fmt::format("{}: line {}: the '{}' field is empty", reader.source(), record.line, label_column));
    }
    rows.push_back({std::move(record.fields[text_index]), std::move(record.fields[label_index]), record.line});
  }
  if (rows.empty()) {
    throw InputError(fmt::format("{}: has a header but no data rows", reader.source()));
  }
  return rows;
}

}  // namespace docquant
