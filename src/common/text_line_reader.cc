#include "text_line_reader.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "docquant/error.h"
#include "file_util.h"
#include "text_util.h"

namespace docquant {

namespace fs = std::filesystem;

TextLineReader TextLineReader::open(const fs::path& path) {
  if (input_path_type(path) == fs::file_type::directory) {
    throw InputError(fmt::format("{}: is a folder, expected a text file with one text per line", path.string()));
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw InputError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  return TextLineReader(f, path.string(), true);
}

TextLineReader TextLineReader::standard_input() { return TextLineReader(stdin, "<stdin>", false); }

TextLineReader::TextLineReader(std::FILE* file, std::string source, bool owned)
    : file_(file), source_(std::move(source)), owned_(owned), buffer_(1u << 20) {}

TextLineReader::TextLineReader(TextLineReader&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      source_(std::move(other.source_)),
      owned_(std::exchange(other.owned_, false)),
      buffer_(std::move(other.buffer_)),
      pos_(other.pos_),
      end_(other.end_),
      line_no_(other.line_no_) {}

TextLineReader::~TextLineReader() {
  if (owned_ && file_) std::fclose(file_);
}

void TextLineReader::read(std::vector<std::string>& out, std::size_t max) {
  std::string line;
  while (out.size() < max && next(line)) out.push_back(std::move(line));
}

bool TextLineReader::next(std::string& line) {
  line.clear();
  for (;;) {
    if (pos_ == end_ && !fill()) return !line.empty() && finish(line);  // a last line without '\n'
    const char* start = buffer_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
    const std::size_t n = nl ? static_cast<std::size_t>(nl - start) : end_ - pos_;
    if (line.size() + n > kMaxLineBytes) {
      throw InputError(fmt::format("{}: line {} is longer than {} MiB; split it or pass a CSV", source_, line_no_ + 1,
                                   kMaxLineBytes >> 20));
    }
    line.append(start, n);
    pos_ += n;
    if (nl) {
      ++pos_;
      return finish(line);
    }
  }
}

bool TextLineReader::fill() {
  pos_ = 0;
  end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
  if (end_ == 0 && std::ferror(file_)) {
    throw InputError(fmt::format("{}: read error: {}", source_, std::strerror(errno)));
  }
  return end_ > 0;
}

bool TextLineReader::finish(std::string& line) {
  ++line_no_;
  if (line_no_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (const auto bad = find_invalid_utf8(line)) {
    throw InputError(fmt::format("{}: line {}: invalid UTF-8 at byte {} of the line", source_, line_no_, *bad));
  }
  return true;
}

}  // namespace docquant
