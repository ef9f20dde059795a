#pragma once
// Builds the pickles torch writes for a tensor (tests): a storage as torch.save's legacy stream
// or its zip archive, wrapped by torch.storage._load_from_bytes and _rebuild_tensor_v2. Field
// layouts as torch/serialization.py (_legacy_save, _save) and torch/_tensor.py (__reduce_ex__);
// every field can be set wrong on purpose.
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pickle_writer.h"

struct TorchStorage {
  std::string key = "94711";
  std::string storage_type = "FloatStorage";
  std::int64_t numel = 0;         // the persistent ID's count
  std::int64_t header_numel = -1;  // the legacy stream's count before the data (-1: numel)
  std::vector<float> values;
  bool view_metadata = false;     // a storage view (not supported)
  std::string data_override;      // raw bytes instead of values (a short or long payload)
  std::string inner_extra;        // opcodes pushed (then popped) inside the persistent-ID pickle

  std::string data() const {
    if (!data_override.empty()) return data_override;
    return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)};
  }
  // pickle of ('storage', torch.<type>, key, 'cpu', numel[, view]) under BINPERSID.
  std::string persistent_pickle() const {
    PickleWriter w;
    w.proto(2).raw(inner_extra).mark().str("storage").raw("ctorch\n" + storage_type + "\n").str(key).str("cpu");
    if (numel > 0x7fffffff) w.long8(numel);
    else w.integer(numel);
    if (view_metadata) w.mark().integer(0).integer(1).tuple();
    else w.op('N');
    w.tuple().op('Q').stop();
    return w.b;
  }
  // torch.save(storage, _use_new_zipfile_serialization=False)
  std::string legacy() const {
    std::string magic = std::string("\x80\x02\x8a\x0a", 4) + std::string("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10) + ".";
    std::string version("\x80\x02M\xe9\x03.", 6);
    PickleWriter sys;
    sys.proto(2).op('}').mark().str("protocol_version").integer(1001).str("little_endian").op('\x88');
    sys.str("type_sizes").op('}').op('u').stop();
    PickleWriter keys;
    keys.proto(2).op(']').str(key).op('a').stop();
    PickleWriter count;
    count.le(static_cast<std::uint64_t>(header_numel < 0 ? numel : header_numel), 8);
    return magic + version + sys.b + persistent_pickle() + keys.b + count.b + data();
  }
  // torch.save(storage) in the zip format: archive/data.pkl, archive/data/<key>, archive/version.
  std::string zip(std::int64_t lie_about_size = 0, bool deflated = false) const;
};

// A stored zip archive of (name, bytes) entries, as PyTorch's miniz writer lays it out (no
// data descriptors). `size_lie` is added to the central directory's sizes of entry `lie_at`.
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& entries, std::size_t lie_at = 0,
                              std::int64_t size_lie = 0, bool deflated = false) {
  PickleWriter out, cd;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [name, data] = entries[i];
    const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    const std::size_t local = out.b.size();
    const std::uint64_t size = data.size() + (i == lie_at ? static_cast<std::uint64_t>(size_lie) : 0);
    out.le(0x04034b50, 4).le(20, 2).le(0, 2).le(deflated ? 8 : 0, 2).le(0, 4).le(crc, 4);
    out.le(size, 4).le(size, 4).le(name.size(), 2).le(0, 2).raw(name).raw(data);
    cd.le(0x02014b50, 4).le(20, 2).le(20, 2).le(0, 2).le(deflated ? 8 : 0, 2).le(0, 4).le(crc, 4);
    cd.le(size, 4).le(size, 4).le(name.size(), 2).le(0, 2).le(0, 2).le(0, 2).le(0, 2).le(0, 4).le(local, 4).raw(name);
  }
  const std::size_t cd_offset = out.b.size();
  out.raw(cd.b);
  out.le(0x06054b50, 4).le(0, 2).le(0, 2).le(entries.size(), 2).le(entries.size(), 2).le(cd.b.size(), 4);
  out.le(cd_offset, 4).le(0, 2);
  return out.b;
}

inline std::string TorchStorage::zip(std::int64_t lie_about_size, bool deflated) const {
  return stored_zip({{"archive/data.pkl", persistent_pickle()}, {"archive/data/" + key, data()}, {"archive/version", "3\n"}},
                    1, lie_about_size, deflated);
}

// _rebuild_tensor_v2(_load_from_bytes(archive), offset, shape, stride, False, OrderedDict())
inline PickleWriter& torch_tensor(PickleWriter& w, const std::string& archive, std::vector<std::int64_t> shape,
                                  std::vector<std::int64_t> stride, std::int64_t offset = 0) {
  w.global("torch._utils", "_rebuild_tensor_v2").mark();
  w.global("torch.storage", "_load_from_bytes").bytes(archive).op('\x85').op('R');
  w.integer(offset).mark();
  for (auto d : shape) w.integer(d);
  w.tuple().mark();
  for (auto s : stride) w.integer(s);
  w.tuple().op('\x89').global("collections", "OrderedDict").op(')').op('R').tuple().op('R');
  return w;
}
