// Accessors of the values the pickle reader builds.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "docquant/pickle.h"
#include "text.h"

namespace docquant::pickle {
namespace {

template <typename T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;  // data is normalised to little-endian when the array is built
}

double half_to_double(std::uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exp = (h >> 10) & 0x1f;
  const int frac = h & 0x3ff;
  double v;
  if (exp == 0) {
    v = std::ldexp(static_cast<double>(frac), -24);
  } else if (exp == 31) {
    v = frac == 0 ? std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  } else {
    v = std::ldexp(static_cast<double>(frac + 1024), exp - 25);
  }
  return sign ? -v : v;
}

}  // namespace

std::string DType::str() const {
  std::string s;
  if (kind == 'O' || kind == 'b' || (kind == 'i' && itemsize == 1) ||
      (kind == 'u' && itemsize == 1) || kind == 'S') {
    s = "|";
  } else {
    s = big_endian ? ">" : "<";
  }
  s += kind;
  if (kind == 'O') return s;
  s += std::to_string(kind == 'U' ? itemsize / 4 : itemsize);
  return s;
}

std::size_t NDArray::size() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

double NDArray::as_double(std::size_t i) const {
  if (dtype.kind == 'O') return objects.at(i)->as_double();
  const std::uint8_t* p = data.data() + i * dtype.itemsize;
  switch (dtype.kind) {
    case 'f':
      if (dtype.itemsize == 8) return load_le<double>(p);
      if (dtype.itemsize == 4) return load_le<float>(p);
      if (dtype.itemsize == 2) return half_to_double(load_le<std::uint16_t>(p));
      break;
    case 'i':
    case 'u':
    case 'b':
      return static_cast<double>(as_int(i));
    default:
      break;
  }
  throw InputError("array of dtype " + dtype.str() + " does not hold numbers");
}

std::int64_t NDArray::as_int(std::size_t i) const {
  if (dtype.kind == 'O') return objects.at(i)->as_int();
  const std::uint8_t* p = data.data() + i * dtype.itemsize;
  if (dtype.kind == 'b') return p[0] != 0;
  if (dtype.kind == 'i') {
    switch (dtype.itemsize) {
      case 1: return load_le<std::int8_t>(p);
      case 2: return load_le<std::int16_t>(p);
      case 4: return load_le<std::int32_t>(p);
      case 8: return load_le<std::int64_t>(p);
      default: break;
    }
  }
  if (dtype.kind == 'u') {
    switch (dtype.itemsize) {
      case 1: return load_le<std::uint8_t>(p);
      case 2: return load_le<std::uint16_t>(p);
      case 4: return load_le<std::uint32_t>(p);
      case 8: {
        const auto v = load_le<std::uint64_t>(p);
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          throw InputError("array element " + std::to_string(v) + " does not fit in int64");
        }
        return static_cast<std::int64_t>(v);
      }
      default: break;
    }
  }
  throw InputError("array of dtype " + dtype.str() + " does not hold integers");
}

bool NDArray::is_text() const {
  if (dtype.kind == 'U' || dtype.kind == 'S') return true;
  if (dtype.kind != 'O' || objects.empty()) return false;
  for (const auto& o : objects) {
    if (!o->is_str() && !o->is_bytes()) return false;
  }
  return true;
}

std::string NDArray::as_text(std::size_t i) const {
  if (dtype.kind == 'O') {
    const Value& v = *objects.at(i);
    return v.is_bytes() ? v.as_bytes().data : v.as_str();
  }
  const std::uint8_t* p = data.data() + i * dtype.itemsize;
  if (dtype.kind == 'S') {
    std::size_t n = dtype.itemsize;
    while (n > 0 && p[n - 1] == 0) --n;
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  if (dtype.kind == 'U') {
    std::size_t n = dtype.itemsize / 4;
    while (n > 0 && load_le<std::uint32_t>(p + 4 * (n - 1)) == 0) --n;
    std::string out;
    for (std::size_t k = 0; k < n; ++k) detail::append_utf8(out, load_le<std::uint32_t>(p + 4 * k));
    return out;
  }
  throw InputError("array of dtype " + dtype.str() + " does not hold text");
}

std::vector<double> NDArray::to_doubles() const {
  std::vector<double> out(size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = as_double(i);
  return out;
}

const Value* Dict::find(std::string_view key) const {
  auto it = str_index.find(std::string(key));
  return it == str_index.end() ? nullptr : items[it->second].second.get();
}

bool Value::is_object_of(std::string_view qualified_class) const {
  const auto* o = std::get_if<Object>(&v_);
  return o != nullptr && o->cls.qualified() == qualified_class;
}

std::string Value::type_name() const {
  struct Namer {
    std::string operator()(const None&) const { return "NoneType"; }
    std::string operator()(bool) const { return "bool"; }
    std::string operator()(std::int64_t) const { return "int"; }
    std::string operator()(double) const { return "float"; }
    std::string operator()(const std::string&) const { return "str"; }
    std::string operator()(const Bytes&) const { return "bytes"; }
    std::string operator()(const Tuple&) const { return "tuple"; }
    std::string operator()(const List&) const { return "list"; }
    std::string operator()(const Dict&) const { return "dict"; }
    std::string operator()(const Set& s) const { return s.frozen ? "frozenset" : "set"; }
    std::string operator()(const Global& g) const { return "global " + g.qualified(); }
    std::string operator()(const Object& o) const { return o.cls.name; }
    std::string operator()(const NDArray& a) const { return "ndarray of " + a.dtype.str(); }
    std::string operator()(const DType&) const { return "dtype"; }
  };
  return std::visit(Namer{}, v_);
}

namespace {
[[noreturn]] void mismatch(const Value& v, const char* expected) {
  throw InputError(std::string("expected ") + expected + ", found " + v.type_name());
}
}  // namespace

bool Value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&v_)) return *b;
  if (const auto* i = std::get_if<std::int64_t>(&v_)) {
    if (*i == 0 || *i == 1) return *i == 1;
  }
  mismatch(*this, "bool");
}

std::int64_t Value::as_int() const {
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return *i;
  if (const auto* b = std::get_if<bool>(&v_)) return *b ? 1 : 0;
  mismatch(*this, "int");
}

double Value::as_double() const {
  if (const auto* d = std::get_if<double>(&v_)) return *d;
  if (const auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  if (const auto* b = std::get_if<bool>(&v_)) return *b ? 1.0 : 0.0;
  mismatch(*this, "float");
}

const std::string& Value::as_str() const {
  if (const auto* s = std::get_if<std::string>(&v_)) return *s;
  mismatch(*this, "str");
}

const Bytes& Value::as_bytes() const {
  if (const auto* b = std::get_if<Bytes>(&v_)) return *b;
  mismatch(*this, "bytes");
}

const std::vector<ValuePtr>& Value::as_sequence() const {
  if (const auto* t = std::get_if<Tuple>(&v_)) return t->items;
  if (const auto* l = std::get_if<List>(&v_)) return l->items;
  if (const auto* s = std::get_if<Set>(&v_)) return s->items;
  mismatch(*this, "tuple or list");
}

const Dict& Value::as_dict() const {
  if (const auto* d = std::get_if<Dict>(&v_)) return *d;
  mismatch(*this, "dict");
}

const Object& Value::as_object() const {
  if (const auto* o = std::get_if<Object>(&v_)) return *o;
  mismatch(*this, "object");
}

const NDArray& Value::as_array() const {
  if (const auto* a = std::get_if<NDArray>(&v_)) return *a;
  mismatch(*this, "numpy array");
}

const DType& Value::as_dtype() const {
  if (const auto* d = std::get_if<DType>(&v_)) return *d;
  mismatch(*this, "numpy dtype");
}

const Global& Value::as_global() const {
  if (const auto* g = std::get_if<Global>(&v_)) return *g;
  mismatch(*this, "global");
}

}  // namespace docquant::pickle
