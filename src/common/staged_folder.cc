#include "staged_folder.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "docquant/error.h"
#include "staged_file.h"

namespace docquant {

namespace fs = std::filesystem;

namespace {

fs::path absolute_normal(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : abs;
}

// Whether a run is still writing a temporary folder: each run holds an exclusive flock(2)
// on its folder from creation to commit, so a lock that can be taken belongs to no run (a
// killed one), whatever process now has its pid; within one process two runs conflict too
// (flock locks belong to an open file description). Returns a descriptor holding the lock
// (-1 when another run holds it, or the folder cannot be opened).
int try_lock_folder(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The pid in a temporary folder's name, OUT.docquant-tmp-<pid>-<run>[.old] (older
// versions wrote OUT.docquant-tmp-<pid>[.old]): for messages only.
long pid_in_name(const std::string& suffix) { return std::strtol(suffix.c_str(), nullptr, 10); }

// Removes temporary siblings of `target` that no run holds: OUT.docquant-tmp-<pid>-<run> (a
// result never committed) and its .old sibling (the previous OUT, moved aside by commit()
// just before a kill). When OUT itself is then missing, the .old folder is the user's
// previous output: it is moved back, not removed. Returns the pid of a run still writing
// `target` (one whose temporary folder is locked), or 0 when there is none.
long remove_stale_staging(const fs::path& target) {
  std::error_code ec;
  const std::string prefix = target.filename().string() + StagedFolder::kTempMarker;
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::vector<fs::path> stale, old;
  long live_writer = 0;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (name.ends_with(".old")) {
      // Its run's own folder is gone once commit() renamed it to OUT; a live run removes
      // its .old itself right after, so removing it here too is harmless.
      old.push_back(entry.path());
      continue;
    }
    const int fd = try_lock_folder(entry.path());
    if (fd < 0) {
      live_writer = std::max(pid_in_name(name.substr(prefix.size())), 1L);
      continue;
    }
    fs::remove_all(entry.path(), ec);  // under its lock: no run can take it meanwhile
    ::close(fd);
  }
  for (const auto& p : old) {
    if (!fs::exists(target, ec)) {
      fs::rename(p, target, ec);
      if (!ec) continue;
    }
    fs::remove_all(p, ec);
  }
  return live_writer;
}

// Runs in this process get distinct temporary folders (two threads quantizing into one OUT).
std::atomic<std::uint64_t> next_run{0};
// Checking for other runs and creating this run's folder happen as one step within a
// process, so of two runs started together in it exactly one goes on.
std::mutex staging_mutex;

// rename(2) that fails with EEXIST when `to` exists, rather than replacing an empty folder.
bool rename_no_replace(const fs::path& from, const fs::path& to, std::error_code& ec) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EINVAL || errno == ENOSYS) {  // a file system without RENAME_NOREPLACE
    if (!fs::exists(fs::symlink_status(to, ec))) {
      fs::rename(from, to, ec);
      return !ec;
    }
    errno = EEXIST;
  }
  ec = std::error_code(errno, std::generic_category());
  return false;
}

}  // namespace

StagedFolder::Identity StagedFolder::identity_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return {};
  return {true, static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

StagedFolder::StagedFolder(fs::path target, bool overwrite, const std::vector<fs::path>& inputs)
    : target_(absolute_normal(target)), path_(target.lexically_normal()), overwrite_(overwrite) {
  if (path_.has_parent_path() && path_.filename().empty()) path_ = path_.parent_path();  // "OUT/"
  std::error_code ec;
  // An input folder must neither contain the output nor lie inside it; an input file
  // must not lie inside it (the output may sit beside a file, e.g. next to the CSV).
  if (const fs::path* input = overlapping_input(target, inputs)) {
    throw OutputError(fmt::format("{}: the output folder overlaps the input '{}'; choose an output folder outside "
                                  "the inputs (they are never modified)",
                                  target.string(), input->string()));
  }
  std::lock_guard<std::mutex> lock(staging_mutex);
  // First, so that an output a killed run moved aside is back before OUT is checked.
  if (const long writer = remove_stale_staging(path_)) {
    throw OutputError(fmt::format("{}: another run is writing this output folder ({}); wait for it to finish or "
                                  "choose another output folder",
                                  target.string(),
                                  writer == ::getpid() ? "in this process" : fmt::format("docquant, pid {}", writer)));
  }
  if (fs::exists(path_, ec)) {
    if (!fs::is_directory(path_, ec)) {
      throw OutputError(fmt::format("{}: exists and is not a folder", target.string()));
    }
    if (!fs::is_empty(path_, ec) && !overwrite_) {
      throw OutputError(fmt::format("{}: exists and is not empty; pass --overwrite to replace it", target.string()));
    }
  }
  // The path as given, not made absolute: in a working folder deeper than PATH_MAX a
  // relative OUT still works.
  const fs::path parent = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec || ::access(parent.c_str(), W_OK) != 0) {
    const std::string why = ec ? ec.message() : std::strerror(errno);
    throw OutputError(
        fmt::format("{}: cannot write in folder '{}': {}", target.string(), target_.parent_path().string(), why));
  }
  // What OUT is now: commit() refuses to replace anything else (another run's result).
  found_ = identity_of(path_);
  staging_ = parent / fmt::format("{}{}{}-{}", path_.filename().string(), kTempMarker, ::getpid(), next_run++);
  if (!fs::create_directory(staging_, ec)) {
    throw OutputError(fmt::format("{}: cannot create temporary folder '{}': {}", target.string(), staging_.string(),
                                  ec ? ec.message() : "it exists"));
  }
  lock_fd_ = try_lock_folder(staging_);
  if (lock_fd_ < 0) {
    const std::string why = std::strerror(errno);
    fs::remove_all(staging_, ec);
    throw OutputError(fmt::format("{}: cannot lock temporary folder '{}': {}", target.string(), staging_.string(), why));
  }
}

StagedFolder::~StagedFolder() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
  ::close(lock_fd_);
}

void StagedFolder::commit() {
  std::error_code ec;
  const Identity now = identity_of(path_);
  if (!found_.exists && now.exists) {
    throw OutputError(fmt::format("{}: appeared while this run was working (another docquant run writing the same "
                                  "output folder?); this run's result was not written",
                                  target_.string()));
  }
  if (found_.exists && !(now == found_)) {
    throw OutputError(fmt::format("{}: was replaced or removed while this run was working (another docquant run "
                                  "writing the same output folder?); this run's result was not written",
                                  target_.string()));
  }
  if (now.exists && !overwrite_) {
    // Empty when checked; rmdir fails if anything has been written into it since.
    if (::rmdir(path_.c_str()) != 0) {
      throw OutputError(fmt::format("{}: appeared while this run was working (another docquant run writing the "
                                    "same output folder?); this run's result was not written",
                                    target_.string()));
    }
  }
  if (now.exists && overwrite_) {
    // Checked in the constructor; move it aside, then swap in.
    const fs::path old = staging_.string() + ".old";
    fs::rename(path_, old, ec);
    if (ec) throw OutputError(fmt::format("{}: cannot replace it: {}", target_.string(), ec.message()));
    if (!rename_no_replace(staging_, path_, ec)) {
      std::error_code ignored;
      fs::rename(old, path_, ignored);
      throw OutputError(fmt::format("{}: cannot move the result into place: {}", target_.string(), ec.message()));
    }
    fs::remove_all(old, ec);
  } else if (!rename_no_replace(staging_, path_, ec)) {
    if (ec == std::errc::file_exists || ec == std::errc::directory_not_empty) {
      throw OutputError(fmt::format("{}: appeared while this run was working (another docquant run writing the "
                                    "same output folder?); this run's result was not written",
                                    target_.string()));
    }
    throw OutputError(fmt::format("{}: cannot move the result into place: {}", target_.string(), ec.message()));
  }
  committed_ = true;
}

}  // namespace docquant
