// numpy dtypes, arrays and scalars as pickles and joblib store them.
//  - ndarray.__reduce__: _reconstruct(ndarray, (0,), b'b') then BUILD with
//    (version, shape, dtype, is_fortran, raw bytes | list of objects).
//  - dtype.__reduce__: dtype(descr, False, True) then BUILD with
//    (version, byteorder, subdescr, names, fields, elsize, alignment, flags[, metadata]).
//  - joblib NumpyArrayWrapper: the wrapper's BUILD is followed by the array itself: one padding
//    length byte and that many pad bytes (when the wrapper has numpy_array_alignment_bytes),
//    then the raw elements in the wrapper's order; object arrays are a nested pickle instead.
//  - joblib < 0.10 NDArrayWrapper: the array lives in a side file <name>.npy.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>

#include "machine.h"

namespace docquant::pickle::detail {
namespace {

bool is_supported_kind(char k) {
  return k == 'b' || k == 'i' || k == 'u' || k == 'f' || k == 'U' || k == 'S' || k == 'O';
}

void byteswap_items(std::vector<std::uint8_t>& data, std::size_t itemsize) {
  if (itemsize <= 1) return;
  for (std::size_t i = 0; i + itemsize <= data.size(); i += itemsize) {
    std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i),
                 data.begin() + static_cast<std::ptrdiff_t>(i + itemsize));
  }
}

}  // namespace

DType dtype_from_descr(const Cursor& cur, const std::string& descr) {
  DType dt;
  std::string_view s = descr;
  if (!s.empty() && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
    dt.big_endian = s[0] == '>';
    s.remove_prefix(1);
  }
  if (s.empty()) cur.fail("empty numpy dtype description");
  dt.kind = s[0];
  if (!is_supported_kind(dt.kind)) {
    cur.fail("numpy dtype '" + descr.substr(0, 40) +
             "' is not supported (only bool, integer, float, str, bytes and object arrays)");
  }
  s.remove_prefix(1);
  std::size_t n = 0;
  if (!s.empty()) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || n > (std::size_t{1} << 20)) {
      cur.fail("malformed numpy dtype '" + descr.substr(0, 40) + "'");
    }
  }
  switch (dt.kind) {
    case 'O': dt.itemsize = 8; break;
    case 'b': dt.itemsize = 1; break;
    case 'U': dt.itemsize = 4 * n; break;
    case 'S': dt.itemsize = n; break;
    default: dt.itemsize = n; break;
  }
  if ((dt.kind == 'i' || dt.kind == 'u') && n != 1 && n != 2 && n != 4 && n != 8) {
    cur.fail("numpy dtype '" + descr.substr(0, 40) + "' has an unsupported width");
  }
  if (dt.kind == 'f' && n != 2 && n != 4 && n != 8) {
    cur.fail("numpy dtype '" + descr.substr(0, 40) + "' has an unsupported width");
  }
  return dt;
}

void dtype_set_state(const Cursor& cur, DType& dt, const Value& state) {
  const auto& st = state.as_sequence();
  if (st.size() < 2) cur.fail("numpy dtype state has " + std::to_string(st.size()) + " items");
  std::size_t i = 1;
  if (st.size() == 5) i = 0;  // version 0/1 states start with the byte order
  if (!st[i]->is_str()) cur.fail("numpy dtype byte order is a " + st[i]->type_name());
  const std::string& order = st[i]->as_str();
  if (order == ">") dt.big_endian = true;
  else if (order == "<" || order == "|" || order == "=") dt.big_endian = false;
  else cur.fail("numpy dtype byte order '" + order.substr(0, 8) + "'");
  if (st.size() >= 8) {
    if (!st[2]->is_none()) cur.fail("numpy sub-array dtypes are not supported");
    if (!st[3]->is_none()) cur.fail("numpy structured dtypes (with field names) are not supported");
    const std::int64_t elsize = st[5]->as_int();
    if ((dt.kind == 'U' || dt.kind == 'S') && elsize > 0) {
      if (elsize > (1 << 22) || (dt.kind == 'U' && elsize % 4 != 0)) {
        cur.fail("numpy dtype element size " + std::to_string(elsize) + " is not valid");
      }
      dt.itemsize = static_cast<std::size_t>(elsize);
    }
  }
  if (dt.kind != 'O' && dt.itemsize == 0 && dt.kind != 'S' && dt.kind != 'U') {
    cur.fail("numpy dtype of size 0");
  }
}

std::vector<std::size_t> shape_from(const Cursor& cur, const Value& v) {
  std::vector<std::size_t> shape;
  if (v.is_int()) {
    shape.push_back(static_cast<std::size_t>(std::max<std::int64_t>(0, v.as_int())));
    if (v.as_int() < 0) cur.fail("negative array dimension");
    return shape;
  }
  const auto& items = v.as_sequence();
  if (items.size() > 32) cur.fail("array with " + std::to_string(items.size()) + " dimensions");
  for (const auto& d : items) {
    const std::int64_t n = d->as_int();
    if (n < 0) cur.fail("negative array dimension " + std::to_string(n));
    shape.push_back(static_cast<std::size_t>(n));
  }
  return shape;
}

std::size_t checked_count(const Cursor& cur, const std::vector<std::size_t>& shape,
                          std::size_t itemsize, std::size_t* nbytes) {
  constexpr std::size_t kMax = std::size_t{1} << 62;
  std::size_t count = 1;
  for (std::size_t d : shape) {
    if (d != 0 && count > kMax / d) cur.fail("array shape overflows (claims more than 2^62 elements)");
    count *= d;
  }
  const std::size_t width = std::max<std::size_t>(itemsize, 1);
  if (count != 0 && count > kMax / width) {
    cur.fail("array claims " + std::to_string(count) + " elements of " + std::to_string(itemsize) +
             " bytes, more than any file can hold");
  }
  *nbytes = count * itemsize;
  return count;
}

void array_from_bytes(const Cursor& cur, NDArray& arr, std::span<const std::uint8_t> raw,
                      bool fortran) {
  std::size_t nbytes = 0;
  checked_count(cur, arr.shape, arr.dtype.itemsize, &nbytes);
  if (raw.size() != nbytes) {
    cur.fail("array of shape " + std::to_string(arr.shape.size()) + "-d, dtype " + arr.dtype.str() +
             " needs " + std::to_string(nbytes) + " bytes but the pickle holds " +
             std::to_string(raw.size()));
  }
  arr.data.assign(raw.begin(), raw.end());
  if (arr.dtype.big_endian) {
    byteswap_items(arr.data, arr.dtype.kind == 'U' ? 4 : arr.dtype.itemsize);
  }
  if (fortran && arr.shape.size() > 1) {
    // Element at index (i0, i1, …) sits at sum(ik * stride_k) with stride_0 = 1 in F order.
    const std::size_t n = arr.size();
    const std::size_t w = arr.dtype.itemsize;
    const std::size_t nd = arr.shape.size();
    std::vector<std::size_t> fstride(nd), idx(nd, 0);
    std::size_t s = 1;
    for (std::size_t k = 0; k < nd; ++k) {
      fstride[k] = s;
      s *= arr.shape[k];
    }
    std::vector<std::uint8_t> c(arr.data.size());
    for (std::size_t flat = 0; flat < n; ++flat) {
      std::size_t src = 0;
      for (std::size_t k = 0; k < nd; ++k) src += idx[k] * fstride[k];
      std::memcpy(c.data() + flat * w, arr.data.data() + src * w, w);
      for (std::size_t k = nd; k-- > 0;) {  // advance the C-order index
        if (++idx[k] < arr.shape[k]) break;
        idx[k] = 0;
      }
    }
    arr.data = std::move(c);
  }
}

MutPtr numpy_scalar(Machine& m, const DType& dt, const Value& data) {
  Cursor& cur = m.cursor();
  if (dt.kind == 'O') cur.fail("numpy object scalars are not supported");
  std::string_view raw;
  if (data.is_bytes()) raw = data.as_bytes().data;
  else if (data.is_str()) raw = data.as_str();
  else cur.fail("numpy scalar data is a " + data.type_name());
  NDArray a;
  a.dtype = dt;
  a.shape = {};
  array_from_bytes(cur, a, {reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()}, false);
  switch (dt.kind) {
    case 'b': return m.make(a.as_int(0) != 0);
    case 'i':
    case 'u': return m.make(a.as_int(0));
    case 'f': return m.make(a.as_double(0));
    case 'U':
    case 'S': {
      std::string s = a.as_text(0);
      const std::size_t n = s.size();
      return m.make(std::move(s), n);
    }
    default: break;
  }
  cur.fail("numpy scalar of dtype " + dt.str() + " is not supported");
}

MutPtr read_joblib_array(Machine& m, const Object& w) {
  Cursor& cur = m.cursor();
  const Value* subclass = w.attr("subclass");
  if (subclass == nullptr || !subclass->is_global() ||
      subclass->as_global().qualified() != "numpy.ndarray") {
    cur.fail("joblib array record of a class other than numpy.ndarray is not supported");
  }
  const Value* shape_v = w.attr("shape");
  const Value* dtype_v = w.attr("dtype");
  const Value* order_v = w.attr("order");
  if (shape_v == nullptr || dtype_v == nullptr || order_v == nullptr) {
    cur.fail("joblib array record lacks shape, dtype or order");
  }
  NDArray a;
  a.shape = shape_from(cur, *shape_v);
  a.dtype = dtype_v->as_dtype();
  const std::string& order = order_v->as_str();
  if (order != "C" && order != "F") cur.fail("joblib array order '" + order.substr(0, 8) + "'");

  if (a.dtype.kind == 'O') {
    // joblib pickles object arrays with pickle.dump(array, file, protocol=2) in place.
    Machine nested(cur, m.options(), m.budget(), m.nesting() + 1);
    MutPtr inner = nested.run();
    if (!inner->is_array()) cur.fail("joblib object array record holds a " + inner->type_name());
    const NDArray& got = inner->as_array();
    if (got.shape != a.shape) cur.fail("joblib object array shape differs from its record");
    return inner;
  }
  const Value* align = w.attr("numpy_array_alignment_bytes");
  if (align != nullptr && !align->is_none()) {
    const std::size_t pad = cur.byte();
    cur.take(pad, "joblib array alignment padding");
  }
  std::size_t nbytes = 0;
  checked_count(cur, a.shape, a.dtype.itemsize, &nbytes);
  if (nbytes > cur.remaining()) {
    cur.fail("joblib array record claims " + std::to_string(nbytes) + " bytes (dtype " +
             a.dtype.str() + ") but only " + std::to_string(cur.remaining()) +
             " remain in the file");
  }
  m.budget().charge(cur, nbytes);
  array_from_bytes(cur, a, cur.take(nbytes, "joblib array data"), order == "F");
  return m.make(std::move(a));
}

namespace {

// The header of a .npy file is a Python dict literal:
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
std::string_view npy_field(std::string_view header, std::string_view key) {
  const std::string quoted = "'" + std::string(key) + "'";
  const auto k = header.find(quoted);
  if (k == std::string_view::npos) return {};
  auto rest = header.substr(k + quoted.size());
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) return {};
  rest = rest.substr(colon + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

}  // namespace

MutPtr read_npy_side_file(Machine& m, const Object& w) {
  Cursor& cur = m.cursor();
  const Value* name_v = w.attr("filename");
  if (name_v == nullptr || !name_v->is_str()) cur.fail("joblib NDArrayWrapper without a filename");
  const std::string& name = name_v->as_str();
  if (m.options().side_file_dir.empty()) {
    cur.fail("old joblib format: the array is stored in a side file '" + name.substr(0, 100) +
             "', and no folder was given to read it from");
  }
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name == "." || name == "..") {
    cur.fail("joblib side file name '" + name.substr(0, 100) + "' is not a plain file name");
  }
  const auto path = m.options().side_file_dir / name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    cur.fail("joblib side file " + path.string() + " is missing");
  }
  const auto fsize = std::filesystem::file_size(path, ec);
  if (ec || fsize > (std::uintmax_t{1} << 34)) cur.fail("joblib side file " + path.string() + " is unreadable or too large");
  m.budget().limit += static_cast<std::size_t>(fsize) * 2;
  m.budget().charge(cur, static_cast<std::size_t>(fsize));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(fsize));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) cur.fail("cannot read joblib side file " + path.string());

  Cursor side(bytes, path.string());
  auto magic = side.take(8, ".npy magic");
  static constexpr std::uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (std::memcmp(magic.data(), kMagic, 6) != 0) side.fail("not a .npy file");
  const std::size_t hlen = magic[6] == 1 ? side.uint_le(2, ".npy header length")
                                         : side.uint_le(4, ".npy header length");
  auto hb = side.take(hlen, ".npy header");
  std::string_view header(reinterpret_cast<const char*>(hb.data()), hb.size());

  auto descr = npy_field(header, "descr");
  if (descr.empty() || descr.front() != '\'') side.fail(".npy header has no descr string");
  descr.remove_prefix(1);
  descr = descr.substr(0, descr.find('\''));
  NDArray a;
  a.dtype = dtype_from_descr(side, std::string(descr));
  if (a.dtype.kind == 'O') side.fail(".npy side file holds an object array (pickled): not supported");
  if (a.dtype.kind == 'U' || a.dtype.kind == 'S') {
    const std::size_t n = a.dtype.itemsize;
    a.dtype.itemsize = n;  // descr '<U3' already gives 4*3 bytes
  }
  const bool fortran = npy_field(header, "fortran_order").starts_with("True");
  auto shape = npy_field(header, "shape");
  if (shape.empty() || shape.front() != '(') side.fail(".npy header has no shape");
  shape = shape.substr(1, shape.find(')') - 1);
  while (!shape.empty()) {
    while (!shape.empty() && (shape.front() == ' ' || shape.front() == ',')) shape.remove_prefix(1);
    if (shape.empty()) break;
    std::size_t d = 0;
    auto [p, e] = std::from_chars(shape.data(), shape.data() + shape.size(), d);
    if (e != std::errc()) side.fail(".npy shape is malformed");
    a.shape.push_back(d);
    shape.remove_prefix(static_cast<std::size_t>(p - shape.data()));
  }
  std::size_t nbytes = 0;
  checked_count(side, a.shape, a.dtype.itemsize, &nbytes);
  array_from_bytes(side, a, side.take(nbytes, ".npy data"), fortran);
  return m.make(std::move(a));
}

}  // namespace docquant::pickle::detail
