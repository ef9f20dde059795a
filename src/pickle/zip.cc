// A zip reader for torch.save's archives: the central directory names each entry, its size
// and where its local header sits; the data follows that header. Layout as in PKWARE's
// APPNOTE.TXT (sections 4.3.7 local header, 4.3.12 central directory, 4.3.16 end record).
#include "zip.h"

#include <zlib.h>

#include <set>

#include "machine.h"

namespace docquant::pickle::detail {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr std::size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;

std::uint32_t le(std::span<const std::uint8_t> b, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint32_t>(b[at + i]) << (8 * i);
  return v;
}

// The end-of-central-directory record: the last signature within its largest comment's reach.
std::size_t find_end_record(std::span<const std::uint8_t> a, const Cursor& cur, const std::string& what) {
  if (a.size() < kEndSize) cur.fail_at(0, what + " is shorter than a zip end record");
  const std::size_t lowest = a.size() - kEndSize > 0xFFFF ? a.size() - kEndSize - 0xFFFF : 0;
  for (std::size_t at = a.size() - kEndSize + 1; at-- > lowest;) {
    if (le(a, at, 4) == kEndSig) return at;
  }
  cur.fail_at(0, what + " has no zip end-of-central-directory record (truncated?)");
}

}  // namespace

std::vector<ZipEntry> read_zip(std::span<const std::uint8_t> a, const Cursor& cur, const std::string& what) {
  const std::size_t end = find_end_record(a, cur, what);
  const std::uint32_t disk = le(a, end + 4, 2), cd_disk = le(a, end + 6, 2);
  const std::uint32_t here = le(a, end + 8, 2), count = le(a, end + 10, 2);
  const std::uint32_t cd_size = le(a, end + 12, 4), cd_offset = le(a, end + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    cur.fail_at(end, what + " needs zip64 sizes (an archive over 4 GiB or 65535 entries): larger than any head");
  }
  if (disk != 0 || cd_disk != 0 || here != count) cur.fail_at(end, what + " spans several disks");
  if (std::size_t{cd_offset} + cd_size > end) {
    cur.fail_at(end, what + ": the central directory (offset " + std::to_string(cd_offset) + ", " +
                         std::to_string(cd_size) + " bytes) runs past the end record at " + std::to_string(end));
  }
  if (std::size_t{count} * kCentralSize > cd_size) {
    cur.fail_at(end, what + " claims " + std::to_string(count) + " entries in a " + std::to_string(cd_size) +
                         "-byte central directory");
  }
  std::vector<ZipEntry> entries;
  std::set<std::string> names;
  std::size_t at = cd_offset;
  const std::size_t cd_end = std::size_t{cd_offset} + cd_size;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (at + kCentralSize > cd_end || le(a, at, 4) != kCentralSig) {
      cur.fail_at(at, what + ": central directory entry " + std::to_string(i) + " is not where the directory says");
    }
    const std::uint32_t flags = le(a, at + 8, 2), method = le(a, at + 10, 2), crc = le(a, at + 16, 4);
    const std::uint32_t csize = le(a, at + 20, 4), usize = le(a, at + 24, 4);
    const std::size_t nlen = le(a, at + 28, 2), elen = le(a, at + 30, 2), clen = le(a, at + 32, 2);
    const std::uint32_t local = le(a, at + 42, 4);
    if (at + kCentralSize + nlen + elen + clen > cd_end) {
      cur.fail_at(at, what + ": central directory entry " + std::to_string(i) + " runs past the directory");
    }
    ZipEntry e;
    e.name.assign(reinterpret_cast<const char*>(a.data() + at + kCentralSize), nlen);
    const std::string shown = "entry '" + e.name.substr(0, 120) + "'";
    if (!names.insert(e.name).second) cur.fail_at(at, what + ": " + shown + " appears twice");
    if ((flags & 1) != 0) cur.fail_at(at, what + ": " + shown + " is encrypted");
    if (method != 0) {
      cur.fail_at(at, what + ": " + shown + " is compressed (method " + std::to_string(method) +
                          "); torch.save stores its entries uncompressed");
    }
    if (csize != usize) {
      cur.fail_at(at, what + ": " + shown + " is stored but its compressed size " + std::to_string(csize) +
                          " differs from its size " + std::to_string(usize));
    }
    if (std::size_t{local} + kLocalSize > a.size() || le(a, local, 4) != kLocalSig) {
      cur.fail_at(at, what + ": " + shown + " has no local header at offset " + std::to_string(local));
    }
    const std::size_t lnlen = le(a, local + 26, 2), lelen = le(a, local + 28, 2);
    const std::size_t data = std::size_t{local} + kLocalSize + lnlen + lelen;
    if (lnlen != nlen || data > a.size() ||
        std::string_view(reinterpret_cast<const char*>(a.data() + local + kLocalSize), lnlen) != e.name) {
      cur.fail_at(local, what + ": " + shown + "'s local header names another entry");
    }
    if (data + csize > cd_offset) {
      cur.fail_at(at, what + ": " + shown + " claims " + std::to_string(csize) + " bytes at offset " +
                          std::to_string(data) + ", past the data (which ends at " + std::to_string(cd_offset) + ")");
    }
    e.data = a.subspan(data, csize);
    if (crc32(0L, e.data.data(), static_cast<uInt>(e.data.size())) != crc) {
      cur.fail_at(data, what + ": " + shown + " fails its CRC-32 check (corrupt)");
    }
    entries.push_back(std::move(e));
    at += kCentralSize + nlen + elen + clen;
  }
  return entries;
}

}  // namespace docquant::pickle::detail
