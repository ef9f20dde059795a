#pragma once
// The few zip archives docquant reads: what torch.save writes in its zip format (PyTorch's
// miniz writer: stored entries, sizes in the central directory, a zip64 end record beside
// the classic one). Only stored (uncompressed) entries are read; every offset and size is
// checked against the archive before it is used, and each entry's CRC-32 is verified.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace docquant::pickle::detail {

class Cursor;

struct ZipEntry {
  std::string name;
  std::span<const std::uint8_t> data;  // points into the archive
};

// Every entry of `archive`, in central-directory order. Errors go through `cur` (which
// names the archive); `what` says which archive in messages ("torch storage archive").
std::vector<ZipEntry> read_zip(std::span<const std::uint8_t> archive, const Cursor& cur, const std::string& what);

}  // namespace docquant::pickle::detail
