#pragma once
// A working file (a model ONNX Runtime reads from disk) inside a staged output folder:
// removed when its owner goes, unless it was renamed into place.
#include <filesystem>

namespace docquant {

class ScratchFile {
 public:
  ScratchFile() = default;
  explicit ScratchFile(std::filesystem::path path) : path_(std::move(path)) {}
  ScratchFile(ScratchFile&& other) noexcept;
  ScratchFile& operator=(ScratchFile&& other) noexcept;
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() { remove(); }

  const std::filesystem::path& path() const { return path_; }
  // Renames the file to `to` (in the same folder), which keeps it. Throws OutputError.
  void rename_to(const std::filesystem::path& to);
  // Removes the file now rather than when the owner goes (a leftover goes with the staged folder).
  void remove() noexcept;

 private:
  std::filesystem::path path_;
};

}  // namespace docquant
