#pragma once
// A pickle reader that parses data and never runs code.
//
// It understands every opcode of protocols 0-5 that CPython's pickler writes, but builds
// objects only for a short allow-list of globals (scikit-learn's LogisticRegression,
// OneVsRestClassifier, LabelEncoder, LabelBinarizer; numpy arrays, dtypes and scalars;
// joblib's array records and the few builtins these need). Any other global is refused with
// an InputError naming its module and name. Objects are not instantiated: an allowed class
// becomes an `Object` holding the class name and the state dictionary the pickle gave it.
//
// Limits (see LoadOptions) bound nesting depth and memory so that a hostile file can neither
// crash the process nor make it allocate much more than the file's own size. docs/pickle.md
// lists what is accepted and refused.
//
// Values are immutable once parsing has finished; sharing them between threads for reading is
// safe.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "docquant/error.h"

namespace docquant::pickle {

class Value;
namespace detail { class Machine; }
using ValuePtr = std::shared_ptr<const Value>;

// A numpy dtype reduced to what docquant needs: the kind character numpy uses ('b' bool,
// 'i' signed, 'u' unsigned, 'f' float, 'U' UTF-32 text, 'S' bytes, 'O' Python objects), the
// item size in bytes and the byte order the file stored it in.
struct DType {
  char kind = 'f';
  std::size_t itemsize = 8;
  bool big_endian = false;
  // numpy's spelling, e.g. "<f8", ">i4", "|O", "<U5".
  std::string str() const;
};

// An n-dimensional array. Numeric data is kept in C order and native (little-endian) byte
// order whatever the file held; `dtype` still says how it was stored.
struct NDArray {
  DType dtype;
  std::vector<std::size_t> shape;
  std::vector<std::uint8_t> data;     // numeric and text kinds: size() * itemsize bytes
  std::vector<ValuePtr> objects;      // kind 'O': one value per element

  std::size_t size() const;           // number of elements
  std::size_t ndim() const { return shape.size(); }
  // Element i (flat, C order) converted; throws InputError when the kind does not convert.
  double as_double(std::size_t i) const;
  std::int64_t as_int(std::size_t i) const;
  bool is_text() const;               // 'U', 'S', or 'O' holding only str/bytes
  std::string as_text(std::size_t i) const;  // 'U' and 'S' elements, or str/bytes objects
  std::vector<double> to_doubles() const;
};

// A reference to an allowed global, canonicalised (numpy._core.* -> numpy.core.*,
// sklearn.linear_model.logistic -> sklearn.linear_model._logistic, …).
struct Global {
  std::string module;
  std::string name;
  std::string qualified() const { return module + "." + name; }
};

// A Python dict. Keys keep insertion order; a repeated str key replaces the earlier value.
struct Dict {
  std::vector<std::pair<ValuePtr, ValuePtr>> items;
  std::unordered_map<std::string, std::size_t> str_index;  // str key -> index in items
  const Value* find(std::string_view key) const;
};

// An instance of an allowed class: its class and the attributes its pickled state set.
struct Object {
  Global cls;
  Dict attrs;
  std::vector<ValuePtr> args;  // constructor arguments, when the pickle gave any
  const Value* attr(std::string_view name) const { return attrs.find(name); }
};

struct Tuple { std::vector<ValuePtr> items; };
struct List { std::vector<ValuePtr> items; };
struct Set { std::vector<ValuePtr> items; bool frozen = false; };
struct Bytes { std::string data; };
struct None {};

class Value {
 public:
  using Storage = std::variant<None, bool, std::int64_t, double, std::string, Bytes, Tuple, List,
                               Dict, Set, Global, Object, NDArray, DType>;

  explicit Value(Storage s) : v_(std::move(s)) {}

  bool is_none() const { return std::holds_alternative<None>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
  bool is_float() const { return std::holds_alternative<double>(v_); }
  bool is_str() const { return std::holds_alternative<std::string>(v_); }
  bool is_bytes() const { return std::holds_alternative<Bytes>(v_); }
  bool is_tuple() const { return std::holds_alternative<Tuple>(v_); }
  bool is_list() const { return std::holds_alternative<List>(v_); }
  bool is_dict() const { return std::holds_alternative<Dict>(v_); }
  bool is_object() const { return std::holds_alternative<Object>(v_); }
  bool is_array() const { return std::holds_alternative<NDArray>(v_); }
  bool is_dtype() const { return std::holds_alternative<DType>(v_); }
  bool is_global() const { return std::holds_alternative<Global>(v_); }
  bool is_object_of(std::string_view qualified_class) const;

  // Accessors throw InputError (naming the expected and actual type) on a mismatch.
  bool as_bool() const;            // bool, or int 0/1
  std::int64_t as_int() const;     // int or bool
  double as_double() const;        // float, int or bool
  const std::string& as_str() const;
  const Bytes& as_bytes() const;
  const std::vector<ValuePtr>& as_sequence() const;  // tuple, list or set items
  const Dict& as_dict() const;
  const Object& as_object() const;
  const NDArray& as_array() const;
  const DType& as_dtype() const;
  const Global& as_global() const;

  // Python's name for the value's type ("str", "list", "LogisticRegression", "ndarray" …).
  std::string type_name() const;

  const Storage& storage() const { return v_; }
  // Nesting depth: 0 for scalars, 1 + the deepest child for containers and objects.
  std::uint32_t depth() const { return depth_; }

 private:
  friend class detail::Machine;
  Storage v_;
  std::uint32_t depth_ = 0;
  bool sealed_ = false;  // set once the value is inside another: it may no longer change
};

// Raised for a global outside the allow-list; module() and name() say which one.
class RefusedGlobalError : public InputError {
 public:
  RefusedGlobalError(const std::string& message, std::string module, std::string name)
      : InputError(message), module_(std::move(module)), name_(std::move(name)) {}
  const std::string& module() const { return module_; }
  const std::string& name() const { return name_; }

 private:
  std::string module_;
  std::string name_;
};

struct LoadOptions {
  // Deepest nesting of containers/objects accepted.
  std::size_t max_depth = 64;
  // Memory the parse may use: memory_base + memory_factor * input size (bytes). Counted
  // for every value, stack slot and memo entry the parse creates.
  std::size_t memory_factor = 8;
  std::size_t memory_base = std::size_t{1} << 20;
  // Compressed joblib files: largest decompressed stream accepted.
  std::size_t max_decompressed_bytes = std::size_t{256} << 20;
  // Buffers handed out by protocol 5's NEXT_BUFFER, in order (pickle.loads(buffers=...)).
  std::vector<std::span<const std::uint8_t>> out_of_band_buffers;
  // Folder holding the .npy side files of old joblib dumps (NDArrayWrapper); empty = refuse.
  std::filesystem::path side_file_dir;
};

// Parses one pickle stream held in memory. joblib's array records (a NumpyArrayWrapper
// followed by the array's bytes) are read as joblib writes them. `source` names the input
// in error messages ("model_head.pkl"). Trailing bytes after STOP are ignored, as
// pickle.loads ignores them.
ValuePtr parse(std::span<const std::uint8_t> bytes, const std::string& source,
               const LoadOptions& options = {});

// Reads a file written by joblib.dump or pickle.dump: detects joblib's compressed formats
// (zlib, gzip, xz, lzma, lz4; bz2 is refused with a clear message) and parses the stream.
ValuePtr load_file(const std::filesystem::path& file, const LoadOptions& options = {});

// Decompresses a joblib-compressed buffer in place of the raw stream, or returns it unchanged
// when it is not compressed. Exposed for tests. `compression` is set to "none", "zlib", ….
std::vector<std::uint8_t> decompress_joblib(std::vector<std::uint8_t> bytes,
                                            const std::string& source,
                                            std::size_t max_decompressed_bytes,
                                            std::string* compression = nullptr);

}  // namespace docquant::pickle
