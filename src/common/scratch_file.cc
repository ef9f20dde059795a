#include "scratch_file.h"

#include <fmt/core.h>

#include <utility>

#include "docquant/error.h"

namespace docquant {

ScratchFile::ScratchFile(ScratchFile&& other) noexcept : path_(std::exchange(other.path_, {})) {}

ScratchFile& ScratchFile::operator=(ScratchFile&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void ScratchFile::rename_to(const std::filesystem::path& to) {
  std::error_code ec;
  std::filesystem::rename(path_, to, ec);
  if (ec) throw OutputError(fmt::format("{}: cannot rename it to {}: {}", path_.string(), to.string(), ec.message()));
  path_.clear();
}

void ScratchFile::remove() noexcept {
  if (path_.empty()) return;
  std::error_code ec;  // a leftover goes with the staged folder
  std::filesystem::remove(path_, ec);
  path_.clear();
}

}  // namespace docquant
