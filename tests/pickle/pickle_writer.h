#pragma once
// Builds pickle byte streams opcode by opcode for tests (names as in CPython's pickletools).
#include <cstdint>
#include <string>
#include <vector>

struct PickleWriter {
  std::string b;
  PickleWriter& raw(const std::string& s) { b += s; return *this; }
  PickleWriter& op(char c) { b += c; return *this; }
  PickleWriter& u8(std::uint8_t v) { b += static_cast<char>(v); return *this; }
  PickleWriter& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  PickleWriter& proto(int v) { return op('\x80').u8(static_cast<std::uint8_t>(v)); }
  PickleWriter& str(const std::string& s) {  // SHORT_BINUNICODE or BINUNICODE
    if (s.size() < 256) return op('\x8c').u8(static_cast<std::uint8_t>(s.size())).raw(s);
    return op('X').le(s.size(), 4).raw(s);
  }
  PickleWriter& bytes(const std::string& s) { return op('B').le(s.size(), 4).raw(s); }
  PickleWriter& integer(std::int64_t v) { return op('J').le(static_cast<std::uint64_t>(v), 4); }
  PickleWriter& long8(std::int64_t v) { return op('\x8a').u8(8).le(static_cast<std::uint64_t>(v), 8); }
  PickleWriter& global(const std::string& m, const std::string& n) { return str(m).str(n).op('\x93'); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& tuple() { return op('t'); }
  PickleWriter& memoize() { return op('\x94'); }
  PickleWriter& stop() { return op('.'); }
  // numpy.dtype(descr, False, True) with its BUILD state.
  PickleWriter& dtype(const std::string& descr, const std::string& order = "<") {
    global("numpy", "dtype").str(descr).op('\x89').op('\x88').op('\x87').op('R');
    mark().integer(3).str(order).op('N').op('N').op('N').integer(-1).integer(-1).integer(0).tuple();
    return op('b');
  }
  // joblib NumpyArrayWrapper record for a 1-d array: data must follow (after the padding).
  PickleWriter& wrapper(std::uint64_t length, const std::string& descr, bool aligned = true) {
    global("joblib.numpy_pickle", "NumpyArrayWrapper").op(')').op('\x81').op('}').mark();
    str("subclass").global("numpy", "ndarray");
    str("shape").long8(static_cast<std::int64_t>(length)).op('\x85');
    str("order").str("C");
    str("dtype").dtype(descr);
    str("allow_mmap").op('\x88');
    if (aligned) str("numpy_array_alignment_bytes").integer(16);
    return op('u').op('b');
  }
  std::vector<std::uint8_t> data() const { return {b.begin(), b.end()}; }
};
