#pragma once
// The pickle machine: a stack, a memo and a cursor over the input. Opcodes only move data;
// the few calls a pickle may ask for (REDUCE, NEWOBJ, BUILD on an allowed global) are
// answered by globals.cc, which builds values and never runs code from the file.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "docquant/pickle.h"

namespace docquant::pickle::detail {

using MutPtr = std::shared_ptr<Value>;
class Machine;
// What BINPERSID pushes for a persistent ID; set only while a torch storage archive is read
// (torch.cc). Without it persistent IDs are refused.
using PersistentLoad = std::function<MutPtr(Machine&, const ValuePtr& pid)>;

// Where the parse is, for reading and for error messages.
class Cursor {
 public:
  Cursor(std::span<const std::uint8_t> bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}
  std::size_t pos() const { return pos_; }
  std::size_t size() const { return bytes_.size(); }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& source() const { return source_; }

  std::uint8_t byte();
  std::span<const std::uint8_t> take(std::size_t n, const char* what);
  std::uint64_t uint_le(std::size_t n, const char* what);
  std::string_view line(const char* what);  // up to '\n', which is consumed

  // "<source>: offset N: <what>" — every error the parse raises goes through here.
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const;

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
  std::string source_;
};

// Memory the parse has asked for so far; refuses past the limit.
struct Budget {
  std::size_t used = 0;
  std::size_t limit = 0;
  void charge(const Cursor& cur, std::size_t bytes);
};

class Machine {
 public:
  // nesting counts pickles read inside pickles (joblib's object arrays).
  Machine(Cursor& cursor, const LoadOptions& options, Budget& budget, int nesting);
  MutPtr run();

  // Building blocks for globals.cc / numpy.cc.
  MutPtr make(Value::Storage s, std::size_t payload = 0);
  void adopt(Value& parent, const ValuePtr& child);  // seal child, update depth
  void require_mutable(const Value& v, const char* op) const;
  static Value::Storage& storage(Value& v) { return v.v_; }
  Cursor& cursor() { return cur_; }
  const LoadOptions& options() const { return opt_; }
  Budget& budget() { return budget_; }
  int nesting() const { return nesting_; }
  void set_persistent_load(PersistentLoad f) { persistent_load_ = std::move(f); }

 private:
  void step(std::uint8_t op);
  void push(MutPtr v);
  MutPtr pop();
  MutPtr& top();
  std::vector<MutPtr> pop_mark();
  void memo_put(std::uint64_t index);
  void memo_get(std::uint64_t index);
  std::span<const std::uint8_t> take_len(std::uint64_t n, const char* what);
  MutPtr make_int_from_le(std::span<const std::uint8_t> bytes);
  MutPtr make_text_int(std::string_view digits, bool is_long);
  MutPtr make_py2_str(std::string bytes);
  void set_items(Value& dict, std::vector<MutPtr>& kv, std::size_t begin);
  void global(std::string module, std::string name);

  Cursor& cur_;
  const LoadOptions& opt_;
  Budget& budget_;
  int nesting_;
  int proto_ = 0;
  std::size_t next_buffer_ = 0;
  std::vector<MutPtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, MutPtr> memo_;
  MutPtr none_, true_, false_;
  PersistentLoad persistent_load_;
};

// globals.cc: the allow-list and what calling an allowed global produces.
// Canonical (module, name) for an allowed global; throws RefusedGlobalError otherwise.
Global resolve_global(const Cursor& cur, std::string module, std::string name, int proto);
MutPtr call_global(Machine& m, const Global& fn, const std::vector<ValuePtr>& args);
MutPtr new_object(Machine& m, const Global& cls, const std::vector<ValuePtr>& args);
// BUILD: applies state to target; returns the value that replaces it on the stack (a joblib
// array record is replaced by the array read right after it).
MutPtr build(Machine& m, const MutPtr& target, const ValuePtr& state);

// numpy.cc
DType dtype_from_descr(const Cursor& cur, const std::string& descr);
void dtype_set_state(const Cursor& cur, DType& dt, const Value& state);
// Fills arr (shape and dtype set) from raw bytes in the given order, normalising to C order
// and little-endian.
void array_from_bytes(const Cursor& cur, NDArray& arr, std::span<const std::uint8_t> raw,
                      bool fortran);
std::vector<std::size_t> shape_from(const Cursor& cur, const Value& v);
std::size_t checked_count(const Cursor& cur, const std::vector<std::size_t>& shape,
                          std::size_t itemsize, std::size_t* nbytes);
MutPtr read_joblib_array(Machine& m, const Object& wrapper);
MutPtr read_npy_side_file(Machine& m, const Object& wrapper);
MutPtr numpy_scalar(Machine& m, const DType& dt, const Value& data);

// torch.cc: torch.storage._load_from_bytes and torch._utils._rebuild_tensor_v2.
MutPtr torch_load_from_bytes(Machine& m, const Value& archive);
MutPtr torch_rebuild_tensor(Machine& m, const std::vector<ValuePtr>& args);

}  // namespace docquant::pickle::detail
