// Entry points: parse a buffer, read a (possibly compressed) joblib file.
#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>

#include <cstring>
#include <fstream>

#include "file_util.h"
#include "machine.h"

namespace docquant::pickle {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 16;

// Runs a decoder's clean-up on every way out, including the exceptions grow() throws.
template <typename F>
struct Cleanup {
  F f;
  ~Cleanup() { f(); }
};
template <typename F>
Cleanup(F) -> Cleanup<F>;

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw InputError(source + ": " + what);
}

void grow(std::vector<std::uint8_t>& out, std::size_t used, std::size_t cap,
          const std::string& source, const char* kind) {
  if (used < out.size()) return;
  if (used >= cap) {
    fail(source, std::string(kind) + " stream decompresses to more than " + std::to_string(cap) +
                     " bytes (the limit); refusing it");
  }
  out.resize(std::min(cap, std::max(out.size() * 2, used + kChunk)));
}

std::vector<std::uint8_t> inflate_all(std::span<const std::uint8_t> in, int window_bits,
                                      std::size_t cap, const std::string& source, const char* kind) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) fail(source, "cannot start zlib");
  Cleanup end{[&] { inflateEnd(&zs); }};
  std::vector<std::uint8_t> out;
  std::size_t used = 0;
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), UINT32_MAX));
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    grow(out, used, cap, source, kind);
    zs.next_out = out.data() + used;
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - used, UINT32_MAX));
    rc = inflate(&zs, Z_NO_FLUSH);
    used = out.size() - zs.avail_out;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) fail(source, std::string(kind) + " stream is truncated");
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      const std::string msg = zs.msg != nullptr ? zs.msg : "corrupt data";
      fail(source, std::string(kind) + " stream is corrupt: " + msg);
    }
  }
  out.resize(used);
  return out;
}

std::vector<std::uint8_t> unxz_all(std::span<const std::uint8_t> in, bool alone, std::size_t cap,
                                   const std::string& source) {
  lzma_stream s = LZMA_STREAM_INIT;
  const std::uint64_t memlimit = std::uint64_t{256} << 20;
  const lzma_ret init = alone ? lzma_alone_decoder(&s, memlimit)
                              : lzma_stream_decoder(&s, memlimit, LZMA_CONCATENATED);
  if (init != LZMA_OK) fail(source, "cannot start the xz decoder");
  Cleanup end{[&] { lzma_end(&s); }};
  std::vector<std::uint8_t> out;
  std::size_t used = 0;
  s.next_in = in.data();
  s.avail_in = in.size();
  lzma_ret rc = LZMA_OK;
  const char* kind = alone ? "lzma" : "xz";
  while (rc != LZMA_STREAM_END) {
    grow(out, used, cap, source, kind);
    s.next_out = out.data() + used;
    s.avail_out = out.size() - used;
    rc = lzma_code(&s, s.avail_in == 0 ? LZMA_FINISH : LZMA_RUN);
    used = out.size() - s.avail_out;
    if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
      fail(source, std::string(kind) + " stream is corrupt or truncated (liblzma error " +
                       std::to_string(static_cast<int>(rc)) + ")");
    }
  }
  out.resize(used);
  return out;
}

std::vector<std::uint8_t> unbz2_all(std::span<const std::uint8_t> in, std::size_t cap,
                                    const std::string& source) {
  bz_stream s{};
  if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) fail(source, "cannot start the bz2 decoder");
  Cleanup end{[&] { BZ2_bzDecompressEnd(&s); }};
  std::vector<std::uint8_t> out;
  std::size_t used = 0;
  s.next_in = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
  s.avail_in = static_cast<unsigned>(std::min<std::size_t>(in.size(), UINT32_MAX));
  int rc = BZ_OK;
  while (rc != BZ_STREAM_END) {
    grow(out, used, cap, source, "bz2");
    s.next_out = reinterpret_cast<char*>(out.data() + used);
    s.avail_out = static_cast<unsigned>(std::min<std::size_t>(out.size() - used, UINT32_MAX));
    rc = BZ2_bzDecompress(&s);
    used = out.size() - s.avail_out;
    if (rc == BZ_OK && s.avail_in == 0 && s.avail_out != 0) fail(source, "bz2 stream is truncated");
    if (rc != BZ_OK && rc != BZ_STREAM_END) {
      fail(source, "bz2 stream is corrupt (libbz2 error " + std::to_string(rc) + ")");
    }
  }
  out.resize(used);
  return out;
}

std::vector<std::uint8_t> unlz4_all(std::span<const std::uint8_t> in, std::size_t cap,
                                    const std::string& source) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    fail(source, "cannot start the lz4 decoder");
  }
  Cleanup end{[&] { LZ4F_freeDecompressionContext(ctx); }};
  std::vector<std::uint8_t> out;
  std::size_t used = 0, pos = 0;
  std::size_t hint = 1;
  while (hint != 0) {
    grow(out, used, cap, source, "lz4");
    std::size_t dst = out.size() - used;
    std::size_t src = in.size() - pos;
    hint = LZ4F_decompress(ctx, out.data() + used, &dst, in.data() + pos, &src, nullptr);
    if (LZ4F_isError(hint)) {
      const std::string msg = LZ4F_getErrorName(hint);
      fail(source, "lz4 stream is corrupt: " + msg);
    }
    used += dst;
    pos += src;
    if (hint != 0 && pos >= in.size() && dst == 0) fail(source, "lz4 stream is truncated");
  }
  out.resize(used);
  return out;
}

bool starts_with(const std::vector<std::uint8_t>& b, std::initializer_list<std::uint8_t> magic) {
  return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
}

}  // namespace

std::vector<std::uint8_t> decompress_joblib(std::vector<std::uint8_t> bytes,
                                            const std::string& source, std::size_t cap,
                                            std::string* compression) {
  auto set = [&](const char* c) {
    if (compression != nullptr) *compression = c;
  };
  // joblib's compressors and their magic numbers (joblib/compressor.py).
  if (starts_with(bytes, {0x78})) {
    set("zlib");
    return inflate_all(bytes, 15, cap, source, "zlib");
  }
  if (starts_with(bytes, {0x1f, 0x8b})) {
    set("gzip");
    return inflate_all(bytes, 15 + 16, cap, source, "gzip");
  }
  if (starts_with(bytes, {0xfd, '7', 'z', 'X', 'Z', 0x00})) {
    set("xz");
    return unxz_all(bytes, false, cap, source);
  }
  if (starts_with(bytes, {0x5d, 0x00, 0x00})) {
    set("lzma");
    return unxz_all(bytes, true, cap, source);
  }
  if (starts_with(bytes, {'B', 'Z', 'h'})) {
    set("bz2");
    return unbz2_all(bytes, cap, source);
  }
  if (starts_with(bytes, {0x04, 0x22, 0x4d, 0x18})) {
    set("lz4");
    return unlz4_all(bytes, cap, source);
  }
  if (starts_with(bytes, {'Z', 'F'})) {
    // joblib < 0.10: "ZF" + the uncompressed length as hex in 19 characters + a zlib stream.
    set("zfile");
    if (bytes.size() < 21) fail(source, "old joblib compressed file is truncated");
    return inflate_all(std::span<const std::uint8_t>(bytes).subspan(21), 15, cap, source, "zlib");
  }
  if (starts_with(bytes, {'P', 'K', 0x03, 0x04})) {
    fail(source, "this is a zip archive (as torch.save writes), not a pickle or joblib file");
  }
  set("none");
  return bytes;
}

ValuePtr parse(std::span<const std::uint8_t> bytes, const std::string& source,
               const LoadOptions& options) {
  detail::Cursor cursor(bytes, source);
  detail::Budget budget;
  const std::size_t scaled =
      bytes.size() > SIZE_MAX / std::max<std::size_t>(options.memory_factor, 1)
          ? SIZE_MAX / 2
          : bytes.size() * options.memory_factor;
  budget.limit = options.memory_base + scaled;
  if (bytes.empty()) cursor.fail("file is empty");
  detail::Machine machine(cursor, options, budget, 0);
  return machine.run();
}

ValuePtr load_file(const std::filesystem::path& file, const LoadOptions& options) {
  const std::string raw = read_regular_file(file, options.max_decompressed_bytes, "a pickle");
  std::vector<std::uint8_t> bytes(raw.begin(), raw.end());
  bytes = decompress_joblib(std::move(bytes), file.string(), options.max_decompressed_bytes);
  LoadOptions opts = options;
  if (opts.side_file_dir.empty()) {
    opts.side_file_dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  }
  return parse(bytes, file.string(), opts);
}

}  // namespace docquant::pickle
