#pragma once
// An output folder that appears whole or not at all: files are written into a
// temporary sibling folder, which commit() renames into place. Destroying an
// uncommitted StagedFolder removes the temporary folder, OUT.docquant-tmp-<pid>-<run>, which
// its run holds locked (flock) until then. One left by a killed run (so no longer locked) is
// removed by the next run on the same output. Two runs on one output, in one process or
// two: the second to start fails at once while the first is writing; when both started
// together in two processes, the second to finish fails instead of replacing the first's
// result.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace docquant {

class StagedFolder {
 public:
  // Throws OutputError when `target` exists and is not an empty folder (unless
  // `overwrite`), when its parent folder cannot be created or written, when
  // `target` lies inside an input folder, equals an input, or contains one, or when
  // another run (in this process or another) is writing `target`: "<target>: another run
  // is writing this output folder (…)".
  StagedFolder(std::filesystem::path target, bool overwrite, const std::vector<std::filesystem::path>& inputs);
  StagedFolder(const StagedFolder&) = delete;
  StagedFolder& operator=(const StagedFolder&) = delete;
  ~StagedFolder();

  // Where to write the files until commit().
  const std::filesystem::path& dir() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }
  // Moves the staged folder to the target (replacing an existing one when allowed).
  // Throws OutputError, leaving the target alone, when the target appeared, changed or
  // was written into since the constructor looked at it.
  void commit();

  // The prefix temporary folders get, for cleanup and for tests.
  static constexpr const char* kTempMarker = ".docquant-tmp-";

 private:
  std::filesystem::path target_;  // absolute, links resolved: compared with the inputs
  std::filesystem::path path_;    // as given: used for every file system call
  std::filesystem::path staging_;
  bool overwrite_;
  bool committed_ = false;
  int lock_fd_ = -1;  // holds the flock on staging_ (on OUT once committed) until destruction
  // What the target was when the constructor looked (lstat's device and inode).
  struct Identity {
    bool exists = false;
    std::uint64_t dev = 0, ino = 0;
    bool operator==(const Identity&) const = default;
  };
  static Identity identity_of(const std::filesystem::path& p);
  Identity found_;
};

}  // namespace docquant
