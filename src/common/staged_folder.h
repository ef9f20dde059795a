#pragma once
// An output folder that appears whole or not at all: files are written into a
// temporary sibling folder, which commit() renames into place. Destroying an
// uncommitted StagedFolder removes the temporary folder. A temporary folder left by
// a killed run (its process gone) is removed by the next run on the same output.
#include <filesystem>
#include <vector>

namespace docquant {

class StagedFolder {
 public:
  // Throws OutputError when `target` exists and is not an empty folder (unless
  // `overwrite`), when its parent folder cannot be created or written, or when
  // `target` lies inside an input folder, equals an input, or contains one.
  StagedFolder(std::filesystem::path target, bool overwrite, const std::vector<std::filesystem::path>& inputs);
  StagedFolder(const StagedFolder&) = delete;
  StagedFolder& operator=(const StagedFolder&) = delete;
  ~StagedFolder();

  // Where to write the files until commit().
  const std::filesystem::path& dir() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }
  // Moves the staged folder to the target (replacing an existing one when allowed).
  void commit();

  // The prefix temporary folders get, for cleanup and for tests.
  static constexpr const char* kTempMarker = ".docquant-tmp-";

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool overwrite_;
  bool committed_ = false;
};

}  // namespace docquant
