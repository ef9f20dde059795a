#include "output_file.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "docquant/error.h"
#include "staged_folder.h"

namespace docquant {

namespace fs = std::filesystem;

namespace {

// True when `path` or a link on the way to its file is under /proc or /dev/fd (/dev/stdout,
// /proc/self/fd/1): such a name is an open file of this process, written in place, not
// resolved to a path and replaced.
bool names_open_file(fs::path path) {
  for (int hop = 0; hop < 40; ++hop) {
    const std::string s = path.string();
    if (s.starts_with("/proc/") || s.starts_with("/dev/fd/")) return true;
    std::error_code ec;
    if (!fs::is_symlink(path, ec)) return false;
    const fs::path next = fs::read_symlink(path, ec);
    if (ec) return false;
    path = next.is_absolute() ? next : path.parent_path() / next;
  }
  return false;
}

}  // namespace

int create_exclusive_file(const fs::path& dir, const std::string& prefix, fs::path& path) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 16; ++attempt) {
    path = dir / fmt::format("{}{:012x}", prefix, rng() & 0xffffffffffffULL);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

OutputFile::OutputFile() : name_("<stdout>"), fd_(STDOUT_FILENO), stream_(true) {}

OutputFile::OutputFile(const fs::path& target, std::string name) : name_(std::move(name)), target_(target) {
  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if ((exists && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) || names_open_file(target)) {
    // A FIFO, device or socket, or an open file of this process: written in place.
    fd_ = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | (exists && S_ISREG(st.st_mode) ? O_TRUNC : 0));
    if (fd_ < 0) fail(errno);
    stream_ = true;
    owns_fd_ = true;
    return;
  }
  std::error_code ec;
  if (fs::is_symlink(target, ec)) {
    // Replace the file the link names and keep the link.
    const fs::path real = fs::weakly_canonical(target, ec);
    if (!ec) target_ = real;
  }
  const fs::path dir = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  fd_ = create_exclusive_file(dir, fmt::format("{}{}{}-", target_.filename().string(), StagedFolder::kTempMarker,
                                               ::getpid()),
                              temp_);
  if (fd_ < 0) fail(errno);
  owns_fd_ = true;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) {
    std::error_code ec;
    fs::remove(temp_, ec);
    temp_.clear();
  }
}

void OutputFile::fail(int error) const {
  throw OutputError(fmt::format("{}: cannot write: {}", name_, std::strerror(error)));
}

void OutputFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void OutputFile::commit() {
  if (stream_) {
    if (owns_fd_) {
      const int closed = ::close(fd_);
      fd_ = -1;
      if (closed != 0 && errno != EINTR) fail(errno);
    }
    return;
  }
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) {
    const int error = errno;
    discard();
    fail(error);
  }
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) {
    discard();
    throw OutputError(fmt::format("{}: cannot move the finished file into place: {}", name_, ec.message()));
  }
  temp_.clear();
}

}  // namespace docquant
