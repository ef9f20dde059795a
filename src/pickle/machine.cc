// The opcode loop. Opcode names and argument layouts follow CPython's Lib/pickletools.py.
#include "machine.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>

#include "text.h"

namespace docquant::pickle::detail {

// ---- Cursor ---------------------------------------------------------------------------

void Cursor::fail(const std::string& what) const { fail_at(pos_, what); }

void Cursor::fail_at(std::size_t offset, const std::string& what) const {
  throw InputError(source_ + ": offset " + std::to_string(offset) + ": " + what);
}

std::uint8_t Cursor::byte() {
  if (pos_ >= bytes_.size()) fail("file ends before the pickle's STOP opcode (truncated?)");
  return bytes_[pos_++];
}

std::span<const std::uint8_t> Cursor::take(std::size_t n, const char* what) {
  if (n > remaining()) {
    fail(std::string(what) + " needs " + std::to_string(n) + " bytes but only " +
         std::to_string(remaining()) + " remain in the file (truncated or corrupt)");
  }
  auto s = bytes_.subspan(pos_, n);
  pos_ += n;
  return s;
}

std::uint64_t Cursor::uint_le(std::size_t n, const char* what) {
  auto s = take(n, what);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(s[i]) << (8 * i);
  return v;
}

std::string_view Cursor::line(const char* what) {
  const auto* begin = bytes_.data() + pos_;
  const void* nl = std::memchr(begin, '\n', remaining());
  if (nl == nullptr) fail(std::string(what) + " has no terminating newline (truncated?)");
  const auto n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - begin);
  pos_ += n + 1;
  return {reinterpret_cast<const char*>(begin), n};
}

void Budget::charge(const Cursor& cur, std::size_t bytes) {
  if (bytes > limit || used > limit - bytes) {
    cur.fail("the pickle would need more than " + std::to_string(limit) +
             " bytes of memory to read (limit: a fixed base plus a multiple of the file size)");
  }
  used += bytes;
}

// ---- Machine --------------------------------------------------------------------------

namespace {
constexpr std::size_t kSlotCost = sizeof(MutPtr);
constexpr std::size_t kValueCost = sizeof(Value) + 32;  // object + shared_ptr control block
constexpr int kMaxNesting = 4;
}  // namespace

Machine::Machine(Cursor& cursor, const LoadOptions& options, Budget& budget, int nesting)
    : cur_(cursor), opt_(options), budget_(budget), nesting_(nesting) {
  if (nesting_ > kMaxNesting) cur_.fail("pickles nested more than 4 deep (joblib object arrays, torch storages)");
  none_ = make(None{});
  true_ = make(true);
  false_ = make(false);
}

MutPtr Machine::make(Value::Storage s, std::size_t payload) {
  budget_.charge(cur_, kValueCost + payload);
  return std::make_shared<Value>(std::move(s));
}

void Machine::adopt(Value& parent, const ValuePtr& child) {
  // Every value inside another is sealed and the parent is not, so the only possible cycle
  // is a value put inside itself.
  if (child.get() == &parent) cur_.fail("a " + parent.type_name() + " contains itself (self-referencing structures are not supported)");
  const_cast<Value&>(*child).sealed_ = true;  // values are only ever created mutable here
  const std::uint32_t d = child->depth_ + 1;
  if (d > opt_.max_depth) {
    cur_.fail("values nested more than " + std::to_string(opt_.max_depth) +
              " deep (recursion bomb?)");
  }
  if (d > parent.depth_) parent.depth_ = d;
}

void Machine::require_mutable(const Value& v, const char* op) const {
  if (v.sealed_) {
    cur_.fail(std::string(op) + " changes a " + v.type_name() +
              " that is already stored inside another value (self-referencing structures are "
              "not supported)");
  }
}

void Machine::push(MutPtr v) {
  if (stack_.size() == stack_.capacity()) {
    // Charge each growth of the stack in full, so the budget bounds what is really allocated.
    const std::size_t cap = std::max<std::size_t>(16, 2 * stack_.capacity());
    budget_.charge(cur_, cap * kSlotCost);
    stack_.reserve(cap);
  }
  stack_.push_back(std::move(v));
}

std::span<const std::uint8_t> Machine::take_len(std::uint64_t n, const char* what) {
  if (n > cur_.remaining()) {
    cur_.fail(std::string(what) + " needs " + std::to_string(n) + " bytes but only " +
              std::to_string(cur_.remaining()) + " remain in the file (truncated or corrupt)");
  }
  return cur_.take(static_cast<std::size_t>(n), what);
}

MutPtr Machine::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
    cur_.fail("opcode pops from an empty stack");
  }
  MutPtr v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

MutPtr& Machine::top() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
    cur_.fail("opcode needs a value on the stack but the stack is empty");
  }
  return stack_.back();
}

std::vector<MutPtr> Machine::pop_mark() {
  if (marks_.empty()) cur_.fail("opcode needs a MARK but there is none on the stack");
  const std::size_t m = marks_.back();
  marks_.pop_back();
  std::vector<MutPtr> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                            std::make_move_iterator(stack_.end()));
  stack_.resize(m);
  return items;
}

void Machine::memo_put(std::uint64_t index) {
  budget_.charge(cur_, 64);
  memo_[index] = top();
}

void Machine::memo_get(std::uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) {
    cur_.fail("memo index " + std::to_string(index) + " is read before it is defined (" +
              std::to_string(memo_.size()) + " entries defined)");
  }
  push(it->second);
}

MutPtr Machine::make_int_from_le(std::span<const std::uint8_t> b) {
  if (b.empty()) return make(std::int64_t{0});
  // Two's complement, little-endian; accept redundant sign bytes beyond 8.
  const bool negative = (b.back() & 0x80) != 0;
  const std::uint8_t fill = negative ? 0xFF : 0x00;
  for (std::size_t i = 8; i < b.size(); ++i) {
    if (b[i] != fill) cur_.fail("integer wider than 64 bits is not supported");
  }
  std::uint64_t u = negative ? ~std::uint64_t{0} : 0;
  for (std::size_t i = 0; i < b.size() && i < 8; ++i) {
    u &= ~(std::uint64_t{0xFF} << (8 * i));
    u |= static_cast<std::uint64_t>(b[i]) << (8 * i);
  }
  if (b.size() > 8 && ((u >> 63) != 0) != negative) {
    cur_.fail("integer wider than 64 bits is not supported");
  }
  return make(static_cast<std::int64_t>(u));
}

MutPtr Machine::make_text_int(std::string_view s, bool is_long) {
  if (is_long && !s.empty() && s.back() == 'L') s.remove_suffix(1);
  if (!is_long && (s == "00" || s == "01")) return s == "01" ? true_ : false_;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) cur_.fail("integer wider than 64 bits is not supported");
  if (ec != std::errc() || p != s.data() + s.size()) {
    cur_.fail("malformed integer '" + std::string(s.substr(0, 40)) + "'");
  }
  return make(v);
}

MutPtr Machine::make_py2_str(std::string bytes) {
  // Python 2 str: pickle.load's default encoding="ASCII" makes it str; anything else stays bytes.
  for (unsigned char c : bytes) {
    if (c >= 0x80) return make(Bytes{std::move(bytes)}, bytes.size());
  }
  const std::size_t n = bytes.size();
  return make(std::move(bytes), n);
}

void Machine::set_items(Value& dict_value, std::vector<MutPtr>& kv, std::size_t begin) {
  require_mutable(dict_value, "SETITEM");
  auto* dict = std::get_if<Dict>(&dict_value.v_);
  if (dict == nullptr) cur_.fail("SETITEM(S) on a " + dict_value.type_name() + ", not a dict");
  if ((kv.size() - begin) % 2 != 0) cur_.fail("SETITEMS with an odd number of items");
  for (std::size_t i = begin; i < kv.size(); i += 2) {
    ValuePtr k = kv[i], v = kv[i + 1];
    adopt(dict_value, k);
    adopt(dict_value, v);
    budget_.charge(cur_, 4 * kSlotCost + 64);
    if (const auto* s = std::get_if<std::string>(&k->v_)) {
      auto [it, inserted] = dict->str_index.emplace(*s, dict->items.size());
      if (!inserted) {
        dict->items[it->second].second = v;
        continue;
      }
    }
    dict->items.emplace_back(std::move(k), std::move(v));
  }
}

void Machine::global(std::string module, std::string name) {
  Global g = resolve_global(cur_, std::move(module), std::move(name), proto_);
  push(make(std::move(g), 64));
}

MutPtr Machine::run() {
  const std::size_t start = cur_.pos();
  for (;;) {
    const std::size_t at = cur_.pos();
    const std::uint8_t op = cur_.byte();
    if (op == '.') {  // STOP
      if (stack_.size() != 1 || !marks_.empty()) {
        cur_.fail_at(at, "STOP with " + std::to_string(stack_.size()) +
                             " values on the stack (expected exactly one)");
      }
      return pop();
    }
    try {
      step(op);
    } catch (const RefusedGlobalError&) {
      throw;
    } catch (const InputError& e) {
      // Values' accessors throw without a position; give them one.
      const std::string msg = e.what();
      // Already placed: by this cursor, or by a nested one (torch storage bytes) whose source
      // starts with this one's.
      if (msg.rfind(cur_.source() + ": ", 0) == 0) throw;
      cur_.fail_at(at, msg);
    }
    (void)start;
  }
}

void Machine::step(std::uint8_t op) {
  Cursor& c = cur_;
  switch (op) {
    // -- framing and protocol
    case 0x80: {  // PROTO
      const int v = c.byte();
      if (v > 5) c.fail("pickle protocol " + std::to_string(v) + " is newer than 5");
      proto_ = v;
      return;
    }
    case 0x95: {  // FRAME: the frame's bytes follow; framing itself carries no data
      const std::uint64_t n = c.uint_le(8, "FRAME length");
      if (n > c.remaining()) c.fail("FRAME of " + std::to_string(n) + " bytes runs past the end of the file");
      return;
    }
    // -- stack manipulation
    case '(':  // MARK
      if (marks_.size() == marks_.capacity()) {
        const std::size_t cap = std::max<std::size_t>(16, 2 * marks_.capacity());
        budget_.charge(c, cap * sizeof(std::size_t));
        marks_.reserve(cap);
      }
      marks_.push_back(stack_.size());
      return;
    case '0':  // POP
      if (!stack_.empty() && (marks_.empty() || stack_.size() > marks_.back())) {
        stack_.pop_back();
      } else {
        pop_mark();
      }
      return;
    case '1': pop_mark(); return;   // POP_MARK
    case '2': push(top()); return;  // DUP
    // -- memo
    case 'p': {  // PUT
      auto l = c.line("PUT index");
      std::uint64_t i = 0;
      auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), i);
      if (ec != std::errc() || p != l.data() + l.size()) c.fail("malformed PUT index");
      memo_put(i);
      return;
    }
    case 'q': memo_put(c.byte()); return;                             // BINPUT
    case 'r': memo_put(c.uint_le(4, "LONG_BINPUT index")); return;    // LONG_BINPUT
    case 0x94: memo_put(memo_.size()); return;                        // MEMOIZE
    case 'g': {  // GET
      auto l = c.line("GET index");
      std::uint64_t i = 0;
      auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), i);
      if (ec != std::errc() || p != l.data() + l.size()) c.fail("malformed GET index");
      memo_get(i);
      return;
    }
    case 'h': memo_get(c.byte()); return;                             // BINGET
    case 'j': memo_get(c.uint_le(4, "LONG_BINGET index")); return;    // LONG_BINGET
    // -- constants and numbers
    case 'N': push(none_); return;
    case 0x88: push(true_); return;   // NEWTRUE
    case 0x89: push(false_); return;  // NEWFALSE
    case 'I': push(make_text_int(c.line("INT"), false)); return;
    case 'L': push(make_text_int(c.line("LONG"), true)); return;
    case 'J': push(make(static_cast<std::int64_t>(static_cast<std::int32_t>(c.uint_le(4, "BININT"))))); return;
    case 'K': push(make(static_cast<std::int64_t>(c.byte()))); return;                     // BININT1
    case 'M': push(make(static_cast<std::int64_t>(c.uint_le(2, "BININT2")))); return;      // BININT2
    case 0x8a: {  // LONG1
      const std::size_t n = c.byte();
      push(make_int_from_le(c.take(n, "LONG1")));
      return;
    }
    case 0x8b: {  // LONG4
      const auto n = static_cast<std::int32_t>(c.uint_le(4, "LONG4 length"));
      if (n < 0) c.fail("LONG4 with a negative length");
      push(make_int_from_le(c.take(static_cast<std::size_t>(n), "LONG4")));
      return;
    }
    case 'F': {  // FLOAT (repr text)
      auto l = c.line("FLOAT");
      double v = 0;
      auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
      if (ec != std::errc() || p != l.data() + l.size()) c.fail("malformed FLOAT '" + std::string(l.substr(0, 40)) + "'");
      push(make(v));
      return;
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      auto b = c.take(8, "BINFLOAT");
      std::uint64_t u = 0;
      for (int i = 0; i < 8; ++i) u = (u << 8) | b[static_cast<std::size_t>(i)];
      double v;
      std::memcpy(&v, &u, 8);
      push(make(v));
      return;
    }
    // -- text and bytes
    case 'S': {  // STRING (Python 2 str repr)
      auto l = c.line("STRING");
      auto s = decode_string_literal(l);
      if (!s) c.fail("malformed STRING literal");
      push(make_py2_str(std::move(*s)));
      return;
    }
    case 'T': {  // BINSTRING
      const auto n = static_cast<std::int32_t>(c.uint_le(4, "BINSTRING length"));
      if (n < 0) c.fail("BINSTRING with a negative length");
      auto b = c.take(static_cast<std::size_t>(n), "BINSTRING");
      push(make_py2_str(std::string(b.begin(), b.end())));
      return;
    }
    case 'U': {  // SHORT_BINSTRING
      auto b = c.take(c.byte(), "SHORT_BINSTRING");
      push(make_py2_str(std::string(b.begin(), b.end())));
      return;
    }
    case 'V': {  // UNICODE
      auto s = decode_raw_unicode_escape(c.line("UNICODE"));
      if (!s) c.fail("malformed UNICODE escape");
      const std::size_t n = s->size();
      push(make(std::move(*s), n));
      return;
    }
    case 'X': case 0x8c: case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
      const std::size_t width = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
      const std::uint64_t n = c.uint_le(width, "string length");
      auto b = take_len(n, "string");
      push(make(std::string(b.begin(), b.end()), b.size()));
      return;
    }
    case 'B': case 'C': case 0x8e: case 0x96: {  // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
      const std::size_t width = op == 'B' ? 4 : op == 'C' ? 1 : 8;
      const std::uint64_t n = c.uint_le(width, "bytes length");
      auto b = take_len(n, "bytes");
      push(make(Bytes{std::string(b.begin(), b.end())}, b.size()));
      return;
    }
    case 0x97: {  // NEXT_BUFFER
      if (next_buffer_ >= opt_.out_of_band_buffers.size()) {
        c.fail("pickle asks for out-of-band buffer #" + std::to_string(next_buffer_) +
               " but none was provided (protocol 5 buffers are not stored in the file)");
      }
      auto b = opt_.out_of_band_buffers[next_buffer_++];
      push(make(Bytes{std::string(b.begin(), b.end())}, b.size()));
      return;
    }
    case 0x98: top(); return;  // READONLY_BUFFER: read-only-ness does not matter here
    // -- containers
    case ')': push(make(Tuple{})); return;
    case ']': push(make(List{})); return;
    case '}': push(make(Dict{})); return;
    case 0x8f: push(make(Set{})); return;  // EMPTY_SET
    case 't': case 'l': case 0x91: {        // TUPLE, LIST, FROZENSET
      auto items = pop_mark();
      MutPtr v = op == 't' ? make(Tuple{}) : op == 'l' ? make(List{}) : make(Set{{}, true});
      budget_.charge(c, items.size() * kSlotCost);
      std::vector<ValuePtr> out;
      out.reserve(items.size());
      for (auto& i : items) {
        adopt(*v, i);
        out.push_back(std::move(i));
      }
      if (op == 't') std::get<Tuple>(v->v_).items = std::move(out);
      else if (op == 'l') std::get<List>(v->v_).items = std::move(out);
      else std::get<Set>(v->v_).items = std::move(out);
      push(std::move(v));
      return;
    }
    case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
      const std::size_t n = static_cast<std::size_t>(op - 0x84);
      std::vector<ValuePtr> items(n);
      for (std::size_t i = n; i-- > 0;) items[i] = pop();
      MutPtr v = make(Tuple{}, n * kSlotCost);
      for (auto& i : items) adopt(*v, i);
      std::get<Tuple>(v->v_).items = std::move(items);
      push(std::move(v));
      return;
    }
    case 'd': {  // DICT
      auto items = pop_mark();
      MutPtr d = make(Dict{});
      set_items(*d, items, 0);
      push(std::move(d));
      return;
    }
    case 's': {  // SETITEM
      MutPtr v = pop();
      MutPtr k = pop();
      std::vector<MutPtr> kv{std::move(k), std::move(v)};
      set_items(*top(), kv, 0);
      return;
    }
    case 'u': {  // SETITEMS
      auto items = pop_mark();
      set_items(*top(), items, 0);
      return;
    }
    case 'a': case 'e': {  // APPEND, APPENDS
      std::vector<MutPtr> items;
      if (op == 'a') items.push_back(pop());
      else items = pop_mark();
      Value& target = *top();
      require_mutable(target, "APPEND");
      auto* list = std::get_if<List>(&target.v_);
      if (list == nullptr) c.fail("APPEND(S) to a " + target.type_name() + ", not a list");
      budget_.charge(c, 2 * items.size() * kSlotCost);  // vector growth may double it
      for (auto& i : items) {
        adopt(target, i);
        list->items.push_back(std::move(i));
      }
      return;
    }
    case 0x90: {  // ADDITEMS
      auto items = pop_mark();
      Value& target = *top();
      require_mutable(target, "ADDITEMS");
      auto* set = std::get_if<Set>(&target.v_);
      if (set == nullptr || set->frozen) c.fail("ADDITEMS to a " + target.type_name() + ", not a set");
      budget_.charge(c, 2 * items.size() * kSlotCost);
      for (auto& i : items) {
        adopt(target, i);
        set->items.push_back(std::move(i));
      }
      return;
    }
    // -- globals and objects
    case 'c': {  // GLOBAL
      std::string module(c.line("GLOBAL module"));
      std::string name(c.line("GLOBAL name"));
      global(std::move(module), std::move(name));
      return;
    }
    case 0x93: {  // STACK_GLOBAL
      MutPtr name = pop();
      MutPtr module = pop();
      if (!module->is_str() || !name->is_str()) c.fail("STACK_GLOBAL needs two str values");
      global(module->as_str(), name->as_str());
      return;
    }
    case 'R': {  // REDUCE
      MutPtr args = pop();
      MutPtr fn = pop();
      if (!fn->is_global()) c.fail("REDUCE calls a " + fn->type_name() + ", not an allowed global");
      if (!args->is_tuple()) c.fail("REDUCE arguments are a " + args->type_name() + ", not a tuple");
      const_cast<Value&>(*args).sealed_ = true;
      push(call_global(*this, fn->as_global(), args->as_sequence()));
      return;
    }
    case 0x81: case 0x92: {  // NEWOBJ, NEWOBJ_EX
      if (op == 0x92) {
        MutPtr kwargs = pop();
        if (!kwargs->is_dict() || !kwargs->as_dict().items.empty()) {
          c.fail("NEWOBJ_EX with keyword arguments is not supported");
        }
      }
      MutPtr args = pop();
      MutPtr cls = pop();
      if (!cls->is_global()) c.fail("NEWOBJ on a " + cls->type_name() + ", not an allowed class");
      if (!args->is_tuple()) c.fail("NEWOBJ arguments are a " + args->type_name() + ", not a tuple");
      push(new_object(*this, cls->as_global(), args->as_sequence()));
      return;
    }
    case 'i': {  // INST
      std::string module(c.line("INST module"));
      std::string name(c.line("INST name"));
      auto items = pop_mark();
      Global g = resolve_global(c, std::move(module), std::move(name), proto_);
      push(new_object(*this, g, std::vector<ValuePtr>(items.begin(), items.end())));
      return;
    }
    case 'o': {  // OBJ
      auto items = pop_mark();
      if (items.empty() || !items.front()->is_global()) c.fail("OBJ without an allowed class");
      push(new_object(*this, items.front()->as_global(),
                      std::vector<ValuePtr>(items.begin() + 1, items.end())));
      return;
    }
    case 'b': {  // BUILD
      MutPtr state = pop();
      MutPtr& target = top();
      target = build(*this, target, state);
      return;
    }
    case 'Q': {  // BINPERSID
      if (!persistent_load_) {
        c.fail("persistent IDs (PERSID/BINPERSID) are not supported: the pickle refers to objects "
               "stored outside it");
      }
      MutPtr pid = pop();
      const_cast<Value&>(*pid).sealed_ = true;
      push(persistent_load_(*this, pid));
      return;
    }
    case 'P':
      c.fail("persistent IDs (PERSID/BINPERSID) are not supported: the pickle refers to objects "
             "stored outside it");
    case 0x82: case 0x83: case 0x84:
      c.fail("extension-registry opcodes (EXT1/EXT2/EXT4) are not supported");
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      c.fail(std::string("unknown pickle opcode ") + hex);
    }
  }
}

}  // namespace docquant::pickle::detail
