#include "file_util.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

#include "docquant/error.h"

namespace docquant {

namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw InternalError("sha256: OpenSSL init failed");
  }
  void update(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest.data(), &len);
    std::string out;
    for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

std::filesystem::file_type input_path_type(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    throw InputError(fmt::format("{}: {}", path.string(), ec.message()));
  }
  return ec ? std::filesystem::file_type::not_found : status.type();
}

int open_regular_file(const std::filesystem::path& file, std::uintmax_t max_bytes, std::string_view what,
                      std::uintmax_t& size) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) throw InputError(fmt::format("{}: no such file", file.string()));
    throw InputError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(error)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw InputError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(error)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) throw InputError(fmt::format("{}: is a folder, not a file", file.string()));
    const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO (named pipe)"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "not a regular file";
    throw InputError(fmt::format("{}: is {}, not a regular file; {} is read only from regular files", file.string(),
                                 kind, what));
  }
  size = static_cast<std::uintmax_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    throw InputError(fmt::format("{}: {} bytes, more than the {}-byte limit for {} (a wrong or corrupt file?)",
                                 file.string(), size, max_bytes, what));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::string read_regular_file(const std::filesystem::path& file, std::uintmax_t max_bytes, std::string_view what) {
  std::uintmax_t size = 0;
  const int fd = open_regular_file(file, max_bytes, what, size);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : 0;
      ::close(fd);
      throw InputError(fmt::format("{}: read failed: {}", file.string(),
                                   error ? std::strerror(error) : "the file shrank while it was read"));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return bytes;
}

std::string sha256_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", file.string()));
  Sha256 h;
  std::array<char, 1 << 16> buf{};
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) h.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  if (in.bad()) throw InputError(fmt::format("{}: read failed", file.string()));
  return h.hex();
}

std::string sha256_bytes(const std::string& bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

void write_file_checked(const std::filesystem::path& to, const std::string& bytes) {
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) throw OutputError(fmt::format("{}: cannot create the file", to.string()));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw OutputError(fmt::format("{}: write failed (disk full?)", to.string()));
}

void copy_file_checked(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", from.string()));
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) throw OutputError(fmt::format("{}: cannot create the file", to.string()));
  out << in.rdbuf();
  out.flush();
  if (!out) throw OutputError(fmt::format("{}: write failed (disk full?)", to.string()));
}

}  // namespace docquant
