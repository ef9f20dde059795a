#include "staged_file.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
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

fs::path resolved(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : abs;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

}  // namespace

const fs::path* overlapping_input(const fs::path& output, const std::vector<fs::path>& inputs) {
  const fs::path out = resolved(output);
  for (const auto& input : inputs) {
    if (input.empty()) continue;
    const fs::path in = resolved(input);
    std::error_code ec;
    if (out == in || (is_within(out, in) && fs::is_directory(in, ec)) || is_within(in, out) ||
        fs::equivalent(output, input, ec)) {
      return &input;
    }
  }
  return nullptr;
}

void StagedFile::check_target(const fs::path& target, std::string_view option, const std::vector<fs::path>& inputs) {
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    throw OutputError(fmt::format("{}: {} names a folder, not a file", target.string(), option));
  }
  if (const fs::path* input = overlapping_input(target, inputs)) {
    throw OutputError(fmt::format("{}: {} would overwrite or write into the input '{}'; choose another file",
                                  target.string(), option, input->string()));
  }
  // The path as given: in a working folder deeper than PATH_MAX a relative one still works.
  if (!fs::is_directory(target.has_parent_path() ? target.parent_path() : fs::path("."), ec)) {
    throw OutputError(fmt::format("{}: {}: folder '{}' does not exist", target.string(), option,
                                  fs::absolute(target).lexically_normal().parent_path().string()));
  }
}

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

StagedFile::StagedFile() : name_("<stdout>"), fd_(STDOUT_FILENO), stream_(true) {}

StagedFile::StagedFile(const fs::path& target) : name_(target.string()), target_(target) {
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

StagedFile::~StagedFile() { discard(); }

void StagedFile::discard() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) {
    std::error_code ec;
    fs::remove(temp_, ec);
    temp_.clear();
  }
}

void StagedFile::fail(int error) const {
  throw OutputError(fmt::format("{}: cannot write: {}", name_, std::strerror(error)));
}

bool StagedFile::reader_gone() const {
  if (!stream_ || fd_ < 0) return false;
  pollfd p{fd_, POLLOUT, 0};
  // A pipe without readers polls as POLLERR; a regular file or a device never does.
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

void StagedFile::write(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void StagedFile::commit() {
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

void write_staged_file(const fs::path& target, std::string_view bytes) {
  StagedFile out(target);
  out.write(bytes);
  out.commit();
}

}  // namespace docquant
