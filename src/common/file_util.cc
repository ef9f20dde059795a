#include "file_util.h"

#include <fmt/core.h>
#include <openssl/evp.h>

#include <array>
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
