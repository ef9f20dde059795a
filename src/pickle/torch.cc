// torch tensors inside a pickle (SetFit's differentiable head, joblib.dump of an nn.Module),
// read as data; torch.load is never what runs. What torch's reducers write:
//  - nn.Parameter: torch._utils._rebuild_parameter(tensor, requires_grad, hooks)
//  - Tensor:       torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
//                  hooks[, metadata])
//  - Storage:      torch.storage._load_from_bytes(b), where b is torch.save(storage) of that
//                  storage alone: since PyTorch PR 39893 (2020) the legacy stream -- five
//                  pickles (magic number, protocol 1001, sys_info, the storage as a persistent
//                  ID, the list of storage keys) then the storage's element count and raw
//                  bytes -- and before it torch.save's zip format: archive/data.pkl holding the
//                  persistent ID, archive/data/<key> the raw bytes.
// A persistent ID is ('storage', torch.<T>Storage, key, location, numel[, view_metadata]);
// only torch.FloatStorage is allowed (a SetFit head is float32: setfit's predict feeds it
// float32 embeddings). A storage becomes a 1-d float32 NDArray, a tensor the NDArray of its
// shape read through its strides, so the head code sees the same arrays as for scikit-learn.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>

#include "machine.h"
#include "zip.h"

namespace docquant::pickle::detail {
namespace {

// pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2): the legacy stream's first pickle.
constexpr std::uint8_t kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                         0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
constexpr std::int64_t kLegacyProtocol = 1001;

// One storage an archive's pickle names through its persistent ID.
struct StorageRef {
  std::string key;
  std::size_t numel = 0;
  MutPtr placeholder;  // what BINPERSID pushed: the pickle's root must be exactly this
};

StorageRef read_persistent_id(Machine& m, const Value& pid) {
  Cursor& cur = m.cursor();
  if (!pid.is_tuple()) cur.fail("torch persistent ID is a " + pid.type_name() + ", not a tuple");
  const auto& f = pid.as_sequence();
  if (f.size() != 5 && f.size() != 6) {
    cur.fail("torch persistent ID has " + std::to_string(f.size()) + " fields (expected 5 or 6)");
  }
  if (!f[0]->is_str() || f[0]->as_str() != "storage") cur.fail("torch persistent ID is not a 'storage' record");
  // resolve_global let only allowed storage types through; the allow-list holds FloatStorage.
  if (!f[1]->is_global() || f[1]->as_global().qualified() != "torch.FloatStorage") {
    cur.fail("torch persistent ID field 'storage_type' is a " + f[1]->type_name() + ", not torch.FloatStorage");
  }
  if (!f[2]->is_str() || f[2]->as_str().empty()) cur.fail("torch persistent ID field 'key' is not a str");
  if (!f[3]->is_str()) cur.fail("torch persistent ID field 'location' is a " + f[3]->type_name());
  const std::int64_t numel = f[4]->as_int();
  if (numel < 0) cur.fail("torch persistent ID field 'numel' is negative (" + std::to_string(numel) + ")");
  if (f.size() == 6 && !f[5]->is_none()) {
    cur.fail("torch persistent ID field 'view_metadata' is set: storage views are not supported");
  }
  StorageRef ref;
  ref.key = f[2]->as_str().substr(0, 200);
  ref.numel = static_cast<std::size_t>(numel);
  return ref;
}

// Runs the pickle at the cursor with persistent IDs allowed; the root must be the one storage.
StorageRef run_storage_pickle(Machine& parent, Cursor& cur) {
  Machine m(cur, parent.options(), parent.budget(), parent.nesting() + 1);
  std::optional<StorageRef> ref;
  m.set_persistent_load([&](Machine& self, const ValuePtr& pid) {
    if (ref) self.cursor().fail("torch storage archive names more than one storage");
    ref = read_persistent_id(self, *pid);
    ref->placeholder = self.make(None{});
    return ref->placeholder;
  });
  const MutPtr root = m.run();
  if (!ref || root != ref->placeholder) {
    cur.fail("torch storage archive holds a " + root->type_name() + ", not a single storage");
  }
  return *ref;
}

MutPtr float_storage(Machine& m, Cursor& cur, const StorageRef& ref, std::span<const std::uint8_t> raw) {
  NDArray a;
  a.dtype = dtype_from_descr(cur, "<f4");
  a.shape = {ref.numel};
  std::size_t nbytes = 0;
  checked_count(cur, a.shape, 4, &nbytes);
  if (raw.size() != nbytes) {
    cur.fail("torch storage '" + ref.key + "' declares " + std::to_string(ref.numel) + " float32 elements (" +
             std::to_string(nbytes) + " bytes) but holds " + std::to_string(raw.size()) + " bytes");
  }
  m.budget().charge(cur, nbytes);
  array_from_bytes(cur, a, raw, false);
  return m.make(std::move(a));
}

// torch.save(storage, _use_new_zipfile_serialization=False): see the file comment.
MutPtr read_legacy(Machine& m, Cursor& cur) {
  cur.take(sizeof kLegacyMagic, "torch magic number");
  Machine version(cur, m.options(), m.budget(), m.nesting() + 1);
  const MutPtr v = version.run();
  if (!v->is_int() || v->as_int() != kLegacyProtocol) {
    cur.fail("torch legacy protocol version is not " + std::to_string(kLegacyProtocol));
  }
  Machine sys(cur, m.options(), m.budget(), m.nesting() + 1);
  const MutPtr info = sys.run();
  if (!info->is_dict()) cur.fail("torch sys_info is a " + info->type_name() + ", not a dict");
  const Value* little = info->as_dict().find("little_endian");
  if (little == nullptr || !little->as_bool()) cur.fail("torch storage written on a big-endian machine");
  const StorageRef ref = run_storage_pickle(m, cur);
  Machine keys_m(cur, m.options(), m.budget(), m.nesting() + 1);
  const MutPtr keys = keys_m.run();
  if (!keys->is_list() || keys->as_sequence().size() != 1 || !keys->as_sequence()[0]->is_str() ||
      keys->as_sequence()[0]->as_str() != ref.key) {
    cur.fail("torch storage key list is not ['" + ref.key + "']");
  }
  const std::uint64_t count = cur.uint_le(8, "torch storage element count");
  if (count != ref.numel) {
    cur.fail("torch storage '" + ref.key + "' holds " + std::to_string(count) + " elements but its persistent ID says " +
             std::to_string(ref.numel));
  }
  std::size_t nbytes = 0;
  checked_count(cur, {ref.numel}, 4, &nbytes);
  return float_storage(m, cur, ref, cur.take(nbytes, "torch storage data"));
}

// torch.save(storage) in the zip format: <archive>/data.pkl and <archive>/data/<key>.
MutPtr read_zip_archive(Machine& m, Cursor& cur, std::span<const std::uint8_t> bytes) {
  const std::vector<ZipEntry> entries = read_zip(bytes, cur, "torch storage archive");
  const ZipEntry* pkl = nullptr;
  for (const auto& e : entries) {
    const auto slash = e.name.find('/');
    if (slash == std::string::npos || e.name.substr(slash) != "/data.pkl") continue;
    if (pkl != nullptr) cur.fail_at(0, "torch storage archive has two data.pkl entries");
    pkl = &e;
  }
  if (pkl == nullptr) cur.fail_at(0, "torch storage archive has no <archive>/data.pkl entry");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - std::string("data.pkl").size());
  for (const auto& e : entries) {
    if (e.name == prefix + "byteorder" &&
        std::string_view(reinterpret_cast<const char*>(e.data.data()), e.data.size()) != "little") {
      cur.fail_at(0, "torch storage archive was written big-endian");
    }
  }
  Cursor inner(pkl->data, cur.source() + ": " + pkl->name);
  const StorageRef ref = run_storage_pickle(m, inner);
  const std::string data_name = prefix + "data/" + ref.key;
  const auto it = std::find_if(entries.begin(), entries.end(), [&](const ZipEntry& e) { return e.name == data_name; });
  if (it == entries.end()) cur.fail_at(0, "torch storage archive has no entry '" + data_name + "' for its storage");
  return float_storage(m, cur, ref, it->data);
}

}  // namespace

MutPtr torch_load_from_bytes(Machine& m, const Value& archive) {
  Cursor& outer = m.cursor();
  if (!archive.is_bytes()) outer.fail("torch.storage._load_from_bytes called with a " + archive.type_name());
  if (m.nesting() > 0) outer.fail("torch storage bytes nested inside another pickle's data");
  const std::string& raw = archive.as_bytes().data;
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
  Cursor cur(bytes, outer.source() + ": the torch storage read at offset " + std::to_string(outer.pos()));
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0) return read_zip_archive(m, cur, bytes);
  if (bytes.size() >= sizeof kLegacyMagic && std::memcmp(bytes.data(), kLegacyMagic, sizeof kLegacyMagic) == 0) {
    return read_legacy(m, cur);
  }
  cur.fail_at(0, "torch storage bytes are neither torch.save's legacy stream nor its zip archive (a tar archive "
                 "of torch < 0.4 is not read)");
}

MutPtr torch_rebuild_tensor(Machine& m, const std::vector<ValuePtr>& args) {
  Cursor& cur = m.cursor();
  if (args.size() != 6 && args.size() != 7) {
    cur.fail("torch._utils._rebuild_tensor_v2 called with " + std::to_string(args.size()) + " arguments");
  }
  const Value& storage_v = *args[0];
  if (!storage_v.is_array() || storage_v.as_array().dtype.str() != "<f4" || storage_v.as_array().ndim() != 1) {
    cur.fail("torch tensor field 'storage' is a " + storage_v.type_name() + ", not a float32 torch storage");
  }
  const NDArray& storage = storage_v.as_array();
  const std::int64_t offset = args[1]->as_int();
  const std::vector<std::size_t> shape = shape_from(cur, *args[2]);
  const auto& stride_v = args[3]->as_sequence();
  if (stride_v.size() != shape.size()) {
    cur.fail("torch tensor field 'stride' has " + std::to_string(stride_v.size()) + " values for " +
             std::to_string(shape.size()) + " dimensions");
  }
  if (!args[5]->is_dict() || !args[5]->as_dict().items.empty()) {
    cur.fail("torch tensor field 'backward_hooks' is not empty");
  }
  if (args.size() == 7 && (!args[6]->is_dict() || !args[6]->as_dict().items.empty())) {
    cur.fail("torch tensor field 'metadata' is set (conjugate or negative views are not supported)");
  }
  if (offset < 0) cur.fail("torch tensor field 'storage_offset' is negative");
  NDArray t;
  t.dtype = storage.dtype;
  t.shape = shape;
  std::size_t nbytes = 0;
  const std::size_t count = checked_count(cur, shape, 4, &nbytes);
  // The last element a tensor reads: offset + sum((size_k - 1) * stride_k), within the storage.
  std::vector<std::size_t> stride(shape.size());
  std::size_t last = static_cast<std::size_t>(offset);
  for (std::size_t k = 0; k < shape.size(); ++k) {
    const std::int64_t s = stride_v[k]->as_int();
    if (s < 0 || static_cast<std::uint64_t>(s) > (std::uint64_t{1} << 40)) {
      cur.fail("torch tensor field 'stride' holds " + std::to_string(s));
    }
    stride[k] = static_cast<std::size_t>(s);
    if (shape[k] > 0) last += (shape[k] - 1) * stride[k];
  }
  auto shown = [](const std::vector<std::size_t>& v) {
    std::string s;
    for (std::size_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
    return "[" + s + "]";
  };
  if (count > 0 && last >= storage.size()) {
    cur.fail("torch tensor of shape " + shown(shape) + " (stride " + shown(stride) + ", storage_offset " +
             std::to_string(offset) + ") reads element " + std::to_string(last) + " but its storage holds " +
             std::to_string(storage.size()) + " elements");
  }
  m.budget().charge(cur, nbytes);
  t.data.resize(nbytes);
  std::vector<std::size_t> idx(shape.size(), 0);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t src = static_cast<std::size_t>(offset);
    for (std::size_t k = 0; k < shape.size(); ++k) src += idx[k] * stride[k];
    std::memcpy(t.data.data() + 4 * i, storage.data.data() + 4 * src, 4);
    for (std::size_t k = shape.size(); k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return m.make(std::move(t));
}

}  // namespace docquant::pickle::detail
